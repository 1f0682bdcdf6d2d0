// The operations of one training micro-batch on one rank, layer by layer: what the training
// step (TrainingStep) runs on each pipeline stage.
//
// Per transformer layer, Megatron-style tensor parallelism over `tp` ranks (with sequence
// parallelism the hidden state between blocks is split over the TP ranks along the sequence,
// and each block's all-reduce becomes an all-gather before it and a reduce-scatter after it;
// Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models", 2022):
// RMSNorm; QKV projection (column-parallel); rotary embedding of Q and K; context-parallel
// all-gather of K and V when cp > 1 (each of the cp ranks holds seq/cp tokens and does 1/cp
// of the causal attention, load-balanced as Megatron's CP does); causal FlashAttention; output projection
// (row-parallel); the block's TP collective; RMSNorm; MLP (or routed experts); TP collective;
// residual. MoE layers: router GEMM, an all-to-all dispatch over the `ep` ranks, the local
// experts (experts/ep per rank, each sharded over TP) as one grouped GEMM, an all-to-all
// combine, and the shared experts as a dense MLP.
//
// Backward mirrors forward in reverse: each GEMM becomes a data-gradient GEMM (m×n by n×k) and
// a weight-gradient GEMM (n×m by m×k), twice its FLOPs; attention's backward does 2.5× the
// forward's matrix work (FlashAttention-2 recomputes the scores and runs five GEMMs to the
// forward's two: Dao, "FlashAttention-2", 2023, section 3.1.2); element-wise kernels move
// twice their bytes (an fp8 run casts each output gradient once, for both layouts); an
// all-gather becomes a reduce-scatter and back, all-reduce and all-to-all stay. Recompute `full` runs the layer's forward again before its backward
// (storing only its input); `selective` recomputes the attention block (storing the MLP
// block's activations).
//
// Scope: no dropout (modern LLM pre-training uses none), biases and norms' weights are left
// out of parameter counts (well under 0.1%), MoE expert load is balanced, MLA (DeepSeek) is
// approximated by its parameter count with grouped-query attention shapes.
import Foundation
import Hardware
import Models

public enum Recompute: String, Sendable, CaseIterable {
    case none, selective, full
}

/// The groups a layer communicates in.
public enum CommGroup: String, Sendable {
    case tp, cp, ep
}

public enum CommKind: String, Sendable {
    case allReduce = "all_reduce", allGather = "all_gather", reduceScatter = "reduce_scatter", allToAll = "alltoall"
}

public enum TrainingOp: Sendable, Equatable {
    /// `batch` GEMMs of m×k by k×n. Under fp8 or fp4 the m×k input is cast first for
    /// `castLayouts` uses: 2 when a later GEMM reads it the other way round too (a forward
    /// input, read again by the weight gradient; an output gradient, by the data and the
    /// weight gradient), 0 when an earlier op cast it. The pricer decides what a second layout
    /// costs on the chip.
    case gemm(m: Int, n: Int, k: Int, batch: Int, castLayouts: Int = 2)
    /// Causal FlashAttention over sequences of `seq` tokens, this rank's `1/shards` of it.
    case attention(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int, shards: Int, backward: Bool)
    case elementwise(bytes: Double)
    /// A collective over `group`; `bytes` in nccl-tests' convention (the whole buffer).
    case communication(CommKind, group: CommGroup, bytes: Double)
}

/// How the model is split and what one micro-batch is.
public struct TrainingShape: Sendable, Equatable {
    public var model: ModelSpec
    public var tp: Int
    public var cp: Int
    public var ep: Int
    public var sequenceParallel: Bool
    /// Sequences per micro-batch.
    public var microBatch: Int
    public var sequence: Int
    public var recompute: Recompute
    /// Bytes per element of the GEMM inputs kept for the weight gradients (1 in fp8 training:
    /// Transformer Engine keeps the fp8 copy it multiplied).
    public var gemmInputBytes: Double
    /// The cross-entropy fused over the bf16 logits (no fp32 copy).
    public var fusedCrossEntropy = false

