import Testing
@testable import Engine

/// Closed-form checks of max-min sharing. Each case writes the system and the hand-derived
/// expectation above its asserts.
@Suite struct FluidSystemTests {
    enum Done: Equatable { case flow(String) }

    /// Runs the simulator and records (name, completion time).
    func completions(_ sim: Simulator<Done>) -> [(String, Double)] {
        var log: [(String, Double)] = []
        sim.run { event in
            if case .flow(let name) = event { log.append((name, sim.now)) }
        }
        return log
    }

    /// One link of 100 B/s, two transfers of 100 B: each gets 50 B/s, both end at t = 2.
    @Test func twoEqualTransfersShareOneLinkAndFinishTogether() {
        let sim = Simulator<Done>()
        let link = sim.addResource(capacity: 100)
        let a = sim.startActivity(work: 100, demands: [Demand(link)], completion: .flow("a"))
        let b = sim.startActivity(work: 100, demands: [Demand(link)], completion: .flow("b"))
        #expect(sim.fluid.rate(of: a) == 50)
        #expect(sim.fluid.rate(of: b) == 50)
        let log = completions(sim)
        #expect(log.map(\.0) == ["a", "b"])
        #expect(log.allSatisfy { $0.1 == 2 })
    }

    /// A path over links of 100 B/s and 40 B/s runs at 40 B/s: 80 B take 2 s.
    @Test func pathIsLimitedByTheNarrowerLink() {
        let sim = Simulator<Done>()
        let wide = sim.addResource(capacity: 100)
        let narrow = sim.addResource(capacity: 40)
        let a = sim.startActivity(work: 80, demands: [Demand(wide), Demand(narrow)], completion: .flow("a"))
        #expect(sim.fluid.rate(of: a) == 40)
        #expect(completions(sim).first?.1 == 2)
    }

    /// Link 100 B/s; a = 50 B, b = 150 B. Both run at 50 B/s until a ends at t = 1 (b has
    /// 100 B left); b then runs at 100 B/s and ends at t = 2.
    @Test func survivorSpeedsUpAtTheInstantTheOtherFinishes() {
        let sim = Simulator<Done>()
        let link = sim.addResource(capacity: 100)
        sim.startActivity(work: 50, demands: [Demand(link)], completion: .flow("a"))
        let b = sim.startActivity(work: 150, demands: [Demand(link)], completion: .flow("b"))
        var rateOfBAfterA = 0.0
        var log: [(String, Double)] = []
        sim.run { event in
            guard case .flow(let name) = event else { return }
            log.append((name, sim.now))
            if name == "a" { rateOfBAfterA = sim.fluid.rate(of: b) }
        }
        #expect(log.map(\.0) == ["a", "b"])
        #expect(log[0].1 == 1)
        #expect(rateOfBAfterA == 100)
        #expect(abs(log[1].1 - 2) < 1e-12)
    }

    /// The classic three-flow line (Bertsekas & Gallager §6.5.2): links L1 = 10, L2 = 4.
    /// Flow x crosses L1 and L2, y crosses L2 only, z crosses L1 only.
    /// L2 saturates first at level 2 (x = y = 2); then z takes what is left of L1: 10 − 2 = 8.
    @Test func threeFlowsWithDifferentPathsReachTheMaxMinAllocation() {
        var fluid = FluidSystem()
        let l1 = fluid.addResource(capacity: 10)
        let l2 = fluid.addResource(capacity: 4)
        let x = fluid.start(work: 1, demands: [Demand(l1), Demand(l2)], now: 0)
        let y = fluid.start(work: 1, demands: [Demand(l2)], now: 0)
        let z = fluid.start(work: 1, demands: [Demand(l1)], now: 0)
        #expect(fluid.rate(of: x) == 2)
        #expect(fluid.rate(of: y) == 2)
        #expect(fluid.rate(of: z) == 8)
        #expect(fluid.checkInvariants().isEmpty)
    }

    /// Weights: a copy reading and writing one HBM of 100 B/s (weight 2) moves 50 B/s of data.
    /// A bound below the fair share holds: bound 10 beside a free flow leaves 90 to it.
    @Test func weightsAndBounds() {
        var fluid = FluidSystem()
        let hbm = fluid.addResource(capacity: 100)
        let copy = fluid.start(work: 1, demands: [Demand(hbm, weight: 2)], now: 0)
        #expect(fluid.rate(of: copy) == 50)
        var other = FluidSystem()
        let link = other.addResource(capacity: 100)
        let slow = other.start(work: 1, demands: [Demand(link)], bound: 10, now: 0)
        let fast = other.start(work: 1, demands: [Demand(link)], now: 0)
        #expect(other.rate(of: slow) == 10)
        #expect(other.rate(of: fast) == 90)
        #expect(other.checkInvariants().isEmpty)
    }

