// Reading and checking what decode and serving share: the model, precisions, parallelism and
// sequence sizes, against the cluster they run on.
import Hardware
import Models
import Scenario

enum InferenceReading {
    /// The inference keys of `f` (a decode or serving table). Without sizes (a serving trace
    /// gives them per request) the defaults only size the memory check. Serving has no
    /// `batch` key (its scheduler forms the batch).
    static func read(_ f: FieldReader, sizesRequired: Bool, readsBatch: Bool = true) -> DecodeSpec? {
        let log = f.log
        let errorsBefore = log.errors.count
        let model = f.model("model")
        let precision = f.choice("precision").flatMap(Precision.init(rawValue:)) ?? .bf16
        let kvPrecision = f.choice("kv_precision").flatMap(Precision.init(rawValue:)) ?? .bf16
        var tp = 1, pp = 1, dp = 1, ep = 1
        if let p = f.mapping("parallelism") {
            tp = p.integer("tp") ?? 1
            if p.table?.children(of: "parallelism").contains("pp") == true { pp = p.integer("pp") ?? 1 }
            dp = p.integer("dp") ?? 1
            ep = p.integer("ep") ?? 1
        }
        let batch = readsBatch ? f.integer("batch") ?? 1 : 1
        let input = f.integer("input_tokens", required: sizesRequired) ?? (sizesRequired ? nil : 1)
        let output = f.integer("output_tokens", required: sizesRequired) ?? (sizesRequired ? nil : 1)
        let parallel = f.value("parallelism")
        if let model, model.heads % tp != 0 {
            log.error(parallel?["tp"]?.origin, "workload.parallelism.tp", "\(model.name) has \(model.heads) heads, not divisible by tp \(tp)")
        }
        guard log.errors.count == errorsBefore, let model, let input, let output else { return nil }
        // With redundant experts (EPLB) the slots spread over the ranks, not the experts: NVIDIA's
        // wide-EP deployments run DeepSeek's 256 experts as 288 slots on EP 36 or 72.
        let slots = f.integer("eplb_slots")
        if ep > 1 {
            let origin = parallel?["ep"]?.origin
            if let moe = model.moe {
                if ep % tp != 0 || (slots == nil && moe.experts % ep != 0) {
                    log.error(origin, "workload.parallelism.ep", "ep \(ep) must be a multiple of tp \(tp) and divide \(model.name)'s \(moe.experts) experts"
                              + " (or set eplb_slots, redundant expert slots, to a multiple of ep)")
                } else if pp > 1 {
                    log.error(origin, "workload.parallelism.ep", "wide expert parallelism with pipeline stages is not modelled")
                }
            } else {
                log.error(origin, "workload.parallelism.ep", "\(model.name) is dense: expert parallelism needs a mixture-of-experts model")
            }
        }
        if pp > model.layers {
            log.error(parallel?["pp"]?.origin, "workload.parallelism.pp", "\(model.name) has \(model.layers) layers, fewer than pp \(pp) stages")
            return nil
        }
        let alpha = f.number("routing_alpha") ?? 1.01
        var routing = ExpertRouting(distribution: f.choice("expert_routing") == "balanced" ? .balanced : .powerLaw(alpha: alpha))
        if let slots {
            if let moe = model.moe, slots < moe.experts || slots % ep != 0 {
                log.error(f.origin("eplb_slots"), "workload.eplb_slots", "\(slots) slots must be at least \(model.name)'s \(moe.experts) experts and a multiple of ep \(ep)")
            }
            routing.slots = slots
        }
        var spec = DecodeSpec(model: model, precision: precision, kvPrecision: kvPrecision, tp: tp, pp: pp, dp: dp, ep: ep,
                              batch: batch, inputTokens: input, outputTokens: output)
        spec.routing = routing
        return spec
    }

    /// Speculative decoding needs a draft the TP group can split, and no pipeline stages.
    static func checkSpeculative(_ d: DecodeSpec, _ scenario: ScenarioContext) {
        guard let speculative = scenario.stack.speculative else { return }
        let draft = DecodeWorkload.draftModel(speculative, target: d.model)
        if draft.heads % d.tp != 0 || d.pp > 1 {
            scenario.error("stack.speculative", d.pp > 1 ? "speculative decoding with pipeline stages is not modelled"
                : "draft model \(draft.name) has \(draft.heads) heads, not divisible by tp \(d.tp)")
        }
    }

    /// The parallelism against the cluster: GPU count, NVLink domain, tensor-core precisions.
    static func check(_ d: DecodeSpec, instances: Int, _ scenario: ScenarioContext) {
        guard let cluster = scenario.cluster else { return }
        let system = cluster.system
        let needed = d.instanceGPUs * d.pp * d.dp * instances
        if let gpus = cluster.gpus, gpus < needed {
            scenario.error("cluster.gpus", "\(gpus) GPUs, but the workload's parallelism needs \(needed)")
        }
        if d.tp > system.gpusPerNVLinkDomain {
            scenario.error("workload.parallelism.tp", "tp \(d.tp) exceeds \(system.name)'s NVLink domain (\(system.gpusPerNVLinkDomain) GPUs)")
        }
        if system.gpu.tensor[d.precision] == nil {
            scenario.error("workload.precision", "\(system.gpu.name) has no \(d.precision.rawValue) tensor cores")
        }
        if d.kvPrecision == .fp4 && system.gpu.tensor.fp4 == nil {
            scenario.error("workload.kv_precision", "an fp4 (NVFP4) KV cache needs Blackwell; \(system.gpu.name) has no fp4")
        }
    }
}
