// `kind: gemm` and `kind: memcpy`: kernel microbenchmarks on one GPU of the cluster's system
// (KernelWorkloads.swift runs them).
import Hardware
import Report
import Scenario

/// `kind: gemm`: one GEMM launched `iterations` times back to back, like a matmul benchmark.
public struct GEMMSpec: Sendable, Equatable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var precision: Precision
    public var batch: Int
    public var iterations: Int
    /// Quantise bf16 activations to the GEMM's precision first (TensorRT-LLM's fp8/fp4 layers).
    public var quantizeActivations: Bool
}

/// `kind: memcpy`: a device-to-device copy of `bytes`, `iterations` times.
public struct MemcpySpec: Sendable, Equatable {
    public var bytes: Double
    public var iterations: Int
}

extension GEMMSpec: Workload {
    public static let kind = "gemm"
    public static let summary = "One GEMM (batch × m×k by k×n) launched back to back on one GPU, like a matmul timing loop"
    public static let needsCluster = true

    public static let keys = KeyTable(section: "workload", [
        .kind(kind),
        Key("m", .integer(1...(1 << 40)), default: .required, "Rows of the output (tokens)"),
        Key("n", .integer(1...(1 << 40)), default: .required, "Columns of the output"),
        Key("k", .integer(1...(1 << 40)), default: .required, "The reduction dimension"),
        Key("precision", .choice(Precision.allCases.map(\.rawValue)), default: "bf16", "Inputs' precision (tensor-core rate)"),
        Key("batch", .integer(1...1_000_000), default: "1", "Independent GEMMs in one launch (batched GEMM)"),
        Key("iterations", .integer(1...1_000_000), default: "10", "Launches timed back to back"),
        Key("quantize_activations", .bool, default: "false", "Quantise bf16 activations to the GEMM's precision first (a kernel of its own)"),
    ])

    public static let metrics: [MetricInfo] = [
        MetricInfo("time_s", unit: "s", .lower, "Mean time per GEMM, first launch to last completion over iterations"),
        MetricInfo("tflops", unit: "TFLOP/s", .higher, "2·m·n·k·batch over time_s"),
    ]

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> GEMMSpec? {
        let m = f.integer("m"), n = f.integer("n"), k = f.integer("k")
        let precision = f.choice("precision").flatMap(Precision.init(rawValue:)) ?? .bf16
        let batch = f.integer("batch") ?? 1
        let iterations = f.integer("iterations") ?? 10
        let quantize = f.flag("quantize_activations") ?? false
        KernelWorkloads.warnUnused(scenario, kind: kind)
        if let gpu = scenario.cluster?.system.gpu, gpu.tensor[precision] == nil {
            scenario.error("workload.precision", "\(gpu.name) has no \(precision.rawValue) tensor cores")
        }
        guard let m, let n, let k else { return nil }
        return GEMMSpec(m: m, n: n, k: k, precision: precision, batch: batch, iterations: iterations, quantizeActivations: quantize)
    }
}

extension MemcpySpec: Workload {
    public static let kind = "memcpy"
    public static let summary = "A device-to-device copy on one GPU, repeated, like a bandwidth test"
    public static let needsCluster = true

    public static let keys = KeyTable(section: "workload", [
        .kind(kind),
        Key("bytes", .quantity(.bytes, minimum: 0, exclusive: true), default: .required, "Bytes copied (read once and written once)"),
        Key("iterations", .integer(1...1_000_000), default: "10", "Copies timed back to back"),
    ])

    public static let metrics: [MetricInfo] = [
        MetricInfo("time_s", unit: "s", .lower, "Mean time per copy"),
        MetricInfo("bandwidth_GBps", unit: "GB/s", .higher, "Bytes read plus written (2 × bytes) over time_s"),
    ]

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> MemcpySpec? {
        let bytes = f.number("bytes")
        let iterations = f.integer("iterations") ?? 10
        KernelWorkloads.warnUnused(scenario, kind: kind)
        return bytes.map { MemcpySpec(bytes: $0, iterations: iterations) }
    }
}
