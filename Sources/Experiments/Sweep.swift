// Sweeps: the grid of `--set` values a user asks for (grid parameters and zipped groups), as one
// point per combination, each a `clustersim run` (or `compare`) of its own, so make, GNU
// parallel or a Slurm array can run them, and the merge of their results into one CSV with a
// column per swept parameter and each point's status.
//
// A point that is bad input (it does not fit in memory, or a value the kind refuses) is a row
// with its status and reason: its run gets --record-status, which writes status.csv in place of
// the results and exits 0, so a make target never fails for it. A point whose variants do not
// all fit runs those that do: their rows are ok, each other variant a row of its own with its
// reason (the H100 layout that overflows does not take the GB200 result with it). The
// makefile's targets depend on a stamp named by the SHA-256 of the scenario file, the binary
// and the points' options, so changing any reruns every point, and touching a file without
// changing it reruns none.
import Foundation
import Report
import Scenario

public struct SweepParameter: Sendable {
    public var key: String
    /// Each value as YAML text (what --set takes).
    public var values: [String]
    /// Zipped with the parameters of the same group (nil: a grid parameter).
    public var group: Int? = nil
}

public struct SweepPoint: Sendable, Equatable {
    /// (key, value) in parameter order.
    public var settings: [(key: String, value: String)]
    /// A folder name made of the settings ("workload.batch=8,cluster.system=b200" → "batch-8_system-b200").
    public var name: String

    public static func == (a: SweepPoint, b: SweepPoint) -> Bool {
        a.name == b.name && a.settings.map(\.key) == b.settings.map(\.key) && a.settings.map(\.value) == b.settings.map(\.value)
    }
}

