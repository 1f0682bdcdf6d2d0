// The files and the table of a search: search.csv (every point of every variant: its keys,
// status and why, and its metrics), pareto.csv (the non-dominated feasible points), best.yaml
// (the scenario with each variant's best point written in, runnable as it is) and the table
// printed at the end (the best few, what separates them from the best, and the objective's
// prediction interval).
import Foundation
import Report
import Scenario

extension Search {
    /// search.csv, or pareto.csv with `only` the front's rows.
    public static func csv(_ outcome: Outcome, only: [Int]? = nil) -> String {
        let objective = outcome.spec.objective
        var text = CSV.row(["variant"] + outcome.keys.map(CSV.field) + ["status", "reason", "workload_fraction", "bound_\(objective)",
                            "\(objective)_pi90_low", "\(objective)_pi90_high"] + outcome.metricNames.map(CSV.field))
        for i in only ?? Array(outcome.rows.indices) {
            let row = outcome.rows[i]
            text += CSV.row([CSV.field(row.variant)] + outcome.points[row.point].settings.map { CSV.field($0.value.flowText) }
                            + [row.status.rawValue, CSV.field(row.reason), row.metrics.isEmpty ? "" : CSV.number(row.fraction),
                               CSV.number(row.optimistic), CSV.number(row.pi90?.lowerBound), CSV.number(row.pi90?.upperBound)]
                            + outcome.metricNames.map { CSV.number(row.metrics[$0]) })
        }
        return text
    }

    /// The scenario with each variant's best point written in, and without its search section:
    /// `clustersim run best.yaml` reproduces the best rows (the same seed and replications).
    /// Nil when no variant has a feasible point.
    public static func bestYAML(_ outcome: Outcome, scenarioFile: String, version: String) -> String? {
        guard case .mapping(var pairs, let origin) = outcome.tree, outcome.best.contains(where: { $0 != nil }) else { return nil }
        let settings = { (v: Int) -> [(key: String, value: ConfigNode)] in
            outcome.best[v].map { outcome.points[outcome.rows[$0].point].settings } ?? []
        }
        pairs.removeAll { $0.key == "search" }
        func set(_ key: String, _ value: ConfigNode) {
            if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
        }
        if case .scalar(let name, let o)? = outcome.tree["name"] { set("name", .scalar(String("\(name)-best".prefix(maxNameLength)), o)) }
        set("replications", .scalar(String(outcome.replications), origin))
        let trees = variantTrees(outcome.tree)
        var notes: [String] = []
        // The variant that runs the base as it is (every scenario has one: the loader adds
        // "base" when no variant leaves the base alone) has its best point written into the base;
        // every other variant's set gains its own best point's keys, which override the base's.
        let baseVariant = trees.firstIndex { $0.set.isEmpty }
        if let b = baseVariant, outcome.best[b] != nil {
            guard case .mapping(let written, _) = try? ScenarioLoader.setting(settings(b), in: .mapping(pairs, origin), file: scenarioFile) else { return nil }
            pairs = written
        }
        if outcome.tree["variants"] != nil {
            var items: [ConfigNode] = []
            for (v, variant) in trees.enumerated() {
                guard outcome.best[v] != nil else {
                    notes.append("variant \(variant.name) has no feasible point and is left out")
                    continue
                }
                // The loader's added "base" needs no entry.
                if v == baseVariant && variant.name == "base" && !hasVariant(named: "base", in: outcome.tree) { continue }
                let set = v == baseVariant ? [] : variant.set + settings(v)
                items.append(.mapping([("name", .scalar(variant.name, origin))] + (set.isEmpty ? [] : [("set", .mapping(set.map { ($0.key, $0.value) }, origin))]), origin))
            }
            set("variants", .sequence(items, origin))
            if case .scalar(let baseline, _)? = outcome.tree["compare"]?["baseline"],
               let v = trees.firstIndex(where: { $0.name == baseline }), outcome.best[v] == nil {
                pairs.removeAll { $0.key == "compare" }
                notes.append("compare is left out: its baseline \(baseline) has no feasible point")
            }
        }
        guard let body = ConfigNode.mapping(pairs, origin).yamlDocument() else { return nil }
        var header = "# The best point of each variant found by `clustersim search \(scenarioFile)` (clustersim \(version)):\n"
        for (v, best) in outcome.best.enumerated() {
            guard let best else { continue }
            let value = outcome.rows[best].metrics[outcome.spec.objective] ?? .nan
            header += "#   \(outcome.variants[v]): \(outcome.spec.objective) \(format(value)) with " +
                settings(v).map { "\($0.key)=\($0.value.flowText)" }.joined(separator: ", ") + "\n"
        }
        for note in notes { header += "#   \(note)\n" }
        header += "# Run it as it is: clustersim run best.yaml (the same seed and replications reproduce the rows).\n"
        return header + body
    }

