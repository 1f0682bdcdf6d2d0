// Runs an experiment plan: every (variant, replication) pair, in parallel, with results
// independent of the thread count.
//
// Determinism: each run draws only from streams keyed by (seed, replication, source), and
// results are stored by run index and combined in (variant, replication) order, never in
// completion order.
// Common random numbers: replication r of every variant uses the same streams (the stream
// key's variant field is 0 for all), so comparisons between variants are paired.
import Dispatch
import Report
import Scenario
import Stats
import Cluster
import Synchronization

/// A scenario that is valid YAML but asks for what the hardware cannot do (exit status 2).
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
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

    /// Checks what can be checked before running: that every variant's buffers fit in memory.
    /// A failure is bad input (the scenario asks for more than the hardware has).
    public static func check(_ plan: ExperimentPlan) throws(ExperimentError) {
        var problems: [String] = []
        for variant in plan.variants {
            do {
                try KernelWorkloads.checkMemory(variant.spec.workload, cluster: variant.spec.cluster)
                if case .decode(let d) = variant.spec.workload, let system = variant.spec.cluster?.system {
                    try DecodeWorkload.checkMemory(d, system: system, speculative: variant.spec.stack.speculative)
                }
                if case .serving(let s) = variant.spec.workload, let system = variant.spec.cluster?.system {
                    try ServingWorkload.checkMemory(s, system: system, speculative: variant.spec.stack.speculative)
                }
                if case .training(let t) = variant.spec.workload {
                    try TrainingWorkload.checkMemory(variant.spec, t)
                }
            } catch {
                let context = plan.variants.count > 1 ? " (variant \"\(variant.name)\")" : ""
                problems.append("\(plan.file): \(error)\(context)")
            }
        }
        if !problems.isEmpty { throw ExperimentError(message: problems.joined(separator: "\n")) }
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

    /// The trace of replication 1 of `variant`: GPU 0's kernels on its compute and
    /// communication streams (the prefill and the first `steps` decode steps, or a kernel
    /// workload's loop), or a training step's stages (its first `steps` micro-batches). Nil
    /// when the workload kind has no trace.
    public static func trace(_ plan: ExperimentPlan, variant: Int, steps: Int, stages: Set<Int>? = nil) -> TraceData? {
        let spec = plan.variants[variant].spec
        let jitter = RandomStream(StreamKey(seed: plan.seed, variant: spec.noise.commonRandomNumbers ? 0 : variant + 1,
                                            replication: 1, source: Source.kernel.rawValue))
        let spans: [KernelSpan]
        switch spec.workload {
        case .decode(let d):
            spans = DecodeWorkload.trace(spec, decode: d, steps: steps, jitter: jitter)
        case .gemm, .memcpy:
            spans = KernelWorkloads.trace(spec, jitter: jitter)
        case .training(let t):
            return TrainingWorkload.trace(spec, t, microBatches: steps, stages: stages, jitter: jitter)
        default:
            return nil
        }
        return TraceData(spans: spans.map {
            TraceSpan(name: $0.name, start: $0.start, end: $0.end, gpu: 0, stream: $0.isCommunication ? 1 : 0, hbmBytes: $0.hbmBytes)
        })
    }

    /// A run without noise whose workload draws nothing at random (serving draws arrivals).
    static func isDeterministic(_ spec: ScenarioSpec) -> Bool {
        if case .serving = spec.workload { return false }
        return spec.noise.isOff
    }

    /// One replication (numbered from 1) of one variant.
    static func runOne(_ plan: ExperimentPlan, variant: Int, replication: Int) -> ReplicationResult {
        var spec = plan.variants[variant].spec
        func stream(_ source: Source) -> RandomStream {
            RandomStream(StreamKey(seed: plan.seed, variant: spec.noise.commonRandomNumbers ? 0 : variant + 1,
                                   replication: replication, source: source.rawValue))
        }
        // Clock throttling: one draw per run slows every kernel alike (as a lower kernel efficiency).
        if spec.noise.clockCV > 0 { spec.stack.kernelEfficiency /= stream(.clock).lognormalFactor(cv: spec.noise.clockCV) }
        let metrics: [Metric]
        switch spec.workload {
        case .transfers(let transfers):
            metrics = TransferSimulation.run(transfers, noise: spec.noise, jitter: stream(.network))
        case .gemm, .memcpy:
            metrics = KernelWorkloads.run(spec, jitter: stream(.kernel))
        case .collective(let collective):
            metrics = CollectiveWorkload.run(spec, collective: collective, jitter: stream(.network), stragglers: stream(.stragglers))
        case .training(let training):
            metrics = TrainingWorkload.run(spec, training: training, jitter: stream(.kernel), stragglers: stream(.stragglers), network: stream(.network))
        case .decode(let decode):
            metrics = DecodeWorkload.run(spec, decode: decode, jitter: stream(.kernel), stragglers: stream(.stragglers))
        case .serving(let serving):
            metrics = ServingWorkload.run(spec, serving: serving, arrivals: stream(.arrivals), jitter: stream(.kernel), stragglers: stream(.stragglers))
        }
        return ReplicationResult(variant: plan.variants[variant].name, replication: replication, metrics: metrics)
    }
}
