import Foundation
import Testing
import TestSupport

/// Serving's per-request and time-series tables (requests.csv, timeline.csv), the offered and
/// achieved rates, and the overload warning, through the executable.
@Suite struct ServingOutputsTests {
    static func scenario(rate: Double = 20, extra: String = "") -> String {
        """
        name: serve
        seed: 3
        replications: 2
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        noise: { kernel_cv: 0.02 }
        workload:
          kind: serving
          model: llama3-8b
          input_tokens: 256
          output_tokens: 32
          arrival_rate: \(rate)
          duration: 20 s
        \(extra)
        """
    }

    /// A CSV file as rows of named fields (no quoted commas in these files).
    static func table(_ url: URL) throws -> [[String: String]] {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    static func metric(_ rows: [[String: String]], _ name: String, replication: String? = nil) -> Double? {
        rows.first { $0["metric"] == name && (replication == nil || $0["replication"] == replication) }.flatMap { Double($0[replication == nil ? "mean" : "value"]!) }
    }

    /// The mean of requests.csv's TTFT column is summary.csv's ttft_s (per replication, and so
    /// over them); the timeline's tokens add up to every request's output and prompt tokens.
    @Test func requestsAndTimelineAgreeWithTheSummary() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario(), to: "serve.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--requests", "--timeline", "--quiet", "--ensemble", "0"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let out = dir.appendingPathComponent("results/serve")
        let requests = try Self.table(out.appendingPathComponent("requests.csv"))
        let timeline = try Self.table(out.appendingPathComponent("timeline.csv"))
        let replications = try Self.table(out.appendingPathComponent("replications.csv"))
        let summary = try Self.table(out.appendingPathComponent("summary.csv"))
        #expect(requests.first.map { Array($0.keys).sorted() } == ["arrival_s", "done_s", "e2e_s", "first_token_s", "input_tokens", "instance", "output_tokens",
                                                                   "preemptions", "prefill_instance", "replication", "request", "scenario", "tpot_s", "ttft_s", "variant"])
        var means: [Double] = []
        for replication in ["1", "2"] {
            let mine = requests.filter { $0["replication"] == replication }
            let ttft = mine.compactMap { Double($0["ttft_s"]!) }
            #expect(ttft.count == mine.count && !ttft.isEmpty)
            let mean = ttft.reduce(0, +) / Double(ttft.count)
            means.append(mean)
            let reported = try #require(Self.metric(replications, "ttft_s", replication: replication))
            #expect(abs(mean - reported) <= 1e-12 * reported, "replication \(replication): \(mean) vs \(reported)")
            #expect(Double(mine.count) == Self.metric(replications, "requests_completed", replication: replication))
            // Every token in some interval of the timeline.
            let rows = timeline.filter { $0["replication"] == replication }
            let tokens = rows.reduce(0.0) { $0 + Double($1["tokens_per_s"]!)! * 1 }
            let prompt = rows.reduce(0.0) { $0 + Double($1["prompt_tokens_per_s"]!)! * 1 }
            #expect(tokens == Double(mine.count * 32))
            #expect(prompt == Double(mine.count * 256))
            let times = rows.map { Double($0["time_s"]!)! }
            #expect(times == (0..<times.count).map(Double.init), "a row per second from 0")
            #expect(rows.allSatisfy { $0["pool"] == "colocated" && $0["instance"] == "0" })
            #expect(rows.last.map { $0["running"] == "0" && $0["waiting"] == "0" } == true, "the last row is after the drain")
        }
        let summaryMean = try #require(Self.metric(summary, "ttft_s"))
        #expect(abs((means[0] + means[1]) / 2 - summaryMean) <= 1e-12 * summaryMean)
        // Offered and achieved rates: arrivals over the 20 s window, completions over the run.
        let offered = try #require(Self.metric(replications, "arrival_rate_per_s", replication: "1"))
        #expect(offered == Double(requests.filter { $0["replication"] == "1" }.count) / 20)
        let served = try #require(Self.metric(replications, "throughput_requests_per_s", replication: "1"))
        #expect(served < offered, "the drain after the last arrival lengthens the run")
        #expect(!result.stderr.contains("overloaded"))
    }

    /// The same seed gives byte-identical tables on 1 thread and on 2.
    @Test func tablesDoNotDependOnThreads() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario(extra: "  outputs: { requests: true, timeline: true, timeline_interval: 250 ms }"), to: "serve.yaml", in: dir)
        for threads in ["1", "2"] {
            let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0", "--threads", threads, "--out", "t\(threads)"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
        }
        for file in ["requests.csv", "timeline.csv"] {
            let one = try Data(contentsOf: dir.appendingPathComponent("t1/\(file)"))
            #expect(one == (try Data(contentsOf: dir.appendingPathComponent("t2/\(file)"))), "\(file)")
        }
        let timeline = try Self.table(dir.appendingPathComponent("t1/timeline.csv"))
        #expect(timeline[1]["time_s"] == "0.25")
    }

    /// Disaggregated pools: prefill rows then decode rows at each time; the prefill instances
    /// make the first tokens, the decode instances the rest.
    @Test func disaggregatedTimelineHasBothPools() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let extra = "  disaggregated: { prefill_instances: 1, decode_instances: 2 }\n  outputs: { requests: true, timeline: true }"
        TestSupport.write(Self.scenario(extra: extra).replacingOccurrences(of: "replications: 2", with: "replications: 1"), to: "serve.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let timeline = try Self.table(dir.appendingPathComponent("results/serve/timeline.csv"))
        let requests = try Self.table(dir.appendingPathComponent("results/serve/requests.csv"))
        #expect(Array(timeline.prefix(3).map { "\($0["pool"]!) \($0["instance"]!)" }) == ["prefill 0", "decode 0", "decode 1"])
        func tokens(_ pool: String) -> Double { timeline.filter { $0["pool"] == pool }.reduce(0.0) { $0 + Double($1["tokens_per_s"]!)! } }
        #expect(tokens("prefill") == Double(requests.count))
        #expect(tokens("decode") == Double(requests.count * 31))
        #expect(timeline.filter { $0["pool"] == "prefill" }.allSatisfy { $0["kv_cache_utilisation"] == "" })
        #expect(requests.allSatisfy { $0["prefill_instance"] == "0" && ["0", "1"].contains($0["instance"]!) })
        #expect(Set(requests.map { $0["instance"]! }) == ["0", "1"])
    }

    /// A run not much longer than a request (outputs of 2,048 tokens take about as long as
    /// the 20 s of arrivals) is not overloaded though the running requests ramp up all along:
    /// nothing waits to be scheduled, so no warning, and the growth is about 0.
    @Test func longRequestsInAShortRunAreNotAnOverload() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario(rate: 2).replacingOccurrences(of: "output_tokens: 32", with: "output_tokens: 2048"), to: "serve.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0", "--replications", "1"], in: dir)
        #expect(result.status == 0)
        #expect(!result.stderr.contains("overloaded"), "\(result.stderr)")
        let summary = try Self.table(dir.appendingPathComponent("results/serve/summary.csv"))
        let e2e = try #require(Self.metric(summary, "e2e_s")), offered = try #require(Self.metric(summary, "arrival_rate_per_s"))
        #expect(e2e > 5, "requests last more than a quarter of the window: \(e2e) s")
        let growth = try #require(Self.metric(summary, "queue_growth_per_s"))
        #expect(abs(growth) < 0.05 * offered, "\(growth)")
    }

    /// An open-loop run whose queue keeps growing is named overloaded, with the offered and
    /// served rates; a flag for serving tables on another kind says what it is for.
    @Test func overloadWarningAndFlagsOnOtherKinds() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario(rate: 400), to: "serve.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--quiet", "--ensemble", "0", "--replications", "1"], in: dir)
        #expect(result.status == 0)
        let summary = try Self.table(dir.appendingPathComponent("results/serve/summary.csv"))
        let offered = try #require(Self.metric(summary, "arrival_rate_per_s")), served = try #require(Self.metric(summary, "throughput_requests_per_s"))
        let growth = try #require(Self.metric(summary, "queue_growth_per_s"))
        #expect(served < offered / 2)
        // A queue growing linearly: its slope is the offered less the served rate while arrivals last.
        #expect(growth > 0.5 * (offered - served))
        let warning = result.stderr.split(separator: "\n").first { $0.hasPrefix("warning: overloaded:") }
        #expect(warning?.hasSuffix("; its latencies depend on the run's length, not a steady state: lower workload.arrival_rate or add instances") == true, "\(result.stderr)")
        #expect(warning?.contains("(offered \(String(Int(offered.rounded()))) requests/s, served ") == true, "\(result.stderr)")

        TestSupport.write(TestSupport.transfersScenario(), to: "tiny.yaml", in: dir)
        let other = try TestSupport.runClusterSim(["run", "tiny.yaml", "--requests"], in: dir)
        #expect(other.status == 2)
        #expect(other.stderr == "--requests: requests.csv and timeline.csv are written by serving workloads; tiny.yaml runs workload kind transfers\n")
        let interval = try TestSupport.runClusterSim(["run", "serve.yaml", "--set", "workload.outputs.timeline_interval=2 s"], in: dir)
        #expect(interval.status == 2)
        #expect(interval.stderr.contains("workload.outputs.timeline_interval: set outputs.timeline: true to write timeline.csv, or remove the interval"))
    }
}
