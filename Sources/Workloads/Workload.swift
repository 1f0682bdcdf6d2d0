// A workload kind, as the runner, `compare`, sweeps and the docs see it. Each kind is one
// folder of this module: its spec (conforming to Scenario's WorkloadSpec: name, key table,
// reader), its simulation, and its metric catalogue. WorkloadRegistry lists the kinds once.
import Hardware
import Report
import Scenario
import Stats

/// The random streams of one run, one per stochastic source, so that adding a source leaves
/// the others' draws unchanged.
public struct RunStreams {
    public let network: RandomStream
    public let kernel: RandomStream
    public let arrivals: RandomStream
    public let stragglers: RandomStream

    public init(network: RandomStream, kernel: RandomStream, arrivals: RandomStream, stragglers: RandomStream) {
        self.network = network
        self.kernel = kernel
        self.arrivals = arrivals
        self.stragglers = stragglers
    }
}

/// What the runner needs of a workload kind beyond reading it.
public protocol Workload: WorkloadSpec {
    /// Every metric the kind reports, with its unit and direction.
    static var metrics: [MetricInfo] { get }
    /// Checks what can be checked before running (that the buffers fit in memory); a failure
    /// is bad input.
    func check(in scenario: ScenarioSpec) throws(MemoryError)
    /// One replication, drawing only from `streams`.
    func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric]
    /// One replication with the record tables the scenario asks for (serving's requests.csv
    /// and timeline.csv); the same metrics as `run`.
    func runRecording(in scenario: ScenarioSpec, streams: RunStreams) -> (metrics: [Metric], tables: [RecordTable])
    /// What a variant's metrics (means over its replications) say is wrong with the run itself,
    /// for the user to read before its numbers (an overloaded server's latencies grow with the
    /// run's length).
    func warnings(_ means: [String: Double]) -> [String]
    /// The trace of one replication (nil: the kind has none). `steps` counts decode steps
    /// or training micro-batches; `stages` picks training pipeline stages.
    func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData?
    /// Whether `trace` gives one (checked before a run that asks for --trace).
    static var hasTrace: Bool { get }
    /// Why this scenario of a kind with traces has none (nil: it has one).
    func untraceable(in scenario: ScenarioSpec) -> String?
    /// Whether a run draws random numbers even without noise (serving draws its arrivals).
    var drawsRandomNumbers: Bool { get }
    /// What one replication will cost (nil: little, whatever the keys: a kernel, a decode).
    func work(in scenario: ScenarioSpec) -> WorkEstimate?
    /// A search's cheap look before simulating: whether the point cannot fit, and the best its
    /// metrics could be (nil: the kind offers none).
    func outlook(in scenario: ScenarioSpec) -> Outlook?
    /// The scenario with its workload cut to `fraction` (0 < fraction ≤ 1) of its length, for
    /// successive halving (nil: the kind has no length to cut).
    func shortened(_ scenario: ScenarioSpec, to fraction: Double) -> ScenarioSpec?
}

/// What a search may know of a point without simulating it.
public struct Outlook: Sendable {
    /// Why the point cannot run (its weights and optimizer state alone overflow a GPU), nil
    /// when it may.
    public var infeasible: String?
    /// Per metric, a value the simulation cannot beat: at most a rate, at least a time.
    public var optimistic: [String: Double]

    public init(infeasible: String? = nil, optimistic: [String: Double] = [:]) {
        self.infeasible = infeasible
        self.optimistic = optimistic
    }
}

extension Workload {
    public func runRecording(in scenario: ScenarioSpec, streams: RunStreams) -> (metrics: [Metric], tables: [RecordTable]) {
        (run(in: scenario, streams: streams), [])
    }
    public func warnings(_ means: [String: Double]) -> [String] { [] }
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {}
    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? { nil }
    public static var hasTrace: Bool { false }
    public func untraceable(in scenario: ScenarioSpec) -> String? { nil }
    public var drawsRandomNumbers: Bool { false }
    public func work(in scenario: ScenarioSpec) -> WorkEstimate? { nil }
    public func outlook(in scenario: ScenarioSpec) -> Outlook? { nil }
    public func shortened(_ scenario: ScenarioSpec, to fraction: Double) -> ScenarioSpec? { nil }
}

extension Key {
    /// The `kind` key every workload table starts with.
    static func kind(_ name: String) -> Key {
        Key("kind", .text, default: .required, "The workload kind: \(name)")
    }
}

extension ScenarioSpec {
    /// The workload as a kind the runner can run (every spec the loader makes is one).
    public var kind: any Workload {
        guard let workload = workload as? any Workload else {
            preconditionFailure("workload kind \(type(of: workload).kind) is not registered in WorkloadRegistry")
        }
        return workload
    }
}
