import MozDefEvent

/// The Lucene query-string subset that `GET /api/events?q=` and alert rules' `search_string`
/// take (MozDef hands these to Elasticsearch's query_string):
///
/// - `field:value`, `field:"a phrase"`, `field:val*ue?` (wildcards), `field:[a TO b]` and
///   `field:{a TO b}` (inclusive / exclusive ranges: numbers when both ends are numbers,
///   else text), `_exists_:field`;
/// - `AND`/`&&`, `OR`/`||`, `NOT`/`!`, `+term`, `-term`, parentheses; terms side by side
///   must all hold (as with default_operator AND); a backslash escapes a character.
///
/// `summary` is analysed text in MozDef's Elasticsearch mapping: it matches by words,
/// ignoring case (a phrase: adjacent words in order; a wildcard: against each word). Every
/// other field matches its whole value exactly (numbers and booleans as their text), any
/// element of an array. `details.x` names a nested field; a bare word searches the summary.
public struct EventQuery: Sendable {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    indirect enum Node: Sendable {
        case all
        case term(field: String, value: String, phrase: Bool)
        case range(field: String, low: String?, high: String?, lowIncluded: Bool, highIncluded: Bool)
        case exists(String)
        case not(Node)
        case and(Node, Node)
        case or(Node, Node)
    }

    let root: Node

    public init(_ text: String) throws(Failure) {
        var p = Parser(tokens: try Self.tokens(text))
        if p.tokens.isEmpty {
            root = .all
            return
        }
        root = try p.or()
        if p.i < p.tokens.count { throw Failure(description: "unexpected '\(p.tokens[p.i].text)'") }
    }

    public func matches(_ doc: JSONObject) -> Bool { Self.eval(root, doc) }

    // MARK: tokens

    enum Kind: Equatable { case word, phrase, open, close, and, or, not, plus, minus, range }
    struct Token {
        var kind: Kind
        var text: String
        var field: String?
    }

    static func tokens(_ s: String) throws(Failure) -> [Token] {
        let c = Array(s)
        var out: [Token] = []
        var i = 0
        func word() -> String {
            var w = ""
            while i < c.count, !" \t\n()\"".contains(c[i]) {
                if c[i] == "\\", i + 1 < c.count { w.append(c[i + 1]); i += 2; continue }
                if c[i] == ":" { break }
                w.append(c[i])
                i += 1
            }
            return w
        }
        func quoted() throws(Failure) -> String {
            i += 1
            var w = ""
            while i < c.count, c[i] != "\"" {
                if c[i] == "\\", i + 1 < c.count { w.append(c[i + 1]); i += 2; continue }
                w.append(c[i])
                i += 1
            }
            guard i < c.count else { throw Failure(description: "a quote is not closed") }
            i += 1
            return w
        }
        while i < c.count {
            let ch = c[i]
            if ch == " " || ch == "\t" || ch == "\n" { i += 1; continue }
            if ch == "(" { out.append(Token(kind: .open, text: "(")); i += 1; continue }
            if ch == ")" { out.append(Token(kind: .close, text: ")")); i += 1; continue }
            if ch == "\"" { out.append(Token(kind: .phrase, text: try quoted())); continue }
            if ch == "+" { out.append(Token(kind: .plus, text: "+")); i += 1; continue }
            if ch == "-" { out.append(Token(kind: .minus, text: "-")); i += 1; continue }
            if ch == "!" { out.append(Token(kind: .not, text: "!")); i += 1; continue }
            if ch == "&", i + 1 < c.count, c[i + 1] == "&" { out.append(Token(kind: .and, text: "&&")); i += 2; continue }
            if ch == "|", i + 1 < c.count, c[i + 1] == "|" { out.append(Token(kind: .or, text: "||")); i += 2; continue }
            let w = word()
            if i < c.count, c[i] == ":" {
                // field:value, field:"phrase", field:[a TO b], field:(a OR b): the field applies
                // to every term of the group.
                i += 1
                guard !w.isEmpty else { throw Failure(description: "a ':' without a field") }
                if i < c.count, c[i] == "(" {
                    out.append(Token(kind: .open, text: "(", field: w))
                    i += 1
                } else if i < c.count, c[i] == "\"" {
                    out.append(Token(kind: .phrase, text: try quoted(), field: w))
                } else if i < c.count, c[i] == "[" || c[i] == "{" {
                    guard let end = c[i...].firstIndex(where: { $0 == "]" || $0 == "}" }) else { throw Failure(description: "a range is not closed") }
                    out.append(Token(kind: .range, text: String(c[i...end]), field: w))
                    i = end + 1
                } else {
                    let v = word()
                    guard !v.isEmpty else { throw Failure(description: "'\(w):' has no value") }
                    out.append(Token(kind: .word, text: v, field: w))
                }
                continue
            }
            if w.isEmpty { throw Failure(description: "unexpected '\(ch)'") }
            switch w {
            case "AND": out.append(Token(kind: .and, text: w))
            case "OR": out.append(Token(kind: .or, text: w))
            case "NOT": out.append(Token(kind: .not, text: w))
            default: out.append(Token(kind: .word, text: w))
            }
        }
        return out
    }

