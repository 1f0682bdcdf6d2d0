// The simulator's event queue: a radix heap over (time, sequence), for times that never go
// below the time last popped, which the clock of a discrete-event simulation guarantees.
//
// Algorithm (Ahuja, Mehlhorn, Orlin & Tarjan, "Faster algorithms for the shortest path
// problem", JACM 1990, §2): a non-negative Double's bit pattern orders like the Double, so
// keys are the 64-bit patterns of the times. Bucket 0 holds the events at exactly the last
// popped time; bucket b > 0 those whose key first differs from it at bit b − 1. A push is one
// append. A pop takes from bucket 0; when it is empty, the minimum of the lowest non-empty
// bucket (each bucket keeps its minimum as events arrive) becomes the new last time, and that
// bucket's events move to lower buckets.
// Each event moves at most 64 times and in practice a few: O(1) amortised push, O(log C) pop
// for key range C, with no pointer chasing. `make bench` measures it against heaps.
//
// Equal times keep insertion order: bucket 0 is kept sorted by sequence number (events pushed
// straight into it have the largest sequences; those moved into it are sorted once).
//
// Storage: the queue owns raw memory and cannot be copied (a simulator holds one queue), so
// the hot loop has no copy-on-write, bounds or exclusivity checks. Bucket 0 is one growable
// array. Buckets 1...64 are lists of fixed-size pages from one pool, so that no bucket grows by
// doubling or copies itself as it grows, and a bucket being spread gives each page back as soon
// as its events have moved: memory follows the pending count (at a million pending, about the
// events' own size plus a page per bucket). Every page of a bucket is full but its last, so a
// bucket's count says where each page's events end.

/// A queue of payloads by (time ≥ 0, insertion order) whose times never decrease below the
/// last one popped.
public struct MonotoneEventQueue<Payload>: ~Copyable {
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

    /// Bucket 0: the events at the last popped time, sorted by sequence, read from `head`; the
    /// first `zeroSize` of `zeroCapacity` slots are initialised, those before `head` moved out.
    @usableFromInline var zero: UnsafeMutablePointer<Entry>
    @usableFromInline var zeroCapacity = 16
    @usableFromInline var zeroSize = 0
    @usableFromInline var head = 0
    /// The pool: `pages[p]` is a page of `pageSize` slots, `next[p]` the page after it in its
    /// bucket (−1: none); `free` lists the empty pages.
    @usableFromInline var pages: UnsafeMutablePointer<UnsafeMutablePointer<Entry>>
    @usableFromInline var next: UnsafeMutablePointer<Int>
    @usableFromInline var free: UnsafeMutablePointer<Int>
    @usableFromInline var pageCount = 0
    @usableFromInline var pageCapacity = 16
    @usableFromInline var freeCount = 0
    @usableFromInline let pageSize: Int
    /// Bucket b's (1...64; index 0 unused) first page, the slots of its last page, its events.
    @usableFromInline var headPage: UnsafeMutablePointer<Int>
    @usableFromInline var tailSlots: UnsafeMutablePointer<UnsafeMutablePointer<Entry>?>
    @usableFromInline var sizes: UnsafeMutablePointer<Int>
    @usableFromInline var tailPage: UnsafeMutablePointer<Int>
    @usableFromInline var last: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var pending = 0
    /// Bucket b's smallest key (UInt64.max when empty), kept as events arrive, so that neither a
    /// peek nor a refill scans a bucket. (Peeking must not move `last`: events may still be
    /// pushed between the last popped time and the peeked one.)
    @usableFromInline var minima: UnsafeMutablePointer<UInt64>
    /// Bit b − 1 is set when bucket b (1...64) holds events, so the lowest non-empty bucket is
    /// found in one instruction instead of a scan of up to 64 buckets.
    @usableFromInline var occupied: UInt64 = 0

    /// Events in the queue.
    @inlinable public var count: Int { pending }

    /// 1,024 events a page: a bucket's unused slots stay under one page (24 KiB for an Int
    /// payload); pages of 256 and 4,096 ran the hold model at the same speed (make bench).
    public init() { self.init(pageSize: 1024) }

    /// `pageSize`: events per page of buckets 1...64, a power of two (small values exercise
    /// paging in tests).
    public init(pageSize: Int) {
        precondition(pageSize >= 1 && pageSize & (pageSize - 1) == 0, "the page size must be a power of two")
        self.pageSize = pageSize
        zero = .allocate(capacity: zeroCapacity)
        pages = .allocate(capacity: pageCapacity)
        next = .allocate(capacity: pageCapacity)
        free = .allocate(capacity: pageCapacity)
        headPage = .allocate(capacity: 65)
        headPage.initialize(repeating: -1, count: 65)
        tailPage = .allocate(capacity: 65)
        tailPage.initialize(repeating: -1, count: 65)
        tailSlots = .allocate(capacity: 65)
        tailSlots.initialize(repeating: nil, count: 65)
        sizes = .allocate(capacity: 65)
        sizes.initialize(repeating: 0, count: 65)
        minima = .allocate(capacity: 65)
        minima.initialize(repeating: .max, count: 65)
    }

    deinit {
        (zero + head).deinitialize(count: zeroSize - head)
        zero.deallocate()
        for b in 1...64 {
            var page = headPage[b]
            var remaining = sizes[b]
            while page >= 0 {
                pages[page].deinitialize(count: Swift.min(remaining, pageSize))
                remaining -= pageSize
                page = next[page]
            }
        }
        for p in 0..<pageCount { pages[p].deallocate() }
        pages.deallocate()
        next.deallocate()
        free.deallocate()
        headPage.deallocate()
        tailPage.deallocate()
        tailSlots.deallocate()
        sizes.deallocate()
        minima.deallocate()
    }

