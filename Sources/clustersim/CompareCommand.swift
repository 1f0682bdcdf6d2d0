import ArgumentParser
import Experiments
import Foundation
import Report
import Scenario
import Workloads

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a scenario and compare each variant with the baseline: speedups with 95% intervals, p-values, claim verdicts.",
        discussion: """
            Needs a `compare:` section naming the baseline variant (and optionally a claim, e.g. \
            compare: { baseline: h100, claim: 1.20 }). Writes comparison.csv beside summary.csv, \
            replications.csv and manifest.json. Replications are paired: replication r of every \
            variant draws the same random numbers unless noise.common_random_numbers is false.
            """
    )

    @OptionGroup var options: RunOptions

    @Option(help: "The baseline variant (overrides compare.baseline).")
    var baseline: String?

    func run() throws {
        if try options.printResolved() { return }
        try options.recordingStatus(compare)
    }

    func compare() throws {
        // The baseline is checked before simulating (the loader only warns: `run` ignores it).
        let loaded = try ScenarioLoader.load(path: options.scenario, overrides: options.overrides)
        guard var compare = loaded.compare ?? baseline.map({ CompareSpec(baseline: $0) }) else {
            throw InputError(message: "\(options.scenario): compare: missing; add compare: { baseline: VARIANT } or pass --baseline")
        }
        if let baseline { compare.baseline = baseline }
        if let problem = CompareSpec.missingBaseline(compare.baseline, among: loaded.variants.map(\.name)) {
            throw InputError(message: "\(options.scenario): compare.baseline: " + problem)
        }
        var tableRows: [ComparisonFiles.Row] = []
        var warnings: [String] = []
        let (_, _, directory) = try options.execute { plan, results, ensemble in
            let rows = Comparison.withPredictions(Comparison.rows(results, compare: compare, catalogue: plan.metricCatalogue),
                                                  plan: plan, ensemble: ensemble, margin: compare.margin)
            let breakEvens = Sensitivity.breakEvens(rows, plan: plan, results: results, margin: compare.margin,
                                                    threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
            tableRows = zip(rows, breakEvens).map { row, factor in
                // One replication has no interval of simulation noise (and no verdict taken on one).
                let single = row.comparison.n < 2
                var file = ComparisonFiles.Row(
                    baseline: row.baseline, variant: row.variant, metric: row.metric, speedup: row.comparison.speedup,
                    ci95Low: single ? .nan : row.comparison.ci95.lowerBound, ci95High: single ? .nan : row.comparison.ci95.upperBound,
                    pValue: row.comparison.pValue, claim: row.claim, verdict: row.predictionVerdict?.rawValue,
                    replicationsFor1Percent: row.comparison.replicationsFor(halfWidth: 0.01), bootstrap: single ? nil : row.bootstrap)
                file.noiseVerdict = single ? nil : row.verdict?.rawValue
                if let pi = row.pi90 { (file.pi90Low, file.pi90High) = (pi.lowerBound, pi.upperBound) }
                file.dominant = row.prediction?.dominant.rawValue
                file.breakEven = row.breakEven ?? .nan
                if let p = row.prediction { file.modelErrorBound = exp(p.modelHalfWidth) }
                if let factor {
                    file.breakEvenFactor = factor.factor
                    (file.breakEvenCalibrated, file.breakEvenValue, file.breakEvenSDs) = (factor.calibrated, factor.value, factor.standardDeviations)
                }
                return file
            }
            warnings = Comparison.warnings(rows)

            return [("comparison.csv", ComparisonFiles.csv(scenario: plan.name, rows: tableRows))]
        }
        if !options.quiet { print("\n" + ComparisonFiles.table(tableRows) + ComparisonFiles.breakEvenLines(tableRows), terminator: "") }
        for warning in warnings { printError("warning: " + warning) }
        printError("wrote \(directory)/comparison.csv, summary.csv, replications.csv, manifest.json")
    }
}
