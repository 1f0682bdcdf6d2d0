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
