// What a serving run records below its summary when asked (workload.outputs): requests.csv, a
// row per request, and timeline.csv, a row per instance every `timeline_interval`.
//
// Timeline rows are sampled while the run goes (reading its state, never changing it): the
// row at time t holds the state just after t (the events at t done) and the tokens the
// instance produced in (t − interval, t]. Under pipeline parallelism an instance's schedulers
// (one per stage) are summed; prefill instances of a disaggregated run share one queue, which
// each prefill row shows.
import Report

extension ServingWorkload {
    static let requestColumns: [RecordTable.Column] = [
        .init("request", integer: true), .init("arrival_s"), .init("first_token_s"), .init("done_s"),
        .init("input_tokens", integer: true), .init("output_tokens", integer: true),
        .init("instance", integer: true), .init("prefill_instance", integer: true), .init("preemptions", integer: true),
        .init("ttft_s"), .init("tpot_s"), .init("e2e_s"),
    ]

    /// requests.csv: every request that arrived, in arrival order. `instance` is the instance
    /// that decoded it (the last, if it was preempted and moved); `prefill_instance` the one
    /// that prefilled it (disaggregated only). Times in seconds from the start of the run;
    /// a request that did not finish has empty completion and latencies.
    static func requestTable(_ requests: [Request]) -> RecordTable {
        var table = RecordTable(file: "requests.csv", columns: requestColumns)
        table.values.reserveCapacity(requests.count * requestColumns.count)
        for (i, r) in requests.enumerated() {
            let first = r.firstToken ?? .nan, done = r.done ?? .nan
            let tpot = r.output > 1 ? (done - first) / Double(r.output - 1) : .nan
            table.values += [Double(i), r.arrival, first, done, Double(r.input), Double(r.output),
                             r.instance < 0 ? .nan : Double(r.instance), r.prefillInstance < 0 ? .nan : Double(r.prefillInstance),
                             Double(r.preemptions), first - r.arrival, tpot, done - r.arrival]
        }
        return table
    }

    /// The tables a finished run's outputs ask for: requests.csv, and the timeline's last rows
    /// (through `end`, from the final `state`) before its table.
    static func tables(_ requests: [Request], outputs: ServingOutputs, timeline: Timeline?, end: Double, state: (Int) -> InstanceState) -> [RecordTable] {
        var tables: [RecordTable] = []
        if outputs.requests { tables.append(requestTable(requests)) }
        if var timeline {
            timeline.record(before: end, through: true, state)
            tables.append(timeline.table)
        }
        return tables
    }

    /// One instance's state at a sample.
    struct InstanceState {
        var waiting: Int
        var running: Int
        /// KV-cache tokens (or blocks) in use and the capacity in the same unit; capacity 0: no
        /// cache to report (a prefill instance hands its cache on).
        var kvUsed: Double
        var kvCapacity: Double
    }

    /// timeline.csv, filled as the run goes.
    struct Timeline {
        static let columns: [RecordTable.Column] = [
            .init("time_s"), .init("instance", integer: true), .init("waiting", integer: true), .init("running", integer: true),
            .init("kv_cache_utilisation"), .init("tokens_per_s"), .init("prompt_tokens_per_s"),
        ]
        let interval: Double
        /// The pool of each instance ("colocated", "prefill" or "decode") and its number in it.
        let pools: [(name: String, number: Int)]
        private var samples = 0
        /// The next sample's time: multiplied, not summed, so that sample times carry no
        /// rounding drift.
        var next: Double { Double(samples) * interval }
        /// Output and prompt tokens each instance has produced, and at the last sample.
        var tokens: [Double]
        var promptTokens: [Double]
        private var tokensBefore: [Double]
        private var promptBefore: [Double]
        private(set) var table = RecordTable(file: "timeline.csv", columns: Timeline.columns, labels: [("pool", [])])

        init(interval: Double, pools: [(name: String, number: Int)]) {
            self.interval = interval
            self.pools = pools
            tokens = [Double](repeating: 0, count: pools.count)
            promptTokens = tokens
            tokensBefore = tokens
            promptBefore = tokens
        }

        /// Whether a sample falls before `now` (then `record` takes it).
        func due(_ now: Double) -> Bool { next < now }

