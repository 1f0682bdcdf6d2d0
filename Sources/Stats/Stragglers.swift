// Stragglers in synchronous steps: each of N GPUs independently runs slow (by `slowdown`)
// with probability `probability` in a step, and the step waits for the slowest, so it is slow
// when at least one GPU is: probability 1 − (1 − p)^N. Folded simulations (one representative
// GPU standing for N) draw that event once instead of N Bernoulli draws: the same
// distribution from one draw.
import Foundation

public struct StragglerModel: Sendable, Equatable {
    public var probability: Double
    public var slowdown: Double

    public init(probability: Double, slowdown: Double) {
        precondition((0...1).contains(probability) && slowdown >= 1)
        self.probability = probability
        self.slowdown = slowdown
    }

    public var isOff: Bool { probability == 0 || slowdown == 1 }

    /// The step's time factor for `gpus` synchronised GPUs: one draw of "any GPU straggles".
    public func folded(gpus: Int, stream: RandomStream) -> Double {
        let anySlow = 1 - pow(1 - probability, Double(gpus))
        return stream.uniform() < anySlow ? slowdown : 1
    }

    /// The same, by drawing every GPU (what an unfolded simulation does).
    public func bruteForce(gpus: Int, stream: RandomStream) -> Double {
        var factor = 1.0
        for _ in 0..<gpus where stream.uniform() < probability { factor = slowdown }
        return factor
    }
}
