// Configuration search (`clustersim search`): every point of a scenario's `search:` space (the
// combinations of its axes), per variant, looked at cheaply first and simulated only where it
// can matter.
//
// 1. Look (every point): the point's scenario is read and validated like any other (a value
//    the kind refuses — tp that does not divide the heads, vp that does not divide the layers —
//    makes the point `invalid` with the reader's message), then the kind's Outlook says whether
//    it cannot fit (weights and optimizer state alone overflow a GPU: `infeasible`) and the best
//    its metrics could be.
// 2. Simulate, by strategy:
//    - exhaustive: every point left, in parallel;
//    - bound (branch and bound; exact): points in the order of their optimistic objective,
//      in batches of eight; a point whose optimistic metrics are dominated by a point already
//      simulated and feasible cannot be on the front, and is `pruned` unsimulated. The best
//      point and the Pareto front are those of the exhaustive search whenever the kind's bound
//      holds (a test compares the two);
//    - halving (successive halving; Jamieson & Talwalkar, "Non-stochastic Best Arm
//      Identification and Hyperparameter Optimization", AISTATS 2016): every point at 1/9 of the
//      workload's length, the best third of them at 1/3, the best third of those at full
//      length. A heuristic for kinds without a bound (serving): a point that ranks low on a
//      short run is dropped (`halved`) although a full run might have ranked it higher.
//    A simulated point runs with its replications (search.replications, else the scenario's)
//    and the work limits of `run`; its metrics are the means over them. A point whose mean
//    breaks a constraint is `constraint`; memory that overflows once the activations are known
//    is `infeasible`.
// 3. Rank: per variant, the best point by the objective (ties: the first in the space), and
//    the Pareto front of the feasible simulated points over the `pareto` metrics.
//
// Determinism: points are looked at and simulated by index into fixed-size batches, and every
// point runs on its own streams (the scenario's seed), so the files do not depend on the
// thread count.
import Foundation
import Report
import Scenario
import Workloads

public enum Search {
    public enum Status: String, Sendable {
        case ok, invalid, infeasible, constraint, pruned, halved
        case overBudget = "over_budget"
    }

    /// One point of the space: the value of every searched key.
    public struct Point: Sendable {
        public var settings: [(key: String, value: ConfigNode)]
    }

    /// What became of one point of one variant.
    public struct Row: Sendable {
        public var variant: String
        public var point: Int
        public var status: Status
        public var reason: String = ""
        /// The optimistic value of the objective from the Outlook (nil: none).
        public var optimistic: Double? = nil
        /// The share of the workload's length of the last simulation (1: the full workload).
        public var fraction: Double = 1
        /// Means over the point's replications, by metric (empty: not simulated).
        public var metrics: [String: Double] = [:]
        /// The objective's 90% prediction interval (the best few only).
        public var pi90: ClosedRange<Double>? = nil
    }

    public struct Outcome: Sendable {
        public var spec: SearchSpec
        public var variants: [String]
        public var points: [Point]
        /// Variant-major, in point order: rows[v * points.count + p].
        public var rows: [Row]
        /// Every metric reported, in catalogue order.
        public var metricNames: [String]
        public var strategy: SearchSpec.Strategy
        /// Per variant, the index in `rows` of its best point (nil: no feasible point).
        public var best: [Int?]
        /// Indices in `rows` of the Pareto front, per variant in objective order.
        public var front: [Int]
        /// Simulations run (every round of halving counted).
        public var simulations: Int
        public var directions: [String: MetricInfo.Better]
        /// The tree the points were set in (the scenario after --set), for best.yaml.
        public var tree: ConfigNode
        public var replications: Int

        public var keys: [String] { points.first?.settings.map(\.key) ?? [] }
    }

