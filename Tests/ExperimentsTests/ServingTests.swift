import Foundation
import Testing
import TestSupport
import Cluster
@testable import Experiments
import Hardware
import Report
import Scenario
import Workloads

@Suite struct ServingTests {
    func scenario(rate: Double, requests: Int, memoryFraction: Double = 0.9) -> String {
        """
        name: s
        seed: 11
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        workload: { kind: serving, model: llama3-8b, input_tokens: 512, output_tokens: 64, arrival_rate: \(rate), requests: \(requests), memory_fraction: \(memoryFraction) }
        """
    }

    /// Little's law: the time-averaged number of requests in the system equals the throughput
    /// (requests completed over the run, which drains) times the mean time in system, within 5%. The average is
    /// integrated from the scheduler's queues, the latency from each request's timestamps, so
    /// a lost or double-counted request breaks it.
    @Test(arguments: [5.0, 40.0])
    func littlesLaw(rate: Double) throws {
        let m = try metrics(scenario(rate: rate, requests: 2000))
        let l = m["mean_requests_in_system"]!, lambdaW = m["throughput_requests_per_s"]! * m["e2e_s"]!
        print("rate \(rate)/s: L = \(l), λW = \(lambdaW), batch \(m["mean_batch_size"]!)")
        #expect(m["requests_completed"]! == 2000)
        #expect(abs(l / lambdaW - 1) < 0.05)
    }

    /// Admission respects KV capacity: with memory for only a few requests' caches, requests
    /// queue, the batch stays small, the cache never over-fills, and TTFT grows.
    @Test func kvCapacityLimitsAdmission() throws {
        let ample = try metrics(scenario(rate: 40, requests: 500))
        // 8B bf16 weights take 16.06 GB; the fraction leaves 0.58 GB for KV at 128 KiB per
        // token (32 layers × 2 × 8 heads × 128 × 2 B): ~4,400 tokens, 7 requests of 576.
        let fraction = ((16.64e9 / SystemSpec.h100SXM.gpu.hbmCapacity) * 1000).rounded() / 1000
        let tight = try metrics(scenario(rate: 40, requests: 500, memoryFraction: fraction))
        print("ample: batch \(ample["mean_batch_size"]!), TTFT \(ample["ttft_s"]!); tight: batch \(tight["mean_batch_size"]!), TTFT \(tight["ttft_s"]!), KV use \(tight["kv_cache_utilisation"]!)")
        #expect(tight["kv_cache_utilisation"]! <= 1)
        #expect(tight["mean_batch_size"]! < ample["mean_batch_size"]!)
        #expect(tight["ttft_s"]! > 5 * ample["ttft_s"]!)
    }
}

@Suite struct OfflineThroughputTests {
    /// calibration.csv DEC01 and DEC04 (trtllm-bench offline max throughput, Llama 3.3 70B,
    /// 1000 in / 1000 out): every request is present at the start (a very high arrival rate),
    /// with TensorRT-LLM's default limits of 2,048 sequences and 8,192 tokens per iteration.
    /// Output tokens per second per GPU within 15%.
    @Test(arguments: [("DEC01", "serving-dec01.yaml"), ("DEC04", "serving-dec04.yaml")])
    func offlineThroughput(id: String, scenario: String) throws {
        let reference = TestSupport.packageRoot.appendingPathComponent("scenarios/reference")
        let measured = Double(try CSVTable(contentsOf: reference.appendingPathComponent("calibration.csv").path).records.first { $0["id"] == id }!["value"]!)!
        let predicted = try Validation.metric("tokens_per_s_per_gpu", scenario: reference.appendingPathComponent(scenario).path)
        print(String(format: "%@: %.0f tokens/s/GPU (measured %.0f, %+.1f%%)", id, predicted, measured, (predicted / measured - 1) * 100))
        #expect(abs(predicted / measured - 1) < 0.15)
    }
}

