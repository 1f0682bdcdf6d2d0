import Foundation
import Testing
import TestSupport
@testable import Experiments
import Report
import Scenario

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

    /// Little's law: the time-averaged number of requests in the system equals the arrival
    /// rate (requests over the run) times the mean time in system, within 5%. The average is
    /// integrated from the scheduler's queues, the latency from each request's timestamps, so
    /// a lost or double-counted request breaks it.
    @Test(arguments: [5.0, 40.0])
    func littlesLaw(rate: Double) throws {
        let m = try metrics(scenario(rate: rate, requests: 2000))
        let l = m["mean_requests_in_system"]!, lambdaW = m["arrival_rate_per_s"]! * m["e2e_s"]!
        print("rate \(rate)/s: L = \(l), λW = \(lambdaW), batch \(m["mean_batch_size"]!)")
        #expect(m["requests_completed"]! == 2000)
        #expect(abs(l / lambdaW - 1) < 0.05)
    }

    /// Admission respects KV capacity: with memory for only a few requests' caches, requests
    /// queue, the batch stays small, the cache never over-fills, and TTFT grows.
    @Test func kvCapacityLimitsAdmission() throws {
        let ample = try metrics(scenario(rate: 40, requests: 500))
        // 8B bf16 weights take 16.06 GB; 0.208 × 80 GB leaves 0.58 GB for KV at 128 KiB per
        // token (32 layers × 2 × 8 heads × 128 × 2 B): ~4,400 tokens, 7 requests of 576.
        let tight = try metrics(scenario(rate: 40, requests: 500, memoryFraction: 0.208))
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
    @Test(arguments: [("DEC01", "h100-sxm", 2, "fp8"), ("DEC04", "gb200-nvl72", 1, "fp4")])
    func offlineThroughput(id: String, system: String, tp: Int, precision: String) throws {
        let file = TestSupport.packageRoot.appendingPathComponent("scenarios/reference/calibration.csv")
        let measured = Double(try CSVTable(contentsOf: file.path).records.first { $0["id"] == id }!["value"]!)!
        let yaml = """
            name: offline
            cluster: { system: \(system) }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: llama3-70b, precision: \(precision), kv_precision: fp8, parallelism: { tp: \(tp) }, input_tokens: 1000, output_tokens: 1000, arrival_rate: 100000, requests: 3000, max_batch: 2048, chunk_tokens: 8192 }
            """
        let plan = try ScenarioLoader.plan(text: yaml, file: "o.yaml")
        let run = ExperimentRunner.run(plan, threads: 1).replications[0]
        let predicted = run.metrics.first { $0.name == "tokens_per_s_per_gpu" }!.value
        print(String(format: "%@: %.0f tokens/s/GPU (measured %.0f, %+.1f%%)", id, predicted, measured, (predicted / measured - 1) * 100))
        #expect(abs(predicted / measured - 1) < 0.15)
    }
}
