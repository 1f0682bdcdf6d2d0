import Testing
@testable import Workloads

@Suite struct TrainingStepTests {
    /// A step of `p` identical stages with one layer per chunk: forward `tf`, backward `tb`
    /// seconds, free sends, no data-parallel communication.
    static func uniform(p: Int, m: Int, v: Int = 1, tf: Double = 1, tb: Double = 2, send: Double = 0) -> TrainingStepPlan {
        let stage = StageWork(
            forward: Array(repeating: [LayerPass(compute: tf / Double(v), communication: 0)], count: v),
            backward: Array(repeating: [LayerPass(compute: tb / Double(v), communication: 0)], count: v),
            activationBytes: Array(repeating: [1], count: v), bucket: (0..<v).map { [$0] },
            reduceSeconds: Array(repeating: 0, count: v), gatherSeconds: Array(repeating: 0, count: v),
            sendSeconds: send, optimizerSeconds: 0)
        return TrainingStepPlan(stages: Array(repeating: stage, count: p), microBatches: m, chunks: v, replicas: 1,
                                sharding: .perStep(gatherParameters: false), overlapGradientReduce: true, commSMFraction: 0)
    }

    @Test func scheduleRunsEveryPassOnce() {
        for (p, m, v) in [(4, 8, 1), (4, 8, 2), (8, 16, 4), (2, 1, 1), (4, 4, 2)] {
            for s in 0..<p {
                let order = PipelineSchedule.order(stage: s, stages: p, microBatches: m, chunks: v)
                #expect(order.count == 2 * m * v)
                #expect(Set(order).count == 2 * m * v)
                // Each backward comes after its forward.
                for (i, t) in order.enumerated() where !t.forward {
                    let f = order.firstIndex(of: PipelineTask(forward: true, microBatch: t.microBatch, chunk: t.chunk))!
                    #expect(f < i)
                }
            }
        }
    }

    @Test func oneF1BBubbleMatchesClosedForm() {
        for (p, m) in [(2, 4), (4, 8), (8, 8), (8, 32), (16, 32), (4, 1)] {
            let result = TrainingStep.run(Self.uniform(p: p, m: m))
            let expected = Double(p - 1) / Double(m + p - 1)
            #expect(abs(result.bubbleFraction - expected) <= 0.02 * expected + 1e-12, "p \(p) m \(m): \(result.bubbleFraction) vs \(expected)")
            // The whole step: (m + p − 1)(tf + tb).
            #expect(abs(result.stepTime - Double(m + p - 1) * 3) < 1e-9)
        }
    }

    @Test func interleavingShrinksTheBubble() {
        for (p, m, v) in [(4, 8, 2), (8, 16, 2), (4, 16, 4)] {
            let result = TrainingStep.run(Self.uniform(p: p, m: m, v: v))
            let expected = Double(p - 1) / Double(v * m + p - 1)
            #expect(abs(result.bubbleFraction - expected) <= 0.02 * expected, "p \(p) m \(m) v \(v): \(result.bubbleFraction) vs \(expected)")
            #expect(result.bubbleFraction < TrainingStep.run(Self.uniform(p: p, m: m)).bubbleFraction)
        }
    }

    @Test func activationsInFlightFollowTheSchedule() {
        // 1F1B: stage 0 holds p micro-batches at its peak (one activation byte each here).
        let result = TrainingStep.run(Self.uniform(p: 4, m: 8))
        #expect(result.peakActivationBytes == [4, 3, 2, 1])
    }
}

@Suite struct DataParallelStreamTests {
    /// One stage, one micro-batch, two layers of 1 s forward and 1 s backward, each its own
    /// bucket whose gradient reduction takes 1 s. Layer 1's reduction (t = 3…4) runs while layer
    /// 0's backward computes; holding half the GPU, it stretches that backward from 1 s to
    /// 1.5 s (0.5 s of work at half rate, then 0.5 s at full), so the last reduction ends at
    /// 5.5 s instead of 5.
    @Test func collectivesSlowTheComputeTheyOverlap() {
        func step(contention: Double) -> Double {
            var stage = StageWork(
                forward: [[LayerPass(compute: 1, communication: 0), LayerPass(compute: 1, communication: 0)]],
                backward: [[LayerPass(compute: 1, communication: 0), LayerPass(compute: 1, communication: 0)]],
                activationBytes: [[1, 1]], bucket: [[0, 1]], reduceSeconds: [1, 1], gatherSeconds: [0, 0],
                sendSeconds: 0, optimizerSeconds: 0)
            stage.reduceContention = [contention, contention]
            let plan = TrainingStepPlan(stages: [stage], microBatches: 1, chunks: 1, replicas: 1, sharding: .perStep(gatherParameters: false),
                                        overlapGradientReduce: true, commSMFraction: 0)
            return TrainingStep.run(plan).stepTime
        }
        #expect(abs(step(contention: 0) - 5) < 1e-12)
        #expect(abs(step(contention: 0.5) - 5.5) < 1e-12)
    }

    /// Unfolded, a collective starts only when every replica has posted it: a replica slowed
    /// by half delays the step as much as a folded run in which the one simulated replica is slow.
    @Test func unfoldedCollectivesWaitForTheSlowestReplica() {
        let stage = StageWork(
            forward: [[LayerPass(compute: 1, communication: 0)]], backward: [[LayerPass(compute: 2, communication: 0)]],
            activationBytes: [[1]], bucket: [[0]], reduceSeconds: [0.5], gatherSeconds: [0], sendSeconds: 0, optimizerSeconds: 0.1)
        var plan = TrainingStepPlan(stages: [stage], microBatches: 2, chunks: 1, replicas: 4, sharding: .perStep(gatherParameters: false),
                                    overlapGradientReduce: true, commSMFraction: 0)
        let unfolded = TrainingStep.run(plan, slowdown: { $0 == 2 ? 1.5 : 1 }).stepTime
        plan.replicas = 1
        let folded = TrainingStep.run(plan, slowdown: { _ in 1.5 }).stepTime
        #expect(abs(unfolded - (6 * 1.5 + 0.5 + 0.1)) < 1e-12)
        #expect(abs(unfolded - folded) < 1e-12)
    }
}
