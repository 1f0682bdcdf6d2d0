// Measured kernels to calibrate and check the kernel model against: the tables of
// ../shared/reference/kernels/ (read from there, never copied) and the kernel rows of
// calibration.csv (copied to scenarios/reference/calibration.csv).
import Cluster
import Foundation
import Hardware
import Models
import Network
import Report
import Workloads

/// A kernel the model can price.
public enum KernelShape: Sendable, Equatable {
    case gemm(m: Int, n: Int, k: Int, precision: Precision, quantizeActivations: Bool)
    case memcpy(bytes: Double)
    case prefill(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int, precision: Precision)
    case decode(batch: Int, kvLength: Int, heads: Int, kvHeads: Int, headDim: Int, kvPrecision: Precision)
    /// Multi-head latent attention (kernels/mla.csv): a decode step over the latent cache, or
    /// a prefill over expanded per-head keys and values, as the workloads price them.
    case mlaDecode(batch: Int, kvLength: Int, heads: Int, latent: Int, rope: Int, kvPrecision: Precision)
    case mlaPrefill(batch: Int, seq: Int, heads: Int, headDim: Int, precision: Precision)
    /// A MoE dispatch or combine over one NVLink domain of `ranks` GPUs (kernels/comm-extra.csv):
    /// `tokens` per rank, routed top-k over `experts`, `bytesPerElement` per hidden element.
    case expertAllToAll(tokens: Int, hidden: Int, experts: Int, topK: Int, ranks: Int, bytesPerElement: Double, lowLatency: Bool)
    /// The routed experts of one MoE layer on rank 0 of a TP × EP group (kernels/moe.csv).
    case moe(tokens: Int, hidden: Int, inter: Int, experts: Int, topK: Int, tp: Int, ep: Int, precision: Precision, routing: ExpertRouting)

    /// Seconds for the shape on `model`'s GPU (including the activation quantisation that
    /// TensorRT-LLM's fp8 and NVFP4 linear layers run first).
    public func seconds(on model: KernelModel) -> Double {
        switch self {
        case let .gemm(m, n, k, precision, quantize):
            let gemm = model.gemm(m: m, n: n, k: k, precision: precision).seconds
            return quantize ? gemm + model.quantize(elements: Double(m * k), to: precision).seconds : gemm
        case let .memcpy(bytes):
            return model.memcpy(bytes: bytes).seconds
        case let .prefill(b, s, h, kv, d, p):
            return model.attentionPrefill(batch: b, seq: s, heads: h, kvHeads: kv, headDim: d, precision: p).seconds
        case let .decode(b, l, h, kv, d, p):
            // The tables replay one kernel without flushing L2 (kernels/README.md).
            return model.attentionDecode(batch: b, kvLength: l, heads: h, kvHeads: kv, headDim: d, kvPrecision: p, warmL2: true).seconds
        case let .mlaDecode(b, l, h, latent, rope, p):
            return model.attentionDecodeLatent(batch: b, kvLength: l, heads: h, latent: latent, rope: rope, kvPrecision: p).seconds
        case let .mlaPrefill(b, s, h, d, p):
            return model.attentionPrefill(batch: b, seq: s, heads: h, kvHeads: h, headDim: d, precision: p).seconds
        case let .expertAllToAll(tokens, hidden, experts, topK, ranks, bytes, lowLatency):
            let buffer = ExpertParallelism.dispatchBuffer(tokens: tokens, hidden: hidden, bytesPerElement: bytes, experts: experts, topK: topK, ep: ranks)
            return ExpertAllToAll.calibrated(lowLatency: lowLatency, for: model.gpu.architecture)
                .seconds(remoteBytes: buffer * Double(ranks - 1) / Double(ranks), bandwidth: model.gpu.nvlinkBandwidthPerDirection)
        case let .moe(tokens, hidden, inter, experts, topK, tp, ep, precision, routing):
            return InferencePricer.routedExpertSeconds(kernels: model, hidden: hidden, inter: inter, experts: experts, topK: topK, tp: tp, ep: ep,
                                                       tokens: tokens, precision: precision, routing: routing)
        }
    }

