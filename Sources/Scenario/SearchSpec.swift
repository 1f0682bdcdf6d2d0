// The `search:` section: the space of configurations `clustersim search` explores (key paths
// and the values each takes, alone or zipped with others), what it optimises, the constraints
// a point must meet, and how much it may simulate. The loader reads it here; Experiments'
// Search runs it. `clustersim run` and `compare` run the base scenario and ignore it.

/// One axis of the space: one key (a grid dimension) or several zipped keys whose i-th values
/// go together (tp with ep).
public struct SearchAxis: Sendable {
    public var keys: [String]
    /// values[i][j]: the i-th value of keys[j].
    public var values: [[ConfigNode]]
    /// Where the axis was written (for messages).
    public var origin: Origin

    /// The text of a value for tables and folder names (scalars as written, other values as
    /// YAML flow text).
    public static func text(_ node: ConfigNode) -> String { node.flowText }
}

/// What a point must meet to count: a metric's mean at least `min` and at most `max`.
public struct SearchConstraint: Sendable, Equatable {
    public var metric: String
    public var min: Double?
    public var max: Double?
    public var origin: Origin

    public static func == (a: SearchConstraint, b: SearchConstraint) -> Bool {
        a.metric == b.metric && a.min == b.min && a.max == b.max
    }
}

public struct SearchSpec: Sendable {
    public enum Strategy: String, Sendable, CaseIterable {
        /// The bound strategy when the kind bounds the objective, else exhaustive within the
        /// budget, else successive halving.
        case auto
        /// Every feasible point simulated.
        case exhaustive
        /// Branch and bound: points in the order of their optimistic objective, stopping when
        /// no point left could beat the best found (exact).
        case bound
        /// Successive halving: every point at a fraction of the workload, the best third again
        /// at three times as much, up to the full workload (a heuristic).
        case halving
    }

    public var axes: [SearchAxis]
    /// The metric to optimise (its catalogue direction: a time lower, a rate higher).
    public var objective: String
    public var objectiveOrigin: Origin?
    /// The metrics of the Pareto front (default: the objective alone).
    public var pareto: [String]
    public var paretoOrigin: Origin?
    public var constraints: [SearchConstraint]
    public var strategy: Strategy
    /// Most points simulated with the full workload.
    public var budget: Int
    /// Replications per point (default: the scenario's).
    public var replications: Int?
    /// Points printed at the end, best first.
    public var show: Int

    /// Points in the space (every combination of the axes).
    public var size: Double { axes.reduce(1.0) { $0 * Double($1.values.count) } }
}

extension ConfigNode {
    /// The value as one line of YAML flow text: a scalar as written, quoted when YAML would
    /// read it differently; a mapping `{a: 1, b: x}`; a list `[1, 2]`.
    public var flowText: String {
        switch self {
        case .scalar(let text, _): Self.flowScalar(text)
        case .null: "null"
        case .sequence(let items, _): "[" + items.map(\.flowText).joined(separator: ", ") + "]"
        case .mapping(let pairs, _): "{" + pairs.map { "\(Self.flowScalar($0.key)): \($0.value.flowText)" }.joined(separator: ", ") + "}"
        }
    }

