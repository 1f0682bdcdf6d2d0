import Testing
@testable import Cluster
@testable import Network
import Hardware

@Suite struct CollectiveTests {
    /// Ring all-reduce of S bytes on n ranks, link bandwidth B, latency α per step, chunking off:
    /// 2(n−1)(α + S/(nB)) (Patarasuk & Yuan 2009). Base latency 0, full link efficiency.
    @Test(arguments: [2, 4, 8, 72])
    func ringAllReduceClosedForm(ranks n: Int) {
        let S = 256e6, B = 450e9, alpha = 2e-6
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: alpha, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let plan = CollectivePlanner.plan(.allReduce, bytes: S, ranks: n, algorithm: .ring)
        let simulated = CollectiveRun.seconds(plan, bandwidth: B, timing: timing)
        let closed = 2 * Double(n - 1) * (alpha + S / (Double(n) * B))
        #expect(abs(simulated / closed - 1) < 0.02, "simulated \(simulated), closed form \(closed)")
    }

    /// All-to-all: each rank's egress carries (n−1)/n of its buffer; all ports busy at once.
    @Test func allToAllIsBoundByEachPort() {
        let S = 1e9, B = 100e9, n = 8
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let t = CollectiveRun.seconds(CollectivePlanner.plan(.allToAll, bytes: S, ranks: n, algorithm: .direct), bandwidth: B, timing: timing)
        #expect(abs(t - Double(n - 1) / Double(n) * S / B) < 1e-12)
    }

    @Test func busBandwidthFactors() {
        #expect(CollectiveOperation.allReduce.busBandwidthFactor(ranks: 8) == 1.75)
        #expect(CollectiveOperation.allGather.busBandwidthFactor(ranks: 8) == 0.875)
        #expect(CollectivePlanner.allowedAlgorithms(.allReduce, ranks: 8, nvls: true) == [.ring, .nvls])
        #expect(CollectivePlanner.allowedAlgorithms(.allReduce, ranks: 2, nvls: true) == [.ring])
    }
}

import Foundation
import TestSupport
import Experiments

/// The collective model against nccl-tests measurements (skipped in a clone without ../shared).
@Suite struct CollectiveReferenceTests {
    static let reference = KernelReference.defaultDirectory(packageRoot: TestSupport.packageRoot)

    /// Issue #4 asks for a median error of time ≤ 15% over kernels/comm.csv (all-reduce,
    /// all-gather, reduce-scatter, all-to-all on 2, 4 and 8 GPUs, 1 KiB to 512 MiB).
    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func commTable() throws {
        let figures = CollectiveCalibration.figures(try CollectiveCalibration.commRows(in: Self.reference!))
        print("kernels/comm.csv: \(figures)")
        #expect(figures.count == 224)  // GB300 rows included (held out of the fit)
        #expect(figures.medianAbsoluteError <= 0.15)
    }

    /// calibration.csv's NCCL all-reduce points (8 GB and 8 GiB, ring and NVLS, 8 and 72 GPUs)
    /// within 15% (issue #4).
    @Test func ncclCalibrationPoints() throws {
        let file = TestSupport.packageRoot.appendingPathComponent("scenarios/reference/calibration.csv")
        let rows = try CollectiveCalibration.calibrationRows(in: file)
        #expect(rows.count == 7)
        for row in rows {
            let error = row.predicted(CollectiveTiming.calibrated(for: row.system.gpu.architecture)) / row.seconds - 1
            print(String(format: "%@: %+.1f%%", row.label, error * 100))
            // Issue #4 asked for 15%; the multi-node rows (NCCL08, NCCL15) for 10%.
            #expect(abs(error) <= (row.perDomain == nil ? 0.15 : 0.10))
        }
    }

