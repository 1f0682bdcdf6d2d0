// The model's own error, measured: the spread of log(predicted / measured) over the rows of
// calibration.csv that `clustersim validate` reproduces, each predicted with the row left out
// of every fit (the PRESS residuals of leave-one-out: fitting residuals of the rows the
// factors were fitted to understate the error on a new measurement, 73% coverage against 90%
// when tried), per area of the model (kernels,
// collectives, training steps, inference: decode and serving share one engine and are pooled,
// with three rows between them). It enters prediction intervals as the `model` term
// (PredictionInterval.swift), with the Student-t quantile for the rows it rests on.
//
// Ratios between two variants: where calibration.csv holds the same benchmark on several
// systems (MAMF GEMM searches on H100 and B200, BabelStream on H100 and H200, nccl-tests
// all-reduce on five systems, trtllm-bench Llama 70B on H100 and GB200; the `workload` column
// without its parenthesis), the errors that one benchmark shares across systems cancel in a
// ratio and only the within-benchmark spread remains: the pooled SD of each row's error about
// its benchmark's mean (one-way ANOVA's within-group variance, Σ(m_g − 1) degrees of freedom),
// and a ratio of two rows has √2 times it. An area with no such pairs (training) gets no
// cancellation: the two variants' errors add in quadrature.
//
// A system no measurement calibrates (a Blackwell Ultra preset, a system the scenario defines)
// adds `uncalibratedSD`: the error of the one chip held out of every fit relative to its
// calibrated sibling, the RMS over the kernel rows measured on both of
// log(predicted GB300/GB200 time ratio) − log(measured ratio) (GB300 priced from its datasheet
// with Blackwell's factors): what the calibrated chip's own error does not already cover.
import Foundation
import Hardware
import Stats

public enum ErrorArea: String, CaseIterable, Sendable {
    case kernels, collectives, training, inference

    /// The area of a workload kind's predictions (nil: a kind the calibration does not cover:
    /// transfers, whose links and bandwidths are the scenario's own, so their error is the
    /// scenario's and the interval holds the noise alone).
    public init?(kind: String) {
        switch kind {
        case "gemm", "memcpy": self = .kernels
        case "collective": self = .collectives
        case "training": self = .training
        case "decode", "serving": self = .inference
        default: return nil
        }
    }

    /// The area of a `clustersim validate` row, by its kind column.
    init?(validationKind: String) {
        switch validationKind {
        case "kernel": self = .kernels
        case "collective": self = .collectives
        case "training": self = .training
        case "decode", "serving": self = .inference
        default: return nil
        }
    }
}

/// One area's error on its calibration rows, log scale.
public struct AreaError: Sendable, Equatable {
    public var rows: Int
    /// sqrt(mean of log(predicted / measured)²): the error SD about zero (a bias counts as error).
    public var logRMS: Double
    /// Pooled SD of the rows' log errors about their benchmark's mean, and its degrees of freedom
    /// (0: no benchmark was measured on two systems).
    public var withinSD: Double
    public var withinDegrees: Int

    public init(rows: Int, logRMS: Double, withinSD: Double, withinDegrees: Int) {
        self.rows = rows
        self.logRMS = logRMS
        self.withinSD = withinSD
        self.withinDegrees = withinDegrees
    }
}

public struct ModelErrorTable: Sendable, Equatable {
    public var areas: [ErrorArea: AreaError]
    /// SD added for a system with no measurement in the fit (see the file's comment).
    public var uncalibratedSD: Double

    public init(areas: [ErrorArea: AreaError], uncalibratedSD: Double) {
        self.areas = areas
        self.uncalibratedSD = uncalibratedSD
    }

    /// One row's error as the table takes it: log(predicted / measured) with the row left out of
    /// every fit (a prediction error, not a fitting residual), its area and its benchmark.
    public struct Entry: Sendable {
        public var id: String
        public var area: ErrorArea
        public var logError: Double
        public var benchmark: String
    }

    /// The entries of the left-out rows, with each row's benchmark from `validation`.
    public static func entries(_ leftOut: [ModelErrorCalibration.LeftOut], validation: [ValidationRow]) -> [Entry] {
        leftOut.map { r in Entry(id: r.id, area: r.area, logError: r.logError, benchmark: validation.first { $0.id == r.id }?.benchmark ?? r.id) }
    }

