import Foundation
import Testing
import Experiments
import Report
import Scenario
import Stats
import TestSupport
import Workloads

/// Mutations of the shipped scenarios, generated from a fixed seed: every one must either be
/// refused as bad input (every diagnostic naming the file, and a key or a line) or run to
/// finite metrics, within seconds. A crash or trap ends the test process, so it fails too.
/// The runs are in-process (the CLI's exit statuses and files are CLITests' and
/// RobustnessTests'), with small work limits so that every accepted case is quick.
@Suite struct FuzzTests {
    /// The project's GSL stream (mt19937): a fixed seed gives the same cases on every machine.
    struct Generator {
        let stream: RandomStream
        init(seed: UInt) { stream = RandomStream(generatorSeed: seed) }
        func below(_ n: Int) -> Int { stream.uniformInt(below: n) }
        func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    enum Class: String, CaseIterable {
        case value, drop, duplicate, rename, wrongType, truncate, invalidUTF8, aliasBomb, longString, badSet
    }

    /// Values a number, a unit or a name may be replaced with.
    static let values = [
        "0", "-1", "1e308", ".inf", "-.inf", ".nan", "inf", "nan", "1e308 EB", "1e308 GB/s", "1e-308", "5e-324", "lots",
        "1e20 h", "1e9", "100000", "2147483648", "9223372036854775807", "99999999999999999999", "1e300", "1e15", "-0",
        "~", "1 EB", "1e30 TB/s", "1e200 TFLOP/s", "3 parsecs", "12 GB/s/s", "0x10", "1_000", "''",
    ]

    static let setPaths = [
        "workload.duration", "workload.arrival_rate", "workload.parallelism.tp", "workload.batch", "cluster.gpus",
        "noise.kernel_cv", "workload.links[7].bandwidth", "workload..x", "[0]", "workload.links[-1].bandwidth",
        "variants[0].name", "seed", "replications", "name", "workload.gpus", "workload.fold", "cluster.system.gpu.clock",
    ]

    struct Case {
        var cls: Class
        var bytes: [UInt8]
        var overrides: [String]
    }

