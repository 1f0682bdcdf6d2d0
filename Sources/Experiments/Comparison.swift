// `clustersim compare`: every variant against the baseline, metric by metric, paired by
// replication (common random numbers make the pairs share their noise).
//
// Direction comes from the workload kind's metric catalogue: a metric better lower (a time)
// has speedup baseline / variant, one better higher (a rate) variant / baseline; inputs,
// sizes and counts (better: neither), and metrics the catalogue lacks, are not compared.
import Report
import Scenario
import Stats

public struct ComparisonRow: Sendable {
    public var baseline: String
    public var variant: String
    public var metric: String
    public var comparison: PairedComparison
    /// Percentile-bootstrap interval (2,000 resamples, stream keyed by the scenario seed).
    public var bootstrap: ClosedRange<Double>
    public var claim: Double?
    /// The verdict on the 95% interval of the simulated speedup (simulation noise only).
    public var verdict: ClaimVerdict?
    /// The 90% prediction interval's terms (nil: none, see PredictionIntervals.ratioTerms), the
    /// interval, and the verdict taken on it.
    public var prediction: PredictionTerms? = nil
    public var pi90: ClosedRange<Double>? { prediction?.interval(around: comparison.speedup) }
    public var predictionVerdict: ClaimVerdict? = nil
    /// With a claim: the factor by which the model would have to overstate (> 1) or understate
    /// (< 1) this speedup for the prediction to sit exactly on the claim's threshold
    /// claim·(1 − margin), where the verdict turns.
    public var breakEven: Double? = nil
}

public enum Comparison {
    /// Rows for every metric of `catalogue` that is better lower or higher.
    public static func rows(_ results: ExperimentResults, compare: CompareSpec, catalogue: [MetricInfo]) -> [ComparisonRow] {
        // The bootstrap draws from its own stream (source 99), so comparisons are reproducible.
        let stream = RandomStream(StreamKey(seed: results.seed, variant: 0, replication: 0, source: 99))
        let base = results.replications.filter { $0.variant == compare.baseline }
        var rows: [ComparisonRow] = []
        for variant in results.variants where variant != compare.baseline {
            let runs = results.replications.filter { $0.variant == variant }
            guard let first = runs.first else { continue }
            for metric in first.metrics {
                guard let better = catalogue.entry(for: metric.name)?.better, better != .neither else { continue }
                var ratios: [Double] = []
                for run in runs {
                    guard let b = base.first(where: { $0.replication == run.replication })?.metrics.first(where: { $0.name == metric.name })?.value,
                          let v = run.metrics.first(where: { $0.name == metric.name })?.value, b > 0, v > 0 else { continue }
                    ratios.append(better.speedup(baseline: b, variant: v))
                }
                guard !ratios.isEmpty else { continue }
                let comparison = PairedComparison(ratios: ratios)
                let claimed = compare.claim != nil && (compare.metric == nil || compare.metric == metric.name)
                let verdict = claimed ? ClaimVerdict(claim: compare.claim!, margin: compare.margin, ci95: comparison.ci95) : nil
                rows.append(ComparisonRow(baseline: compare.baseline, variant: variant, metric: metric.name, comparison: comparison,
                                          bootstrap: PairedComparison.bootstrapCI(ratios: ratios, stream: stream),
                                          claim: claimed ? compare.claim : nil, verdict: verdict))
            }
        }
        return rows
    }

    /// `rows` with their prediction intervals, the verdicts on them and the break-even factors.
    public static func withPredictions(_ rows: [ComparisonRow], plan: ExperimentPlan, ensemble: [[ReplicationResult]], margin: Double,
                                       table: ModelErrorTable = .calibrated) -> [ComparisonRow] {
        rows.map { row in
            var row = row
            row.prediction = PredictionIntervals.ratioTerms(row, plan: plan, ensemble: ensemble, table: table)
            if let claim = row.claim {
                row.breakEven = row.comparison.speedup / (claim * (1 - margin))
                if let pi = row.pi90 { row.predictionVerdict = ClaimVerdict(claim: claim, margin: margin, ci95: pi) }
            }
            return row
        }
    }

    /// What the intervals cannot say: one line per variant whose comparisons have one
    /// replication (no interval, no p-value, no verdict) or replications that agree exactly
    /// (a point interval and no p-value: the scenario draws no noise, or too little to show).
    /// Either way the interval of the mean covers simulation noise only, never the model's own
    /// error; the prediction interval does (call after withPredictions).
    public static func warnings(_ rows: [ComparisonRow]) -> [String] {
        let degenerate = rows.filter(\.comparison.isDegenerate)
        var variants: [String] = []
        for row in degenerate where !variants.contains(row.variant) { variants.append(row.variant) }
        return variants.map { variant in
            let own = degenerate.filter { $0.variant == variant }
            if own[0].comparison.n < 2 {
                if own.contains(where: { $0.prediction != nil }) {
                    return "\(variant) vs \(own[0].baseline): one replication, so no interval of simulation noise and no p-value; the scenario draws no noise, so its 90% prediction interval holds the model's error and the calibration's alone"
                }
                return "\(variant) vs \(own[0].baseline): one replication, so no interval, p-value or verdict; set replications: 2 or more and a noise section"
            }
            return "\(variant) vs \(own[0].baseline): the replications agree exactly on \(own.map(\.metric).joined(separator: ", ")), so their intervals are points and carry no p-value; the scenario draws no noise there (noise: { kernel_cv: ... }), and an interval of simulation noise never covers the model's own error"
        }
    }
}
