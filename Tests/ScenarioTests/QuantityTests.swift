import Testing
@testable import Scenario

@Suite struct QuantityTests {
    @Test(arguments: [
        ("900 GB/s", Dimension.bandwidth, 900e9),
        ("400 Gb/s", .bandwidth, 50e9),
        ("1 GiB/s", .bandwidth, 1_073_741_824),
        ("192 GiB", .bytes, 192 * 1_073_741_824),
        ("80GB", .bytes, 80e9),
        ("10 us", .time, 10e-6),
        ("1.5 ms", .time, 1.5e-3),
        ("2 min", .time, 120),
        ("2.5 PFLOPS", .flopRate, 2.5e15),
        ("989 TFLOP/s", .flopRate, 989e12),
        ("1e9", .bytes, 1e9),
        ("1e3 B", .bytes, 1e3),
        ("3 EB", .bytes, 3e18),
        ("0.25", .count, 0.25),
    ])
    func parses(text: String, dimension: Dimension, expected: Double) throws {
        let value = try Quantity.parse(text, as: dimension).get()
        #expect(abs(value - expected) <= 1e-12 * abs(expected))
    }

    /// A finite number whose unit takes it past Double's range is refused, not made infinite.
    @Test func overflowingUnitsAreRefused() {
        guard case .failure(let error) = Quantity.parse("1e300 GHz", as: .frequency) else {
            Issue.record("1e300 GHz parsed")
            return
        }
        #expect(error.reason.hasPrefix("too large"))
        #expect((try? Quantity.parse("1e299 GHz", as: .frequency).get()) == 1e308)
    }

    @Test func wrongDimensionIsNamed() {
        guard case .failure(let error) = Quantity.parse("10 GB", as: .bandwidth) else {
            Issue.record("10 GB parsed as a bandwidth")
            return
        }
        #expect(error.reason == "expected a bandwidth such as \"900 GB/s\", got a size in bytes")
    }

    @Test(arguments: ["fast", "10 parsecs", "GB/s", ""])
    func rejects(text: String) {
        #expect(throws: QuantityError.self) { try Quantity.parse(text, as: .bandwidth).get() }
    }
}

@Suite struct OverridePathTests {
    @Test func parsesKeysAndIndices() {
        #expect(PathComponent.parse("workload.links[0].bandwidth") == [.key("workload"), .key("links"), .index(0), .key("bandwidth")])
        #expect(PathComponent.parse("workload.links.2") == [.key("workload"), .key("links"), .index(2)])
        #expect(PathComponent.parse("a..b") == nil)
        #expect(PathComponent.parse("a[x]") == nil)
    }

    @Test func editDistanceAndSuggestions() {
        #expect(editDistance("kitten", "sitting") == 3)
        #expect(closestName(to: "replicatons", among: ["replications", "seed"]) == "replications")
        #expect(closestName(to: "zzz", among: ["replications", "seed"]) == nil)
        // One letter for another of a one-letter name is another name, not a typo; two
        // letters keep one.
        #expect(closestName(to: "a", among: ["c", "d"]) == nil)
        #expect(closestName(to: "tb", among: ["tp", "pp"]) == "tp")
        #expect(closestName(to: "h10", among: ["h100-sxm", "b200"]) == "h100-sxm")
    }
}