    public var isAttention: Bool {
        switch self {
        case .prefill, .decode, .mlaDecode, .mlaPrefill: true
        default: false
        }
    }
}

/// One measurement: a kernel on a preset and its measured time.
public struct KernelMeasurement: Sendable {
    public var label: String
    public var system: SystemSpec
    public var shape: KernelShape
    public var seconds: Double
    /// From calibration.csv (a headline figure) rather than a kernels/ table.
    public var isCalibrationPoint: Bool
}

public enum KernelReference {
    /// The reference folder beside a clone (../shared/reference), if present.
    public static func defaultDirectory(packageRoot: URL) -> URL? {
        let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("kernels/gemm.csv").path) ? url : nil
    }

    /// Systems whose rows no fit may use: Blackwell Ultra (GB300), kept to check what its
    /// datasheet numbers with Blackwell's factors predict for a chip the model was not fitted to.
    public static func isHeldOut(_ system: SystemSpec) -> Bool { system.gpu.architecture == .blackwellUltra }

    /// Median over the rows measured on both `a` and `b` (same label but for the system) of
    /// time on `a` over time on `b`, measured and predicted: how well the model orders two chips.
    public static func pairedRatios(_ residuals: [KernelCalibration.Residual], _ a: SystemSpec, _ b: SystemSpec) -> (count: Int, measured: Double, predicted: Double)? {
        var onB: [String: KernelCalibration.Residual] = [:]
        for r in residuals where r.measurement.system.name == b.name { onB[r.measurement.label] = r }
        var measured: [Double] = [], predicted: [Double] = []
        for r in residuals where r.measurement.system.name == a.name {
            guard let other = onB[r.measurement.label.replacingOccurrences(of: a.name, with: b.name)] else { continue }
            measured.append(r.measurement.seconds / other.measurement.seconds)
            predicted.append(r.predicted / other.predicted)
        }
        guard !measured.isEmpty else { return nil }
        return (measured.count, measured.sorted()[measured.count / 2], predicted.sorted()[predicted.count / 2])
    }

    /// aiconfigurator's system names → our presets.
    public static let systems: [String: SystemSpec] = [
        "h100_sxm": .h100SXM, "h200_sxm": .h200SXM, "b200_sxm": .b200, "gb200": .gb200NVL72, "gb300": .gb300NVL72,
    ]

    static func precision(_ dtype: String) -> Precision? {
        switch dtype {
        case "bfloat16", "float16": .bf16
        case "fp8": .fp8
        case "nvfp4": .fp4
        default: nil
        }
    }

    /// kernels/gemm.csv: latency_ms per Linear layer (fp8 and nvfp4 include quantisation).
    public static func gemmRows(in directory: URL) throws -> [KernelMeasurement] {
        try CSVTable(contentsOf: directory.appendingPathComponent("kernels/gemm.csv").path).records.compactMap { r in
            guard let system = systems[r["system"] ?? ""], let precision = precision(r["dtype"] ?? ""),
                  let m = Int(r["m"] ?? ""), let n = Int(r["n"] ?? ""), let k = Int(r["k"] ?? ""),
                  let ms = Double(r["latency_ms"] ?? "") else { return nil }
            return KernelMeasurement(
                label: "gemm \(system.name) \(precision.rawValue) m=\(m) n=\(n) k=\(k)", system: system,
                shape: .gemm(m: m, n: n, k: k, precision: precision, quantizeActivations: precision != .bf16),
                seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// kernels/attention.csv: context (prefill) and generation (decode) rows.
    public static func attentionRows(in directory: URL) throws -> [KernelMeasurement] {
        try CSVTable(contentsOf: directory.appendingPathComponent("kernels/attention.csv").path).records.compactMap { r in
            guard let system = systems[r["system"] ?? ""], let dtype = precision(r["dtype"] ?? ""),
                  let kvDtype = precision(r["kv_dtype"] ?? ""),
                  let b = Int(r["batch"] ?? ""), let s = Int(r["seq_len"] ?? ""), let h = Int(r["heads"] ?? ""),
                  let kv = Int(r["kv_heads"] ?? ""), let d = Int(r["head_dim"] ?? ""),
                  let ms = Double(r["latency_ms"] ?? "") else { return nil }
            let shape: KernelShape = r["phase"] == "context"
                ? .prefill(batch: b, seq: s, heads: h, kvHeads: kv, headDim: d, precision: dtype)
                : .decode(batch: b, kvLength: s, heads: h, kvHeads: kv, headDim: d, kvPrecision: kvDtype)
            return KernelMeasurement(label: "\(r["phase"]!) \(system.name) \(dtype.rawValue)/\(kvDtype.rawValue) b=\(b) s=\(s) h=\(h)/\(kv)",
                                     system: system, shape: shape, seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// kernels/mla.csv: DeepSeek's MLA on one GPU. Generation rows as the workloads' latent
    /// decode (absorbed form, the 512 + 64 latent cache); context rows as their MLA prefill
    /// (per-head attention of the mean width of QKᵀ, 192, and PV, 128), in fp8 when the KV
    /// cache is (TensorRT-LLM runs an FP8 context kernel then).
    public static func mlaRows(in directory: URL) throws -> [KernelMeasurement] {
        let url = directory.appendingPathComponent("kernels/mla.csv")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try CSVTable(contentsOf: url.path).records.compactMap { r in
            guard let system = systems[r["system"] ?? ""], let kv = precision(r["kv_dtype"] ?? ""),
                  let b = Int(r["batch"] ?? ""), let s = Int(r["seq_len"] ?? ""), let h = Int(r["heads"] ?? ""),
                  let latent = Int(r["kv_lora_rank"] ?? ""), let nope = Int(r["qk_nope_dim"] ?? ""), let rope = Int(r["qk_rope_dim"] ?? ""),
                  let v = Int(r["v_head_dim"] ?? ""), let ms = Double(r["latency_ms"] ?? "") else { return nil }
            let context = r["phase"] == "context"
            let shape: KernelShape = context
                ? .mlaPrefill(batch: b, seq: s, heads: h, headDim: (nope + rope + v) / 2, precision: kv == .bf16 ? .bf16 : .fp8)
                : .mlaDecode(batch: b, kvLength: s, heads: h, latent: latent, rope: rope, kvPrecision: kv)
            return KernelMeasurement(label: "mla \(r["phase"]!) \(system.name) kv \(kv.rawValue) b=\(b) s=\(s) h=\(h)", system: system, shape: shape,
                                     seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// kernels/comm-extra.csv: DeepEP's dispatch (fp8 with a 4-byte scale per 128 elements, or
    /// bf16) and combine (bf16) on one node, low-latency or normal mode as `mode` says ("ll",
    /// "normal"), priced as the workloads' wide-EP all-to-all (ExpertAllToAll).
    public static func expertAllToAllRows(in directory: URL, mode: String) throws -> [KernelMeasurement] {
        let url = directory.appendingPathComponent("kernels/comm-extra.csv")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try CSVTable(contentsOf: url.path).records.compactMap { r in
            guard let op = r["op"], op.hasPrefix("deepep_\(mode)_"), let system = systems[r["system"] ?? ""],
                  let gpus = Int(r["gpus"] ?? ""), let tokens = Int(r["tokens_per_rank"] ?? ""), let hidden = Int(r["hidden"] ?? ""),
                  let experts = Int(r["experts"] ?? ""), let topK = Int(r["topk"] ?? ""), let ms = Double(r["latency_ms"] ?? "") else { return nil }
            let bytes = r["payload_dtype"] == "fp8" ? 1 + 4.0 / 128 : 2
            let sms = r["sms"].flatMap { $0.isEmpty ? nil : " sms=\($0)" } ?? ""
            return KernelMeasurement(label: "\(op) \(system.name) \(r["model_shape"] ?? "") n=\(gpus) tokens=\(tokens)\(sms)", system: system,
                                     shape: .expertAllToAll(tokens: tokens, hidden: hidden, experts: experts, topK: topK, ranks: gpus, bytesPerElement: bytes,
                                                            lowLatency: mode == "ll"),
                                     seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// kernels/moe.csv: one MoE layer's routed experts on one GPU, balanced routing or (with
    /// `powerLaw`) the power-law rows, which time the most loaded rank, in the precisions the
    /// model has (fp8 and fp8_block as fp8, nvfp4, bfloat16; not the MXFP4 weight-only formats).
    public static func moeRows(in directory: URL, powerLaw: Bool = false) throws -> [KernelMeasurement] {
        let url = directory.appendingPathComponent("kernels/moe.csv")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try CSVTable(contentsOf: url.path).records.compactMap { r in
            let dtype = r["dtype"] == "fp8_block" ? "fp8" : r["dtype"] ?? ""
            let distribution = r["distribution"] ?? ""
            let routing: ExpertRouting
            if distribution == "balanced" && !powerLaw {
                routing = .balanced
            } else if powerLaw, distribution.hasPrefix("power_law_"), let alpha = Double(distribution.dropFirst("power_law_".count)) {
                routing = ExpertRouting(distribution: .powerLaw(alpha: alpha))
            } else {
                return nil
            }
            guard let system = systems[r["system"] ?? ""], let precision = precision(dtype),
                  system.gpu.tensor[precision] != nil,
                  let tokens = Int(r["tokens"] ?? ""), let hidden = Int(r["hidden"] ?? ""), let inter = Int(r["inter"] ?? ""),
                  let experts = Int(r["experts"] ?? ""), let topK = Int(r["topk"] ?? ""), let tp = Int(r["tp"] ?? ""), let ep = Int(r["ep"] ?? ""),
                  let ms = Double(r["latency_ms"] ?? "") else { return nil }
            return KernelMeasurement(
                label: "moe \(system.name) \(r["model_shape"] ?? "") \(r["dtype"]!) \(distribution) tokens=\(tokens) tp=\(tp) ep=\(ep)", system: system,
                shape: .moe(tokens: tokens, hidden: hidden, inter: inter, experts: experts, topK: topK, tp: tp, ep: ep, precision: precision,
                            routing: routing),
                seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// The kernel rows of calibration.csv that the model prices, by id, with the shape its
    /// `config` column describes. Values are read from the file; a throughput becomes seconds.
    static let calibrationShapes: [(id: String, system: SystemSpec, shape: KernelShape)] = [
        ("H200GEMM", .h200SXM, .gemm(m: 8192, n: 8192, k: 8192, precision: .bf16, quantizeActivations: false)),
        ("H200COPY", .h200SXM, .memcpy(bytes: 4.3e9)),          // 8.6 GB moved = 4.3 GB read + written
        ("GEMM01", .h100SXM, .gemm(m: 2048, n: 2048, k: 13312, precision: .bf16, quantizeActivations: false)),
        ("GEMM02", .h100SXM, .gemm(m: 1024, n: 9216, k: 14336, precision: .fp8, quantizeActivations: false)),
        ("GEMM10", .h100SXM, .gemm(m: 8192, n: 8192, k: 8192, precision: .fp8, quantizeActivations: false)),
        ("GEMM04", .b200, .gemm(m: 1792, n: 16128, k: 3072, precision: .bf16, quantizeActivations: false)),
        ("GEMM05", .b200, .gemm(m: 15360, n: 4096, k: 3072, precision: .fp8, quantizeActivations: false)),
        // BabelStream's default arrays (2^25 doubles, 268 MB each): Copy reads one, writes one.
        ("HBM01", .h100SXM, .memcpy(bytes: 268_435_456)),
        ("HBM03", .h200SXM, .memcpy(bytes: 268_435_456)),
    ]

    public static func calibrationRows(in file: URL) throws -> [KernelMeasurement] {
        let records = try CSVTable(contentsOf: file.path).records
        return calibrationShapes.compactMap { id, system, shape in
            guard let r = records.first(where: { $0["id"] == id }), let value = Double(r["value"] ?? "") else { return nil }
            let seconds: Double
            switch shape {
            case let .gemm(m, n, k, _, _): seconds = 2 * Double(m) * Double(n) * Double(k) / (value * 1e12)  // TFLOP/s
            case let .memcpy(bytes): seconds = 2 * bytes / (value * 1e12)                                    // TB/s read + written
            default: return nil
            }
            return KernelMeasurement(label: "\(id) (\(r["config"] ?? ""))", system: system, shape: shape, seconds: seconds, isCalibrationPoint: true)
        }
    }
}
