// What a result was made with, beyond the version: the calibration the binary carries (the
// generated factor files of `make calibrate`, identified by a SHA-256 of their values) and the
// git commit of the checkout the binary was built in, when it lies in one.
import Cluster
import Foundation
import Hardware
import Report

public enum Provenance {
    /// The first 16 hex digits of the SHA-256 of every calibrated value compiled in: kernel
    /// factors, collective timings and NIC efficiencies, their ensembles, the model-error
    /// table. Two binaries with the same identity predict with the same fit.
    public static let calibrationIdentity: String = {
        let values: [Any] = [
            KernelFactors.hopperCalibrated, KernelFactors.blackwellCalibrated, KernelFactors.hopperEnsemble, KernelFactors.blackwellEnsemble,
            CollectiveTiming.hopperCalibrated, CollectiveTiming.blackwellCalibrated, CollectiveTiming.roceNICEfficiency, CollectiveTiming.efaNICEfficiency,
            CollectiveTiming.hopperEnsemble, CollectiveTiming.blackwellEnsemble, CollectiveTiming.roceEnsemble, CollectiveTiming.efaEnsemble,
            ModelErrorTable.calibrated.uncalibratedSD,
        ]
        // The error table's areas in a fixed order (a dictionary prints in hash order, which
        // changes from process to process).
        let areas = ModelErrorTable.calibrated.areas.map { "\($0.key) \(String(reflecting: $0.value))" }.sorted()
        let text = (values.map { String(reflecting: $0) } + areas).joined(separator: "\n")
        return String(SHA256.hex(Array(text.utf8)).prefix(16))
    }()

    /// What the calibration was fitted to (the generated files' headers name the rows).
    public static let calibrationData = "../shared/reference/calibration.csv and kernels/ (gemm.csv, attention.csv, comm.csv)"

    /// The commit checked out in the git work tree that holds `executable` (its .build folder
    /// lies in one when built from a checkout), read from .git without running git; nil
    /// elsewhere (an installed binary).
    public static func gitCommit(executable: String) -> String? {
        var folder = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            let git = folder.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) {
                guard head.hasPrefix("ref: ") else { return head.count == 40 ? head : nil }
                let ref = String(head.dropFirst(5))
                if let hash = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                    return hash.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                // A packed ref: "<hash> <ref>" lines of .git/packed-refs.
                let packed = (try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8)) ?? ""
                return packed.split(separator: "\n").first { $0.hasSuffix(" " + ref) }.map { String($0.prefix(40)) }
            }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        return nil
    }

    /// This process's binary: /proc/self/exe on Linux, else the path it was started by.
    public static var executable: String {
        FileManager.default.fileExists(atPath: "/proc/self/exe") ? "/proc/self/exe" : CommandLine.arguments[0]
    }

    /// The manifest's provenance fields (git_commit only when known).
    public static var manifestFields: [String: String] {
        var fields = ["calibration": calibrationIdentity, "calibration_data": calibrationData]
        if let commit = gitCommit(executable: executable) { fields["git_commit"] = commit }
        return fields
    }

    /// `clustersim --version`: the version, the commit (12 digits) when known, the calibration.
    public static func versionLine(executable: String) -> String {
        let commit = gitCommit(executable: executable).map { ", commit \($0.prefix(12))" } ?? ""
        return "\(clusterSimVersion)\(commit), calibration \(calibrationIdentity)"
    }
}
