import Foundation
import Testing
import TestSupport
@testable import Experiments
import Scenario
import Workloads

/// Configuration search: branch and bound finds the exhaustive search's best and front, the
/// training bound never exceeds a simulated step, the front holds only non-dominated points,
/// best.yaml reproduces its row, halving keeps a full-length best, and the files do not depend
/// on the thread count.
@Suite struct SearchTests {
    /// Llama 3 405B on 1,024 H100: a small corner of the layout space (32 points).
    static let training = """
        name: s405
        seed: 1
        cluster: { system: h100-sxm, gpus: 1024 }
        workload:
          kind: training
          model: llama3-405b
          parallelism: { tp: 8, pp: 16 }
          sequence_length: 8192
          global_batch: 512
          micro_batch: 1
          recompute: selective
          gradient_reduce_precision: fp32
        search:
          space:
            workload.parallelism.tp: [4, 8]
            workload.parallelism.pp: [8, 16]
            workload.parallelism.vp: [1, 2]
            workload.micro_batch: [1, 2]
            workload.recompute: [selective, full]
          objective: tokens_per_s_per_gpu

        """

    /// Llama 3 8B serving on one H100 in a closed loop: TP and users (12 points).
    static let serving = """
        name: s8b
        seed: 3
        cluster: { system: h100-sxm, gpus: 4 }
        workload:
          kind: serving
          model: llama3-8b
          precision: fp8
          kv_precision: fp8
          parallelism: { tp: 1 }
          input_tokens: 512
          output_tokens: 64
          concurrency: 4
          duration: 20 s
        search:
          space:
            workload.parallelism.tp: [1, 2, 4]
            workload.concurrency: { from: 4, to: 256, times: 4 }
          objective: tokens_per_s_per_gpu
          pareto: [tokens_per_s_per_user, tokens_per_s_per_gpu]

        """

    func search(_ text: String, _ overrides: [String] = [], threads: Int = 2) throws -> Search.Outcome {
        let tree = try ScenarioLoader.tree(text: text, file: "s.yaml", overrides: overrides)
        let plan = try ScenarioLoader.plan(tree: tree, file: "s.yaml", contents: Array(text.utf8))
        return try Search.run(plan, tree: tree, threads: threads, ensemble: 0)
    }

    @Test func boundFindsTheExhaustiveBestAndFront() throws {
        let bound = try search(Self.training, ["search.strategy=bound"])
        let exhaustive = try search(Self.training, ["search.strategy=exhaustive"])
        #expect(bound.strategy == .bound && exhaustive.strategy == .exhaustive)
        let b = try #require(bound.best[0]), e = try #require(exhaustive.best[0])
        #expect(bound.rows[b].point == exhaustive.rows[e].point)
        #expect(bound.rows[b].metrics["tokens_per_s_per_gpu"] == exhaustive.rows[e].metrics["tokens_per_s_per_gpu"])
        #expect(bound.front.map { bound.rows[$0].point } == exhaustive.front.map { exhaustive.rows[$0].point })
        // It simulated fewer points, and pruned some by their bound.
        #expect(bound.simulations < exhaustive.simulations, "bound \(bound.simulations), exhaustive \(exhaustive.simulations)")
        #expect(bound.rows.contains { $0.status == .pruned && $0.reason.hasPrefix("its bound tokens_per_s_per_gpu ") })
        // The statuses of the unsimulated points agree.
        for (x, y) in zip(bound.rows, exhaustive.rows) where x.status == .invalid || x.status == .infeasible && x.metrics.isEmpty {
            #expect(y.status == x.status && y.reason == x.reason)
        }
    }

    /// The bound is a bound: no simulated layout beats its optimistic throughput, whatever the
    /// layout (including ones the search space above does not reach: ZeRO 3, cp 2, fp8).
    @Test(arguments: ["", "workload.zero=3", "workload.parallelism.cp=2", "workload.precision=fp8", "stack.communication_overlap=0.5"])
    func theTrainingBoundNeverExceedsTheSimulation(setting: String) throws {
        let outcome = try search(Self.training, ["search.strategy=exhaustive"] + (setting.isEmpty ? [] : [setting]))
        let simulated = outcome.rows.filter { $0.status == .ok }
        #expect(simulated.count >= 4, "\(setting): \(simulated.count) feasible")
        for row in simulated {
            let actual = try #require(row.metrics["tokens_per_s_per_gpu"]), bound = try #require(row.optimistic)
            #expect(actual <= bound, "\(setting) point \(row.point): simulated \(actual) > bound \(bound)")
        }
    }

