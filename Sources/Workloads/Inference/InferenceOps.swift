// The operations of one inference pass (a prefill or one decode step) on one tensor-parallel
// rank of a dense transformer, in order: what a decode or serving simulation runs.
//
// Per layer (Megatron-style tensor parallelism over `tp` ranks): RMSNorm; QKV projection
// (column-parallel: heads/tp query heads and max(1, kv_heads/tp) KV heads); attention; output
// projection (row-parallel); all-reduce of the hidden state; RMSNorm; MLP up (and gate) and
// down projections; all-reduce. Then the final norm, the logits projection over vocab/tp and
// sampling. Element-wise work (norms, activation, residual adds, RoPE) is counted as HBM bytes.
// MoE layers (every expert's FFN columns split over the TP group, tokens replicated, outputs
// combined by the layer's all-reduce): a router GEMM, then the GEMMs of the experts that receive
// tokens — with m tokens routed top-k over E experts each expert gets m·k/E tokens on average
// and is used at all with probability 1 − (1 − k/E)^m, so at small batch only the chosen
// experts' slices are read — plus the shared experts.
// Multi-head latent attention (DeepSeek) replaces the QKV projection, attention and output
// projection with its own ops (`latentAttention`). Local experts run as grouped GEMMs.
import Cluster
import Foundation
import Hardware
import Models

public enum InferenceOp: Sendable, Equatable {
    /// A GEMM of m×k by k×n with weights in the pass's precision.
    case gemm(m: Int, n: Int, k: Int)
    /// `groups` GEMMs of the same shape with their own weights in one kernel (a MoE layer's
    /// local experts, as fused MoE kernels run them).
    case groupedGemm(m: Int, n: Int, k: Int, groups: Int)
    case attentionDecode(batch: Int, kvLength: Int, heads: Int, kvHeads: Int, headDim: Int)
    /// A decode step of multi-head latent attention over caches of `latent` + `rope` elements.
    case attentionDecodeLatent(batch: Int, kvLength: Int, heads: Int, latent: Int, rope: Int)
    case attentionPrefill(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int)
    /// `tokens` more tokens of each of `batch` sequences whose caches already hold `context`
    /// (chunked prefill; speculative verification).
    case attentionPrefillChunk(batch: Int = 1, tokens: Int, context: Int, heads: Int, kvHeads: Int, headDim: Int)
    /// An element-wise kernel reading and writing `bytes` in total.
    case elementwise(bytes: Double)
    /// An all-reduce of `bytes` per rank over the tensor-parallel group.
    case allReduce(bytes: Double)
    /// An all-to-all of `bytes` per rank over the expert-parallel group (MoE dispatch, combine),
    /// in the low-latency kernels' mode or the normal one.
    case allToAll(bytes: Double, lowLatency: Bool)
}

/// Wide expert parallelism: the routed experts of MoE layers spread over `ep` GPUs (whole
/// experts, not split over TP), serving the tokens of all `ep / tp` tensor-parallel groups
/// together (`instanceTokens`), which exchange them by all-to-all.
public struct ExpertParallelism: Sendable, Equatable {
    public var ep: Int
    public var instanceTokens: Int
    /// The busiest rank's routed tokens over the balanced share (ExpertRouting): it sets the
    /// experts' GEMMs and the all-to-all, since every rank waits for it.
    public var loadFactor: Double
    /// Bytes per hidden element dispatched to the experts (combined results come back in bf16).
    public var dispatchBytesPerElement: Double
    /// Expert slots over the EP group with redundant experts (EPLB; nil: one per expert).
    public var slots: Int?

    public init(ep: Int, instanceTokens: Int, loadFactor: Double = 1, dispatchBytesPerElement: Double = 2, slots: Int? = nil) {
        self.ep = ep
        self.instanceTokens = instanceTokens
        self.loadFactor = loadFactor
        self.dispatchBytesPerElement = dispatchBytesPerElement
        self.slots = slots
    }

