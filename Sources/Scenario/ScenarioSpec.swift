// The typed scenario: what one variant of an experiment simulates, in SI units.
// The YAML schema is in ../shared/DESIGN.md ("Scenario files") and README.md.

/// One fully resolved scenario (the base, or a variant with its overrides applied).
public struct ScenarioSpec: Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64
    public var replications: Int
    public var cluster: ClusterSpec?
    public var workload: WorkloadSpec
    public var stack: StackSpec
    public var noise: NoiseSpec
}

/// The cluster section. Hardware presets arrive with the hardware model; until then the
/// section is checked for shape only and no workload kind reads it.
public struct ClusterSpec: Sendable, Equatable {
    public var system: String
    public var gpus: Int?
}

/// Inference-stack knobs (read by the kernel workloads).
public struct StackSpec: Sendable, Equatable {
    public var cudaGraphs = false
}

/// Stochastic effects, drawn from per-run GSL streams. All zero means every replication is exact.
public struct NoiseSpec: Sendable, Equatable {
    /// Coefficient of variation of kernel durations (lognormal, mean 1).
    public var kernelCV = 0.0
    /// Coefficient of variation of each transfer's effective size (lognormal, mean 1): the
    /// spread of achieved bandwidth from one transfer to the next.
    public var networkCV = 0.0

    public var isOff: Bool { kernelCV == 0 && networkCV == 0 }
}

public enum WorkloadKind: String, CaseIterable, Sendable {
    case transfers, gemm, memcpy, collective, training, decode, serving

    /// The kinds this build can simulate; the others are part of the schema but come later.
    public static let implemented: [WorkloadKind] = [.transfers]
}

public enum WorkloadSpec: Sendable {
    case transfers(TransfersSpec)

    public var kind: WorkloadKind {
        switch self {
        case .transfers: .transfers
        }
    }
}

/// `kind: transfers`: named links and transfers over paths of them.
public struct TransfersSpec: Sendable, Equatable {
    public var links: [LinkSpec]
    public var transfers: [TransferSpec]
}

public struct LinkSpec: Sendable, Equatable {
    public var name: String
    /// Bytes per second in the direction of the transfers that cross it.
    public var bandwidth: Double
    /// Seconds added once to each transfer that crosses it.
    public var latency: Double
}

public struct TransferSpec: Sendable, Equatable {
    public var name: String
    public var bytes: Double
    /// Indices into `TransfersSpec.links`, in path order.
    public var path: [Int]
    /// When the transfer is posted, in seconds.
    public var start: Double
}

/// One variant of an experiment: its name and its resolved scenario.
public struct Variant: Sendable {
    public var name: String
    public var spec: ScenarioSpec
}

/// What `compare` contrasts (read by the comparison command).
public struct CompareSpec: Sendable, Equatable {
    public var baseline: String
    public var claim: Double?
}

/// A scenario file expanded into its variants, ready to run.
public struct ExperimentPlan: Sendable {
    /// The scenario's name (also the default results folder).
    public var name: String
    /// The scenario file's path as given, and its bytes (for the manifest's hash).
    public var file: String
    public var fileContents: [UInt8]
    public var seed: UInt64
    public var replications: Int
    public var variants: [Variant]
    public var compare: CompareSpec?
    /// Keys that are valid but have no effect on this workload, for the user's attention.
    public var warnings: [Diagnostic]
}
