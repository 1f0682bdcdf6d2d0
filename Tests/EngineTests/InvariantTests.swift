import Testing
@testable import Engine

/// Each run-time invariant of --check, broken on purpose: the check must report it.
@Suite struct InvariantTests {
    enum Done { case flow, tick }

    @Test func overCapacityResourceIsReported() {
        let violations = Invariants.checking {
            let sim = Simulator<Done>()
            let link = sim.addResource(capacity: 100)
            sim.startActivity(work: 1_000, demands: [Demand(link)], completion: .flow)
            // The activity was given the full 100/s; a capacity halved behind the solver's back
            // leaves the resource carrying twice what it can.
            sim.fluidSystem.resources[link.index].capacity = 50
            sim.run { _ in }
        }
        #expect(violations.contains { $0.hasPrefix("fluid system at 0.0 s: resource 0 carries 100.0 > capacity 50.0") }, "\(violations)")
    }

    @Test func clockGoingBackIsReported() {
        let violations = Invariants.checking {
            let sim = Simulator<Done>()
            sim.schedule(.tick, at: 5)
            sim.currentTime = 10  // as if an event had been delivered late
            sim.run { _ in }
        }
        #expect(violations.contains("clock: event at 5.0 s after the clock reached 10.0 s"), "\(violations)")
    }

    @Test func consistentRunsReportNothing() {
        let violations = Invariants.checking {
            let sim = Simulator<Done>()
            let link = sim.addResource(capacity: 100)
            for _ in 0..<3 { sim.startActivity(work: 100, demands: [Demand(link)], completion: .flow) }
            sim.schedule(.tick, at: 1)
            sim.run { _ in }
        }
        #expect(!violations.contains { $0.hasPrefix("fluid") || $0.hasPrefix("clock") })
    }
}
