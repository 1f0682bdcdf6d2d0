// `kind: serving`: requests (Poisson arrivals, a trace, or a closed loop of users) served by
// continuous batching, colocated or disaggregated (ServingWorkload.swift and its extensions
// simulate them).
import Foundation
import Hardware
import Models
import Report
import Scenario

/// `kind: serving`: requests served by continuous batching with chunked prefill on
/// tensor-parallel (or wide expert-parallel) instances.
public struct ServingSpec: Sendable, Equatable {
    public var inference: DecodeSpec
    /// Requests per second (Poisson), when the requests are neither a trace nor a closed loop.
    public var arrivalRate: Double
    /// Closed loop: this many users, each sending its next request when its last completes
    /// (nil: open-loop arrivals).
    public var concurrency: Int? = nil
    /// Requests read from a CSV trace (arrival_s, input_tokens, output_tokens), in arrival
    /// order; nil: Poisson arrivals of `inference`'s input and output tokens.
    public var trace: [TracedRequest]?
    /// Arrivals stop after this many seconds, or after `requests` requests, whichever first.
    public var duration: Double?
    public var requests: Int?
    public var maxBatch: Int
    /// Tokens an iteration runs, decode and prefill together, per attention group.
    public var maxNumTokens: Int = 8192
    /// Most prompt tokens of one request in one iteration (nil: up to the budget).
    public var chunkTokens: Int?
    /// How the KV cache is allocated, in blocks of `kvBlockTokens` tokens.
    public var kvAllocation: KVAllocation = .reserve
    public var kvBlockTokens: Int = 32
    /// Fraction of GPU memory the engine may use for weights and KV cache.
    public var memoryFraction: Double
    /// Latency targets: when set, the run searches for the highest Poisson arrival rate
    /// that meets both (starting from `arrivalRate`).
    public var slo: ServingSLO? = nil
    /// Separate prefill and decode pools (nil: every instance does both).
    public var disaggregated: Disaggregation? = nil
    /// The per-run tables to record beside the metrics.
    public var outputs = ServingOutputs()
}

/// What a serving run records below its summary: requests.csv (a row per request) and
/// timeline.csv (a row per instance every `timelineInterval` seconds).
public struct ServingOutputs: Sendable, Equatable {
    public var requests = false
    /// Seconds between timeline rows; nil: no timeline.
    public var timelineInterval: Double? = nil

    public init(requests: Bool = false, timelineInterval: Double? = nil) {
        self.requests = requests
        self.timelineInterval = timelineInterval
    }
}

/// How a serving engine allocates its KV cache, in blocks of tokens.
public enum KVAllocation: String, Sendable, Equatable {
    /// A request's whole prompt and output are reserved when it is admitted, so no request is
    /// ever paused: TensorRT-LLM's default capacity policy, GUARANTEED_NO_EVICT (its
    /// tokens_per_block defaults to 32).
    case reserve
    /// Blocks are allocated as the prompt is prefilled and tokens are generated (paged
    /// attention, Kwon et al., SOSP 2023); when the cache is full the most recently admitted
    /// request is preempted, its blocks freed and its prompt and tokens so far recomputed when
    /// it is readmitted (vLLM's scheduler, whose V1 engine preempts by recompute only, block
    /// size 16; TensorRT-LLM's MAX_UTILIZATION policy pauses requests likewise).
    case paged
}

/// Disaggregated serving (DistServe, Zhong et al., OSDI 2024; Splitwise, Patel et al., ISCA
/// 2024): prompts run on prefill instances, their KV caches move over the network to decode
/// instances, which only decode. Every instance is a TP group of the workload's `tp`.
public struct Disaggregation: Sendable, Equatable {
    public var prefillInstances: Int
    public var decodeInstances: Int
    /// Prefill and decode instances share an NVLink domain (KV moves over NVLink), or not
    /// (over the NICs).
    public var sameDomain: Bool

    public init(prefillInstances: Int, decodeInstances: Int, sameDomain: Bool) {
        self.prefillInstances = prefillInstances
        self.decodeInstances = decodeInstances
        self.sameDomain = sameDomain
    }
}

public struct ServingSLO: Sendable, Equatable {
    public var tpotP99: Double
    public var ttftP99: Double

    public init(tpotP99: Double, ttftP99: Double) {
        self.tpotP99 = tpotP99
        self.ttftP99 = ttftP99
    }
}

