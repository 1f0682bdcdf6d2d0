// The training planner: prices every layer pass, bucket, offload and send of each pipeline
// stage for TrainingStep, and books each stage's memory (the rules are in TrainingWorkload.swift).
import Cluster
import Hardware
import Models
import Network
import Report
import Scenario
import Stats

extension TrainingWorkload {
    /// Builds the priced step: one StageWork per pipeline stage, and each stage's memory.
    struct Planner {
        let spec: ScenarioSpec
        let t: TrainingSpec
        let s: TrainingShape
        let gpu: GPUSpec
        let domain: Int
        var pricing: Pricing
        /// Megatron's data-parallel group with context parallelism (dp × cp ranks): context-
        /// parallel ranks hold the same weights, so gradients are reduced and the distributed
        /// optimizer sharded over all of them (parallel_state's
        /// get_data_parallel_group(with_context_parallel=True)).
        let dataParallel: GroupCollective
        let shards: Int
        let network: RandomStream?
        let gradientBytes: Double
        /// Bytes per parameter of the model's weights (bf16, or fp8 with fp8_params).
        let parameterBytes: Double
        /// Passes of each distinct unit (under each recompute mode) and data-parallel collectives
        /// of each size, priced once.
        var passCache: [PassKey: (forward: LayerPass, backward: LayerPass)] = [:]
        var collectiveCache: [String: Double] = [:]

        init(spec: ScenarioSpec, t: TrainingSpec, cluster: ClusterSpec, network: RandomStream?) {
            self.spec = spec
            self.t = t
            self.s = shape(t)
            self.gpu = cluster.system.gpu
            self.domain = cluster.system.gpusPerNVLinkDomain
            self.network = network
            self.gradientBytes = t.reduceGradientsInFP32 ? 4 : 2
            self.parameterBytes = t.fp8Parameters ? 1 : 2
            let fatTree = RailFatTree(domainsPerLeaf: cluster.domainsPerLeaf ?? RailFatTree.nonBlocking.domainsPerLeaf,
                                      oversubscription: cluster.oversubscription)
            let (gpu, domain) = (gpu, domain)
            func group(_ size: Int, stride: Int) -> GroupCollective {
                GroupCollective(layout: layout(size: size, stride: stride, domain: domain), gpu: gpu, fatTree: fatTree, folded: t.fold,
                                collectives: cluster.system.collectives, transport: cluster.transport, sharp: cluster.sharp)
            }
            // A training step keeps its GPUs busy for seconds: the power limit sets the clock.
            let power = PowerModel(gpu: gpu, limit: cluster.powerLimit)
            pricing = Pricing(kernels: KernelModel(gpu: gpu, power: power, sustained: true), precision: t.precision,
                              groups: [.tp: group(t.tp, stride: 1), .cp: group(t.cp, stride: t.tp), .ep: group(t.ep, stride: t.tp * t.cp)],
                              overlap: spec.stack.communicationOverlap, kernelEfficiency: spec.stack.kernelEfficiency)
            pricing.gemmEfficiency = spec.stack.gemmEfficiency
            pricing.currentScaling = t.currentScaling
            pricing.attentionEfficiency = spec.stack.attentionEfficiency
            pricing.elementwiseEfficiency = spec.stack.elementwiseEfficiency
            shards = t.dp * t.cp
            dataParallel = group(shards, stride: t.tp)
        }

        /// A draw of the network jitter factor (1 without noise).
        func noise() -> Double { network?.lognormalFactor(cv: spec.noise.networkCV) ?? 1 }

        mutating func dataParallelSeconds(_ op: CollectiveOperation, bytes: Double) -> Double {
            let key = "\(op.rawValue) \(bytes)"
            if let seconds = collectiveCache[key] { return seconds }
            let seconds = dataParallel.seconds(op, bytes: bytes)
            collectiveCache[key] = seconds
            return seconds
        }

        /// Casting `params` bf16 weights to the GEMM precision (Pricing.cast: one copy, and the
        /// amax pass under current scaling).
        func castSeconds(_ params: Double) -> Double {
            pricing.cast(params).seconds / (pricing.elementwiseEfficiency * pricing.kernelEfficiency)
        }

        struct PassKey: Hashable {
            var unit: Unit
            var recompute: Recompute
        }

