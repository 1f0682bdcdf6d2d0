// `kind: transfers`: named links and transfers over paths of them (TransfersWorkload.swift
// simulates them on the engine's fluid resources).
import Report
import Scenario

public struct TransfersSpec: Sendable, Equatable {
    public var links: [LinkSpec]
    public var transfers: [TransferSpec]
}

public struct LinkSpec: Sendable, Equatable {
    public var name: String
    /// Bytes per second in the direction of the transfers that cross it.
    public var bandwidth: Double
    /// Seconds added once to each transfer that crosses it.
    public var latency: Double

    public init(name: String, bandwidth: Double, latency: Double) {
        self.name = name
        self.bandwidth = bandwidth
        self.latency = latency
    }
}

public struct TransferSpec: Sendable, Equatable {
    public var name: String
    public var bytes: Double
    /// Indices into `TransfersSpec.links`, in path order.
    public var path: [Int]
    /// When the transfer is posted, in seconds.
    public var start: Double

    public init(name: String, bytes: Double, path: [Int], start: Double) {
        self.name = name
        self.bytes = bytes
        self.path = path
        self.start = start
    }
}

extension TransfersSpec: Workload {
    public static let kind = "transfers"
    public static let summary = "Named one-directional links and transfers over paths of them, sharing bandwidth max-min fairly"
    public static let needsCluster = false

    public static let keys = KeyTable(section: "workload", [
        .kind(kind),
        Key("links", .list, default: .required, "The links, one direction each (model a duplex link as two)"),
        Key("links[].name", .text, default: .required, "The link's name, used in transfer paths"),
        Key("links[].bandwidth", .quantity(.bandwidth, minimum: 0, exclusive: true), default: .required, "Capacity in the direction of its transfers"),
        Key("links[].latency", .quantity(.time), default: "0", "Added once to each transfer that crosses it"),
        Key("transfers", .list, default: .required, "The transfers"),
        Key("transfers[].name", .text, default: .required, "The transfer's name (letters, digits, '.', '_', '-'); it names metrics"),
        Key("transfers[].bytes", .quantity(.bytes), default: .required, "Bytes moved"),
        Key("transfers[].path", .names, default: .required, "Link names, in order"),
        Key("transfers[].start", .quantity(.time), default: "0", "When the transfer is posted"),
    ])

    public static let metrics: [MetricInfo] = [
        MetricInfo("makespan_s", unit: "s", .lower, "When the last transfer completes"),
        MetricInfo("transfer.<name>.completion_s", unit: "s", .lower, "When the transfer completes"),
        MetricInfo("transfer.<name>.duration_s", unit: "s", .lower, "From its start to its completion"),
        MetricInfo("transfer.<name>.bandwidth_GBps", unit: "GB/s", .higher, "Its bytes over its duration"),
    ]

    public static func read(_ f: FieldReader, in scenario: ScenarioContext) -> TransfersSpec? {
        let log = f.log
        let errorsBefore = log.errors.count
        var links: [LinkSpec] = []
        if let items = f.items("links") {
            for link in items {
                guard let link else { continue }
                let name = link.text("name")
                if let name, links.contains(where: { $0.name == name }) {
                    log.error(link.origin("name"), link.child("name"), "link \"\(name)\" is defined twice")
                }
                let bandwidth = link.number("bandwidth")
                let latency = link.number("latency") ?? 0
                // A link with a bad value is still known by name, so paths through it raise no
                // second error; its problem is already logged and no spec will be returned.
                if let name { links.append(LinkSpec(name: name, bandwidth: bandwidth ?? .nan, latency: latency)) }
            }
        } else if !f.has("links") {
            f.missing("links", "a list of links with name, bandwidth and latency")
        }
        if links.isEmpty && f.has("links") && log.errors.count == errorsBefore {
            log.error(f.origin("links"), "workload.links", "the list is empty")
        }

        var transfers: [TransferSpec] = []
        if let items = f.items("transfers") {
            for transfer in items {
                guard let transfer else { continue }
                if let spec = readTransfer(transfer, links: links, existing: transfers) { transfers.append(spec) }
            }
        } else if !f.has("transfers") {
            f.missing("transfers", "a list of transfers with name, bytes and path")
        }
        if transfers.isEmpty && f.has("transfers") && log.errors.count == errorsBefore {
            log.error(f.origin("transfers"), "workload.transfers", "the list is empty")
        }
        guard log.errors.count == errorsBefore else { return nil }
        warnUnused(scenario)
        return TransfersSpec(links: links, transfers: transfers)
    }

    static func readTransfer(_ transfer: FieldReader, links: [LinkSpec], existing: [TransferSpec]) -> TransferSpec? {
        let log = transfer.log
        let path = transfer.path
        let name = transfer.text("name")
        if let name, existing.contains(where: { $0.name == name }) {
            log.error(transfer.origin("name"), "\(path).name", "transfer \"\(name)\" is defined twice")
        }
        if let name, !isPlainName(name) {
            log.error(transfer.origin("name"), "\(path).name", "\"\(name)\" must be letters, digits, '.', '_' or '-' (it names metrics)")
        }
        let bytes = transfer.number("bytes")
        let start = transfer.number("start") ?? 0
        var route: [Int] = []
        var routeOK = true
        _ = transfer.declared("path")
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
        guard let name, let bytes, routeOK, !route.isEmpty else { return nil }
        return TransferSpec(name: name, bytes: bytes, path: route, start: start)
    }

    /// Sections the kind does not read get a warning, not silence.
    static func warnUnused(_ scenario: ScenarioContext) {
        if scenario.noise.stragglerProbability > 0 {
            scenario.warnUnused("noise.stragglers", kind: kind, because: " (no synchronous multi-GPU steps)")
        }
        if scenario.has("cluster") { scenario.warnUnused("cluster", kind: kind, because: ", which defines its own links") }
        if scenario.has("stack") { scenario.warnUnused("stack", kind: kind, because: " (it runs no kernels)") }
        if scenario.noise.kernelCV > 0 { scenario.warnUnused("noise.kernel_cv", kind: kind, because: " (it runs no kernels)") }
    }
}