    @inlinable public var isEmpty: Bool { pending == 0 }

    /// The time of the most recently popped event (0 before the first pop).
    @inlinable public var lastTime: Double { Double(bitPattern: last) }

    @inlinable static func key(_ time: Double) -> UInt64 {
        (time + 0.0).bitPattern  // + 0.0 turns -0.0 into 0.0
    }

    @inlinable func bucket(_ key: UInt64) -> Int {
        key == last ? 0 : 64 &- (key ^ last).leadingZeroBitCount
    }

    /// An empty page: a free one, or a new one (the pool's arrays grow by doubling).
    @inlinable mutating func takePage() -> Int {
        if freeCount > 0 {
            freeCount &-= 1
            return free[freeCount]
        }
        if pageCount == pageCapacity {
            pageCapacity *= 2
            pages = Self.grow(pages, count: pageCount, to: pageCapacity)
            next = Self.grow(next, count: pageCount, to: pageCapacity)
            free = Self.grow(free, count: freeCount, to: pageCapacity)
        }
        pages[pageCount] = .allocate(capacity: pageSize)
        pageCount &+= 1
        return pageCount &- 1
    }

    /// A new allocation of `capacity` holding the first `count` elements of `old`, which is freed.
    @inlinable static func grow<T>(_ old: UnsafeMutablePointer<T>, count: Int, to capacity: Int) -> UnsafeMutablePointer<T> {
        let new = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        new.moveInitialize(from: old, count: count)
        old.deallocate()
        return new
    }

    /// Puts `entry` after the live entries of bucket 0.
    @inlinable @inline(__always) mutating func appendToZero(_ entry: Entry) {
        if zeroSize == zeroCapacity {
            zeroCapacity *= 2
            zero = Self.grow(zero, count: zeroSize, to: zeroCapacity)
        }
        (zero + zeroSize).initialize(to: entry)
        zeroSize &+= 1
    }

    /// Puts `entry` last in bucket `b` (its bucket by key).
    @inlinable @inline(__always) mutating func place(_ entry: Entry, in b: Int) {
        if b == 0 { appendToZero(entry) } else { append(entry, to: b) }
    }

    /// Puts `entry` after the events of bucket `b` (1...64), on a new page when its last is full.
    @inlinable @inline(__always) mutating func append(_ entry: Entry, to b: Int) {
        let size = sizes[b]
        let slot = size & (pageSize &- 1)
        if slot == 0 { addPage(to: b, first: size == 0) }
        (tailSlots[b].unsafelyUnwrapped + slot).initialize(to: entry)
        sizes[b] = size &+ 1
        if entry.key < minima[b] { minima[b] = entry.key }
        occupied |= 1 &<< UInt64(b &- 1)
    }

    /// Links an empty page after bucket `b`'s last (or as its only page).
    @inlinable mutating func addPage(to b: Int, first: Bool) {
        let page = takePage()
        next[page] = -1
        if first { headPage[b] = page } else { next[tailPage[b]] = page }
        tailPage[b] = page
        tailSlots[b] = pages[page]
    }

    /// Adds `payload` at `time`, which must be ≥ the last popped time (and not NaN).
    @inlinable public mutating func push(_ payload: Payload, at time: Double) {
        precondition(time >= Double(bitPattern: last), "event time \(time) is before the last popped time \(lastTime)")
        let key = Self.key(time)
        place(Entry(key: key, sequence: nextSequence, payload: payload), in: bucket(key))
        nextSequence &+= 1
        pending &+= 1
    }

    /// The time of the earliest event, or nil when the queue is empty.
    @inlinable public func nextTime() -> Double? {
        guard pending > 0 else { return nil }
        if head < zeroSize { return Double(bitPattern: last) }
        // Bucket 0 is empty: the lowest non-empty bucket holds the minimum (every key of bucket
        // b is below every key of a higher bucket).
        return Double(bitPattern: minima[occupied.trailingZeroBitCount &+ 1])
    }

    /// Removes and returns the earliest event (the first pushed among equal times).
    @inlinable public mutating func pop() -> (time: Double, payload: Payload)? {
        guard pending > 0 else { return nil }
        if head == zeroSize { refill() }
        let entry = (zero + head).move()
        head &+= 1
        pending &-= 1
        if head == zeroSize {
            zeroSize = 0
            head = 0
        }
        return (Double(bitPattern: entry.key), entry.payload)
    }

    /// Bucket 0 is empty: make the minimum of the lowest non-empty bucket the new last time and
    /// spread that bucket's events over the buckets below it (every one lands below it), giving
    /// each page back as soon as its events have moved.
    @inlinable mutating func refill() {
        zeroSize = 0
        head = 0
        let b = occupied.trailingZeroBitCount &+ 1
        last = minima[b]
        minima[b] = .max
        var remaining = sizes[b]
        sizes[b] = 0
        occupied &= ~(1 &<< UInt64(b &- 1))
        var page = headPage[b]
        headPage[b] = -1
        while page >= 0 {
            let following = next[page]
            let events = pages[page]
            for j in 0..<Swift.min(remaining, pageSize) {
                let entry = (events + j).move()
                place(entry, in: bucket(entry.key))
            }
            remaining &-= pageSize
            free[freeCount] = page
            freeCount &+= 1
            page = following
        }
        // Events moved into bucket 0 came in bucket order, not sequence order.
        if zeroSize > 1 {
            var moved = UnsafeMutableBufferPointer(start: zero, count: zeroSize)
            moved.sort { $0.sequence < $1.sequence }
        }
    }
}
