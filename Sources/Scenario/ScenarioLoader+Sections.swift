// The sections every kind shares: cluster, stack and noise, read from ScenarioKeys.table.
import Foundation
import Hardware
import Models

extension ScenarioLoader {
    static func readCluster(_ top: FieldReader, log: DiagnosticLog) -> ClusterSpec? {
        guard let fields = top.mapping("cluster") else { return nil }
        guard let systemNode = fields.node("system") else {
            fields.missing("system", "a preset such as h100-sxm, or an inline system")
            return nil
        }
        let system = HardwareYAML.readSystem(systemNode, path: "cluster.system", log: log)
        let gpus = fields.integer("gpus")
        var domainsPerLeaf: Int?
        var oversubscription = 1.0
        var transport = ScaleOutTransport.infiniband
        var sharp = false
        if let fabric = fields.mapping("scale_out") {
            domainsPerLeaf = fabric.integer("domains_per_leaf")
            oversubscription = fabric.number("oversubscription") ?? 1
            transport = fabric.choice("transport").flatMap(ScaleOutTransport.init(rawValue:)) ?? .infiniband
            sharp = fabric.flag("sharp") ?? false
            if sharp && transport != .infiniband {
                log.error(fabric.origin("sharp"), fabric.child("sharp"), "in-network reduction (SHARP) needs InfiniBand switches, not \(transport.rawValue)")
            }
        }
        // A board power limit below the TDP (nvidia-smi -pl); the boards cap it at their TDP, and
        // below the static power nothing could run.
        var powerLimit = fields.number("power_limit")
        if let limit = powerLimit, let gpu = system?.gpu {
            let idle = PowerModel.idlePower(gpu)
            if limit > gpu.tdp || limit <= idle {
                log.error(fields.origin("power_limit"), fields.child("power_limit"),
                          "must be above the GPU's static power (\(String(format: "%g", idle.rounded())) W) and at most its TDP (\(String(format: "%g", gpu.tdp)) W), got \(String(format: "%g", limit)) W")
                powerLimit = nil
            }
        }
        return system.map { ClusterSpec(system: $0, gpus: gpus, domainsPerLeaf: domainsPerLeaf, oversubscription: oversubscription, transport: transport,
                                        sharp: sharp, powerLimit: powerLimit) }
    }

    static func readStack(_ top: FieldReader, log: DiagnosticLog) -> StackSpec {
        var stack = StackSpec()
        guard let fields = top.mapping("stack") else { return stack }
        stack.cudaGraphs = fields.flag("cuda_graphs") ?? false
        stack.launchOverhead = fields.number("launch_overhead") ?? stack.launchOverhead
        if let node = fields.value("kernel_efficiency"), case .mapping = node {
            // Per kernel class.
            if let c = fields.mapping("kernel_efficiency") {
                stack.gemmEfficiency = c.number("gemm") ?? 1
                stack.attentionEfficiency = c.number("attention") ?? 1
                stack.elementwiseEfficiency = c.number("elementwise") ?? 1
            }
        } else {
            stack.kernelEfficiency = fields.number("kernel_efficiency") ?? 1
        }
        stack.communicationOverlap = fields.number("communication_overlap") ?? 0
        stack.allReduce = fields.choice("allreduce") ?? "nccl"
        if let f = fields.mapping("cpu_time") {
            stack.cpuPerIteration = f.number("per_iteration") ?? 0
            stack.cpuPerSequence = f.number("per_sequence") ?? 0
        }
        stack.overlapScheduling = fields.flag("overlap_scheduling") ?? false
        if let f = fields.mapping("fusion") {
            stack.fusion.quantize = f.flag("quantize") ?? false
            stack.fusion.residualNorm = f.flag("residual_norm") ?? false
            stack.fusion.allReduceNorm = f.flag("allreduce_norm") ?? false
            if stack.fusion.allReduceNorm && stack.allReduce == "nccl" {
                log.error(f.origin("allreduce_norm"), "stack.fusion.allreduce_norm", "fuses into a framework's all-reduce kernel; set stack.allreduce (trtllm, vllm or sglang)")
            }
        }
        stack.attentionEfficiency *= fields.number("attention_efficiency") ?? 1
        if let f = fields.mapping("speculative") {
            let mtp = f.choice("method") == "mtp"
            var draft: ModelSpec?
            if mtp {
                if f.has("draft_model") { log.error(f.origin("draft_model"), "stack.speculative.draft_model", "method mtp drafts with the target's own prediction module; remove draft_model") }
            } else {
                draft = f.model("draft_model", example: "llama3-8b")
            }
            let tokens = f.integer("draft_tokens")
            let acceptance = f.number("acceptance")
            if mtp || draft != nil, let tokens, let acceptance {
                stack.speculative = SpeculativeSpec(draftModel: draft, draftTokens: tokens, acceptance: acceptance)
            }
        }
        return stack
    }

    static func readNoise(_ top: FieldReader, log: DiagnosticLog) -> NoiseSpec {
        var noise = NoiseSpec()
        guard let fields = top.mapping("noise") else { return noise }
        noise.kernelCV = fields.number("kernel_cv") ?? 0
        noise.networkCV = fields.number("network_cv") ?? 0
        noise.clockCV = fields.number("clock_cv") ?? 0
        noise.commonRandomNumbers = fields.flag("common_random_numbers") ?? true
        if let s = fields.mapping("stragglers") {
            noise.stragglerProbability = s.number("probability") ?? 0
            noise.stragglerSlowdown = s.number("slowdown") ?? 1
        }
        return noise
    }
}

extension ScenarioContext {
    /// The usual warning for a section or knob that the workload kind does not read.
    public func warnUnused(_ path: String, kind: String, because reason: String = "") {
        warning(path, "has no effect on workload kind \"\(kind)\"\(reason)")
    }
}
