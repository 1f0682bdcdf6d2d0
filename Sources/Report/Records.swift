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

/// The metrics of one replication of one variant, in the order the workload reports them.
public struct ReplicationResult: Sendable {
    public var variant: String
    public var replication: Int
    public var metrics: [Metric]

    public init(variant: String, replication: Int, metrics: [Metric]) {
        self.variant = variant
        self.replication = replication
        self.metrics = metrics
    }
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
