// Collectives beyond one NVLink domain: NCCL-style hierarchical all-reduce over NVLink domains
// joined by one scale-out NIC per GPU in a rail-optimised fabric (GPU r of every domain on
// rail r).
//
// Phases: (1) ring reduce-scatter inside each domain, leaving GPU r with shard r of the sum
// over its domain; (2) ring all-reduce of that shard among the GPUs of rail r, over NICs;
// (3) ring all-gather inside each domain. Groups within a phase share no port (domains are
// disjoint, rails are disjoint and each rail has its own fat tree), so a phase lasts as long as
// its slowest group, and identical groups take identical time: that is what symmetry folding
// uses (simulate one group per distinct size). Each rail's fabric is a two-tier fat tree with
// configurable oversubscription (RailFatTree); traffic between rails is not modelled.

public enum Fabric: Sendable, Equatable {
    case nvlink
    case scaleOut
}

/// The scale-out network of each rail: a two-tier fat tree whose leaves each connect the NICs
/// of `domainsPerLeaf` domains (on that rail) and reach the spines through
/// ceil(domainsPerLeaf / oversubscription) uplinks, one per spine, sharing
/// domainsPerLeaf × NIC bandwidth / `oversubscription` per direction. A flow between leaves
/// takes the spine that ECMP hashes it to (a deterministic hash of its end points), up from
/// its source leaf and down to its destination leaf, so flows can collide as on a real fabric.
public struct RailFatTree: Sendable, Equatable {
    public var domainsPerLeaf: Int
    public var oversubscription: Double

    public init(domainsPerLeaf: Int, oversubscription: Double) {
        precondition(domainsPerLeaf >= 1 && oversubscription >= 1)
        self.domainsPerLeaf = domainsPerLeaf
        self.oversubscription = oversubscription
    }

    /// Non-blocking: every domain on one leaf.
    public static let nonBlocking = RailFatTree(domainsPerLeaf: Int.max / 2, oversubscription: 1)

    public func leaf(ofDomain d: Int) -> Int { d / domainsPerLeaf }

    /// Uplinks (spines) per leaf when `domains` domains share the rail.
    public func spines(domains: Int) -> Int {
        Swift.max(1, Int((Double(Swift.min(domainsPerLeaf, domains)) / oversubscription).rounded(.up)))
    }

    /// The spine ECMP picks for a flow from rank s to rank d: SplitMix64's finaliser of the pair.
    public static func ecmpSpine(source s: Int, destination d: Int, spines: Int) -> Int {
        var z = UInt64(truncatingIfNeeded: s) << 32 ^ UInt64(truncatingIfNeeded: d)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(spines))
    }
}

/// Ranks 0..<gpus laid out in NVLink domains of `perDomain` (the last may be partial).
public struct DomainLayout: Sendable, Equatable {
    public var gpus: Int
    public var perDomain: Int

    public init(gpus: Int, perDomain: Int) {
        precondition(gpus > 0 && perDomain > 0)
        self.gpus = gpus
        self.perDomain = perDomain
    }

    public var domains: Int { (gpus + perDomain - 1) / perDomain }

    public func members(ofDomain d: Int) -> [Int] {
        Array(d * perDomain ..< Swift.min(gpus, (d + 1) * perDomain))
    }

    /// The GPUs with local index `r` in their domain, one per domain that has one.
    public func members(ofRail r: Int) -> [Int] {
        (0..<domains).map { $0 * perDomain + r }.filter { $0 < gpus }
    }
}

/// One phase: independent group collectives on one fabric; each group's plan uses local ranks
/// 0..<n, mapped to global ranks by `members`.
public struct CollectivePhase: Sendable, Equatable {
    public var fabric: Fabric
    public var groups: [(plan: CollectivePlan, members: [Int])]

    public static func == (a: CollectivePhase, b: CollectivePhase) -> Bool {
        a.fabric == b.fabric && a.groups.count == b.groups.count
            && zip(a.groups, b.groups).allSatisfy { $0.plan == $1.plan && $0.members == $1.members }
    }
}

extension CollectivePlanner {
    /// Hierarchical reduce-scatter (`bytes` = total input per rank) or all-gather (`bytes` =
    /// total output): the domain phase and the rail phase, in the order the data needs
    /// (reduce-scatter: domain then rail; all-gather: rail then domain), rings throughout.
    public static func hierarchical(_ op: CollectiveOperation, bytes: Double, layout: DomainLayout) -> [CollectivePhase] {
        precondition(op == .reduceScatter || op == .allGather, "hierarchical reduce-scatter or all-gather")
        let domains = (0..<layout.domains).map { layout.members(ofDomain: $0) }
        let rails = (0..<Swift.min(layout.perDomain, layout.gpus)).map { layout.members(ofRail: $0) }
        let perDomain = Double(Swift.min(layout.perDomain, layout.gpus))
        func phase(_ fabric: Fabric, _ size: Double, _ groups: [[Int]]) -> CollectivePhase {
            CollectivePhase(fabric: fabric, groups: groups.filter { $0.count > 1 }.map {
                (plan(op, bytes: size, ranks: $0.count, algorithm: .ring), $0)
            })
        }
        // The domain phase moves the whole buffer; the rail phase one domain-shard of it.
        let domainPhase = phase(.nvlink, bytes, domains)
        let railPhase = phase(.scaleOut, bytes / perDomain, rails)
        return op == .reduceScatter ? [domainPhase, railPhase] : [railPhase, domainPhase]
    }

    /// Hierarchical all-reduce of `bytes` per rank over `layout`: rings inside domains, and
    /// `railAlgorithm` along the rails: ring, tree, or nvls for an in-network reduction by the
    /// rail switches (InfiniBand SHARP: each NIC sends its shard up once and receives the sum).
    public static func hierarchicalAllReduce(bytes: Double, layout: DomainLayout, railAlgorithm: CollectiveAlgorithm = .ring) -> [CollectivePhase] {
        let domains = (0..<layout.domains).map { layout.members(ofDomain: $0) }
        let rails = (0..<Swift.min(layout.perDomain, layout.gpus)).map { layout.members(ofRail: $0) }
        // Each GPU holds shard bytes / (GPUs in a full domain) after phase 1.
        let shard = bytes / Double(Swift.min(layout.perDomain, layout.gpus))
        func phase(_ fabric: Fabric, _ op: CollectiveOperation, _ size: Double, _ groups: [[Int]], _ algorithm: CollectiveAlgorithm) -> CollectivePhase {
            CollectivePhase(fabric: fabric, groups: groups.filter { $0.count > 1 }.map {
                (plan(op, bytes: size, ranks: $0.count, algorithm: algorithm), $0)
            })
        }
        return [
            phase(.nvlink, .reduceScatter, bytes, domains, .ring),
            phase(.scaleOut, .allReduce, shard, rails, railAlgorithm),
            phase(.nvlink, .allGather, bytes, domains, .ring),
        ]
    }
}