    /// The all-to-all buffer per rank (nccl-tests' size, of which (ep − 1)/ep leaves the rank)
    /// that moves `tokens` tokens of `hidden` elements at `bytesPerElement` to their experts'
    /// ranks as DeepEP and TensorRT-LLM's wide-EP kernels do: once per destination rank holding
    /// any of a token's top-k experts, not once per expert, and not at all to its own rank. With
    /// E/ep experts per rank and k distinct experts drawn, another rank receives a token with
    /// probability 1 − C(E − E/ep, k) / C(E, k).
    public static func dispatchBuffer(tokens: Int, hidden: Int, bytesPerElement: Double, experts: Int, topK: Int, ep: Int) -> Double {
        guard ep > 1 else { return 0 }
        let perRank = Double(experts) / Double(ep)
        var none = 1.0
        for i in 0..<topK { none *= Swift.max(0, Double(experts) - perRank - Double(i)) / Double(experts - i) }
        let remoteCopies = Double(ep - 1) * (1 - none)
        return Double(tokens) * Double(hidden) * bytesPerElement * remoteCopies * Double(ep) / Double(ep - 1)
    }
}

public enum InferenceOps {
    /// The ops of one pass over `tokens` new tokens per sequence (1 for a decode step) for
    /// `batch` sequences whose KV cache holds `context` tokens before this pass.
    public static func pass(model: ModelSpec, batch: Int, tokens: Int, context: Int, tp: Int) -> [InferenceOp] {
        namedPass(model: model, batch: batch, tokens: tokens, context: context, tp: tp).map(\.op)
    }

    /// The same ops with a name each ("qkv_gemm", "attention", "all_reduce", ...), for traces.
    public static func namedPass(model: ModelSpec, batch: Int, tokens: Int, context: Int, tp: Int) -> [(name: String, op: InferenceOp)] {
        namedPass(model: model, batch: batch, tokens: tokens, context: context, tp: tp, layers: 0..<model.layers, head: true)
    }

    /// The ops of `layers` only, and the head after them when `head` (one pipeline stage).
    public static func namedPass(model: ModelSpec, batch: Int, tokens: Int, context: Int, tp: Int,
                                 layers: Range<Int>, head includeHead: Bool, expertParallel: ExpertParallelism? = nil) -> [(name: String, op: InferenceOp)] {
        let m = batch * tokens
        let heads = model.heads / tp
        let kvHeads = Swift.max(1, model.kvHeads / tp)
        let hd = model.headDim
        let attention: InferenceOp = tokens == 1
            ? .attentionDecode(batch: batch, kvLength: context + 1, heads: heads, kvHeads: kvHeads, headDim: hd)
            : context > 0 ? .attentionPrefillChunk(batch: batch, tokens: tokens, context: context, heads: heads, kvHeads: kvHeads, headDim: hd)
            : .attentionPrefill(batch: batch, seq: tokens, heads: heads, kvHeads: kvHeads, headDim: hd)
        let attentionName = tokens == 1 ? "attention_decode" : "attention_prefill"
        var ops: [(name: String, op: InferenceOp)] = []
        for layer in layers {
            ops += self.layer(layer, model: model, tokens: m, tp: tp, attention: [(attentionName, attention)], expertParallel: expertParallel)
        }
        if includeHead { ops += head(model: model, sequences: batch, tp: tp) }
        return ops
    }

    /// The ops of layer `layer` (0-based) for `m` tokens on one rank, with `attention` in the
    /// attention slot (a decode, a prefill, or both for a mixed iteration).
    /// `absorbed` (multi-head latent attention only): run the decode form (absorbed key and
    /// value projections) rather than the prefill form; nil: the decode form when `attention`
    /// holds a decode.
    public static func layer(_ layer: Int, model: ModelSpec, tokens m: Int, tp: Int,
                             attention: [(name: String, op: InferenceOp)], expertParallel: ExpertParallelism? = nil,
                             absorbed: Bool? = nil) -> [(name: String, op: InferenceOp)] {
        let heads = model.heads / tp
        let kvHeads = Swift.max(1, model.kvHeads / tp)
        let hd = model.headDim, d = model.hidden
        let activationBytes = Double(m * d) * 2  // bf16 hidden state
        var ops: [(name: String, op: InferenceOp)] = []
        ops.append(("rmsnorm", .elementwise(bytes: 2 * activationBytes)))
        if let mla = model.mla {
            ops += latentAttention(model: model, mla: mla, tokens: m, tp: tp, attention: attention, absorbed: absorbed)
        } else {
            ops.append(("qkv_gemm", .gemm(m: m, n: (heads + 2 * kvHeads) * hd, k: d)))
            ops += attention
            ops.append(("out_proj_gemm", .gemm(m: m, n: d, k: heads * hd)))
        }
        if tp > 1 { ops.append(("all_reduce", .allReduce(bytes: activationBytes))) }
        ops.append(("residual_rmsnorm", .elementwise(bytes: 3 * activationBytes)))
        if let moe = model.moe, layer >= moe.denseLayers, let wide = expertParallel, wide.ep > 1 {
            ops += wideExpertOps(model: model, moe: moe, tokens: m, tp: tp, wide: wide)
        } else if let moe = model.moe, layer >= moe.denseLayers {
            ops += moeOps(model: model, moe: moe, tokens: m, tp: tp)
        } else {
            let f = model.ffn / tp
            ops.append(("mlp_up_gemm", .gemm(m: m, n: model.mlp == .swiglu ? 2 * f : f, k: d)))   // up (and gate)
            ops.append(("activation", .elementwise(bytes: Double(m * f) * 2 * (model.mlp == .swiglu ? 3 : 2))))
            ops.append(("mlp_down_gemm", .gemm(m: m, n: d, k: f)))
        }
        if tp > 1 { ops.append(("all_reduce", .allReduce(bytes: activationBytes))) }
        ops.append(("residual", .elementwise(bytes: 2 * activationBytes)))
        return ops
    }

