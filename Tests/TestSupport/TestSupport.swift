// Helpers shared by the test targets: scenario texts, temporary folders, the built binary.
import Foundation

public enum TestSupport {
    /// A small valid transfers scenario; `extra` is appended at top level.
    public static func transfersScenario(name: String = "tiny", replications: Int = 3, noise: Double = 0.05, extra: String = "") -> String {
        """
        name: \(name)
        seed: 7
        replications: \(replications)
        noise: { network_cv: \(noise) }
        workload:
          kind: transfers
          links:
            - { name: up, bandwidth: 100 GB/s, latency: 1 us }
            - { name: down, bandwidth: 50 GB/s }
          transfers:
            - { name: a, bytes: 1 GB, path: [up, down] }
            - { name: b, bytes: 2 GB, path: [down], start: 1 ms }
        \(extra)
        """
    }

    /// A fresh empty folder under the system's temporary folder.
    public static func temporaryDirectory(_ label: String = "clustersim-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `text` to `name` in `directory` and returns its path.
    @discardableResult
    public static func write(_ text: String, to name: String, in directory: URL) -> String {
        let url = directory.appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url.path
    }

    /// The package root (two levels above this file's folder).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The `clustersim` binary next to the test bundle (swift build puts all products together).
    public static var clustersimBinary: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("clustersim")
    }

    public struct ProcessResult {
        public var status: Int32
        public var stdout: String
        public var stderr: String

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    /// Runs the clustersim binary with `arguments` in `directory`.
    public static func runClusterSim(_ arguments: [String], in directory: URL) throws -> ProcessResult {
        let process = Process()
        process.executableURL = clustersimBinary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Every file below `directory`, as sorted relative paths.
    public static func files(in directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        return (enumerator.allObjects as? [String] ?? []).sorted()
    }
}