    static func flowScalar(_ text: String) -> String {
        let special = ",[]{}:#&*!|>'\"%@`"
        let plain = !text.isEmpty && text.first != " " && text.last != " " && !text.contains(where: { special.contains($0) || $0 == "\n" })
            && !["null", "~", "Null", "NULL"].contains(text)
        return plain ? text : "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension ScenarioLoader {
    /// Reads the `search` section (nil when absent), checking that no variant sets a key the
    /// space varies.
    static func readSearch(_ top: FieldReader, variants: [VariantEntry], log: DiagnosticLog) -> SearchSpec? {
        guard let fields = top.mapping("search") else { return nil }
        var axes: [SearchAxis] = []
        var seen: [String: Origin] = [:]
        func keyPath(_ key: String, _ origin: Origin, _ path: String) -> String? {
            guard let components = PathComponent.parse(key) else {
                log.error(origin, path, "malformed key path; write it like workload.parallelism.tp")
                return nil
            }
            if case .key(let first) = components[0], ScenarioKeys.experimentKeys.contains(first) {
                log.error(origin, path, "a search cannot vary \"\(first)\"; it belongs to the whole experiment")
                return nil
            }
            let rendered = PathComponent.render(components)
            if seen[rendered] != nil {
                log.error(origin, path, "\(rendered) is varied twice in the search")
                return nil
            }
            seen[rendered] = origin
            return rendered
        }
        if let space = fields.node("space") {
            if case .mapping(let pairs, _) = space {
                for (key, value) in flattened(pairs) {
                    let path = "search.space.\(key)"
                    guard let rendered = keyPath(key, value.origin, path), let values = readValues(value, path: path, log: log) else { continue }
                    axes.append(SearchAxis(keys: [rendered], values: values.map { [$0] }, origin: value.origin))
                }
            } else {
                log.error(space.origin, "search.space", "expected a mapping of key paths to lists of values or ranges, got \(space.described)")
            }
        }
        if let zip = fields.node("zip") {
            if case .sequence(let groups, _) = zip {
                for (i, group) in groups.enumerated() {
                    let path = "search.zip[\(i)]"
                    guard case .mapping(let pairs, let origin) = group, pairs.count >= 2 else {
                        log.error(group.origin, path, "expected a mapping of two or more key paths to lists of equal length, got \(group.described)")
                        continue
                    }
                    var keys: [String] = [], columns: [[ConfigNode]] = []
                    for (key, value) in pairs {
                        guard let rendered = keyPath(key, value.origin, "\(path).\(key)"), let values = readValues(value, path: "\(path).\(key)", log: log) else { continue }
                        keys.append(rendered)
                        columns.append(values)
                    }
                    guard keys.count == pairs.count else { continue }
                    guard Set(columns.map(\.count)).count == 1 else {
                        log.error(origin, path, "zipped lists must have equal lengths; got \(Swift.zip(keys, columns).map { "\($0) \($1.count)" }.joined(separator: ", "))")
                        continue
                    }
                    axes.append(SearchAxis(keys: keys, values: (0..<columns[0].count).map { i in columns.map { $0[i] } }, origin: origin))
                }
            } else {
                log.error(zip.origin, "search.zip", "expected a list of mappings (keys that vary together), got \(zip.described)")
            }
        }
        // In the order they are written (space and zip entries may interleave in a file).
        axes.sort { Self.position($0.origin).lexicographicallyPrecedes(Self.position($1.origin)) }
        if axes.isEmpty && log.errors.isEmpty {
            log.error(fields.origin("space"), "search.space", "the search has no keys to vary; write them like search: { space: { workload.parallelism.tp: [1, 2, 4, 8] } }")
        }
        // A variant that sets a searched key would silently undo the search there.
        for variant in variants {
            guard let i = variant.index else { continue }
            for override in variant.overrides {
                let set = override.keyPath
                for (key, origin) in seen where set == key || set.hasPrefix(key + ".") || key.hasPrefix(set + ".") {
                    log.error(override.value.origin, "variants[\(i)].set.\(set)",
                              "variant \"\(variant.name)\" sets \(set), which the search varies (\(key), \(describe(origin))); remove one of them")
                }
            }
        }
        let objective = fields.text("objective")
        var pareto: [String] = []
        if let node = fields.node("pareto") {
            if case .sequence(let items, _) = node, items.count >= 2, items.allSatisfy({ if case .scalar = $0 { true } else { false } }) {
                pareto = items.compactMap { if case .scalar(let s, _) = $0 { s } else { nil } }
            } else {
                log.error(node.origin, "search.pareto", "expected a list of two or more metric names, e.g. [tokens_per_s_per_user, tokens_per_s_per_gpu]")
            }
        }
        var constraints: [SearchConstraint] = []
        if let node = fields.node("constraints") {
            if case .mapping(let pairs, _) = node {
                for (metric, value) in pairs {
                    let path = "search.constraints.\(metric)"
                    guard let bounds = FieldReader(value, path: path, log: log, allowed: ["min", "max"]) else { continue }
                    let lo = limit(bounds, "min"), hi = limit(bounds, "max")
                    if lo == nil && hi == nil && !bounds.has("min") && !bounds.has("max") {
                        log.error(value.origin, path, "expected min, max or both, e.g. { min: 20 }")
                    } else if let lo, let hi, lo > hi {
                        log.error(value.origin, path, "min \(shortNumber(lo)) is more than max \(shortNumber(hi))")
                    }
                    constraints.append(SearchConstraint(metric: metric, min: lo, max: hi, origin: value.origin))
                }
            } else {
                log.error(node.origin, "search.constraints", "expected a mapping of metric names to { min, max }, got \(node.described)")
            }
        }
        let strategy = fields.choice("strategy").flatMap(SearchSpec.Strategy.init(rawValue:)) ?? .auto
        guard let objective else { return nil }
        return SearchSpec(
            axes: axes, objective: objective, objectiveOrigin: fields.origin("objective"),
            pareto: pareto.isEmpty ? [objective] : pareto, paretoOrigin: fields.node("pareto")?.origin,
            constraints: constraints, strategy: strategy, budget: fields.integer("budget") ?? 10_000,
            replications: fields.integer("replications"), show: fields.integer("show") ?? 5)
    }

    /// Space entries with nested mappings written as key paths: `workload: { batch: [1, 8] }`
    /// (what `--set search.space.workload.batch=[1,8]` makes) is `workload.batch: [1, 8]`. A
    /// mapping of range keys is a value, not a level.
    static func flattened(_ pairs: [(key: String, value: ConfigNode)], prefix: String = "") -> [(key: String, value: ConfigNode)] {
        pairs.flatMap { key, value -> [(key: String, value: ConfigNode)] in
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if case .mapping(let inner, _) = value, !inner.isEmpty, !inner.contains(where: { ["from", "to", "step", "times"].contains($0.key) }) {
                return flattened(inner, prefix: path)
            }
            return [(path, value)]
        }
    }

    /// A constraint's limit: a number, or a quantity with any unit ("2 s", "70 GiB"), in SI
    /// base units as the metrics are.
    static func limit(_ bounds: FieldReader, _ key: String) -> Double? {
        guard case .scalar(let text, let origin)? = bounds.value(key) else {
            if let node = bounds.value(key) { bounds.log.error(node.origin, bounds.child(key), "expected a number, got \(node.described)") }
            return nil
        }
        for dimension in Dimension.allCases.reversed() {
            if case .success(let value) = Quantity.parse(text.replacingUnderscores(), as: dimension), value.isFinite { return value }
        }
        bounds.log.error(origin, bounds.child(key), "expected a number or a quantity such as \"2 s\", got \"\(text)\"")
        return nil
    }

    static func position(_ origin: Origin) -> [Int] {
        if case .file(let line, let column) = origin { [line, column] } else { [Int.max, 0] }
    }

    static func describe(_ origin: Origin) -> String {
        switch origin {
        case .file(let line, let column): "line \(line):\(column)"
        case .commandLine(let text): text
        }
    }

    /// A list of values, or a range `{from, to, step}` (arithmetic) or `{from, to, times}`
    /// (geometric) of plain numbers; at most `maxAxisValues`.
    static func readValues(_ node: ConfigNode, path: String, log: DiagnosticLog) -> [ConfigNode]? {
        switch node {
        case .sequence(let items, let origin):
            guard !items.isEmpty else {
                log.error(origin, path, "the list of values is empty")
                return nil
            }
            guard items.count <= maxAxisValues else {
                log.error(origin, path, "\(items.count) values; at most \(maxAxisValues) per key")
                return nil
            }
            return items
        case .mapping(_, let origin):
            guard let range = FieldReader(node, path: path, log: log, allowed: ["from", "to", "step", "times"]) else { return nil }
            guard let from = range.quantity("from", .count, minimum: -1e15, maximum: 1e15, required: true),
                  let to = range.quantity("to", .count, minimum: -1e15, maximum: 1e15, required: true) else { return nil }
            let step = range.quantity("step", .count, minimum: 0, exclusive: true, maximum: 1e15)
            let times = range.quantity("times", .count, minimum: 1, exclusive: true, maximum: 1e15)
            guard (step == nil) != (times == nil) else {
                log.error(origin, path, "a range needs one of step (from, from + step, ...) or times (from, from × times, ...)")
                return nil
            }
            guard from <= to else {
                log.error(origin, path, "from \(shortNumber(from)) is more than to \(shortNumber(to))")
                return nil
            }
            if times != nil && from <= 0 {
                log.error(origin, path, "a geometric range (times) needs from > 0")
                return nil
            }
            var values: [Double] = []
            var x = from
            // A relative tolerance so that 0.1-steps reach `to`.
            while x <= to * (1 + 1e-12) + 1e-12 && values.count <= maxAxisValues {
                values.append(x)
                x = step.map { from + Double(values.count) * $0 } ?? x * times!
            }
            guard values.count <= maxAxisValues else {
                log.error(origin, path, "the range has more than \(maxAxisValues) values")
                return nil
            }
            // Twelve significant digits: 0.1 steps give 0.3, not 0.30000000000000004.
            return values.map { .scalar(shortNumber(Double(String(format: "%.12g", $0)) ?? $0), origin) }
        case .scalar(_, let origin), .null(let origin):
            log.error(origin, path, "expected a list of values or a range { from, to, step or times }, got \(node.described)")
            return nil
        }
    }

    /// The most values one key of a search may take.
    public static let maxAxisValues = 10_000
}