    /// A ring under LL: every step pays LL's hop latency and streams at LL's share of the
    /// link, with no first-chunk wait (lines are forwarded as they land), plus LL's own base
    /// latency: b + 2(n−1)(α + S/(n·B·e)).
    @Test func ringUnderLLClosedForm() {
        let S = 48e3, B = 450e9, n = 8
        let ll = CollectiveTiming.ProtocolTiming(baseLatency: 5e-6, stepLatency: 0.6e-6, linkEfficiency: 0.35)
        let timing = CollectiveTiming(baseLatency: 20e-6, stepLatency: 3e-6, linkEfficiency: 0.8, nvlsEfficiency: 0.6, nvlsLatency: 25e-6,
                                      chunkBytes: 1e6, ll: ll)
        let plan = CollectivePlanner.plan(.allReduce, bytes: S, ranks: n, algorithm: .ring)
        let simulated = CollectiveRun.seconds(plan, bandwidth: B, timing: timing.under(.ll))
        let closed = 5e-6 + 2 * Double(n - 1) * (0.6e-6 + S / (Double(n) * B * 0.35))
        #expect(abs(simulated / closed - 1) < 1e-9, "simulated \(simulated), closed form \(closed)")
        #expect(timing.under(.ll128) == timing, "no LL128 factors: Simple's")
    }

    /// The fitted protocols as NCCL uses them: on 8 H100s and 8 B200s LL beats Simple on every
    /// all-reduce below 64 KiB and the tuner picks it; from tens of MiB Simple (ring or NVLS)
    /// wins, since LL carries half its bytes as flags.
    @Test(arguments: [Architecture.hopper, .blackwell])
    func llBeatsSimpleBelow64KiB(architecture: Architecture) {
        let timing = CollectiveTiming.calibrated(for: architecture), B = architecture == .hopper ? 450e9 : 900e9
        for bytes in [1024.0, 4096, 16384, 32768, 49152] {
            let plan = CollectivePlanner.plan(.allReduce, bytes: bytes, ranks: 8, algorithm: .ring)
            let ll = CollectiveRun.seconds(plan, bandwidth: B, timing: timing.under(.ll))
            let simple = CollectiveRun.seconds(plan, bandwidth: B, timing: timing.under(.simple))
            #expect(ll < simple, "\(Int(bytes)) B: LL \(ll * 1e6) µs, Simple \(simple * 1e6) µs")
            #expect(CollectiveRun.fastest(.allReduce, bytes: bytes, ranks: 8, nvls: true, bandwidth: B, timing: timing).protocol == .ll)
        }
        let large = CollectiveRun.fastest(.allReduce, bytes: 256 * 1_048_576, ranks: 8, nvls: true, bandwidth: B, timing: timing)
        #expect(large.protocol == .simple)
    }

    /// Which protocols an operation may use: NVLS Simple only; send/recv-built operations by
    /// NCCL_P2P_LL_THRESHOLD (16 KiB per peer); stated factors (overrides) Simple only.
    @Test func allowedProtocols() {
        #expect(CollectivePlanner.allowedProtocols(CollectivePlanner.plan(.allReduce, bytes: 1024, ranks: 8, algorithm: .nvls)) == [.simple])
        #expect(CollectivePlanner.allowedProtocols(CollectivePlanner.plan(.allReduce, bytes: 1024, ranks: 8, algorithm: .ring)) == [.ll, .ll128, .simple])
        #expect(CollectivePlanner.allowedProtocols(CollectivePlanner.plan(.allToAll, bytes: 128 * 1024, ranks: 8, algorithm: .direct)) == [.ll])
        #expect(CollectivePlanner.allowedProtocols(CollectivePlanner.plan(.allToAll, bytes: 256 * 1024, ranks: 8, algorithm: .direct)) == [.simple])
        #expect(CollectivePlanner.allowedProtocols(CollectivePlanner.plan(.sendRecv, bytes: 16384, ranks: 2, algorithm: .ring)) == [.ll])
        let stated = CollectiveTiming.calibrated(for: .hopper).applying(CollectiveOverrides(hopLatency: 1e-6))
        #expect(!stated.has(.ll) && !stated.has(.ll128) && stated.has(.simple))
        #expect(CollectiveTiming.calibrated(for: .hopper).has(.ll) && CollectiveTiming.scaleOut(for: .hopper).has(.ll) == false)
    }

    /// NCCL's tuner in miniature: small all-reduces ride the ring, large ones NVLS (8 H100).
    @Test func tunerPicksRingSmallAndNVLSLarge() {
        let timing = CollectiveTiming.calibrated(for: .hopper)
        let small = CollectiveRun.fastest(.allReduce, bytes: 1024, ranks: 8, nvls: true, bandwidth: 450e9, timing: timing)
        let large = CollectiveRun.fastest(.allReduce, bytes: 512e6, ranks: 8, nvls: true, bandwidth: 450e9, timing: timing)
        #expect(small.algorithm == .ring)
        #expect(large.algorithm == .nvls)
    }
}

