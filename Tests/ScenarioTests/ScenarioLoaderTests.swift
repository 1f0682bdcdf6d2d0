import Testing
import TestSupport
@testable import Scenario
import Workloads

/// Every class of bad input gets its exact message: file, line, key path and problem.
@Suite struct ScenarioLoaderTests {
    func errors(_ text: String, overrides: [String] = []) -> [String] {
        do {
            _ = try ScenarioLoader.plan(text: text, file: "s.yaml", overrides: overrides)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func validScenarioDecodes() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(), file: "s.yaml")
        #expect(plan.name == "tiny")
        #expect(plan.seed == 7 && plan.replications == 3)
        #expect(plan.variants.map(\.name) == ["base"])
        guard let t = plan.variants[0].spec.workload as? TransfersSpec else { Issue.record("kind"); return }
        #expect(t.links == [LinkSpec(name: "up", bandwidth: 100e9, latency: 1e-6), LinkSpec(name: "down", bandwidth: 50e9, latency: 0)])
        #expect(t.transfers[1] == TransferSpec(name: "b", bytes: 2e9, path: [1], start: 1e-3))
        #expect(plan.variants[0].spec.noise.networkCV == 0.05)
    }

    @Test func misspelledKeyGetsSuggestion() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "replications:", with: "replicatons:")
        #expect(errors(text) == ["s.yaml:3:14: replicatons: unknown key \"replicatons\"; did you mean \"replications\"?"])
    }

    @Test func misspelledNestedKey() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "{ name: down, bandwidth:", with: "{ name: down, bandwith:")
        #expect(errors(text) == [
            "s.yaml:9:31: workload.links[1].bandwith: unknown key \"bandwith\"; did you mean \"bandwidth\"?",
            "s.yaml:9:7: workload.links[1].bandwidth: missing required key (a bandwidth such as \"900 GB/s\")",
        ])
    }

    @Test func wrongType() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "replications: 3", with: "replications: three")
        #expect(errors(text) == ["s.yaml:3:15: replications: expected an integer, got \"three\""])
    }

    @Test func negativeBandwidth() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "bandwidth: 50 GB/s", with: "bandwidth: -50 GB/s")
        #expect(errors(text) == ["s.yaml:9:32: workload.links[1].bandwidth: must be > 0, got \"-50 GB/s\""])
    }

    @Test func wrongUnit() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "bandwidth: 50 GB/s", with: "bandwidth: 50 GB")
        #expect(errors(text) == ["s.yaml:9:32: workload.links[1].bandwidth: expected a bandwidth such as \"900 GB/s\", got a size in bytes, got \"50 GB\""])
    }

    @Test func brokenYAMLNamesTheLine() {
        let text = "name: x\nworkload:\n  kind: transfers\n  links: [ { name: a\n"
        let found = errors(text)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("s.yaml:5:") == true, "\(found)")
        #expect(found.first?.contains("malformed YAML") == true)
    }

    @Test func missingRequiredKeys() {
        #expect(errors("name: x\n") == ["s.yaml:1:1: workload: missing required key (a mapping with a kind)"])
        #expect(errors("workload: { kind: transfers, links: [], transfers: [] }\n").contains("s.yaml:1:1: name: missing required key (a name)"))
    }

    @Test func unknownLinkInPath() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "path: [down]", with: "path: [dwn]")
        #expect(errors(text) == ["s.yaml:12:38: workload.transfers[1].path[0]: no link is named \"dwn\"; did you mean \"down\"?"])
    }

    @Test func unknownWorkloadKind() {
        let text = TestSupport.transfersScenario().replacingOccurrences(of: "kind: transfers", with: "kind: transfer")
        #expect(errors(text) == ["s.yaml:6:9: workload.kind: unknown workload kind \"transfer\"; did you mean \"transfers\"?"])
    }

    @Test func everyProblemIsReportedAtOnce() {
        let text = TestSupport.transfersScenario()
            .replacingOccurrences(of: "replications: 3", with: "replications: 0")
            .replacingOccurrences(of: "bytes: 1 GB", with: "bytes: lots")
        #expect(errors(text).count == 2)
    }

    @Test func commandLineOverrideAppliesBeforeValidation() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(), file: "s.yaml", overrides: ["workload.links[1].bandwidth=25 GB/s", "replications=9"])
        guard let t = plan.variants[0].spec.workload as? TransfersSpec else { return }
        #expect(t.links[1].bandwidth == 25e9)
        #expect(plan.replications == 9)
        #expect(errors(TestSupport.transfersScenario(), overrides: ["workload.links[1].bandwidth=-1"]) ==
            ["s.yaml: --set workload.links[1].bandwidth=-1: workload.links[1].bandwidth: must be > 0, got \"-1\""])
        #expect(errors(TestSupport.transfersScenario(), overrides: ["workload.links[5].bandwidth=1"]) ==
            ["s.yaml: --set workload.links[5].bandwidth=1: workload.links[5].bandwidth: workload.links has 2 entries; index 5 is out of range"])
        #expect(errors(TestSupport.transfersScenario(), overrides: ["seeed=3"]) ==
            ["s.yaml: --set seeed=3: seeed: unknown key \"seeed\"; did you mean \"seed\"?"])
    }

    @Test func variantsExpandAndAreValidated() throws {
        let variants = """
        variants:
          - name: slow
            set:
              workload.links[1].bandwidth: 10 GB/s
          - name: broken
            set:
              workload.links.0.bandwidth: 0 GB/s
        """
        #expect(errors(TestSupport.transfersScenario(extra: variants)) ==
            ["s.yaml:19:35: workload.links[0].bandwidth: must be > 0, got \"0 GB/s\" (variant \"broken\")"])
        let good = """
        variants:
          - name: fast
          - name: slow
            set:
              workload.links[1].bandwidth: 10 GB/s
        compare: { baseline: fast, claim: 1.2 }
        """
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(extra: good), file: "s.yaml")
        #expect(plan.variants.map(\.name) == ["fast", "slow"])
        #expect(plan.compare == CompareSpec(baseline: "fast", claim: 1.2))
        guard let slow = plan.variants[1].spec.workload as? TransfersSpec else { return }
        #expect(slow.links[1].bandwidth == 10e9)
    }

    @Test func variantCannotChangeTheSeed() {
        let text = TestSupport.transfersScenario(extra: "variants:\n  - name: v\n    set: { seed: 3 }\n")
        #expect(errors(text) == ["s.yaml:15:18: variants[0].set.seed: a variant cannot change \"seed\"; it belongs to the whole experiment"])
    }

    /// A baseline that names no variant is a warning (`run` does not use it; `compare` refuses
    /// it, CLITests).
    @Test func baselineThatNamesNoVariantWarns() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(extra: "compare: { baseline: bse }\n"), file: "s.yaml")
        #expect(plan.warnings.map(\.description) == ["s.yaml:13:22: compare.baseline: no variant is named \"bse\"; did you mean \"base\"?; run ignores the compare section, clustersim compare refuses it"])
    }

    @Test func unusedKnobsWarn() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(extra: "stack: { cuda_graphs: true }\n"), file: "s.yaml")
        #expect(plan.warnings.map(\.description) == ["s.yaml:13:8: stack: has no effect on workload kind \"transfers\" (it runs no kernels)"])
    }

    /// NCCL_PROTO's limits: NVLS kernels run Simple only; send/recv-built operations take the
    /// protocol NCCL's size rule gives; a protocol across NVLink domains has no meaning here.
    @Test func protocolTheAlgorithmCannotRun() {
        let head = "name: c\ncluster: { system: h100-sxm }\nworkload: { kind: collective, gpus: 8, min_bytes: 1 KiB, "
        #expect(errors(head + "operation: all_reduce, algorithm: nvls, protocol: ll }\n")
                == ["s.yaml:3:108: workload.protocol: NVLS runs the Simple protocol only"])
        #expect(errors(head + "operation: alltoall, protocol: ll128 }\n")
                == ["s.yaml:3:89: workload.protocol: alltoall is built from send/recv, whose protocol NCCL sets by size (LL up to 16 KiB per peer); remove protocol \"ll128\""])
        #expect(errors(head.replacingOccurrences(of: "gpus: 8", with: "gpus: 16") + "operation: all_reduce, protocol: ll }\n")
                == ["s.yaml:3:92: workload.protocol: 16 GPUs span more than one NVLink domain of h100-sxm (8 per domain), where every phase runs Simple; remove protocol \"ll\""])
        #expect(errors(head + "operation: all_reduce, protocol: ll }\n") == [])
    }

    /// SHARP is an InfiniBand switch feature.
    @Test func sharpNeedsInfiniBand() {
        let text = "name: c\ncluster: { system: b200, scale_out: { sharp: true, transport: efa } }\nworkload: { kind: collective, operation: all_reduce, gpus: 32, min_bytes: 1 GiB }\n"
        #expect(errors(text) == ["s.yaml:2:46: cluster.scale_out.sharp: in-network reduction (SHARP) needs InfiniBand switches, not efa"])
        #expect(errors(text.replacingOccurrences(of: ", transport: efa", with: "")) == [])
    }

    /// A power limit lies between the GPU's static power and its TDP.
    @Test func powerLimitWithinTheBoard() {
        let text = "name: c\ncluster: { system: b200, power_limit: 1500 W }\nworkload: { kind: training, model: llama3-8b, parallelism: { tp: 1, pp: 1, dp: 8 }, sequence_length: 4096, global_batch: 8 }\n"
        #expect(errors(text) == ["s.yaml:2:39: cluster.power_limit: must be above the GPU's static power (126 W) and at most its TDP (1000 W), got 1500 W"])
        #expect(errors(text.replacingOccurrences(of: "1500 W", with: "100 W")).count == 1)
        #expect(errors(text.replacingOccurrences(of: "1500 W", with: "700 W")) == [])
    }

    /// The power model's inputs stay physical: a board of at most 100 kW, a boost clock from the
    /// spec clock to twice it.
    @Test func tdpAndBoostClockStayPhysical() {
        let head = "name: c\ncluster: { system: { preset: b200, gpu: "
        let tail = " }, gpus: 8 }\nworkload: { kind: training, model: llama3-8b, parallelism: { tp: 1, pp: 1, dp: 8 }, sequence_length: 4096, global_batch: 8 }\n"
        #expect(errors(head + "{ tdp: 1e308 W }" + tail) == ["s.yaml:2:48: cluster.system.gpu.tdp: must be ≤ 100000 W, got \"1e308 W\""])
        #expect(errors(head + "{ max_clock: 1 MHz }" + tail)
                == ["s.yaml:2:54: cluster.system.gpu.max_clock: the maximum boost clock lies between clock (1.86e+09 Hz) and twice it, got 1e+06 Hz"])
        #expect(errors(head + "{ max_clock: 1.9 GHz }" + tail) == [])
    }
}
