import Foundation
import Testing
import TestSupport

/// A trace file as the viewer reads it: its events, and the checks every trace must pass.
struct TraceFile {
    let events: [[String: Any]]
    let other: [String: Any]

    init(_ url: URL) throws {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        events = object["traceEvents"] as! [[String: Any]]
        other = object["otherData"] as? [String: Any] ?? [:]
    }

    func of(_ phase: String) -> [[String: Any]] { events.filter { $0["ph"] as? String == phase } }

    /// Whole nanoseconds of a time in µs as written (three decimals).
    static func ns(_ value: Any?) -> Int64 { Int64(((value as? Double) ?? Double(value as? Int ?? -1)) * 1000 + ((value as? Double ?? 0) < 0 ? -0.5 : 0.5)) }

    /// Trace-event JSON Perfetto loads: every event has a phase, a process and a thread, every
    /// one but metadata a time, complete events a duration ≥ 0; flow starts and finishes pair
    /// up by id; and every flow event binds to a slice: it lies inside (start ≤ ts < end) a
    /// complete event on its own process and thread. Returns what is wrong (empty: nothing).
    func problems() -> [String] {
        var problems: [String] = []
        var slices: [String: [(Int64, Int64)]] = [:]
        for e in events {
            guard let ph = e["ph"] as? String, e["pid"] is Int, e["tid"] is Int, e["name"] is String else {
                problems.append("an event without ph, pid, tid or name: \(e)")
                continue
            }
            if ph != "M" && !(e["ts"] is Double || e["ts"] is Int) { problems.append("no ts: \(e)") }
            if ph == "X" {
                let dur = Self.ns(e["dur"])
                if dur < 0 { problems.append("negative duration: \(e)") }
                slices["\(e["pid"]!) \(e["tid"]!)", default: []].append((Self.ns(e["ts"]), Self.ns(e["ts"]) + dur))
            }
        }
        let starts = of("s"), finishes = of("f")
        if Set(starts.map { $0["id"] as! Int }) != Set(finishes.map { $0["id"] as! Int }) || starts.count != finishes.count {
            problems.append("flow starts and finishes do not pair up")
        }
        for flow in starts + finishes {
            let t = Self.ns(flow["ts"])
            if !(slices["\(flow["pid"]!) \(flow["tid"]!)"] ?? []).contains(where: { $0.0 <= t && t < $0.1 }) {
                problems.append("flow \(flow["ph"]!) \(flow["id"]!) \"\(flow["name"]!)\" at \(flow["ts"]!) µs on \(flow["pid"]!)/\(flow["tid"]!) binds to no slice")
            }
        }
        return problems
    }
}

@Suite struct ServingTraceTests {
    static func scenario(_ extra: String = "") -> String { ServingOutputsTests.scenario(extra: extra) }

    /// A colocated run's trace is replication 1's run: it holds every iteration (their decode
    /// sequences add up to every request's tokens after its first, their prompt tokens to
    /// every prompt), a request span per request whose TTFTs average to replications.csv's
    /// ttft_s, and batch and KV-cache counters.
    @Test func colocatedTraceIsReplicationOne() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario(), to: "serve.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0", "--trace", "t.json"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let trace = try TraceFile(dir.appendingPathComponent("t.json"))
        #expect(trace.problems() == [])
        let iterations = trace.of("X")
        #expect(iterations.allSatisfy { $0["cat"] as? String == "iteration" && $0["pid"] as? Int == 0 && $0["tid"] as? Int == 0 })
        func sum(_ key: String) -> Int { iterations.reduce(0) { $0 + (($1["args"] as! [String: Any])[key] as! Int) } }
        let replications = try ServingOutputsTests.table(dir.appendingPathComponent("results/serve/replications.csv"))
        let completed = try #require(ServingOutputsTests.metric(replications, "requests_completed", replication: "1"))
        let requests = trace.of("b").filter { ($0["name"] as! String).hasPrefix("request ") }
        #expect(Double(requests.count) == completed)
        #expect(sum("decode_sequences") == requests.count * 31)
        #expect(sum("prompt_tokens") == requests.count * 256)
        let ttft = requests.map { ($0["args"] as! [String: Any])["ttft_s"] as! Double }
        let reported = try #require(ServingOutputsTests.metric(replications, "ttft_s", replication: "1"))
        // The args carry six significant digits.
        #expect(abs(ttft.reduce(0, +) / Double(ttft.count) - reported) <= 1e-5 * reported)
        #expect(trace.of("b").count == trace.of("e").count && trace.of("b").count == 3 * requests.count, "each request with its two phases")
        let counters = Set(trace.of("C").map { $0["name"] as! String })
        #expect(counters == ["requests", "KV cache %"])
    }

    /// A disaggregated trace: prefill and decode instances as processes, and an arrow per KV
    /// transfer from the prefill iteration that finished the prompt to the decode iteration
    /// that first runs the request, every one bound.
    @Test func disaggregatedTraceBindsTransfers() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario("  disaggregated: { prefill_instances: 1, decode_instances: 2 }"), to: "serve.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0", "--trace", "t.json"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let trace = try TraceFile(dir.appendingPathComponent("t.json"))
        #expect(trace.problems() == [])
        let names = Dictionary(trace.of("M").filter { $0["name"] as? String == "process_name" }.map { ($0["pid"] as! Int, ($0["args"] as! [String: Any])["name"] as! String) }) { a, _ in a }
        #expect(names == [0: "prefill instance 0", 1: "decode instance 0", 2: "decode instance 1"])
        let requests = trace.of("b").filter { ($0["name"] as! String).hasPrefix("request ") }
        let starts = trace.of("s")
        #expect(starts.count == requests.count && starts.allSatisfy { $0["name"] as? String == "KV cache" && $0["pid"] as? Int == 0 })
        #expect(Set(trace.of("f").map { $0["pid"] as! Int }) == [1, 2])
    }
}

