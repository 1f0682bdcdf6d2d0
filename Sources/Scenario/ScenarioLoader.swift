// Reading a scenario: YAML → node tree → overrides → variants → typed, validated specs.
// Every problem is collected and reported together; nothing is written on bad input.
import Foundation
import Hardware
import Workloads

public enum ScenarioLoader {
    static let topLevelKeys = ["name", "description", "seed", "replications", "cluster", "workload", "stack", "noise", "variants", "compare"]
    /// Keys a variant may not change: they define the experiment, not one variant of it.
    static let experimentKeys = ["name", "seed", "replications", "variants", "compare"]

    /// Reads the scenario file at `path` and applies `overrides` (`key.path=value`).
    public static func load(path: String, overrides: [String] = []) throws(ScenarioError) -> ExperimentPlan {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw ScenarioError([Diagnostic(file: path, origin: nil, path: "", message: reason)])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError([Diagnostic(file: path, origin: nil, path: "", message: "is not UTF-8 text")])
        }
        return try plan(text: text, file: path, overrides: overrides, contents: [UInt8](data))
    }

    /// Builds the plan from YAML text (`file` names it in messages).
    public static func plan(text: String, file: String, overrides: [String] = [], contents: [UInt8]? = nil) throws(ScenarioError) -> ExperimentPlan {
        var tree = try YAMLReader.parse(text, file: file)
        if case .null = tree { throw ScenarioError([Diagnostic(file: file, origin: nil, path: "", message: "the file is empty")]) }
        var problems: [Diagnostic] = []
        for argument in overrides {
            do {
                try Override.parse(argument, file: file).apply(to: &tree, file: file)
            } catch {
                problems += error.diagnostics
            }
        }
        if !problems.isEmpty { throw ScenarioError(problems) }

        let log = DiagnosticLog(file: file)
        // Keys are checked once, by `decode`.
        guard let top = FieldReader(tree, path: "", log: log, allowed: nil) else { throw ScenarioError(log.errors) }
        let variantEntries = readVariants(top, log: log)
        let base = decode(tree, log: log)
        let compare = readCompare(top, variantNames: variantEntries.map(\.name), log: log)

        var variants: [Variant] = []
        for entry in variantEntries {
            guard !entry.overrides.isEmpty else {
                if let base { variants.append(Variant(name: entry.name, spec: base)) }
                continue
            }
            var variantTree = tree
            var applied = true
            for override in entry.overrides {
                do { try override.apply(to: &variantTree, file: file) } catch {
                    log.errors += error.diagnostics.map { var d = $0; d.message += " (variant \"\(entry.name)\")"; return d }
                    applied = false
                }
            }
            guard applied else { continue }
            // Report only what the variant adds: the base's own problems are already logged.
            let variantLog = DiagnosticLog(file: file)
            variantLog.context = " (variant \"\(entry.name)\")"
            if let spec = decode(variantTree, log: variantLog) { variants.append(Variant(name: entry.name, spec: spec)) }
            log.errors += variantLog.errors.filter { !log.errors.contains(stripping: $0, context: variantLog.context) }
        }
        if !log.errors.isEmpty { throw ScenarioError(log.errors) }
        guard let base else { throw ScenarioError(log.errors) }

        return ExperimentPlan(
            name: base.name,
            file: file,
            fileContents: contents ?? Array(text.utf8),
            seed: base.seed,
            replications: base.replications,
            variants: variants,
            compare: compare,
            warnings: log.warnings
        )
    }

    struct VariantEntry {
        var name: String
        var overrides: [Override]
    }

    /// The variants list; the base scenario runs as "base" unless a variant without `set` names it.
    static func readVariants(_ top: FieldReader, log: DiagnosticLog) -> [VariantEntry] {
        guard let items = top.sequence("variants") else { return [VariantEntry(name: "base", overrides: [])] }
        var entries: [VariantEntry] = []
        for (i, item) in items.enumerated() {
            let path = "variants[\(i)]"
            guard let fields = FieldReader(item, path: path, log: log, allowed: ["name", "set"]) else { continue }
            guard let name = fields.string("name", required: true) else { continue }
            if !isPlainName(name) {
                log.error(fields.origin("name"), "\(path).name", "\"\(name)\" must be letters, digits, '.', '_' or '-'")
            }
            if entries.contains(where: { $0.name == name }) {
                log.error(fields.origin("name"), "\(path).name", "variant \"\(name)\" is defined twice")
                continue
            }
            var overrides: [Override] = []
            if let set = fields.value("set") {
                guard case .mapping(let pairs, _) = set else {
                    log.error(set.origin, "\(path).set", "expected a mapping of key paths to values, got \(set.described)")
                    continue
                }
                for (key, value) in pairs {
                    guard let components = PathComponent.parse(key) else {
                        log.error(value.origin, "\(path).set.\(key)", "malformed key path; write it like cluster.system")
                        continue
                    }
                    if case .key(let first) = components[0], experimentKeys.contains(first) {
                        log.error(value.origin, "\(path).set.\(key)", "a variant cannot change \"\(first)\"; it belongs to the whole experiment")
                        continue
                    }
                    overrides.append(Override(path: components, value: value))
                }
            }
            entries.append(VariantEntry(name: name, overrides: overrides))
        }
        if entries.isEmpty { log.error(top.origin("variants"), "variants", "the list is empty; remove it to run the base scenario alone") }
        if !entries.contains(where: { $0.overrides.isEmpty }) && !entries.contains(where: { $0.name == "base" }) {
            entries.insert(VariantEntry(name: "base", overrides: []), at: 0)
        }
        return entries
    }

    static func readCompare(_ top: FieldReader, variantNames: [String], log: DiagnosticLog) -> CompareSpec? {
        guard let node = top.value("compare"),
              let fields = FieldReader(node, path: "compare", log: log, allowed: ["baseline", "claim", "margin", "metric"])
        else { return nil }
        guard let baseline = fields.string("baseline", required: true) else { return nil }
        if !variantNames.contains(baseline) {
            var message = "no variant is named \"\(baseline)\""
            if let guess = closestName(to: baseline, among: variantNames) { message += "; did you mean \"\(guess)\"?" }
            log.error(fields.origin("baseline"), "compare.baseline", message)
        }
        let claim = fields.quantity("claim", .count, minimum: 0, exclusive: true)
        var spec = CompareSpec(baseline: baseline, claim: claim)
        spec.margin = fields.quantity("margin", .count) ?? 0.05
        spec.metric = fields.string("metric")
        return spec
    }

    /// Decodes one tree (base or variant) into a spec, logging every problem.
    static func decode(_ tree: ConfigNode, log: DiagnosticLog) -> ScenarioSpec? {
        guard let top = FieldReader(tree, path: "", log: log, allowed: topLevelKeys) else { return nil }
        let errorsBefore = log.errors.count
        let name = top.string("name", required: true)
        if let name, !isPlainName(name) {
            log.error(top.origin("name"), "name", "\"\(name)\" must be letters, digits, '.', '_' or '-' (it names the results folder)")
        }
        let description = top.string("description") ?? ""
        let seed = top.integer("seed", in: 0...Int.max) ?? 1
        let replications = top.integer("replications", in: 1...1_000_000) ?? 1
        let cluster = readCluster(top, log: log)
        let stack = readStack(top, log: log)
        let noise = readNoise(top, log: log)
        var workload = readWorkload(top, log: log)
        if let workload { warnAboutUnusedKnobs(top, workload: workload, stack: stack, noise: noise, log: log) }
        if let workload, workload.kind != .transfers, cluster == nil, !top.has("cluster") {
            top.missing("cluster", "a system for workload kind \"\(workload.kind.rawValue)\", e.g. cluster: { system: h100-sxm }")
        }
        if case .collective(let c)? = workload, let system = cluster?.system {
            let perDomain = Swift.min(c.gpusPerDomain ?? system.gpusPerNVLinkDomain, system.gpusPerNVLinkDomain)
            if let asked = c.gpusPerDomain, asked > system.gpusPerNVLinkDomain {
                log.error(top.value("workload")?["gpus_per_domain"]?.origin, "workload.gpus_per_domain", "\(system.name) has \(system.gpusPerNVLinkDomain) GPUs per NVLink domain, not \(asked)")
            }
            if c.gpus > perDomain, let algorithm = c.algorithm {
                log.error(top.value("workload")?["algorithm"]?.origin, "workload.algorithm", "\(c.gpus) GPUs span more than one NVLink domain of \(system.name) (\(perDomain) per domain), where the algorithm is hierarchical; remove algorithm \"\(algorithm)\"")
            }
            if c.algorithm == "nvls" && (!system.gpu.nvls || c.operation != "all_reduce") {
                log.error(top.value("workload")?["algorithm"]?.origin, "workload.algorithm", "nvls needs an all_reduce on NVLink SHARP hardware")
            }
            if c.algorithm == "direct" && c.operation != "alltoall" || c.algorithm == "ring" && c.operation == "alltoall" {
                log.error(top.value("workload")?["algorithm"]?.origin, "workload.algorithm", "\(c.algorithm!) does not implement \(c.operation)")
            }
        }
        if case .training(var t)? = workload, let cluster {
            resolveTraining(&t, cluster: cluster, top: top, log: log)
            workload = .training(t)
        }
        var inference: DecodeSpec?
        switch workload {
        case .decode(let d)?: inference = d
        case .serving(let s)?: inference = s.inference
        default: break
        }
        if let speculative = stack.speculative {
            let inferenceSpec: DecodeSpec? = switch workload {
            case .decode(let d)?: d
            case .serving(let s)?: s.disaggregated == nil ? s.inference : nil
            default: nil
            }
            if let d = inferenceSpec {
                if speculative.draftModel.heads % d.tp != 0 || speculative.draftModel.mla != nil || d.pp > 1 {
                    log.error(top.value("stack")?["speculative"]?.origin, "stack.speculative",
                              d.pp > 1 ? "speculative decoding with pipeline stages is not modelled" : "draft model \(speculative.draftModel.name) must have grouped-query attention with heads divisible by tp \(d.tp)")
                }
            } else if let workload {
                log.warning(top.value("stack")?["speculative"]?.origin, "stack.speculative", "has no effect on workload kind \"\(workload.kind.rawValue)\" (decode and colocated serving only)")
            }
        }
        if let d = inference, let system = cluster?.system {
            let needed = d.instanceGPUs * d.pp * d.dp * (servingPools(workload) ?? 1)
            if let gpus = cluster?.gpus, gpus < needed {
                log.error(top.value("cluster")?["gpus"]?.origin, "cluster.gpus", "\(gpus) GPUs, but the workload's parallelism needs \(needed)")
            }
            if d.tp > system.gpusPerNVLinkDomain {
                log.error(top.value("workload")?["parallelism"]?.origin, "workload.parallelism.tp", "tp \(d.tp) exceeds \(system.name)'s NVLink domain (\(system.gpusPerNVLinkDomain) GPUs)")
            }
            if system.gpu.tensor[d.precision] == nil {
                log.error(top.value("workload")?["precision"]?.origin, "workload.precision", "\(system.gpu.name) has no \(d.precision.rawValue) tensor cores")
            }
            if d.kvPrecision == .fp4 && system.gpu.tensor.fp4 == nil {
                log.error(top.value("workload")?["kv_precision"]?.origin, "workload.kv_precision", "an fp4 (NVFP4) KV cache needs Blackwell; \(system.gpu.name) has no fp4")
            }
        }
        if case .gemm(let gemm)? = workload, let gpu = cluster?.system.gpu, gpu.tensor[gemm.precision] == nil {
            log.error(top.value("workload")?["precision"]?.origin, "workload.precision", "\(gpu.name) has no \(gemm.precision.rawValue) tensor cores")
        }
        guard log.errors.count == errorsBefore, let name, let workload else { return nil }
        return ScenarioSpec(
            name: name, description: description, seed: UInt64(seed), replications: replications,
            cluster: cluster, workload: workload, stack: stack, noise: noise
        )
    }

    static func readCluster(_ top: FieldReader, log: DiagnosticLog) -> ClusterSpec? {
        guard let node = top.value("cluster"),
              let fields = FieldReader(node, path: "cluster", log: log, allowed: ["system", "gpus", "scale_out"])
        else { return nil }
        guard let systemNode = fields.value("system") else {
            fields.missing("system", "a preset such as h100-sxm, or an inline system")
            return nil
        }
        let system = HardwareYAML.readSystem(systemNode, path: "cluster.system", log: log)
        let gpus = fields.integer("gpus", in: 1...1_000_000)
        var domainsPerLeaf: Int?
        var oversubscription = 1.0
        if let fabric = fields.value("scale_out"),
           let f = FieldReader(fabric, path: "cluster.scale_out", log: log, allowed: ["domains_per_leaf", "oversubscription"]) {
            domainsPerLeaf = f.integer("domains_per_leaf", in: 1...1_000_000)
            oversubscription = f.quantity("oversubscription", .count, minimum: 1) ?? 1
        }
        return system.map { ClusterSpec(system: $0, gpus: gpus, domainsPerLeaf: domainsPerLeaf, oversubscription: oversubscription) }
    }

    static func readStack(_ top: FieldReader, log: DiagnosticLog) -> StackSpec {
        var stack = StackSpec()
        guard let node = top.value("stack"),
              let fields = FieldReader(node, path: "stack", log: log, allowed: ["cuda_graphs", "launch_overhead", "kernel_efficiency", "communication_overlap",
                                                                                 "attention_efficiency", "speculative"])
        else { return stack }
        stack.cudaGraphs = fields.bool("cuda_graphs") ?? false
        stack.launchOverhead = fields.quantity("launch_overhead", .time) ?? stack.launchOverhead
        if let node = fields.value("kernel_efficiency"), case .mapping = node {
            // Per kernel class.
            if let c = FieldReader(node, path: "stack.kernel_efficiency", log: log, allowed: ["gemm", "attention", "elementwise"]) {
                stack.gemmEfficiency = c.quantity("gemm", .count, minimum: 0, exclusive: true) ?? 1
                stack.attentionEfficiency = c.quantity("attention", .count, minimum: 0, exclusive: true) ?? 1
                stack.elementwiseEfficiency = c.quantity("elementwise", .count, minimum: 0, exclusive: true) ?? 1
            }
        } else {
            stack.kernelEfficiency = fields.quantity("kernel_efficiency", .count, minimum: 0, exclusive: true) ?? 1
        }
        let overlap = fields.quantity("communication_overlap", .count) ?? 0
        if overlap > 1 { log.error(fields.origin("communication_overlap"), "stack.communication_overlap", "must be between 0 and 1, got \(overlap)") }
        stack.communicationOverlap = Swift.min(overlap, 1)
        stack.attentionEfficiency *= fields.quantity("attention_efficiency", .count, minimum: 0, exclusive: true) ?? 1
        if let node = fields.value("speculative"),
           let f = FieldReader(node, path: "stack.speculative", log: log, allowed: ["draft_model", "draft_tokens", "acceptance"]) {
            var draft: ModelSpec?
            if let modelNode = f.value("draft_model") {
                draft = ModelYAML.readModel(modelNode, path: "stack.speculative.draft_model", log: log)
            } else {
                f.missing("draft_model", "a catalog name such as llama3-8b, or an inline model")
            }
            let tokens = f.integer("draft_tokens", in: 1...64, required: true)
            let acceptance = f.quantity("acceptance", .count, required: true)
            if let acceptance, acceptance > 1 {
                log.error(f.origin("acceptance"), "stack.speculative.acceptance", "must be between 0 and 1, got \(acceptance)")
            }
            if let draft, let tokens, let acceptance, acceptance <= 1 {
                stack.speculative = SpeculativeSpec(draftModel: draft, draftTokens: tokens, acceptance: acceptance)
            }
        }
        return stack
    }

    static func readNoise(_ top: FieldReader, log: DiagnosticLog) -> NoiseSpec {
        var noise = NoiseSpec()
        guard let node = top.value("noise"),
              let fields = FieldReader(node, path: "noise", log: log, allowed: ["kernel_cv", "network_cv", "clock_cv", "common_random_numbers", "stragglers"])
        else { return noise }
        noise.kernelCV = fields.quantity("kernel_cv", .count) ?? 0
        noise.networkCV = fields.quantity("network_cv", .count) ?? 0
        noise.clockCV = fields.quantity("clock_cv", .count) ?? 0
        noise.commonRandomNumbers = fields.bool("common_random_numbers") ?? true
        if let node = fields.value("stragglers"),
           let s = FieldReader(node, path: "noise.stragglers", log: log, allowed: ["probability", "slowdown"]) {
            let p = s.quantity("probability", .count) ?? 0
            if p > 1 { log.error(s.origin("probability"), "noise.stragglers.probability", "must be ≤ 1, got \(p)") }
            noise.stragglerProbability = Swift.min(p, 1)
            noise.stragglerSlowdown = s.quantity("slowdown", .count, minimum: 1) ?? 1
        }
        return noise
    }

    static func readWorkload(_ top: FieldReader, log: DiagnosticLog) -> WorkloadSpec? {
        guard let node = top.value("workload") else {
            top.missing("workload", "a mapping with a kind")
            return nil
        }
        guard case .mapping = node else {
            log.error(node.origin, "workload", "expected a mapping with a kind, got \(node.described)")
            return nil
        }
        guard let kindNode = node["kind"], case .scalar(let kindText, _) = kindNode else {
            log.error(node.origin, "workload.kind", "missing required key (one of \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        guard let kind = WorkloadKind(rawValue: kindText) else {
            var message = "unknown workload kind \"\(kindText)\""
            if let guess = closestName(to: kindText, among: WorkloadKind.allCases.map(\.rawValue)) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; expected one of \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", "))" }
            log.error(kindNode.origin, "workload.kind", message)
            return nil
        }
        switch kind {
        case .transfers:
            return readTransfers(node, log: log).map(WorkloadSpec.transfers)
        case .gemm:
            return readGEMM(node, log: log).map(WorkloadSpec.gemm)
        case .memcpy:
            return readMemcpy(node, log: log).map(WorkloadSpec.memcpy)
        case .collective:
            return readCollective(node, log: log).map(WorkloadSpec.collective)
        case .training:
            return readTraining(node, log: log).map(WorkloadSpec.training)
        case .decode:
            return readDecode(node, log: log).map(WorkloadSpec.decode)
        case .serving:
            return readServing(node, log: log).map(WorkloadSpec.serving)
        }
    }

    static func readTransfers(_ node: ConfigNode, log: DiagnosticLog) -> TransfersSpec? {
        guard let fields = FieldReader(node, path: "workload", log: log, allowed: ["kind", "links", "transfers"]) else { return nil }
        let errorsBefore = log.errors.count
        var links: [LinkSpec] = []
        if let items = fields.sequence("links") {
            for (i, item) in items.enumerated() {
                let path = "workload.links[\(i)]"
                guard let link = FieldReader(item, path: path, log: log, allowed: ["name", "bandwidth", "latency"]) else { continue }
                let name = link.string("name", required: true)
                if let name, links.contains(where: { $0.name == name }) {
                    log.error(link.origin("name"), "\(path).name", "link \"\(name)\" is defined twice")
                }
                let bandwidth = link.quantity("bandwidth", .bandwidth, minimum: 0, exclusive: true, required: true)
                let latency = link.quantity("latency", .time) ?? 0
                // A link with a bad value is still known by name, so paths through it raise no
                // second error; its problem is already logged and no spec will be returned.
                if let name { links.append(LinkSpec(name: name, bandwidth: bandwidth ?? .nan, latency: latency)) }
            }
        } else if !fields.has("links") {
            fields.missing("links", "a list of links with name, bandwidth and latency")
        }
        if links.isEmpty && fields.has("links") && log.errors.count == errorsBefore {
            log.error(fields.origin("links"), "workload.links", "the list is empty")
        }

        var transfers: [TransferSpec] = []
        if let items = fields.sequence("transfers") {
            for (i, item) in items.enumerated() {
                let path = "workload.transfers[\(i)]"
                guard let transfer = FieldReader(item, path: path, log: log, allowed: ["name", "bytes", "path", "start"]) else { continue }
                let name = transfer.string("name", required: true)
                if let name, transfers.contains(where: { $0.name == name }) {
                    log.error(transfer.origin("name"), "\(path).name", "transfer \"\(name)\" is defined twice")
                }
                if let name, !isPlainName(name) {
                    log.error(transfer.origin("name"), "\(path).name", "\"\(name)\" must be letters, digits, '.', '_' or '-' (it names metrics)")
                }
                let bytes = transfer.quantity("bytes", .bytes, required: true)
                let start = transfer.quantity("start", .time) ?? 0
                var route: [Int] = []
                var routeOK = true
                if let hops = transfer.sequence("path") {
                    if hops.isEmpty { log.error(transfer.origin("path"), "\(path).path", "the list is empty; name at least one link") }
                    for (j, hop) in hops.enumerated() {
                        guard case .scalar(let linkName, let origin) = hop else {
                            log.error(hop.origin, "\(path).path[\(j)]", "expected a link name, got \(hop.described)")
                            routeOK = false
                            continue
                        }
                        if let index = links.firstIndex(where: { $0.name == linkName }) {
                            route.append(index)
                        } else {
                            var message = "no link is named \"\(linkName)\""
                            if let guess = closestName(to: linkName, among: links.map(\.name)) { message += "; did you mean \"\(guess)\"?" }
                            log.error(origin, "\(path).path[\(j)]", message)
                            routeOK = false
                        }
                    }
                } else if !transfer.has("path") {
                    transfer.missing("path", "a list of link names")
                    routeOK = false
                }
                if let name, let bytes, routeOK, !route.isEmpty {
                    transfers.append(TransferSpec(name: name, bytes: bytes, path: route, start: start))
                }
            }
        } else if !fields.has("transfers") {
            fields.missing("transfers", "a list of transfers with name, bytes and path")
        }
        if transfers.isEmpty && fields.has("transfers") && log.errors.count == errorsBefore {
            log.error(fields.origin("transfers"), "workload.transfers", "the list is empty")
        }
        guard log.errors.count == errorsBefore else { return nil }
        return TransfersSpec(links: links, transfers: transfers)
    }

    static func readGEMM(_ node: ConfigNode, log: DiagnosticLog) -> GEMMSpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: ["kind", "m", "n", "k", "precision", "batch", "iterations", "quantize_activations"]) else { return nil }
        let m = f.integer("m", in: 1...Int(1 << 40), required: true)
        let n = f.integer("n", in: 1...Int(1 << 40), required: true)
        let k = f.integer("k", in: 1...Int(1 << 40), required: true)
        let precision = readPrecision(f, log: log) ?? .bf16
        let batch = f.integer("batch", in: 1...1_000_000) ?? 1
        let iterations = f.integer("iterations", in: 1...1_000_000) ?? 10
        let quantize = f.bool("quantize_activations") ?? false
        guard let m, let n, let k else { return nil }
        return GEMMSpec(m: m, n: n, k: k, precision: precision, batch: batch, iterations: iterations, quantizeActivations: quantize)
    }

    static func readPrecision(_ f: FieldReader, log: DiagnosticLog) -> Precision? {
        guard let text = f.string("precision") else { return nil }
        guard let precision = Precision(rawValue: text) else {
            var message = "unknown precision \"\(text)\""
            if let guess = closestName(to: text, among: Precision.allCases.map(\.rawValue)) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; expected one of \(Precision.allCases.map(\.rawValue).joined(separator: ", "))" }
            log.error(f.origin("precision"), f.child("precision"), message)
            return nil
        }
        return precision
    }

    static func readMemcpy(_ node: ConfigNode, log: DiagnosticLog) -> MemcpySpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: ["kind", "bytes", "iterations"]) else { return nil }
        let bytes = f.quantity("bytes", .bytes, minimum: 0, exclusive: true, required: true)
        let iterations = f.integer("iterations", in: 1...1_000_000) ?? 10
        return bytes.map { MemcpySpec(bytes: $0, iterations: iterations) }
    }

    static let servingKeys = ["arrival_rate", "trace", "duration", "requests", "max_batch", "chunk_tokens", "memory_fraction", "slo", "disaggregated"]

    static func readServing(_ node: ConfigNode, log: DiagnosticLog) -> ServingSpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: nil) else { return nil }
        let errorsBefore = log.errors.count
        // A trace gives every request its own sizes, so the decode keys for them are optional.
        let traced = f.has("trace")
        let inference = readDecode(node, log: log, extraKeys: servingKeys, sizesRequired: !traced)
        var trace: [TracedRequest]?
        var rate: Double?
        if traced {
            if f.has("arrival_rate") { log.error(f.origin("arrival_rate"), "workload.arrival_rate", "give either arrival_rate or trace, not both") }
            if let path = f.string("trace") { trace = readTrace(path, origin: f.origin("trace"), log: log) }
        } else {
            rate = f.quantity("arrival_rate", .count, minimum: 0, exclusive: true, required: true)
        }
        let duration = f.quantity("duration", .time, minimum: 0, exclusive: true)
        let requests = f.integer("requests", in: 1...100_000_000)
        if duration == nil && requests == nil && f.has("arrival_rate") {
            log.error(node.origin, "workload.duration", "missing: bound the run by duration (e.g. \"1 h\") or requests")
        }
        let maxBatch = f.integer("max_batch", in: 1...100_000) ?? 256
        let chunk = f.integer("chunk_tokens", in: 1...10_000_000) ?? 2048
        let fraction = f.quantity("memory_fraction", .count, minimum: 0, exclusive: true) ?? 0.9
        if fraction > 1 { log.error(f.origin("memory_fraction"), "workload.memory_fraction", "must be ≤ 1, got \(fraction)") }
        var slo: ServingSLO?
        if let node = f.value("slo"), let g = FieldReader(node, path: "workload.slo", log: log, allowed: ["tpot_p99", "ttft_p99"]) {
            let tpot = g.quantity("tpot_p99", .time, minimum: 0, exclusive: true, required: true)
            let ttft = g.quantity("ttft_p99", .time, minimum: 0, exclusive: true, required: true)
            if traced { log.error(f.origin("slo"), "workload.slo", "searches the Poisson arrival rate; it cannot be used with a trace") }
            if let tpot, let ttft { slo = ServingSLO(tpotP99: tpot, ttftP99: ttft) }
        }
        var disaggregated: Disaggregation?
        if let node = f.value("disaggregated"),
           let g = FieldReader(node, path: "workload.disaggregated", log: log, allowed: ["prefill_instances", "decode_instances", "kv_transfer"]) {
            let prefill = g.integer("prefill_instances", in: 1...100_000, required: true)
            let decode = g.integer("decode_instances", in: 1...100_000, required: true)
            var same = true
            if let link = g.string("kv_transfer") {
                if link == "nvlink" || link == "network" { same = link == "nvlink" } else {
                    log.error(g.origin("kv_transfer"), "workload.disaggregated.kv_transfer", "expected nvlink or network, got \"\(link)\"")
                }
            }
            if let prefill, let decode { disaggregated = Disaggregation(prefillInstances: prefill, decodeInstances: decode, sameDomain: same) }
        }
        if disaggregated != nil, let inference, inference.dp > 1 {
            log.error(f.value("parallelism")?["dp"]?.origin, "workload.parallelism.dp", "disaggregated serving sizes its pools with prefill_instances and decode_instances; remove dp")
        }
        guard log.errors.count == errorsBefore, let inference, rate != nil || trace != nil else { return nil }
        return ServingSpec(inference: inference, arrivalRate: rate ?? 0, trace: trace, duration: duration, requests: requests,
                           maxBatch: maxBatch, chunkTokens: chunk, memoryFraction: fraction, slo: slo, disaggregated: disaggregated)
    }

    /// A request trace: CSV with a header naming arrival_s, input_tokens and output_tokens (in
    /// any order, other columns ignored), one request per row; a relative path is read from the
    /// scenario file's folder. Requests are sorted by arrival.
    static func readTrace(_ path: String, origin: Origin?, log: DiagnosticLog) -> [TracedRequest]? {
        let base = URL(fileURLWithPath: log.file).deletingLastPathComponent()
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            log.error(origin, "workload.trace", "cannot read \(url.path)")
            return nil
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
        guard let header = lines.first else {
            log.error(origin, "workload.trace", "\(url.path) is empty")
            return nil
        }
        let columns = ["arrival_s", "input_tokens", "output_tokens"]
        let index = columns.map { header.firstIndex(of: $0) }
        if let missing = zip(columns, index).first(where: { $0.1 == nil })?.0 {
            log.error(origin, "workload.trace", "\(url.path): the header has no \(missing) column (need arrival_s, input_tokens, output_tokens)")
            return nil
        }
        var requests: [TracedRequest] = []
        for (row, fields) in lines.enumerated().dropFirst() {
            func value(_ c: Int) -> String? { index[c]! < fields.count ? fields[index[c]!] : nil }
            guard let arrival = value(0).flatMap(Double.init), arrival.isFinite, arrival >= 0,
                  let input = value(1).flatMap({ Int($0) }), input >= 1, let output = value(2).flatMap({ Int($0) }), output >= 1 else {
                log.error(origin, "workload.trace", "\(url.path) line \(row + 1): expected arrival_s ≥ 0 and input_tokens, output_tokens ≥ 1, got \"\(fields.joined(separator: ","))\"")
                return nil
            }
            requests.append(TracedRequest(arrival: arrival, inputTokens: input, outputTokens: output))
        }
        guard !requests.isEmpty else {
            log.error(origin, "workload.trace", "\(url.path) has no requests")
            return nil
        }
        return requests.enumerated().sorted { ($0.element.arrival, $0.offset) < ($1.element.arrival, $1.offset) }.map(\.element)
    }

    /// `workload.model`: a catalog name or an inline model (required).
    static func readModel(_ f: FieldReader, log: DiagnosticLog) -> ModelSpec? {
        guard let node = f.value("model") else {
            f.missing("model", "a catalog name such as llama3-70b, or an inline model")
            return nil
        }
        return ModelYAML.readModel(node, path: "workload.model", log: log)
    }

    static func readDecode(_ node: ConfigNode, log: DiagnosticLog, extraKeys: [String] = [], sizesRequired: Bool = true) -> DecodeSpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: ["kind", "model", "precision", "kv_precision", "parallelism", "batch", "input_tokens", "output_tokens"] + extraKeys) else { return nil }
        let errorsBefore = log.errors.count
        let model = readModel(f, log: log)
        let precision = readPrecision(f, log: log) ?? .bf16
        var kvPrecision = Precision.bf16
        if let text = f.string("kv_precision") {
            if let p = Precision(rawValue: text), p == .bf16 || p == .fp8 || p == .fp4 { kvPrecision = p } else {
                log.error(f.origin("kv_precision"), f.child("kv_precision"), "expected bf16, fp8 or fp4, got \"\(text)\"")
            }
        }
        var tp = 1, pp = 1, dp = 1, ep = 1
        let stages = extraKeys.isEmpty ? ["tp", "pp", "dp", "ep"] : ["tp", "dp", "ep"]  // serving: replicas of a TP or EP group
        if let parallel = f.value("parallelism"), let p = FieldReader(parallel, path: f.child("parallelism"), log: log, allowed: stages) {
            tp = p.integer("tp", in: 1...1024) ?? 1
            pp = p.integer("pp", in: 1...1024) ?? 1
            dp = p.integer("dp", in: 1...1_000_000) ?? 1
            ep = p.integer("ep", in: 1...100_000) ?? 1
        }
        let batch = f.integer("batch", in: 1...1_000_000) ?? 1
        // Without sizes (a serving trace gives them per request) the defaults only size the check.
        let input = f.integer("input_tokens", in: 1...10_000_000, required: sizesRequired) ?? (sizesRequired ? nil : 1)
        let output = f.integer("output_tokens", in: 1...10_000_000, required: sizesRequired) ?? (sizesRequired ? nil : 1)
        if let model, model.heads % tp != 0 {
            log.error(f.value("parallelism")?["tp"]?.origin, "workload.parallelism.tp", "\(model.name) has \(model.heads) heads, not divisible by tp \(tp)")
        }
        guard log.errors.count == errorsBefore, let model, let input, let output else { return nil }
        if ep > 1 {
            let origin = f.value("parallelism")?["ep"]?.origin
            if let moe = model.moe {
                if ep % tp != 0 || moe.experts % ep != 0 {
                    log.error(origin, "workload.parallelism.ep", "ep \(ep) must be a multiple of tp \(tp) and divide \(model.name)'s \(moe.experts) experts")
                } else if pp > 1 {
                    log.error(origin, "workload.parallelism.ep", "wide expert parallelism with pipeline stages is not modelled")
                }
            } else {
                log.error(origin, "workload.parallelism.ep", "\(model.name) is dense: expert parallelism needs a mixture-of-experts model")
            }
        }
        if pp > model.layers {
            log.error(f.value("parallelism")?["pp"]?.origin, "workload.parallelism.pp", "\(model.name) has \(model.layers) layers, fewer than pp \(pp) stages")
            return nil
        }
        return DecodeSpec(model: model, precision: precision, kvPrecision: kvPrecision, tp: tp, pp: pp, dp: dp, ep: ep, batch: batch, inputTokens: input, outputTokens: output)
    }

    static func readTraining(_ node: ConfigNode, log: DiagnosticLog) -> TrainingSpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: [
            "kind", "model", "precision", "parallelism", "sequence_length", "global_batch", "micro_batch", "recompute", "zero",
            "gradient_reduce_precision", "bucket_parameters", "overlap_grad_reduce", "overlap_param_gather", "communication_sms", "offload_layers", "fold",
        ]) else { return nil }
        let errorsBefore = log.errors.count
        let model = readModel(f, log: log)
        let precision = readPrecision(f, log: log) ?? .bf16
        if precision != .bf16 && precision != .fp8 {
            log.error(f.origin("precision"), "workload.precision", "training runs in bf16 or fp8, not \(precision.rawValue)")
        }
        var tp = 1, pp = 1, cp = 1, ep = 1, vp = 1, dp: Int?, sp = true
        let parallelPath = f.child("parallelism")
        let parallel = f.value("parallelism").flatMap {
            FieldReader($0, path: parallelPath, log: log, allowed: ["tp", "pp", "dp", "cp", "ep", "vp", "sequence_parallel"])
        }
        if let p = parallel {
            tp = p.integer("tp", in: 1...1024) ?? 1
            pp = p.integer("pp", in: 1...1024) ?? 1
            cp = p.integer("cp", in: 1...1024) ?? 1
            ep = p.integer("ep", in: 1...1_000_000) ?? 1
            vp = p.integer("vp", in: 1...1024) ?? 1
            dp = p.integer("dp", in: 1...10_000_000)
            sp = p.bool("sequence_parallel") ?? (tp > 1)
        }
        let sequence = f.integer("sequence_length", in: 1...100_000_000, required: true)
        let globalBatch = f.integer("global_batch", in: 1...100_000_000, required: true)
        let microBatch = f.integer("micro_batch", in: 1...1_000_000) ?? 1
        var recompute = Recompute.none
        if let text = f.string("recompute") {
            if let r = Recompute(rawValue: text) { recompute = r } else {
                log.error(f.origin("recompute"), f.child("recompute"), "expected none, selective or full, got \"\(text)\"")
            }
        }
        let zero = f.integer("zero", in: 0...3) ?? 1
        var fp32 = false
        if let text = f.string("gradient_reduce_precision") {
            if text == "fp32" || text == "bf16" { fp32 = text == "fp32" } else {
                log.error(f.origin("gradient_reduce_precision"), f.child("gradient_reduce_precision"), "expected bf16 or fp32, got \"\(text)\"")
            }
        }
        // Megatron-LM's default bucket: 40M parameters (DistributedDataParallelConfig.bucket_size).
        let bucket = f.quantity("bucket_parameters", .count, minimum: 1) ?? 40e6
        let overlapGrad = f.bool("overlap_grad_reduce") ?? true
        let overlapParam = f.bool("overlap_param_gather") ?? true
        // An assumption, not a measurement: NCCL runs one thread block (one SM) per channel, and
        // inter-node rings commonly run 16 channels; ../shared/reference has no SM-occupancy data.
        let sms = f.integer("communication_sms", in: 0...1024) ?? 16
        let offload = f.integer("offload_layers", in: 0...100_000) ?? 0
        let fold = f.bool("fold") ?? true
        guard log.errors.count == errorsBefore, let model, let sequence, let globalBatch else { return nil }
        let dpValue = dp ?? 0  // 0: from cluster.gpus, resolved by the caller
        func bad(_ key: String, _ message: String) {
            log.error(parallel?.origin(key) ?? f.origin("parallelism"), "\(parallelPath).\(key)", message)
        }
        if model.heads % tp != 0 { bad("tp", "\(model.name) has \(model.heads) heads, not divisible by tp \(tp)") }
        if model.ffn % tp != 0 { bad("tp", "\(model.name)'s FFN size \(model.ffn) is not divisible by tp \(tp)") }
        if model.layers < pp * vp { bad("pp", "\(model.name) has \(model.layers) layers, fewer than pp × vp = \(pp * vp) model chunks") }
        if sequence % cp != 0 { bad("cp", "sequence_length \(sequence) is not divisible by cp \(cp)") }
        if let moe = model.moe {
            if moe.experts % ep != 0 { bad("ep", "\(model.name) has \(moe.experts) experts, not divisible by ep \(ep)") }
        } else if ep > 1 {
            bad("ep", "\(model.name) is dense: expert parallelism needs a mixture-of-experts model")
        }
        return TrainingSpec(
            model: model, precision: precision, tp: tp, pp: pp, dp: dpValue, cp: cp, ep: ep, virtualStages: vp, sequenceParallel: sp && tp > 1,
            sequenceLength: sequence, globalBatch: globalBatch, microBatch: microBatch, recompute: recompute, zero: zero,
            reduceGradientsInFP32: fp32, bucketParameters: bucket, overlapGradientReduce: overlapGrad, overlapParameterGather: overlapParam,
            communicationSMs: sms, offloadLayers: offload, fold: fold)
    }

    /// Instances of a disaggregated serving workload (nil otherwise).
    static func servingPools(_ workload: WorkloadSpec?) -> Int? {
        guard case .serving(let s)? = workload, let split = s.disaggregated else { return nil }
        return split.prefillInstances + split.decodeInstances
    }

    /// Checks a training workload against its cluster, deriving dp from cluster.gpus when the
    /// scenario leaves it out.
    static func resolveTraining(_ t: inout TrainingSpec, cluster: ClusterSpec, top: FieldReader, log: DiagnosticLog) {
        let workload = top.value("workload")
        let parallel = workload?["parallelism"]
        func bad(_ key: String, _ message: String) {
            log.error(parallel?[key]?.origin ?? parallel?.origin ?? workload?.origin, "workload.parallelism.\(key)", message)
        }
        let modelParallel = t.tp * t.pp * t.cp
        if t.dp == 0 {
            guard let gpus = cluster.gpus else {
                bad("dp", "missing: give parallelism.dp, or cluster.gpus (a multiple of tp × pp × cp = \(modelParallel))")
                return
            }
            guard gpus % modelParallel == 0 else {
                log.error(top.value("cluster")?["gpus"]?.origin, "cluster.gpus", "\(gpus) GPUs do not split into tp × pp × cp = \(modelParallel)")
                return
            }
            t.dp = gpus / modelParallel
        } else if let gpus = cluster.gpus, gpus != t.gpus {
            log.error(top.value("cluster")?["gpus"]?.origin, "cluster.gpus", "\(gpus) GPUs, but tp × pp × dp × cp = \(t.gpus)")
        }
        let system = cluster.system
        if t.tp > system.gpusPerNVLinkDomain {
            bad("tp", "tp \(t.tp) exceeds \(system.name)'s NVLink domain (\(system.gpusPerNVLinkDomain) GPUs)")
        }
        if system.gpu.tensor[t.precision] == nil {
            log.error(workload?["precision"]?.origin, "workload.precision", "\(system.gpu.name) has no \(t.precision.rawValue) tensor cores")
        }
        if t.dp % t.ep != 0 { bad("ep", "ep \(t.ep) must divide dp \(t.dp) (expert-parallel groups are formed inside the data-parallel ranks)") }
        if t.communicationSMs >= system.gpu.smCount {
            log.error(workload?["communication_sms"]?.origin, "workload.communication_sms", "\(t.communicationSMs) SMs, but \(system.gpu.name) has \(system.gpu.smCount)")
        }
        if t.globalBatch % (t.dp * t.microBatch) != 0 {
            log.error(workload?["global_batch"]?.origin, "workload.global_batch", "\(t.globalBatch) sequences do not split into dp \(t.dp) × micro_batch \(t.microBatch)")
        } else if t.virtualStages > 1 && t.microBatches % t.pp != 0 {
            bad("vp", "interleaved pipelines need micro-batches per replica (\(t.microBatches)) to be a multiple of pp \(t.pp)")
        }
    }

    static let collectiveOperations = ["all_reduce", "all_gather", "reduce_scatter", "alltoall", "broadcast", "sendrecv"]
    static let collectiveAlgorithms = ["auto", "ring", "nvls", "direct"]

    static func readCollective(_ node: ConfigNode, log: DiagnosticLog) -> CollectiveSpec? {
        guard let f = FieldReader(node, path: "workload", log: log, allowed: ["kind", "operation", "gpus", "min_bytes", "max_bytes", "factor", "algorithm", "fold", "gpus_per_domain"]) else { return nil }
        let errorsBefore = log.errors.count
        func oneOf(_ key: String, _ choices: [String], required: Bool) -> String? {
            guard let text = f.string(key, required: required) else { return nil }
            guard choices.contains(text) else {
                var message = "unknown \(key) \"\(text)\""
                if let guess = closestName(to: text, among: choices) { message += "; did you mean \"\(guess)\"?" }
                else { message += "; expected one of \(choices.joined(separator: ", "))" }
                log.error(f.origin(key), f.child(key), message)
                return nil
            }
            return text
        }
        let operation = oneOf("operation", collectiveOperations, required: true)
        let algorithm = oneOf("algorithm", collectiveAlgorithms, required: false)
        let gpus = f.integer("gpus", in: 2...1_000_000, required: true)
        let minBytes = f.quantity("min_bytes", .bytes, minimum: 0, exclusive: true, required: true)
        let maxBytes = f.quantity("max_bytes", .bytes, minimum: 0, exclusive: true) ?? minBytes
        let factor = f.quantity("factor", .count, minimum: 1, exclusive: true) ?? 2
        if let minBytes, let maxBytes, maxBytes < minBytes {
            log.error(f.origin("max_bytes"), f.child("max_bytes"), "must be ≥ min_bytes")
        }
        guard log.errors.count == errorsBefore, let operation, let gpus, let minBytes, let maxBytes else { return nil }
        var sizes: [Double] = []
        var size = minBytes
        while size <= maxBytes * (1 + 1e-12) && sizes.count < 200 {
            sizes.append(size.rounded())
            size *= factor
        }
        return CollectiveSpec(operation: operation, gpus: gpus, sizes: sizes, algorithm: algorithm == "auto" ? nil : algorithm,
                              fold: f.bool("fold") ?? true, gpusPerDomain: f.integer("gpus_per_domain", in: 1...1_000_000))
    }

    /// Valid keys that the chosen workload does not read get a warning, not silence.
    static func warnAboutUnusedKnobs(_ top: FieldReader, workload: WorkloadSpec, stack: StackSpec, noise: NoiseSpec, log: DiagnosticLog) {
        let synchronous: [WorkloadKind] = [.collective, .training, .decode, .serving]
        if noise.stragglerProbability > 0, !synchronous.contains(workload.kind) {
            log.warning(top.value("noise")?["stragglers"]?.origin, "noise.stragglers", "has no effect on workload kind \"\(workload.kind.rawValue)\" (no synchronous multi-GPU steps)")
        }
        if workload.kind == .collective {
            if noise.kernelCV > 0 {
                log.warning(top.value("noise")?["kernel_cv"]?.origin, "noise.kernel_cv", "has no effect on workload kind \"collective\"; network_cv sets its jitter")
            }
            if top.has("stack") {
                log.warning(top.origin("stack"), "stack", "has no effect on workload kind \"collective\"")
            }
            return
        }
        guard workload.kind == .transfers else {
            if noise.networkCV > 0 && workload.kind != .training {
                log.warning(top.value("noise")?["network_cv"]?.origin, "noise.network_cv", "has no effect on workload kind \"\(workload.kind.rawValue)\" (it moves no data over links)")
            }
            return
        }
        if top.has("cluster") {
            log.warning(top.origin("cluster"), "cluster", "has no effect on workload kind \"transfers\", which defines its own links")
        }
        if top.has("stack") {
            log.warning(top.origin("stack"), "stack", "has no effect on workload kind \"transfers\" (it runs no kernels)")
        }
        if noise.kernelCV > 0 {
            log.warning(top.value("noise")?["kernel_cv"]?.origin, "noise.kernel_cv", "has no effect on workload kind \"transfers\" (it runs no kernels)")
        }
    }
}

/// Names that become folder or metric names: letters, digits, '.', '_' and '-'.
func isPlainName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && name.unicodeScalars.allSatisfy {
        ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "." || $0 == "_" || $0 == "-"
    }
}

extension Array where Element == Diagnostic {
    /// Whether a variant's diagnostic repeats one of the base's (the same place and message).
    func contains(stripping diagnostic: Diagnostic, context: String) -> Bool {
        let message = diagnostic.message.hasSuffix(context) ? String(diagnostic.message.dropLast(context.count)) : diagnostic.message
        return contains { $0.origin == diagnostic.origin && $0.path == diagnostic.path && $0.message == message }
    }
}