        /// Rows for every sample time before `now`, from the state before the events at `now`;
        /// `through` (the run's end) adds the first sample at or after `now`, so that every
        /// token of the run falls in some row.
        mutating func record(before now: Double, through: Bool = false, _ state: (Int) -> InstanceState) {
            let states = pools.indices.map(state)
            var last = false
            while next < now || (through && !last) {
                last = next >= now
                for (k, s) in states.enumerated() {
                    table.labels[0].values.append(pools[k].name)
                    let kv = s.kvCapacity > 0 ? s.kvUsed / s.kvCapacity : .nan
                    table.values += [next, Double(pools[k].number), Double(s.waiting), Double(s.running), kv,
                                     (tokens[k] - tokensBefore[k]) / interval, (promptTokens[k] - promptBefore[k]) / interval]
                }
                tokensBefore = tokens
                promptBefore = promptTokens
                samples += 1
            }
        }

        /// A prompt chunk of `chunk` tokens on instance `k`, and the first token when it ends
        /// its prompt.
        mutating func prefilled(_ chunk: Int, endingPrompt: Bool, on k: Int) {
            promptTokens[k] += Double(chunk)
            if endingPrompt { tokens[k] += 1 }
        }
    }

    /// How fast the requests waiting to be scheduled (queued for a prefill or for a decode
    /// batch, preempted ones included; not those running) grow over the second half of the
    /// arrival window: the mean over its last quarter less that over its third, over a
    /// quarter's length — the slope of a queue growing linearly, about 0 when the instances
    /// keep up. Waiting rather than in system: the running requests ramp up for as long as a
    /// request takes, which in a short run looks like growth though nothing queues.
    struct QueueWatch {
        /// The arrival window (nil: none, as in a closed loop).
        let window: Double?
        var third = 0.0, fourth = 0.0

        /// An open loop draws every request before the run, so its window is known at the start.
        init(_ requests: [Request], serving: ServingSpec, closedLoop: Bool) {
            window = closedLoop ? nil : ServingWorkload.arrivalWindow(requests, serving: serving)
        }

        /// `count` requests waited from `a` to `b`.
        mutating func add(from a: Double, to b: Double, count: Int) {
            guard let w = window, count > 0, b > 0.5 * w else { return }
            func overlap(_ lo: Double, _ hi: Double) -> Double { Swift.max(0, Swift.min(b, hi) - Swift.max(a, lo)) }
            third += Double(count) * overlap(0.5 * w, 0.75 * w)
            fourth += Double(count) * overlap(0.75 * w, w)
        }

        var growth: Double? {
            guard let w = window else { return nil }
            let quarter = 0.25 * w
            return (fourth / quarter - third / quarter) / quarter
        }
    }

    /// The window over which requests arrived: the duration when arrivals stopped at it (not
    /// when they stopped at a request count or the trace's end), else up to the last arrival
    /// (nil when every request arrived at 0).
    static func arrivalWindow(_ requests: [Request], serving s: ServingSpec) -> Double? {
        let countBound = s.requests.map { requests.count >= $0 } ?? false
        let last = requests.map(\.arrival).max() ?? 0
        if !countBound, let duration = s.duration, duration >= last { return duration }
        return last > 0 ? last : nil
    }
}

extension ServingSpec {
    /// An open-loop run whose waiting queue grew by more than 5% of the second half's arrivals (and
    /// by at least 10 requests) is overloaded: its latencies grow with the run's length.
    public func warnings(_ means: [String: Double]) -> [String] {
        guard concurrency == nil, let growth = means["queue_growth_per_s"], let offered = means["arrival_rate_per_s"],
              let served = means["throughput_requests_per_s"], let completed = means["requests_completed"], offered > 0 else { return [] }
        // The run drains, so the completed requests are the arrivals: half of them arrive in
        // the second half of the window, which lasts completed / offered / 2 seconds.
        guard growth > 0.05 * offered, growth * completed / offered / 2 >= 10 else { return [] }
        func f(_ x: Double) -> String { x >= 100 ? String(Int(x.rounded())) : String(format: "%.3g", x) }
        return ["overloaded: requests waiting to be scheduled grew by \(f(growth)) per second over the second half of the arrivals "
                + "(offered \(f(offered)) requests/s, served \(f(served)) requests/s); its latencies depend on the run's length, "
                + "not a steady state: lower workload.arrival_rate or add instances"]
    }
}