@Suite struct ServingTraceTests {
    /// Two requests of a trace, 100 s apart, are each served alone: their latency is that of a
    /// batch-1 decode of the same sizes (within 5%: serving sums kernels as one CUDA graph per
    /// iteration, decode integrates its steps), and each keeps its own sizes.
    @Test func tracedRequestsKeepTheirSizes() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        TestSupport.write("arrival_s,input_tokens,output_tokens\n100,1024,64\n0,512,32\n", to: "t.csv", in: dir)
        let file = dir.appendingPathComponent("s.yaml").path
        let serving = """
            name: s
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: llama3-8b, trace: t.csv, chunk_tokens: 4096 }
            """
        TestSupport.write(serving, to: "s.yaml", in: dir)
        let plan = try ScenarioLoader.load(path: file)
        try ExperimentRunner.check(plan)
        let m = Dictionary(uniqueKeysWithValues: ExperimentRunner.run(plan, threads: 1).replications[0].metrics.map { ($0.name, $0.value) })
        #expect(m["requests_completed"] == 2)
        func decodeE2E(_ input: Int, _ output: Int) throws -> Double {
            try metrics("name: d\ncluster: { system: h100-sxm }\nstack: { cuda_graphs: true }\nworkload: { kind: decode, model: llama3-8b, batch: 1, input_tokens: \(input), output_tokens: \(output) }\n")["e2e_s"]!
        }
        let expected = (try decodeE2E(512, 32) + decodeE2E(1024, 64)) / 2
        print("trace e2e mean \(m["e2e_s"]!) s, decode \(expected) s")
        #expect(abs(m["e2e_s"]! / expected - 1) < 0.05)
        // The p50 of two values is their mean; p99 is near the larger (the 64-token request).
        #expect(m["e2e_p99_s"]! > m["e2e_s"]!)
    }

    @Test func badTracesAreRefusedWithTheirLine() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func load(_ csv: String) -> String {
            TestSupport.write(csv, to: "t.csv", in: dir)
            TestSupport.write("name: s\ncluster: { system: h100-sxm }\nworkload: { kind: serving, model: llama3-8b, trace: t.csv }\n", to: "s.yaml", in: dir)
            do {
                _ = try ScenarioLoader.load(path: dir.appendingPathComponent("s.yaml").path)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(load("arrival_s,input_tokens\n0,5\n").contains("no output_tokens column"))
        #expect(load("arrival_s,input_tokens,output_tokens\n0,5,1\n1,x,2\n").contains("t.csv line 3"))
        #expect(load("arrival_s,input_tokens,output_tokens\n").contains("has no requests"))
    }
}

@Suite struct ServingSLOTests {
    /// The search returns a rate whose run meets both p99 targets, and 5% more load (the same
    /// arrival pattern, scaled) breaks one of them.
    @Test func sloSearchFindsTheEdge() throws {
        let base = """
            name: s
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: llama3-8b, parallelism: { tp: 1 }, input_tokens: 512, output_tokens: 128, arrival_rate: 2, duration: 60 s, max_batch: 512 }
            """
        let searched = try metrics(base.replacingOccurrences(of: "max_batch: 512", with: "max_batch: 512, slo: { tpot_p99: 25 ms, ttft_p99: 1 s }"))
        let rate = searched["slo_arrival_rate_per_s"]!
        print("SLO rate \(rate)/s: p99 TPOT \(searched["tpot_p99_s"]!) s, p99 TTFT \(searched["ttft_p99_s"]!) s")
        #expect(rate > 2)
        #expect(searched["tpot_p99_s"]! <= 0.025 && searched["ttft_p99_s"]! <= 1)
        let above = try metrics(base.replacingOccurrences(of: "arrival_rate: 2", with: "arrival_rate: \(rate * 1.05)"))
        #expect(above["tpot_p99_s"]! > 0.025 || above["ttft_p99_s"]! > 1)
    }
}

@Suite struct DisaggregatedServingTests {
    static func yaml(disaggregated: String?, rate: Double = 3, kv: String = "nvlink", transport: String = "infiniband") -> String {
        """
        name: d
        seed: 3
        cluster: { system: h100-sxm, scale_out: { transport: \(transport) } }
        stack: { cuda_graphs: true }
        workload:
          kind: serving
          model: llama3-8b
          parallelism: { tp: 1 }
          input_tokens: 4096
          output_tokens: 256
          arrival_rate: \(rate)
          duration: 60 s
          chunk_tokens: 1024
        \(disaggregated.map { "  disaggregated: { \($0), kv_transfer: \(kv) }" } ?? "")
        """
    }

