import Foundation
import Testing
import TestSupport
import Experiments
@testable import Hardware

@Suite struct KernelModelTests {
    let h100 = KernelModel(gpu: SystemSpec.h100SXM.gpu)

    /// 132 SMs, 128 × 128 tiles. 1536 × 1408 is 12 × 11 = 132 tiles: one wave. 896 × 2432 is
    /// 7 × 19 = 133 tiles: two waves of 128 × 128, or one wave of double tiles (128 × 256 or
    /// 256 × 128), so every choice costs two tile-times for 0.9% more FLOPs; time per FLOP
    /// should nearly double. k = 16384 keeps both compute-bound (~650 FLOP per HBM byte).
    @Test func waveQuantisationIsVisible() {
        let k = 16384
        let one = h100.gemm(m: 1536, n: 1408, k: k, precision: .bf16)
        let two = h100.gemm(m: 896, n: 2432, k: k, precision: .bf16)
        #expect(!one.isMemoryBound && !two.isMemoryBound)
        #expect(one.waves == 1)
        let ratio = (two.seconds / two.flops) / (one.seconds / one.flops)
        print("wave quantisation: 132 tiles \(one.seconds * 1e6) us, 133 tiles \(two.seconds * 1e6) us; time per FLOP ratio \(ratio)")
        #expect(ratio > 1.7)
    }

    /// Decode attention is HBM-bound; prefill is compute-bound (tensor cores and SFUs).
    @Test(arguments: SystemSpec.presets.map(\.name))
    func decodeIsMemoryBoundPrefillComputeBound(system: String) {
        let model = KernelModel(gpu: SystemSpec.preset(named: system)!.gpu)
        let decode = model.attentionDecode(batch: 64, kvLength: 4096, heads: 64, kvHeads: 8, headDim: 128, kvPrecision: .bf16)
        let prefill = model.attentionPrefill(batch: 1, seq: 8192, heads: 64, kvHeads: 8, headDim: 128, precision: .bf16)
        #expect(decode.isMemoryBound)
        #expect(!prefill.isMemoryBound)
        #expect(decode.memorySeconds > 10 * decode.computeSeconds)
        #expect(prefill.computeSeconds > 10 * prefill.memorySeconds)
    }

    /// A decode kernel replayed on a cache that fits in L2 (the kernels/ tables' condition)
    /// skips HBM; one whose cache exceeds L2 costs the same warm or cold. Workloads price cold.
    @Test func warmL2OnlyHelpsCachesThatFit() {
        // 8 sequences × 4096 tokens × 1 KV head × 128 × 2 (K, V) × 2 B = 16.8 MB < 50 MB L2.
        let small = { (warm: Bool) in self.h100.attentionDecode(batch: 8, kvLength: 4096, heads: 8, kvHeads: 1, headDim: 128, kvPrecision: .bf16, warmL2: warm) }
        #expect(small(true).seconds < small(false).seconds)
        #expect(small(true).hbmBytes < 0.01 * small(false).hbmBytes)
        // 64 sequences: 134 MB, more than L2 — the warm replay has nothing to reuse.
        let large = { (warm: Bool) in self.h100.attentionDecode(batch: 64, kvLength: 4096, heads: 8, kvHeads: 1, headDim: 128, kvPrecision: .bf16, warmL2: warm) }
        #expect(large(true) == large(false))
        print("decode 16.8 MB cache warm \(small(true).seconds * 1e6) us, cold \(small(false).seconds * 1e6) us")
    }

    /// GB300 and GB200 have the same tensor rate for bf16 (2.5 PF) and the same HBM; B300's
    /// SFUs run exp twice as fast. So GB300 wins prefill attention (where exponentials bind
    /// part of the time) and ties decode attention (bound by HBM) and GEMMs.
    @Test func gb300BeatsGB200OnlyWhereTheExponentRateBinds() {
        let gb200 = KernelModel(gpu: SystemSpec.gb200NVL72.gpu)
        let gb300 = KernelModel(gpu: SystemSpec.gb300NVL72.gpu)
        let prefill200 = gb200.attentionPrefill(batch: 1, seq: 16384, heads: 64, kvHeads: 8, headDim: 128, precision: .bf16)
        let prefill300 = gb300.attentionPrefill(batch: 1, seq: 16384, heads: 64, kvHeads: 8, headDim: 128, precision: .bf16)
        print("prefill 16k tokens: GB200 \(prefill200.seconds * 1e3) ms, GB300 \(prefill300.seconds * 1e3) ms, speedup \(prefill200.seconds / prefill300.seconds)")
        #expect(prefill200.seconds / prefill300.seconds > 1.15)
        // Without the SFU difference GB300 would not beat GB200 on prefill.
        var slowSFU = SystemSpec.gb300NVL72.gpu
        slowSFU.expRate = SystemSpec.gb200NVL72.gpu.expRate
        let slow = KernelModel(gpu: slowSFU)
        let prefillSlowSFU = slow.attentionPrefill(batch: 1, seq: 16384, heads: 64, kvHeads: 8, headDim: 128, precision: .bf16)
        #expect(prefillSlowSFU.seconds >= prefill200.seconds * 0.98)
        // Decode attention and GEMMs do not depend on the SFU rate at all, and GB300 is within a
        // few percent of GB200 there (its 160 SMs keep slightly more loads in flight).
        let decode = { (m: KernelModel) in m.attentionDecode(batch: 64, kvLength: 4096, heads: 64, kvHeads: 8, headDim: 128, kvPrecision: .bf16).seconds }
        #expect(decode(gb300) == decode(slow))
        #expect(abs(decode(gb200) / decode(gb300) - 1) < 0.03)
        let gemm = { (m: KernelModel) in m.gemm(m: 8192, n: 8192, k: 8192, precision: .bf16).seconds }
        #expect(gemm(gb300) == gemm(slow))
        #expect(gemm(gb200) / gemm(gb300) < 1.05)
    }

