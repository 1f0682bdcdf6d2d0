// One training step as a discrete-event simulation: every pipeline stage of every simulated
// data-parallel replica runs its schedule (PipelineSchedule) layer by layer, waits for the
// activations and gradients its neighbours send, and hands gradient buckets to its stage's
// data-parallel stream. The bubble, the exposed communication and the peak activation memory
// come out of the run; nothing here is a closed form.
//
// Entities. An entity is one pipeline stage of one replica: the TP (and CP) ranks of a stage
// run in lock-step — they synchronise at every layer's collectives — so they are one entity
// whose durations already include those collectives. Symmetry folding simulates one replica
// (`replicas` = 1) and lets the data-parallel collectives account for the whole group;
// unfolded, every replica is simulated and each data-parallel collective starts only when all
// replicas have posted it, so a slow replica delays everyone as on a real cluster.
//
// Layers. A layer runs its compute (kernels) and then the part of its in-layer communication
// (TP, CP, EP collectives) that is not hidden. While the stage's data-parallel stream is busy,
// its communication kernels hold a fraction of the SMs (`commSMFraction`; NCCL runs one
// thread block per channel on an SM) and of HBM bandwidth (their reductions read and write
// HBM), and the compute of that stage runs at the rate left (`reduceContention`,
// `gatherContention` per operation, at least the SM fraction).
//
// Data-parallel stream (one per stage, shared by its replicas, first in first out):
// - gradient buckets: a bucket is posted when the last micro-batch's backward of all its
//   layers has finished (gradient accumulation over micro-batches; Megatron-LM's
//   overlap_grad_reduce), or all at the end when `overlapGradientReduce` is off;
// - parameter all-gathers (ZeRO ≥ 1 with the parameter gather overlapped with the next
//   step's forward): posted at the start in the order the forwards need them; a layer's first
//   forward waits for its bucket;
// - ZeRO-3: a gather before every forward and every backward of every layer (prefetched one
//   layer ahead) and a reduce-scatter after every backward, each layer its own bucket.
// The step ends when every stage has run its tasks, drained its stream and run its optimizer.
import Engine

/// Seconds and bytes of one layer's pass (forward or backward) on one stage.
public struct LayerPass: Sendable, Equatable {
    /// Kernel time, slowed while data-parallel communication holds SMs.
    public var compute: Double
    /// In-layer communication left exposed after the kernels.
    public var communication: Double
    /// Bytes the pass's collectives move over each GPU's links (for traces).
    public var linkBytes: Double

