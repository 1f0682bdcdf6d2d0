// Which calibrated factor could flip a claim's verdict, and at what value: a one-at-a-time
// sensitivity (Saltelli et al., "Global Sensitivity Analysis: The Primer", 2008, §1.2.2) over
// the fitted factors of the families the compared systems belong to. Each factor is scaled by
// one of its own ensemble standard deviations (the spread of log θ over the bootstrap members:
// how well the data pin it) on the GPUs of one family, every compared variant is rerun
// (replication 1's random numbers), and the change of the log speedup per SD gives the slope g.
// Extrapolated linearly in log θ, the speedup reaches the claim's threshold claim·(1 − margin)
// at k = ln(threshold / speedup) / g SDs from the calibrated value; the factor with the
// smallest |k| is the one the verdict hangs on. Factors the bootstrap does not vary (those no
// fitted data move) and efficiencies that would have to exceed 1 are skipped.
import Cluster
import Foundation
import Hardware
import Report
import Scenario

public struct BreakEven: Sendable, Equatable {
    /// "blackwell kernel tensorFP8", "hopper collective ll.baseLatency".
    public var factor: String
    public var calibrated: Double
    /// The factor's value at which the speedup reaches the threshold.
    public var value: Double
    /// How many ensemble SDs that is from the calibrated value (signed).
    public var standardDeviations: Double
}

public enum Sensitivity {
    struct Factor: Sendable {
        var family: Architecture
        var target: FactorPerturbation.Target
        var name: String
        var value: Double
        var relativeSD: Double
        var isFraction: Bool
    }

    /// The factors of `family` the bootstrap varies, with their relative SD.
    static func factors(of family: Architecture) -> [Factor] {
        var result: [Factor] = []
        let kernels = KernelFactors.ensemble(for: family).map(\.values), base = KernelFactors.calibrated(for: family).values
        for (i, name) in KernelFactors.names.enumerated() where kernels.count > 1 {
            let sd = PredictionIntervals.logSD(kernels.map { $0[i] }) ?? 0
            guard sd > 1e-4 else { continue }
            let fraction = KernelCalibration.kinds[i] == .fraction
            result.append(Factor(family: family, target: .kernel(i), name: "\(family.rawValue) kernel \(name)", value: base[i], relativeSD: sd, isFraction: fraction))
        }
        let timings = family == .hopper ? CollectiveTiming.hopperEnsemble : CollectiveTiming.blackwellEnsemble
        let calibrated = CollectiveTiming.calibrated(for: family)
        for (i, name) in CollectiveTiming.names.enumerated() where timings.count > 1 {
            guard let value = calibrated.factorValues[i] else { continue }
            let sd = PredictionIntervals.logSD(timings.compactMap { $0.factorValues[i] }) ?? 0
            guard sd > 1e-4 else { continue }
            result.append(Factor(family: family, target: .collective(i), name: "\(family.rawValue) collective \(name)", value: value,
                                 relativeSD: sd, isFraction: name.hasSuffix("Efficiency")))
        }
        return result
    }

    /// The break-even of every claim row (nil where no factor moves its speedup).
    public static func breakEvens(_ rows: [ComparisonRow], plan: ExperimentPlan, results: ExperimentResults, margin: Double, threads: Int) -> [BreakEven?] {
        let claimed = rows.indices.filter { rows[$0].claim != nil }
        guard !claimed.isEmpty else { return rows.map { _ in nil } }
        let names = Set(claimed.flatMap { [rows[$0].baseline, rows[$0].variant] })
        let variants = plan.variants.indices.filter { names.contains(plan.variants[$0].name) && plan.variants[$0].spec.cluster != nil }
        let families = Set(variants.map { plan.variants[$0].spec.cluster!.system.gpu.architecture.calibrationFamily })
        let factors = Architecture.allCases.filter(families.contains).flatMap(factors(of:))
        // Every (factor, variant) run, replication 1's streams, the factor scaled by exp(SD).
        let runs = factors.indices.flatMap { f in variants.map { (f, $0) } }
        let perturbedRuns = ExperimentRunner.parallelMap(runs.count, threads: threads) { i -> ReplicationResult? in
            let (f, v) = runs[i]
            var perturbed = plan
            if perturbed.variants[v].spec.cluster!.system.gpu.architecture.calibrationFamily == factors[f].family {
                perturbed.variants[v].spec.cluster!.system.gpu.perturbation = FactorPerturbation(factors[f].target, scale: exp(factors[f].relativeSD))
            }
            return ExperimentRunner.runOne(perturbed, variant: v, replication: 1)
        }
        func value(_ run: ReplicationResult?, _ metric: String) -> Double? { run?.metrics.first { $0.name == metric }?.value }
        func run(_ f: Int, _ name: String) -> ReplicationResult? {
            guard let v = plan.variants.firstIndex(where: { $0.name == name }), let i = runs.firstIndex(where: { $0.0 == f && $0.1 == v }) else { return nil }
            return perturbedRuns[i]
        }
        let catalogue = plan.metricCatalogue
        return rows.indices.map { r -> BreakEven? in
            let row = rows[r]
            guard let claim = row.claim, let better = catalogue.entry(for: row.metric)?.better else { return nil }
            let first = results.replications.filter { $0.replication == 1 }
            guard let b0 = value(first.first { $0.variant == row.baseline }, row.metric),
                  let v0 = value(first.first { $0.variant == row.variant }, row.metric), b0 > 0, v0 > 0 else { return nil }
            let s0 = better.speedup(baseline: b0, variant: v0), threshold = claim * (1 - margin)
            var best: BreakEven?
            for (f, factor) in factors.enumerated() {
                guard let b = value(run(f, row.baseline), row.metric), let v = value(run(f, row.variant), row.metric), b > 0, v > 0 else { continue }
                let slope = log(better.speedup(baseline: b, variant: v) / s0)  // per SD
                guard abs(slope) > 1e-6 else { continue }
                let k = log(threshold / s0) / slope
                let at = factor.value * exp(k * factor.relativeSD)
                guard !(factor.isFraction && at > 1), at.isFinite else { continue }
                if best == nil || abs(k) < abs(best!.standardDeviations) {
                    best = BreakEven(factor: factor.name, calibrated: factor.value, value: at, standardDeviations: k)
                }
            }
            return best
        }
    }
}
