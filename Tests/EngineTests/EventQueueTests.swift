import Testing
@testable import Engine

@Suite struct EventQueueTests {
    @Test func popsInTimeOrder() {
        var queue = EventQueue<String>()
        queue.push("c", at: 3)
        queue.push("a", at: 1)
        queue.push("b", at: 2)
        #expect(queue.pop()?.payload == "a")
        #expect(queue.pop()?.payload == "b")
        #expect(queue.pop()?.payload == "c")
        #expect(queue.pop() == nil)
    }

    /// Equal times keep insertion order: the (time, sequence) rule of DESIGN.md.
    @Test func equalTimesKeepInsertionOrder() {
        var queue = EventQueue<Int>()
        for i in 0..<100 { queue.push(i, at: i % 3 == 0 ? 1.0 : 2.0) }
        var order: [Int] = []
        while let (_, i) = queue.pop() { order.append(i) }
        let expected = (0..<100).filter { $0 % 3 == 0 } + (0..<100).filter { $0 % 3 != 0 }
        #expect(order == expected)
    }

    /// Against a sort of the same (time, sequence) keys, with interleaved pushes and pops.
    @Test(arguments: [1, 7, 1000])
    func matchesSortedOrder(seed: UInt64) {
        var generator = SplitMix(seed)
        var queue = EventQueue<Int>()
        var reference: [(Double, Int)] = []
        var popped: [Int] = []
        var expected: [Int] = []
        var label = 0
        for step in 0..<5000 {
            // Coarse times so that ties are common.
            let time = Double(generator.next() % 50) + Double(step / 100)
            queue.push(label, at: time)
            reference.append((time, label))
            label += 1
            if generator.next() % 3 == 0 {
                popped.append(queue.pop()!.payload)
                let i = reference.indices.min { reference[$0].0 < reference[$1].0 || (reference[$0].0 == reference[$1].0 && reference[$0].1 < reference[$1].1) }!
                expected.append(reference.remove(at: i).1)
            }
        }
        while let (_, p) = queue.pop() { popped.append(p) }
        reference.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        expected += reference.map(\.1)
        #expect(popped == expected)
    }
}

/// A tiny deterministic generator for tests (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
}
