import Foundation
import Testing
import TestSupport
@testable import Experiments
import Cluster
import Hardware
import Models
import Report
import Scenario
@testable import Workloads

/// The iteration scheduler: the token budget, paged KV allocation with preemption, closed loops.
@Suite struct ServingSchedulerTests {
    static func burst(budget: Int, extra: String = "") -> String {
        """
        name: b
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        workload: { kind: serving, model: llama3-8b, input_tokens: 256, output_tokens: 2, concurrency: 16, requests: 16, max_batch: 16, max_num_tokens: \(budget)\(extra) }
        """
    }

    /// The run's iteration pricer, as the workload builds it.
    static func prices(_ yaml: String) throws -> IterationPrices {
        let spec = try ScenarioLoader.plan(text: yaml, file: "b.yaml").variants[0].spec
        let serving = spec.workload as! ServingSpec
        return IterationPrices(DecodeWorkload.pricer(spec, serving.inference, system: spec.cluster!.system))
    }

    /// 16 prompts of 256 tokens arriving together under an 8,192-token budget prefill in one
    /// iteration: every first token comes at once, after the price of that one mixed batch
    /// (GEMMs over 4,096 tokens, sixteen chunks' attention).
    @Test func shortPromptsPrefillTogether() throws {
        let yaml = Self.burst(budget: 8192)
        let m = try metrics(yaml)
        let one = try Self.prices(yaml).seconds(IterationShape(decodeSequences: 0, meanContext: 0,
                                                               prefills: Array(repeating: PrefillChunk(tokens: 256, context: 0), count: 16)))
        print("16 × 256-token prompts, budget 8192: TTFT \(m["ttft_s"]!) s (p50 \(m["ttft_p50_s"]!), p99 \(m["ttft_p99_s"]!)); one iteration priced \(one) s")
        #expect(m["ttft_p50_s"] == m["ttft_p99_s"])
        #expect(abs(m["ttft_s"]! / one - 1) < 1e-12)
        #expect(m["requests_completed"] == 16)
    }

    /// Under a 2,048-token budget decodes go first and chunks fill the rest: iteration 1
    /// prefills prompts 1–8; iteration 2 decodes those 8 (their last token) and prefills 7 whole
    /// prompts and 248 tokens of the 16th; iteration 3 decodes 7 and prefills its last 8 tokens.
    /// The mean TTFT is (8 t₁ + 7 t₂ + t₃) / 16 with each tᵢ the sum of those prices.
    @Test func decodesFirstThenChunks() throws {
        let yaml = Self.burst(budget: 2048)
        let m = try metrics(yaml)
        let p = try Self.prices(yaml)
        let whole = PrefillChunk(tokens: 256, context: 0)
        let t1 = p.seconds(IterationShape(decodeSequences: 0, meanContext: 0, prefills: Array(repeating: whole, count: 8)))
        let t2 = t1 + p.seconds(IterationShape(decodeSequences: 8, meanContext: 257,
                                               prefills: Array(repeating: whole, count: 7) + [PrefillChunk(tokens: 248, context: 0)]))
        let t3 = t2 + p.seconds(IterationShape(decodeSequences: 7, meanContext: 257, prefills: [PrefillChunk(tokens: 8, context: 248)]))
        let expected = (8 * t1 + 7 * t2 + t3) / 16
        print("budget 2048: mean TTFT \(m["ttft_s"]!) s, closed form \(expected) s (t1 \(t1), t2 \(t2), t3 \(t3))")
        #expect(abs(m["ttft_s"]! / expected - 1) < 1e-9)
    }

    /// Every running sequence decodes in each iteration, so the budget must cover max_batch
    /// (vLLM refuses max_num_batched_tokens below max_num_seqs likewise).
    @Test func budgetBelowTheBatchIsRefused() {
        #expect(throws: ScenarioError.self) { try ScenarioLoader.plan(text: Self.burst(budget: 8), file: "b.yaml") }
        do {
            _ = try ScenarioLoader.plan(text: Self.burst(budget: 8), file: "b.yaml")
        } catch {
            #expect("\(error)".contains("workload.max_num_tokens"))
        }
    }

