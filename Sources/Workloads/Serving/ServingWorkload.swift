// `kind: serving`: requests arrive (Poisson, or from a CSV trace of arrival time, input and
// output tokens), a continuous-batching scheduler serves them on
// one tensor-parallel group, iteration by iteration.
//
// Scheduler (the iteration-level batching of Orca, Yu et al., OSDI 2022, with the chunked
// prefill of Sarathi-Serve, Agrawal et al., OSDI 2024): before each iteration, waiting
// requests are admitted first come, first served while the batch has room (`max_batch`) and
// the KV cache can hold their whole prompt and output (reserved on admission, so no request
// is ever preempted). An iteration decodes one token for every request past its prefill and
// prefills up to `chunk_tokens` prompt tokens of the oldest request still in prefill (under
// wide expert parallelism, of the oldest in each attention group). A
// request's first token comes at the end of the iteration that finishes its prompt.
// Iteration time: InferencePricer (CUDA graphs: the sum of its kernels), times the
// `noise.kernel_cv` factor. KV capacity: memory_fraction × HBM − weights, per GPU.
//
// Metrics per run: ttft, tpot and e2e means and percentiles (p50, p90, p99) over completed
// requests; output tokens per second (per GPU, per user); mean batch size, KV-cache
// utilisation and requests in system, averaged over time; arrival rate and completions.
import Cluster
import Engine
import Hardware
import Models
import Network
import Report
import Scenario
import Stats
import Synchronization

