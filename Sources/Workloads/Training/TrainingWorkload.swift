// `kind: training`: one optimizer step of a transformer under TP × CP × PP × DP (EP inside the
// data-parallel ranks), simulated by TrainingStep over ops from TrainingOps priced here.
//
// Placement (Megatron-LM's rank order, TP fastest, then CP, DP, PP): rank = tp_i + tp·(cp_i +
// cp·(dp_i + dp·pp_i)). A TP group is contiguous inside an NVLink domain; a CP, EP or DP group
// has min(size, domain / (tp·cp)) members per domain and crosses domains over the NICs (rails)
// beyond that; consecutive pipeline stages share a domain when their blocks of tp·cp·dp ranks
// fall in the same one. Each group's collectives are priced by GroupCollective on that layout.
//
// Pricing: a layer pass is the sum of its kernels (KernelModel: GEMMs, FlashAttention,
// element-wise kernels; an fp8 GEMM first quantises its input, as Transformer Engine does, and
// fp8 weights are cast from bf16 once per step, or every pass under ZeRO-3) and
// of its in-layer collectives, of which `stack.communication_overlap` is hidden (Megatron's
// TP communication overlap). Training kernels are long, so CPU launch overhead is not modelled.
//
// Data parallelism: buckets of `bucket_parameters` parameters in backward order per model
// chunk (plus the embedding and the head); per bucket a gradient all-reduce (ZeRO 0) or
// reduce-scatter (ZeRO ≥ 1) in bf16 or fp32, and with ZeRO ≥ 1 a bf16 parameter all-gather
// (overlapped with the forward when `overlap_param_gather`, else after the optimizer). ZeRO-3
// gathers each layer's parameters for every pass and reduce-scatters its gradients after
// every backward.
//
// Memory per GPU (as Megatron-Core allocates it: TrainingPlanner's `memory`): weights,
// gradients, optimizer state, the peak of activations stored under the schedule (from the
// simulation) and the last stage's logits as workspace. The stage with most is reported.
//
// NVFP4 training (precision fp4; NVIDIA, "Pretraining Large Language Models with NVFP4", arXiv
// 2509.25149): the linear layers' three GEMMs in NVFP4 with their inputs quantised (one pass
// each; the paper's random Hadamard transform of the weight-gradient inputs is folded into
// that pass), everything else in bf16. The paper's few bf16 layers at the end of the model are
// not modelled: every transformer layer runs NVFP4.
//
// Model FLOPs (the `tflops_per_gpu` and `mfu` convention): per token 6 × (parameters a token
// uses, less the input embedding) + 6 × layers × sequence × heads × head_dim (causal
// attention: QKᵀ and PV over half the s² scores, forward and backward); MFU divides by the
// dense tensor peak of the step's precision. This is the convention behind Megatron-Bridge's
// published model TFLOP/s (e.g. Llama 3 70B: 449 GFLOP per token at 8,192 tokens).
import Cluster
import Hardware
import Models
import Network
import Report
import Scenario
import Stats

enum TrainingWorkload {
    /// The layers of each virtual stage (pp × vp of them, in model order): as even as
    /// possible, with the remainder going to the middle stages first (the first stage also
    /// runs the embedding and the last the head, as Llama 3's layout gives them fewer layers).
    static func layerRanges(layers: Int, virtualStages n: Int) -> [Range<Int>] {
        var counts = Array(repeating: layers / n, count: n)
        let order = n > 2 ? Array(1..<(n - 1)) + [0, n - 1] : Array(0..<n)
        for i in 0..<(layers % n) { counts[order[i]] += 1 }
        var start = 0
        return counts.map { c in
            defer { start += c }
            return start..<(start + c)
        }
    }

