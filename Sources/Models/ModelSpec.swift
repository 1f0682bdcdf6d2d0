// Transformer models: the shapes a training step or a decode iteration is built from.
//
// Parameter counts follow from the shapes (closed forms below), so a preset is checked against
// its published total (tests). Attention is grouped-query (kv_heads ≤ heads) unless a model
// uses multi-head latent attention (DeepSeek's MLA), which is approximated: see `mla`.

/// How a model's MLP is built.
public enum MLPKind: String, Sendable, CaseIterable {
    /// Two matrices, up d×f and down f×d (GPT-style, GELU).
    case gelu
    /// Three matrices, gate and up d×f, down f×d (SwiGLU, Llama-style).
    case swiglu

    public var matrices: Int { self == .gelu ? 2 : 3 }
}

/// Multi-head latent attention (DeepSeek-V2/V3): keys and values are compressed to a latent of
/// `kvLoraRank` per token (what the KV cache holds, with a decoupled RoPE key of `ropeHeadDim`),
/// queries through a low-rank `qLoraRank`.
public struct MLASpec: Sendable, Equatable {
    public var qLoraRank: Int
    public var kvLoraRank: Int
    public var ropeHeadDim: Int
    public var valueHeadDim: Int

    public init(qLoraRank: Int, kvLoraRank: Int, ropeHeadDim: Int, valueHeadDim: Int) {
        self.qLoraRank = qLoraRank
        self.kvLoraRank = kvLoraRank
        self.ropeHeadDim = ropeHeadDim
        self.valueHeadDim = valueHeadDim
    }
}

/// Mixture of experts: `experts` routed experts of FFN size `expertFFN`, `topK` per token,
/// `sharedExperts` always active, in all layers but the first `denseLayers`.
public struct MoESpec: Sendable, Equatable {
    public var experts: Int
    public var topK: Int
    public var expertFFN: Int
    public var sharedExperts: Int
    public var denseLayers: Int

    public init(experts: Int, topK: Int, expertFFN: Int, sharedExperts: Int = 0, denseLayers: Int = 0) {
        self.experts = experts
        self.topK = topK
        self.expertFFN = expertFFN
        self.sharedExperts = sharedExperts
        self.denseLayers = denseLayers
    }
}

public struct ModelSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    public var layers: Int
    public var hidden: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    /// FFN size of dense layers.
    public var ffn: Int
    public var mlp: MLPKind
    public var vocabulary: Int
    /// Input embedding and output projection share weights.
    public var tiedEmbeddings: Bool
    public var moe: MoESpec?
    public var mla: MLASpec?

    public init(
        name: String, description: String, layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int, ffn: Int,
        mlp: MLPKind, vocabulary: Int, tiedEmbeddings: Bool = false, moe: MoESpec? = nil, mla: MLASpec? = nil
    ) {
        self.name = name
        self.description = description
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ffn = ffn
        self.mlp = mlp
        self.vocabulary = vocabulary
        self.tiedEmbeddings = tiedEmbeddings
        self.moe = moe
        self.mla = mla
    }

    /// Attention weights of one layer.
    public var attentionParameters: Double {
        let d = Double(hidden), h = Double(heads)
        if let mla {
            // q: d→q_lora→h·(head_dim + rope); kv: d→(kv_lora + rope), kv_lora→h·(head_dim + v_dim); out h·v_dim→d.
            let q = d * Double(mla.qLoraRank) + Double(mla.qLoraRank) * h * Double(headDim + mla.ropeHeadDim)
            let kv = d * Double(mla.kvLoraRank + mla.ropeHeadDim) + Double(mla.kvLoraRank) * h * Double(headDim + mla.valueHeadDim)
            return q + kv + h * Double(mla.valueHeadDim) * d
        }
        // Q and O: d × heads·head_dim each; K and V: d × kv_heads·head_dim each.
        return 2 * d * h * Double(headDim) + 2 * d * Double(kvHeads * headDim)
    }

    func mlpParameters(ffn f: Int) -> Double { Double(mlp.matrices) * Double(hidden) * Double(f) }

    /// MLP weights of layer `layer` (0-based): all experts for MoE layers.
    public func mlpParameters(layer: Int) -> Double {
        guard let moe, layer >= moe.denseLayers else { return mlpParameters(ffn: ffn) }
        let router = Double(hidden * moe.experts)
        return Double(moe.experts + moe.sharedExperts) * mlpParameters(ffn: moe.expertFFN) + router
    }

    /// MLP weights a token uses in layer `layer`: top-k and shared experts of MoE layers.
    public func activeMLPParameters(layer: Int) -> Double {
        guard let moe, layer >= moe.denseLayers else { return mlpParameters(ffn: ffn) }
        return Double(moe.topK + moe.sharedExperts) * mlpParameters(ffn: moe.expertFFN) + Double(hidden * moe.experts)
    }

    var embeddingParameters: Double { Double(vocabulary * hidden) * (tiedEmbeddings ? 1 : 2) }

    /// All weights (norms and biases are left out: well under 0.1% for these models).
    public var parameters: Double {
        (0..<layers).reduce(embeddingParameters) { $0 + attentionParameters + mlpParameters(layer: $1) }
    }

    /// Weights a token uses (the MoE "active" count).
    public var activeParameters: Double {
        (0..<layers).reduce(embeddingParameters) { $0 + attentionParameters + activeMLPParameters(layer: $1) }
    }

    /// Bytes of KV cache per token per layer at `bytesPerElement` (MLA caches its latent).
    public func kvCacheBytesPerTokenPerLayer(bytesPerElement: Double) -> Double {
        if let mla { return Double(mla.kvLoraRank + mla.ropeHeadDim) * bytesPerElement }
        return 2 * Double(kvHeads * headDim) * bytesPerElement
    }
}
