// Runs an experiment plan: every (variant, replication) pair, in parallel, with results
// independent of the thread count.
//
// Determinism: each run draws only from streams keyed by (seed, replication, source), and
// results are stored by run index and combined in (variant, replication) order, never in
// completion order.
// Common random numbers: replication r of every variant uses the same streams (the stream
// key's variant field is 0 for all), so comparisons between variants are paired.
import Dispatch
import Engine
import Foundation
import Hardware
import Report
import Scenario
import Stats
import Synchronization
import Workloads

/// A scenario that is valid YAML but asks for what the hardware cannot do (exit status 2).
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    /// The message without the scenario file that begins it (for a row that already says
    /// which point or variant it is about).
    public func message(without file: String) -> String {
        message.hasPrefix("\(file): ") ? String(message.dropFirst(file.count + 2)) : message
    }
}

public enum ExperimentRunner {
    /// Stochastic sources: one stream each, so adding one leaves the others' draws unchanged.
    enum Source: Int {
        case network = 0
        case kernel = 1
        case arrivals = 2
        case stragglers = 3
        case clock = 4
    }

    /// Turns on the invariant checks of Engine/Invariants.swift for the runs that follow.
    public static func checkInvariants() { Invariants.enabled.store(true, ordering: .relaxed) }

    /// The invariant violations recorded since the last call (empty when all held).
    public static func invariantViolations() -> [String] { Invariants.take() }

    /// How much one replication may cost: more is refused before anything runs.
    public struct WorkLimits: Sendable {
        /// Engine events of one replication (~0.5–1 µs each on a 2-core VM: 1e9 is ~10 min).
        public var maxEvents: Double
        /// Memory one replication may hold, bytes.
        public var maxMemory: Double

        public init(maxEvents: Double = 1e9, maxMemory: Double = WorkLimits.defaultMemory) {
            self.maxEvents = maxEvents
            self.maxMemory = maxMemory
        }

        /// Half the machine's memory.
        public static var defaultMemory: Double { Double(ProcessInfo.processInfo.physicalMemory) / 2 }
    }