    static func shape(_ t: TrainingSpec) -> TrainingShape {
        var s = TrainingShape(model: t.model, tp: t.tp, cp: t.cp, ep: t.ep, sequenceParallel: t.sequenceParallel,
                              microBatch: t.microBatch, sequence: t.sequenceLength, recompute: t.recompute,
                              gemmInputBytes: t.precision.bytesPerElement)
        s.fusedCrossEntropy = t.fusedCrossEntropy
        return s
    }

    /// One pseudo-layer of a chunk: a transformer layer, the embedding or the head.
    enum Unit: Hashable {
        case layer(Int), embedding, head
    }

    static func units(_ t: TrainingSpec) -> [[[Unit]]] {
        let p = t.pp, v = t.virtualStages
        let ranges = layerRanges(layers: t.model.layers, virtualStages: p * v)
        return (0..<p).map { stage in
            (0..<v).map { chunk in
                let vs = chunk * p + stage
                var units = ranges[vs].map { Unit.layer($0) }
                if vs == 0 { units.insert(.embedding, at: 0) }
                if vs == p * v - 1 { units.append(.head) }
                return units
            }
        }
    }

    static func parameters(_ unit: Unit, _ s: TrainingShape) -> Double {
        switch unit {
        case .layer(let l): TrainingOps.parameters(l, s)
        case .embedding, .head: TrainingOps.embeddingParameters(s)
        }
    }

    /// Members per NVLink domain of a group whose ranks are `stride` apart.
    static func layout(size: Int, stride: Int, domain: Int) -> DomainLayout {
        DomainLayout(gpus: size, perDomain: Swift.max(1, Swift.min(size, domain / stride)))
    }

    struct Pricing {
        var kernels: KernelModel
        var precision: Precision
        var groups: [CommGroup: GroupCollective]
        var overlap: Double
        var kernelEfficiency: Double
        /// Per kernel class (stack.kernel_efficiency's classes, stack.attention_efficiency).
        var gemmEfficiency = 1.0
        var attentionEfficiency = 1.0
        var elementwiseEfficiency = 1.0
        /// fp8 current scaling: an amax pass reads each GEMM input before its cast (Transformer
        /// Engine's Float8CurrentScaling quantizer runs nvte_compute_amax, then the scale, then
        /// the cast).
        var currentScaling = false
        /// Whether a second layout of a cast tensor is a second copy: Hopper's fp8 GEMMs take only
        /// the TN layout, so Transformer Engine writes a transposed copy for column-wise use
        /// (quantizer.cpp: create_transpose = columnwise_usage && !nvte_is_non_tn_fp8_gemm_supported());
        /// Blackwell's take any layout, so one fp8 copy serves both; NVFP4's 16-element block
        /// scales run along K, so the other direction is quantised on its own.
        var separateLayouts: Bool {
            precision == .fp4 || (precision == .fp8 && kernels.gpu.architecture == .hopper)
        }

        /// Casting `elements` bf16 values to the GEMM precision (`copies` outputs: one per
        /// layout), with the amax pass before it under current scaling.
        func cast(_ elements: Double, copies: Int = 1) -> KernelCost {
            var cost = kernels.quantize(elements: elements, to: precision, copies: copies)
            if currentScaling {
                let amax = kernels.memoryBound(bytesRead: elements * Precision.bf16.bytesPerElement, bytesWritten: 0)
                cost.seconds += amax.seconds
                cost.energy += amax.energy
            }
            return cost
        }

