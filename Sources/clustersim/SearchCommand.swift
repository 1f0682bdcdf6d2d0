import ArgumentParser
import Experiments
import Foundation
import Report
import Scenario

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find the best configuration in a scenario's search space: search.csv, pareto.csv, best.yaml.",
        discussion: """
            The scenario's `search:` section names the keys to vary and their values, the \
            objective, the Pareto metrics, constraints and a budget (docs/search.md). Every point \
            is read and checked first (invalid and memory-infeasible points are rows with their \
            reason), then simulated by the strategy: exhaustive, bound (branch and bound on the \
            kind's optimistic metrics: the exhaustive search's best, simulating fewer points) or \
            halving (successive halving over the workload's length). Results go to --out, by \
            default results/<scenario name>-search/.
            Examples:
              clustersim search scenarios/llama3-405b-search-h100.yaml
              clustersim run results/llama3-405b-search-h100-search/best.yaml
            """
    )

    @Argument(help: "The scenario file (YAML) with a search section.", completion: .file(extensions: ["yaml", "yml"]))
    var scenario: String

    @Option(help: "Folder for the result files (default: results/<scenario name>-search).")
    var out: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key before validation, e.g. --set search.budget=100. Repeatable.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Threads that evaluate points (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Flag(help: "Do not print the table or progress.")
    var quiet = false

    @Option(help: ArgumentHelp("Members of the calibration ensemble the best few points are priced with, for the objective's prediction interval (default: all; 0: none).", valueName: "n"))
    var ensemble: Int?

    @Option(help: ArgumentHelp("Most engine events one replication of a point may take.", valueName: "n"))
    var maxEvents: Double = 1e9

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if !(maxEvents >= 1 && maxEvents.isFinite) { throw ValidationError("--max-events must be a finite number ≥ 1, got \(maxEvents)") }
        if let ensemble, ensemble < 0 || ensemble > ExperimentRunner.ensembleSize {
            throw ValidationError("--ensemble must be between 0 and \(ExperimentRunner.ensembleSize), got \(ensemble)")
        }
    }

    func run() throws {
        let start = Date()
        let plan = try ScenarioLoader.load(path: scenario, overrides: overrides)
        for warning in plan.warnings { printError("warning: \(warning)") }
        // The loader has read the file as UTF-8 text; the search sets its points in the same tree.
        let tree = try ScenarioLoader.tree(text: String(decoding: plan.fileContents, as: UTF8.self), file: scenario, overrides: overrides)
        let directory = out ?? "results/\(plan.name)-search"
        try RunOptions.checkWritable(folder: directory)
        Interruption.install(directory: directory)
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let terminal = !quiet && isatty(STDERR_FILENO) == 1
        Interruption.stage("searching")
        let outcome = try Search.run(plan, tree: tree, threads: threadCount, limits: ExperimentRunner.WorkLimits(maxEvents: maxEvents),
                                     ensemble: ensemble ?? ExperimentRunner.ensembleSize,
                                     progress: { stage in
                                         Interruption.stage(stage)
                                         if terminal { FileHandle.standardError.write(Data("\r\(stage)\u{1B}[K".utf8)) }
                                     })
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let seconds = Date().timeIntervalSince(start)
        var files = [("search.csv", Search.csv(outcome)), ("pareto.csv", Search.csv(outcome, only: outcome.front))]
        if let best = Search.bestYAML(outcome, scenarioFile: scenario, version: clusterSimVersion) { files.append(("best.yaml", best)) }
        var manifest = ResultFiles.Manifest(
            scenario: plan.name, scenarioFile: scenario, scenarioContents: plan.fileContents, seed: plan.seed,
            replications: outcome.replications, variants: outcome.variants, overrides: overrides,
            version: clusterSimVersion, commandLine: CommandLine.arguments, startTime: start, threads: threadCount)
        manifest.provenance = Provenance.manifestFields
        files.append(("manifest.json", ResultFiles.manifestJSON(manifest)))
        Interruption.stage("writing \(directory)")
        do { try ResultFiles.writeFolder(files, to: directory) } catch {
            throw InternalError(message: "cannot write results to \(directory): \(error.localizedDescription)")
        }
        Interruption.stage(nil)
        if !quiet {
            // Written before the closing line on stderr.
            FileHandle.standardOutput.write(Data(Search.table(outcome, seconds: seconds).utf8))
        }
        printError("wrote \(directory)/search.csv, pareto.csv\(files.contains { $0.0 == "best.yaml" } ? ", best.yaml" : " (no feasible point: no best.yaml)"), manifest.json")
    }
}
