// Chrome trace-event JSON (the format Perfetto and chrome://tracing load): complete events
// ("ph": "X") per kernel on a track per GPU stream (compute, communication), counter events
// ("ph": "C") for HBM bandwidth, and metadata naming processes and threads. Times in µs.
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

    public init(name: String, start: Double, end: Double, gpu: Int, stream: Int, hbmBytes: Double) {
        self.name = name
        self.start = start
        self.end = end
        self.gpu = gpu
        self.stream = stream
        self.hbmBytes = hbmBytes
    }
}

public enum ChromeTrace {
    /// The JSON text for `spans`, at most `limit` of them (the trace's size stays bounded).
    public static func json(_ spans: [TraceSpan], scenario: String, limit: Int = 200_000) -> String {
        var events: [String] = []
        let kept = spans.prefix(limit)
        for gpu in Set(kept.map(\.gpu)).sorted() {
            events.append(#"{"name":"process_name","ph":"M","pid":\#(gpu),"tid":0,"args":{"name":"GPU \#(gpu)"}}"#)
            events.append(#"{"name":"thread_name","ph":"M","pid":\#(gpu),"tid":0,"args":{"name":"compute stream"}}"#)
            events.append(#"{"name":"thread_name","ph":"M","pid":\#(gpu),"tid":1,"args":{"name":"communication stream"}}"#)
        }
        for s in kept {
            let ts = s.start * 1e6, dur = max(0, s.end - s.start) * 1e6
            events.append(#"{"name":"\#(escape(s.name))","cat":"\#(s.stream == 0 ? "compute" : "communication")","ph":"X","ts":\#(number(ts)),"dur":\#(number(dur)),"pid":\#(s.gpu),"tid":\#(s.stream)}"#)
            if s.stream == 0 && dur > 0 {
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
