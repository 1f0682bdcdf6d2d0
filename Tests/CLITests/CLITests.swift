import Foundation
import Testing
import TestSupport

/// The executable end to end: exit status, messages on stderr, files written or not.
@Suite struct CLITests {
    /// Bad input exits 2, names the file and key path, and leaves no results folder.
    @Test(arguments: [
        ("replications: 3", "replicatons: 3", "tiny.yaml:3:14: replicatons: unknown key \"replicatons\"; did you mean \"replications\"?"),
        ("replications: 3", "replications: lots", "tiny.yaml:3:15: replications: expected an integer, got \"lots\""),
        ("bandwidth: 50 GB/s", "bandwidth: -50 GB/s", "tiny.yaml:9:32: workload.links[1].bandwidth: must be > 0, got \"-50 GB/s\""),
        ("path: [down]", "path: [down", "tiny.yaml:12:56: malformed YAML: while parsing a flow sequence"),
    ])
    func badInputExitsTwoAndWritesNothing(original: String, replacement: String, message: String) throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = TestSupport.transfersScenario().replacingOccurrences(of: original, with: replacement)
        TestSupport.write(text, to: "tiny.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "tiny.yaml"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix(message), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"))
        #expect(TestSupport.files(in: dir) == ["tiny.yaml"])
    }

    @Test func missingFileAndBadOptionExitTwo() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try TestSupport.runClusterSim(["run", "nope.yaml"], in: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr == "nope.yaml: no such file\n")
        TestSupport.write(TestSupport.transfersScenario(), to: "tiny.yaml", in: dir)
        let badOption = try TestSupport.runClusterSim(["run", "tiny.yaml", "--threads", "0"], in: dir)
        #expect(badOption.status == 2)
        #expect(badOption.stderr.contains("--threads must be at least 1"))
        let unknown = try TestSupport.runClusterSim(["run", "tiny.yaml", "--thread", "2"], in: dir)
        #expect(unknown.status == 2)
        let badSet = try TestSupport.runClusterSim(["run", "tiny.yaml", "--set", "workload.links[0].bandwidth=fast"], in: dir)
        #expect(badSet.status == 2)
        #expect(badSet.stderr == "tiny.yaml: --set workload.links[0].bandwidth=fast: workload.links[0].bandwidth: expected a bandwidth such as \"900 GB/s\", got \"fast\"\n")
        #expect(TestSupport.files(in: dir) == ["tiny.yaml"])
    }

    @Test func helpAndVersionExitZero() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for arguments in [["--help"], ["run", "--help"], ["--version"]] {
            let result = try TestSupport.runClusterSim(arguments, in: dir)
            #expect(result.status == 0, "\(arguments)")
            #expect(!result.stdout.isEmpty)
        }
    }

    /// `run` writes the three files under results/<name>/ and prints a table; the same scenario
    /// and seed give byte-identical CSVs, run twice, on 1 thread and on 2.
    /// A system without measurements in the fit, or one the scenario defines, is named on
    /// stderr; a calibrated preset is named with the calibration.csv rows that calibrate it.
    @Test func uncalibratedSystemsAreNamed() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func stderr(_ system: String) throws -> String {
            TestSupport.write("name: g\ncluster: { system: \(system) }\nworkload: { kind: gemm, m: 1024, n: 1024, k: 1024 }\n", to: "g.yaml", in: dir)
            let result = try TestSupport.runClusterSim(["run", "g.yaml", "--out", "out"], in: dir)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stderr
        }
        #expect(try stderr("gb300-nvl72").contains("note: gb300-nvl72 has no measurement in the fit"))
        #expect(try stderr("{ preset: h100-sxm, gpu: { hbm_bandwidth: 4 TB/s } }").contains("note: h100-sxm is not a preset"))
        let h100 = try stderr("h100-sxm")
        #expect(h100.contains("note: h100-sxm is calibrated by 10 rows of calibration.csv (GEMM01, GEMM02, GEMM10, HBM01, NCCL03, L301, MEG04, DEC01, DEC16, NCCL15)"), "\(h100)")
        #expect(!h100.contains("no measurement") && !h100.contains("not a preset"))
        #expect(try stderr("gb200-nvl72").contains("note: gb200-nvl72 is calibrated by 3 rows"))
    }

    @Test func runWritesResultsDeterministically() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(replications: 6), to: "tiny.yaml", in: dir)
        let first = try TestSupport.runClusterSim(["run", "tiny.yaml", "--threads", "1"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("makespan_s"))
        #expect(TestSupport.files(in: dir) == ["results", "results/tiny", "results/tiny/manifest.json", "results/tiny/replications.csv", "results/tiny/summary.csv", "tiny.yaml"])
        func read(_ path: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(path)) }
        let summary = try read("results/tiny/summary.csv"), replications = try read("results/tiny/replications.csv")
        for threads in ["1", "2"] {
            let again = try TestSupport.runClusterSim(["run", "tiny.yaml", "--threads", threads, "--out", "again-\(threads)"], in: dir)
            #expect(again.status == 0)
            #expect(try read("again-\(threads)/summary.csv") == summary)
            #expect(try read("again-\(threads)/replications.csv") == replications)
        }
        let manifest = try JSONSerialization.jsonObject(with: try read("results/tiny/manifest.json")) as! [String: Any]
        #expect(manifest["seed"] as? Int == 7)
        #expect((manifest["scenario_sha256"] as? String)?.count == 64)
        #expect((manifest["command_line"] as? [String])?.last == "1")
    }

    /// The shipped scenarios are valid (each one runs with one replication; no ensemble runs,
    /// which would multiply the time by nine without checking more of the scenario).
    @Test func shippedScenariosRun() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenarios = TestSupport.packageRoot.appendingPathComponent("scenarios")
        let names = try FileManager.default.contentsOfDirectory(atPath: scenarios.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(!names.isEmpty)
        for name in names {
            let result = try TestSupport.runClusterSim(["run", scenarios.appendingPathComponent(name).path, "--replications", "1", "--ensemble", "0", "--out", dir.appendingPathComponent(name).path, "--quiet"], in: dir)
            #expect(result.status == 0, "\(name): \(result.stderr)")
        }
    }
}

