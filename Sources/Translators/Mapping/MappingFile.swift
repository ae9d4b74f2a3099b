/// The text of a mapping file, parsed into rules (see mozdef-ship-mappings(5)).
///
/// One rule per line; `#` starts a comment outside quotes; `[name]` starts a section
/// whose rules apply only to records of that kind (a Zeek log type); `[*]` or no
/// section means every record.
public struct MappingFile: Sendable, Equatable {
    public var name: String
    public var rules: [Rule]

    public struct Rule: Sendable, Equatable {
        public var line: Int
        /// Nil: every record.
        public var section: String?
        public var directive: Directive
        public var condition: Condition?
    }

    public enum Directive: Sendable, Equatable {
        /// A source field's new name; `prefix` renames `from*` to `to*`.
        case rename(from: String, to: String, prefix: Bool)
        case drop(field: String, prefix: Bool)
        case type(field: String, FieldType)
        case truncate(field: String, Int)
        /// Removes these characters from the field's text.
        case strip(field: String, characters: String)
        /// Set when absent (`default`) or always (`set`).
        case assign(field: String, Value, always: Bool)
        /// A top-level field from a template: summary, category, hostname, processname, processid, source.
        case top(TopField, Template)
        case severity(String)
        case tag(String)
    }

    public enum TopField: String, Sendable, CaseIterable {
        case summary, category, hostname, processname, processid, source
    }

    public enum FieldType: String, Sendable, CaseIterable {
        case int, float, bool, string
    }

    public enum Value: Sendable, Equatable {
        /// JSON text (null, true, false, a number), written as is.
        case json(String)
        case template(Template)
        case list([Template])
    }

    public struct Condition: Sendable, Equatable {
        public enum Test: Sendable, Equatable { case equals(String), notEquals(String), present, absent, ipv4, ipv6 }
        public var field: String
        public var test: Test
    }

    /// A string with `{field}`, `{field|fallback}` and `{field[0]}` references.
    public struct Template: Sendable, Equatable {
        public enum Part: Sendable, Equatable {
            case text(String)
            case field(name: String, index: Int?, fallback: String?)
        }
        public var parts: [Part]

        public var fieldNames: [String] {
            parts.compactMap { if case .field(let n, _, _) = $0 { n } else { nil } }
        }
    }