        /// A pass's kernels run back to back; of its collectives, the `overlap` fraction is
        /// hidden behind its GEMMs (Megatron's TP communication overlap splits each GEMM and
        /// its neighbouring all-gather or reduce-scatter into chunks that pipeline), never
        /// more than the GEMMs last.
        func pass(_ ops: [NamedTrainingOp]) -> LayerPass {
            var compute = 0.0, communication = 0.0, gemms = 0.0, linkBytes = 0.0, energy = 0.0
            for (_, op) in ops {
                switch op {
                case let .gemm(m, n, k, batch, layouts):
                    if precision != .bf16 && layouts > 0 {
                        let cast = cast(Double(m * k * batch), copies: separateLayouts ? layouts : 1)
                        compute += cast.seconds / elementwiseEfficiency
                        energy += cast.energy
                    }
                    let cost = kernels.gemm(m: m, n: n, k: k, precision: precision, batch: batch)
                    compute += cost.seconds / gemmEfficiency
                    gemms += cost.seconds / gemmEfficiency
                    energy += cost.energy
                case let .attention(b, seq, h, kv, hd, shards, backward):
                    let forward = kernels.attentionPrefill(batch: b, seq: seq, heads: h, kvHeads: kv, headDim: hd, precision: .bf16)
                    let work = (backward ? TrainingOps.attentionBackwardWork : 1) / Double(shards)
                    compute += forward.seconds * work / attentionEfficiency
                    energy += forward.energy * work
                case let .elementwise(bytes):
                    let cost = kernels.memoryBound(bytesRead: bytes / 2, bytesWritten: bytes / 2)
                    compute += cost.seconds / elementwiseEfficiency
                    energy += cost.energy
                case let .communication(kind, group, bytes):
                    let op = CollectiveOperation(rawValue: kind.rawValue)!
                    guard let g = groups[group] else { continue }
                    communication += g.seconds(op, bytes: bytes)
                    linkBytes += bytes * op.busBandwidthFactor(ranks: g.ranks)
                }
            }
            let hidden = Swift.min(overlap * communication, gemms / kernelEfficiency)
            return LayerPass(compute: compute / kernelEfficiency, communication: communication - hidden, linkBytes: linkBytes, energy: energy)
        }
    }

    /// The priced step and what the metrics need besides it.
    struct Built {
        var plan: TrainingStepPlan
        /// Bytes per GPU of each stage before activations: weights, gradients, optimizer
        /// state, workspace.
        var staticMemory: [[(bytes: Double, category: MemoryCategory)]]
        /// Kernels per layer pass (for the per-pass jitter).
        var kernelsPerPass: Int
        /// GPUs per pipeline stage (stage s starts at rank s × this).
        var ranksPerStage: Int
        /// The GPUs' power model (static power for the wall time; each stage's kernel energy is
        /// in `plan`).
        var power: PowerModel
    }

    static func build(_ spec: ScenarioSpec, _ t: TrainingSpec, network: RandomStream? = nil) -> Built? {
        guard let cluster = spec.cluster else { return nil }
        var planner = Planner(spec: spec, t: t, cluster: cluster, network: network)
        return planner.build()
    }

    /// The step's peak memory per GPU: booked on a ledger per stage; throws when a stage does
    /// not fit.
    static func peakMemory(_ built: Built, result: TrainingStepResult, system: SystemSpec) throws(MemoryError) -> Double {
        var peak = 0.0
        for (stage, items) in built.staticMemory.enumerated() {
            var ledger = MemoryLedger(device: "\(system.name) GPU \(stage * built.ranksPerStage) (pipeline stage \(stage))", capacity: system.gpu.hbmCapacity)
            try ledger.book(items + [(result.peakActivationBytes[stage], .activations)])
            peak = Swift.max(peak, ledger.total)
        }
        return peak
    }

    static func checkMemory(_ spec: ScenarioSpec, _ t: TrainingSpec) throws(MemoryError) {
        guard let system = spec.cluster?.system, var built = build(spec, t) else { return }
        built.plan.replicas = 1  // activations are the same on every replica without noise
        _ = try peakMemory(built, result: TrainingStep.run(built.plan), system: system)
    }

