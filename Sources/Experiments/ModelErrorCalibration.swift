// Measuring the model-error table (ModelError.swift) and checking the intervals it gives by
// leave-one-out over the rows of calibration.csv that `clustersim validate` reproduces: each
// row is predicted by the model refitted without it, and the 90% prediction interval for it is
// built from the other rows alone (their model error, and the row's own parameter spread over
// the calibration ensemble); the share of rows inside their interval is the coverage.
//
// Refits: a kernel row (a GEMM or copy) refits its family's GEMM and copy factors (stage 1 of
// KernelCalibration.fit, the only stage its row enters); a single-domain NCCL row refits its
// family's collective timing; a multi-node NCCL row refits the NIC efficiency of its transport,
// which with its one row left out falls back to the uncalibrated rule (the NVLink ring's
// efficiency, CollectiveTiming.nicEfficiency). Training and inference rows are in no fit: their
// prediction with the row left out is their prediction.
import Cluster
import Foundation
import Hardware
import Scenario
import Stats

public enum ModelErrorCalibration {
    /// One row left out: its log error log(predicted / measured) from the refit without it,
    /// and the SD of its log prediction over the calibration ensemble.
    public struct LeftOut: Sendable, Equatable {
        public var id: String
        public var area: ErrorArea
        public var logError: Double
        public var parameterSD: Double
        /// The preset the row was measured on.
        public var system: String

        public init(id: String, area: ErrorArea, logError: Double, parameterSD: Double, system: String) {
            self.id = id
            self.area = area
            self.logError = logError
            self.parameterSD = parameterSD
            self.system = system
        }
    }

    /// RMS over the rows measured on both systems (same table, shape and precision) of
    /// log(predicted ratio) − log(measured ratio) of `heldOut` (GB300, in no fit) to `sibling` (GB200).
    public static func uncalibratedSD(heldOut: [KernelCalibration.Residual], sibling: [KernelCalibration.Residual]) -> Double {
        var total = 0.0, count = 0
        for h in heldOut {
            guard let s = sibling.first(where: { $0.measurement.shape == h.measurement.shape }) else { continue }
            let e = log(h.predicted / s.predicted) - log(h.measurement.seconds / s.measurement.seconds)
            total += e * e
            count += 1
        }
        return count > 0 ? (total / Double(count)).squareRoot() : 0
    }

    /// SD (n − 1) of the logs of `values`.
    static func logSD(_ values: [Double]) -> Double { PredictionIntervals.logSD(values) ?? 0 }

    /// `gpu` priced by member `m` of the calibration ensemble.
    static func member(_ gpu: GPUSpec, _ m: Int) -> GPUSpec {
        var gpu = gpu
        gpu.ensembleMember = m
        return gpu
    }

