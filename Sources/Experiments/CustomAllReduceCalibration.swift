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

/// The model of a (latency, efficiency) pair minimising `squaredLogError` (Σ log²(predicted /
/// measured) over a group's rows): latencies on a log grid of 201 points over two decades from
/// `lowestLatency`, efficiencies on `efficiencies`; the first of equal errors.
func gridFit<Model>(lowestLatency: Double, efficiencies: [Double], squaredLogError: (Model) -> Double, make: (Double, Double) -> Model) -> Model {
    var best = (error: Double.infinity, model: make(lowestLatency, efficiencies[0]))
    for i in 0...200 {
        let latency = lowestLatency * pow(100, Double(i) / 200)
        for efficiency in efficiencies {
            let model = make(latency, efficiency)
            let error = squaredLogError(model)
            if error < best.error { best = (error, model) }
        }
    }
    return best.model
}

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
                let fitted = gridFit(lowestLatency: 0.5e-6, efficiencies: (0...80).map { 0.2 + 0.01 * Double($0) }) { model in
                    zip(group, fallback).reduce(0.0) { total, item in
                        let e = log(model.seconds(bytes: item.0.bytes, ranks: item.0.ranks, bandwidth: item.0.system.gpu.nvlinkBandwidthPerDirection,
                                                  nccl: item.1) / item.0.seconds)
                        return total + e * e
                    }
                } make: { CustomAllReduce(latency: $0, efficiency: $1) }
                let figures = KernelCalibration.Figures(labels: group.map(\.label), predicted: zip(group, fallback).map { row, n in
                    fitted.seconds(bytes: row.bytes, ranks: row.ranks, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection, nccl: n)
                }, measured: group.map(\.seconds))
                results.append((implementation, family, fitted, figures))
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
                let fitted = gridFit(lowestLatency: 1e-6, efficiencies: (0...99).map { 0.01 + 0.01 * Double($0) }) { model in
                    group.reduce(0.0) { total, row in
                        let e = log(model.seconds(remoteBytes: row.remoteBytes, bandwidth: row.system.gpu.nvlinkBandwidthPerDirection) / row.seconds)
                        return total + e * e
                    }
                } make: { ExpertAllToAll(latency: $0, efficiency: $1) }
                results.append((lowLatency, family, fitted, figures(group) { _ in fitted }))
            }
        }
        return results
    }
}
