import Foundation
import Testing
import TestSupport

/// Small things a new user trips on, each with its exact message.
@Suite struct RoughEdgesTests {
    /// A preset name typed short or long is matched to the preset that contains it (not to the
    /// nearest by edit distance: "b200-sxm" is one letter from "h200-sxm").
    @Test(arguments: [("gb200", "gb200-nvl72"), ("b200-sxm", "b200"), ("gb300", "gb300-nvl72"), ("h100", "h100-sxm"), ("b30", "b300")])
    func didYouMeanPrefersThePresetThatContainsIt(typed: String, meant: String) throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(ServingOutputsTests.scenario(), to: "serve.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "serve.yaml", "--set", "cluster.system=\(typed)"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr == "serve.yaml: --set cluster.system=\(typed): cluster.system: unknown preset \"\(typed)\"; did you mean \"\(meant)\"?\n")
        #expect(TestSupport.files(in: dir) == ["serve.yaml"])
    }
}

extension RoughEdgesTests {
    /// `validate` and `calibrate` print a calibration row's error with one sign convention,
    /// (predicted − measured) / measured of the row's own value: H200GEMM is +0.1% in both
    /// (its TFLOP/s, where the kernel's time is 0.1% short).
    @Test func validateAndCalibrateAgreeOnTheSign() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = TestSupport.packageRoot
        let reference = root.deletingLastPathComponent().appendingPathComponent("shared/reference")
        try #require(FileManager.default.fileExists(atPath: reference.appendingPathComponent("kernels/gemm.csv").path), "../shared/reference beside the checkout")
        let calibration = root.appendingPathComponent("scenarios/reference/calibration.csv").path
        let validate = try TestSupport.runClusterSim(["validate", calibration, "--scenarios", root.appendingPathComponent("scenarios/reference").path, "--kernels", "none"], in: dir)
        #expect(validate.status == 0, "\(validate.stderr)")
        let lines = validate.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("error: (predicted − measured) / measured, of the row's own value and unit"))
        let row = try #require(lines.first { $0.hasPrefix("H200GEMM ") }).split(separator: " ", omittingEmptySubsequences: true)
        let calibrate = try TestSupport.runClusterSim(["calibrate", "--reference", reference.path, "--calibration", calibration], in: dir)
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        let out = calibrate.stdout.split(separator: "\n").map(String.init)
        #expect(out.contains("calibration.csv kernel points, (predicted − measured) / measured of the row's TFLOP/s or TB/s as validate prints it:"))
        let point = try #require(out.first { $0.hasPrefix("  H200GEMM (") })
        #expect(row[4] == "+0.1%" && point.hasSuffix(": +0.1%"), "validate \(row), calibrate \(point)")
    }

    /// Token counts take multipliers: 8K = 8000, 1.5Ki = 1536; a count that is not whole says so.
    @Test func tokenCountsTakeMultipliers() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = { (input: String, output: String) in
            "name: d\ncluster: { system: h100-sxm }\nworkload: { kind: decode, model: llama3-8b, batch: 4, input_tokens: \(input), output_tokens: \(output) }\n"
        }
        TestSupport.write(text("8K", "1.5Ki"), to: "short.yaml", in: dir)
        TestSupport.write(text("8000", "1536"), to: "long.yaml", in: dir)
        for name in ["short", "long"] {
            let run = try TestSupport.runClusterSim(["run", "\(name).yaml", "--quiet", "--out", name, "--set", "name=d"], in: dir)
            #expect(run.status == 0, "\(run.stderr)")
        }
        let short = try String(contentsOf: dir.appendingPathComponent("short/summary.csv"), encoding: .utf8)
        #expect(short == (try String(contentsOf: dir.appendingPathComponent("long/summary.csv"), encoding: .utf8)))
        let bad = try TestSupport.runClusterSim(["run", "short.yaml", "--set", "workload.input_tokens=1.0001k"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr == "short.yaml: --set workload.input_tokens=1.0001k: workload.input_tokens: \"1.0001k\" is 1000.1, not a whole number\n")
        let ki = try TestSupport.runClusterSim(["run", "short.yaml", "--set", "workload.input_tokens=128Ki", "--set", "workload.batch=1e3"], in: dir)
        #expect(ki.stderr == "short.yaml: --set workload.batch=1e3: workload.batch: expected an integer, got \"1e3\"\n")
    }

    /// `hardware list` and `hardware show` give capacity in GiB and tensor rates in TFLOPS.
    @Test func hardwareListAndShowUseOneSetOfUnits() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = try TestSupport.runClusterSim(["hardware", "list"], in: dir).stdout.split(separator: "\n")
        #expect(list.first?.hasPrefix("h100-sxm       989 TFLOPS bf16  3.35 TB/s HBM   79.6 GiB   8 GPUs/NVLink domain  ") == true, "\(list)")
        let show = try TestSupport.runClusterSim(["hardware", "show", "h100-sxm"], in: dir).stdout.split(separator: "\n").map(String.init)
        #expect(show.contains("    hbm_capacity: 79.6474609375 GiB  # [a] (80 GB; 81,559 MiB reported by nvidia-smi)"))
        #expect(show.contains("      fp8: 1979 TFLOPS  # [a]"))
        #expect(show.contains("    l2_size: 50 MiB  # [a]"))
    }

    /// Help texts do not say their defaults twice (ArgumentParser adds "(default: …)").
    @Test func helpTextsStateEachDefaultOnce() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for command in ["run", "compare", "search", "sweep", "validate", "calibrate", "schema", "metrics"] {
            let help = try TestSupport.runClusterSim([command, "--help"], in: dir).stdout
            // One entry per option or argument: from a line starting "  -" or "  <" to the next.
            var entries: [String] = [], current = ""
            for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("  -") || line.hasPrefix("  <") { entries.append(current); current = "" }
                current += " " + line.trimmingCharacters(in: .whitespaces)
            }
            entries.append(current)
            for entry in entries where entry.components(separatedBy: "default").count > 2 {
                Issue.record("\(command): \(entry)")
            }
        }
        let validate = try TestSupport.runClusterSim(["validate", "--help"], in: dir).stdout
        #expect(validate.contains("  --kernels <kernels>     The reference folder holding kernels/; its tables are\n                          summarised when present. (default:\n                          ../shared/reference)\n"), "\(validate)")
    }

    /// `run --dry-run` prints the scenario as it runs, every default filled in, writes
    /// nothing, and its text runs to the same results as the file.
    @Test(arguments: ["h200-gemm", "llama3-70b-decode", "nccl-allreduce-h100-hgx", "llama3-70b-serving-disaggregated"])
    func dryRunPrintsTheResolvedScenario(name: String) throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = TestSupport.packageRoot.appendingPathComponent("scenarios/\(name).yaml").path
        let dry = try TestSupport.runClusterSim(["run", path, "--dry-run", "--set", "replications=1"], in: dir)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(TestSupport.files(in: dir) == [], "nothing written")
        let lines = dry.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "# \(path) as it runs (clustersim run --dry-run): every key read, defaults filled in.")
        #expect(lines.dropFirst().first == "# With --set replications=1.")
        #expect(lines.contains("  kernel_efficiency: 1"), "stack defaults filled in")
        TestSupport.write(dry.stdout, to: "resolved.yaml", in: dir)
        let original = try TestSupport.runClusterSim(["run", path, "--quiet", "--ensemble", "0", "--set", "replications=1", "--out", "a"], in: dir)
        let resolved = try TestSupport.runClusterSim(["run", "resolved.yaml", "--quiet", "--ensemble", "0", "--out", "b"], in: dir)
        #expect(original.status == 0 && resolved.status == 0, "\(original.stderr) \(resolved.stderr)")
        for file in ["summary.csv", "replications.csv"] {
            let a = try String(contentsOf: dir.appendingPathComponent("a/\(file)"), encoding: .utf8)
            #expect(a == (try String(contentsOf: dir.appendingPathComponent("b/\(file)"), encoding: .utf8)), "\(file)")
        }
    }

    /// Shell completion (ArgumentParser's scripts) offers the presets, the models and .yaml files.
    @Test func completionOffersPresetsModelsAndScenarioFiles() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bash = try TestSupport.runClusterSim(["--generate-completion-script", "bash"], in: dir).stdout
        #expect(bash.contains("__clustersim_add_completions -W 'h100-sxm'$'\\n''h200-sxm'$'\\n''b200'$'\\n''b300'$'\\n''gb200-nvl72'$'\\n''gb300-nvl72'"))
        #expect(bash.contains("'llama3-8b'$'\\n''llama3-70b'$'\\n''llama3-405b'"))
        #expect(bash.contains("-fX '!*.@(yaml|yml)'"))
        #expect(bash.contains("'cluster.system=h100-sxm'"))
    }
}