/// Kernel workloads end to end: hardware show pasted into a scenario, and memory limits.
@Suite struct KernelWorkloadCLITests {
    /// The output of `hardware show gb300-nvl72`, pasted under `cluster:` with HBM bandwidth
    /// halved, runs and halves the bandwidth of a large (HBM-bound) copy.
    @Test func editedHardwareShowChangesTheResult() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let show = try TestSupport.runClusterSim(["hardware", "show", "gb300-nvl72"], in: dir)
        #expect(show.status == 0)
        #expect(show.stdout.contains("hbm_bandwidth: 7.67 TB/s"))
        func scenario(_ yaml: String) -> String {
            "name: copy\ncluster:\n" + yaml.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\nworkload: { kind: memcpy, bytes: 4 GB }\n"
        }
        TestSupport.write(scenario(show.stdout), to: "full.yaml", in: dir)
        TestSupport.write(scenario(show.stdout.replacingOccurrences(of: "hbm_bandwidth: 7.67 TB/s", with: "hbm_bandwidth: 3.835 TB/s")), to: "half.yaml", in: dir)
        func bandwidth(_ file: String) throws -> Double {
            let run = try TestSupport.runClusterSim(["run", file, "--out", file + ".out", "--quiet"], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            let csv = try String(contentsOf: dir.appendingPathComponent(file + ".out/summary.csv"), encoding: .utf8)
            let row = csv.split(separator: "\n").first { $0.contains("bandwidth_GBps") }!
            return Double(row.split(separator: ",")[5])!
        }
        let full = try bandwidth("full.yaml"), half = try bandwidth("half.yaml")
        #expect(abs(half / full - 0.5) < 0.01, "full \(full) GB/s, half \(half) GB/s")
    }

    /// Buffers larger than HBM: exit 2, the ledger's message, nothing written.
    @Test func weightsThatDoNotFitExitTwo() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("name: big\ncluster: { system: gb200-nvl72 }\nworkload: { kind: gemm, m: 16, n: 400000, k: 400000, precision: bf16 }\n", to: "big.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "big.yaml"], in: dir)
        #expect(run.status == 2)
        #expect(run.stderr == "big.yaml: needs 298.0 GiB on gb200-nvl72 GPU 0, has 185.0 GiB: weights 298.0, activations 0.0, workspace 0.0 (GiB)\n")
        #expect(TestSupport.files(in: dir) == ["big.yaml"])
    }
}

