// The simulator's event queue: a radix heap over (time, sequence), for times that never go
// below the time last popped, which the clock of a discrete-event simulation guarantees.
//
// Algorithm (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest path
// problem", JACM 1990, §2): a non-negative Double's bit pattern orders like the Double, so
// keys are the 64-bit patterns of the times. Bucket 0 holds the events at exactly the last
// popped time; bucket b > 0 those whose key first differs from it at bit b − 1. A push is one
// append. A pop takes from bucket 0; when it is empty, the lowest non-empty bucket is scanned
// for its minimum, which becomes the new last time, and its events move to lower buckets.
// Each event moves at most 64 times and in practice a few: O(1) amortised push, O(log C) pop
// for key range C, with no pointer chasing. `make bench` measures it against heaps.
//
// Equal times keep insertion order: bucket 0 is kept sorted by sequence number (events pushed
// straight into it have the largest sequences; those moved into it are sorted once).

/// A queue of payloads by (time ≥ 0, insertion order) whose times never decrease below the
/// last one popped.
public struct MonotoneEventQueue<Payload> {
    @usableFromInline
    struct Entry {
        @usableFromInline var key: UInt64
        @usableFromInline var sequence: UInt64
        @usableFromInline var payload: Payload

        @inlinable init(key: UInt64, sequence: UInt64, payload: Payload) {
            self.key = key
            self.sequence = sequence
            self.payload = payload
        }
    }

    /// Each bucket's storage; only its first `sizes[b]` entries are live. Emptying a bucket
    /// resets its size and keeps the storage for reuse, so draining and refilling buckets,
    /// the queue's steady state, allocates and frees nothing.
    @usableFromInline var buckets: [[Entry]] = Array(repeating: [], count: 65)
    @usableFromInline var sizes: [Int] = Array(repeating: 0, count: 65)
    /// Bucket 0 is consumed from `head`, so popping it is O(1).
    @usableFromInline var head = 0
    @usableFromInline var last: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var pending = 0
    /// The smallest key outside bucket 0, once computed (nil: not known). Peeking must not move
    /// `last`, because events may still be pushed between the last popped time and the peeked one.
    @usableFromInline var minimumOutside: UInt64?
    /// Bit b − 1 is set when bucket b (1...64) holds events, so the lowest non-empty bucket is
    /// found in one instruction instead of a scan of up to 64 buckets.
    @usableFromInline var occupied: UInt64 = 0

    /// Entries of storage an emptied bucket keeps; a larger one's storage is released: kept,
    /// each bucket would hold the most it ever held and the queue the sum of those (about ten
    /// times the pending events at a million), while released, memory follows the pending
    /// count and a bucket that fills again grows by doubling, amortised O(1).
    @usableFromInline static var retainedBucketCapacity: Int { 4096 }

    /// Events in the queue.
    @inlinable public var count: Int { pending }

    public init() {}

    @inlinable public var isEmpty: Bool { pending == 0 }

    /// The time of the most recently popped event (0 before the first pop).
    @inlinable public var lastTime: Double { Double(bitPattern: last) }

    @inlinable static func key(_ time: Double) -> UInt64 {
        (time + 0.0).bitPattern  // + 0.0 turns -0.0 into 0.0
    }

    @inlinable func bucket(_ key: UInt64) -> Int {
        key == last ? 0 : 64 &- (key ^ last).leadingZeroBitCount
    }

    /// Puts `entry` after the live entries of bucket `b`.
    @inlinable @inline(__always) mutating func append(_ entry: Entry, to b: Int) {
        let size = sizes[b]
        if size < buckets[b].count { buckets[b][size] = entry } else { buckets[b].append(entry) }
        sizes[b] = size &+ 1
        if b > 0 { occupied |= 1 &<< UInt64(b &- 1) }
    }

    /// Adds `payload` at `time`, which must be ≥ the last popped time (and not NaN).
    @inlinable public mutating func push(_ payload: Payload, at time: Double) {
        precondition(time >= Double(bitPattern: last), "event time \(time) is before the last popped time \(lastTime)")
        let key = Self.key(time)
        let b = bucket(key)
        append(Entry(key: key, sequence: nextSequence, payload: payload), to: b)
        if b > 0, let m = minimumOutside, key < m { minimumOutside = key }
        nextSequence &+= 1
        pending &+= 1
    }

    /// The time of the earliest event, or nil when the queue is empty.
    @inlinable public mutating func nextTime() -> Double? {
        guard pending > 0 else { return nil }
        if head < sizes[0] { return Double(bitPattern: last) }
        return Double(bitPattern: smallestOutsideBucketZero())
    }

    /// The smallest key in buckets 1...64 (which holds the global minimum when bucket 0 is
    /// empty: every key of bucket b is below every key of a higher bucket).
    @inlinable mutating func smallestOutsideBucketZero() -> UInt64 {
        if let m = minimumOutside { return m }
        let b = occupied.trailingZeroBitCount &+ 1
        var minimum = UInt64.max
        for j in 0..<sizes[b] where buckets[b][j].key < minimum { minimum = buckets[b][j].key }
        minimumOutside = minimum
        return minimum
    }

    /// Removes and returns the earliest event (the first pushed among equal times).
    @inlinable public mutating func pop() -> (time: Double, payload: Payload)? {
        guard pending > 0 else { return nil }
        if head == sizes[0] { refill() }
        let entry = buckets[0][head]
        head &+= 1
        pending &-= 1
        if head == sizes[0] {
            sizes[0] = 0
            head = 0
        }
        return (Double(bitPattern: entry.key), entry.payload)
    }

    /// Bucket 0 is empty: make the minimum of the lowest non-empty bucket the new last time and
    /// spread that bucket's events over the buckets below it (every one lands below it).
    @inlinable mutating func refill() {
        sizes[0] = 0
        head = 0
        let b = occupied.trailingZeroBitCount &+ 1
        last = smallestOutsideBucketZero()
        minimumOutside = nil
        let moving = sizes[b]
        sizes[b] = 0
        occupied &= ~(1 &<< UInt64(b &- 1))
        let last = last
        var occupied = occupied
        if moving == 1 {
            // The common case when few events are pending: the bucket's one event is the
            // minimum, so it goes to bucket 0.
            append(buckets[b][0], to: 0)
        } else {
            // The hot loop of the queue: the bucket arrays and sizes are borrowed once, so that
            // moving an entry costs no uniqueness check of the outer arrays.
            sizes.withUnsafeMutableBufferPointer { sizes in
                buckets.withUnsafeMutableBufferPointer { buckets in
                    for j in 0..<moving {
                        let entry = buckets[b][j]
                        let target = entry.key == last ? 0 : 64 &- (entry.key ^ last).leadingZeroBitCount
                        let size = sizes[target]
                        if size < buckets[target].count { buckets[target][size] = entry } else { buckets[target].append(entry) }
                        sizes[target] = size &+ 1
                        if target > 0 { occupied |= 1 &<< UInt64(target &- 1) }
                    }
                }
            }
        }
        self.occupied = occupied
        if buckets[b].count > Self.retainedBucketCapacity { buckets[b] = [] }
        // Events moved into bucket 0 came in bucket order, not sequence order.
        if sizes[0] > 1 { buckets[0][0..<sizes[0]].sort { $0.sequence < $1.sequence } }
    }
}
