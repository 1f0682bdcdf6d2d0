// GPU and system specifications as values, in SI units (FLOP/s, bytes, bytes/s, Hz, W).
// The presets and their sources are in SystemSpec+Presets.swift.

/// Numeric precisions of tensor-core work.
public enum Precision: String, CaseIterable, Sendable, Codable {
    case fp64, tf32, bf16, fp8, fp4

    /// Bytes per element as stored in HBM. fp4 is NVFP4: 4-bit values plus one fp8 scale per
    /// 16 elements (NVIDIA, "Introducing NVFP4", 2025), 0.5 + 1/16 bytes.
    public var bytesPerElement: Double {
        switch self {
        case .fp64: 8
        case .tf32: 4
        case .bf16: 2
        case .fp8: 1
        case .fp4: 0.5625
        }
    }
}

/// The SM generation, which decides the calibrated efficiency factors and the GEMM tile.
public enum Architecture: String, CaseIterable, Sendable {
    case hopper
    case blackwell
    /// Blackwell Ultra (B300): Blackwell SMs with doubled SFU exponent rate and 1.5× FP4.
    case blackwellUltra = "blackwell-ultra"

    /// The family whose measured kernels calibrate it. No Blackwell Ultra measurements exist in
    /// ../shared/reference, so it uses Blackwell's factors; its own datasheet numbers (SMs, SFU
    /// rate, FP4 rate, HBM) carry the difference.
    public var calibrationFamily: Architecture {
        self == .blackwellUltra ? .blackwell : self
    }
}

/// Dense tensor-core throughput per precision, FLOP/s (nil: the chip has none).
public struct TensorRates: Sendable, Equatable {
    public var fp64: Double
    public var tf32: Double
    public var bf16: Double
    public var fp8: Double
    public var fp4: Double?

    public init(fp64: Double, tf32: Double, bf16: Double, fp8: Double, fp4: Double?) {
        self.fp64 = fp64
        self.tf32 = tf32
        self.bf16 = bf16
        self.fp8 = fp8
        self.fp4 = fp4
    }

    public subscript(precision: Precision) -> Double? {
        switch precision {
        case .fp64: fp64
        case .tf32: tf32
        case .bf16: bf16
        case .fp8: fp8
        case .fp4: fp4
        }
    }
}

/// One GPU.
public struct GPUSpec: Sendable, Equatable {
    public var name: String
    public var architecture: Architecture
    public var smCount: Int
    /// SM clock, Hz: the clock the datasheet's dense tensor rates correspond to.
    public var clock: Double
    /// Maximum boost SM clock, Hz (the power model's reference: ≥ `clock`).
    public var maxClock: Double
    public var tensor: TensorRates
    /// Special-function-unit exponentials per second (softmax's exp2).
    public var expRate: Double
    public var hbmCapacity: Double
    /// Peak HBM bandwidth, bytes/s.
    public var hbmBandwidth: Double
    public var l2Size: Double
    /// NVLink bandwidth per GPU per direction, bytes/s.
    public var nvlinkBandwidthPerDirection: Double
    /// NVLink SHARP (in-switch reduction) available.
    public var nvls: Bool
    /// Scale-out NIC bandwidth per GPU per direction, bytes/s.
    public var nicBandwidthPerDirection: Double
    /// Achievable copy bandwidth between the GPU and its host's memory per direction (PCIe or
    /// NVLink-C2C copy engines), bytes/s: a measured rate, not the link's peak.
    public var hostBandwidthPerDirection: Double
    /// Thermal design power, W.
    public var tdp: Double
    /// Which member of the calibrated factors' bootstrap ensemble prices this GPU (nil: the
    /// factors fitted to all the data). Set only by the runs that measure parameter
    /// uncertainty (ExperimentRunner.runEnsemble); never read from a scenario.
    public var ensembleMember: Int? = nil
    /// One calibrated factor scaled, for the one-at-a-time sensitivity of a claim
    /// (Sensitivity.swift); nil in every other run.
    public var perturbation: FactorPerturbation? = nil

