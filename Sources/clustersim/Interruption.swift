// SIGINT and SIGTERM during a run: the hidden folder being written is removed, stderr says
// where the run stopped and that the results folder is as it was, and the process exits
// 128 + the signal's number, as a shell expects. (SIGKILL cannot be caught: the results
// folder's two renames keep it whole then; ResultFiles.writeFolder.)
import Dispatch
import Foundation
import Report
import Synchronization

enum Interruption {
    /// What the run is doing ("simulating, 3 of 40 runs done"), for the message.
    private static let state = Mutex((stage: "reading the scenario", directory: ""))
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func stage(_ text: String?) {
        state.withLock { $0.stage = text ?? "printing the results" }
    }

    /// Catches SIGINT and SIGTERM from now on (once per process).
    static func install(directory: String) {
        state.withLock { $0.directory = directory; $0.stage = "starting the simulation" }
        guard sources.isEmpty else { return }
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if let pending = ResultFiles.pendingFolder.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: pending) }
                let (stage, directory) = state.withLock { ($0.stage, $0.directory) }
                FileHandle.standardError.write(Data("\ninterrupted (\(name)) while \(stage); \(directory) was left as it was\n".utf8))
                _exit(128 + number)
            }
            source.resume()
            sources.append(source)
        }
    }
}
