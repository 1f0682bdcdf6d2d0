// swift-tools-version: 6.1
// ClusterSim: a discrete-event simulator of GPU clusters. Module map and
// dependency direction follow ../shared/DESIGN.md: each target uses only the
// targets listed above it.
import PackageDescription

let package = Package(
    name: "ClusterSim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clustersim", targets: ["clustersim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // GNU GSL (Debian's libgsl-dev), found through pkg-config.
        .systemLibrary(
            name: "CGSL",
            pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev", "pkg-config"])]
        ),
        .target(name: "Stats", dependencies: ["CGSL"]),
        // The engine's event loop mutates the Simulator's queue through a class property; Swift's
        // dynamic exclusivity checks on those accesses cost ~12% of the hold model (make bench).
        // The Engine module is small and its accesses are confined to Simulator.run and
        // schedule, so it is compiled without them (static checks remain).
        .target(name: "Engine", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "Hardware"),
        .target(name: "Network"),
        .target(name: "Cluster", dependencies: ["Engine", "Hardware", "Network"]),
        .target(name: "Models"),
        .target(name: "Scenario", dependencies: ["Hardware", "Models", "Yams"]),
        .target(name: "Report", dependencies: ["Stats"]),
        // One folder per workload kind: its spec, key table, reader, simulation and metrics.
        .target(
            name: "Workloads",
            dependencies: ["Stats", "Engine", "Hardware", "Network", "Cluster", "Models", "Scenario", "Report"]
        ),
        .target(
            name: "Experiments",
            dependencies: ["Stats", "Engine", "Hardware", "Network", "Cluster", "Models", "Workloads", "Scenario", "Report"]
        ),
        .executableTarget(
            name: "clustersim",
            dependencies: [
                "Experiments", "Hardware", "Models", "Workloads", "Scenario", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks run through `make bench` (release build), never in tests.
        .executableTarget(
            name: "clustersim-bench",
            dependencies: [
                "Engine", "Hardware", "Network", "Cluster", "Scenario", "Workloads", "Experiments",
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            path: "Benchmarks/EngineBench"
        ),

        .target(name: "TestSupport", dependencies: ["Scenario"], path: "Tests/TestSupport"),
        .testTarget(name: "StatsTests", dependencies: ["Stats", "CGSL"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Stats"]),
        .testTarget(name: "HardwareTests", dependencies: ["Hardware", "Scenario", "Workloads", "Experiments", "TestSupport"]),
        .testTarget(name: "WorkloadsTests", dependencies: ["Models", "Workloads", "Scenario", "Hardware", "Engine", "TestSupport"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network", "Cluster", "Hardware", "Scenario", "Workloads", "Experiments", "TestSupport"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "Workloads", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Stats"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Scenario", "Cluster", "Hardware", "Models", "Workloads", "Report", "Stats", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["clustersim", "TestSupport"]),
    ]
)
