import ArgumentParser
import Experiments
import Foundation
import Report

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Expand a parameter grid into runs: list their commands, write a makefile, or merge their results.",
        discussion: """
            Points are every combination of the values of --params, e.g. \
            --params 'workload.batch=1,8,64 cluster.system=h100-sxm,gb200-nvl72' (six points); \
            a --zip group's parameters vary together (--zip 'workload.parallelism.tp=1,2,4 workload.parallelism.ep=4,2,1': \
            three points). A value list with spaces, commas or flow maps is a YAML flow list: \
            'workload.parallelism=[{tp: 8}, {tp: 4, pp: 2}]'. \
            Each point runs as `clustersim run SCENARIO --set ... --record-status` (or compare) \
            into DIR/<point>/; a point that does not fit or is invalid writes its status and \
            reason instead of failing. --list prints one command per line (for GNU parallel or \
            a Slurm job array); --makefile prints a makefile with one target per point (what \
            `make sweep` uses), rerunning every point when the scenario file or the binary \
            changes; --merge writes DIR/summary.csv with one column per swept parameter and \
            each point's status (and DIR/comparison.csv for compare points).
            """
    )

    @Argument(help: "The scenario file (YAML).", completion: .file(extensions: ["yaml", "yml"]))
    var scenario: String

    @Option(help: "The grid: space-separated key.path=v1,v2,... (or key.path=[v1, v2]) items.")
    var params: String?

    @Option(help: "Parameters that vary together (equal numbers of values), in the grid's syntax. Repeatable.")
    var zip: [String] = []

    @Option(help: "Folder of the sweep (default: results/<scenario file name>-sweep).")
    var dir: String?

    @Option(help: "What each point runs: run or compare.")
    var command = "run"

    @Flag(help: "Print one `clustersim run` command per point.")
    var list = false

    @Flag(help: "Print a makefile with one target per point.")
    var makefile = false

    @Flag(help: "Merge the points' results into DIR/summary.csv (points not run yet are rows with status missing).")
    var merge = false

    @Option(help: "The clustersim binary the commands call (default: this one).")
    var binary: String?

    @Option(help: "Calibration-ensemble members each point is also priced with, for its prediction intervals (each run's --ensemble; 0 skips them: the quickest sweep, without intervals).")
    var ensemble: Int?

    func validate() throws {
        guard ["run", "compare"].contains(command) else { throw ValidationError("--command must be run or compare, got \"\(command)\"") }
        if let ensemble, ensemble < 0 { throw ValidationError("--ensemble: expected 0 or more members, got \(ensemble)") }
    }

    /// Options every point's command gets.
    var extra: [String] { ensemble.map { ["--ensemble", String($0)] } ?? [] }

    func run() throws {
        let parameters = try Sweep.parameters(grid: params, zipped: zip)
        let directory = dir ?? "results/\(URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent)-sweep"
        let program = binary ?? CommandLine.arguments[0]
        if !list && !makefile && !merge { throw InputError(message: "sweep: say what to do: --list, --makefile or --merge") }
        if list || makefile {
            guard FileManager.default.fileExists(atPath: scenario) else { throw InputError(message: "\(scenario): no such file") }
            try Sweep.check(scenario: scenario, parameters: parameters)
        }
        if list {
            for p in Sweep.points(parameters) { print(Sweep.command(binary: program, scenario: scenario, point: p, directory: directory, command: command, extra: extra)) }
        }
        if makefile { print(Sweep.makefile(binary: program, scenario: scenario, parameters: parameters, directory: directory, command: command, extra: extra), terminator: "") }
        if merge {
            let (files, missing) = Sweep.merge(parameters: parameters, directory: directory)
            do { try ResultFiles.writeAtomically(files, to: directory) } catch {
                throw InternalError(message: "cannot write \(directory)/summary.csv: \(error.localizedDescription)")
            }
            let count = Sweep.points(parameters).count
            printError("wrote \(directory)/\(files.map(\.name).joined(separator: ", ")) (\(count) points\(missing > 0 ? ", \(missing) not run yet" : ""))")
        }
    }
}
