// Summaries of a sample: mean, standard deviation, quantiles and a Student-t confidence
// interval, computed with GSL's statistics and cdf routines.
import CGSL

/// The summary statistics written to summary.csv for one metric of one variant.
///
/// Values that are undefined for the sample size are nil: the standard deviation and the
/// confidence interval need n ≥ 2.
public struct Summary: Sendable, Equatable {
    public let n: Int
    public let mean: Double
    public let standardDeviation: Double?
    public let ci95: ClosedRange<Double>?
    public let min: Double
    public let p50: Double
    public let p99: Double
    public let max: Double

    /// Summarises `values` (in the order given: GSL sums in order, so the result is
    /// reproducible for a fixed order). `values` must not be empty.
    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "Summary of an empty sample")
        GSL.configure()
        n = values.count
        let sorted = values.sorted()
        let mean = values.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, $0.count) }
        self.mean = mean
        min = sorted[0]
        max = sorted[sorted.count - 1]
        p50 = Self.quantile(sorted: sorted, 0.50)
        p99 = Self.quantile(sorted: sorted, 0.99)
        if n >= 2 {
            let sd = values.withUnsafeBufferPointer { gsl_stats_sd_m($0.baseAddress, 1, $0.count, mean) }
            standardDeviation = sd
            let halfWidth = studentTQuantile(0.975, degreesOfFreedom: Double(n - 1)) * sd / Double(n).squareRoot()
            ci95 = (mean - halfWidth)...(mean + halfWidth)
        } else {
            standardDeviation = nil
            ci95 = nil
        }
    }

    /// The q-quantile of sorted data by linear interpolation between order statistics
    /// (GSL's gsl_stats_quantile_from_sorted_data; Hyndman & Fan type 7, R's default).
    public static func quantile(sorted: [Double], _ q: Double) -> Double {
        precondition(!sorted.isEmpty && (0...1).contains(q))
        return sorted.withUnsafeBufferPointer {
            gsl_stats_quantile_from_sorted_data($0.baseAddress, 1, $0.count, q)
        }
    }
}

/// The p-quantile of Student's t distribution with `degreesOfFreedom` (gsl_cdf_tdist_Pinv).
public func studentTQuantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
    GSL.configure()
    return gsl_cdf_tdist_Pinv(p, nu)
}
