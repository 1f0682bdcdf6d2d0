// An iteration's price is a pure function of its shape (decoding sequences, their mean
// context, the prefill chunk and its context, positions per sequence), and a serving run
// meets the same shapes again and again (a steady batch decoding over slowly growing
// contexts). Each shape is priced once per run; the jitter and stragglers are applied to the
// price afterwards, per iteration, so results are the same as pricing every iteration.
final class IterationPrices {
    struct Shape: Hashable {
        var decodeSequences: Int
        var meanContext: Int
        var prefillTokens: Int
        var prefillContext: Int
        var positions: Int
    }

    let pricer: InferencePricer
    /// Looked up, never iterated, so its order cannot reach a result.
    private var prices: [Shape: Double] = [:]

    init(_ pricer: InferencePricer) { self.pricer = pricer }

    func seconds(decodeSequences: Int, meanContext: Int, prefillTokens: Int, prefillContext: Int, positions: Int = 1) -> Double {
        let shape = Shape(decodeSequences: decodeSequences, meanContext: meanContext, prefillTokens: prefillTokens,
                          prefillContext: prefillContext, positions: positions)
        if let price = prices[shape] { return price }
        let price = pricer.seconds(decodeSequences: decodeSequences, meanContext: meanContext, prefillTokens: prefillTokens,
                                   prefillContext: prefillContext, positions: positions)
        prices[shape] = price
        return price
    }
}
