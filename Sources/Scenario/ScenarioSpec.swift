// The typed scenario: what one variant of an experiment simulates, in SI units.
// The YAML schema is in ../shared/DESIGN.md ("Scenario files") and README.md.
import Foundation
import Hardware
import Workloads

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

/// The cluster section: a system (preset or inline) and how many GPUs.
public struct ClusterSpec: Sendable, Equatable {
    public var system: SystemSpec
    /// GPUs in the cluster; nil means one NVLink domain of the system.
    public var gpus: Int?
    /// Scale-out fabric of each rail: domains under one leaf switch (nil: all, non-blocking)
    /// and the leaf's oversubscription (downlink / uplink bandwidth, ≥ 1).
    public var domainsPerLeaf: Int?
    public var oversubscription: Double = 1
}

/// Inference-stack knobs (read by the kernel workloads).
public struct StackSpec: Sendable, Equatable {
    /// Kernels replayed from a CUDA graph: one launch for all, no per-kernel CPU launch.
    public var cudaGraphs = false
    /// Interval between kernel launches from the CPU without CUDA graphs (the rate a CPU
    /// thread enqueues kernels). Default 3.8 µs: time per kernel of back-to-back asynchronous
    /// launches of a short kernel (NVIDIA Developer Blog, "Getting Started with CUDA Graphs",
    /// 2019; one V100/Xeon system, so an order of magnitude rather than a constant of nature).
    public var launchOverhead = 3.8e-6
    /// Kernel speed relative to the calibrated library kernels (1.1: every kernel body 10%
    /// faster, as a tuned kernel library might be).
    public var kernelEfficiency = 1.0
    /// Fraction of tensor-parallel all-reduce time hidden behind computation (0: none; a
    /// stack that overlaps communication with the next GEMM hides part of it).
    public var communicationOverlap = 0.0
    /// Attention kernels' speed relative to the calibrated ones (the attention backend:
    /// 1.2 is a backend 20% faster than TensorRT-LLM's, whose kernels calibrate the model).
    public var attentionEfficiency = 1.0
    /// Per kernel class, on top of `kernelEfficiency`: GEMMs, and element-wise kernels
    /// (norms, activations, quantisation, sampling). `kernel_efficiency: { gemm: 1.1, ... }`.
    public var gemmEfficiency = 1.0
    public var elementwiseEfficiency = 1.0
    /// Speculative decoding (decode only): nil when off.
    public var speculative: SpeculativeSpec?
}

/// Speculative decoding (Leviathan et al., "Fast Inference from Transformers via Speculative
/// Decoding", ICML 2023): a draft model proposes `draftTokens` tokens one at a time, the target
/// model verifies them in one pass over draftTokens + 1 positions, and each proposal is
/// accepted with probability `acceptance` (independently), so a step yields
/// (1 − α^(k+1)) / (1 − α) tokens on average.
public struct SpeculativeSpec: Sendable, Equatable {
    public var draftModel: ModelSpec
    public var draftTokens: Int
    public var acceptance: Double

    public init(draftModel: ModelSpec, draftTokens: Int, acceptance: Double) {
        self.draftModel = draftModel
        self.draftTokens = draftTokens
        self.acceptance = acceptance
    }

    /// Expected tokens per verification step.
    public var tokensPerStep: Double {
        acceptance >= 1 ? Double(draftTokens + 1) : (1 - pow(acceptance, Double(draftTokens + 1))) / (1 - acceptance)
    }
}

/// Stochastic effects, drawn from per-run GSL streams. All zero means every replication is exact.
public struct NoiseSpec: Sendable, Equatable {
    /// Coefficient of variation of kernel durations (lognormal, mean 1).
    public var kernelCV = 0.0
    /// Coefficient of variation of each transfer's effective size (lognormal, mean 1): the
    /// spread of achieved bandwidth from one transfer to the next.
    public var networkCV = 0.0
    /// Replication r of every variant draws the same random numbers (paired comparisons);
    /// false gives each variant its own streams.
    public var commonRandomNumbers = true
    /// Coefficient of variation of a run's clock (lognormal, mean 1): power or thermal
    /// throttling that slows every kernel of a replication alike.
    public var clockCV = 0.0
    /// Per GPU and synchronous step: the probability it straggles, and by how much.
    public var stragglerProbability = 0.0
    public var stragglerSlowdown = 1.0

    public var isOff: Bool { kernelCV == 0 && networkCV == 0 && clockCV == 0 && (stragglerProbability == 0 || stragglerSlowdown == 1) }
}

public enum WorkloadKind: String, CaseIterable, Sendable {
    case transfers, gemm, memcpy, collective, training, decode, serving
}

public enum WorkloadSpec: Sendable {
    case transfers(TransfersSpec)
    case gemm(GEMMSpec)
    case memcpy(MemcpySpec)
    case collective(CollectiveSpec)
    case training(TrainingSpec)
    case decode(DecodeSpec)
    case serving(ServingSpec)

