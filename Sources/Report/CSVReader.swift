// Reading CSV files (RFC 4180: quoted fields may hold commas, quotes and line breaks).
import Foundation

public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [[String]]

    /// The rows as dictionaries from column name to field.
    public var records: [[String: String]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(header, row + Array(repeating: "", count: max(0, header.count - row.count)))) }
    }

    /// Parses CSV text whose first row is the header.
    public init(parsing text: String) {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else { field.append(c) }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r\n":
                row.append(field); field = ""
                rows.append(row); row = []
            case "\r": break
            default: field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        header = rows.first ?? []
        self.rows = Array(rows.dropFirst())
    }

    public init(contentsOf path: String) throws {
        self.init(parsing: try String(contentsOfFile: path, encoding: .utf8))
    }
}
