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

@Suite struct DecodeTests {
    /// Batch 1, CUDA graphs: a decode step streams every weight once, so it takes at least
    /// weight bytes / (achievable HBM bandwidth) per rank, plus two all-reduces per layer; the
    /// rest is the kernels' fixed times (about 4 µs each, ~10 kernels per layer), all of which
    /// the closed form below adds up. Llama 3 70B, TP 2, bf16 on H100.
    @Test func batchOneStepApproachesWeightStreaming() throws {
        let m = try metrics("""
            name: d
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: decode, model: llama3-70b, precision: bf16, parallelism: { tp: 2 }, batch: 1, input_tokens: 128, output_tokens: 16 }
            """)
        let gpu = SystemSpec.h100SXM.gpu
        let factors = KernelFactors.calibrated(for: .hopper)
        let weights = InferenceOps.weightBytesPerRank(model: .llama3_70B, precision: .bf16, tp: 2)
        let streaming = weights / (gpu.hbmBandwidth * factors.hbmEfficiency)
        let ops = InferenceOps.pass(model: .llama3_70B, batch: 1, tokens: 1, context: 128, tp: 2)
        let allReduces = ops.filter { if case .allReduce = $0 { true } else { false } }.count
        let kernels = ops.count - allReduces
        let timing = CollectiveTiming.calibrated(for: .hopper)
        let allReduce = timing.baseLatency + timing.stepLatency * 2 + 16384 / (450e9 * timing.linkEfficiency)
        let closedForm = streaming + Double(allReduces) * allReduce + Double(kernels) * factors.fixedTime
        let tpot = m["tpot_s"]!
        print("batch 1 TPOT \(tpot * 1e3) ms; weight streaming \(streaming * 1e3) ms, closed form \(closedForm * 1e3) ms")
        #expect(tpot >= streaming)
        #expect(abs(tpot / closedForm - 1) < 0.10)
    }

    /// calibration.csv DEC16 (scenarios/reference/decode-dec16.yaml): Llama 3.3 70B, 2 × H100,
    /// TP 2, FP8, 5000 in / 500 out, concurrency 1 (NVIDIA NIM 1.8.0): inter-token latency
    /// 18.58 ms, TTFT 406.77 ms.
    @Test func dec16WithinFifteenPercent() throws {
        let reference = TestSupport.packageRoot.appendingPathComponent("scenarios/reference")
        let row = try CSVTable(contentsOf: reference.appendingPathComponent("calibration.csv").path).records.first { $0["id"] == "DEC16" }!
        let itl = Double(row["value"]!)! * 1e-3
        let path = reference.appendingPathComponent("decode-dec16.yaml").path
        let tpot = try Validation.metric("tpot_s", scenario: path), ttft = try Validation.metric("ttft_s", scenario: path)
        print(String(format: "DEC16: TPOT %.2f ms (measured %.2f), TTFT %.1f ms (measured 406.77)", tpot * 1e3, itl * 1e3, ttft * 1e3))
        #expect(abs(tpot / itl - 1) < 0.15)
        #expect(abs(ttft / 0.40677 - 1) < 0.15)
    }

    /// Larger batches amortise the weights: tokens/s grows with batch; and a KV cache that does
    /// not fit is refused with the ledger's message.
    @Test func batchingAndMemory() throws {
        func yaml(_ batch: Int) -> String {
            "name: d\ncluster: { system: h100-sxm }\nworkload: { kind: decode, model: llama3-8b, batch: \(batch), input_tokens: 1024, output_tokens: 64 }\n"
        }
        let one = try metrics(yaml(1)), many = try metrics(yaml(32))
        #expect(many["tokens_per_s"]! > 10 * one["tokens_per_s"]!)
        #expect(many["tpot_s"]! > one["tpot_s"]!)
        #expect(throws: ExperimentError.self) { _ = try metrics(yaml(4096)) }
    }
}

