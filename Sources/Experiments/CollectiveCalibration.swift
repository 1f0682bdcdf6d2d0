// Collective timings against measurements: kernels/comm.csv (nccl-tests, NCCL 2.29.2, 2 to 8
// GPUs, 1 KiB to 512 MiB) and the NCCL rows of calibration.csv; and the fit of CollectiveTiming.
// TensorRT-LLM's own all-reduce (all_reduce_trtllm rows) is a different implementation and is
// not modelled here.
import Cluster
import Foundation
import Hardware
import Network
import Report
import Stats

public struct CollectiveMeasurement: Sendable {
    public var label: String
    public var system: SystemSpec
    public var operation: CollectiveOperation
    /// The algorithm the measurement forced, or nil when NCCL chose (the model then picks the fastest).
    public var algorithm: CollectiveAlgorithm?
    public var ranks: Int
    public var bytes: Double
    public var seconds: Double
    public var isCalibrationPoint: Bool

    /// The model's time with `timing`.
    public func predicted(_ timing: CollectiveTiming) -> Double {
        let bandwidth = system.gpu.nvlinkBandwidthPerDirection
        if let algorithm {
            return CollectiveRun.seconds(CollectivePlanner.plan(operation, bytes: bytes, ranks: ranks, algorithm: algorithm), bandwidth: bandwidth, timing: timing)
        }
        return CollectiveRun.fastest(operation, bytes: bytes, ranks: ranks, nvls: system.gpu.nvls, bandwidth: bandwidth, timing: timing).seconds
    }
}

public enum CollectiveCalibration {
    public static func commRows(in directory: URL) throws -> [CollectiveMeasurement] {
        try CSVTable(contentsOf: directory.appendingPathComponent("kernels/comm.csv").path).records.compactMap { r in
            guard let system = KernelReference.systems[r["system"] ?? ""], let op = CollectiveOperation(rawValue: r["op"] ?? ""),
                  let n = Int(r["gpus"] ?? ""), let bytes = Double(r["message_bytes"] ?? ""), let ms = Double(r["latency_ms"] ?? "")
            else { return nil }
            return CollectiveMeasurement(label: "\(op.rawValue) \(system.name) n=\(n) \(Int(bytes)) B", system: system, operation: op,
                                         algorithm: nil, ranks: n, bytes: bytes, seconds: ms * 1e-3, isCalibrationPoint: false)
        }
    }

    /// NCCL all-reduce bus bandwidths of calibration.csv, by id, with the configuration its
    /// `config` column states (size, NVLS on or off). Values are read from the file.
    static let calibrationShapes: [(id: String, system: SystemSpec, ranks: Int, bytes: Double, algorithm: CollectiveAlgorithm)] = [
        ("NCCL03", .h100SXM, 8, 8e9, .nvls),                 // 8 GB, NVLS
        ("NCCL02", .h200SXM, 8, 8 * 1_073_741_824, .ring),   // 8 GiB, NCCL_NVLS_ENABLE=0
        ("NCCL06", .b200, 8, 8 * 1_073_741_824, .nvls),      // 8 GiB, NVLS on
        ("NCCL07", .b200, 8, 8 * 1_073_741_824, .ring),      // 8 GiB, NVLS off
        ("NCCL10", .gb200NVL72, 72, 8 * 1_073_741_824, .nvls), // 8 GiB, MNNVL + NVLS, one rack
    ]

    public static func calibrationRows(in file: URL) throws -> [CollectiveMeasurement] {
        let records = try CSVTable(contentsOf: file.path).records
        return calibrationShapes.compactMap { id, system, n, bytes, algorithm in
            guard let r = records.first(where: { $0["id"] == id }), let busbw = Double(r["value"] ?? "") else { return nil }
            let algbw = busbw * 1e9 / CollectiveOperation.allReduce.busBandwidthFactor(ranks: n)
            return CollectiveMeasurement(label: "\(id) (\(r["config"] ?? ""))", system: system, operation: .allReduce, algorithm: algorithm,
                                         ranks: n, bytes: bytes, seconds: bytes / algbw, isCalibrationPoint: true)
        }
    }

