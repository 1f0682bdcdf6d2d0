// Models in scenario files: a catalog name, or a mapping that defines a model inline (optionally
// starting from a catalog model: `preset: llama3-70b`). `clustersim models show NAME` prints the
// mapping form, which reads back to the same model.
import Models

public enum ModelYAML {
    static let modelKeys = ["preset", "name", "description", "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn", "mlp",
                            "vocabulary", "tied_embeddings", "moe", "mla"]
    static let moeKeys = ["experts", "top_k", "expert_ffn", "shared_experts", "dense_layers"]
    static let mlaKeys = ["q_lora_rank", "kv_lora_rank", "rope_head_dim", "value_head_dim"]

    /// The YAML of `model` for pasting as `workload.model` in a scenario.
    public static func render(_ m: ModelSpec) -> String {
        var lines = [
            "# \(m.name): paste as `model:` under `workload:` in a scenario, edit, and run.",
            "model:",
            "  name: \(m.name)",
            "  description: \"\(m.description)\"",
            "  layers: \(m.layers)",
            "  hidden: \(m.hidden)",
            "  heads: \(m.heads)",
            "  kv_heads: \(m.kvHeads)",
            "  head_dim: \(m.headDim)",
            "  ffn: \(m.ffn)",
            "  mlp: \(m.mlp.rawValue)",
            "  vocabulary: \(m.vocabulary)",
            "  tied_embeddings: \(m.tiedEmbeddings)",
        ]
        if let moe = m.moe {
            lines += ["  moe: { experts: \(moe.experts), top_k: \(moe.topK), expert_ffn: \(moe.expertFFN), shared_experts: \(moe.sharedExperts), dense_layers: \(moe.denseLayers) }"]
        }
        if let mla = m.mla {
            lines += ["  mla: { q_lora_rank: \(mla.qLoraRank), kv_lora_rank: \(mla.kvLoraRank), rope_head_dim: \(mla.ropeHeadDim), value_head_dim: \(mla.valueHeadDim) }"]
        }
        lines.append(String(format: "# %.1fB parameters, %.1fB active per token", m.parameters / 1e9, m.activeParameters / 1e9))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a model: a catalog name or a mapping.
    public static func readModel(_ node: ConfigNode, path: String, log: DiagnosticLog) -> ModelSpec? {
        if case .scalar(let name, let origin) = node {
            if let model = ModelSpec.named(name) { return model }
            var message = "unknown model \"\(name)\""
            let names = ModelSpec.catalog.map(\.name)
            if let guess = closestName(to: name, among: names) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; models: \(names.joined(separator: ", "))" }
            log.error(origin, path, message)
            return nil
        }
        guard let f = FieldReader(node, path: path, log: log, allowed: modelKeys) else { return nil }
        let errorsBefore = log.errors.count
        var base: ModelSpec?
        if let presetName = f.string("preset") {
            base = readModel(.scalar(presetName, f.origin("preset") ?? node.origin), path: f.child("preset"), log: log)
            if base == nil { return nil }
        }
        func int(_ key: String, _ fallback: Int?) -> Int? {
            let value = f.integer(key, in: 1...Int(1 << 40)) ?? fallback
            if value == nil { f.missing(key, "a positive integer") }
            return value
        }
        let layers = int("layers", base?.layers), hidden = int("hidden", base?.hidden), heads = int("heads", base?.heads)
        let kvHeads = int("kv_heads", base?.kvHeads), headDim = int("head_dim", base?.headDim), ffn = int("ffn", base?.ffn)
        let vocabulary = int("vocabulary", base?.vocabulary)
        var mlp = base?.mlp ?? .swiglu
        if let text = f.string("mlp") {
            if let kind = MLPKind(rawValue: text) { mlp = kind } else {
                log.error(f.origin("mlp"), f.child("mlp"), "unknown MLP \"\(text)\"; expected gelu or swiglu")
            }
        }
        var moe = base?.moe
        if let node = f.value("moe"), let m = FieldReader(node, path: f.child("moe"), log: log, allowed: moeKeys) {
            if let experts = m.integer("experts", in: 1...100_000, required: moe == nil) ?? moe?.experts,
               let topK = m.integer("top_k", in: 1...100_000, required: moe == nil) ?? moe?.topK,
               let expertFFN = m.integer("expert_ffn", in: 1...Int(1 << 40), required: moe == nil) ?? moe?.expertFFN {
                moe = MoESpec(experts: experts, topK: topK, expertFFN: expertFFN,
                              sharedExperts: m.integer("shared_experts", in: 0...100_000) ?? moe?.sharedExperts ?? 0,
                              denseLayers: m.integer("dense_layers", in: 0...100_000) ?? moe?.denseLayers ?? 0)
                if topK > experts { log.error(m.origin("top_k"), m.child("top_k"), "must be ≤ experts (\(experts)), got \(topK)") }
            }
        }
        var mla = base?.mla
        if let node = f.value("mla"), let m = FieldReader(node, path: f.child("mla"), log: log, allowed: mlaKeys) {
            if let q = m.integer("q_lora_rank", in: 1...Int(1 << 30), required: mla == nil) ?? mla?.qLoraRank,
               let kv = m.integer("kv_lora_rank", in: 1...Int(1 << 30), required: mla == nil) ?? mla?.kvLoraRank,
               let rope = m.integer("rope_head_dim", in: 0...Int(1 << 30), required: mla == nil) ?? mla?.ropeHeadDim,
               let v = m.integer("value_head_dim", in: 1...Int(1 << 30), required: mla == nil) ?? mla?.valueHeadDim {
                mla = MLASpec(qLoraRank: q, kvLoraRank: kv, ropeHeadDim: rope, valueHeadDim: v)
            }
        }
        if let heads, let kvHeads, heads % kvHeads != 0 {
            log.error(f.origin("kv_heads"), f.child("kv_heads"), "heads (\(heads)) must be a multiple of kv_heads (\(kvHeads))")
        }
        guard log.errors.count == errorsBefore, let layers, let hidden, let heads, let kvHeads, let headDim, let ffn, let vocabulary else { return nil }
        return ModelSpec(
            name: f.string("name") ?? base?.name ?? "custom", description: f.string("description") ?? base?.description ?? "",
            layers: layers, hidden: hidden, heads: heads, kvHeads: kvHeads, headDim: headDim, ffn: ffn, mlp: mlp,
            vocabulary: vocabulary, tiedEmbeddings: f.bool("tied_embeddings") ?? base?.tiedEmbeddings ?? false, moe: moe, mla: mla)
    }

    /// Parses model YAML text (the `model:` mapping `models show` prints) for tests and tools.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> ModelSpec {
        let tree = try YAMLReader.parse(text, file: file)
        let log = DiagnosticLog(file: file)
        guard let node = tree["model"] else { throw ScenarioError([Diagnostic(file: file, origin: tree.origin, path: "model", message: "missing required key")]) }
        guard let model = readModel(node, path: "model", log: log) else { throw ScenarioError(log.errors) }
        return model
    }
}

extension FieldReader {
    /// A model key of this mapping's table: a catalog name or an inline model (logged when
    /// missing, since every model key is required).
    public func model(_ name: String, example: String = "llama3-70b") -> ModelSpec? {
        guard let node = node(name) else {
            missing(name, "a catalog name such as \(example), or an inline model")
            return nil
        }
        return ModelYAML.readModel(node, path: child(name), log: log)
    }
}
