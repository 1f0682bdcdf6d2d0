// The result files of DESIGN.md ("Result files"): summary.csv, replications.csv and
// manifest.json, each written to a temporary file and renamed into place, so a reader never
// sees a half-written file and a failed run leaves no partial one.
import Foundation
import Stats

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
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes the three files into `directory` (created if needed), each atomically.
    /// `rows`: the summaries to write (default: `summaries(results)`, without prediction intervals).
    public static func write(_ results: ExperimentResults, rows: [SummaryRow]? = nil, manifest: Manifest, extraFiles: [(name: String, contents: String)] = [],
                             to directory: String) throws {
        let rows = rows ?? summaries(results)
        try writeAtomically([
            ("summary.csv", summaryCSV(results, rows: rows)),
            ("replications.csv", replicationsCSV(results)),
            ("manifest.json", manifestJSON(manifest)),
        ] + extraFiles, to: directory)
    }

    /// Writes every file to a temporary name first and renames them only when all are written,
    /// so that an error leaves none of them behind.
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