    static func tight(_ allocation: String) -> String {
        // 8B bf16 weights take 16.06 GB; the fraction leaves ~0.6 GB for KV at 128 KiB per token:
        // ~4,600 tokens, 4 requests of 128 + 512 reserved whole, ~36 prompts of 128.
        let fraction = ((16.64e9 / SystemSpec.h100SXM.gpu.hbmCapacity) * 1000).rounded() / 1000
        return """
            name: s
            seed: 11
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: llama3-8b, input_tokens: 128, output_tokens: 512, arrival_rate: 10, requests: 300, memory_fraction: \(fraction), kv_allocation: \(allocation) }
            """
    }

    /// Paged allocation under a tight cache, with outputs long beside prompts: requests are
    /// admitted on their prompt alone, so the batch and the throughput are larger than when each
    /// reserves its whole output; the cache fills as tokens grow and running requests are
    /// preempted and recomputed, and still every request gets every token and the cache never
    /// over-fills. Reserving never preempts.
    @Test func pagedAllocationPreemptsWhenFull() throws {
        let reserve = try metrics(Self.tight("reserve")), paged = try metrics(Self.tight("paged"))
        print("tight cache: reserve batch \(reserve["mean_batch_size"]!), KV use \(reserve["kv_cache_utilisation"]!), preemptions \(reserve["preemptions"]!); "
              + "paged batch \(paged["mean_batch_size"]!), KV use \(paged["kv_cache_utilisation"]!), preemptions \(paged["preemptions"]!)")
        #expect(reserve["preemptions"] == 0)
        #expect(paged["preemptions"]! > 0)
        #expect(paged["requests_completed"] == 300 && reserve["requests_completed"] == 300)
        #expect(paged["tokens_per_s"]! > reserve["tokens_per_s"]!)
        #expect(paged["kv_cache_utilisation"]! <= 1 && reserve["kv_cache_utilisation"]! <= 1)
        #expect(paged["mean_batch_size"]! > reserve["mean_batch_size"]!)
        // Every request's 512 tokens are counted once, preempted or not.
        for m in [reserve, paged] {
            let end = m["requests_completed"]! / m["throughput_requests_per_s"]!
            #expect(abs(m["tokens_per_s"]! * end / (300 * 512) - 1) < 1e-9)
        }
    }

    /// With ample memory paged and reserved allocation run the same schedule (nothing waits for
    /// cache), so the latencies agree exactly; only the blocks in use differ.
    @Test func pagedEqualsReserveWhenTheCacheIsAmple() throws {
        let yaml = ServingTests().scenario(rate: 20, requests: 300)
        let reserve = try metrics(yaml), paged = try metrics(yaml.replacingOccurrences(of: "memory_fraction: 0.9", with: "memory_fraction: 0.9, kv_allocation: paged"))
        #expect(paged["ttft_s"] == reserve["ttft_s"] && paged["e2e_p99_s"] == reserve["e2e_p99_s"] && paged["preemptions"] == 0)
        #expect(paged["kv_cache_utilisation"]! < reserve["kv_cache_utilisation"]!)
    }

    static func closed(users: Int, requests: Int) -> String {
        """
        name: c
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        workload: { kind: serving, model: llama3-8b, input_tokens: 512, output_tokens: 64, concurrency: \(users), requests: \(requests) }
        """
    }

    /// One user sends each request when the last returns: the run is its requests back to
    /// back, so the achieved rate is 1 / the mean end-to-end latency, and one request runs at a time.
    @Test func oneUserRunsBackToBack() throws {
        let m = try metrics(Self.closed(users: 1, requests: 50))
        #expect(m["requests_completed"] == 50)
        #expect(abs(m["throughput_requests_per_s"]! * m["e2e_s"]! - 1) < 1e-9)
        #expect(abs(m["mean_batch_size"]! - 1) < 1e-9)
    }

