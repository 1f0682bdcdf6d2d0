// An iteration's price is a pure function of its shape, and its shape is a sum of parts that
// repeat far more often than whole shapes do (the layers' GEMMs depend only on the batch's
// token count, each prompt chunk's attention only on its length and context). Each part is
// priced once per run; the jitter and stragglers are applied to the sum afterwards, per
// iteration, so results are the same as pricing every iteration.
final class IterationPrices {
    let pricer: InferencePricer
    /// Looked up, never iterated, so their order cannot reach a result. Whole shapes first (a
    /// steady batch decoding meets the same shape again and again), then parts.
    private var shapes: [IterationShape: Double] = [:]
    private var prices: [IterationPart: Double] = [:]

    init(_ pricer: InferencePricer) { self.pricer = pricer }

    func seconds(_ shape: IterationShape) -> Double {
        if let known = shapes[shape] { return known }
        let price = sum(shape)
        shapes[shape] = price
        return price
    }

    private func sum(_ shape: IterationShape) -> Double {
        pricer.parts(of: shape).reduce(0.0) { $0 + $1.count * cached($1.part) }
    }

    /// The seconds of each pipeline stage of an iteration of `shape`, the stages holding
    /// `layers[s]` layers: each layer part's share of its layers (a stage of dense and MoE layers
    /// takes them in the model's proportion), the head on the last stage.
    func stageSeconds(_ shape: IterationShape, layers: [Int]) -> [Double] {
        let parts = pricer.parts(of: shape)
        let total = Double(pricer.model.layers)
        return layers.indices.map { s in
            parts.reduce(0.0) { sum, item in
                let price = cached(item.part)
                if case .head = item.part { return s == layers.count - 1 ? sum + item.count * price : sum }
                return sum + item.count * Double(layers[s]) / total * price
            }
        }
    }

    private func cached(_ part: IterationPart) -> Double {
        if let known = prices[part] { return known }
        let price = pricer.seconds(part)
        prices[part] = price
        return price
    }

    /// A decode iteration with at most one prompt chunk (`InferencePricer.shape`).
    func seconds(decodeSequences: Int, meanContext: Int, prefillTokens: Int, prefillContext: Int, positions: Int = 1) -> Double {
        seconds(pricer.shape(decodeSequences: decodeSequences, meanContext: meanContext, prefillTokens: prefillTokens,
                             prefillContext: prefillContext, positions: positions))
    }
}