@Suite struct CollectiveWorkloadCLITests {
    /// nccl-tests' definitions hold in the output: busbw = algbw × 2(n−1)/n for all-reduce,
    /// algbw = bytes / time; more GPUs than one NVLink domain is refused (exit 2).
    @Test func sweepFollowsNcclTestsDefinitions() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("name: ar\ncluster: { system: h100-sxm }\nworkload: { kind: collective, operation: all_reduce, gpus: 8, min_bytes: 1 MiB, max_bytes: 16 MiB, factor: 4 }\n", to: "ar.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "ar.yaml", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try String(contentsOf: dir.appendingPathComponent("results/ar/replications.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        var values: [String: Double] = [:]
        for row in rows { let f = row.split(separator: ","); values[String(f[4])] = Double(f[6])! }
        #expect(values.count == 9)  // 1, 4 and 16 MiB × three metrics
        for bytes in [1_048_576, 4_194_304, 16_777_216] {
            let t = values["all_reduce.\(bytes)B.time_s"]!, alg = values["all_reduce.\(bytes)B.algbw_GBps"]!, bus = values["all_reduce.\(bytes)B.busbw_GBps"]!
            #expect(abs(alg - Double(bytes) / t / 1e9) < 1e-9 * alg)
            #expect(abs(bus - alg * 1.75) < 1e-9 * bus)
        }
        TestSupport.write("name: big\ncluster: { system: h100-sxm }\nworkload: { kind: collective, operation: all_reduce, algorithm: nvls, gpus: 16, min_bytes: 1 MiB }\n", to: "big.yaml", in: dir)
        let big = try TestSupport.runClusterSim(["run", "big.yaml"], in: dir)
        #expect(big.status == 2)
        #expect(big.stderr == "big.yaml:3:65: workload.algorithm: 16 GPUs span more than one NVLink domain of h100-sxm (8 per domain), where the algorithm is hierarchical; remove algorithm \"nvls\"\n")
    }
}

@Suite struct CollectivePlacementCLITests {
    /// Placement: 16 H100s packed in two nodes (8 per NVLink domain) against spread one per
    /// node (all traffic over 400 Gb/s NICs): a large all-gather is several times slower spread.
    @Test func spreadIsSlowerThanPacked() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = "name: ag\ncluster: { system: h100-sxm }\nworkload: { kind: collective, operation: all_gather, gpus: 16, min_bytes: 1 GiB }\n"
        TestSupport.write(base + "variants:\n  - name: packed\n  - name: spread\n    set:\n      workload.gpus_per_domain: 1\n", to: "ag.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "ag.yaml", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try String(contentsOf: dir.appendingPathComponent("results/ag/summary.csv"), encoding: .utf8).split(separator: "\n")
        func time(_ variant: String) -> Double {
            Double(rows.first { $0.contains(",\(variant),") && $0.contains("time_s") }!.split(separator: ",")[5])!
        }
        #expect(time("spread") > 3 * time("packed"), "packed \(time("packed")) s, spread \(time("spread")) s")
    }
}

@Suite struct CompareCLITests {
    /// A GEMM on H100 against B200, one replication and no noise: no interval of the mean and
    /// no p-value, but a prediction interval from the model's error and the calibration
    /// ensemble (dominated by the model term), a verdict on it, and a warning that says so.
    @Test func oneNoiselessReplicationGetsAPredictionIntervalOnly() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("""
            name: g
            cluster: { system: h100-sxm }
            workload: { kind: gemm, m: 8192, n: 8192, k: 8192, precision: bf16, iterations: 2 }
            variants:
              - name: h100
              - name: b200
                set: { cluster.system: b200 }
            compare: { baseline: h100, claim: 1.5, metric: tflops }
            """, to: "g.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["compare", "g.yaml"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try String(contentsOf: dir.appendingPathComponent("results/g/comparison.csv"), encoding: .utf8).split(separator: "\n")
        let tflops = csv.first { $0.contains(",tflops,") }!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(tflops[5].isEmpty && tflops[7].isEmpty && tflops[12].isEmpty, "\(tflops)")
        let speedup = Double(tflops[4])!, low = Double(tflops[10])!, high = Double(tflops[11])!
        #expect(low < speedup && speedup < high && high / low > 1.2 && tflops[13] == "model" && !tflops[9].isEmpty)
        #expect(run.stderr.contains("its 90% prediction interval holds the model's error"))
        let summary = try String(contentsOf: dir.appendingPathComponent("results/g/summary.csv"), encoding: .utf8)
        let time = summary.split(separator: "\n").first { $0.contains(",h100,time_s,") }!.split(separator: ",", omittingEmptySubsequences: false)
        #expect(time.count == 15 && Double(time[13])! < Double(time[5])! && Double(time[5])! < Double(time[14])!, "\(time)")
    }

