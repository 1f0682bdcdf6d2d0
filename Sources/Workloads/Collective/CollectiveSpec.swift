// `kind: collective`: an nccl-tests-style sweep of one operation over message sizes
// (CollectiveWorkload.swift runs it).
import Hardware
import Report
import Scenario

/// min_bytes, min_bytes·factor, … up to max_bytes, on `gpus` GPUs.
public struct CollectiveSpec: Sendable, Equatable {
    /// all_reduce, all_gather, reduce_scatter or alltoall (nccl-tests' names).
    public var operation: String
    public var gpus: Int
    public var sizes: [Double]
    /// nil: the faster algorithm the hardware allows, as NCCL's tuner picks.
    public var algorithm: String?
    /// nil: the fastest protocol the algorithm allows, as NCCL's tuner picks (NCCL_PROTO).
    public var `protocol`: String?
    /// Symmetry folding: one representative flow per symmetric step, and beyond one NVLink
    /// domain one representative group per phase.
    public var fold: Bool
    /// Placement: GPUs of the group per NVLink domain (nil: fill domains, the default); 1 puts
    /// every GPU in its own domain, so all traffic crosses the NICs.
    public var gpusPerDomain: Int?
}

extension CollectiveSpec: Workload {
    public static let kind = "collective"
    public static let summary = "An nccl-tests-style sweep of one collective over message sizes, in one NVLink domain or across domains"
    public static let needsCluster = true

    public static let keys = KeyTable(section: "workload", [
        .kind(kind),
        Key("operation", .choice(["all_reduce", "all_gather", "reduce_scatter", "alltoall", "broadcast", "sendrecv"]), default: .required,
            "The collective, by nccl-tests' name"),
        Key("gpus", .integer(2...1_000_000), default: .required, "Ranks taking part"),
        Key("min_bytes", .quantity(.bytes, minimum: 0, exclusive: true), default: .required, "The first message size"),
        Key("max_bytes", .quantity(.bytes, minimum: 0, exclusive: true), default: .derived("min_bytes"), "The last message size (at most 200 sizes)"),
        Key("factor", .quantity(.count, minimum: 1, exclusive: true), default: "2", "Each size is the previous times this"),
        Key("algorithm", .choice(["auto", "ring", "nvls", "direct"]), default: "auto",
            "Inside one NVLink domain: the algorithm, or auto for the faster one the hardware allows (NCCL's tuner)"),
        Key("protocol", .choice(["auto", "ll", "ll128", "simple"]), default: "auto",
            "Inside one NVLink domain: NCCL's protocol (NCCL_PROTO), or auto for the fastest the algorithm allows; NVLS runs Simple only, all-to-all and sendrecv LL up to 16 KiB per peer and Simple above"),
        Key("fold", .bool, default: "true",
            "Symmetry folding: one flow per step whose flows use disjoint ports with equal bytes, and across domains one group per phase"),
        Key("gpus_per_domain", .integer(1...1_000_000), default: .derived("fill each NVLink domain"),
            "GPUs of the group per NVLink domain (1: every GPU in its own domain, all traffic over the NICs)"),
    ])

    public static let metrics: [MetricInfo] = [
        MetricInfo("<operation>.<bytes>B.time_s", unit: "s", .lower, "Time of the collective on a message of <bytes> bytes"),
        MetricInfo("<operation>.<bytes>B.algbw_GBps", unit: "GB/s", .higher, "Algorithm bandwidth: bytes / time (nccl-tests)"),
        MetricInfo("<operation>.<bytes>B.busbw_GBps", unit: "GB/s", .higher,
                   "Bus bandwidth: algbw × 2(n−1)/n for all-reduce, × (n−1)/n otherwise (nccl-tests)"),
    ]

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> CollectiveSpec? {
        let log = f.log
        let errorsBefore = log.errors.count
        let operation = f.choice("operation")
        let algorithm = f.choice("algorithm")
        let proto = f.choice("protocol")
        let gpus = f.integer("gpus")
        let minBytes = f.number("min_bytes")
        let maxBytes = f.number("max_bytes") ?? minBytes
        let factor = f.number("factor") ?? 2
        if let minBytes, let maxBytes, maxBytes < minBytes {
            log.error(f.origin("max_bytes"), f.child("max_bytes"), "must be ≥ min_bytes")
        }
        let fold = f.flag("fold") ?? true
        let gpusPerDomain = f.integer("gpus_per_domain")
        warnUnused(scenario)
        guard log.errors.count == errorsBefore, let operation, let gpus, let minBytes, let maxBytes else { return nil }
        var sizes: [Double] = []
        var size = minBytes
        while size <= maxBytes * (1 + 1e-12) && sizes.count < 200 {
            sizes.append(size.rounded())
            size *= factor
        }
        let spec = CollectiveSpec(operation: operation, gpus: gpus, sizes: sizes, algorithm: algorithm == "auto" ? nil : algorithm,
                                  protocol: proto == "auto" ? nil : proto, fold: fold, gpusPerDomain: gpusPerDomain)
        if let system = scenario.cluster?.system { spec.check(on: system, scenario) }
        return spec
    }

    /// What the hardware allows: placement within its domains, and the forced algorithm.
    func check(on system: SystemSpec, _ scenario: ScenarioContext) {
        let perDomain = Swift.min(gpusPerDomain ?? system.gpusPerNVLinkDomain, system.gpusPerNVLinkDomain)
        if let asked = gpusPerDomain, asked > system.gpusPerNVLinkDomain {
            scenario.error("workload.gpus_per_domain", "\(system.name) has \(system.gpusPerNVLinkDomain) GPUs per NVLink domain, not \(asked)")
        }
        if gpus > perDomain, let algorithm {
            scenario.error("workload.algorithm", "\(gpus) GPUs span more than one NVLink domain of \(system.name) (\(perDomain) per domain), where the algorithm is hierarchical; remove algorithm \"\(algorithm)\"")
        }
        if gpus > perDomain, let proto = `protocol` {
            scenario.error("workload.protocol", "\(gpus) GPUs span more than one NVLink domain of \(system.name) (\(perDomain) per domain), where every phase runs Simple; remove protocol \"\(proto)\"")
        }
        if let proto = `protocol`, proto != "simple", algorithm == "nvls" || operation == "alltoall" || operation == "sendrecv" {
            scenario.error("workload.protocol", algorithm == "nvls" ? "NVLS runs the Simple protocol only"
                           : "\(operation) is built from send/recv, whose protocol NCCL sets by size (LL up to 16 KiB per peer); remove protocol \"\(proto)\"")
        }
        if `protocol` != nil && !system.collectives.isCalibrated {
            scenario.error("workload.protocol", "the hardware states its own collective factors, which describe one protocol; remove protocol or the factors")
        }
        if algorithm == "nvls" && (!system.gpu.nvls || operation != "all_reduce") {
            scenario.error("workload.algorithm", "nvls needs an all_reduce on NVLink SHARP hardware")
        }
        if let algorithm, algorithm == "direct" && operation != "alltoall" || algorithm == "ring" && operation == "alltoall" {
            scenario.error("workload.algorithm", "\(algorithm) does not implement \(operation)")
        }
    }

    static func warnUnused(_ scenario: ScenarioContext) {
        if scenario.noise.kernelCV > 0 { scenario.warnUnused("noise.kernel_cv", kind: kind, because: "; network_cv sets its jitter") }
        if scenario.has("stack") { scenario.warnUnused("stack", kind: kind) }
    }
}