    public static func figures(_ rows: [CollectiveMeasurement], timing: (Architecture) -> CollectiveTiming = CollectiveTiming.calibrated) -> KernelCalibration.Figures {
        KernelCalibration.Figures(labels: rows.map(\.label), predicted: rows.map { $0.predicted(timing($0.system.gpu.architecture)) }, measured: rows.map(\.seconds))
    }

    /// Fits each family's timing (log-space least squares, calibration points weighing 20
    /// rows as for kernels). Parameters: latencies through exp (µs), efficiencies through a logistic.
    public static func fit(_ rows: [CollectiveMeasurement]) throws -> (hopper: CollectiveTiming, blackwell: CollectiveTiming) {
        func timing(_ x: [Double]) -> CollectiveTiming {
            CollectiveTiming(baseLatency: exp(x[0]) * 1e-6, stepLatency: exp(x[1]) * 1e-6,
                             linkEfficiency: 1 / (1 + exp(-x[2])), nvlsEfficiency: 1 / (1 + exp(-x[3])), nvlsLatency: exp(x[4]) * 1e-6,
                             chunkBytes: exp(x[5]) * 1e3)
        }
        func free(_ t: CollectiveTiming) -> [Double] {
            [log(t.baseLatency * 1e6), log(t.stepLatency * 1e6), log(t.linkEfficiency / (1 - t.linkEfficiency)), log(t.nvlsEfficiency / (1 - t.nvlsEfficiency)), log(t.nvlsLatency * 1e6), log(Swift.max(t.chunkBytes, 1e3) / 1e3)]
        }
        var result: [Architecture: CollectiveTiming] = [:]
        for family in [Architecture.hopper, .blackwell] {
            let familyRows = rows.filter { $0.system.gpu.architecture.calibrationFamily == family }
            func loss(_ x: [Double]) -> Double {
                let t = timing(x)
                var total = 0.0, weight = 0.0
                for row in familyRows {
                    let w = row.isCalibrationPoint ? KernelCalibration.calibrationPointWeight : 1
                    let e = log(row.predicted(t) / row.seconds)
                    total += w * e * e
                    weight += w
                }
                return total / weight
            }
            var best = free(CollectiveTiming.calibrated(for: family))
            var bestValue = loss(best)
            for _ in 0..<6 {
                let r = try minimizeNelderMead(start: best, steps: best.map { _ in 0.3 }, tolerance: 1e-5, loss)
                guard r.value < bestValue - 1e-6 else { break }
                best = r.point
                bestValue = r.value
            }
            result[family] = timing(best)
        }
        return (result[.hopper]!, result[.blackwell]!)
    }

    public static func swiftSource(hopper: CollectiveTiming, blackwell: CollectiveTiming, figures: [(String, KernelCalibration.Figures)]) -> String {
        func literal(_ t: CollectiveTiming) -> String {
            String(format: "CollectiveTiming(baseLatency: %.4g, stepLatency: %.4g, linkEfficiency: %.4g, nvlsEfficiency: %.4g, nvlsLatency: %.4g, chunkBytes: %.4g)",
                   t.baseLatency, t.stepLatency, t.linkEfficiency, t.nvlsEfficiency, t.nvlsLatency, t.chunkBytes)
        }
        var text = """
        // Generated by `make calibrate` (clustersim calibrate); do not edit by hand.
        // Fitted to ../shared/reference/kernels/comm.csv (nccl-tests under NCCL 2.29.2 on H100, H200,
        // B200 and GB200; all_reduce, all_gather, reduce_scatter, alltoall) and the NCCL rows of
        // calibration.csv (NCCL02, NCCL03, NCCL06, NCCL07, NCCL10). Blackwell Ultra uses Blackwell's.
        // Fit quality with these factors:

        """
        for (name, f) in figures { text += "//   \(name): \(f)\n" }
        text += """
        import Hardware

        extension CollectiveTiming {
            public static let hopperCalibrated = \(literal(hopper))
            public static let blackwellCalibrated = \(literal(blackwell))

            /// The timing for an architecture (Blackwell Ultra uses Blackwell's: same NVLink 5 and NCCL).
            public static func calibrated(for architecture: Architecture) -> CollectiveTiming {
                architecture.calibrationFamily == .hopper ? hopperCalibrated : blackwellCalibrated
            }
        }

        """
        return text
    }
}
