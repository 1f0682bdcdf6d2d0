import Foundation
import Report
import Scenario
import Testing
import TestSupport
import Workloads
@testable import Experiments

/// Keys and metrics are declared once per kind: these tests hold the reader, the runner and the
/// docs to those declarations.
@Suite struct KindCatalogueTests {
    static var root: URL { TestSupport.packageRoot }

    /// Every shipped scenario, plus small ones that set the optional sections no shipped
    /// scenario uses.
    static func corpus() throws -> [(file: String, plan: ExperimentPlan)] {
        var plans: [(String, ExperimentPlan)] = []
        for folder in ["scenarios", "scenarios/reference"] {
            let url = root.appendingPathComponent(folder)
            for file in try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() where file.hasSuffix(".yaml") {
                plans.append(("\(folder)/\(file)", try ScenarioLoader.load(path: url.appendingPathComponent(file).path)))
            }
        }
        let fixtures = [
            """
            name: all-shared-keys
            description: every shared section
            seed: 3
            replications: 2
            cluster: { system: gb200-nvl72, gpus: 8, power_limit: 600 W, scale_out: { domains_per_leaf: 4, oversubscription: 2 } }
            stack:
              cuda_graphs: true
              launch_overhead: 4 us
              kernel_efficiency: { gemm: 1.1, attention: 1.0, elementwise: 1.2 }
              communication_overlap: 0.5
              attention_efficiency: 1.1
              speculative: { draft_model: llama3-8b, draft_tokens: 3, acceptance: 0.7 }
            noise: { kernel_cv: 0.01, network_cv: 0, clock_cv: 0.01, common_random_numbers: false,
                     stragglers: { probability: 0.01, slowdown: 1.5 } }
            workload: { kind: decode, model: llama3-70b, parallelism: { tp: 8, pp: 1, dp: 1, ep: 1 }, batch: 4,
                        input_tokens: 128, output_tokens: 8, precision: fp8, kv_precision: fp8 }
            variants: [{ name: base }, { name: h100, set: { cluster.system: h100-sxm } }]
            compare: { baseline: base, claim: 1.2, margin: 0.05, metric: tpot_s }
            """,
            """
            name: serving-outputs
            cluster: { system: h100-sxm }
            workload: { kind: serving, model: llama3-8b, input_tokens: 128, output_tokens: 8, arrival_rate: 1, requests: 4,
                        outputs: { requests: true, timeline: true, timeline_interval: 0.5 s } }
            """,
            """
            name: training-keys
            cluster: { system: h100-sxm, gpus: 16 }
            workload: { kind: training, model: llama3-8b, sequence_length: 2048, global_batch: 32, micro_batch: 1,
                        parallelism: { tp: 2, pp: 2, cp: 1, ep: 1, vp: 2, dp: 4, sequence_parallel: true },
                        recompute: selective, zero: 1, gradient_reduce_precision: fp32, bucket_parameters: 20e6,
                        overlap_grad_reduce: true, overlap_param_gather: false, communication_sms: 8, offload_layers: 1, fold: true }
            """,
        ]
        for (i, text) in fixtures.enumerated() { plans.append(("fixture \(i)", try ScenarioLoader.plan(text: text, file: "fixture-\(i).yaml"))) }
        return plans
    }

    /// A key in a table that no reader asks for would be documented and accepted yet ignored.
    @Test func everyDeclaredKeyIsRead() throws {
        var read = Set<String>()
        for (_, plan) in try Self.corpus() { read.formUnion(plan.keysRead) }
        let declared = ScenarioKeys.table.keys.map { ScenarioKeys.table.fullPath($0) }
            + WorkloadRegistry.kinds.flatMap { kind in kind.keys.keys.map { "\(kind.kind):\(kind.keys.fullPath($0))" } }
        // Workload keys are read per kind; a kind's key counts as read when some scenario of that
        // kind read it.
        var readByKind = Set<String>()
        for (_, plan) in try Self.corpus() {
            let kind = type(of: plan.variants[0].spec.kind).kind
            for key in plan.keysRead where key.hasPrefix("workload.") { readByKind.insert("\(kind):\(key)") }
        }
        let unread = declared.filter { $0.contains(":") ? !readByKind.contains($0) : !read.contains($0) }
        #expect(unread.isEmpty, "declared but never read: \(unread)")
    }