    /// The headline calibration points: H200 bf16 8192³ within 10% of 788 TFLOP/s, the 8.6 GB
    /// device-to-device copy within 10% of 4.3 TB/s.
    @Test func h200HeadlinePoints() {
        let h200 = KernelModel(gpu: SystemSpec.h200SXM.gpu)
        let gemm = h200.gemm(m: 8192, n: 8192, k: 8192, precision: .bf16)
        let tflops = gemm.flops / gemm.seconds / 1e12
        let copy = h200.memcpy(bytes: 4.3e9)
        let tbps = copy.hbmBytes / copy.seconds / 1e12
        print("H200 bf16 8192^3: \(tflops) TFLOP/s (measured 788); copy \(tbps) TB/s (measured 4.3)")
        #expect(abs(tflops / 788 - 1) < 0.10)
        #expect(abs(tbps / 4.3 - 1) < 0.10)
    }
}

/// The model against the measured tables in ../shared/reference (skipped in a clone without it).
@Suite struct KernelReferenceTests {
    static let reference = KernelReference.defaultDirectory(packageRoot: TestSupport.packageRoot)

    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func gemmTable() throws {
        let figures = KernelCalibration.Figures(KernelCalibration.residuals(try KernelReference.gemmRows(in: Self.reference!)))
        print("kernels/gemm.csv: \(figures)")
        #expect(figures.count == 312)
        #expect(figures.medianAbsoluteError <= 0.10)
        #expect(figures.maxAbsoluteError <= 0.35)
    }

    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func attentionTable() throws {
        let figures = KernelCalibration.Figures(KernelCalibration.residuals(try KernelReference.attentionRows(in: Self.reference!)))
        print("kernels/attention.csv: \(figures)")
        #expect(figures.count == 285)
        #expect(figures.medianAbsoluteError <= 0.10)
        #expect(figures.maxAbsoluteError <= 0.35)
    }

    /// One MoE layer's routed experts (TensorRT-LLM's fused MoE on one GPU of a TP × EP group,
    /// balanced routing) priced by the ops the workloads' MoE layers run, not fitted to the
    /// table: median within 15%. The worst rows are tensor-parallel MoE at many tokens, whose
    /// narrow expert slices run below the GEMM model's efficiency (docs/validation.md).
    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func moeTable() throws {
        let figures = KernelCalibration.Figures(KernelCalibration.residuals(try KernelReference.moeRows(in: Self.reference!)))
        print("kernels/moe.csv (balanced): \(figures)")
        #expect(figures.count == 896)
        #expect(figures.medianAbsoluteError <= 0.15)
        #expect(figures.maxAbsoluteError <= 0.75)
    }

    /// DeepSeek's latent attention as the workloads price it (FlashMLA's split of long caches
    /// over every SM; fp8 MMA on Blackwell, bf16 on Hopper), not fitted to the table.
    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func mlaTable() throws {
        let figures = KernelCalibration.Figures(KernelCalibration.residuals(try KernelReference.mlaRows(in: Self.reference!)))
        print("kernels/mla.csv: \(figures)")
        #expect(figures.count == 950)
        #expect(figures.medianAbsoluteError <= 0.20)
        #expect(figures.maxAbsoluteError <= 0.60)
    }

    /// The frameworks' own all-reduces (one-shot, two-shot or NCCL, whichever is fastest) with
    /// the fitted latencies and bandwidth shares: median within 12% over the graph rows.
    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func customAllReduceRows() throws {
        let figures = CustomAllReduceCalibration.figures(try CustomAllReduceCalibration.rows(in: Self.reference!))
        print("kernels/comm.csv custom all-reduce rows: \(figures)")
        #expect(figures.count == 312)
        #expect(figures.medianAbsoluteError <= 0.12)
    }

    /// DeepEP's dispatch and combine (one node) with the fitted latency and bandwidth share per
    /// mode and family: medians within 16%.
    @Test(.enabled(if: reference != nil, "../shared/reference is absent: the kernel tables are not in this clone"))
    func expertAllToAllRows() throws {
        let rows = try ExpertAllToAllCalibration.rows(in: Self.reference!)
        let low = ExpertAllToAllCalibration.figures(rows.filter(\.lowLatency)), normal = ExpertAllToAllCalibration.figures(rows.filter { !$0.lowLatency })
        print("kernels/comm-extra.csv: low-latency \(low); normal \(normal)")
        #expect(low.count == 440 && normal.count == 360)
        #expect(low.medianAbsoluteError <= 0.16 && normal.medianAbsoluteError <= 0.16)
    }

    /// calibration.csv is copied into the repository, so this runs everywhere.
    @Test func calibrationPoints() throws {
        let file = TestSupport.packageRoot.appendingPathComponent("scenarios/reference/calibration.csv")
        let residuals = KernelCalibration.residuals(try KernelReference.calibrationRows(in: file))
        #expect(residuals.count == 9)
        for r in residuals {
            print(String(format: "%@: %+.1f%%", r.measurement.label, r.relativeError * 100))
        }
        // Every kernel point within 15% (the headline H200 points are checked at 10% above).
        #expect(residuals.allSatisfy { abs($0.relativeError) <= 0.15 }, "\(residuals.map { ($0.measurement.label, $0.relativeError) })")
    }
}
