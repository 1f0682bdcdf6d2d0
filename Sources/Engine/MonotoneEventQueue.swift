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
//
// Storage: buckets 1...64 are lists of fixed-size pages from one pool, so that no bucket grows
// by doubling or copies itself as it grows, and a bucket being spread gives each page back as
// soon as its events have moved: memory follows the pending count (at a million pending, about
// the events' own size plus a page per bucket). The pool is raw memory reached through
// pointers the queue holds (no copy-on-write or exclusivity checks in the hot loop); a class
// owns it, frees it, and makes a copied queue copy it before either changes.

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

    /// The pool's memory: `pages[p]` is a page of `pageSize` slots whose first `fill[p]` hold
    /// events, `next[p]` the page after it in its bucket (−1: none); `free` lists the empty
    /// pages.
    @usableFromInline
    struct Pool {
        @usableFromInline var pages: UnsafeMutablePointer<UnsafeMutablePointer<Entry>>
        @usableFromInline var fill: UnsafeMutablePointer<Int>
        @usableFromInline var next: UnsafeMutablePointer<Int>
        @usableFromInline var free: UnsafeMutablePointer<Int>
        @usableFromInline var pageCount = 0
        @usableFromInline var capacity: Int
        @usableFromInline var freeCount = 0

        @inlinable init(capacity: Int) {
            self.capacity = capacity
            pages = .allocate(capacity: capacity)
            fill = .allocate(capacity: capacity)
            next = .allocate(capacity: capacity)
            free = .allocate(capacity: capacity)
        }

        /// Releases every page and the arrays.
        @inlinable func release() {
            for p in 0..<pageCount {
                pages[p].deinitialize(count: fill[p])
                pages[p].deallocate()
            }
            pages.deallocate()
            fill.deallocate()
            next.deallocate()
            free.deallocate()
        }
    }

    /// Owns the pool's memory (frees it when the last queue sharing it goes) and tells a queue
    /// whether it shares the pool with a copy of itself. It follows the pool's pointers and page
    /// count (all that freeing needs), which change only when the pool grows.
    @usableFromInline
    final class PoolOwner {
        @usableFromInline var pool: Pool
        @inlinable init(_ pool: Pool) { self.pool = pool }
        deinit { pool.release() }
    }

    /// Bucket 0: the events at the last popped time, sorted by sequence, read from `head`;
    /// only the first `zeroSize` entries are live (the storage is reused).
    @usableFromInline var zero: [Entry] = []
    @usableFromInline var zeroSize = 0
    @usableFromInline var head = 0
    @usableFromInline var pool: Pool
    @usableFromInline var owner: PoolOwner
    @usableFromInline let pageSize: Int
    /// Bucket b's first and last page (−1: none; index 0 unused), and its events.
    @usableFromInline var headPage: [Int] = Array(repeating: -1, count: 65)
    @usableFromInline var tailPage: [Int] = Array(repeating: -1, count: 65)
    @usableFromInline var sizes: [Int] = Array(repeating: 0, count: 65)
    @usableFromInline var last: UInt64 = 0
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var pending = 0
    /// The smallest key outside bucket 0, once computed (nil: not known). Peeking must not move
    /// `last`, because events may still be pushed between the last popped time and the peeked one.
    @usableFromInline var minimumOutside: UInt64?
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
        pool = Pool(capacity: 16)
        owner = PoolOwner(pool)
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

    /// Copy on write: before the pool changes, a queue that shares it with a copy of itself
    /// takes a copy of its own.
    @inlinable @inline(__always) mutating func ownPool() {
        if !isKnownUniquelyReferenced(&owner) { copyPool() }
    }

    @inlinable mutating func copyPool() {
        var copy = Pool(capacity: pool.capacity)
        for p in 0..<pool.pageCount {
            copy.pages[p] = .allocate(capacity: pageSize)
            copy.pages[p].initialize(from: pool.pages[p], count: pool.fill[p])
            copy.fill[p] = pool.fill[p]
            copy.next[p] = pool.next[p]
        }
        copy.free.update(from: pool.free, count: pool.freeCount)
        copy.pageCount = pool.pageCount
        copy.freeCount = pool.freeCount
        pool = copy
        owner = PoolOwner(copy)
    }

    /// An empty page: a free one, or a new one (the arrays grow by doubling; the owner follows).
    @inlinable mutating func takePage() -> Int {
        if pool.freeCount > 0 {
            pool.freeCount &-= 1
            return pool.free[pool.freeCount]
        }
        if pool.pageCount == pool.capacity {
            let capacity = pool.capacity * 2
            let pages = UnsafeMutablePointer<UnsafeMutablePointer<Entry>>.allocate(capacity: capacity)
            let fill = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
            let next = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
            let free = UnsafeMutablePointer<Int>.allocate(capacity: capacity)
            pages.moveInitialize(from: pool.pages, count: pool.pageCount)
            fill.moveInitialize(from: pool.fill, count: pool.pageCount)
            next.moveInitialize(from: pool.next, count: pool.pageCount)
            free.moveInitialize(from: pool.free, count: pool.freeCount)
            pool.pages.deallocate()
            pool.fill.deallocate()
            pool.next.deallocate()
            pool.free.deallocate()
            pool.pages = pages
            pool.fill = fill
            pool.next = next
            pool.free = free
            pool.capacity = capacity
        }
        let page = pool.pageCount
        pool.pages[page] = .allocate(capacity: pageSize)
        pool.fill[page] = 0
        pool.pageCount &+= 1
        owner.pool = pool
        return page
    }

    /// Gives an emptied page back.
    @inlinable mutating func freePage(_ page: Int) {
        pool.fill[page] = 0
        pool.free[pool.freeCount] = page
        pool.freeCount &+= 1
    }

    /// Puts `entry` after the live entries of bucket 0.
    @inlinable @inline(__always) mutating func appendToZero(_ entry: Entry) {
        if zeroSize < zero.count { zero[zeroSize] = entry } else { zero.append(entry) }
        zeroSize &+= 1
    }

    /// Puts `entry` last in bucket `b` (its bucket by key); the pool must be this queue's own.
    @inlinable @inline(__always) mutating func place(_ entry: Entry, in b: Int) {
        if b == 0 { appendToZero(entry) } else { append(entry, to: b) }
    }

    /// Puts `entry` after the events of bucket `b` (1...64), on a new page when its last is
    /// full. The pool must be this queue's own.
    @inlinable @inline(__always) mutating func append(_ entry: Entry, to b: Int) {
        let size = sizes[b]
        if size & (pageSize &- 1) == 0 {
            let page = takePage()
            pool.next[page] = -1
            if size == 0 { headPage[b] = page } else { pool.next[tailPage[b]] = page }
            tailPage[b] = page
        }
        let page = tailPage[b]
        let fill = pool.fill[page]
        (pool.pages[page] + fill).initialize(to: entry)
        pool.fill[page] = fill &+ 1
        sizes[b] = size &+ 1
        occupied |= 1 &<< UInt64(b &- 1)
    }

    /// Adds `payload` at `time`, which must be ≥ the last popped time (and not NaN).
    @inlinable public mutating func push(_ payload: Payload, at time: Double) {
        precondition(time >= Double(bitPattern: last), "event time \(time) is before the last popped time \(lastTime)")
        let key = Self.key(time)
        let b = bucket(key)
        if b > 0 {
            ownPool()
            if let m = minimumOutside, key < m { minimumOutside = key }
        }
        place(Entry(key: key, sequence: nextSequence, payload: payload), in: b)
        nextSequence &+= 1
        pending &+= 1
    }

    /// The time of the earliest event, or nil when the queue is empty.
    @inlinable public mutating func nextTime() -> Double? {
        guard pending > 0 else { return nil }
        if head < zeroSize { return Double(bitPattern: last) }
        return Double(bitPattern: smallestOutsideBucketZero())
    }

    /// The smallest key in buckets 1...64 (which holds the global minimum when bucket 0 is
    /// empty: every key of bucket b is below every key of a higher bucket).
    @inlinable mutating func smallestOutsideBucketZero() -> UInt64 {
        if let m = minimumOutside { return m }
        let b = occupied.trailingZeroBitCount &+ 1
        var minimum = UInt64.max
        var page = headPage[b]
        while page >= 0 {
            let events = pool.pages[page]
            for j in 0..<pool.fill[page] where events[j].key < minimum { minimum = events[j].key }
            page = pool.next[page]
        }
        minimumOutside = minimum
        return minimum
    }

    /// Removes and returns the earliest event (the first pushed among equal times).
    @inlinable public mutating func pop() -> (time: Double, payload: Payload)? {
        guard pending > 0 else { return nil }
        if head == zeroSize { refill() }
        let entry = zero[head]
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
        ownPool()
        zeroSize = 0
        head = 0
        let b = occupied.trailingZeroBitCount &+ 1
        last = smallestOutsideBucketZero()
        minimumOutside = nil
        sizes[b] = 0
        occupied &= ~(1 &<< UInt64(b &- 1))
        var page = headPage[b]
        headPage[b] = -1
        while page >= 0 {
            let following = pool.next[page]
            move(page)
            page = following
        }
        // Events moved into bucket 0 came in bucket order, not sequence order.
        if zeroSize > 1 { zero[0..<zeroSize].sort { $0.sequence < $1.sequence } }
    }

    /// Moves a page's events to the buckets their keys now belong to, and frees the page.
    @inlinable @inline(__always) mutating func move(_ page: Int) {
        let events = pool.pages[page]
        for j in 0..<pool.fill[page] {
            let entry = (events + j).move()
            place(entry, in: bucket(entry.key))
        }
        freePage(page)
    }
}