    /// Every combination of the axes, the last varying fastest (zipped keys together).
    public static func points(_ spec: SearchSpec) -> [Point] {
        var combos: [[(key: String, value: ConfigNode)]] = [[]]
        for axis in spec.axes {
            combos = combos.flatMap { prefix in axis.values.map { tuple in prefix + Swift.zip(axis.keys, tuple).map { ($0, $1) } } }
        }
        return combos.map { Point(settings: $0) }
    }

    /// The most points a search may hold (every one is read and validated).
    public static let maxPoints = 1_000_000

    /// Runs the search of `plan` (read from `tree`, the file after --set).
    public static func run(_ plan: ExperimentPlan, tree: ConfigNode, threads: Int, limits: ExperimentRunner.WorkLimits = .init(),
                           ensemble members: Int = ExperimentRunner.ensembleSize, progress: ((String) -> Void)? = nil) throws(ExperimentError) -> Outcome {
        guard let spec = plan.search else {
            throw ExperimentError(message: "\(plan.file): no search section; add one, e.g. search: { space: { workload.parallelism.tp: [1, 2, 4, 8] }, objective: tokens_per_s_per_gpu } (docs/search.md)")
        }
        guard spec.size <= Double(maxPoints) else {
            throw ExperimentError(message: "\(plan.file): search.space: \(WorkEstimate.format(spec.size)) points, more than \(WorkEstimate.format(Double(maxPoints))); narrow the space")
        }
        let directions = try checkMetrics(spec, plan: plan)
        let points = points(spec)
        let variants = variantTrees(tree)
        let replications = spec.replications ?? plan.replications
        let score = { (name: String, value: Double) in directions[name] == .lower ? -value : value }
        var rows: [Row] = []
        var simulations = 0
        var strategyUsed = spec.strategy

        for (v, variant) in variants.enumerated() {
            progress?("looking at \(points.count) points\(variants.count > 1 ? " of variant \(variant.name)" : "")")
            // 1. Look at every point.
            let looks = ExperimentRunner.parallelMap(points.count, threads: threads) { p in
                look(variant.tree, point: points[p], plan: plan, objective: spec.objective, stream: v)
            }
            var variantRows = looks.enumerated().map { p, look in
                Row(variant: variant.name, point: p, status: look.status, reason: look.reason, optimistic: look.outlook?.optimistic[spec.objective])
            }
            if v == 0, !looks.contains(where: { $0.plan != nil }), let first = looks.first {
                throw ExperimentError(message: "every point of the search is invalid; the first: \(first.reason)")
            }
            let candidates = looks.indices.filter { looks[$0].plan != nil }
            let bounded = candidates.allSatisfy { p in spec.pareto.allSatisfy { looks[p].outlook?.optimistic[$0] != nil } }
            let shortenable = candidates.contains { p in looks[p].plan.map { isShortenable($0) } ?? false }
            let strategy = try choose(spec, candidates: candidates.count, bounded: bounded, shortenable: shortenable, file: plan.file)
            if v == 0 { strategyUsed = strategy }

            // 2. Simulate.
            func simulate(_ batch: [Int], fraction: Double) {
                let results = ExperimentRunner.parallelMap(batch.count, threads: threads) { i in
                    evaluate(looks[batch[i]].plan!, fraction: fraction, replications: replications, limits: limits, constraints: spec.constraints)
                }
                for (p, result) in Swift.zip(batch, results) {
                    variantRows[p].status = result.status
                    variantRows[p].reason = result.reason
                    variantRows[p].metrics = result.metrics
                    variantRows[p].fraction = fraction
                }
                simulations += batch.count
            }
            let vector = { (row: Row) in spec.pareto.map { score($0, row.metrics[$0] ?? -.infinity) } }
            switch strategy {
            case .exhaustive, .auto:
                progress?("simulating \(candidates.count) points")
                simulate(candidates, fraction: 1)
            case .bound:
                let optimistic = { (p: Int) in spec.pareto.map { score($0, looks[p].outlook!.optimistic[$0]!) } }
                let order = candidates.sorted { a, b in
                    let (x, y) = (score(spec.objective, looks[a].outlook!.optimistic[spec.objective] ?? 0),
                                  score(spec.objective, looks[b].outlook!.optimistic[spec.objective] ?? 0))
                    return x != y ? x > y : a < b
                }
                var front: [[Double]] = []
                var next = 0, simulated = 0
                while next < order.count {
                    var batch: [Int] = []
                    while batch.count < boundBatch && next < order.count {
                        let p = order[next]
                        next += 1
                        if let by = front.first(where: { dominates($0, optimistic(p)) }) {
                            variantRows[p].status = .pruned
                            variantRows[p].reason = "its bound \(describe(spec.pareto, optimistic(p), directions)) cannot beat \(describe(spec.pareto, by, directions))"
                        } else if simulated + batch.count >= spec.budget {
                            variantRows[p].status = .overBudget
                            variantRows[p].reason = "not simulated: search.budget (\(spec.budget)) reached"
                        } else {
                            batch.append(p)
                        }
                    }
                    progress?("simulating, \(simulated) of at most \(candidates.count) points done")
                    simulate(batch, fraction: 1)
                    simulated += batch.count
                    for p in batch where variantRows[p].status == .ok { front.append(vector(variantRows[p])) }
                }
            case .halving:
                var survivors = candidates
                let rounds = survivors.count > halvingEta * halvingEta ? 2 : survivors.count > halvingEta ? 1 : 0
                for round in 0...rounds {
                    let fraction = pow(Double(halvingEta), Double(round - rounds))
                    progress?("round \(round + 1) of \(rounds + 1): \(survivors.count) points at \(fractionText(fraction)) of the workload")
                    simulate(survivors, fraction: fraction)
                    guard round < rounds else { break }
                    let ranked = rank(survivors.filter { variantRows[$0].status == .ok }, rows: variantRows, vector: vector, spec: spec, score: score)
                    var keep = (survivors.count + halvingEta - 1) / halvingEta
                    if round == rounds - 1 { keep = Swift.min(keep, spec.budget) }
                    for p in ranked.dropFirst(keep) {
                        variantRows[p].status = .halved
                        variantRows[p].reason = "dropped after round \(round + 1) (\(fractionText(fraction)) of the workload): ranked \(ranked.firstIndex(of: p)! + 1) of \(ranked.count); the best \(keep) went on"
                    }
                    survivors = Array(ranked.prefix(keep))
                }
            }
            rows += variantRows
        }

        // 3. Rank.
        var best: [Int?] = [], front: [Int] = []
        for v in variants.indices {
            let range = (v * points.count)..<((v + 1) * points.count)
            let ok = range.filter { rows[$0].status == .ok && rows[$0].fraction == 1 && rows[$0].metrics[spec.objective] != nil }
            let ordered = ok.sorted { a, b in
                let (x, y) = (score(spec.objective, rows[a].metrics[spec.objective]!), score(spec.objective, rows[b].metrics[spec.objective]!))
                return x != y ? x > y : a < b
            }
            best.append(ordered.first)
            let vectors = ordered.map { p in spec.pareto.map { score($0, rows[p].metrics[$0] ?? -.infinity) } }
            front += ordered.indices.filter { i in !vectors.contains { dominates($0, vectors[i]) } }.map { ordered[$0] }
        }
        let catalogue = plan.metricCatalogue.map(\.name)
        let reported = Set(rows.flatMap(\.metrics.keys))
        var outcome = Outcome(spec: spec, variants: variants.map(\.name), points: points, rows: rows,
                              metricNames: catalogue.filter(reported.contains) + reported.subtracting(catalogue).sorted(),
                              strategy: strategyUsed, best: best, front: front, simulations: simulations, directions: directions,
                              tree: tree, replications: replications)
        if members > 0 { attachIntervals(&outcome, members: members, threads: threads) }
        return outcome
    }

