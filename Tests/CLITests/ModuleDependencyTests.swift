import Foundation
import Testing
import TestSupport

/// The layering of docs/architecture.md: each module imports only modules listed before it. A transitive import
/// (C importing A through B) compiles on a warm build, so it is checked here from the sources.
@Suite struct ModuleDependencyTests {
    /// The order of docs/architecture.md's module table.
    static let order = ["CGSL", "Stats", "Engine", "Hardware", "Network", "Cluster", "Models", "Scenario", "Report", "Workloads", "Experiments", "clustersim"]
    /// Modules that are not ours and may be imported anywhere they are declared in Package.swift.
    static let external: Set<String> = ["Foundation", "Dispatch", "Synchronization", "Yams", "ArgumentParser", "HeapModule", "Glibc"]

    @Test func importsPointDownTheTable() throws {
        let sources = TestSupport.packageRoot.appendingPathComponent("Sources")
        var problems: [String] = []
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path).sorted() {
            guard let rank = Self.order.firstIndex(of: module) else {
                problems.append("Sources/\(module) is not in docs/architecture.md's module table")
                continue
            }
            let folder = sources.appendingPathComponent(module)
            for file in TestSupport.files(in: folder) where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let imported = String(line.split(separator: " ").last!)
                    if Self.external.contains(imported) { continue }
                    guard let importedRank = Self.order.firstIndex(of: imported), importedRank < rank else {
                        problems.append("\(module)/\(file) imports \(imported)")
                        continue
                    }
                }
            }
        }
        #expect(problems.isEmpty, "\(problems)")
    }
}
