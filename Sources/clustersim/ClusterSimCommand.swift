// The executable: argument parsing, and one place that maps errors to exit status
// (0 success, 2 bad input, 1 internal failure). See DESIGN.md "The interface users rely on".
import ArgumentParser
import Experiments
import Foundation
import Report
import Scenario

@main
struct ClusterSimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clustersim",
        abstract: "A discrete-event simulator of GPU clusters.",
        discussion: "Exit status: 0 success, 2 bad input (the message names the file and key), 1 internal failure.",
        version: Provenance.versionLine(executable: Provenance.executable),
        subcommands: [RunCommand.self, CompareCommand.self, SearchCommand.self, SweepCommand.self, SchemaCommand.self, MetricsCommand.self, HardwareCommand.self, ModelsCommand.self, ValidateCommand.self, CalibrateCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as ScenarioError {
            printError(error.description)
            Foundation.exit(2)
        } catch let error as ExperimentError {
            // Bad input that only shows when running (memory, sweep parameters).
            printError(error.message)
            Foundation.exit(2)
        } catch let error as InputError {
            printError(error.message)
            Foundation.exit(2)
        } catch let error as InternalError {
            printError("internal error: \(error.message)")
            Foundation.exit(1)
        } catch {
            // Argument parsing: help and --version exit 0; usage errors are bad input (2).
            let code = exitCode(for: error)
            if code == .validationFailure {
                printError(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Bad input outside a scenario file (an option's value); exit status 2.
struct InputError: Error { let message: String }

/// A failure of ClusterSim itself or of the system (a results folder that cannot be written).
struct InternalError: Error { let message: String }

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}
