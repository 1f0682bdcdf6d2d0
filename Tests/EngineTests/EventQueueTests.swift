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

@Suite struct MonotoneEventQueueTests {
    /// Pushes never below the last popped time (as a simulation clock guarantees), coarse times
    /// so ties are common, interleaved pops: the order equals a sort by (time, insertion).
    @Test(arguments: [(3, 1024), (11, 1024), (12345, 1024), (3, 1), (11, 2), (12345, 8)])
    func matchesSortedOrder(seed: UInt64, pageSize: Int) {
        var generator = SplitMix(seed)
        // Small pages make buckets span and free many pages.
        var queue = MonotoneEventQueue<Int>(pageSize: pageSize)
        var reference: [(Double, Int)] = []
        var popped: [(Double, Int)] = []
        var expected: [(Double, Int)] = []
        var now = 0.0
        for label in 0..<4_000 {
            // Same-time pushes, near-future and far-future times, including huge jumps.
            let choice = generator.next() % 10
            let delay: Double = choice < 2 ? 0 : choice < 8 ? Double(generator.next() % 8) * 0.125 : generator.uniform() * 1e6
            queue.push(label, at: now + delay)
            reference.append((now + delay, label))
            if generator.next() % 2 == 0 {
                #expect(queue.nextTime() == reference.map(\.0).min())
                let (t, p) = queue.pop()!
                now = t
                popped.append((t, p))
                let i = reference.indices.min { reference[$0].0 < reference[$1].0 || (reference[$0].0 == reference[$1].0 && reference[$0].1 < reference[$1].1) }!
                expected.append(reference.remove(at: i))
            }
        }
        while let (t, p) = queue.pop() { popped.append((t, p)) }
        reference.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        expected += reference
        #expect(popped.map(\.1) == expected.map(\.1))
        #expect(popped.map(\.0) == expected.map(\.0))
        #expect(queue.isEmpty && queue.count == 0)
    }

    /// Payloads with references are released, both those popped and those still queued when
    /// the queue goes (no leak, no double free), with events spread over many small pages.
    @Test func releasesPayloads() {
        final class Token {}
        var watched: [Weak] = []
        struct Weak { weak var token: Token? }
        do {
            var queue = MonotoneEventQueue<Token>(pageSize: 2)
            for i in 0..<50 {
                let token = Token()
                watched.append(Weak(token: token))
                queue.push(token, at: Double(i % 7) + Double(i) * 1e-3)
            }
            for _ in 0..<20 { _ = queue.pop() }
            #expect(queue.count == 30)
        }
        #expect(watched.allSatisfy { $0.token == nil })
    }

    /// Peeking does not move the floor: an event may still be pushed between the last popped
    /// time and the peeked one, and comes out first.
    @Test func peekThenPushEarlier() {
        var queue = MonotoneEventQueue<String>()
        queue.push("late", at: 10)
        #expect(queue.nextTime() == 10)
        queue.push("early", at: 5)
        #expect(queue.nextTime() == 5)
        #expect(queue.pop()?.payload == "early")
        queue.push("same", at: 5)
        #expect(queue.pop()?.payload == "same")
        #expect(queue.pop()?.payload == "late")
    }
}