@Suite struct ConcurrentCollectiveTests {
    /// Two equal all-gathers on the same 8 ports at once: every port is shared by two flows, so
    /// max-min gives each half the bandwidth and the bandwidth part of each doubles.
    /// Latencies 0: alone S·(n−1)/n / B; together twice that, for both.
    @Test func twoCollectivesShareLinksAsMaxMinSays() {
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let plan = CollectivePlanner.plan(.allGather, bytes: 800e6, ranks: 8, algorithm: .ring)
        let alone = CollectiveRun.seconds(plan, bandwidth: 100e9, timing: timing)
        let together = CollectiveRun.concurrent([plan, plan], bandwidth: 100e9, timing: timing)
        #expect(abs(alone - 7.0 / 8 * 800e6 / 100e9) < 1e-12)
        #expect(together.allSatisfy { abs($0 / alone - 2) < 1e-9 })
        // A collective on 4 of the 8 ranks shares only half the ports with an 8-rank one.
        let small = CollectivePlanner.plan(.allToAll, bytes: 400e6, ranks: 4, algorithm: .direct)
        let both = CollectiveRun.concurrent([plan, small], bandwidth: 100e9, timing: timing)
        #expect(both[1] > CollectiveRun.seconds(small, bandwidth: 100e9, timing: timing))
        #expect(both[0] > alone)
    }
}

