// Collectives as plans of flows over an NVLink/NVSwitch domain (pure: no engine).
//
// Sizes follow nccl-tests' convention: `bytes` is the per-rank buffer for all-reduce and
// all-to-all, the total output for all-gather and the total input for reduce-scatter. Bus
// bandwidth is algorithm bandwidth × 2(n−1)/n for all-reduce and × (n−1)/n for the others
// (nccl-tests, doc/PERFORMANCE.md).
//
// Algorithms:
// - ring: n−1 steps (all-gather, reduce-scatter) or 2(n−1) (all-reduce = reduce-scatter then
//   all-gather); in each step every rank sends bytes/n to its successor. Without chunking the
//   time is steps · (α + bytes/(n·B)), the closed form of Patarasuk & Yuan (JPDC 2009).
// - nvls: NVLink SHARP all-reduce (NVSwitch gen3+): each rank sends its buffer up once and the
//   switch multicasts the reduced result down, so each port carries `bytes` each way, pipelined.
// - direct: all-to-all, every rank sends bytes/n to every other rank in one step.
// - broadcast: a chain from rank 0 pipelined in chunks (each link streams the buffer; the
//   pipeline fills in n − 1 latencies); sendrecv: each rank sends its buffer to the next.
// Scope: one NVLink domain with a non-blocking switch; scale-out and hierarchical algorithms
// are not modelled yet.

public enum CollectiveOperation: String, CaseIterable, Sendable {
    case allReduce = "all_reduce"
    case allGather = "all_gather"
    case reduceScatter = "reduce_scatter"
    case allToAll = "alltoall"
    case broadcast
    case sendRecv = "sendrecv"

    /// busbw / algbw for `ranks` ranks (nccl-tests' definitions).
    public func busBandwidthFactor(ranks n: Int) -> Double {
        let n = Double(n)
        switch self {
        case .allReduce: return 2 * (n - 1) / n
        case .broadcast, .sendRecv: return 1
        case .allGather, .reduceScatter, .allToAll: return (n - 1) / n
        }
    }
}

public enum CollectiveAlgorithm: String, CaseIterable, Sendable {
    case ring, nvls, direct
    /// Double binary tree (Sanders, Speck & Träff, Parallel Computing 2009; NCCL's "tree"):
    /// each half of the buffer is reduced up one of two complementary binary trees and
    /// broadcast back down, pipelined, so latency grows with log n instead of n.
    case tree
}

/// NCCL's wire protocols: how a sender tells its receiver that data has landed (Hu et al.,
/// "Demystifying NCCL", arXiv 2507.04786, 2025, section III; NCCL src/device/prims_*.h).
/// - simple: data in large chunks, then a memory fence and a flag per chunk: the link's full
///   rate, but every step waits for the fence and the flag (several µs).
/// - ll (low latency): each 8-byte store carries 4 bytes of data and a 4-byte flag, so the
///   receiver polls the data itself: no fence, about a µs per hop, at most half the link rate.
/// - ll128: 128-byte lines of 120 bytes of data and an 8-byte flag, relying on NVLink
///   delivering a 128-byte write whole: ~2 µs per hop at up to 120/128 of the rate.
public enum CollectiveProtocol: String, CaseIterable, Sendable {
    case ll, ll128, simple

    /// The fraction of the bytes on the wire that is data (the rest are flags).
    public var payloadFraction: Double {
        switch self {
        case .ll: 0.5
        case .ll128: 120.0 / 128.0
        case .simple: 1
        }
    }
}

/// One flow of a step: `bytes` from rank `source` to rank `destination`.
public struct CollectiveFlow: Sendable, Equatable {
    public var source: Int
    public var destination: Int
    public var bytes: Double

    public init(source: Int, destination: Int, bytes: Double) {
        self.source = source
        self.destination = destination
        self.bytes = bytes
    }
}

/// Steps run one after another; a step's flows start together after its latency, counted in
/// per-step latencies (a pipelined chain of n ranks pays n − 1 of them once).
public struct CollectiveStep: Sendable, Equatable {
    public var flows: [CollectiveFlow]
    public var latencySteps: Int

    public init(flows: [CollectiveFlow], latencySteps: Int = 1) {
        self.flows = flows
        self.latencySteps = latencySteps
    }
}

public struct CollectivePlan: Sendable, Equatable {
    public var operation: CollectiveOperation
    public var algorithm: CollectiveAlgorithm
    public var ranks: Int
    public var bytes: Double
    public var steps: [CollectiveStep]
}

public enum CollectivePlanner {
    /// The algorithms NCCL can use for `op` in one NVLink domain: NVLS for all-reduce when the
    /// switch supports it and more than two ranks take part (NCCL enables NVLS from 3 ranks),
    /// direct for all-to-all, ring otherwise. The runtime picks the fastest (NCCL's tuner).
    public static func allowedAlgorithms(_ op: CollectiveOperation, ranks: Int, nvls: Bool) -> [CollectiveAlgorithm] {
        switch op {
        case .allReduce: nvls && ranks > 2 ? [.ring, .nvls] : [.ring]
        case .allToAll: [.direct]
        case .allGather, .reduceScatter, .broadcast, .sendRecv: [.ring]
        }
    }

    /// NCCL_P2P_LL_THRESHOLD's default (NCCL src/enqueue.cc): send/recv of up to this many
    /// bytes per peer use LL, larger ones Simple.
    public static let pointToPointLLThreshold = 16_384.0

