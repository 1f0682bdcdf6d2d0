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

enum ServingWorkload {
    /// Tokens of KV cache an instance holds: what the weights leave of each GPU's share, over
    /// its attention groups (one under plain TP; ep / tp under wide expert parallelism, each
    /// group caching its own sequences).
    /// A speculative draft model's weights and cache share the GPUs.
    static func kvCapacityTokens(_ s: ServingSpec, system: SystemSpec, speculative: SpeculativeSpec? = nil) -> Double {
        let d = s.inference
        // With pipeline stages a GPU holds its stage's layers: the largest stage's share.
        let share = Double(DecodeWorkload.stages(d).map(\.count).max() ?? d.model.layers) / Double(d.model.layers)
        var free = s.memoryFraction * system.gpu.hbmCapacity - InferenceOps.weightBytesPerRank(model: d.model, precision: d.precision, tp: d.tp, ep: d.ep, slots: d.routing.slots) * share
        var perToken = InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp) * share
        if let speculative {
            let draft = DecodeWorkload.draftModel(speculative, target: d.model)
            free -= DecodeWorkload.draftWeightBytesPerRank(speculative, d)
            perToken += InferenceOps.kvCacheBytesPerRank(model: draft, tokens: 1, kvPrecision: d.kvPrecision, tp: d.tp)
        }
        return free / perToken * Double(d.attentionGroups)
    }

    /// The weights (and a speculative draft's), and the KV cache of the largest request, must fit.
    static func checkMemory(_ s: ServingSpec, system: SystemSpec, speculative: SpeculativeSpec? = nil) throws(MemoryError) {
        let d = s.inference
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: s.memoryFraction * system.gpu.hbmCapacity)
        // In whole blocks, as the cache allocates them.
        let tokens = s.trace?.map { $0.inputTokens + $0.outputTokens }.max() ?? d.inputTokens + d.outputTokens
        let largest = (tokens + s.kvBlockTokens - 1) / s.kvBlockTokens * s.kvBlockTokens
        let share = Double(DecodeWorkload.stages(d).map(\.count).max() ?? d.model.layers) / Double(d.model.layers)
        var items: [(bytes: Double, category: MemoryCategory)] = [
            (InferenceOps.weightBytesPerRank(model: d.model, precision: d.precision, tp: d.tp, ep: d.ep, slots: d.routing.slots) * share, .weights),
            (InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: largest, kvPrecision: d.kvPrecision, tp: d.tp) * share, .kvCache),
        ]
        if let speculative {
            let draft = DecodeWorkload.draftModel(speculative, target: d.model)
            items += [(DecodeWorkload.draftWeightBytesPerRank(speculative, d), .weights),
                      (InferenceOps.kvCacheBytesPerRank(model: draft, tokens: largest, kvPrecision: d.kvPrecision, tp: d.tp), .kvCache)]
        }
        try ledger.book(items)
    }

    struct Request {
        var arrival: Double
        var input: Int
        var output: Int
        /// Prompt tokens to prefill in this residency: the input, or after a preemption by
        /// recompute the input and the tokens generated so far.
        var prompt: Int
        var prefilled = 0
        var generated = 0
        /// Speculative decoding: expected tokens accepted but not yet whole.
        var credit = 0.0
        var firstToken: Double?
        var done: Double?
        /// Admitted and not finished or preempted; `residency` counts admissions, so that
        /// what was queued for an earlier one is recognised as stale.
        var running = false
        var residency = 0
        var preemptions = 0
        /// KV-cache blocks allocated while in prefill.
        var allocated = 0
        /// Plain decoding: context − the instance's step count when it began decoding (its
        /// context at any later step is this + the step count).
        var decodeBase = 0
        /// The instance that decodes it (the last, after a preemption) and, disaggregated, the
        /// one that prefilled it (−1: none yet), for requests.csv.
        var instance: Int32 = -1
        var prefillInstance: Int32 = -1

        init(arrival: Double, input: Int, output: Int) {
            self.arrival = arrival
            self.input = input
            self.output = output
            prompt = input
        }

        /// KV-cache tokens reserved for the request on admission.
        var size: Double { Double(input + output) }
        var isComplete: Bool { generated == output }
        /// Tokens whose keys and values it has (or is about to have) computed.
        var context: Int { input + generated }

        /// Runs `tokens` more prompt tokens; when the prompt is done its last position yields
        /// the next token (the first, unless the prompt is a recomputation). Returns whether
        /// the prompt is done.
        mutating func prefill(_ tokens: Int, at now: Double) -> Bool {
            prefilled += tokens
            guard prefilled == prompt else { return false }
            generated += 1
            if firstToken == nil { firstToken = now }
            return true
        }

        /// One decode iteration: one token, or with speculative decoding (`tokensPerStep`, the
        /// expected accepted tokens per step) those tokens, counted whole as they accumulate.
        mutating func decode(tokensPerStep: Double?) {
            guard let tokensPerStep else {
                generated += 1
                return
            }
            credit += tokensPerStep
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
        var stack: StackSpec { spec.stack }
        let gpus: Int
        let jitter: RandomStream
        let stragglers: RandomStream

        func callAsFunction(_ seconds: Double) -> Double {
            let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
            let slow = straggling.isOff ? 1 : straggling.folded(gpus: gpus, stream: stragglers)
            return seconds / spec.stack.kernelEfficiency * jitter.lognormalFactor(cv: spec.noise.kernelCV) * slow
        }
    }

    /// A closed loop of `users` (genai-perf's and AIPerf's concurrency mode): each sends a
    /// request at 0 and its next as soon as its last completes, until `duration` has passed or
    /// `requests` have been sent.
    struct ClosedLoop {
        var users: Int
        var input: Int
        var output: Int
        var duration: Double?
        var requests: Int?

        /// The users' first requests.
        var first: [Request] {
            (0..<Swift.min(users, requests ?? users)).map { _ in Request(arrival: 0, input: input, output: output) }
        }

        /// The request sent at `now` when one completes and `sent` have been sent, if any.
        func next(after sent: Int, at now: Double) -> Request? {
            if let requests, sent >= requests { return nil }
            if let duration, now > duration { return nil }
            return Request(arrival: now, input: input, output: output)
        }
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

    /// A run's metrics, the tables its outputs ask for, and its trace when one is asked for.
    typealias Output = (metrics: [Metric], tables: [RecordTable], trace: TraceData?)

    /// One replication; with `recording` the tables `s.outputs` asks for (of the run whose
    /// metrics are reported: with an SLO, the highest rate meeting it).
    static func run(_ spec: ScenarioSpec, serving s: ServingSpec, arrivals arrivalStream: RandomStream, jitter: RandomStream, stragglers: RandomStream,
                    recording: Bool, tracing: Bool = false) -> Output {
        let gaps = Gaps(arrivalStream)
        guard let system = spec.cluster?.system else { return ([], [], nil) }
        // Prices by iteration shape, shared by every arrival rate the SLO search tries.
        let d = s.inference
        let prices = IterationPrices(DecodeWorkload.pricer(spec, d, system: system))
        let draftPrices = spec.stack.speculative.map { IterationPrices(DecodeWorkload.pricer(spec, DecodeWorkload.draft(d, $0), system: system)) }
        var s = s
        if !recording { s.outputs = ServingOutputs() }
        func simulate(rate: Double) -> Output {
            Self.simulate(spec, serving: s, system: system, rate: rate, gaps: gaps, prices: prices, draftPrices: draftPrices,
                          jitter: jitter, stragglers: stragglers, tracing: tracing)
        }
        guard let slo = s.slo else { return simulate(rate: s.arrivalRate) }
        // The highest rate meeting both p99 targets: double (or halve) from arrival_rate until
        // the answer changes, then bisect geometrically 8 times (to about 0.3%).
        func attempt(_ rate: Double) -> (ok: Bool, output: Output) {
            let m = simulate(rate: rate)
            func value(_ name: String) -> Double { m.metrics.first { $0.name == name }?.value ?? .infinity }
            // A rate the instances cannot keep up with (requests served per second of the run,
            // drain included, below half the offered rate) meets no target in steady state,
            // however loose: the queue only grows. This also ends the doubling for targets
            // no load violates.
            let saturated = value("throughput_requests_per_s") < 0.5 * rate
            return (!saturated && value("tpot_p99_s") <= slo.tpotP99 && value("ttft_p99_s") <= slo.ttftP99, m)
        }
        var rate = s.arrivalRate
        var first = attempt(rate)
        var good: (rate: Double, output: Output)? = first.ok ? (rate, first.output) : nil
        var bad: Double? = first.ok ? nil : rate
        for _ in 0..<30 where good == nil || bad == nil {
            rate = first.ok ? rate * 2 : rate / 2
            first = attempt(rate)
            if first.ok { good = (rate, first.output) } else { bad = rate }
        }
        if var lo = good, var hi = bad {
            for _ in 0..<8 {
                let mid = (lo.rate * hi).squareRoot()
                let r = attempt(mid)
                if r.ok { lo = (mid, r.output) } else { hi = mid }
            }
            good = lo
            bad = hi
        }
        guard let best = good else {
            return ([Metric("slo_arrival_rate_per_s", unit: "requests/s", 0)], [], nil)
        }
        return (best.output.metrics + [Metric("slo_arrival_rate_per_s", unit: "requests/s", best.rate)], best.output.tables, best.output.trace)
    }

    static func simulate(_ spec: ScenarioSpec, serving s: ServingSpec, system: SystemSpec, rate: Double, gaps: Gaps,
                         prices: IterationPrices, draftPrices: IterationPrices?, jitter: RandomStream, stragglers: RandomStream, tracing: Bool) -> Output {
        let d = s.inference
        let time = IterationTime(spec: spec, gpus: d.instanceGPUs, jitter: jitter, stragglers: stragglers)
        let capacity = kvCapacityTokens(s, system: system, speculative: spec.stack.speculative)
        let closedLoop = s.concurrency.map { ClosedLoop(users: $0, input: d.inputTokens, output: d.outputTokens, duration: s.duration, requests: s.requests) }
        let requests = closedLoop?.first ?? arrivals(s, rate: rate, gaps: gaps)
        if let split = s.disaggregated {
            var run = DisaggregatedServing(serving: s, split: split, requests: requests, system: system, prices: prices, capacity: capacity, time: time,
                                           closedLoop: closedLoop, tracing: tracing)
            return run.run()
        }
        var run = ColocatedServing(serving: s, requests: requests, prices: prices, speculation: spec.stack.speculative, draftPrices: draftPrices,
                                   capacity: capacity, time: time, closedLoop: closedLoop, system: system, tracing: tracing)
        return run.run()
    }

    /// The requests from `first` on that arrive at its time (open-loop requests are in time
    /// order), so that they are queued before an idle scheduler picks its first iteration.
    static func arrivingWith(_ first: Int, in requests: [Request]) -> Range<Int> {
        var end = first
        while end < requests.count && requests[end].arrival == requests[first].arrival { end += 1 }
        return first..<end
    }

    /// The run's requests: the trace's, or Poisson times drawn in order from their own stream,
    /// up to `duration` or `requests`.
    static func arrivals(_ s: ServingSpec, rate: Double, gaps: Gaps) -> [Request] {
        let d = s.inference
        var requests: [Request] = []
        // Sized once: growing by doubling would copy the array into fresh pages each time.
        let expected = s.trace?.count ?? Swift.min(s.requests ?? .max, Int(Swift.min(rate * (s.duration ?? .infinity) * 1.05 + 100, 1e8)))
        requests.reserveCapacity(expected)
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
        return requests
    }

    /// The run's length for its time averages and rates. A run in which nothing arrives (a
    /// duration shorter than the first arrival gap) ends at 0 s: its averages and rates are 0,
    /// not 0 / 0, so any positive length gives them.
    static func elapsed(_ now: Double) -> Double { now > 0 ? now : 1 }

    /// Under --check: a completed request generated exactly its output tokens, its first token
    /// after its arrival and its last after its first.
    static func checkTokens(_ r: Request) {
        if r.generated != r.output {
            Invariants.violation("serving: a request asked for \(r.output) tokens and was completed with \(r.generated)")
        }
        if let first = r.firstToken, let done = r.done, !(r.arrival <= first && first <= done) {
            Invariants.violation("serving: a request arrived at \(r.arrival) s, had its first token at \(first) s and finished at \(done) s")
        }
    }

    /// The metrics of a finished run.
    static func summarize(_ requests: [Request], serving s: ServingSpec, end: Double, gpus: Int, meanBatch: Double, kvUtilisation: Double,
                          meanInSystem: Double, queue: QueueWatch) -> [Metric] {
        // One pass over the requests into the three latency arrays (sized once, sorted in place).
        var ttft: [Double] = [], e2e: [Double] = [], tpot: [Double] = []
        ttft.reserveCapacity(requests.count)
        e2e.reserveCapacity(requests.count)
        tpot.reserveCapacity(requests.count)
        var outputTokens = 0.0, completed = 0
        let checking = Invariants.isOn
        for r in requests {
            guard let done = r.done, let first = r.firstToken else { continue }
            if checking { checkTokens(r) }
            completed += 1
            outputTokens += Double(r.output)
            ttft.append(first - r.arrival)
            e2e.append(done - r.arrival)
            if r.output > 1 { tpot.append((done - first) / Double(r.output - 1)) }
        }
        // The mean of 1 / TPOT, summed in request order (before the sort); none without TPOTs
        // (every request of one output token), like the TPOT statistics.
        let perUser = tpot.isEmpty ? [] : [Metric("tokens_per_s_per_user", unit: "tokens/s", tpot.reduce(0.0) { $0 + 1 / $1 } / Double(tpot.count))]
        func stats(_ values: inout [Double], _ name: String) -> [Metric] {
            guard !values.isEmpty else { return [] }
            let mean = values.reduce(0, +) / Double(values.count)
            values.sort()
            return [
                Metric("\(name)_s", unit: "s", mean),
                Metric("\(name)_p50_s", unit: "s", Summary.quantile(sorted: values, 0.5)),
                Metric("\(name)_p90_s", unit: "s", Summary.quantile(sorted: values, 0.9)),
                Metric("\(name)_p99_s", unit: "s", Summary.quantile(sorted: values, 0.99)),
            ]
        }
        var metrics = stats(&ttft, "ttft") + stats(&tpot, "tpot") + stats(&e2e, "e2e")
        metrics += [
            Metric("tokens_per_s", unit: "tokens/s", outputTokens / end),
            Metric("tokens_per_s_per_gpu", unit: "tokens/s", outputTokens / end / Double(gpus)),
        ] + perUser + [
            Metric("mean_batch_size", unit: "requests", meanBatch),
            Metric("kv_cache_utilisation", unit: "ratio", kvUtilisation),
            Metric("mean_requests_in_system", unit: "requests", meanInSystem),
        ]
        // Offered against achieved: arrivals over their window, completions over the run.
        let window = arrivalWindow(requests, serving: s)
        metrics.append(Metric("arrival_rate_per_s", unit: "requests/s", Double(requests.count) / (window ?? end)))
        metrics.append(Metric("throughput_requests_per_s", unit: "requests/s", Double(completed) / end))
        if s.concurrency == nil, let growth = queue.growth {
            metrics.append(Metric("queue_growth_per_s", unit: "requests/s", growth))
        }
        metrics += [
            Metric("requests_completed", unit: "requests", Double(completed)),
            Metric("gpus", unit: "GPUs", Double(gpus)),
        ]
        return metrics
    }
}

extension ServingSpec {
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {
        guard let system = scenario.cluster?.system else { return }
        try ServingWorkload.checkMemory(self, system: system, speculative: scenario.stack.speculative)
    }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        ServingWorkload.run(scenario, serving: self, arrivals: streams.arrivals, jitter: streams.kernel, stragglers: streams.stragglers, recording: false).metrics
    }

    public func runRecording(in scenario: ScenarioSpec, streams: RunStreams) -> (metrics: [Metric], tables: [RecordTable]) {
        let output = ServingWorkload.run(scenario, serving: self, arrivals: streams.arrivals, jitter: streams.kernel, stragglers: streams.stragglers, recording: true)
        return (output.metrics, output.tables)
    }

    public static var hasTrace: Bool { true }

    /// Replication 1's run (the one whose metrics are reported, with an SLO), traced whole up
    /// to 100,000 iterations; `steps` and `stages` are not read.
    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        ServingWorkload.run(scenario, serving: self, arrivals: streams.arrivals, jitter: streams.kernel, stragglers: streams.stragglers,
                            recording: false, tracing: true).trace
    }

    /// Arrivals are drawn at random even without noise.
    public var drawsRandomNumbers: Bool { true }

    /// Successive halving's cheap rounds: arrivals stop after `fraction` of the duration and of
    /// the request count (a traced run keeps its first requests). The rate, the batch and the
    /// stack stay as they are, so the short run sees the same load, only less of it.
    public func shortened(_ scenario: ScenarioSpec, to fraction: Double) -> ScenarioSpec? {
        var serving = self
        serving.duration = duration.map { $0 * fraction }
        let count = requests ?? trace?.count
        serving.requests = count.map { Swift.max(1, Int((Double($0) * fraction).rounded(.up))) }
        guard serving.duration != nil || serving.requests != nil else { return nil }
        var spec = scenario
        spec.workload = serving
        return spec
    }
}
