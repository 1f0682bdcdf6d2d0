// An inference framework's own all-reduce inside one NVLink domain, beside NCCL's: TensorRT-LLM's
// AllReduce (strategy AUTO), vLLM's and SGLang's custom all-reduce. Each GPU reaches its peers'
// buffers directly over NVLink (peer-to-peer loads and stores, one barrier a shot), which beats
// NCCL's ring and tree steps on the 1–2 MB all-reduces of a decode step:
// - one-shot: every GPU reads all n − 1 peers' inputs and sums them: L + (n − 1)·S / (η·B);
// - two-shot: a reduce-scatter then an all-gather of 1/n shards: 2L + 2·(n − 1)/n·S / (η·B);
// with B the per-direction NVLink bandwidth of a GPU, L the latency of a shot (launch, barrier
// flags) and η the share of B a GPU's loads reach. The framework picks per size (TensorRT-LLM
// from a lookup table, vLLM and SGLang by size thresholds), and falls back to NCCL for large
// messages: modelled as the fastest of the three.
import Hardware

public struct CustomAllReduce: Sendable, Equatable {
    /// Seconds per shot.
    public var latency: Double
    /// Share of the per-direction NVLink bandwidth a GPU's peer loads reach.
    public var efficiency: Double

    public init(latency: Double, efficiency: Double) {
        self.latency = latency
        self.efficiency = efficiency
    }

    public func oneShot(bytes: Double, ranks: Int, bandwidth: Double) -> Double {
        latency + Double(ranks - 1) * bytes / (bandwidth * efficiency)
    }

    public func twoShot(bytes: Double, ranks: Int, bandwidth: Double) -> Double {
        2 * latency + 2 * Double(ranks - 1) / Double(ranks) * bytes / (bandwidth * efficiency)
    }

    /// The fastest of one-shot, two-shot and NCCL (`nccl` seconds).
    public func seconds(bytes: Double, ranks: Int, bandwidth: Double, nccl: Double) -> Double {
        guard ranks > 1, bytes > 0 else { return 0 }
        return Swift.min(oneShot(bytes: bytes, ranks: ranks, bandwidth: bandwidth), twoShot(bytes: bytes, ranks: ranks, bandwidth: bandwidth), nccl)
    }
}

/// Which all-reduce a stack runs for its tensor-parallel group.
public enum AllReduceImplementation: String, Sendable, CaseIterable {
    case nccl, trtllm, vllm, sglang
}