        /// A unit's forward and backward passes under the step's recompute mode, or with none
        /// when partial recompute keeps the layer's activations.
        mutating func passes(_ unit: Unit, keepingActivations: Bool = false) -> (forward: LayerPass, backward: LayerPass) {
            // Layers of one kind (dense or MoE) cost the same: key them by their first.
            let first: Unit = if case .layer(let l) = unit { .layer(s.isMoE(l) ? t.model.moe!.denseLayers : 0) } else { unit }
            var shape = s
            if keepingActivations { shape.recompute = .none }
            let key = PassKey(unit: first, recompute: shape.recompute)
            if let cached = passCache[key] { return cached }
            let ops: (forward: [NamedTrainingOp], backward: [NamedTrainingOp]) = switch first {
            case .layer(let l): (TrainingOps.forward(l, shape), TrainingOps.backward(l, shape))
            case .embedding: (TrainingOps.embedding(s), TrainingOps.mirror(TrainingOps.embedding(s)))
            case .head: (TrainingOps.head(s), TrainingOps.mirror(TrainingOps.head(s)))
            }
            var f = pricing.pass(ops.forward), b = pricing.pass(ops.backward)
            if t.precision != .bf16 && t.zero == 3 {
                // Gathered bf16 weights are cast to fp8 for every pass (forward, and the
                // transposed copy backward), as Transformer Engine does without a cached copy.
                let cast = castSeconds(parameters(first, s))
                f.compute += cast
                b.compute += cast
            }
            passCache[key] = (f, b)
            return (f, b)
        }

        /// A stage's data-parallel buckets: the bucket of every unit of every chunk, and per
        /// bucket the gradient collective's and parameter gather's seconds and link bytes.
        struct Buckets {
            var of: [[Int]] = []
            var reduce: [Double] = [], gather: [Double] = []
            var reduceBytes: [Double] = [], gatherBytes: [Double] = []
        }

        mutating func buckets(_ chunks: [[Unit]]) -> Buckets {
            var b = Buckets()
            let reduceOp: CollectiveOperation = t.zero == 0 ? .allReduce : .reduceScatter
            let replicated = shards == 1
            func add(_ params: Double, reduce op: CollectiveOperation, gather: Bool) {
                b.reduceBytes.append(params * gradientBytes * op.busBandwidthFactor(ranks: shards))
                b.gatherBytes.append(t.zero >= 1 ? params * parameterBytes * CollectiveOperation.allGather.busBandwidthFactor(ranks: shards) : 0)
                b.reduce.append(replicated ? 0 : dataParallelSeconds(op, bytes: params * gradientBytes) * noise())
                b.gather.append(replicated || !gather ? 0 : dataParallelSeconds(.allGather, bytes: params * parameterBytes) * noise())
            }
            for chunk in chunks {
                var ids = Array(repeating: 0, count: chunk.count)
                if t.zero == 3 {
                    // FSDP: every unit is its own bucket.
                    for (i, unit) in chunk.enumerated() {
                        ids[i] = b.reduce.count
                        add(parameters(unit, s), reduce: .reduceScatter, gather: true)
                    }
                } else {
                    // Buckets fill in backward order (the last layer's gradients are ready first).
                    var open: [Int] = [], filled = 0.0
                    for i in chunk.indices.reversed() {
                        open.append(i)
                        filled += parameters(chunk[i], s)
                        if filled >= t.bucketParameters || i == 0 {
                            for j in open { ids[j] = b.reduce.count }
                            add(filled, reduce: reduceOp, gather: t.zero >= 1)
                            open = []
                            filled = 0
                        }
                    }
                }
                b.of.append(ids)
            }
            return b
        }

        /// Partial recompute (Megatron's recompute_method "block"): only the first `n` layers of
        /// each model chunk recompute; the later ones keep every activation their backward
        /// reads and run it without the recomputed forward.
        mutating func keepActivations(after n: Int, _ chunks: [[Unit]], activations: inout [[Double]], backward: inout [[LayerPass]]) {
            var kept = s
            kept.recompute = .none
            for c in chunks.indices {
                var seen = 0
                for (i, unit) in chunks[c].enumerated() {
                    guard case .layer(let l) = unit else { continue }
                    seen += 1
                    guard seen > n else { continue }
                    activations[c][i] = TrainingOps.activationBytes(l, kept)
                    backward[c][i] = passes(unit, keepingActivations: true).backward
                }
            }
        }

