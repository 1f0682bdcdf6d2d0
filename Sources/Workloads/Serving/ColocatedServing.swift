// Colocated serving: `dp` independent instances, each prefilling and decoding its own requests
// iteration by iteration. An arriving request joins the scheduler with the fewest requests
// waiting or running (the first of equals).
//
// Pipeline parallelism (`pp` stages, StagePipeline): an instance runs `pp` schedulers ("virtual
// engines", as vLLM's pipeline-parallel engine does: a micro-batch per stage in flight, a
// request in one of them), each with 1/pp of the instance's KV cache and batch, its iterations
// passing through the instance's stages.
//
// An iteration is scheduled as vLLM's and TensorRT-LLM's schedulers do (vLLM
// `v1/core/sched/scheduler.py`; TensorRT-LLM's capacity and micro-batch schedulers):
// 1. Every running request past its prefill decodes (one position, or k + 1 when verifying a
//    speculative draft). With `kv_allocation: paged` their next slots must fit in the cache:
//    while they do not, the most recently admitted running request is preempted (its blocks
//    freed; it goes back to the front of the queue, to recompute its prompt and the tokens it
//    had generated when readmitted).
// 2. The rest of the token budget (`max_num_tokens` less the decode tokens) goes to prompt
//    chunks: first those of running requests still in prefill, in admission order, then new
//    admissions (preempted requests first, most recently preempted first, then arrivals
//    first come, first served) while the batch has room (`max_batch`) and the cache can take
//    them. A chunk is as much of the prompt as the budget and `chunk_tokens` allow, so several
//    short prompts prefill in one iteration. Admission needs the request's whole prompt and
//    output in free blocks under `reserve` (then it is never preempted), its first chunk's
//    blocks under `paged`; a paged running prompt whose next chunk does not fit preempts from
//    the most recently admitted, possibly itself.
// 3. The iteration runs the decode tokens and every chunk through the same GEMMs, with each
//    chunk's attention over its own context (InferencePricer). A prompt's last chunk yields its
//    first token. Under wide expert parallelism each of the ep / tp attention groups has its
//    own budget (its share of the decodes, chunks dealt to the group with most budget left) and
//    the iteration lasts as long as the group with the most prompt tokens.
//
// Cost: the decoding requests are not visited per iteration. With plain decoding each gains one
// token per iteration, so `steps` counts iterations, each request waits in `completions` (a
// ring of lists indexed by step) for the step of its last token, their contexts are a kept sum,
// and their blocks a closed form over the contexts' residues modulo the block size. With
// speculative decoding (fractional tokens per step) they are listed in `decoding` and visited.
// Scheduling is in ColocatedServing+Schedule.swift, pricing and ending an iteration in
// ColocatedServing+Iteration.swift.
import Cluster
import Engine
import Hardware
import Report
import Scenario

struct ColocatedServing {
    typealias Request = ServingWorkload.Request

    /// A request queued for the step of its last token, in the residency it was queued in.
    struct Completion {
        var request: Int
        var residency: Int
    }

    /// One instance's scheduler state.
    struct Instance {
        var waiting: [Int] = []
        var waitingHead = 0
        /// Preempted requests; the last is readmitted first (vLLM puts each preempted request
        /// at the front of its waiting queue).
        var preempted: [Int] = []
        /// Running requests still in prefill, in admission order.
        var prefilling: [Int] = []
        /// Running requests in admission order with their residency (entries of requests no
        /// longer running in it are dropped lazily): the tail is preempted first.
        var admitted: [(request: Int, residency: Int)] = []
        var decodingCount = 0
        var decoding: [Int] = []
        var steps = 0
        /// Plain decoding: the requests whose last token comes at step s, in the order queued, at
        /// index s modulo the ring's size (longer than any output, so steps never collide).
        var completions: [[Completion]] = []
        /// Σ over the decoding requests of their context (input + generated tokens).
        var contextSum = 0
        /// Plain decoding: decoding requests by decodeBase modulo the block size.
        var residues: [Int]
        /// Speculative decoding: the decoding requests' blocks, kept as they grow.
        var decodeBlocks = 0
        /// Blocks held by requests in prefill (paged), or reserved by admitted requests (reserve).
        var heldBlocks = 0
        var busy = false
        /// A `schedule` event is queued.
        var kicked = false
        /// The iteration being planned or in flight (its arrays reused, so scheduling
        /// allocates nothing).
        var iteration = Iteration()

        init(blockTokens: Int, longestOutput: Int) {
            residues = [Int](repeating: 0, count: blockTokens)
            completions = [[Completion]](repeating: [], count: longestOutput + 1)
        }