extension RoughEdgesTests {
    /// Under wide expert parallelism each attention group schedules its own batch: a 64-GPU
    /// instance (ep 64, tp 1) is not capped at 256 sequences by default, the key table says
    /// what max_batch counts, and max_num_tokens is checked against each group's share.
    @Test func wideExpertParallelBatchIsPerAttentionGroup() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("""
            name: wide
            cluster: { system: gb200-nvl72, gpus: 72 }
            workload: { kind: serving, model: deepseek-v3, precision: fp8, kv_precision: fp8, parallelism: { tp: 1, ep: 64 },
                        input_tokens: 1024, output_tokens: 256, arrival_rate: 200, duration: 5 s }
            """, to: "wide.yaml", in: dir)
        func meanBatch(_ extra: [String]) throws -> Double {
            let run = try TestSupport.runClusterSim(["run", "wide.yaml", "--quiet", "--ensemble", "0", "--replications", "1", "--out", "r"] + extra, in: dir)
            #expect(run.status == 0, "\(run.stderr)")
            return try #require(ServingOutputsTests.metric(try ServingOutputsTests.table(dir.appendingPathComponent("r/summary.csv")), "mean_batch_size"))
        }
        #expect(try meanBatch([]) > 512)
        #expect(try meanBatch(["--set", "workload.max_batch=256"]) <= 256)
        let bad = try TestSupport.runClusterSim(["run", "wide.yaml", "--set", "workload.max_num_tokens=256", "--set", "workload.max_batch=16448"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr == "wide.yaml: --set workload.max_num_tokens=256: workload.max_num_tokens: max_num_tokens 256 per attention group is below max_batch 16448 over 64 attention groups (257 each); every running sequence decodes in each iteration\n")
        let schema = try TestSupport.runClusterSim(["schema", "serving"], in: dir).stdout
        #expect(schema.contains("Most sequences an instance runs at once, over all its attention groups"))
        #expect(schema.contains("256 per attention group: 256 × ep / tp with expert parallelism, else 256"))
    }
}

