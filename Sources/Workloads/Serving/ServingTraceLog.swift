// --trace of a serving run: each scheduler's iterations as slices (a process per instance, a
// thread per scheduler: one, or one per pipeline stage's virtual engine), with what each ran
// in `args`; batch size and KV-cache use as counters, sampled when an iteration starts; every
// request as an async span from arrival to its last token, in two phases (waiting and prefill
// up to its first token, then decode); in disaggregated runs each KV-cache transfer as an arrow
// from the prefill iteration that finished the prompt to the first decode iteration that runs
// the request. Recorded inside the event loop only when a trace is asked for.
import Foundation
import Report

extension ServingWorkload {
    struct TraceLog {
        /// Iterations recorded at most (the trace's size stays bounded); the run goes on.
        let limit: Int
        var iterations: [TraceSpan] = []
        var counters: [TraceCounter] = []
        var flows: [TraceFlow] = []
        /// Requests whose KV cache is on its way: where it left, when, and its bytes.
        var inFlight: [Int: (pid: Int, tid: Int, time: Double, bytes: Double)] = [:]
        /// When the limit was reached.
        var stopped: Double?

        init(limit: Int = 100_000) { self.limit = limit }

        var full: Bool { stopped != nil }

        /// An iteration of scheduler `tid` of process `pid` from `start` to `end`, and the
        /// process's counters as it starts.
        mutating func iteration(pid: Int, tid: Int, engines: Int, start: Double, end: Double, decodes: Int, prefills: Int, promptTokens: Int,
                                running: Int, waiting: Int, kvUsed: Double, kvCapacity: Double) {
            guard !full else { return }
            guard iterations.count < limit else {
                stopped = start
                return
            }
            let name = prefills == 0 ? "decode \(decodes)" : decodes == 0 ? "prefill \(prefills) (\(promptTokens) tokens)"
                : "decode \(decodes) + prefill \(prefills) (\(promptTokens) tokens)"
            var args: [TraceArg] = [.number("decode_sequences", Double(decodes)), .number("prefill_chunks", Double(prefills)),
                                    .number("prompt_tokens", Double(promptTokens)), .number("batch", Double(running))]
            if kvCapacity > 0 { args.append(.number("kv_cache_tokens", kvUsed)) }
            iterations.append(TraceSpan(name: name, start: start, end: end, gpu: pid, stream: tid, hbmBytes: 0, args: args, category: "iteration"))
            let engine = engines > 1 ? " (engine \(tid))" : ""
            counters.append(TraceCounter(name: "requests" + engine, pid: pid, time: start,
                                         values: [.number("running", Double(running)), .number("waiting", Double(waiting))]))
            if kvCapacity > 0 {
                counters.append(TraceCounter(name: "KV cache %" + engine, pid: pid, time: start, values: [.number("used", 100 * kvUsed / kvCapacity)]))
            }
        }

        /// Request `i`'s KV cache leaves the iteration of (pid, tid) that ends at `time`.
        mutating func sent(_ i: Int, pid: Int, tid: Int, time: Double, bytes: Double) {
            guard !full else { return }
            inFlight[i] = (pid, tid, time, bytes)
        }

        /// Request `i` runs in the iteration of (pid, tid) starting at `time`: the arrow of its
        /// transfer, if one is on its way.
        mutating func received(_ i: Int, pid: Int, tid: Int, time: Double) {
            guard let from = inFlight.removeValue(forKey: i), !full else { return }
            flows.append(TraceFlow(name: "KV cache", fromGPU: from.pid, fromStream: from.tid, start: from.time, toGPU: pid, toStream: tid, end: time,
                                   args: [.number("request", Double(i)), .number("bytes", from.bytes)]))
        }

        /// The trace: the iterations and counters, and the requests that arrived before the
        /// log stopped, each on the process that decoded it (`pid(request)`); a scheduler
        /// thread per engine of each process.
        func data(_ requests: [Request], end: Double, pid: (Request) -> Int, processNames: [Int: String], engines: Int) -> TraceData {
            let threadNames = Dictionary(uniqueKeysWithValues: processNames.keys.flatMap { p in
                (0..<engines).map { (TraceTrack(pid: p, tid: $0), engines > 1 ? "scheduler (engine \($0))" : "scheduler") }
            })
            var spans: [TraceAsyncSpan] = []
            for (i, r) in requests.enumerated() where r.arrival <= (stopped ?? .infinity) {
                let done = r.done ?? end
                var args: [TraceArg] = [.number("input_tokens", Double(r.input)), .number("output_tokens", Double(r.output)),
                                        .number("preemptions", Double(r.preemptions))]
                var phases: [TraceAsyncSpan.Phase] = []
                if let first = r.firstToken {
                    args.append(.number("ttft_s", first - r.arrival))
                    if let last = r.done, r.output > 1 { args.append(.number("tpot_s", (last - first) / Double(r.output - 1))) }
                    phases = [.init(name: "waiting and prefill", start: r.arrival, end: first), .init(name: "decode", start: first, end: done)]
                }
                spans.append(TraceAsyncSpan(name: "request \(i)", category: "request", id: i, pid: pid(r), start: r.arrival, end: done, args: args, phases: phases))
            }
            var notes: [TraceArg] = [.number("iterations", Double(iterations.count)), .number("requests", Double(spans.count))]
            if let stopped { notes.append(.text("stopped", "after \(limit) iterations, at \(String(format: "%.3f", stopped)) s")) }
            return TraceData(spans: iterations, flows: flows, asyncSpans: spans, counters: counters, processNames: processNames,
                             threadNames: threadNames, notes: notes)
        }
    }
}
