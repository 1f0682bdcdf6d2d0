// Prices one collective over a group of GPUs laid out in NVLink domains: the path every
// workload takes (the nccl-tests workload, training's TP/CP/EP/DP groups, pipeline sends).
//
// Inside one domain the algorithm and protocol are NCCL's tuner's choice (CollectiveRun.fastest)
// unless forced. Across domains all-reduce is hierarchical with ring or tree along the rails,
// all-gather and reduce-scatter hierarchical rings, the phases in turn or pipelined chunk by
// chunk (whichever is faster, as NCCL's tuner chooses), every phase under Simple.
// All-to-all across domains has no flow plan yet (NCCL routes it through NVLink first, PXN): it
// is priced in closed form, each rank's (n − m)/n share crossing its NIC and the (m − 1)/n
// share its NVLink port at once, plus one scale-out step latency — a lower bound that ignores
// fabric contention.
import Hardware
import Network

public struct GroupCollective: Sendable {
    public var layout: DomainLayout
    public var gpu: GPUSpec
    public var timing: CollectiveTiming
    public var scaleOut: CollectiveTiming
    public var fatTree: RailFatTree
    /// The rail switches reduce in the network (InfiniBand SHARP): a rail all-reduce may run as
    /// one round trip through them (each NIC sends its shard up and receives the sum).
    public var sharp: Bool
    /// Simulate one representative group per phase (symmetry folding) or every group.
    public var folded: Bool
    /// What carries traffic between domains (sets the NICs' efficiency).
    public var transport: ScaleOutTransport

    public init(layout: DomainLayout, gpu: GPUSpec, fatTree: RailFatTree = .nonBlocking, folded: Bool = true,
                collectives: CollectiveOverrides = .calibrated, transport: ScaleOutTransport = .infiniband, sharp: Bool = false) {
        self.layout = layout
        self.gpu = gpu
        self.timing = CollectiveTiming.calibrated(for: gpu).applying(collectives)
        self.scaleOut = CollectiveTiming.scaleOut(for: gpu, transport: transport)
        self.transport = transport
        self.fatTree = fatTree
        self.sharp = sharp
        self.folded = folded
    }

    public var ranks: Int { layout.gpus }

    /// Seconds of `op` on `bytes` (nccl-tests' size: the buffer per rank, the output of an
    /// all-gather, the input of a reduce-scatter); `algorithm` and `protocol` force NCCL's
    /// choice inside a domain (NCCL_ALGO, NCCL_PROTO).
    public func seconds(_ op: CollectiveOperation, bytes: Double, algorithm: CollectiveAlgorithm? = nil, protocol: CollectiveProtocol? = nil) -> Double {
        choice(op, bytes: bytes, algorithm: algorithm, protocol: `protocol`).seconds
    }

    /// Inside one NVLink domain: the (algorithm, protocol) NCCL's tuner picks (or the ones
    /// forced) and its seconds.
    public func inDomain(_ op: CollectiveOperation, bytes: Double, algorithm: CollectiveAlgorithm? = nil, protocol: CollectiveProtocol? = nil)
        -> (algorithm: CollectiveAlgorithm, protocol: CollectiveProtocol, seconds: Double) {
        CollectiveRun.fastest(op, bytes: bytes, ranks: ranks, nvls: gpu.nvls, bandwidth: gpu.nvlinkBandwidthPerDirection, timing: timing, folded: folded,
                              algorithm: algorithm, protocol: `protocol`)
    }

    /// `seconds`, with the algorithm that takes them as nccl-tests users name it: inside a
    /// domain "ring/ll128" (algorithm/protocol), across domains "hierarchical ring" (the rails'
    /// all-reduce) or "hierarchical", and "direct" for all-to-all, broadcast and send/recv.
    public func choice(_ op: CollectiveOperation, bytes: Double, algorithm: CollectiveAlgorithm? = nil, protocol: CollectiveProtocol? = nil)
        -> (seconds: Double, algorithm: String) {
        guard ranks > 1, bytes > 0 else { return (0, "none") }
        let nvlink = gpu.nvlinkBandwidthPerDirection
        if layout.domains == 1 {
            let best = inDomain(op, bytes: bytes, algorithm: algorithm, protocol: `protocol`)
            return (best.seconds, "\(best.algorithm.rawValue)/\(best.protocol.rawValue)")
        }
        /// The faster of the phases in turn and pipelined (NCCL's tuner choosing).
        func hierarchical(_ phases: [CollectivePhase]) -> Double {
            let t = CollectiveRun.phasedSeconds(phases: phases, layout: layout, nvlinkBandwidth: nvlink, nicBandwidth: gpu.nicBandwidthPerDirection,
                                                timing: timing, scaleOut: scaleOut, fatTree: fatTree, folded: folded)
            return Swift.min(t.inTurn, t.pipelined)
        }
        switch op {
        case .allReduce:
            // The first of equals, as min() took it.
            var best = (seconds: Double.infinity, algorithm: "")
            for rail in [CollectiveAlgorithm.ring, .tree] + (sharp ? [.nvls] : []) {
                let t = hierarchical(CollectivePlanner.hierarchicalAllReduce(bytes: bytes, layout: layout, railAlgorithm: rail))
                if t < best.seconds { best = (t, "hierarchical \(rail.rawValue)") }
            }
            return best
        case .allGather, .reduceScatter:
            return (hierarchical(CollectivePlanner.hierarchical(op, bytes: bytes, layout: layout)), "hierarchical")
        case .allToAll:
            let n = Double(ranks), m = Double(Swift.min(layout.perDomain, ranks))
            let inside = bytes * (m - 1) / n / (nvlink * timing.linkEfficiency)
            let outside = bytes * (n - m) / n / (gpu.nicBandwidthPerDirection * scaleOut.linkEfficiency)
            return (timing.baseLatency + scaleOut.stepLatency + Swift.max(inside, outside), "direct")
        case .broadcast:
            let m = Swift.min(layout.perDomain, ranks), d = layout.domains
            let rate = Swift.min(gpu.nicBandwidthPerDirection * scaleOut.linkEfficiency, nvlink * timing.linkEfficiency)
            return (timing.baseLatency + Double(d - 1) * scaleOut.stepLatency + Double(m - 1) * timing.stepLatency + bytes / rate, "direct")
        case .sendRecv:
            return (Self.pointToPoint(bytes: bytes, gpu: gpu, sameDomain: false, transport: transport), "direct")
        }
    }

    /// Seconds for `bytes` sent from one GPU to another over NVLink (same domain) or the NICs
    /// (at the share of their bandwidth `transport` achieves: RoCE's and EFA's fitted).
    public static func pointToPoint(bytes: Double, gpu: GPUSpec, sameDomain: Bool, transport: ScaleOutTransport) -> Double {
        let t = sameDomain ? CollectiveTiming.calibrated(for: gpu) : CollectiveTiming.scaleOut(for: gpu, transport: transport)
        let bandwidth = sameDomain ? gpu.nvlinkBandwidthPerDirection : gpu.nicBandwidthPerDirection
        return CollectiveRun.fastest(.sendRecv, bytes: bytes, ranks: 2, nvls: false, bandwidth: bandwidth, timing: t).seconds
    }
}
