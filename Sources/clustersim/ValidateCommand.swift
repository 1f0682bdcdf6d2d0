import ArgumentParser
import Cluster
import Experiments
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Compare the model's predictions with a reference of measurements (calibration.csv).",
        discussion: """
            For each row of REFERENCE.csv the model can reproduce — kernel and NCCL rows directly, \
            training, decode and serving rows through the scenarios in --scenarios named after \
            them — prints the measured value, the prediction and the error; rows without a \
            counterpart are listed as not modelled.
            """
    )

    @Argument(help: "The measurements, a reference CSV.", completion: .file(extensions: ["csv"]))
    var reference = "scenarios/reference/calibration.csv"

    @Option(help: "The folder of the scenarios that reproduce workload rows.")
    var scenarios = "scenarios/reference"

    @Option(help: "The reference folder holding kernels/; its tables are summarised when present.")
    var kernels = "../shared/reference"

    func run() throws {
        if reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") {
            throw InputError(message: "validate: \(reference) is a scenario; validate expects a reference CSV of measurements (default scenarios/reference/calibration.csv) and finds the scenarios that reproduce its rows in --scenarios (default scenarios/reference); to run a scenario use clustersim run \(reference)")
        }
        guard FileManager.default.fileExists(atPath: reference) else {
            throw InputError(message: "\(reference): no such file")
        }
        let rows = try Validation.rows(reference: URL(fileURLWithPath: reference), scenarios: URL(fileURLWithPath: scenarios))
        var lines = [["id", "kind", "measured", "predicted", "error", "unit"]]
        for r in rows {
            lines.append([r.id, r.kind, String(format: "%.4g", r.measured), r.predicted.map { String(format: "%.4g", $0) } ?? "not modelled",
                          r.error.map { String(format: "%+.1f%%", $0 * 100) } ?? "-", r.unit])
        }
        let widths = (0..<lines[0].count).map { c in lines.map { $0[c].count }.max() ?? 0 }
        for (i, line) in lines.enumerated() {
            print(line.enumerated().map { c, f in f + String(repeating: " ", count: widths[c] - f.count) }.joined(separator: "  "))
            if i == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        let errors = rows.compactMap(\.error).map(abs).sorted()
        print("error: (predicted − measured) / measured, of the row's own value and unit")
        if !errors.isEmpty {
            print(String(format: "%d of %d rows modelled; median |error| %.1f%%, max %.1f%%", errors.count, rows.count,
                         errors[errors.count / 2] * 100, errors.last! * 100))
        }
        // The kernel tables, when the reference folder is beside the clone (never copied here).
        let directory = URL(fileURLWithPath: kernels)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("kernels/gemm.csv").path) else { return }
        print("Kernel tables (\(kernels)/kernels; predicted against measured time):")
        let tables: [(String, [KernelMeasurement])] = [
            ("gemm.csv", try KernelReference.gemmRows(in: directory)),
            ("attention.csv", try KernelReference.attentionRows(in: directory)),
            ("mla.csv (generation)", try KernelReference.mlaRows(in: directory).filter { if case .mlaDecode = $0.shape { true } else { false } }),
            ("mla.csv (context)", try KernelReference.mlaRows(in: directory).filter { if case .mlaPrefill = $0.shape { true } else { false } }),
            ("moe.csv (balanced routing)", try KernelReference.moeRows(in: directory)),
            ("moe.csv (power-law routing, the busiest rank)", try KernelReference.moeRows(in: directory, powerLaw: true)),
        ]
        for (name, measurements) in tables where !measurements.isEmpty {
            let residuals = KernelCalibration.residuals(measurements)
            print("  \(name): \(KernelCalibration.Figures(residuals))")
            let gb300 = residuals.filter { KernelReference.isHeldOut($0.measurement.system) }
            guard !gb300.isEmpty else { continue }
            var line = "    of which GB300 (held out of every fit: datasheet numbers, Blackwell's factors): \(KernelCalibration.Figures(gb300))"
            if let r = KernelReference.pairedRatios(residuals, .gb300NVL72, .gb200NVL72) {
                line += String(format: "; GB300/GB200 time over %d shared rows, median: measured %.2f, predicted %.2f", r.count, r.measured, r.predicted)
            }
            print(line)
        }
        print("  comm.csv: \(CollectiveCalibration.figures(try CollectiveCalibration.commRows(in: directory)))")
        let expert = try ExpertAllToAllCalibration.rows(in: directory)
        print("  comm-extra.csv DeepEP low-latency dispatch and combine: \(ExpertAllToAllCalibration.figures(expert.filter(\.lowLatency)))")
        print("  comm-extra.csv DeepEP normal dispatch and combine (24 SMs): \(ExpertAllToAllCalibration.figures(expert.filter { !$0.lowLatency }))")
        let custom = try CustomAllReduceCalibration.rows(in: directory)
        for implementation in [AllReduceImplementation.trtllm, .vllm, .sglang] {
            let rows = custom.filter { $0.implementation == implementation }
            if !rows.isEmpty { print("  comm.csv \(implementation.rawValue) all-reduce (graph rows): \(CustomAllReduceCalibration.figures(rows))") }
        }
    }
}