/// What a result was made with: the version, the checkout's commit, the calibration.
@Suite struct ProvenanceTests {
    @Test func versionAndManifestNameTheCommitAndTheCalibration() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The test binary is built in this checkout: its HEAD is the commit to name.
        let git = TestSupport.packageRoot.appendingPathComponent(".git")
        let head = try String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let commit = head.hasPrefix("ref: ")
            ? try String(contentsOf: git.appendingPathComponent(String(head.dropFirst(5))), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            : head
        let version = try TestSupport.runClusterSim(["--version"], in: dir)
        #expect(version.status == 0)
        let line = version.stdout.trimmingCharacters(in: .newlines)
        #expect(line.hasPrefix("0.1.0, commit \(commit.prefix(12)), calibration "), "\(line)")
        let calibration = String(line.split(separator: " ").last ?? "")
        #expect(calibration.count == 16 && calibration.allSatisfy(\.isHexDigit))
        TestSupport.write(TestSupport.transfersScenario(), to: "tiny.yaml", in: dir)
        let run = try TestSupport.runClusterSim(["run", "tiny.yaml", "--quiet"], in: dir)
        #expect(run.status == 0)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("results/tiny/manifest.json"))) as? [String: Any]
        #expect(manifest?["git_commit"] as? String == commit)
        #expect(manifest?["calibration"] as? String == calibration)
    }
}

