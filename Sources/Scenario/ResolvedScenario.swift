// `clustersim run --dry-run`: the scenario as it will run, as YAML. The file's keys (after
// --set) stay as written; every key the reader reads for the base scenario and finds absent is
// added with its default, so the text reads back to the same plan (a test runs each shipped
// scenario both ways and compares the results). A default derived from other keys is listed
// in comments with its rule. Keys only a variant reads stay in the variant's `set`.
import Foundation

public enum ResolvedScenario {
    /// The resolved YAML of `path` with `overrides` and the loader's warnings, or its errors.
    public static func yaml(path: String, overrides: [String], kinds: [any WorkloadSpec.Type]) throws(ScenarioError) -> (text: String, warnings: [Diagnostic]) {
        let plan = try ScenarioLoader.load(path: path, overrides: overrides, kinds: kinds)
        let text = String(decoding: plan.fileContents, as: UTF8.self)
        var tree = try ScenarioLoader.tree(text: text, file: path, overrides: overrides)
        // An absent stack or noise section is its defaults: written out, so its keys are read.
        for section in ["stack", "noise"] where tree[section] == nil { tree.insert(.mapping([], tree.origin), at: [section]) }
        // The keys the base scenario reads: its tree without the variants (and the sections
        // that name them); those sections' own keys are filled where the file has them.
        var base = tree
        base.remove("variants")
        base.remove("compare")
        base.remove("search")
        let baseRead = try ScenarioLoader.plan(tree: base, file: path, contents: plan.fileContents, kinds: kinds).keysRead
        var kind: String?
        if case .scalar(let name, _)? = tree["workload"]?["kind"] { kind = name }
        let tables = [ScenarioKeys.table] + kinds.filter { $0.kind == kind }.map { $0.keys }
        var derived: [String] = []
        for table in tables {
            for key in table.keys where !key.path.contains("[]") {
                let path = table.fullPath(key)
                let section = path.split(separator: ".").first.map(String.init) ?? path
                guard baseRead.contains(path) || (["compare", "search"].contains(section) && tree[section] != nil && plan.keysRead.contains(path)) else { continue }
                let components = path.split(separator: ".").map(String.init)
                guard tree.value(at: components) == nil else { continue }
                switch key.defaultValue {
                case .value(let text): tree.insert(.scalar(text, tree.origin), at: components)
                case .derived(let rule): derived.append("#   \(path): \(rule)")
                case .none, .required: break
                }
            }
        }
        guard let body = tree.yamlDocument() else {
            throw ScenarioError([Diagnostic(file: path, origin: nil, path: "", message: "cannot be written back as YAML")])
        }
        var header = "# \(path) as it runs (clustersim run --dry-run): every key read, defaults filled in.\n"
        if !overrides.isEmpty { header += "# With " + overrides.map { "--set \($0)" }.joined(separator: " ") + ".\n" }
        var footer = ""
        if !derived.isEmpty { footer = "# Derived from other keys when absent:\n" + derived.joined(separator: "\n") + "\n" }
        return (header + body + footer, plan.warnings)
    }
}

extension ConfigNode {
    /// The node at a path of mapping keys (nil when a step is absent or not a mapping).
    func value(at path: [String]) -> ConfigNode? {
        var node: ConfigNode? = self
        for key in path { node = node?[key] }
        return node
    }

    /// Sets the value at a path of mapping keys, adding the mappings on the way; does nothing
    /// where a step is a scalar or a list (a model or system name stands for its mapping).
    mutating func insert(_ value: ConfigNode, at path: [String]) {
        guard let first = path.first, case .mapping(var pairs, let origin) = self else { return }
        if path.count == 1 {
            if !pairs.contains(where: { $0.key == first }) { pairs.append((first, value)) }
        } else if let i = pairs.firstIndex(where: { $0.key == first }) {
            pairs[i].value.insert(value, at: Array(path.dropFirst()))
        } else {
            var child = ConfigNode.mapping([], origin)
            child.insert(value, at: Array(path.dropFirst()))
            pairs.append((first, child))
        }
        self = .mapping(pairs, origin)
    }

    /// Removes a top-level key.
    mutating func remove(_ key: String) {
        guard case .mapping(let pairs, let origin) = self else { return }
        self = .mapping(pairs.filter { $0.key != key }, origin)
    }
}
