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
    /// Parses YAML text into a node tree; syntax errors become a diagnostic with the line.
    static func parse(_ text: String, file: String, origin: Origin? = nil) throws(ScenarioError) -> ConfigNode {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ScenarioError([describe(error, file: file, origin: origin)])
        } catch {
            throw ScenarioError([Diagnostic(file: file, origin: origin, path: "", message: "malformed YAML: \(error)")])
        }
        guard let node else { return .null(origin ?? .file(line: 1, column: 1)) }
        var problems: [Diagnostic] = []
        let tree = convert(node, file: file, origin: origin, path: "", problems: &problems)
        if !problems.isEmpty { throw ScenarioError(problems) }
        return tree
    }

    private static func convert(_ node: Node, file: String, origin fixed: Origin?, path: String, problems: inout [Diagnostic]) -> ConfigNode {
        let origin = fixed ?? node.mark.map { .file(line: $0.line, column: $0.column) } ?? .file(line: 0, column: 0)
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return .null(origin) }
            return .scalar(scalar.string, origin)
        case .mapping(let mapping):
            var pairs: [(key: String, value: ConfigNode)] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode else {
                    problems.append(Diagnostic(file: file, origin: origin, path: path, message: "mapping keys must be plain names"))
                    continue
                }
                let childPath = path.isEmpty ? key.string : "\(path).\(key.string)"
                if pairs.contains(where: { $0.key == key.string }) {
                    let keyOrigin = fixed ?? keyNode.mark.map { .file(line: $0.line, column: $0.column) }
                    problems.append(Diagnostic(file: file, origin: keyOrigin, path: childPath, message: "key appears twice"))
                    continue
                }
                pairs.append((key.string, convert(valueNode, file: file, origin: fixed, path: childPath, problems: &problems)))
            }
            return .mapping(pairs, origin)
        case .sequence(let sequence):
            return .sequence(sequence.enumerated().map { i, child in
                convert(child, file: file, origin: fixed, path: "\(path)[\(i)]", problems: &problems)
            }, origin)
        case .alias:
            problems.append(Diagnostic(file: file, origin: origin, path: path, message: "YAML aliases are not supported; write the value out"))
            return .null(origin)
        }
    }

    private static func describe(_ error: YamlError, file: String, origin: Origin?) -> Diagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let where_ = origin ?? .file(line: mark.line, column: mark.column)
            let detail = context.map { "\($0.text) " } ?? ""
            return Diagnostic(file: file, origin: where_, path: "", message: "malformed YAML: \(detail)\(problem)".trimmingWhitespace())
        default:
            return Diagnostic(file: file, origin: origin, path: "", message: "malformed YAML: \(error)")
        }
    }
}
