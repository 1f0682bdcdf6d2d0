// CSV output: one header row, RFC 4180 quoting, numbers in a fixed, locale-free format.
import Foundation

public enum CSV {
    /// A field, quoted when it holds a comma, quote or line break.
    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A number as the shortest text that reads back to the same Double ("0.25", "1e-06",
    /// "4294967296.0"); empty when the value is undefined (nil), which pandas and R read as NA.
    public static func number(_ value: Double?) -> String {
        guard let value else { return "" }
        if value.isNaN { return "" }
        return value.description
    }

    /// One line of fields, joined with commas, ending in a newline.
    public static func row(_ fields: [String]) -> String {
        fields.joined(separator: ",") + "\n"
    }
}
