// Disaggregated serving (DistServe, Zhong et al., OSDI 2024; Splitwise, Patel et al., ISCA
// 2024): prefill instances take waiting prompts first come, first served, an iteration running
// as many prompt chunks as `max_num_tokens` holds (the prompts it has begun first; a chunk at
// most `chunk_tokens`; a prompt's first token comes with its last chunk); its KV cache (every
// layer's, split over the TP ranks, each rank sending its share at once) then moves to the
// decode instance with the fewest requests, over NVLink or the NICs; decode instances admit
// transferred requests within `max_batch` and their KV capacity and run decode-only
// iterations. With `kv_allocation: paged` a decode instance admits a request when its cache so
// far fits in free blocks and grows it by a block as tokens come; when the next slots do not fit
// it preempts the most recently admitted request, which goes back to the front of the prefill
// queue to recompute its prompt and tokens so far and be transferred again (a decode instance
// runs no prefill). With pipeline stages (`pp`) each instance of either pool runs `pp`
// schedulers over its stages, as colocated serving does (StagePipeline): a decode scheduler with
// 1/pp of the instance's cache and batch; each stage's GPUs send their layers' share of a KV
// cache at once. Metrics as colocated, over all GPUs of both pools, plus the mean KV transfer
// time. Speculative decoding is not modelled in disaggregated pools.
import Cluster
import Engine
import Hardware
import Report
import Scenario

struct DisaggregatedServing {
    typealias Request = ServingWorkload.Request

    enum Event {
        /// Open loop: requests from this index on that arrive at its time (then the next time's).
        case arrivals(from: Int)
        /// Closed loop: one request.
        case arrival(Int)
        /// Idle prefill instances schedule once the requests arriving at this instant are queued.
        case schedulePrefill
        case prefillDone(instance: Int)
        case transferred(Int)
        case decodeDone(instance: Int)
    }

    let serving: ServingSpec
    let split: Disaggregation
    let system: SystemSpec
    let pricer: IterationPrices
    /// KV-cache tokens of one decode instance, and of one of its schedulers.
    let capacity: Double
    let engineCapacity: Double
    /// Pipeline stages: schedulers per instance ("engines" below), and each pool's stages.
    let stages: Int
    var prefillStages: StagePipeline
    var decodeStages: StagePipeline
    /// Sequences one decode scheduler runs at once (max_batch over the stages).
    let maxBatch: Int
    /// The share of a KV cache the busiest stage's GPUs send (its layers' share).
    let stageShare: Double
    let time: ServingWorkload.IterationTime
    let kvBytesPerToken: Double
    /// What carries a KV cache between domains (kv_transfer: network).
    let transport: ScaleOutTransport
    let closedLoop: ServingWorkload.ClosedLoop?

    let sim = Simulator<Event>()
    var requests: [Request]
    var transfers: [Double] = []

    // Prefill pool: the prompt queue, and each engine's prompts in progress and the chunks
    // of its iteration in flight (empty: idle).
    var prompts: [Int] = [], promptHead = 0
    var prefilling: [[Int]]
    var chunks: [[(request: Int, chunk: Int)]]
    var kicked = false
    /// Requests preempted by decode instances, to prefill again before new prompts (the last first).
    var recompute: [Int] = []
    /// Prompts not yet in a prefill iteration: new ones and those to recompute.
    var promptsWaiting: Int { prompts.count - promptHead + recompute.count }
    var preemptions = 0

    // Decode pool, per engine.
    var queued: [[Int]]
    var running: [[Int]]
    var reserved: [Double]
    var busy: [Bool]
    var stepping: [[Int]]

    /// timeline.csv, when the outputs ask for it: the prefill instances, then the decode ones.
    var timeline: ServingWorkload.Timeline?
    /// The --trace, when one is asked for: processes numbered as the timeline's instances.
    var traceLog: ServingWorkload.TraceLog?

    // Time integrals for averages, and of the waiting requests over the arrival window's
    // last two quarters.
    var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0, inSystem = 0
    var queue: ServingWorkload.QueueWatch

