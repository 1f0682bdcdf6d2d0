import Foundation
// The kernel cost model: a kernel becomes demands on SMs and HBM, and a time.
//
// Scope: one kernel on one GPU with all its SMs (or `sms` of them), in isolation. The
// runtime (Cluster) shares HBM between concurrent kernels; this file only says what one needs.
//
// GEMM (C[m,n] = A[m,k]·B[n,k]ᵀ, `batch` times): output tiles of one of the architecture's
// tile shapes (the fastest for the shape, as cuBLAS's heuristic picks) run in waves over the SMs (wave quantisation: ceil(tiles / SMs) waves, every wave as
// long as a full tile); when there are fewer tiles than SMs, K is split so that idle SMs share
// the work (split-K). Each SM runs at its share of the datasheet's dense rate for the
// precision times an achievable fraction (calibrated). HBM traffic is each operand read once
// and the output written once, at an achievable fraction of peak bandwidth (calibrated).
// Compute and memory time combine as a p-norm, (tc^p + tm^p)^(1/p): p = ∞ would be perfect
// overlap (a roofline), p = 1 none; the calibrated p says how much of the shorter one shows.
// A fixed time per kernel (prologue, epilogue, tail of the last wave) is added.
//
// Attention: prefill is FlashAttention-style and causal: 128 × 128 blocks of scores, each
// block costing 4·d FLOP per score on tensor cores (QKᵀ and PV) and one exponential per
// score on the SFUs. MMA and exponent time combine as a p-norm (calibrated), which is how
// the SFU rate (doubled on Blackwell Ultra) enters. The work is split by (batch, head,
// query block); the longest query block (the last, attending to all keys) bounds the time
// from below. Decode reads the whole KV cache once: HBM-bound at its own achievable fraction.
// A decode step inside a model finds its layer's cache cold (every other layer's weights and
// caches have streamed through L2 since), so workloads price decode from HBM. A microbenchmark
// that replays one decode kernel without flushing L2 (as the kernels/ tables were timed) finds
// a cache no larger than L2 already there: `warmL2` drops the HBM limit for that case.
//
// Validation: `clustersim calibrate` (make calibrate) and HardwareTests compare this model with
// ../shared/reference/kernels/ and calibration.csv; the factors are fitted there.
// Power: a sustained stream's GEMMs and attention run at the clock the power limit allows
// (PowerModel.swift); alone, as the kernel tables timed them, at the boost clock.
// Limitations: no L2 reuse inside workloads (operands read once from HBM), three tile shapes
// per architecture and no stream-K scheduling, dense tensor rates only.

/// What a kernel needs and how long it takes alone.
public struct KernelCost: Sendable, Equatable {
    /// Seconds from start to end of the kernel on the GPU (no CPU launch time).
    public var seconds: Double
    public var flops: Double
    public var hbmBytes: Double
    /// The time the compute (tensor cores, SFUs) alone would take, and HBM traffic alone.
    public var computeSeconds: Double
    public var memorySeconds: Double
    /// Waves of output tiles (1 for kernels without tiles).
    public var waves: Int
    /// Dynamic energy, joules: tensor FLOPs at the kernel's clock and HBM bytes (PowerModel;
    /// the board's static power is charged by whoever knows the wall time).
    public var energy = 0.0

    /// Whether HBM traffic, rather than compute, sets the time.
    public var isMemoryBound: Bool { memorySeconds >= computeSeconds }

    public init(seconds: Double, flops: Double, hbmBytes: Double, computeSeconds: Double, memorySeconds: Double, waves: Int) {
        self.seconds = seconds
        self.flops = flops
        self.hbmBytes = hbmBytes
        self.computeSeconds = computeSeconds
        self.memorySeconds = memorySeconds
        self.waves = waves
    }

    /// A span of known length that moves no modelled FLOPs or HBM bytes (communication, or a
    /// time derived from other costs).
    public init(seconds: Double) {
        self.init(seconds: seconds, flops: 0, hbmBytes: 0, computeSeconds: 0, memorySeconds: 0, waves: 1)
    }
}

public struct KernelModel: Sendable {
    public var gpu: GPUSpec
    public var factors: KernelFactors
    /// What kernels draw and the clock the power limit allows (PowerModel.swift).
    public var power: PowerModel
    /// The kernels run in a stream busy long enough for the power limit to set the clock
    /// (a training step, back-to-back serving batches); false for a kernel timed alone, as the
    /// kernel tables were, which runs at the boost clock.
    public var sustained = false

    public init(gpu: GPUSpec, factors: KernelFactors? = nil, power: PowerModel? = nil, sustained: Bool = false) {
        self.gpu = gpu
        self.factors = factors ?? KernelFactors.calibrated(for: gpu)
        self.power = power ?? PowerModel(gpu: gpu)
        self.sustained = sustained
    }

