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
        let nvlink = calibrated(for: gpu)
        let member = gpu.ensembleMember.flatMap { ensembleMember($0, for: gpu.architecture) }
        let nic: Double = switch transport {
        case .infiniband: nvlink.linkEfficiency
        case .roce: member?.roce ?? roceNICEfficiency
        case .efa: member?.efa ?? efaNICEfficiency
        }
        return scaleOut(from: nvlink, nicEfficiency: nic)
    }

    /// The NVLink timing for a GPU: its ensemble member's when it names one, else the
    /// calibrated one; a perturbation of a collective factor (the sensitivity runs) scales it.
    public static func calibrated(for gpu: GPUSpec) -> CollectiveTiming {
        var timing = gpu.ensembleMember.flatMap { ensembleMember($0, for: gpu.architecture)?.timing } ?? calibrated(for: gpu.architecture)
        if let p = gpu.perturbation, case .collective(let index) = p.target { timing = timing.scaling(index, by: p.scale) }
        return timing
    }

    /// The factors the sensitivity runs scale, by index (the fitted ones of `calibrate`).
    public static let names = ["baseLatency", "stepLatency", "linkEfficiency", "nvlsEfficiency", "nvlsLatency", "chunkBytes",
                               "ll.baseLatency", "ll.stepLatency", "ll.linkEfficiency", "ll128.baseLatency", "ll128.stepLatency", "ll128.linkEfficiency"]

    public func value(_ index: Int) -> Double? {
        switch index {
        case 0: baseLatency
        case 1: stepLatency
        case 2: linkEfficiency
        case 3: nvlsEfficiency
        case 4: nvlsLatency
        case 5: chunkBytes
        case 6: ll?.baseLatency
        case 7: ll?.stepLatency
        case 8: ll?.linkEfficiency
        case 9: ll128?.baseLatency
        case 10: ll128?.stepLatency
        case 11: ll128?.linkEfficiency
        default: nil
        }
    }

    /// This timing with factor `index` multiplied by `scale`.
    public func scaling(_ index: Int, by scale: Double) -> CollectiveTiming {
        var t = self
        switch index {
        case 0: t.baseLatency *= scale
        case 1: t.stepLatency *= scale
        case 2: t.linkEfficiency *= scale
        case 3: t.nvlsEfficiency *= scale
        case 4: t.nvlsLatency *= scale
        case 5: t.chunkBytes *= scale
        case 6: t.ll?.baseLatency *= scale
        case 7: t.ll?.stepLatency *= scale
        case 8: t.ll?.linkEfficiency *= scale
        case 9: t.ll128?.baseLatency *= scale
        case 10: t.ll128?.stepLatency *= scale
        case 11: t.ll128?.linkEfficiency *= scale
        default: break
        }
        return t
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
