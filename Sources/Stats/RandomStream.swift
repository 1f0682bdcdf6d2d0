// Seeded random streams over GSL's Mersenne Twister (gsl_rng_mt19937).
//
// Every stochastic source of a run draws from its own stream, derived from
// (scenario seed, variant, replication, source). Streams are independent of each other and of
// the thread that runs them, so a run is reproducible whatever the thread count, and replication
// r of every variant sees the same numbers (common random numbers, DESIGN.md "Statistics").
//
// A stream owns its gsl_rng and is used by one run only: it is deliberately not Sendable.
import CGSL
import Foundation

/// Identifies one stream: the scenario seed, the variant's index, the replication and the
/// stochastic source (one per kind of noise, so adding a source leaves the others' draws alone).
public struct StreamKey: Hashable, Sendable {
    public var seed: UInt64
    public var variant: Int
    public var replication: Int
    public var source: Int

    public init(seed: UInt64, variant: Int, replication: Int, source: Int) {
        self.seed = seed
        self.variant = variant
        self.replication = replication
        self.source = source
    }

    /// The 32-bit seed handed to mt19937 (which keeps only the low 32 bits of its seed).
    ///
    /// The four fields are mixed with SplitMix64's finaliser (Steele, Lea & Flood,
    /// "Fast splittable pseudorandom number generators", OOPSLA 2014), so neighbouring keys give
    /// unrelated seeds. mt19937 treats seed 0 as 4357; 0 is mapped to 1 so that no two keys
    /// collide through that rule.
    public var generatorSeed: UInt {
        var h = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
        h = Self.mix(h ^ UInt64(bitPattern: Int64(variant)))
        h = Self.mix(h ^ UInt64(bitPattern: Int64(replication)) &* 0xBF58_476D_1CE4_E5B9)
        h = Self.mix(h ^ UInt64(bitPattern: Int64(source)) &* 0x94D0_49BB_1331_11EB)
        let low = UInt(h & 0xFFFF_FFFF)
        return low == 0 ? 1 : low
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A GSL random-number generator with the distributions ClusterSim draws from.
public final class RandomStream {
    private let rng: UnsafeMutablePointer<gsl_rng>

    /// A Mersenne Twister stream for `key`.
    public convenience init(_ key: StreamKey) {
        self.init(generatorSeed: key.generatorSeed)
    }

    /// A Mersenne Twister stream seeded directly (GSL semantics: seed 0 is seed 4357).
    public init(generatorSeed: UInt) {
        GSL.configure()
        guard let rng = gsl_rng_alloc(cgsl_rng_mt19937()) else {
            // Out of memory for a 5 KB state: nothing sensible can continue.
            fatalError("gsl_rng_alloc failed")
        }
        gsl_rng_set(rng, generatorSeed)
        self.rng = rng
    }

    deinit { gsl_rng_free(rng) }

    /// Uniform on [0, 1).
    public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// Uniform integer in 0..<n (gsl_rng_uniform_int; n ≥ 1).
    public func uniformInt(below n: Int) -> Int { Int(gsl_rng_uniform_int(rng, UInt(n))) }

    /// Normal with the given mean and standard deviation (GSL's Box–Muller `gsl_ran_gaussian`).
    public func normal(mean: Double = 0, standardDeviation: Double) -> Double {
        mean + gsl_ran_gaussian(rng, standardDeviation)
    }

    /// Lognormal: exp(N(mu, sigma)).
    public func lognormal(mu: Double, sigma: Double) -> Double {
        gsl_ran_lognormal(rng, mu, sigma)
    }

    /// A lognormal factor with mean 1 and coefficient of variation `cv` (cv = 0 gives exactly 1).
    ///
    /// For exp(N(mu, sigma)): CV² = exp(sigma²) − 1 and mean = exp(mu + sigma²/2),
    /// so sigma² = ln(1 + CV²) and mu = −sigma²/2.
    public func lognormalFactor(cv: Double) -> Double {
        guard cv > 0 else { return 1 }
        let variance = Foundation.log(1 + cv * cv)
        return lognormal(mu: -variance / 2, sigma: variance.squareRoot())
    }

    /// Exponential with the given mean.
    public func exponential(mean: Double) -> Double { gsl_ran_exponential(rng, mean) }

    /// Gamma with shape k and scale theta (mean k·theta).
    public func gamma(shape: Double, scale: Double) -> Double { gsl_ran_gamma(rng, shape, scale) }
}