extension RoughEdgesTests {
    /// `validate` given a scenario says what it expects instead of reading YAML as CSV.
    @Test func validateGivenAScenarioSaysItExpectsAReferenceCSV() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write(TestSupport.transfersScenario(), to: "tiny.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["validate", "tiny.yaml"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr == "validate: tiny.yaml is a scenario; validate expects a reference CSV of measurements (default scenarios/reference/calibration.csv) and finds the scenarios that reproduce its rows in --scenarios (default scenarios/reference); to run a scenario use clustersim run tiny.yaml\n")
    }
}

extension RoughEdgesTests {
    /// `run` warns about a compare section whose baseline is gone and runs; `compare` refuses it
    /// before simulating.
    @Test func runIgnoresACompareSectionItDoesNotUse() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = TestSupport.transfersScenario() + "\nvariants: [{ name: a }, { name: b, set: { replications: 2 } }]\ncompare: { baseline: a }\n"
        TestSupport.write(text, to: "tiny.yaml", in: dir)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("compare:") }! + 1
        let run = try TestSupport.runClusterSim(["run", "tiny.yaml", "--quiet", "--set", "variants=[{name: other}]"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("warning: tiny.yaml:\(line):22: compare.baseline: no variant is named \"a\"; run ignores the compare section, clustersim compare refuses it\n"), "\(run.stderr)")
        let compare = try TestSupport.runClusterSim(["compare", "tiny.yaml", "--quiet", "--out", "c", "--set", "variants=[{name: other}]"], in: dir)
        #expect(compare.status == 2)
        #expect(compare.stderr == "tiny.yaml: compare.baseline: no variant is named \"a\"\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("c").path))
    }
}

/// Collective results in nccl-tests' shape: collective.csv, a row per size.
@Suite struct CollectiveTableTests {
    @Test func collectiveCSVHasARowPerSizeMatchingTheMetrics() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = """
            name: ar
            cluster: { system: h100-sxm }
            workload: { kind: collective, operation: all_reduce, gpus: 8, min_bytes: 1 KiB, max_bytes: 1 GiB, factor: 32 }
            """
        TestSupport.write(text, to: "ar.yaml", in: dir)
        let result = try TestSupport.runClusterSim(["run", "ar.yaml", "--quiet", "--ensemble", "0"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try ServingOutputsTests.table(dir.appendingPathComponent("results/ar/collective.csv"))
        let replications = try ServingOutputsTests.table(dir.appendingPathComponent("results/ar/replications.csv"))
        #expect(rows.map { $0["size_bytes"]! } == ["1024", "32768", "1048576", "33554432", "1073741824"])
        for row in rows {
            let metric = "all_reduce.\(row["size_bytes"]!)B.busbw_GBps"
            #expect(row["busbw_GBps"] == replications.first { $0["metric"] == metric }?["value"], "\(metric)")
            #expect(Double(row["busbw_GBps"]!)! / Double(row["algbw_GBps"]!)! - 2 * 7 / 8 < 1e-12)
        }
        // NCCL's tuner: LL for small messages, NVLS (NVSwitch SHARP) for large ones on H100.
        #expect(rows.first?["algorithm"] == "ring/ll" && rows.last?["algorithm"] == "nvls/simple", "\(rows.map { $0["algorithm"]! })")
    }
}
