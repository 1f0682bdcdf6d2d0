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
