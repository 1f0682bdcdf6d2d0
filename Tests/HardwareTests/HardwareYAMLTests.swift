import Foundation
import Testing
import TestSupport
@testable import Hardware
@testable import Scenario
import Workloads

@Suite struct HardwareYAMLTests {
    /// `hardware show NAME` reads back to the same preset, for every preset.
    @Test(arguments: SystemSpec.presets.map(\.name))
    func showReadsBackToThePreset(name: String) throws {
        let preset = SystemSpec.preset(named: name)!
        let yaml = HardwareYAML.render(preset)
        let indented = yaml.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        let text = "name: t\ncluster:\n\(indented)\nworkload: { kind: memcpy, bytes: 1 GB }\n"
        let plan = try ScenarioLoader.plan(text: text, file: "t.yaml")
        let system = plan.variants[0].spec.cluster!.system
        #expect(system.name == preset.name && system.gpusPerNVLinkDomain == preset.gpusPerNVLinkDomain)
        let a = system.gpu, b = preset.gpu
        for (x, y) in [(a.clock, b.clock), (a.expRate, b.expRate), (a.hbmCapacity, b.hbmCapacity), (a.hbmBandwidth, b.hbmBandwidth),
                       (a.l2Size, b.l2Size), (a.nvlinkBandwidthPerDirection, b.nvlinkBandwidthPerDirection),
                       (a.nicBandwidthPerDirection, b.nicBandwidthPerDirection), (a.tdp, b.tdp), (a.tensor.bf16, b.tensor.bf16),
                       (a.tensor.fp8, b.tensor.fp8), (a.tensor.fp4 ?? 0, b.tensor.fp4 ?? 0), (a.tensor.fp64, b.tensor.fp64)] {
            #expect(abs(x - y) <= 1e-12 * abs(y))
        }
        #expect(a.smCount == b.smCount && a.architecture == b.architecture && a.nvls == b.nvls && a.name == b.name)
    }

    /// Every number `hardware show` prints for a preset carries its source, and every source
    /// code it cites is listed at the end.
    @Test(arguments: SystemSpec.presets.map(\.name))
    func showCitesASourceForEveryNumber(name: String) {
        let lines = HardwareYAML.render(SystemSpec.preset(named: name)!).split(separator: "\n").map(String.init)
        let numbers = lines.filter { !$0.hasPrefix("#") && $0.contains(": ") && !$0.contains("name:") && !$0.contains("description:") && !$0.contains("architecture:") }
        #expect(numbers.count >= 15)
        for line in numbers { #expect(line.contains("  # "), "\(name): \(line) has no source") }
        let references = lines.filter { $0.hasPrefix("#   [") }.map { String($0.dropFirst(4).prefix(3)) }
        for line in numbers {
            for code in SystemSpec.references.keys where line.contains(code) { #expect(references.contains(code), "\(name): \(code) not listed") }
        }
    }

    @Test func presetOverrideAndUnknownPreset() throws {
        let text = "name: t\ncluster:\n  system:\n    preset: gb300-nvl72\n    gpu: { hbm_bandwidth: 4 TB/s }\nworkload: { kind: memcpy, bytes: 1 GB }\n"
        let system = try ScenarioLoader.plan(text: text, file: "t.yaml").variants[0].spec.cluster!.system
        #expect(system.gpu.hbmBandwidth == 4e12)
        #expect(system.gpu.smCount == 160)
        do {
            _ = try ScenarioLoader.plan(text: "name: t\ncluster: { system: h100-sxn }\nworkload: { kind: memcpy, bytes: 1 GB }\n", file: "t.yaml")
            Issue.record("accepted an unknown preset")
        } catch {
            #expect(error.description == "t.yaml:2:20: cluster.system: unknown preset \"h100-sxn\"; did you mean \"h100-sxm\"?")
        }
    }

    @Test func ledgerReportsEveryCategory() {
        var ledger = MemoryLedger(device: "gb200-nvl72 GPU 0", capacity: 186 * 1_073_741_824)
        #expect(throws: MemoryError.self) {
            try ledger.book([(140 * 1_073_741_824, .weights), (60.2 * 1_073_741_824, .kvCache)])
        }
        do {
            try ledger.book([(140 * 1_073_741_824, .weights), (60.2 * 1_073_741_824, .kvCache)])
        } catch {
            #expect(error.description == "needs 200.2 GiB on gb200-nvl72 GPU 0, has 186.0 GiB: weights 140.0, kv_cache 60.2 (GiB)")
        }
        #expect(ledger.total == 0)
    }
}
