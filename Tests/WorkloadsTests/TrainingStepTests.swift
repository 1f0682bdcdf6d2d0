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

import Hardware
import Models
import Scenario

/// The memory ledger as Megatron-Core allocates it (its distributed optimizer's table: bf16
/// gradients 4 + 16/d bytes per parameter, fp32 gradients 6 + 12/d).
@Suite struct TrainingMemoryTests {
    /// Llama 3 405B, FP8, on 256 H100s in the layout of NVIDIA's Megatron-Bridge recipe (TP 8,
    /// PP 8, CP 2, VP 8; the recipe's 1,024 GPUs give DP 8, here DP 2): with bf16 gradient
    /// buffers and fp8 parameters it fits in 80 GB; with fp32 gradients and bf16 weights beside
    /// their fp8 copy it does not. The refusal's byte
    /// categories sum to the total it says is needed.
    @Test func llama405BFitsWithBF16GradientsAndFP8Parameters() throws {
        func check(_ extra: String) throws {
            let yaml = """
                name: l
                cluster: { system: h100-sxm, gpus: 256 }
                workload: { kind: training, model: llama3-405b, precision: fp8, parallelism: { tp: 8, pp: 8, cp: 2, vp: 8, dp: 2 },
                            sequence_length: 8192, global_batch: 512, micro_batch: 1, cross_entropy_fusion: true, \(extra) }
                """
            let spec = try ScenarioLoader.plan(text: yaml, file: "l.yaml").variants[0].spec
            try TrainingWorkload.checkMemory(spec, spec.workload as! TrainingSpec)
        }
        try check("gradient_reduce_precision: bf16, fp8_params: true")
        do {
            try check("gradient_reduce_precision: fp32, fp8_params: false")
            Issue.record("fp32 gradients and bf16 weights fit")
        } catch let error as MemoryError {
            print(error)
            #expect(error.needed > error.capacity && error.capacity == SystemSpec.h100SXM.gpu.hbmCapacity)
            #expect(abs(error.booked.values.reduce(0, +) / error.needed - 1) < 1e-12)
        }
    }

    /// Context-parallel ranks hold the same weights: the distributed optimizer shards over
    /// dp × cp, so DP 4 × CP 2 books the optimizer state of DP 8, and the gradient
    /// reduce-scatter spans the same 8 ranks.
    @Test func optimizerShardsOverDataAndContextParallelRanks() throws {
        func built(_ parallelism: String) throws -> TrainingWorkload.Built {
            let yaml = """
                name: l
                cluster: { system: h100-sxm, gpus: 8 }
                workload: { kind: training, model: llama3-8b, parallelism: \(parallelism), sequence_length: 8192, global_batch: 8 }
                """
            let spec = try ScenarioLoader.plan(text: yaml, file: "l.yaml").variants[0].spec
            return TrainingWorkload.build(spec, spec.workload as! TrainingSpec)!
        }
        func optimizer(_ b: TrainingWorkload.Built) -> Double { b.staticMemory[0].filter { $0.category == .optimizerState }.map(\.bytes).reduce(0, +) }
        let dp8 = try built("{ tp: 1, pp: 1, dp: 8 }"), cp2 = try built("{ tp: 1, pp: 1, cp: 2, dp: 4 }")
        #expect(optimizer(cp2) == optimizer(dp8))
        #expect(cp2.plan.stages[0].reduceSeconds.reduce(0, +) > 0)
    }

    /// The cross-entropy over Llama 3 8B's 128,256-entry vocabulary: unfused it writes fp32
    /// logits and reads them back (12 bytes per logit), fused it reads the bf16 logits once.
    @Test func fusedCrossEntropyReadsTheLogitsOnce() throws {
        let model = try #require(ModelSpec.named("llama3-8b"))
        var s = TrainingShape(model: model, tp: 1, sequenceParallel: false, microBatch: 1, sequence: 4096, recompute: .none)
        func bytes(_ s: TrainingShape) -> Double? {
            guard case let .elementwise(b)? = TrainingOps.head(s).first(where: { $0.name == "cross_entropy" })?.op else { return nil }
            return b
        }
        let logits = Double(4096 * model.vocabulary)
        #expect(bytes(s) == logits * 12)
        s.fusedCrossEntropy = true
        #expect(bytes(s) == logits * 2)
    }

