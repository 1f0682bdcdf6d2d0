// Chrome trace-event JSON (the format Perfetto and chrome://tracing load): complete events
// ("ph": "X") per kernel, layer pass or iteration on a track per GPU stream or scheduler, async
// events ("ph": "b"/"e") for spans that overlap on one process (serving requests), counter
// events ("ph": "C") for HBM and link bandwidth, batch size and KV-cache use, flow events
// ("ph": "s"/"f") for transfers between slices, and metadata naming processes and threads.
// Events carry `args` (bytes, tokens, layer, micro-batch). Times in µs, written from whole
// nanoseconds so that a flow's time lies inside the slices it binds to as the viewer reads them.
// Trace Event Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
import Foundation

/// One `args` entry of an event: its key and its value as JSON text.
public struct TraceArg: Sendable, Equatable {
    public var key: String
    public var json: String

    public static func number(_ key: String, _ x: Double) -> TraceArg {
        TraceArg(key: key, json: x.isFinite ? (x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(format: "%.6g", x)) : "null")
    }
    public static func text(_ key: String, _ s: String) -> TraceArg { TraceArg(key: key, json: "\"\(ChromeTrace.escape(s))\"") }
}

/// A process's thread: its GPU (or instance) id and stream (or scheduler) id.
public struct TraceTrack: Sendable, Hashable {
    public var pid: Int
    public var tid: Int
    public init(pid: Int, tid: Int) {
        self.pid = pid
        self.tid = tid
    }
}

public struct TraceSpan: Sendable, Equatable {
    public var name: String
    /// Seconds.
    public var start: Double
    public var end: Double
    public var gpu: Int
    /// 0 compute, 1 communication, 2 data-parallel; others are named by `TraceData.threadNames`.
    public var stream: Int
    public var hbmBytes: Double
    /// Bytes moved over the GPU's links (communication spans), shown as a link counter.
    public var linkBytes: Double
    public var args: [TraceArg]
    /// The event's category ("cat"); nil: the stream's.
    public var category: String?

    public init(name: String, start: Double, end: Double, gpu: Int, stream: Int, hbmBytes: Double, linkBytes: Double = 0,
                args: [TraceArg] = [], category: String? = nil) {
        self.name = name
        self.start = start
        self.end = end
        self.gpu = gpu
        self.stream = stream
        self.hbmBytes = hbmBytes
        self.linkBytes = linkBytes
        self.args = args
        self.category = category
    }
}

/// A transfer from a slice on one track to a slice on another (drawn as an arrow), e.g. an
/// activation sent to the next pipeline stage. `start` lies within the slice it leaves (often
/// at its end), `end` within the slice it enters; a flow whose slices are not in the trace is
/// left out rather than drawn from nowhere.
public struct TraceFlow: Sendable, Equatable {
    public var name: String
    public var fromGPU: Int
    public var fromStream: Int
    public var start: Double
    public var toGPU: Int
    public var toStream: Int
    public var end: Double
    public var args: [TraceArg]

    public init(name: String, fromGPU: Int, fromStream: Int, start: Double, toGPU: Int, toStream: Int, end: Double, args: [TraceArg] = []) {
        self.name = name
        self.fromGPU = fromGPU
        self.fromStream = fromStream
        self.start = start
        self.toGPU = toGPU
        self.toStream = toStream
        self.end = end
        self.args = args
    }
}

/// A span that may overlap others on its process (a serving request from arrival to its last
/// token), with phases nested in it (waiting and prefill, decode).
public struct TraceAsyncSpan: Sendable, Equatable {
    public struct Phase: Sendable, Equatable {
        public var name: String
        public var start: Double
        public var end: Double
        public init(name: String, start: Double, end: Double) {
            self.name = name
            self.start = start
            self.end = end
        }
    }
    public var name: String
    public var category: String
    public var id: Int
    public var pid: Int
    public var start: Double
    public var end: Double
    public var args: [TraceArg]
    public var phases: [Phase]

    public init(name: String, category: String, id: Int, pid: Int, start: Double, end: Double, args: [TraceArg] = [], phases: [Phase] = []) {
        self.name = name
        self.category = category
        self.id = id
        self.pid = pid
        self.start = start
        self.end = end
        self.args = args
        self.phases = phases
    }
}

/// A counter's values on a process from `time` on (batch size, KV-cache use).
public struct TraceCounter: Sendable, Equatable {
    public var name: String
    public var pid: Int
    public var time: Double
    public var values: [TraceArg]
    public init(name: String, pid: Int, time: Double, values: [TraceArg]) {
        self.name = name
        self.pid = pid
        self.time = time
        self.values = values
    }
}

