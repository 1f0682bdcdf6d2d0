// The frameworks' own all-reduces against kernels/comm.csv's rows for them (all_reduce_trtllm,
// all_reduce_vllm_graph, all_reduce_sglang_graph: CUDA-graph timed; the eager rows include host
// launch and the clone and are left out, as kernels/README.md advises). Per framework and GPU
// family the shot latency and the bandwidth share are fitted by a grid search in log space
// (least squares of log(predicted / measured)), NCCL's own model as the fallback.
import Cluster
import Foundation
import Hardware
import Network
import Report
import Workloads

public enum CustomAllReduceCalibration {
    public struct Row: Sendable {
        public var label: String
        public var system: SystemSpec
        public var implementation: AllReduceImplementation
        public var ranks: Int
        public var bytes: Double
        public var seconds: Double
    }

    static let ops: [String: AllReduceImplementation] = ["all_reduce_trtllm": .trtllm, "all_reduce_vllm_graph": .vllm, "all_reduce_sglang_graph": .sglang]

    public static func rows(in directory: URL) throws -> [Row] {
        try CSVTable(contentsOf: directory.appendingPathComponent("kernels/comm.csv").path).records.compactMap { r in
            guard let implementation = ops[r["op"] ?? ""], let system = KernelReference.systems[r["system"] ?? ""],
                  let n = Int(r["gpus"] ?? ""), let bytes = Double(r["message_bytes"] ?? ""), let ms = Double(r["latency_ms"] ?? "") else { return nil }
            return Row(label: "\(r["op"]!) \(system.name) n=\(n) \(Int(bytes)) B", system: system, implementation: implementation, ranks: n,
                       bytes: bytes, seconds: ms * 1e-3)
        }
    }

    /// NCCL's modelled time for a row (the fallback).
    static func nccl(_ row: Row) -> Double {
        GroupCollective(layout: DomainLayout(gpus: row.ranks, perDomain: row.ranks), gpu: row.system.gpu).seconds(.allReduce, bytes: row.bytes)
    }

    public static func predicted(_ row: Row, _ model: CustomAllReduce) -> Double {
        model.seconds(bytes: row.bytes, ranks: row.ranks, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection, nccl: nccl(row))
    }

    /// The calibrated model's errors over `rows` (each row with its framework and family's fit).
    public static func figures(_ rows: [Row]) -> KernelCalibration.Figures {
        let models = rows.map { CustomAllReduce.calibrated($0.implementation, for: $0.system.gpu.architecture) }
        return KernelCalibration.Figures(labels: rows.map(\.label), predicted: zip(rows, models).map { row, m in m.map { predicted(row, $0) } ?? nccl(row) },
                                         measured: rows.map(\.seconds))
    }

    /// The least-squares fit of each (framework, family) over a log grid of latencies
    /// (0.5–50 µs) and a grid of bandwidth shares (0.2–1).
    public static func fit(_ rows: [Row]) -> [(implementation: AllReduceImplementation, family: Architecture, model: CustomAllReduce, figures: KernelCalibration.Figures)] {
        var results: [(AllReduceImplementation, Architecture, CustomAllReduce, KernelCalibration.Figures)] = []
        for implementation in [AllReduceImplementation.trtllm, .vllm, .sglang] {
            for family in [Architecture.hopper, .blackwell] {
                let group = rows.filter { $0.implementation == implementation && $0.system.gpu.architecture == family }
                guard !group.isEmpty else { continue }
                let fallback = group.map(nccl)
                var best = (error: Double.infinity, model: CustomAllReduce(latency: 1e-5, efficiency: 1))
                for i in 0...200 {
                    let latency = 0.5e-6 * pow(100, Double(i) / 200)
                    for j in 0...80 {
                        let model = CustomAllReduce(latency: latency, efficiency: 0.2 + 0.01 * Double(j))
                        var error = 0.0
                        for (row, n) in zip(group, fallback) {
                            let e = log(model.seconds(bytes: row.bytes, ranks: row.ranks, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection, nccl: n) / row.seconds)
                            error += e * e
                        }
                        if error < best.error { best = (error, model) }
                    }
                }
                let figures = KernelCalibration.Figures(labels: group.map(\.label), predicted: zip(group, fallback).map { row, n in
                    best.model.seconds(bytes: row.bytes, ranks: row.ranks, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection, nccl: n)
                }, measured: group.map(\.seconds))
                results.append((implementation, family, best.model, figures))
            }
        }
        return results
    }
}

/// DeepEP's dispatch and combine against kernels/comm-extra.csv, fitted per mode and family as
/// the custom all-reduces are (normal mode on its 24-SM rows).
public enum ExpertAllToAllCalibration {
    public struct Row: Sendable {
        public var label: String
        public var system: SystemSpec
        public var lowLatency: Bool
        public var remoteBytes: Double
        public var seconds: Double
    }

    public static func rows(in directory: URL) throws -> [Row] {
        try KernelReference.expertAllToAllRows(in: directory, mode: "ll").compactMap { row(from: $0, lowLatency: true) }
            + KernelReference.expertAllToAllRows(in: directory, mode: "normal").filter { $0.label.hasSuffix("sms=24") }.compactMap { row(from: $0, lowLatency: false) }
    }

    static func row(from m: KernelMeasurement, lowLatency: Bool) -> Row? {
        guard case let .expertAllToAll(tokens, hidden, experts, topK, ranks, bytes, _) = m.shape else { return nil }
        let buffer = ExpertParallelism.dispatchBuffer(tokens: tokens, hidden: hidden, bytesPerElement: bytes, experts: experts, topK: topK, ep: ranks)
        return Row(label: m.label, system: m.system, lowLatency: lowLatency, remoteBytes: buffer * Double(ranks - 1) / Double(ranks), seconds: m.seconds)
    }

    public static func figures(_ rows: [Row], model: (Row) -> ExpertAllToAll = { ExpertAllToAll.calibrated(lowLatency: $0.lowLatency, for: $0.system.gpu.architecture) })
        -> KernelCalibration.Figures {
        KernelCalibration.Figures(labels: rows.map(\.label), predicted: rows.map { model($0).seconds(remoteBytes: $0.remoteBytes, bandwidth: $0.system.gpu.nvlinkBandwidthPerDirection) },
                                  measured: rows.map(\.seconds))
    }

    public static func fit(_ rows: [Row]) -> [(lowLatency: Bool, family: Architecture, model: ExpertAllToAll, figures: KernelCalibration.Figures)] {
        var results: [(Bool, Architecture, ExpertAllToAll, KernelCalibration.Figures)] = []
        for lowLatency in [true, false] {
            for family in [Architecture.hopper, .blackwell] {
                let group = rows.filter { $0.lowLatency == lowLatency && ($0.system.gpu.architecture == .hopper) == (family == .hopper) }
                guard !group.isEmpty else { continue }
                var best = (error: Double.infinity, model: ExpertAllToAll(latency: 1e-5, efficiency: 1))
                for i in 0...200 {
                    let latency = 1e-6 * pow(100, Double(i) / 200)
                    for j in 0...99 {
                        let model = ExpertAllToAll(latency: latency, efficiency: 0.01 + 0.01 * Double(j))
                        var error = 0.0
                        for row in group {
                            let e = log(model.seconds(remoteBytes: row.remoteBytes, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection) / row.seconds)
                            error += e * e
                        }
                        if error < best.error { best = (error, model) }
                    }
                }
                results.append((lowLatency, family, best.model, figures(group) { _ in best.model }))
            }
        }
        return results
    }
}
