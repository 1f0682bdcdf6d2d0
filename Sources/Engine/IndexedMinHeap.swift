// A binary min-heap of items 0, 1, 2, … keyed by (time, tie), where an item's key can be
// changed or removed in O(log n) because the heap knows each item's position. The fluid
// system keeps one entry per running activity (its predicted completion), so a recomputation
// updates entries in place instead of piling up stale ones.

struct IndexedMinHeap {
    private var heap: [Int32] = []          // items, heap-ordered
    private var position: [Int32] = []      // item → index in `heap`, −1 when absent
    private var time: [Double] = []
    private var tie: [UInt64] = []

    var count: Int { heap.count }

    /// The item with the smallest (time, tie), and its time.
    var min: (item: Int, time: Double)? {
        guard let first = heap.first else { return nil }
        return (Int(first), time[Int(first)])
    }

    func contains(_ item: Int) -> Bool { item < position.count && position[item] >= 0 }

    /// Inserts `item` or changes its key.
    mutating func set(_ item: Int, time t: Double, tie k: UInt64) {
        if item >= position.count {
            let grow = item + 1 - position.count
            position.append(contentsOf: repeatElement(-1, count: grow))
            time.append(contentsOf: repeatElement(0, count: grow))
            tie.append(contentsOf: repeatElement(0, count: grow))
        }
        time[item] = t
        tie[item] = k
        if position[item] < 0 {
            heap.append(Int32(item))
            position[item] = Int32(heap.count - 1)
            siftUp(heap.count - 1)
        } else {
            let p = Int(position[item])
            siftUp(p)
            siftDown(Int(position[item]))
        }
    }

    mutating func remove(_ item: Int) {
        guard contains(item) else { return }
        let p = Int(position[item])
        let last = heap.removeLast()
        position[item] = -1
        guard p < heap.count else { return }
        heap[p] = last
        position[Int(last)] = Int32(p)
        siftUp(p)
        siftDown(Int(position[Int(last)]))
    }

    private func less(_ a: Int32, _ b: Int32) -> Bool {
        let ta = time[Int(a)], tb = time[Int(b)]
        return ta < tb || (ta == tb && tie[Int(a)] < tie[Int(b)])
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        let item = heap[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(item, heap[parent]) else { break }
            heap[i] = heap[parent]
            position[Int(heap[i])] = Int32(i)
            i = parent
        }
        heap[i] = item
        position[Int(item)] = Int32(i)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let item = heap[i]
        let n = heap.count
        while true {
            var child = 2 * i + 1
            guard child < n else { break }
            if child + 1 < n && less(heap[child + 1], heap[child]) { child += 1 }
            guard less(heap[child], item) else { break }
            heap[i] = heap[child]
            position[Int(heap[i])] = Int32(i)
            i = child
        }
        heap[i] = item
        position[Int(item)] = Int32(i)
    }
}