    /// Checks what can be checked before running: that every variant's buffers fit in memory,
    /// and that no replication would take more events or memory than `limits` allow. A failure
    /// is bad input (the scenario asks for more than the hardware or the machine has).
    public static func check(_ plan: ExperimentPlan, limits: WorkLimits = WorkLimits()) throws(ExperimentError) {
        var problems: [String] = []
        var refusals: [(problem: String, variants: [String])] = []
        for variant in plan.variants {
            if let work = variant.spec.kind.work(in: variant.spec), let problem = refusal(work, limits: limits) {
                // One line for every variant refused alike.
                if let i = refusals.firstIndex(where: { $0.problem == problem }) { refusals[i].variants.append(variant.name) }
                else { refusals.append((problem, [variant.name])) }
                continue
            }
            let context = plan.variants.count > 1 ? " (variant \"\(variant.name)\")" : ""
            do {
                try variant.spec.kind.check(in: variant.spec)
            } catch {
                problems.append("\(plan.file): \(error)\(context)")
            }
        }
        for (problem, names) in refusals {
            let context = plan.variants.count == 1 || names.count == plan.variants.count ? ""
                : " (variant\(names.count > 1 ? "s" : "") \(names.map { "\"\($0)\"" }.joined(separator: ", ")))"
            problems.append("\(plan.file): \(problem)\(context)")
        }
        if !problems.isEmpty { throw ExperimentError(message: problems.joined(separator: "\n")) }
    }

    /// Why `work` is over the limits, naming the keys to change; nil when it is not.
    static func refusal(_ work: WorkEstimate, limits: WorkLimits) -> String? {
        var over: [String] = []
        if !(work.events <= limits.maxEvents) {
            over.append("about \(WorkEstimate.format(work.events)) events (--max-events \(WorkEstimate.format(limits.maxEvents)))")
        }
        if !(work.bytes <= limits.maxMemory) {
            over.append("about \(WorkEstimate.formatBytes(work.bytes)) of memory (--max-memory \(WorkEstimate.formatBytes(limits.maxMemory)))")
        }
        if !over.isEmpty {
            return "\(work.key): one replication would simulate \(work.what), \(over.joined(separator: " and ")), over the limit; \(work.remedy), or raise the limit"
        }
        if let span = work.span, !(span <= WorkEstimate.maxSpan) {
            return "\(work.key): the requests would arrive over about \(WorkEstimate.format(span)) s of simulated time, "
                + "more than the \(WorkEstimate.format(WorkEstimate.maxSpan)) s (~32 years) the clock resolves to a microsecond; "
                + "raise workload.arrival_rate or lower workload.duration or workload.requests"
        }
        return nil
    }

    /// Runs every replication of every variant on `threads` threads (≥ 1). A variant without
    /// noise is deterministic: its first replication is simulated and the others are copies.
    public static func run(_ plan: ExperimentPlan, threads: Int, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) -> ExperimentResults {
        let count = plan.variants.count * plan.replications
        let slots = Mutex([ReplicationResult?](repeating: nil, count: count))
        let toSimulate = (0..<count).filter { isDeterministic(plan.variants[$0 / plan.replications].spec) ? $0 % plan.replications == 0 : true }
        let workers = max(1, min(threads, toSimulate.count))
        let finished = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var next = worker
            while next < toSimulate.count {
                let index = toSimulate[next]
                let variant = index / plan.replications
                let replication = index % plan.replications + 1  // numbered from 1, as users count
                let result = runOne(plan, variant: variant, replication: replication)
                slots.withLock { $0[index] = result }
                if let progress {
                    let done = finished.withLock { count in
                        count += 1
                        return count
                    }
                    progress(done, toSimulate.count)
                }
                next += workers
            }
        }
        let results = slots.withLock { slots in
            (0..<count).map { index in
                if let result = slots[index] { return result }
                var copy = slots[index - index % plan.replications]!  // the variant's first replication
                copy.replication = index % plan.replications + 1
                return copy
            }
        }
        return ExperimentResults(scenario: plan.name, seed: plan.seed, variants: plan.variants.map(\.name), replications: results)
    }

    /// Members of the calibration ensemble (KernelFactors+Ensemble.swift; 0 when none was generated).
    public static var ensembleSize: Int { Swift.min(KernelFactors.hopperEnsemble.count, KernelFactors.blackwellEnsemble.count) }

    /// Replication 1 of every variant once per member of the calibration ensemble
    /// (CalibrationEnsemble.swift): the same random numbers, each member's factors. Indexed
    /// [variant][member]; a variant without a cluster (its links are the scenario's) has none.
    /// Results do not depend on `threads`.
    public static func runEnsemble(_ plan: ExperimentPlan, members: Int = ensembleSize, threads: Int) -> [[ReplicationResult]] {
        let runs = plan.variants.indices.filter { plan.variants[$0].spec.cluster != nil }.flatMap { v in (0..<members).map { (v, $0) } }
        let results = parallelMap(runs.count, threads: threads) { i in
            let (v, member) = runs[i]
            var memberPlan = plan
            memberPlan.variants[v].spec.cluster!.system.gpu.ensembleMember = member
            return runOne(memberPlan, variant: v, replication: 1, recording: false)
        }
        return plan.variants.indices.map { v in zip(runs, results).filter { $0.0.0 == v }.map(\.1) }
    }

    /// `body(i)` for i in 0..<count on up to `threads` threads, each taking every
    /// `threads`-th index; the results in index order, whatever the thread count.
    static func parallelMap<T: Sendable>(_ count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        let slots = Mutex([T?](repeating: nil, count: count))
        let workers = max(1, min(threads, count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for i in stride(from: worker, to: count, by: workers) {
                let result = body(i)
                slots.withLock { $0[i] = result }
            }
        }
        return slots.withLock { $0 }.map { $0! }
    }

    /// The trace of replication 1 of `variant` (the kind's `trace`, drawing what that
    /// replication draws); nil when the workload kind has none.
    public static func trace(_ plan: ExperimentPlan, variant: Int, steps: Int, stages: Set<Int>? = nil) -> TraceData? {
        let (spec, streams) = replication(plan, variant: variant, replication: 1)
        return spec.kind.trace(in: spec, steps: steps, stages: stages, streams: streams)
    }

    /// A run without noise whose workload draws nothing at random (serving draws arrivals).
    static func isDeterministic(_ spec: ScenarioSpec) -> Bool {
        !spec.kind.drawsRandomNumbers && spec.noise.isOff
    }

    /// The scenario replication `replication` (numbered from 1) of `variant` runs and the
    /// streams it draws from: its own per source, shared by the variants under common random
    /// numbers.
    static func replication(_ plan: ExperimentPlan, variant: Int, replication: Int) -> (ScenarioSpec, RunStreams) {
        var spec = plan.variants[variant].spec
        func stream(_ source: Source) -> RandomStream {
            RandomStream(StreamKey(seed: plan.seed, variant: spec.noise.commonRandomNumbers ? 0 : plan.variants[variant].stream + 1,
                                   replication: replication, source: source.rawValue))
        }
        // Clock throttling: one draw per run slows every kernel alike (as a lower kernel efficiency).
        if spec.noise.clockCV > 0 { spec.stack.kernelEfficiency /= stream(.clock).lognormalFactor(cv: spec.noise.clockCV) }
        return (spec, RunStreams(network: stream(.network), kernel: stream(.kernel), arrivals: stream(.arrivals), stragglers: stream(.stragglers)))
    }

    /// One replication (numbered from 1) of one variant, with the record tables its scenario
    /// asks for unless `recording` is false (the calibration ensemble's runs need none).
    static func runOne(_ plan: ExperimentPlan, variant: Int, replication: Int, recording: Bool = true) -> ReplicationResult {
        let (spec, streams) = Self.replication(plan, variant: variant, replication: replication)
        guard recording else {
            return ReplicationResult(variant: plan.variants[variant].name, replication: replication, metrics: spec.kind.run(in: spec, streams: streams))
        }
        let (metrics, tables) = spec.kind.runRecording(in: spec, streams: streams)
        return ReplicationResult(variant: plan.variants[variant].name, replication: replication, metrics: metrics, tables: tables)
    }
}