    // MARK: parsing

    struct Parser {
        var tokens: [Token]
        /// The field of a bare term: summary, or the field of an enclosing `field:( )`.
        var defaultField = "summary"
        var i = 0

        mutating func or() throws(Failure) -> Node {
            var n = try and()
            while i < tokens.count, tokens[i].kind == .or {
                i += 1
                n = .or(n, try and())
            }
            return n
        }

        mutating func and() throws(Failure) -> Node {
            var n = try unary()
            while i < tokens.count, tokens[i].kind != .or, tokens[i].kind != .close {
                if tokens[i].kind == .and { i += 1 }
                n = .and(n, try unary())
            }
            return n
        }

        mutating func unary() throws(Failure) -> Node {
            guard i < tokens.count else { throw Failure(description: "the query ends too soon") }
            let t = tokens[i]
            i += 1
            switch t.kind {
            case .not, .minus: return .not(try unary())
            case .plus: return try unary()
            case .open:
                let outer = defaultField
                if let f = t.field { defaultField = f }
                let n = try or()
                defaultField = outer
                guard i < tokens.count, tokens[i].kind == .close else { throw Failure(description: "a '(' is not closed") }
                i += 1
                return n
            case .word, .phrase:
                let field = t.field ?? defaultField
                if field == "_exists_" { return .exists(t.text) }
                return .term(field: field, value: t.text, phrase: t.kind == .phrase)
            case .range:
                return try range(t.field ?? defaultField, t.text)
            case .close, .and, .or:
                throw Failure(description: "unexpected '\(t.text)'")
            }
        }

        func range(_ field: String, _ text: String) throws(Failure) -> Node {
            let inner = text.dropFirst().dropLast()
            let parts = inner.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 3, parts[1] == "TO" else { throw Failure(description: "expected [low TO high], got \(text)") }
            let low = parts[0] == "*" ? nil : String(parts[0]), high = parts[2] == "*" ? nil : String(parts[2])
            return .range(field: field, low: low, high: high, lowIncluded: text.first == "[", highIncluded: text.last == "]")
        }
    }

    // MARK: evaluation

    static func values(_ doc: JSONObject, _ field: String) -> [JSONValue] {
        var v: [JSONValue] = [.object(doc)]
        for part in field.split(separator: ".") {
            v = v.flatMap { x -> [JSONValue] in
                switch x {
                case .object(let o): return o[String(part)].map { [$0] } ?? []
                case .array(let a): return a.compactMap { $0.objectValue?[String(part)] }
                default: return []
                }
            }
        }
        return v.flatMap { x -> [JSONValue] in if case .array(let a) = x { return a } else { return [x] } }
    }

    static func eval(_ n: Node, _ doc: JSONObject) -> Bool {
        switch n {
        case .all: return true
        case .not(let a): return !eval(a, doc)
        case .and(let a, let b): return eval(a, doc) && eval(b, doc)
        case .or(let a, let b): return eval(a, doc) || eval(b, doc)
        case .exists(let f): return values(doc, f).contains { if case .null = $0 { return false } else { return true } }
        case .term(let field, let value, let phrase):
            let vs = values(doc, field)
            if field == "summary" {
                return vs.contains { textMatches(Normalizer.str($0), value, phrase: phrase) }
            }
            let wild = !phrase && (value.contains("*") || value.contains("?"))
            return vs.contains { v in
                let s = Normalizer.str(v)
                return wild ? glob(value, s) : s == value
            }
        case .range(let field, let low, let high, let li, let hi):
            return values(doc, field).contains { v in
                let s = Normalizer.str(v)
                if let x = Double(s), (low.map { Double($0) != nil } ?? true), (high.map { Double($0) != nil } ?? true) {
                    if let l = low.flatMap(Double.init), li ? x < l : x <= l { return false }
                    if let h = high.flatMap(Double.init), hi ? x > h : x >= h { return false }
                    return true
                }
                if let l = low, li ? s < l : s <= l { return false }
                if let h = high, hi ? s > h : s >= h { return false }
                return true
            }
        }
    }

    /// An analysed-text match: the value's words, adjacent and in order, among the text's
    /// words (ignoring case); a single word with wildcards matches any one word.
    static func textMatches(_ text: String, _ value: String, phrase: Bool) -> Bool {
        let words = Self.words(text)
        if !phrase, value.contains("*") || value.contains("?") {
            let pattern = value.lowercased()
            return words.contains { glob(pattern, $0) }
        }
        let want = Self.words(value)
        guard !want.isEmpty, want.count <= words.count else { return false }
        for s in 0...(words.count - want.count) where Array(words[s..<(s + want.count)]) == want { return true }
        return false
    }

    static func words(_ s: String) -> [String] {
        s.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }

    /// `*` any run, `?` one character.
    static func glob(_ pattern: String, _ s: String) -> Bool {
        let p = Array(pattern), t = Array(s)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
