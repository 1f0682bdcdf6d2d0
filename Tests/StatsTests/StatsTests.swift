import CGSL
import Foundation
import Testing
@testable import Stats

@Suite struct RandomStreamTests {
    @Test func sameKeySameNumbers() {
        let key = StreamKey(seed: 42, variant: 1, replication: 3, source: 0)
        let a = RandomStream(key), b = RandomStream(key)
        let xs = (0..<100).map { _ in a.uniform() }
        let ys = (0..<100).map { _ in b.uniform() }
        #expect(xs == ys)
    }

    /// Neighbouring keys differ in every field and give unrelated streams.
    @Test func neighbouringKeysDiffer() {
        let base = StreamKey(seed: 1, variant: 0, replication: 0, source: 0)
        var keys = [base]
        for change in 0..<4 {
            var k = base
            switch change {
            case 0: k.seed = 2
            case 1: k.variant = 1
            case 2: k.replication = 1
            default: k.source = 1
            }
            keys.append(k)
        }
        let seeds = Set(keys.map(\.generatorSeed))
        #expect(seeds.count == keys.count)
        let firsts = Set(keys.map { RandomStream($0).uniform() })
        #expect(firsts.count == keys.count)
    }

    /// GSL treats mt19937 seed 0 as 4357; derived seeds are never 0.
    @Test func seedZeroRule() {
        #expect(RandomStream(generatorSeed: 0).uniform() == RandomStream(generatorSeed: 4357).uniform())
        let keys = (0..<10_000).map { StreamKey(seed: UInt64($0), variant: 0, replication: 0, source: 0) }
        #expect(keys.allSatisfy { $0.generatorSeed != 0 })
    }

    /// Sample moments of 200,000 draws match the distribution's within 5 standard errors
    /// (the bound a correct sampler exceeds with probability < 1e-6).
    @Test func distributionMoments() {
        let stream = RandomStream(StreamKey(seed: 7, variant: 0, replication: 0, source: 0))
        let n = 200_000
        func check(_ name: String, mean: Double, sd: Double, _ draw: () -> Double) {
            let xs = (0..<n).map { _ in draw() }
            let m = xs.reduce(0, +) / Double(n)
            #expect(abs(m - mean) < 5 * sd / Double(n).squareRoot(), "\(name): mean \(m), expected \(mean)")
        }
        check("normal", mean: 3, sd: 2) { stream.normal(mean: 3, standardDeviation: 2) }
        check("exponential", mean: 0.5, sd: 0.5) { stream.exponential(mean: 0.5) }
        check("gamma", mean: 2 * 3, sd: (2.0).squareRoot() * 3) { stream.gamma(shape: 2, scale: 3) }
        check("lognormal factor", mean: 1, sd: 0.1) { stream.lognormalFactor(cv: 0.1) }
        #expect(stream.lognormalFactor(cv: 0) == 1)
    }

    /// The lognormal factor's coefficient of variation is the one asked for.
    @Test func lognormalFactorCV() {
        let stream = RandomStream(generatorSeed: 99)
        let xs = (0..<200_000).map { _ in stream.lognormalFactor(cv: 0.25) }
        let s = Summary(xs)
        #expect(abs(s.standardDeviation! / s.mean - 0.25) < 0.005)
    }
}

@Suite struct SummaryTests {
    /// Values 1…10: mean 5.5, sample sd sqrt(55/6) = 3.02765; t(0.975, 9) = 2.262157;
    /// half-width 2.262157 · 3.02765 / sqrt(10) = 2.16585. Type-7 median 5.5, p99 = 9.91.
    @Test func knownSample() {
        let s = Summary((1...10).map(Double.init).reversed())
        #expect(s.n == 10)
        #expect(s.mean == 5.5)
        #expect(abs(s.standardDeviation! - 3.0276503540974917) < 1e-12)
        #expect(abs(s.ci95!.upperBound - (5.5 + 2.1658506)) < 1e-6)
        #expect(abs(s.ci95!.lowerBound - (5.5 - 2.1658506)) < 1e-6)
        #expect(s.p50 == 5.5)
        #expect(abs(s.p99 - 9.91) < 1e-12)
        #expect(s.min == 1 && s.max == 10)
    }

    @Test func singleValueHasNoSpread() {
        let s = Summary([4])
        #expect(s.mean == 4 && s.p50 == 4 && s.p99 == 4)
        #expect(s.standardDeviation == nil && s.ci95 == nil)
    }

    /// Student-t quantiles against published table values (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
    @Test(arguments: [(1.0, 12.706205), (2.0, 4.302653), (9.0, 2.262157), (30.0, 2.042272), (1000.0, 1.962339)])
    func studentT(nu: Double, expected: Double) {
        #expect(abs(studentTQuantile(0.975, degreesOfFreedom: nu) - expected) < 1e-5)
    }
}

@Suite struct StragglerTests {
    /// A synchronous step over N = 64 GPUs, each slow (×1.5) with probability 1%: folded (one
    /// draw of "any straggler", probability 1 − 0.99^64 = 0.474) and brute force (64 draws)
    /// give the same mean step factor, 1 + 0.5 × 0.474 = 1.237, within 4 standard errors over
    /// 20,000 steps each.
    @Test func foldedMatchesBruteForceAtSixtyFour() {
        let model = StragglerModel(probability: 0.01, slowdown: 1.5)
        let folded = RandomStream(generatorSeed: 5), brute = RandomStream(generatorSeed: 6)
        let steps = 20_000
        let a = (0..<steps).map { _ in model.folded(gpus: 64, stream: folded) }
        let b = (0..<steps).map { _ in model.bruteForce(gpus: 64, stream: brute) }
        let expected = 1 + 0.5 * (1 - pow(0.99, 64))
        let se = 0.5 * (0.474 * 0.526).squareRoot() / Double(steps).squareRoot()
        let meanA = a.reduce(0, +) / Double(steps), meanB = b.reduce(0, +) / Double(steps)
        print("stragglers at N = 64: folded \(meanA), brute force \(meanB), expected \(expected)")
        #expect(abs(meanA - expected) < 4 * se)
        #expect(abs(meanB - expected) < 4 * se)
    }
}