    /// N users keep N requests in the system until the last ones drain: the time average is
    /// N within the drain at the end (under 3% over 400 requests).
    @Test func usersKeepTheirRequestsInFlight() throws {
        let m = try metrics(Self.closed(users: 8, requests: 400))
        print("8 users: mean in system \(m["mean_requests_in_system"]!), batch \(m["mean_batch_size"]!)")
        #expect(m["requests_completed"] == 400)
        #expect(m["mean_requests_in_system"]! <= 8 + 1e-9 && m["mean_requests_in_system"]! > 8 * 0.97)
    }

    /// Concurrency replaces the arrival process: with an arrival rate, a trace or an SLO search
    /// it is refused, naming the key.
    @Test func concurrencyExcludesOtherArrivals() {
        for extra in ["arrival_rate: 3", "slo: { tpot_p99: 50 ms, ttft_p99: 1 s }"] {
            let yaml = Self.closed(users: 2, requests: 10).replacingOccurrences(of: "concurrency: 2", with: "concurrency: 2, \(extra)")
            do {
                _ = try ScenarioLoader.plan(text: yaml, file: "c.yaml")
                Issue.record("accepted \(extra)")
            } catch {
                #expect("\(error)".contains(extra.hasPrefix("slo") ? "workload.slo" : "workload.arrival_rate"))
            }
        }
    }
}

/// Pipeline-parallel serving: stages in turn, the hidden states sent between them.
@Suite struct PipelineServingTests {
    static func lone(pp: Int) -> String {
        """
        name: p
        cluster: { system: h100-sxm }
        stack: { cuda_graphs: true }
        workload: { kind: serving, model: llama3-70b, precision: fp8, kv_precision: fp8, parallelism: { tp: 4, pp: \(pp) }, input_tokens: 1000, output_tokens: 50, concurrency: 1, requests: 1 }
        """
    }

    /// A lone request through 2 stages of TP 4 takes what it takes on one TP 4 group (each
    /// stage runs its half of every layer kind's kernels, the head on the last) plus one send
    /// of the hidden states per iteration: the prompt's 1,000 tokens, then one token per step.
    @Test func aLoneRequestPaysTheSends() throws {
        let one = try metrics(Self.lone(pp: 1)), two = try metrics(Self.lone(pp: 2))
        let gpu = SystemSpec.h100SXM.gpu, hidden = Double(ModelSpec.named("llama3-70b")!.hidden) * 2 / 4
        let sends = GroupCollective.pointToPoint(bytes: 1000 * hidden, gpu: gpu, sameDomain: true, transport: .infiniband)
            + 49 * GroupCollective.pointToPoint(bytes: hidden, gpu: gpu, sameDomain: true, transport: .infiniband)
        print("70B fp8, 1000/50, TP 4: e2e \(one["e2e_s"]!) s on one stage, \(two["e2e_s"]!) s on two (sends \(sends) s)")
        #expect(abs((two["e2e_s"]! - one["e2e_s"]!) / sends - 1) < 1e-6)
        #expect(two["requests_completed"] == 1)
    }

    /// Disaggregated pools with stages: the lone request pays the same sends in its prefill
    /// (1,000 tokens) and decode (49 steps) iterations, and its KV transfer moves in two
    /// halves at once (each stage's GPUs send their 40 layers' share) instead of whole.
    @Test func disaggregatedStagesPayTheSendsAndHalveTheTransfer() throws {
        func disaggregated(_ pp: Int) -> String {
            Self.lone(pp: pp).replacingOccurrences(of: "requests: 1 }", with: "requests: 1, disaggregated: { prefill_instances: 1, decode_instances: 1 } }")
        }
        let one = try metrics(disaggregated(1)), two = try metrics(disaggregated(2))
        let gpu = SystemSpec.h100SXM.gpu, model = ModelSpec.named("llama3-70b")!, hidden = Double(model.hidden) * 2 / 4
        let sends = GroupCollective.pointToPoint(bytes: 1000 * hidden, gpu: gpu, sameDomain: true, transport: .infiniband)
            + 49 * GroupCollective.pointToPoint(bytes: hidden, gpu: gpu, sameDomain: true, transport: .infiniband)
        let kv = InferenceOps.kvCacheBytesPerRank(model: model, tokens: 1000, kvPrecision: .fp8, tp: 4)
        let transfer = GroupCollective.pointToPoint(bytes: kv / 2, gpu: gpu, sameDomain: true, transport: .infiniband) - GroupCollective.pointToPoint(bytes: kv, gpu: gpu, sameDomain: true, transport: .infiniband)
        print("disaggregated 70B fp8, TP 4: e2e \(one["e2e_s"]!) s on one stage, \(two["e2e_s"]!) s on two (sends \(sends) s, transfer \(transfer) s)")
        #expect(abs((two["e2e_s"]! - one["e2e_s"]!) / (sends + transfer) - 1) < 1e-6)
        #expect(two["requests_completed"] == 1 && two["kv_transfer_s"]! < one["kv_transfer_s"]!)
    }
}

