// Fast pricing of an inference iteration for serving simulations, which run hundreds of
// thousands of iterations: with CUDA graphs a pass's kernels run back to back with nothing
// else on the GPU, so its time is the sum of its kernels' times (what KernelStream would
// compute without launch gaps), and every layer of a dense model costs the same. So one layer
// is priced and multiplied. Mixed iterations (continuous batching with chunked prefill) run
// the decode tokens and the prefill chunk through the same GEMMs: m = decode sequences +
// prefill tokens, attention is priced for both parts. MoE layers price InferenceOps.moeOps.
import Hardware

public struct IterationPricer: Sendable {
    public var model: ModelSpec
    public var kernels: KernelModel
    public var precision: Precision
    public var kvPrecision: Precision
    public var tp: Int
    /// Seconds of one all-reduce of `bytes` per rank over the TP group.
    public var allReduce: @Sendable (Double) -> Double

    public init(model: ModelSpec, kernels: KernelModel, precision: Precision, kvPrecision: Precision, tp: Int,
                allReduce: @escaping @Sendable (Double) -> Double) {
        self.model = model
        self.kernels = kernels
        self.precision = precision
        self.kvPrecision = kvPrecision
        self.tp = tp
        self.allReduce = allReduce
    }

    /// Seconds of one iteration: `decodeSequences` sequences decoding one token each over a
    /// mean KV length `meanContext`, and `prefillTokens` prompt tokens of one sequence whose
    /// cache already holds `prefillContext` tokens.
    public func seconds(decodeSequences: Int, meanContext: Int, prefillTokens: Int, prefillContext: Int) -> Double {
        let m = decodeSequences + prefillTokens
        guard m > 0 else { return 0 }
        let heads = model.heads / tp, kvHeads = Swift.max(1, model.kvHeads / tp), hd = model.headDim, d = model.hidden
        let f = model.ffn / tp
        let activation = Double(m * d) * 2
        func gemm(_ m: Int, _ n: Int, _ k: Int) -> Double {
            let g = kernels.gemm(m: m, n: n, k: k, precision: precision).seconds
            return precision == .bf16 ? g : g + kernels.quantize(elements: Double(m * k), to: precision).seconds
        }
        func elementwise(_ bytes: Double) -> Double { kernels.memoryBound(bytesRead: bytes / 2, bytesWritten: bytes / 2).seconds }
        var layer = elementwise(2 * activation) + gemm(m, (heads + 2 * kvHeads) * hd, d)
        if decodeSequences > 0 {
            layer += kernels.attentionDecode(batch: decodeSequences, kvLength: Swift.max(1, meanContext), heads: heads, kvHeads: kvHeads,
                                             headDim: hd, kvPrecision: kvPrecision).seconds
        }
        if prefillTokens > 0 {
            // A chunk of `prefillTokens` after `prefillContext` cached ones costs the difference
            // of two causal prefills (work grows with the square of the length).
            let attention = { (s: Int) in
                s == 0 ? 0 : kernels.attentionPrefill(batch: 1, seq: s, heads: heads, kvHeads: kvHeads, headDim: hd,
                                                       precision: precision == .bf16 ? .bf16 : .fp8).seconds
            }
            layer += Swift.max(attention(prefillContext + prefillTokens) - attention(prefillContext), kernels.factors.prefillFixedTime)
        }
        layer += gemm(m, d, heads * hd) + elementwise(3 * activation)
        let dense = gemm(m, model.mlp == .swiglu ? 2 * f : f, d) + elementwise(Double(m * f) * 2 * (model.mlp == .swiglu ? 3 : 2))
            + gemm(m, d, f)
        var moeLayer = dense
        if let moe = model.moe {
            moeLayer = InferenceOps.moeOps(model: model, moe: moe, tokens: m, tp: tp).reduce(0.0) { total, item in
                switch item.op {
                case let .gemm(gm, gn, gk): return total + gemm(gm, gn, gk)
                case let .elementwise(bytes): return total + elementwise(bytes)
                default: return total
                }
            }
        }
        layer += elementwise(2 * activation)
        if tp > 1 { layer += 2 * allReduce(activation) }
        let denseLayers = model.moe.map { Swift.min($0.denseLayers, model.layers) } ?? model.layers
        let sequences = decodeSequences + (prefillTokens > 0 ? 1 : 0)
        let head = elementwise(Double(sequences * d) * 4) + gemm(sequences, model.vocabulary / tp, d)
            + elementwise(Double(sequences * model.vocabulary / tp) * 4)
        return Double(model.layers) * layer + Double(denseLayers) * dense + Double(model.layers - denseLayers) * moeLayer + head
    }
}