    /// Prefill chunks stall every decode step they share an iteration with; with the pools
    /// apart, decode steps never wait on prompts, so the tail TPOT falls (DistServe's point).
    /// Every request is served either way, and its first token still comes from a prefill.
    @Test func separatePoolsRemovePrefillInterference() throws {
        let colocated = try metrics(Self.yaml(disaggregated: nil))
        let split = try metrics(Self.yaml(disaggregated: "prefill_instances: 1, decode_instances: 1"))
        print("p99 TPOT colocated \(colocated["tpot_p99_s"]!) s, disaggregated \(split["tpot_p99_s"]!) s; TTFT \(colocated["ttft_s"]!) / \(split["ttft_s"]!) s; KV transfer \(split["kv_transfer_s"]!) s")
        #expect(split["requests_completed"] == colocated["requests_completed"])
        #expect(split["tpot_p99_s"]! < 0.8 * colocated["tpot_p99_s"]!)
        #expect(split["kv_transfer_s"]! > 0)
    }

    /// The KV cache of a 4,096-token prompt (Llama 3 8B, bf16: 128 KiB per token) crosses
    /// NVLink (450 GB/s) several times faster than a 400 Gb/s NIC.
    @Test func kvTransferOverTheNetworkIsSlower() throws {
        let nvlink = try metrics(Self.yaml(disaggregated: "prefill_instances: 1, decode_instances: 1", rate: 0.5))
        let network = try metrics(Self.yaml(disaggregated: "prefill_instances: 1, decode_instances: 1", rate: 0.5, kv: "network"))
        let bytes = 4096.0 * 32 * 2 * 8 * 128 * 2
        print("KV transfer of \(bytes / 1e6) MB: NVLink \(nvlink["kv_transfer_s"]! * 1e3) ms, network \(network["kv_transfer_s"]! * 1e3) ms")
        #expect(network["kv_transfer_s"]! >= bytes / 50e9)
        #expect(network["kv_transfer_s"]! > 5 * nvlink["kv_transfer_s"]!)
        // Over RoCE the NICs carry NCCL's traffic at their fitted share (0.624 of line rate,
        // calibration.csv NCCL15) against InfiniBand's assumed NVLink-ring share: a 537 MB
        // transfer is bandwidth-bound, so its time scales by the ratio of the shares.
        let roce = try metrics(Self.yaml(disaggregated: "prefill_instances: 1, decode_instances: 1", rate: 0.5, kv: "network", transport: "roce"))
        let ratio = roce["kv_transfer_s"]! / network["kv_transfer_s"]!
        let expected = CollectiveTiming.calibrated(for: .hopper).linkEfficiency / CollectiveTiming.roceNICEfficiency
        print("KV transfer over RoCE \(roce["kv_transfer_s"]! * 1e3) ms: \(ratio)× InfiniBand's (shares' ratio \(expected))")
        #expect(abs(ratio / expected - 1) < 0.02)
    }
}

@Suite struct ServingReplicaTests {
    /// Two replicas at twice the arrival rate serve twice the tokens per second at the same
    /// tokens per GPU, no slower per request (each arrival joins the shorter queue), and the
    /// system still obeys Little's law.
    @Test func replicasShareTheLoad() throws {
        func yaml(dp: Int, rate: Double) -> String {
            "name: r\nseed: 5\ncluster: { system: h100-sxm }\nstack: { cuda_graphs: true }\nworkload: { kind: serving, model: llama3-8b, parallelism: { tp: 1, dp: \(dp) }, input_tokens: 512, output_tokens: 128, arrival_rate: \(rate), duration: 120 s }\n"
        }
        let one = try metrics(yaml(dp: 1, rate: 10)), two = try metrics(yaml(dp: 2, rate: 20))
        print("1 replica at 10/s: \(one["tokens_per_s"]!) tokens/s, e2e \(one["e2e_s"]!) s; 2 at 20/s: \(two["tokens_per_s"]!), e2e \(two["e2e_s"]!) s")
        #expect(abs(two["tokens_per_s"]! / one["tokens_per_s"]! - 2) < 0.1)
        #expect(abs(two["tokens_per_s_per_gpu"]! / one["tokens_per_s_per_gpu"]! - 1) < 0.05)
        #expect(two["e2e_s"]! <= one["e2e_s"]! * 1.05)
        let little = two["throughput_requests_per_s"]! * two["e2e_s"]!
        #expect(abs(two["mean_requests_in_system"]! / little - 1) < 0.05)
    }
}