@Suite struct MoEDecodeTests {
    /// Mixtral 8x7B, TP 2, bf16: at batch 1 a token uses 2 of 8 experts, so a step reads only
    /// those experts' weights (about 12.9B active parameters, half per GPU) and is well under
    /// half the batch-64 step, which reads all experts (46.7B); and it cannot beat streaming
    /// the active weights.
    @Test func batchOneReadsOnlyTheChosenExperts() throws {
        func tpot(_ batch: Int) throws -> Double {
            let plan = try ScenarioLoader.plan(text: """
                name: m
                cluster: { system: h100-sxm }
                stack: { cuda_graphs: true }
                workload: { kind: decode, model: mixtral-8x7b, parallelism: { tp: 2 }, batch: \(batch), input_tokens: 512, output_tokens: 16 }
                """, file: "m.yaml")
            return ExperimentRunner.run(plan, threads: 1).replications[0].metrics.first { $0.name == "tpot_s" }!.value
        }
        let one = try tpot(1), many = try tpot(64)
        let activeBytesPerGPU = ModelSpec.mixtral8x7B.activeParameters * 2 / 2
        let streaming = activeBytesPerGPU / (SystemSpec.h100SXM.gpu.hbmBandwidth * KernelFactors.calibrated(for: .hopper).hbmEfficiency)
        print("Mixtral TP2: TPOT batch 1 \(one * 1e3) ms, batch 64 \(many * 1e3) ms; active-weight streaming \(streaming * 1e3) ms")
        #expect(one < 0.5 * many)
        #expect(one >= streaming)
    }

    /// Serving prices MoE layers the same way: a Mixtral serving run completes its requests.
    @Test func moeServingRuns() throws {
        let plan = try ScenarioLoader.plan(text: """
            name: m
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: mixtral-8x7b, parallelism: { tp: 2 }, input_tokens: 256, output_tokens: 32, arrival_rate: 20, requests: 200 }
            """, file: "m.yaml")
        let metrics = ExperimentRunner.run(plan, threads: 1).replications[0].metrics
        #expect(metrics.first { $0.name == "requests_completed" }!.value == 200)
    }
}

@Suite struct DecodeParallelismTests {
    static func yaml(_ parallelism: String, batch: Int = 32) -> String {
        """
        name: p
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        workload: { kind: decode, model: llama3-70b, precision: bf16, parallelism: \(parallelism), batch: \(batch), input_tokens: 1024, output_tokens: 64 }
        """
    }

    /// Pipeline stages split the weights but not the time of a step: each micro-batch still
    /// reads every layer's weights once per step, one stage after another.
    @Test func pipelineSplitsMemoryNotTime() throws {
        let tp4 = try metrics(Self.yaml("{ tp: 4 }")), pp2 = try metrics(Self.yaml("{ tp: 4, pp: 2 }"))
        print("70B TP4 → TP4 PP2: TPOT \(tp4["tpot_s"]! * 1e3) → \(pp2["tpot_s"]! * 1e3) ms, TTFT \(tp4["ttft_s"]!) → \(pp2["ttft_s"]!) s, weights \(tp4["weight_bytes_per_gpu"]! / 1e9) → \(pp2["weight_bytes_per_gpu"]! / 1e9) GB")
        #expect(abs(pp2["weight_bytes_per_gpu"]! / tp4["weight_bytes_per_gpu"]! - 0.5) < 0.01)
        #expect(pp2["tpot_s"]! > 0.95 * tp4["tpot_s"]! && pp2["tpot_s"]! < 1.3 * tp4["tpot_s"]!)
        // Twice the GPUs for about the same step: per-GPU throughput falls (the prefill, which
        // pipelines its micro-batches, is the part that speeds up).
        #expect(pp2["ttft_s"]! < tp4["ttft_s"]!)
        #expect(pp2["tokens_per_s_per_gpu"]! < 0.7 * tp4["tokens_per_s_per_gpu"]!)
    }

    /// Replicas multiply throughput and leave each GPU's share unchanged.
    @Test func replicasScaleThroughput() throws {
        let one = try metrics(Self.yaml("{ tp: 4 }")), two = try metrics(Self.yaml("{ tp: 4, dp: 2 }"))
        #expect(abs(two["tokens_per_s"]! / one["tokens_per_s"]! - 2) < 1e-9)
        #expect(abs(two["tokens_per_s_per_gpu"]! / one["tokens_per_s_per_gpu"]! - 1) < 1e-9)
        #expect(two["tpot_s"]! == one["tpot_s"]!)
    }