    public init(
        name: String, architecture: Architecture, smCount: Int, clock: Double, tensor: TensorRates, expRate: Double,
        hbmCapacity: Double, hbmBandwidth: Double, l2Size: Double, nvlinkBandwidthPerDirection: Double, nvls: Bool,
        nicBandwidthPerDirection: Double, hostBandwidthPerDirection: Double, tdp: Double, maxClock: Double? = nil
    ) {
        self.maxClock = Swift.max(clock, maxClock ?? clock)
        self.name = name
        self.architecture = architecture
        self.smCount = smCount
        self.clock = clock
        self.tensor = tensor
        self.expRate = expRate
        self.hbmCapacity = hbmCapacity
        self.hbmBandwidth = hbmBandwidth
        self.l2Size = l2Size
        self.nvlinkBandwidthPerDirection = nvlinkBandwidthPerDirection
        self.nvls = nvls
        self.nicBandwidthPerDirection = nicBandwidthPerDirection
        self.hostBandwidthPerDirection = hostBandwidthPerDirection
        self.tdp = tdp
    }
}

/// A calibrated factor scaled by `scale`: index `kernel` into KernelFactors.names, or
/// `collective` into CollectiveTiming.names.
public struct FactorPerturbation: Sendable, Equatable {
    public enum Target: Sendable, Equatable { case kernel(Int), collective(Int) }
    public var target: Target
    public var scale: Double

    public init(_ target: Target, scale: Double) {
        self.target = target
        self.scale = scale
    }
}

/// A system: GPUs of one kind and how they are grouped.
public struct SystemSpec: Sendable, Equatable {
    public var name: String
    public var description: String
    public var gpu: GPUSpec
    /// GPUs sharing one NVLink/NVSwitch domain (8 on HGX, 72 on NVL72).
    public var gpusPerNVLinkDomain: Int
    /// Collective timing stated by a scenario in place of the calibrated values.
    public var collectives: CollectiveOverrides

    public init(name: String, description: String, gpu: GPUSpec, gpusPerNVLinkDomain: Int, collectives: CollectiveOverrides = .calibrated) {
        self.name = name
        self.description = description
        self.gpu = gpu
        self.gpusPerNVLinkDomain = gpusPerNVLinkDomain
        self.collectives = collectives
    }
}

/// How the scale-out NICs move data between nodes: the transport sets the share of a NIC's
/// bandwidth that NCCL's rail traffic achieves (InfiniBand's credit-based flow control, RoCE's
/// congestion control over lossless Ethernet, AWS EFA's SRD through the aws-ofi-nccl plugin).
public enum ScaleOutTransport: String, CaseIterable, Sendable {
    case infiniband, roce, efa
}

/// Timing of collectives inside an NVLink domain that a scenario states instead of the values
/// fitted to nccl-tests (each nil: the calibrated value), so that analytical cases (a ring of
/// α + S/(nB) per step, say) can be written as scenarios. Scale-out phases keep their own timing.
public struct CollectiveOverrides: Sendable, Equatable {
    /// Latency of one ring step (one hop and its handshake), s.
    public var hopLatency: Double?
    /// Fraction of port bandwidth a ring or direct flow achieves.
    public var linkEfficiency: Double?
    /// Ring pipelining granularity, bytes (0: a step streams at once, no first-chunk wait).
    public var chunkBytes: Double?
    /// Paid once per collective (launch and final synchronisation), s.
    public var baseLatency: Double?

    public init(hopLatency: Double? = nil, linkEfficiency: Double? = nil, chunkBytes: Double? = nil, baseLatency: Double? = nil) {
        self.hopLatency = hopLatency
        self.linkEfficiency = linkEfficiency
        self.chunkBytes = chunkBytes
        self.baseLatency = baseLatency
    }

    /// Nothing overridden.
    public static let calibrated = CollectiveOverrides()
    public var isCalibrated: Bool { self == .calibrated }
}
