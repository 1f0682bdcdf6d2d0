// Keys declared once. Every section of a scenario (the top level, cluster, stack, noise,
// compare, and each workload kind's `workload`) has a table of its keys: path, type and unit,
// default, range or choices, and one line of meaning. FieldReader accepts exactly the keys of
// its table and reads each with the table's range and default, so a key cannot be accepted
// without being documented; `clustersim schema` and docs/scenario-keys.md print the same rows.

/// One key of a section: where it is, what it holds, and what it means.
public struct Key: Sendable {
    /// What a key's value is, with the range or choices the reader enforces.
    public enum ValueType: Sendable {
        case integer(ClosedRange<Int>)
        /// A number with an optional unit, in SI base units after parsing; at least `minimum`
        /// (more than it when `exclusive`) and, when given, at most `maximum`.
        case quantity(Dimension, minimum: Double = 0, exclusive: Bool = false, maximum: Double? = nil)
        case bool
        case choice([String])
        /// Free text: a name or a file path.
        case text
        /// A group of keys, listed below it as `key.child`.
        case mapping
        /// A list of mappings whose keys are listed below it as `key[].child`.
        case list
        /// A list of names.
        case names
        /// A catalog model name, or an inline model (`clustersim models show NAME`).
        case model
        /// A hardware preset name, or an inline system (`clustersim hardware show NAME`).
        case system
        /// A number, or a mapping of the keys listed below it.
        case quantityOrMapping(Dimension, minimum: Double = 0, exclusive: Bool = false)
    }

    /// What happens when the key is absent.
    public enum Default: Sendable, ExpressibleByStringLiteral {
        /// Absent means off or not given.
        case none
        /// The YAML text read in its place (parsed exactly as a value the user wrote).
        case value(String)
        /// A default that depends on other keys, described in words (the reader derives it).
        case derived(String)
        /// The key must be given (`when` says in which case, nil: always).
        case required(when: String?)

        public init(stringLiteral text: String) { self = .value(text) }
        public static var required: Default { .required(when: nil) }
    }

    /// The key's path within its section ("slo.tpot_p99", "links[].bandwidth").
    public let path: String
    public let type: ValueType
    public let defaultValue: Default
    public let meaning: String

    public init(_ path: String, _ type: ValueType, default defaultValue: Default = .none, _ meaning: String) {
        self.path = path
        self.type = type
        self.defaultValue = defaultValue
        self.meaning = meaning
    }

    /// The last component of the path, as it is written in the file.
    public var name: String { String(path.split(separator: ".").last ?? Substring(path)).replacingOccurrences(of: "[]", with: "") }

    /// The path of the mapping that holds the key ("" at the top of the section).
    public var parent: String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    public var isRequired: Bool {
        if case .required(nil) = defaultValue { return true }
        return false
    }
}

/// The keys of one section of a scenario file.
public struct KeyTable: Sendable {
    /// The section's path in the file ("" for the top level, "workload", "cluster", ...).
    public let section: String
    public let keys: [Key]

    public init(section: String, _ keys: [Key]) {
        self.section = section
        self.keys = keys
    }

    /// The table with more keys after these (a kind that extends another's keys).
    public func adding(_ more: [Key], removing removed: [String] = []) -> KeyTable {
        KeyTable(section: section, keys.filter { !removed.contains($0.path) } + more)
    }

    /// The key at `path`; a path that the table lacks is a bug in the reader, not bad input.
    public func key(_ path: String) -> Key {
        guard let key = keys.first(where: { $0.path == path }) else {
            preconditionFailure("key \"\(path)\" is read but not declared in the \(section.isEmpty ? "top-level" : section) key table")
        }
        return key
    }

    /// The names of the keys directly under `parent` ("" for the section's own keys).
    public func children(of parent: String) -> [String] {
        keys.filter { $0.parent == parent }.map(\.name)
    }

    /// The key's full path in the file ("workload.slo.tpot_p99").
    public func fullPath(_ key: Key) -> String { section.isEmpty ? key.path : "\(section).\(key.path)" }
}

extension Key.ValueType {
    /// The type as the schema prints it: a word, and the unit where there is one.
    public var typeName: String {
        switch self {
        case .integer: "integer"
        case .quantity(let d, _, _, _): d == .count ? "number" : "quantity"
        case .bool: "bool"
        case .choice: "choice"
        case .text: "text"
        case .mapping: "mapping"
        case .list: "list"
        case .names: "list of names"
        case .model: "model"
        case .system: "system"
        case .quantityOrMapping: "number or mapping"
        }
    }

    /// The SI unit a quantity is stored in ("s", "B", "B/s"; "" for plain numbers).
    public var unit: String {
        switch self {
        case .quantity(let d, _, _, _), .quantityOrMapping(let d, _, _): d.siUnit
        default: ""
        }
    }

    /// The allowed values, as the schema prints them.
    public var range: String {
        switch self {
        case .integer(let r):
            return r.upperBound == Int.max ? "≥ \(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
        case .quantity(let dimension, let minimum, let exclusive, let maximum):
            return "\(exclusive ? ">" : "≥") \(shortNumber(minimum)), ≤ \(shortNumber(maximum ?? dimension.ceiling))"
        case .quantityOrMapping(let dimension, let minimum, let exclusive):
            return "\(exclusive ? ">" : "≥") \(shortNumber(minimum)), ≤ \(shortNumber(dimension.ceiling))"
        case .choice(let choices):
            return choices.joined(separator: ", ")
        case .bool:
            return "true, false"
        default:
            return ""
        }
    }
}

extension Key.Default {
    /// The default as the schema prints it.
    public var text: String {
        switch self {
        case .none: ""
        case .value(let v): v
        case .derived(let d): d
        case .required(let when): when.map { "required \($0)" } ?? "required"
        }
    }
}

extension Dimension {
    /// The SI unit values of this dimension are stored in after parsing.
    public var siUnit: String {
        switch self {
        case .time: "s"
        case .bytes: "B"
        case .bandwidth: "B/s"
        case .flops: "FLOP"
        case .flopRate: "FLOP/s"
        case .frequency: "Hz"
        case .power: "W"
        case .rate: "1/s"
        case .count: ""
        }
    }
}