    static func hasVariant(named name: String, in tree: ConfigNode) -> Bool {
        guard case .sequence(let items, _)? = tree["variants"] else { return false }
        return items.contains { if case .scalar(let n, _)? = $0["name"] { n == name } else { false } }
    }

    /// The summary and the best few of each variant, with what separates each from the best.
    public static func table(_ outcome: Outcome, seconds: Double) -> String {
        let objective = outcome.spec.objective
        let direction = outcome.directions[objective] == .lower ? "lower" : "higher"
        var counts: [Status: Int] = [:]
        for row in outcome.rows { counts[row.status, default: 0] += 1 }
        let order: [Status] = [.ok, .constraint, .infeasible, .invalid, .pruned, .halved, .overBudget]
        var text = "search: \(outcome.points.count) points × \(outcome.variants.count) variant\(outcome.variants.count == 1 ? "" : "s"), strategy \(outcome.strategy.rawValue); "
        text += order.compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }.joined(separator: ", ")
        text += "; \(outcome.simulations) simulations in \(String(format: "%.1f", seconds)) s\n"
        for v in outcome.variants.indices {
            let ranked = ranked(outcome, variant: v).prefix(outcome.spec.show)
            text += "\n\(outcome.variants[v]): "
            guard let first = ranked.first else {
                text += "no feasible point\n"
                continue
            }
            text += "best \(ranked.count) by \(objective) (\(direction) is better)\n"
            let best = outcome.rows[first]
            let header = ["rank"] + outcome.keys.map { $0.split(separator: ".").last.map(String.init) ?? $0 } + [objective, "90% PI", "vs best"]
            var lines = [header]
            for (rank, i) in ranked.enumerated() {
                let row = outcome.rows[i]
                let value = row.metrics[objective]!
                let settings = outcome.points[row.point].settings, bestSettings = outcome.points[best.point].settings
                var versus = "-"
                if rank > 0 {
                    let differ = Swift.zip(settings, bestSettings).filter { $0.0.value.flowText != $0.1.value.flowText }
                        .map { "\($0.0.key.split(separator: ".").last ?? "") \($0.0.value.flowText)" }
                    versus = String(format: "%+.1f%%", (value / best.metrics[objective]! - 1) * 100) + (differ.isEmpty ? "" : ": " + differ.joined(separator: ", "))
                }
                let pi = row.pi90.map { "[\(format($0.lowerBound)), \(format($0.upperBound))]" } ?? "-"
                lines.append([String(rank + 1)] + settings.map { $0.value.flowText } + [format(value), pi, versus])
            }
            text += align(lines)
        }
        if outcome.rows.contains(where: { $0.pi90 != nil }) {
            text += "\nThe 90% intervals say how far each figure may be from a measurement; they share the model's error, so they do not say whether one point could beat another.\n"
        }
        return text
    }

    static func align(_ lines: [[String]]) -> String {
        let widths = (0..<lines[0].count).map { c in lines.map { $0[c].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { c, field in field + String(repeating: " ", count: widths[c] - field.count) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }
}
