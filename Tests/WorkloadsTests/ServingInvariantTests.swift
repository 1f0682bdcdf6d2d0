import Testing
@testable import Engine
@testable import Workloads

/// Token conservation under --check, broken on purpose.
@Suite struct ServingInvariantTests {
    @Test func requestCompletedShortOfItsTokensIsReported() {
        let violations = Invariants.checking {
            var request = ServingWorkload.Request(arrival: 1, input: 100, output: 8)
            request.generated = 5
            request.firstToken = 2
            request.done = 1.5
            ServingWorkload.checkTokens(request)
        }
        #expect(violations.contains("serving: a request asked for 8 tokens and was completed with 5"), "\(violations)")
        #expect(violations.contains("serving: a request arrived at 1.0 s, had its first token at 2.0 s and finished at 1.5 s"), "\(violations)")
    }
}