    public init(model: ModelSpec, tp: Int, cp: Int = 1, ep: Int = 1, sequenceParallel: Bool, microBatch: Int, sequence: Int,
                recompute: Recompute, gemmInputBytes: Double = 2) {
        self.model = model
        self.tp = tp
        self.cp = cp
        self.ep = ep
        self.sequenceParallel = sequenceParallel
        self.microBatch = microBatch
        self.sequence = sequence
        self.recompute = recompute
        self.gemmInputBytes = gemmInputBytes
    }

    /// Tokens of one micro-batch on one rank's sequence shard (before the SP split).
    public var tokens: Int { microBatch * sequence / cp }
    /// Bytes of the bf16 hidden state of those tokens.
    public var hiddenBytes: Double { Double(tokens * model.hidden) * 2 }
    /// The part of it a rank keeps between blocks (1/tp with sequence parallelism).
    public var shardBytes: Double { sequenceParallel ? hiddenBytes / Double(tp) : hiddenBytes }

    public func isMoE(_ layer: Int) -> Bool { model.moe.map { layer >= $0.denseLayers } ?? false }
}

public typealias NamedTrainingOp = (name: String, op: TrainingOp)

public enum TrainingOps {
    /// Attention's backward work as a multiple of its forward's (FlashAttention-2's five GEMMs
    /// to the forward's two, with the scores recomputed: see the header).
    public static let attentionBackwardWork = 2.5

    /// Forward ops of layer `layer` on one rank.
    public static func forward(_ layer: Int, _ s: TrainingShape) -> [NamedTrainingOp] {
        attentionBlock(s) + mlpBlock(layer, s)
    }

    /// Backward ops of layer `layer` on one rank, including its recomputation.
    public static func backward(_ layer: Int, _ s: TrainingShape) -> [NamedTrainingOp] {
        let recomputed: [NamedTrainingOp]
        switch s.recompute {
        case .none: recomputed = []
        case .selective: recomputed = attentionBlock(s).map { ("recompute_" + $0.name, $0.op) }
        case .full: recomputed = forward(layer, s).map { ("recompute_" + $0.name, $0.op) }
        }
        return recomputed + mirror(forward(layer, s))
    }

    /// The ops that become a layer's backward: reversed, each turned into its gradient ops.
    public static func mirror(_ ops: [NamedTrainingOp]) -> [NamedTrainingOp] {
        ops.reversed().flatMap { name, op -> [NamedTrainingOp] in
            switch op {
            case let .gemm(m, n, k, batch, _):
                // The output gradient is cast once for both layouts (Transformer Engine's
                // backward quantizes grad_output for row- and column-wise use in one kernel);
                // the weight gradient's other input is the forward's stored low-precision copy.
                return [(name + "_dgrad", .gemm(m: m, n: k, k: n, batch: batch, castLayouts: 2)),
                        (name + "_wgrad", .gemm(m: n, n: k, k: m, batch: batch, castLayouts: 0))]
            case let .attention(b, seq, h, kv, hd, shards, _):
                return [(name + "_backward", .attention(batch: b, seq: seq, heads: h, kvHeads: kv, headDim: hd, shards: shards, backward: true))]
            case let .elementwise(bytes):
                return [(name + "_backward", .elementwise(bytes: 2 * bytes))]
            case let .communication(kind, group, bytes):
                let mirrored: CommKind = kind == .allGather ? .reduceScatter : kind == .reduceScatter ? .allGather : kind
                return [(name + "_backward", .communication(mirrored, group: group, bytes: bytes))]
            }
        }
    }

    static func attentionBlock(_ s: TrainingShape) -> [NamedTrainingOp] {
        let m = s.model, t = s.tokens
        let heads = m.heads / s.tp, kvHeads = Swift.max(1, m.kvHeads / s.tp), hd = m.headDim
        var ops: [NamedTrainingOp] = [("rmsnorm", .elementwise(bytes: 2 * s.shardBytes))]
        ops += gatherInput(s)
        ops.append(("qkv_gemm", .gemm(m: t, n: (heads + 2 * kvHeads) * hd, k: m.hidden, batch: 1)))
        // Rotary embedding of the queries and keys (Megatron-Core's apply_rotary_pos_emb, fused
        // by Transformer Engine under apply_rope_fusion): each read and written once in bf16;
        // its backward rotates the gradients back and needs no stored activation.
        ops.append(("rope", .elementwise(bytes: 2 * Double(t * (heads + kvHeads) * hd) * 2)))
        if s.cp > 1 {
            // Every CP rank needs the keys and values of the whole sequence.
            ops.append(("cp_kv_all_gather", .communication(.allGather, group: .cp, bytes: Double(t * s.cp * 2 * kvHeads * hd) * 2)))
        }
        ops.append(("attention", .attention(batch: s.microBatch, seq: s.sequence, heads: heads, kvHeads: kvHeads, headDim: hd, shards: s.cp, backward: false)))
        ops.append(("out_proj_gemm", .gemm(m: t, n: m.hidden, k: heads * hd, batch: 1)))
        ops += reduceOutput(s)
        ops.append(("residual", .elementwise(bytes: 3 * s.shardBytes)))
        return ops
    }

