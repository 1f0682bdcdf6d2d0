import Hardware

extension CollectiveTiming {
    /// Timing of ring steps over scale-out NICs: the NVLink fit's launch latency (the same
    /// kernels drive both) with the transport's NIC efficiency (nicEfficiency). What no measurement
    /// pins comes from NCCL itself: the per-step latency is its tuning model's for a ring step
    /// over the network under Simple, 9.6 µs (src/graph/tuning.cc, hwLat[NET], commit 01afd20),
    /// and a step's pipeline granularity one NCCL step of its buffer, NCCL_BUFFSIZE (4 MiB) /
    /// NCCL_STEPS (8) = 512 KiB (the NVLink fit's chunk spans many channels at NVLink's rate).
    /// Simple only: the fitted LL and LL128 latencies are NVLink's. An in-network reduction
    /// (SHARP, run as an NVLS-like round trip through the switches) takes NCCL's CollNet latency
    /// over the network, 10.7 µs (tuning.cc, hwLat[NET][COLLNET_DIRECT][SIMPLE]), at the NIC's
    /// efficiency.
    public static func scaleOut(for architecture: Architecture, transport: ScaleOutTransport = .infiniband) -> CollectiveTiming {
        scaleOut(from: calibrated(for: architecture), nicEfficiency: nicEfficiency(for: architecture, transport: transport))
    }

    /// The share of a NIC's bandwidth NCCL's rail traffic achieves: RoCE's and EFA's fitted by
    /// `make calibrate` to calibration.csv's multi-node nccl-tests rows (NCCL15: 32 H100 over
    /// RoCE; NCCL08: 32 B200 over EFA); InfiniBand has no multi-node measurement in the
    /// reference, so it is assumed to match the architecture's NVLink ring (the same Simple
    /// protocol over RDMA): an assumption to replace with a measurement.
    public static func nicEfficiency(for architecture: Architecture, transport: ScaleOutTransport) -> Double {
        switch transport {
        case .infiniband: calibrated(for: architecture).linkEfficiency
        case .roce: roceNICEfficiency
        case .efa: efaNICEfficiency
        }
    }

    /// Scale-out timing for a GPU: its ensemble member's NVLink timing and NIC efficiency when it
    /// names one (CollectiveTiming+Ensemble.swift), else the calibrated ones; a perturbed
    /// NVLink factor carries over to what scale-out takes from it.
    public static func scaleOut(for gpu: GPUSpec, transport: ScaleOutTransport = .infiniband) -> CollectiveTiming {
        scaleOut(from: calibrated(for: gpu), nicEfficiency: nicEfficiency(for: gpu, transport: transport))
    }

    /// `nicEfficiency(for:transport:)` for a GPU: its ensemble member's fitted RoCE and EFA
    /// shares when it names one; InfiniBand's rule on its own NVLink timing.
    public static func nicEfficiency(for gpu: GPUSpec, transport: ScaleOutTransport) -> Double {
        let member = gpu.ensembleMember.flatMap { ensembleMember($0, for: gpu.architecture) }
        return switch transport {
        case .infiniband: calibrated(for: gpu).linkEfficiency
        case .roce: member?.roce ?? roceNICEfficiency
        case .efa: member?.efa ?? efaNICEfficiency
        }
    }

    /// The NVLink timing for a GPU: its ensemble member's when it names one, else the
    /// calibrated one; a perturbation of a collective factor (the sensitivity runs) scales it.
    public static func calibrated(for gpu: GPUSpec) -> CollectiveTiming {
        var timing = gpu.ensembleMember.flatMap { ensembleMember($0, for: gpu.architecture)?.timing } ?? calibrated(for: gpu.architecture)
        if let p = gpu.perturbation, case .collective(let index) = p.target { timing = timing.scaling(index, by: p.scale) }
        return timing
    }

    /// The factors the sensitivity runs scale, in the order of `factorValues` (the fitted ones of `calibrate`).
    public static let names = ["baseLatency", "stepLatency", "linkEfficiency", "nvlsEfficiency", "nvlsLatency", "chunkBytes",
                               "ll.baseLatency", "ll.stepLatency", "ll.linkEfficiency", "ll128.baseLatency", "ll128.stepLatency", "ll128.linkEfficiency"]

    /// The factors by `names` (nil: a protocol this timing has none of).
    public var factorValues: [Double?] {
        [baseLatency, stepLatency, linkEfficiency, nvlsEfficiency, nvlsLatency, chunkBytes,
         ll?.baseLatency, ll?.stepLatency, ll?.linkEfficiency, ll128?.baseLatency, ll128?.stepLatency, ll128?.linkEfficiency]
    }

    /// This timing with factor `index` (of `names`) multiplied by `scale`.
    public func scaling(_ index: Int, by scale: Double) -> CollectiveTiming {
        var v = factorValues
        v[index] = v[index].map { $0 * scale }
        func own(_ i: Int) -> ProtocolTiming? {
            v[i].map { ProtocolTiming(baseLatency: $0, stepLatency: v[i + 1]!, linkEfficiency: v[i + 2]!) }
        }
        return CollectiveTiming(baseLatency: v[0]!, stepLatency: v[1]!, linkEfficiency: v[2]!, nvlsEfficiency: v[3]!, nvlsLatency: v[4]!,
                                chunkBytes: v[5]!, ll: own(6), ll128: own(9))
    }

    /// One member of the bootstrap ensemble (nil when none was generated).
    public static func ensembleMember(_ member: Int, for architecture: Architecture) -> (timing: CollectiveTiming, roce: Double, efa: Double)? {
        let timings = architecture.calibrationFamily == .hopper ? hopperEnsemble : blackwellEnsemble
        guard !timings.isEmpty else { return nil }
        let i = member % timings.count
        return (timings[i], roceEnsemble[i % roceEnsemble.count], efaEnsemble[i % efaEnsemble.count])
    }

    /// Scale-out timing built on NVLink factors `nvlink` with `nicEfficiency`.
    public static func scaleOut(from nvlink: CollectiveTiming, nicEfficiency: Double) -> CollectiveTiming {
        var timing = nvlink
        timing.stepLatency = 9.6e-6
        timing.chunkBytes = 512 * 1024
        timing.linkEfficiency = nicEfficiency
        timing.nvlsLatency = 10.7e-6
        timing.nvlsEfficiency = nicEfficiency
        timing.ll = nil
        timing.ll128 = nil
        return timing
    }
}