    /// cluster.gpus, when given, must hold the parallelism.
    @Test func clusterMustHoldTheStages() {
        #expect(throws: ScenarioError.self) {
            _ = try ScenarioLoader.plan(text: Self.yaml("{ tp: 4, pp: 2 }").replacingOccurrences(of: "system: h100-sxm }", with: "system: h100-sxm, gpus: 4 }"), file: "p.yaml")
        }
    }

    /// A model too large for one node runs when pipeline stages spread it over nodes.
    @Test func pipelineAcrossNodesHoldsALargerModel() throws {
        let text = """
            name: p
            cluster: { system: h100-sxm }
            workload: { kind: decode, model: llama3-405b, precision: bf16, parallelism: { tp: 8 }, batch: 8, input_tokens: 1024, output_tokens: 16 }
            """
        #expect(throws: ExperimentError.self) { _ = try metrics(text) }
        let m = try metrics(text.replacingOccurrences(of: "{ tp: 8 }", with: "{ tp: 8, pp: 2 }"))
        #expect(m["tpot_s"]! > 0)
    }
}

@Suite struct StackKnobTests {
    static func yaml(model: String = "llama3-70b", batch: Int = 1, input: Int = 1024, stack: String = "cuda_graphs: true") -> String {
        """
        name: s
        cluster: { system: h100-sxm }
        stack: { \(stack) }
        workload: { kind: decode, model: \(model), precision: fp8, kv_precision: fp8, parallelism: { tp: 2 }, batch: \(batch), input_tokens: \(input), output_tokens: 64 }
        """
    }

    /// Speculative decoding at batch 1: k draft steps of an 8B model and one 70B pass over
    /// k + 1 positions per step, (1 − α^(k+1))/(1 − α) tokens per step. The step costs at least
    /// k plain 8B steps plus one plain 70B step (the verification reads the same weights and a
    /// few more positions), so TPOT sits just above that closed form over E; with nothing
    /// accepted it is slower than plain decoding.
    @Test func speculativeDecodingFollowsTheAcceptanceClosedForm() throws {
        let plain70 = try metrics(Self.yaml())["tpot_s"]!, plain8 = try metrics(Self.yaml(model: "llama3-8b"))["tpot_s"]!
        let k = 4, alpha = 0.8
        let speculative = try metrics(Self.yaml(stack: "cuda_graphs: true, speculative: { draft_model: llama3-8b, draft_tokens: \(k), acceptance: \(alpha) }"))["tpot_s"]!
        let e = (1 - pow(alpha, Double(k + 1))) / (1 - alpha)
        let closedForm = (Double(k) * plain8 + plain70) / e
        print("70B TPOT \(plain70 * 1e3) ms; speculative (8B draft, k 4, α 0.8) \(speculative * 1e3) ms; closed form \(closedForm * 1e3) ms")
        #expect(speculative >= closedForm * 0.999)
        #expect(speculative <= closedForm * 1.10)
        let rejected = try metrics(Self.yaml(stack: "cuda_graphs: true, speculative: { draft_model: llama3-8b, draft_tokens: 1, acceptance: 0 }"))["tpot_s"]!
        #expect(rejected > plain70)
    }

    /// A faster attention backend shortens compute-bound attention — the prefill of a long
    /// prompt — but cannot take memory-bound decode attention past the HBM roofline: the
    /// calibrated decode kernels stream at attentionHBMEfficiency of peak, and no kernel
    /// streams faster than hbmEfficiency, so no TPOT gain can exceed their ratio.
    @Test func attentionBackendSpeedsPrefillNotTheRoofline() throws {
        let base = try metrics(Self.yaml(model: "llama3-8b", batch: 64, input: 16384))
        let fast = try metrics(Self.yaml(model: "llama3-8b", batch: 64, input: 16384, stack: "cuda_graphs: true, attention_efficiency: 2"))
        let prefillGain = base["ttft_s"]! / fast["ttft_s"]!, decodeGain = base["tpot_s"]! / fast["tpot_s"]!
        let f = KernelFactors.hopperCalibrated, roofline = f.hbmEfficiency / f.attentionHBMEfficiency
        print("attention 2× faster, batch 64, 16k prompt: TTFT gain \(prefillGain), TPOT gain \(decodeGain) (roofline bound \(roofline))")
        #expect(prefillGain > 1.1)  // attention is about a quarter of this prefill
        #expect(decodeGain <= roofline * 1.001)
    }
}

