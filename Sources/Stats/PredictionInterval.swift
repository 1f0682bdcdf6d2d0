// A 90% prediction interval for a simulated metric: where a measurement of the same
// configuration is expected to fall, not only where the simulated mean lies. Three sources of
// uncertainty, each a term on the log scale (errors of a time or a rate are multiplicative):
//
//   noise       the run-to-run spread of the replications (sample SD s of log values, n runs):
//               a new run varies by s, and the simulated mean is uncertain by s/√n, so the
//               term's 90% half-width is z(0.95)·s·√(1 + 1/n);
//   parameters  the spread of the prediction when the calibrated factors are refitted to
//               bootstrap resamples of their data (SD p): half-width z(0.95)·p;
//   model       the model's own error on measurements: RMS r of log(predicted / measured)
//               over k calibration rows, which estimates the error SD with k degrees of
//               freedom, so the half-width is t(0.95, k)·r (the Student-t prediction interval
//               for a normal error of unknown variance, e.g. Hahn & Meeker, "Statistical
//               Intervals", 1991, §4.6); plus, for a system no measurement calibrates, a prior
//               SD q (half-width z(0.95)·q).
//
// The half-widths add in quadrature (independent terms: a Welch–Satterthwaite-free
// approximation that is exact when every term is normal with known variance), and the interval
// is value·exp(±h). The dominant source is the term with the largest half-width.
import CGSL
import Foundation

public enum UncertaintySource: String, Sendable, CaseIterable {
    case noise, parameters, model
}

public struct PredictionTerms: Sendable, Equatable {
    /// Sample SD of the log values (or log ratios) over the replications, and their count.
    public var noiseSD: Double
    public var replications: Int
    /// SD of the log prediction over the bootstrap ensemble of calibrated factors.
    public var parameterSD: Double
    /// RMS log error on the calibration rows of the area, and how many rows (its degrees of freedom).
    public var modelRMS: Double
    public var modelRows: Int
    /// Extra SD for a system the calibration has no measurement of (0 when it has).
    public var priorSD: Double

    public init(noiseSD: Double, replications: Int, parameterSD: Double, modelRMS: Double, modelRows: Int, priorSD: Double = 0) {
        self.noiseSD = noiseSD
        self.replications = replications
        self.parameterSD = parameterSD
        self.modelRMS = modelRMS
        self.modelRows = modelRows
        self.priorSD = priorSD
    }

    /// z(0.95) of the standard normal (gsl_cdf_ugaussian_Pinv): a two-sided 90% interval.
    public static let z95: Double = {
        GSL.configure()
        return gsl_cdf_ugaussian_Pinv(0.95)
    }()

    /// One replication says nothing of the noise: its term is 0 and the interval holds the
    /// model and parameter terms only.
    public var noiseHalfWidth: Double {
        replications < 2 ? 0 : Self.z95 * noiseSD * (1 + 1 / Double(replications)).squareRoot()
    }

    public var parameterHalfWidth: Double { Self.z95 * parameterSD }

    public var modelHalfWidth: Double {
        let fitted = modelRows > 0 ? studentTQuantile(0.95, degreesOfFreedom: Double(modelRows)) * modelRMS : 0
        let prior = Self.z95 * priorSD
        return (fitted * fitted + prior * prior).squareRoot()
    }

    /// Half-width of the 90% interval on the log scale.
    public var halfWidth: Double {
        let (a, b, c) = (noiseHalfWidth, parameterHalfWidth, modelHalfWidth)
        return (a * a + b * b + c * c).squareRoot()
    }

    public var dominant: UncertaintySource {
        let terms: [(UncertaintySource, Double)] = [(.noise, noiseHalfWidth), (.parameters, parameterHalfWidth), (.model, modelHalfWidth)]
        return terms.max { $0.1 < $1.1 }!.0
    }

    /// The 90% prediction interval of a positive `value` (a zero stays a point at zero).
    public func interval(around value: Double) -> ClosedRange<Double> {
        let h = halfWidth
        let a = value * exp(-h), b = value * exp(h)
        return Swift.min(a, b)...Swift.max(a, b)
    }
}
