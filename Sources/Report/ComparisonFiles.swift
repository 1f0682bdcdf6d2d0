// comparison.csv (DESIGN.md "Result files") and the comparison table on stdout.
import Foundation

public enum ComparisonFiles {
    public static let header = ["scenario", "baseline", "variant", "metric", "speedup", "ci95_low", "ci95_high", "p_value", "claim", "verdict",
                                      "pi90_low", "pi90_high", "noise_verdict", "dominant_source", "break_even",
                                      "break_even_factor", "break_even_calibrated", "break_even_value"]

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
        /// The calibrated factor the verdict hangs on (Sensitivity.swift): its name, its value and
        /// the value at which the speedup reaches the threshold.
        public var breakEvenFactor: String?
        public var breakEvenCalibrated: Double = .nan
        public var breakEvenValue: Double = .nan
        /// How many of its ensemble SDs that value is from the calibrated one.
        public var breakEvenSDs: Double = .nan
        /// The 90% half-width of the model-error term alone, as a factor (printed, not in the CSV).
        public var modelErrorBound: Double = .nan
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
                             r.noiseVerdict ?? "", r.dominant ?? "", CSV.number(r.breakEven),
                             CSV.field(r.breakEvenFactor ?? ""), CSV.number(r.breakEvenCalibrated), CSV.number(r.breakEvenValue)])
        }
        return text
    }

    /// For each claim: what would turn its verdict, the model's error or one calibrated factor.
    public static func breakEvenLines(_ rows: [Row]) -> String {
        var text = ""
        for r in rows where r.claim != nil && !r.breakEven.isNaN {
            let threshold = r.speedup / r.breakEven
            text += String(format: "  %@ vs %@, %@ %.3f× (threshold %.3f×, %@): turns if the model %@ it ×%.3f",
                           r.variant, r.baseline, r.metric, r.speedup, threshold, r.verdict ?? "no verdict",
                           r.breakEven >= 1 ? "overstates" : "understates", r.breakEven >= 1 ? r.breakEven : 1 / r.breakEven)
            if !r.modelErrorBound.isNaN { text += String(format: " (90%% model-error bound ×%.3f)", r.modelErrorBound) }
            if let f = r.breakEvenFactor {
                // Beyond 3 SDs the calibration data rule the value out, and the linear extrapolation is a guess.
                let lead = abs(r.breakEvenSDs) <= 3 ? ", or at" : "; no calibrated factor within 3 ensemble SDs turns it (nearest: linearised,"
                text += String(format: "%@ %@ = %.4g (calibrated %.4g, %+.1f ensemble SDs)%@", lead, f, r.breakEvenValue, r.breakEvenCalibrated,
                               r.breakEvenSDs, abs(r.breakEvenSDs) <= 3 ? "" : ")")
            }
            text += "\n"
        }
        return text.isEmpty ? "" : "What would turn each verdict:\n" + text
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
