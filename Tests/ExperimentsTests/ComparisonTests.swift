import Testing
import TestSupport
@testable import Experiments
import Report
import Scenario
import Stats
import Workloads

@Suite struct ComparisonTests {
    /// One 1 GB transfer alone on one link, 10 GB/s ("slow") against 20 GB/s ("fast"), `header`
    /// giving the seed, replications and noise.
    static func slowFastScenario(header: String) -> String {
        """
        name: pair
        \(header)
        workload:
          kind: transfers
          links: [ { name: l, bandwidth: 10 GB/s } ]
          transfers: [ { name: t, bytes: 1 GB, path: [l] } ]
        variants:
          - name: slow
          - name: fast
            set: { workload.links.0.bandwidth: 20 GB/s }
        """
    }

    /// The comparison rows of that scenario's fast variant against the slow one.
    static func slowAgainstFast(header: String) throws -> [ComparisonRow] {
        let plan = try ScenarioLoader.plan(text: slowFastScenario(header: header), file: "pair.yaml")
        return Comparison.rows(ExperimentRunner.run(plan, threads: 1), compare: CompareSpec(baseline: "slow"), catalogue: plan.metricCatalogue)
    }

    /// Without noise the replications agree exactly: the comparison says so, gives no p-value,
    /// and warns; with one replication there is no interval at all.
    @Test func noNoiseWarnsAndOneReplicationHasNoInterval() throws {
        func rows(replications: Int) throws -> [ComparisonRow] { try Self.slowAgainstFast(header: "replications: \(replications)") }
        let three = try rows(replications: 3)
        let makespan = three.first { $0.metric == "makespan_s" }!
        #expect(makespan.comparison.isDegenerate && makespan.comparison.pValue.isNaN)
        #expect(abs(makespan.comparison.speedup - 2) < 1e-12)
        let warnings = Comparison.warnings(three)
        #expect(warnings.count == 1 && warnings[0].hasPrefix("fast vs slow: the replications agree exactly on makespan_s"))
        let one = try rows(replications: 1)
        #expect(one.allSatisfy { $0.comparison.n == 1 && $0.comparison.pValue.isNaN })
        #expect(Comparison.warnings(one) == ["fast vs slow: one replication, so no interval, p-value or verdict; set replications: 2 or more and a noise section"])
    }

    /// One transfer alone on one link; the variant's link is twice as fast, so its true
    /// speedup (geometric mean over the jitter) is exactly 2. With independent streams per
    /// variant the log ratios are normal and the t-interval is exact: at least 93 of 100 seeds'
    /// intervals must contain 2 (a correct 95% interval fails that with probability ~0.13 for
    /// random seeds; these seeds are fixed, so the outcome is too).
    @Test func intervalCoversTheTrueSpeedup() throws {
        var covered = 0
        for seed in 1...100 {
            let rows = try Self.slowAgainstFast(header: "seed: \(seed)\nreplications: 10\nnoise: { network_cv: 0.1, common_random_numbers: false }")
            let makespan = rows.first { $0.metric == "makespan_s" }!
            if makespan.comparison.ci95.contains(2) { covered += 1 }
        }
        print("coverage: \(covered) of 100")
        #expect(covered >= 93)
    }

    /// Common random numbers: the same copy on H100 and H200 with kernel jitter; paired on the
    /// same draws the interval of the speedup is much narrower than with independent streams.
    @Test func commonRandomNumbersNarrowTheInterval() throws {
        func width(crn: Bool) throws -> Double {
            let text = """
            name: crn
            replications: 20
            cluster: { system: h100-sxm }
            noise: { kernel_cv: 0.05, common_random_numbers: \(crn) }
            workload: { kind: memcpy, bytes: 1 GB, iterations: 5 }
            variants:
              - name: h100
              - name: h200
                set:
                  cluster.system: h200-sxm
            """
            let plan = try ScenarioLoader.plan(text: text, file: "c.yaml")
            let row = Comparison.rows(ExperimentRunner.run(plan, threads: 2), compare: CompareSpec(baseline: "h100"), catalogue: plan.metricCatalogue).first { $0.metric == "time_s" }!
            return row.comparison.ci95.upperBound - row.comparison.ci95.lowerBound
        }
        let paired = try width(crn: true), independent = try width(crn: false)
        print("CI width: common random numbers \(paired), independent \(independent)")
        #expect(paired < independent / 10)
    }
}

@Suite struct ClockThrottlingTests {
    /// noise.clock_cv draws one clock factor per run: replications differ, every kernel of a run
    /// slows alike, and the same seed reproduces them; the spread of time_s is the clock's (10%).
    @Test func oneDrawPerRun() throws {
        let text = """
        name: clock
        replications: 40
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        noise: { clock_cv: 0.1 }
        workload: { kind: gemm, m: 8192, n: 8192, k: 8192, iterations: 4 }
        """
        let plan = try ScenarioLoader.plan(text: text, file: "c.yaml")
        let times = ExperimentRunner.run(plan, threads: 2).replications.map { $0.metrics.first { $0.name == "time_s" }!.value }
        let again = ExperimentRunner.run(plan, threads: 1).replications.map { $0.metrics.first { $0.name == "time_s" }!.value }
        #expect(times == again)
        let s = Summary(times)
        print("clock_cv 0.1: time_s mean \(s.mean), cv \(s.standardDeviation! / s.mean)")
        #expect((0.06...0.14).contains(s.standardDeviation! / s.mean))
    }
}