        /// Offloaded layers (the stage's first `offload_layers`): their activations leave HBM on
        /// the copy engines while later layers compute and come back before their backward; a
        /// pass over a chunk waits only when its copies take longer than its compute. Returns
        /// the largest offloaded layer's bytes (two layers' worth stay in HBM as copy buffers).
        func offload(_ chunks: [[Unit]], activations: inout [[Double]], forward: inout [[LayerPass]], backward: inout [[LayerPass]]) -> Double {
            var remaining = t.offloadLayers, largest = 0.0
            for c in chunks.indices {
                var copy = 0.0
                for (i, unit) in chunks[c].enumerated() where remaining > 0 {
                    guard case .layer = unit else { continue }
                    remaining -= 1
                    copy += activations[c][i] / gpu.hostBandwidthPerDirection
                    largest = Swift.max(largest, activations[c][i])
                    activations[c][i] = 0
                }
                guard copy > 0, let last = chunks[c].indices.last else { continue }
                forward[c][last].communication += Swift.max(0, copy - forward[c].reduce(0) { $0 + $1.compute })
                backward[c][0].communication += Swift.max(0, copy - backward[c].reduce(0) { $0 + $1.compute })
            }
            return largest
        }

        /// Bytes per GPU of a stage before activations, as Megatron-Core allocates them
        /// (docs/source/api-guide/dist_optimizer.md's table: bf16 parameters and fp32 gradients
        /// 6 + 12/d bytes per parameter under the distributed optimizer, 18 without; bf16
        /// gradients 4 + 16/d and 20). Weights: bf16, plus Transformer Engine's quantised copy
        /// under fp8 or fp4 (NVFP4: 4 bits and an fp8 scale per 16), or fp8 alone with
        /// fp8_params. Gradient buffers in the reduce precision, and with bf16 buffers the fp32
        /// main gradients the optimizer steps from (for its shard). Optimizer state: Adam's fp32
        /// master weights and two moments, 12 bytes. Sharded over the d = dp × cp ranks of the
        /// data-parallel group: optimizer state and main gradients from ZeRO 1, gradients from
        /// ZeRO 2, weights from ZeRO 3 (each gathered layer twice over, in flight and next).
        func memory(stage: Int, chunks: [[Unit]], parameters stageParameters: Double, largestOffload: Double) -> [(bytes: Double, category: MemoryCategory)] {
            let replicas = Double(shards)
            let largestLayer = chunks.joined().map { parameters($0, s) }.max() ?? 0
            let weightBytes = t.fp8Parameters ? 1.0 : 2 + (t.precision == .bf16 ? 0 : t.precision.bytesPerElement)
            let mainGradientBytes = t.reduceGradientsInFP32 ? 0.0 : 4.0
            var memory: [(bytes: Double, category: MemoryCategory)] = [
                (t.zero >= 3 ? stageParameters * weightBytes / replicas + 2 * largestLayer * parameterBytes : stageParameters * weightBytes, .weights),
                (t.zero >= 2 ? stageParameters * gradientBytes / replicas : stageParameters * gradientBytes, .gradients),
                (stageParameters * mainGradientBytes / (t.zero >= 1 ? replicas : 1), .gradients),
                (t.zero >= 1 ? stageParameters * 12 / replicas : stageParameters * 12, .optimizerState),
            ]
            if largestOffload > 0 { memory.append((2 * largestOffload, .workspace)) }
            if stage == t.pp - 1 {
                // The output projection's bf16 logits, and unless the cross-entropy is fused
                // their fp32 copy (Megatron's vocab-parallel cross-entropy upcasts them; the
                // fused kernels, Megatron's cross_entropy_loss_fusion or Transformer Engine's,
                // compute the loss and its gradient from the bf16 logits in place).
                memory.append((Double(s.tokens * t.model.vocabulary / t.tp) * (t.fusedCrossEntropy ? 2 : 6), .workspace))
            }
            return memory
        }

        /// Whether every rank of stage a's block and its partner in stage b's block share a domain.
        func sameDomain(_ a: Int, _ b: Int) -> Bool {
            let stride = t.tp * t.cp * t.dp
            return (0..<stride).allSatisfy { (a * stride + $0) / domain == (b * stride + $0) / domain }
        }

