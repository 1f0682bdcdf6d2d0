// What a run produces, as records that only Report formats and writes.

/// One observed value of a metric in one run, in SI units (the unit is part of the name too).
public struct Metric: Sendable, Equatable {
    public var name: String
    public var unit: String
    public var value: Double

    public init(_ name: String, unit: String, _ value: Double) {
        self.name = name
        self.unit = unit
        self.value = value
    }
}

/// The metrics of one replication of one variant, in the order the workload reports them,
/// and the per-item tables it recorded when asked (serving's requests and timeline).
public struct ReplicationResult: Sendable {
    public var variant: String
    public var replication: Int
    public var metrics: [Metric]
    public var tables: [RecordTable]

    public init(variant: String, replication: Int, metrics: [Metric], tables: [RecordTable] = []) {
        self.variant = variant
        self.replication = replication
        self.metrics = metrics
        self.tables = tables
    }
}

/// Rows one run records below its metrics (a row per request, a row per instance and time
/// step), written as `file` with every variant's and replication's rows under one header.
/// Values are numbers in SI units; NaN is a missing value (written empty).
public struct RecordTable: Sendable {
    public struct Column: Sendable, Equatable {
        public var name: String
        /// Written as an integer (a count, an index).
        public var integer: Bool
        public init(_ name: String, integer: Bool = false) {
            self.name = name
            self.integer = integer
        }
    }

    public var file: String
    public var columns: [Column]
    /// Row-major: `columns.count` values per row.
    public var values: [Double]
    /// Text columns before the numbers (e.g. a pool name), one value per row each.
    public var labels: [(name: String, values: [String])]

    public init(file: String, columns: [Column], values: [Double] = [], labels: [(name: String, values: [String])] = []) {
        self.file = file
        self.columns = columns
        self.values = values
        self.labels = labels
    }

    public var rowCount: Int { columns.isEmpty ? 0 : values.count / columns.count }
}

/// The results of a whole experiment, ordered by variant, then replication.
public struct ExperimentResults: Sendable {
    public var scenario: String
    public var seed: UInt64
    public var variants: [String]
    public var replications: [ReplicationResult]

    public init(scenario: String, seed: UInt64, variants: [String], replications: [ReplicationResult]) {
        self.scenario = scenario
        self.seed = seed
        self.variants = variants
        self.replications = replications
    }
}

/// One entry of a workload kind's metric catalogue: what a metric is and which way is better.
/// `compare` ranks only metrics that are better lower or higher; `clustersim metrics` and
/// docs/metrics.md print the catalogue.
public struct MetricInfo: Sendable {
    public enum Better: String, Sendable {
        /// A time or a cost: the speedup is baseline / variant.
        case lower
        /// A rate: the speedup is variant / baseline.
        case higher
        /// An input, a size or a count: reported, never ranked.
        case neither

        /// The speedup of `variant` over `baseline` (> 1 is better): baseline / variant for a
        /// metric better lower, variant / baseline for one better higher.
        public func speedup(baseline: Double, variant: Double) -> Double {
            self == .lower ? baseline / variant : variant / baseline
        }
    }

    /// The name; `<word>` stands for a part that varies ("transfer.<name>.duration_s").
    public let name: String
    public let unit: String
    public let better: Better
    public let meaning: String

    public init(_ name: String, unit: String, _ better: Better, _ meaning: String) {
        self.name = name
        self.unit = unit
        self.better = better
        self.meaning = meaning
    }

    /// Whether `metric` is this entry's name with each `<word>` replaced by text without dots.
    public func matches(_ metric: String) -> Bool {
        Self.match(Array(name.utf8)[...], Array(metric.utf8)[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        guard first == UInt8(ascii: "<"), let close = pattern.firstIndex(of: UInt8(ascii: ">")) else {
            guard let c = text.first, c == first else { return false }
            return match(pattern.dropFirst(), text.dropFirst())
        }
        // A placeholder takes one or more characters up to (not across) a dot.
        let rest = pattern[(close + 1)...]
        var end = text.startIndex
        while end < text.endIndex && text[end] != UInt8(ascii: ".") {
            end += 1
            if match(rest, text[end...]) { return true }
        }
        return false
    }
}

extension Array where Element == MetricInfo {
    /// The entry that describes `metric`, if any.
    public func entry(for metric: String) -> MetricInfo? { first { $0.matches(metric) } }
}
