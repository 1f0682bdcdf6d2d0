// The all-to-all of wide expert parallelism as DeepEP's kernels run it (DeepSeek's
// expert-parallel communication library, as SGLang's wide-EP deployments use it): a rank sends
// each token once to every other rank holding one of its experts and gets the results back.
// The kernels run on the SMs they are given, far below NVLink's bandwidth, so a dispatch or a
// combine takes L + (remote bytes) / (η·B): B the GPU's per-direction NVLink bandwidth, η the
// share the kernels reach and L their fixed cost, fitted to kernels/comm-extra.csv per mode —
// low-latency (decode batches, up to 128 tokens per rank in SGLang's default) and normal
// (prefill) — and per GPU family. Inside one NVLink domain only (the table is one node).
import Hardware

public struct ExpertAllToAll: Sendable, Equatable {
    public var latency: Double
    public var efficiency: Double

    public init(latency: Double, efficiency: Double) {
        self.latency = latency
        self.efficiency = efficiency
    }

    /// Seconds to move `remoteBytes` off a rank (and the same onto it) at `bandwidth`.
    public func seconds(remoteBytes: Double, bandwidth: Double) -> Double {
        guard remoteBytes > 0 else { return 0 }
        return latency + remoteBytes / (bandwidth * efficiency)
    }

    /// Tokens per rank up to which a framework dispatches in low-latency mode (SGLang's
    /// default DeepEP low-latency buffer: 128 tokens per rank).
    public static let lowLatencyTokens = 128
}
