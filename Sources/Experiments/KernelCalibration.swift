// Fitting the kernel model's factors to measurements, and measuring how well it fits.
//
// The fit minimises the mean squared log error, ln(predicted / measured)², which treats a
// factor-of-two error the same either way, is not dominated by large kernels, and weighs the
// worst rows more than a mean absolute error would. The headline points of calibration.csv
// weigh 20 rows each (see calibrationPointWeight). Each family (Hopper: H100, H200;
// Blackwell: B200, GB200) gets its own factors; the exponent combining MMA and exponent time in
// attention is one number for both, because it describes how FlashAttention overlaps its
// softmax with its matrix products, not a chip. Optimiser: GSL's Nelder–Mead simplex, restarted
// from its best point until it stops improving.
import Foundation
import Hardware
import Stats

public enum KernelCalibration {
    /// One row's prediction and its relative error (predicted / measured − 1).
    public struct Residual: Sendable {
        public var measurement: KernelMeasurement
        public var predicted: Double
        public var relativeError: Double { predicted / measurement.seconds - 1 }
        /// The same sign convention, (predicted − measured) / measured, for a row measured as a
        /// rate (calibration.csv's TFLOP/s and TB/s, as `validate` prints it): work over time,
        /// so measured seconds / predicted seconds − 1.
        public var rateError: Double { measurement.seconds / predicted - 1 }
    }

    /// Median and largest absolute relative error of a set of rows.
    public struct Figures: Sendable, CustomStringConvertible {
        public var count: Int
        public var medianAbsoluteError: Double
        public var maxAbsoluteError: Double
        public var worst: String

        public init(_ residuals: [Residual]) {
            self.init(labels: residuals.map(\.measurement.label), predicted: residuals.map(\.predicted), measured: residuals.map(\.measurement.seconds))
        }

        public init(labels: [String], predicted: [Double], measured: [Double]) {
            let relative = zip(predicted, measured).map { $0 / $1 - 1 }
            let errors = relative.map(abs).sorted()
            count = errors.count
            medianAbsoluteError = errors.isEmpty ? 0 : Summary.quantile(sorted: errors, 0.5)
            maxAbsoluteError = errors.last ?? 0
            let worstIndex = relative.indices.max { abs(relative[$0]) < abs(relative[$1]) }
            worst = worstIndex.map { String(format: "%@: predicted %.4g ms, measured %.4g ms", labels[$0], predicted[$0] * 1e3, measured[$0] * 1e3) } ?? "-"
        }

        public var description: String {
            String(format: "%d rows, median |error| %.1f%%, max %.1f%% (%@)", count, medianAbsoluteError * 100, maxAbsoluteError * 100, worst)
        }
    }

    public static func residuals(_ rows: [KernelMeasurement], factors: (Architecture) -> KernelFactors = KernelFactors.calibrated) -> [Residual] {
        rows.map { row in
            let model = KernelModel(gpu: row.system.gpu, factors: factors(row.system.gpu.architecture))
            return Residual(measurement: row, predicted: row.shape.seconds(on: model))
        }
    }

    /// How many table rows one headline point of calibration.csv weighs. Those points are
    /// sustained, averaged measurements; single cells of the kernels/ tables jitter by about
    /// ±10% (kernels/README.md), so a headline point carries more information than a cell.
    static let calibrationPointWeight = 20.0

    static func loss(_ rows: [KernelMeasurement], factors: (Architecture) -> KernelFactors) -> Double {
        var total = 0.0, weight = 0.0
        for r in residuals(rows, factors: factors) {
            let w = r.measurement.isCalibrationPoint ? calibrationPointWeight : 1.0
            let e = log(r.predicted / r.measurement.seconds)
            total += w * e * e
            weight += w
        }
        return total / weight
    }

    /// Kinds of factor, for the transform that keeps each in its physical range.
    enum Kind { case fraction, seconds, exponent, rate, count }
    static let kinds: [Kind] = [.fraction, .fraction, .fraction, .fraction, .seconds, .exponent, .fraction, .exponent, .fraction, .seconds, .seconds, .seconds, .seconds, .seconds, .rate, .count]

    // Unconstrained ↔ physical: fractions through a logistic, times through exp (µs),
    // exponents as 1 + exp (≥ 1: at worst no overlap).
    static func toPhysical(_ x: Double, _ kind: Kind) -> Double {
        switch kind {
        case .fraction: 1 / (1 + exp(-x))
        case .seconds: exp(x) * 1e-6
        case .exponent: 1 + exp(x)
        case .rate: exp(x) * 1e9
        case .count: 1 + exp(x)
        }
    }

    static func toFree(_ v: Double, _ kind: Kind) -> Double {
        switch kind {
        case .fraction: log(v / (1 - v))
        case .seconds: log(v * 1e6)
        case .exponent: log(max(v - 1, 1e-3))
        case .rate: log(v / 1e9)
        case .count: log(max(v - 1, 1e-3))
        }
    }

    typealias State = [Architecture: [Double]]