    /// comparison.csv has DESIGN.md's columns and the verdict shows in the printed table.
    @Test func compareWritesComparisonAndVerdict() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(replications: 5, extra: """
            variants:
              - name: base
              - name: fast
                set:
                  workload.links[1].bandwidth: 100 GB/s
            compare: { baseline: base, claim: 1.5, metric: makespan_s }
            """), to: "c.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["compare", "c.yaml"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let csv = try String(contentsOf: dir.appendingPathComponent("results/tiny/comparison.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv[0] == "scenario,baseline,variant,metric,speedup,ci95_low,ci95_high,p_value,claim,verdict,pi90_low,pi90_high,noise_verdict,dominant_source,break_even,break_even_factor,break_even_calibrated,break_even_value")
        let makespan = csv.first { $0.contains(",makespan_s,") }!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        // Transfers run on the scenario's own links: no model error, so the prediction interval
        // is the noise's, wider than the mean's interval, and both verdicts agree.
        #expect(makespan[8] == "1.5" && makespan[9] == "supported" && makespan[12] == "supported" && makespan[13] == "noise", "\(makespan)")
        let (ci, pi) = ((Double(makespan[5])!, Double(makespan[6])!), (Double(makespan[10])!, Double(makespan[11])!))
        #expect(pi.0 < ci.0 && ci.1 < pi.1)
        #expect(abs(Double(makespan[14])! - Double(makespan[4])! / (1.5 * 0.95)) < 1e-9)
        for column in ["95% CI (noise)", "90% PI", "dominant", "verdict (PI)", "break-even"] { #expect(run.stdout.contains(column)) }
        #expect(run.stderr.contains("note: the noise term of the prediction intervals is the scenario's noise section, an assumption"))
        let missing = try TestSupport.runClusterSim(["compare", "c.yaml", "--baseline", "nope", "--out", "x"], in: dir)
        #expect(missing.status == 2)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x").path))
    }
}

