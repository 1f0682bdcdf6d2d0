// The workload kinds, listed once. The loader reads `workload.kind` against this list, and
// `clustersim schema`, `clustersim metrics` and the generated docs walk it.
import Report
import Scenario

public enum WorkloadRegistry {
    /// Every kind, in the order the docs list them.
    public static let kinds: [any Workload.Type] = [
        TransfersSpec.self, GEMMSpec.self, MemcpySpec.self, CollectiveSpec.self, TrainingSpec.self, DecodeSpec.self, ServingSpec.self,
    ]

    /// The kinds as the generic loader takes them.
    public static var readers: [any WorkloadSpec.Type] { kinds.map { $0 } }

    public static func kind(named name: String) -> (any Workload.Type)? { kinds.first { $0.kind == name } }
}

extension ScenarioLoader {
    /// Reads a scenario file with every registered kind.
    public static func load(path: String, overrides: [String] = []) throws(ScenarioError) -> ExperimentPlan {
        try load(path: path, overrides: overrides, kinds: WorkloadRegistry.readers)
    }

    /// Builds a plan from a node tree with every registered kind.
    public static func plan(tree: ConfigNode, file: String, contents: [UInt8]) throws(ScenarioError) -> ExperimentPlan {
        try plan(tree: tree, file: file, contents: contents, kinds: WorkloadRegistry.readers)
    }

    /// Builds a plan from YAML text with every registered kind (`file` names it in messages).
    public static func plan(text: String, file: String, overrides: [String] = [], contents: [UInt8]? = nil) throws(ScenarioError) -> ExperimentPlan {
        try plan(text: text, file: file, overrides: overrides, contents: contents, kinds: WorkloadRegistry.readers)
    }
}

extension ExperimentPlan {
    /// The metric catalogue of the plan's workload kind (the base variant's; variants that
    /// change the kind add theirs after it).
    public var metricCatalogue: [MetricInfo] {
        var seen: [String] = []
        var catalogue: [MetricInfo] = []
        for variant in variants {
            let kind = type(of: variant.spec.kind)
            guard !seen.contains(kind.kind) else { continue }
            seen.append(kind.kind)
            catalogue += kind.metrics
        }
        return catalogue
    }
}