    /// The clock ratio a kernel runs at: 1 unless the stream is sustained and the kernel would
    /// draw more than the power limit at the boost clock.
    func clockRatio(flops: Double, precision: Precision, hbmBytes: Double, boostSeconds: Double) -> Double {
        sustained ? power.clockRatio(flops: flops, precision: precision, hbmBytes: hbmBytes, boostSeconds: boostSeconds) : 1
    }

    /// GEMM output tiles (rows × columns) per SM that the library may choose among: Hopper's
    /// warpgroup MMA tiles (128 × 128, 128 × 256, 256 × 128 over two consumer warpgroups) and
    /// Blackwell's tcgen05 tiles per SM (a 2-SM 256 × 256 tile is 128 × 256 per SM). Like
    /// cuBLAS's heuristic, the model uses whichever is fastest for the shape.
    public var tiles: [(m: Int, n: Int)] {
        gpu.architecture == .hopper ? [(128, 128), (128, 256), (256, 128)] : [(128, 256), (128, 128), (256, 128)]
    }

    /// Dense tensor FLOP/s for a precision; fp4 on a chip without it is an error for the caller
    /// to have caught (nil).
    public func peak(_ precision: Precision) -> Double? { gpu.tensor[precision] }

    func combine(_ a: Double, _ b: Double, p: Double) -> Double {
        let hi = Swift.max(a, b), lo = Swift.min(a, b)
        guard hi > 0 else { return 0 }
        let r = lo / hi
        return hi * Foundation.pow(1 + Foundation.pow(r, p), 1 / p)
    }

    /// A GEMM of m×k by k×n, `batch` times, weights (B) and inputs (A) in `precision`, output in
    /// bf16, on `sms` SMs (default all), with the fastest of the architecture's tiles unless
    /// `tile` fixes one.
    public func gemm(m: Int, n: Int, k: Int, precision: Precision, batch: Int = 1, sms: Int? = nil, tile: (m: Int, n: Int)? = nil) -> KernelCost {
        let candidates = tile.map { [$0] } ?? tiles
        return candidates.map { gemm(m: m, n: n, k: k, precision: precision, batch: batch, sms: sms ?? gpu.smCount, tile: $0) }
            .min { $0.seconds < $1.seconds }!
    }

    func gemm(m: Int, n: Int, k: Int, precision: Precision, batch: Int, sms smCount: Int, tile: (m: Int, n: Int)) -> KernelCost {
        let rate = (peak(precision) ?? gpu.tensor.bf16) * factors.tensorEfficiency(precision) / Double(gpu.smCount)
        let (tm, tn) = tile
        let tiles = ((m + tm - 1) / tm) * ((n + tn - 1) / tn) * batch
        // Split-K fills idle SMs when tiles are few, in chunks of at least 256 along k.
        let splits = tiles >= smCount ? 1 : Swift.max(1, Swift.min(smCount / tiles, k / 256))
        let units = tiles * splits
        let waves = (units + smCount - 1) / smCount
        let unitFLOPs = 2 * Double(tm) * Double(tn) * (Double(k) / Double(splits))
        let computeSeconds = Double(waves) * unitFLOPs / rate
        let bytes = Double(batch) * (Double(m) * Double(k) * precision.bytesPerElement
            + Double(n) * Double(k) * precision.bytesPerElement + Double(m) * Double(n) * Precision.bf16.bytesPerElement)
        let memorySeconds = bytes / (gpu.hbmBandwidth * factors.hbmEfficiency)
        let flops = 2 * Double(m) * Double(n) * Double(k) * Double(batch)
        let boost = combine(computeSeconds, memorySeconds, p: factors.overlapExponent)
        // Under a sustained load the tensor work runs at the clock the power limit allows.
        let r = clockRatio(flops: flops, precision: precision, hbmBytes: bytes, boostSeconds: boost + factors.fixedTime)
        let clocked = computeSeconds / r
        let body = r == 1 ? boost : combine(clocked, memorySeconds, p: factors.overlapExponent)
        var cost = KernelCost(
            seconds: body + factors.fixedTime, flops: flops, hbmBytes: bytes,
            computeSeconds: clocked, memorySeconds: memorySeconds, waves: waves
        )
        cost.energy = power.dynamicEnergy(flops: flops, precision: precision, hbmBytes: bytes, clockRatio: r)
        return cost
    }

    /// An element-wise kernel moving `bytesRead` + `bytesWritten` through HBM.
    public func memoryBound(bytesRead: Double, bytesWritten: Double) -> KernelCost {
        memoryBound(bytesRead: bytesRead, bytesWritten: bytesWritten, fixedTime: factors.fixedTime)
    }

