// `kind: decode`: a static batch on one tensor-parallel group, optionally split into
// pipeline stages (`pp`) and replicated (`dp`). The prefill pass and every
// decode step are op lists (Workloads/InferenceOps) priced by the kernel model and the
// collective model and run on one stream per rank (KernelStream: CPU launches, or one CUDA
// graph per pass with `stack.cuda_graphs`). Ranks are symmetric, so one is simulated
// (symmetry folding). Decode steps differ only in attention over a KV cache that grows by one
// token per step, linearly in its length, so the steps are simulated at up to 17 evenly spaced
// context lengths and integrated by the trapezoid rule (exact for time linear in length).
// `noise.kernel_cv` scales each kernel's duration by a lognormal factor; `noise.stragglers`
// slows a pass when any GPU of the TP group straggles. With `stack.speculative`, a decode
// step is k draft-model steps plus one target pass over k + 1 positions (attention over the
// cache and the new positions), and yields (1 − α^(k+1))/(1 − α) tokens (SpeculativeSpec).
//
// Metrics: ttft_s (the prefill pass, which yields the first token), tpot_s (mean decode step
// after it), e2e_s, tokens_per_s (dp × batch × output tokens / e2e), tokens_per_s_per_gpu (over
// the instance's GPUs — tp, or ep under wide expert parallelism — × pp × dp), tokens_per_s_per_user (1 / tpot_s), kv_cache_bytes and weight_bytes
// per GPU (of the stage with the most layers).
import Cluster
import Hardware
import Models
import Network
import Report
import Scenario
import Stats

