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
            --params 'workload.batch=1,8,64 cluster.system=h100-sxm,gb200-nvl72' (six points). \
            Each point runs as `clustersim run SCENARIO --set ...` into DIR/<point>/. \
            --list prints one command per line (for GNU parallel or a Slurm job array); \
            --makefile prints a makefile with one target per point (what `make sweep` uses); \
            --merge writes DIR/summary.csv with one column per swept parameter.
            """
    )

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "The grid: space-separated key.path=v1,v2,... items.")
    var params: String

    @Option(help: "Folder of the sweep (default: results/<scenario file name>-sweep).")
    var dir: String?

    @Flag(help: "Print one `clustersim run` command per point.")
    var list = false

    @Flag(help: "Print a makefile with one target per point.")
    var makefile = false

    @Flag(help: "Merge the points' summary.csv into DIR/summary.csv.")
    var merge = false

    @Option(help: "The clustersim binary the commands call (default: this one).")
    var binary: String?

    func run() throws {
        let parameters = try Sweep.parameters(params)
        let directory = dir ?? "results/\(URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent)-sweep"
        let program = binary ?? CommandLine.arguments[0]
        if list {
            for p in Sweep.points(parameters) { print(Sweep.command(binary: program, scenario: scenario, point: p, directory: directory)) }
        }
        if makefile { print(Sweep.makefile(binary: program, scenario: scenario, parameters: parameters, directory: directory), terminator: "") }
        if merge {
            let text = try Sweep.merge(parameters: parameters, directory: directory)
            do { try ResultFiles.writeAtomically([("summary.csv", text)], to: directory) } catch {
                throw InternalError(message: "cannot write \(directory)/summary.csv: \(error.localizedDescription)")
            }
            printError("wrote \(directory)/summary.csv (\(Sweep.points(parameters).count) points)")
        }
        if !list && !makefile && !merge { throw InputError(message: "sweep: say what to do: --list, --makefile or --merge") }
    }
}