    /// Multi-head latent attention on one rank (DeepSeek-V2/V3): queries through a low-rank
    /// projection (d → q_lora → heads × (head_dim + rope)), keys and values through a shared
    /// latent (d → kv_lora + rope, the cache). Decode absorbs the key and value up-projections
    /// into per-head batched GEMMs around attention over the latent cache (FlashMLA); prefill
    /// expands the latent into per-head keys and values and runs ordinary attention, whose
    /// QKᵀ (head_dim + rope wide) and PV (value_head_dim wide) are priced as one head of their
    /// mean width. The attention ops given (for the grouped-query shape) say which pass it is.
    static func latentAttention(model: ModelSpec, mla: MLASpec, tokens m: Int, tp: Int,
                                attention: [(name: String, op: InferenceOp)], absorbed: Bool? = nil) -> [(name: String, op: InferenceOp)] {
        let d = model.hidden, heads = model.heads / tp, hd = model.headDim
        let latent = mla.kvLoraRank, rope = mla.ropeHeadDim, v = mla.valueHeadDim
        var ops: [(name: String, op: InferenceOp)] = [
            ("q_down_gemm", .gemm(m: m, n: mla.qLoraRank, k: d)),
            ("q_norm", .elementwise(bytes: Double(m * mla.qLoraRank) * 4)),
            ("q_up_gemm", .gemm(m: m, n: heads * (hd + rope), k: mla.qLoraRank)),
            ("kv_down_gemm", .gemm(m: m, n: latent + rope, k: d)),
            ("kv_norm", .elementwise(bytes: Double(m * latent) * 4)),
        ]
        let mapped = attention.map { ($0.name, latentForm(of: $0.op, model: model, mla: mla, tp: tp)) }
        let decode = absorbed ?? attention.contains { if case .attentionDecode = $0.op { true } else { false } }
        if decode {
            // Absorbed: q_nope · W_UK per head before, the latent output · W_UV per head after;
            // priced as one GEMM over all heads' weights (the FLOPs and weight bytes of the
            // per-head batch).
            ops.append(("q_absorb_gemm", .gemm(m: m, n: heads * latent, k: hd)))
            ops += mapped
            ops.append(("v_absorb_gemm", .gemm(m: m, n: heads * v, k: latent)))
        } else {
            ops.append(("kv_up_gemm", .gemm(m: m, n: heads * (hd + v), k: latent)))
            ops += mapped
        }
        ops.append(("out_proj_gemm", .gemm(m: m, n: d, k: heads * v)))
        return ops
    }

    /// An attention op of the grouped-query shape as multi-head latent attention runs it: a
    /// decode over the latent cache, or a prefill over expanded per-head keys and values of
    /// the mean width of QKᵀ (head_dim + rope) and PV (value_head_dim).
    static func latentForm(of op: InferenceOp, model: ModelSpec, mla: MLASpec, tp: Int) -> InferenceOp {
        let heads = model.heads / tp
        let width = (model.headDim + mla.ropeHeadDim + mla.valueHeadDim) / 2
        switch op {
        case let .attentionDecode(b, l, _, _, _):
            return .attentionDecodeLatent(batch: b, kvLength: l, heads: heads, latent: mla.kvLoraRank, rope: mla.ropeHeadDim)
        case let .attentionPrefill(b, s, _, _, _):
            return .attentionPrefill(batch: b, seq: s, heads: heads, kvHeads: heads, headDim: width)
        case let .attentionPrefillChunk(b, t, c, _, _, _):
            return .attentionPrefillChunk(batch: b, tokens: t, context: c, heads: heads, kvHeads: heads, headDim: width)
        default:
            return op
        }
    }

