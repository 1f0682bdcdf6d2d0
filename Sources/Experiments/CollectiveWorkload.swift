// `kind: collective`: the nccl-tests equivalent. For each message size, the collective runs on
// `gpus` GPUs (CollectiveRun): within one NVLink domain with the algorithm NCCL's tuner would
// pick, or the one the scenario forces; across domains as a hierarchical all-reduce over NICs; `noise.network_cv` scales each run's time by a lognormal
// factor of mean 1. Metrics per size follow nccl-tests' definitions: algbw = bytes / time,
// busbw = algbw × 2(n−1)/n for all-reduce and × (n−1)/n otherwise.
import Cluster
import Network
import Report
import Scenario
import Stats

enum CollectiveWorkload {
    static func run(_ spec: ScenarioSpec, collective c: CollectiveSpec, jitter: RandomStream, stragglers: RandomStream) -> [Metric] {
        let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
        guard let system = spec.cluster?.system, let op = CollectiveOperation(rawValue: c.operation) else { return [] }
        let timing = CollectiveTiming.calibrated(for: system.gpu.architecture)
        let bandwidth = system.gpu.nvlinkBandwidthPerDirection
        var metrics: [Metric] = []
        let layout = DomainLayout(gpus: c.gpus, perDomain: Swift.min(c.gpusPerDomain ?? system.gpusPerNVLinkDomain, system.gpusPerNVLinkDomain))
        let fatTree = RailFatTree(domainsPerLeaf: spec.cluster?.domainsPerLeaf ?? RailFatTree.nonBlocking.domainsPerLeaf,
                                  oversubscription: spec.cluster?.oversubscription ?? 1)
        let scaleOut = CollectiveTiming.scaleOut(for: system.gpu.architecture)
        func hierarchical(_ phases: [CollectivePhase]) -> Double {
            CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: bandwidth, nicBandwidth: system.gpu.nicBandwidthPerDirection,
                                  timing: timing, scaleOut: scaleOut, fatTree: fatTree, folded: c.fold)
        }
        for bytes in c.sizes {
            let seconds: Double
            if layout.domains > 1 && op == .allReduce {
                // Along the rails NCCL's tuner chooses between ring and double binary tree.
                seconds = [CollectiveAlgorithm.ring, .tree].map {
                    hierarchical(CollectivePlanner.hierarchicalAllReduce(bytes: bytes, layout: layout, railAlgorithm: $0))
                }.min()!
            } else if layout.domains > 1 {
                seconds = hierarchical(CollectivePlanner.hierarchical(op, bytes: bytes, layout: layout))
            } else if let name = c.algorithm, let algorithm = CollectiveAlgorithm(rawValue: name) {
                seconds = CollectiveRun.seconds(CollectivePlanner.plan(op, bytes: bytes, ranks: c.gpus, algorithm: algorithm), bandwidth: bandwidth, timing: timing)
            } else {
                seconds = CollectiveRun.fastest(op, bytes: bytes, ranks: c.gpus, nvls: system.gpu.nvls, bandwidth: bandwidth, timing: timing).seconds
            }
            // A collective is a synchronous step over all its GPUs: one straggler slows it.
            let time = seconds * jitter.lognormalFactor(cv: spec.noise.networkCV) * straggling.folded(gpus: c.gpus, stream: stragglers)
            let algbw = bytes / time / 1e9
            let prefix = "\(op.rawValue).\(Int(bytes))B"
            metrics.append(Metric("\(prefix).time_s", unit: "s", time))
            metrics.append(Metric("\(prefix).algbw_GBps", unit: "GB/s", algbw))
            metrics.append(Metric("\(prefix).busbw_GBps", unit: "GB/s", algbw * op.busBandwidthFactor(ranks: c.gpus)))
        }
        return metrics
    }
}