    public var kind: WorkloadKind {
        switch self {
        case .transfers: .transfers
        case .gemm: .gemm
        case .memcpy: .memcpy
        case .collective: .collective
        case .training: .training
        case .decode: .decode
        case .serving: .serving
        }
    }
}

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
    /// ZeRO stage: 0 (replicated optimizer, gradient all-reduce), 1 (sharded optimizer:
    /// gradient reduce-scatter, parameter all-gather; Megatron's distributed optimizer), 2
    /// (and sharded gradients), 3 (and sharded parameters, gathered for every pass: FSDP).
    public var zero: Int
    /// Gradients reduced in fp32 (4 bytes) rather than bf16.
    public var reduceGradientsInFP32: Bool
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

/// `kind: serving`: Poisson arrivals of fixed-size requests served by continuous batching
/// with chunked prefill on one tensor-parallel group.
public struct ServingSpec: Sendable, Equatable {
    public var inference: DecodeSpec
    /// Requests per second (Poisson), when the requests are not a trace.
    public var arrivalRate: Double
    /// Requests read from a CSV trace (arrival_s, input_tokens, output_tokens), in arrival
    /// order; nil: Poisson arrivals of `inference`'s input and output tokens.
    public var trace: [TracedRequest]?
    /// Arrivals stop after this many seconds, or after `requests` requests, whichever first.
    public var duration: Double?
    public var requests: Int?
    public var maxBatch: Int
    /// Prompt tokens prefilled per iteration (chunked prefill).
    public var chunkTokens: Int
    /// Fraction of GPU memory the engine may use for weights and KV cache.
    public var memoryFraction: Double
    /// Latency targets: when set, the run searches for the highest Poisson arrival rate
    /// that meets both (starting from `arrivalRate`).
    public var slo: ServingSLO? = nil
    /// Separate prefill and decode pools (nil: every instance does both).
    public var disaggregated: Disaggregation? = nil
}

/// Disaggregated serving (DistServe, Zhong et al., OSDI 2024; Splitwise, Patel et al., ISCA
/// 2024): prompts run on prefill instances, their KV caches move over the network to decode
/// instances, which only decode. Every instance is a TP group of the workload's `tp`.
public struct Disaggregation: Sendable, Equatable {
    public var prefillInstances: Int
    public var decodeInstances: Int
    /// Prefill and decode instances share an NVLink domain (KV moves over NVLink), or not
    /// (over the NICs).
    public var sameDomain: Bool

    public init(prefillInstances: Int, decodeInstances: Int, sameDomain: Bool) {
        self.prefillInstances = prefillInstances
        self.decodeInstances = decodeInstances
        self.sameDomain = sameDomain
    }
}

public struct ServingSLO: Sendable, Equatable {
    public var tpotP99: Double
    public var ttftP99: Double

    public init(tpotP99: Double, ttftP99: Double) {
        self.tpotP99 = tpotP99
        self.ttftP99 = ttftP99
    }
}

/// One request of an arrival trace.
public struct TracedRequest: Sendable, Equatable {
    public var arrival: Double
    public var inputTokens: Int
    public var outputTokens: Int

    public init(arrival: Double, inputTokens: Int, outputTokens: Int) {
        self.arrival = arrival
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// `kind: decode`: a static batch; prefill of `inputTokens`, then decode to `outputTokens`.
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
    public var batch: Int
    public var inputTokens: Int
    public var outputTokens: Int

    /// GPUs of one instance (the TP group, or the EP group under wide expert parallelism).
    public var instanceGPUs: Int { ep > 1 ? ep : tp }
    /// Attention groups per instance, and the sequences each holds.
    public var attentionGroups: Int { ep > 1 ? ep / tp : 1 }
    public var groupBatch: Int { (batch + attentionGroups - 1) / attentionGroups }
}

/// `kind: collective`: an nccl-tests-style sweep of one operation over message sizes
/// min_bytes, min_bytes·factor, … up to max_bytes, on `gpus` GPUs of one NVLink domain.
public struct CollectiveSpec: Sendable, Equatable {
    /// all_reduce, all_gather, reduce_scatter or alltoall (nccl-tests' names).
    public var operation: String
    public var gpus: Int
    public var sizes: [Double]
    /// nil: the faster algorithm the hardware allows, as NCCL's tuner picks.
    public var algorithm: String?
    /// Beyond one NVLink domain: simulate one representative group per phase (symmetry folding).
    public var fold: Bool
    /// Placement: GPUs of the group per NVLink domain (nil: fill domains, the default); 1 puts
    /// every GPU in its own domain, so all traffic crosses the NICs.
    public var gpusPerDomain: Int?
}

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
    /// How far below the claim the interval may reach and still support it (relative).
    public var margin: Double = 0.05
    /// The metric the claim is about (default: every metric gets a verdict).
    public var metric: String?

    public init(baseline: String, claim: Double? = nil, margin: Double = 0.05, metric: String? = nil) {
        self.baseline = baseline
        self.claim = claim
        self.margin = margin
        self.metric = metric
    }
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
