import Foundation
// Quantities with units, written as a person would: "900 GB/s", "192 GiB", "10 us",
// "2.5 PFLOPS", "400 Gb/s". Parsed here, once; everything after is SI base units as Double
// (seconds, bytes, bytes per second, FLOP, FLOP per second).
//
// Decimal prefixes (k, M, G, T, P, E) are powers of 1000 and binary ones (Ki, Mi, Gi, Ti, Pi,
// Ei) powers of 1024; they are never mixed up. A lower-case b is a bit, an upper-case B a byte.
// A bare number is already in SI base units.

/// What a quantity measures, which decides the units it may be written in.
public enum Dimension: String, Sendable, CaseIterable {
    case time
    case bytes
    case bandwidth
    case flops
    case flopRate
    case frequency
    case power
    /// Events per second ("10.7 T/s" exponentials).
    case rate
    case count

    /// An example to show in error messages.
    var example: String {
        switch self {
        case .time: "\"10 us\""
        case .bytes: "\"192 GiB\""
        case .bandwidth: "\"900 GB/s\""
        case .flops: "\"2 TFLOP\""
        case .flopRate: "\"2.5 PFLOPS\""
        case .frequency: "\"1.98 GHz\""
        case .power: "\"700 W\""
        case .rate: "\"10.7 T/s\""
        case .count: "\"1000\""
        }
    }

    /// The largest value a key of this dimension accepts unless its table row says otherwise:
    /// physical bounds with room to spare, so that no value the model computes from them
    /// overflows (a byte count stays far inside Int) and a typo such as 1e308 is caught before
    /// anything runs.
    public var ceiling: Double {
        switch self {
        case .time: 1e9  // ~32 years: no latency, interval or simulated period is longer
        case .bytes: 1e15  // 1 PB: 3,500 times the largest HBM (GB300, 288 GB) or any message
        case .bandwidth: 1e15  // 1 PB/s: 125 times HBM3e (8 TB/s) or a whole NVL72 domain
        case .flops: 1e30
        case .flopRate: 1e18  // 1 EFLOP/s per GPU: 60 times GB300's dense fp4 (15 PFLOPS)
        case .frequency: 1e11  // 100 GHz: 50 times any GPU clock
        case .power: 1e6  // 1 MW per GPU (GB300: 1.4 kW)
        case .rate: 1e15  // SFU exponentials per second per GPU (B200: ~10.7 T/s)
        case .count: 1e12
        }
    }

    var noun: String {
        switch self {
        case .time: "a time"
        case .bytes: "a size in bytes"
        case .bandwidth: "a bandwidth"
        case .flops: "an amount of FLOP"
        case .flopRate: "a FLOP rate"
        case .frequency: "a frequency"
        case .power: "a power"
        case .rate: "a rate per second"
        case .count: "a number"
        }
    }
}

public enum Quantity {
    /// Parses `text` as a quantity of `dimension`, in SI base units.
    /// Returns an explanation of what is wrong when it cannot.
    public static func parse(_ text: String, as dimension: Dimension) -> Result<Double, QuantityError> {
        let trimmed = text.trimmingWhitespace()
        let (numberText, unitText) = split(trimmed)
        guard let number = Double(numberText), number.isFinite else {
            return .failure(QuantityError(text: text, reason: "expected \(dimension.noun) such as \(dimension.example)"))
        }
        if unitText.isEmpty { return .success(number) }
        guard let (factor, found) = unit(unitText) else {
            return .failure(QuantityError(text: text, reason: "unknown unit \"\(unitText)\"; write \(dimension.noun) such as \(dimension.example)"))
        }
        guard found == dimension else {
            return .failure(QuantityError(text: text, reason: "expected \(dimension.noun) such as \(dimension.example), got \(found.noun)"))
        }
        let value = number * factor
        guard value.isFinite else {
            return .failure(QuantityError(text: text, reason: "too large: beyond \(String(format: "%g", Double.greatestFiniteMagnitude)) in base units"))
        }
        return .success(value)
    }

    /// Splits "2.5 PFLOPS" into ("2.5", "PFLOPS"); the number may use exponents ("1e9 B").
    static func split(_ text: String) -> (Substring, Substring) {
        var end = text.startIndex
        var previous: Character = " "
        for (index, c) in zip(text.indices, text) {
            let numeric = c.isNumber || c == "." || c == "-" || c == "+"
                || ((c == "e" || c == "E") && previous.isNumber)
                || ((c == "-" || c == "+") && (previous == "e" || previous == "E"))
            // An "e" is an exponent only if a digit or sign follows ("1e9"), not in "1 EB".
            if (c == "e" || c == "E") {
                let next = text.index(after: index)
                guard next < text.endIndex, text[next].isNumber || text[next] == "-" || text[next] == "+" else { break }
            }
            guard numeric else { break }
            end = text.index(after: index)
            previous = c
        }
        let unit = text[end...].drop { $0 == " " }
        return (text[..<end], unit)
    }

    /// The factor to SI base units and the dimension of a unit such as "GiB/s".
    static func unit(_ text: Substring) -> (Double, Dimension)? {
        switch text {
        case "s", "sec": return (1, .time)
        case "ms": return (1e-3, .time)
        case "us", "µs", "μs": return (1e-6, .time)
        case "ns": return (1e-9, .time)
        case "min": return (60, .time)
        case "h": return (3600, .time)
        default: break
        }
        // prefix + base, e.g. "Gi" + "B/s"
        let bases: [(String, Double, Dimension)] = [
            ("FLOP/s", 1, .flopRate), ("FLOPS", 1, .flopRate), ("FLOP", 1, .flops),
            ("B/s", 1, .bandwidth), ("Bps", 1, .bandwidth), ("b/s", 0.125, .bandwidth), ("bps", 0.125, .bandwidth),
            ("B", 1, .bytes), ("b", 0.125, .bytes),
            ("Hz", 1, .frequency), ("W", 1, .power), ("/s", 1, .rate),
        ]
        for (suffix, baseFactor, dimension) in bases where text.hasSuffix(suffix) {
            let prefix = text.dropLast(suffix.count)
            guard let scale = prefixScale(prefix) else { continue }
            return (scale * baseFactor, dimension)
        }
        return nil
    }

    static func prefixScale(_ prefix: Substring) -> Double? {
        switch prefix {
        case "": 1
        case "k", "K": 1e3
        case "M": 1e6
        case "G": 1e9
        case "T": 1e12
        case "P": 1e15
        case "E": 1e18
        case "Ki": 0x1p10
        case "Mi": 0x1p20
        case "Gi": 0x1p30
        case "Ti": 0x1p40
        case "Pi": 0x1p50
        case "Ei": 0x1p60
        default: nil
        }
    }
}

public struct QuantityError: Error, Equatable, Sendable {
    public let text: String
    public let reason: String
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