/// One request of an arrival trace.
public struct TracedRequest: Sendable, Equatable {
    public var arrival: Double
    public var inputTokens: Int
    public var outputTokens: Int

    public init(arrival: Double, inputTokens: Int, outputTokens: Int) {
        self.arrival = arrival
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

extension ServingSpec: Workload {
    public static let kind = "serving"
    public static let summary = "Continuous batching with chunked prefill of Poisson or traced requests, colocated or disaggregated, optionally searching the rate that meets latency targets"
    public static let needsCluster = true

    // No `batch`: the scheduler forms the batch (max_batch caps it).
    public static let keys = KeyTable(section: "workload", DecodeSpec.inferenceKeys.filter { $0.path != "batch" } + [
        Key("arrival_rate", .quantity(.count, minimum: 0, exclusive: true), default: .required(when: "without trace or concurrency"),
            "Poisson arrivals per second (with slo: where the rate search starts)"),
        Key("trace", .text, "A CSV of requests (arrival_s, input_tokens, output_tokens), relative to the scenario's folder"),
        // No physical ceiling: what a long duration costs is bounded by the work estimate
        // (WorkEstimate.swift), which says so with the number of requests.
        Key("duration", .quantity(.time, minimum: 0, exclusive: true, maximum: 1e30), default: .derived("required with arrival_rate or concurrency unless requests is given"),
            "Arrivals stop after this long"),
        Key("requests", .integer(1...100_000_000), "Arrivals stop after this many requests"),
        Key("concurrency", .integer(1...1_000_000), "Closed loop: users each sending the next request when the last completes (instead of arrival_rate)"),
        Key("max_batch", .integer(1...100_000), default: .derived("256 per attention group: 256 × ep / tp with expert parallelism, else 256"),
            "Most sequences an instance runs at once, over all its attention groups (vLLM's max_num_seqs of each data-parallel attention engine times their number; TensorRT-LLM's max_batch_size)"),
        Key("max_num_tokens", .integer(1...10_000_000), default: "8192",
            "Tokens an iteration runs, decodes first and then prompt chunks, per attention group (TensorRT-LLM's max_num_tokens, vLLM's max_num_batched_tokens)"),
        Key("chunk_tokens", .integer(1...10_000_000), default: .derived("max_num_tokens"),
            "Most prompt tokens of one request in one iteration (vLLM's long_prefill_token_threshold)"),
        Key("kv_allocation", .choice(["reserve", "paged"]), default: "reserve",
            "reserve: a request's prompt and output are reserved on admission (TensorRT-LLM's GUARANTEED_NO_EVICT); paged: blocks as tokens grow, preempting by recompute when full (vLLM)"),
        Key("kv_block_tokens", .integer(1...4096), default: .derived("32 with reserve (TensorRT-LLM), 16 with paged (vLLM)"),
            "Tokens per KV-cache block"),
        Key("memory_fraction", .quantity(.count, minimum: 0, exclusive: true, maximum: 1), default: "0.9",
            "Fraction of each GPU's memory for weights and KV cache"),
        Key("slo", .mapping, "Latency targets: search the highest Poisson rate meeting both"),
        Key("slo.tpot_p99", .quantity(.time, minimum: 0, exclusive: true), default: .required, "99th-percentile time per output token target"),
        Key("slo.ttft_p99", .quantity(.time, minimum: 0, exclusive: true), default: .required, "99th-percentile time to first token target"),
        Key("disaggregated", .mapping, "Separate prefill and decode pools (DistServe, Splitwise)"),
        Key("disaggregated.prefill_instances", .integer(1...100_000), default: .required, "Prefill instances (each a TP or EP group)"),
        Key("disaggregated.decode_instances", .integer(1...100_000), default: .required, "Decode instances"),
        Key("disaggregated.kv_transfer", .choice(["nvlink", "network"]), default: "nvlink",
            "Where KV caches move: inside an NVLink domain, or over the NICs"),
        Key("outputs", .mapping, "Tables written beside summary.csv, a row per item of every replication (also clustersim run --requests, --timeline)"),
        Key("outputs.requests", .bool, default: "false",
            "requests.csv: a row per request (arrival, first token, completion, tokens, instance, preemptions, TTFT, TPOT, end-to-end)"),
        Key("outputs.timeline", .bool, default: "false",
            "timeline.csv: a row per instance every timeline_interval (requests waiting and running, KV-cache use, tokens/s)"),
        Key("outputs.timeline_interval", .quantity(.time, minimum: 0, exclusive: true), default: "1 s",
            "Time between timeline rows; each row is the state just after its time and the tokens of the interval up to it"),
    ])

    static func latency(_ name: String, _ what: String) -> [MetricInfo] {
        [
            MetricInfo("\(name)_s", unit: "s", .lower, "Mean \(what) over completed requests"),
            MetricInfo("\(name)_p50_s", unit: "s", .lower, "Median \(what)"),
            MetricInfo("\(name)_p90_s", unit: "s", .lower, "90th-percentile \(what)"),
            MetricInfo("\(name)_p99_s", unit: "s", .lower, "99th-percentile \(what)"),
        ]
    }

    public static let metrics: [MetricInfo] = latency("ttft", "time to first token (arrival to first token)")
        + latency("tpot", "time per output token after the first")
        + latency("e2e", "end-to-end latency (arrival to last token)") + [
            MetricInfo("tokens_per_s", unit: "tokens/s", .higher, "Output tokens of completed requests over the run's length"),
            MetricInfo("tokens_per_s_per_gpu", unit: "tokens/s", .higher, "tokens_per_s over every GPU of every instance"),
            MetricInfo("tokens_per_s_per_user", unit: "tokens/s", .higher, "Mean over requests of 1 / their TPOT"),
            MetricInfo("mean_batch_size", unit: "requests", .neither, "Sequences in an iteration, averaged over time and instances"),
            MetricInfo("kv_cache_utilisation", unit: "ratio", .neither, "KV-cache blocks allocated over the blocks the cache holds, averaged over time"),
            MetricInfo("mean_requests_in_system", unit: "requests", .neither, "Requests waiting or running, averaged over time"),
            MetricInfo("arrival_rate_per_s", unit: "requests/s", .neither,
                       "The offered load: requests that arrived over the arrival window (duration, or up to the last arrival), an input"),
            MetricInfo("throughput_requests_per_s", unit: "requests/s", .higher,
                       "The achieved rate: requests completed over the run's length (arrivals and the drain after them)"),
            MetricInfo("queue_growth_per_s", unit: "requests/s", .neither,
                       "Open loop: how fast the requests waiting to be scheduled (queued for a prefill or a decode batch, not running) grow over the second half of the arrival window (the mean over its last quarter less that over its third, per second): about 0 when the instances keep up, the offered less the served rate when overloaded"),
            MetricInfo("requests_completed", unit: "requests", .neither, "Requests finished by the end of the run"),
            MetricInfo("preemptions", unit: "requests", .lower, "kv_allocation paged: times a running request was preempted (its cache freed, to be recomputed)"),
            MetricInfo("kv_transfer_s", unit: "s", .lower, "Disaggregated: mean time to move a prompt's KV cache to its decode instance"),
            MetricInfo("slo_arrival_rate_per_s", unit: "requests/s", .higher, "With slo: the highest Poisson rate meeting both p99 targets"),
            MetricInfo("gpus", unit: "GPUs", .neither, "GPUs of every instance (an input, for a search's constraints)"),
        ]

    /// Colocated instances run the draft; disaggregated pools do not model it.
    public var usesSpeculativeDecoding: Bool { disaggregated == nil }

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> ServingSpec? {
        let log = f.log
        let errorsBefore = log.errors.count
        // A trace gives every request its own sizes, so the decode keys for them are optional.
        let traced = f.has("trace")
        let inference = InferenceReading.read(f, sizesRequired: !traced, readsBatch: false)
        var trace: [TracedRequest]?
        var rate: Double?
        let closedLoop = f.has("concurrency")
        let concurrency = f.integer("concurrency")
        if traced {
            if f.has("arrival_rate") { log.error(f.origin("arrival_rate"), "workload.arrival_rate", "give either arrival_rate or trace, not both") }
            if closedLoop { log.error(f.origin("concurrency"), "workload.concurrency", "give either concurrency or trace, not both") }
            if let path = f.text("trace") { trace = ServingTrace.read(path, origin: f.origin("trace"), log: log) }
        } else if closedLoop {
            if f.has("arrival_rate") { log.error(f.origin("arrival_rate"), "workload.arrival_rate", "give either arrival_rate or concurrency, not both") }
            _ = f.declared("trace")
        } else {
            rate = f.number("arrival_rate")
            _ = f.declared("trace")
        }
        let duration = f.number("duration")
        let requests = f.integer("requests")
        if duration == nil && requests == nil && (f.has("arrival_rate") || closedLoop) {
            log.error(f.node.origin, "workload.duration", "missing: bound the run by duration (e.g. \"1 h\") or requests")
        }
        // Under wide expert parallelism each of the ep / tp attention groups schedules its own
        // batch, as each data-parallel attention rank of vLLM is its own engine with its own
        // max_num_seqs (docs/serving/data_parallel_deployment.md): 256 each by default.
        let groups = inference?.attentionGroups ?? 1
        let maxBatch = f.integer("max_batch") ?? 256 * groups
        let budget = f.integer("max_num_tokens") ?? 8192
        let chunk = f.integer("chunk_tokens")
        let allocation = f.choice("kv_allocation").flatMap(KVAllocation.init(rawValue:)) ?? .reserve
        let blockTokens = f.integer("kv_block_tokens") ?? (allocation == .reserve ? 32 : 16)
        let fraction = f.number("memory_fraction") ?? 0.9
        // Every running sequence decodes each iteration, so each group's budget must cover its
        // share of a full batch (vLLM refuses max_num_batched_tokens below max_num_seqs likewise).
        let positions = (scenario.stack.speculative?.draftTokens ?? 0) + 1
        let groupBatch = (maxBatch + groups - 1) / groups
        if f.has("max_num_tokens") || f.has("max_batch"), budget < groupBatch * positions {
            let key = f.has("max_num_tokens") ? "max_num_tokens" : "max_batch"
            let batch = groups > 1 ? "max_batch \(maxBatch) over \(groups) attention groups (\(groupBatch) each)" : "max_batch \(maxBatch)"
            log.error(f.origin(key), "workload.\(key)", "max_num_tokens \(budget)\(groups > 1 ? " per attention group" : "") is below \(batch)"
                      + (positions > 1 ? " × \(positions) positions verified per sequence" : "") + "; every running sequence decodes in each iteration")
        }
        var slo: ServingSLO?
        if let g = f.mapping("slo") {
            let tpot = g.number("tpot_p99")
            let ttft = g.number("ttft_p99")
            if traced || closedLoop {
                log.error(f.origin("slo"), "workload.slo", "searches the Poisson arrival rate; it cannot be used with \(traced ? "a trace" : "concurrency")")
            }
            if let tpot, let ttft { slo = ServingSLO(tpotP99: tpot, ttftP99: ttft) }
        }
        var disaggregated: Disaggregation?
        if let g = f.mapping("disaggregated") {
            let prefill = g.integer("prefill_instances")
            let decode = g.integer("decode_instances")
            let same = (g.choice("kv_transfer") ?? "nvlink") == "nvlink"
            if let prefill, let decode { disaggregated = Disaggregation(prefillInstances: prefill, decodeInstances: decode, sameDomain: same) }
        }
        if disaggregated != nil, let inference, inference.dp > 1 {
            log.error(f.value("parallelism")?["dp"]?.origin, "workload.parallelism.dp", "disaggregated serving sizes its pools with prefill_instances and decode_instances; remove dp")
        }
        var outputs = ServingOutputs()
        if let g = f.mapping("outputs") {
            outputs.requests = g.flag("requests") ?? false
            let interval = g.number("timeline_interval")
            if g.flag("timeline") ?? false {
                outputs.timelineInterval = interval ?? 1
            } else if interval != nil {
                log.error(g.origin("timeline_interval"), "workload.outputs.timeline_interval", "set outputs.timeline: true to write timeline.csv, or remove the interval")
            }
        }
        guard log.errors.count == errorsBefore, let inference, rate != nil || trace != nil || concurrency != nil else { return nil }
        var spec = ServingSpec(inference: inference, arrivalRate: rate ?? 0, trace: trace, duration: duration, requests: requests,
                               maxBatch: maxBatch, chunkTokens: chunk, memoryFraction: fraction, slo: slo, disaggregated: disaggregated)
        spec.outputs = outputs
        spec.concurrency = concurrency
        spec.maxNumTokens = budget
        spec.kvAllocation = allocation
        spec.kvBlockTokens = blockTokens
        if disaggregated == nil { InferenceReading.checkSpeculative(inference, scenario) }
        let pools = disaggregated.map { $0.prefillInstances + $0.decodeInstances } ?? 1
        InferenceReading.check(inference, instances: pools, scenario)
        if scenario.noise.networkCV > 0 { scenario.warnUnused("noise.network_cv", kind: kind, because: " (it moves no data over links)") }
        return spec
    }
}
