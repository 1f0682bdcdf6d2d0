// The YAML document as a tree that remembers where each value came from, so that every
// message can name the file, the line and the key path. Overrides (--set, variants) edit this
// tree before it is decoded and validated.
import Yams

/// Where a value came from: a line and column of the scenario file, or a command-line override.
public enum Origin: Sendable, Equatable {
    case file(line: Int, column: Int)
    case commandLine(String)
}

/// A YAML value with its origin. Mapping keys keep their order (for reproducible messages).
public indirect enum ConfigNode: Sendable {
    case scalar(String, Origin)
    case mapping([(key: String, value: ConfigNode)], Origin)
    case sequence([ConfigNode], Origin)
    case null(Origin)

    public var origin: Origin {
        switch self {
        case .scalar(_, let o), .mapping(_, let o), .sequence(_, let o), .null(let o): o
        }
    }

    /// What kind of value this is, for messages ("a mapping", "a list", "\"abc\"").
    public var described: String {
        switch self {
        case .scalar(let text, _): "\"\(text)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .null: "nothing (null)"
        }
    }

    public subscript(key: String) -> ConfigNode? {
        guard case .mapping(let pairs, _) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }
}

/// A problem found in a scenario: where, which key, and what is wrong.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var origin: Origin?
    public var path: String
    public var message: String

    public init(file: String, origin: Origin?, path: String, message: String) {
        self.file = file
        self.origin = origin
        self.path = path
        self.message = message
    }

    /// `file:line:column: key.path: message`, or `file: --set key=value: key.path: message`.
    public var description: String {
        var location = file
        switch origin {
        case .file(let line, let column)?: location += ":\(line):\(column)"
        case .commandLine(let text)?: location += ": \(text)"
        case nil: break
        }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// Bad scenario input: every problem found, in file order. Rendered one per line.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

enum YAMLReader {
    /// Most values a document may hold once its aliases are expanded: a scenario holds a few
    /// hundred, so this refuses an alias bomb (a few KB that expand exponentially) long before
    /// it costs memory or time.
    static let maxValues = 100_000
    /// Most alias uses (`*name`) a document may hold.
    static let maxAliases = 1_000

    /// Parses YAML text into a node tree; syntax errors become a diagnostic with the line.
    static func parse(_ text: String, file: String, origin: Origin? = nil) throws(ScenarioError) -> ConfigNode {
        let node: Node?
        let parser: Parser
        do {
            parser = try Parser(yaml: text)
            node = try parser.singleRoot()
        } catch let error as YamlError {
            throw ScenarioError([describe(error, text: text, file: file, origin: origin)])
        } catch {
            throw ScenarioError([Diagnostic(file: file, origin: origin, path: "", message: "malformed YAML: \(error)")])
        }
        guard let node else { return .null(origin ?? .file(line: 1, column: 1)) }
        // The parser owns the anchors (nodes hold them weakly): it stays alive while aliases are
        // counted.
        var converter = Converter(file: file, origin: origin)
        let tree = withExtendedLifetime(parser) { converter.convert(node, path: "") }
        if !converter.problems.isEmpty { throw ScenarioError(converter.problems) }
        return tree
    }

    /// Node → ConfigNode, counting values and alias uses against the limits.
    private struct Converter {
        let file: String
        let origin: Origin?
        var problems: [Diagnostic] = []
        var values = 0
        var aliasUses = 0
        var anchorsSeen = Set<ObjectIdentifier>()
        var overLimit = false

        init(file: String, origin: Origin?) {
            self.file = file
            self.origin = origin
        }

        func origin(of node: Node) -> Origin {
            origin ?? node.mark.map { .file(line: $0.line, column: $0.column) } ?? .file(line: 0, column: 0)
        }

        mutating func convert(_ node: Node, path: String) -> ConfigNode {
            let here = origin(of: node)
            guard !overLimit else { return .null(here) }
            values += 1
            // An anchored node met again is an alias's copy of it.
            if let anchor = node.anchor, !anchorsSeen.insert(ObjectIdentifier(anchor)).inserted {
                aliasUses += 1
                if aliasUses > YAMLReader.maxAliases {
                    return refuse(here, path, "more than \(YAMLReader.maxAliases) YAML alias uses (of anchor &\(anchor.rawValue)); write the values out")
                }
            }
            if values > YAMLReader.maxValues {
                let through = node.anchor.map { " (through anchor &\($0.rawValue))" } ?? ""
                return refuse(here, path, "the document expands to more than \(YAMLReader.maxValues) values\(through): a YAML alias bomb? Write the values out or use fewer aliases")
            }
            switch node {
            case .scalar(let scalar):
                if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return .null(here) }
                return .scalar(scalar.string, here)
            case .mapping(let mapping):
                var pairs: [(key: String, value: ConfigNode)] = []
                for (keyNode, valueNode) in mapping {
                    guard case .scalar(let key) = keyNode else {
                        problems.append(Diagnostic(file: file, origin: here, path: path, message: "mapping keys must be plain names"))
                        continue
                    }
                    let childPath = path.isEmpty ? key.string : "\(path).\(key.string)"
                    pairs.append((key.string, convert(valueNode, path: childPath)))
                }
                return .mapping(pairs, here)
            case .sequence(let sequence):
                return .sequence(sequence.enumerated().map { i, child in convert(child, path: "\(path)[\(i)]") }, here)
            case .alias:
                problems.append(Diagnostic(file: file, origin: here, path: path, message: "YAML aliases are not supported here; write the value out"))
                return .null(here)
            }
        }

        mutating func refuse(_ origin: Origin, _ path: String, _ message: String) -> ConfigNode {
            overLimit = true
            problems.append(Diagnostic(file: file, origin: origin, path: path, message: message))
            return .null(origin)
        }
    }

    private static func describe(_ error: YamlError, text: String, file: String, origin: Origin?) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let where_ = origin ?? .file(line: mark.line, column: mark.column)
            if problem.hasPrefix("Maximum nesting level reached") {
                return Diagnostic(file: file, origin: where_, path: "", message: "malformed YAML: nested more than 1000 levels deep")
            }
            let detail = context.map { "\($0.text) " } ?? ""
            return Diagnostic(file: file, origin: where_, path: "", message: "malformed YAML: \(detail)\(problem)".trimmingWhitespace())
        case .duplicatedKeysInMapping(let keys, let context):
            let key = keys.sorted().first ?? ""
            let first = context.mark
            guard origin == nil else {
                return Diagnostic(file: file, origin: origin, path: key, message: "key \"\(key)\" appears twice")
            }
            if let second = secondOccurrence(of: key, after: first, in: text) {
                return Diagnostic(file: file, origin: .file(line: second.line, column: second.column), path: key,
                                  message: "key \"\(key)\" appears twice, first at line \(first.line)")
            }
            return Diagnostic(file: file, origin: .file(line: first.line, column: first.column), path: key,
                              message: "key \"\(key)\" appears twice in this mapping")
        default:
            return Diagnostic(file: file, origin: origin, path: "", message: "malformed YAML: \(error)")
        }
    }

    /// Where `key` is written again in the mapping whose first `key` is at `mark`: later on the
    /// same line (a flow mapping), or on a later line at the same column (a block mapping, which
    /// ends at the first line indented less).
    static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let pattern = Array(key.unicodeScalars)
        func keyStarts(_ line: [Unicode.Scalar], at i: Int) -> Bool {
            guard i >= 0, i + pattern.count <= line.count, Array(line[i..<(i + pattern.count)]) == pattern else { return false }
            var j = i + pattern.count
            while j < line.count, line[j] == " " { j += 1 }
            return j < line.count && line[j] == ":"
        }
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let firstLine = lines[mark.line - 1], column = mark.column - 1
        // Flow: after a '{' or ',' later on the first line.
        var i = column + pattern.count
        while i < firstLine.count {
            if firstLine[i] == "," || firstLine[i] == "{" {
                var j = i + 1
                while j < firstLine.count, firstLine[j] == " " { j += 1 }
                if keyStarts(firstLine, at: j) { return (mark.line, j + 1) }
            }
            i += 1
        }
        // Block: the same column on a later line, before the mapping ends.
        for n in mark.line..<lines.count {
            let line = lines[n]
            guard let indent = line.firstIndex(where: { $0 != " " }), line[indent] != "#" else { continue }
            if indent < column { break }
            if indent == column && keyStarts(line, at: column) { return (n + 1, column + 1) }
        }
        return nil
    }
}
