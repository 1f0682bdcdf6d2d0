// What TrainingStep takes and returns: the priced work of every stage, and the step's result.
/// Seconds and bytes of one layer's pass (forward or backward) on one stage.
public struct LayerPass: Sendable, Equatable {
    /// Kernel time, slowed while data-parallel communication holds SMs.
    public var compute: Double
    /// In-layer communication left exposed after the kernels.
    public var communication: Double
    /// Bytes the pass's collectives move over each GPU's links (for traces).
    public var linkBytes: Double
    /// Dynamic energy of the pass's kernels on one GPU, joules (PowerModel; for the metrics).
    public var energy: Double

    public init(compute: Double, communication: Double, linkBytes: Double = 0, energy: Double = 0) {
        self.compute = compute
        self.communication = communication
        self.linkBytes = linkBytes
        self.energy = energy
    }
}

/// What one pipeline stage runs, priced.
public struct StageWork: Sendable {
    /// Per chunk, its layers' forward and backward passes in forward order (a chunk's first
    /// "layer" may be the embedding, its last the head).
    public var forward: [[LayerPass]]
    public var backward: [[LayerPass]]
    /// Bytes each forward of a chunk's layer leaves stored until its backward.
    public var activationBytes: [[Double]]
    /// Data-parallel bucket of each layer of each chunk (gradients and parameter gathers).
    public var bucket: [[Int]]
    /// Seconds of each bucket's gradient collective and parameter all-gather (0: none).
    public var reduceSeconds: [Double]
    public var gatherSeconds: [Double]
    /// Seconds to send one micro-batch's activation (or gradient) to the next stage.
    public var sendSeconds: Double
    /// The optimizer step after the stage's gradients are reduced.
    public var optimizerSeconds: Double
    /// Names of each chunk's layers, for traces ("L12", "embedding", "head").
    public var layerNames: [[String]]
    /// Bytes each bucket's gradient collective and parameter all-gather move over each GPU's
    /// links (for traces; empty: not recorded).
    public var reduceLinkBytes: [Double] = []
    public var gatherLinkBytes: [Double] = []
    /// Share of the stage's compute rate each bucket's gradient collective and parameter
    /// all-gather take while they run (empty: the plan's `commSMFraction`).
    public var reduceContention: [Double] = []
    public var gatherContention: [Double] = []
    /// Dynamic energy of one step on one GPU of the stage, joules (for the metrics).
    public var energy = 0.0

    public init(forward: [[LayerPass]], backward: [[LayerPass]], activationBytes: [[Double]], bucket: [[Int]],
                reduceSeconds: [Double], gatherSeconds: [Double], sendSeconds: Double, optimizerSeconds: Double, layerNames: [[String]] = []) {
        self.forward = forward
        self.backward = backward
        self.activationBytes = activationBytes
        self.bucket = bucket
        self.reduceSeconds = reduceSeconds
        self.gatherSeconds = gatherSeconds
        self.sendSeconds = sendSeconds
        self.optimizerSeconds = optimizerSeconds
        self.layerNames = layerNames
    }
}

public enum ParameterSharding: Sendable, Equatable {
    /// Gradients reduced once per step; parameters replicated or gathered once per step.
    case perStep(gatherParameters: Bool)
    /// ZeRO-3 / FSDP: parameters gathered for every pass of every layer.
    case perPass
}

public struct TrainingStepPlan: Sendable {
    public var stages: [StageWork]
    public var microBatches: Int
    public var chunks: Int
    /// Replicas simulated: 1 when folded, the data-parallel degree when not.
    public var replicas: Int
    public var sharding: ParameterSharding
    public var overlapGradientReduce: Bool
    /// Fraction of a GPU's SMs the data-parallel stream's kernels hold while they run.
    public var commSMFraction: Double

    public init(stages: [StageWork], microBatches: Int, chunks: Int, replicas: Int, sharding: ParameterSharding,
                overlapGradientReduce: Bool, commSMFraction: Double) {
        self.stages = stages
        self.microBatches = microBatches
        self.chunks = chunks
        self.replicas = replicas
        self.sharding = sharding
        self.overlapGradientReduce = overlapGradientReduce
        self.commSMFraction = commSMFraction
    }
}

/// One span of a recorded step: an entity's layer pass (stream 0), its exposed in-layer
/// communication (stream 1), or its stage's data-parallel operation (stream 2).
public struct StepSpan: Sendable, Equatable {
    public var entity: Int
    /// Bytes moved over each GPU's links during the span (collectives only).
    public var linkBytes: Double = 0
    /// The micro-batch of a layer pass (nil for data-parallel operations).
    public var microBatch: Int?
    public var stream: Int
    public var name: String
    public var start: Double
    public var end: Double
}

/// An activation or gradient sent between entities, or a gradient bucket handed from an
/// entity's compute stream (0) to its stage's data-parallel stream (2).
public struct StepSend: Sendable, Equatable {
    public var name: String
    /// The micro-batch sent (nil for gradient buckets).
    public var microBatch: Int?
    public var from: Int
    public var to: Int
    public var fromStream = 0
    public var toStream = 0
    public var start: Double
    public var end: Double
}

public struct TrainingStepResult: Sendable, Equatable {
    public var stepTime: Double
    /// Mean over entities of the time until the last backward pass ended that their compute
    /// stream waited on neighbours (not on parameter gathers), over that time.
    public var bubbleFraction: Double
    /// Per stage, the most activation bytes stored at once on any of its entities.
    public var peakActivationBytes: [Double]
    /// On the busiest entity (the longest time running layers): seconds running kernels, and
    /// seconds of exposed in-layer communication (TP, CP, EP collectives).
    public var computeTime: Double
    public var layerCommunication: Double
    /// With `record`: the entities' spans and sends, in time order of their ends.
    public var spans: [StepSpan] = []
    public var sends: [StepSend] = []
}