    /// A search's look before simulating (Outlook): a point whose weights, gradients,
    /// optimizer state and workspace, with the activations the schedule must hold before its
    /// first backward, overflow a stage's GPU cannot fit; otherwise a lower bound on the step time, from the priced plan without
    /// running it. Every stage runs its passes one after another on its compute stream, each
    /// taking at least its kernels plus its exposed collectives (the data-parallel stream only
    /// slows them; a straggler only lengthens them), so stage s needs m × (its passes of one
    /// micro-batch) after the first micro-batch's forward has crossed the stages before it
    /// (their first chunks), and its optimizer after that:
    ///   step ≥ max over s of [ Σ_{j<s} F_j + m · (F_s + B_s) + optimizer_s ].
    /// The pipeline's drain, the data-parallel tail and the stage-to-stage sends are left out,
    /// so the bound is below the simulated step; a test checks it on a grid of layouts. Noise
    /// can make a run faster than its noise-free self: the bound is lowered by five clock and
    /// kernel CVs for it.
    static func outlook(_ spec: ScenarioSpec, _ t: TrainingSpec) -> Outlook? {
        guard let system = spec.cluster?.system, let built = build(spec, t) else { return nil }
        let p = t.pp, m = built.plan.microBatches
        for (stage, items) in built.staticMemory.enumerated() {
            var ledger = MemoryLedger(device: "\(system.name) GPU \(stage * built.ranksPerStage) (pipeline stage \(stage))", capacity: system.gpu.hbmCapacity)
            do { try ledger.book(items) } catch { return Outlook(infeasible: "\(error) before any activation") }
            // The activations of the forwards the schedule runs before its first backward are
            // all held at once (each is freed only by its own backward): the peak is at least that.
            let tasks = PipelineSchedule.order(stage: stage, stages: p, microBatches: m, chunks: t.virtualStages)
            let warmup = tasks.prefix { $0.forward }
            let held = warmup.reduce(0) { $0 + built.plan.stages[stage].activationBytes[$1.chunk].reduce(0, +) }
            do { try ledger.book([(held, .activations)]) } catch {
                return Outlook(infeasible: "\(error), holding the activations of the \(warmup.count) forwards before the first backward")
            }
        }
        let time = { (passes: [LayerPass]) in passes.reduce(0) { $0 + $1.compute + $1.communication } }
        var bound = 0.0, upstream = 0.0
        for stage in built.plan.stages {
            let perMicroBatch = stage.forward.reduce(0) { $0 + time($1) } + stage.backward.reduce(0) { $0 + time($1) }
            bound = Swift.max(bound, upstream + Double(m) * perMicroBatch + stage.optimizerSeconds)
            upstream += stage.forward.first.map(time) ?? 0
        }
        bound *= Swift.max(0.1, 1 - 5 * (spec.noise.clockCV + spec.noise.kernelCV))
        guard bound > 0 else { return nil }
        let tokens = Double(t.globalBatch * t.sequenceLength), gpus = Double(t.gpus)
        let tflops = modelFLOPsPerToken(t) * tokens / bound / gpus / 1e12
        var optimistic = [
            "step_time_s": bound, "tokens_per_s": tokens / bound, "tokens_per_s_per_gpu": tokens / bound / gpus, "tflops_per_gpu": tflops,
        ]
        if let peak = system.gpu.tensor[t.precision] { optimistic["mfu"] = tflops * 1e12 / peak }
        return Outlook(optimistic: optimistic)
    }

