// Reading a training workload and checking it against its cluster (deriving dp from
// cluster.gpus when the scenario leaves it out).
import Hardware
import Models
import Scenario

enum TrainingReading {
    static func read(_ f: FieldReader) -> TrainingSpec? {
        let log = f.log
        let errorsBefore = log.errors.count
        let model = f.model("model")
        let precision = f.choice("precision").flatMap(Precision.init(rawValue:)) ?? .bf16
        var tp = 1, pp = 1, cp = 1, ep = 1, vp = 1, dp: Int?, sp = true
        let parallelPath = f.child("parallelism")
        let parallel = f.mapping("parallelism")
        if let p = parallel {
            tp = p.integer("tp") ?? 1
            pp = p.integer("pp") ?? 1
            cp = p.integer("cp") ?? 1
            ep = p.integer("ep") ?? 1
            vp = p.integer("vp") ?? 1
            dp = p.integer("dp")
            sp = p.flag("sequence_parallel") ?? (tp > 1)
        }
        let sequence = f.integer("sequence_length")
        let globalBatch = f.integer("global_batch")
        let microBatch = f.integer("micro_batch") ?? 1
        let recompute = f.choice("recompute").flatMap(Recompute.init(rawValue:)) ?? .none
        let recomputeLayers = f.integer("recompute_layers")
        if recomputeLayers != nil && recompute == .none {
            log.error(f.origin("recompute_layers"), f.child("recompute_layers"), "recomputes the first layers of each stage: set recompute to full or selective")
        }
        let zero = f.integer("zero") ?? 1
        let fp32 = f.choice("gradient_reduce_precision") == "fp32"
        let fp8Parameters = f.flag("fp8_params") ?? false
        let fusedCrossEntropy = f.flag("cross_entropy_fusion") ?? false
        let currentScaling = f.choice("fp8_scaling") == "current"
        if currentScaling && precision != .fp8 {
            log.error(f.origin("fp8_scaling"), f.child("fp8_scaling"), "scales fp8 tensors: set precision fp8")
        }
        if fp8Parameters && precision != .fp8 {
            log.error(f.origin("fp8_params"), f.child("fp8_params"), "fp8 parameters need precision fp8")
        }
        let bucket = f.number("bucket_parameters") ?? 40e6
        let overlapGrad = f.flag("overlap_grad_reduce") ?? true
        let overlapParam = f.flag("overlap_param_gather") ?? true
        let sms = f.integer("communication_sms") ?? 16
        let offload = f.integer("offload_layers") ?? 0
        let fold = f.flag("fold") ?? true
        guard log.errors.count == errorsBefore, let model, let sequence, let globalBatch else { return nil }
        let dpValue = dp ?? 0  // 0: from cluster.gpus, resolved by `resolve`
        func bad(_ key: String, _ message: String) {
            log.error(parallel?.origin(key) ?? f.origin("parallelism"), "\(parallelPath).\(key)", message)
        }
        if model.heads % tp != 0 { bad("tp", "\(model.name) has \(model.heads) heads, not divisible by tp \(tp)") }
        if model.ffn % tp != 0 { bad("tp", "\(model.name)'s FFN size \(model.ffn) is not divisible by tp \(tp)") }
        if model.layers < pp * vp { bad("pp", "\(model.name) has \(model.layers) layers, fewer than pp × vp = \(pp * vp) model chunks") }
        if sequence % cp != 0 { bad("cp", "sequence_length \(sequence) is not divisible by cp \(cp)") }
        if let moe = model.moe {
            if moe.experts % ep != 0 { bad("ep", "\(model.name) has \(moe.experts) experts, not divisible by ep \(ep)") }
        } else if ep > 1 {
            bad("ep", "\(model.name) is dense: expert parallelism needs a mixture-of-experts model")
        }
        var spec = TrainingSpec(
            model: model, precision: precision, tp: tp, pp: pp, dp: dpValue, cp: cp, ep: ep, virtualStages: vp, sequenceParallel: sp && tp > 1,
            sequenceLength: sequence, globalBatch: globalBatch, microBatch: microBatch, recompute: recompute, zero: zero,
            reduceGradientsInFP32: fp32, bucketParameters: bucket, overlapGradientReduce: overlapGrad, overlapParameterGather: overlapParam,
            communicationSMs: sms, offloadLayers: offload, fold: fold)
        spec.fp8Parameters = fp8Parameters
        spec.recomputeLayers = recomputeLayers
        spec.fusedCrossEntropy = fusedCrossEntropy
        spec.currentScaling = currentScaling
        return spec
    }

    /// Checks the workload against its cluster; dp comes from cluster.gpus when not given.
    static func resolve(_ t: inout TrainingSpec, cluster: ClusterSpec, _ scenario: ScenarioContext) {
        func bad(_ key: String, _ message: String) { scenario.error("workload.parallelism.\(key)", message) }
        let modelParallel = t.tp * t.pp * t.cp
        if t.dp == 0 {
            guard let gpus = cluster.gpus else {
                bad("dp", "missing: give parallelism.dp, or cluster.gpus (a multiple of tp × pp × cp = \(modelParallel))")
                return
            }
            guard gpus % modelParallel == 0 else {
                scenario.error("cluster.gpus", "\(gpus) GPUs do not split into tp × pp × cp = \(modelParallel)")
                return
            }
            t.dp = gpus / modelParallel
        } else if let gpus = cluster.gpus, gpus != t.gpus {
            scenario.error("cluster.gpus", "\(gpus) GPUs, but tp × pp × dp × cp = \(t.gpus)")
        }
        let system = cluster.system
        if t.tp > system.gpusPerNVLinkDomain {
            bad("tp", "tp \(t.tp) exceeds \(system.name)'s NVLink domain (\(system.gpusPerNVLinkDomain) GPUs)")
        }
        if system.gpu.tensor[t.precision] == nil {
            scenario.error("workload.precision", "\(system.gpu.name) has no \(t.precision.rawValue) tensor cores")
        }
        if t.dp % t.ep != 0 { bad("ep", "ep \(t.ep) must divide dp \(t.dp) (expert-parallel groups are formed inside the data-parallel ranks)") }
        if t.communicationSMs >= system.gpu.smCount {
            scenario.error("workload.communication_sms", "\(t.communicationSMs) SMs, but \(system.gpu.name) has \(system.gpu.smCount)")
        }
        if t.globalBatch % (t.dp * t.microBatch) != 0 {
            scenario.error("workload.global_batch", "\(t.globalBatch) sequences do not split into dp \(t.dp) × micro_batch \(t.microBatch)")
        } else if t.virtualStages > 1 && t.microBatches % t.pp != 0 {
            bad("vp", "interleaved pipelines need micro-batches per replica (\(t.microBatches)) to be a multiple of pp \(t.pp)")
        }
    }
}