    /// `file:line: reason`.
    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var reason: String
        public var description: String { "\(file):\(line): \(reason)" }
    }

    public init(name: String, rules: [Rule]) {
        self.name = name
        self.rules = rules
    }

    /// Parses `text`; `name` is used in errors (a path, or "built-in <format>").
    public init(parsing text: String, name: String) throws(Error) {
        self.name = name
        rules = []
        var section: String?
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let fail = { (reason: String) in Error(file: name, line: lineNumber, reason: reason) }
            var words = try Self.tokens(Substring(raw), fail: fail)
            if words.isEmpty { continue }
            if case .word(let w) = words[0], w.hasPrefix("[") {
                guard words.count == 1, w.hasSuffix("]"), w.count > 2 else {
                    throw fail("a section header is [name] alone on its line")
                }
                let s = String(w.dropFirst().dropLast())
                guard s == "*" || (s.allSatisfy(Self.isNameCharacter) && !s.contains("*")) else { throw fail("bad section name '\(s)'") }
                section = s == "*" ? nil : s
                continue
            }
            var condition: Condition?
            if let k = words.firstIndex(of: .word("when")) {
                condition = try Self.condition(Array(words[(k + 1)...]), fail: fail)
                words.removeSubrange(k...)
            }
            let d = try Self.directive(words, fail: fail)
            switch d {
            case .assign, .top, .severity: break
            default:
                if condition != nil { throw fail("'when' applies to set, default, severity and top-level field rules only") }
            }
            rules.append(Rule(line: lineNumber, section: section, directive: d, condition: condition))
        }
    }

    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case list([String])
    }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." || c == "*")
    }

    static func tokens(_ line: Substring, fail: (String) -> Error) throws(Error) -> [Token] {
        var out: [Token] = []
        var i = line.startIndex
        func quoted() throws(Error) -> String {
            var s = ""
            i = line.index(after: i)
            while true {
                guard i < line.endIndex else { throw fail("unterminated quoted string") }
                let c = line[i]
                if c == "\"" { i = line.index(after: i); return s }
                if c == "\\" {
                    i = line.index(after: i)
                    guard i < line.endIndex else { throw fail("unterminated quoted string") }
                    switch line[i] {
                    case "\"": s.append("\"")
                    case "\\": s.append("\\")
                    case "n": s.append("\n")
                    case "t": s.append("\t")
                    default: throw fail("unknown escape \\\(line[i]) in a quoted string")
                    }
                } else {
                    s.append(c)
                }
                i = line.index(after: i)
            }
        }
        while i < line.endIndex {
            let c = line[i]
            if c == " " || c == "\t" || c == "\r" { i = line.index(after: i); continue }
            if c == "#" { break }
            if c == "\"" {
                out.append(.quoted(try quoted()))
                continue
            }
            if c == "[" && !out.isEmpty {
                // A list of quoted templates: [ "a", "b" ]
                var items: [String] = []
                i = line.index(after: i)
                while true {
                    while i < line.endIndex, line[i] == " " || line[i] == "," { i = line.index(after: i) }
                    guard i < line.endIndex else { throw fail("unterminated list") }
                    if line[i] == "]" { i = line.index(after: i); break }
                    guard line[i] == "\"" else { throw fail("list items are quoted strings") }
                    items.append(try quoted())
                }
                out.append(.list(items))
                continue
            }
            var j = i
            while j < line.endIndex, line[j] != " ", line[j] != "\t", line[j] != "\r", line[j] != "\"", line[j] != "#" { j = line.index(after: j) }
            out.append(.word(String(line[i..<j])))
            i = j
        }
        return out
    }

    static func fieldName(_ t: Token?, _ what: String, fail: (String) -> Error) throws(Error) -> String {
        guard case .word(let w)? = t, !w.isEmpty, w.allSatisfy(isNameCharacter) else {
            throw fail("\(what): expected a field name")
        }
        if let star = w.firstIndex(of: "*"), star != w.index(before: w.endIndex) {
            throw fail("\(what): '*' is allowed only at the end of a name")
        }
        return w
    }

    static func text(_ t: Token?, _ what: String, fail: (String) -> Error) throws(Error) -> String {
        switch t {
        case .word(let w)?: return w
        case .quoted(let q)?: return q
        default: throw fail("\(what): expected a value")
        }
    }

    static func directive(_ w: [Token], fail: (String) -> Error) throws(Error) -> Directive {
        guard case .word(let verb) = w[0] else { throw fail("a rule starts with a directive name") }
        func count(_ n: Int) throws(Error) {
            guard w.count == n else { throw fail("\(verb) takes \(n - 1) argument\(n == 2 ? "" : "s"), found \(w.count - 1)") }
        }
        switch verb {
        case "rename":
            try count(3)
            let from = try fieldName(w[1], "rename", fail: fail), to = try fieldName(w[2], "rename", fail: fail)
            let prefix = from.hasSuffix("*")
            guard prefix == to.hasSuffix("*") else { throw fail("rename: both names end in '*' or neither does") }
            guard to.split(separator: ".", omittingEmptySubsequences: false).count <= 2, !to.hasPrefix("."), !to.hasSuffix(".") else {
                throw fail("rename: a new name nests at most one level (parent.child)")
            }
            return .rename(from: prefix ? String(from.dropLast()) : from, to: prefix ? String(to.dropLast()) : to, prefix: prefix)
        case "drop":
            try count(2)
            let f = try fieldName(w[1], "drop", fail: fail)
            return f.hasSuffix("*") ? .drop(field: String(f.dropLast()), prefix: true) : .drop(field: f, prefix: false)
        case "type":
            try count(3)
            let f = try fieldName(w[1], "type", fail: fail)
            guard case .word(let t) = w[2], let ft = FieldType(rawValue: t) else {
                throw fail("type: expected one of \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .type(field: f, ft)
        case "truncate":
            try count(3)
            let f = try fieldName(w[1], "truncate", fail: fail)
            guard case .word(let n) = w[2], let v = Int(n), v > 0 else { throw fail("truncate: expected a positive length") }
            return .truncate(field: f, v)
        case "strip":
            try count(3)
            let f = try fieldName(w[1], "strip", fail: fail)
            let chars = try text(w[2], "strip", fail: fail)
            guard chars.utf8.allSatisfy({ $0 < 128 }) else { throw fail("strip: characters must be ASCII") }
            return .strip(field: f, characters: chars)
        case "set", "default":
            try count(3)
            let f = try fieldName(w[1], verb, fail: fail)
            guard !f.hasSuffix("*") else { throw fail("\(verb): expected a field name without '*'") }
            let value: Value
            switch w[2] {
            case .word(let j):
                guard j == "null" || j == "true" || j == "false" || isJSONNumber(j) else {
                    throw fail("\(verb): a value is null, true, false, a number, a \"quoted template\" or a [list]")
                }
                value = .json(j)
            case .quoted(let q): value = .template(try template(q, fail: fail))
            case .list(let items):
                var ts: [Template] = []
                for item in items { ts.append(try template(item, fail: fail)) }
                value = .list(ts)
            }
            return .assign(field: f, value, always: verb == "set")
        case "severity":
            try count(2)
            let s = try text(w[1], "severity", fail: fail)
            guard Severity(name: s) != nil else {
                throw fail("severity: expected one of \(Severity.allCases.map(\.string).joined(separator: ", "))")
            }
            return .severity(s.uppercased())
        case "tag":
            try count(2)
            return .tag(try text(w[1], "tag", fail: fail))
        default:
            if let top = TopField(rawValue: verb) {
                try count(2)
                return .top(top, try template(try text(w[1], verb, fail: fail), fail: fail))
            }
            throw fail("unknown directive '\(verb)'")
        }
    }

    static func condition(_ w: [Token], fail: (String) -> Error) throws(Error) -> Condition {
        let f = try fieldName(w.first, "when", fail: fail)
        switch (w.count, w.count > 1 ? w[1] : nil) {
        case (3, .word("=")?): return Condition(field: f, test: .equals(try text(w[2], "when", fail: fail)))
        case (3, .word("!=")?): return Condition(field: f, test: .notEquals(try text(w[2], "when", fail: fail)))
        case (2, .word("present")?): return Condition(field: f, test: .present)
        case (2, .word("absent")?): return Condition(field: f, test: .absent)
        case (2, .word("ipv4")?): return Condition(field: f, test: .ipv4)
        case (2, .word("ipv6")?): return Condition(field: f, test: .ipv6)
        default: throw fail("when: expected FIELD = VALUE, FIELD != VALUE, or FIELD present|absent|ipv4|ipv6")
        }
    }

    static func template(_ s: String, fail: (String) -> Error) throws(Error) -> Template {
        var parts: [Template.Part] = []
        var text = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "{" {
                guard let close = s[i...].firstIndex(of: "}") else { throw fail("template: '{' without '}'") }
                var inner = Substring(s[s.index(after: i)..<close])
                var fallback: String?
                if let bar = inner.firstIndex(of: "|") {
                    fallback = String(inner[inner.index(after: bar)...])
                    inner = inner[..<bar]
                }
                var index: Int?
                if inner.hasSuffix("]"), let open = inner.firstIndex(of: "[") {
                    guard let n = Int(inner[inner.index(after: open)..<inner.index(before: inner.endIndex)]), n >= 0 else {
                        throw fail("template: bad index in {\(inner)}")
                    }
                    index = n
                    inner = inner[..<open]
                }
                guard !inner.isEmpty, inner.allSatisfy(isNameCharacter), !inner.contains("*") else {
                    throw fail("template: bad field name {\(inner)}")
                }
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                parts.append(.field(name: String(inner), index: index, fallback: fallback))
                i = s.index(after: close)
                continue
            }
            if c == "}" { throw fail("template: '}' without '{'") }
            text.append(c)
            i = s.index(after: i)
        }
        if !text.isEmpty { parts.append(.text(text)) }
        return Template(parts: parts)
    }

    static func isJSONNumber(_ s: String) -> Bool {
        Array(s.utf8).withUnsafeBufferPointer { JSONScan.numberLength($0, 0) == $0.count }
    }
}

import MozDefEvent
