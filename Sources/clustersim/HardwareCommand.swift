import ArgumentParser
import Foundation
import Hardware
import Scenario

struct HardwareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hardware",
        abstract: "List the hardware presets, or print one as YAML to paste into a scenario.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the presets.")
        func run() {
            for system in SystemSpec.presets {
                let g = system.gpu
                let name = system.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                print(name + String(format: "  %4.0f TFLOPS bf16  %4.2f TB/s HBM  %5.1f GiB  %2d GPUs/NVLink domain  ",
                                    g.tensor.bf16 / 1e12, g.hbmBandwidth / 1e12, g.hbmCapacity / 1_073_741_824,
                                    system.gpusPerNVLinkDomain) + system.description)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a preset as YAML; paste it under `cluster:` in a scenario and edit it.")
        @Argument(help: "The preset's name (see `clustersim hardware list`).", completion: .list(SystemSpec.presets.map(\.name)))
        var name: String

        func run() throws {
            guard let system = SystemSpec.preset(named: name) else {
                let names = SystemSpec.presets.map(\.name)
                throw InputError(message: "unknown preset \"\(name)\"; presets: \(names.joined(separator: ", "))")
            }
            print(HardwareYAML.render(system), terminator: "")
        }
    }
}