    static func mlpBlock(_ layer: Int, _ s: TrainingShape) -> [NamedTrainingOp] {
        let m = s.model, t = s.tokens
        var ops: [NamedTrainingOp] = [("rmsnorm", .elementwise(bytes: 2 * s.shardBytes))]
        ops += gatherInput(s)
        if let moe = m.moe, s.isMoE(layer) {
            let f = moe.expertFFN / s.tp, local = moe.experts / s.ep
            // Tokens each expert receives from the whole EP group, balanced.
            let perExpert = Swift.max(1, t * s.ep * moe.topK / moe.experts)
            let routed = Double(t * moe.topK * m.hidden) * 2
            ops.append(("router_gemm", .gemm(m: t, n: moe.experts, k: m.hidden, batch: 1)))
            if s.ep > 1 { ops.append(("moe_dispatch", .communication(.allToAll, group: .ep, bytes: routed))) }
            ops.append(("expert_up_gemm", .gemm(m: perExpert, n: m.mlp == .swiglu ? 2 * f : f, k: m.hidden, batch: local)))
            ops.append(("expert_activation", .elementwise(bytes: Double(perExpert * local * f) * 2 * (m.mlp == .swiglu ? 3 : 2))))
            ops.append(("expert_down_gemm", .gemm(m: perExpert, n: m.hidden, k: f, batch: local)))
            if s.ep > 1 { ops.append(("moe_combine", .communication(.allToAll, group: .ep, bytes: routed))) }
            if moe.sharedExperts > 0 { ops += denseMLP(s, ffn: moe.sharedExperts * moe.expertFFN, prefix: "shared_") }
            ops.append(("expert_weighting", .elementwise(bytes: routed * 2)))
        } else {
            ops += denseMLP(s, ffn: m.ffn, prefix: "mlp_")
        }
        ops += reduceOutput(s)
        ops.append(("residual", .elementwise(bytes: 2 * s.shardBytes)))
        return ops
    }

    static func denseMLP(_ s: TrainingShape, ffn: Int, prefix: String) -> [NamedTrainingOp] {
        let m = s.model, t = s.tokens, f = ffn / s.tp
        return [
            (prefix + "up_gemm", .gemm(m: t, n: m.mlp == .swiglu ? 2 * f : f, k: m.hidden, batch: 1)),
            (prefix + "activation", .elementwise(bytes: Double(t * f) * 2 * (m.mlp == .swiglu ? 3 : 2))),
            (prefix + "down_gemm", .gemm(m: t, n: m.hidden, k: f, batch: 1)),
        ]
    }

    static func gatherInput(_ s: TrainingShape) -> [NamedTrainingOp] {
        s.tp > 1 && s.sequenceParallel ? [("tp_all_gather", .communication(.allGather, group: .tp, bytes: s.hiddenBytes))] : []
    }

    static func reduceOutput(_ s: TrainingShape) -> [NamedTrainingOp] {
        guard s.tp > 1 else { return [] }
        return s.sequenceParallel ? [("tp_reduce_scatter", .communication(.reduceScatter, group: .tp, bytes: s.hiddenBytes))]
            : [("tp_all_reduce", .communication(.allReduce, group: .tp, bytes: s.hiddenBytes))]
    }

    /// The first pipeline stage's input embedding (vocabulary-parallel over TP: each rank looks
    /// up its part of the vocabulary and the partial sums are reduced).
    public static func embedding(_ s: TrainingShape) -> [NamedTrainingOp] {
        var ops: [NamedTrainingOp] = [("embedding", .elementwise(bytes: 2 * s.hiddenBytes))]
        ops += reduceOutput(s)
        return ops
    }

