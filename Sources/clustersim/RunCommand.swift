import ArgumentParser
import Experiments
import Foundation
import Hardware
import Models
import Synchronization
import Workloads
import Report
import Scenario

/// Options shared by `run` and `compare`.
struct RunOptions: ParsableArguments {
    @Argument(help: "The scenario file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var scenario: String

    @Option(help: "Folder for the result files (default: results/<scenario name>).")
    var out: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key before validation, e.g. --set 'workload.links[0].bandwidth=400 GB/s'. Repeatable.", valueName: "key.path=value"),
            completion: .list(SystemSpec.presets.map { "cluster.system=\($0.name)" } + ModelSpec.catalog.map { "workload.model=\($0.name)" }))
    var overrides: [String] = []

    @Option(help: "Replications per variant (overrides the scenario's `replications`).")
    var replications: Int?

    @Option(help: "Scenario seed (overrides the scenario's `seed`).")
    var seed: UInt64?

    @Option(help: "Threads that run replications (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Flag(help: "Do not print the results table or progress.")
    var quiet = false

    @Flag(help: "Serving: also write requests.csv, a row per request of every replication (the key workload.outputs.requests).")
    var requests = false

    @Flag(help: "Serving: also write timeline.csv, a row per instance every second or workload.outputs.timeline_interval (the key workload.outputs.timeline).")
    var timeline = false

    @Flag(help: "Print the scenario as it will run (every key read, defaults filled in) as YAML, and exit: nothing is simulated or written.")
    var dryRun = false

    @Option(help: "Write a Chrome/Perfetto trace (trace-event JSON) of replication 1 of the first variant (or --trace-variant) to this file (gemm, memcpy, collective, training, decode, serving).", completion: .file(extensions: ["json"]))
    var trace: String?

    @Option(help: "The variant to trace (default: the first).")
    var traceVariant: String?

    @Option(help: "Decode steps to trace after the prefill, training micro-batches (gradient-bucket arrows leave the last one's backward), or the collective's largest message sizes; serving traces the whole run.")
    var traceSteps = 2

    @Option(help: "Training: the pipeline stages to trace, comma-separated (default all).")
    var traceStages: String?

    @Option(help: ArgumentHelp("Members of the calibration ensemble each variant is also priced with, for the prediction intervals' parameter term (default: all of them; 0: no prediction intervals).", valueName: "n"))
    var ensemble: Int?

    @Option(help: ArgumentHelp("Most engine events one replication may take (estimated before running; about 0.5-1 µs each).", valueName: "n"))
    var maxEvents: Double = 1e9

    @Option(help: ArgumentHelp("Most memory one replication may hold, in bytes or with a unit such as 8GB (default: half the machine's memory).", valueName: "size"))
    var maxMemory: String?

    /// The limits the options set (maxMemory checked in validate()).
    var limits: ExperimentRunner.WorkLimits {
        ExperimentRunner.WorkLimits(maxEvents: maxEvents, maxMemory: maxMemory.flatMap(Self.bytes) ?? ExperimentRunner.WorkLimits.defaultMemory)
    }

    static func bytes(_ text: String) -> Double? {
        if case .success(let value) = Quantity.parse(text, as: .bytes), value > 0 { return value }
        return nil
    }

    @Flag(help: "For sweeps: when the scenario is bad input (a point that does not fit, a value the kind refuses), write --out with status.csv naming the problem instead of results, and exit 0; a run that succeeds writes status.csv too.")
    var recordStatus = false

    @Flag(help: "Check invariants while simulating (clock, fluid-system capacity and fairness, token conservation); a violation exits 1.")
    var check = false

    func validate() throws {
        if !(maxEvents >= 1 && maxEvents.isFinite) { throw ValidationError("--max-events must be a finite number ≥ 1, got \(maxEvents)") }
        if let maxMemory, Self.bytes(maxMemory) == nil { throw ValidationError("--max-memory: expected a size such as 8GB, got \"\(maxMemory)\"") }
        if let ensemble, ensemble < 0 || ensemble > ExperimentRunner.ensembleSize {
            throw ValidationError("--ensemble must be between 0 and \(ExperimentRunner.ensembleSize) (the members make calibrate generated), got \(ensemble)")
        }
        if recordStatus && out == nil { throw ValidationError("--record-status needs --out (the folder status.csv goes in)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let replications, replications < 1 { throw ValidationError("--replications must be at least 1, got \(replications)") }
        if let traceStages, traceStages.split(separator: ",").contains(where: { Int($0.trimmingCharacters(in: .whitespaces)).map { $0 < 0 } ?? true }) {
            throw ValidationError("--trace-stages: expected stage numbers such as 0,15, got \"\(traceStages)\"")
        }
    }

    /// --set, and the flags that stand for keys (--replications, --seed).
    var flagOverrides: [String] {
        overrides + (replications.map { ["replications=\($0)"] } ?? []) + (seed.map { ["seed=\($0)"] } ?? [])
    }

    /// The serving keys --requests and --timeline stand for.
    var outputOverrides: [String] {
        (requests ? ["workload.outputs.requests=true"] : []) + (timeline ? ["workload.outputs.timeline=true"] : [])
    }

    /// With --dry-run: prints the resolved scenario (ResolvedScenario) and returns true.
    func printResolved() throws -> Bool {
        guard dryRun else { return false }
        let resolved = try ResolvedScenario.yaml(path: scenario, overrides: flagOverrides + outputOverrides, kinds: WorkloadRegistry.readers)
        for warning in resolved.warnings { printError("warning: \(warning)") }
        print(resolved.text, terminator: "")
        return true
    }

    /// Loads, checks and runs the scenario; writes the standard files plus `extraFiles` (made
    /// from the plan and results) atomically together.
    /// `extraFiles` also gets the runs over the calibration ensemble ([variant][member]).
    func execute(extraFiles: (ExperimentPlan, ExperimentResults, [[ReplicationResult]]) throws -> [(name: String, contents: String)] = { _, _, _ in [] })
        throws -> (ExperimentPlan, ExperimentResults, String)
    {
        let start = Date()
        var allOverrides = flagOverrides
        if requests || timeline {
            // The flags set serving keys: another kind is told so, not that it lacks the key.
            let flag = requests ? "--requests" : "--timeline"
            // (A scenario the reader refuses is reported by the load below.)
            let kinds = (try? ScenarioLoader.load(path: scenario, overrides: allOverrides))?.variants.map { type(of: $0.spec.kind).kind } ?? []
            if let other = kinds.first(where: { $0 != ServingSpec.kind }) {
                throw InputError(message: "\(flag): requests.csv and timeline.csv are written by serving workloads; \(scenario) runs workload kind \(other)")
            }
            allOverrides += outputOverrides
        }
        var plan = try ScenarioLoader.load(path: scenario, overrides: allOverrides)
        for warning in plan.warnings { printError("warning: \(warning)") }
        let skipped = recordStatus ? Self.dropUnfit(&plan, limits: limits) : []
        try ExperimentRunner.check(plan, limits: limits)
        // Everything that can fail after the simulation is checked before it.
        let directory = out ?? "results/\(plan.name)"
        try Self.checkWritable(folder: directory)
        let traceIndex = try traceVariantIndex(plan)
        Interruption.install(directory: directory)
        if !quiet {
            for note in Self.calibrationNotes(plan) { printError("note: " + note) }
            if plan.variants.contains(where: { !$0.spec.noise.isOff }) {
                // No repeated measurement in the reference gives a run-to-run spread to default to.
                printError("note: the noise term of the prediction intervals is the scenario's noise section, an assumption: no measured run-to-run spread backs it")
            }
        }

        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        Interruption.stage("simulating (\(plan.variants.count * plan.replications) runs)")
        let reporter = ProgressReporter(enabled: !quiet && isatty(STDERR_FILENO) == 1, start: start)
        if check { ExperimentRunner.checkInvariants() }
        let results = ExperimentRunner.run(plan, threads: threadCount, progress: reporter.update)
        reporter.finish()
        let violations = ExperimentRunner.invariantViolations()
        if !violations.isEmpty {
            throw InternalError(message: "invariants violated, no results written:\n  " + violations.joined(separator: "\n  "))
        }
        Interruption.stage("pricing the calibration ensemble")
        // Parameter uncertainty: every variant priced once per member of the calibration ensemble.
        let ensemble = ExperimentRunner.runEnsemble(plan, members: self.ensemble ?? ExperimentRunner.ensembleSize, threads: threadCount)
        let rows = PredictionIntervals.attach(ResultFiles.summaries(results), plan: plan, results: results, ensemble: ensemble)
        for variant in plan.variants {
            let means = Dictionary(rows.filter { $0.variant == variant.name }.map { ($0.metric, $0.summary.mean) }) { a, _ in a }
            for warning in variant.spec.kind.warnings(means) {
                printError("warning: " + (plan.variants.count > 1 ? "variant \(variant.name): " : "") + warning)
            }
        }
        let status = Sweep.statusFile(plan.variants.map { ($0.name, "ok", "") } + skipped.map { ($0.variant, "infeasible", $0.reason) })
        let extra = try extraFiles(plan, results, ensemble) + (recordStatus ? [("status.csv", status)] : [])
        if let trace, let index = traceIndex {
            Interruption.stage("writing the trace \(trace)")
            // Checked in validate().
            let stages = traceStages.map { Set($0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }) }
            guard let data = ExperimentRunner.trace(plan, variant: index, steps: traceSteps, stages: stages) else {
                throw InputError(message: "--trace: traces are available for workload kinds \(Self.traceableKinds)")
            }
            do {
                try Data(ChromeTrace.json(data, scenario: plan.name).utf8).write(to: URL(fileURLWithPath: trace))
            } catch {
                throw InternalError(message: "cannot write trace \(trace): \(error.localizedDescription)")
            }
        }

        Interruption.stage("writing \(directory)")
        var manifest = ResultFiles.Manifest(
            scenario: plan.name, scenarioFile: scenario, scenarioContents: plan.fileContents, seed: plan.seed,
            replications: plan.replications, variants: plan.variants.map(\.name), overrides: allOverrides,
            version: clusterSimVersion, commandLine: CommandLine.arguments, startTime: start, threads: threadCount
        )
        manifest.provenance = Provenance.manifestFields
        do {
            try ResultFiles.write(results, rows: rows, manifest: manifest, extraFiles: extra, to: directory)
        } catch let error as ResultFiles.NonFiniteValue {
            throw InternalError(message: error.description)
        } catch {
            throw InternalError(message: "cannot write results to \(directory): \(error.localizedDescription)")
        }
        Interruption.stage(nil)
        if !quiet { print(ConsoleTable.render(rows), terminator: "") }
        return (plan, results, directory)
    }

    /// Runs `body`; with --record-status, bad input becomes --out/status.csv (status invalid for
    /// a scenario the reader refuses, infeasible for one that does not fit or is too large to
    /// run) with the message as its reason, and the run succeeds.
    func recordingStatus(_ body: () throws -> Void) throws {
        guard recordStatus, let out else { return try body() }
        let status: String, reason: String
        do {
            return try body()
        } catch let error as ScenarioError {
            (status, reason) = ("invalid", error.description)
        } catch let error as ExperimentError {
            (status, reason) = ("infeasible", error.message)
        } catch let error as InputError {
            (status, reason) = ("invalid", error.message)
        }
        try Self.checkWritable(folder: out)
        let manifest: [String: Any] = ["status": status, "reason": reason, "scenario_file": scenario, "overrides": overrides,
                                       "clustersim_version": clusterSimVersion, "command_line": CommandLine.arguments]
            .merging(Provenance.manifestFields) { a, _ in a }
        let json = (try? JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        do {
            try ResultFiles.writeFolder([("status.csv", Sweep.statusFile([("", status, reason)])),
                                         ("manifest.json", String(decoding: json, as: UTF8.self) + "\n")], to: out)
        } catch {
            throw InternalError(message: "cannot write \(out)/status.csv: \(error.localizedDescription)")
        }
        printError("\(status): \(reason)\nwrote \(out)/status.csv")
    }

    /// For sweeps (--record-status): the variants that do not fit or are over the work limits
    /// are taken out of `plan`, so that the others run, and returned with why. Nothing is taken
    /// out when none fits, or when the compare baseline does not (the point fails whole).
    static func dropUnfit(_ plan: inout ExperimentPlan, limits: ExperimentRunner.WorkLimits) -> [(variant: String, reason: String)] {
        guard plan.variants.count > 1 else { return [] }
        var unfit: [(variant: String, reason: String)] = []
        for variant in plan.variants {
            var one = plan
            one.variants = [variant]
            do { try ExperimentRunner.check(one, limits: limits) } catch { unfit.append((variant.name, error.message(without: plan.file))) }
        }
        let names = Set(unfit.map(\.variant))
        guard !unfit.isEmpty, names.count < plan.variants.count, !names.contains(plan.compare?.baseline ?? "") else { return [] }
        plan.variants.removeAll { names.contains($0.name) }
        for u in unfit { printError("variant \(u.variant): infeasible: \(u.reason); the other variants run") }
        return unfit
    }

    /// The kinds with traces, as a message lists them ("gemm, memcpy and training").
    static var traceableKinds: String {
        let names = WorkloadRegistry.kinds.filter { $0.hasTrace }.map { $0.kind }
        return names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }

    /// The variant --trace records (nil without --trace), after checking that its kind has
    /// traces and that the trace file can be written.
    func traceVariantIndex(_ plan: ExperimentPlan) throws -> Int? {
        guard let trace else { return nil }
        let index = traceVariant.flatMap { name in plan.variants.firstIndex { $0.name == name } } ?? 0
        if let name = traceVariant, plan.variants[index].name != name {
            var message = "--trace-variant: no variant is named \"\(name)\""
            if let guess = closestName(to: name, among: plan.variants.map(\.name)) { message += "; did you mean \"\(guess)\"?" }
            throw InputError(message: message)
        }
        let kind = plan.variants[index].spec.kind
        guard type(of: kind).hasTrace else {
            throw InputError(message: "--trace: workload kind \(type(of: kind).kind) has no trace; traces are available for workload kinds \(Self.traceableKinds)")
        }
        if let why = kind.untraceable(in: plan.variants[index].spec) { throw InputError(message: "--trace: \(why)") }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: trace, isDirectory: &isFolder) {
            guard !isFolder.boolValue, access(trace, W_OK) == 0 else { throw InputError(message: "--trace: \(trace) cannot be written") }
        } else if let problem = Self.unwritableAncestor(of: trace, creatingFolders: false) {
            throw InputError(message: "--trace: cannot write \(trace): \(problem)")
        }
        return index
    }

    /// Checks that `folder` can be written as a results folder: it is absent, empty or a
    /// results folder (never a folder of other files), under a folder that can be written.
    static func checkWritable(folder: String) throws {
        guard ResultFiles.replaceable(folder) else {
            throw InputError(message: "--out: \(folder) exists and is not a ClusterSim results folder (it has no manifest.json, or holds folders); choose another folder or remove it")
        }
        if let problem = unwritableAncestor(of: folder) {
            throw InputError(message: "--out: cannot write \(folder): \(problem)")
        }
    }

    /// Why a file or folder cannot be created at `path`, nil when it can: the nearest existing
    /// folder above it must be writable (with `creatingFolders` false, its own folder must exist).
    static func unwritableAncestor(of path: String, creatingFolders: Bool = true) -> String? {
        let parent = ResultFiles.parentFolder
        var ancestor = parent(path)
        if !creatingFolders, !ancestor.isEmpty, !FileManager.default.fileExists(atPath: ancestor) { return "\(ancestor) does not exist" }
        while !ancestor.isEmpty && ancestor != "/" && !FileManager.default.fileExists(atPath: ancestor) { ancestor = parent(ancestor) }
        let folder = ancestor.isEmpty ? "." : ancestor
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else { return "\(folder) is not a folder" }
        return access(folder, W_OK) == 0 ? nil : "\(folder) is not writable"
    }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario file and write summary.csv, replications.csv and manifest.json.",
        discussion: """
            Results go to --out, by default results/<scenario name>/. Each file is written to a \
            temporary name and renamed into place; bad input writes nothing.
            Examples:
              clustersim run scenarios/showcase-transfers.yaml
              clustersim run scenarios/showcase-transfers.yaml --set 'workload.links[0].bandwidth=400 GB/s' --replications 50
            """
    )

    @OptionGroup var options: RunOptions

    func run() throws {
        if try options.printResolved() { return }
        try options.recordingStatus {
            let (_, _, directory) = try options.execute()
            printError("wrote \(directory)/summary.csv, replications.csv, manifest.json")
        }
    }
}

/// Progress on stderr for runs longer than a second: runs done of total, elapsed, remaining.
/// Off with --quiet or when stderr is not a terminal (a log file or a pipe gets none).
final class ProgressReporter: Sendable {
    private let enabled: Bool
    private let start: Date
    private let state = Mutex((lastPrint: Date.distantPast, printed: false))