    /// The table of `entries`.
    public static func measure(_ entries: [Entry], uncalibratedSD: Double) -> ModelErrorTable {
        var areas: [ErrorArea: AreaError] = [:]
        for area in ErrorArea.allCases {
            let own = entries.filter { $0.area == area }
            guard !own.isEmpty else { continue }
            let rms = (own.map { $0.logError * $0.logError }.reduce(0, +) / Double(own.count)).squareRoot()
            var within = 0.0, degrees = 0
            var benchmarks: [String] = []
            for r in own where !benchmarks.contains(r.benchmark) { benchmarks.append(r.benchmark) }
            for b in benchmarks {
                let group = own.filter { $0.benchmark == b }.map(\.logError)
                guard group.count > 1 else { continue }
                let mean = group.reduce(0, +) / Double(group.count)
                within += group.map { ($0 - mean) * ($0 - mean) }.reduce(0, +)
                degrees += group.count - 1
            }
            areas[area] = AreaError(rows: own.count, logRMS: rms, withinSD: degrees > 0 ? (within / Double(degrees)).squareRoot() : 0, withinDegrees: degrees)
        }
        return ModelErrorTable(areas: areas, uncalibratedSD: uncalibratedSD)
    }

    /// The terms of one metric's interval (an area the calibration does not cover has no model
    /// term and no prior: its error is the scenario's own numbers').
    public func terms(area: ErrorArea?, uncalibrated: Bool, noiseSD: Double, replications: Int, parameterSD: Double) -> PredictionTerms {
        let a = area.flatMap { areas[$0] }
        return PredictionTerms(noiseSD: noiseSD, replications: replications, parameterSD: parameterSD,
                               modelRMS: a?.logRMS ?? 0, modelRows: a?.rows ?? 0, priorSD: uncalibrated && a != nil ? uncalibratedSD : 0)
    }

    /// The terms of a ratio between a variant and its baseline. `uncalibrated`: the name of
    /// each side's system when no measurement calibrates it; one system on both sides shares its
    /// unknown error, which cancels; otherwise each uncalibrated side adds its prior.
    public func ratioTerms(areas pair: (ErrorArea?, ErrorArea?), uncalibrated: (String?, String?), noiseSD: Double, replications: Int,
                           parameterSD: Double) -> PredictionTerms {
        let a = pair.0.flatMap { areas[$0] }, b = pair.1.flatMap { areas[$0] }
        let model: (rms: Double, rows: Int)
        if pair.0 == pair.1, let a, a.withinDegrees > 0 {
            model = (2.squareRoot() * a.withinSD, a.withinDegrees)
        } else {
            let ra = a?.logRMS ?? 0, rb = b?.logRMS ?? 0
            model = ((ra * ra + rb * rb).squareRoot(), Swift.min(a?.rows ?? 0, b?.rows ?? 0))
        }
        let sides = uncalibrated.0 == uncalibrated.1 || (a == nil && b == nil) ? 0 : [uncalibrated.0, uncalibrated.1].compactMap { $0 }.count
        return PredictionTerms(noiseSD: noiseSD, replications: replications, parameterSD: parameterSD,
                               modelRMS: model.rms, modelRows: model.rows, priorSD: uncalibratedSD * Double(sides).squareRoot())
    }

    /// The Swift source of ModelError+Calibrated.swift.
    /// `leftOut`: the leave-one-out rows, kept beside the table for the test of its coverage.
    public func swiftSource(comment: [String], leftOut: [ModelErrorCalibration.LeftOut]) -> String {
        var text = "// Generated by `make calibrate` (clustersim calibrate --write-model-error); do not edit by hand.\n"
        text += "// The model's error on the rows of scenarios/reference/calibration.csv (ModelError.swift).\n"
        for line in comment { text += "// \(line)\n" }
        text += "\nextension ModelErrorTable {\n    public static let calibrated = ModelErrorTable(areas: [\n"
        for area in ErrorArea.allCases {
            guard let a = areas[area] else { continue }
            text += String(format: "        .%@: AreaError(rows: %d, logRMS: %.4g, withinSD: %.4g, withinDegrees: %d),\n",
                           area.rawValue, a.rows, a.logRMS, a.withinSD, a.withinDegrees)
        }
        text += String(format: "    ], uncalibratedSD: %.4g)\n\n", uncalibratedSD)
        text += "    /// Each row of calibration.csv predicted by the model refitted without it (ModelErrorCalibration.swift).\n"
        text += "    public static let leaveOneOut: [ModelErrorCalibration.LeftOut] = [\n"
        for r in leftOut {
            text += String(format: "        .init(id: \"%@\", area: .%@, logError: %.5g, parameterSD: %.4g, system: \"%@\"),\n", r.id, r.area.rawValue, r.logError, r.parameterSD, r.system)
        }
        text += "    ]\n}\n"
        return text
    }
}
