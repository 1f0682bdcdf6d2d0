// The state of one training step's simulation and its event handlers (the model is described
// in TrainingStep.swift).
import Engine

struct TrainingStepRun {
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

    let plan: TrainingStepPlan
    let jitter: (Int) -> Double
    let record: Bool
    /// Stages, model chunks and micro-batches.
    let p: Int, v: Int, m: Int
    /// Each stage's task order.
    let orders: [[PipelineTask]]
    let fraction: Double
    let sim = Simulator<Event>()
    var entities: [Entity]
    var streams: [Stream]
    /// Each stage's current share of SMs held by its data-parallel stream.
    var contention: [Double]
    var pipelineEnd = 0.0
    var spans: [StepSpan] = [], sends: [StepSend] = []
    var streamStart: [Double]

    init(plan: TrainingStepPlan, slowdown: (Int) -> Double, jitter: @escaping (Int) -> Double, record: Bool) {
        self.plan = plan
        self.jitter = jitter
        self.record = record
        p = plan.stages.count
        v = plan.chunks
        m = plan.microBatches
        orders = (0..<plan.stages.count).map {
            PipelineSchedule.order(stage: $0, stages: plan.stages.count, microBatches: plan.microBatches, chunks: plan.chunks)
        }
        let stages = plan.stages.count
        entities = (0..<(plan.replicas * stages)).map { Entity(stage: $0 % stages, replica: $0 / stages) }
        for e in entities.indices { entities[e].slow = slowdown(e) }
        streams = [Stream](repeating: Stream(), count: stages)
        fraction = plan.commSMFraction
        contention = [Double](repeating: plan.commSMFraction, count: stages)
        streamStart = [Double](repeating: 0, count: stages)
    }

    // MARK: keys and rates

    // Stream keys: bucket, micro-batch (ZeRO-3), pass (forward or backward), kind (gather or reduction).
    func key(gather: Bool, bucket: Int, microBatch: Int = 0, forward: Bool = true) -> Int {
        ((bucket * (m + 1) + microBatch) * 2 + (forward ? 1 : 0)) * 2 + (gather ? 1 : 0)
    }
    func arrivalKey(_ t: PipelineTask) -> Int { (t.microBatch * v + t.chunk) * 2 + (t.forward ? 1 : 0) }
    func rate(_ stage: Int) -> Double { streams[stage].busy ? 1 - contention[stage] : 1 }
    func passName(_ e: Int, _ t: PipelineTask, _ index: Int) -> String {
        let names = plan.stages[entities[e].stage].layerNames
        let layer = t.chunk < names.count && index < names[t.chunk].count ? names[t.chunk][index] : "layer \(index)"
        return "\(t.forward ? "F" : "B")\(t.microBatch) \(layer)"
    }

    // MARK: the data-parallel stream
    mutating func post(_ stage: Int, key: Int, seconds: Double, gather: Bool, from entity: Int? = nil) {
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
    mutating func startStream(_ stage: Int) {
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
    mutating func setBusy(_ stage: Int, _ busy: Bool) {
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
    mutating func ensureGather(_ e: Int, task ti: Int, position: Int) {
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
    mutating func advance(_ e: Int) {
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
    mutating func layerFinished(_ e: Int) {
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
    mutating func taskFinished(_ e: Int, _ t: PipelineTask) {
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

    // MARK: event handlers

    /// A layer pass's kernels are done (unless re-timed since): its exposed collectives follow.
    mutating func computeDone(_ e: Int, version: Int) {
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
    }

    mutating func arrived(_ e: Int, key k: Int) {
        entities[e].arrived.insert(k)
        if entities[e].phase == .waiting { advance(e) }
    }

    /// The stage's data-parallel operation is done: the next one starts, and entities waiting
    /// for a gather move on.
    mutating func streamDone(_ stage: Int) {
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

    mutating func run() -> TrainingStepResult {
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
            case .computeDone(let e, let version): computeDone(e, version: version)
            case .layerDone(let e): layerFinished(e)
            case .arrival(let e, let k): arrived(e, key: k)
            case .streamDone(let stage): streamDone(stage)
            }
        }
        precondition(entities.allSatisfy { $0.phase == .finished }, "training step deadlocked")
        var step = 0.0
        for stage in 0..<p {
            let computeEnd = stride(from: stage, to: entities.count, by: p).map { entities[$0].computeEnd }.max() ?? 0
            step = Swift.max(step, Swift.max(computeEnd, streams[stage].end) + plan.stages[stage].optimizerSeconds)
        }
        let busiest = entities.indices.max { entities[$0].busy < entities[$1].busy }!
        // The event clock and the sum of a stage's pass times round differently: an idle share
        // under 1e-9 is that rounding (a stage that never waits), not a bubble.
        let idle = entities.map { e -> Double in
            guard pipelineEnd > 0 else { return 0 }
            let share = (pipelineEnd - e.busy - e.gatherWait) / pipelineEnd
            return share < 1e-9 ? 0 : share
        }
        return TrainingStepResult(
            stepTime: step, bubbleFraction: idle.reduce(0, +) / Double(idle.count),
            peakActivationBytes: (0..<p).map { stage in stride(from: stage, to: entities.count, by: p).map { entities[$0].peakActivations }.max() ?? 0 },
            computeTime: entities[busiest].busy - entities[busiest].communication, layerCommunication: entities[busiest].communication,
            spans: spans, sends: sends
        )
    }
}