    public func memoryBound(bytesRead: Double, bytesWritten: Double, fixedTime: Double) -> KernelCost {
        let bytes = bytesRead + bytesWritten
        let memorySeconds = bytes / (gpu.hbmBandwidth * factors.hbmEfficiency)
        var cost = KernelCost(seconds: memorySeconds + fixedTime, flops: 0, hbmBytes: bytes,
                              computeSeconds: 0, memorySeconds: memorySeconds, waves: 1)
        cost.energy = power.dynamicEnergy(flops: 0, precision: .bf16, hbmBytes: bytes, clockRatio: 1)
        return cost
    }

    /// A device-to-device copy of `bytes` (reads and writes them).
    public func memcpy(bytes: Double) -> KernelCost { memoryBound(bytesRead: bytes, bytesWritten: bytes) }

    /// Quantising `elements` bf16 activations to `precision` (fp8 or fp4) before a GEMM,
    /// writing `copies` quantised copies (one per memory layout a later GEMM needs).
    public func quantize(elements: Double, to precision: Precision, copies: Int = 1) -> KernelCost {
        memoryBound(bytesRead: elements * Precision.bf16.bytesPerElement, bytesWritten: elements * precision.bytesPerElement * Double(copies),
                    fixedTime: factors.quantizeFixedTime)
    }

    /// Causal FlashAttention prefill over `seq` tokens for `batch` sequences; `heads` query
    /// heads and `kvHeads` key/value heads on this GPU, `headDim` each; MMA in `precision`.
    public func attentionPrefill(batch: Int, seq: Int, heads: Int, kvHeads: Int, headDim: Int, precision: Precision) -> KernelCost {
        let block = 128
        let queryBlocks = (seq + block - 1) / block
        // Causal: query block i attends to key blocks 0...i.
        let scoreBlocks = Double(queryBlocks * (queryBlocks + 1) / 2) * Double(batch * heads)
        let scores = scoreBlocks * Double(block * block)
        let flops = 4 * Double(headDim) * scores
        let mmaRate = (peak(precision) ?? gpu.tensor.bf16) * factors.attentionTensorEfficiency
        let expRate = gpu.expRate
        let perSM = Double(gpu.smCount)
        // Throughput over all SMs, but never shorter than the longest query block on one SM.
        let longestScores = Double(queryBlocks * block * block)
        let mmaSeconds = Swift.max(flops / mmaRate, 4 * Double(headDim) * longestScores / (mmaRate / perSM))
        let expSeconds = Swift.max(scores / expRate, longestScores / (expRate / perSM))
        // Each (sequence, head, query block) unit pays a prologue and epilogue, in waves.
        let units = batch * heads * queryBlocks
        let unitSeconds = Double((units + gpu.smCount - 1) / gpu.smCount) * factors.prefillUnitTime
        let boostCompute = combine(mmaSeconds, expSeconds, p: factors.expOverlapExponent) + unitSeconds
        let elementBytes = precision == .fp8 ? 1.0 : 2.0
        let bytes = Double(batch * seq * headDim) * (Double(heads + 2 * kvHeads) * elementBytes + Double(heads) * 2)
        let memorySeconds = bytes / (gpu.hbmBandwidth * factors.attentionHBMEfficiency)
        // The MMA and SFU work both run at the SM clock the power limit allows.
        let r = clockRatio(flops: flops, precision: precision, hbmBytes: bytes,
                           boostSeconds: Swift.max(boostCompute, memorySeconds) + factors.prefillFixedTime)
        let compute = boostCompute / r
        let body = Swift.max(compute, memorySeconds)
        var cost = KernelCost(seconds: body + factors.prefillFixedTime, flops: flops, hbmBytes: bytes,
                              computeSeconds: compute, memorySeconds: memorySeconds, waves: 1)
        cost.energy = power.dynamicEnergy(flops: flops, precision: precision, hbmBytes: bytes, clockRatio: r)
        return cost
    }

