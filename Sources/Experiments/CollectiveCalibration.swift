// Collective timings against measurements: kernels/comm.csv (nccl-tests, NCCL 2.29.2, 2 to 8
// GPUs, 1 KiB to 512 MiB) and the NCCL rows of calibration.csv; and the fit of CollectiveTiming.
// The framework all-reduces (all_reduce_trtllm, _vllm_graph, _sglang_graph rows) are fitted
// in CustomAllReduceCalibration.swift.
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
    /// GPUs per NVLink domain when the ranks span several (joined by their NICs), else nil,
    /// and the NICs' transport.
    public var perDomain: Int? = nil
    public var transport: ScaleOutTransport = .infiniband

    /// The model's time with NVLink `timing` and, across domains, the NICs' share of their
    /// bandwidth `nicEfficiency` (nil: the calibrated one).
    public func predicted(_ timing: CollectiveTiming, nicEfficiency: Double? = nil) -> Double {
        guard let perDomain else {
            return CollectiveRun.fastest(operation, bytes: bytes, ranks: ranks, nvls: system.gpu.nvls, bandwidth: system.gpu.nvlinkBandwidthPerDirection,
                                         timing: timing, algorithm: algorithm).seconds
        }
        var group = GroupCollective(layout: DomainLayout(gpus: ranks, perDomain: perDomain), gpu: system.gpu)
        group.timing = timing
        group.scaleOut = .scaleOut(from: timing, nicEfficiency: nicEfficiency ?? CollectiveTiming.nicEfficiency(for: system.gpu.architecture, transport: transport))
        return group.seconds(operation, bytes: bytes)
    }
}