@Suite struct HierarchicalTests {
    let ideal = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)

    /// Pipelined chunk by chunk on 4 nodes of 8, a large all-reduce lasts as long as the busier
    /// fabric: the NVLink ports carry the reduce-scatter and the all-gather, 2·(7/8)·S/B_nvl,
    /// the NICs the rail all-reduce of the S/8 shard, 2·(3/4)·(S/8)/B_nic plus each ring step's
    /// wait for its first 512 KiB chunk; the fill (one chunk through each phase) is all that is
    /// added. Its bus bandwidth then approaches 2(n−1)/n·S over the busier fabric's time (NVLink's
    /// here: 8 GPUs × 50 GB/s of NICs is less than 450 GB/s of NVLink, but the NVLink ports carry
    /// two phases), well above the phases run in turn. A small one does not pipeline.
    @Test func pipelinedApproachesTheBusierFabric() {
        let S = 16 * 1_073_741_824.0, bNVL = 450e9, bNIC = 50e9, D = 8, N = 4
        var chunked = ideal
        chunked.chunkBytes = 512 * 1024
        let layout = DomainLayout(gpus: D * N, perDomain: D)
        let phases = CollectivePlanner.hierarchicalAllReduce(bytes: S, layout: layout)
        let t = CollectiveRun.phasedSeconds(phases: phases, layout: layout, nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal,
                                            scaleOut: chunked, folded: true)
        let nvlink = 2 * Double(D - 1) / Double(D) * S / bNVL
        let nic = 2 * Double(N - 1) / Double(N) * (S / Double(D)) / bNIC + 2 * Double(N - 1) * chunked.chunkBytes / bNIC
        #expect(abs(t.inTurn / (nvlink + nic) - 1) < 1e-9)
        #expect(t.pipelined >= Swift.max(nvlink, nic) && t.pipelined / Swift.max(nvlink, nic) - 1 < 1e-3)
        let busbw = 2 * Double(D * N - 1) / Double(D * N) * S / t.pipelined
        let bound = 2 * 31 / 32 * S / Swift.max(nvlink, nic)
        print("4 × 8 GPUs, 16 GiB: pipelined busbw \(busbw / 1e9) GB/s (bound \(bound / 1e9)), in turn \(2 * 31 / 32 * S / t.inTurn / 1e9)")
        #expect(busbw > 0.999 * bound && t.pipelined < 0.6 * t.inTurn)
        let small = CollectiveRun.phasedSeconds(phases: CollectivePlanner.hierarchicalAllReduce(bytes: 65536, layout: layout), layout: layout,
                                                nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal, scaleOut: chunked, folded: true)
        #expect(small.pipelined >= small.inTurn)
    }

    /// Zero latencies, full efficiency: reduce-scatter and all-gather in each domain of D GPUs
    /// take (D−1)/D·S/B_nvl each; the rail all-reduce of the S/D shard over N domains takes
    /// 2(N−1)/N·(S/D)/B_nic.
    @Test func closedForm() {
        let S = 1e9, bNVL = 450e9, bNIC = 50e9, D = 8, N = 8
        let layout = DomainLayout(gpus: D * N, perDomain: D)
        let phases = CollectivePlanner.hierarchicalAllReduce(bytes: S, layout: layout)
        let t = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal, scaleOut: ideal, folded: true)
        let intra = 2 * Double(D - 1) / Double(D) * S / bNVL
        let inter = 2 * Double(N - 1) / Double(N) * (S / Double(D)) / bNIC
        #expect(abs(t / (intra + inter) - 1) < 1e-9)
        // One domain per leaf and 2:1 oversubscription: each leaf's uplink carries B/2, so every
        // ring flow between domains runs at half the NIC rate and the inter-domain phase doubles.
        // Folded and unfolded agree (each rail has its own tree).
        let tree = RailFatTree(domainsPerLeaf: 1, oversubscription: 2)
        for folded in [true, false] {
            let slow = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal,
                                             scaleOut: ideal, fatTree: tree, folded: folded)
            #expect(abs(slow / (intra + 2 * inter) - 1) < 1e-9, "folded \(folded): \(slow)")
        }
        // Two domains per leaf at 2:1: the uplink carries 2B/2 = B, enough for the one ring flow
        // that leaves each leaf per step: no slowdown (rings are local).
        let local = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal,
                                          scaleOut: ideal, fatTree: RailFatTree(domainsPerLeaf: 2, oversubscription: 2), folded: true)
        #expect(abs(local / (intra + inter) - 1) < 1e-9)
    }

    /// Symmetry folding (one group per distinct plan) agrees with simulating every GPU: a
    /// 64-GPU all-reduce over 8 H100 nodes, and an uneven 20-GPU layout (8 + 8 + 4).
    @Test(arguments: [64, 20])
    func foldedMatchesUnfolded(gpus: Int) {
        let timing = CollectiveTiming.calibrated(for: .hopper), scaleOut = CollectiveTiming.scaleOut(for: .hopper)
        let layout = DomainLayout(gpus: gpus, perDomain: 8)
        let phases = CollectivePlanner.hierarchicalAllReduce(bytes: 256e6, layout: layout)
        let tree = RailFatTree(domainsPerLeaf: 2, oversubscription: 4)
        let folded = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: 450e9, nicBandwidth: 50e9, timing: timing, scaleOut: scaleOut, fatTree: tree, folded: true)
        let unfolded = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: 450e9, nicBandwidth: 50e9, timing: timing, scaleOut: scaleOut, fatTree: tree, folded: false)
        #expect(abs(folded / unfolded - 1) < 0.01, "folded \(folded), unfolded \(unfolded)")
    }

    @Test func layout() {
        let l = DomainLayout(gpus: 4096, perDomain: 72)
        #expect(l.domains == 57)
        #expect(l.members(ofDomain: 56).count == 64)
        #expect(l.members(ofRail: 0).count == 57 && l.members(ofRail: 71).count == 56)
    }
}

@Suite struct PointToPointTests {
    /// Broadcast as a pipelined chain: S/B + (n−1)·α; sendrecv: S/B + α (every port used once).
    @Test func broadcastAndSendRecvClosedForms() {
        let S = 1e9, B = 100e9, alpha = 2e-6, n = 8
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: alpha, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let broadcast = CollectiveRun.seconds(CollectivePlanner.plan(.broadcast, bytes: S, ranks: n, algorithm: .ring), bandwidth: B, timing: timing)
        #expect(abs(broadcast - (S / B + Double(n - 1) * alpha)) < 1e-12)
        let sendRecv = CollectiveRun.seconds(CollectivePlanner.plan(.sendRecv, bytes: S, ranks: n, algorithm: .ring), bandwidth: B, timing: timing)
        #expect(abs(sendRecv - (S / B + alpha)) < 1e-12)
        #expect(CollectiveOperation.broadcast.busBandwidthFactor(ranks: n) == 1)
    }
}

