// What a run will cost, estimated from the scenario before anything runs, so that a scenario
// that would run for days or exhaust memory (serving for 1e20 hours, 1e9 requests/s, an
// unfolded collective over 10^5 GPUs) is refused at once with the estimate and the keys that
// drive it, instead of running until the machine kills it.
//
// The per-event and per-request figures are measured (release build, the 2-core development
// VM): the engine handles an event in ~0.5 µs (an unfolded 4,096-GPU ring all-reduce, 3.4e7
// flow steps, 16 s), and a serving run holds ~160 B per request (720,000 requests of
// llama3-70b-serving: 140 MB against 40 MB for 72,000) at ~1 µs per event.
import Scenario

/// The cost of one replication of one variant.
public struct WorkEstimate: Sendable {
    /// Engine events (iterations, flow steps, kernels): the run time is about 0.5–1 µs each.
    public var events: Double
    /// Memory the run holds, bytes.
    public var bytes: Double
    /// What is counted, in words ("3.6e+12 requests").
    public var what: String
    /// The key that drives it most, named first in a refusal.
    public var key: String
    /// What to change, in words naming the keys ("lower workload.gpus or set workload.fold: true").
    public var remedy: String
    /// Simulated seconds the run spans, where the scenario sets it (arrivals over time).
    public var span: Double?

    public init(events: Double, bytes: Double, what: String, key: String, remedy: String, span: Double? = nil) {
        self.events = events
        self.bytes = bytes
        self.what = what
        self.key = key
        self.remedy = remedy
        self.span = span
    }

    /// The longest simulated span: the clock (seconds in a Double) keeps microseconds up to
    /// ~1e9 s (2^53 µs ≈ 9e9 s), and no question needs more than ~32 simulated years.
    public static let maxSpan = 1e9
}

/// Bytes a serving run holds per request: its record and latencies (measured, see above; 200
/// rounds 160 up).
let servingBytesPerRequest = 200.0

extension ServingSpec {
    /// Requests the run serves: the trace's, or arrivals until `duration` or `requests`. A
    /// closed loop of users is bounded by one request per user per output token at 1 ms per
    /// iteration (faster than any decode step).
    public func work(in scenario: ScenarioSpec) -> WorkEstimate? {
        let out = Double(inference.outputTokens)
        var requests: Double, keys: [String]
        if let trace {
            requests = Double(trace.count)
            keys = ["workload.trace"]
        } else if let concurrency {
            requests = Double(concurrency) * (duration ?? 0) / (out * 1e-3)
            keys = ["workload.concurrency", "workload.duration"]
        } else {
            requests = arrivalRate * (duration ?? .infinity)
            keys = ["workload.arrival_rate", "workload.duration"]
        }
        if let cap = self.requests, Double(cap) < requests {
            requests = Double(cap)
            keys = ["workload.requests"]
        }
        // Each request arrives, prefills and leaves; its decode shares iterations with the batch.
        // With latency targets the rate search runs the workload at least 10 times (the doubling
        // from arrival_rate and 8 bisection steps), at rates above arrival_rate as often as not.
        let probes = slo == nil ? 1.0 : 10.0
        let events = requests * (3 + out / Double(maxBatch)) * probes
        // Poisson arrivals of `requests` at `arrivalRate` span requests / rate seconds.
        let span = trace?.last?.arrival ?? (concurrency == nil ? Swift.min(duration ?? .infinity, requests / arrivalRate) : duration)
        // The record tables, held as Doubles and then as CSV text: a request's row is 12 numbers
        // (96 B) and ~200 B of text, a timeline row 7 numbers (56 B), its pool label and ~110 B
        // of text (rounded up to 300 and 180 B; measured text lengths of llama3-70b-serving's).
        let bytes = requests * servingBytesPerRequest + (outputs.requests ? requests * 300 : 0)
        if let interval = outputs.timelineInterval, let span {
            let instances = Double(disaggregated.map { $0.prefillInstances + $0.decodeInstances } ?? inference.dp)
            let rows = span / interval * instances
            if rows * 180 > bytes {
                return WorkEstimate(events: events, bytes: bytes + rows * 180, what: "\(WorkEstimate.format(rows)) timeline rows",
                                    key: "workload.outputs.timeline_interval", remedy: "raise workload.outputs.timeline_interval", span: span)
            }
        }
        return WorkEstimate(events: events, bytes: bytes,
                            what: "\(WorkEstimate.format(requests)) requests" + (slo == nil ? "" : " in each of at least 10 runs of the rate search"), key: keys[0],
                            remedy: "lower " + keys.joined(separator: " or "), span: span)
    }
}

extension CollectiveSpec {
    /// Per message size, a ring of n GPUs takes 2(n − 1) steps; folded, one flow stands for all
    /// n of a step, unfolded each GPU's flow is simulated.
    public func work(in scenario: ScenarioSpec) -> WorkEstimate? {
        let n = Double(gpus)
        let flows = fold ? 1 : n
        let events = Double(sizes.count) * 2 * (n - 1) * flows
        return WorkEstimate(events: events, bytes: flows * 1_000, what: "\(WorkEstimate.format(events)) flow steps",
                            key: "workload.gpus", remedy: fold ? "lower workload.gpus" : "lower workload.gpus or set workload.fold: true")
    }
}

extension TrainingSpec {
    /// Per replica simulated (one when folded), every micro-batch runs forward, recompute and
    /// backward through each layer of its stage: a few tens of kernels and collectives each.
    public func work(in scenario: ScenarioSpec) -> WorkEstimate? {
        let replicas = fold ? 1 : Double(dp)
        // Stages run in parallel, so a replica's layers are all its stages' together.
        let kernels = replicas * Double(microBatches) * Double(model.layers) * 3 * 30
        return WorkEstimate(events: kernels, bytes: kernels * 100, what: "\(WorkEstimate.format(kernels)) kernels",
                            key: fold ? "workload.global_batch" : "workload.fold",
                            remedy: fold ? "lower workload.global_batch" : "set workload.fold: true or lower workload.parallelism.dp")
    }
}

extension WorkEstimate {
    /// "3.6e12" for counts of a million and more, whole numbers below.
    public static func format(_ x: Double) -> String {
        guard x.isFinite else { return "unboundedly many" }
        guard x >= 1e6 else { return String(Int(x.rounded())) }
        var mantissa = x, exponent = 0
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        let tenths = Int((mantissa * 10).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)e\(exponent)" : "\(tenths / 10).\(tenths % 10)e\(exponent)"
    }

    /// Bytes in decimal units ("140 MB", "7.2 PB"); beyond exabytes as a power of ten.
    public static func formatBytes(_ bytes: Double) -> String {
        guard bytes.isFinite else { return "unboundedly many bytes" }
        let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"]
        var value = bytes, unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        if value >= 1000 { return "\(format(bytes)) B" }
        let tenths = Int((value * 10).rounded())
        return value >= 100 || tenths % 10 == 0 ? "\(Int(value.rounded())) \(units[unit])" : "\(Double(tenths) / 10) \(units[unit])"
    }
}