/// Efficiencies are fitted through a logistic, so every trial point is a share in (0, 1).
private func logistic(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
private func logit(_ p: Double) -> Double { log(p / (1 - p)) }

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
    /// `config` column states (size, NVLS on or off, nodes). Values are read from the file.
    /// The multi-node rows (GPUs per NVLink domain given) run as NCCL chose, over 400 Gb/s NICs.
    static let calibrationShapes: [(id: String, system: SystemSpec, ranks: Int, bytes: Double, algorithm: CollectiveAlgorithm?,
                                    nodes: (perDomain: Int, transport: ScaleOutTransport)?)] = [
        ("NCCL03", .h100SXM, 8, 8e9, .nvls, nil),                 // 8 GB, NVLS
        ("NCCL02", .h200SXM, 8, 8 * 1_073_741_824, .ring, nil),   // 8 GiB, NCCL_NVLS_ENABLE=0
        ("NCCL06", .b200, 8, 8 * 1_073_741_824, .nvls, nil),      // 8 GiB, NVLS on
        ("NCCL07", .b200, 8, 8 * 1_073_741_824, .ring, nil),      // 8 GiB, NVLS off
        ("NCCL10", .gb200NVL72, 72, 8 * 1_073_741_824, .nvls, nil), // 8 GiB, MNNVL + NVLS, one rack
        ("NCCL08", .b200, 32, 16 * 1_073_741_824, nil, (8, .efa)),    // 4 nodes × 8, 8 × EFA v4 400G per node, 16 GiB
        ("NCCL15", .h100SXM, 32, 4 * 1_073_741_824, nil, (8, .roce)), // 4 nodes, 8 × 400G RoCE, 4–8 GiB: the smaller
    ]

    public static func calibrationRows(in file: URL) throws -> [CollectiveMeasurement] {
        let records = try CSVTable(contentsOf: file.path).records
        return calibrationShapes.compactMap { id, system, n, bytes, algorithm, nodes in
            guard let r = records.first(where: { $0["id"] == id }), let busbw = Double(r["value"] ?? "") else { return nil }
            let algbw = busbw * 1e9 / CollectiveOperation.allReduce.busBandwidthFactor(ranks: n)
            return CollectiveMeasurement(label: "\(id) (\(r["config"] ?? ""))", system: system, operation: .allReduce, algorithm: algorithm,
                                         ranks: n, bytes: bytes, seconds: bytes / algbw, isCalibrationPoint: true,
                                         perDomain: nodes?.perDomain, transport: nodes?.transport ?? .infiniband)
        }
    }

    /// `nicEfficiency`: per transport, in place of the calibrated ones (nil: calibrated).
    public static func figures(_ rows: [CollectiveMeasurement], timing: (Architecture) -> CollectiveTiming = CollectiveTiming.calibrated,
                               nicEfficiency: [ScaleOutTransport: Double] = [:]) -> KernelCalibration.Figures {
        KernelCalibration.Figures(labels: rows.map(\.label), predicted: rows.map {
            $0.predicted(timing($0.system.gpu.architecture), nicEfficiency: nicEfficiency[$0.transport])
        }, measured: rows.map(\.seconds))
    }

    /// Fits each transport's NIC efficiency (the share of a NIC's bandwidth a rail phase
    /// achieves) to the multi-node rows over it, with the NVLink `timing` fixed: RoCE to the 32
    /// H100 of NCCL15, EFA to the 32 B200 of NCCL08. InfiniBand has no row (see nicEfficiency).
    public static func fitNICEfficiency(_ rows: [CollectiveMeasurement], timing: (Architecture) -> CollectiveTiming) throws -> [ScaleOutTransport: Double] {
        var result: [ScaleOutTransport: Double] = [:]
        for transport in [ScaleOutTransport.roce, .efa] {
            let over = rows.filter { $0.perDomain != nil && $0.transport == transport }
            guard let first = over.first else { continue }
            let start = CollectiveTiming.nicEfficiency(for: first.system.gpu.architecture, transport: transport)
            let nvlink = over.map { timing($0.system.gpu.architecture) }
            func loss(_ x: [Double]) -> Double {
                zip(over, nvlink).map { pow(log($0.predicted($1, nicEfficiency: logistic(x[0])) / $0.seconds), 2) }.reduce(0, +) / Double(over.count)
            }
            let r = try minimizeNelderMead(start: [logit(start)], steps: [0.3], tolerance: 1e-8, loss)
            result[transport] = logistic(r.point[0])
        }
        return result
    }

    /// Where the fit of LL and LL128 starts when the current factors have none: NCCL's own
    /// tuning model for rings over NVLink (src/graph/tuning.cc: baseLat 6.6 and 14 µs, hwLat
    /// 0.6 and 1.9 µs per hop) and the bandwidth shares of Hu et al. 2025 (LL 25–50% of peak,
    /// LL128 ~95%).
    static let protocolStart = (ll: CollectiveTiming.ProtocolTiming(baseLatency: 6.6e-6, stepLatency: 0.6e-6, linkEfficiency: 0.25),
                                ll128: CollectiveTiming.ProtocolTiming(baseLatency: 14e-6, stepLatency: 1.9e-6, linkEfficiency: 0.7))

    /// NCCL's own values, by index into the fit's parameters (in their units: µs, kB). Latencies
    /// over NVLink from src/graph/tuning.cc (baseLat and hwLat[NVLINK] for rings: Simple 8.4 and
    /// 3.4, LL 6.6 and 0.6, LL128 14 and 1.9; hwLat[NVLINK][NVLS] 25); Simple's ring chunk is
    /// NCCL_BUFFSIZE (4 MiB) over NCCL_STEPS (8) times the 4 steps a chunk spans (src/enqueue.cc),
    /// 2 MiB. A weak prior: a factor 3 away is one standard deviation, weighed as if each row had
    /// a 10% error, so the data decide where they can and what the tables cannot see (LL128's
    /// latency, with no sizes between 64 KiB and 1 MiB) stays near NCCL's instead of drifting to
    /// zero or to 100 µs.
    static let prior: [(index: Int, value: Double)] = [(0, 8.4), (1, 3.4), (4, 25), (5, 2_097.152), (6, 6.6), (7, 0.6), (9, 14), (10, 1.9)]

    /// Fits each family's timing (log-space least squares, calibration points weighing 20
    /// rows as for kernels, plus `prior`). Parameters: latencies through exp (µs), efficiencies through a
    /// logistic; LL's and LL128's are shares of Simple's times their payload fractions (the
    /// same link and copy loop, with flags in place of some data), so neither can outrun Simple.
    /// `families`: the families to refit; the others keep their calibrated timing.
    public static func fit(_ rows: [CollectiveMeasurement], families: [Architecture] = [.hopper, .blackwell]) throws -> (hopper: CollectiveTiming, blackwell: CollectiveTiming) {
        let llCap = CollectiveProtocol.ll.payloadFraction, ll128Cap = CollectiveProtocol.ll128.payloadFraction
        func timing(_ x: [Double]) -> CollectiveTiming {
            CollectiveTiming(baseLatency: exp(x[0]) * 1e-6, stepLatency: exp(x[1]) * 1e-6,
                             linkEfficiency: logistic(x[2]), nvlsEfficiency: logistic(x[3]), nvlsLatency: exp(x[4]) * 1e-6,
                             chunkBytes: exp(x[5]) * 1e3,
                             ll: .init(baseLatency: exp(x[6]) * 1e-6, stepLatency: exp(x[7]) * 1e-6, linkEfficiency: logistic(x[2]) * llCap * logistic(x[8])),
                             ll128: .init(baseLatency: exp(x[9]) * 1e-6, stepLatency: exp(x[10]) * 1e-6,
                                          linkEfficiency: logistic(x[2]) * ll128Cap * logistic(x[11])))
        }
        func free(_ t: CollectiveTiming) -> [Double] {
            let ll = t.ll ?? protocolStart.ll, ll128 = t.ll128 ?? protocolStart.ll128
            return [log(t.baseLatency * 1e6), log(t.stepLatency * 1e6), logit(t.linkEfficiency), logit(t.nvlsEfficiency), log(t.nvlsLatency * 1e6),
                    log(Swift.max(t.chunkBytes, 1e3) / 1e3),
                    log(ll.baseLatency * 1e6), log(ll.stepLatency * 1e6), logit(Swift.min(ll.linkEfficiency / t.linkEfficiency / llCap, 0.999)),
                    log(ll128.baseLatency * 1e6), log(ll128.stepLatency * 1e6), logit(Swift.min(ll128.linkEfficiency / t.linkEfficiency / ll128Cap, 0.999))]
        }
        var result: [Architecture: CollectiveTiming] = [.hopper: .hopperCalibrated, .blackwell: .blackwellCalibrated]
        for family in families {
            let familyRows = rows.filter { $0.perDomain == nil && $0.system.gpu.architecture.calibrationFamily == family }
            func loss(_ x: [Double]) -> Double {
                let t = timing(x)
                var total = 0.0, weight = 0.0
                for row in familyRows {
                    let w = row.isCalibrationPoint ? KernelCalibration.calibrationPointWeight : 1
                    let e = log(row.predicted(t) / row.seconds)
                    total += w * e * e
                    weight += w
                }
                let prior = Self.prior.map { pow((x[$0.index] - log($0.value)) / log(3), 2) }.reduce(0, +)
                return (total + 0.1 * 0.1 * prior) / weight
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

    /// A timing as Swift source, its LL and LL128 parts after `separator`.
    static func timingLiteral(_ t: CollectiveTiming, separator: String) -> String {
        func own(_ p: CollectiveTiming.ProtocolTiming?) -> String {
            guard let p else { return "nil" }
            return String(format: ".init(baseLatency: %.4g, stepLatency: %.4g, linkEfficiency: %.4g)", p.baseLatency, p.stepLatency, p.linkEfficiency)
        }
        return String(format: "CollectiveTiming(baseLatency: %.4g, stepLatency: %.4g, linkEfficiency: %.4g, nvlsEfficiency: %.4g, nvlsLatency: %.4g, chunkBytes: %.4g,",
                      t.baseLatency, t.stepLatency, t.linkEfficiency, t.nvlsEfficiency, t.nvlsLatency, t.chunkBytes)
            + "\(separator)ll: \(own(t.ll)),\(separator)ll128: \(own(t.ll128)))"
    }

    public static func swiftSource(hopper: CollectiveTiming, blackwell: CollectiveTiming, nic: [ScaleOutTransport: Double],
                                   figures: [(String, KernelCalibration.Figures)]) -> String {
        func literal(_ t: CollectiveTiming) -> String { timingLiteral(t, separator: "\n        ") }
        var text = """
        // Generated by `make calibrate` (clustersim calibrate); do not edit by hand.
        // Fitted to ../shared/reference/kernels/comm.csv (nccl-tests under NCCL 2.29.2 on H100, H200,
        // B200 and GB200; all_reduce, all_gather, reduce_scatter, alltoall) and the NCCL rows of
        // calibration.csv (NCCL02, NCCL03, NCCL06, NCCL07, NCCL10). Blackwell Ultra uses Blackwell's.
        // Top-level factors are the Simple protocol's; ll and ll128 the fine-grained protocols'.
        // NIC efficiencies (the share of a NIC's bandwidth a rail phase achieves) are fitted to the
        // multi-node rows over each transport, NCCL15 (H100, RoCE) and NCCL08 (B200, EFA), with the
        // NVLink factors fixed.
        // Fit quality with these factors:

        """
        for (name, f) in figures { text += "//   \(name): \(f)\n" }
        text += """
        import Hardware

        extension CollectiveTiming {
            public static let hopperCalibrated = \(literal(hopper))
            public static let blackwellCalibrated = \(literal(blackwell))
            public static let roceNICEfficiency = \(String(format: "%.4g", nic[.roce] ?? CollectiveTiming.roceNICEfficiency))
            public static let efaNICEfficiency = \(String(format: "%.4g", nic[.efa] ?? CollectiveTiming.efaNICEfficiency))

            /// The timing for an architecture (Blackwell Ultra uses Blackwell's: same NVLink 5 and NCCL).
            public static func calibrated(for architecture: Architecture) -> CollectiveTiming {
                architecture.calibrationFamily == .hopper ? hopperCalibrated : blackwellCalibrated
            }
        }

        """
        return text
    }
}
