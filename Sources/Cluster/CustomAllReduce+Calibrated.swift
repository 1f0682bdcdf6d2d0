// Fitted by `clustersim calibrate` (its custom all-reduce section) to kernels/comm.csv's
// all_reduce_trtllm (TensorRT-LLM 1.3.0rc20, AUTO), all_reduce_vllm_graph (vLLM 0.24.0) and
// all_reduce_sglang_graph (SGLang 0.5.14) rows: H100 and H200 for Hopper, B200 and GB200 for
// Blackwell (GB300's rows are not read: no preset maps aiconfigurator's gb300 yet).
import Hardware

extension CustomAllReduce {
    /// The fitted model of `implementation` on `architecture` (nil: NCCL, or no fit).
    public static func calibrated(_ implementation: AllReduceImplementation, for architecture: Architecture) -> CustomAllReduce? {
        let family: Architecture = architecture == .hopper ? .hopper : .blackwell
        // Latency per shot (launch, barrier flags), and the share of a GPU's per-direction
        // NVLink bandwidth its peer loads reach; the fit's median and max |error| per group.
        switch (implementation, family) {
        case (.trtllm, .hopper): return CustomAllReduce(latency: 2.88e-6, efficiency: 0.46)     // 48 rows, 8.3%, 43.7%
        case (.trtllm, _): return CustomAllReduce(latency: 4.67e-6, efficiency: 0.47)           // 40 rows, 8.8%, 32.3%
        case (.vllm, .hopper): return CustomAllReduce(latency: 4.46e-6, efficiency: 0.65)       // 48 rows, 5.5%, 32.4%
        case (.vllm, _): return CustomAllReduce(latency: 6.44e-6, efficiency: 0.40)             // 40 rows, 15.7%, 67.9%
        case (.sglang, .hopper): return CustomAllReduce(latency: 3.46e-6, efficiency: 0.71)     // 48 rows, 8.4%, 90.9%
        case (.sglang, _): return CustomAllReduce(latency: 4.46e-6, efficiency: 0.59)           // 40 rows, 6.3%, 18.7%
        case (.nccl, _): return nil
        }
    }
}
