// Runs collective plans on ports as fluid resources.
//
// Each rank has an egress and an ingress port of the fabric's bandwidth per direction (NVLink
// inside a domain, the NIC for scale-out phases); the NVSwitch is non-blocking, so a flow from
// rank s to rank d uses s's egress and d's ingress (an NVLS round trip uses the rank's own two
// ports); scale-out flows between leaves also cross the leaves' uplinks (RailFatTree). A step
// starts its flows together after its delay — the per-step latency α, and on rings and trees
// the wait for the first chunk of its input — and ends when its last flow ends; each flow runs
// at most at the algorithm's achievable fraction of the port bandwidth. A fixed base latency
// (kernel launch and synchronisation) is paid once per collective. The protocol (Simple, LL,
// LL128) sets the latencies and the achievable fraction; the tuner's choice is the fastest
// (algorithm, protocol) pair the operation allows, as NCCL's tuner picks by its cost model.
import Engine
import Hardware
import Network

/// Timing factors of collectives (fitted to kernels/comm.csv and calibration.csv, or given).
/// The top-level latencies and efficiency are the Simple protocol's; `ll` and `ll128` hold
/// the fine-grained protocols' own (nil: not available, as when a scenario states the factors).
public struct CollectiveTiming: Sendable, Equatable {
    /// A fine-grained protocol's timing. Its lines are forwarded as they land, so a ring step
    /// does not wait for a first chunk.
    public struct ProtocolTiming: Sendable, Equatable {
        public var baseLatency: Double
        public var stepLatency: Double
        /// Fraction of port bandwidth its data achieves (flags included in the cost: at most
        /// the protocol's payload fraction).
        public var linkEfficiency: Double

        public init(baseLatency: Double, stepLatency: Double, linkEfficiency: Double) {
            self.baseLatency = baseLatency
            self.stepLatency = stepLatency
            self.linkEfficiency = linkEfficiency
        }
    }

    /// Paid once per collective: launch and the final synchronisation, s.
    public var baseLatency: Double
    /// Paid per step: one hop's latency and the step's handshake, s.
    public var stepLatency: Double
    /// Fraction of port bandwidth a ring or direct flow achieves.
    public var linkEfficiency: Double
    /// Fraction of port bandwidth an NVLS round trip achieves.
    public var nvlsEfficiency: Double
    /// NVLS's own fixed latency (multicast set-up and the switch round trip), in place of the
    /// per-step latencies a ring pays, s.
    public var nvlsLatency: Double
    /// Pipeline granularity of ring steps, bytes: a rank forwards data in chunks, so each step
    /// of a ring waits for the first chunk of its input to arrive — min(chunk, step bytes) at
    /// the link rate — before it streams (NCCL's per-channel chunks times its channels).
    public var chunkBytes: Double
    public var ll: ProtocolTiming?
    public var ll128: ProtocolTiming?

    public init(baseLatency: Double, stepLatency: Double, linkEfficiency: Double, nvlsEfficiency: Double, nvlsLatency: Double, chunkBytes: Double = 0,
                ll: ProtocolTiming? = nil, ll128: ProtocolTiming? = nil) {
        self.baseLatency = baseLatency
        self.stepLatency = stepLatency
        self.linkEfficiency = linkEfficiency
        self.nvlsEfficiency = nvlsEfficiency
        self.nvlsLatency = nvlsLatency
        self.chunkBytes = chunkBytes
        self.ll = ll
        self.ll128 = ll128
    }

    /// A fine-grained protocol's own factors (nil for Simple, whose are the top-level ones).
    func own(_ p: CollectiveProtocol) -> ProtocolTiming? {
        switch p {
        case .simple: nil
        case .ll: ll
        case .ll128: ll128
        }
    }

    /// Whether a collective can run under `p` with these factors.
    public func has(_ p: CollectiveProtocol) -> Bool { p == .simple || own(p) != nil }

    /// The factors a collective under protocol `p` runs with (Simple's when `p` has none).
    public func under(_ p: CollectiveProtocol) -> CollectiveTiming {
        guard let own = own(p) else { return self }
        var t = self
        t.baseLatency = own.baseLatency
        t.stepLatency = own.stepLatency
        t.linkEfficiency = own.linkEfficiency
        t.chunkBytes = 0
        return t
    }
}

extension CollectiveTiming {
    /// These factors with a scenario's stated values in place of the calibrated ones.
    public func applying(_ overrides: CollectiveOverrides) -> CollectiveTiming {
        var t = self
        if let v = overrides.hopLatency { t.stepLatency = v }
        if let v = overrides.linkEfficiency { t.linkEfficiency = v }
        if let v = overrides.chunkBytes { t.chunkBytes = v }
        if let v = overrides.baseLatency { t.baseLatency = v }
        // Stated factors describe one protocol: the collective runs under it alone.
        if !overrides.isCalibrated {
            t.ll = nil
            t.ll128 = nil
        }
        return t
    }
}