@Suite struct UnevenAllToAllTests {
    /// Uneven all-to-all: the busiest port sets the time. Rank 0 sends 3 GB in all (egress-bound
    /// at 100 GB/s: 30 ms); no ingress receives more than 2 GB.
    @Test func busiestPortBinds() {
        let matrix: [[Double]] = [
            [0, 1e9, 1e9, 1e9],
            [0.5e9, 0, 0, 0],
            [0, 0.5e9, 0, 0],
            [0.5e9, 0, 0.5e9, 0],
        ]
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let t = CollectiveRun.seconds(CollectivePlanner.allToAllv(matrix), bandwidth: 100e9, timing: timing)
        #expect(abs(t - 0.03) < 1e-12)
    }
}

@Suite struct TreeTests {
    /// Every rank but the roots has a parent in each tree, and each tree is a tree (n − 1 edges).
    @Test(arguments: [2, 7, 8, 57])
    func doubleBinaryTreeShape(ranks n: Int) {
        let (trees, depth) = CollectivePlanner.doubleBinaryTree(ranks: n)
        #expect(trees.count == 2)
        for edges in trees {
            #expect(edges.count == n - 1)
            #expect(Set(edges.map(\.child)).count == n - 1)
        }
        #expect(depth <= Int((log2(Double(n))).rounded(.up)))
    }

