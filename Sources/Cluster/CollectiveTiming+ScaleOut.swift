import Hardware

extension CollectiveTiming {
    /// Timing of ring steps over scale-out NICs. ../shared/reference has no scale-out
    /// measurement, so the per-step latency is NCCL's own tuning model's: 9.6 µs for a ring
    /// step over the network with the Simple protocol (NCCL src/graph/tuning.cc, hwLat[NET],
    /// commit 01afd20). Launch latency and protocol efficiency are taken from the fitted NVLink
    /// ring (the same kernels drive both): an assumption to replace with a measurement.
    public static func scaleOut(for architecture: Architecture) -> CollectiveTiming {
        var timing = calibrated(for: architecture)
        timing.stepLatency = 9.6e-6
        return timing
    }
}
