import Foundation
import Testing
@testable import Hardware

/// The power model (PowerModel.swift): the clock a power limit allows a sustained kernel.
@Suite struct PowerModelTests {
    /// DGX B200 runs its GPUs at a 700 W set point (datasheets.md 1.3): a sustained 16384³ fp8
    /// GEMM would draw more at the boost clock, so its clock drops until it draws 700 W; the
    /// same GEMM timed alone, and a short memory-bound GEMM in the same sustained stream, run at
    /// the boost clock.
    @Test func aSustainedGEMMRunsBelowBoostAndAShortOneAtBoost() {
        let gpu = SystemSpec.b200.gpu
        let power = PowerModel(gpu: gpu, limit: 700)
        let alone = KernelModel(gpu: gpu, power: power)
        let sustained = KernelModel(gpu: gpu, power: power, sustained: true)
        let big = (m: 16384, n: 16384, k: 16384)
        let boost = alone.gemm(m: big.m, n: big.n, k: big.k, precision: .fp8)
        let held = sustained.gemm(m: big.m, n: big.n, k: big.k, precision: .fp8)
        let r = power.clockRatio(flops: boost.flops, precision: .fp8, hbmBytes: boost.hbmBytes, boostSeconds: boost.seconds)
        print("B200 at 700 W, sustained 16384³ fp8: clock ratio \(r), \(boost.seconds * 1e3) → \(held.seconds * 1e3) ms")
        #expect(r < 0.99 && r > 0.8)
        #expect(held.seconds > boost.seconds * 1.01)
        // At the ratio found the kernel draws the limit: idle + e·R·r³ + HBM = 700 W (closed form).
        let watts = power.idle + power.energyPerFLOP[.fp8]! * boost.flops / boost.seconds * r * r * r
            + power.hbmEnergyPerByte * boost.hbmBytes / boost.seconds
        #expect(abs(watts - 700) < 1e-6)
        // A decode-sized GEMM (m = 8) is bound by reading its weights: far under the limit.
        let small = (alone.gemm(m: 8, n: 8192, k: 8192, precision: .fp8), sustained.gemm(m: 8, n: 8192, k: 8192, precision: .fp8))
        #expect(small.0.seconds == small.1.seconds)
        // At the board's own 1,000 W the datasheet rule lets the big GEMM hold the boost clock.
        let tdp = KernelModel(gpu: gpu, sustained: true).gemm(m: big.m, n: big.n, k: big.k, precision: .fp8)
        #expect(tdp.seconds == boost.seconds)
    }

    /// The datasheet rule (spec rates sustainable at the TDP at the spec clock, energy ∝ clock²
    /// above it) gives B200 at 1,000 W and GB200 at 1,200 W, one die, the same energy per FLOP.
    @Test func oneDieAtTwoLimitsHasOneEnergyPerFLOP() {
        let b200 = PowerModel(gpu: SystemSpec.b200.gpu), gb200 = PowerModel(gpu: SystemSpec.gb200NVL72.gpu)
        for precision in [Precision.bf16, .fp8, .fp4] {
            let ratio = b200.energyPerFLOP[precision]! / gb200.energyPerFLOP[precision]!
            print("\(precision): B200 \(b200.energyPerFLOP[precision]! * 1e12) pJ, GB200 \(gb200.energyPerFLOP[precision]! * 1e12) pJ")
            #expect(abs(ratio - 1) < 0.05)
        }
        // fp8 does twice bf16's FLOPs in the same power: half the energy per FLOP.
        #expect(abs(b200.energyPerFLOP[.fp8]! * 2 / b200.energyPerFLOP[.bf16]! - 1) < 1e-9)
    }

    /// Energy: tensor FLOPs cost e·r² each, HBM bytes their fixed energy; a kernel without
    /// FLOPs never lowers the clock, and a limit at or under the static power floors it.
    @Test func energyAndTheEdges() {
        let power = PowerModel(gpu: SystemSpec.h100SXM.gpu)
        let e = power.energyPerFLOP[.bf16]!
        #expect(abs(power.dynamicEnergy(flops: 1e12, precision: .bf16, hbmBytes: 1e9, clockRatio: 0.9) - (e * 1e12 * 0.81 + 31.2e-12 * 1e9)) < 1e-12)
        #expect(power.clockRatio(flops: 0, precision: .bf16, hbmBytes: 1e12, boostSeconds: 1) == 1)
        var starved = power
        starved.limit = power.idle
        #expect(starved.clockRatio(flops: 1e15, precision: .bf16, hbmBytes: 0, boostSeconds: 1) == PowerModel.clockFloor)
        // 88 W idle on H100 (measured), the same share of every other TDP.
        #expect(abs(power.idle - 88) < 1e-9)
    }
}
