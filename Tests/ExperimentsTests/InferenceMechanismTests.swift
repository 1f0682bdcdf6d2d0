import Foundation
import Testing
import TestSupport
@testable import Experiments
import Cluster
import Hardware
import Report
import Scenario
import Models
@testable import Workloads

@Suite struct TensorParallelMoETests {
    /// Tensor-parallel MoE splits every expert's FFN columns over the group: GPT-MoE-1.8T's 16
    /// experts on TP 28 at a batch large enough to use them all price 16 grouped slices of
    /// ⌈f/28⌉ columns per rank, so the expert weights a rank reads are 1/28 of all experts' (to
    /// the rounding of the slice), the share its memory ledger holds, not a whole expert.
    @Test func everyRankReadsASliceOfEveryExpert() {
        let model = ModelSpec.named("gpt-moe-1.8t")!, moe = model.moe!
        let ops = InferenceOps.moeOps(model: model, moe: moe, tokens: 4096, tp: 28)
        var elements = 0.0
        for (_, op) in ops {
            if case let .groupedGemm(_, n, k, groups) = op { elements += Double(n * k * groups) }
        }
        let allExperts = Double(moe.experts * model.mlp.matrices * model.hidden * moe.expertFFN)
        print("expert weights read per rank on TP 28: \(elements / allExperts) of all experts (1/28 = \(1.0 / 28))")
        #expect(abs(elements / allExperts * 28 - 1) < 0.01)
    }
}

@Suite struct ExpertLoadTests {
    /// The busiest rank under aiconfigurator's power-law routing (α 1.01, its fit to DeepSeek-V3/R1
    /// serving) for DeepSeek-V3 (256 experts, top-8) at 8,192 tokens on EP 32 carries ~2.5–3× the
    /// balanced share (NVIDIA reports the hottest rank at ~2.5× without a balancer), and the
    /// layer's time over its balanced time lands in the 1.9–2.6× that kernels/moe.csv's
    /// power-law rows measure at EP 32 and 8k–16k tokens (kernels/README.md; the weights and
    /// fixed costs do not grow with the load); EP 8 less.
    @Test func powerLawBusiestRankMatchesTheTable() {
        let routing = ExpertRouting.measured
        let ep32 = routing.busiestRankFactor(experts: 256, topK: 8, ep: 32, tokens: 8192)
        let ep8 = routing.busiestRankFactor(experts: 256, topK: 8, ep: 8, tokens: 8192)
        func layer(_ routing: ExpertRouting) -> Double {
            InferencePricer.routedExpertSeconds(kernels: KernelModel(gpu: SystemSpec.h200SXM.gpu), hidden: 7168, inter: 2048, experts: 256, topK: 8,
                                                tp: 1, ep: 32, tokens: 8192, precision: .fp8, routing: routing)
        }
        let timeRatio = layer(routing) / layer(.balanced)
        print("busiest rank over the balanced share: EP 32 \(ep32) (layer time \(timeRatio)× balanced), EP 8 \(ep8)")
        #expect(ep32 >= 2.2 && ep32 <= 3.2)
        #expect(timeRatio >= 1.9 && timeRatio <= 2.6)
        #expect(ep8 >= 1.3 && ep8 < ep32)
        #expect(ExpertRouting.balanced.busiestRankFactor(experts: 256, topK: 8, ep: 32, tokens: 8192) == 1)
    }

    /// Redundant slots (EPLB) bring the busiest rank down towards the balanced share: 32 more
    /// slots than DeepSeek-V3's 256 experts (TensorRT-LLM's example: 288) at EP 32.
    @Test func redundantSlotsBalanceTheRanks() {
        let plain = ExpertRouting.measured.busiestRankFactor(experts: 256, topK: 8, ep: 32, tokens: 8192)
        let balanced = ExpertRouting(distribution: .powerLaw(alpha: 1.01), slots: 288).busiestRankFactor(experts: 256, topK: 8, ep: 32, tokens: 8192)
        print("EP 32: busiest rank \(plain) without redundancy, \(balanced) with 288 slots")
        #expect(balanced < plain && balanced >= 1)
        // Equal loads are already balanced, and the greedy placement keeps them so.
        #expect(ExpertRouting.busiestRank(loads: Array(repeating: 3, count: 16), slots: 16, ep: 4) == 12)
        #expect(ExpertRouting.busiestRank(loads: Array(repeating: 3, count: 16), slots: 20, ep: 4) == 12)
        // One hot expert of 8: contiguous blocks put it with a cold one; a replica halves it.
        #expect(ExpertRouting.busiestRank(loads: [6, 1, 1, 1, 1, 1, 1, 1], slots: 8, ep: 4) == 7)
        #expect(ExpertRouting.busiestRank(loads: [6, 1, 1, 1, 1, 1, 1, 1], slots: 12, ep: 4) < 7)
    }

