import CGSL
import Foundation
import Testing
@testable import Stats

@Suite struct PairedComparisonTests {
    /// Against GSL directly: speedup = exp(mean ln r); the interval is exp(mean ± t·sd/√n) with
    /// t from gsl_cdf_tdist_Pinv; the p-value is 2·gsl_cdf_tdist_Q(|t|, n−1).
    @Test func agreesWithGSLReference() {
        let ratios = [1.21, 1.18, 1.25, 1.16, 1.22, 1.19, 1.24, 1.17]
        let c = PairedComparison(ratios: ratios)
        let logs = ratios.map { log($0) }
        let n = Double(logs.count)
        let mean = logs.reduce(0, +) / n
        let sd = (logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        let t = gsl_cdf_tdist_Pinv(0.975, n - 1)
        #expect(abs(c.speedup - exp(mean)) < 1e-12)
        #expect(abs(c.ci95.lowerBound - exp(mean - t * sd / n.squareRoot())) < 1e-12)
        #expect(abs(c.ci95.upperBound - exp(mean + t * sd / n.squareRoot())) < 1e-12)
        #expect(abs(c.pValue - 2 * gsl_cdf_tdist_Q(abs(mean / (sd / n.squareRoot())), n - 1)) < 1e-15)
        // A published value: t = 2.262 with 9 degrees of freedom is the two-sided 5% point.
        #expect(abs(2 * gsl_cdf_tdist_Q(2.262157, 9) - 0.05) < 1e-6)
    }

    @Test func verdictRule() {
        #expect(ClaimVerdict(claim: 1.2, margin: 0.05, ci95: 1.15...1.25) == .supported)     // 1.15 ≥ 1.14
        #expect(ClaimVerdict(claim: 1.2, margin: 0.05, ci95: 1.05...1.12) == .contradicted)  // 1.12 < 1.14
        #expect(ClaimVerdict(claim: 1.2, margin: 0.05, ci95: 1.10...1.30) == .inconclusive)
    }

    /// Power: with log-ratio sd σ, n must satisfy t(0.975, n−1)·σ/√n ≤ ln 1.01.
    @Test func replicationsForOnePercent() {
        let c = PairedComparison(ratios: [1.0, 1.02, 0.98, 1.01, 0.99])
        let n = c.replicationsFor(halfWidth: 0.01)
        let sd = c.logStandardDeviation
        #expect(studentTQuantile(0.975, degreesOfFreedom: Double(n - 1)) * sd / Double(n).squareRoot() <= log(1.01))
        #expect(studentTQuantile(0.975, degreesOfFreedom: Double(n - 2)) * sd / Double(n - 1).squareRoot() > log(1.01))
    }
}

@Suite struct BootstrapTests {
    /// One ratio (one replication): every resample has the same mean, and the interval is that
    /// ratio, not a trap (this value made GSL's interpolation put the 2.5% quantile an ulp above
    /// the 97.5% one).
    @Test func bootstrapOfOneRatio() {
        let ci = PairedComparison.bootstrapCI(ratios: [1.6901843413554316], stream: RandomStream(generatorSeed: 1))
        #expect(abs(ci.lowerBound / 1.6901843413554316 - 1) < 1e-12 && abs(ci.upperBound / 1.6901843413554316 - 1) < 1e-12)
    }

    /// The percentile bootstrap against a reference written with GSL calls alone (same seed,
    /// same draws): gsl_rng_uniform_int for indices, gsl_sort and
    /// gsl_stats_quantile_from_sorted_data for the percentiles.
    @Test func agreesWithGSLReference() {
        let ratios = [1.21, 1.18, 1.25, 1.16, 1.22, 1.19, 1.24, 1.17, 1.3, 1.12]
        let ci = PairedComparison.bootstrapCI(ratios: ratios, resamples: 500, stream: RandomStream(generatorSeed: 42))
        let rng = gsl_rng_alloc(cgsl_rng_mt19937())!
        defer { gsl_rng_free(rng) }
        gsl_rng_set(rng, 42)
        let logs = ratios.map { log($0) }
        var means = [Double](repeating: 0, count: 500)
        for b in 0..<500 {
            var total = 0.0
            for _ in 0..<logs.count { total += logs[Int(gsl_rng_uniform_int(rng, UInt(logs.count)))] }
            means[b] = total / Double(logs.count)
        }
        means.withUnsafeMutableBufferPointer { gsl_sort($0.baseAddress, 1, 500) }
        let low = means.withUnsafeBufferPointer { gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, 500, 0.025) }
        let high = means.withUnsafeBufferPointer { gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, 500, 0.975) }
        #expect(abs(ci.lowerBound - exp(low)) < 1e-12 && abs(ci.upperBound - exp(high)) < 1e-12)
        // And it sits close to the t-interval for near-normal data.
        let t = PairedComparison(ratios: ratios).ci95
        #expect(abs(ci.lowerBound / t.lowerBound - 1) < 0.02 && abs(ci.upperBound / t.upperBound - 1) < 0.02)
    }
}
