// Hardware in scenario files: `cluster.system` is a preset name, or a mapping that defines a
// system inline, optionally starting from a preset (`preset: gb300-nvl72`) and overriding any
// field. `clustersim hardware show NAME` prints the mapping form of a preset, which reads back
// to the same preset.
import Foundation
import Hardware

public enum HardwareYAML {
    static let systemKeys = ["preset", "name", "description", "gpus_per_nvlink_domain", "gpu", "collectives"]
    static let collectiveKeys = ["hop_latency", "link_efficiency", "chunk_bytes", "base_latency"]
    static let gpuKeys = ["name", "architecture", "sms", "clock", "tensor", "exp_rate", "hbm_capacity", "hbm_bandwidth",
                          "l2_size", "nvlink_bandwidth", "nvls", "nic_bandwidth", "host_bandwidth", "tdp", "max_clock"]
    static let tensorKeys = Precision.allCases.map(\.rawValue)

    /// The YAML of `system` for pasting under `cluster:` in a scenario. A preset's numbers carry
    /// their sources as comments (SystemSpec.sources), the references listed at the end.
    public static func render(_ system: SystemSpec) -> String {
        let g = system.gpu
        let sources = SystemSpec.preset(named: system.name) == system ? SystemSpec.sources[system.name] ?? [:] : [:]
        var cited: Set<String> = []
        func line(_ indent: String, _ key: String, _ value: String, source: String? = nil) -> String {
            guard let note = sources[source ?? key] else { return "\(indent)\(key.split(separator: ".").last!): \(value)" }
            for (code, _) in SystemSpec.references where note.contains(code) { cited.insert(code) }
            return "\(indent)\(key.split(separator: ".").last!): \(value)  # \(note)"
        }
        var lines = [
            "# \(system.name): paste under `cluster:` in a scenario, edit, and run.",
            "# Bandwidths are per direction; tensor rates are dense." + (sources.isEmpty ? "" : " Sources after each number; references at the end."),
            "system:",
            "  name: \(system.name)",
            "  description: \"\(system.description)\"",
            line("  ", "gpus_per_nvlink_domain", "\(system.gpusPerNVLinkDomain)"),
            "  gpu:",
            "    name: \"\(g.name)\"",
            "    architecture: \(g.architecture.rawValue)",
            line("    ", "sms", "\(g.smCount)"),
            line("    ", "clock", quantity(g.clock, "Hz")),
            "    tensor:",
        ]
        for p in Precision.allCases {
            if let rate = g.tensor[p] { lines.append(line("      ", "tensor.\(p.rawValue)", quantity(rate, "FLOPS"))) }
        }
        lines += [
            line("    ", "exp_rate", quantity(g.expRate, "/s")),
            line("    ", "hbm_capacity", quantity(g.hbmCapacity, "B", binary: true)),
            line("    ", "hbm_bandwidth", quantity(g.hbmBandwidth, "B/s")),
            line("    ", "l2_size", quantity(g.l2Size, "B")),
            line("    ", "nvlink_bandwidth", quantity(g.nvlinkBandwidthPerDirection, "B/s")),
            line("    ", "nvls", "\(g.nvls)"),
            line("    ", "nic_bandwidth", quantity(g.nicBandwidthPerDirection, "B/s")),
            line("    ", "host_bandwidth", quantity(g.hostBandwidthPerDirection, "B/s")),
            line("    ", "tdp", quantity(g.tdp, "W")),
            line("    ", "max_clock", quantity(g.maxClock, "Hz")),
        ]
        let c = system.collectives
        if !c.isCalibrated {
            lines.append("  collectives:")
            if let v = c.hopLatency { lines.append("    hop_latency: \(shortNumber(v))") }
            if let v = c.linkEfficiency { lines.append("    link_efficiency: \(shortNumber(v))") }
            if let v = c.chunkBytes { lines.append("    chunk_bytes: \(shortNumber(v))") }
            if let v = c.baseLatency { lines.append("    base_latency: \(shortNumber(v))") }
        }
        if !cited.isEmpty {
            lines.append("# References (../shared/reference/datasheets.md gives their addresses):")
            for code in cited.sorted() { lines.append("#   \(code) \(SystemSpec.references[code]!)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A value in the units `hardware list` prints: HBM capacity in GiB (`binary`), other
    /// sizes in GiB, MiB or KiB when that is short ("50 MiB"; dividing by a power of two is
    /// exact), FLOP rates in TFLOPS when that reads back exactly; otherwise the largest decimal
    /// prefix that keeps it ≥ 1 and reads back exactly. The mantissa in the shortest form that
    /// reads back exactly.
    static func quantity(_ value: Double, _ unit: String, binary: Bool = false) -> String {
        if unit == "B", let (prefix, scale) = [("Gi", 1_073_741_824.0), ("Mi", 1_048_576), ("Ki", 1024)].first(where: { abs(value) >= $0.1 }) {
            let mantissa = shortNumber(value / scale)
            if binary || mantissa.count <= 6 { return "\(mantissa) \(prefix)B" }
        }
        let decimal: [(String, Double)] = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)]
        let prefixes = unit == "FLOPS" ? decimal.filter { $0.0 == "T" } + decimal : decimal
        for (prefix, scale) in prefixes where abs(value) >= scale {
            let mantissa = value / scale
            if mantissa * scale == value { return "\(shortNumber(mantissa)) \(prefix)\(unit)" }
        }
        return "\(shortNumber(value)) \(unit)"
    }

    /// Reads `cluster.system` (a preset name or a mapping) into a system.
    static func readSystem(_ node: ConfigNode, path: String, log: DiagnosticLog) -> SystemSpec? {
        if case .scalar(let name, let origin) = node {
            if let preset = SystemSpec.preset(named: name) { return preset }
            var message = "unknown preset \"\(name)\""
            let names = SystemSpec.presets.map(\.name)
            if let guess = closestName(to: name, among: names) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; presets: \(names.joined(separator: ", "))" }
            log.error(origin, path, message)
            return nil
        }
        guard let fields = FieldReader(node, path: path, log: log, allowed: systemKeys) else { return nil }
        let errorsBefore = log.errors.count
        var base: SystemSpec?
        if let presetName = fields.string("preset") {
            base = readSystem(.scalar(presetName, fields.origin("preset") ?? node.origin), path: fields.child("preset"), log: log)
            if base == nil { return nil }
        }
        let name = fields.string("name") ?? base?.name
        let description = fields.string("description") ?? base?.description ?? ""
        let domain = fields.integer("gpus_per_nvlink_domain", in: 1...100_000) ?? base?.gpusPerNVLinkDomain
        var gpu = base?.gpu
        if let gpuNode = fields.value("gpu") {
            gpu = readGPU(gpuNode, base: base?.gpu, path: fields.child("gpu"), log: log)
        } else if base == nil {
            fields.missing("gpu", "the GPU's fields, or a preset to start from")
        }
        if name == nil { fields.missing("name", "a name") }
        if domain == nil { fields.missing("gpus_per_nvlink_domain", "an integer") }
        var collectives = base?.collectives ?? .calibrated
        if let node = fields.value("collectives"), let c = FieldReader(node, path: fields.child("collectives"), log: log, allowed: collectiveKeys) {
            collectives.hopLatency = c.quantity("hop_latency", .time) ?? collectives.hopLatency
            collectives.baseLatency = c.quantity("base_latency", .time) ?? collectives.baseLatency
            collectives.chunkBytes = c.quantity("chunk_bytes", .bytes) ?? collectives.chunkBytes
            if let e = c.quantity("link_efficiency", .count, minimum: 0, exclusive: true) {
                if e > 1 { log.error(c.origin("link_efficiency"), c.child("link_efficiency"), "must be ≤ 1, got \(e)") }
                collectives.linkEfficiency = e
            }
        }
        guard log.errors.count == errorsBefore, let name, let domain, let gpu else { return nil }
        return SystemSpec(name: name, description: description, gpu: gpu, gpusPerNVLinkDomain: domain, collectives: collectives)
    }

    static func readGPU(_ node: ConfigNode, base: GPUSpec?, path: String, log: DiagnosticLog) -> GPUSpec? {
        guard let f = FieldReader(node, path: path, log: log, allowed: gpuKeys) else { return nil }
        let errorsBefore = log.errors.count
        func need<T>(_ value: T?, _ key: String, _ what: String) -> T? {
            if value == nil { f.missing(key, what) }
            return value
        }
        var architecture = base?.architecture
        if let text = f.string("architecture") {
            architecture = Architecture(rawValue: text)
            if architecture == nil {
                log.error(f.origin("architecture"), f.child("architecture"), "unknown architecture \"\(text)\"; expected one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var tensor = base?.tensor
        if let tensorNode = f.value("tensor"), let t = FieldReader(tensorNode, path: f.child("tensor"), log: log, allowed: tensorKeys) {
            func rate(_ p: Precision) -> Double? { t.quantity(p.rawValue, .flopRate, minimum: 0, exclusive: true) ?? base?.tensor[p] }
            if let fp64 = rate(.fp64), let tf32 = rate(.tf32), let bf16 = rate(.bf16), let fp8 = rate(.fp8) {
                tensor = TensorRates(fp64: fp64, tf32: tf32, bf16: bf16, fp8: fp8, fp4: rate(.fp4))
            } else if log.errors.count == errorsBefore {
                t.missing(Precision.allCases.first { rate($0) == nil && $0 != .fp4 }!.rawValue, "a FLOP rate such as \"989 TFLOPS\"")
            }
        }
        let maxClock = f.quantity("max_clock", .frequency, minimum: 0, exclusive: true)
        let gpu = GPUSpec(
            name: f.string("name") ?? base?.name ?? "custom",
            architecture: need(architecture, "architecture", "hopper, blackwell or blackwell-ultra") ?? .hopper,
            smCount: need(f.integer("sms", in: 1...100_000) ?? base?.smCount, "sms", "an integer") ?? 1,
            clock: need(f.quantity("clock", .frequency, minimum: 0, exclusive: true) ?? base?.clock, "clock", "a frequency") ?? 1,
            tensor: need(tensor, "tensor", "dense FLOP rates per precision") ?? TensorRates(fp64: 1, tf32: 1, bf16: 1, fp8: 1, fp4: nil),
            expRate: need(f.quantity("exp_rate", .rate, minimum: 0, exclusive: true) ?? base?.expRate, "exp_rate", "a rate") ?? 1,
            hbmCapacity: need(f.quantity("hbm_capacity", .bytes, minimum: 0, exclusive: true) ?? base?.hbmCapacity, "hbm_capacity", "a size") ?? 1,
            hbmBandwidth: need(f.quantity("hbm_bandwidth", .bandwidth, minimum: 0, exclusive: true) ?? base?.hbmBandwidth, "hbm_bandwidth", "a bandwidth") ?? 1,
            l2Size: need(f.quantity("l2_size", .bytes) ?? base?.l2Size, "l2_size", "a size") ?? 0,
            nvlinkBandwidthPerDirection: need(f.quantity("nvlink_bandwidth", .bandwidth, minimum: 0, exclusive: true) ?? base?.nvlinkBandwidthPerDirection, "nvlink_bandwidth", "a bandwidth") ?? 1,
            nvls: f.bool("nvls") ?? base?.nvls ?? false,
            nicBandwidthPerDirection: need(f.quantity("nic_bandwidth", .bandwidth, minimum: 0, exclusive: true) ?? base?.nicBandwidthPerDirection, "nic_bandwidth", "a bandwidth") ?? 1,
            hostBandwidthPerDirection: need(f.quantity("host_bandwidth", .bandwidth, minimum: 0, exclusive: true) ?? base?.hostBandwidthPerDirection, "host_bandwidth", "a bandwidth") ?? 1,
            // At most 100 kW: 70 times the largest board (GB300, 1,400 W; datasheets.md).
            tdp: need(f.quantity("tdp", .power, minimum: 0, exclusive: true, maximum: 1e5) ?? base?.tdp, "tdp", "a power") ?? 1,
            maxClock: maxClock ?? base?.maxClock
        )
        // The power model divides by these: keep them physical (a board of at most 100 kW, a
        // boost clock from the spec clock up to twice it).
        if let given = maxClock, given < gpu.clock || given > 2 * gpu.clock {
            log.error(f.origin("max_clock"), f.child("max_clock"),
                      "the maximum boost clock lies between clock (\(String(format: "%g", gpu.clock)) Hz) and twice it, got \(String(format: "%g", given)) Hz")
        }
        return log.errors.count == errorsBefore ? gpu : nil
    }
}
