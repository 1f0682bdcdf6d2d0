// `kind: collective`: the nccl-tests equivalent. For each message size, the collective runs on
// `gpus` GPUs (CollectiveRun): within one NVLink domain with the algorithm NCCL's tuner would
// pick (algorithm and protocol), or the ones the scenario forces; across domains as a hierarchical all-reduce over NICs; `noise.network_cv` scales each run's time by a lognormal
// factor of mean 1. Metrics per size follow nccl-tests' definitions: algbw = bytes / time,
// busbw = algbw × 2(n−1)/n for all-reduce and × (n−1)/n otherwise.
import Cluster
import Hardware
import Network
import Report
import Scenario
import Stats

extension CollectiveSpec {
    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        CollectiveWorkload.run(scenario, collective: self, jitter: streams.network, stragglers: streams.stragglers).metrics
    }

    /// With collective.csv: a row per message size in nccl-tests' shape.
    public func runRecording(in scenario: ScenarioSpec, streams: RunStreams) -> (metrics: [Metric], tables: [RecordTable]) {
        let (metrics, table) = CollectiveWorkload.run(scenario, collective: self, jitter: streams.network, stragglers: streams.stragglers)
        return (metrics, [table])
    }

    /// NCCL_ALGO and NCCL_PROTO as the scenario forces them (nil: the tuner picks).
    var forcedAlgorithm: CollectiveAlgorithm? { algorithm.flatMap(CollectiveAlgorithm.init(rawValue:)) }
    var forcedProtocol: CollectiveProtocol? { self.protocol.flatMap(CollectiveProtocol.init(rawValue:)) }

    public static var hasTrace: Bool { true }

    public func untraceable(in scenario: ScenarioSpec) -> String? {
        guard let system = scenario.cluster?.system else { return nil }
        let layout = CollectiveWorkload.layout(self, system)
        guard layout.domains > 1 else { return nil }
        return "a collective across NVLink domains (\(gpus) GPUs in domains of \(layout.perDomain)) has no trace: its domain and rail phases "
            + "are priced as a whole, pipelined chunk by chunk; trace one domain (gpus: \(layout.perDomain) or fewer)"
    }

    /// The `sizes` largest message sizes one after another, every flow of every step on its
    /// GPUs' ports (CollectiveWorkload.trace).
    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        CollectiveWorkload.trace(scenario, collective: self, sizes: steps, jitter: streams.network, stragglers: streams.stragglers)
    }
}

enum CollectiveWorkload {
    static let columns: [RecordTable.Column] = [.init("size_bytes", integer: true), .init("time_s"), .init("algbw_GBps"), .init("busbw_GBps")]

    /// The metrics, and collective.csv: per size its operation, the algorithm chosen (or
    /// forced), time, algbw and busbw, so that a plot needs no parsing of metric names.
    static func run(_ spec: ScenarioSpec, collective c: CollectiveSpec, jitter: RandomStream, stragglers: RandomStream)
        -> (metrics: [Metric], table: RecordTable) {
        var table = RecordTable(file: "collective.csv", columns: columns, labels: [("operation", []), ("algorithm", [])])
        guard let op = CollectiveOperation(rawValue: c.operation) else { return ([], table) }
        var metrics: [Metric] = []
        for size in timings(spec, c, jitter: jitter, stragglers: stragglers) {
            let bytes = size.bytes, time = size.seconds * size.factor
            let algbw = bytes / time / 1e9, busbw = algbw * op.busBandwidthFactor(ranks: c.gpus)
            let prefix = "\(op.rawValue).\(Int(bytes))B"
            metrics.append(Metric("\(prefix).time_s", unit: "s", time))
            metrics.append(Metric("\(prefix).algbw_GBps", unit: "GB/s", algbw))
            metrics.append(Metric("\(prefix).busbw_GBps", unit: "GB/s", busbw))
            table.labels[0].values.append(op.rawValue)
            table.labels[1].values.append(size.algorithm)
            table.values += [bytes, time, algbw, busbw]
        }
        return (metrics, table)
    }

    static func layout(_ c: CollectiveSpec, _ system: SystemSpec) -> DomainLayout {
        DomainLayout(gpus: c.gpus, perDomain: Swift.min(c.gpusPerDomain ?? system.gpusPerNVLinkDomain, system.gpusPerNVLinkDomain))
    }

    static func group(_ spec: ScenarioSpec, _ c: CollectiveSpec, _ system: SystemSpec) -> GroupCollective {
        let fatTree = RailFatTree(domainsPerLeaf: spec.cluster?.domainsPerLeaf ?? RailFatTree.nonBlocking.domainsPerLeaf,
                                  oversubscription: spec.cluster?.oversubscription ?? 1)
        return GroupCollective(layout: layout(c, system), gpu: system.gpu, fatTree: fatTree, folded: c.fold, collectives: system.collectives,
                               transport: spec.cluster?.transport ?? .infiniband, sharp: spec.cluster?.sharp ?? false)
    }

    /// Per message size its noise-free seconds, the algorithm chosen, and the run's factor on
    /// them: the network's lognormal draw and, as a collective is a synchronous step over all
    /// its GPUs, a straggler's slowdown (drawn per size in order, so a trace sees the run's).
    static func timings(_ spec: ScenarioSpec, _ c: CollectiveSpec, jitter: RandomStream, stragglers: RandomStream)
        -> [(bytes: Double, seconds: Double, algorithm: String, factor: Double)] {
        guard let system = spec.cluster?.system, let op = CollectiveOperation(rawValue: c.operation) else { return [] }
        let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
        let group = group(spec, c, system)
        return c.sizes.map { bytes in
            let (seconds, algorithm) = group.choice(op, bytes: bytes, algorithm: c.forcedAlgorithm, protocol: c.forcedProtocol)
            let factor = jitter.lognormalFactor(cv: spec.noise.networkCV) * straggling.folded(gpus: c.gpus, stream: stragglers)
            return (bytes, seconds, algorithm, factor)
        }
    }