    /// The reader accepts exactly the table's keys: one more is refused with a suggestion.
    @Test(arguments: ["gemm", "decode", "serving", "training"]) func undeclaredKeyIsRefused(kind: String) throws {
        let text = """
            name: bad
            cluster: { system: h100-sxm }
            workload: { kind: \(kind), not_a_key: 1 }
            """
        do {
            _ = try ScenarioLoader.plan(text: text, file: "bad.yaml")
            Issue.record("accepted an undeclared key")
        } catch {
            #expect(error.diagnostics.contains { $0.path == "workload.not_a_key" && $0.message.hasPrefix("unknown key") })
        }
    }

    /// What each kind reports is what its catalogue declares, with the declared unit.
    @Test func reportedMetricsAreCatalogued() throws {
        let fast = ["h200-gemm", "h200-copy", "showcase-transfers", "nccl-allreduce-h100-hgx"].map { "scenarios/\($0).yaml" }
            + ["decode-dec16", "serving-dec04", "training-meg04"].map { "scenarios/reference/\($0).yaml" }
        var kinds = Set<String>()
        for file in fast {
            let plan = try ScenarioLoader.load(path: Self.root.appendingPathComponent(file).path, overrides: ["replications=1"])
            let kind = type(of: plan.variants[0].spec.kind)
            kinds.insert(kind.kind)
            for metric in ExperimentRunner.run(plan, threads: 1).replications[0].metrics {
                let entry = kind.metrics.entry(for: metric.name)
                #expect(entry != nil, "\(file): \(metric.name) is not in the \(kind.kind) catalogue")
                #expect(entry.map { $0.unit == metric.unit } ?? true, "\(file): \(metric.name) in \(metric.unit), catalogue says \(entry?.unit ?? "")")
            }
        }
        #expect(kinds.count == 7)
    }

    @Test func placeholdersMatchOneDottedPart() {
        let info = MetricInfo("<operation>.<bytes>B.time_s", unit: "s", .lower, "")
        #expect(info.matches("all_reduce.1048576B.time_s"))
        #expect(!info.matches("all_reduce.1048576B.busbw_GBps"))
        #expect(!info.matches("a.b.1048576B.time_s"))
        #expect(MetricInfo("transfer.<name>.duration_s", unit: "s", .lower, "").matches("transfer.gpu1-to-gpu0.duration_s"))
    }

    /// Inputs such as the offered arrival rate are reported but never ranked.
    @Test func compareRanksOnlyDirectedMetrics() throws {
        let plan = try ScenarioLoader.load(path: Self.root.appendingPathComponent("scenarios/reference/serving-dec04.yaml").path,
                                           overrides: ["replications=1", "workload.requests=200", "variants=[{name: a}, {name: b, set: {stack.kernel_efficiency: 1.1}}]"])
        let rows = Comparison.rows(ExperimentRunner.run(plan, threads: 1), compare: CompareSpec(baseline: "a"), catalogue: plan.metricCatalogue)
        let metrics = Set(rows.map(\.metric))
        #expect(metrics.contains("tokens_per_s_per_gpu") && metrics.contains("ttft_p99_s"))
        #expect(!metrics.contains("arrival_rate_per_s") && !metrics.contains("requests_completed") && !metrics.contains("mean_batch_size"))
    }

    /// The committed reference pages are what the tables produce (`make docs` rewrites them).
    @Test func generatedDocsAreUpToDate() throws {
        for (page, text) in [("docs/scenario-keys.md", ReferencePages.keysPage()), ("docs/metrics.md", ReferencePages.metricsPage())] {
            let committed = try String(contentsOf: Self.root.appendingPathComponent(page), encoding: .utf8)
            #expect(committed == text, "\(page) is out of date; run make docs")
        }
    }
}
