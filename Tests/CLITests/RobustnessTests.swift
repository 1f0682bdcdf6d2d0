import Foundation
import Testing
import TestSupport

/// Bad input of every class the fuzz test generates, each with its exact message; work too
/// large to run, refused at once with its estimate; failures that used to come only after the
/// simulation, found before it; results folders replaced whole, never mixed.
@Suite struct RobustnessTests {
    /// Exit 2, the exact first line on stderr, no result files, no trap.
    func refused(_ text: String, _ arguments: [String] = [], file: String = "t.yaml") throws -> String {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(text.utf8).write(to: dir.appendingPathComponent(file))
        let result = try TestSupport.runClusterSim(["run", file, "--ensemble", "0"] + arguments, in: dir)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("crashed"))
        #expect(TestSupport.files(in: dir) == [file])
        return String(result.stderr.split(separator: "\n").first ?? "")
    }

    func replacing(_ original: String, _ replacement: String) -> String {
        TestSupport.transfersScenario().replacingOccurrences(of: original, with: replacement)
    }

    @Test(arguments: [
        // duplicate key: both lines
        ("seed: 7", "seed: 7\nseed: 8", "t.yaml:3:1: seed: key \"seed\" appears twice, first at line 2"),
        // huge, beyond the dimension's ceiling
        ("latency: 1 us", "latency: 1e10 s", "t.yaml:8:49: workload.links[0].latency: must be ≤ 1000000000 s, got \"1e10 s\""),
        ("bytes: 1 GB", "bytes: 1e308 EB", "t.yaml:11:25: workload.transfers[0].bytes: too large: beyond 1.79769e+308 in base units, got \"1e308 EB\""),
        // coefficients of variation are at most 1
        ("network_cv: 0.05", "network_cv: 1e308", "t.yaml:4:22: noise.network_cv: must be ≤ 1, got \"1e308\""),
        // non-finite
        ("network_cv: 0.05", "network_cv: .inf", "t.yaml:4:22: noise.network_cv: expected a number such as \"1000\", got \".inf\""),
        ("bandwidth: 50 GB/s", "bandwidth: .nan", "t.yaml:9:32: workload.links[1].bandwidth: expected a bandwidth such as \"900 GB/s\", got \".nan\""),
        // bad unit, wrong type
        ("bytes: 1 GB", "bytes: 3 parsecs", "t.yaml:11:25: workload.transfers[0].bytes: unknown unit \"parsecs\"; write a size in bytes such as \"192 GiB\", got \"3 parsecs\""),
        ("bytes: 1 GB", "bytes: [1]", "t.yaml:11:25: workload.transfers[0].bytes: expected a size in bytes such as \"192 GiB\", got a list"),
        // an over-long name fails before the run, not when the folder is made
        ("name: tiny", "name: " + String(repeating: "n", count: 150),
         "t.yaml:1:7: name: \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...\" is 150 characters; at most 100 (it names the results folder)"),
        // nesting
        ("name: tiny", "name: tiny\nx: " + String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000),
         "t.yaml:2:5: malformed YAML: nested more than 1000 levels deep"),
    ])
    func badValuesAreRefusedWithTheirKey(original: String, replacement: String, message: String) throws {
        #expect(try refused(replacing(original, replacement)) == message)
    }

    @Test func invalidUTF8NamesTheByteAndLine() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = Array(TestSupport.transfersScenario().utf8)
        bytes.insert(0xFF, at: Array("name: tiny\nseed: 7\nreplications: 3".utf8).count)
        try Data(bytes).write(to: dir.appendingPathComponent("t.yaml"))
        let result = try TestSupport.runClusterSim(["run", "t.yaml"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr == "t.yaml:3:16: is not UTF-8 text: invalid byte 0xFF at byte offset 34\n")
        #expect(TestSupport.files(in: dir) == ["t.yaml"])
    }

    /// A few hundred bytes that would expand to 10^9 values: refused at the alias limit, in
    /// well under a second (the whole run, process start included).
    @Test func aliasBombIsRefusedAtOnce() throws {
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for k in 1...8 { bomb += "a\(k): &a\(k) [" + Array(repeating: "*a\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
        let start = Date()
        let message = try refused(bomb + TestSupport.transfersScenario())
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(message == "t.yaml:1:5: a3[7][9][2]: more than 1000 YAML alias uses (of anchor &a0); write the values out")
    }

    @Test func badSetPathIsRefused() throws {
        #expect(try refused(TestSupport.transfersScenario(), ["--set", "workload.links[7].bandwidth=1 GB/s"])
                == "t.yaml: --set workload.links[7].bandwidth=1 GB/s: workload.links[7].bandwidth: workload.links has 2 entries; index 7 is out of range")
    }

    /// Work that would run for days is refused before anything runs, with the estimate and the
    /// keys that set it.
    @Test func unboundedWorkIsRefusedWithAnEstimate() throws {
        let serving = "name: s\ncluster: { system: h100-sxm }\nworkload: { kind: serving, model: llama3-8b, input_tokens: 128, output_tokens: 16, "
        let limits = ["--max-memory", "8GB"]
        var start = Date()
        #expect(try refused(serving + "arrival_rate: 10, duration: 1e20 h }\n", limits)
                == "t.yaml: workload.arrival_rate: one replication would simulate 3.6e24 requests, about 1.1e25 events (--max-events 1e9) and about 7.2e26 B of memory (--max-memory 8 GB), over the limit; lower workload.arrival_rate or workload.duration, or raise the limit")
        #expect(Date().timeIntervalSince(start) < 5)
        start = Date()
        #expect(try refused(serving + "arrival_rate: 1e9, duration: 1 h }\n", limits)
                == "t.yaml: workload.arrival_rate: one replication would simulate 3.6e12 requests, about 1.1e13 events (--max-events 1e9) and about 720 TB of memory (--max-memory 8 GB), over the limit; lower workload.arrival_rate or workload.duration, or raise the limit")
        #expect(Date().timeIntervalSince(start) < 5)
        // Arrivals spread beyond what the clock resolves.
        #expect(try refused(serving + "arrival_rate: 1e-300, requests: 100 }\n", limits)
                == "t.yaml: workload.requests: the requests would arrive over about 1e302 s of simulated time, more than the 1e9 s (~32 years) the clock resolves to a microsecond; raise workload.arrival_rate or lower workload.duration or workload.requests")
        start = Date()
        let collective = "name: c\ncluster:\n  system: { preset: gb200-nvl72, gpus_per_nvlink_domain: 100000 }\n"
            + "workload: { kind: collective, operation: all_reduce, gpus: 100000, min_bytes: 1 GiB, fold: false }\n"
        #expect(try refused(collective, limits)
                == "t.yaml: workload.gpus: one replication would simulate 2e10 flow steps, about 2e10 events (--max-events 1e9), over the limit; lower workload.gpus or set workload.fold: true, or raise the limit")
        #expect(Date().timeIntervalSince(start) < 5)
        // The same collective folded is one flow per step: it runs.
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(collective.replacingOccurrences(of: "fold: false", with: "fold: true"), to: "c.yaml", in: dir)
        let folded = try TestSupport.runClusterSim(["run", "c.yaml", "--ensemble", "0", "--quiet"], in: dir)
        #expect(folded.status == 0, "\(folded.stderr)")
    }

    /// --out that is not a results folder, --trace on a kind without traces or into a missing
    /// folder, and an unknown --trace-variant fail before the simulation, writing nothing.
    @Test func outputProblemsFailBeforeSimulating() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(), to: "t.yaml", in: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mine"), withIntermediateDirectories: false)
        TestSupport.write("keep me", to: "mine/notes.txt", in: dir)
        func stderr(_ arguments: [String]) throws -> String {
            let result = try TestSupport.runClusterSim(["run", "t.yaml", "--ensemble", "0"] + arguments, in: dir)
            #expect(result.status == 2)
            return result.stderr
        }
        #expect(try stderr(["--out", "mine"]) == "--out: mine exists and is not a ClusterSim results folder (it has no manifest.json, or holds folders); choose another folder or remove it\n")
        #expect(try stderr(["--out", "t.yaml/x"]) == "--out: cannot write t.yaml/x: t.yaml is not a folder\n")
        #expect(try stderr(["--out", "o", "--trace", "t.json"]) == "--trace: workload kind transfers has no trace; traces are available for workload kinds gemm, memcpy, collective, training, decode and serving\n")
        TestSupport.write("name: g\ncluster: { system: h100-sxm }\nworkload: { kind: gemm, m: 1024, n: 1024, k: 1024 }\n", to: "t.yaml", in: dir)
        #expect(try stderr(["--out", "o", "--trace", "missing/t.json"]) == "--trace: cannot write missing/t.json: missing does not exist\n")
        #expect(try stderr(["--out", "o", "--trace", "t.json", "--trace-variant", "bas"]) == "--trace-variant: no variant is named \"bas\"; did you mean \"base\"?\n")
        #expect(TestSupport.files(in: dir) == ["mine", "mine/notes.txt", "t.yaml"])
    }

    /// A results folder is replaced whole: `run` after `compare` leaves no comparison.csv.
    @Test func resultsFolderIsReplacedWhole() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(replications: 4, extra: "variants:\n  - name: base\n  - name: fast\n    set:\n      workload.links[1].bandwidth: 100 GB/s\ncompare: { baseline: base }"), to: "t.yaml", in: dir)
        let compare = try TestSupport.runClusterSim(["compare", "t.yaml", "--out", "o", "--ensemble", "0", "--quiet"], in: dir)
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(TestSupport.files(in: dir).contains("o/comparison.csv"))
        let run = try TestSupport.runClusterSim(["run", "t.yaml", "--out", "o", "--ensemble", "0", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(TestSupport.files(in: dir) == ["o", "o/manifest.json", "o/replications.csv", "o/summary.csv", "t.yaml"])
    }

    /// SIGKILL at random moments of runs that replace the folder of another scenario: the
    /// folder is always one run's whole (its summary, replications and manifest agree), never
    /// a mix; a killed run's hidden leftovers are removed by the next one.
    @Test func killedRunsNeverLeaveAMixedFolder() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Large replications.csv files, so that kills land inside the write too.
        TestSupport.write(TestSupport.transfersScenario(name: "first", replications: 3_000), to: "a.yaml", in: dir)
        TestSupport.write(TestSupport.transfersScenario(name: "second", replications: 2_000), to: "b.yaml", in: dir)
        let first = try TestSupport.runClusterSim(["run", "a.yaml", "--out", "o", "--ensemble", "0", "--quiet"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let out = dir.appendingPathComponent("o")
        func consistent() throws -> Bool {
            let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
            let summary = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
            let replications = try String(contentsOf: out.appendingPathComponent("replications.csv"), encoding: .utf8)
            let name = manifest.contains("\"scenario\" : \"first\"") ? "first" : "second"
            let count = name == "first" ? 3_000 : 2_000
            let metrics = summary.split(separator: "\n").dropFirst()
            let rows = replications.split(separator: "\n").dropFirst()
            return metrics.allSatisfy { $0.hasPrefix(name + ",") } && metrics.allSatisfy { $0.contains(",\(count),") }
                && rows.allSatisfy { $0.hasPrefix(name + ",") } && rows.count == count * metrics.count
        }
        // The run's length, to spread the kills over it.
        let t0 = Date()
        _ = try TestSupport.runClusterSim(["run", "b.yaml", "--out", "timing", "--ensemble", "0", "--quiet"], in: dir)
        let length = Date().timeIntervalSince(t0)
        var g = SystemRandomNumberGenerator()
        var midWrite = 0
        for i in 0..<24 {
            let process = Process()
            process.executableURL = TestSupport.clustersimBinary
            process.arguments = ["run", i % 2 == 0 ? "b.yaml" : "a.yaml", "--out", "o", "--ensemble", "0", "--quiet"]
            process.currentDirectoryURL = dir
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if i % 2 == 0 {
                // At a random moment of the run.
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.05, using: &g) * length)
            } else {
                // Once the hidden folder is being written, after a random few milliseconds.
                let deadline = Date().addingTimeInterval(3 * length + 5)
                while Date() < deadline && process.isRunning
                        && !((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains(".o.tmp-\(process.processIdentifier)") {
                    usleep(200)
                }
                usleep(UInt32.random(in: 0...2_000, using: &g))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let hidden = (try FileManager.default.contentsOfDirectory(atPath: dir.path)).filter { $0.hasPrefix(".o.") }
            // This run's own leftovers: it was killed while writing.
            if hidden.contains(where: { $0.hasSuffix("-\(process.processIdentifier)") }) { midWrite += 1 }
            #expect(FileManager.default.fileExists(atPath: out.path) || !hidden.isEmpty, "no folder and nothing moved aside")
            if FileManager.default.fileExists(atPath: out.path) { #expect(try consistent(), "kill \(i)") }
        }
        print("killed 24 runs at random points, \(midWrite) of them while writing the folder")
        #expect(midWrite > 0, "no kill landed inside the write")
        let last = try TestSupport.runClusterSim(["run", "a.yaml", "--out", "o", "--ensemble", "0", "--quiet"], in: dir)
        #expect(last.status == 0)
        #expect(try consistent())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".o.") }.isEmpty)
    }
}