    init(serving: ServingSpec, split: Disaggregation, requests: [Request], system: SystemSpec, prices: IterationPrices, capacity: Double,
         time: ServingWorkload.IterationTime, closedLoop: ServingWorkload.ClosedLoop?, tracing: Bool) {
        self.serving = serving
        traceLog = tracing ? ServingWorkload.TraceLog() : nil
        self.closedLoop = closedLoop
        self.split = split
        self.requests = requests
        self.system = system
        pricer = prices
        self.capacity = capacity
        self.time = time
        let d = serving.inference
        stages = d.pp
        engineCapacity = capacity / Double(d.pp)
        maxBatch = (serving.maxBatch + d.pp - 1) / d.pp
        transport = time.spec.cluster?.transport ?? .infiniband
        prefillStages = StagePipeline(d, instances: split.prefillInstances, system: system, transport: transport)
        decodeStages = StagePipeline(d, instances: split.decodeInstances, system: system, transport: transport)
        stageShare = Double(prefillStages.stageLayers.max() ?? d.model.layers) / Double(d.model.layers)
        kvBytesPerToken = InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        let prefillEngines = split.prefillInstances * d.pp, decodeEngines = split.decodeInstances * d.pp
        prefilling = [[Int]](repeating: [], count: prefillEngines)
        chunks = [[(request: Int, chunk: Int)]](repeating: [], count: prefillEngines)
        queued = [[Int]](repeating: [], count: decodeEngines)
        running = [[Int]](repeating: [], count: decodeEngines)
        reserved = [Double](repeating: 0, count: decodeEngines)
        busy = [Bool](repeating: false, count: decodeEngines)
        stepping = [[Int]](repeating: [], count: decodeEngines)
        queue = ServingWorkload.QueueWatch(requests, serving: serving, closedLoop: closedLoop != nil)
        let pools = (0..<split.prefillInstances).map { ("prefill", $0) } + (0..<split.decodeInstances).map { ("decode", $0) }
        timeline = serving.outputs.timelineInterval.map { ServingWorkload.Timeline(interval: $0, pools: pools) }
    }

    mutating func run() -> ServingWorkload.Output {
        // Open loop: arrivals are in time order and each schedules the next, so the queue
        // holds one. Closed loop: each user's first request is at 0, the next at a completion.
        if closedLoop != nil {
            for i in requests.indices { sim.schedule(.arrival(i), at: requests[i].arrival) }
        } else if let first = requests.first {
            sim.schedule(.arrivals(from: 0), at: first.arrival)
        }
        sim.run { event in
            account()
            switch event {
            case .arrivals(let first):
                let together = ServingWorkload.arrivingWith(first, in: requests)
                for i in together { arrive(i) }
                if together.upperBound < requests.count { sim.schedule(.arrivals(from: together.upperBound), at: requests[together.upperBound].arrival) }
            case .arrival(let i): arrive(i)
            case .schedulePrefill:
                kicked = false
                for p in chunks.indices where chunks[p].isEmpty { startPrefill(p) }
            case .prefillDone(let p): finishChunk(p)
            case .transferred(let i): assign(i)
            case .decodeDone(let q): finishDecode(q)
            }
        }
        let end = ServingWorkload.elapsed(sim.now)
        let gpus = serving.inference.instanceGPUs * stages * (split.prefillInstances + split.decodeInstances)
        let metrics = ServingWorkload.summarize(requests, serving: serving, end: end, gpus: gpus, meanBatch: areaBatch / end / Double(split.decodeInstances),
                                                kvUtilisation: areaKV / end / (capacity * Double(split.decodeInstances)), meanInSystem: areaInSystem / end,
                                                queue: queue)
            + [Metric("preemptions", unit: "requests", Double(preemptions)),
               Metric("kv_transfer_s", unit: "s", transfers.isEmpty ? 0 : transfers.reduce(0, +) / Double(transfers.count))]
        let timeline = timeline.take()
        return (metrics, ServingWorkload.tables(requests, outputs: serving.outputs, timeline: timeline, end: sim.now, state: state), trace())
    }

    /// The trace, when one was recorded: prefill instances then decode instances, a request on
    /// the decode instance that ran it (the prefill one when it never got there).
    func trace() -> TraceData? {
        let p = split.prefillInstances
        let names = (0..<p).map { ($0, "prefill instance \($0)") } + (0..<split.decodeInstances).map { (p + $0, "decode instance \($0)") }
        return traceLog?.data(requests, end: sim.now, pid: { $0.instance >= 0 ? p + Int($0.instance) : Int(Swift.max(0, $0.prefillInstance)) },
                              processNames: Dictionary(uniqueKeysWithValues: names), engines: stages)
    }