    /// Fits the factors of both families, starting from `start`.
    public static func fit(_ rows: [KernelMeasurement], start: (hopper: KernelFactors, blackwell: KernelFactors) = (.hopperCalibrated, .blackwellCalibrated)) throws -> (hopper: KernelFactors, blackwell: KernelFactors) {
        var state: State = [.hopper: start.hopper.values, .blackwell: start.blackwell.values]
        func lossFunction(_ rows: [KernelMeasurement]) -> (State) -> Double {
            { state in loss(rows) { KernelFactors(values: state[$0.calibrationFamily]!) } }
        }
        // Stage 1: GEMM and copy factors, per family, on GEMM and copy rows.
        for family in [Architecture.hopper, .blackwell] { state = try fitGEMMStage(rows, family: family, state) }
        // Stage 2: prefill, both families at once, with one exponent-overlap p (index 7).
        var prefill: [(Architecture, Int)] = []
        for family in [Architecture.hopper, .blackwell] { prefill += [6, 9, 12].map { (family, $0) } }
        prefill.append((.hopper, 7))
        state = try optimise(prefill, state, shared: 7, objective: lossFunction(rows.filter { if case .prefill = $0.shape { true } else { false } }))
        // Stage 3: decode, per family.
        for family in [Architecture.hopper, .blackwell] {
            let decodeRows = rows.filter { row in
                if case .decode = row.shape { row.system.gpu.architecture.calibrationFamily == family } else { false }
            }
            state = try optimise([8, 10, 13, 14, 15].map { (family, $0) }, state, objective: lossFunction(decodeRows))
        }
        return (KernelFactors(values: state[.hopper]!), KernelFactors(values: state[.blackwell]!))
    }

    /// Stage 1 of the fit for one family: its GEMM and copy factors on its GEMM and copy rows.
    static func fitGEMMStage(_ rows: [KernelMeasurement], family: Architecture, _ state: State) throws -> State {
        let familyRows = rows.filter { !$0.shape.isAttention && $0.system.gpu.architecture.calibrationFamily == family }
        let hasFP4 = familyRows.contains { if case .gemm(_, _, _, .fp4, _) = $0.shape { true } else { false } }
        let free = [0, 1, 2, 3, 4, 5, 11].filter { $0 != 2 || hasFP4 }
        return try optimise(free.map { (family, $0) }, state, objective: { state in
            loss(familyRows) { KernelFactors(values: state[$0.calibrationFamily]!) }
        })
    }

    /// The factors of `family` refitted to `rows` by stage 1 alone (the GEMM and copy factors),
    /// from the calibrated ones: what leaving a GEMM or copy row out of the fit changes.
    public static func refitGEMMFactors(_ rows: [KernelMeasurement], family: Architecture) throws -> KernelFactors {
        let state: State = [.hopper: KernelFactors.hopperCalibrated.values, .blackwell: KernelFactors.blackwellCalibrated.values]
        return KernelFactors(values: try fitGEMMStage(rows, family: family, state)[family]!)
    }

    /// Nelder–Mead over the listed (family, factor index) parameters; `shared` is copied from
    /// Hopper to Blackwell. Restarts from the best point while that still improves the loss.
    static func optimise(_ parameters: [(Architecture, Int)], _ initial: State, shared: Int? = nil, objective: @escaping (State) -> Double) throws -> State {
        func apply(_ x: [Double]) -> State {
            var state = initial
            for (value, (family, index)) in zip(x, parameters) { state[family]![index] = toPhysical(value, kinds[index]) }
            if let shared { state[.blackwell]![shared] = state[.hopper]![shared] }
            return state
        }
        var best = parameters.map { toFree(initial[$0.0]![$0.1], kinds[$0.1]) }
        var bestValue = objective(initial)
        for _ in 0..<8 {
            let result = try minimizeNelderMead(start: best, steps: best.map { _ in 0.3 }, tolerance: 1e-5) { objective(apply($0)) }
            guard result.value < bestValue - 1e-6 else { break }
            best = result.point
            bestValue = result.value
        }
        return apply(best)
    }

    /// The Swift source of KernelFactors+Calibrated.swift, with the data and the fit's figures.
    public static func swiftSource(hopper: KernelFactors, blackwell: KernelFactors, figures: [(String, Figures)]) -> String {
        func literal(_ f: KernelFactors) -> String {
            zip(KernelFactors.names, f.values).map { name, value in
                "        \(name): \(String(format: "%.4g", value)),"
            }.joined(separator: "\n")
        }
        var text = """
        // Generated by `make calibrate` (clustersim calibrate); do not edit by hand.
        // Fitted to ../shared/reference/kernels/gemm.csv and attention.csv (ai-dynamo/aiconfigurator
        // per-op tables, TensorRT-LLM 1.3.0rc20, H100/H200/B200/GB200) and the kernel rows of
        // ../shared/reference/calibration.csv (H200GEMM, H200COPY, GEMM01, GEMM02, GEMM10, GEMM04,
        // GEMM05, HBM01, HBM03). Blackwell Ultra (GB300) has no measurements: it uses Blackwell's.
        // Fit quality with these factors:

        """
        for (name, f) in figures { text += "//   \(name): \(f)\n" }
        text += "extension KernelFactors {\n"
        text += "    public static let hopperCalibrated = KernelFactors(\n\(literal(hopper))\n    )\n"
        text += "    public static let blackwellCalibrated = KernelFactors(\n\(literal(blackwell))\n    )\n"
        text += "}\n"
        return text
    }
}
