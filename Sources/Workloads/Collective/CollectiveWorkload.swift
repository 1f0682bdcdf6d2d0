// `kind: collective`: the nccl-tests equivalent. For each message size, the collective runs on
// `gpus` GPUs (CollectiveRun): within one NVLink domain with the algorithm NCCL's tuner would
// pick (algorithm and protocol), or the ones the scenario forces; across domains as a hierarchical all-reduce over NICs; `noise.network_cv` scales each run's time by a lognormal
// factor of mean 1. Metrics per size follow nccl-tests' definitions: algbw = bytes / time,
// busbw = algbw × 2(n−1)/n for all-reduce and × (n−1)/n otherwise.
import Cluster
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
}

enum CollectiveWorkload {
    static let columns: [RecordTable.Column] = [.init("size_bytes", integer: true), .init("time_s"), .init("algbw_GBps"), .init("busbw_GBps")]

    /// The metrics, and collective.csv: per size its operation, the algorithm chosen (or
    /// forced), time, algbw and busbw, so that a plot needs no parsing of metric names.
    static func run(_ spec: ScenarioSpec, collective c: CollectiveSpec, jitter: RandomStream, stragglers: RandomStream)
        -> (metrics: [Metric], table: RecordTable) {
        var table = RecordTable(file: "collective.csv", columns: columns, labels: [("operation", []), ("algorithm", [])])
        let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
        guard let system = spec.cluster?.system, let op = CollectiveOperation(rawValue: c.operation) else { return ([], table) }
        let layout = DomainLayout(gpus: c.gpus, perDomain: Swift.min(c.gpusPerDomain ?? system.gpusPerNVLinkDomain, system.gpusPerNVLinkDomain))
        let fatTree = RailFatTree(domainsPerLeaf: spec.cluster?.domainsPerLeaf ?? RailFatTree.nonBlocking.domainsPerLeaf,
                                  oversubscription: spec.cluster?.oversubscription ?? 1)
        let group = GroupCollective(layout: layout, gpu: system.gpu, fatTree: fatTree, folded: c.fold, collectives: system.collectives,
                                    transport: spec.cluster?.transport ?? .infiniband, sharp: spec.cluster?.sharp ?? false)
        let forced = c.algorithm.flatMap(CollectiveAlgorithm.init(rawValue:))
        let forcedProtocol = c.protocol.flatMap(CollectiveProtocol.init(rawValue:))
        var metrics: [Metric] = []
        for bytes in c.sizes {
            let (seconds, algorithm) = group.choice(op, bytes: bytes, algorithm: forced, protocol: forcedProtocol)
            // A collective is a synchronous step over all its GPUs: one straggler slows it.
            let time = seconds * jitter.lognormalFactor(cv: spec.noise.networkCV) * straggling.folded(gpus: c.gpus, stream: stragglers)
            let algbw = bytes / time / 1e9
            let prefix = "\(op.rawValue).\(Int(bytes))B"
            metrics.append(Metric("\(prefix).time_s", unit: "s", time))
            metrics.append(Metric("\(prefix).algbw_GBps", unit: "GB/s", algbw))
            metrics.append(Metric("\(prefix).busbw_GBps", unit: "GB/s", algbw * op.busBandwidthFactor(ranks: c.gpus)))
            table.labels[0].values.append(op.rawValue)
            table.labels[1].values.append(algorithm)
            table.values += [bytes, time, algbw, algbw * op.busBandwidthFactor(ranks: c.gpus)]
        }
        return (metrics, table)
    }
}