    /// A timeline row's state: prefill instance `k` (the shared queue, its prompts in
    /// progress), or decode instance `k − prefill_instances` (requests transferred and waiting,
    /// running, cache in use), its schedulers summed.
    func state(_ k: Int) -> ServingWorkload.InstanceState {
        var s = ServingWorkload.InstanceState(waiting: 0, running: 0, kvUsed: 0, kvCapacity: 0)
        if k < split.prefillInstances {
            s.waiting = promptsWaiting
            for e in k * stages..<(k + 1) * stages { s.running += prefilling[e].count }
            return s
        }
        let instance = k - split.prefillInstances
        for e in instance * stages..<(instance + 1) * stages {
            s.waiting += queued[e].count
            s.running += running[e].count
            s.kvUsed += reserved[e]
            s.kvCapacity += engineCapacity
        }
        return s
    }

    mutating func account() {
        if timeline?.due(sim.now) == true, var t = timeline.take() {
            t.record(before: sim.now, state)
            timeline = t
        }
        let dt = sim.now - lastChange
        areaInSystem += dt * Double(inSystem)
        areaBatch += dt * Double(running.reduce(0) { $0 + $1.count })
        areaKV += dt * reserved.reduce(0, +)
        // Waiting: prompts not yet in a prefill iteration, and transferred requests not yet in
        // a decode batch.
        if queue.window != nil && dt > 0 {
            queue.add(from: lastChange, to: sim.now, count: promptsWaiting + queued.reduce(0) { $0 + $1.count })
        }
        lastChange = sim.now
    }

    mutating func arrive(_ i: Int) {
        inSystem += 1
        prompts.append(i)
        kickPrefill()
    }

    /// Idle prefill instances schedule, not at once: the requests arriving at this same instant
    /// join their first iteration.
    mutating func kickPrefill() {
        guard !kicked && chunks.contains(where: \.isEmpty) else { return }
        kicked = true
        sim.schedule(.schedulePrefill, at: sim.now)
    }

    /// Prefill engine `p` runs chunks of its prompts in progress, then of waiting prompts,
    /// within the token budget.
    mutating func startPrefill(_ p: Int) {
        var budget = serving.maxNumTokens
        let cap = serving.chunkTokens ?? .max
        var batch: [(request: Int, chunk: Int)] = []
        for i in prefilling[p] where budget > 0 {
            let chunk = Swift.min(requests[i].prompt - requests[i].prefilled, cap, budget)
            batch.append((i, chunk))
            budget -= chunk
        }
        while budget > 0, let i = recompute.last ?? (promptHead < prompts.count ? prompts[promptHead] : nil) {
            if recompute.isEmpty { promptHead += 1 } else { recompute.removeLast() }
            prefilling[p].append(i)
            requests[i].prefillInstance = Int32(p / stages)
            let chunk = Swift.min(requests[i].prompt, cap, budget)
            batch.append((i, chunk))
            budget -= chunk
        }
        guard !batch.isEmpty else { return }
        chunks[p] = batch
        let shape = IterationShape(decodeSequences: 0, meanContext: 0, prefills: batch.map { PrefillChunk(tokens: $0.chunk, context: requests[$0.request].prefilled) })
        let done = end(of: shape, sequences: batch.count, on: p / stages, decodePool: false)
        sim.schedule(.prefillDone(instance: p), at: done)
        if traceLog != nil {
            traceLog!.iteration(pid: p / stages, tid: p % stages, engines: stages, start: sim.now, end: done, decodes: 0, prefills: batch.count,
                                promptTokens: batch.reduce(0) { $0 + $1.chunk }, running: prefilling[p].count,
                                waiting: promptsWaiting, kvUsed: 0, kvCapacity: 0)
        }
    }

    /// An iteration's chunks are done; each finished prompt sends its KV cache to the decode pool.
    mutating func finishChunk(_ p: Int) {
        if timeline != nil {
            for (i, chunk) in chunks[p] { timeline!.prefilled(chunk, endingPrompt: requests[i].prefilled + chunk == requests[i].prompt, on: p / stages) }
        }
        for (i, chunk) in chunks[p] where requests[i].prefill(chunk, at: sim.now) {
            if requests[i].isComplete {
                finish(i)
            } else {
                let bytes = Double(requests[i].prompt) * kvBytesPerToken * stageShare
                let seconds = GroupCollective.pointToPoint(bytes: bytes, gpu: system.gpu, sameDomain: split.sameDomain, transport: transport)
                transfers.append(seconds)
                sim.schedule(.transferred(i), after: seconds)
                if traceLog != nil {
                    let (pid, tid, now) = (p / stages, p % stages, sim.now)
                    traceLog!.sent(i, pid: pid, tid: tid, time: now, bytes: bytes)
                }
            }
        }
        chunks[p] = []
        prefilling[p].removeAll { requests[$0].prefilled == requests[$0].prompt }
        startPrefill(p)
    }

