// comparison.csv (DESIGN.md "Result files") and the comparison table on stdout.
import Foundation

public enum ComparisonFiles {
    public static let header = ["scenario", "baseline", "variant", "metric", "speedup", "ci95_low", "ci95_high", "p_value", "claim", "verdict",
                                      "pi90_low", "pi90_high", "noise_verdict", "dominant_source", "break_even"]

    /// One comparison, already computed: its fields in `header` order after the scenario.
    public struct Row: Sendable {
        public var baseline: String
        public var variant: String
        public var metric: String
        public var speedup: Double
        public var ci95Low: Double
        public var ci95High: Double
        public var pValue: Double
        public var claim: Double?
        /// The verdict on the 90% prediction interval, and the one on the 95% interval of
        /// simulation noise alone.
        public var verdict: String?
        public var noiseVerdict: String?
        /// The 90% prediction interval (NaN: none) and its dominant source.
        public var pi90Low: Double = .nan
        public var pi90High: Double = .nan
        public var dominant: String?
        /// The model overstatement (> 1) or understatement (< 1) of the speedup that would put it
        /// on the claim's threshold (NaN: no claim).
        public var breakEven: Double = .nan
        /// Replications for a ±1% interval (printed, not in the CSV).
        public var replicationsFor1Percent: Int
        /// Percentile-bootstrap 95% interval (printed, not in the CSV).
        public var bootstrap: ClosedRange<Double>?

        public init(baseline: String, variant: String, metric: String, speedup: Double, ci95Low: Double, ci95High: Double,
                    pValue: Double, claim: Double?, verdict: String?, replicationsFor1Percent: Int, bootstrap: ClosedRange<Double>? = nil) {
            self.baseline = baseline
            self.variant = variant
            self.metric = metric
            self.speedup = speedup
            self.ci95Low = ci95Low
            self.ci95High = ci95High
            self.pValue = pValue
            self.claim = claim
            self.verdict = verdict
            self.replicationsFor1Percent = replicationsFor1Percent
            self.bootstrap = bootstrap
        }
    }

    public static func csv(scenario: String, rows: [Row]) -> String {
        var text = CSV.row(header)
        for r in rows {
            text += CSV.row([CSV.field(scenario), CSV.field(r.baseline), CSV.field(r.variant), CSV.field(r.metric),
                             CSV.number(r.speedup), CSV.number(r.ci95Low), CSV.number(r.ci95High), CSV.number(r.pValue),
                             CSV.number(r.claim), r.verdict ?? "", CSV.number(r.pi90Low), CSV.number(r.pi90High),
                             r.noiseVerdict ?? "", r.dominant ?? "", CSV.number(r.breakEven)])
        }
        return text
    }

    public static func table(_ rows: [Row]) -> String {
        func range(_ a: Double, _ b: Double) -> String { a.isNaN ? "-" : String(format: "[%.3f, %.3f]", a, b) }
        var lines: [[String]] = [["variant", "vs", "metric", "speedup", "95% CI (noise)", "95% CI (bootstrap)", "p", "90% PI", "dominant",
                                  "claim", "verdict (PI)", "verdict (noise)", "break-even", "n for ±1%"]]
        for r in rows {
            lines.append([r.variant, r.baseline, r.metric, String(format: "%.3f×", r.speedup), range(r.ci95Low, r.ci95High),
                          r.bootstrap.map { range($0.lowerBound, $0.upperBound) } ?? "-", r.pValue.isNaN ? "-" : String(format: "%.2g", r.pValue),
                          range(r.pi90Low, r.pi90High), r.dominant ?? "-",
                          r.claim.map { String(format: "%.2f×", $0) } ?? "-", r.verdict ?? "-", r.noiseVerdict ?? "-",
                          r.breakEven.isNaN ? "-" : String(format: "×%.3f", r.breakEven), String(r.replicationsFor1Percent)])
        }
        let widths = (0..<lines[0].count).map { c in lines.map { $0[c].count }.max() ?? 0 }
        return lines.enumerated().map { i, line in
            let row = line.enumerated().map { c, f in f.padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            return i == 0 ? row + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") : row
        }.joined(separator: "\n") + "\n"
    }
}