    /// The leave-one-out rows. `kernelRows`: every row the kernel fit uses (tables and points);
    /// `collectiveRows`: every row the collective fit uses; `scenarios`: the folder of the
    /// workload rows' scenarios.
    public static func leaveOneOut(_ validation: [ValidationRow], kernelRows: [KernelMeasurement], collectiveRows: [CollectiveMeasurement],
                                   scenarios: URL) throws -> [LeftOut] {
        let members = ExperimentRunner.ensembleSize
        return try CalibrationEnsemble.parallel(validation.count) { i -> LeftOut? in
            let row = validation[i]
            guard let area = ErrorArea(validationKind: row.kind), let predicted = row.predicted else { return nil }
            func id(_ label: String) -> String { String(label.prefix { $0 != " " }) }
            switch area {
            case .kernels:
                guard let point = kernelRows.first(where: { $0.isCalibrationPoint && id($0.label) == row.id }) else { return nil }
                let family = point.system.gpu.architecture.calibrationFamily
                let refit = try KernelCalibration.refitGEMMFactors(kernelRows.filter { !($0.isCalibrationPoint && id($0.label) == row.id) }, family: family)
                let seconds = point.shape.seconds(on: KernelModel(gpu: point.system.gpu, factors: refit))
                let spread = (0..<members).map { m in point.shape.seconds(on: KernelModel(gpu: member(point.system.gpu, m))) }
                // A throughput row: a time predicted x times long is a throughput 1/x as high.
                return LeftOut(id: row.id, area: area, logError: log(point.seconds / seconds), parameterSD: logSD(spread), system: point.system.name)
            case .collectives:
                guard let point = collectiveRows.first(where: { $0.isCalibrationPoint && id($0.label) == row.id }) else { return nil }
                let family = point.system.gpu.architecture.calibrationFamily
                let others = collectiveRows.filter { !($0.isCalibrationPoint && id($0.label) == row.id) }
                let seconds: Double
                if point.perDomain == nil {
                    let refit = try CollectiveCalibration.fit(others, families: [family])
                    seconds = point.predicted(family == .hopper ? refit.hopper : refit.blackwell)
                } else {
                    let nic = try CollectiveCalibration.fitNICEfficiency(others, timing: CollectiveTiming.calibrated(for:))
                    // Its transport has no other row: NVLink's ring share, the rule for a transport without data.
                    let timing = CollectiveTiming.calibrated(for: family)
                    seconds = point.predicted(timing, nicEfficiency: nic[point.transport] ?? timing.linkEfficiency)
                }
                let spread = (0..<members).map { m in
                    let gpu = member(point.system.gpu, m)
                    return point.predicted(CollectiveTiming.calibrated(for: gpu), nicEfficiency: CollectiveTiming.nicEfficiency(for: gpu, transport: point.transport))
                }
                return LeftOut(id: row.id, area: area, logError: log(point.seconds / seconds), parameterSD: logSD(spread), system: point.system.name)
            case .training, .inference:
                guard let s = Validation.scenarios.first(where: { $0.id == row.id }) else { return nil }
                let path = scenarios.appendingPathComponent(s.file).path
                let spread = try (0..<members).map { m in try Validation.metric(s.metric, scenario: path, ensembleMember: m) }
                let system = try ScenarioLoader.load(path: path).variants[0].spec.cluster?.system.name ?? "-"
                return LeftOut(id: row.id, area: area, logError: log(predicted / row.measured), parameterSD: logSD(spread), system: system)
            }
        }.compactMap { $0 }
    }

    /// What calibrates `system`: its rows of calibration.csv and their median |error| with each
    /// left out of the fit (nil: none).
    public static func status(of system: String, _ leftOut: [LeftOut] = ModelErrorTable.leaveOneOut) -> String? {
        let own = leftOut.filter { $0.system == system }
        guard !own.isEmpty else { return nil }
        let median = Summary.quantile(sorted: own.map { abs(exp($0.logError) - 1) }.sorted(), 0.5)
        return String(format: "%@ is calibrated by %d rows of calibration.csv (%@): median |error| %.1f%% with each left out of the fit",
                      system, own.count, own.map(\.id).joined(separator: ", "), median * 100)
    }

    /// How many left-out rows fall inside the 90% prediction interval built from the other
    /// rows (their table, measured as deployed) and their own parameter spread; and which miss.
    public static func coverage(_ leftOut: [LeftOut], validation: [ValidationRow], uncalibratedSD: Double) -> (covered: Int, total: Int, misses: [String]) {
        var covered = 0, misses: [String] = []
        let entries = ModelErrorTable.entries(leftOut, validation: validation)
        for row in leftOut {
            let table = ModelErrorTable.measure(entries.filter { $0.id != row.id }, uncalibratedSD: uncalibratedSD)
            let terms = table.terms(area: row.area, uncalibrated: false, noiseSD: 0, replications: 1, parameterSD: row.parameterSD)
            if abs(row.logError) <= terms.halfWidth { covered += 1 } else {
                misses.append(String(format: "%@ (error %+.1f%%, 90%% half-width ×%.3f)", row.id, (exp(row.logError) - 1) * 100, exp(terms.halfWidth)))
            }
        }
        return (covered, leftOut.count, misses)
    }
}