    /// A transferred request joins the decode engine with the fewest requests (the first of equals).
    mutating func assign(_ i: Int) {
        func load(_ q: Int) -> Int { running[q].count + queued[q].count }
        var q = 0
        for candidate in 1..<running.count where load(candidate) < load(q) { q = candidate }
        queued[q].append(i)
        requests[i].instance = Int32(q / stages)
        startDecode(q)
    }

    mutating func startDecode(_ q: Int) {
        guard !busy[q] else { return }
        if serving.kvAllocation == .paged {
            admitPaged(q)
        } else {
            while let i = queued[q].first, running[q].count < maxBatch, reserved[q] + requests[i].size <= engineCapacity {
                queued[q].removeFirst()
                running[q].append(i)
                reserved[q] += requests[i].size
            }
        }
        guard !running[q].isEmpty else { return }
        let context = running[q].reduce(0) { $0 + requests[$1].input + requests[$1].generated } / running[q].count
        stepping[q] = running[q]
        busy[q] = true
        let shape = pricer.pricer.shape(decodeSequences: running[q].count, meanContext: context, prefillTokens: 0, prefillContext: 0, positions: 1)
        let done = end(of: shape, sequences: running[q].count, on: q / stages, decodePool: true)
        sim.schedule(.decodeDone(instance: q), at: done)
        if traceLog != nil {
            let pid = split.prefillInstances + q / stages
            for i in running[q] { traceLog!.received(i, pid: pid, tid: q % stages, time: sim.now) }
            traceLog!.iteration(pid: pid, tid: q % stages, engines: stages, start: sim.now, end: done, decodes: running[q].count, prefills: 0,
                                promptTokens: 0, running: running[q].count, waiting: queued[q].count, kvUsed: reserved[q], kvCapacity: engineCapacity)
        }
    }

    /// When an iteration of `shape` started now on an engine of `instance` of a pool ends: at
    /// once on one stage, or through the instance's stages (the CPU side first unless overlapped).
    mutating func end(of shape: IterationShape, sequences: Int, on instance: Int, decodePool: Bool) -> Double {
        guard stages > 1 else { return sim.now + time.stack.iterationSeconds(gpu: time(pricer.seconds(shape)), sequences: sequences) }
        let ready = sim.now + (time.stack.overlapScheduling ? 0 : time.stack.iterationSeconds(gpu: 0, sequences: sequences))
        let factor = time(1)
        return decodePool ? decodeStages.end(of: shape, on: instance, from: ready, prices: pricer, factor: factor)
            : prefillStages.end(of: shape, on: instance, from: ready, prices: pricer, factor: factor)
    }

    /// Paged: the running requests' next slots must fit (else the most recently admitted goes
    /// back to be recomputed), then transferred requests are admitted while their caches fit.
    mutating func admitPaged(_ q: Int) {
        let block = serving.kvBlockTokens, capacityBlocks = Int(engineCapacity) / block
        func blocks(_ i: Int) -> Int { (requests[i].context + block - 1) / block }
        var used = running[q].reduce(0) { $0 + blocks($1) }
        while used > capacityBlocks, let last = running[q].popLast() {
            used -= blocks(last)
            requests[last].prompt = requests[last].context
            requests[last].prefilled = 0
            requests[last].preemptions += 1
            preemptions += 1
            recompute.append(last)
            kickPrefill()
        }
        while let i = queued[q].first, running[q].count < maxBatch, used + blocks(i) <= capacityBlocks {
            queued[q].removeFirst()
            running[q].append(i)
            used += blocks(i)
        }
        reserved[q] = Double(used * block)
    }

    mutating func finishDecode(_ q: Int) {
        busy[q] = false
        let k = split.prefillInstances + q / stages, tokens = Double(stepping[q].count)
        timeline?.tokens[k] += tokens
        for i in stepping[q] {
            requests[i].decode(tokensPerStep: nil)
            if requests[i].isComplete {
                finish(i)
                if serving.kvAllocation == .reserve { reserved[q] -= requests[i].size }
            }
        }
        running[q].removeAll { requests[$0].done != nil }
        startDecode(q)
    }

    /// In a closed loop the user sends its next request.
    mutating func finish(_ i: Int) {
        requests[i].done = sim.now
        inSystem -= 1
        if let closedLoop, let next = closedLoop.next(after: requests.count, at: sim.now) {
            requests.append(next)
            sim.schedule(.arrival(requests.count - 1), at: sim.now)
        }
    }
}
