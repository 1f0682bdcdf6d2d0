// Calibrated efficiency factors of the kernel model, one set per architecture family.
// Each has a physical reading; the values are fitted by `make calibrate` (clustersim calibrate)
// to ../shared/reference/kernels/ and calibration.csv only, and written to
// KernelFactors+Calibrated.swift with the data they came from.

public struct KernelFactors: Sendable, Equatable {
    /// Achievable fraction of the datasheet's dense tensor rate in a large GEMM, per precision
    /// (tf32 and fp64 use bf16's).
    public var tensorBF16: Double
    public var tensorFP8: Double
    public var tensorFP4: Double
    /// Achievable fraction of peak HBM bandwidth for streaming reads and writes (GEMM operands,
    /// copies, element-wise kernels).
    public var hbmEfficiency: Double
    /// Fixed time of every kernel on the GPU: prologue, epilogue and tail, seconds.
    public var fixedTime: Double
    /// p of the p-norm combining compute and memory time in a GEMM (∞: perfect overlap).
    public var overlapExponent: Double
    /// Achievable fraction of the tensor rate in FlashAttention's MMAs.
    public var attentionTensorEfficiency: Double
    /// p of the p-norm combining MMA and SFU-exponent time in attention.
    public var expOverlapExponent: Double
    /// Achievable fraction of peak HBM bandwidth reading a paged KV cache in decode.
    public var attentionHBMEfficiency: Double
    /// Fixed time of the attention operator (its pre-processing kernels, launch and tail), s.
    public var prefillFixedTime: Double
    public var decodeFixedTime: Double
    /// Fixed time of the kernel quantising bf16 activations before an fp8 or fp4 GEMM, s.
    public var quantizeFixedTime: Double
    /// Per work unit (a 128-row query block) of prefill attention: its prologue and epilogue
    /// (loading Q, normalising and storing O), seconds, paid in waves over the SMs.
    public var prefillUnitTime: Double
    /// Fixed time of decode attention over an fp8 KV cache (TensorRT-LLM runs a different
    /// kernel for it), s.
    public var decodeFP8FixedTime: Double
    /// Bytes per second one SM streams from a KV cache in decode: the limit of its loads in
    /// flight, which binds below the HBM peak when the cache is small.
    public var decodeBandwidthPerSM: Double
    /// The most chunks decode splits one (sequence, KV head) pair into (multi-block mode).
    public var decodeMaxSplits: Double

    public init(
        tensorBF16: Double, tensorFP8: Double, tensorFP4: Double, hbmEfficiency: Double, fixedTime: Double,
        overlapExponent: Double, attentionTensorEfficiency: Double, expOverlapExponent: Double,
        attentionHBMEfficiency: Double, prefillFixedTime: Double, decodeFixedTime: Double,
        quantizeFixedTime: Double, prefillUnitTime: Double, decodeFP8FixedTime: Double, decodeBandwidthPerSM: Double,
        decodeMaxSplits: Double
    ) {
        self.tensorBF16 = tensorBF16
        self.tensorFP8 = tensorFP8
        self.tensorFP4 = tensorFP4
        self.hbmEfficiency = hbmEfficiency
        self.fixedTime = fixedTime
        self.overlapExponent = overlapExponent
        self.attentionTensorEfficiency = attentionTensorEfficiency
        self.expOverlapExponent = expOverlapExponent
        self.attentionHBMEfficiency = attentionHBMEfficiency
        self.prefillFixedTime = prefillFixedTime
        self.decodeFixedTime = decodeFixedTime
        self.quantizeFixedTime = quantizeFixedTime
        self.prefillUnitTime = prefillUnitTime
        self.decodeFP8FixedTime = decodeFP8FixedTime
        self.decodeBandwidthPerSM = decodeBandwidthPerSM
        self.decodeMaxSplits = decodeMaxSplits
    }

    public func tensorEfficiency(_ precision: Precision) -> Double {
        switch precision {
        case .fp8: tensorFP8
        case .fp4: tensorFP4
        case .bf16, .tf32, .fp64: tensorBF16
        }
    }

    /// The factors for an architecture (Blackwell Ultra uses Blackwell's: see Architecture).
    public static func calibrated(for architecture: Architecture) -> KernelFactors {
        architecture.calibrationFamily == .hopper ? .hopperCalibrated : .blackwellCalibrated
    }

    /// The factors for a GPU: its ensemble member's when it names one, else the calibrated ones.
    /// A perturbation of a kernel factor (the sensitivity runs) scales it.
    public static func calibrated(for gpu: GPUSpec) -> KernelFactors {
        let members = ensemble(for: gpu.architecture)
        var factors = calibrated(for: gpu.architecture)
        if let member = gpu.ensembleMember, !members.isEmpty { factors = members[member % members.count] }
        if let p = gpu.perturbation, case .kernel(let index) = p.target {
            var values = factors.values
            values[index] *= p.scale
            factors = KernelFactors(values: values)
        }
        return factors
    }

    /// The bootstrap ensemble of an architecture's family (KernelFactors+Ensemble.swift).
    public static func ensemble(for architecture: Architecture) -> [KernelFactors] {
        architecture.calibrationFamily == .hopper ? hopperEnsemble : blackwellEnsemble
    }

    /// The names of the factors in the order of `values`, for the fitter and for reports.
    public static let names = [
        "tensorBF16", "tensorFP8", "tensorFP4", "hbmEfficiency", "fixedTime", "overlapExponent",
        "attentionTensorEfficiency", "expOverlapExponent", "attentionHBMEfficiency", "prefillFixedTime", "decodeFixedTime",
        "quantizeFixedTime", "prefillUnitTime", "decodeFP8FixedTime", "decodeBandwidthPerSM", "decodeMaxSplits",
    ]

    public var values: [Double] {
        [tensorBF16, tensorFP8, tensorFP4, hbmEfficiency, fixedTime, overlapExponent,
         attentionTensorEfficiency, expOverlapExponent, attentionHBMEfficiency, prefillFixedTime, decodeFixedTime,
         quantizeFixedTime, prefillUnitTime, decodeFP8FixedTime, decodeBandwidthPerSM, decodeMaxSplits]
    }

    public init(values v: [Double]) {
        precondition(v.count == Self.names.count)
        self.init(tensorBF16: v[0], tensorFP8: v[1], tensorFP4: v[2], hbmEfficiency: v[3], fixedTime: v[4], overlapExponent: v[5],
                  attentionTensorEfficiency: v[6], expOverlapExponent: v[7], attentionHBMEfficiency: v[8],
                  prefillFixedTime: v[9], decodeFixedTime: v[10], quantizeFixedTime: v[11], prefillUnitTime: v[12],
                  decodeFP8FixedTime: v[13], decodeBandwidthPerSM: v[14], decodeMaxSplits: v[15])
    }
}