@Suite struct SweepCLITests {
    /// A 2 × 3 grid run by make -j2 from the generated makefile: six points and a merged CSV
    /// with a column per parameter; after one point's results are removed (an interrupted
    /// sweep), make runs only that point again.
    @Test func makeSweepRunsPointsAndResumes() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(replications: 2), to: "s.yaml", in: dir)
        let params = "workload.links.1.bandwidth=25e9,50e9 workload.transfers.1.bytes=1e9,2e9,3e9"
        let mk = try TestSupport.runClusterSim(["sweep", "s.yaml", "--params", params, "--dir", "out", "--makefile",
                                                "--binary", TestSupport.clustersimBinary.path], in: dir)
        #expect(mk.status == 0, "\(mk.stderr)")
        TestSupport.write(mk.stdout, to: "sweep.mk", in: dir)
        func make() throws -> TestSupport.ProcessResult {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/make")
            p.arguments = ["-j2", "-f", "sweep.mk"]
            p.currentDirectoryURL = dir
            let out = Pipe()
            p.standardOutput = out
            p.standardError = Pipe()
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return TestSupport.ProcessResult(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: "")
        }
        let first = try make()
        #expect(first.status == 0)
        let merged = try String(contentsOf: dir.appendingPathComponent("out/summary.csv"), encoding: .utf8).split(separator: "\n")
        #expect(merged[0].hasPrefix("workload.links.1.bandwidth,workload.transfers.1.bytes,status,reason,scenario,variant,metric"))
        #expect(Set(merged.dropFirst().map { $0.split(separator: ",").prefix(2).joined(separator: ",") }).count == 6)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("out/bandwidth-50e9_bytes-2e9"))
        let second = try make()
        #expect(second.status == 0)
        let reruns = second.stdout.split(separator: "\n").filter { $0.contains(" run ") }
        #expect(reruns.count == 1 && reruns[0].contains("bandwidth-50e9_bytes-2e9"), "\(reruns)")
    }

    func make(_ arguments: [String], in dir: URL) throws -> TestSupport.ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/make")
        p.arguments = arguments
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return TestSupport.ProcessResult(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: String(decoding: errors, as: UTF8.self))
    }

    /// A training grid where half the points do not fit: make -j2 completes, the merged CSV has
    /// every point with its status (the infeasible ones with the memory they need); touching the
    /// scenario reruns nothing, editing it reruns every point.
    @Test func infeasiblePointsAreRowsAndEditsRerunEveryPoint() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = "name: t\ncluster: { system: h100-sxm, gpus: 8 }\nworkload: { kind: training, model: llama3-8b, parallelism: { tp: 1 }, sequence_length: 8192, global_batch: 16, zero: 0 }\n"
        TestSupport.write(scenario, to: "t.yaml", in: dir)
        func sweep() throws -> TestSupport.ProcessResult {
            let mk = try TestSupport.runClusterSim(["sweep", "t.yaml", "--params", "workload.parallelism.tp=1,2,4,8 workload.micro_batch=1,2", "--dir", "out", "--makefile",
                                                    "--binary", TestSupport.clustersimBinary.path], in: dir)
            #expect(mk.status == 0, "\(mk.stderr)")
            TestSupport.write(mk.stdout, to: "sweep.mk", in: dir)
            return try make(["-j2", "-f", "sweep.mk"], in: dir)
        }
        let first = try sweep()
        #expect(first.status == 0, "\(first.stderr)")
        let rows = try String(contentsOf: dir.appendingPathComponent("out/summary.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        var status: [String: String] = [:]
        for row in rows {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false)
            status[fields[0] + "," + fields[1]] = String(fields[2])
        }
        #expect(status.count == 8)
        #expect(status.filter { $0.value == "infeasible" }.keys.sorted() == ["1,1", "1,2", "2,1", "2,2"])
        #expect(status.filter { $0.value == "ok" }.count == 4)
        #expect(rows.contains { $0.hasPrefix("1,1,infeasible,\"t.yaml: needs 189.6 GiB on h100-sxm GPU 0 (pipeline stage 0), has 79.6 GiB") })
        let runs = { (r: TestSupport.ProcessResult) in r.stdout.split(separator: "\n").filter { $0.contains(" run ") }.count }
        #expect(runs(first) == 8)
        // Touched, not changed: nothing reruns.
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: dir.appendingPathComponent("t.yaml").path)
        #expect(runs(try sweep()) == 0)
        // Edited: every point reruns.
        TestSupport.write(scenario.replacingOccurrences(of: "global_batch: 16", with: "global_batch: 32"), to: "t.yaml", in: dir)
        #expect(runs(try sweep()) == 8)
    }

    /// A point whose H100 variant does not fit still runs its B300 variant: the merged CSV has
    /// the B300's rows (ok) and a row for the H100 with the memory it needs, and the B300's
    /// numbers are those of the B300 run alone.
    @Test func aVariantThatDoesNotFitLeavesTheOthersToRun() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("""
            name: t
            cluster: { system: h100-sxm, gpus: 8 }
            workload: { kind: training, model: llama3-8b, parallelism: { tp: 1 }, sequence_length: 8192, global_batch: 16, zero: 0 }
            variants:
              - name: h100
              - name: b300
                set: { cluster.system: b300 }
            """, to: "t.yaml", in: dir)
        let mk = try TestSupport.runClusterSim(["sweep", "t.yaml", "--params", "workload.parallelism.tp=1,2", "--dir", "out", "--makefile",
                                                "--binary", TestSupport.clustersimBinary.path], in: dir)
        #expect(mk.status == 0, "\(mk.stderr)")
        TestSupport.write(mk.stdout, to: "sweep.mk", in: dir)
        let made = try make(["-j2", "-f", "sweep.mk"], in: dir)
        #expect(made.status == 0, "\(made.stderr)")
        let rows = try String(contentsOf: dir.appendingPathComponent("out/summary.csv"), encoding: .utf8).split(separator: "\n").dropFirst().map(String.init)
        for tp in ["1", "2"] {
            let mine = rows.filter { $0.hasPrefix("\(tp),") }
            #expect(mine.filter { $0.hasPrefix("\(tp),ok,,t,b300,") }.count > 5, "\(mine)")
            let h100 = mine.filter { $0.contains(",h100,") }
            #expect(h100.count == 1 && h100[0].hasPrefix("\(tp),infeasible,\"needs ") && h100[0].contains("on h100-sxm GPU 0 (pipeline stage 0), has 79.6 GiB"), "\(h100)")
        }
        let status = try String(contentsOf: dir.appendingPathComponent("out/tp-1/status.csv"), encoding: .utf8)
        #expect(status.hasPrefix("variant,status,reason\nb300,ok,\nh100,infeasible,\"needs 189.6 GiB on h100-sxm GPU 0"), "\(status)")
        // The B300 alone at tp 1 gives the same rows.
        TestSupport.write("""
            name: t
            cluster: { system: b300, gpus: 8 }
            workload: { kind: training, model: llama3-8b, parallelism: { tp: 1 }, sequence_length: 8192, global_batch: 16, zero: 0 }
            variants: [{ name: b300 }]
            """, to: "b.yaml", in: dir)
        let alone = try TestSupport.runClusterSim(["run", "b.yaml", "--quiet", "--out", "alone"], in: dir)
        #expect(alone.status == 0, "\(alone.stderr)")
        let aloneRows = try String(contentsOf: dir.appendingPathComponent("alone/summary.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(aloneRows.map { "1,ok,," + $0 } == rows.filter { $0.hasPrefix("1,ok,") })
    }

    /// `sweep --ensemble N` goes on every point's command, and into the stamp, so another
    /// value reruns the points; a negative count is refused.
    @Test func sweepPassesTheEnsembleToEveryPoint() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(), to: "tiny.yaml", in: dir)
        let list = try TestSupport.runClusterSim(["sweep", "tiny.yaml", "--params", "seed=1,2", "--list", "--ensemble", "0", "--binary", "cs"], in: dir)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout == "cs run tiny.yaml --quiet --record-status --out results/tiny-sweep/seed-1 --set seed=1 --ensemble 0\n"
                + "cs run tiny.yaml --quiet --record-status --out results/tiny-sweep/seed-2 --set seed=2 --ensemble 0\n")
        func stamp(_ extra: [String]) throws -> String {
            let mk = try TestSupport.runClusterSim(["sweep", "tiny.yaml", "--params", "seed=1,2", "--makefile", "--binary", "cs"] + extra, in: dir).stdout
            return String(try #require(mk.split(separator: "\n").first { $0.hasPrefix("results/tiny-sweep/.inputs-") }))
        }
        #expect(try stamp(["--ensemble", "0"]) != stamp([]))
        let bad = try TestSupport.runClusterSim(["sweep", "tiny.yaml", "--params", "seed=1,2", "--list", "--ensemble=-1"], in: dir)
        #expect(bad.status == 2 && bad.stderr.contains("--ensemble: expected 0 or more members, got -1"), "\(bad.stderr)")
    }

    @Test func aVariantThatSetsASweptKeyIsRefusedNamingBoth() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(extra: "variants:\n  - name: a\n  - name: b\n    set: { workload.links.1.bandwidth: 10e9 }\n"), to: "s.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["sweep", "s.yaml", "--params", "workload.links.1.bandwidth=25e9,50e9", "--dir", "out", "--list"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr.hasSuffix("variants[1].set.workload.links.1.bandwidth: variant \"b\" sets workload.links.1.bandwidth, which the sweep varies (workload.links.1.bandwidth=25e9,50e9); remove one of them\n"), "\(result.stderr)")
    }

    /// Points that run compare: the merge writes comparison.csv too.
    @Test func comparePointsMergeTheirComparisons() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(extra: "variants:\n  - name: base\n  - name: fast\n    set: { workload.links.0.bandwidth: 200e9 }\ncompare: { baseline: base }\n"), to: "s.yaml", in: dir)
        let list = try TestSupport.runClusterSim(["sweep", "s.yaml", "--params", "workload.transfers.1.bytes=[1 GB, 2 GB]", "--command", "compare", "--dir", "out", "--list"], in: dir)
        #expect(list.status == 0, "\(list.stderr)")
        let commands = list.stdout.split(separator: "\n")
        #expect(commands.count == 2 && commands.allSatisfy { $0.contains(" compare s.yaml ") && $0.contains("--set 'workload.transfers.1.bytes=1 GB'") || $0.contains("--set 'workload.transfers.1.bytes=2 GB'") }, "\(commands)")
        for command in commands {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", String(command)]
            p.currentDirectoryURL = dir
            p.standardError = Pipe()
            p.standardOutput = Pipe()
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0)
        }
        let merge = try TestSupport.runClusterSim(["sweep", "s.yaml", "--params", "workload.transfers.1.bytes=[1 GB, 2 GB]", "--dir", "out", "--merge"], in: dir)
        #expect(merge.status == 0, "\(merge.stderr)")
        let comparison = try String(contentsOf: dir.appendingPathComponent("out/comparison.csv"), encoding: .utf8).split(separator: "\n")
        #expect(comparison[0].hasPrefix("workload.transfers.1.bytes,scenario,baseline,variant,metric,speedup"))
        #expect(comparison.dropFirst().contains { $0.hasPrefix("1 GB,") } && comparison.dropFirst().contains { $0.hasPrefix("2 GB,") })
    }
}