    /// The step of replication 1 on the first replica's stages (one process per stage, named
    /// by its first GPU): the layer passes and exposed collectives of the first `microBatches`
    /// micro-batches, every data-parallel operation, and arrows for the activations and
    /// gradients those micro-batches send between stages.
    static func trace(_ spec: ScenarioSpec, _ t: TrainingSpec, microBatches: Int, stages: Set<Int>? = nil, jitter: RandomStream) -> TraceData? {
        guard var built = build(spec, t) else { return nil }
        built.plan.replicas = 1
        let cv = spec.noise.kernelCV / Double(built.kernelsPerPass).squareRoot()
        let result = TrainingStep.run(built.plan, jitter: { _ in cv > 0 ? jitter.lognormalFactor(cv: cv) : 1 }, record: true)
        let gpu = { (entity: Int) in entity * built.ranksPerStage }
        // Entities are the first replica's stages, numbered by stage.
        let kept = { (entity: Int) in stages?.contains(entity) ?? true }
        let spans = result.spans.filter { ($0.microBatch ?? 0) < microBatches && kept($0.entity) }
        let sends = result.sends.filter { ($0.microBatch ?? 0) < microBatches && kept($0.from) && kept($0.to) }
        // An arrow leaves the slice the send follows (a pass's exposed collectives when it has
        // them, else its kernels) and enters the pass that consumes it (the receiver's first
        // pass of that micro-batch and direction after the arrival) or the data-parallel
        // operation that takes the bucket.
        func holds(_ s: StepSpan, _ t: Double) -> Bool { s.start <= t && t <= s.end }
        let byEntity = Dictionary(grouping: spans, by: \.entity)
        let flows = sends.map { send -> TraceFlow in
            let fromStream = (byEntity[send.from] ?? []).contains { $0.stream == 1 && holds($0, send.start) } ? 1 : send.fromStream
            var end = send.end
            if let mb = send.microBatch {
                let direction = send.name.hasPrefix("activation") ? "F" : "B"
                let consumer = (byEntity[send.to] ?? []).filter { $0.stream == 0 && $0.microBatch == mb && $0.name.hasPrefix(direction) && $0.start >= send.end - 1e-12 }
                    .min { $0.start < $1.start }
                end = consumer?.start ?? send.end
            }
            return TraceFlow(name: send.name, fromGPU: gpu(send.from), fromStream: fromStream, start: send.start, toGPU: gpu(send.to), toStream: send.toStream, end: end,
                             args: [.number("arrives_us", send.end * 1e6)])
        }
        return TraceData(
            spans: spans.map { s in
                var args: [TraceArg] = [.number("stage", Double(s.entity))]
                if let mb = s.microBatch { args.append(.number("micro_batch", Double(mb))) }
                if s.linkBytes > 0 { args.append(.number("link_bytes", s.linkBytes)) }
                return TraceSpan(name: s.name, start: s.start, end: s.end, gpu: gpu(s.entity), stream: s.stream, hbmBytes: 0, linkBytes: s.linkBytes, args: args)
            },
            flows: flows,
            processNames: Dictionary(uniqueKeysWithValues: (0..<t.pp).filter(kept).map { (gpu($0), "stage \($0) (GPU \(gpu($0)))") }),
            notes: [.number("micro_batches_traced", Double(Swift.min(microBatches, built.plan.microBatches)))])
    }

    static func modelFLOPsPerToken(_ t: TrainingSpec) -> Double {
        let m = t.model
        let inputEmbedding = m.tiedEmbeddings ? 0 : Double(m.vocabulary * m.hidden)
        return 6 * (m.activeParameters - inputEmbedding) + 6 * Double(m.layers * t.sequenceLength * m.heads * m.headDim)
    }

