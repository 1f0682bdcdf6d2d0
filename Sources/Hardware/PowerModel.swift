// The power model: what a kernel draws, and the clock a GPU holds under its power limit.
//
// A GPU's power is its static (idle) power plus the dynamic power of the work it does: an
// energy per tensor FLOP in each precision and an energy per HBM byte. The power controller
// keeps the average under the board's limit (the TDP, or a lower limit set with
// `nvidia-smi -pl`) by lowering the SM clock; dynamic power at a clock ratio r is the FLOP rate
// (∝ r) times the energy per FLOP (∝ V², and the voltage follows the clock in this range:
// ∝ r²), so the tensor part scales as r³ while the static and HBM parts do not. A kernel that
// would draw more than the limit at the boost clock runs at the r where it draws the limit.
//
// When it applies: only to a stream busy long enough for the controller's average to reach the
// limit (`KernelModel.sustained`: a training step); a kernel timed alone runs at the boost clock.
//
// Energy per FLOP, from the datasheets: NVIDIA quotes each dense tensor rate at a clock the
// board holds at its TDP with the tensor cores busy in that precision (H100: the tensor TFLOP/s
// correspond to 1,830 MHz, its maximum boost is 1,980 MHz; datasheets.md 1.1 [b][m]; NVIDIA
// rated HPL's peak the same way, at the clock sustained at the power limit: Klockwood,
// glennklockwood.com/garden/peak-FLOPS). So TDP = idle + e(spec clock) × dense rate, and at
// the maximum boost clock e is (max / spec clock)² higher. The rule gives B200 (1,000 W, spec
// 1.86 of 1.965 GHz) and GB200 (1,200 W, spec at its 2.062 GHz maximum), one die at two
// limits, the same energy per FLOP within 3% in every precision: a check it passes.
// Consequence: at its own TDP no modelled kernel reaches the spec rate, so none is throttled;
// a lower limit (`cluster.power_limit`, e.g. DGX B200's 700 W set point, datasheets.md 1.3)
// throttles the GEMMs that draw more.
//
// Not used, and why: the longest GEMM rows of the kernel tables (16384³, 2–12 ms a replay) run
// 4–29% below the unthrottled model, most for Blackwell NVFP4 (B200 −21.5%, GB200 −15.4%, GB300
// −28.6%). Read as a steady power limit they give energies 1.5× the datasheet rule's in bf16
// and fp8 (4× in NVFP4); applied to a sustained step, those throttle H100 GEMMs by ~9% and put
// the two H100 training rows of calibration.csv (L301, MEG04) 14–16% under their measurements,
// which a steady limit cannot then explain. The rows' deficit depends on how long a replay
// runs, not only on its power: a controller time constant the tables do not resolve.
//
// Static power: 88 W measured on an idle H100 SXM by nvidia-smi (Horace He, "Strangely, Matrix
// Multiplications on GPUs Run Faster When Given 'Predictable' Data!", thonking.ai, 2024); no
// source gives it for the other boards, so they keep the same share of their TDP (12.6%).
// HBM: 3.9 pJ/bit (O'Connor et al., "Fine-Grained DRAM: Energy-Efficient DRAM for Extreme
// Bandwidth Systems", MICRO 2017, for HBM2; no later figure with a source), 31.2 pJ per byte.
//
// Limitations: one clock per kernel (the controller's time constant is not modelled: a stream
// either is sustained or is not), no thermal limit, no data dependence, NVLink and NIC energy
// left out, and a floor of 0.3 on the clock ratio.
import Foundation

public struct PowerModel: Sendable, Equatable {
    /// The board's power limit, W.
    public var limit: Double
    /// Static power with the SMs clocked and idle, W.
    public var idle: Double
    /// Joules per dense tensor FLOP at the boost clock, per precision.
    public var energyPerFLOP: [Precision: Double]
    /// Joules per HBM byte read or written.
    public var hbmEnergyPerByte: Double

    /// The lowest clock ratio the model lets a limit impose.
    public static let clockFloor = 0.3
    /// 88 W idle of a 700 W H100 SXM (see the header).
    public static let idleShareOfTDP = 88.0 / 700
    /// 3.9 pJ/bit (see the header).
    public static let hbmJoulesPerByte = 3.9e-12 * 8

    public init(limit: Double, idle: Double, energyPerFLOP: [Precision: Double], hbmEnergyPerByte: Double = PowerModel.hbmJoulesPerByte) {
        self.limit = limit
        self.idle = idle
        self.energyPerFLOP = energyPerFLOP
        self.hbmEnergyPerByte = hbmEnergyPerByte
    }

    /// A GPU's static power, W (the header's rule).
    public static func idlePower(_ gpu: GPUSpec) -> Double { gpu.tdp * idleShareOfTDP }

    /// The model of a GPU at its TDP (or at `limit` W): energies from the datasheet rule.
    public init(gpu: GPUSpec, limit: Double? = nil) {
        let idle = Self.idlePower(gpu)
        let voltage = (gpu.maxClock / gpu.clock) * (gpu.maxClock / gpu.clock)
        var energy: [Precision: Double] = [:]
        for precision in Precision.allCases {
            if let rate = gpu.tensor[precision], rate > 0 { energy[precision] = (gpu.tdp - idle) / rate * voltage }
        }
        self.init(limit: limit ?? gpu.tdp, idle: idle, energyPerFLOP: energy)
    }

    func joulesPerFLOP(_ precision: Precision) -> Double {
        energyPerFLOP[precision] ?? energyPerFLOP[.bf16] ?? 0
    }

    /// The clock ratio (≤ 1) at which a kernel doing `flops` tensor FLOPs in `precision` and
    /// moving `hbmBytes` draws no more than the limit, given that it takes `boostSeconds` at the
    /// boost clock.
    public func clockRatio(flops: Double, precision: Precision, hbmBytes: Double, boostSeconds: Double) -> Double {
        guard boostSeconds > 0, flops > 0 else { return 1 }
        let tensorWatts = joulesPerFLOP(precision) * flops / boostSeconds
        guard tensorWatts > 0 else { return 1 }
        let headroom = limit - idle - hbmEnergyPerByte * hbmBytes / boostSeconds
        guard headroom > 0 else { return Self.clockFloor }
        return Swift.max(Self.clockFloor, Swift.min(1, Foundation.cbrt(headroom / tensorWatts)))
    }

    /// Dynamic energy of a kernel (tensor FLOPs at clock ratio r, and its HBM bytes), joules.
    public func dynamicEnergy(flops: Double, precision: Precision, hbmBytes: Double, clockRatio r: Double) -> Double {
        joulesPerFLOP(precision) * flops * r * r + hbmEnergyPerByte * hbmBytes
    }
}
