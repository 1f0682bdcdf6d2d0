// A pure function of one key, each key computed once per run (a pass repeats a few collective
// sizes; a MoE layer a few token counts). One run owns it; the lock only satisfies the pricer's
// Sendable closures and storage.
import Synchronization

final class PriceCache<Key: Hashable & Sendable>: Sendable {
    private let compute: @Sendable (Key) -> Double
    private let cache = Mutex<[Key: Double]>([:])  // keys are looked up, never iterated

    init(_ compute: @escaping @Sendable (Key) -> Double) { self.compute = compute }

    func callAsFunction(_ key: Key) -> Double {
        if let value = cache.withLock({ $0[key] }) { return value }
        let value = compute(key)
        cache.withLock { $0[key] = value }
        return value
    }
}
