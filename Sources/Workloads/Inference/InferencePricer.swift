// Pricing inference ops with the kernel model: the one place an InferenceOp becomes kernels.
// Decode runs these kernels on a stream (KernelStream); serving, which runs hundreds of
// thousands of iterations, sums them instead: with CUDA graphs a pass's kernels run back to
// back with nothing else on the GPU, so its time is the sum of its kernels' times, and layers
// of one kind cost the same, so one layer of each kind is priced and multiplied. Mixed
// iterations (continuous batching with chunked prefill) run the decode tokens and the prefill
// chunk through the same GEMMs: m = decode sequences + prefill tokens, attention is priced for
// both parts.
import Hardware
import Models
import Scenario

/// One kernel of an op: its cost, the fixed part of it, and whether it is communication.
public struct OpKernel: Sendable {
    public var name: String
    public var cost: KernelCost
    public var fixedSeconds: Double
    public var isCommunication: Bool
}

public struct InferencePricer: Sendable {
    public var model: ModelSpec
    public var kernels: KernelModel
    public var precision: Precision
    public var kvPrecision: Precision
    public var tp: Int
    /// Seconds of one all-reduce of `bytes` per rank over the TP group.
    public var allReduce: @Sendable (Double) -> Double
    /// Fraction of each all-reduce hidden behind computation (stack.communication_overlap).
    public var communicationOverlap: Double
    /// Kernel speed per class relative to the calibrated kernels (stack.kernel_efficiency's
    /// classes and stack.attention_efficiency).
    public var attentionEfficiency = 1.0
    public var gemmEfficiency = 1.0
    public var elementwiseEfficiency = 1.0
    /// Seconds of one all-to-all of `bytes` per rank over the expert-parallel group.
    public var allToAll: (@Sendable (Double, Bool) -> Double)?
    /// Wide expert parallelism: GPUs of the EP group (1: experts split over the TP group).
    public var ep = 1
    /// Kernel fusions (stack.fusion).
    public var fusion = KernelFusion()
    /// GEMMs whose input comes from attention (not from a norm or an activation), so a
    /// separate kernel still quantises it under quantize fusion.
    static let fedByAttention: Set<String> = ["out_proj_gemm", "q_absorb_gemm", "v_absorb_gemm"]
    /// How tokens spread over the experts (under wide expert parallelism the busiest rank
    /// sets each MoE layer).
    public var routing = ExpertRouting.balanced
    let expertLoads = PriceCache<ExpertLoadKey> { $0.routing.busiestRankFactor(experts: $0.experts, topK: $0.topK, ep: $0.ep, tokens: $0.tokens) }

    /// The expert parallelism of a pass with `instanceTokens` tokens over the EP group (nil
    /// without wide EP), with its busiest rank's load.
    public func expertParallelism(instanceTokens: Int) -> ExpertParallelism? {
        guard ep > 1, let moe = model.moe else { return nil }
        let factor = expertLoads(ExpertLoadKey(routing: routing, experts: moe.experts, topK: moe.topK, ep: ep, tokens: instanceTokens))
        // DeepEP's dispatch sends fp8 with a 4-byte scale per 128 elements when the experts
        // run in fp8 or fp4; bf16 otherwise.
        return ExpertParallelism(ep: ep, instanceTokens: instanceTokens, loadFactor: factor,
                                 dispatchBytesPerElement: precision == .bf16 ? 2 : 1 + 4.0 / 128, slots: routing.slots)
    }

    public init(model: ModelSpec, kernels: KernelModel, precision: Precision, kvPrecision: Precision, tp: Int,
                communicationOverlap: Double = 0, allReduce: @escaping @Sendable (Double) -> Double) {
        self.model = model
        self.kernels = kernels
        self.precision = precision
        self.kvPrecision = kvPrecision
        self.tp = tp
        self.communicationOverlap = communicationOverlap
        self.allReduce = allReduce
    }

