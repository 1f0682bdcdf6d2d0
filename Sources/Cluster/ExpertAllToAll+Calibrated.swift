// Fitted by `clustersim calibrate` (its expert all-to-all section) to kernels/comm-extra.csv:
// DeepEP low-latency dispatch and combine, and normal dispatch and combine with 24 SMs
// (SGLang 0.5.12), H100 and H200 for Hopper, B200 and GB200 for Blackwell.
import Hardware

extension ExpertAllToAll {
    public static func calibrated(lowLatency: Bool, for architecture: Architecture) -> ExpertAllToAll {
        // The fit's rows, median and max |error| per group.
        switch (lowLatency, architecture == .hopper) {
        case (true, true): return ExpertAllToAll(latency: 11.22e-6, efficiency: 0.310)    // 176 rows, 13.0%, 79.6%
        case (true, false): return ExpertAllToAll(latency: 17.38e-6, efficiency: 0.280)   // 176 rows, 14.7%, 88.6%
        case (false, true): return ExpertAllToAll(latency: 33.11e-6, efficiency: 0.600)   // 144 rows, 12.0%, 31.0%
        case (false, false): return ExpertAllToAll(latency: 40.74e-6, efficiency: 0.280)  // 144 rows, 14.9%, 75.4%
        }
    }
}
