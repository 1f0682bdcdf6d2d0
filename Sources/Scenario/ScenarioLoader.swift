// Reading a scenario: YAML → node tree → overrides → variants → typed, validated specs.
// Every problem is collected and reported together; nothing is written on bad input.
// The loader is generic: the workload kinds it knows are passed in (the Workloads module's
// registry), and each reads its own `workload` section from its key table.
import Foundation
import Hardware
import Models

public enum ScenarioLoader {
    /// Reads the scenario file at `path` and applies `overrides` (`key.path=value`).
    public static func load(path: String, overrides: [String] = [], kinds: [any WorkloadSpec.Type]) throws(ScenarioError) -> ExperimentPlan {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw ScenarioError([Diagnostic(file: path, origin: nil, path: "", message: reason)])
        }
        guard data.count <= maxFileBytes else {
            throw ScenarioError([Diagnostic(file: path, origin: nil, path: "", message: "is \(data.count) bytes, more than a scenario file's limit of \(maxFileBytes) (a request trace goes in a CSV file: workload.trace)")])
        }
        let bytes = [UInt8](data)
        if let bad = firstInvalidUTF8(bytes) {
            let line = bytes[..<bad].reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            let column = bad - (bytes[..<bad].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            throw ScenarioError([Diagnostic(file: path, origin: .file(line: line, column: column), path: "",
                                            message: "is not UTF-8 text: invalid byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at byte offset \(bad)")])
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return try plan(text: text, file: path, overrides: overrides, contents: bytes, kinds: kinds)
    }

    /// The largest scenario file read: scenarios are a few KB; this keeps a mistaken path (a
    /// model checkpoint, a log) from being parsed.
    public static let maxFileBytes = 4 << 20

    /// The offset of the first byte that is not part of valid UTF-8, nil when all are.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Builds the plan from YAML text (`file` names it in messages).
    public static func plan(text: String, file: String, overrides: [String] = [], contents: [UInt8]? = nil,
                            kinds: [any WorkloadSpec.Type]) throws(ScenarioError) -> ExperimentPlan {
        try plan(tree: tree(text: text, file: file, overrides: overrides), file: file, contents: contents ?? Array(text.utf8), kinds: kinds)
    }

    /// The node tree of YAML text with `overrides` (`key.path=value`) applied, before decoding.
    public static func tree(text: String, file: String, overrides: [String] = []) throws(ScenarioError) -> ConfigNode {
        var tree = try YAMLReader.parse(text, file: file)
        if case .null = tree { throw ScenarioError([Diagnostic(file: file, origin: .file(line: 1, column: 1), path: "", message: "the file is empty")]) }
        var problems: [Diagnostic] = []
        for argument in overrides {
            do {
                try Override.parse(argument, file: file).apply(to: &tree, file: file)
            } catch {
                problems += error.diagnostics
            }
        }
        if !problems.isEmpty { throw ScenarioError(problems) }
        return tree
    }

    /// `tree` with each key path set to its value (a search point), as `--set` would.
    public static func setting(_ settings: [(key: String, value: ConfigNode)], in tree: ConfigNode, file: String) throws(ScenarioError) -> ConfigNode {
        var tree = tree
        for (key, value) in settings {
            guard let path = PathComponent.parse(key) else {
                throw ScenarioError([Diagnostic(file: file, origin: value.origin, path: key, message: "malformed key path")])
            }
            try Override(path: path, value: value).apply(to: &tree, file: file)
        }
        return tree
    }

    /// Builds the plan from a node tree (`tree(text:)`, perhaps with `setting` applied);
    /// `contents` are the file's bytes, for the manifest.
    public static func plan(tree: ConfigNode, file: String, contents: [UInt8], kinds: [any WorkloadSpec.Type]) throws(ScenarioError) -> ExperimentPlan {
        let log = DiagnosticLog(file: file)
        // Keys are checked once, by `decode`.
        guard let top = FieldReader(tree, path: "", log: log, table: ScenarioKeys.table, checkingKeys: false) else { throw ScenarioError(log.errors) }
        let variantEntries = readVariants(top, log: log)
        let base = decode(tree, log: log, kinds: kinds)
        let compare = readCompare(top, variantNames: variantEntries.map(\.name), log: log)
        let search = readSearch(top, variants: variantEntries, log: log)

        var variants: [Variant] = []
        for entry in variantEntries {
            guard !entry.overrides.isEmpty else {
                if let base { variants.append(Variant(name: entry.name, spec: base, stream: variants.count)) }
                continue
            }
            var variantTree = tree
            var applied = true
            for override in entry.overrides {
                do { try override.apply(to: &variantTree, file: file) } catch {
                    log.errors += error.diagnostics.map { var d = $0; d.message += " (variant \"\(entry.name)\")"; return d }
                    applied = false
                }
            }
            guard applied else { continue }
            // Report only what the variant adds: the base's own problems are already logged.
            let variantLog = DiagnosticLog(file: file)
            variantLog.context = " (variant \"\(entry.name)\")"
            if let spec = decode(variantTree, log: variantLog, kinds: kinds) { variants.append(Variant(name: entry.name, spec: spec, stream: variants.count)) }
            log.errors += variantLog.errors.filter { !log.errors.contains(stripping: $0, context: variantLog.context) }
            log.queried.formUnion(variantLog.queried)
        }
        if !log.errors.isEmpty { throw ScenarioError(log.errors) }
        guard let base else { throw ScenarioError(log.errors) }

        return ExperimentPlan(
            name: base.name,
            file: file,
            fileContents: contents,
            seed: base.seed,
            replications: base.replications,
            variants: variants,
            compare: compare,
            search: search,
            warnings: log.warnings,
            keysRead: log.queried
        )
    }

    struct VariantEntry {
        var name: String
        var overrides: [Override]
        /// Its index in the file's variants list (nil: the base the loader adds).
        var index: Int? = nil
    }

    /// The variants list; the base scenario runs as "base" unless a variant without `set` names it.
    static func readVariants(_ top: FieldReader, log: DiagnosticLog) -> [VariantEntry] {
        _ = top.declared("variants")
        guard let items = top.sequence("variants") else { return [VariantEntry(name: "base", overrides: [])] }
        var entries: [VariantEntry] = []
        for (i, item) in items.enumerated() {
            let path = "variants[\(i)]"
            guard let fields = FieldReader(item, path: path, log: log, table: ScenarioKeys.table, under: "variants[]") else { continue }
            guard let name = fields.text("name") else { continue }
            if !isPlainName(name) {
                log.error(fields.origin("name"), "\(path).name", "\"\(name.prefix(40))\" must be letters, digits, '.', '_' or '-'")
            } else if name.count > maxNameLength {
                log.error(fields.origin("name"), "\(path).name", "\"\(name.prefix(40))...\" is \(name.count) characters; at most \(maxNameLength)")
            }
            if entries.contains(where: { $0.name == name }) {
                log.error(fields.origin("name"), "\(path).name", "variant \"\(name)\" is defined twice")
                continue
            }
            var overrides: [Override] = []
            if let set = fields.node("set") {
                guard case .mapping(let pairs, _) = set else {
                    log.error(set.origin, "\(path).set", "expected a mapping of key paths to values, got \(set.described)")
                    continue
                }
                for (key, value) in pairs {
                    guard let components = PathComponent.parse(key) else {
                        log.error(value.origin, "\(path).set.\(key)", "malformed key path; write it like cluster.system")
                        continue
                    }
                    if case .key(let first) = components[0], ScenarioKeys.experimentKeys.contains(first) {
                        log.error(value.origin, "\(path).set.\(key)", "a variant cannot change \"\(first)\"; it belongs to the whole experiment")
                        continue
                    }
                    overrides.append(Override(path: components, value: value))
                }
            }
            entries.append(VariantEntry(name: name, overrides: overrides, index: i))
        }
        if entries.isEmpty { log.error(top.origin("variants"), "variants", "the list is empty; remove it to run the base scenario alone") }
        if !entries.contains(where: { $0.overrides.isEmpty }) && !entries.contains(where: { $0.name == "base" }) {
            entries.insert(VariantEntry(name: "base", overrides: []), at: 0)
        }
        return entries
    }

    static func readCompare(_ top: FieldReader, variantNames: [String], log: DiagnosticLog) -> CompareSpec? {
        guard let fields = top.mapping("compare") else { return nil }
        guard let baseline = fields.text("baseline") else { return nil }
        if let problem = CompareSpec.missingBaseline(baseline, among: variantNames) {
            // Only `compare` uses the section: `run` (and sweeps of it) warn and go on, and
            // `compare` refuses the baseline before it simulates.
            log.warning(fields.origin("baseline"), "compare.baseline", problem + "; run ignores the compare section, clustersim compare refuses it")
        }
        let claim = fields.number("claim")
        var spec = CompareSpec(baseline: baseline, claim: claim)
        spec.margin = fields.number("margin") ?? 0.05
        spec.metric = fields.text("metric")
        return spec
    }

    /// Decodes one tree (base or variant) into a spec, logging every problem.
    static func decode(_ tree: ConfigNode, log: DiagnosticLog, kinds: [any WorkloadSpec.Type]) -> ScenarioSpec? {
        guard let top = FieldReader(tree, path: "", log: log, table: ScenarioKeys.table) else { return nil }
        let errorsBefore = log.errors.count
        let name = top.text("name")
        if let name, !isPlainName(name) {
            log.error(top.origin("name"), "name", "\"\(name.prefix(40))\" must be letters, digits, '.', '_' or '-' (it names the results folder)")
        } else if let name, name.count > maxNameLength {
            log.error(top.origin("name"), "name", "\"\(name.prefix(40))...\" is \(name.count) characters; at most \(maxNameLength) (it names the results folder)")
        }
        let description = top.text("description") ?? ""
        let seed = top.integer("seed") ?? 1
        let replications = top.integer("replications") ?? 1
        let cluster = readCluster(top, log: log)
        let stack = readStack(top, log: log)
        let noise = readNoise(top, log: log)
        _ = top.declared("workload")
        let context = ScenarioContext(top: top, cluster: cluster, stack: stack, noise: noise)
        let workload = readWorkload(top, context: context, kinds: kinds)
        guard log.errors.count == errorsBefore, let name, let workload else { return nil }
        return ScenarioSpec(
            name: name, description: description, seed: UInt64(seed), replications: replications,
            cluster: cluster, workload: workload, stack: stack, noise: noise
        )
    }

    /// The `workload` section, read by the kind its `kind` names.
    static func readWorkload(_ top: FieldReader, context: ScenarioContext, kinds: [any WorkloadSpec.Type]) -> (any WorkloadSpec)? {
        let log = top.log
        let names = kinds.map { $0.kind }
        guard let node = top.value("workload") else {
            top.missing("workload", "a mapping with a kind")
            return nil
        }
        guard case .mapping = node else {
            log.error(node.origin, "workload", "expected a mapping with a kind, got \(node.described)")
            return nil
        }
        guard let kindNode = node["kind"], case .scalar(let kindText, _) = kindNode else {
            log.error(node.origin, "workload.kind", "missing required key (one of \(names.joined(separator: ", ")))")
            return nil
        }
        guard let kind = kinds.first(where: { $0.kind == kindText }) else {
            var message = "unknown workload kind \"\(kindText)\""
            if let guess = closestName(to: kindText, among: names) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; expected one of \(names.joined(separator: ", "))" }
            log.error(kindNode.origin, "workload.kind", message)
            return nil
        }
        guard let fields = FieldReader(node, path: "workload", log: log, table: kind.keys) else { return nil }
        _ = fields.declared("kind")
        guard let spec = kind.read(fields, in: context) else { return nil }
        if kind.needsCluster, context.cluster == nil, !top.has("cluster") {
            top.missing("cluster", "a system for workload kind \"\(kind.kind)\", e.g. cluster: { system: h100-sxm }")
        }
        if context.stack.speculative != nil, !spec.usesSpeculativeDecoding {
            context.warnUnused("stack.speculative", kind: kind.kind, because: " (decode and colocated serving only)")
        }
        return spec
    }
}

/// The longest scenario or variant name (a folder name may be 255 bytes; a results path
/// holds the name and more).
public let maxNameLength = 100

/// Names that become folder or metric names: letters, digits, '.', '_' and '-'.
public func isPlainName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && name.unicodeScalars.allSatisfy {
        ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "." || $0 == "_" || $0 == "-"
    }
}

extension Array where Element == Diagnostic {
    /// Whether a variant's diagnostic repeats one of the base's (the same place and message).
    func contains(stripping diagnostic: Diagnostic, context: String) -> Bool {
        let message = diagnostic.message.hasSuffix(context) ? String(diagnostic.message.dropLast(context.count)) : diagnostic.message
        return contains { $0.origin == diagnostic.origin && $0.path == diagnostic.path && $0.message == message }
    }
}