    /// A trace of the `sizes` largest message sizes, one after another, inside one NVLink
    /// domain: per GPU (a process) the collective as a slice, and every flow of every step of
    /// the plan the tuner chose on the GPU's egress port (sender) and ingress port (receiver),
    /// bound by an arrow; flows at once on one port lie on lanes of their own. Times are the
    /// simulated flows' (every flow simulated, no folding) scaled by the size's factor in the
    /// run, so a size lasts what collective.csv says. At most `limit` flows are recorded.
    static func trace(_ spec: ScenarioSpec, collective c: CollectiveSpec, sizes: Int, jitter: RandomStream, stragglers: RandomStream,
                      limit: Int = 50_000) -> TraceData? {
        guard let system = spec.cluster?.system, let op = CollectiveOperation(rawValue: c.operation) else { return nil }
        let group = group(spec, c, system)
        guard group.layout.domains == 1, c.gpus > 1 else { return nil }
        let all = timings(spec, c, jitter: jitter, stragglers: stragglers)
        let traced = all.indices.sorted { all[$0].bytes > all[$1].bytes || (all[$0].bytes == all[$1].bytes && $0 < $1) }.prefix(Swift.max(1, sizes)).sorted()
        var spans: [TraceSpan] = [], flows: [TraceFlow] = []
        var threadNames: [TraceTrack: String] = [:]
        var offset = 0.0, recorded = 0, simulated = 0
        for index in traced {
            let size = all[index]
            let best = group.inDomain(op, bytes: size.bytes, algorithm: c.forcedAlgorithm, protocol: c.forcedProtocol)
            let plan = CollectivePlanner.plan(op, bytes: size.bytes, ranks: c.gpus, algorithm: best.algorithm)
            var records: [CollectiveRun.FlowSpan] = []
            _ = CollectiveRun.concurrent([plan], bandwidth: system.gpu.nvlinkBandwidthPerDirection, timing: group.timing.under(best.protocol),
                                         record: { records.append($0) })
            simulated += records.count
            let label = "\(op.rawValue) \(Int(size.bytes)) B (\(size.algorithm))"
            let at = { (t: Double) in offset + t * size.factor }
            for rank in 0..<c.gpus {
                spans.append(TraceSpan(name: label, start: offset, end: at(size.seconds), gpu: rank, stream: 0, hbmBytes: 0,
                                       args: [.number("size_bytes", size.bytes), .text("algorithm", size.algorithm), .number("ranks", Double(c.gpus))],
                                       category: "collective"))
            }
            // Lanes: a flow takes the first lane of its port free when it starts.
            var egress = [[Double]](repeating: [], count: c.gpus), ingress = egress
            func lane(_ lanes: inout [Double], from start: Double, to end: Double) -> Int {
                let k = lanes.firstIndex { $0 <= start } ?? lanes.count
                if k == lanes.count { lanes.append(end) } else { lanes[k] = end }
                return k
            }
            for r in records.sorted(by: { ($0.start, $0.step, $0.flow.source, $0.flow.destination) < ($1.start, $1.step, $1.flow.source, $1.flow.destination) }) {
                guard recorded < limit else { break }
                recorded += 1
                let start = at(r.start), end = at(r.end), f = r.flow
                let out = 1 + 2 * lane(&egress[f.source], from: start, to: end), into = 2 + 2 * lane(&ingress[f.destination], from: start, to: end)
                threadNames[TraceTrack(pid: f.source, tid: out)] = out == 1 ? "NVLink egress" : "NVLink egress, lane \((out + 1) / 2)"
                threadNames[TraceTrack(pid: f.destination, tid: into)] = into == 2 ? "NVLink ingress" : "NVLink ingress, lane \(into / 2)"
                let args: [TraceArg] = [.number("step", Double(r.step)), .number("bytes", f.bytes), .number("GBps", f.bytes / Swift.max(end - start, 1e-12) / 1e9)]
                // A flow to itself is an NVLS round trip: up to the switches, the sum back.
                let via = f.source == f.destination ? " via the NVSwitches" : nil
                spans.append(TraceSpan(name: "step \(r.step)" + (via ?? " to GPU \(f.destination)"), start: start, end: end, gpu: f.source, stream: out,
                                       hbmBytes: 0, args: args, category: "nvlink"))
                spans.append(TraceSpan(name: "step \(r.step)" + (via ?? " from GPU \(f.source)"), start: start, end: end, gpu: f.destination, stream: into,
                                       hbmBytes: 0, args: args, category: "nvlink"))
                flows.append(TraceFlow(name: "\(Int(f.bytes)) B", fromGPU: f.source, fromStream: out, start: start, toGPU: f.destination, toStream: into, end: start))
            }
            offset = at(size.seconds)
        }
        for rank in 0..<c.gpus { threadNames[TraceTrack(pid: rank, tid: 0)] = "collective" }
        var notes: [TraceArg] = [.number("sizes_traced", Double(traced.count))]
        if recorded < simulated { notes.append(.text("stopped", "after \(recorded) of \(simulated) flows")) }
        return TraceData(spans: spans, flows: flows, threadNames: threadNames, notes: notes)
    }
}
