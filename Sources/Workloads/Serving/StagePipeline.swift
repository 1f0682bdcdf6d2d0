// The pipeline stages of serving instances (`pp` > 1), shared by colocated and disaggregated
// serving. Layers are split evenly, earlier stages taking the remainder; stage s runs on GPUs
// s·tp ..< (s + 1)·tp of its instance, so the send to the next stage stays in an NVLink domain
// or crosses the NICs. An iteration passes stage by stage: each stage when it is free (first
// come, first served; one micro-batch at a time), for its layers' share of the iteration's
// kernels (the head on the last), then the hidden states (split over the TP ranks) go to the
// next stage. With a micro-batch per stage in flight, an instance starts an iteration each
// slowest-stage time while each takes the sum of its stages and sends.
import Cluster
import Hardware

struct StagePipeline {
    let stages: Int
    let stageLayers: [Int]
    /// Whether the send after each stage but the last stays in an NVLink domain.
    let sendsInDomain: [Bool]
    let hiddenBytes: Double
    let gpu: GPUSpec
    let transport: ScaleOutTransport
    /// When each instance's stages are next free.
    private var stageFree: [[Double]]
    private var sendPrices: [SendKey: Double] = [:]  // looked up, never iterated

    private struct SendKey: Hashable {
        var tokens: Int
        var sameDomain: Bool
    }

    init(_ d: DecodeSpec, instances: Int, system: SystemSpec, transport: ScaleOutTransport) {
        self.transport = transport
        stages = d.pp
        stageLayers = DecodeWorkload.stages(d).map(\.count)
        let domain = system.gpusPerNVLinkDomain
        sendsInDomain = (0..<Swift.max(0, d.pp - 1)).map { s in (s * d.tp) / domain == ((s + 2) * d.tp - 1) / domain }
        hiddenBytes = Double(d.model.hidden) * 2 / Double(d.tp)
        gpu = system.gpu
        stageFree = [[Double]](repeating: [Double](repeating: 0, count: d.pp), count: instances)
    }

    /// When an iteration of `shape` that is ready at `start` on `instance` leaves its last
    /// stage, each stage's kernels scaled by `factor` (the run's jitter and stragglers).
    mutating func end(of shape: IterationShape, on instance: Int, from start: Double, prices: IterationPrices, factor: Double) -> Double {
        let seconds = prices.stageSeconds(shape, layers: stageLayers)
        var t = start
        for s in 0..<stages {
            let end = Swift.max(t, stageFree[instance][s]) + seconds[s] * factor
            stageFree[instance][s] = end
            t = end + (s + 1 < stages ? sendSeconds(tokens: shape.tokens, sameDomain: sendsInDomain[s]) : 0)
        }
        return t
    }

    /// Seconds to send `tokens` tokens' hidden states to the next stage.
    private mutating func sendSeconds(tokens: Int, sameDomain: Bool) -> Double {
        let key = SendKey(tokens: tokens, sameDomain: sameDomain)
        if let t = sendPrices[key] { return t }
        let t = GroupCollective.pointToPoint(bytes: Double(tokens) * hiddenBytes, gpu: gpu, sameDomain: sameDomain, transport: transport)
        sendPrices[key] = t
        return t
    }
}