    /// An activity with nothing to wait for completes at once; events queued for the same
    /// instant are delivered before it (it is queued when it finishes).
    @Test func zeroWorkCompletesImmediatelyAfterQueuedEvents() {
        let sim = Simulator<Done>()
        let link = sim.addResource(capacity: 1)
        sim.schedule(.flow("queued"), at: 0)
        sim.startActivity(work: 0, demands: [Demand(link)], completion: .flow("empty"))
        let log = completions(sim)
        #expect(log.map(\.0) == ["queued", "empty"])
        #expect(log.allSatisfy { $0.1 == 0 })
    }

    /// The run stops at the limit with the clock there, and resumes from it.
    @Test func runUntilLimitStopsTheClockAtTheLimit() {
        let sim = Simulator<Done>()
        let link = sim.addResource(capacity: 10)
        sim.startActivity(work: 100, demands: [Demand(link)], completion: .flow("a"))
        #expect(sim.run(until: 4) { _ in } == 0)
        #expect(sim.now == 4)
        #expect(abs(sim.fluid.remainingWork(of: ActivityID(0), at: 4) - 60) < 1e-9)
        var end = 0.0
        sim.run { _ in end = sim.now }
        #expect(end == 10)
    }

    /// 1,000 random systems: after every arrival and completion the allocation satisfies the
    /// max-min conditions (no resource over capacity; every activity is at its bound or crosses
    /// a saturated resource on which no activity has a higher rate).
    @Test func randomSystemsSatisfyMaxMinConditions() {
        var generator = SplitMix(2024)
        var violations: [String] = []
        for system in 0..<1000 {
            var fluid = FluidSystem()
            let resourceCount = 1 + Int(generator.next() % 8)
            let resources = (0..<resourceCount).map { _ in fluid.addResource(capacity: 1 + 99 * generator.uniform()) }
            var now = 0.0
            for _ in 0..<(1 + Int(generator.next() % 12)) {
                var demands: [Demand] = []
                for r in resources where generator.uniform() < 0.4 {
                    demands.append(Demand(r, weight: generator.uniform() < 0.3 ? 0.5 + 2 * generator.uniform() : 1))
                }
                if demands.isEmpty { demands.append(Demand(resources[Int(generator.next() % UInt64(resourceCount))])) }
                let bound = generator.uniform() < 0.2 ? 1 + 20 * generator.uniform() : Double.infinity
                _ = fluid.start(work: 1 + 50 * generator.uniform(), demands: demands, bound: bound, now: now)
                violations += fluid.checkInvariants().map { "system \(system), arrival: \($0)" }
            }
            while let t = fluid.nextCompletionTime() {
                now = t
                _ = fluid.completeDue(at: t)
                violations += fluid.checkInvariants().map { "system \(system), completion: \($0)" }
            }
            #expect(fluid.activeCount == 0)
        }
        #expect(violations.isEmpty, "\(violations.prefix(5))")
    }
}

@Suite struct FluidBatchTests {
    /// Starting activities together gives the same rates as starting them one by one.
    @Test func batchStartMatchesOneByOne() {
        var generator = SplitMix(99)
        for _ in 0..<50 {
            var single = FluidSystem(), batch = FluidSystem()
            let capacities = (0..<6).map { _ in 1 + 50 * generator.uniform() }
            let rs = capacities.map { single.addResource(capacity: $0) }
            _ = capacities.map { batch.addResource(capacity: $0) }
            var requests: [ActivityRequest] = []
            for _ in 0..<8 {
                let demands = rs.filter { _ in generator.uniform() < 0.4 }.map { Demand($0) }
                requests.append(ActivityRequest(work: 10, demands: demands.isEmpty ? [Demand(rs[0])] : demands))
            }
            let one = requests.map { single.start(work: $0.work, demands: $0.demands, bound: $0.bound, now: 0) }
            let all = batch.start(requests, now: 0)
            #expect(one.map { single.rate(of: $0) } == all.map { batch.rate(of: $0) })
            #expect(batch.checkInvariants().isEmpty)
        }
    }
}
