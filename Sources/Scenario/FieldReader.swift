// Typed reads from a mapping node that record every problem instead of stopping at the first,
// so a user sees all of them at once. Unknown keys get a did-you-mean suggestion.

/// Collects diagnostics for one file.
public final class DiagnosticLog {
    public let file: String
    public var errors: [Diagnostic] = []
    public var warnings: [Diagnostic] = []
    /// Added after each key path, e.g. " (variant \"gb300\")".
    public var context = ""
    /// The full paths of the table keys read so far (present or not), e.g. "workload.slo.tpot_p99":
    /// a test compares them with the tables, so a declared key that no reader asks for is found.
    public var queried: Set<String> = []

    public init(file: String) { self.file = file }

    public func error(_ origin: Origin?, _ path: String, _ message: String) {
        errors.append(Diagnostic(file: file, origin: origin, path: path, message: message + context))
    }

    public func warning(_ origin: Origin?, _ path: String, _ message: String) {
        warnings.append(Diagnostic(file: file, origin: origin, path: path, message: message + context))
    }
}

/// The fields of one mapping, read with their key paths.
public struct FieldReader {
    public let node: ConfigNode
    public let path: String
    public let log: DiagnosticLog
    /// The table the mapping's keys come from, and the mapping's path in it ("" for the
    /// section itself, "slo" for `workload.slo`, "links[]" for an item of `workload.links`).
    public let table: KeyTable?
    public let parent: String

    /// Reads `node` as a mapping whose keys must be among `allowed` (nil: not checked here);
    /// nil (with an error logged) when it is not a mapping.
    public init?(_ node: ConfigNode, path: String, log: DiagnosticLog, allowed: [String]?) {
        self.init(node, path: path, log: log, allowed: allowed, table: nil, parent: "")
    }

    /// Reads `node` as the mapping at `parent` of `table`: its keys must be the table's
    /// (checked unless `checkingKeys` is false, for a second reader of the same mapping).
    public init?(_ node: ConfigNode, path: String, log: DiagnosticLog, table: KeyTable, under parent: String = "", checkingKeys: Bool = true) {
        self.init(node, path: path, log: log, allowed: checkingKeys ? table.children(of: parent) : nil, table: table, parent: parent)
    }

    /// The mapping at `key` of this one, read against the same table (nil when absent or not
    /// a mapping, the latter logged).
    public func mapping(_ key: String) -> FieldReader? {
        guard let table, let value = value(key) else { return nil }
        let declared = table.key(childKey(key))
        log.queried.insert(table.fullPath(declared))
        return FieldReader(value, path: child(key), log: log, table: table, under: declared.path)
    }

    /// The items of the list at `key`, each read against the table's `key[]` entries.
    public func items(_ key: String) -> [FieldReader?]? {
        guard let table, let items = sequence(key) else { return nil }
        let declared = table.key(childKey(key))
        log.queried.insert(table.fullPath(declared))
        return items.enumerated().map { i, item in
            FieldReader(item, path: "\(child(key))[\(i)]", log: log, table: table, under: "\(declared.path)[]")
        }
    }

    private init?(_ node: ConfigNode, path: String, log: DiagnosticLog, allowed: [String]?, table: KeyTable?, parent: String) {
        guard case .mapping(let pairs, _) = node else {
            log.error(node.origin, path, "expected a mapping of keys, got \(node.described)")
            return nil
        }
        self.node = node
        self.path = path
        self.log = log
        self.table = table
        self.parent = parent
        guard let allowed else { return }
        for (key, value) in pairs where !allowed.contains(key) {
            var message = "unknown key \"\(key)\""
            if let suggestion = closestName(to: key, among: allowed) { message += "; did you mean \"\(suggestion)\"?" }
            else { message += "; expected one of \(allowed.joined(separator: ", "))" }
            log.error(value.origin, child(key), message)
        }
    }

    public func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The key's path in the table ("slo.tpot_p99").
    func childKey(_ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    /// The node under `key`, nil when absent or null.
    public func value(_ key: String) -> ConfigNode? {
        guard let value = node[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    public func has(_ key: String) -> Bool { value(key) != nil }

    public func origin(_ key: String) -> Origin? { node[key]?.origin ?? node.origin }

    public func missing(_ key: String, _ what: String) {
        log.error(node.origin, child(key), "missing required key (\(what))")
    }

    public func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key) else {
            if required { missing(key, "a name") }
            return nil
        }
        guard case .scalar(let text, _) = value else {
            log.error(value.origin, child(key), "expected a string, got \(value.described)")
            return nil
        }
        return text
    }

    public func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        if case .scalar(let text, _) = value {
            switch text {
            case "true", "True", "yes", "on": return true
            case "false", "False", "no", "off": return false
            default: break
            }
        }
        log.error(value.origin, child(key), "expected true or false, got \(value.described)")
        return nil
    }

    public func integer(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = value(key) else {
            if required { missing(key, "an integer") }
            return nil
        }
        guard case .scalar(let text, _) = value, let count = Count.parse(text.replacingUnderscores()) else {
            log.error(value.origin, child(key), "expected an integer, got \(value.described)")
            return nil
        }
        guard case .whole(let number) = count else {
            if case .fraction(let x) = count {
                log.error(value.origin, child(key), "\"\(text)\" is \(shortNumber(x)), not a whole number")
            } else {
                log.error(value.origin, child(key), "\"\(text)\" is too large")
            }
            return nil
        }
        guard range.contains(number) else {
            log.error(value.origin, child(key), "must be \(describe(range)), got \(number)")
            return nil
        }
        return number
    }