@Suite struct ServingEdgeTests {
    /// Requests of one output token have no TPOT: the per-user rate is left out (as the TPOT
    /// statistics are), not a NaN that stops the run.
    @Test func oneTokenOutputsHaveNoPerUserRate() throws {
        let m = try metrics("name: o\ncluster: { system: h100-sxm }\nworkload: { kind: serving, model: llama3-8b, input_tokens: 100, output_tokens: 1, arrival_rate: 5, requests: 50 }\n")
        #expect(m["requests_completed"] == 50 && m["tokens_per_s_per_user"] == nil && m["tpot_s"] == nil)
        #expect(m.values.allSatisfy { $0.isFinite })
    }

    /// Wide EP across racks (DeepSeek-V3 over 128 GB200s, two NVL72 domains) runs.
    @Test func expertParallelismAcrossRacksRuns() throws {
        let m = try metrics("name: e\ncluster: { system: gb200-nvl72, gpus: 128 }\nstack: { cuda_graphs: true }\nworkload: { kind: serving, model: deepseek-v3, precision: fp4, kv_precision: fp8, parallelism: { tp: 1, ep: 128 }, input_tokens: 1024, output_tokens: 64, concurrency: 128, requests: 128 }\n")
        #expect(m["requests_completed"] == 128)
    }
}

@Suite struct DisaggregatedPagedTests {
    static func yaml(_ allocation: String) -> String {
        let fraction = ((16.64e9 / SystemSpec.h100SXM.gpu.hbmCapacity) * 1000).rounded() / 1000
        return """
            name: d
            seed: 3
            cluster: { system: h100-sxm }
            stack: { cuda_graphs: true }
            workload: { kind: serving, model: llama3-8b, input_tokens: 128, output_tokens: 512, arrival_rate: 10, requests: 200, memory_fraction: \(fraction),
                        kv_allocation: \(allocation), disaggregated: { prefill_instances: 1, decode_instances: 1 } }
            """
    }

    /// Paged decode instances admit on the cache so far and send a preempted request back to
    /// the prefill pool to be recomputed and transferred again: under a tight cache they run a
    /// larger batch than reserving, preempt, and still deliver every token once.
    @Test func pagedDecodePoolPreemptsToThePrefillPool() throws {
        let reserve = try metrics(Self.yaml("reserve")), paged = try metrics(Self.yaml("paged"))
        print("disaggregated, tight cache: reserve batch \(reserve["mean_batch_size"]!), paged batch \(paged["mean_batch_size"]!), preemptions \(paged["preemptions"]!)")
        #expect(reserve["preemptions"] == 0 && paged["preemptions"]! > 0)
        #expect(paged["mean_batch_size"]! > reserve["mean_batch_size"]!)
        for m in [reserve, paged] {
            #expect(m["requests_completed"] == 200)
            let end = m["requests_completed"]! / m["throughput_requests_per_s"]!
            #expect(abs(m["tokens_per_s"]! * end / (200 * 512) - 1) < 1e-9)
            #expect(m["kv_cache_utilisation"]! <= 1)
        }
    }
}