@Suite struct TraceCLITests {
    /// --trace writes trace-event JSON that Perfetto loads: every event has ph, ts, pid and tid,
    /// complete events a duration; the decode pass shows both streams.
    @Test func traceIsValidTraceEventJSON() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("name: d\ncluster: { system: h100-sxm }\nworkload: { kind: decode, model: llama3-8b, parallelism: { tp: 2 }, batch: 4, input_tokens: 128, output_tokens: 8 }\n", to: "d.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "d.yaml", "--quiet", "--trace", "t.json", "--trace-steps", "1"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("t.json"))) as! [String: Any]
        let events = object["traceEvents"] as! [[String: Any]]
        #expect(events.count > 100)
        for e in events {
            #expect(e["ph"] is String && e["pid"] is Int && e["tid"] is Int)
            if e["ph"] as? String != "M" { #expect(e["ts"] is Double || e["ts"] is Int) }
            if e["ph"] as? String == "X" { #expect((e["dur"] as? Double ?? -1) >= 0) }
        }
        let streams = Set(events.filter { $0["ph"] as? String == "X" }.map { $0["tid"] as! Int })
        #expect(streams == [0, 1])
        // Each kernel says what it did: FLOPs, HBM bytes and which of them bounds it.
        let kernels = events.filter { $0["ph"] as? String == "X" && $0["tid"] as? Int == 0 }
        #expect(kernels.allSatisfy { k in (k["args"] as? [String: Any]).map { $0["flops"] is Int && $0["hbm_bytes"] is Int && ["compute", "memory"].contains($0["bound"] as? String) } == true })
        let refused = try TestSupport.runClusterSim(["run", "d.yaml", "--quiet", "--trace", "t2.json", "--trace-variant", "nope", "--out", "x"], in: dir)
        #expect(refused.status == 2)
    }

    /// The trace of a small training step (2 pipeline stages, 2 data-parallel replicas): valid
    /// trace-event JSON with ph, ts, pid, tid and a duration on complete events; a process per
    /// stage with compute, TP-communication and data-parallel tracks; and flow arrows (start
    /// and finish pairs) for the activations and gradients between the stages and for each
    /// gradient bucket handed to its data-parallel collective.
    @Test func trainingStepTraceIsValidTraceEventJSON() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("""
            name: t
            cluster: { system: h100-sxm, gpus: 16 }
            workload: { kind: training, model: llama3-8b, parallelism: { tp: 4, pp: 2, dp: 2 }, sequence_length: 2048, global_batch: 8 }
            """, to: "t.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "t.yaml", "--quiet", "--trace", "t.json", "--trace-steps", "2", "--out", "r"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("t.json"))) as! [String: Any]
        let events = object["traceEvents"] as! [[String: Any]]
        for e in events {
            let typed = e["ph"] is String && e["pid"] is Int && e["tid"] is Int
            #expect(typed && e["name"] is String)
            if e["ph"] as? String != "M" { #expect(e["ts"] is Double || e["ts"] is Int) }
            if e["ph"] as? String == "X" { #expect((e["dur"] as? Double ?? -1) >= 0) }
        }
        let complete = events.filter { $0["ph"] as? String == "X" }
        #expect(Set(complete.map { $0["pid"] as! Int }) == [0, 8])  // stage 0 starts at GPU 0, stage 1 at GPU 4 × 2
        #expect(Set(complete.map { $0["tid"] as! Int }) == [0, 1, 2])
        // Two micro-batches of 16 layers (plus embedding or head) forward and backward per stage.
        let passes = complete.filter { $0["tid"] as! Int == 0 }.count
        #expect(passes == 2 * 2 * (16 + 1) * 2)
        let trace = try TraceFile(dir.appendingPathComponent("t.json"))
        #expect(trace.problems() == [])
        // Pipeline arrows: 2 activations forward, 2 gradients back. The gradient buckets leave
        // the last micro-batch's backward, which two of four micro-batches do not include:
        // their arrows are left out, not drawn from nowhere.
        let pipeline = trace.of("s").filter { ($0["name"] as! String).hasPrefix("activation") || ($0["name"] as! String).hasPrefix("gradient ") && !($0["name"] as! String).hasPrefix("gradient bucket") }
        #expect(pipeline.count == 4)
        #expect(!trace.of("s").contains { ($0["name"] as! String).hasPrefix("gradient bucket") } && (trace.other["flows_left_out"] as? Int ?? 0) > 0)
        // Every micro-batch traced: bucket arrows from the compute track to the data-parallel one.
        let all = try TestSupport.runClusterSim(["run", "t.yaml", "--quiet", "--trace", "a.json", "--trace-steps", "4", "--out", "r4"], in: dir)
        #expect(all.status == 0, "\(all.stderr)")
        let whole = try TraceFile(dir.appendingPathComponent("a.json"))
        #expect(whole.problems() == [] && whole.other["flows_left_out"] == nil)
        let buckets = whole.of("f").filter { ($0["name"] as! String).hasPrefix("gradient bucket") }
        #expect(!buckets.isEmpty && buckets.allSatisfy { $0["tid"] as! Int == 2 })
        // --trace-stages keeps the stages asked for (and the arrows between kept stages only).
        let one = try TestSupport.runClusterSim(["run", "t.yaml", "--quiet", "--trace", "s.json", "--trace-stages", "1", "--out", "r2"], in: dir)
        #expect(one.status == 0, "\(one.stderr)")
        let stageEvents = (try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("s.json"))) as! [String: Any])["traceEvents"] as! [[String: Any]]
        #expect(Set(stageEvents.map { $0["pid"] as! Int }) == [8])
        let bad = try TestSupport.runClusterSim(["run", "t.yaml", "--quiet", "--trace", "b.json", "--trace-stages", "one", "--out", "r3"], in: dir)
        #expect(bad.status == 2 && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("r3").path))
    }
}

@Suite struct ValidateCLITests {
    /// `clustersim validate REFERENCE.csv` (DESIGN.md's interface): a reference of three rows —
    /// a kernel, a decode latency reproduced by scenarios/reference/decode-dec16.yaml, and a row
    /// the model has no counterpart for — prints each with its prediction and error.
    @Test func validatePrintsPredictionsAndErrors() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let full = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("scenarios/reference/calibration.csv"), encoding: .utf8)
        let lines = full.split(whereSeparator: \.isNewline)  // "\r\n" is one Character in Swift
        let keep = lines.filter { $0.hasPrefix("id,") || $0.hasPrefix("H200GEMM,") || $0.hasPrefix("DEC16,") || $0.hasPrefix("LINK01,") }
        TestSupport.write(keep.joined(separator: "\n") + "\n", to: "ref.csv", in: dir)
        let scenarios = TestSupport.packageRoot.appendingPathComponent("scenarios/reference").path
        let run = try TestSupport.runClusterSim(["validate", "ref.csv", "--scenarios", scenarios], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let gemm = rows.first { $0.first == "H200GEMM" }, decode = rows.first { $0.first == "DEC16" }, link = rows.first { $0.first == "LINK01" }
        #expect(gemm?[1] == "kernel" && gemm?[4].hasSuffix("%") == true)
        #expect(decode?[1] == "decode" && decode?[4].hasSuffix("%") == true)
        #expect(link?.contains("modelled") == true)
        #expect(run.stdout.contains("2 of 3 rows modelled"))
        let missing = try TestSupport.runClusterSim(["validate", "nope.csv"], in: dir)
        #expect(missing.status == 2)
    }
}

@Suite struct SearchCLITests {
    static let scenario = """
        name: s
        seed: 2
        cluster: { system: h100-sxm, gpus: 8 }
        workload: { kind: training, model: llama3-8b, parallelism: { tp: 8 }, sequence_length: 4096, global_batch: 16, zero: 0 }
        search:
          space:
            workload.parallelism.tp: [1, 2, 4, 8]
            workload.micro_batch: [1, 2]
          objective: tokens_per_s_per_gpu

        """