    /// Redundant slots are weights and work: DeepSeek-V3's 256 experts as 288 slots on EP 36
    /// (NVIDIA's wide-EP layout, where 36 does not divide 256) hold 8 slots per GPU, the same
    /// routed-expert bytes as EP 32 without replicas; a balanced batch's routed tokens still sum
    /// to tokens × k / ep on a rank, now spread over its slots.
    @Test func redundantSlotsAreHeldAndShareTheTokens() throws {
        let model = ModelSpec.named("deepseek-v3")!, moe = model.moe!
        let replicated = InferenceOps.weightBytesPerRank(model: model, precision: .fp8, tp: 1, ep: 36, slots: 288)
        #expect(abs(replicated / InferenceOps.weightBytesPerRank(model: model, precision: .fp8, tp: 1, ep: 32) - 1) < 1e-12)
        let tokens = 65_536
        let ops = InferenceOps.routedExperts(model: model, moe: moe, localExperts: 288.0 / 36, tokens: tokens, slots: 288)
        guard case let .groupedGemm(m, _, _, groups) = ops[0].op else { Issue.record("not a grouped GEMM"); return }
        #expect(groups == 8 && abs(Double(m * groups) / (Double(tokens * moe.topK) / 36) - 1) < 1e-3)
        let yaml = "name: w\ncluster: { system: gb200-nvl72 }\nworkload: { kind: decode, model: deepseek-v3, precision: fp8, kv_precision: fp8, parallelism: { tp: 1, ep: 36 }, batch: 64, input_tokens: 1000, output_tokens: 10, eplb_slots: 288 }\n"
        #expect(try metrics(yaml)["weight_bytes_per_gpu"].map { abs($0 / replicated - 1) < 1e-9 } == true)
        #expect(throws: (any Error).self) { try ScenarioLoader.plan(text: yaml.replacingOccurrences(of: ", eplb_slots: 288", with: ""), file: "w.yaml") }
    }

    /// The busiest rank sets a compute-bound wide-EP MoE layer: at a large batch, 2.5× the
    /// balanced tokens on the busiest rank makes its expert GEMMs ~2.5× as long.
    @Test func skewSlowsTheExpertGEMMs() {
        let model = ModelSpec.named("deepseek-v3")!, moe = model.moe!
        let pricer = InferencePricer(model: model, kernels: KernelModel(gpu: SystemSpec.gb200NVL72.gpu), precision: .fp8, kvPrecision: .fp8, tp: 1,
                                     allReduce: { _ in 0 })
        func expertSeconds(_ load: Double) -> Double {
            pricer.seconds(InferenceOps.routedExperts(model: model, moe: moe, localExperts: 256.0 / 32, tokens: 65536, loadFactor: load))
        }
        let ratio = expertSeconds(2.5) / expertSeconds(1)
        print("expert GEMMs at 2.5× load: \(ratio)× as long")
        #expect(ratio > 2.2 && ratio < 2.6)
    }
}

@Suite struct MultiTokenPredictionTests {
    static func yaml(_ speculative: String) -> String {
        """
        name: m
        cluster: { system: gb200-nvl72 }
        stack: { cuda_graphs: true\(speculative) }
        workload: { kind: decode, model: deepseek-v3, precision: fp4, kv_precision: fp8, parallelism: { tp: 8 }, batch: 8, input_tokens: 1024, output_tokens: 256 }
        """
    }

    /// DeepSeek-V3 with its MTP module (one more block of its shape, the head shared) drafting
    /// one token accepted 80% of the time: 1.8 tokens per step, each step a 2-position verify
    /// plus one block's pass, so TPOT falls by more than 1.4× and less than 1.8×.
    @Test func mtpShortensTPOT() throws {
        let plain = try metrics(Self.yaml(""))["tpot_s"]!
        let mtp = try metrics(Self.yaml(", speculative: { method: mtp, draft_tokens: 1, acceptance: 0.8 }"))["tpot_s"]!
        print("DeepSeek-V3 on 8 GB200, batch 8: TPOT \(plain * 1e3) ms plain, \(mtp * 1e3) ms with MTP (k 1, α 0.8)")
        #expect(plain / mtp > 1.4 && plain / mtp < 1.8)
    }

    /// The MTP module's weights are one block's share of the target's layers (the embedding and
    /// head are shared), and a draft model cannot be named beside it.
    @Test func mtpModuleIsOneBlock() throws {
        let model = ModelSpec.named("deepseek-v3")!
        let d = DecodeSpec(model: model, precision: .fp4, kvPrecision: .fp8, tp: 8, batch: 8, inputTokens: 1024, outputTokens: 256)
        let module = DecodeWorkload.draftWeightBytesPerRank(SpeculativeSpec(draftModel: nil, draftTokens: 1, acceptance: 0.8), d)
        let embeddings = Double(model.vocabulary * model.hidden) * 2 * 2 / 8
        let layers = InferenceOps.weightBytesPerRank(model: model, precision: .fp4, tp: 8) - embeddings
        #expect(abs(module * Double(model.layers) / layers - 1) < 1e-12)
        do {
            _ = try ScenarioLoader.plan(text: Self.yaml(", speculative: { method: mtp, draft_model: llama3-8b, draft_tokens: 1, acceptance: 0.8 }"), file: "m.yaml")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("stack.speculative.draft_model"))
        }
    }
}

