// Chrome trace-event JSON (the format Perfetto and chrome://tracing load): complete events
// ("ph": "X") per kernel or layer pass on a track per GPU stream (compute, communication,
// data-parallel), counter events ("ph": "C") for HBM bandwidth and stream activity, flow events
// ("ph": "s" and "f") for pipeline transfers, and metadata naming processes and threads.
// Times in µs.
// Trace Event Format: https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
import Foundation

public struct TraceSpan: Sendable, Equatable {
    public var name: String
    /// Seconds.
    public var start: Double
    public var end: Double
    public var gpu: Int
    /// 0 compute, 1 communication.
    public var stream: Int
    public var hbmBytes: Double
    /// Bytes moved over the GPU's links (communication spans), shown as a link counter.
    public var linkBytes: Double

    public init(name: String, start: Double, end: Double, gpu: Int, stream: Int, hbmBytes: Double, linkBytes: Double = 0) {
        self.name = name
        self.start = start
        self.end = end
        self.gpu = gpu
        self.stream = stream
        self.hbmBytes = hbmBytes
        self.linkBytes = linkBytes
    }
}

/// A transfer from one track to another (drawn as an arrow), e.g. an activation sent to the
/// next pipeline stage.
public struct TraceFlow: Sendable, Equatable {
    public var name: String
    public var fromGPU: Int
    public var fromStream: Int
    public var start: Double
    public var toGPU: Int
    public var toStream: Int
    public var end: Double

    public init(name: String, fromGPU: Int, fromStream: Int, start: Double, toGPU: Int, toStream: Int, end: Double) {
        self.name = name
        self.fromGPU = fromGPU
        self.fromStream = fromStream
        self.start = start
        self.toGPU = toGPU
        self.toStream = toStream
        self.end = end
    }
}

/// What a trace file shows.
public struct TraceData: Sendable {
    public var spans: [TraceSpan]
    public var flows: [TraceFlow]
    /// Names of the processes (one per GPU id); "GPU n" when absent.
    public var processNames: [Int: String]

    public init(spans: [TraceSpan], flows: [TraceFlow] = [], processNames: [Int: String] = [:]) {
        self.spans = spans
        self.flows = flows
        self.processNames = processNames
    }
}

public enum ChromeTrace {
    static let streamNames = ["compute stream", "communication stream", "data-parallel stream"]
    static let streamCategories = ["compute", "communication", "data-parallel"]

    /// The JSON text for `spans`, at most `limit` of them (the trace's size stays bounded).
    public static func json(_ spans: [TraceSpan], scenario: String, limit: Int = 200_000) -> String {
        json(TraceData(spans: spans), scenario: scenario, limit: limit)
    }

    /// The JSON text for `trace`, at most `limit` spans and `limit` flows.
    public static func json(_ trace: TraceData, scenario: String, limit: Int = 200_000) -> String {
        var events: [String] = []
        let kept = trace.spans.prefix(limit)
        let flows = trace.flows.prefix(limit)
        let gpus = Set(kept.map(\.gpu) + flows.flatMap { [$0.fromGPU, $0.toGPU] })
        for gpu in gpus.sorted() {
            let name = trace.processNames[gpu] ?? "GPU \(gpu)"
            events.append(#"{"name":"process_name","ph":"M","pid":\#(gpu),"tid":0,"args":{"name":"\#(escape(name))"}}"#)
            let streams = Set(kept.filter { $0.gpu == gpu }.map(\.stream) + [0, 1]).sorted()
            for stream in streams where stream < streamNames.count {
                events.append(#"{"name":"thread_name","ph":"M","pid":\#(gpu),"tid":\#(stream),"args":{"name":"\#(streamNames[stream])"}}"#)
            }
        }
        for (id, f) in flows.enumerated() {
            events.append(#"{"name":"\#(escape(f.name))","cat":"transfer","ph":"s","id":\#(id),"ts":\#(number(f.start * 1e6)),"pid":\#(f.fromGPU),"tid":\#(f.fromStream)}"#)
            events.append(#"{"name":"\#(escape(f.name))","cat":"transfer","ph":"f","bp":"e","id":\#(id),"ts":\#(number(f.end * 1e6)),"pid":\#(f.toGPU),"tid":\#(f.toStream)}"#)
        }
        for s in kept {
            let ts = s.start * 1e6, dur = max(0, s.end - s.start) * 1e6
            let category = s.stream < streamCategories.count ? streamCategories[s.stream] : "other"
            events.append(#"{"name":"\#(escape(s.name))","cat":"\#(category)","ph":"X","ts":\#(number(ts)),"dur":\#(number(dur)),"pid":\#(s.gpu),"tid":\#(s.stream)}"#)
            if s.stream > 0 && dur > 0 && s.linkBytes > 0 {
                // Link utilisation while the collective runs, back to zero when it ends.
                let counter = s.stream == 1 ? "TP/CP/EP link GB/s" : "data-parallel link GB/s"
                let gbps = s.linkBytes / (s.end - s.start) / 1e9
                events.append(#"{"name":"\#(counter)","ph":"C","ts":\#(number(ts)),"pid":\#(s.gpu),"tid":\#(s.stream),"args":{"GB/s":\#(number(gbps))}}"#)
                events.append(#"{"name":"\#(counter)","ph":"C","ts":\#(number(ts + dur)),"pid":\#(s.gpu),"tid":\#(s.stream),"args":{"GB/s":0}}"#)
            }
            if s.stream == 0 && dur > 0 && s.hbmBytes > 0 {
                let gbps = s.hbmBytes / (s.end - s.start) / 1e9
                events.append(#"{"name":"HBM GB/s","ph":"C","ts":\#(number(ts)),"pid":\#(s.gpu),"tid":0,"args":{"GB/s":\#(number(gbps))}}"#)
            }
        }
        return "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"scenario\":\"\(escape(scenario))\"},\"traceEvents\":[\n" + events.joined(separator: ",\n") + "\n]}\n"
    }

    static func number(_ x: Double) -> String { String(format: "%.3f", x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