    /// search writes search.csv (every point with its status), pareto.csv and best.yaml;
    /// best.yaml runs as it is and reproduces its row; the table ends with the best few.
    @Test func searchWritesItsFilesAndBestYAMLReproducesItsRow() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario, to: "s.yaml", in: dir)
        let search = try TestSupport.runClusterSim(["search", "s.yaml", "--ensemble", "0", "--out", "found"], in: dir)
        #expect(search.status == 0, "\(search.stderr)")
        #expect(TestSupport.files(in: dir.appendingPathComponent("found")) == ["best.yaml", "manifest.json", "pareto.csv", "search.csv"])
        let rows = try String(contentsOf: dir.appendingPathComponent("found/search.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 9)
        #expect(rows[0].hasPrefix("variant,workload.parallelism.tp,workload.micro_batch,status,reason,workload_fraction,bound_tokens_per_s_per_gpu,"))
        #expect(rows.contains { $0.hasPrefix("base,1,1,infeasible,\"needs ") })
        #expect(search.stdout.hasPrefix("search: 8 points × 1 variant, strategy bound; "))
        #expect(search.stdout.contains("base: best ") && search.stdout.contains("rank  tp  micro_batch  tokens_per_s_per_gpu"))
        let pareto = try String(contentsOf: dir.appendingPathComponent("found/pareto.csv"), encoding: .utf8).split(separator: "\n")
        #expect(pareto.count == 2)
        let best = pareto[1].split(separator: ",", omittingEmptySubsequences: false)
        let header = pareto[0].split(separator: ",").map(String.init)
        let value = best[header.firstIndex(of: "tokens_per_s_per_gpu")!]
        let run = try TestSupport.runClusterSim(["run", "found/best.yaml", "--ensemble", "0", "--out", "again", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try String(contentsOf: dir.appendingPathComponent("again/summary.csv"), encoding: .utf8)
        #expect(summary.contains(",tokens_per_s_per_gpu,tokens/s,1,\(value),"), "\(value) not in \(summary)")
    }

    @Test func badSearchInputExitsTwoAndWritesNothing() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(Self.scenario.replacingOccurrences(of: "objective: tokens_per_s_per_gpu", with: "objective: tokens_per_s_per_gpuu"), to: "s.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["search", "s.yaml", "--out", "found"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr == "s.yaml:9:14: search.objective: unknown metric \"tokens_per_s_per_gpuu\" of workload kind training; did you mean \"tokens_per_s_per_gpu\"?\n")
        #expect(TestSupport.files(in: dir) == ["s.yaml"])
        TestSupport.write(TestSupport.transfersScenario(), to: "t.yaml", in: dir)
        let none = try TestSupport.runClusterSim(["search", "t.yaml"], in: dir)
        #expect(none.status == 2 && none.stderr.hasPrefix("t.yaml: no search section; add one"))
    }
}