@Suite struct KernelFusionTests {
    /// Each fusion removes exactly the kernels it folds in: quantize fusion every separate
    /// quantise kernel but those before GEMMs fed by attention; residual+norm fusion the input
    /// norm, its bytes moving into the residual kernel; all-reduce fusion every residual and
    /// norm after a TP all-reduce.
    @Test func fusionsRemoveTheirKernels() {
        let model = ModelSpec.named("llama3-70b")!
        var pricer = InferencePricer(model: model, kernels: KernelModel(gpu: SystemSpec.h100SXM.gpu), precision: .fp8, kvPrecision: .fp8, tp: 4,
                                     allReduce: { _ in 1e-5 })
        let ops = InferenceOps.layer(0, model: model, tokens: 64, tp: 4,
                                     attention: [("attention_decode", .attentionDecode(batch: 64, kvLength: 2048, heads: 16, kvHeads: 2, headDim: 128))])
        func kernels() -> [OpKernel] { ops.flatMap { pricer.kernels($0.name, $0.op) } }
        let plain = kernels()
        let quantizes = zip(ops.flatMap { op in pricer.kernels(op.name, op.op).map { _ in op.name } }, plain)
            .filter { $0.1.name == "quantize" }
        pricer.fusion.quantize = true
        let fused = kernels()
        let removed = quantizes.filter { !InferencePricer.fedByAttention.contains($0.0) }.reduce(0.0) { $0 + $1.1.cost.seconds }
        let total = { (k: [OpKernel]) in k.reduce(0.0) { $0 + $1.cost.seconds } }
        #expect(quantizes.count == 4 && fused.filter { $0.name == "quantize" }.count == 1)  // out_proj's stays
        #expect(abs(total(plain) - total(fused) - removed) < 1e-15)
        pricer.fusion = KernelFusion()
        pricer.fusion.allReduceNorm = true
        #expect(!kernels().contains { ["rmsnorm", "residual_rmsnorm", "residual"].contains($0.name) })
        pricer.fusion = KernelFusion()
        pricer.fusion.residualNorm = true
        #expect(!kernels().contains { $0.name == "rmsnorm" } && kernels().contains { $0.name == "residual" })
    }

    /// All-reduce fusion lives in a framework's all-reduce kernel: with NCCL it is refused, naming the key.
    @Test func allReduceFusionNeedsAFrameworkAllReduce() {
        let yaml = "name: f\ncluster: { system: h100-sxm }\nstack: { fusion: { allreduce_norm: true } }\nworkload: { kind: decode, model: llama3-70b, parallelism: { tp: 4 }, input_tokens: 100, output_tokens: 10 }\n"
        do {
            _ = try ScenarioLoader.plan(text: yaml, file: "f.yaml")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("stack.fusion.allreduce_norm"))
        }
    }
}

@Suite struct CPUSideTests {
    static func tpot(_ stack: String) throws -> Double {
        try metrics("name: c\ncluster: { system: h100-sxm }\nstack: { cuda_graphs: true\(stack) }\nworkload: { kind: decode, model: llama3-8b, batch: 16, input_tokens: 512, output_tokens: 32 }\n")["tpot_s"]!
    }

    /// The CPU's share of an iteration adds to the GPU's, or with overlap scheduling hides
    /// behind it: 1 ms + 16 × 50 µs per step on a ~7 ms step adds exactly 1.8 ms; overlapped
    /// it costs nothing, and a CPU slower than the GPU sets the step.
    @Test func cpuTimeAddsOrHides() throws {
        let gpu = try Self.tpot("")
        let serial = try Self.tpot(", cpu_time: { per_iteration: 1 ms, per_sequence: 50 us }")
        let hidden = try Self.tpot(", cpu_time: { per_iteration: 1 ms, per_sequence: 50 us }, overlap_scheduling: true")
        let bound = try Self.tpot(", cpu_time: { per_iteration: 50 ms }, overlap_scheduling: true")
        print("8B batch 16 TPOT: GPU \(gpu * 1e3) ms, + CPU \(serial * 1e3) ms, overlapped \(hidden * 1e3) ms, CPU-bound \(bound * 1e3) ms")
        #expect(abs(serial - gpu - 1.8e-3) < 1e-12)
        #expect(hidden == gpu)
        #expect(abs(bound - 50e-3) < 1e-12)
    }
}
