// The table printed on stdout after a run: one line per variant and metric.
import Foundation

public enum ConsoleTable {
    /// Renders summary rows as aligned columns: variant, metric, unit, mean, 95% CI (of the
    /// simulated mean: simulation noise only), n, and the 90% prediction interval with its
    /// dominant source when any row has one.
    public static func render(_ rows: [ResultFiles.SummaryRow]) -> String {
        let predictions = rows.contains { $0.pi90 != nil }
        var lines: [[String]] = [["variant", "metric", "unit", "mean", "95% CI (noise)", "n"] + (predictions ? ["90% PI", "dominant"] : [])]
        for row in rows {
            let s = row.summary
            let ci = s.ci95.map { "[\(format($0.lowerBound)), \(format($0.upperBound))]" } ?? "-"
            let pi = row.pi90.map { "[\(format($0.lowerBound)), \(format($0.upperBound))]" } ?? "-"
            lines.append([row.variant, row.metric, row.unit, format(s.mean), ci, String(s.n)]
                         + (predictions ? [pi, row.dominant?.rawValue ?? "-"] : []))
        }
        let widths = (0..<lines[0].count).map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for (i, line) in lines.enumerated() {
            let padded = line.enumerated().map { column, field in
                // Numbers are right-aligned, names left-aligned.
                let pad = String(repeating: " ", count: widths[column] - field.count)
                return column >= 3 && column != 7 ? pad + field : field + pad
            }
            text += padded.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
            if i == 0 { text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return text
    }

    /// Four significant digits ("0.2501", "1.342e+09"); "-" for an undefined value.
    static func format(_ x: Double) -> String {
        x.isNaN ? "-" : String(format: "%.4g", x)
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.hasSuffix(" ") { s = s.dropLast() }
        return String(s)
    }
}