    /// The protocols NCCL can run `plan` with. NVLS kernels implement Simple only; rings and
    /// trees run any of the three (the tuner picks); all-to-all and sendrecv are built from
    /// send/recv, whose protocol is a rule, not a choice: LL up to pointToPointLLThreshold bytes
    /// per peer, Simple above (NCCL applies the threshold per channel; one channel per peer here).
    public static func allowedProtocols(_ plan: CollectivePlan) -> [CollectiveProtocol] {
        if plan.algorithm == .nvls { return [.simple] }
        if plan.operation == .allToAll || plan.operation == .sendRecv {
            let perPeer = plan.steps.first?.flows.map(\.bytes).max() ?? 0
            return [perPeer <= pointToPointLLThreshold ? .ll : .simple]
        }
        return CollectiveProtocol.allCases
    }

    /// Uneven all-to-all (MoE token dispatch): `matrix[s][d]` bytes from rank s to rank d, all
    /// flows at once. `bytes` of the plan is the largest per-rank send, for bandwidth figures.
    public static func allToAllv(_ matrix: [[Double]]) -> CollectivePlan {
        let n = matrix.count
        precondition(matrix.allSatisfy { $0.count == n }, "the all-to-all matrix must be square")
        var flows: [CollectiveFlow] = []
        for s in 0..<n {
            for d in 0..<n where d != s && matrix[s][d] > 0 { flows.append(CollectiveFlow(source: s, destination: d, bytes: matrix[s][d])) }
        }
        let largest = matrix.map { $0.reduce(0, +) }.max() ?? 0
        return CollectivePlan(operation: .allToAll, algorithm: .direct, ranks: n, bytes: largest, steps: flows.isEmpty ? [] : [CollectiveStep(flows: flows)])
    }

    /// The edges (child, parent) of the double binary tree over n ranks: an in-order binary tree
    /// and the same tree over ranks shifted by one, so that most leaves of one are inner nodes
    /// of the other. Returns both trees' edges and the depth of the deeper.
    public static func doubleBinaryTree(ranks n: Int) -> (edges: [[(child: Int, parent: Int)]], depth: Int) {
        func build(_ lo: Int, _ hi: Int, _ parent: Int?, _ depth: Int, _ edges: inout [(Int, Int)], _ maxDepth: inout Int) {
            guard lo <= hi else { return }
            let mid = (lo + hi) / 2
            if let parent { edges.append((mid, parent)) }
            maxDepth = Swift.max(maxDepth, depth)
            build(lo, mid - 1, mid, depth + 1, &edges, &maxDepth)
            build(mid + 1, hi, mid, depth + 1, &edges, &maxDepth)
        }
        var first: [(Int, Int)] = [], depth = 0
        build(0, n - 1, nil, 0, &first, &depth)
        let second = first.map { (($0.0 + 1) % n, ($0.1 + 1) % n) }
        return ([first.map { (child: $0.0, parent: $0.1) }, second.map { (child: $0.0, parent: $0.1) }], depth)
    }

    /// The flows of `op` over `ranks` ranks with `algorithm`.
    public static func plan(_ op: CollectiveOperation, bytes: Double, ranks n: Int, algorithm: CollectiveAlgorithm) -> CollectivePlan {
        precondition(n >= 1 && bytes >= 0)
        var steps: [CollectiveStep] = []
        func ringStep(_ size: Double) -> CollectiveStep {
            CollectiveStep(flows: (0..<n).map { CollectiveFlow(source: $0, destination: ($0 + 1) % n, bytes: size) })
        }
        if n > 1 {
            switch (op, algorithm) {
            case (.allReduce, .tree):
                // Both trees stream at once: half the buffer up each tree, then down again; the
                // pipeline fills in `depth` latencies each way.
                let (trees, depth) = doubleBinaryTree(ranks: n)
                let up = trees.flatMap { $0.map { CollectiveFlow(source: $0.child, destination: $0.parent, bytes: bytes / 2) } }
                let down = trees.flatMap { $0.map { CollectiveFlow(source: $0.parent, destination: $0.child, bytes: bytes / 2) } }
                steps = [CollectiveStep(flows: up, latencySteps: Swift.max(1, depth)),
                         CollectiveStep(flows: down, latencySteps: Swift.max(1, depth))]
            case (.allReduce, .nvls):
                // Up to the switch and back down, pipelined: one flow per rank over its own
                // egress and ingress port (source = destination marks the switch round trip).
                steps = [CollectiveStep(flows: (0..<n).map { CollectiveFlow(source: $0, destination: $0, bytes: bytes) })]
            case (.allReduce, _):
                steps = Array(repeating: ringStep(bytes / Double(n)), count: 2 * (n - 1))
            case (.allGather, _), (.reduceScatter, _):
                steps = Array(repeating: ringStep(bytes / Double(n)), count: n - 1)
            case (.broadcast, _):
                // A chain from rank 0, pipelined in small chunks: every link streams the whole
                // buffer at once, and the pipeline fills in n − 1 step latencies.
                steps = [CollectiveStep(flows: (0..<(n - 1)).map { CollectiveFlow(source: $0, destination: $0 + 1, bytes: bytes) },
                                        latencySteps: n - 1)]
            case (.sendRecv, _):
                // nccl-tests' sendrecv: every rank sends its buffer to the next and receives from
                // the previous, at once.
                steps = [ringStep(bytes)]
            case (.allToAll, _):
                var flows: [CollectiveFlow] = []
                for s in 0..<n {
                    for d in 0..<n where d != s { flows.append(CollectiveFlow(source: s, destination: d, bytes: bytes / Double(n))) }
                }
                steps = [CollectiveStep(flows: flows)]
            }
        }
        return CollectivePlan(operation: op, algorithm: algorithm, ranks: n, bytes: bytes, steps: steps)
    }
}
