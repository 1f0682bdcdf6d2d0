// Reads by key table: the range, choices, default and whether a key is required come from its
// row in the table, never from the call site, so the table is the one statement of them.

extension FieldReader {
    /// The row of `name` in this mapping's table, recorded as read. Reading a key the table
    /// lacks is a bug in the reader (tests catch it), not bad input.
    public func declared(_ name: String) -> Key {
        guard let table else { preconditionFailure("\(path): a table read on a reader without a key table") }
        let key = table.key(childKey(name))
        log.queried.insert(table.fullPath(key))
        return key
    }

    /// This reader, or, when the key is absent and has a default, a reader of the default's
    /// text (so a default is parsed exactly as the same text written in the file).
    private func source(_ key: Key) -> FieldReader {
        guard !has(key.name), case .value(let text) = key.defaultValue,
              let reader = FieldReader(.mapping([(key.name, .scalar(text, node.origin))], node.origin), path: path, log: log, allowed: nil)
        else { return self }
        return reader
    }

    /// An integer key, in its declared range (its default when absent; nil when absent without
    /// one, or wrong, the latter logged). `required` overrides the table where it depends on
    /// other keys.
    public func integer(_ name: String, required: Bool? = nil) -> Int? {
        let key = declared(name)
        guard case .integer(let range) = key.type else { preconditionFailure("\(key.path) is not an integer key") }
        return source(key).integer(name, in: range, required: required ?? key.isRequired)
    }

    /// A number or quantity key in SI base units, in its declared range.
    public func number(_ name: String, required: Bool? = nil) -> Double? {
        let key = declared(name)
        let dimension: Dimension, minimum: Double, exclusive: Bool, maximum: Double?
        switch key.type {
        case .quantity(let d, let lo, let ex, let hi): (dimension, minimum, exclusive, maximum) = (d, lo, ex, hi)
        case .quantityOrMapping(let d, let lo, let ex): (dimension, minimum, exclusive, maximum) = (d, lo, ex, nil)
        default: preconditionFailure("\(key.path) is not a quantity key")
        }
        return source(key).quantity(name, dimension, minimum: minimum, exclusive: exclusive, maximum: maximum, required: required ?? key.isRequired)
    }

    /// A true/false key (its default when absent).
    public func flag(_ name: String) -> Bool? {
        let key = declared(name)
        guard case .bool = key.type else { preconditionFailure("\(key.path) is not a bool key") }
        return source(key).bool(name)
    }

    /// A key whose value is one of the declared choices.
    public func choice(_ name: String, required: Bool? = nil) -> String? {
        let key = declared(name)
        guard case .choice(let choices) = key.type else { preconditionFailure("\(key.path) is not a choice key") }
        guard let text = source(key).string(name, required: required ?? key.isRequired) else { return nil }
        guard choices.contains(text) else {
            var message = "unknown \(name.replacingOccurrences(of: "_", with: " ")) \"\(text)\""
            if let guess = closestName(to: text, among: choices) { message += "; did you mean \"\(guess)\"?" }
            else { message += "; expected one of \(choices.joined(separator: ", "))" }
            log.error(origin(name), child(name), message)
            return nil
        }
        return text
    }

    /// A free-text key (a name or a path).
    public func text(_ name: String, required: Bool? = nil) -> String? {
        let key = declared(name)
        return source(key).string(name, required: required ?? key.isRequired)
    }

    /// The node of a key that the caller reads itself (a model, a system, a list of names),
    /// recorded as read.
    public func node(_ name: String) -> ConfigNode? {
        _ = declared(name)
        return value(name)
    }
}
