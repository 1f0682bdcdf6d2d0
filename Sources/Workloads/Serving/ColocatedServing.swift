// Colocated serving: `dp` independent instances, each prefilling and decoding its own requests
// iteration by iteration (the scheduler described in ServingWorkload.swift). An arriving
// request joins the instance with the fewest requests waiting or running (the first of equals).
import Engine
import Report
import Scenario

struct ColocatedServing {
    typealias Request = ServingWorkload.Request

    /// One instance's scheduler state.
    struct Instance {
        var waiting: [Int] = []
        var waitingHead = 0
        var running: [Int] = []
        var kvReserved = 0.0
        var busy = false
        var iteration: (decoding: [Int], prefills: [(request: Int, chunk: Int)]) = ([], [])

        var load: Int { waiting.count - waitingHead + running.count }
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
        for (i, r) in requests.enumerated() { sim.schedule(.arrival(i), at: r.arrival) }
        sim.run { event in
            account()
            switch event {
            case .arrival(let i): arrive(i)
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
            areaBatch += dt * Double(q.running.count)
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
        while q.waitingHead < q.waiting.count, q.running.count < serving.maxBatch,
              q.kvReserved + requests[q.waiting[q.waitingHead]].size <= capacity {
            q.kvReserved += requests[q.waiting[q.waitingHead]].size
            q.running.append(q.waiting[q.waitingHead])
            q.waitingHead += 1
        }
        guard !q.running.isEmpty else { return }
        let decoding = q.running.filter { requests[$0].prefilled == requests[$0].input }
        // Each attention group prefills a chunk of its own oldest prompt (one group under TP).
        let prefills = q.running.filter { requests[$0].prefilled < requests[$0].input }.prefix(serving.inference.attentionGroups).map { i in
            (request: i, chunk: Swift.min(serving.chunkTokens, requests[i].input - requests[i].prefilled))
        }
        q.iteration = (decoding, Array(prefills))
        q.busy = true
        sim.schedule(.iterationDone(n), after: time(seconds(decoding: decoding, prefills: q.iteration.prefills)))
    }

    /// The priced seconds of an iteration: it lasts as long as the group with the longest chunk.
    func seconds(decoding: [Int], prefills: [(request: Int, chunk: Int)]) -> Double {
        let longest = prefills.max { $0.chunk < $1.chunk }
        let meanContext = decoding.isEmpty ? 0 : decoding.reduce(0) { $0 + requests[$1].input + requests[$1].generated } / decoding.count
        let positions = speculation.map { $0.draftTokens + 1 } ?? 1
        var seconds = pricer.seconds(decodeSequences: decoding.count, meanContext: meanContext, prefillTokens: longest?.chunk ?? 0,
                                     prefillContext: longest.map { requests[$0.request].prefilled } ?? 0, positions: positions)
        if let speculation, let draftPricer, !decoding.isEmpty {
            seconds += Double(speculation.draftTokens) * draftPricer.seconds(decodeSequences: decoding.count, meanContext: meanContext,
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
        var finished: [Int] = []
        for i in q.iteration.decoding {
            requests[i].decode(tokensPerStep: tokensPerStep)
            if requests[i].isComplete { finished.append(i) }
        }
        for (p, chunk) in q.iteration.prefills where requests[p].prefill(chunk, at: sim.now) && requests[p].isComplete {
            finished.append(p)
        }
        for i in finished {
            requests[i].done = sim.now
            q.kvReserved -= requests[i].size
        }
        if !finished.isEmpty { q.running.removeAll { requests[$0].done != nil } }
        swap(&q, &instances[n])
        startIteration(n)
    }
}