        mutating func stage(_ stage: Int, chunks: [[Unit]]) -> (work: StageWork, memory: [(bytes: Double, category: MemoryCategory)]) {
            let b = buckets(chunks)
            let stageParameters = chunks.joined().reduce(0.0) { $0 + parameters($1, s) }
            let shard = t.zero >= 1 ? stageParameters / Double(shards) : stageParameters
            // Adam on the shard: read fp32 master, moments and gradient; write them back and the bf16 copy.
            let adam = pricing.kernels.memoryBound(bytesRead: shard * 16, bytesWritten: shard * 14)
            var optimizer = adam.seconds / pricing.kernelEfficiency
            if t.precision != .bf16 && t.zero < 3 {
                // fp8 weights (and their transposes) are cast once per step from the updated
                // bf16 weights, as Transformer Engine caches them over the micro-batches.
                optimizer += 2 * castSeconds(stageParameters)
            }
            if t.zero >= 1 && t.zero < 3 && !t.overlapParameterGather { optimizer += b.gather.reduce(0, +) }
            var activations = chunks.map { $0.map { unit in if case .layer(let l) = unit { TrainingOps.activationBytes(l, s) } else { s.shardBytes } } }
            var forward = chunks.map { $0.map { passes($0).forward } }, backward = chunks.map { $0.map { passes($0).backward } }
            if let n = t.recomputeLayers { keepActivations(after: n, chunks, activations: &activations, backward: &backward) }
            let largestOffload = offload(chunks, activations: &activations, forward: &forward, backward: &backward)
            let send = t.pp > 1 ? GroupCollective.pointToPoint(bytes: TrainingOps.pipelineBytes(s), gpu: gpu, sameDomain: sameDomain(stage, (stage + 1) % t.pp),
                                                                       transport: dataParallel.transport) * noise() : 0
            var work = StageWork(
                forward: forward, backward: backward, activationBytes: activations,
                bucket: b.of, reduceSeconds: b.reduce, gatherSeconds: b.gather, sendSeconds: send, optimizerSeconds: optimizer,
                layerNames: chunks.map { $0.map { unit in
                    switch unit {
                    case .layer(let l): "L\(l)"
                    case .embedding: "embedding"
                    case .head: "head"
                    }
                } })
            let passEnergy = zip(forward, backward).reduce(0.0) { sum, chunk in
                sum + zip(chunk.0, chunk.1).reduce(0.0) { $0 + $1.0.energy + $1.1.energy }
            }
            work.energy = passEnergy * Double(t.microBatches) + adam.energy
            work.reduceLinkBytes = b.reduceBytes
            work.gatherLinkBytes = b.gatherBytes
            // While a data-parallel collective runs it holds `communication_sms` SMs and HBM
            // bandwidth: a reduction reads what it receives and its own data and writes the sum
            // (3 bytes of HBM traffic per byte on the links), an all-gather writes what it
            // receives and reads it to pass on (2). Compute loses the larger of the two shares,
            // never more than 90% of the GPU (a collective cannot stop the kernels beside it).
            let smShare = Double(t.communicationSMs) / Double(gpu.smCount)
            let hbm = gpu.hbmBandwidth * pricing.kernels.factors.hbmEfficiency
            func share(_ bytes: [Double], _ seconds: [Double], perLinkByte: Double) -> [Double] {
                zip(bytes, seconds).map { b, s in s > 0 ? Swift.min(0.9, Swift.max(smShare, perLinkByte * b / s / hbm)) : smShare }
            }
            work.reduceContention = share(b.reduceBytes, b.reduce, perLinkByte: 3)
            work.gatherContention = share(b.gatherBytes, b.gather, perLinkByte: 2)
            return (work, memory(stage: stage, chunks: chunks, parameters: stageParameters, largestOffload: largestOffload))
        }

        mutating func build() -> Built {
            var stages: [StageWork] = [], memory: [[(bytes: Double, category: MemoryCategory)]] = []
            for (index, chunks) in units(t).enumerated() {
                let (work, bytes) = stage(index, chunks: chunks)
                stages.append(work)
                memory.append(bytes)
            }
            let sharding: ParameterSharding = t.zero == 3 ? .perPass : .perStep(gatherParameters: t.zero >= 1 && t.overlapParameterGather && shards > 1)
            let plan = TrainingStepPlan(stages: stages, microBatches: t.microBatches, chunks: t.virtualStages, replicas: t.fold ? 1 : t.dp,
                                        sharding: sharding, overlapGradientReduce: t.overlapGradientReduce,
                                        commSMFraction: Double(t.communicationSMs) / Double(gpu.smCount))
            let kernels = TrainingOps.forward(0, s).filter { if case .communication = $0.op { false } else { true } }.count
            return Built(plan: plan, staticMemory: memory, kernelsPerPass: kernels, ranksPerStage: t.tp * t.cp * t.dp,
                         power: pricing.kernels.power)
        }
    }
}
