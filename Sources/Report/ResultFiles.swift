// The result files of DESIGN.md ("Result files"): summary.csv, replications.csv and
// manifest.json (and a command's extra files), written as one folder: into a hidden sibling
// folder first, which is renamed into place when every file is written. A reader never sees a
// half-written file or one run's files beside another's, and a failed or killed run leaves the
// previous folder whole (or none).
import Foundation
import Stats
import Synchronization

public enum ResultFiles {
    public static let summaryHeader = ["scenario", "variant", "metric", "unit", "n", "mean", "stddev", "ci95_low", "ci95_high", "min", "p50", "p99", "max", "pi90_low", "pi90_high"]
    public static let replicationsHeader = ["scenario", "variant", "replication", "seed", "metric", "unit", "value"]

    /// One metric of one variant summarised over its replications.
    public struct SummaryRow: Sendable {
        public var variant: String
        public var metric: String
        public var unit: String
        public var summary: Summary
        /// The 90% prediction interval of the metric (noise, parameters and model error;
        /// PredictionInterval.swift), nil where none is given (a count, an input, a zero).
        public var pi90: ClosedRange<Double>? = nil
        /// Which of the three sources dominates it.
        public var dominant: UncertaintySource? = nil
    }

    /// Summaries per variant and metric, in variant order and then in the order each metric first
    /// appears in the variant's replications (never in hash order, so output is reproducible).
    public static func summaries(_ results: ExperimentResults) -> [SummaryRow] {
        var rows: [SummaryRow] = []
        for variant in results.variants {
            var order: [(name: String, unit: String)] = []
            var values: [String: [Double]] = [:]
            for run in results.replications where run.variant == variant {
                for metric in run.metrics {
                    if values[metric.name] == nil { order.append((metric.name, metric.unit)) }
                    values[metric.name, default: []].append(metric.value)
                }
            }
            for (name, unit) in order {
                rows.append(SummaryRow(variant: variant, metric: name, unit: unit, summary: Summary(values[name]!)))
            }
        }
        return rows
    }

    public static func summaryCSV(_ results: ExperimentResults, rows: [SummaryRow]) -> String {
        var text = CSV.row(summaryHeader)
        for row in rows {
            let s = row.summary
            text += CSV.row([
                CSV.field(results.scenario), CSV.field(row.variant), CSV.field(row.metric), CSV.field(row.unit), String(s.n),
                CSV.number(s.mean), CSV.number(s.standardDeviation), CSV.number(s.ci95?.lowerBound), CSV.number(s.ci95?.upperBound),
                CSV.number(s.min), CSV.number(s.p50), CSV.number(s.p99), CSV.number(s.max),
                CSV.number(row.pi90?.lowerBound), CSV.number(row.pi90?.upperBound),
            ])
        }
        return text
    }

    public static func replicationsCSV(_ results: ExperimentResults) -> String {
        var text = CSV.row(replicationsHeader)
        for run in results.replications {
            for metric in run.metrics {
                text += CSV.row([
                    CSV.field(results.scenario), CSV.field(run.variant), String(run.replication), String(results.seed),
                    CSV.field(metric.name), CSV.field(metric.unit), CSV.number(metric.value),
                ])
            }
        }
        return text
    }

    /// What produced the results: enough to reproduce them.
    public struct Manifest: Sendable {
        public var scenario: String
        public var scenarioFile: String
        public var scenarioContents: [UInt8]
        public var seed: UInt64
        public var replications: Int
        public var variants: [String]
        public var overrides: [String]
        public var version: String
        public var commandLine: [String]
        public var startTime: Date
        public var threads: Int
        /// Where the binary came from: git_commit (when built in a checkout), calibration (the
        /// identity of the fitted factors compiled in), calibration_data (what they were fitted to).
        public var provenance: [String: String] = [:]