public enum Sweep {
    /// Parses "workload.batch=1,8,64 cluster.system=h100-sxm,gb200-nvl72". Items are separated
    /// by spaces; a value list is comma-separated, or a YAML flow list when it starts with "["
    /// (its values may hold spaces, commas and flow maps: `workload.parallelism=[{tp: 8}, {tp: 4, pp: 2}]`,
    /// `'workload.links[0].bandwidth=[400 GB/s, 900 GB/s]'`). `group` marks zipped parameters.
    public static func parameters(_ text: String, group: Int? = nil) throws(ExperimentError) -> [SweepParameter] {
        var result: [SweepParameter] = []
        for item in try items(text) {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ExperimentError(message: "sweep parameter \"\(item)\": expected key.path=value1,value2,... or key.path=[value1, value2]")
            }
            let key = String(item[..<eq])
            let list = String(item[item.index(after: eq)...])
            let values: [String]
            if list.hasPrefix("[") {
                guard case .sequence(let nodes, _)? = try? ScenarioLoader.tree(text: "v: " + list, file: "--params")["v"] else {
                    throw ExperimentError(message: "sweep parameter \"\(key)\": \(list) is not a YAML flow list; write it like [1, 8, 64] or [{tp: 8}, {tp: 4}]")
                }
                values = nodes.map(\.flowText)
            } else {
                values = list.split(separator: ",").map(String.init)
            }
            guard !values.isEmpty else { throw ExperimentError(message: "sweep parameter \"\(key)\": no values") }
            guard !result.contains(where: { $0.key == key }) else { throw ExperimentError(message: "sweep parameter \"\(key)\" is given twice") }
            result.append(SweepParameter(key: key, values: values, group: group))
        }
        guard !result.isEmpty else { throw ExperimentError(message: "no sweep parameters; write them like workload.batch=1,8,64") }
        if group != nil, Set(result.map(\.values.count)).count > 1 {
            throw ExperimentError(message: "zipped parameters must have as many values each; got " + result.map { "\($0.key) \($0.values.count)" }.joined(separator: ", "))
        }
        return result
    }

    /// The grid and every zipped group together, checking that no key is swept twice.
    public static func parameters(grid: String?, zipped: [String]) throws(ExperimentError) -> [SweepParameter] {
        var all = try grid.map { text throws(ExperimentError) in try parameters(text) } ?? []
        for (i, text) in zipped.enumerated() {
            for p in try parameters(text, group: i) {
                guard !all.contains(where: { $0.key == p.key }) else { throw ExperimentError(message: "sweep parameter \"\(p.key)\" is given twice") }
                all.append(p)
            }
        }
        guard !all.isEmpty else { throw ExperimentError(message: "no sweep parameters; give --params or --zip") }
        return all
    }

    /// Splits on spaces outside quotes and outside the brackets and braces of a value.
    static func items(_ text: String) throws(ExperimentError) -> [String] {
        var items: [String] = [], current = "", depth = 0, quote: Character? = nil, inValue = false
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
                continue
            }
            if (c == "'" || c == "\"") && inValue && depth == 0 {
                quote = c
            } else if (c == " " || c == "\n" || c == "\t") && depth == 0 {
                if !current.isEmpty { items.append(current) }
                current = ""
                inValue = false
            } else {
                if c == "=" { inValue = true }
                if inValue && (c == "[" || c == "{") { depth += 1 }
                if inValue && (c == "]" || c == "}") { depth -= 1 }
                current.append(c)
            }
        }
        guard quote == nil, depth == 0 else { throw ExperimentError(message: "sweep parameters \"\(text)\": an unclosed quote, bracket or brace") }
        if !current.isEmpty { items.append(current) }
        return items
    }

    /// Every combination: grid parameters and zipped groups in order, the last varying fastest.
    public static func points(_ parameters: [SweepParameter]) -> [SweepPoint] {
        var combos: [[(key: String, value: String)]] = [[]]
        var done = Set<Int>()
        for p in parameters {
            if let g = p.group {
                guard done.insert(g).inserted else { continue }
                let members = parameters.filter { $0.group == g }
                combos = combos.flatMap { prefix in (0..<p.values.count).map { i in prefix + members.map { ($0.key, $0.values[i]) } } }
            } else {
                combos = combos.flatMap { prefix in p.values.map { prefix + [(p.key, $0)] } }
            }
        }
        return combos.map { settings in
            let name = settings.map { "\(($0.key.split(separator: ".").last.map(String.init) ?? $0.key))-\(safe($0.value))" }.joined(separator: "_")
            return SweepPoint(settings: settings, name: name)
        }
    }

    static func safe(_ value: String) -> String {
        var text = String(value.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "-" })
        while text.contains("--") { text = text.replacingOccurrences(of: "--", with: "-") }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "-")).isEmpty ? "x" : text.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
    }

    /// Checks the scenario against the parameters: a variant that sets a swept key would undo
    /// the sweep in that variant (an error naming both), and the point names must differ.
    public static func check(scenario: String, parameters: [SweepParameter]) throws {
        let points = points(parameters)
        var names: [String: SweepPoint] = [:]
        for p in points {
            if let other = names[p.name] {
                throw ExperimentError(message: "sweep points \(describe(other)) and \(describe(p)) get the same folder name \"\(p.name)\"; use values that differ in letters or digits")
            }
            names[p.name] = p
        }
        let text = try String(contentsOfFile: scenario, encoding: .utf8)
        let tree = try ScenarioLoader.tree(text: text, file: scenario)
        guard case .sequence(let variants, _)? = tree["variants"] else { return }
        for (i, variant) in variants.enumerated() {
            guard case .mapping(let set, _)? = variant["set"] else { continue }
            let name: String = if case .scalar(let n, _)? = variant["name"] { n } else { "\(i)" }
            for (key, value) in set {
                for p in parameters where key == p.key || key.hasPrefix(p.key + ".") || p.key.hasPrefix(key + ".") {
                    throw ScenarioError([Diagnostic(file: scenario, origin: value.origin, path: "variants[\(i)].set.\(key)",
                                                    message: "variant \"\(name)\" sets \(key), which the sweep varies (\(p.key)=\(p.values.joined(separator: ","))); remove one of them")])
                }
            }
        }
    }

    static func describe(_ p: SweepPoint) -> String { p.settings.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    /// The shell command that runs one point: `command` (run or compare) with --record-status,
    /// so a point that is bad input writes its status instead of failing.
    public static func command(binary: String, scenario: String, point: SweepPoint, directory: String, command: String = "run", extra: [String] = []) -> String {
        ([binary, command, quote(scenario), "--quiet", "--record-status", "--out", quote("\(directory)/\(point.name)")]
            + point.settings.map { "--set " + quote("\($0.key)=\($0.value)") } + extra).joined(separator: " ")
    }

    static func quote(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "._-/=,:".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The --params and --zip options that give `parameters` again.
    static func options(_ parameters: [SweepParameter]) -> String {
        func item(_ p: SweepParameter) -> String { "\(p.key)=[\(p.values.joined(separator: ", "))]" }
        var text = ""
        let grid = parameters.filter { $0.group == nil }
        if !grid.isEmpty { text += " --params " + quote(grid.map(item).joined(separator: " ")) }
        for g in Set(parameters.compactMap(\.group)).sorted() {
            text += " --zip " + quote(parameters.filter { $0.group == g }.map(item).joined(separator: " "))
        }
        return text
    }

    /// The stamp every point depends on: named by the SHA-256 of the scenario file, the binary
    /// and `extra` (the points' options), so changing any reruns every point (make sees a new,
    /// missing stamp).
    public static func inputsStamp(scenario: String, binary: String, directory: String, extra: [String] = []) -> String {
        var bytes = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: scenario)))) ?? []
        bytes += (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: binary)))) ?? Array(binary.utf8)
        // The points' own options (--ensemble): another value reruns them too.
        if !extra.isEmpty { bytes += Array(extra.joined(separator: " ").utf8) }
        return "\(directory)/.inputs-\(SHA256.hex(bytes).prefix(16))"
    }

    /// A makefile with one target per point (its status.csv), so `make -j N` runs points in
    /// parallel and an interrupted sweep redoes only the missing ones; `all` merges. `extra`
    /// goes on every point's command line.
    public static func makefile(binary: String, scenario: String, parameters: [SweepParameter], directory: String, command: String = "run",
                                extra: [String] = []) -> String {
        let points = points(parameters)
        let stamp = inputsStamp(scenario: scenario, binary: binary, directory: directory, extra: extra)
        var text = "# Generated by clustersim sweep --makefile; one target per point.\n"
        text += "all: \(directory)/summary.csv\n\n"
        text += "\(directory)/summary.csv: \(points.map { "\(directory)/\($0.name)/status.csv" }.joined(separator: " "))\n"
        text += "\t\(binary) sweep \(quote(scenario))\(options(parameters)) --dir \(quote(directory)) --merge\n\n"
        text += "# The SHA-256 of the scenario, the binary and the points' options: a new one reruns every point.\n"
        text += "\(stamp):\n\t@rm -f \(directory)/.inputs-*\n\t@mkdir -p \(directory)\n\t@touch $@\n\n"
        for p in points {
            text += "\(directory)/\(p.name)/status.csv: \(stamp)\n\t\(Sweep.command(binary: binary, scenario: scenario, point: p, directory: directory, command: command, extra: extra))\n\n"
        }
        text += ".PHONY: all\n"
        return text
    }

    /// The columns of a point's status.csv: a row per variant, or one for the whole point
    /// with the variant empty.
    public static let statusFileHeader = ["variant", "status", "reason"]
    /// The status columns of the merged summary.
    public static let statusHeader = ["status", "reason"]

    /// status.csv's text: a row per (variant, status, reason); variant "" for the whole point.
    public static func statusFile(_ rows: [(variant: String, status: String, reason: String)]) -> String {
        CSV.row(statusFileHeader) + rows.map { CSV.row([CSV.field($0.variant), $0.status, CSV.field($0.reason.replacingOccurrences(of: "\n", with: "; "))]) }.joined()
    }

    /// A point's status.csv read back, its rows in order: per variant ("" for the whole point)
    /// its status and reason.
    static func statuses(_ text: String) -> [(variant: String, status: String, reason: String)] {
        let table = CSVTable(parsing: text)
        guard let v = table.header.firstIndex(of: "variant"), let s = table.header.firstIndex(of: "status") else { return [("", "failed", "unreadable status.csv")] }
        let r = table.header.firstIndex(of: "reason")
        return table.rows.filter { $0.count > Swift.max(v, s) }.map { row in (row[v], row[s], r.flatMap { $0 < row.count ? row[$0] : nil } ?? "") }
    }

    /// Merges the points' results into one summary.csv (and comparison.csv where the points
    /// ran compare): a column per swept parameter, then the point's status and reason, then the
    /// point's file. A point that ran has its rows with status ok, and a row with the status
    /// and reason of each variant it could not run; one that was bad input as a whole one row
    /// with its status (infeasible, invalid) and reason; one not run yet one row with status
    /// missing. Returns the files and how many points are missing.
    public static func merge(parameters: [SweepParameter], directory: String) -> (files: [(name: String, contents: String)], missing: Int) {
        let points = points(parameters)
        var missing = 0
        var summary = CSV.row(parameters.map { CSV.field($0.key) } + statusHeader + ResultFiles.summaryHeader)
        var comparison: String? = nil
        for p in points {
            let folder = "\(directory)/\(p.name)"
            let keys = p.settings.map { CSV.field($0.value) }
            let statuses = (try? String(contentsOfFile: "\(folder)/status.csv", encoding: .utf8)).map(Self.statuses)
            let empty = Array(repeating: "", count: ResultFiles.summaryHeader.count)
            let summaryText = try? String(contentsOfFile: "\(folder)/summary.csv", encoding: .utf8)
            guard let summaryText else {
                if statuses == nil { missing += 1 }
                let whole = statuses.map { $0.first { $0.variant.isEmpty } ?? $0.first ?? ("", "failed", "") }
                let (s, reason) = whole.map { ($0.status, $0.reason) } ?? ("missing", "not run yet")
                summary += CSV.row(keys + [CSV.field(s), CSV.field(reason)] + empty)
                continue
            }
            let rows = CSVTable(parsing: summaryText).rows
            for row in rows { summary += CSV.row(keys + ["ok", ""] + row.map(CSV.field)) }
            // The variants the point could not run, each with its reason (in the file's order).
            let variant = ResultFiles.summaryHeader.firstIndex(of: "variant")!, scenario = ResultFiles.summaryHeader.firstIndex(of: "scenario")!
            for s in statuses ?? [] where !s.variant.isEmpty && s.status != "ok" {
                var fields = empty
                fields[variant] = CSV.field(s.variant)
                fields[scenario] = rows.first.map { CSV.field($0[scenario]) } ?? ""
                summary += CSV.row(keys + [CSV.field(s.status), CSV.field(s.reason)] + fields)
            }
            if let text = try? String(contentsOfFile: "\(folder)/comparison.csv", encoding: .utf8) {
                let table = CSVTable(parsing: text)
                if comparison == nil { comparison = CSV.row(parameters.map { CSV.field($0.key) } + table.header.map(CSV.field)) }
                for row in table.rows { comparison! += CSV.row(keys + row.map(CSV.field)) }
            }
        }
        return ([("summary.csv", summary)] + (comparison.map { [("comparison.csv", $0)] } ?? []), missing)
    }
}
