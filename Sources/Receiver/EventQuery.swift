import MozDefEvent

/// The query of `GET /api/events?q=`: terms `field:value` (or `field:"a phrase"`), all of
/// which must hold, each optionally negated with `NOT` or `-`; `AND` between terms is
/// allowed. `summary` matches by words, case-insensitively (MozDef's summary is analysed
/// text); every other field matches exactly, `details.x` naming a detail. A bare word
/// matches the summary. An empty query matches everything.
public struct EventQuery: Sendable {
    struct Term: Sendable {
        var field: String
        var value: String
        var negated: Bool
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let terms: [Term]

    public init(_ text: String) throws(Failure) {
        var terms: [Term] = []
        var negate = false
        var i = text.startIndex
        func skipSpace() { while i < text.endIndex, text[i] == " " { i = text.index(after: i) } }
        while true {
            skipSpace()
            guard i < text.endIndex else { break }
            // A word, a field:value, or a quoted phrase.
            var word = ""
            var field: String?
            while i < text.endIndex, text[i] != " " {
                if text[i] == ":" && field == nil {
                    field = word
                    word = ""
                    i = text.index(after: i)
                    continue
                }
                if text[i] == "\"" {
                    i = text.index(after: i)
                    guard let close = text[i...].firstIndex(of: "\"") else { throw Failure(description: "a quote is not closed") }
                    word += text[i..<close]
                    i = text.index(after: close)
                    continue
                }
                word.append(text[i])
                i = text.index(after: i)
            }
            if field == nil, word == "AND" { continue }
            if field == nil, word == "NOT" { negate = true; continue }
            var f = field ?? "summary"
            if field == nil, word.hasPrefix("-") { negate = true; word.removeFirst() }
            if f.hasPrefix("-") { negate = true; f.removeFirst() }
            guard !word.isEmpty else { throw Failure(description: "'\(f):' has no value") }
            terms.append(Term(field: f, value: word, negated: negate))
            negate = false
        }
        self.terms = terms
    }

    public func matches(_ doc: JSONObject) -> Bool {
        terms.allSatisfy { t in holds(t, doc) != t.negated }
    }

    func holds(_ t: Term, _ doc: JSONObject) -> Bool {
        var v: JSONValue? = .object(doc)
        for part in t.field.split(separator: ".") {
            guard case .object(let o)? = v else { return false }
            v = o[String(part)]
        }
        guard let v else { return false }
        if t.field == "summary" {
            let words = Self.words(Normalizer.str(v))
            let want = Self.words(t.value)
            guard !want.isEmpty else { return false }
            // Every word of the value, in order and adjacent (a phrase), as in an analysed field.
            guard want.count <= words.count else { return false }
            for s in 0...(words.count - want.count) where Array(words[s..<(s + want.count)]) == want { return true }
            return false
        }
        if case .array(let a) = v { return a.contains { Normalizer.str($0) == t.value } }
        return Normalizer.str(v) == t.value
    }

    static func words(_ s: String) -> [String] {
        s.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
    }
}