/// What a trace file shows.
public struct TraceData: Sendable {
    public var spans: [TraceSpan]
    public var flows: [TraceFlow]
    public var asyncSpans: [TraceAsyncSpan]
    public var counters: [TraceCounter]
    /// Names of the processes (one per GPU or instance id); "GPU n" when absent.
    public var processNames: [Int: String]
    /// Names of threads other than the GPU streams' ("compute stream", ...).
    public var threadNames: [TraceTrack: String]
    /// Said in the file's otherData (what the trace covers, where it stopped).
    public var notes: [TraceArg]

    public init(spans: [TraceSpan], flows: [TraceFlow] = [], asyncSpans: [TraceAsyncSpan] = [], counters: [TraceCounter] = [],
                processNames: [Int: String] = [:], threadNames: [TraceTrack: String] = [:], notes: [TraceArg] = []) {
        self.spans = spans
        self.flows = flows
        self.asyncSpans = asyncSpans
        self.counters = counters
        self.processNames = processNames
        self.threadNames = threadNames
        self.notes = notes
    }
}

public enum ChromeTrace {
    static let streamNames = ["compute stream", "communication stream", "data-parallel stream"]
    static let streamCategories = ["compute", "communication", "data-parallel"]

    /// The JSON text for `trace`, at most `limit` spans, flows, async spans and counter values
    /// each. A flow is written bound: its start inside the slice it leaves and its end inside
    /// the slice it enters (`bp: e`), both in the trace; one without them is left out.
    public static func json(_ trace: TraceData, scenario: String, limit: Int = 200_000) -> String {
        var events: [String] = []
        let kept = Array(trace.spans.prefix(limit))
        let asyncSpans = trace.asyncSpans.prefix(limit), counters = trace.counters.prefix(limit)
        let slices = SliceIndex(kept)
        let flows = trace.flows.prefix(limit).compactMap { f -> (TraceFlow, Int64, Int64)? in
            guard let from = slices.inside(TraceTrack(pid: f.fromGPU, tid: f.fromStream), at: f.start),
                  let to = slices.inside(TraceTrack(pid: f.toGPU, tid: f.toStream), at: f.end) else { return nil }
            return (f, from, to)
        }
        let tids = Dictionary(grouping: kept, by: \.gpu).mapValues { Set($0.map(\.stream)).sorted() }
        let pids = Set(kept.map(\.gpu) + asyncSpans.map(\.pid) + counters.map(\.pid))
        for pid in pids.sorted() {
            let name = trace.processNames[pid] ?? "GPU \(pid)"
            events.append(#"{"name":"process_name","ph":"M","pid":\#(pid),"tid":0,"args":{"name":"\#(escape(name))"}}"#)
            for tid in tids[pid] ?? [] {
                guard let name = trace.threadNames[TraceTrack(pid: pid, tid: tid)] ?? (tid < streamNames.count ? streamNames[tid] : nil) else { continue }
                events.append(#"{"name":"thread_name","ph":"M","pid":\#(pid),"tid":\#(tid),"args":{"name":"\#(escape(name))"}}"#)
            }
        }
        for (id, (f, from, to)) in flows.enumerated() {
            events.append(#"{"name":"\#(escape(f.name))","cat":"transfer","ph":"s","id":\#(id),"ts":\#(time(from)),"pid":\#(f.fromGPU),"tid":\#(f.fromStream)\#(args(f.args))}"#)
            events.append(#"{"name":"\#(escape(f.name))","cat":"transfer","ph":"f","bp":"e","id":\#(id),"ts":\#(time(to)),"pid":\#(f.toGPU),"tid":\#(f.toStream)}"#)
        }
        for s in kept {
            let (ts, dur) = SliceIndex.interval(s)
            let category = s.category ?? (s.stream < streamCategories.count ? streamCategories[s.stream] : "other")
            events.append(#"{"name":"\#(escape(s.name))","cat":"\#(escape(category))","ph":"X","ts":\#(time(ts)),"dur":\#(time(dur)),"pid":\#(s.gpu),"tid":\#(s.stream)\#(args(s.args))}"#)
            if s.stream > 0 && s.stream < streamNames.count && dur > 0 && s.linkBytes > 0 {
                // Link utilisation while the collective runs, back to zero when it ends.
                let counter = s.stream == 1 ? "TP/CP/EP link GB/s" : "data-parallel link GB/s"
                let gbps = s.linkBytes / (s.end - s.start) / 1e9
                events.append(#"{"name":"\#(counter)","ph":"C","ts":\#(time(ts)),"pid":\#(s.gpu),"tid":\#(s.stream),"args":{"GB/s":\#(number(gbps))}}"#)
                events.append(#"{"name":"\#(counter)","ph":"C","ts":\#(time(ts + dur)),"pid":\#(s.gpu),"tid":\#(s.stream),"args":{"GB/s":0}}"#)
            }
            if s.stream == 0 && dur > 0 && s.hbmBytes > 0 {
                let gbps = s.hbmBytes / (s.end - s.start) / 1e9
                events.append(#"{"name":"HBM GB/s","ph":"C","ts":\#(time(ts)),"pid":\#(s.gpu),"tid":0,"args":{"GB/s":\#(number(gbps))}}"#)
            }
        }
        for a in asyncSpans {
            let head = #""cat":"\#(escape(a.category))","id":\#(a.id),"pid":\#(a.pid),"tid":0"#
            events.append(#"{"name":"\#(escape(a.name))","ph":"b",\#(head),"ts":\#(time(nanoseconds(a.start)))\#(args(a.args))}"#)
            for p in a.phases {
                events.append(#"{"name":"\#(escape(p.name))","ph":"b",\#(head),"ts":\#(time(nanoseconds(p.start)))}"#)
                events.append(#"{"name":"\#(escape(p.name))","ph":"e",\#(head),"ts":\#(time(nanoseconds(p.end)))}"#)
            }
            events.append(#"{"name":"\#(escape(a.name))","ph":"e",\#(head),"ts":\#(time(nanoseconds(a.end)))}"#)
        }
        for c in counters {
            events.append(#"{"name":"\#(escape(c.name))","ph":"C","ts":\#(time(nanoseconds(c.time))),"pid":\#(c.pid),"tid":0\#(args(c.values))}"#)
        }
        var other = [TraceArg.text("scenario", scenario)] + trace.notes
        if trace.flows.count > flows.count {
            other.append(.number("flows_left_out", Double(trace.flows.count - flows.count)))
        }
        return "{\"displayTimeUnit\":\"ns\",\"otherData\":{\(other.map { "\"\(escape($0.key))\":\($0.json)" }.joined(separator: ","))},\"traceEvents\":[\n"
            + events.joined(separator: ",\n") + "\n]}\n"
    }

    /// The recorded slices by track, in whole nanoseconds, for binding flows.
    struct SliceIndex {
        var byTrack: [TraceTrack: [(start: Int64, end: Int64)]] = [:]

        init(_ spans: [TraceSpan]) {
            for s in spans {
                let (ts, dur) = Self.interval(s)
                byTrack[TraceTrack(pid: s.gpu, tid: s.stream), default: []].append((ts, ts + dur))
            }
            for key in byTrack.keys { byTrack[key]!.sort { $0.start < $1.start || ($0.start == $1.start && $0.end < $1.end) } }
        }

        static func interval(_ s: TraceSpan) -> (ts: Int64, dur: Int64) {
            let ts = nanoseconds(s.start)
            return (ts, Swift.max(0, nanoseconds(s.end) - ts))
        }

        /// A time inside a slice of `track` that holds `t` (start ≤ t ≤ end, ends included),
        /// moved off the slice's end so that the viewer finds it inside: nil without one.
        func inside(_ track: TraceTrack, at t: Double) -> Int64? {
            guard let slices = byTrack[track] else { return nil }
            let ns = nanoseconds(t)
            // The last slice starting at or before t, then earlier ones that may still hold it.
            var lo = 0, hi = slices.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if slices[mid].start <= ns { lo = mid + 1 } else { hi = mid }
            }
            var i = lo - 1
            while i >= 0 && i >= lo - 8 {
                let s = slices[i]
                if s.end > s.start && ns <= s.end { return Swift.min(ns, s.end - 1) }
                i -= 1
            }
            return nil
        }
    }

    /// Whole nanoseconds of `seconds` (bounded, so a huge or non-finite time cannot trap).
    static func nanoseconds(_ seconds: Double) -> Int64 {
        let ns = (seconds * 1e9).rounded()
        guard ns.isFinite else { return ns > 0 ? Int64(9e15) : 0 }
        return Int64(Swift.min(Swift.max(ns, -9e15), 9e15))
    }

    /// Microseconds with three decimals, exactly, from whole nanoseconds.
    static func time(_ ns: Int64) -> String {
        let sign = ns < 0 ? "-" : "", a = abs(ns)
        let fraction = String(a % 1000)
        return "\(sign)\(a / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    static func number(_ x: Double) -> String { x.isFinite ? String(format: "%.3f", x) : "0" }

    static func args(_ list: [TraceArg]) -> String {
        list.isEmpty ? "" : ",\"args\":{" + list.map { "\"\(escape($0.key))\":\($0.json)" }.joined(separator: ",") + "}"
    }

    /// `s` as the inside of a JSON string: quotes, backslashes and control characters escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
}