public enum CollectiveRun {
    enum Event {
        case startStep(plan: Int, step: Int)
        case flowDone(plan: Int, step: Int, flow: Int)
    }

    /// One flow of a recorded run: which plan's step it belongs to, and when it streamed.
    public struct FlowSpan: Sendable, Equatable {
        public var plan: Int
        public var step: Int
        public var flow: CollectiveFlow
        public var start: Double
        public var end: Double
    }

    /// The (algorithm, protocol) NCCL's tuner would pick: the pair its cost model says is
    /// fastest among those the operation, the hardware and `timing` allow (here the cost model
    /// is this simulation itself). `algorithm` or `protocol`, when given, is forced; a forced
    /// protocol the algorithm cannot run gives way to the ones it can.
    public static func fastest(_ op: CollectiveOperation, bytes: Double, ranks: Int, nvls: Bool, bandwidth: Double, timing: CollectiveTiming,
                               folded: Bool = true, algorithm: CollectiveAlgorithm? = nil, protocol forced: CollectiveProtocol? = nil)
        -> (algorithm: CollectiveAlgorithm, protocol: CollectiveProtocol, seconds: Double) {
        var best = (algorithm: CollectiveAlgorithm.ring, protocol: CollectiveProtocol.simple, seconds: Double.infinity)
        for a in algorithm.map({ [$0] }) ?? CollectivePlanner.allowedAlgorithms(op, ranks: ranks, nvls: nvls) {
            let plan = CollectivePlanner.plan(op, bytes: bytes, ranks: ranks, algorithm: a)
            // What the plan and the factors allow (Simple at least), narrowed to a forced
            // protocol when the plan can run it.
            var protocols = CollectivePlanner.allowedProtocols(plan).filter(timing.has)
            if protocols.isEmpty { protocols = [.simple] }
            if let forced, protocols.contains(forced) { protocols = [forced] }
            for p in protocols {
                let t = seconds(plan, bandwidth: bandwidth, timing: timing.under(p), folded: folded)
                if t < best.seconds { best = (a, p, t) }
            }
        }
        return best
    }

    /// Seconds for `plan` on ranks with `bandwidth` bytes/s per port per direction. `folded`:
    /// a step whose flows are symmetric (below) is simulated as one representative flow.
    public static func seconds(_ plan: CollectivePlan, bandwidth: Double, timing: CollectiveTiming, folded: Bool = true) -> Double {
        concurrent([plan], bandwidth: bandwidth, timing: timing, foldSymmetricSteps: folded)[0]
    }

    /// Whether every flow of `step` has its own egress and ingress port (no two flows share a
    /// source or a destination) and all move the same bytes. Such flows never compete, so
    /// each runs at the same rate and ends at the same time: one representative stands for
    /// all (a ring step, an NVLS round trip, a sendrecv). Symmetry folding inside a domain.
    public static func isSymmetric(_ step: CollectiveStep, ranks: Int) -> Bool {
        guard let bytes = step.flows.first?.bytes else { return false }
        var sending = [Bool](repeating: false, count: ranks), receiving = [Bool](repeating: false, count: ranks)
        for flow in step.flows {
            guard flow.bytes == bytes, !sending[flow.source], !receiving[flow.destination] else { return false }
            sending[flow.source] = true
            receiving[flow.destination] = true
        }
        return true
    }

