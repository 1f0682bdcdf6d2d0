// A node tree written back as a YAML document (best.yaml of a search): block style, keys in
// their order, each scalar as its text (quoted where YAML would read the text otherwise), so
// reading the document gives the same tree.
import Yams

extension ConfigNode {
    /// The tree as a YAML document; nil when the emitter fails (it does not on trees the reader made).
    public func yamlDocument() -> String? {
        try? Yams.serialize(node: yamsNode, width: -1)
    }

    var yamsNode: Node {
        switch self {
        case .scalar(let text, _):
            // A plain scalar that YAML would read as null, or that needs quoting, is double-quoted;
            // numbers, booleans and words stay plain (the reader takes every scalar as text).
            let plain = flowScalarIsPlain(text)
            return .scalar(Node.Scalar(text, .implicit, plain ? .plain : .doubleQuoted))
        case .null:
            return .scalar(Node.Scalar("null", .implicit, .plain))
        case .sequence(let items, _):
            return .sequence(Node.Sequence(items.map(\.yamsNode), .implicit, items.allSatisfy(\.isScalar) ? .flow : .block))
        case .mapping(let pairs, _):
            let flow = !pairs.isEmpty && pairs.count <= 4 && pairs.allSatisfy { $0.value.isScalar }
            return .mapping(Node.Mapping(pairs.map { (Node.scalar(Node.Scalar($0.key)), $0.value.yamsNode) }, .implicit, flow ? .flow : .block))
        }
    }

    var isScalar: Bool { if case .scalar = self { true } else { false } }

    func flowScalarIsPlain(_ text: String) -> Bool { Self.flowScalar(text) == text }
}