    /// One decode step of multi-head latent attention (DeepSeek's MLA, weights absorbed as
    /// FlashMLA runs it): `batch` sequences each reading `kvLength` cached latents of `latent`
    /// + `rope` elements, shared by all `heads` query heads on this GPU; per score the query
    /// meets the latent and the rope key (2·(latent + rope) FLOP) and the latent is summed into
    /// the output (2·latent FLOP). Many heads share one cache, so at large head counts the MMA
    /// work, not the cache read, can bind. Same streaming model as `attentionDecode`, with one
    /// cache per sequence to split over SMs.
    public func attentionDecodeLatent(batch: Int, kvLength: Int, heads: Int, latent: Int, rope: Int, kvPrecision: Precision) -> KernelCost {
        let kvBytes = Double(batch) * Double(kvLength) * Double(latent + rope) * kvPrecision.bytesPerElement
        let ioBytes = Double(batch * heads) * Double(2 * latent + rope) * 2  // query in, output out, bf16
        let scores = Double(batch) * Double(heads) * Double(kvLength)
        // FlashMLA's scheduler (get_mla_metadata) splits the batch's caches into as many
        // 64-token blocks per SM as fill every SM, so one long sequence streams on all of them.
        let blocks = batch * ((kvLength + 63) / 64)
        // With an fp8 cache Blackwell's MLA kernels multiply in fp8 (kernels/README.md on mla.csv:
        // fp8 halves long-KV decode there); Hopper's dequantise to bf16 first (fp8 gives only
        // 0.73–0.87× at 16–128 heads), so their MMA work stays at the bf16 rate.
        let fp8MMA = kvPrecision == .fp8 && gpu.architecture != .hopper
        return decodeAttention(kvBytes: kvBytes, ioBytes: ioBytes, flops: scores * Double(2 * (latent + rope) + 2 * latent), scores: scores,
                               caches: batch, kvPrecision: kvPrecision, warmL2: false, splitUpTo: blocks,
                               tensorRate: fp8MMA ? gpu.tensor.fp8 : nil)
    }

    /// One decode step of attention: `batch` sequences each reading `kvLength` cached tokens
    /// (keys and values, `kvHeads` × `headDim` each, in `kvPrecision`) for one new query token.
    /// `warmL2`: the kernel is replayed on the same cache without flushing L2 (a microbenchmark),
    /// so a cache that fits in L2 is read from there.
    public func attentionDecode(batch: Int, kvLength: Int, heads: Int, kvHeads: Int, headDim: Int, kvPrecision: Precision,
                                warmL2: Bool = false) -> KernelCost {
        let kvBytes = Double(batch) * Double(kvLength) * Double(kvHeads * headDim) * 2 * kvPrecision.bytesPerElement
        let ioBytes = Double(batch * heads * headDim) * 2 * 2  // query in, output out, bf16
        let scores = Double(batch) * Double(heads) * Double(kvLength)
        return decodeAttention(kvBytes: kvBytes, ioBytes: ioBytes, flops: 4 * Double(headDim) * scores, scores: scores,
                               caches: batch * kvHeads, kvPrecision: kvPrecision, warmL2: warmL2)
    }

    /// A decode step of attention that reads `kvBytes` of cache and moves `ioBytes` of queries
    /// and outputs, does `flops` of MMA work and `scores` exponentials, over `caches` separate
    /// caches ((sequence, KV head) pairs).
    /// `splitUpTo`: pieces the kernel may cut the caches into (nil: `decodeMaxSplits` per cache,
    /// as flash-decoding does).
    func decodeAttention(kvBytes: Double, ioBytes: Double, flops: Double, scores: Double, caches: Int, kvPrecision: Precision,
                         warmL2: Bool, splitUpTo: Int? = nil, tensorRate: Double? = nil) -> KernelCost {
        let bytes = kvBytes + ioBytes
        // Decode attention runs on CUDA-core/tensor paths far below peak; its compute is the exp
        // and MMA work at the prefill rates, which matters only for very wide GQA groups.
        let compute = combine(flops / ((tensorRate ?? gpu.tensor.bf16) * factors.attentionTensorEfficiency), scores / gpu.expRate, p: factors.expOverlapExponent)
        // Streaming is limited by HBM and by the loads the active SMs keep in flight (a cache
        // is split into at most `decodeMaxSplits` chunks, each on an SM). A warm cache that fits
        // in L2 has only the SMs' limit (no datasheet gives an L2 bandwidth to bound it further).
        let activeSMs = Swift.min(Double(gpu.smCount), splitUpTo.map(Double.init) ?? Double(caches) * factors.decodeMaxSplits)
        let smSeconds = bytes / (activeSMs * factors.decodeBandwidthPerSM)
        let fromL2 = warmL2 && kvBytes <= gpu.l2Size
        let memorySeconds = fromL2 ? smSeconds
            : combine(bytes / (gpu.hbmBandwidth * factors.attentionHBMEfficiency), smSeconds, p: factors.overlapExponent)
        let fixed = kvPrecision == .bf16 ? factors.decodeFixedTime : factors.decodeFP8FixedTime
        let body = Swift.max(compute, memorySeconds) + fixed
        // Decode streams the cache far below the tensor rate: never power-limited here.
        var cost = KernelCost(seconds: body, flops: flops, hbmBytes: fromL2 ? ioBytes : bytes,
                              computeSeconds: compute, memorySeconds: memorySeconds, waves: 1)
        cost.energy = power.dynamicEnergy(flops: flops, precision: .bf16, hbmBytes: cost.hbmBytes, clockRatio: 1)
        return cost
    }
}
