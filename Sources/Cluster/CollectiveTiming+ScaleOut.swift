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