    /// The attention op as `model` runs it (latent attention for MLA models).
    public static func attention(_ op: InferenceOp, model: ModelSpec, tp: Int) -> InferenceOp {
        guard let mla = model.mla else { return op }
        return latentForm(of: op, model: model, mla: mla, tp: tp)
    }

    /// After the last layer: the final norm, the logits of the last token of each of
    /// `sequences` sequences, and sampling.
    public static func head(model: ModelSpec, sequences: Int, tp: Int) -> [(name: String, op: InferenceOp)] {
        let d = model.hidden
        var ops: [(name: String, op: InferenceOp)] = []
        ops.append(("final_rmsnorm", .elementwise(bytes: Double(sequences * d) * 4)))
        ops.append(("logits_gemm", .gemm(m: sequences, n: model.vocabulary / tp, k: d)))
        ops.append(("sampling", .elementwise(bytes: Double(sequences * model.vocabulary / tp) * 4)))
        return ops
    }

    /// The MoE part of a layer on one rank (see the header).
    public static func moeOps(model: ModelSpec, moe: MoESpec, tokens m: Int, tp: Int) -> [(name: String, op: InferenceOp)] {
        let d = model.hidden
        var ops: [(name: String, op: InferenceOp)] = [("router_gemm", .gemm(m: m, n: moe.experts, k: d))]
        ops += routedExperts(model: model, moe: moe, localExperts: Double(moe.experts), tokens: m, slices: tp)
        ops += sharedExperts(model: model, moe: moe, tokens: m, tp: tp)
        ops.append(expertCombine(model: model, moe: moe, tokens: m))
        return ops
    }

    /// The MoE part of a layer under wide expert parallelism, on one rank: the router; the
    /// rank's 1/tp share of its group's tokens sent to the GPUs of their top-k experts, once per
    /// GPU (all-to-all, `dispatchBuffer`; fp8 with scales when the GEMMs run below bf16, as
    /// DeepEP's dispatch sends); the rank's E/ep whole experts, each receiving
    /// instance tokens × k / E tokens (or, at small batch, only those chosen: each expert is
    /// used with probability 1 − (1 − k/E)^tokens); the results sent back (all-to-all) and
    /// summed into the layer's all-reduce with the shared experts (split over TP as usual).
    public static func wideExpertOps(model: ModelSpec, moe: MoESpec, tokens m: Int, tp: Int, wide: ExpertParallelism) -> [(name: String, op: InferenceOp)] {
        let d = model.hidden
        // The busiest rank receives (and sends back) loadFactor × the balanced share.
        func buffer(_ bytesPerElement: Double) -> Double {
            ExpertParallelism.dispatchBuffer(tokens: (m + tp - 1) / tp, hidden: d, bytesPerElement: bytesPerElement, experts: moe.experts,
                                             topK: moe.topK, ep: wide.ep) * wide.loadFactor
        }
        let lowLatency = (m + tp - 1) / tp <= ExpertAllToAll.lowLatencyTokens
        var ops: [(name: String, op: InferenceOp)] = [("router_gemm", .gemm(m: m, n: moe.experts, k: d)),
                                                      ("moe_dispatch", .allToAll(bytes: buffer(wide.dispatchBytesPerElement), lowLatency: lowLatency))]
        ops += routedExperts(model: model, moe: moe, localExperts: Double(wide.slots ?? moe.experts) / Double(wide.ep), tokens: wide.instanceTokens,
                             loadFactor: wide.loadFactor, slots: wide.slots)
        ops.append(("moe_combine", .allToAll(bytes: buffer(2), lowLatency: lowLatency)))
        ops += sharedExperts(model: model, moe: moe, tokens: m, tp: tp)
        ops.append(expertCombine(model: model, moe: moe, tokens: m))
        return ops
    }

