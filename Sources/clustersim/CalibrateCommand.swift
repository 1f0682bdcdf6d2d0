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

    @Option(help: "The reference folder holding kernels/ (default: ../shared/reference).")
    var reference = "../shared/reference"

    @Option(help: "calibration.csv (default: scenarios/reference/calibration.csv).")
    var calibration = "scenarios/reference/calibration.csv"

    @Option(help: "Fit, then write the fitted factors to this Swift file.")
    var write: String?

    @Option(help: "Also list the N rows the model misses most, with their errors.")
    var worst = 0

    @Option(help: "Fit the collective timings and write them to this Swift file.")
    var writeCollectives: String?

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
            print("calibration.csv kernel points:")
            for r in KernelCalibration.residuals(points) {
                print(String(format: "  %@: %+.1f%%", r.measurement.label, r.relativeError * 100))
            }
            if worst > 0 {
                print("the \(worst) rows the model misses most:")
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