enum ServingWorkload {
    /// Tokens of KV cache an instance holds: what the weights leave of each GPU's share, over
    /// its attention groups (one under plain TP; ep / tp under wide expert parallelism, each
    /// group caching its own sequences).
    /// A speculative draft model's weights and cache share the GPUs.
    static func kvCapacityTokens(_ s: ServingSpec, system: SystemSpec, speculative: SpeculativeSpec? = nil) -> Double {
        let d = s.inference
        var free = s.memoryFraction * system.gpu.hbmCapacity - InferenceOps.weightBytesPerRank(model: d.model, precision: d.precision, tp: d.tp, ep: d.ep)
        var perToken = InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        if let draft = speculative?.draftModel {
            free -= InferenceOps.weightBytesPerRank(model: draft, precision: d.precision, tp: d.tp)
            perToken += InferenceOps.kvCacheBytesPerRank(model: draft, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        }
        return free / perToken * Double(d.attentionGroups)
    }

    /// The weights (and a speculative draft's), and the KV cache of the largest request, must fit.
    static func checkMemory(_ s: ServingSpec, system: SystemSpec, speculative: SpeculativeSpec? = nil) throws(MemoryError) {
        let d = s.inference
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: s.memoryFraction * system.gpu.hbmCapacity)
        let largest = s.trace?.map { $0.inputTokens + $0.outputTokens }.max() ?? d.inputTokens + d.outputTokens
        var items: [(bytes: Double, category: MemoryCategory)] = [
            (InferenceOps.weightBytesPerRank(model: d.model, precision: d.precision, tp: d.tp, ep: d.ep), .weights),
            (InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: largest, kvPrecision: d.kvPrecision, tp: d.tp), .kvCache),
        ]
        if let draft = speculative?.draftModel {
            items += [(InferenceOps.weightBytesPerRank(model: draft, precision: d.precision, tp: d.tp), .weights),
                      (InferenceOps.kvCacheBytesPerRank(model: draft, tokens: largest, kvPrecision: d.kvPrecision, tp: d.tp), .kvCache)]
        }
        try ledger.book(items)
    }

    struct Request {
        var arrival: Double
        var input: Int
        var output: Int
        var prefilled = 0
        var generated = 0
        /// Speculative decoding: expected tokens accepted but not yet whole.
        var credit = 0.0
        var firstToken: Double?
        var done: Double?

        /// KV-cache tokens reserved for the request on admission.
        var size: Double { Double(input + output) }
        var isComplete: Bool { generated == output }

        /// Runs `tokens` more prompt tokens; when the prompt is done its last position yields
        /// the first token. Returns whether the prompt is done.
        mutating func prefill(_ tokens: Int, at now: Double) -> Bool {
            prefilled += tokens
            guard prefilled == input else { return false }
            generated = 1
            firstToken = now
            return true
        }

        /// One decode iteration: one token, or with speculative decoding the expected accepted
        /// tokens, counted whole as they accumulate.
        mutating func decode(_ speculation: SpeculativeSpec?) {
            guard let speculation else {
                generated += 1
                return
            }
            credit += speculation.tokensPerStep
            let whole = Int(credit)
            credit -= Double(whole)
            generated = Swift.min(output, generated + whole)
        }
    }

    /// An iteration's time in a run: the priced seconds on a kernel library `kernel_efficiency`
    /// times as fast, times the run's kernel jitter and, when one of the instance's GPUs
    /// straggles, its slowdown.
    struct IterationTime {
        let spec: ScenarioSpec
        let gpus: Int
        let jitter: RandomStream
        let stragglers: RandomStream

        func callAsFunction(_ seconds: Double) -> Double {
            let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
            let slow = straggling.isOff ? 1 : straggling.folded(gpus: gpus, stream: stragglers)
            return seconds / spec.stack.kernelEfficiency * jitter.lognormalFactor(cv: spec.noise.kernelCV) * slow
        }
    }

    enum Event {
        case arrival(Int)
        case iterationDone(Int)
    }

    /// Unit-rate exponential gaps, drawn as needed and shared by every arrival rate tried, so
    /// that runs at different rates see the same arrival pattern, scaled.
    final class Gaps {
        let stream: RandomStream
        var drawn: [Double] = []
        init(_ stream: RandomStream) { self.stream = stream }
        func callAsFunction(_ i: Int) -> Double {
            while drawn.count <= i { drawn.append(stream.exponential(mean: 1)) }
            return drawn[i]
        }
    }

    static func run(_ spec: ScenarioSpec, serving s: ServingSpec, arrivals arrivalStream: RandomStream, jitter: RandomStream, stragglers: RandomStream) -> [Metric] {
        let gaps = Gaps(arrivalStream)
        guard let slo = s.slo else { return simulate(spec, serving: s, rate: s.arrivalRate, gaps: gaps, jitter: jitter, stragglers: stragglers) }
        // The highest rate meeting both p99 targets: double (or halve) from arrival_rate until
        // the answer changes, then bisect geometrically 8 times (to about 0.3%).
        func attempt(_ rate: Double) -> (ok: Bool, metrics: [Metric]) {
            let m = simulate(spec, serving: s, rate: rate, gaps: gaps, jitter: jitter, stragglers: stragglers)
            func value(_ name: String) -> Double { m.first { $0.name == name }?.value ?? .infinity }
            return (value("tpot_p99_s") <= slo.tpotP99 && value("ttft_p99_s") <= slo.ttftP99, m)
        }
        var rate = s.arrivalRate
        var first = attempt(rate)
        var good: (rate: Double, metrics: [Metric])? = first.ok ? (rate, first.metrics) : nil
        var bad: Double? = first.ok ? nil : rate
        for _ in 0..<30 where good == nil || bad == nil {
            rate = first.ok ? rate * 2 : rate / 2
            first = attempt(rate)
            if first.ok { good = (rate, first.metrics) } else { bad = rate }
        }
        if var lo = good, var hi = bad {
            for _ in 0..<8 {
                let mid = (lo.rate * hi).squareRoot()
                let r = attempt(mid)
                if r.ok { lo = (mid, r.metrics) } else { hi = mid }
            }
            good = lo
            bad = hi
        }
        guard let best = good else {
            return [Metric("slo_arrival_rate_per_s", unit: "requests/s", 0)]
        }
        return best.metrics + [Metric("slo_arrival_rate_per_s", unit: "requests/s", best.rate)]
    }

    static func simulate(_ spec: ScenarioSpec, serving s: ServingSpec, rate: Double, gaps: Gaps, jitter: RandomStream, stragglers: RandomStream) -> [Metric] {
        guard let system = spec.cluster?.system else { return [] }
        let d = s.inference
        let time = IterationTime(spec: spec, gpus: d.instanceGPUs, jitter: jitter, stragglers: stragglers)
        let pricer = DecodeWorkload.pricer(spec, d, system: system)
        // Speculative decoding: an iteration runs k draft steps for the decoding sequences and
        // verifies k + 1 positions each, and every decoding sequence gains the expected
        // (1 − α^(k+1))/(1 − α) tokens (whole tokens as they accumulate).
        let speculation = spec.stack.speculative
        let draftPricer = speculation.map { DecodeWorkload.pricer(spec, DecodeWorkload.draft(d, $0), system: system) }
        let capacity = kvCapacityTokens(s, system: system, speculative: spec.stack.speculative)
        // Arrivals: the trace's, or Poisson times drawn up front in order from their own stream.
        var requests: [Request] = []
        if let trace = s.trace {
            for r in trace {
                if let duration = s.duration, r.arrival > duration { break }
                requests.append(Request(arrival: r.arrival, input: r.inputTokens, output: r.outputTokens))
                if let limit = s.requests, requests.count >= limit { break }
            }
        } else {
            var t = 0.0
            while true {
                t += gaps(requests.count) / rate
                if let duration = s.duration, t > duration { break }
                requests.append(Request(arrival: t, input: d.inputTokens, output: d.outputTokens))
                if let limit = s.requests, requests.count >= limit { break }
            }
        }
        if let split = s.disaggregated {
            return disaggregated(spec, serving: s, split: split, requests: requests, system: system, pricer: pricer, capacity: capacity, time: time)
        }
        let sim = Simulator<Event>()
        for (i, r) in requests.enumerated() { sim.schedule(.arrival(i), at: r.arrival) }

        // `dp` independent instances; an arriving request joins the one with the fewest
        // requests waiting or running (the first of equals).
        var instances = [Instance](repeating: Instance(), count: d.dp)
        // Time integrals for averages.
        var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0
        func account() {
            let dt = sim.now - lastChange
            for q in instances {
                areaInSystem += dt * Double(q.waiting.count - q.waitingHead + q.running.count)
                areaBatch += dt * Double(q.running.count)
                areaKV += dt * q.kvReserved
            }
            lastChange = sim.now
        }
        func startIteration(_ n: Int) {
            var q = instances[n]
            defer { instances[n] = q }
            guard !q.busy else { return }
            while q.waitingHead < q.waiting.count, q.running.count < s.maxBatch, q.kvReserved + requests[q.waiting[q.waitingHead]].size <= capacity {
                q.kvReserved += requests[q.waiting[q.waitingHead]].size
                q.running.append(q.waiting[q.waitingHead])
                q.waitingHead += 1
            }
            guard !q.running.isEmpty else { return }
            let decoding = q.running.filter { requests[$0].prefilled == requests[$0].input }
            // Each attention group prefills a chunk of its own oldest prompt (one group under TP).
            let prefills = q.running.filter { requests[$0].prefilled < requests[$0].input }.prefix(d.attentionGroups).map { i in
                (request: i, chunk: Swift.min(s.chunkTokens, requests[i].input - requests[i].prefilled))
            }
            // The iteration lasts as long as the group with the longest chunk.
            let longest = prefills.max { $0.chunk < $1.chunk }
            let meanContext = decoding.isEmpty ? 0 : decoding.reduce(0) { $0 + requests[$1].input + requests[$1].generated } / decoding.count
            let positions = speculation.map { $0.draftTokens + 1 } ?? 1
            var seconds = pricer.seconds(decodeSequences: decoding.count, meanContext: meanContext, prefillTokens: longest?.chunk ?? 0,
                                         prefillContext: longest.map { requests[$0.request].prefilled } ?? 0, positions: positions)
            if let speculation, let draftPricer, !decoding.isEmpty {
                seconds += Double(speculation.draftTokens) * draftPricer.seconds(decodeSequences: decoding.count, meanContext: meanContext,
                                                                                 prefillTokens: 0, prefillContext: 0)
            }
            q.iteration = (decoding, Array(prefills))
            q.busy = true
            sim.schedule(.iterationDone(n), after: time(seconds))
        }
        sim.run { event in
            account()
            switch event {
            case .arrival(let i):
                let load = { (n: Int) in instances[n].waiting.count - instances[n].waitingHead + instances[n].running.count }
                var n = 0
                for candidate in 1..<d.dp where load(candidate) < load(n) { n = candidate }
                instances[n].waiting.append(i)
                startIteration(n)
            case .iterationDone(let n):
                var q = instances[n]
                q.busy = false
                var finished: [Int] = []
                for i in q.iteration.decoding {
                    requests[i].decode(speculation)
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
                instances[n] = q
                startIteration(n)
            }
        }
        let end = sim.now, replicas = Double(d.dp)
        return summarize(requests, end: end, gpus: d.instanceGPUs * d.dp, meanBatch: areaBatch / end / replicas,
                         kvUtilisation: areaKV / end / (capacity * replicas), meanInSystem: areaInSystem / end)
    }

    /// One colocated instance's scheduler state.
    struct Instance {
        var waiting: [Int] = []
        var waitingHead = 0
        var running: [Int] = []
        var kvReserved = 0.0
        var busy = false
        var iteration: (decoding: [Int], prefills: [(request: Int, chunk: Int)]) = ([], [])
    }

    enum PoolEvent {
        case arrival(Int)
        case prefillDone(instance: Int)
        case transferred(Int)
        case decodeDone(instance: Int)
    }

    /// Disaggregated serving: prefill instances take waiting prompts first come, first served,
    /// one at a time in chunks of `chunk_tokens` (its first token comes with its last chunk);
    /// its KV cache (every layer's, split over the TP ranks, each rank sending its share at
    /// once) then moves to the decode instance with the fewest requests, over NVLink or the
    /// NICs; decode instances admit transferred requests within `max_batch` and their KV
    /// capacity and run decode-only iterations. Metrics as colocated, over all GPUs of both
    /// pools, plus the mean KV transfer time.
    static func disaggregated(_ spec: ScenarioSpec, serving s: ServingSpec, split: Disaggregation, requests initial: [Request], system: SystemSpec,
                              pricer: InferencePricer, capacity: Double, time: IterationTime) -> [Metric] {
        let d = s.inference
        var requests = initial
        let sim = Simulator<PoolEvent>()
        for (i, r) in requests.enumerated() { sim.schedule(.arrival(i), at: r.arrival) }
        let kvBytesPerToken = InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        var transfers: [Double] = []

        // Prefill pool.
        var prompts: [Int] = [], promptHead = 0
        var prefilling = [Int?](repeating: nil, count: split.prefillInstances)
        var chunk = [Int](repeating: 0, count: split.prefillInstances)
        func startPrefill(_ p: Int) {
            if prefilling[p] == nil {
                guard promptHead < prompts.count else { return }
                prefilling[p] = prompts[promptHead]
                promptHead += 1
            }
            let i = prefilling[p]!
            chunk[p] = Swift.min(s.chunkTokens, requests[i].input - requests[i].prefilled)
            let seconds = pricer.seconds(decodeSequences: 0, meanContext: 0, prefillTokens: chunk[p], prefillContext: requests[i].prefilled)
            sim.schedule(.prefillDone(instance: p), after: time(seconds))
        }

        // Decode pool.
        var queued = [[Int]](repeating: [], count: split.decodeInstances)
        var running = [[Int]](repeating: [], count: split.decodeInstances)
        var reserved = [Double](repeating: 0, count: split.decodeInstances)
        var busy = [Bool](repeating: false, count: split.decodeInstances)
        var stepping = [[Int]](repeating: [], count: split.decodeInstances)
        var lastChange = 0.0, areaInSystem = 0.0, areaBatch = 0.0, areaKV = 0.0, inSystem = 0
        func account() {
            let dt = sim.now - lastChange
            areaInSystem += dt * Double(inSystem)
            areaBatch += dt * Double(running.reduce(0) { $0 + $1.count })
            areaKV += dt * reserved.reduce(0, +)
            lastChange = sim.now
        }
        func startDecode(_ q: Int) {
            guard !busy[q] else { return }
            while let i = queued[q].first, running[q].count < s.maxBatch, reserved[q] + requests[i].size <= capacity {
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
        func finish(_ i: Int) {
            requests[i].done = sim.now
            inSystem -= 1
        }

        sim.run { event in
            account()
            switch event {
            case .arrival(let i):
                inSystem += 1
                prompts.append(i)
                for p in 0..<split.prefillInstances where prefilling[p] == nil { startPrefill(p); break }
            case .prefillDone(let p):
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
            case .transferred(let i):
                // The decode instance with the fewest requests (the first of equals).
                let load: (Int) -> Int = { running[$0].count + queued[$0].count }
                var q = 0
                for candidate in 1..<split.decodeInstances where load(candidate) < load(q) { q = candidate }
                queued[q].append(i)
                startDecode(q)
            case .decodeDone(let q):
                busy[q] = false
                for i in stepping[q] {
                    requests[i].decode(nil)  // speculative decoding is not modelled in disaggregated pools
                    if requests[i].isComplete {
                        finish(i)
                        reserved[q] -= requests[i].size
                    }
                }
                running[q].removeAll { requests[$0].done != nil }
                startDecode(q)
            }
        }
        let end = sim.now
        let gpus = d.instanceGPUs * (split.prefillInstances + split.decodeInstances)
        return summarize(requests, end: end, gpus: gpus, meanBatch: areaBatch / end / Double(split.decodeInstances),
                         kvUtilisation: areaKV / end / (capacity * Double(split.decodeInstances)), meanInSystem: areaInSystem / end)
            + [Metric("kv_transfer_s", unit: "s", transfers.isEmpty ? 0 : transfers.reduce(0, +) / Double(transfers.count))]
    }

    /// The metrics of a finished run.
    static func summarize(_ requests: [Request], end: Double, gpus: Int, meanBatch: Double, kvUtilisation: Double, meanInSystem: Double) -> [Metric] {
        let done = requests.filter { $0.done != nil }
        func stats(_ values: [Double], _ name: String) -> [Metric] {
            guard !values.isEmpty else { return [] }
            let sorted = values.sorted()
            return [
                Metric("\(name)_s", unit: "s", values.reduce(0, +) / Double(values.count)),
                Metric("\(name)_p50_s", unit: "s", Summary.quantile(sorted: sorted, 0.5)),
                Metric("\(name)_p90_s", unit: "s", Summary.quantile(sorted: sorted, 0.9)),
                Metric("\(name)_p99_s", unit: "s", Summary.quantile(sorted: sorted, 0.99)),
            ]
        }
        let ttft = done.map { $0.firstToken! - $0.arrival }
        let e2e = done.map { $0.done! - $0.arrival }
        let tpot = done.filter { $0.output > 1 }.map { ($0.done! - $0.firstToken!) / Double($0.output - 1) }
        let outputTokens = Double(done.reduce(0) { $0 + $1.output })
        var metrics = stats(ttft, "ttft") + stats(tpot, "tpot") + stats(e2e, "e2e")
        metrics += [
            Metric("tokens_per_s", unit: "tokens/s", outputTokens / end),
            Metric("tokens_per_s_per_gpu", unit: "tokens/s", outputTokens / end / Double(gpus)),
            Metric("tokens_per_s_per_user", unit: "tokens/s", tpot.isEmpty ? .nan : tpot.map { 1 / $0 }.reduce(0, +) / Double(tpot.count)),
            Metric("mean_batch_size", unit: "requests", meanBatch),
            Metric("kv_cache_utilisation", unit: "ratio", kvUtilisation),
            Metric("mean_requests_in_system", unit: "requests", meanInSystem),
            Metric("arrival_rate_per_s", unit: "requests/s", Double(requests.count) / end),
            Metric("requests_completed", unit: "requests", Double(done.count)),
        ]
        return metrics
    }
}

/// Seconds of a collective by message size, each size computed once (a pass repeats a few
/// sizes). One run owns it; the lock only satisfies the pricer's Sendable closure.
final class CollectiveCache: Sendable {
    private let compute: @Sendable (Double) -> Double
    private let cache = Mutex<[Double: Double]>([:])  // keys are looked up, never iterated

    init(_ compute: @escaping @Sendable (Double) -> Double) { self.compute = compute }

    func seconds(_ bytes: Double) -> Double {
        if let t = cache.withLock({ $0[bytes] }) { return t }
        let t = compute(bytes)
        cache.withLock { $0[bytes] = t }
        return t
    }
}


extension ServingSpec {
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {
        guard let system = scenario.cluster?.system else { return }
        try ServingWorkload.checkMemory(self, system: system, speculative: scenario.stack.speculative)
    }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        ServingWorkload.run(scenario, serving: self, arrivals: streams.arrivals, jitter: streams.kernel, stragglers: streams.stragglers)
    }

    /// Arrivals are drawn at random even without noise.
    public var drawsRandomNumbers: Bool { true }
}