        /// An empty stand-in (allocates nothing), swapped in while an instance is worked on.
        init() { residues = [] }

        var running: Int { prefilling.count + decodingCount }

        /// Blocks the decoding requests need for this iteration's positions: with plain
        /// decoding Σ ⌈cᵢ/B⌉ over contexts cᵢ = baseᵢ + steps, which is (Σ cᵢ + Σ (−cᵢ mod B)) / B,
        /// the second sum taken over the residues of the bases (B terms, whatever the batch).
        func decodeBlocks(blockTokens: Int, plain: Bool) -> Int {
            guard plain else { return decodeBlocks }
            var padding = 0
            let shift = steps % blockTokens
            for r in 0..<blockTokens where residues[r] > 0 {
                padding += residues[r] * ((blockTokens - (r + shift) % blockTokens) % blockTokens)
            }
            return (contextSum + padding) / blockTokens
        }
        /// Requests waiting to be admitted: arrivals not yet taken, and the preempted.
        var queued: Int { waiting.count - waitingHead + preempted.count }
        var load: Int { queued + running }
    }

    /// An iteration: how many of `decoding` it decodes (the list only grows after them), the
    /// prompt chunks it prefills and the attention group of each, and per group while it is
    /// planned the token budget left and the prompt tokens taken.
    struct Iteration {
        var decoding = 0
        var chunks: [(request: Int, chunk: Int, group: Int)] = []
        var budgets: [Int] = []
        var groupTokens: [Int] = []
    }

    enum Event {
        /// Open loop: requests from this index on that arrive at its time (then the next time's).
        case arrivals(from: Int)
        /// Closed loop: one request.
        case arrival(Int)
        /// An idle instance schedules once the requests arriving at this instant are queued.
        case schedule(Int)
        case iterationDone(Int)
    }

    let serving: ServingSpec
    let pricer: IterationPrices
    /// Speculative decoding: an iteration runs k draft steps for the decoding sequences and
    /// verifies k + 1 positions each, and every decoding sequence gains the expected
    /// (1 − α^(k+1))/(1 − α) tokens (whole tokens as they accumulate).
    let speculation: SpeculativeSpec?
    let draftPricer: IterationPrices?
    /// Expected tokens per speculative step (nil: plain decoding), computed once.
    let tokensPerStep: Double?
    /// Positions each decoding sequence runs per iteration.
    let positions: Int
    /// KV-cache blocks of one instance, and tokens per block.
    let capacityBlocks: Int
    let blockTokens: Int
    let paged: Bool
    let groups: Int
    let time: ServingWorkload.IterationTime
    let closedLoop: ServingWorkload.ClosedLoop?
    /// Pipeline stages: schedulers per instance, and the instances' stages.
    let stages: Int
    var pipeline: StagePipeline
    /// Sequences one scheduler runs at once (max_batch over the stages).
    let maxBatch: Int

    let sim = Simulator<Event>()
    var requests: [Request]
    var instances: [Instance]
    var preemptions = 0
    /// timeline.csv, when the outputs ask for it.
    var timeline: ServingWorkload.Timeline?
    /// The --trace, when one is asked for.
    var traceLog: ServingWorkload.TraceLog?
    // Time integrals for averages, and of the waiting requests over the arrival window's
    // last two quarters.
    var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0
    var queue: ServingWorkload.QueueWatch

    init(serving: ServingSpec, requests: [Request], prices: IterationPrices, speculation: SpeculativeSpec?, draftPrices: IterationPrices?,
         capacity: Double, time: ServingWorkload.IterationTime, closedLoop: ServingWorkload.ClosedLoop?, system: SystemSpec, tracing: Bool) {
        self.serving = serving
        traceLog = tracing ? ServingWorkload.TraceLog() : nil
        self.requests = requests
        pricer = prices
        self.speculation = speculation
        draftPricer = draftPrices
        tokensPerStep = speculation?.tokensPerStep
        positions = speculation.map { $0.draftTokens + 1 } ?? 1
        blockTokens = serving.kvBlockTokens
        let d = serving.inference
        stages = d.pp
        pipeline = StagePipeline(d, instances: d.dp, system: system, transport: time.spec.cluster?.transport ?? .infiniband)
        maxBatch = (serving.maxBatch + d.pp - 1) / d.pp
        capacityBlocks = Int(capacity / Double(serving.kvBlockTokens) / Double(d.pp))
        paged = serving.kvAllocation == .paged
        groups = serving.inference.attentionGroups
        self.time = time
        self.closedLoop = closedLoop
        let longest = serving.trace?.map(\.outputTokens).max() ?? serving.inference.outputTokens
        instances = [Instance](repeating: Instance(blockTokens: serving.kvBlockTokens, longestOutput: longest), count: d.dp * d.pp)
        queue = ServingWorkload.QueueWatch(requests, serving: serving, closedLoop: closedLoop != nil)
        timeline = serving.outputs.timelineInterval.map { ServingWorkload.Timeline(interval: $0, pools: (0..<d.dp).map { ("colocated", $0) }) }
    }