@Suite struct WideExpertParallelTests {
    static func yaml(_ parallelism: String, batch: Int) -> String {
        """
        name: w
        cluster: { system: gb200-nvl72 }
        stack: { cuda_graphs: true }
        workload: { kind: decode, model: gpt-moe-1.8t, precision: fp4, kv_precision: fp8, parallelism: \(parallelism), batch: \(batch), input_tokens: 1024, output_tokens: 64 }
        """
    }

    /// Wide EP places whole experts on GPUs: over the 16 GPUs of a TP 4 × EP 16 instance the
    /// routed experts are stored once and everything else once per attention group (4).
    @Test func expertsAreStoredOnceAcrossTheInstance() throws {
        let m = try metrics(Self.yaml("{ tp: 4, ep: 16 }", batch: 64))
        let model = ModelSpec.named("gpt-moe-1.8t")!, moe = model.moe!
        let bytes = Precision.fp4.bytesPerElement
        let routed = Double(model.layers - moe.denseLayers) * Double(moe.experts) * Double(model.mlp.matrices * model.hidden * moe.expertFFN) * bytes
        let everything = InferenceOps.weightBytesPerRank(model: model, precision: .fp4, tp: 1)
        #expect(abs(m["weight_bytes_per_gpu"]! * 16 / (routed + 4 * (everything - routed)) - 1) < 1e-9)
    }

    /// Why racks of 72 GPUs serve MoE models with wide EP, and why they balance the experts: at
    /// the same batch, 16 GPUs with whole experts and all-to-all dispatch give more tokens per GPU
    /// than 28 GPUs splitting every expert over TP (less of each GPU's time goes to TP
    /// all-reduces) when the routing is balanced; under skewed (power-law) routing with one
    /// expert per GPU the hottest expert's GPU holds everyone up, and redundant slots (EPLB, two
    /// per GPU) win most of it back.
    @Test func wideEPBeatsTensorParallelPerGPU() throws {
        func perGPU(_ parallelism: String, _ routing: String = "") throws -> Double {
            try metrics(Self.yaml(parallelism, batch: 256).replacingOccurrences(of: "output_tokens: 64", with: "output_tokens: 64\(routing)"))["tokens_per_s_per_gpu"]!
        }
        let tp = try perGPU("{ tp: 28 }"), balanced = try perGPU("{ tp: 4, ep: 16 }", ", expert_routing: balanced")
        let skewed = try perGPU("{ tp: 4, ep: 16 }"), eplb = try perGPU("{ tp: 4, ep: 16 }", ", eplb_slots: 32")
        print("GPT-MoE-1.8T batch 256 on GB200, tokens/s/GPU: TP 28 \(tp); TP 4 × EP 16 balanced \(balanced), power law \(skewed), power law with 32 slots \(eplb)")
        #expect(balanced > 1.5 * tp)
        #expect(skewed < balanced && eplb > skewed && eplb <= balanced)
    }

    @Test func expertParallelismNeedsExpertsThatDivide() {
        #expect(throws: ScenarioError.self) { _ = try ScenarioLoader.plan(text: Self.yaml("{ tp: 4, ep: 6 }", batch: 64), file: "w.yaml") }
        #expect(throws: ScenarioError.self) {
            _ = try ScenarioLoader.plan(text: Self.yaml("{ tp: 4, ep: 8 }", batch: 64).replacingOccurrences(of: "gpt-moe-1.8t", with: "llama3-70b"), file: "w.yaml")
        }
    }
}

