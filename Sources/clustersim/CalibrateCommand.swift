import ArgumentParser
import Experiments
import Foundation
import Hardware

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit the kernel model's efficiency factors to the reference measurements (make calibrate).",
        discussion: """
            Reads ../shared/reference/kernels/{gemm,attention}.csv and the kernel rows of \
            scenarios/reference/calibration.csv, prints how well the model fits, and with --write \
            fits the factors and writes them as Swift source (Sources/Hardware/KernelFactors+Calibrated.swift).
            """
    )

    @Option(help: "The reference folder holding kernels/.")
    var reference = "../shared/reference"

    @Option(help: "The calibration rows (calibration.csv).")
    var calibration = "scenarios/reference/calibration.csv"

    @Option(help: "Fit, then write the fitted factors to this Swift file.")
    var write: String?

    @Option(help: "Also list the N rows the model misses most, with their errors.")
    var worst = 0

    @Option(help: "Fit the collective timings and write them to this Swift file.")
    var writeCollectives: String?

    @Option(help: "Refit the factors to this many bootstrap resamples of the data (the parameter ensemble prediction intervals use).")
    var ensemble = 0

    @Option(help: "With --ensemble: write the kernel factors' members to this Swift file.")
    var writeKernelEnsemble: String?

    @Option(help: "With --ensemble: write the collective timings' members to this Swift file.")
    var writeCollectiveEnsemble: String?

    @Option(help: "Measure the model's error on calibration.csv's rows, check the intervals by leave-one-out, and write the table to this Swift file.")
    var writeModelError: String?

    @Option(help: "The scenarios reproducing calibration.csv's workload rows (for --write-model-error).")
    var scenarios = "scenarios/reference"

    @Option(help: "Seed of the bootstrap resamples.")
    var ensembleSeed: UInt64 = 1

    func run() throws {
        let directory = URL(fileURLWithPath: reference)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("kernels/gemm.csv").path) else {
            throw InputError(message: "\(reference)/kernels/gemm.csv: no such file (the reference tables live in ../shared/reference)")
        }
        // GB300 rows are held out of every fit: they test what datasheet numbers with
        // Blackwell's factors predict for a new chip (clustersim validate prints them).
        let gemm = try KernelReference.gemmRows(in: directory).filter { !KernelReference.isHeldOut($0.system) }
        let attention = try KernelReference.attentionRows(in: directory).filter { !KernelReference.isHeldOut($0.system) }
        let points = try KernelReference.calibrationRows(in: URL(fileURLWithPath: calibration))
        let all = gemm + attention + points

        func figures() -> [(String, KernelCalibration.Figures)] {
            [("kernels/gemm.csv", .init(KernelCalibration.residuals(gemm))),
             ("kernels/attention.csv", .init(KernelCalibration.residuals(attention))),
             ("calibration.csv kernel rows", .init(KernelCalibration.residuals(points)))]
        }
        let comm = try CollectiveCalibration.commRows(in: directory).filter { !KernelReference.isHeldOut($0.system) }
        let ncclPoints = try CollectiveCalibration.calibrationRows(in: URL(fileURLWithPath: calibration))
        if let path = writeModelError {
            let validation = try Validation.rows(reference: URL(fileURLWithPath: calibration), scenarios: URL(fileURLWithPath: scenarios))
            let tables = try KernelReference.gemmRows(in: directory) + KernelReference.attentionRows(in: directory)
            let uncalibrated = ModelErrorCalibration.uncalibratedSD(
                heldOut: KernelCalibration.residuals(tables.filter { KernelReference.isHeldOut($0.system) }),
                sibling: KernelCalibration.residuals(tables.filter { $0.system.name == SystemSpec.gb200NVL72.name }))
            let start = Date()
            let leftOut = try ModelErrorCalibration.leaveOneOut(validation, kernelRows: all, collectiveRows: comm + ncclPoints,
                                                                scenarios: URL(fileURLWithPath: scenarios))
            let table = ModelErrorTable.measure(ModelErrorTable.entries(leftOut, validation: validation), uncalibratedSD: uncalibrated)
            let coverage = ModelErrorCalibration.coverage(leftOut, validation: validation, uncalibratedSD: uncalibrated)
            var comment = [String(format: "Leave-one-out coverage of the 90%% prediction interval: %d of %d rows (%.0f%%), refits in %.0f s.",
                                  coverage.covered, coverage.total, 100 * Double(coverage.covered) / Double(Swift.max(coverage.total, 1)),
                                  Date().timeIntervalSince(start))]
            if !coverage.misses.isEmpty { comment.append("Outside their interval: " + coverage.misses.joined(separator: "; ") + ".") }
            comment.append(String(format: "Uncalibrated-system SD %.4f: the GB300/GB200 time ratios of the kernel rows held out of the fit, predicted against measured.", uncalibrated))
            for line in comment { print(line) }
            for area in ErrorArea.allCases {
                guard let a = table.areas[area] else { continue }
                print(String(format: "  %@: %d rows, RMS log error %.4f (×%.3f); within-benchmark SD %.4f over %d degrees of freedom",
                             area.rawValue, a.rows, a.logRMS, exp(a.logRMS), a.withinSD, a.withinDegrees))
            }
            try Data(table.swiftSource(comment: comment, leftOut: leftOut).utf8).write(to: URL(fileURLWithPath: path))
            printError("wrote \(path); rebuild to use it")
            return
        }
        if ensemble > 0 {
            let start = Date()
            let kernels = try CalibrationEnsemble.kernelMembers(all, count: ensemble, seed: ensembleSeed)
            printError(String(format: "kernel ensemble: %d members in %.0f s", ensemble, Date().timeIntervalSince(start)))
            let collectives = try CalibrationEnsemble.collectiveMembers(comm + ncclPoints, count: ensemble, seed: ensembleSeed)
            printError(String(format: "collective ensemble: %d members in %.0f s", ensemble, Date().timeIntervalSince(start)))
            if let path = writeKernelEnsemble {
                try Data(CalibrationEnsemble.kernelSource(kernels, seed: ensembleSeed).utf8).write(to: URL(fileURLWithPath: path))
                printError("wrote \(path)")
            }
            if let path = writeCollectiveEnsemble {
                try Data(CalibrationEnsemble.collectiveSource(collectives, seed: ensembleSeed).utf8).write(to: URL(fileURLWithPath: path))
                printError("wrote \(path)")
            }
            return
        }
        if let writeCollectives {
            let fitted = try CollectiveCalibration.fit(comm + ncclPoints)
            let timing = { (a: Architecture) in a.calibrationFamily == .hopper ? fitted.hopper : fitted.blackwell }
            let nic = try CollectiveCalibration.fitNICEfficiency(ncclPoints, timing: timing)
            let after = [("kernels/comm.csv", CollectiveCalibration.figures(comm, timing: timing)),
                         ("calibration.csv NCCL rows", CollectiveCalibration.figures(ncclPoints, timing: timing, nicEfficiency: nic))]
            for (name, f) in after { print("\(name): \(f)") }
            try Data(CollectiveCalibration.swiftSource(hopper: fitted.hopper, blackwell: fitted.blackwell, nic: nic, figures: after).utf8)
                .write(to: URL(fileURLWithPath: writeCollectives))
            printError("wrote \(writeCollectives); rebuild to use the new timings")
        }
        guard let write else {
            for (name, f) in figures() { print("\(name): \(f)") }
            print("kernels/comm.csv: \(CollectiveCalibration.figures(comm))")
            print("calibration.csv NCCL rows: \(CollectiveCalibration.figures(ncclPoints))")
            // The frameworks' own all-reduces: fitted here, written by hand into
            // Sources/Cluster/CustomAllReduce+Calibrated.swift.
            print("custom all-reduce fits (kernels/comm.csv graph rows; latency per shot, share of NVLink bandwidth):")
            for f in CustomAllReduceCalibration.fit(try CustomAllReduceCalibration.rows(in: directory).filter { !KernelReference.isHeldOut($0.system) }) {
                print(String(format: "  %@ %@: latency %.2f µs, efficiency %.2f; %@", f.implementation.rawValue, f.family.rawValue,
                             f.model.latency * 1e6, f.model.efficiency, f.figures.description))
            }
            print("expert all-to-all fits (kernels/comm-extra.csv, DeepEP; latency, share of NVLink bandwidth):")
            for f in ExpertAllToAllCalibration.fit(try ExpertAllToAllCalibration.rows(in: directory).filter { !KernelReference.isHeldOut($0.system) }) {
                print(String(format: "  %@ %@: latency %.2f µs, efficiency %.3f; %@", f.lowLatency ? "low-latency" : "normal", f.family.rawValue,
                             f.model.latency * 1e6, f.model.efficiency, f.figures.description))
            }
            print("calibration.csv kernel points, (predicted − measured) / measured of the row's TFLOP/s or TB/s as validate prints it:")
            for r in KernelCalibration.residuals(points) {
                print(String(format: "  %@: %+.1f%%", r.measurement.label, r.rateError * 100))
            }
            if worst > 0 {
                print("the \(worst) rows the model misses most, (predicted − measured) / measured of the kernel's time:")
                let sorted = KernelCalibration.residuals(all).sorted { abs($0.relativeError) > abs($1.relativeError) }
                for r in sorted.prefix(worst) {
                    print(String(format: "  %@: %+.1f%%", r.measurement.label, r.relativeError * 100))
                }
            }
            return
        }
        let fitted = try KernelCalibration.fit(all)
        let after: [(String, KernelCalibration.Figures)] = [
            ("kernels/gemm.csv", .init(KernelCalibration.residuals(gemm) { $0.calibrationFamily == .hopper ? fitted.hopper : fitted.blackwell })),
            ("kernels/attention.csv", .init(KernelCalibration.residuals(attention) { $0.calibrationFamily == .hopper ? fitted.hopper : fitted.blackwell })),
            ("calibration.csv kernel rows", .init(KernelCalibration.residuals(points) { $0.calibrationFamily == .hopper ? fitted.hopper : fitted.blackwell })),
        ]
        for (name, f) in after { print("\(name): \(f)") }
        let source = KernelCalibration.swiftSource(hopper: fitted.hopper, blackwell: fitted.blackwell, figures: after)
        try Data(source.utf8).write(to: URL(fileURLWithPath: write))
        printError("wrote \(write); rebuild to use the new factors")
    }
}
