import Foundation
import Hardware
import Scenario
import Testing
import TestSupport
import Workloads
@testable import Cluster
@testable import Experiments
@testable import Network

/// Symmetry folding inside an NVLink domain: a step whose flows use disjoint ports with equal
/// bytes is simulated as one flow. It must give the time of simulating every flow.
@Suite struct SymmetryFoldingTests {
    static let timing = CollectiveTiming(baseLatency: 3e-6, stepLatency: 1e-6, linkEfficiency: 0.8, nvlsEfficiency: 0.7,
                                         nvlsLatency: 5e-6, chunkBytes: 512e3)

    @Test(arguments: [(CollectiveOperation.allReduce, CollectiveAlgorithm.ring), (.allGather, .ring), (.reduceScatter, .ring),
                      (.allReduce, .nvls), (.sendRecv, .ring), (.allToAll, .direct), (.broadcast, .ring), (.allReduce, .tree)])
    func foldedEqualsUnfolded(op: CollectiveOperation, algorithm: CollectiveAlgorithm) {
        for ranks in [2, 7, 64] {
            let plan = CollectivePlanner.plan(op, bytes: 64e6, ranks: ranks, algorithm: algorithm)
            let folded = CollectiveRun.seconds(plan, bandwidth: 450e9, timing: Self.timing, folded: true)
            let unfolded = CollectiveRun.seconds(plan, bandwidth: 450e9, timing: Self.timing, folded: false)
            // The representative flow meets the same rate and work as each flow it stands for.
            #expect(folded == unfolded, "\(op) \(algorithm) on \(ranks): \(folded) folded, \(unfolded) unfolded")
        }
    }

    @Test func whichStepsAreSymmetric() {
        #expect(CollectiveRun.isSymmetric(CollectivePlanner.plan(.allReduce, bytes: 1e6, ranks: 8, algorithm: .ring).steps[0], ranks: 8))
        #expect(CollectiveRun.isSymmetric(CollectivePlanner.plan(.allReduce, bytes: 1e6, ranks: 8, algorithm: .nvls).steps[0], ranks: 8))
        // All-to-all: every rank sends to every other, so flows share ports.
        #expect(!CollectiveRun.isSymmetric(CollectivePlanner.plan(.allToAll, bytes: 1e6, ranks: 8, algorithm: .direct).steps[0], ranks: 8))
        // Unequal bytes on disjoint ports are not folded.
        let uneven = CollectiveStep(flows: [CollectiveFlow(source: 0, destination: 1, bytes: 1), CollectiveFlow(source: 1, destination: 0, bytes: 2)])
        #expect(!CollectiveRun.isSymmetric(uneven, ranks: 2))
    }

    /// ASTRA-sim's analytical case as the shipped scenario: 1 GiB ring all-reduce over 4,096
    /// GPUs, 50 GiB/s links, 500 ns per hop: 2(n−1)(α + S/(nB)) = 44.085234375 ms.
    @Test func analyticalRingScenarioMatchesTheClosedForm() throws {
        let path = TestSupport.packageRoot.appendingPathComponent("scenarios/ring-allreduce-4096.yaml").path
        for n in [4096, 512] {
            let plan = try ScenarioLoader.load(path: path, overrides: ["workload.gpus=\(n)"])
            let time = ExperimentRunner.run(plan, threads: 1).replications[0].metrics.first { $0.name.hasSuffix("time_s") }!.value
            let S = 1024.0 * 1024 * 1024, B = 50 * S, alpha = 500e-9
            let expected = 2 * Double(n - 1) * (alpha + S / (Double(n) * B))
            #expect(abs(time / expected - 1) < 1e-9, "\(n) GPUs: \(time) s simulated, \(expected) s closed form")
        }
    }

    /// cluster.system.collectives replaces the calibrated timing, and `hardware show` prints it
    /// so that it reads back.
    @Test func collectiveOverridesReadAndApply() throws {
        let text = """
            name: o
            cluster: { system: { preset: h100-sxm, collectives: { hop_latency: 2 us, link_efficiency: 0.5, chunk_bytes: 0, base_latency: 0 } } }
            workload: { kind: collective, operation: all_gather, gpus: 8, min_bytes: 8 MB, algorithm: ring }
            """
        let plan = try ScenarioLoader.plan(text: text, file: "o.yaml")
        let system = plan.variants[0].spec.cluster!.system
        #expect(system.collectives == CollectiveOverrides(hopLatency: 2e-6, linkEfficiency: 0.5, chunkBytes: 0, baseLatency: 0))
        let time = ExperimentRunner.run(plan, threads: 1).replications[0].metrics[0].value
        // 7 steps of 1 MB at half the port rate, 2 µs each.
        let expected = 7 * (2e-6 + 1e6 / (0.5 * system.gpu.nvlinkBandwidthPerDirection))
        #expect(abs(time / expected - 1) < 1e-9, "\(time) against \(expected)")
        let shown = try ScenarioLoader.plan(text: """
            name: o
            cluster:
            \(HardwareYAML.render(system).split(separator: "\n").filter { !$0.hasPrefix("#") }.map { "  " + $0 }.joined(separator: "\n"))
            workload: { kind: collective, operation: all_gather, gpus: 8, min_bytes: 8 MB }
            """, file: "shown.yaml")
        #expect(shown.variants[0].spec.cluster!.system.collectives == system.collectives)
    }
}

@Suite struct CustomAllReduceTests {
    /// One-shot reads every peer's buffer: L + (n − 1)·S/(ηB); two-shot moves 2(n − 1)/n of it in
    /// two shots; the fastest of them and NCCL is taken, so small messages go one-shot, large
    /// ones two-shot or NCCL.
    @Test func fastestOfOneShotTwoShotAndNCCL() {
        let m = CustomAllReduce(latency: 3e-6, efficiency: 0.5), b = 450e9
        let small = 64.0 * 1024, large = 64.0 * 1024 * 1024
        #expect(abs(m.oneShot(bytes: small, ranks: 8, bandwidth: b) - (3e-6 + 7 * small / 225e9)) < 1e-15)
        #expect(abs(m.twoShot(bytes: large, ranks: 8, bandwidth: b) - (6e-6 + 2 * 7.0 / 8 * large / 225e9)) < 1e-12)
        #expect(m.seconds(bytes: small, ranks: 8, bandwidth: b, nccl: 1) == m.oneShot(bytes: small, ranks: 8, bandwidth: b))
        #expect(m.seconds(bytes: large, ranks: 8, bandwidth: b, nccl: 1) == m.twoShot(bytes: large, ranks: 8, bandwidth: b))
        #expect(m.seconds(bytes: large, ranks: 8, bandwidth: b, nccl: 1e-6) == 1e-6)
    }
}