    static func mutate(_ text: String, _ g: Generator) -> Case {
        var lines = text.components(separatedBy: "\n")
        let keyed = lines.indices.filter { i in
            let t = lines[i].trimmingCharacters(in: .whitespaces)
            return !t.hasPrefix("#") && t.range(of: #"^-?\s*[a-z_]+:"#, options: .regularExpression) != nil
        }
        let cls = g.pick(Class.allCases)
        func joined() -> [UInt8] { Array(lines.joined(separator: "\n").utf8) }
        switch cls {
        case .value, .wrongType, .longString:
            guard !keyed.isEmpty else { break }
            let i = g.pick(keyed)
            let line = lines[i]
            let matches = (try? NSRegularExpression(pattern: #"([a-z_0-9]+):[ ]*([^,{}\[\]#\n]+)"#))?
                .matches(in: line, range: NSRange(line.startIndex..., in: line)) ?? []
            guard let match = matches.isEmpty ? nil : g.pick(matches), let range = Range(match.range(at: 2), in: line) else { break }
            let replacement: String
            switch cls {
            case .value: replacement = g.pick(values)
            case .wrongType: replacement = g.pick(["[1, 2]", "{a: 1}", "[]", "{}", "true", "\"text\""])
            default: replacement = String(repeating: g.pick(["x", "9", "é"]), count: 2_000 + g.below(8_000))
            }
            let trailing = line[range].hasSuffix(" ") ? " " : ""
            lines[i] = line.replacingCharacters(in: range, with: replacement + trailing)
        case .drop:
            if !keyed.isEmpty { lines.remove(at: g.pick(keyed)) }
        case .duplicate:
            if !keyed.isEmpty { let i = g.pick(keyed); lines.insert(lines[i], at: i) }
        case .rename:
            if !keyed.isEmpty {
                let i = g.pick(keyed)
                if let colon = lines[i].firstIndex(of: ":") { lines[i].insert(contentsOf: g.pick(["x", "_", "s"]), at: colon) }
            }
        case .truncate:
            let bytes = joined()
            return Case(cls: cls, bytes: Array(bytes.prefix(g.below(bytes.count))), overrides: [])
        case .invalidUTF8:
            var bytes = joined()
            bytes.insert(contentsOf: g.pick([[0xFF], [0xC3], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xC0, 0xAF]]), at: g.below(bytes.count))
            return Case(cls: cls, bytes: bytes, overrides: [])
        case .aliasBomb:
            var bomb = "bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n"
            for k in 1...(3 + g.below(6)) { bomb += "bomb\(k): &b\(k) [" + Array(repeating: "*b\(k - 1)", count: 10).joined(separator: ", ") + "]\n" }
            return Case(cls: cls, bytes: Array((bomb + lines.joined(separator: "\n")).utf8), overrides: [])
        case .badSet:
            return Case(cls: cls, bytes: joined(), overrides: ["\(g.pick(setPaths))=\(g.pick(values))"])
        }
        return Case(cls: cls, bytes: joined(), overrides: [])
    }

    enum Outcome: String { case refused, ran, accepted }

    /// Loads, checks and (when valid) runs one case as `run` does, under small limits.
    /// `simulate` false: an accepted case is loaded and checked but not run.
    static func attempt(_ c: Case, file: String, simulate: Bool) throws -> Outcome {
        try Data(c.bytes).write(to: URL(fileURLWithPath: file))
        let plan: ExperimentPlan
        do {
            plan = try ScenarioLoader.load(path: file, overrides: c.overrides + ["replications=1"])
        } catch {
            for d in error.diagnostics {
                #expect(d.file == file, "\(c.cls): \(d)")
                let located = !d.path.isEmpty || d.origin != nil
                #expect(located, "\(c.cls): no key or line in \(d)")
            }
            return .refused
        }
        do {
            try ExperimentRunner.check(plan, limits: ExperimentRunner.WorkLimits(maxEvents: 5e4, maxMemory: 1e8))
        } catch {
            #expect(error.message.hasPrefix(file), "\(c.cls): \(error.message)")
            return .refused
        }
        guard simulate else { return .accepted }
        // Two variants at most: a sweep of batch sizes in variants takes seconds in a debug build.
        var short = plan
        short.variants = Array(plan.variants.prefix(2))
        // A quarter of each serving run (the check is for finite metrics, not their values):
        // a latency-target rate search runs its workload ten times or more.
        for i in short.variants.indices {
            let spec = short.variants[i].spec
            if let quarter = spec.kind.shortened(spec, to: 0.25) { short.variants[i].spec = quarter }
        }
        let results = ExperimentRunner.run(short, threads: 1)
        for run in results.replications {
            for metric in run.metrics { #expect(metric.value.isFinite, "\(c.cls): \(metric.name) = \(metric.value) in \(String(decoding: c.bytes, as: UTF8.self).prefix(300))") }
        }
        return .ran
    }

    @Test func mutatedScenariosAreRefusedOrRunFinite() throws {
        let folder = TestSupport.packageRoot.appendingPathComponent("scenarios")
        let bases = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { ($0, try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8)) }
        #expect(bases.count >= 20)
        // The mutated file sits in a folder whose traces/ is the shipped one, so a trace path
        // resolves as it would.
        let dir = TestSupport.temporaryDirectory("clustersim-fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("traces"), withDestinationURL: folder.appendingPathComponent("traces"))
        let file = dir.appendingPathComponent("fuzz.yaml").path
        let g = Generator(seed: 20261202)
        var counts: [String: Int] = [:]
        let start = Date()
        var tried = 0, slowest = 0.0
        var times: [String: Double] = [:]
        var slowestCase = ""
        // Bounded by count and by time, so a slow CI machine tries fewer cases, never times out.
        while tried < 3_000 && Date().timeIntervalSince(start) < 100 {
            let (name, text) = g.pick(bases)
            let c = Self.mutate(text, g)
            let t0 = Date()
            // Debug-build simulations take ~1 s each: accepted cases run while 40 s of the
            // budget remain for them, the rest are loaded and checked only.
            let outcome = try Self.attempt(c, file: file, simulate: times["ran", default: 0] < 40)
            let seconds = Date().timeIntervalSince(t0)
            if seconds > slowest { slowest = seconds; slowestCase = "\(c.cls) \(outcome) \(name)" }
            #expect(seconds < 10, "\(c.cls) took \(seconds) s")
            counts["\(c.cls.rawValue) \(outcome.rawValue)", default: 0] += 1
            times[outcome.rawValue, default: 0] += seconds
            tried += 1
        }
        print("fuzz: \(tried) cases in \(Int(Date().timeIntervalSince(start))) s (slowest \(String(format: "%.2f", slowest)) s: \(slowestCase)): "
              + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(tried >= 1_000)
        #expect(counts.contains { $0.key.hasSuffix(" ran") })
        for cls in Class.allCases { #expect(counts.keys.contains { $0.hasPrefix(cls.rawValue + " ") }, "\(cls) never tried") }
    }
}