    @Test func theFrontHoldsOnlyNonDominatedPoints() throws {
        let outcome = try search(Self.serving)
        #expect(outcome.strategy == .exhaustive)
        let score = { (row: Search.Row) in [row.metrics["tokens_per_s_per_user"]!, row.metrics["tokens_per_s_per_gpu"]!] }
        let ok = outcome.rows.indices.filter { outcome.rows[$0].status == .ok }
        #expect(outcome.front.count >= 2 && outcome.front.count < ok.count, "front \(outcome.front.count) of \(ok.count)")
        for i in outcome.front {
            #expect(!ok.contains { Search.dominates(score(outcome.rows[$0]), score(outcome.rows[i])) }, "front point \(i) is dominated")
        }
        for i in ok where !outcome.front.contains(i) {
            #expect(outcome.front.contains { Search.dominates(score(outcome.rows[$0]), score(outcome.rows[i])) }, "point \(i) is off the front undominated")
        }
        // pareto.csv has the front's rows.
        let pareto = Search.csv(outcome, only: outcome.front).split(separator: "\n")
        #expect(pareto.count == outcome.front.count + 1)
    }

    @Test func dominance() {
        #expect(Search.dominates([2, 2], [1, 2]))
        #expect(!Search.dominates([2, 2], [2, 2]))
        #expect(!Search.dominates([3, 1], [1, 3]))
    }

    @Test func bestYAMLRunsAndReproducesItsRow() throws {
        let outcome = try search(Self.training)
        let best = try #require(outcome.best[0])
        let text = try #require(Search.bestYAML(outcome, scenarioFile: "s.yaml", version: "test"))
        let plan = try ScenarioLoader.plan(text: text, file: "best.yaml")
        #expect(plan.search == nil && plan.variants.count == 1 && plan.name == "s405-best")
        let results = ExperimentRunner.run(plan, threads: 2)
        let value = results.replications[0].metrics.first { $0.name == "tokens_per_s_per_gpu" }?.value
        #expect(value == outcome.rows[best].metrics["tokens_per_s_per_gpu"])
    }

