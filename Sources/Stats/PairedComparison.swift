// Paired comparison of two variants over replications that share random numbers: the speedup
// is analysed on log ratios (a ratio's natural scale), with a Student-t interval and test.
import CGSL
import Foundation

/// Speedup of a variant over a baseline from paired per-replication ratios (> 1 is better).
public struct PairedComparison: Sendable, Equatable {
    public let n: Int
    /// exp(mean of log ratios): the geometric mean of the paired speedups.
    public let speedup: Double
    public let ci95: ClosedRange<Double>
    /// Two-sided p-value of the paired t-test of "no difference" (mean log ratio 0); NaN (none)
    /// when the ratios have no spread or there is one: a test needs a variance to test against.
    public let pValue: Double
    /// Standard deviation of the log ratios (for power).
    public let logStandardDeviation: Double

    /// `ratios[r]` is replication r's speedup (baseline/variant for times, variant/baseline for
    /// rates). Needs n ≥ 2 for an interval; with n = 1 the interval is the point (`isDegenerate`).
    public init(ratios: [Double]) {
        precondition(!ratios.isEmpty && ratios.allSatisfy { $0 > 0 })
        GSL.configure()
        let logs = ratios.map { Foundation.log($0) }
        n = logs.count
        let mean = logs.reduce(0, +) / Double(n)
        speedup = exp(mean)
        guard n >= 2 else {
            ci95 = speedup...speedup
            pValue = .nan
            logStandardDeviation = 0
            return
        }
        let sd = logs.withUnsafeBufferPointer { gsl_stats_sd_m($0.baseAddress, 1, $0.count, mean) }
        logStandardDeviation = sd
        let se = sd / Double(n).squareRoot()
        let df = Double(n - 1)
        let half = studentTQuantile(0.975, degreesOfFreedom: df) * se
        ci95 = exp(mean - half)...exp(mean + half)
        if se == 0 {
            pValue = .nan
        } else {
            pValue = 2 * gsl_cdf_tdist_Q(abs(mean / se), df)
        }
    }

    /// One replication, or replications that all agree: the interval is a point that says
    /// nothing about uncertainty (the runs had no noise to disagree by).
    public var isDegenerate: Bool { n < 2 || logStandardDeviation == 0 }

    /// A percentile bootstrap 95% interval of the geometric-mean speedup (Efron & Tibshirani,
    /// "An Introduction to the Bootstrap", 1993, §13.3): `resamples` resamples of the log
    /// ratios with replacement, drawn with gsl_rng_uniform_int from `stream`; the 2.5% and
    /// 97.5% quantiles (type 7) of the resampled means, exponentiated. No normality assumed.
    public static func bootstrapCI(ratios: [Double], resamples: Int = 2000, stream: RandomStream) -> ClosedRange<Double> {
        precondition(!ratios.isEmpty && resamples > 0)
        let logs = ratios.map { Foundation.log($0) }
        var means: [Double] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var total = 0.0
            for _ in logs.indices { total += logs[stream.uniformInt(below: logs.count)] }
            means.append(total / Double(logs.count))
        }
        means.sort()
        // GSL interpolates as (1 − δ)·a + δ·b, which for equal a and b (one replication, or
        // resamples that all agree) can round the lower quantile an ulp above the upper.
        let low = exp(Summary.quantile(sorted: means, 0.025)), high = exp(Summary.quantile(sorted: means, 0.975))
        return Swift.min(low, high)...Swift.max(low, high)
    }

    /// Replications needed for the 95% interval of the speedup to be within ±`relative` (e.g.
    /// 0.01) of it, given this sample's spread: the least n with t(0.975, n−1)·sd/√n ≤ ln(1 + relative).
    public func replicationsFor(halfWidth relative: Double) -> Int {
        guard logStandardDeviation > 0 else { return 2 }
        let target = Foundation.log(1 + relative)
        var n = 2
        while studentTQuantile(0.975, degreesOfFreedom: Double(n - 1)) * logStandardDeviation / Double(n).squareRoot() > target {
            n += 1
            if n > 10_000_000 { break }
        }
        return n
    }
}

/// A claim's verdict against an interval (the rule the README states): with claimed speedup c
/// and margin m, "supported" when the interval's lower end is at least c·(1 − m), so the data
/// rule out a speedup materially below the claim; "contradicted" when its upper end is below
/// c·(1 − m); "inconclusive" otherwise.
public enum ClaimVerdict: String, Sendable {
    case supported, contradicted, inconclusive

    public init(claim: Double, margin: Double, ci95: ClosedRange<Double>) {
        let threshold = claim * (1 - margin)
        if ci95.lowerBound >= threshold { self = .supported }
        else if ci95.upperBound < threshold { self = .contradicted }
        else { self = .inconclusive }
    }
}