    /// A quantity in SI base units that must be ≥ `minimum` (or > it when `exclusive`).
    /// At most `maximum`, or the dimension's ceiling when none is given.
    public func quantity(
        _ key: String, _ dimension: Dimension, minimum: Double = 0, exclusive: Bool = false, maximum: Double? = nil, required: Bool = false
    ) -> Double? {
        guard let value = value(key) else {
            if required { missing(key, "\(dimension.noun) such as \(dimension.example)") }
            return nil
        }
        guard case .scalar(let text, _) = value else {
            log.error(value.origin, child(key), "expected \(dimension.noun) such as \(dimension.example), got \(value.described)")
            return nil
        }
        switch Quantity.parse(text.replacingUnderscores(), as: dimension) {
        case .failure(let error):
            log.error(value.origin, child(key), "\(error.reason), got \"\(text)\"")
            return nil
        case .success(let number):
            // A positive size is at least one byte (a fraction of a byte is no message).
            if dimension == .bytes && exclusive && minimum == 0 && number < 1 {
                log.error(value.origin, child(key), "must be ≥ 1 B, got \"\(text)\"")
                return nil
            }
            guard exclusive ? number > minimum : number >= minimum else {
                log.error(value.origin, child(key), "must be \(exclusive ? ">" : "≥") \(shortNumber(minimum)), got \"\(text)\"")
                return nil
            }
            let limit = maximum ?? dimension.ceiling
            guard number <= limit else {
                let unit = dimension.siUnit.isEmpty ? "" : " \(dimension.siUnit)"
                log.error(value.origin, child(key), "must be ≤ \(shortNumber(limit))\(unit), got \"\(text)\"")
                return nil
            }
            return number
        }
    }

    public func sequence(_ key: String) -> [ConfigNode]? {
        guard let value = value(key) else { return nil }
        guard case .sequence(let items, _) = value else {
            log.error(value.origin, child(key), "expected a list, got \(value.described)")
            return nil
        }
        return items
    }

    private func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "≥ \(range.lowerBound)" }
        return "between \(range.lowerBound) and \(range.upperBound)"
    }
}

/// A number as messages and the schema print it: whole numbers without a decimal point, others
/// in the shortest form that reads back exactly.
func shortNumber(_ x: Double) -> String {
    guard x == x.rounded() && abs(x) < 1e15 else {
        guard x.isFinite, abs(x) >= 1e15, String(x).hasSuffix(".0") else { return String(x) }
        // 1e15, not 1000000000000000.0.
        var mantissa = x, exponent = 0
        while abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
        return "\(shortNumber(mantissa))e\(exponent)"
    }
    return String(Int(x))
}

extension String {
    /// "1_000_000" → "1000000", as YAML 1.1 allows.
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}

/// A count as written: digits, or a number with a multiplier as token counts are often
/// written — k or K (10³), M (10⁶), G (10⁹), Ki (2¹⁰), Mi (2²⁰), Gi (2³⁰): 1k = 1000, 8K = 8000,
/// 128Ki = 131072.
enum Count: Equatable {
    case whole(Int)
    /// A value that is not a whole number (1.5Ki = 1536 is whole; 1.0001k is not).
    case fraction(Double)
    case tooLarge

    static let multipliers: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9)]

    /// Nil when `text` is no count at all.
    static func parse(_ text: String) -> Count? {
        if let n = Int(text) { return .whole(n) }
        guard let (suffix, factor) = multipliers.first(where: { text.hasSuffix($0.0) }) else { return nil }
        let digits = text.dropLast(suffix.count)
        // Digits with at most one decimal point: no sign, exponent, inf or nan before a multiplier.
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), digits.filter({ $0 == "." }).count <= 1,
              let x = Double(digits) else { return nil }
        let value = x * factor
        guard value <= 9e15 else { return .tooLarge }
        return value == value.rounded() ? .whole(Int(value)) : .fraction(value)
    }
}

/// The candidate `name` most likely meant: the one sharing the longest beginning with what was
/// typed, when that is at least 3 characters and half of it ("gb200" → "gb200-nvl72",
/// "b200-sxm" → "b200", not "h200-sxm"; equals by edit distance), then one that contains it;
/// else the nearest by edit distance if it is near enough to be a typo (at most a third of the
/// longer name, and at least 1, and less than the shorter name's length).
public func closestName(to name: String, among candidates: [String]) -> String? {
    let typed = name.lowercased()
    func nearest(_ pool: [String]) -> String? {
        pool.min { editDistance(typed, $0.lowercased()) < editDistance(typed, $1.lowercased()) }
    }
    func sharedBeginning(_ candidate: String) -> Int {
        zip(typed, candidate.lowercased()).prefix { $0 == $1 }.count
    }
    if let longest = candidates.map(sharedBeginning).max(), longest >= 3, 2 * longest >= typed.count {
        return nearest(candidates.filter { sharedBeginning($0) == longest })
    }
    if typed.count >= 3, let found = nearest(candidates.filter { $0.lowercased().contains(typed) }) { return found }
    guard let candidate = nearest(candidates) else { return nil }
    let distance = editDistance(typed, candidate.lowercased())
    // A typo keeps some of the name: one letter for another of a one-letter name ("a" for
    // "c") is a different name, not a typo.
    guard distance < Swift.min(name.count, candidate.count) else { return nil }
    return distance <= Swift.max(1, Swift.max(name.count, candidate.count) / 3) ? candidate : nil
}

/// Levenshtein distance (insertions, deletions, substitutions), O(|a|·|b|).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
