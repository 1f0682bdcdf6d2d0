// `kind: decode`: a static batch; prefill of `inputTokens`, then decode to `outputTokens`
// (DecodeWorkload.swift simulates it).
import Hardware
import Models
import Report
import Scenario

public struct DecodeSpec: Sendable, Equatable {
    public var model: ModelSpec
    /// Weights and GEMM inputs.
    public var precision: Precision
    public var kvPrecision: Precision
    public var tp: Int
    /// Pipeline stages (layers split evenly; the batch runs as up to `pp` micro-batches) and
    /// independent data-parallel replicas, each with its own `batch`.
    public var pp = 1
    public var dp = 1
    /// Wide expert parallelism (MoE): routed experts over `ep` GPUs, which form ep / tp
    /// attention groups of `tp` GPUs sharing the batch (1: experts split over the TP group).
    public var ep = 1
    /// How tokens spread over the experts (wide expert parallelism).
    public var routing = ExpertRouting.measured
    public var batch: Int
    public var inputTokens: Int
    public var outputTokens: Int

    /// GPUs of one instance (the TP group, or the EP group under wide expert parallelism).
    public var instanceGPUs: Int { ep > 1 ? ep : tp }
    /// Attention groups per instance, and the sequences each holds.
    public var attentionGroups: Int { ep > 1 ? ep / tp : 1 }
    public var groupBatch: Int { (batch + attentionGroups - 1) / attentionGroups }
}

extension DecodeSpec: Workload {
    public static let kind = "decode"
    public static let summary = "A static batch: one prefill, then decode steps over a growing KV cache (dense or MoE, GQA or MLA; TP, PP, DP, wide EP)"
    public static let needsCluster = true

    /// The keys decode and serving share (serving drops parallelism.pp).
    static let inferenceKeys: [Key] = [
        .kind(kind),
        Key("model", .model, default: .required, "A catalog model (clustersim models list) or an inline model"),
        Key("precision", .choice(Precision.allCases.map(\.rawValue)), default: "bf16", "Weights' and GEMM inputs' precision"),
        Key("kv_precision", .choice(["bf16", "fp8", "fp4"]), default: "bf16", "KV-cache precision (fp4: NVFP4, Blackwell only)"),
        Key("parallelism", .mapping, "How the model is split over GPUs"),
        Key("parallelism.tp", .integer(1...1024), default: "1", "Tensor-parallel GPUs of an instance (inside one NVLink domain)"),
        Key("parallelism.pp", .integer(1...1024), default: "1", "Pipeline stages (layers split evenly; the batch runs as up to pp micro-batches)"),
        Key("parallelism.dp", .integer(1...1_000_000), default: "1", "Independent replicas, each with its own batch"),
        Key("parallelism.ep", .integer(1...100_000), default: "1",
            "Wide expert parallelism (MoE): routed experts over ep GPUs forming ep / tp attention groups (1: experts split over the TP group)"),
        Key("expert_routing", .choice(["power_law", "balanced"]), default: "power_law",
            "Under wide EP, how tokens spread over experts: power_law (p(x) ∝ x^−α, aiconfigurator's fit to DeepSeek-V3/R1 serving) or balanced; the busiest rank sets each MoE layer"),
        Key("routing_alpha", .quantity(.count, minimum: 0, exclusive: true, maximum: 5), default: "1.01", "The power law's exponent α (1.2: aiconfigurator's fit to Qwen3-235B)"),
        Key("eplb_slots", .integer(1...1_000_000), default: .derived("the model's experts"),
            "Expert slots over the EP group: redundant copies of the hottest experts placed to balance the ranks (TensorRT-LLM's num_slots, DeepSeek's EPLB); each GPU holds slots / ep, so ep must divide it"),
        Key("batch", .integer(1...1_000_000), default: "1", "Sequences per replica"),
        Key("input_tokens", .integer(1...10_000_000), default: .required, "Prompt tokens per sequence"),
        Key("output_tokens", .integer(1...10_000_000), default: .required, "Generated tokens per sequence (the first comes from the prefill)"),
    ]

    public static let keys = KeyTable(section: "workload", inferenceKeys)

    public static let metrics: [MetricInfo] = [
        MetricInfo("ttft_s", unit: "s", .lower, "Time to first token: the prefill pass"),
        MetricInfo("tpot_s", unit: "s", .lower, "Time per output token: the mean decode step after the prefill"),
        MetricInfo("e2e_s", unit: "s", .lower, "Prefill plus every decode step"),
        MetricInfo("tokens_per_s", unit: "tokens/s", .higher, "dp × batch × output tokens over e2e_s"),
        MetricInfo("tokens_per_s_per_gpu", unit: "tokens/s", .higher, "tokens_per_s over the GPUs (instance GPUs × pp × dp)"),
        MetricInfo("tokens_per_s_per_user", unit: "tokens/s", .higher, "1 / tpot_s"),
        MetricInfo("weight_bytes_per_gpu", unit: "B", .neither, "Weights per GPU (of the stage with the most layers)"),
        MetricInfo("kv_cache_bytes_per_gpu", unit: "B", .neither, "KV cache per GPU at the last token (of the stage with the most layers)"),
        MetricInfo("gpus", unit: "GPUs", .neither, "GPUs the workload occupies (instance GPUs × pp × dp; an input, for a search's constraints)"),
    ]

    public var usesSpeculativeDecoding: Bool { true }

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> DecodeSpec? {
        guard let d = InferenceReading.read(f, sizesRequired: true) else { return nil }
        InferenceReading.checkSpeculative(d, scenario)
        InferenceReading.check(d, instances: 1, scenario)
        if scenario.noise.networkCV > 0 { scenario.warnUnused("noise.network_cv", kind: kind, because: " (it moves no data over links)") }
        return d
    }
}
