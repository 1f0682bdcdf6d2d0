// HBM capacity booked per GPU by category. Over-commit is an error that says by how much and
// what the memory went to.
import Foundation

public enum MemoryCategory: String, CaseIterable, Sendable {
    case weights, gradients, optimizerState = "optimizer_state", activations, kvCache = "kv_cache", workspace
}

/// Bytes booked on one GPU, by category, against its capacity.
public struct MemoryLedger: Sendable {
    public let device: String
    public let capacity: Double
    public private(set) var booked: [MemoryCategory: Double] = [:]

    public init(device: String, capacity: Double) {
        self.device = device
        self.capacity = capacity
    }

    public var total: Double { MemoryCategory.allCases.reduce(0) { $0 + (booked[$1] ?? 0) } }
    public var free: Double { capacity - total }

    /// Books `bytes` to `category`; throws (booking nothing) when the total would exceed capacity.
    public mutating func book(_ bytes: Double, _ category: MemoryCategory) throws(MemoryError) {
        precondition(bytes >= 0 && bytes.isFinite)
        var after = booked
        after[category, default: 0] += bytes
        let needed = MemoryCategory.allCases.reduce(0) { $0 + (after[$1] ?? 0) }
        guard needed <= capacity else { throw MemoryError(device: device, needed: needed, capacity: capacity, booked: after) }
        booked = after
    }

    /// Books several amounts at once, so that an over-commit reports all of them.
    public mutating func book(_ items: [(bytes: Double, category: MemoryCategory)]) throws(MemoryError) {
        var after = self
        for (bytes, category) in items { after.booked[category, default: 0] += bytes }
        guard after.total <= capacity else { throw MemoryError(device: device, needed: after.total, capacity: capacity, booked: after.booked) }
        self = after
    }

    /// Releases `bytes` from `category` (never below zero).
    public mutating func release(_ bytes: Double, _ category: MemoryCategory) {
        booked[category] = Swift.max(0, (booked[category] ?? 0) - bytes)
    }
}

/// A workload that does not fit in a GPU's memory.
public struct MemoryError: Error, Sendable, CustomStringConvertible {
    public var device: String
    public var needed: Double
    public var capacity: Double
    public var booked: [MemoryCategory: Double]

    /// "needs 212.4 GiB on gb200-nvl72 GPU 0, has 176.5 GiB: weights 140.0, kv_cache 60.2, ..."
    public var description: String {
        let parts = MemoryCategory.allCases.compactMap { c in booked[c].flatMap { $0 > 0 ? "\(c.rawValue) \(Self.gib($0))" : nil } }
        return "needs \(Self.gib(needed)) GiB on \(device), has \(Self.gib(capacity)) GiB: \(parts.joined(separator: ", ")) (GiB)"
    }

    static func gib(_ bytes: Double) -> String { String(format: "%.1f", bytes / 1_073_741_824) }
}