    /// The grouped GEMMs of a rank's `localExperts` routed experts that receive any of `tokens`
    /// tokens: routed top-k over E experts, each expert gets tokens·k/E on average and is used at
    /// all with probability 1 − (1 − k/E)^tokens. With `slices` > 1 each expert's FFN columns are
    /// split over that many ranks (tensor-parallel MoE, as TensorRT-LLM's and vLLM's fused MoE
    /// run it without expert parallelism: every rank holds inter/tp columns of every expert, so
    /// a 16-expert model on TP 28 reads 1/28 of each active expert, not a whole one).
    /// `loadFactor`: the busiest rank's tokens over the balanced share. `slots`: with redundant
    /// experts (EPLB) the local experts are slots, and an expert's tokens split over its copies.
    public static func routedExperts(model: ModelSpec, moe: MoESpec, localExperts: Double, tokens: Int, slices: Int = 1,
                                     loadFactor: Double = 1, slots: Int? = nil) -> [(name: String, op: InferenceOp)] {
        let d = model.hidden, f = (moe.expertFFN + slices - 1) / slices
        let used = 1 - pow(1 - Double(moe.topK) / Double(moe.experts), Double(tokens))
        let activeLocal = Swift.max(1, Int((localExperts * used).rounded(.up)))
        let perSlot = Double(tokens * moe.topK) / Double(Swift.max(slots ?? moe.experts, moe.experts))
        let tokensPerExpert = Swift.max(1, Int((perSlot / Swift.max(used, 1e-9) * loadFactor).rounded(.up)))
        return [("expert_up_gemm", .groupedGemm(m: tokensPerExpert, n: model.mlp == .swiglu ? 2 * f : f, k: d, groups: activeLocal)),
                ("expert_down_gemm", .groupedGemm(m: tokensPerExpert, n: d, k: f, groups: activeLocal))]
    }

    /// The permute of each token's k copies to its experts and their weighted sum back (bf16
    /// reads and writes of tokens × k hidden states, twice).
    public static func expertCombine(model: ModelSpec, moe: MoESpec, tokens m: Int) -> (name: String, op: InferenceOp) {
        ("expert_combine", .elementwise(bytes: Double(m * model.hidden * moe.topK) * 2 * 2))
    }

    /// The shared experts, split over the TP group like a dense MLP.
    static func sharedExperts(model: ModelSpec, moe: MoESpec, tokens m: Int, tp: Int) -> [(name: String, op: InferenceOp)] {
        guard moe.sharedExperts > 0 else { return [] }
        let fs = moe.sharedExperts * moe.expertFFN / tp
        return [("shared_expert_up_gemm", .gemm(m: m, n: model.mlp == .swiglu ? 2 * fs : fs, k: model.hidden)),
                ("shared_expert_down_gemm", .gemm(m: m, n: model.hidden, k: fs))]
    }

    /// Weight bytes per GPU under wide expert parallelism: attention, dense layers, shared
    /// experts and embeddings split over TP, routed experts over EP; with redundant experts
    /// (EPLB `slots`) each rank holds slots / ep of them, replicas included.
    public static func weightBytesPerRank(model: ModelSpec, precision: Precision, tp: Int, ep: Int, slots: Int? = nil) -> Double {
        guard let moe = model.moe, ep > 1 else { return weightBytesPerRank(model: model, precision: precision, tp: tp) }
        let expert = Double(model.mlp.matrices) * Double(model.hidden) * Double(moe.expertFFN)
        let moeLayers = Double(model.layers - Swift.min(moe.denseLayers, model.layers))
        let routed = moeLayers * Double(moe.experts) * expert
        let held = moeLayers * Double(Swift.max(slots ?? moe.experts, moe.experts)) * expert
        return (weightBytesPerRank(model: model, precision: precision, tp: 1) - routed * precision.bytesPerElement) / Double(tp)
            + held * precision.bytesPerElement / Double(ep)
    }

    /// Weight bytes per tensor-parallel rank at `precision` (embeddings in bf16).
    public static func weightBytesPerRank(model: ModelSpec, precision: Precision, tp: Int) -> Double {
        let embeddings = Double(model.vocabulary * model.hidden) * (model.tiedEmbeddings ? 1 : 2)
        return ((model.parameters - embeddings) * precision.bytesPerElement + embeddings * 2) / Double(tp)
    }

    /// KV-cache bytes per rank for `tokens` cached tokens in all sequences.
    public static func kvCacheBytesPerRank(model: ModelSpec, tokens: Int, kvPrecision: Precision, tp: Int) -> Double {
        // A latent cache is shared by all heads, so every TP rank holds all of it.
        if model.mla != nil {
            return Double(tokens * model.layers) * model.kvCacheBytesPerTokenPerLayer(bytesPerElement: kvPrecision.bytesPerElement)
        }
        let kvHeadsPerRank = Double(Swift.max(1, model.kvHeads / tp))
        return Double(tokens * model.layers) * 2 * kvHeadsPerRank * Double(model.headDim) * kvPrecision.bytesPerElement
    }
}
