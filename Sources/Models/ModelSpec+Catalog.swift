// The model catalog. Every shape is from the model's paper or released configuration, cited
// beside it; `parameters` and `activeParameters` follow from the shapes and are checked
// against the published totals in WorkloadsTests.

extension ModelSpec {
    public static let catalog: [ModelSpec] = [llama3_8B, llama3_70B, llama3_405B, gpt3_175B, mixtral8x7B, deepSeekV3, gptMoE1_8T]

    public static func named(_ name: String) -> ModelSpec? { catalog.first { $0.name == name } }

    /// Llama 3 (Dubey et al., "The Llama 3 Herd of Models", arXiv 2407.21783, Table 3); vocabulary
    /// 128,256 from the released config. 8.0B parameters.
    public static let llama3_8B = ModelSpec(
        name: "llama3-8b", description: "Llama 3 8B (dense, GQA)", layers: 32, hidden: 4096, heads: 32, kvHeads: 8,
        headDim: 128, ffn: 14336, mlp: .swiglu, vocabulary: 128_256)

    /// Llama 3 70B: 80 layers, d 8,192, FFN 28,672, 64 heads, 8 KV heads (same source). 70.6B.
    public static let llama3_70B = ModelSpec(
        name: "llama3-70b", description: "Llama 3 70B (dense, GQA)", layers: 80, hidden: 8192, heads: 64, kvHeads: 8,
        headDim: 128, ffn: 28672, mlp: .swiglu, vocabulary: 128_256)

    /// Llama 3 405B: 126 layers, d 16,384, FFN 53,248, 128 heads, 8 KV heads (same source). 405.9B.
    public static let llama3_405B = ModelSpec(
        name: "llama3-405b", description: "Llama 3 405B (dense, GQA)", layers: 126, hidden: 16384, heads: 128, kvHeads: 8,
        headDim: 128, ffn: 53248, mlp: .swiglu, vocabulary: 128_256)

    /// GPT-3 175B (Brown et al., "Language Models are Few-Shot Learners", arXiv 2005.14165,
    /// Table 2.1): 96 layers, d 12,288, 96 heads of 128, FFN 4·d, vocabulary 50,257, tied
    /// embeddings. 175B.
    public static let gpt3_175B = ModelSpec(
        name: "gpt3-175b", description: "GPT-3 175B (dense, multi-head)", layers: 96, hidden: 12288, heads: 96, kvHeads: 96,
        headDim: 128, ffn: 49152, mlp: .gelu, vocabulary: 50_257, tiedEmbeddings: true)

    /// Mixtral 8x7B (Jiang et al., "Mixtral of Experts", arXiv 2401.04088, Table 1): 32 layers,
    /// d 4,096, 32 heads, 8 KV heads, expert FFN 14,336, 8 experts, top 2, vocabulary 32,000.
    /// 46.7B total, 12.9B active.
    public static let mixtral8x7B = ModelSpec(
        name: "mixtral-8x7b", description: "Mixtral 8x7B (MoE, 8 experts, top-2)", layers: 32, hidden: 4096, heads: 32, kvHeads: 8,
        headDim: 128, ffn: 14336, mlp: .swiglu, vocabulary: 32_000,
        moe: MoESpec(experts: 8, topK: 2, expertFFN: 14336))

    /// DeepSeek-V3 (DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv 2412.19437, §4.2): 61
    /// layers, d 7,168, 128 heads of 128, MLA with KV latent 512, query latent 1,536, decoupled
    /// RoPE 64; the first 3 layers dense (FFN 18,432), then 1 shared + 256 routed experts of
    /// 2,048, top 8; vocabulary 129,280. 671B total, 37B active. MLA is approximated (`MLASpec`);
    /// the multi-token-prediction module is left out.
    public static let deepSeekV3 = ModelSpec(
        name: "deepseek-v3", description: "DeepSeek-V3 (MoE 671B, 37B active; MLA approximated)", layers: 61, hidden: 7168,
        heads: 128, kvHeads: 128, headDim: 128, ffn: 18432, mlp: .swiglu, vocabulary: 129_280,
        moe: MoESpec(experts: 256, topK: 8, expertFFN: 2048, sharedExperts: 1, denseLayers: 3),
        mla: MLASpec(qLoraRank: 1536, kvLoraRank: 512, ropeHeadDim: 64, valueHeadDim: 128))

    /// GPT-MoE-1.8T, the model of NVIDIA's GB200 claims (GTC 2024 keynote). No configuration is
    /// published; this one is derived from the widely reported figures (SemiAnalysis, 2023, as
    /// summarised by windowsreport.com: 120 layers, 16 experts, top 2, ~111B parameters per
    /// expert and ~55B shared attention): attention 55e9/120 layers = 4·d² gives d ≈ 10,752
    /// (84 heads of 128); an expert's 111e9/120 = 2·d·f gives f ≈ 43,008 = 4·d; vocabulary
    /// 100,277 (the cl100k tokenizer). An estimate: 1.78T total, 0.28T active.
    public static let gptMoE1_8T = ModelSpec(
        name: "gpt-moe-1.8t", description: "GPT-MoE-1.8T (MoE, 16 experts, top-2; shapes estimated)", layers: 120, hidden: 10752,
        heads: 84, kvHeads: 84, headDim: 128, ffn: 43008, mlp: .gelu, vocabulary: 100_277,
        moe: MoESpec(experts: 16, topK: 2, expertFFN: 43008))
}