@Suite struct CollectiveTraceTests {
    /// A collective trace: every flow of every ring step on the GPUs' ports (8 ranks, 2 × 7
    /// steps), each bound; a size lasts what collective.csv says of replication 1.
    @Test func ringTraceHasEveryFlowOnItsPorts() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("""
            name: ar
            replications: 2
            noise: { network_cv: 0.05 }
            cluster: { system: h100-sxm }
            workload: { kind: collective, operation: all_reduce, algorithm: ring, gpus: 8, min_bytes: 1 MiB, max_bytes: 64 MiB, factor: 8 }
            """, to: "ar.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "ar.yaml", "--quiet", "--ensemble", "0", "--trace", "t.json"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let trace = try TraceFile(dir.appendingPathComponent("t.json"))
        #expect(trace.problems() == [])
        let slices = trace.of("X")
        let collectives = slices.filter { $0["cat"] as? String == "collective" }
        #expect(collectives.count == 2 * 8, "the two largest sizes on each of 8 GPUs")
        let flows = slices.filter { $0["cat"] as? String == "nvlink" }
        #expect(flows.count == 2 * 2 * 14 * 8, "per size, 14 steps of 8 flows, each on a sender's and a receiver's port")
        #expect(trace.of("s").count == 2 * 14 * 8)
        // One flow at a time on each port (one lane), and every flow inside its size's slice.
        #expect(trace.of("s").allSatisfy { ($0["tid"] as! Int) == 1 })
        let sizes = collectives.filter { $0["pid"] as? Int == 0 }.map { (TraceFile.ns($0["ts"]), TraceFile.ns($0["ts"]) + TraceFile.ns($0["dur"])) }
        #expect(sizes.count == 2)
        for f in flows {
            let start = TraceFile.ns(f["ts"]), end = start + TraceFile.ns(f["dur"])
            #expect(sizes.contains { $0.0 <= start && end <= $0.1 + 1 }, "\(f)")
        }
        let table = try ServingOutputsTests.table(dir.appendingPathComponent("results/ar/collective.csv")).filter { $0["replication"] == "1" }
        for bytes in ["8388608", "67108864"] {
            let row = try #require(table.first { $0["size_bytes"] == bytes })
            let slice = try #require(collectives.first { ($0["args"] as! [String: Any])["size_bytes"] as? Int == Int(bytes) })
            let csv = Double(row["time_s"]!)! * 1e9
            #expect(abs(Double(TraceFile.ns(slice["dur"])) - csv) <= 1.5, "\(bytes) B: \(slice["dur"]!) µs vs \(row["time_s"]!) s")
        }
    }

    /// Across NVLink domains the phases are priced as a whole: no trace, said before running.
    @Test func hierarchicalCollectiveHasNoTrace() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("name: ar\ncluster: { system: h100-sxm }\nworkload: { kind: collective, operation: all_reduce, gpus: 16, min_bytes: 1 MiB }\n", to: "ar.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "ar.yaml", "--quiet", "--trace", "t.json", "--out", "o"], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr == "--trace: a collective across NVLink domains (16 GPUs in domains of 8) has no trace: its domain and rail phases are priced as a whole, pipelined chunk by chunk; trace one domain (gpus: 8 or fewer)\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o").path))
    }
}