    /// Runs several collectives at once on the same ranks' ports (all start at time 0) and
    /// returns when each ends: where they share ports they share bandwidth max-min fairly.
    /// `uplinks`, when given, routes flows between ranks through extra links: it returns the
    /// indices (into `uplinkCapacities`) of the links a flow from rank s to rank d crosses.
    /// `foldSymmetricSteps` (one plan, no uplinks): a symmetric step runs one representative
    /// flow, so a ring costs O(steps) rather than O(steps × ranks). `record`, when given, is
    /// handed every flow simulated as it ends (for a trace; pass no folding to get them all).
    public static func concurrent(
        _ plans: [CollectivePlan], bandwidth: Double, timing: CollectiveTiming,
        uplinkCapacities: [Double] = [], uplinks: ((Int, Int) -> [Int])? = nil, foldSymmetricSteps: Bool = false,
        record: ((FlowSpan) -> Void)? = nil
    ) -> [Double] {
        let ranks = plans.map(\.ranks).max() ?? 0
        let sim = Simulator<Event>()
        let egress = (0..<ranks).map { _ in sim.addResource(capacity: bandwidth) }
        let ingress = (0..<ranks).map { _ in sim.addResource(capacity: bandwidth) }
        let extra = uplinkCapacities.map { sim.addResource(capacity: $0) }
        var pending = [Int](repeating: 0, count: plans.count)
        var end = [Double](repeating: timing.baseLatency, count: plans.count)
        // Per step: its largest flow and whether it is symmetric. Steps that share their flows'
        // storage, as a ring's repeated steps do, are looked at once.
        let shapes = plans.map { plan in
            var shapes: [(largest: Double, symmetric: Bool)] = []
            for (s, step) in plan.steps.enumerated() {
                shapes.append(s > 0 && step.flows == plan.steps[s - 1].flows ? shapes[s - 1]
                              : (step.flows.map(\.bytes).max() ?? 0, isSymmetric(step, ranks: ranks)))
            }
            return shapes
        }
        /// The delay before step `s` of plan `p` streams: its hop latencies and, on a ring, the
        /// wait for the first chunk of its input.
        func delay(_ p: Int, _ s: Int) -> Double {
            let step = plans[p].steps[s]
            switch plans[p].algorithm {
            case .nvls: return timing.nvlsLatency * Double(step.latencySteps)
            case .direct: return timing.stepLatency * Double(step.latencySteps)
            case .ring, .tree:
                let chunk = Swift.min(timing.chunkBytes, shapes[p][s].largest) / (bandwidth * timing.linkEfficiency)
                return (timing.stepLatency + chunk) * Double(step.latencySteps)
            }
        }
        let folding = foldSymmetricSteps && plans.count == 1 && uplinks == nil
        var stepStart = [Double](repeating: 0, count: plans.count)
        for p in plans.indices where !plans[p].steps.isEmpty {
            sim.schedule(.startStep(plan: p, step: 0), at: timing.baseLatency + delay(p, 0))
        }
        sim.run { event in
            switch event {
            case .startStep(let p, let s):
                let all = plans[p].steps[s].flows
                let flows = folding && shapes[p][s].symmetric ? Array(all.prefix(1)) : all
                let efficiency = plans[p].algorithm == .nvls ? timing.nvlsEfficiency : timing.linkEfficiency
                pending[p] = flows.count
                stepStart[p] = sim.now
                let requests = flows.map { f in
                    let links = uplinks?(f.source, f.destination).map { Demand(extra[$0]) } ?? []
                    return ActivityRequest(work: f.bytes, demands: [Demand(egress[f.source]), Demand(ingress[f.destination])] + links,
                                           bound: bandwidth * efficiency)
                }
                sim.startActivities(requests, completions: flows.indices.map { .flowDone(plan: p, step: s, flow: $0) })
            case .flowDone(let p, let s, let f):
                pending[p] -= 1
                record?(FlowSpan(plan: p, step: s, flow: plans[p].steps[s].flows[f], start: stepStart[p], end: sim.now))
                if pending[p] == 0 {
                    end[p] = sim.now
                    if s + 1 < plans[p].steps.count { sim.schedule(.startStep(plan: p, step: s + 1), after: delay(p, s + 1)) }
                }
            }
        }
        return end
    }
}

extension CollectiveRun {
    /// Seconds for phases run one after another; each phase lasts as long as its slowest group.
    /// `folded`: simulate one group per distinct plan (identical groups take identical time,
    /// since groups of a phase share no port); otherwise simulate every group at once on its
    /// own global ports. `scaleOut` times NIC phases, whose flows between domains under
    /// different leaves of `fatTree` also cross those leaves' uplinks.
    public static func seconds(
        phases: [CollectivePhase], layout: DomainLayout, nvlinkBandwidth: Double, nicBandwidth: Double,
        timing: CollectiveTiming, scaleOut: CollectiveTiming, fatTree: RailFatTree = .nonBlocking, folded: Bool
    ) -> Double {
        phasedSeconds(phases: phases, layout: layout, nvlinkBandwidth: nvlinkBandwidth, nicBandwidth: nicBandwidth,
                      timing: timing, scaleOut: scaleOut, fatTree: fatTree, folded: folded).inTurn
    }

