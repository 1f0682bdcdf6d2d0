// The typed scenario: what one variant of an experiment simulates, in SI units. The parts
// every workload kind shares live here; each kind's own spec lives in its folder under
// Sources/Workloads and conforms to `WorkloadSpec`. Keys: ScenarioKeys.swift and each kind's
// table (docs/scenario-keys.md prints them all).
import Foundation
import Hardware
import Models

/// One fully resolved scenario (the base, or a variant with its overrides applied).
public struct ScenarioSpec: Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64
    public var replications: Int
    public var cluster: ClusterSpec?
    public var workload: any WorkloadSpec
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
    /// The NICs' transport, and whether its switches reduce in the network (InfiniBand SHARP).
    public var transport: ScaleOutTransport = .infiniband
    public var sharp = false
    /// Each GPU's power limit, W (nil: its TDP); sets the clock of sustained kernels.
    public var powerLimit: Double?
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
    /// The tensor-parallel all-reduce of decode and serving: "nccl", or a framework's own
    /// ("trtllm", "vllm", "sglang").
    public var allReduce = "nccl"
    /// Kernel fusions of decode and serving (each removes kernels and their HBM round trips).
    public var fusion = KernelFusion()
    /// The CPU side of an iteration (decode and serving): the framework's scheduling, input
    /// preparation and output processing, `cpuPerIteration` + `cpuPerSequence` × the sequences
    /// it runs. Default 0: not modelled unless given (it depends on the framework, its version
    /// and the host CPU; profile one to set it).
    public var cpuPerIteration = 0.0
    public var cpuPerSequence = 0.0
    /// The CPU prepares the next iteration while the GPU runs this one (SGLang's overlap
    /// scheduler, vLLM's async scheduling): an iteration takes max(CPU, GPU), not their sum.
    public var overlapScheduling = false

    /// An iteration's time from its GPU time and the sequences it runs.
    public func iterationSeconds(gpu: Double, sequences: Int) -> Double {
        let cpu = cpuPerIteration + cpuPerSequence * Double(sequences)
        return overlapScheduling ? Swift.max(cpu, gpu) : cpu + gpu
    }
}

/// Fusions inference stacks apply to a layer's element-wise kernels (TensorRT-LLM's fused ops,
/// vLLM's and SGLang's compile passes).
public struct KernelFusion: Sendable, Equatable {
    /// A low-precision GEMM's input quantised by the kernel that writes it (the norm or the
    /// activation before it), not by a separate kernel: every GEMM but those fed by attention.
    public var quantize = false
    /// The residual add and the next norm as one kernel (reading the residual and the update,
    /// writing both outputs: 3 passes of the hidden state instead of 2 + 2).
    public var residualNorm = false
    /// The residual add and norm inside the tensor-parallel all-reduce kernel (TensorRT-LLM's
    /// AllReduce with RESIDUAL_RMS_NORM fusion; needs a framework all-reduce and tp > 1).
    public var allReduceNorm = false

    public init() {}
}

/// Speculative decoding (Leviathan et al., "Fast Inference from Transformers via Speculative
/// Decoding", ICML 2023): a draft model proposes `draftTokens` tokens one at a time, the target
/// model verifies them in one pass over draftTokens + 1 positions, and each proposal is
/// accepted with probability `acceptance` (independently), so a step yields
/// (1 − α^(k+1)) / (1 − α) tokens on average.
///
/// With `draftModel` nil the draft is multi-token prediction (DeepSeek-V3, §2.2 of its technical
/// report): a module of one more transformer block of the target's shape, sharing the target's
/// embedding and output head, proposes each token; DeepSeek-R1 deployments run it this way.
public struct SpeculativeSpec: Sendable, Equatable {
    public var draftModel: ModelSpec?
    public var draftTokens: Int
    public var acceptance: Double

    public init(draftModel: ModelSpec?, draftTokens: Int, acceptance: Double) {
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

/// What the generic loader needs of a workload kind. Each kind's spec (Sources/Workloads)
/// conforms; the Workloads module's `Workload` protocol adds the simulation and the metrics.
public protocol WorkloadSpec: Sendable {
    /// The kind's name, as `workload.kind` writes it.
    static var kind: String { get }
    /// One line: what the kind simulates.
    static var summary: String { get }
    /// The keys of its `workload` section (`kind` among them).
    static var keys: KeyTable { get }
    /// Whether the kind needs a `cluster:` section (transfers defines its own links).
    static var needsCluster: Bool { get }
    /// Reads and checks the `workload` section against the rest of the scenario; nil when
    /// something is wrong (every problem logged).
    static func read(_ workload: FieldReader, in scenario: ScenarioContext) -> Self?
    /// Whether this workload runs `stack.speculative` (the loader warns when it is set and not).
    var usesSpeculativeDecoding: Bool { get }
}

extension WorkloadSpec {
    public var usesSpeculativeDecoding: Bool { false }
}

/// The parts of a scenario already read when its workload is: for checks across sections.
public struct ScenarioContext {
    /// The top-level mapping (for the origins of other sections' keys).
    public let top: FieldReader
    public let cluster: ClusterSpec?
    public let stack: StackSpec
    public let noise: NoiseSpec
    public var log: DiagnosticLog { top.log }

    /// The deepest node along a dotted path of the file ("cluster.gpus"), and whether the
    /// whole path is there.
    func node(at path: String) -> (node: ConfigNode, found: Bool) {
        var node: ConfigNode = top.node
        for component in path.split(separator: ".") {
            guard let next = node[String(component)] else { return (node, false) }
            node = next
        }
        return (node, true)
    }

    /// Where the value at a dotted path came from, or the nearest mapping above it that exists.
    public func origin(_ path: String) -> Origin? { node(at: path).node.origin }

    /// Whether the file sets the key at a dotted path (to something other than null).
    public func has(_ path: String) -> Bool {
        let (node, found) = node(at: path)
        if case .null = node { return false }
        return found
    }

    public func error(_ path: String, _ message: String) { log.error(origin(path), path, message) }
    public func warning(_ path: String, _ message: String) { log.warning(origin(path), path, message) }
}

/// One variant of an experiment: its name and its resolved scenario.
public struct Variant: Sendable {
    public var name: String
    public var spec: ScenarioSpec
    /// Its place among the scenario's variants: without common random numbers its random
    /// streams are keyed by it, so a run of some of the variants draws what the whole would.
    public var stream: Int

    public init(name: String, spec: ScenarioSpec, stream: Int) {
        self.name = name
        self.spec = spec
        self.stream = stream
    }
}

/// What `compare` contrasts (read by the comparison command).
public struct CompareSpec: Sendable, Equatable {
    /// Why `baseline` cannot be compared with (it names none of `variants`, with the nearest
    /// name when one is near), nil when it can.
    public static func missingBaseline(_ baseline: String, among variants: [String]) -> String? {
        guard !variants.contains(baseline) else { return nil }
        var message = "no variant is named \"\(baseline)\""
        if let guess = closestName(to: baseline, among: variants) { message += "; did you mean \"\(guess)\"?" }
        return message
    }

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
    /// What `clustersim search` explores (nil: the scenario has no search section).
    public var search: SearchSpec? = nil
    /// Keys that are valid but have no effect on this workload, for the user's attention.
    public var warnings: [Diagnostic]
    /// The full paths of the key-table entries the reader asked for, present or not (a test
    /// checks that every declared key is read by some scenario).
    public var keysRead: Set<String> = []
}
