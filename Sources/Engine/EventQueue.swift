// A general priority queue: a 4-ary min-heap ordered by (time, sequence number), for keys
// that need not grow (the fluid system's completion predictions and fill levels). The
// simulator's own clock-ordered queue is `MonotoneEventQueue`.
//
// The sequence number is taken from a counter owned by the queue, so events with equal times
// come out in the order they went in, and a run is deterministic. A 4-ary heap is shallower
// than a binary heap; `make bench` compares it with swift-collections' Heap (a min-max heap).
//
// Cost: push and pop are O(log n).

/// A time-ordered queue of payloads; ties in time keep insertion order.
public struct EventQueue<Payload> {
    @usableFromInline
    struct Entry {
        @usableFromInline var time: Double
        @usableFromInline var sequence: UInt64
        @usableFromInline var payload: Payload

        @inlinable init(time: Double, sequence: UInt64, payload: Payload) {
            self.time = time
            self.sequence = sequence
            self.payload = payload
        }

        @inlinable func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    @usableFromInline var entries: [Entry] = []
    @usableFromInline var nextSequence: UInt64 = 0

    @inlinable public init() {}

    /// Reserves storage for `capacity` pending events.
    @inlinable public mutating func reserveCapacity(_ capacity: Int) {
        entries.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { entries.count }
    @inlinable public var isEmpty: Bool { entries.isEmpty }

    /// The time of the earliest event, or nil when the queue is empty.
    @inlinable public var nextTime: Double? { entries.first?.time }

    /// The earliest event's payload, without removing it.
    @inlinable public var nextPayload: Payload? { entries.first?.payload }

    /// Removes every event (the sequence counter keeps counting).
    @inlinable public mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

    /// Adds `payload` at `time`. Times must not be NaN.
    @inlinable public mutating func push(_ payload: Payload, at time: Double) {
        precondition(!time.isNaN, "event time is NaN")
        let entry = Entry(time: time, sequence: nextSequence, payload: payload)
        nextSequence &+= 1
        entries.append(entry)
        siftUp(from: entries.count - 1, entry)
    }

    /// Removes and returns the earliest event (the first pushed among equal times).
    @inlinable public mutating func pop() -> (time: Double, payload: Payload)? {
        guard let last = entries.popLast() else { return nil }
        guard !entries.isEmpty else { return (last.time, last.payload) }
        let top = entries[0]
        siftDown(from: 0, last)
        return (top.time, top.payload)
    }

    /// Moves `entry` up from the hole at `index` to its place.
    @inlinable mutating func siftUp(from index: Int, _ entry: Entry) {
        entries.withUnsafeMutableBufferPointer { heap in
            var hole = index
            while hole > 0 {
                let parent = (hole &- 1) >> 2
                guard entry.precedes(heap[parent]) else { break }
                heap[hole] = heap[parent]
                hole = parent
            }
            heap[hole] = entry
        }
    }

    /// Moves `entry` down from the hole at `index` to its place.
    @inlinable mutating func siftDown(from index: Int, _ entry: Entry) {
        entries.withUnsafeMutableBufferPointer { heap in
            let n = heap.count
            var hole = index
            while true {
                let first = 4 &* hole &+ 1
                guard first < n else { break }
                var best = first
                let end = Swift.min(first &+ 4, n)
                var child = first &+ 1
                while child < end {
                    if heap[child].precedes(heap[best]) { best = child }
                    child &+= 1
                }
                guard heap[best].precedes(entry) else { break }
                heap[hole] = heap[best]
                hole = best
            }
            heap[hole] = entry
        }
    }
}
