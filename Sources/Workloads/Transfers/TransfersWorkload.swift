// `kind: transfers`: named links and transfers over paths of them, simulated on the engine's
// fluid resources.
//
// Model: each link is one fluid resource (bytes/s in the direction of the transfers). A
// transfer posted at `start` first waits the sum of its links' latencies (the head of the
// message crossing the path, cut-through), then moves its bytes at the max-min fair rate
// of its path. So an unshared transfer takes Σ latency + bytes / min bandwidth.
// With `noise.network_cv` each transfer's effective size is scaled by a lognormal factor of
// mean 1 (the spread of achieved bandwidth between transfers), drawn from the run's stream.
//
// Limitations: no packetisation, congestion control or per-hop store-and-forward; links are
// one-directional (model the two directions as two links).
import Engine
import Report
import Scenario
import Stats

extension TransfersSpec {
    public func run(in scenario: ScenarioSpec, streams: RunStreams) -> [Metric] {
        TransferSimulation.run(self, noise: scenario.noise, jitter: streams.network)
    }
}

enum TransferSimulation {
    enum Event {
        case post(Int)
        case startData(Int)
        case finished(Int)
    }

    /// Simulates the transfers once; `jitter` draws the network noise.
    static func run(_ spec: TransfersSpec, noise: NoiseSpec, jitter: RandomStream) -> [Metric] {
        let sim = Simulator<Event>()
        let links = spec.links.map { sim.addResource(capacity: $0.bandwidth) }
        // Draw every factor up front, in transfer order, so draws never depend on event order.
        let factors = spec.transfers.map { _ in jitter.lognormalFactor(cv: noise.networkCV) }
        var completion = [Double](repeating: 0, count: spec.transfers.count)
        for (i, transfer) in spec.transfers.enumerated() { sim.schedule(.post(i), at: transfer.start) }
        sim.run { event in
            switch event {
            case .post(let i):
                let latency = spec.transfers[i].path.reduce(0.0) { $0 + spec.links[$1].latency }
                sim.schedule(.startData(i), after: latency)
            case .startData(let i):
                let transfer = spec.transfers[i]
                sim.startActivity(
                    work: transfer.bytes * factors[i],
                    demands: transfer.path.map { Demand(links[$0]) },
                    completion: .finished(i)
                )
            case .finished(let i):
                completion[i] = sim.now
            }
        }
        var metrics = [Metric("makespan_s", unit: "s", completion.max() ?? 0)]
        for (i, transfer) in spec.transfers.enumerated() {
            let duration = completion[i] - transfer.start
            metrics.append(Metric("transfer.\(transfer.name).completion_s", unit: "s", completion[i]))
            metrics.append(Metric("transfer.\(transfer.name).duration_s", unit: "s", duration))
            metrics.append(Metric("transfer.\(transfer.name).bandwidth_GBps", unit: "GB/s", duration > 0 ? transfer.bytes / duration / 1e9 : .nan))
        }
        return metrics
    }
}