    /// The kernels that run `op` (a GEMM in fp8 or fp4 first quantises its bf16 input).
    public func kernels(_ name: String, _ op: InferenceOp) -> [OpKernel] {
        let f = kernels.factors
        func kernel(_ cost: KernelCost, _ fixed: Double, _ label: String = name) -> OpKernel {
            OpKernel(name: label, cost: cost, fixedSeconds: fixed, isCommunication: false)
        }
        switch op {
        case let .gemm(m, n, k):
            let gemm = kernel(faster(kernels.gemm(m: m, n: n, k: k, precision: precision), by: gemmEfficiency), f.fixedTime)
            guard precision != .bf16, !(fusion.quantize && !Self.fedByAttention.contains(name)) else { return [gemm] }
            return [kernel(faster(kernels.quantize(elements: Double(m * k), to: precision), by: elementwiseEfficiency), f.quantizeFixedTime, "quantize"), gemm]
        case let .attentionDecode(b, l, h, kv, hd):
            return [kernel(faster(by: attentionEfficiency, kernels.attentionDecode(batch: b, kvLength: l, heads: h, kvHeads: kv, headDim: hd, kvPrecision: kvPrecision)), f.decodeFixedTime)]
        case let .groupedGemm(m, n, k, groups):
            let gemm = kernel(faster(kernels.gemm(m: m, n: n, k: k, precision: precision, batch: groups), by: gemmEfficiency), f.fixedTime)
            guard precision != .bf16, !fusion.quantize else { return [gemm] }
            return [kernel(faster(kernels.quantize(elements: Double(m * k * groups), to: precision), by: elementwiseEfficiency), f.quantizeFixedTime, "quantize"), gemm]
        case let .attentionDecodeLatent(b, l, h, latent, rope):
            return [kernel(faster(by: attentionEfficiency, kernels.attentionDecodeLatent(batch: b, kvLength: l, heads: h, latent: latent, rope: rope,
                                                                                         kvPrecision: kvPrecision)), f.decodeFixedTime)]
        case let .attentionPrefill(b, s, h, kv, hd):
            return [kernel(faster(by: attentionEfficiency, kernels.attentionPrefill(batch: b, seq: s, heads: h, kvHeads: kv, headDim: hd, precision: prefillPrecision)), f.prefillFixedTime)]
        case let .attentionPrefillChunk(b, tokens, context, h, kv, hd):
            // The difference of two causal prefills (work grows with the square of the length),
            // never less than one attention launch.
            let prefill = { (s: Int) in
                s == 0 ? 0 : kernels.attentionPrefill(batch: b, seq: s, heads: h, kvHeads: kv, headDim: hd, precision: prefillPrecision).seconds
            }
            let seconds = Swift.max(prefill(context + tokens) - prefill(context), f.prefillFixedTime)
            return [kernel(faster(KernelCost(seconds: seconds), by: attentionEfficiency), f.prefillFixedTime)]
        case var .elementwise(bytes):
            // Inside the all-reduce kernel: the residual adds and the norms after them (the
            // next layer's input norm included).
            if fusion.allReduceNorm && tp > 1 && ["rmsnorm", "residual_rmsnorm", "residual"].contains(name) { return [] }
            if fusion.residualNorm {
                if name == "rmsnorm" { return [] }         // done by the previous layer's residual kernel
                if name == "residual" { bytes *= 1.5 }     // which now also writes the normed output
            }
            return [kernel(faster(kernels.memoryBound(bytesRead: bytes / 2, bytesWritten: bytes / 2), by: elementwiseEfficiency), f.fixedTime)]
        case let .allReduce(bytes):
            // The part hidden behind computation no longer delays the stream.
            let seconds = allReduce(bytes) * (1 - communicationOverlap)
            return [OpKernel(name: name, cost: KernelCost(seconds: seconds), fixedSeconds: 0, isCommunication: true)]
        case let .allToAll(bytes, lowLatency):
            let seconds = (allToAll?(bytes, lowLatency) ?? 0) * (1 - communicationOverlap)
            return [OpKernel(name: name, cost: KernelCost(seconds: seconds), fixedSeconds: 0, isCommunication: true)]
        }
    }

    var prefillPrecision: Precision { precision == .bf16 ? .bf16 : .fp8 }

    /// A kernel `efficiency` times as fast (the stream still caps it at the HBM roofline).
    func faster(_ cost: KernelCost, by efficiency: Double) -> KernelCost {
        guard efficiency != 1 else { return cost }
        var c = cost
        c.seconds /= efficiency
        c.computeSeconds /= efficiency
        c.memorySeconds /= efficiency
        return c
    }

    func faster(by efficiency: Double, _ cost: KernelCost) -> KernelCost { faster(cost, by: efficiency) }