@Suite struct KernelClassTests {
    /// Per-class efficiencies act on their class, and only where that class is not at the HBM
    /// roofline: GEMMs 1.3× faster shorten the compute-bound prefill (TTFT) by most of that
    /// but not the batch-64 decode step, whose GEMMs stream weights at the roofline; faster
    /// element-wise kernels gain nothing (they already stream HBM at the roofline). An
    /// NVFP4 KV cache holds 0.5625 of an fp8 one's bytes on Blackwell and is refused on Hopper.
    @Test func classesAndKVPrecision() throws {
        func yaml(_ stack: String, kv: String = "fp8", system: String = "b200") -> String {
            "name: k\ncluster: { system: \(system) }\nstack: { cuda_graphs: true\(stack) }\nworkload: { kind: decode, model: llama3-8b, precision: fp8, kv_precision: \(kv), batch: 64, input_tokens: 1024, output_tokens: 32 }\n"
        }
        let base = try metrics(yaml(""))
        let gemm = try metrics(yaml(", kernel_efficiency: { gemm: 1.3 }"))
        let elementwise = try metrics(yaml(", kernel_efficiency: { elementwise: 1.3 }"))
        print("GEMMs 1.3×: TTFT gain \(base["ttft_s"]! / gemm["ttft_s"]!), TPOT gain \(base["tpot_s"]! / gemm["tpot_s"]!); element-wise 1.3×: TTFT gain \(base["ttft_s"]! / elementwise["ttft_s"]!)")
        #expect(base["ttft_s"]! / gemm["ttft_s"]! > 1.15)
        #expect(base["tpot_s"]! / gemm["tpot_s"]! < 1.05)
        #expect(base["ttft_s"]! / elementwise["ttft_s"]! < 1.02)
        let fp8 = try metrics(yaml(""))["kv_cache_bytes_per_gpu"]!, fp4 = try metrics(yaml("", kv: "fp4"))["kv_cache_bytes_per_gpu"]!
        #expect(abs(fp4 / fp8 - 0.5625) < 1e-9)
        #expect(throws: ScenarioError.self) { _ = try ScenarioLoader.plan(text: yaml("", kv: "fp4", system: "h100-sxm"), file: "k.yaml") }
    }
}

@Suite struct LatentAttentionTests {
    /// DeepSeek-V3's cache is the latent (512) and rope key (64) per token and layer, shared by
    /// all heads: every TP rank holds all of it, whatever the TP degree.
    @Test func latentCacheIsPerTokenNotPerHead() throws {
        func kv(_ tp: Int) throws -> Double {
            try metrics("name: m\ncluster: { system: gb200-nvl72 }\nworkload: { kind: decode, model: deepseek-v3, precision: fp4, kv_precision: fp8, parallelism: { tp: \(tp) }, batch: 8, input_tokens: 1000, output_tokens: 24 }\n")["kv_cache_bytes_per_gpu"]!
        }
        #expect(try kv(4) == 8 * 1024 * 61 * 576)
        #expect(try kv(8) == kv(4))
    }

    /// With 128 query heads sharing one fp8 latent cache, MLA decode attention does ~480 FLOP per
    /// cached byte (2,176 per score and head over 576 bytes), above H100's ridge of ~295:
    /// compute-bound; the 16 heads of one TP-8 rank do ~60: memory-bound.
    @Test func manyHeadsMakeLatentAttentionComputeBound() {
        let model = KernelModel(gpu: SystemSpec.h100SXM.gpu)
        let all = model.attentionDecodeLatent(batch: 64, kvLength: 4096, heads: 128, latent: 512, rope: 64, kvPrecision: .fp8)
        let shard = model.attentionDecodeLatent(batch: 64, kvLength: 4096, heads: 16, latent: 512, rope: 64, kvPrecision: .fp8)
        #expect(all.computeSeconds > all.memorySeconds)
        #expect(shard.computeSeconds < shard.memorySeconds)
    }

    /// At batch 1 a step cannot beat streaming the weights a token uses (37B active, NVFP4).
    @Test func batchOneStreamsTheActiveWeights() throws {
        let m = try metrics("name: m\ncluster: { system: gb200-nvl72 }\nstack: { cuda_graphs: true }\nworkload: { kind: decode, model: deepseek-v3, precision: fp4, kv_precision: fp8, parallelism: { tp: 8 }, batch: 1, input_tokens: 1000, output_tokens: 16 }\n")
        let gpu = SystemSpec.gb200NVL72.gpu
        let streaming = ModelSpec.named("deepseek-v3")!.activeParameters * Precision.fp4.bytesPerElement / 8 / gpu.hbmBandwidth
        print("DeepSeek-V3 batch 1 on 8 GB200: TPOT \(m["tpot_s"]! * 1e3) ms; active-weight streaming at peak \(streaming * 1e3) ms")
        #expect(m["tpot_s"]! > streaming)
    }
}
