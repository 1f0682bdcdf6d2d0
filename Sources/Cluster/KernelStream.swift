// One CUDA stream on one GPU: the CPU launches kernels, the GPU runs them in order, and each
// kernel's HBM traffic is a fluid activity on the GPU's HBM resource.
//
// Model: without CUDA graphs the CPU enqueues kernel i at i × launch interval (asynchronous
// launches), so a stream of short kernels is launch-bound and one of long kernels is not.
// With CUDA graphs every kernel is enqueued at once. A kernel starts when it is enqueued and
// its predecessor has finished; it spends its fixed time (prologue, tail), then runs its body
// as an activity of one unit of work, bounded by 1 / body seconds and consuming HBM at
// hbmBytes per unit, so that kernels sharing HBM slow each other as max-min says.
import Engine
import Hardware

public struct KernelLaunch: Sendable {
    /// The kernel's cost alone (its body is `seconds − fixedSeconds`).
    public var cost: KernelCost
    public var fixedSeconds: Double
    /// Multiplies the body time (noise); 1 for none.
    public var jitter: Double
    /// What the kernel is, for traces ("qkv_gemm", "all_reduce", ...).
    public var name: String
    /// Communication rather than compute (its own trace track).
    public var isCommunication: Bool

    public init(cost: KernelCost, fixedSeconds: Double, jitter: Double = 1, name: String = "kernel", isCommunication: Bool = false) {
        self.cost = cost
        self.fixedSeconds = fixedSeconds
        self.jitter = jitter
        self.name = name
        self.isCommunication = isCommunication
    }
}

/// One kernel as it ran: for timelines.
public struct KernelSpan: Sendable, Equatable {
    public var name: String
    public var start: Double
    public var end: Double
    public var isCommunication: Bool
    /// HBM bytes the kernel moved, and its FLOPs.
    public var hbmBytes: Double
    public var flops: Double
    /// Its compute alone takes at least as long as its HBM traffic alone.
    public var computeBound: Bool
}

public enum KernelStream {
    enum Event {
        case enqueued(Int)
        case bodyStart(Int)
        case finished(Int)
    }

    /// Runs `kernels` in order on one GPU; returns each kernel's completion time.
    /// `launchInterval` nil means CUDA graphs (everything enqueued at time 0).
    public static func run(_ kernels: [KernelLaunch], gpu: GPUSpec, hbmEfficiency: Double, launchInterval: Double?) -> [Double] {
        timeline(kernels, gpu: gpu, hbmEfficiency: hbmEfficiency, launchInterval: launchInterval).completion
    }

    /// The same, with each kernel's span (start of its fixed time to its end), for traces.
    public static func timeline(_ kernels: [KernelLaunch], gpu: GPUSpec, hbmEfficiency: Double, launchInterval: Double?) -> (completion: [Double], spans: [KernelSpan]) {
        var spans: [KernelSpan] = []
        spans.reserveCapacity(kernels.count)
        let sim = Simulator<Event>()
        let hbm = sim.addResource(capacity: gpu.hbmBandwidth * hbmEfficiency)
        var completion = [Double](repeating: 0, count: kernels.count)
        var started = [Double](repeating: 0, count: kernels.count)
        var enqueued = [Bool](repeating: false, count: kernels.count)
        var busy = false
        var next = 0  // the next kernel to start, in stream order

        for i in kernels.indices { sim.schedule(.enqueued(i), at: Double(i) * (launchInterval ?? 0)) }
        func startNextIfReady() {
            guard !busy, next < kernels.count, enqueued[next] else { return }
            busy = true
            started[next] = sim.now
            sim.schedule(.bodyStart(next), after: kernels[next].fixedSeconds)
            next += 1
        }
        sim.run { event in
            switch event {
            case .enqueued(let i):
                enqueued[i] = true
                startNextIfReady()
            case .bodyStart(let i):
                let k = kernels[i]
                let body = Swift.max(0, k.cost.seconds - k.fixedSeconds) * k.jitter
                let demands = k.cost.hbmBytes > 0 ? [Demand(hbm, weight: k.cost.hbmBytes)] : []
                sim.startActivity(work: 1, demands: demands, bound: body > 0 ? 1 / body : .infinity, completion: .finished(i))
            case .finished(let i):
                completion[i] = sim.now
                spans.append(KernelSpan(name: kernels[i].name, start: started[i], end: sim.now, isCommunication: kernels[i].isCommunication,
                                        hbmBytes: kernels[i].cost.hbmBytes, flops: kernels[i].cost.flops,
                                        computeBound: kernels[i].cost.computeSeconds >= kernels[i].cost.memorySeconds))
                busy = false
                startNextIfReady()
            }
        }
        return (completion, spans)
    }
}
