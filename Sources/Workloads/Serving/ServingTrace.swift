// Request traces for serving: a CSV of arrival times and sizes.
import Foundation
import Scenario

enum ServingTrace {
    /// A request trace: CSV with a header naming arrival_s, input_tokens and output_tokens (in
    /// any order, other columns ignored), one request per row; a relative path is read from the
    /// scenario file's folder. Requests are sorted by arrival.
    static func read(_ path: String, origin: Origin?, log: DiagnosticLog) -> [TracedRequest]? {
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

}