enum DecodeWorkload {
    static func checkMemory(_ d: DecodeSpec, system: SystemSpec, speculative: SpeculativeSpec? = nil) throws(MemoryError) {
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: system.gpu.hbmCapacity)
        var items: [(bytes: Double, category: MemoryCategory)] = [(weightBytesPerGPU(d), .weights), (kvCacheBytesPerGPU(d), .kvCache)]
        if let speculative {
            // The draft model's weights and cache live beside the target's.
            let draft = draft(d, speculative)
            let weights = speculative.draftModel == nil ? draftWeightBytesPerRank(speculative, d) : weightBytesPerGPU(draft)
            items += [(weights, .weights), (kvCacheBytesPerGPU(draft), .kvCache)]
        }
        try ledger.book(items)
    }

    /// Weights per GPU: a TP rank's share of the stage with the most layers (the first stage
    /// also holds the embeddings, split like the layers as an approximation).
    static func weightBytesPerGPU(_ d: DecodeSpec) -> Double {
        let layers = Double(stages(d).map(\.count).max() ?? d.model.layers)
        return InferenceOps.weightBytesPerRank(model: d.model, precision: d.precision, tp: d.tp, ep: d.ep, slots: d.routing.slots) * layers / Double(d.model.layers)
    }

    static func kvCacheBytesPerGPU(_ d: DecodeSpec) -> Double {
        let layers = Double(stages(d).map(\.count).max() ?? d.model.layers)
        return InferenceOps.kvCacheBytesPerRank(model: d.model, tokens: d.groupBatch * (d.inputTokens + d.outputTokens), kvPrecision: d.kvPrecision, tp: d.tp)
            * layers / Double(d.model.layers)
    }

    /// The layers of each pipeline stage, split as evenly as possible (earlier stages take the
    /// remainder).
    static func stages(_ d: DecodeSpec) -> [Range<Int>] {
        let base = d.model.layers / d.pp, extra = d.model.layers % d.pp
        var start = 0
        return (0..<d.pp).map { s in
            let count = base + (s < extra ? 1 : 0)
            defer { start += count }
            return start..<(start + count)
        }
    }

    static func pricer(_ spec: ScenarioSpec, _ d: DecodeSpec, system: SystemSpec) -> InferencePricer {
        // Every layer all-reduces the same size: the cache simulates it once. The TP group sits
        // in one NVLink domain.
        let tpGroup = GroupCollective(layout: DomainLayout(gpus: d.tp, perDomain: d.tp), gpu: system.gpu, collectives: system.collectives)
        let custom = AllReduceImplementation(rawValue: spec.stack.allReduce).flatMap { CustomAllReduce.calibrated($0, for: system.gpu.architecture) }
        let bandwidth = system.gpu.nvlinkBandwidthPerDirection, ranks = d.tp
        let allReduce = PriceCache<Double> { bytes in
            let nccl = tpGroup.seconds(.allReduce, bytes: bytes)
            return custom.map { $0.seconds(bytes: bytes, ranks: ranks, bandwidth: bandwidth, nccl: nccl) } ?? nccl
        }
        var pricer = InferencePricer(model: d.model, kernels: KernelModel(gpu: system.gpu), precision: d.precision, kvPrecision: d.kvPrecision,
                                     tp: d.tp, communicationOverlap: spec.stack.communicationOverlap, allReduce: { allReduce($0) })
        pricer.fusion = spec.stack.fusion
        pricer.attentionEfficiency = spec.stack.attentionEfficiency
        pricer.gemmEfficiency = spec.stack.gemmEfficiency
        pricer.elementwiseEfficiency = spec.stack.elementwiseEfficiency
        pricer.ep = d.ep
        pricer.routing = d.routing
        if d.ep > 1 {
            let group = GroupCollective(layout: DomainLayout(gpus: d.ep, perDomain: Swift.min(d.ep, system.gpusPerNVLinkDomain)), gpu: system.gpu,
                                        collectives: system.collectives)
            // Inside one NVLink domain as DeepEP's kernels run it (fitted to kernels/comm-extra.csv,
            // which has one node); across domains the closed form of GroupCollective.
            let inDomain = d.ep <= system.gpusPerNVLinkDomain
            let bandwidth = system.gpu.nvlinkBandwidthPerDirection, ranks = Double(d.ep), architecture = system.gpu.architecture
            func cache(lowLatency: Bool) -> PriceCache<Double> {
                let kernels = ExpertAllToAll.calibrated(lowLatency: lowLatency, for: architecture)
                return PriceCache { bytes in
                    inDomain ? kernels.seconds(remoteBytes: bytes * (ranks - 1) / ranks, bandwidth: bandwidth) : group.seconds(.allToAll, bytes: bytes)
                }
            }
            let normal = cache(lowLatency: false), lowLatency = cache(lowLatency: true)
            pricer.allToAll = { bytes, low in low ? lowLatency(bytes) : normal(bytes) }
        }
        return pricer
    }

    /// The draft model of speculative decoding, as a decode of its own on the same GPUs.
    static func draft(_ d: DecodeSpec, _ speculative: SpeculativeSpec) -> DecodeSpec {
        var draft = d
        draft.model = draftModel(speculative, target: d.model)
        return draft
    }

    /// The draft: the given model, or for multi-token prediction one block of the target's
    /// shape (its last kind: a MoE block for MoE models, as DeepSeek-V3's MTP module is) with
    /// the target's head.
    static func draftModel(_ speculative: SpeculativeSpec, target: ModelSpec) -> ModelSpec {
        if let model = speculative.draftModel { return model }
        var module = target
        module.name = "\(target.name) MTP module"
        module.layers = 1
        if var moe = module.moe {
            moe.denseLayers = 0
            module.moe = moe
        }
        return module
    }

    /// Weight bytes per GPU of the draft: a draft model's own, or for multi-token prediction
    /// one block's share of the target's layer weights (the embedding and head are shared).
    static func draftWeightBytesPerRank(_ speculative: SpeculativeSpec, _ d: DecodeSpec) -> Double {
        guard speculative.draftModel == nil else {
            return InferenceOps.weightBytesPerRank(model: draftModel(speculative, target: d.model), precision: d.precision, tp: d.tp)
        }
        let model = d.model
        let embeddings = Double(model.vocabulary * model.hidden) * (model.tiedEmbeddings ? 1 : 2)
        let layers = InferenceOps.weightBytesPerRank(model: model, precision: d.precision, tp: d.tp, ep: d.ep, slots: d.routing.slots) - embeddings * 2 / Double(d.tp)
        return Swift.max(0, layers) / Double(model.layers)
    }

    /// The kernels of one pass on one rank, named for traces: the whole model, or with
    /// `stage` the layers of that pipeline stage for a micro-batch of `batch` sequences.
    static func kernels(_ spec: ScenarioSpec, _ d: DecodeSpec, pricer: InferencePricer, tokens: Int, context: Int, jitter: RandomStream,
                        stage: Int? = nil, batch: Int? = nil) -> [KernelLaunch] {
        var launches: [KernelLaunch] = []
        let layers = stage.map { stages(d)[$0] } ?? 0..<d.model.layers
        let head = stage.map { $0 == d.pp - 1 } ?? true
        let sequences = batch ?? d.groupBatch
        let wide = pricer.expertParallelism(instanceTokens: d.batch * tokens)
        for (name, op) in InferenceOps.namedPass(model: d.model, batch: sequences, tokens: tokens, context: context, tp: d.tp,
                                                 layers: layers, head: head, expertParallel: wide) {
            // One draw per op; a faster kernel library shortens every kernel body.
            let jitterFactor = jitter.lognormalFactor(cv: spec.noise.kernelCV) / spec.stack.kernelEfficiency
            for k in pricer.kernels(name, op) {
                launches.append(KernelLaunch(cost: k.cost, fixedSeconds: k.fixedSeconds, jitter: k.isCommunication ? 1 : jitterFactor,
                                             name: k.name, isCommunication: k.isCommunication))
            }
        }
        return launches
    }

    /// Spans of the prefill and the first `steps` decode steps of one rank, laid end to end.
    static func trace(_ spec: ScenarioSpec, decode d: DecodeSpec, steps: Int, jitter: RandomStream) -> [KernelSpan] {
        guard let system = spec.cluster?.system else { return [] }
        let launch = spec.stack.cudaGraphs ? nil : spec.stack.launchOverhead
        let hbm = KernelModel(gpu: system.gpu).factors.hbmEfficiency
        let pricer = pricer(spec, d, system: system)
        var spans: [KernelSpan] = []
        var offset = 0.0
        for pass in 0...Swift.min(steps, d.outputTokens - 1) {
            let ks = pass == 0 ? kernels(spec, d, pricer: pricer, tokens: d.inputTokens, context: 0, jitter: jitter)
                : kernels(spec, d, pricer: pricer, tokens: 1, context: d.inputTokens + pass - 1, jitter: jitter)
            let timeline = KernelStream.timeline(ks, gpu: system.gpu, hbmEfficiency: hbm, launchInterval: launch)
            spans += timeline.spans.map { var s = $0; s.start += offset; s.end += offset; return s }
            offset += timeline.completion.last ?? 0
        }
        return spans
    }

    static func run(_ spec: ScenarioSpec, decode d: DecodeSpec, jitter: RandomStream, stragglers: RandomStream) -> [Metric] {
        let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
        guard let system = spec.cluster?.system else { return [] }
        let model = KernelModel(gpu: system.gpu)
        let launch = spec.stack.cudaGraphs ? nil : spec.stack.launchOverhead
        let pricer = pricer(spec, d, system: system)

        func run(_ ks: [KernelLaunch]) -> Double {
            // The TP group is synchronous: a pass is as slow as its slowest GPU.
            let factor = straggling.isOff ? 1 : straggling.folded(gpus: d.instanceGPUs, stream: stragglers)
            return (KernelStream.run(ks, gpu: system.gpu, hbmEfficiency: model.factors.hbmEfficiency, launchInterval: launch).last ?? 0) * factor
        }
        // Pipeline parallelism: the batch runs as M = min(pp, batch) micro-batches, each stage
        // passing its micro-batch's hidden state (split over the TP ranks) to the next. One
        // micro-batch's pass takes the sum of the stages and sends; the stages work on
        // different micro-batches at once, so a step of the whole batch takes that, or M times
        // the slowest stage when the pipeline is full, whichever is longer (decode steps); the
        // prefill's last micro-batch finishes M − 1 slowest stages after the first.
        let draftPricer = spec.stack.speculative.map { DecodeWorkload.pricer(spec, draft(d, $0), system: system) }
        let microBatches = Swift.min(d.pp, d.batch)
        let microBatch = (d.batch + microBatches - 1) / microBatches
        let domain = system.gpusPerNVLinkDomain
        // The CPU side of each pass (stack.cpu_time), added or hidden (overlap scheduling).
        func withCPU(_ gpu: Double) -> Double { spec.stack.iterationSeconds(gpu: gpu, sequences: d.batch) }
        func seconds(tokens: Int, context: Int) -> Double { withCPU(gpuSeconds(tokens: tokens, context: context)) }
        func gpuSeconds(tokens: Int, context: Int) -> Double {
            guard d.pp > 1 else { return run(kernels(spec, d, pricer: pricer, tokens: tokens, context: context, jitter: jitter)) }
            let stageTimes = (0..<d.pp).map { s in
                run(kernels(spec, d, pricer: pricer, tokens: tokens, context: context, jitter: jitter, stage: s, batch: microBatch))
            }
            let bytes = Double(microBatch * tokens * d.model.hidden) * 2 / Double(d.tp)
            let sends = (0..<(d.pp - 1)).reduce(0.0) { total, s in
                // Stage s holds GPUs s·tp ..< (s + 1)·tp; the next stage shares its domain or not.
                total + GroupCollective.pointToPoint(bytes: bytes, gpu: system.gpu, sameDomain: (s * d.tp) / domain == ((s + 2) * d.tp - 1) / domain,
                                                     transport: spec.cluster?.transport ?? .infiniband)
            }
            let latency = stageTimes.reduce(0, +) + sends
            let slowest = stageTimes.max()!
            return tokens > 1 ? latency + Double(microBatches - 1) * slowest : Swift.max(latency, Double(microBatches) * slowest)
        }

        let ttft = seconds(tokens: d.inputTokens, context: 0)
        let steps = d.outputTokens - 1
        var decode = 0.0
        if steps > 0 {
            // Step i (0-based) attends over inputTokens + i cached tokens.
            let samples = Swift.min(steps, 17)
            let points = (0..<samples).map { samples == 1 ? 0 : Int((Double($0) * Double(steps - 1) / Double(samples - 1)).rounded()) }
            let times = points.map { i -> Double in
                guard let speculation = spec.stack.speculative else { return seconds(tokens: 1, context: d.inputTokens + i) }
                // A verification step: k draft steps, then the target over k + 1 positions; it
                // yields E tokens on average, so each token costs the step / E.
                let k = speculation.draftTokens, context = d.inputTokens + i
                let draftStep = run(kernels(spec, draft(d, speculation), pricer: draftPricer!, tokens: 1, context: context, jitter: jitter))
                let verify = run(kernels(spec, d, pricer: pricer, tokens: k + 1, context: context, jitter: jitter))
                return withCPU(Double(k) * draftStep + verify) / speculation.tokensPerStep
            }
            if samples == 1 {
                decode = times[0] * Double(steps)
            } else {
                // Trapezoid rule over step index, each step counted once.
                for j in 1..<samples {
                    let width = Double(points[j] - points[j - 1])
                    decode += (times[j - 1] + times[j]) / 2 * width
                }
                decode += (times.first! + times.last!) / 2  // the end points' own half steps
            }
        }
        let tpot = steps > 0 ? decode / Double(steps) : 0
        let e2e = ttft + decode
        // Data-parallel replicas run the same batch independently (the step above stands for all).
        let tokens = Double(d.batch * d.outputTokens * d.dp)
        return [
            Metric("ttft_s", unit: "s", ttft),
            Metric("tpot_s", unit: "s", tpot),
            Metric("e2e_s", unit: "s", e2e),
            Metric("tokens_per_s", unit: "tokens/s", tokens / e2e),
            Metric("tokens_per_s_per_gpu", unit: "tokens/s", tokens / e2e / Double(d.instanceGPUs * d.pp * d.dp)),
            Metric("tokens_per_s_per_user", unit: "tokens/s", tpot > 0 ? 1 / tpot : .nan),
            Metric("weight_bytes_per_gpu", unit: "B", weightBytesPerGPU(d)),
            Metric("kv_cache_bytes_per_gpu", unit: "B", kvCacheBytesPerGPU(d)),
            Metric("gpus", unit: "GPUs", Double(d.instanceGPUs * d.pp * d.dp)),
        ]
    }
}

extension DecodeSpec {
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {
        guard let system = scenario.cluster?.system else { return }
        try DecodeWorkload.checkMemory(self, system: system, speculative: scenario.stack.speculative)
    }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        DecodeWorkload.run(scenario, decode: self, jitter: streams.kernel, stragglers: streams.stragglers)
    }

    public static var hasTrace: Bool { true }

    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        TraceData(kernelSpans: DecodeWorkload.trace(scenario, decode: self, steps: steps, jitter: streams.kernel))
    }
}