        public init(
            scenario: String, scenarioFile: String, scenarioContents: [UInt8], seed: UInt64, replications: Int,
            variants: [String], overrides: [String], version: String, commandLine: [String], startTime: Date, threads: Int
        ) {
            self.scenario = scenario
            self.scenarioFile = scenarioFile
            self.scenarioContents = scenarioContents
            self.seed = seed
            self.replications = replications
            self.variants = variants
            self.overrides = overrides
            self.version = version
            self.commandLine = commandLine
            self.startTime = startTime
            self.threads = threads
        }
    }

    public static func manifestJSON(_ m: Manifest) -> String {
        let formatter = ISO8601DateFormatter()
        let object: [String: Any] = [
            "scenario": m.scenario,
            "scenario_file": m.scenarioFile,
            "scenario_sha256": SHA256.hex(m.scenarioContents),
            "seed": NSNumber(value: m.seed),
            "replications": m.replications,
            "variants": m.variants,
            "overrides": m.overrides,
            "clustersim_version": m.version,
            "command_line": m.commandLine,
            "start_time": formatter.string(from: m.startTime),
            "threads": m.threads,
        ].merging(m.provenance) { a, _ in a }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes the three files and `extraFiles` as the folder `directory` (writeFolder).
    /// `rows`: the summaries to write (default: `summaries(results)`, without prediction intervals).
    public static func write(_ results: ExperimentResults, rows: [SummaryRow]? = nil, manifest: Manifest, extraFiles: [(name: String, contents: String)] = [],
                             to directory: String) throws {
        let rows = rows ?? summaries(results)
        let files = [
            ("summary.csv", summaryCSV(results, rows: rows)),
            ("replications.csv", replicationsCSV(results)),
            ("manifest.json", manifestJSON(manifest)),
        ] + recordFiles(results) + extraFiles
        try refuseNonFinite(rows: rows, results: results)
        try writeFolder(files, to: directory)
    }

    /// The runs' record tables (requests.csv, timeline.csv), one file per table name in the
    /// order they first appear: scenario, variant and replication, then the table's columns.
    public static func recordFiles(_ results: ExperimentResults) -> [(name: String, contents: String)] {
        var names: [String] = []
        var texts: [String: String] = [:]
        for run in results.replications {
            for table in run.tables {
                if texts[table.file] == nil {
                    names.append(table.file)
                    texts[table.file] = CSV.row(["scenario", "variant", "replication"] + table.labels.map(\.name) + table.columns.map(\.name))
                }
                let prefix = [CSV.field(results.scenario), CSV.field(run.variant), String(run.replication)]
                var text = ""
                let width = table.columns.count
                for row in 0..<table.rowCount {
                    var fields = prefix + table.labels.map { CSV.field($0.values[row]) }
                    for (c, column) in table.columns.enumerated() {
                        let value = table.values[row * width + c]
                        fields.append(column.integer && value.isFinite && abs(value) < 9e15 ? String(Int(value)) : CSV.number(value))
                    }
                    text += CSV.row(fields)
                }
                texts[table.file]! += text
            }
        }
        return names.map { ($0, texts[$0]!) }
    }

    /// A value that is not a finite number, found before any file is written: a failure of the
    /// model (every input is finite and bounded), never written as `inf` or `nan`.
    public struct NonFiniteValue: Error, CustomStringConvertible {
        public var variant: String
        public var metric: String
        public var description: String { "metric \(metric) of variant \(variant) is not a finite number; no results were written" }
    }

    static func refuseNonFinite(rows: [SummaryRow], results: ExperimentResults) throws(NonFiniteValue) {
        for run in results.replications {
            for metric in run.metrics where !metric.value.isFinite { throw NonFiniteValue(variant: run.variant, metric: metric.name) }
            // NaN in a record table is a missing value; an infinity is a failure.
            for table in run.tables {
                if let i = table.values.firstIndex(where: \.isInfinite) {
                    throw NonFiniteValue(variant: run.variant, metric: "\(table.file) column \(table.columns[i % table.columns.count].name)")
                }
            }
        }
        for row in rows {
            let s = row.summary
            let values = [s.mean, s.standardDeviation, s.min, s.p50, s.p99, s.max, s.ci95?.lowerBound, s.ci95?.upperBound,
                          row.pi90?.lowerBound, row.pi90?.upperBound]
            // NaN marks "not defined" (a standard deviation of one value) and is written empty.
            if values.contains(where: { $0.map { $0.isInfinite } ?? false }) { throw NonFiniteValue(variant: row.variant, metric: row.metric) }
        }
    }

    /// The hidden folder a write is filling now (nil when none): an interrupted run removes it.
    public static let pendingFolder = Mutex<String?>(nil)

    /// Whether `directory` may be replaced by a results folder: absent, empty, or a folder
    /// ClusterSim wrote (it holds manifest.json and no folders). Anything else (a sweep's
    /// folder of points, a folder of the user's files) is never replaced.
    public static func replaceable(_ directory: String) -> Bool {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isFolder) else { return true }
        guard isFolder.boolValue, let entries = try? fm.contentsOfDirectory(atPath: directory) else { return false }
        if entries.isEmpty { return true }
        guard entries.contains("manifest.json") else { return false }
        return !entries.contains { entry in
            var sub: ObjCBool = false
            return fm.fileExists(atPath: (directory as NSString).appendingPathComponent(entry), isDirectory: &sub) && sub.boolValue
        }
    }

