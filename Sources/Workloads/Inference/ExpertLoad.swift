// How unevenly a MoE layer's tokens reach the ranks of an expert-parallel group, and so how long
// the busiest rank's experts and all-to-all take: every rank waits for it at the combine.
//
// Routing: `balanced` gives every expert tokens × k / E. `power_law` draws each expert's load
// from p(x) ∝ x^−α on [1, 0.8 · tokens], scales the loads to tokens × k and caps each at `tokens`,
// as aiconfigurator's MoE collector does (its docs: α ≈ 1.01 matched DeepSeek-V3/R1 serving, 1.2
// Qwen3-235B; kernels/README.md), with experts placed on ranks in contiguous blocks of E/ep.
// With `eplb_slots` S > E (TensorRT-LLM's and DeepSeek's expert-parallel load balancer) the
// S − E redundant slots go one at a time to the expert whose copies carry the most load each,
// its load split evenly over its copies, and the slots are placed S/ep per rank, heaviest first
// on the least loaded rank with room — placed on the loads themselves, as an online balancer
// with perfect statistics would. The factor is the busiest rank's tokens over the balanced
// share (tokens × k / ep), the mean over 64 draws from a fixed GSL stream: a property of the
// configuration, the same in every run.
import Foundation
import Stats

/// How tokens are routed to experts.
public struct ExpertRouting: Sendable, Hashable {
    public enum Distribution: Sendable, Hashable {
        case balanced
        case powerLaw(alpha: Double)
    }

    public var distribution: Distribution
    /// Expert slots over the EP group (nil: one per expert, no redundancy).
    public var slots: Int?

    public init(distribution: Distribution, slots: Int? = nil) {
        self.distribution = distribution
        self.slots = slots
    }

    public static let balanced = ExpertRouting(distribution: .balanced)
    /// aiconfigurator's fit to DeepSeek-V3/R1 serving.
    public static let measured = ExpertRouting(distribution: .powerLaw(alpha: 1.01))

    /// The busiest rank's routed tokens over the balanced share, for `tokens` tokens entering
    /// the layer routed top-`topK` over `experts` experts on `ep` ranks. 1 when balanced, when
    /// the tokens cannot fill the experts (tokens × k ≤ E: the chosen experts are what matter,
    /// which the layer model counts), and for ep = 1 (no ranks to wait for).
    public func busiestRankFactor(experts: Int, topK: Int, ep: Int, tokens: Int) -> Double {
        guard case let .powerLaw(alpha) = distribution, ep > 1, tokens * topK > experts else { return 1 }
        let slots = Swift.max(self.slots ?? experts, experts)
        let stream = RandomStream(generatorSeed: 1)
        let draws = 64
        var total = 0.0
        for _ in 0..<draws {
            let loads = Self.powerLawLoads(experts: experts, topK: topK, tokens: tokens, alpha: alpha, stream: stream)
            total += Self.busiestRank(loads: loads, slots: slots, ep: ep) / (Double(tokens * topK) / Double(ep))
        }
        return total / Double(draws)
    }

    /// Expert loads drawn from the truncated power law by its inverse CDF, scaled to
    /// tokens × k and capped at tokens.
    static func powerLawLoads(experts: Int, topK: Int, tokens: Int, alpha: Double, stream: RandomStream) -> [Double] {
        let a = 1.0, b = Swift.max(0.8 * Double(tokens), 1.0 + 1e-9)
        var loads = (0..<experts).map { _ -> Double in
            let u = stream.uniform()
            if abs(alpha - 1) < 1e-12 { return a * pow(b / a, u) }
            let e = 1 - alpha
            return pow(pow(a, e) + u * (pow(b, e) - pow(a, e)), 1 / e)
        }
        let scale = Double(tokens * topK) / loads.reduce(0, +)
        for i in loads.indices { loads[i] = Swift.min(loads[i] * scale, Double(tokens)) }
        return loads
    }

    /// The busiest rank's load: contiguous blocks of experts without redundant slots; with
    /// them, replicas of the hottest experts and a greedy placement (see the header).
    static func busiestRank(loads: [Double], slots: Int, ep: Int) -> Double {
        let experts = loads.count
        guard slots > experts else {
            let perRank = experts / ep
            return (0..<ep).map { r in loads[(r * perRank)..<((r + 1) * perRank)].reduce(0, +) }.max() ?? 0
        }
        var copies = [Int](repeating: 1, count: experts)
        for _ in 0..<(slots - experts) {
            var hottest = 0
            for e in 1..<experts where loads[e] / Double(copies[e]) > loads[hottest] / Double(copies[hottest]) { hottest = e }
            copies[hottest] += 1
        }
        var pieces: [Double] = []
        for e in 0..<experts { pieces += repeatElement(loads[e] / Double(copies[e]), count: copies[e]) }
        pieces.sort(by: >)
        let room = slots / ep
        var rankLoad = [Double](repeating: 0, count: ep), rankSlots = [Int](repeating: 0, count: ep)
        for piece in pieces {
            var best = -1
            for r in 0..<ep where rankSlots[r] < room && (best < 0 || rankLoad[r] < rankLoad[best]) { best = r }
            rankLoad[best] += piece
            rankSlots[best] += 1
        }
        return rankLoad.max() ?? 0
    }
}

/// A busiest-rank factor's arguments, the key of its cache (a run meets a few token counts
/// again and again).
struct ExpertLoadKey: Hashable, Sendable {
    var routing: ExpertRouting
    var experts: Int, topK: Int, ep: Int, tokens: Int
}
