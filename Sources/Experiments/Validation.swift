// `clustersim validate REFERENCE.csv`: the model's predictions against every row of the
// calibration set it can reproduce, with the error of each.
//
// Kernel rows (GEMMs, copies) and NCCL rows are priced by the kernel and collective models
// directly (the shapes their `config` columns state); workload rows (training, decode,
// serving) run the scenario of the same name in scenarios/reference/, which states what the
// source gives and what is assumed. Errors are of the row's own metric: for throughputs
// (TFLOP/s, TB/s, GB/s, tokens/s) a predicted time converts to a predicted throughput.
import Cluster
import Foundation
import Report
import Scenario
import Workloads

public struct ValidationRow: Sendable {
    public var id: String
    public var kind: String
    public var measured: Double
    /// Nil when the model has no counterpart for the row.
    public var predicted: Double?
    public var unit: String
    /// The benchmark: calibration.csv's `workload` column without its parenthesis (rows of one
    /// benchmark on different systems pair up for ratio errors, ModelError.swift).
    public var benchmark: String = ""
    public var error: Double? { predicted.map { $0 / measured - 1 } }
}

public enum Validation {
    /// Workload rows: the scenario reproducing each, the metric it reports and the factor
    /// from the metric's SI value to the row's unit.
    static let scenarios: [(id: String, file: String, metric: String, scale: Double)] = [
        ("L301", "training-l301.yaml", "tflops_per_gpu", 1),
        ("MEG04", "training-meg04.yaml", "tflops_per_gpu", 1),
        ("MB02", "training-mb02.yaml", "tflops_per_gpu", 1),
        ("DEC01", "serving-dec01.yaml", "tokens_per_s_per_gpu", 1),
        ("DEC04", "serving-dec04.yaml", "tokens_per_s_per_gpu", 1),
        ("DEC16", "decode-dec16.yaml", "tpot_s", 1e3),
    ]

    /// The metric a scenario reports for its first variant's first replication (priced by
    /// `ensembleMember` of the calibration ensemble when given).
    public static func metric(_ name: String, scenario path: String, ensembleMember: Int? = nil) throws -> Double {
        var plan = try ScenarioLoader.load(path: path)
        try ExperimentRunner.check(plan)
        if let ensembleMember { plan.variants[0].spec.cluster?.system.gpu.ensembleMember = ensembleMember }
        let run = ExperimentRunner.run(plan, threads: 1).replications[0]
        guard let value = run.metrics.first(where: { $0.name == name })?.value else {
            throw ExperimentError(message: "\(path) reports no metric \(name)")
        }
        return value
    }

    public static func rows(reference: URL, scenarios folder: URL) throws -> [ValidationRow] {
        let records = try CSVTable(contentsOf: reference.path).records
        var predicted: [String: (kind: String, value: Double)] = [:]
        func id(_ label: String) -> String { String(label.prefix { $0 != " " }) }
        for r in KernelCalibration.residuals(try KernelReference.calibrationRows(in: reference)) {
            // Throughput rows: a time predicted x% long is a throughput 1/(1 + x) as high.
            let value = Double(records.first { $0["id"] == id(r.measurement.label) }?["value"] ?? "") ?? .nan
            predicted[id(r.measurement.label)] = ("kernel", value * r.measurement.seconds / r.predicted)
        }
        for row in try CollectiveCalibration.calibrationRows(in: reference) {
            let value = Double(records.first { $0["id"] == id(row.label) }?["value"] ?? "") ?? .nan
            predicted[id(row.label)] = ("collective", value * row.seconds / row.predicted(CollectiveTiming.calibrated(for: row.system.gpu.architecture)))
        }
        for s in scenarios {
            let path = folder.appendingPathComponent(s.file).path
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let kind = s.file.prefix { $0 != "-" }
            predicted[s.id] = (String(kind), try metric(s.metric, scenario: path) * s.scale)
        }
        return records.compactMap { r in
            guard let rowID = r["id"], let value = Double(r["value"] ?? "") else { return nil }
            let p = predicted[rowID]
            let workload = r["workload"] ?? ""
            let benchmark = String(workload.prefix { $0 != "(" }).trimmingCharacters(in: .whitespaces)
            return ValidationRow(id: rowID, kind: p?.kind ?? "-", measured: value, predicted: p?.value, unit: r["unit"] ?? "", benchmark: benchmark)
        }
    }
}
