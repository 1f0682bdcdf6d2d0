// `kind: gemm` and `kind: memcpy`: kernel microbenchmarks on one GPU of the cluster's system,
// like torch.matmul timing loops or a device-to-device copy. The kernel is priced by the
// hardware model and run `iterations` times on one stream (KernelStream); time_s is the mean
// time per kernel from the first launch to the last completion, as a benchmark loop
// measures it.
import Cluster
import Hardware
import Report
import Scenario
import Stats

enum KernelWorkloads {
    /// Books the workload's buffers on GPU 0; throws when they do not fit.
    static func checkMemory(_ workload: WorkloadSpec, cluster: ClusterSpec?) throws(MemoryError) {
        guard let system = cluster?.system else { return }
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: system.gpu.hbmCapacity)
        switch workload {
        case .gemm(let g):
            let b = Double(g.batch)
            let inputBytes = g.quantizeActivations ? 2 + g.precision.bytesPerElement : g.precision.bytesPerElement
            try ledger.book([
                (b * Double(g.n) * Double(g.k) * g.precision.bytesPerElement, .weights),
                (b * Double(g.m) * Double(g.k) * inputBytes, .activations),
                (b * Double(g.m) * Double(g.n) * Precision.bf16.bytesPerElement, .workspace),
            ])
        case .memcpy(let c):
            try ledger.book(2 * c.bytes, .workspace)  // source and destination
        case .transfers, .collective, .training, .decode, .serving:
            break
        }
    }

    /// The kernels of the loop, as `run` times them.
    static func kernels(_ spec: ScenarioSpec, model: KernelModel, jitter: RandomStream) -> [KernelLaunch] {
        func draw() -> Double { jitter.lognormalFactor(cv: spec.noise.kernelCV) / spec.stack.kernelEfficiency }
        switch spec.workload {
        case .gemm(let g):
            var kernels: [KernelLaunch] = []
            for _ in 0..<g.iterations {
                if g.quantizeActivations {
                    kernels.append(KernelLaunch(cost: model.quantize(elements: Double(g.m * g.k * g.batch), to: g.precision),
                                                fixedSeconds: model.factors.quantizeFixedTime, jitter: draw(), name: "quantize"))
                }
                kernels.append(KernelLaunch(cost: model.gemm(m: g.m, n: g.n, k: g.k, precision: g.precision, batch: g.batch),
                                            fixedSeconds: model.factors.fixedTime, jitter: draw(), name: "gemm"))
            }
            return kernels
        case .memcpy(let c):
            return (0..<c.iterations).map { _ in
                KernelLaunch(cost: model.memcpy(bytes: c.bytes), fixedSeconds: model.factors.fixedTime, jitter: draw(), name: "memcpy")
            }
        default:
            return []
        }
    }

    static func trace(_ spec: ScenarioSpec, jitter: RandomStream) -> [KernelSpan] {
        guard let system = spec.cluster?.system else { return [] }
        let model = KernelModel(gpu: system.gpu)
        return KernelStream.timeline(kernels(spec, model: model, jitter: jitter), gpu: system.gpu, hbmEfficiency: model.factors.hbmEfficiency,
                                     launchInterval: spec.stack.cudaGraphs ? nil : spec.stack.launchOverhead).spans
    }

    static func run(_ spec: ScenarioSpec, jitter: RandomStream) -> [Metric] {
        guard let system = spec.cluster?.system else { return [] }
        let model = KernelModel(gpu: system.gpu)
        let launchInterval = spec.stack.cudaGraphs ? nil : spec.stack.launchOverhead
        let end = KernelStream.run(kernels(spec, model: model, jitter: jitter), gpu: system.gpu,
                                   hbmEfficiency: model.factors.hbmEfficiency, launchInterval: launchInterval).last ?? 0
        switch spec.workload {
        case .gemm(let g):
            let time = end / Double(g.iterations)
            let flops = 2 * Double(g.m) * Double(g.n) * Double(g.k) * Double(g.batch)
            return [Metric("time_s", unit: "s", time), Metric("tflops", unit: "TFLOP/s", flops / time / 1e12)]
        case .memcpy(let c):
            let time = end / Double(c.iterations)
            return [Metric("time_s", unit: "s", time), Metric("bandwidth_GBps", unit: "GB/s", 2 * c.bytes / time / 1e9)]
        default:
            return []
        }
    }
}