    public init(compute: Double, communication: Double, linkBytes: Double = 0) {
        self.compute = compute
        self.communication = communication
        self.linkBytes = linkBytes
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

public enum TrainingStep {
    enum Event {
        case computeDone(entity: Int, version: Int)
        case layerDone(entity: Int)
        case arrival(entity: Int, key: Int)
        case streamDone(stage: Int)
    }

    enum Phase { case waiting, gather, compute, communication, finished }

    struct Entity {
        var stage: Int
        var replica: Int
        var task = 0
        var layer = 0
        var phase = Phase.waiting
        var remaining = 0.0
        var lastUpdate = 0.0
        var version = 0
        var slow = 1.0
        var busy = 0.0
        var communication = 0.0
        var gatherWait = 0.0
        var waitStart = 0.0
        var passStart = 0.0
        var activations = 0.0
        var peakActivations = 0.0
        var arrived = Set<Int>()
        var posted = Set<Int>()
        var computeEnd = 0.0
    }

    struct StreamOp {
        var key: Int
        var bucket: Int
        /// Entities that posted a gradient bucket, and when (recorded runs only).
        var posters: [(entity: Int, time: Double)] = []
        var seconds: Double
        var posts: Int
        var isGather: Bool
    }

    struct Stream {
        var queue: [StreamOp] = []
        var head = 0
        var busy = false
        var done = Set<Int>()   // keys of finished gathers
        var end = 0.0
    }

    /// Runs one step. `slowdown(entity)` is the entity's straggler factor for the step, and
    /// `jitter(entity)` a factor drawn for each layer pass it runs (1 for a run without noise).
    public static func run(_ plan: TrainingStepPlan, slowdown: (Int) -> Double = { _ in 1 }, jitter: (Int) -> Double = { _ in 1 },
                           record: Bool = false) -> TrainingStepResult {
        let p = plan.stages.count, v = plan.chunks, m = plan.microBatches
        let orders = (0..<p).map { PipelineSchedule.order(stage: $0, stages: p, microBatches: m, chunks: v) }
        let sim = Simulator<Event>()
        var entities = (0..<(plan.replicas * p)).map { Entity(stage: $0 % p, replica: $0 / p) }
        for e in entities.indices { entities[e].slow = slowdown(e) }
        var streams = [Stream](repeating: Stream(), count: p)
        let fraction = plan.commSMFraction
        // Stream keys: bucket, micro-batch (ZeRO-3), pass (forward or backward), kind (gather or reduction).
        func key(gather: Bool, bucket: Int, microBatch: Int = 0, forward: Bool = true) -> Int {
            ((bucket * (m + 1) + microBatch) * 2 + (forward ? 1 : 0)) * 2 + (gather ? 1 : 0)
        }
        func arrivalKey(_ t: PipelineTask) -> Int { (t.microBatch * v + t.chunk) * 2 + (t.forward ? 1 : 0) }
        var contention = [Double](repeating: fraction, count: p)
        func rate(_ stage: Int) -> Double { streams[stage].busy ? 1 - contention[stage] : 1 }
        var pipelineEnd = 0.0
        var spans: [StepSpan] = [], sends: [StepSend] = []
        var streamStart = [Double](repeating: 0, count: p)
        func passName(_ e: Int, _ t: PipelineTask, _ index: Int) -> String {
            let names = plan.stages[entities[e].stage].layerNames
            let layer = t.chunk < names.count && index < names[t.chunk].count ? names[t.chunk][index] : "layer \(index)"
            return "\(t.forward ? "F" : "B")\(t.microBatch) \(layer)"
        }

        // MARK: the data-parallel stream
        func post(_ stage: Int, key: Int, seconds: Double, gather: Bool, from entity: Int? = nil) {
            // Mutated in place: a copy of the stream would copy its whole queue on every post.
            let i: Int
            if let found = streams[stage].queue[streams[stage].head...].firstIndex(where: { $0.key == key }) {
                i = found
                streams[stage].queue[i].posts += 1
            } else {
                i = streams[stage].queue.count
                streams[stage].queue.append(StreamOp(key: key, bucket: key / 4 / (m + 1), seconds: seconds, posts: 1, isGather: gather))
            }
            if record, let entity { streams[stage].queue[i].posters.append((entity, sim.now)) }
            startStream(stage)
        }
        func startStream(_ stage: Int) {
            guard !streams[stage].busy, streams[stage].head < streams[stage].queue.count,
                  streams[stage].queue[streams[stage].head].posts == plan.replicas else { return }
            let op = streams[stage].queue[streams[stage].head]
            let shares = op.isGather ? plan.stages[stage].gatherContention : plan.stages[stage].reduceContention
            contention[stage] = shares.dropFirst(op.bucket).first ?? fraction
            setBusy(stage, true)
            streamStart[stage] = sim.now
            for (entity, time) in op.posters {
                sends.append(StepSend(name: "gradient bucket \(op.bucket)", microBatch: nil, from: entity, to: entity,
                                      fromStream: 0, toStream: 2, start: time, end: sim.now))
            }
            sim.schedule(.streamDone(stage: stage), after: streams[stage].queue[streams[stage].head].seconds)
        }
        /// Changes the stage's SM share: every computing entity of the stage is re-timed.
        func setBusy(_ stage: Int, _ busy: Bool) {
            let before = rate(stage)
            streams[stage].busy = busy
            let after = rate(stage)
            guard before != after else { return }
            for e in stride(from: stage, to: entities.count, by: p) where entities[e].phase == .compute {
                entities[e].remaining -= (sim.now - entities[e].lastUpdate) * before
                entities[e].lastUpdate = sim.now
                entities[e].version += 1
                sim.schedule(.computeDone(entity: e, version: entities[e].version), after: Swift.max(0, entities[e].remaining) / after)
            }
        }

        // MARK: entities
        func currentTask(_ e: Int) -> PipelineTask? {
            let order = orders[entities[e].stage]
            return entities[e].task < order.count ? order[entities[e].task] : nil
        }
        func dependencyMet(_ e: Int, _ t: PipelineTask) -> Bool {
            let vs = t.chunk * p + entities[e].stage
            if t.forward { return vs == 0 || entities[e].arrived.contains(arrivalKey(t)) }
            return vs == v * p - 1 || entities[e].arrived.contains(arrivalKey(t))
        }
        func gatherKey(_ e: Int, _ t: PipelineTask, layer: Int) -> Int? {
            let bucket = plan.stages[entities[e].stage].bucket[t.chunk][layer]
            switch plan.sharding {
            case .perStep(let gather):
                guard gather, t.forward, t.microBatch == 0, plan.stages[entities[e].stage].gatherSeconds[bucket] > 0 else { return nil }
                return key(gather: true, bucket: bucket)
            case .perPass:
                return key(gather: true, bucket: bucket, microBatch: t.microBatch, forward: t.forward)
            }
        }
        /// ZeRO-3: posts (once per entity) the gather of the layer pass `position` passes after
        /// the start of task `ti` (spilling into the next task), so that it is fetched ahead.
        func ensureGather(_ e: Int, task ti: Int, position: Int) {
            guard case .perPass = plan.sharding else { return }
            let stage = entities[e].stage, order = orders[stage]
            var ti = ti, position = position
            guard ti < order.count else { return }
            if position >= plan.stages[stage].forward[order[ti].chunk].count {
                position -= plan.stages[stage].forward[order[ti].chunk].count
                ti += 1
                guard ti < order.count else { return }
            }
            let t = order[ti]
            let layers = plan.stages[stage].forward[t.chunk].count
            guard position < layers else { return }
            let index = t.forward ? position : layers - 1 - position
            guard let k = gatherKey(e, t, layer: index), entities[e].posted.insert(k).inserted else { return }
            post(stage, key: k, seconds: plan.stages[stage].gatherSeconds[plan.stages[stage].bucket[t.chunk][index]], gather: true)
        }
        /// Moves entity `e` on as far as it can go now.
        func advance(_ e: Int) {
            while entities[e].phase == .waiting || entities[e].phase == .gather {
                guard let t = currentTask(e) else {
                    entities[e].phase = .finished
                    return
                }
                guard dependencyMet(e, t) else { return }
                let stage = entities[e].stage
                let work = plan.stages[stage]
                let passes = t.forward ? work.forward[t.chunk] : work.backward[t.chunk]
                // Forward runs layers in order, backward in reverse.
                let index = t.forward ? entities[e].layer : passes.count - 1 - entities[e].layer
                ensureGather(e, task: entities[e].task, position: entities[e].layer)
                if let k = gatherKey(e, t, layer: index), !streams[stage].done.contains(k) {
                    if entities[e].phase != .gather {
                        entities[e].phase = .gather
                        entities[e].waitStart = sim.now
                    }
                    return
                }
                if entities[e].phase == .gather { entities[e].gatherWait += sim.now - entities[e].waitStart }
                ensureGather(e, task: entities[e].task, position: entities[e].layer + 1)
                let pass = passes[index]
                entities[e].phase = .compute
                entities[e].remaining = pass.compute * entities[e].slow * jitter(e)
                entities[e].lastUpdate = sim.now
                entities[e].version += 1
                entities[e].busy -= sim.now  // busy accumulates the span of the layer
                entities[e].passStart = sim.now
                sim.schedule(.computeDone(entity: e, version: entities[e].version), after: entities[e].remaining / rate(stage))
            }
        }
        func layerFinished(_ e: Int) {
            let t = currentTask(e)!
            let stage = entities[e].stage
            let work = plan.stages[stage]
            let count = work.forward[t.chunk].count
            let index = t.forward ? entities[e].layer : count - 1 - entities[e].layer
            entities[e].busy += sim.now
            let bytes = work.activationBytes[t.chunk][index]
            entities[e].activations += t.forward ? bytes : -bytes
            entities[e].peakActivations = Swift.max(entities[e].peakActivations, entities[e].activations)
            if !t.forward {
                let bucket = work.bucket[t.chunk][index]
                switch plan.sharding {
                case .perStep:
                    if t.microBatch == m - 1 && work.reduceSeconds[bucket] > 0 && plan.overlapGradientReduce {
                        // Every replica posts once, when the bucket's last layer is done.
                        if completesBucket(stage, chunk: t.chunk, index: index) {
                            post(stage, key: key(gather: false, bucket: bucket), seconds: work.reduceSeconds[bucket], gather: false, from: e)
                        }
                    }
                case .perPass:
                    post(stage, key: key(gather: false, bucket: bucket, microBatch: t.microBatch), seconds: work.reduceSeconds[bucket], gather: false, from: e)
                }
            }
            entities[e].layer += 1
            if entities[e].layer == count {
                taskFinished(e, t)
            }
            entities[e].phase = .waiting
            advance(e)
        }
        /// Whether layer `index` is the last of its bucket to finish its backward (buckets are
        /// runs of consecutive layers, and backward runs them from the last to the first).
        func completesBucket(_ stage: Int, chunk: Int, index: Int) -> Bool {
            let buckets = plan.stages[stage].bucket[chunk]
            return index == 0 || buckets[index - 1] != buckets[index]
        }
        func taskFinished(_ e: Int, _ t: PipelineTask) {
            entities[e].layer = 0
            entities[e].task += 1
            let stage = entities[e].stage
            let vs = t.chunk * p + stage
            if !t.forward { pipelineEnd = Swift.max(pipelineEnd, sim.now) }
            entities[e].computeEnd = sim.now
            // Send the activation on, or the gradient back.
            let target = t.forward ? vs + 1 : vs - 1
            if (0..<(v * p)).contains(target) {
                let next = PipelineTask(forward: t.forward, microBatch: t.microBatch, chunk: target / p)
                let entity = entities[e].replica * p + target % p
                let link = t.forward ? stage : target % p  // the boundary below the higher stage
                sim.schedule(.arrival(entity: entity, key: arrivalKey(next)), after: plan.stages[link].sendSeconds)
                if record {
                    sends.append(StepSend(name: "\(t.forward ? "activation" : "gradient") \(t.microBatch)", microBatch: t.microBatch, from: e, to: entity,
                                          start: sim.now, end: sim.now + plan.stages[link].sendSeconds))
                }
            }
            if currentTask(e) == nil, case .perStep = plan.sharding, !plan.overlapGradientReduce {
                for (b, seconds) in plan.stages[stage].reduceSeconds.enumerated() where seconds > 0 {
                    post(stage, key: key(gather: false, bucket: b), seconds: seconds, gather: false, from: e)
                }
            }
        }

        // MARK: start
        for stage in 0..<p {
            if case .perStep(true) = plan.sharding {
                // Gathers in the order the forwards need them: chunk by chunk, first layer first.
                var seen = Set<Int>()
                for chunk in 0..<v {
                    for b in plan.stages[stage].bucket[chunk] where !seen.contains(b) && plan.stages[stage].gatherSeconds[b] > 0 {
                        seen.insert(b)
                        for _ in 0..<plan.replicas {
                            post(stage, key: key(gather: true, bucket: b), seconds: plan.stages[stage].gatherSeconds[b], gather: true)
                        }
                    }
                }
            }
        }
        for e in entities.indices {
            advance(e)
        }
        sim.run { event in
            switch event {
            case .computeDone(let e, let version):
                guard version == entities[e].version, entities[e].phase == .compute else { return }
                let t = currentTask(e)!
                let passes = t.forward ? plan.stages[entities[e].stage].forward[t.chunk] : plan.stages[entities[e].stage].backward[t.chunk]
                let index = t.forward ? entities[e].layer : passes.count - 1 - entities[e].layer
                entities[e].phase = .communication
                entities[e].communication += passes[index].communication
                if record {
                    let name = passName(e, t, index)
                    spans.append(StepSpan(entity: e, microBatch: t.microBatch, stream: 0, name: name, start: entities[e].passStart, end: sim.now))
                    if passes[index].communication > 0 {
                        spans.append(StepSpan(entity: e, linkBytes: passes[index].linkBytes, microBatch: t.microBatch, stream: 1, name: name + " collectives", start: sim.now, end: sim.now + passes[index].communication))
                    }
                }
                sim.schedule(.layerDone(entity: e), after: passes[index].communication)
            case .layerDone(let e):
                layerFinished(e)
            case .arrival(let e, let k):
                entities[e].arrived.insert(k)
                if entities[e].phase == .waiting { advance(e) }
            case .streamDone(let stage):
                let op = streams[stage].queue[streams[stage].head]
                streams[stage].head += 1
                if record {
                    let work = plan.stages[stage]
                    let bytes = (op.isGather ? work.gatherLinkBytes : work.reduceLinkBytes).dropFirst(op.bucket).first ?? 0
                    for e in stride(from: stage, to: entities.count, by: p) {
                        spans.append(StepSpan(entity: e, linkBytes: bytes, microBatch: nil, stream: 2, name: op.isGather ? "parameter all-gather" : "gradient reduction",
                                              start: streamStart[stage], end: sim.now))
                    }
                }
                streams[stage].end = sim.now
                if op.isGather { streams[stage].done.insert(op.key) }
                setBusy(stage, false)
                startStream(stage)
                if op.isGather {
                    for e in stride(from: stage, to: entities.count, by: p) where entities[e].phase == .gather { advance(e) }
                }
            }
        }
        precondition(entities.allSatisfy { $0.phase == .finished }, "training step deadlocked")
        var step = 0.0
        for stage in 0..<p {
            let computeEnd = stride(from: stage, to: entities.count, by: p).map { entities[$0].computeEnd }.max() ?? 0
            step = Swift.max(step, Swift.max(computeEnd, streams[stage].end) + plan.stages[stage].optimizerSeconds)
        }
        let busiest = entities.indices.max { entities[$0].busy < entities[$1].busy }!
        let idle = entities.map { pipelineEnd > 0 ? Swift.max(0, pipelineEnd - $0.busy - $0.gatherWait) / pipelineEnd : 0 }
        return TrainingStepResult(
            stepTime: step, bubbleFraction: idle.reduce(0, +) / Double(idle.count),
            peakActivationBytes: (0..<p).map { stage in stride(from: stage, to: entities.count, by: p).map { entities[$0].peakActivations }.max() ?? 0 },
            computeTime: entities[busiest].busy - entities[busiest].communication, layerCommunication: entities[busiest].communication,
            spans: spans, sends: sends
        )
    }
}