@Suite struct WideEPServingTests {
    /// Under wide expert parallelism every attention group prefills its own prompt each
    /// iteration: a burst of 64 prompts on 64 groups (TP 1 × EP 64) clears in one iteration,
    /// so its mean TTFT stays within a small factor of a lone prompt's (the experts then work
    /// on 64 prompts' tokens at once) — not the ~32 iterations of one prefill per instance.
    @Test func everyAttentionGroupPrefills() throws {
        let dir = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func ttft(prompts: Int) throws -> Double {
            TestSupport.write("arrival_s,input_tokens,output_tokens\n" + (0..<prompts).map { _ in "0,2048,16" }.joined(separator: "\n") + "\n", to: "burst.csv", in: dir)
            let text = "name: w\ncluster: { system: gb200-nvl72 }\nstack: { cuda_graphs: true }\nworkload: { kind: serving, model: deepseek-v3, precision: fp4, kv_precision: fp8, parallelism: { tp: 1, ep: 64 }, trace: burst.csv, chunk_tokens: 2048 }\n"
            TestSupport.write(text, to: "w.yaml", in: dir)
            let plan = try ScenarioLoader.load(path: dir.appendingPathComponent("w.yaml").path)
            try ExperimentRunner.check(plan)
            let m = ExperimentRunner.run(plan, threads: 1).replications[0].metrics
            #expect(m.first { $0.name == "requests_completed" }?.value == Double(prompts))
            return m.first { $0.name == "ttft_s" }!.value
        }
        let lone = try ttft(prompts: 1), burst = try ttft(prompts: 64)
        print("DeepSeek-V3 on 64 GB200 (TP 1 × EP 64): TTFT of a lone 2,048-token prompt \(lone) s, mean of a 64-prompt burst \(burst) s")
        #expect(burst < 3 * lone)
    }
}

@Suite struct SpeculativeServingTests {
    /// At a light load, speculation (8B draft, k 4, α 0.8) cuts a 70B server's TPOT as it does a
    /// static decode's; with nothing accepted it only adds work.
    @Test func speculationShortensTPOTAtLightLoad() throws {
        func tpot(_ stack: String) throws -> Double {
            try metrics("name: s\ncluster: { system: h100-sxm }\nstack: { cuda_graphs: true\(stack) }\nworkload: { kind: serving, model: llama3-70b, precision: fp8, kv_precision: fp8, parallelism: { tp: 4 }, input_tokens: 1024, output_tokens: 256, arrival_rate: 1, duration: 60 s }\n")["tpot_s"]!
        }
        let plain = try tpot(""), good = try tpot(", speculative: { draft_model: llama3-8b, draft_tokens: 4, acceptance: 0.8 }")
        let bad = try tpot(", speculative: { draft_model: llama3-8b, draft_tokens: 4, acceptance: 0 }")
        print("serving TPOT: plain \(plain * 1e3) ms, speculative α 0.8 \(good * 1e3) ms, α 0 \(bad * 1e3) ms")
        #expect(plain / good > 1.3)
        #expect(bad > plain)
    }

    /// The draft's weights count against the serving memory: a 70B fp8 target fits one H100
    /// (70.6 GB of weights), but not with a 70B draft beside it, which is refused, not run with
    /// no room for any request.
    @Test func draftWeightsMustFit() throws {
        func yaml(_ stack: String) -> String {
            "name: s\ncluster: { system: h100-sxm }\nstack: { cuda_graphs: true\(stack) }\nworkload: { kind: serving, model: llama3-70b, precision: fp8, parallelism: { tp: 1 }, input_tokens: 100, output_tokens: 10, arrival_rate: 1, requests: 5 }\n"
        }
        #expect(try metrics(yaml(""))["requests_completed"] == 5)
        #expect(throws: ExperimentError.self) {
            _ = try metrics(yaml(", speculative: { draft_model: llama3-70b, draft_tokens: 2, acceptance: 0.5 }"))
        }
    }
}