    /// The last stage's final norm, logits over vocabulary/tp and the cross-entropy loss: fp32
    /// logits written, read back for the softmax and the gradient (12 bytes per logit, twice
    /// that backward); fused (Megatron's cross_entropy_loss_fusion, Transformer Engine's
    /// kernel), one read of the bf16 logits forward and the bf16 gradient written in their
    /// place backward.
    public static func head(_ s: TrainingShape) -> [NamedTrainingOp] {
        let m = s.model, t = s.tokens, v = m.vocabulary / s.tp
        var ops: [NamedTrainingOp] = [("final_rmsnorm", .elementwise(bytes: 2 * s.shardBytes))]
        ops += gatherInput(s)
        ops.append(("logits_gemm", .gemm(m: t, n: v, k: m.hidden, batch: 1)))
        ops.append(("cross_entropy", .elementwise(bytes: Double(t * v) * (s.fusedCrossEntropy ? 2 : 4 * 3))))
        return ops
    }

    // MARK: - Parameters and activations per rank

    /// Weights of layer `layer` held by one rank (attention and dense MLPs split over TP,
    /// experts over EP and TP).
    public static func parameters(_ layer: Int, _ s: TrainingShape) -> Double {
        let m = s.model
        var p = m.attentionParameters / Double(s.tp)
        if let moe = m.moe, s.isMoE(layer) {
            let expert = Double(m.mlp.matrices) * Double(m.hidden) * Double(moe.expertFFN)
            p += Double(moe.experts) / Double(s.ep) * expert / Double(s.tp)
            p += Double(moe.sharedExperts) * expert / Double(s.tp) + Double(m.hidden * moe.experts)
        } else {
            p += Double(m.mlp.matrices) * Double(m.hidden) * Double(m.ffn) / Double(s.tp)
        }
        return p
    }

    /// Weights of the input embedding or of the output projection on one rank.
    public static func embeddingParameters(_ s: TrainingShape) -> Double {
        Double(s.model.vocabulary * s.model.hidden) / Double(s.tp)
    }

    /// Bytes one micro-batch leaves stored on one rank for layer `layer`'s backward: every
    /// tensor a backward kernel reads (GEMM inputs, attention's Q, K, V and output, norm and
    /// activation inputs), in bf16 except GEMM inputs at `gemmInputBytes`; FlashAttention
    /// stores no score matrix. With full recompute
    /// only the layer's input; with selective recompute the input and the MLP block's tensors.
    public static func activationBytes(_ layer: Int, _ s: TrainingShape) -> Double {
        let m = s.model, t = Double(s.tokens)
        let heads = Double(m.heads / s.tp), kvHeads = Double(Swift.max(1, m.kvHeads / s.tp)), hd = Double(m.headDim)
        let input = s.shardBytes
        let gemmInput = input / 2 * s.gemmInputBytes
        // Norm input, QKV input, Q/K/V, attention output (bf16 for FlashAttention's backward)
        // and its copy as the out-projection's input.
        let attention = input + gemmInput + t * (heads + 2 * kvHeads) * hd * 2 + t * heads * hd * (2 + (s.gemmInputBytes < 2 ? s.gemmInputBytes : 0))
        var f = Double(m.ffn) / Double(s.tp)
        var mlpTokens = t
        if let moe = m.moe, s.isMoE(layer) {
            f = Double(moe.expertFFN) / Double(s.tp)
            mlpTokens = t * Double(moe.topK)
        }
        // Norm input, MLP input, up (and gate) output, activation output (the down input).
        let mlp = input + gemmInput + mlpTokens * f * 2 * (m.mlp == .swiglu ? 2 : 1) + mlpTokens * f * s.gemmInputBytes
        switch s.recompute {
        case .none: return attention + mlp
        case .selective: return input + mlp
        case .full: return input
        }
    }

    /// Bytes of one micro-batch's activation sent between pipeline stages by one rank (the
    /// hidden state, split over TP ranks as Megatron's scatter-gather optimisation sends it).
    public static func pipelineBytes(_ s: TrainingShape) -> Double { s.hiddenBytes / Double(s.tp) }
}
