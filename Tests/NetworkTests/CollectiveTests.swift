import Testing
@testable import Cluster
@testable import Network

@Suite struct CollectiveTests {
    /// Ring all-reduce of S bytes on n ranks, link bandwidth B, latency α per step, chunking off:
    /// 2(n−1)(α + S/(nB)) (Patarasuk & Yuan 2009). Base latency 0, full link efficiency.
    @Test(arguments: [2, 4, 8, 72])
    func ringAllReduceClosedForm(ranks n: Int) {
        let S = 256e6, B = 450e9, alpha = 2e-6
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: alpha, linkEfficiency: 1, nvlsEfficiency: 1)
        let plan = CollectivePlanner.plan(.allReduce, bytes: S, ranks: n, algorithm: .ring)
        let simulated = CollectiveRun.seconds(plan, bandwidth: B, timing: timing)
        let closed = 2 * Double(n - 1) * (alpha + S / (Double(n) * B))
        #expect(abs(simulated / closed - 1) < 0.02, "simulated \(simulated), closed form \(closed)")
    }

    /// All-to-all: each rank's egress carries (n−1)/n of its buffer; all ports busy at once.
    @Test func allToAllIsBoundByEachPort() {
        let S = 1e9, B = 100e9, n = 8
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1)
        let t = CollectiveRun.seconds(CollectivePlanner.plan(.allToAll, bytes: S, ranks: n, algorithm: .direct), bandwidth: B, timing: timing)
        #expect(abs(t - Double(n - 1) / Double(n) * S / B) < 1e-12)
    }

    @Test func busBandwidthFactors() {
        #expect(CollectiveOperation.allReduce.busBandwidthFactor(ranks: 8) == 1.75)
        #expect(CollectiveOperation.allGather.busBandwidthFactor(ranks: 8) == 0.875)
        #expect(CollectivePlanner.defaultAlgorithm(.allReduce, ranks: 8, nvls: true) == .nvls)
        #expect(CollectivePlanner.defaultAlgorithm(.allReduce, ranks: 2, nvls: true) == .ring)
    }
}