    mutating func run() -> ServingWorkload.Output {
        // Open loop: arrivals are in time order and each time's schedules the next, so the
        // queue holds one. Closed loop: each user's first request is at 0, the next at a completion.
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
            case .schedule(let n):
                instances[n].kicked = false
                startIteration(n)
            case .iterationDone(let n): finishIteration(n)
            }
        }
        let d = serving.inference
        let end = ServingWorkload.elapsed(sim.now), replicas = Double(d.dp)
        let metrics = ServingWorkload.summarize(requests, serving: serving, end: end, gpus: d.instanceGPUs * d.pp * d.dp, meanBatch: areaBatch / end / replicas,
                                                kvUtilisation: areaKV / end / (Double(capacityBlocks * instances.count)), meanInSystem: areaInSystem / end,
                                                queue: queue)
            + [Metric("preemptions", unit: "requests", Double(preemptions))]
        let timeline = timeline.take()
        let trace = traceLog?.data(requests, end: sim.now, pid: { Int(Swift.max(0, $0.instance)) },
                                   processNames: Dictionary(uniqueKeysWithValues: (0..<d.dp).map { ($0, "instance \($0)") }), engines: stages)
        return (metrics, ServingWorkload.tables(requests, outputs: serving.outputs, timeline: timeline, end: sim.now, state: state), trace)
    }

    /// Instance `k`'s state for the timeline: its schedulers (one per stage) summed.
    func state(_ k: Int) -> ServingWorkload.InstanceState {
        var s = ServingWorkload.InstanceState(waiting: 0, running: 0, kvUsed: 0, kvCapacity: 0)
        for q in instances[k * stages..<(k + 1) * stages] {
            s.waiting += q.queued
            s.running += q.running
            s.kvUsed += Double(usedBlocks(q))
            s.kvCapacity += Double(capacityBlocks)
        }
        return s
    }

    func blocks(_ tokens: Int) -> Int { (tokens + blockTokens - 1) / blockTokens }

    func usedBlocks(_ q: Instance) -> Int { q.heldBlocks + (paged ? q.decodeBlocks(blockTokens: blockTokens, plain: tokensPerStep == nil) : 0) }

    /// Adds the time since the last event to the integrals of requests in system, batch and
    /// KV-cache blocks in use.
    mutating func account() {
        if timeline?.due(sim.now) == true, var t = timeline.take() {
            // Taken out while it records, so its rows are not copied and `state` may read self.
            t.record(before: sim.now, state)
            timeline = t
        }
        let dt = sim.now - lastChange
        guard dt > 0 else { return }
        let plain = tokensPerStep == nil
        var waiting = 0
        for q in instances {
            areaInSystem += dt * Double(q.load)
            areaBatch += dt * Double(q.running)
            areaKV += dt * Double(q.heldBlocks + (paged ? q.decodeBlocks(blockTokens: blockTokens, plain: plain) : 0))
            waiting += q.queued
        }
        queue.add(from: lastChange, to: sim.now, count: waiting)
        lastChange = sim.now
    }

    mutating func arrive(_ i: Int) {
        var n = 0
        for candidate in 1..<instances.count where instances[candidate].load < instances[n].load { n = candidate }
        instances[n].waiting.append(i)
        requests[i].instance = Int32(n / stages)
        // Not at once: requests arriving at this same instant join the first iteration.
        if !instances[n].busy && !instances[n].kicked {
            instances[n].kicked = true
            sim.schedule(.schedule(n), at: sim.now)
        }
    }

    func mod(_ x: Int) -> Int { ((x % blockTokens) + blockTokens) % blockTokens }

    /// Request `i` has its last token: its blocks are freed and, in a closed loop, its user
    /// sends the next request.
    mutating func finish(_ i: Int, _ q: inout Instance) {
        requests[i].done = sim.now
        requests[i].running = false
        if !paged { q.heldBlocks -= blocks(requests[i].input + requests[i].output) }
        if let closedLoop, let next = closedLoop.next(after: requests.count, at: sim.now) {
            requests.append(next)
            sim.schedule(.arrival(requests.count - 1), at: sim.now)
        }
    }

}
