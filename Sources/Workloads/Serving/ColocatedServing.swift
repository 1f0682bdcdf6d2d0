// Colocated serving: `dp` independent instances, each prefilling and decoding its own requests
// iteration by iteration (the scheduler described in ServingWorkload.swift). An arriving
// request joins the instance with the fewest requests waiting or running (the first of equals).
import Engine
import Report
import Scenario

struct ColocatedServing {
    typealias Request = ServingWorkload.Request

    /// One instance's scheduler state. The running requests are kept as the two lists the
    /// scheduler reads, so that an iteration costs one pass over its decoding requests: those
    /// still in prefill, in admission order (from `prefillHead`), and those decoding (in no
    /// particular order: each decodes on its own, and the cache they free is a sum of whole
    /// tokens, exact in any order), with the sum of their contexts kept as they grow.
    struct Instance {
        var waiting: [Int] = []
        var waitingHead = 0
        var prefilling: [Int] = []
        var prefillHead = 0
        /// Decoding requests. With plain decoding every one gains a token per iteration, so
        /// they are not visited: `steps` counts iterations, and each request waits in
        /// `completions` keyed by the step at which its last token comes. With speculative
        /// decoding (fractional tokens per step) they are listed in `decoding` and visited.
        var decodingCount = 0
        var decoding: [Int] = []
        var steps = 0
        var completions = EventQueue<Int>()
        /// Σ over the decoding requests of input + generated tokens (for the mean context).
        var contextSum = 0
        var kvReserved = 0.0
        var busy = false
        /// The iteration in flight: how many of `decoding` it decodes (the list only grows
        /// after them), and the prompt chunks it prefills.
        var iteration: (decoding: Int, prefills: [(request: Int, chunk: Int)]) = (0, [])

        var running: Int { prefilling.count - prefillHead + decodingCount }
        var load: Int { waiting.count - waitingHead + running }
    }

    enum Event {
        case arrival(Int)
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
    /// KV-cache tokens of one instance.
    let capacity: Double
    let time: ServingWorkload.IterationTime

    let sim = Simulator<Event>()
    var requests: [Request]
    var instances: [Instance]
    // Time integrals for averages.
    var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0

    init(serving: ServingSpec, requests: [Request], prices: IterationPrices, speculation: SpeculativeSpec?, draftPrices: IterationPrices?,
         capacity: Double, time: ServingWorkload.IterationTime) {
        self.serving = serving
        self.requests = requests
        pricer = prices
        self.speculation = speculation
        draftPricer = draftPrices
        tokensPerStep = speculation?.tokensPerStep
        self.capacity = capacity
        self.time = time
        instances = [Instance](repeating: Instance(), count: serving.inference.dp)
    }

    mutating func run() -> [Metric] {
        // Arrivals are in time order: each schedules the next, so the queue holds one.
        if let first = requests.first { sim.schedule(.arrival(0), at: first.arrival) }
        sim.run { event in
            account()
            switch event {
            case .arrival(let i):
                if i + 1 < requests.count { sim.schedule(.arrival(i + 1), at: requests[i + 1].arrival) }
                arrive(i)
            case .iterationDone(let n): finishIteration(n)
            }
        }
        let d = serving.inference
        let end = sim.now, replicas = Double(d.dp)
        return ServingWorkload.summarize(requests, end: end, gpus: d.instanceGPUs * d.dp, meanBatch: areaBatch / end / replicas,
                                         kvUtilisation: areaKV / end / (capacity * replicas), meanInSystem: areaInSystem / end)
    }

    /// Adds the time since the last event to the integrals of requests in system, batch and
    /// KV cache reserved.
    mutating func account() {
        let dt = sim.now - lastChange
        for q in instances {
            areaInSystem += dt * Double(q.load)
            areaBatch += dt * Double(q.running)
            areaKV += dt * q.kvReserved
        }
        lastChange = sim.now
    }

    mutating func arrive(_ i: Int) {
        var n = 0
        for candidate in 1..<instances.count where instances[candidate].load < instances[n].load { n = candidate }
        instances[n].waiting.append(i)
        startIteration(n)
    }

    /// Admits waiting requests first come, first served while the batch has room and the KV
    /// cache can hold their prompt and output, then starts the instance's next iteration.
    mutating func startIteration(_ n: Int) {
        // Taken out of the array while it changes, so its arrays are not copied (a copy of
        // `instances[n]` would share their storage and copy it on the first append).
        var q = Instance()
        swap(&q, &instances[n])
        defer { swap(&q, &instances[n]) }
        guard !q.busy else { return }
        while q.waitingHead < q.waiting.count, q.running < serving.maxBatch,
              q.kvReserved + requests[q.waiting[q.waitingHead]].size <= capacity {
            q.kvReserved += requests[q.waiting[q.waitingHead]].size
            q.prefilling.append(q.waiting[q.waitingHead])
            q.waitingHead += 1
        }
        if q.waitingHead == q.waiting.count {
            q.waiting.removeAll(keepingCapacity: true)
            q.waitingHead = 0
        }
        guard q.running > 0 else { return }
        // Each attention group prefills a chunk of its own oldest prompt (one group under TP).
        let prefills = q.prefilling[q.prefillHead...].prefix(serving.inference.attentionGroups).map { i in
            (request: i, chunk: Swift.min(serving.chunkTokens, requests[i].input - requests[i].prefilled))
        }
        let decoding = q.decodingCount
        q.iteration = (decoding, prefills)
        q.busy = true
        let meanContext = decoding == 0 ? 0 : q.contextSum / decoding
        sim.schedule(.iterationDone(n), after: time(seconds(decoding: decoding, meanContext: meanContext, prefills: prefills)))
    }