    /// Writes `files` as the folder `directory`: into the hidden sibling `.NAME.tmp-PID`, which
    /// replaces `directory` by two renames (the old folder moved aside to `.NAME.old-PID`, the
    /// new one into place, the old removed). A kill at any moment leaves at `directory` the old
    /// folder whole, the new one whole, or (between the renames) none; hidden leftovers of a
    /// killed run are removed by the next write. `directory` must be `replaceable`.
    public static func writeFolder(_ files: [(name: String, contents: String)], to directory: String) throws {
        let fm = FileManager.default
        var path = directory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let parent = parentFolder(of: path).isEmpty ? "." : parentFolder(of: path)
        let base = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        guard replaceable(path) else {
            throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path) exists and is not a results folder"])
        }
        try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        removeLeftovers(of: base, in: parent)
        let pid = ProcessInfo.processInfo.processIdentifier
        let temporary = (parent as NSString).appendingPathComponent(".\(base).tmp-\(pid)")
        let old = (parent as NSString).appendingPathComponent(".\(base).old-\(pid)")
        try? fm.removeItem(atPath: temporary)
        pendingFolder.withLock { $0 = temporary }
        defer { pendingFolder.withLock { $0 = nil } }
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            for file in files {
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: (temporary as NSString).appendingPathComponent(file.name)))
            }
            let existed = fm.fileExists(atPath: path)
            if existed, rename(path, old) != 0 { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
            guard rename(temporary, path) == 0 else {
                if existed { _ = rename(old, path) }
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            if existed { try? fm.removeItem(atPath: old) }
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
    }

    /// The folder above `path` ("" for a bare name, "/" for a name under the root); plain string
    /// work, without Foundation's path methods.
    public static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Removes `.NAME.tmp-PID` and `.NAME.old-PID` siblings left by runs that are no longer alive.
    static func removeLeftovers(of base: String, in parent: String) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: parent) else { return }
        for entry in entries {
            for marker in [".\(base).tmp-", ".\(base).old-"] where entry.hasPrefix(marker) {
                guard let pid = Int32(entry.dropFirst(marker.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
                try? fm.removeItem(atPath: (parent as NSString).appendingPathComponent(entry))
            }
        }
    }

    /// Writes every file to a temporary name first and renames them only when all are written,
    /// so that an error leaves none of them behind (a sweep's merged summary beside its points).
    public static func writeAtomically(_ files: [(name: String, contents: String)], to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let suffix = ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        var written: [String] = []
        do {
            for file in files {
                let temporary = (directory as NSString).appendingPathComponent("." + file.name + suffix)
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: temporary))
                written.append(temporary)
            }
            for (file, temporary) in zip(files, written) {
                let final = (directory as NSString).appendingPathComponent(file.name)
                guard rename(temporary, final) == 0 else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: final])
                }
            }
        } catch {
            for temporary in written { try? fm.removeItem(atPath: temporary) }
            throw error
        }
    }
}