    public func seconds(_ ops: [(name: String, op: InferenceOp)]) -> Double {
        ops.reduce(0.0) { total, item in kernels(item.name, item.op).reduce(total) { $0 + $1.cost.seconds } }
    }

    /// Seconds of the routed experts of one MoE layer on rank 0 of a TP × EP group, as a fused
    /// MoE kernel runs them (the activation quantisation, the two grouped GEMMs, the permute and
    /// weighted sum; no router GEMM and no communication): `tokens` enter the layer on the
    /// rank, routed top-k over `experts` experts, of which the rank holds experts/ep, each
    /// with inter/tp FFN columns. The ops are the ones a MoE layer of the workloads runs.
    /// Checked against kernels/moe.csv by `clustersim validate`.
    public static func routedExpertSeconds(kernels: KernelModel, hidden: Int, inter: Int, experts: Int, topK: Int, tp: Int, ep: Int,
                                           tokens: Int, precision: Precision, routing: ExpertRouting = .balanced) -> Double {
        let moe = MoESpec(experts: experts, topK: topK, expertFFN: inter)
        let model = ModelSpec(name: "moe layer", description: "", layers: 1, hidden: hidden, heads: 1, kvHeads: 1, headDim: 1, ffn: inter,
                              mlp: .swiglu, vocabulary: 1, moe: moe)
        let pricer = InferencePricer(model: model, kernels: kernels, precision: precision, kvPrecision: precision, tp: tp, allReduce: { _ in 0 })
        let load = routing.busiestRankFactor(experts: experts, topK: topK, ep: ep, tokens: tokens)
        var ops = InferenceOps.routedExperts(model: model, moe: moe, localExperts: Double(experts) / Double(ep), tokens: tokens, slices: tp,
                                             loadFactor: load)
        // The rank permutes and sums only the copies routed to its experts (1/ep of them, the
        // busiest rank's share).
        ops.append(InferenceOps.expertCombine(model: model, moe: moe, tokens: Int((Double(tokens) / Double(ep) * load).rounded(.up))))
        return pricer.seconds(ops)
    }

    /// One iteration: `decodeSequences` sequences decoding one token each over a mean KV length
    /// `meanContext`, and `prefillTokens` prompt tokens of one sequence whose cache already
    /// holds `prefillContext` tokens. Under wide expert parallelism the decoding sequences spread
    /// evenly over the ep / tp attention groups, which meet at every MoE layer's all-to-all, so
    /// the iteration takes as long as the busiest group (the one that also prefills), with the
    /// experts computing on every group's tokens. With `positions` > 1 each decoding sequence
    /// runs that many positions (speculative verification of positions − 1 drafted tokens).
    /// Returns the shape of that iteration on its busiest attention group.
    public func shape(decodeSequences allDecoding: Int, meanContext: Int, prefillTokens: Int, prefillContext: Int, positions: Int = 1) -> IterationShape {
        let groups = ep > 1 ? ep / tp : 1
        return IterationShape(decodeSequences: (allDecoding + groups - 1) / groups, meanContext: meanContext,
                              prefills: prefillTokens > 0 ? [PrefillChunk(tokens: prefillTokens, context: prefillContext)] : [],
                              positions: positions, instanceTokens: allDecoding * positions + prefillTokens)
    }

    /// Seconds of an iteration of `shape`: the sum of its parts' kernels.
    public func seconds(_ shape: IterationShape) -> Double {
        parts(of: shape).reduce(0.0) { $0 + $1.count * seconds($1.part) }
    }

