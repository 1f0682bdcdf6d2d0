// One-time GSL set-up and the Swift error for a GSL status code.
import CGSL

/// An error GSL reported through its status code (GSL's abort-on-error handler is off).
public struct GSLError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let function: String

    public var description: String {
        let reason = gsl_strerror(status).map { String(cString: $0) } ?? "unknown error"
        return "GSL \(function) failed: \(reason) (status \(status))"
    }
}

enum GSL {
    /// Turns off GSL's default handler, which calls abort(); every call site checks the status
    /// instead. A `static let` runs its initialiser exactly once, thread-safely.
    static func configure() { _ = handlerDisabled }

    private static let handlerDisabled: Bool = {
        cgsl_disable_abort_on_error()
        return true
    }()

    /// Throws `GSLError` unless `status` is GSL_SUCCESS.
    static func check(_ status: Int32, _ function: String) throws {
        if status != GSL_SUCCESS { throw GSLError(status: status, function: function) }
    }
}
