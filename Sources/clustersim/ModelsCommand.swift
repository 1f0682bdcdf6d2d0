import ArgumentParser
import Foundation
import Models
import Scenario
import Workloads

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model catalog, or print a model as YAML to paste into a scenario.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the models.")
        func run() {
            for m in ModelSpec.catalog {
                let name = m.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                print(name + String(format: "%8.1fB params %7.1fB active  %3d layers  d %5d  ", m.parameters / 1e9, m.activeParameters / 1e9, m.layers, m.hidden) + m.description)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a model as YAML (paste as `model:` under `workload:`).")
        @Argument(help: "The model's name (see `clustersim models list`).", completion: .list(ModelSpec.catalog.map(\.name)))
        var name: String

        func run() throws {
            guard let model = ModelSpec.named(name) else {
                throw InputError(message: "unknown model \"\(name)\"; models: \(ModelSpec.catalog.map(\.name).joined(separator: ", "))")
            }
            print(ModelYAML.render(model), terminator: "")
        }
    }
}
