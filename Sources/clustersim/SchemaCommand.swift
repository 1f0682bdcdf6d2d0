import ArgumentParser
import Experiments
import Workloads

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "The scenario keys of a workload kind (or of all kinds and the shared sections): type, unit, default, range, meaning.",
        discussion: "The same tables the reader validates with; docs/scenario-keys.md is `clustersim schema --markdown`."
    )

    @Argument(help: "A workload kind (transfers, gemm, memcpy, collective, training, decode, serving); all when omitted.", completion: .list(WorkloadRegistry.kinds.map { $0.kind }))
    var kind: String?

    @Flag(help: "Print the whole reference page as Markdown (docs/scenario-keys.md).")
    var markdown = false

    func run() throws {
        print(markdown ? ReferencePages.keysPage() : try ReferencePages.schemaText(kind: kind), terminator: "")
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "The metrics a workload kind reports: name, unit, which way is better, meaning.",
        discussion: "`compare` ranks only metrics that are better lower or higher; docs/metrics.md is `clustersim metrics --markdown`."
    )

    @Argument(help: "A workload kind; all when omitted.", completion: .list(WorkloadRegistry.kinds.map { $0.kind }))
    var kind: String?

    @Flag(help: "Print the whole reference page as Markdown (docs/metrics.md).")
    var markdown = false

    func run() throws {
        print(markdown ? ReferencePages.metricsPage() : try ReferencePages.metricsText(kind: kind), terminator: "")
    }
}
