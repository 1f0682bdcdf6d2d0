import Hardware

extension CollectiveTiming {
    /// Timing of ring steps over scale-out NICs. ../shared/reference has no scale-out
    /// measurement, so the values that are not the NVLink fit's come from NCCL itself: the
    /// per-step latency is its tuning model's for a ring step over the network under Simple,
    /// 9.6 µs (src/graph/tuning.cc, hwLat[NET], commit 01afd20), and a step's pipeline
    /// granularity is one NCCL step of its buffer, NCCL_BUFFSIZE (4 MiB) / NCCL_STEPS (8) =
    /// 512 KiB (the NVLink fit's chunk spans many channels at NVLink's rate). Launch latency and
    /// protocol efficiency are taken from the fitted NVLink ring (the same kernels drive both),
    /// under Simple alone: an assumption to replace with a measurement.
    public static func scaleOut(for architecture: Architecture) -> CollectiveTiming {
        var timing = calibrated(for: architecture)
        timing.stepLatency = 9.6e-6
        timing.chunkBytes = 512 * 1024
        // Simple only: the fitted LL and LL128 latencies are NVLink's.
        timing.ll = nil
        timing.ll128 = nil
        return timing
    }
}
