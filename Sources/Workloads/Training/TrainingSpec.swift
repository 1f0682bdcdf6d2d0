// `kind: training`: one optimizer step (TrainingWorkload.swift plans it, TrainingStep.swift
// simulates it stage by stage).
import Hardware
import Models
import Report
import Scenario

/// `kind: training`: one step of a transformer under TP × CP × PP × DP (EP inside DP × CP).
public struct TrainingSpec: Sendable, Equatable {
    public var model: ModelSpec
    /// GEMM precision (bf16 or fp8); weights kept in bf16, attention in bf16.
    public var precision: Precision
    public var tp: Int
    public var pp: Int
    public var dp: Int
    public var cp: Int
    public var ep: Int
    /// Model chunks per pipeline stage (> 1: interleaved 1F1B).
    public var virtualStages: Int
    public var sequenceParallel: Bool
    public var sequenceLength: Int
    /// Sequences per step (all replicas) and per micro-batch.
    public var globalBatch: Int
    public var microBatch: Int
    public var recompute: Recompute
    /// Recompute only the first N layers of each model chunk (nil: every layer).
    public var recomputeLayers: Int?
    /// ZeRO stage: 0 (replicated optimizer, gradient all-reduce), 1 (sharded optimizer:
    /// gradient reduce-scatter, parameter all-gather; Megatron's distributed optimizer), 2
    /// (and sharded gradients), 3 (and sharded parameters, gathered for every pass: FSDP).
    public var zero: Int
    /// Gradients reduced in fp32 (4 bytes) rather than bf16.
    public var reduceGradientsInFP32: Bool
    /// FP8 parameters (Megatron's fp8_param_gather, Transformer Engine's fp8 primary weights):
    /// the model's weights are kept and gathered in fp8, with no bf16 copy (precision fp8 only).
    public var fp8Parameters = false
    /// The cross-entropy fused over the vocabulary (no fp32 copy of the logits).
    public var fusedCrossEntropy = false
    /// fp8 current scaling: every cast is preceded by an amax pass over its bf16 input.
    public var currentScaling = false
    /// Parameters per data-parallel bucket.
    public var bucketParameters: Double
    public var overlapGradientReduce: Bool
    public var overlapParameterGather: Bool
    /// SMs per GPU that data-parallel communication kernels hold while they run.
    public var communicationSMs: Int
    /// Transformer layers per pipeline stage whose activations are copied to host memory after
    /// their forward and back before their backward (Megatron's cpu_offloading_num_layers).
    public var offloadLayers: Int
    /// Simulate one data-parallel replica (symmetry folding) or all of them.
    public var fold: Bool

    /// GPUs the step runs on.
    public var gpus: Int { tp * pp * dp * cp }
    /// Micro-batches each replica runs per step.
    public var microBatches: Int { globalBatch / (dp * microBatch) }
}

extension TrainingSpec: Workload {
    public static let kind = "training"
    public static let summary = "One optimizer step of a transformer under TP, CP, PP, DP, EP and ZeRO, simulated stage by stage"
    public static let needsCluster = true