    static let boundBatch = 8
    static let halvingEta = 3

    /// Whether `a` dominates `b` (scores: higher is better): no worse in any, better in one.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        var better = false
        for (x, y) in Swift.zip(a, b) {
            if x < y { return false }
            if x > y { better = true }
        }
        return better
    }

    /// `points` best first: by Pareto rank (the front, then the front of the rest, ...), then
    /// by the objective.
    static func rank(_ points: [Int], rows: [Row], vector: (Row) -> [Double], spec: SearchSpec, score: (String, Double) -> Double) -> [Int] {
        var left = points, ranked: [Int] = []
        while !left.isEmpty {
            let vectors = left.map { vector(rows[$0]) }
            let layer = left.indices.filter { i in !vectors.contains { dominates($0, vectors[i]) } }.map { left[$0] }
            ranked += layer.sorted { a, b in
                let (x, y) = (score(spec.objective, rows[a].metrics[spec.objective] ?? -.infinity), score(spec.objective, rows[b].metrics[spec.objective] ?? -.infinity))
                return x != y ? x > y : a < b
            }
            left.removeAll { layer.contains($0) }
        }
        return ranked
    }

    static func choose(_ spec: SearchSpec, candidates: Int, bounded: Bool, shortenable: Bool, file: String) throws(ExperimentError) -> SearchSpec.Strategy {
        switch spec.strategy {
        case .auto:
            if bounded && candidates > 0 { return .bound }
            if candidates <= spec.budget { return .exhaustive }
            if shortenable { return .halving }
            throw ExperimentError(message: "\(file): search: \(candidates) valid points to simulate, more than search.budget (\(spec.budget)), and the workload kind has neither a bound nor a length to cut; raise search.budget or narrow search.space")
        case .exhaustive:
            guard candidates <= spec.budget else {
                throw ExperimentError(message: "\(file): search.strategy: exhaustive would simulate \(candidates) points, more than search.budget (\(spec.budget)); raise the budget, narrow the space, or use strategy bound or halving")
            }
            return .exhaustive
        case .bound:
            guard bounded else {
                throw ExperimentError(message: "\(file): search.strategy: bound needs a bound on \(spec.pareto.joined(separator: " and ")) from the workload kind, which gives none; use exhaustive or halving")
            }
            return .bound
        case .halving:
            guard shortenable else {
                throw ExperimentError(message: "\(file): search.strategy: halving needs a workload whose length can be cut (serving: duration or requests); use exhaustive or bound")
            }
            return .halving
        }
    }

    /// The metrics the search names, each in the catalogue; the direction of each ranked one.
    static func checkMetrics(_ spec: SearchSpec, plan: ExperimentPlan) throws(ExperimentError) -> [String: MetricInfo.Better] {
        let catalogue = plan.metricCatalogue
        let kind = plan.variants.first.map { type(of: $0.spec.kind).kind } ?? ""
        var problems: [String] = [], directions: [String: MetricInfo.Better] = [:]
        func problem(_ origin: Origin?, _ path: String, _ message: String) {
            problems.append(Diagnostic(file: plan.file, origin: origin, path: path, message: message).description)
        }
        func known(_ name: String, _ origin: Origin?, _ path: String) -> MetricInfo? {
            if let info = catalogue.first(where: { $0.name == name }) { return info }
            var message = "unknown metric \"\(name)\" of workload kind \(kind)"
            if let guess = closestName(to: name, among: catalogue.map(\.name)) { message += "; did you mean \"\(guess)\"?" }
            else { message += " (clustersim metrics \(kind))" }
            problem(origin, path, message)
            return nil
        }
        // The front's metrics are checked where they were written (the default is the objective).
        let written = spec.paretoOrigin == nil ? [] : spec.pareto
        for (i, name) in ([spec.objective] + written).enumerated() {
            let path = i == 0 ? "search.objective" : "search.pareto"
            guard let info = known(name, i == 0 ? spec.objectiveOrigin : spec.paretoOrigin, path) else { continue }
            if info.better == .neither {
                problem(i == 0 ? spec.objectiveOrigin : spec.paretoOrigin, path, "\(name) is an input or a count, never ranked; choose a time or a rate")
            }
            directions[name] = info.better
        }
        for c in spec.constraints { _ = known(c.metric, c.origin, "search.constraints.\(c.metric)") }
        if !problems.isEmpty { throw ExperimentError(message: problems.joined(separator: "\n")) }
        return directions
    }

    /// The base tree of each variant: the variant's `set` applied, without the experiment's
    /// variants, comparison and search. A scenario without variants has one, "base".
    static func variantTrees(_ tree: ConfigNode) -> [(name: String, tree: ConfigNode, set: [(key: String, value: ConfigNode)])] {
        guard case .mapping(let pairs, let origin) = tree else { return [] }
        let base = ConfigNode.mapping(pairs.filter { !["variants", "compare", "search"].contains($0.key) }, origin)
        guard case .sequence(let items, _)? = tree["variants"] else { return [("base", base, [])] }
        var result = items.compactMap { item -> (name: String, tree: ConfigNode, set: [(key: String, value: ConfigNode)])? in
            guard case .scalar(let name, _)? = item["name"] else { return nil }
            let set: [(key: String, value: ConfigNode)]
            if case .mapping(let entries, _)? = item["set"] { set = entries } else { set = [] }
            // Read and checked by the loader before the search starts.
            guard let variantTree = try? ScenarioLoader.setting(set, in: base, file: "") else { return nil }
            return (name, variantTree, set)
        }
        // The loader's rule: without a variant that leaves the base as it is, the base runs as "base" first.
        if !result.contains(where: { $0.set.isEmpty }) && !result.contains(where: { $0.name == "base" }) { result.insert(("base", base, []), at: 0) }
        return result
    }

    struct Look: Sendable {
        var status: Status
        var reason: String
        var plan: ExperimentPlan?
        var outlook: Outlook?
    }

    /// Step 1 for one point: read and validate it, and ask the kind's Outlook. `stream` is the
    /// variant's place in the scenario (its random streams, as `run` of the scenario keys them).
    static func look(_ tree: ConfigNode, point: Point, plan base: ExperimentPlan, objective: String, stream: Int) -> Look {
        let plan: ExperimentPlan
        do {
            plan = try pointPlan(tree, point: point, file: base.file, contents: base.fileContents, stream: stream)
        } catch {
            return Look(status: .invalid, reason: oneLine(error.diagnostics.map { d in d.path.isEmpty ? d.message : "\(d.path): \(d.message)" }))
        }
        guard let variant = plan.variants.first else { return Look(status: .invalid, reason: "no variant") }
        let outlook = variant.spec.kind.outlook(in: variant.spec)
        if let infeasible = outlook?.infeasible { return Look(status: .infeasible, reason: infeasible, outlook: outlook) }
        return Look(status: .ok, reason: "", plan: plan, outlook: outlook)
    }

    static func isShortenable(_ plan: ExperimentPlan) -> Bool {
        plan.variants.first.map { $0.spec.kind.shortened($0.spec, to: 0.5) != nil } ?? false
    }

    /// Step 2 for one point: its replications at `fraction` of its length on one thread.
    static func evaluate(_ plan: ExperimentPlan, fraction: Double, replications: Int, limits: ExperimentRunner.WorkLimits,
                         constraints: [SearchConstraint]) -> (status: Status, reason: String, metrics: [String: Double]) {
        var plan = plan
        plan.replications = replications
        if fraction < 1, let spec = plan.variants.first?.spec, let short = spec.kind.shortened(spec, to: fraction) { plan.variants[0].spec = short }
        do {
            try ExperimentRunner.check(plan, limits: limits)
        } catch {
            return (.infeasible, oneLine([error.message(without: plan.file)]), [:])
        }
        let results = ExperimentRunner.run(plan, threads: 1)
        var metrics: [String: Double] = [:]
        for row in ResultFiles.summaries(results) where row.summary.mean.isFinite { metrics[row.metric] = row.summary.mean }
        for c in constraints {
            guard let value = metrics[c.metric] else { return (.constraint, "\(c.metric) is not reported", metrics) }
            if let lo = c.min, value < lo { return (.constraint, "\(c.metric) \(format(value)) < \(format(lo))", metrics) }
            if let hi = c.max, value > hi { return (.constraint, "\(c.metric) \(format(value)) > \(format(hi))", metrics) }
        }
        return (.ok, "", metrics)
    }

    /// The 90% prediction interval of the objective for the best `show` points of each variant.
    static func attachIntervals(_ outcome: inout Outcome, members: Int, threads: Int) {
        for v in outcome.variants.indices {
            for i in ranked(outcome, variant: v).prefix(outcome.spec.show) {
                guard let plan = pointPlan(outcome, row: i) else { continue }
                let results = ExperimentRunner.run(plan, threads: threads)
                let ensemble = ExperimentRunner.runEnsemble(plan, members: members, threads: threads)
                let rows = PredictionIntervals.attach(ResultFiles.summaries(results), plan: plan, results: results, ensemble: ensemble)
                outcome.rows[i].pi90 = rows.first { $0.metric == outcome.spec.objective }?.pi90
            }
        }
    }

    /// The plan of `point` on a variant's tree; `stream` is the variant's place in the scenario
    /// (its random streams, as `run` of the whole scenario keys them).
    static func pointPlan(_ tree: ConfigNode, point: Point, file: String, contents: [UInt8], stream: Int) throws(ScenarioError) -> ExperimentPlan {
        var plan = try ScenarioLoader.plan(tree: try ScenarioLoader.setting(point.settings, in: tree, file: file), file: file, contents: contents)
        if !plan.variants.isEmpty { plan.variants[0].stream = stream }
        return plan
    }

    /// The plan of the point of `rows[row]` as the search ran it.
    static func pointPlan(_ outcome: Outcome, row: Int) -> ExperimentPlan? {
        let r = outcome.rows[row]
        let trees = variantTrees(outcome.tree)
        guard let v = trees.firstIndex(where: { $0.name == r.variant }),
              var plan = try? pointPlan(trees[v].tree, point: outcome.points[r.point], file: "", contents: [], stream: v) else { return nil }
        plan.replications = outcome.replications
        return plan
    }

    /// Indices in `rows` of a variant's feasible full-length points, best first.
    public static func ranked(_ outcome: Outcome, variant v: Int) -> [Int] {
        let n = outcome.points.count, objective = outcome.spec.objective
        let sign = outcome.directions[objective] == .lower ? -1.0 : 1.0
        return ((v * n)..<((v + 1) * n)).filter { outcome.rows[$0].status == .ok && outcome.rows[$0].fraction == 1 && outcome.rows[$0].metrics[objective] != nil }
            .sorted { a, b in
                let (x, y) = (sign * outcome.rows[a].metrics[objective]!, sign * outcome.rows[b].metrics[objective]!)
                return x != y ? x > y : a < b
            }
    }

    static func describe(_ names: [String], _ scores: [Double], _ directions: [String: MetricInfo.Better]) -> String {
        Swift.zip(names, scores).map { name, s in "\(name) \(format(directions[name] == .lower ? -s : s))" }.joined(separator: ", ")
    }

    static func fractionText(_ f: Double) -> String { f == 1 ? "all" : "1/\(Int((1 / f).rounded()))" }

    static func format(_ x: Double) -> String { String(format: "%.4g", x) }

    static func oneLine(_ parts: [String]) -> String {
        parts.joined(separator: "; ").replacingOccurrences(of: "\n", with: "; ")
    }
}
