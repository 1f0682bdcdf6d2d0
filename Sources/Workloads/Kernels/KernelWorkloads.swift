// Kernel microbenchmarks: the kernel is priced by the hardware model and run `iterations`
// times on one stream (KernelStream); time_s is the mean time per kernel from the first
// launch to the last completion, as a benchmark loop measures it.
import Cluster
import Hardware
import Models
import Report
import Scenario
import Stats

extension GEMMSpec {
    /// Books the buffers on GPU 0; throws when they do not fit.
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {
        guard let system = scenario.cluster?.system else { return }
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: system.gpu.hbmCapacity)
        let b = Double(batch)
        let inputBytes = quantizeActivations ? 2 + precision.bytesPerElement : precision.bytesPerElement
        try ledger.book([
            (b * Double(n) * Double(k) * precision.bytesPerElement, .weights),
            (b * Double(m) * Double(k) * inputBytes, .activations),
            (b * Double(m) * Double(n) * Precision.bf16.bytesPerElement, .workspace),
        ])
    }

    /// The kernels of the loop, as `run` times them.
    func kernels(_ scenario: ScenarioSpec, model: KernelModel, jitter: RandomStream) -> [KernelLaunch] {
        func draw() -> Double { jitter.lognormalFactor(cv: scenario.noise.kernelCV) / scenario.stack.kernelEfficiency }
        var kernels: [KernelLaunch] = []
        let shape = "gemm \(batch > 1 ? "\(batch)×" : "")\(m)×\(n)×\(k) \(precision.rawValue)"
        for _ in 0..<iterations {
            if quantizeActivations {
                kernels.append(KernelLaunch(cost: model.quantize(elements: Double(m * k * batch), to: precision),
                                            fixedSeconds: model.factors.quantizeFixedTime, jitter: draw(), name: "quantize"))
            }
            kernels.append(KernelLaunch(cost: model.gemm(m: m, n: n, k: k, precision: precision, batch: batch),
                                        fixedSeconds: model.factors.fixedTime, jitter: draw(), name: shape))
        }
        return kernels
    }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        guard let end = KernelWorkloads.loop(scenario, kernels: { kernels(scenario, model: $0, jitter: streams.kernel) }) else { return [] }
        let time = end / Double(iterations)
        let flops = 2 * Double(m) * Double(n) * Double(k) * Double(batch)
        return [Metric("time_s", unit: "s", time), Metric("tflops", unit: "TFLOP/s", flops / time / 1e12)]
    }

    public static var hasTrace: Bool { true }

    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        KernelWorkloads.trace(scenario) { kernels(scenario, model: $0, jitter: streams.kernel) }
    }
}

extension MemcpySpec {
    public func check(in scenario: ScenarioSpec) throws(MemoryError) {
        guard let system = scenario.cluster?.system else { return }
        var ledger = MemoryLedger(device: "\(system.name) GPU 0", capacity: system.gpu.hbmCapacity)
        try ledger.book(2 * bytes, .workspace)  // source and destination
    }

    func kernels(_ scenario: ScenarioSpec, model: KernelModel, jitter: RandomStream) -> [KernelLaunch] {
        (0..<iterations).map { _ in
            KernelLaunch(cost: model.memcpy(bytes: bytes), fixedSeconds: model.factors.fixedTime,
                         jitter: jitter.lognormalFactor(cv: scenario.noise.kernelCV) / scenario.stack.kernelEfficiency, name: "memcpy")
        }
    }

    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        guard let end = KernelWorkloads.loop(scenario, kernels: { kernels(scenario, model: $0, jitter: streams.kernel) }) else { return [] }
        let time = end / Double(iterations)
        return [Metric("time_s", unit: "s", time), Metric("bandwidth_GBps", unit: "GB/s", 2 * bytes / time / 1e9)]
    }

    public static var hasTrace: Bool { true }

    public func trace(in scenario: ScenarioSpec, steps: Int, stages: Set<Int>?, streams: RunStreams) -> TraceData? {
        KernelWorkloads.trace(scenario) { kernels(scenario, model: $0, jitter: streams.kernel) }
    }
}

enum KernelWorkloads {
    /// When the loop's last kernel completes, on GPU 0 of the scenario's system.
    static func loop(_ scenario: ScenarioSpec, kernels: (KernelModel) -> [KernelLaunch]) -> Double? {
        guard let system = scenario.cluster?.system else { return nil }
        let model = KernelModel(gpu: system.gpu)
        let launchInterval = scenario.stack.cudaGraphs ? nil : scenario.stack.launchOverhead
        return KernelStream.run(kernels(model), gpu: system.gpu, hbmEfficiency: model.factors.hbmEfficiency, launchInterval: launchInterval).last ?? 0
    }

    static func trace(_ scenario: ScenarioSpec, kernels: (KernelModel) -> [KernelLaunch]) -> TraceData? {
        guard let system = scenario.cluster?.system else { return TraceData(spans: []) }
        let model = KernelModel(gpu: system.gpu)
        let spans = KernelStream.timeline(kernels(model), gpu: system.gpu, hbmEfficiency: model.factors.hbmEfficiency,
                                          launchInterval: scenario.stack.cudaGraphs ? nil : scenario.stack.launchOverhead).spans
        return TraceData(kernelSpans: spans)
    }

    /// Generic knobs a single-GPU kernel loop does not read.
    static func warnUnused(_ scenario: ScenarioContext, kind: String) {
        if scenario.noise.stragglerProbability > 0 {
            scenario.warnUnused("noise.stragglers", kind: kind, because: " (no synchronous multi-GPU steps)")
        }
        if scenario.noise.networkCV > 0 { scenario.warnUnused("noise.network_cv", kind: kind, because: " (it moves no data over links)") }
    }
}

extension TraceData {
    /// GPU 0's kernels on its compute (0) and communication (1) streams.
    init(kernelSpans spans: [KernelSpan]) {
        self.init(spans: spans.map {
            TraceSpan(name: $0.name, start: $0.start, end: $0.end, gpu: 0, stream: $0.isCommunication ? 1 : 0, hbmBytes: $0.hbmBytes,
                      args: $0.isCommunication ? [] : [.number("flops", $0.flops), .number("hbm_bytes", $0.hbmBytes), .text("bound", $0.computeBound ? "compute" : "memory")])
        })
    }
}
