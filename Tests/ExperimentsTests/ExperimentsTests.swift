import Testing
import TestSupport
@testable import Experiments
import Report
import Scenario
import Workloads
import Cluster

@Suite struct TransferSimulationTests {
    func metric(_ name: String, _ metrics: [Metric]) -> Double { metrics.first { $0.name == name }!.value }

    /// Without noise: a = 1 GB over up (100 GB/s, 1 us) and down (50 GB/s) alone until b starts
    /// at 1 ms. In that first ms a moves 1 us late: 50 GB/s · (1 ms − 1 us) = 49.95 MB.
    /// Then a and b share down at 25 GB/s each. a has 950.05 MB left: 38.002 ms more, ending at
    /// 39.002 ms, having let b move 950.05 MB. b then has 1049.95 MB at 50 GB/s: 20.999 ms,
    /// ending at 60.001 ms = 1 us + (3 GB / 50 GB/s), as conservation of the down link says.
    @Test func closedFormWithoutNoise() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(noise: 0), file: "s.yaml")
        let results = ExperimentRunner.run(plan, threads: 1)
        for run in results.replications {
            #expect(abs(metric("transfer.a.completion_s", run.metrics) - 0.039002) < 1e-12)
            #expect(abs(metric("transfer.b.completion_s", run.metrics) - 0.060001) < 1e-12)
            #expect(abs(metric("makespan_s", run.metrics) - 0.060001) < 1e-12)
            #expect(abs(metric("transfer.b.duration_s", run.metrics) - 0.059001) < 1e-12)
        }
    }

    /// Noise varies replications, and the same seed reproduces them exactly.
    @Test func noiseIsSeededPerReplication() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(replications: 4, noise: 0.1), file: "s.yaml")
        let first = ExperimentRunner.run(plan, threads: 1)
        let again = ExperimentRunner.run(plan, threads: 2)
        let makespans = first.replications.map { metric("makespan_s", $0.metrics) }
        #expect(Set(makespans).count == 4)
        #expect(makespans == again.replications.map { metric("makespan_s", $0.metrics) })
    }

    /// The CSVs are byte-identical whatever the thread count.
    @Test(arguments: [2, 3, 8])
    func csvIndependentOfThreadCount(threads: Int) throws {
        let variants = "variants:\n  - name: fast\n  - name: slow\n    set:\n      workload.links[1].bandwidth: 10 GB/s\n"
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(replications: 7, extra: variants), file: "s.yaml")
        let one = ExperimentRunner.run(plan, threads: 1)
        let many = ExperimentRunner.run(plan, threads: threads)
        #expect(ResultFiles.replicationsCSV(one) == ResultFiles.replicationsCSV(many))
        #expect(ResultFiles.summaryCSV(one, rows: ResultFiles.summaries(one)) == ResultFiles.summaryCSV(many, rows: ResultFiles.summaries(many)))
    }

    /// Common random numbers: replication r of each variant draws the same jitter, so with
    /// one transfer alone on a link the two variants' times differ by exactly the bandwidth ratio.
    @Test func variantsShareRandomNumbers() throws {
        let text = ComparisonTests.slowFastScenario(header: "replications: 5\nnoise: { network_cv: 0.2 }")
        let results = ExperimentRunner.run(try ScenarioLoader.plan(text: text, file: "s.yaml"), threads: 2)
        let slow = results.replications.filter { $0.variant == "slow" }.map { metric("makespan_s", $0.metrics) }
        let fast = results.replications.filter { $0.variant == "fast" }.map { metric("makespan_s", $0.metrics) }
        for (s, f) in zip(slow, fast) { #expect(abs(s / f - 2) < 1e-12) }
    }
}

@Suite struct NoiselessReplicationTests {
    /// Without noise every replication equals the first (they are copies, numbered 1…n).
    @Test func noiselessReplicationsAreIdentical() throws {
        let plan = try ScenarioLoader.plan(text: TestSupport.transfersScenario(replications: 5, noise: 0), file: "s.yaml")
        let results = ExperimentRunner.run(plan, threads: 2)
        #expect(results.replications.map(\.replication) == [1, 2, 3, 4, 5])
        #expect(Set(results.replications.map { $0.metrics.map(\.value) }).count == 1)
    }
}

/// The scale-out transport sets the NICs' share of their bandwidth: a large all-reduce over 4
/// nodes of 8 B200s, NIC-bound (its NVLink carries 900 GB/s), is as much slower over RoCE than
/// over InfiniBand as RoCE's fitted efficiency is below InfiniBand's; inside one node the
/// transport does nothing.
@Suite struct ScaleOutTransportTests {
    @Test func roceIsSlowerThanInfiniBandAcrossNodes() throws {
        func time(_ gpus: Int, _ transport: String) throws -> Double {
            let yaml = "name: t\ncluster: { system: b200, scale_out: { transport: \(transport) } }\n"
                + "workload: { kind: collective, operation: all_reduce, gpus: \(gpus), min_bytes: 8 GiB }\n"
            return try metrics(yaml)["all_reduce.8589934592B.time_s"]!
        }
        let ib = try time(32, "infiniband"), roce = try time(32, "roce")
        let ratio = CollectiveTiming.nicEfficiency(for: .blackwell, transport: .infiniband) / CollectiveTiming.nicEfficiency(for: .blackwell, transport: .roce)
        print("8 GiB all-reduce on 4 × 8 B200: InfiniBand \(ib) s, RoCE \(roce) s (efficiency ratio \(ratio))")
        #expect(abs(roce / ib / ratio - 1) < 0.01)
        #expect(try time(8, "roce") == time(8, "infiniband"))
    }
}