    /// With variants, each variant's best goes into its own `set`, and the run reproduces each,
    /// with common random numbers or without (each variant draws its own arrivals, keyed by
    /// its place in the file, in the search as in the run).
    @Test(arguments: [true, false]) func bestYAMLOfVariantsReproducesEachRow(common: Bool) throws {
        let text = Self.serving + """
            variants:
              - name: h100
              - name: h200
                set: { cluster.system: h200-sxm }

            """
        let outcome = try search(text, ["search.space.workload.concurrency={from: 16, to: 64, times: 4}", "noise.common_random_numbers=\(common)", "noise.kernel_cv=0.05"])
        let yaml = try #require(Search.bestYAML(outcome, scenarioFile: "s.yaml", version: "test"))
        let plan = try ScenarioLoader.plan(text: yaml, file: "best.yaml")
        #expect(plan.variants.map(\.name) == ["h100", "h200"])
        let results = ExperimentRunner.run(plan, threads: 2)
        for (v, name) in outcome.variants.enumerated() {
            let row = outcome.rows[try #require(outcome.best[v])]
            let value = results.replications.first { $0.variant == name }?.metrics.first { $0.name == "tokens_per_s_per_gpu" }?.value
            #expect(value == row.metrics["tokens_per_s_per_gpu"], "\(name)")
        }
    }

    @Test func halvingEndsWithAFullLengthBest() throws {
        let outcome = try search(Self.serving, ["search.strategy=halving"])
        #expect(outcome.strategy == .halving)
        let best = try #require(outcome.best[0])
        #expect(outcome.rows[best].fraction == 1 && outcome.rows[best].status == .ok)
        let halved = outcome.rows.filter { $0.status == .halved }
        #expect(!halved.isEmpty && halved.allSatisfy { $0.reason.hasPrefix("dropped after round 1 (1/9 of the workload)") || $0.reason.hasPrefix("dropped after round 2 (1/3 of the workload)") })
        // Fewer full-length simulations than points.
        #expect(outcome.rows.filter { $0.fraction == 1 && !$0.metrics.isEmpty }.count <= 2)
    }

    @Test func filesDoNotDependOnTheThreadCount() throws {
        for strategy in ["bound", "halving"] {
            let text = strategy == "bound" ? Self.training : Self.serving
            let one = try search(text, ["search.strategy=\(strategy)"], threads: 1)
            let two = try search(text, ["search.strategy=\(strategy)"], threads: 2)
            #expect(Search.csv(one) == Search.csv(two), "\(strategy)")
        }
    }

    /// Bad search sections: the file, the line and the key.
    @Test(arguments: [
        ("objective: tokens_per_s_per_gpu", "objective: tokens_per_sec_per_gpu",
         "s.yaml:20:14: search.objective: unknown metric \"tokens_per_sec_per_gpu\" of workload kind training; did you mean \"tokens_per_s_per_gpu\"?"),
        ("objective: tokens_per_s_per_gpu", "objective: peak_memory_bytes",
         "s.yaml:20:14: search.objective: peak_memory_bytes is an input or a count, never ranked; choose a time or a rate"),
        ("workload.recompute: [selective, full]", "workload.recompute: []", "s.yaml:19:25: search.space.workload.recompute: the list of values is empty"),
        ("workload.micro_batch: [1, 2]", "workload.micro_batch: { from: 1, to: 8 }",
         "s.yaml:18:27: search.space.workload.micro_batch: a range needs one of step (from, from + step, ...) or times (from, from × times, ...)"),
        ("workload.micro_batch: [1, 2]", "replications: [1, 2]", "s.yaml:18:19: search.space.replications: a search cannot vary \"replications\"; it belongs to the whole experiment"),
        ("objective: tokens_per_s_per_gpu", "objective: tokens_per_s_per_gpu\n  strategy: exhaustive\n  budget: 3",
         "s.yaml: search.strategy: exhaustive would simulate 13 points, more than search.budget (3); raise the budget, narrow the space, or use strategy bound or halving"),
    ])
    func badSearchSectionsNameTheKey(original: String, replacement: String, message: String) throws {
        let text = Self.training.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.training)
        do {
            _ = try search(text)
            Issue.record("accepted: \(replacement)")
        } catch let error as ScenarioError {
            #expect(error.description == message)
        } catch let error as ExperimentError {
            #expect(error.message == message)
        }
    }

    @Test func aVariantThatSetsASearchedKeyIsRefusedNamingBoth() throws {
        let text = Self.training + "variants:\n  - name: a\n    set: { workload.parallelism.tp: 2 }\n"
        #expect(throws: ScenarioError.self) { _ = try search(text) }
        do { _ = try search(text) } catch let error as ScenarioError {
            #expect(error.description == "s.yaml:23:37: variants[0].set.workload.parallelism.tp: variant \"a\" sets workload.parallelism.tp, which the search varies (workload.parallelism.tp, line 15:30); remove one of them")
        }
    }

    @Test func zippedKeysGoTogether() throws {
        let text = Self.serving.replacingOccurrences(of: "    workload.parallelism.tp: [1, 2, 4]\n", with: "")
            .replacingOccurrences(of: "  objective:", with: "  zip:\n    - { workload.parallelism.tp: [1, 2, 4], cluster.gpus: [1, 2, 4] }\n  objective:")
        let tree = try ScenarioLoader.tree(text: text, file: "s.yaml")
        let plan = try ScenarioLoader.plan(tree: tree, file: "s.yaml", contents: [])
        let points = Search.points(try #require(plan.search))
        #expect(points.count == 12)
        #expect(points.allSatisfy { $0.settings.first { $0.key == "workload.parallelism.tp" }!.value.flowText == $0.settings.first { $0.key == "cluster.gpus" }!.value.flowText })
        let unequal = text.replacingOccurrences(of: "cluster.gpus: [1, 2, 4]", with: "cluster.gpus: [1, 2]")
        #expect(throws: ScenarioError.self) { _ = try ScenarioLoader.plan(text: unequal, file: "s.yaml") }
    }
}
