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