    init(enabled: Bool, start: Date) {
        self.enabled = enabled
        self.start = start
    }

    func update(done: Int, total: Int) {
        Interruption.stage("simulating, \(done) of \(total) runs done")
        guard enabled else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        guard elapsed > 1 else { return }
        state.withLock { s in
            guard now.timeIntervalSince(s.lastPrint) > 0.25 || done == total else { return }
            let remaining = elapsed / Double(done) * Double(total - done)
            let line = String(format: "\r%d/%d runs, %.1f s elapsed, ~%.1f s remaining   ", done, total, elapsed, remaining)
            FileHandle.standardError.write(Data(line.utf8))
            s.lastPrint = now
            s.printed = true
        }
    }

    func finish() {
        state.withLock { s in if s.printed { FileHandle.standardError.write(Data("\n".utf8)) } }
    }
}

extension RunOptions {
    /// What the fitted factors know of each system the scenario runs on: a system with no
    /// measurement in the fit (Blackwell Ultra) or one the scenario defines itself is named, so
    /// nobody reads its numbers as calibrated.
    static func calibrationNotes(_ plan: ExperimentPlan) -> [String] {
        var seen = Set<String>(), notes: [String] = []
        for variant in plan.variants {
            guard let system = variant.spec.cluster?.system, seen.insert(system.name).inserted else { continue }
            let family = system.gpu.architecture.calibrationFamily.rawValue
            switch PredictionIntervals.calibration(of: system) {
            case .scenarioDefined:
                notes.append("\(system.name) is not a preset: its numbers are the scenario's, with the kernel factors fitted to \(family) GPUs")
            case .noMeasurement:
                notes.append("\(system.name) has no measurement in the fit: datasheet numbers with \(family)'s fitted factors (clustersim validate compares GB300's held-out kernel rows)")
            case .calibrated:
                notes.append(ModelErrorCalibration.status(of: system.name).map { $0 + "; the kernel tables of ../shared calibrate its family too" }
                             ?? "\(system.name) has no row of calibration.csv: \(family)'s factors from the other presets and the kernel tables")
            }
        }
        return notes
    }
}
