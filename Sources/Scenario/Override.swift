// Overrides: `--set key.path=value` on the command line and the `set` of each variant.
// Both edit the node tree before it is decoded, so an override is validated exactly like a
// value written in the file.

/// One step of a key path: a mapping key or a list index (`links[0]` or `links.0`).
enum PathComponent: Equatable, CustomStringConvertible {
    case key(String)
    case index(Int)

    var description: String {
        switch self {
        case .key(let k): k
        case .index(let i): "[\(i)]"
        }
    }

    /// Parses "workload.links[0].bandwidth" (or "workload.links.0.bandwidth").
    static func parse(_ path: String) -> [PathComponent]? {
        var components: [PathComponent] = []
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { return nil }
            var rest = part[...]
            if let bracket = rest.firstIndex(of: "[") {
                let name = rest[..<bracket]
                if !name.isEmpty { components.append(Int(name).map(PathComponent.index) ?? .key(String(name))) }
                rest = rest[bracket...]
                while rest.first == "[" {
                    guard let close = rest.firstIndex(of: "]"), let i = Int(rest[rest.index(after: rest.startIndex)..<close]), i >= 0 else { return nil }
                    components.append(.index(i))
                    rest = rest[rest.index(after: close)...]
                }
                guard rest.isEmpty else { return nil }
            } else if let i = Int(rest), i >= 0 {
                components.append(.index(i))
            } else {
                components.append(.key(String(rest)))
            }
        }
        return components.isEmpty ? nil : components
    }

    static func render(_ components: [PathComponent]) -> String {
        var text = ""
        for c in components {
            switch c {
            case .key(let k): text += text.isEmpty ? k : ".\(k)"
            case .index(let i): text += "[\(i)]"
            }
        }
        return text
    }
}

/// A parsed override: where to put the value, and the value as a node.
public struct Override: Sendable {
    let path: [PathComponent]
    let value: ConfigNode

    public var keyPath: String { PathComponent.render(path) }

    /// Parses `key.path=value` from the command line; the value is read as YAML
    /// (`--set 'workload.links[0].bandwidth=400 GB/s'`, `--set replications=5`).
    public static func parse(_ argument: String, file: String) throws(ScenarioError) -> Override {
        let origin = Origin.commandLine("--set \(argument)")
        guard let equals = argument.firstIndex(of: "=") else {
            throw ScenarioError([Diagnostic(file: file, origin: origin, path: "", message: "expected key.path=value")])
        }
        let keyText = String(argument[..<equals]).trimmingWhitespace()
        guard let path = PathComponent.parse(keyText) else {
            throw ScenarioError([Diagnostic(file: file, origin: origin, path: keyText, message: "malformed key path; write it like workload.links[0].bandwidth")])
        }
        let valueText = String(argument[argument.index(after: equals)...])
        let value = try YAMLReader.parse(valueText, file: file, origin: origin)
        return Override(path: path, value: value)
    }

    init(path: [PathComponent], value: ConfigNode) {
        self.path = path
        self.value = value
    }

    /// Puts the value into `tree`, creating missing mapping keys (which validation then checks
    /// like any other key). Fails on an index past the end of a list or a path through a scalar.
    func apply(to tree: inout ConfigNode, file: String) throws(ScenarioError) {
        if let problem = Self.set(&tree, path[...], value, done: []) {
            throw ScenarioError([Diagnostic(file: file, origin: value.origin, path: keyPath, message: problem)])
        }
    }

    private static func set(_ node: inout ConfigNode, _ path: ArraySlice<PathComponent>, _ value: ConfigNode, done: [PathComponent]) -> String? {
        guard let head = path.first else {
            node = value
            return nil
        }
        let here = done.isEmpty ? "the scenario" : PathComponent.render(done)
        switch (head, node) {
        case (.key(var key), .mapping(var pairs, let origin)):
            // A key written with dots (a key path under search.space or variants[].set) is
            // matched whole: search.space.workload.batch sets the key "workload.batch" there.
            var rest = path.dropFirst()
            if !pairs.contains(where: { $0.key == key }) {
                var joined = key, taken = 0
                for component in path.dropFirst() {
                    guard case .key(let next) = component else { break }
                    joined += "." + next
                    taken += 1
                    if pairs.contains(where: { $0.key == joined }) {
                        key = joined
                        rest = path.dropFirst(taken + 1)
                    }
                }
            }
            if let i = pairs.firstIndex(where: { $0.key == key }) {
                if let problem = set(&pairs[i].value, rest, value, done: done + [head]) { return problem }
            } else {
                var child: ConfigNode = path.count > 1 ? .mapping([], value.origin) : value
                if path.count > 1, let problem = set(&child, path.dropFirst(), value, done: done + [head]) { return problem }
                pairs.append((key, child))
            }
            node = .mapping(pairs, origin)
            return nil
        case (.key, .null(let origin)):
            node = .mapping([], origin)
            return set(&node, path, value, done: done)
        case (.index(let i), .sequence(var items, let origin)):
            guard i < items.count else { return "\(here) has \(items.count) entries; index \(i) is out of range" }
            if let problem = set(&items[i], path.dropFirst(), value, done: done + [head]) { return problem }
            node = .sequence(items, origin)
            return nil
        case (.index, _):
            return "\(here) is \(node.described), not a list"
        case (.key, _):
            return "\(here) is \(node.described), not a mapping"
        }
    }
}
