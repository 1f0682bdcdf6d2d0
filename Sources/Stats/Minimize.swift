// Derivative-free minimisation with GSL's Nelder–Mead simplex (gsl_multimin_fminimizer_nmsimplex2),
// used to fit calibration factors.
import CGSL

/// Minimises `f` from `start`, with initial simplex steps `steps`, until the simplex size falls
/// below `tolerance` or `maxIterations` pass. Returns the best point and its value.
public func minimizeNelderMead(
    start: [Double], steps: [Double], tolerance: Double = 1e-6, maxIterations: Int = 20_000,
    _ f: @escaping ([Double]) -> Double
) throws -> (point: [Double], value: Double) {
    GSL.configure()
    let n = start.count
    precondition(n > 0 && steps.count == n)
    final class Box {
        let f: ([Double]) -> Double
        init(_ f: @escaping ([Double]) -> Double) { self.f = f }
    }
    let box = Unmanaged.passRetained(Box(f))
    defer { box.release() }
    var function = gsl_multimin_function(
        f: { vector, params in
            let v = vector!
            let point = (0..<v.pointee.size).map { gsl_vector_get(v, $0) }
            let value = Unmanaged<Box>.fromOpaque(params!).takeUnretainedValue().f(point)
            return value.isFinite ? value : .greatestFiniteMagnitude
        },
        n: n,
        params: box.toOpaque()
    )
    guard let x = gsl_vector_alloc(n), let step = gsl_vector_alloc(n),
          let minimizer = gsl_multimin_fminimizer_alloc(cgsl_multimin_nmsimplex2(), n)
    else { throw GSLError(status: Int32(GSL_ENOMEM), function: "gsl_multimin_fminimizer_alloc") }
    defer {
        gsl_vector_free(x)
        gsl_vector_free(step)
        gsl_multimin_fminimizer_free(minimizer)
    }
    for i in 0..<n {
        gsl_vector_set(x, i, start[i])
        gsl_vector_set(step, i, steps[i])
    }
    try GSL.check(gsl_multimin_fminimizer_set(minimizer, &function, x, step), "gsl_multimin_fminimizer_set")
    for _ in 0..<maxIterations {
        let status = gsl_multimin_fminimizer_iterate(minimizer)
        if status == Int32(GSL_ENOPROG) { break }
        try GSL.check(status, "gsl_multimin_fminimizer_iterate")
        if gsl_multimin_test_size(gsl_multimin_fminimizer_size(minimizer), tolerance) == Int32(GSL_SUCCESS) { break }
    }
    let best = gsl_multimin_fminimizer_x(minimizer)!
    return ((0..<n).map { gsl_vector_get(best, $0) }, gsl_multimin_fminimizer_minimum(minimizer))
}
