// Prediction intervals for a run's metrics and a comparison's speedups: the three terms of
// PredictionInterval.swift, filled in from the replications (noise), the runs over the
// calibration ensemble (parameters: ExperimentRunner.runEnsemble) and the measured model error
// of the workload kind's area (ModelError.swift).
//
// Only metrics that are predictions get one: those the catalogue ranks (better lower or
// higher: times, rates, energies), positive in every run. A variant whose replications draw
// random numbers but has one replication gets none: its run-to-run noise is unknown; nor does
// a run without the ensemble runs (--ensemble 0), whose parameter term is unknown.
import Foundation
import Hardware
import Report
import Scenario
import Stats
import Workloads

public enum PredictionIntervals {
    /// What the fitted factors know of a system.
    public enum Calibration: Sendable, Equatable {
        /// A preset whose architecture has measurements of its own.
        case calibrated
        /// A system the scenario defines or changes.
        case scenarioDefined
        /// A preset of an architecture with no data of its own (Blackwell Ultra).
        case noMeasurement
    }

    public static func calibration(of system: SystemSpec) -> Calibration {
        if SystemSpec.preset(named: system.name) != system { return .scenarioDefined }
        return system.gpu.architecture != system.gpu.architecture.calibrationFamily ? .noMeasurement : .calibrated
    }

    /// The system's name when no measurement calibrates it.
    public static func uncalibrated(_ system: SystemSpec) -> String? { calibration(of: system) == .calibrated ? nil : system.name }

    static func area(_ spec: ScenarioSpec) -> ErrorArea? { ErrorArea(kind: type(of: spec.kind).kind) }

    /// SD of the logs of positive `values` (0 for fewer than two); nil when one is not positive.
    static func logSD(_ values: [Double]) -> Double? {
        guard values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        guard values.count > 1 else { return 0 }
        let logs = values.map { log($0) }
        let mean = logs.reduce(0, +) / Double(logs.count)
        return (logs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(logs.count - 1)).squareRoot()
    }

    /// Whether a variant's replications can differ (noise or random arrivals).
    static func isRandom(_ spec: ScenarioSpec) -> Bool { !ExperimentRunner.isDeterministic(spec) }

    /// `rows` with their prediction intervals filled in.
    public static func attach(_ rows: [ResultFiles.SummaryRow], plan: ExperimentPlan, results: ExperimentResults,
                              ensemble: [[ReplicationResult]], table: ModelErrorTable = .calibrated) -> [ResultFiles.SummaryRow] {
        let catalogue = plan.metricCatalogue
        return rows.map { row in
            var row = row
            guard let v = plan.variants.firstIndex(where: { $0.name == row.variant }),
                  let better = catalogue.entry(for: row.metric)?.better, better != .neither else { return row }
            let spec = plan.variants[v].spec
            let values = results.replications.filter { $0.variant == row.variant }.compactMap { run in run.metrics.first { $0.name == row.metric }?.value }
            guard values.count > 1 || !isRandom(spec), let noise = logSD(values) else { return row }
            let members = ensemble.indices.contains(v) ? ensemble[v].compactMap { run in run.metrics.first { $0.name == row.metric }?.value } : []
            // No ensemble runs (--ensemble 0, or none generated): no parameter term, so no interval.
            guard spec.cluster == nil || members.count > 1, let parameters = logSD(members) else { return row }
            let terms = table.terms(area: area(spec), uncalibrated: spec.cluster.flatMap { uncalibrated($0.system) } != nil,
                                    noiseSD: noise, replications: values.count, parameterSD: parameters)
            row.pi90 = terms.interval(around: row.summary.mean)
            row.dominant = terms.dominant
            return row
        }
    }

    /// The terms of a comparison's speedup, or nil when it has none (one replication of a random
    /// variant, a member's run without the metric).
    public static func ratioTerms(_ row: ComparisonRow, plan: ExperimentPlan, ensemble: [[ReplicationResult]],
                                  table: ModelErrorTable = .calibrated) -> PredictionTerms? {
        guard let b = plan.variants.firstIndex(where: { $0.name == row.baseline }),
              let v = plan.variants.firstIndex(where: { $0.name == row.variant }),
              let better = plan.metricCatalogue.entry(for: row.metric)?.better, better != .neither else { return nil }
        let base = plan.variants[b].spec, variant = plan.variants[v].spec
        guard row.comparison.n > 1 || (!isRandom(base) && !isRandom(variant)) else { return nil }
        // Member m prices both sides: the ratio of the pair, as the comparison takes it.
        var ratios: [Double] = []
        if ensemble.indices.contains(b), ensemble.indices.contains(v) {
            for (x, y) in zip(ensemble[b], ensemble[v]) {
                guard let bx = x.metrics.first(where: { $0.name == row.metric })?.value,
                      let vy = y.metrics.first(where: { $0.name == row.metric })?.value, bx > 0, vy > 0 else { return nil }
                ratios.append(better.speedup(baseline: bx, variant: vy))
            }
        }
        guard (base.cluster == nil && variant.cluster == nil) || ratios.count > 1, let parameters = logSD(ratios) else { return nil }
        return table.ratioTerms(areas: (area(base), area(variant)),
                                uncalibrated: (base.cluster.flatMap { uncalibrated($0.system) }, variant.cluster.flatMap { uncalibrated($0.system) }),
                                noiseSD: row.comparison.logStandardDeviation, replications: row.comparison.n, parameterSD: parameters)
    }
}