    /// The rotary embedding reads and writes this rank's queries and keys once in bf16 after the
    /// QKV projection (Llama 3 70B at TP 8: 8 query heads and 1 KV head of 128 per rank), and
    /// its backward moves twice that.
    @Test func ropeRotatesTheQueriesAndKeys() throws {
        let model = try #require(ModelSpec.named("llama3-70b"))
        let s = TrainingShape(model: model, tp: 8, sequenceParallel: true, microBatch: 1, sequence: 8192, recompute: .none)
        let forward = TrainingOps.forward(0, s), backward = TrainingOps.backward(0, s)
        let names = forward.map(\.name)
        #expect(names.firstIndex(of: "rope")! == names.firstIndex(of: "qkv_gemm")! + 1)
        guard case let .elementwise(bytes)? = forward.first(where: { $0.name == "rope" })?.op,
              case let .elementwise(back)? = backward.first(where: { $0.name == "rope_backward" })?.op else {
            Issue.record("no rope kernel")
            return
        }
        #expect(bytes == 8192 * Double(8 + 1) * 128 * 2 * 2)
        #expect(back == 2 * bytes)
    }

    /// Backward: the output gradient is cast once, for both layouts, before the data-gradient
    /// GEMM, and the weight-gradient GEMM casts nothing (its other input is the forward's copy);
    /// each forward input is cast for both layouts too (the weight gradient reads it again).
    @Test func eachOutputGradientIsCastOnce() throws {
        let model = try #require(ModelSpec.named("llama3-8b"))
        let s = TrainingShape(model: model, tp: 1, sequenceParallel: false, microBatch: 1, sequence: 4096, recompute: .none)
        let copies = Dictionary(uniqueKeysWithValues: TrainingOps.backward(0, s).compactMap { op -> (String, Int)? in
            if case let .gemm(_, _, _, _, c) = op.op { (op.name, c) } else { nil }
        })
        #expect(copies["mlp_up_gemm_dgrad"] == 2 && copies["mlp_up_gemm_wgrad"] == 0)
        #expect(TrainingOps.forward(0, s).allSatisfy { if case let .gemm(_, _, _, _, c) = $0.op { c == 2 } else { true } })
    }

    /// A second layout is a second copy where the chip needs it: Hopper's fp8 GEMMs (TN only:
    /// a transposed copy) and NVFP4 (scales along K); Blackwell's fp8 reads one copy both ways.
    @Test func aSecondLayoutCostsACopyOnlyWhereTheChipNeedsIt() {
        func extra(_ system: SystemSpec, _ precision: Precision) -> Double {
            let pricing = TrainingWorkload.Pricing(kernels: KernelModel(gpu: system.gpu), precision: precision, groups: [:], overlap: 0, kernelEfficiency: 1)
            let both = pricing.pass([("g", .gemm(m: 4096, n: 4096, k: 4096, batch: 1, castLayouts: 2))]).compute
            let one = pricing.pass([("g", .gemm(m: 4096, n: 4096, k: 4096, batch: 1, castLayouts: 1))]).compute
            return both - one
        }
        let copy = KernelModel(gpu: SystemSpec.h100SXM.gpu).memoryBound(bytesRead: 0, bytesWritten: 4096 * 4096, fixedTime: 0).seconds
        #expect(abs(extra(.h100SXM, .fp8) - copy) < 1e-12)
        #expect(extra(.gb200NVL72, .fp8) == 0)
        #expect(extra(.gb200NVL72, .fp4) > 0)
    }

    /// Bytes per parameter, one stage on one rank: the distributed optimizer's table.
    @Test func bytesPerParameterFollowMegatronsTable() throws {
        func ledger(_ extra: String) throws -> [MemoryCategory: Double] {
            let yaml = """
                name: l
                cluster: { system: b200, gpus: 8 }
                workload: { kind: training, model: llama3-8b, parallelism: { tp: 1, pp: 1, dp: 8 }, sequence_length: 4096, global_batch: 8, \(extra) }
                """
            let spec = try ScenarioLoader.plan(text: yaml, file: "l.yaml").variants[0].spec
            let built = TrainingWorkload.build(spec, spec.workload as! TrainingSpec)!
            var booked: [MemoryCategory: Double] = [:]
            for item in built.staticMemory[0] { booked[item.category, default: 0] += item.bytes }
            return booked
        }
        let bf16 = try ledger("gradient_reduce_precision: bf16"), fp32 = try ledger("gradient_reduce_precision: fp32")
        let p = bf16[.weights]! / 2, d = 8.0
        #expect(abs((bf16[.weights]! + bf16[.gradients]! + bf16[.optimizerState]!) / p - (4 + 16 / d)) < 1e-9)
        #expect(abs((fp32[.weights]! + fp32[.gradients]! + fp32[.optimizerState]!) / p - (6 + 12 / d)) < 1e-9)
        let fp8 = try ledger("precision: fp8, fp8_params: true")
        #expect(abs(fp8[.weights]! / p - 1) < 1e-9)
        // NVFP4: bf16 weights and their 4-bit copy with one fp8 scale per 16 values.
        let fp4 = try ledger("precision: fp4").filter { $0.key == .weights }
        #expect(abs(fp4[.weights]! / p - 2.5625) < 1e-9)
        #expect(throws: (any Error).self) { try ledger("fp8_params: true") }
    }
}