    static func run(_ spec: ScenarioSpec, training t: TrainingSpec, jitter: RandomStream, stragglers: RandomStream, network: RandomStream) -> [Metric] {
        guard let system = spec.cluster?.system, let built = build(spec, t, network: network) else { return [] }
        let p = t.pp
        let straggling = StragglerModel(probability: spec.noise.stragglerProbability, slowdown: spec.noise.stragglerSlowdown)
        // Straggling: an entity is slow for the step when one of its GPUs is; folded, one
        // entity stands for the stage's GPUs of every replica.
        let entities = built.plan.replicas * p
        let slow = (0..<entities).map { _ in
            straggling.isOff ? 1 : t.fold ? straggling.folded(gpus: t.tp * t.cp * t.dp, stream: stragglers)
                : straggling.bruteForce(gpus: t.tp * t.cp, stream: stragglers)
        }
        // One draw per layer pass with the spread of the sum of its kernels' independent draws;
        // recorded so that the communication-free rerun sees the same draws.
        let cv = spec.noise.kernelCV / Double(built.kernelsPerPass).squareRoot()
        var draws = Array(repeating: [Double](), count: entities)
        var used = Array(repeating: 0, count: entities)
        let draw: (Int) -> Double = { e in
            defer { used[e] += 1 }
            if used[e] == draws[e].count { draws[e].append(cv > 0 ? jitter.lognormalFactor(cv: cv) : 1) }
            return draws[e][used[e]]
        }
        let result = TrainingStep.run(built.plan, slowdown: { slow[$0] }, jitter: draw)
        // Exposed communication: how much sooner the step would end with free communication.
        var free = built.plan
        free.stages = free.stages.map { stage in
            var s = stage
            s.forward = s.forward.map { $0.map { LayerPass(compute: $0.compute, communication: 0) } }
            s.backward = s.backward.map { $0.map { LayerPass(compute: $0.compute, communication: 0) } }
            s.reduceSeconds = s.reduceSeconds.map { _ in 0 }
            s.gatherSeconds = s.gatherSeconds.map { _ in 0 }
            s.sendSeconds = 0
            s.optimizerSeconds = stage.optimizerSeconds - (t.zero >= 1 && t.zero < 3 && !t.overlapParameterGather ? stage.gatherSeconds.reduce(0, +) : 0)
            return s
        }
        used = Array(repeating: 0, count: entities)
        let ideal = TrainingStep.run(free, slowdown: { slow[$0] }, jitter: draw)
        let memory = (try? peakMemory(built, result: result, system: system)) ?? .nan
        let step = result.stepTime
        let tokens = Double(t.globalBatch * t.sequenceLength)
        let gpus = Double(t.gpus)
        let tflops = modelFLOPsPerToken(t) * tokens / step / gpus / 1e12
        // Every GPU draws its static power for the whole step, and its stage's kernels' energy.
        let joules = built.plan.stages.reduce(0) { $0 + $1.energy * Double(built.ranksPerStage) } + gpus * built.power.idle * step
        return [
            Metric("step_time_s", unit: "s", step),
            Metric("tokens_per_s", unit: "tokens/s", tokens / step),
            Metric("tokens_per_s_per_gpu", unit: "tokens/s", tokens / step / gpus),
            Metric("tflops_per_gpu", unit: "TFLOP/s", tflops),
            Metric("mfu", unit: "ratio", tflops * 1e12 / (system.gpu.tensor[t.precision] ?? .nan)),
            Metric("bubble_fraction", unit: "ratio", result.bubbleFraction),
            Metric("exposed_comm_s", unit: "s", Swift.max(0, step - ideal.stepTime)),
            Metric("compute_time_s", unit: "s", result.computeTime),
            Metric("layer_comm_time_s", unit: "s", result.layerCommunication),
            Metric("peak_memory_bytes", unit: "B", memory),
            Metric("weight_bytes_per_gpu", unit: "B", built.staticMemory.map { $0.filter { $0.category == .weights }.reduce(0) { $0 + $1.bytes } }.max() ?? 0),
            Metric("activation_bytes_per_gpu", unit: "B", result.peakActivationBytes.max() ?? 0),
            Metric("energy_per_step_j", unit: "J", joules),
            Metric("energy_per_token_j", unit: "J", joules / tokens),
            Metric("gpu_power_w", unit: "W", joules / step / gpus),
            Metric("gpus", unit: "GPUs", gpus),
        ]
    }
}

extension TrainingSpec {
    public func check(in scenario: ScenarioSpec) throws(MemoryError) { try TrainingWorkload.checkMemory(scenario, self) }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        TrainingWorkload.run(scenario, training: self, jitter: streams.kernel, stragglers: streams.stragglers, network: streams.network)
    }

    public func outlook(in scenario: ScenarioSpec) -> Outlook? { TrainingWorkload.outlook(scenario, self) }

    public static var hasTrace: Bool { true }

    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        TrainingWorkload.trace(scenario, self, microBatches: steps, stages: stages, jitter: streams.kernel)
    }
}