    public static let keys = KeyTable(section: "workload", [
        .kind(kind),
        Key("model", .model, default: .required, "A catalog model (clustersim models list) or an inline model"),
        Key("precision", .choice(["bf16", "fp8", "fp4"]), default: "bf16",
            "GEMM precision: bf16, fp8 (Transformer Engine), or fp4 (NVFP4 as NVIDIA's recipe runs it: every linear layer's forward, data-gradient and weight-gradient GEMMs in NVFP4); weights kept in bf16, attention, norms and softmax in bf16"),
        Key("parallelism", .mapping, "How the model is split over GPUs"),
        Key("parallelism.tp", .integer(1...1024), default: "1", "Tensor-parallel GPUs (inside one NVLink domain)"),
        Key("parallelism.pp", .integer(1...1024), default: "1", "Pipeline stages"),
        Key("parallelism.dp", .integer(1...10_000_000), default: .derived("cluster.gpus / (tp × pp × cp)"), "Data-parallel replicas"),
        Key("parallelism.cp", .integer(1...1024), default: "1", "Context-parallel GPUs (the sequence split over them)"),
        Key("parallelism.ep", .integer(1...1_000_000), default: "1", "Expert-parallel GPUs (MoE; inside dp × cp)"),
        Key("parallelism.vp", .integer(1...1024), default: "1", "Model chunks per pipeline stage (> 1: interleaved 1F1B)"),
        Key("parallelism.sequence_parallel", .bool, default: .derived("tp > 1"), "Megatron sequence parallelism in the TP group"),
        Key("sequence_length", .integer(1...100_000_000), default: .required, "Tokens per sequence"),
        Key("global_batch", .integer(1...100_000_000), default: .required, "Sequences per step, all replicas"),
        Key("micro_batch", .integer(1...1_000_000), default: "1", "Sequences per micro-batch"),
        Key("recompute", .choice(Recompute.allCases.map(\.rawValue)), default: "none", "Activation recompute before each backward"),
        Key("recompute_layers", .integer(1...100_000), default: .derived("every layer"),
            "Recompute only the first N layers of each pipeline stage (of each model chunk when interleaved), keeping the others' activations (Megatron's recompute_method block, recompute_num_layers)"),
        Key("zero", .integer(0...3), default: "1",
            "ZeRO stage: 0 replicated optimizer, 1 sharded optimizer (distributed optimizer), 2 and gradients, 3 and parameters (FSDP)"),
        Key("gradient_reduce_precision", .choice(["bf16", "fp32"]), default: "bf16",
            "Precision of the gradient buffers and their reduction (Megatron's grad_reduce_in_fp32); with bf16 the optimizer keeps fp32 main gradients for what it updates"),
        Key("cross_entropy_fusion", .bool, default: "false",
            "Cross-entropy fused over the logits, as Megatron's cross_entropy_loss_fusion and Transformer Engine's kernel run it (no fp32 copy of the logits)"),
        Key("fp8_scaling", .choice(["delayed", "current"]), default: "delayed",
            "How fp8 scales are found (Transformer Engine's recipes): delayed from past steps' amax, or current (Float8CurrentScaling, NVIDIA's FP8-CS) from an amax pass over each tensor before its cast"),
        Key("fp8_params", .bool, default: "false",
            "Weights kept and gathered in fp8 with no bf16 copy (Megatron's fp8_param_gather); precision fp8 only"),
        // Megatron-LM's default bucket: 40M parameters (DistributedDataParallelConfig.bucket_size).
        Key("bucket_parameters", .quantity(.count, minimum: 1), default: "40e6", "Parameters per data-parallel bucket"),
        Key("overlap_grad_reduce", .bool, default: "true", "Reduce gradient buckets during the backward"),
        Key("overlap_param_gather", .bool, default: "true", "Gather parameter buckets during the forward"),
        // An assumption, not a measurement: NCCL runs one thread block (one SM) per channel, and
        // inter-node rings commonly run 16 channels; ../shared/reference has no SM-occupancy data.
        Key("communication_sms", .integer(0...1024), default: "16", "SMs per GPU that data-parallel communication kernels hold while they run"),
        Key("offload_layers", .integer(0...100_000), default: "0",
            "Layers per stage whose activations go to host memory and back (Megatron's cpu_offloading_num_layers)"),
        Key("fold", .bool, default: "true", "Simulate one data-parallel replica (symmetry folding) rather than all"),
    ])

    public static let metrics: [MetricInfo] = [
        MetricInfo("step_time_s", unit: "s", .lower, "One optimizer step, all micro-batches and the optimizer"),
        MetricInfo("tokens_per_s", unit: "tokens/s", .higher, "global_batch × sequence_length over step_time_s"),
        MetricInfo("tokens_per_s_per_gpu", unit: "tokens/s", .higher, "tokens_per_s over the GPUs"),
        MetricInfo("tflops_per_gpu", unit: "TFLOP/s", .higher, "Model FLOPs (6 × parameters per token plus attention) per GPU and second"),
        // Utilisations, not performance: across systems a faster step can have a lower MFU, so
        // compare does not rank them.
        MetricInfo("mfu", unit: "ratio", .neither, "tflops_per_gpu over the GPU's dense peak in the step's precision (a utilisation, not ranked)"),
        MetricInfo("bubble_fraction", unit: "ratio", .neither,
                   "Mean share of the pipeline phase (to the last backward) a stage waits on its neighbours (not ranked)"),
        MetricInfo("exposed_comm_s", unit: "s", .lower, "How much sooner the step would end if every transfer were free"),
        MetricInfo("compute_time_s", unit: "s", .lower, "The busiest stage's kernel time"),
        MetricInfo("layer_comm_time_s", unit: "s", .lower, "The busiest stage's communication inside layers (TP, CP, EP)"),
        MetricInfo("peak_memory_bytes", unit: "B", .neither, "Peak memory of the fullest GPU"),
        MetricInfo("weight_bytes_per_gpu", unit: "B", .neither, "Weights of the fullest GPU"),
        MetricInfo("activation_bytes_per_gpu", unit: "B", .neither, "Peak activations held for the backward, of the fullest GPU"),
        MetricInfo("energy_per_step_j", unit: "J", .lower,
                   "Energy of one step over all GPUs: static power for the step, and each kernel's FLOPs and HBM bytes (GPUs only: no NVLink, NIC, CPU or cooling)"),
        MetricInfo("energy_per_token_j", unit: "J", .lower, "energy_per_step_j over the step's tokens"),
        MetricInfo("gpu_power_w", unit: "W", .neither, "Mean power per GPU over the step (at most the power limit while its kernels are sustained)"),
        MetricInfo("gpus", unit: "GPUs", .neither, "GPUs the step runs on (tp × cp × pp × dp; an input, for a search's constraints)"),
    ]

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> TrainingSpec? {
        guard var t = TrainingReading.read(f) else { return nil }
        if let cluster = scenario.cluster { TrainingReading.resolve(&t, cluster: cluster, scenario) }
        return t
    }
}