    /// An iteration as the sum of parts, each priced on its own (and so memoisable on its own):
    /// per layer kind (dense, MoE) the layer's kernels without attention, times its layers;
    /// the decode attention and each prefill chunk's attention, times every layer; the head.
    /// Attention is the same op in dense and MoE layers; the kernels around it differ.
    public func parts(of shape: IterationShape) -> [(part: IterationPart, count: Double)] {
        let m = shape.tokens
        guard m > 0 else { return [] }
        let decoding = shape.decodeSequences > 0
        let absorbed = model.mla != nil && decoding
        let instanceTokens = ep > 1 ? shape.instanceTokens : m
        var parts: [(part: IterationPart, count: Double)] = []
        let denseLayers = model.moe.map { Swift.min($0.denseLayers, model.layers) } ?? model.layers
        if denseLayers > 0 {
            parts.append((.body(layer: 0, tokens: m, instanceTokens: instanceTokens, absorbed: absorbed), Double(denseLayers)))
        }
        if denseLayers < model.layers {
            parts.append((.body(layer: denseLayers, tokens: m, instanceTokens: instanceTokens, absorbed: absorbed), Double(model.layers - denseLayers)))
        }
        let layers = Double(model.layers)
        if decoding {
            parts.append((.decodeAttention(batch: shape.decodeSequences, context: Swift.max(1, shape.meanContext), positions: shape.positions), layers))
        }
        for chunk in shape.prefills where chunk.tokens > 0 {
            parts.append((.prefillAttention(tokens: chunk.tokens, context: chunk.context), layers))
        }
        parts.append((.head(sequences: shape.decodeSequences + shape.prefills.count), 1))
        return parts
    }

    /// Seconds of one part (see `parts(of:)`).
    public func seconds(_ part: IterationPart) -> Double {
        let heads = model.heads / tp, kvHeads = Swift.max(1, model.kvHeads / tp), hd = model.headDim
        switch part {
        case let .body(layer, tokens, instanceTokens, absorbed):
            let wide = expertParallelism(instanceTokens: instanceTokens)
            return seconds(InferenceOps.layer(layer, model: model, tokens: tokens, tp: tp, attention: [], expertParallel: wide, absorbed: absorbed))
        case let .decodeAttention(batch, context, positions):
            let op: InferenceOp = positions > 1
                ? .attentionPrefillChunk(batch: batch, tokens: positions, context: context, heads: heads, kvHeads: kvHeads, headDim: hd)
                : .attentionDecode(batch: batch, kvLength: context, heads: heads, kvHeads: kvHeads, headDim: hd)
            return seconds([(positions > 1 ? "attention_verify" : "attention_decode", InferenceOps.attention(op, model: model, tp: tp))])
        case let .prefillAttention(tokens, context):
            let op = InferenceOp.attentionPrefillChunk(tokens: tokens, context: context, heads: heads, kvHeads: kvHeads, headDim: hd)
            return seconds([("attention_prefill", InferenceOps.attention(op, model: model, tp: tp))])
        case let .head(sequences):
            return seconds(InferenceOps.head(model: model, sequences: sequences, tp: tp))
        }
    }
}

/// `tokens` more prompt tokens of one sequence whose cache already holds `context` tokens.
public struct PrefillChunk: Hashable, Sendable {
    public var tokens: Int
    public var context: Int

    public init(tokens: Int, context: Int) {
        self.tokens = tokens
        self.context = context
    }
}

/// What one iteration of continuous batching runs on the busiest attention group: decoding
/// sequences (each `positions` positions over a mean cache of `meanContext`) and prompt chunks,
/// through the same GEMMs. `instanceTokens`: the tokens of every attention group of the
/// instance, which the experts compute under wide expert parallelism.
public struct IterationShape: Hashable, Sendable {
    public var decodeSequences: Int
    public var meanContext: Int
    public var prefills: [PrefillChunk]
    public var positions: Int
    public var instanceTokens: Int

    public init(decodeSequences: Int, meanContext: Int, prefills: [PrefillChunk], positions: Int = 1, instanceTokens: Int? = nil) {
        self.decodeSequences = decodeSequences
        self.meanContext = meanContext
        self.prefills = prefills
        self.positions = positions
        self.instanceTokens = instanceTokens ?? decodeSequences * positions + prefills.reduce(0) { $0 + $1.tokens }
    }

    /// Tokens through the GEMMs.
    public var tokens: Int { decodeSequences * positions + prefills.reduce(0) { $0 + $1.tokens } }
}

/// A part of an iteration priced on its own (see `InferencePricer.parts(of:)`).
public enum IterationPart: Hashable, Sendable {
    /// One layer's kernels other than attention, for `tokens` tokens (layer index 0: a dense
    /// layer; the first MoE layer: a MoE layer).
    case body(layer: Int, tokens: Int, instanceTokens: Int, absorbed: Bool)
    case decodeAttention(batch: Int, context: Int, positions: Int)
    case prefillAttention(tokens: Int, context: Int)
    case head(sequences: Int)
}