    /// With zero latency the tree moves each half once up and once down: each rank's ports
    /// carry at most about the whole buffer each way, so its time is within 2× of the ring's;
    /// with per-step latency dominant (small messages over 57 ranks) the tree, paying 2·depth
    /// latencies instead of 2(n−1), is far faster.
    @Test func treeBeatsRingOnLatency() {
        let timing = CollectiveTiming(baseLatency: 0, stepLatency: 10e-6, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let small = { (a: CollectiveAlgorithm) in
            CollectiveRun.seconds(CollectivePlanner.plan(.allReduce, bytes: 4096, ranks: 57, algorithm: a), bandwidth: 50e9, timing: timing)
        }
        #expect(small(.tree) < small(.ring) / 5)
        let ideal = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let large = { (a: CollectiveAlgorithm) in
            CollectiveRun.seconds(CollectivePlanner.plan(.allReduce, bytes: 1e9, ranks: 57, algorithm: a), bandwidth: 50e9, timing: ideal)
        }
        #expect(large(.tree) < 2 * large(.ring))
    }
}

@Suite struct HierarchicalGatherScatterTests {
    /// Zero latency: reduce-scatter of S (total input) over N domains of D GPUs takes
    /// (D−1)/D·S/B_nvl inside domains plus (N−1)/N·(S/D)/B_nic along rails; all-gather the same.
    @Test(arguments: [CollectiveOperation.reduceScatter, .allGather])
    func closedForm(op: CollectiveOperation) {
        let S = 1e9, bNVL = 450e9, bNIC = 50e9, D = 8, N = 4
        let ideal = CollectiveTiming(baseLatency: 0, stepLatency: 0, linkEfficiency: 1, nvlsEfficiency: 1, nvlsLatency: 0)
        let layout = DomainLayout(gpus: D * N, perDomain: D)
        let phases = CollectivePlanner.hierarchical(op, bytes: S, layout: layout)
        #expect(phases.map(\.fabric) == (op == .reduceScatter ? [.nvlink, .scaleOut] : [.scaleOut, .nvlink]))
        let t = CollectiveRun.seconds(phases: phases, layout: layout, nvlinkBandwidth: bNVL, nicBandwidth: bNIC, timing: ideal, scaleOut: ideal, folded: true)
        let expected = Double(D - 1) / Double(D) * S / bNVL + Double(N - 1) / Double(N) * (S / Double(D)) / bNIC
        #expect(abs(t / expected - 1) < 1e-9)
    }
}

@Suite struct ECMPTests {
    /// ECMP's hash is deterministic, stays in range and spreads flows: over 8 spines, 8,000
    /// (source, destination) pairs put between 800 and 1,200 flows on every spine (a fair hash
    /// gives 1,000 ± 3 standard deviations of 30).
    @Test func hashIsDeterministicAndSpreads() {
        var counts = [Int](repeating: 0, count: 8)
        for s in 0..<100 {
            for d in 0..<80 {
                let spine = RailFatTree.ecmpSpine(source: s, destination: d, spines: 8)
                #expect(spine == RailFatTree.ecmpSpine(source: s, destination: d, spines: 8))
                counts[spine] += 1
            }
        }
        #expect(counts.allSatisfy { (800...1200).contains($0) }, "\(counts)")
        #expect(RailFatTree(domainsPerLeaf: 16, oversubscription: 2).spines(domains: 57) == 8)
        #expect(RailFatTree(domainsPerLeaf: 1, oversubscription: 2).spines(domains: 57) == 1)
    }
}

@Suite struct CrossDomainClosedFormTests {
    /// Across two 8-GPU H100 nodes, large messages are bound by the 400 Gb/s NICs: the all-to-all
    /// sends half of each rank's buffer off-node, a broadcast and a sendrecv stream the whole
    /// buffer over one NIC each. Each takes at least the NIC's time and, for 1 GiB, at most
    /// that at the fitted link efficiency plus 1%.
    @Test func largeMessagesAreNICBound() {
        let gpu = SystemSpec.h100SXM.gpu
        let group = GroupCollective(layout: DomainLayout(gpus: 16, perDomain: 8), gpu: gpu)
        let bytes = 1_073_741_824.0
        let efficiency = CollectiveTiming.scaleOut(for: .hopper).linkEfficiency
        for (op, offNode) in [(CollectiveOperation.allToAll, bytes / 2), (.broadcast, bytes), (.sendRecv, bytes)] {
            let t = group.seconds(op, bytes: bytes)
            let wire = offNode / gpu.nicBandwidthPerDirection
            print("\(op.rawValue) over 2 nodes: \(t * 1e3) ms; NIC wire time \(wire * 1e3) ms")
            #expect(t >= wire)
            #expect(t <= wire / efficiency * 1.01)
        }
        // Inside one node the same operations run over NVLink, several times faster.
        let node = GroupCollective(layout: DomainLayout(gpus: 8, perDomain: 8), gpu: gpu)
        #expect(node.seconds(.allToAll, bytes: bytes) * 4 < group.seconds(.allToAll, bytes: bytes))
    }
}

/// InfiniBand SHARP on 4 nodes of 8 B200s: the rail switches reduce, so each NIC carries its
/// shard once each way instead of the ring's 2(N−1)/N = 1.5 times; NIC-bound (B200's NVLink is
/// the faster fabric), a large all-reduce gets 1.5× the bus bandwidth. Inside one node SHARP
/// changes nothing.
@Suite struct SHARPTests {
    @Test func sharpRaisesMultiNodeBusBandwidth() {
        let layout = DomainLayout(gpus: 32, perDomain: 8), bytes = 16 * 1_073_741_824.0
        let plain = GroupCollective(layout: layout, gpu: SystemSpec.b200.gpu).seconds(.allReduce, bytes: bytes)
        let sharp = GroupCollective(layout: layout, gpu: SystemSpec.b200.gpu, sharp: true).seconds(.allReduce, bytes: bytes)
        print("16 GiB on 4 × 8 B200: \(plain * 1e3) ms, with SHARP \(sharp * 1e3) ms")
        #expect(abs(plain / sharp / 1.5 - 1) < 0.01)
        let node = DomainLayout(gpus: 8, perDomain: 8)
        #expect(GroupCollective(layout: node, gpu: SystemSpec.b200.gpu, sharp: true).seconds(.allReduce, bytes: bytes)
                == GroupCollective(layout: node, gpu: SystemSpec.b200.gpu).seconds(.allReduce, bytes: bytes))
    }
}

/// GB300's kernel rows are held out of every fit, and validate compares GB300 with GB200 on
/// the rows both were measured on.
@Suite struct HeldOutSystemTests {
    @Test(.enabled(if: CollectiveReferenceTests.reference != nil, "../shared/reference is absent"))
    func gb300RowsAreHeldOutAndPaired() throws {
        let rows = try KernelReference.gemmRows(in: CollectiveReferenceTests.reference!)
        #expect(rows.contains { KernelReference.isHeldOut($0.system) } && !rows.allSatisfy { KernelReference.isHeldOut($0.system) })
        #expect(!KernelReference.isHeldOut(.gb200NVL72) && KernelReference.isHeldOut(.gb300NVL72) && KernelReference.isHeldOut(.b300))
        let paired = try #require(KernelReference.pairedRatios(KernelCalibration.residuals(rows), .gb300NVL72, .gb200NVL72))
        print("GB300/GB200 GEMM time, median over \(paired.count) rows: measured \(paired.measured), predicted \(paired.predicted)")
        #expect(paired.count == 72 && paired.measured > 0.5 && paired.measured < 1.5)
    }
}