    /// The seconds of phases run in turn (`seconds(phases:)`) and pipelined chunk by chunk,
    /// as NCCL's multi-node tree algorithms run the domain and rail parts of a collective (a
    /// chunk goes on to the next phase as soon as it is done, so all phases stream at once):
    /// then the collective lasts as long as the busier fabric — the NVLink phases share the
    /// GPUs' NVLink ports, the rail phases their NICs — plus the pipeline's fill and drain, each
    /// phase's time for its first chunk (`scaleOut`'s chunk, one NCCL step of its buffer).
    /// Below a chunk per rank nothing overlaps and pipelining is the slower, as it should be.
    public static func phasedSeconds(
        phases: [CollectivePhase], layout: DomainLayout, nvlinkBandwidth: Double, nicBandwidth: Double,
        timing: CollectiveTiming, scaleOut: CollectiveTiming, fatTree: RailFatTree = .nonBlocking, folded: Bool
    ) -> (inTurn: Double, pipelined: Double) {
        let times = phaseSeconds(phases: phases, layout: layout, nvlinkBandwidth: nvlinkBandwidth, nicBandwidth: nicBandwidth,
                                 timing: timing, scaleOut: scaleOut, fatTree: fatTree, folded: folded)
        guard !times.isEmpty else { return (0, 0) }
        let nvlink = times.filter { $0.fabric == .nvlink }.map(\.seconds).reduce(0, +)
        let nic = times.filter { $0.fabric == .scaleOut }.map(\.seconds).reduce(0, +)
        let fill = times.map { $0.seconds * Swift.min(1, scaleOut.chunkBytes / Swift.max($0.bytesPerRank, 1)) }.reduce(0, +)
        return (timing.baseLatency + nvlink + nic, timing.baseLatency + Swift.max(nvlink, nic) + fill)
    }

    /// Each non-empty phase's fabric, seconds (without the collective's base latency, paid once)
    /// and the bytes a rank sends in it (in its first group).
    static func phaseSeconds(
        phases: [CollectivePhase], layout: DomainLayout, nvlinkBandwidth: Double, nicBandwidth: Double,
        timing: CollectiveTiming, scaleOut: CollectiveTiming, fatTree: RailFatTree, folded: Bool
    ) -> [(fabric: Fabric, seconds: Double, bytesPerRank: Double)] {
        let leaves = fatTree.leaf(ofDomain: layout.domains - 1) + 1
        let spines = fatTree.spines(domains: layout.domains)
        // Each spine uplink (and downlink) of a leaf carries an equal share of the leaf's
        // NIC bandwidth / oversubscription.
        let linkCapacity = Double(Swift.min(fatTree.domainsPerLeaf, layout.domains)) * nicBandwidth / fatTree.oversubscription / Double(spines)
        let rails = Swift.min(layout.perDomain, layout.gpus)
        let linksPerRail = 2 * leaves * spines
        /// Each rail has its own tree: links are numbered (rail, up or down, leaf, spine). A
        /// folded run simulates one rail, numbered 0. ECMP hashes global ranks.
        func route(_ members: [Int], railAware: Bool) -> (Int, Int) -> [Int] {
            { s, d in
                let a = fatTree.leaf(ofDomain: members[s] / layout.perDomain), b = fatTree.leaf(ofDomain: members[d] / layout.perDomain)
                guard a != b else { return [] }
                let spine = RailFatTree.ecmpSpine(source: members[s], destination: members[d], spines: spines)
                let base = railAware ? (members[s] % layout.perDomain) * linksPerRail : 0
                return [base + a * spines + spine, base + (leaves + b) * spines + spine]
            }
        }
        var times: [(fabric: Fabric, seconds: Double, bytesPerRank: Double)] = []
        for phase in phases where !phase.groups.isEmpty {
            let isScaleOut = phase.fabric == .scaleOut
            let bandwidth = isScaleOut ? nicBandwidth : nvlinkBandwidth
            var t = isScaleOut ? scaleOut : timing
            t.baseLatency = 0
            let capacities = isScaleOut ? Array(repeating: linkCapacity, count: (folded ? 1 : rails) * linksPerRail) : []
            let bytes = phase.groups[0].plan.steps.map { $0.flows.first?.bytes ?? 0 }.reduce(0, +)
            var seconds = 0.0
            if folded {
                var distinct: [(plan: CollectivePlan, members: [Int])] = []
                for group in phase.groups where !distinct.contains(where: { $0.plan == group.plan }) { distinct.append(group) }
                seconds = distinct.map { group in
                    concurrent([group.plan], bandwidth: bandwidth, timing: t, uplinkCapacities: capacities,
                               uplinks: isScaleOut ? route(group.members, railAware: false) : nil, foldSymmetricSteps: true)[0]
                }.max() ?? 0
            } else {
                let ranks = (phase.groups.flatMap(\.members).max() ?? 0) + 1
                let global = phase.groups.map { group in
                    var plan = group.plan
                    plan.ranks = ranks
                    plan.steps = plan.steps.map { step in
                        CollectiveStep(flows: step.flows.map {
                            CollectiveFlow(source: group.members[$0.source], destination: group.members[$0.destination], bytes: $0.bytes)
                        }, latencySteps: step.latencySteps)
                    }
                    return plan
                }
                let identity = Array(0..<ranks)
                seconds = concurrent(global, bandwidth: bandwidth, timing: t, uplinkCapacities: capacities,
                                     uplinks: isScaleOut ? route(identity, railAware: true) : nil).max() ?? 0
            }
            times.append((phase.fabric, seconds, bytes))
        }
        return times
    }
}