    /// The priced seconds of an iteration: it lasts as long as the group with the longest chunk.
    func seconds(decoding: Int, meanContext: Int, prefills: [(request: Int, chunk: Int)]) -> Double {
        let longest = prefills.max { $0.chunk < $1.chunk }
        let positions = speculation.map { $0.draftTokens + 1 } ?? 1
        var seconds = pricer.seconds(decodeSequences: decoding, meanContext: meanContext, prefillTokens: longest?.chunk ?? 0,
                                     prefillContext: longest.map { requests[$0.request].prefilled } ?? 0, positions: positions)
        if let speculation, let draftPricer, decoding > 0 {
            seconds += Double(speculation.draftTokens) * draftPricer.seconds(decodeSequences: decoding, meanContext: meanContext,
                                                                             prefillTokens: 0, prefillContext: 0)
        }
        return seconds
    }

    /// Every decoding request gains its tokens and every chunk is prefilled; finished requests
    /// free their cache; the next iteration starts.
    mutating func finishIteration(_ n: Int) {
        var q = Instance()
        swap(&q, &instances[n])
        q.busy = false
        let now = sim.now
        if let tokensPerStep {
            decodeEach(&q, tokensPerStep: tokensPerStep, now: now)
        } else {
            // Every decoding request gains one token: their contexts grow by one each, and
            // those whose last token this is finish.
            q.steps += 1
            q.contextSum += q.iteration.decoding
            while let step = q.completions.nextTime, Int(step) == q.steps, let (_, i) = q.completions.pop() {
                requests[i].generated = requests[i].output
                requests[i].done = now
                q.kvReserved -= requests[i].size
                q.contextSum -= requests[i].input + requests[i].output
                q.decodingCount -= 1
            }
        }
        // Prefill; a finished prompt starts decoding (or is done, with one output token).
        var stillPrefilling: [Int] = []
        for (p, chunk) in q.iteration.prefills {
            guard requests[p].prefill(chunk, at: now) else {
                stillPrefilling.append(p)
                continue
            }
            if requests[p].isComplete {
                requests[p].done = now
                q.kvReserved -= requests[p].size
            } else {
                q.decodingCount += 1
                q.contextSum += requests[p].input + requests[p].generated
                if tokensPerStep == nil {
                    // generated = 1 now, and one more per step: the last comes output − 1 steps on.
                    q.completions.push(p, at: Double(q.steps + requests[p].output - requests[p].generated))
                } else {
                    q.decoding.append(p)
                }
            }
        }
        // The prefills were the first of `prefilling`: drop the finished, keep the rest in order.
        let finishedPrompts = q.iteration.prefills.count - stillPrefilling.count
        for (j, p) in stillPrefilling.enumerated() { q.prefilling[q.prefillHead + finishedPrompts + j] = p }
        q.prefillHead += finishedPrompts
        if q.prefillHead > 1024 && q.prefillHead * 2 > q.prefilling.count {
            q.prefilling.removeFirst(q.prefillHead)
            q.prefillHead = 0
        }
        swap(&q, &instances[n])
        startIteration(n)
    }

    /// Speculative decoding: each decoding request gains its own whole tokens as its expected
    /// accepted tokens accumulate; the unfinished stay in place (one pass, no allocation, the
    /// requests' storage borrowed once).
    mutating func decodeEach(_ q: inout Instance, tokensPerStep: Double, now: Double) {
        var kept = 0
        var contextSum = q.contextSum, kvReserved = q.kvReserved
        let count = q.iteration.decoding
        q.decoding.withUnsafeMutableBufferPointer { decoding in
            requests.withUnsafeMutableBufferPointer { requests in
                for index in 0..<count {
                    let i = decoding[index]
                    let before = requests[i].generated
                    requests[i].decode(tokensPerStep: tokensPerStep)
                    if requests[i].isComplete {
                        requests[i].done = now
                        kvReserved -= requests[i].size
                        contextSum -= requests[i].input + before
                    } else {
                        contextSum += requests[i].generated - before
                        decoding[kept] = i
                        kept += 1
                    }
                }
            }
        }
        q.decoding.removeLast(count - kept)
        q.decodingCount -= count - kept
        q.contextSum = contextSum
        q.kvReserved = kvReserved
    }
}
