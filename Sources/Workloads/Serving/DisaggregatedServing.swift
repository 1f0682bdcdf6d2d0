// Disaggregated serving (DistServe, Zhong et al., OSDI 2024; Splitwise, Patel et al., ISCA
// 2024): prefill instances take waiting prompts first come, first served, one at a time in
// chunks of `chunk_tokens` (its first token comes with its last chunk); its KV cache (every
// layer's, split over the TP ranks, each rank sending its share at once) then moves to the
// decode instance with the fewest requests, over NVLink or the NICs; decode instances admit
// transferred requests within `max_batch` and their KV capacity and run decode-only
// iterations. Metrics as colocated, over all GPUs of both pools, plus the mean KV transfer time.
// Speculative decoding is not modelled in disaggregated pools.
import Cluster
import Engine
import Hardware
import Report
import Scenario

struct DisaggregatedServing {
    typealias Request = ServingWorkload.Request

    enum Event {
        case arrival(Int)
        case prefillDone(instance: Int)
        case transferred(Int)
        case decodeDone(instance: Int)
    }

    let serving: ServingSpec
    let split: Disaggregation
    let system: SystemSpec
    let pricer: IterationPrices
    /// KV-cache tokens of one decode instance.
    let capacity: Double
    let time: ServingWorkload.IterationTime
    let kvBytesPerToken: Double

    let sim = Simulator<Event>()
    var requests: [Request]
    var transfers: [Double] = []

    // Prefill pool: the prompt queue, and each instance's prompt and current chunk.
    var prompts: [Int] = [], promptHead = 0
    var prefilling: [Int?]
    var chunk: [Int]

    // Decode pool, per instance.
    var queued: [[Int]]
    var running: [[Int]]
    var reserved: [Double]
    var busy: [Bool]
    var stepping: [[Int]]

    // Time integrals for averages.
    var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0, inSystem = 0

    init(serving: ServingSpec, split: Disaggregation, requests: [Request], system: SystemSpec, prices: IterationPrices, capacity: Double,
         time: ServingWorkload.IterationTime) {
        self.serving = serving
        self.split = split
        self.requests = requests
        self.system = system
        pricer = prices
        self.capacity = capacity
        self.time = time
        let d = serving.inference
        kvBytesPerToken = InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        prefilling = [Int?](repeating: nil, count: split.prefillInstances)
        chunk = [Int](repeating: 0, count: split.prefillInstances)
        queued = [[Int]](repeating: [], count: split.decodeInstances)
        running = [[Int]](repeating: [], count: split.decodeInstances)
        reserved = [Double](repeating: 0, count: split.decodeInstances)
        busy = [Bool](repeating: false, count: split.decodeInstances)
        stepping = [[Int]](repeating: [], count: split.decodeInstances)
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
            case .prefillDone(let p): finishChunk(p)
            case .transferred(let i): assign(i)
            case .decodeDone(let q): finishDecode(q)
            }
        }
        let end = sim.now
        let gpus = serving.inference.instanceGPUs * (split.prefillInstances + split.decodeInstances)
        return ServingWorkload.summarize(requests, end: end, gpus: gpus, meanBatch: areaBatch / end / Double(split.decodeInstances),
                                         kvUtilisation: areaKV / end / (capacity * Double(split.decodeInstances)), meanInSystem: areaInSystem / end)
            + [Metric("kv_transfer_s", unit: "s", transfers.isEmpty ? 0 : transfers.reduce(0, +) / Double(transfers.count))]
    }

    mutating func account() {
        let dt = sim.now - lastChange
        areaInSystem += dt * Double(inSystem)
        areaBatch += dt * Double(running.reduce(0) { $0 + $1.count })
        areaKV += dt * reserved.reduce(0, +)
        lastChange = sim.now
    }

    mutating func arrive(_ i: Int) {
        inSystem += 1
        prompts.append(i)
        for p in 0..<split.prefillInstances where prefilling[p] == nil { startPrefill(p); break }
    }

    /// Prefill instance `p` runs the next chunk of its prompt, taking the next waiting prompt
    /// when it has none.
    mutating func startPrefill(_ p: Int) {
        if prefilling[p] == nil {
            guard promptHead < prompts.count else { return }
            prefilling[p] = prompts[promptHead]
            promptHead += 1
        }
        let i = prefilling[p]!
        chunk[p] = Swift.min(serving.chunkTokens, requests[i].input - requests[i].prefilled)
        let seconds = pricer.seconds(decodeSequences: 0, meanContext: 0, prefillTokens: chunk[p], prefillContext: requests[i].prefilled)
        sim.schedule(.prefillDone(instance: p), after: time(seconds))
    }

    /// A chunk is done; a finished prompt sends its KV cache to the decode pool.
    mutating func finishChunk(_ p: Int) {
        let i = prefilling[p]!
        if requests[i].prefill(chunk[p], at: sim.now) {
            prefilling[p] = nil
            if requests[i].isComplete {
                finish(i)
            } else {
                let bytes = Double(requests[i].input) * kvBytesPerToken
                let seconds = GroupCollective.pointToPoint(bytes: bytes, gpu: system.gpu, sameDomain: split.sameDomain)
                transfers.append(seconds)
                sim.schedule(.transferred(i), after: seconds)
            }
        }
        startPrefill(p)
    }

    /// A transferred request joins the decode instance with the fewest requests (the first of equals).
    mutating func assign(_ i: Int) {
        func load(_ q: Int) -> Int { running[q].count + queued[q].count }
        var q = 0
        for candidate in 1..<split.decodeInstances where load(candidate) < load(q) { q = candidate }
        queued[q].append(i)
        startDecode(q)
    }

    mutating func startDecode(_ q: Int) {
        guard !busy[q] else { return }
        while let i = queued[q].first, running[q].count < serving.maxBatch, reserved[q] + requests[i].size <= capacity {
            queued[q].removeFirst()
            running[q].append(i)
            reserved[q] += requests[i].size
        }
        guard !running[q].isEmpty else { return }
        let context = running[q].reduce(0) { $0 + requests[$1].input + requests[$1].generated } / running[q].count
        stepping[q] = running[q]
        busy[q] = true
        let seconds = pricer.seconds(decodeSequences: running[q].count, meanContext: context, prefillTokens: 0, prefillContext: 0)
        sim.schedule(.decodeDone(instance: q), after: time(seconds))
    }

    mutating func finishDecode(_ q: Int) {
        busy[q] = false
        for i in stepping[q] {
            requests[i].decode(tokensPerStep: nil)
            if requests[i].isComplete {
                finish(i)
                reserved[q] -= requests[i].size
            }
        }
        running[q].removeAll { requests[$0].done != nil }
        startDecode(q)
    }

    mutating func finish(_ i: Int) {
        requests[i].done = sim.now
        inSystem -= 1
    }
}
