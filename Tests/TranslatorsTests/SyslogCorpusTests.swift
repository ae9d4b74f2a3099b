import Foundation
import Testing
import TestSupport
@testable import MozDefEvent
@testable import Translators

/// go-syslog's RFC 5424 and RFC 3164 machine tests, rsyslog's parser tests and
/// VRL's parse_syslog cases, read from the shared corpus.
struct SyslogCase: CustomTestStringConvertible, Sendable {
    var index: Int
    var bytes: [UInt8]
    var valid: Bool
    var set: String
    var expected: [String: CorpusValue]?
    var testDescription: String { "#\(index) \(set) \(String(decoding: bytes.prefix(60), as: UTF8.self).debugDescription)" }
}

/// JSON values are not Sendable; the fields we compare are.
enum CorpusValue: Sendable, Equatable {
    case null, int(Int), string(String), sd([String: [String: String]])
    init(_ v: Any?) {
        switch v {
        case let i as Int: self = .int(i)
        case let s as String: self = .string(s)
        case let d as [String: Any]:
            self = .sd(d.mapValues { ($0 as? [String: Any] ?? [:]).mapValues { "\($0)" } })
        default: self = .null
        }
    }
    var int: Int? { if case .int(let i) = self { i } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
}


@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct SyslogCorpusTests {
    // 2026-11-29T00:00:00Z: year inference reference for RFC 3164 cases.
    static let reference: Int64 = 1_795_910_400

    static func load(_ file: String) -> [SyslogCase] {
        guard Corpus.available, let arr = try? Corpus.json(file) as? [[String: Any]] else { return [] }
        return arr.enumerated().map { i, c in
            let bytes = [UInt8](Data(base64Encoded: c["input_base64"] as? String ?? "") ?? Data())
            let exp = (c["expected"] as? [String: Any]).map { $0.mapValues { CorpusValue($0) } }
            return SyslogCase(index: i, bytes: bytes, valid: c["valid"] as? Bool ?? false,
                        set: c["set"] as? String ?? "rfc3164", expected: exp)
        }
    }

    static let rfc5424 = load("syslog/go-syslog/rfc5424_cases.json")
    static let rfc3164 = load("syslog/go-syslog/rfc3164_cases.json")

    /// go-syslog repairs bad UTF-8 byte by byte, Swift by maximal subpart: compare
    /// messages with runs of U+FFFD folded, and with the BOM removed (we strip it).
    static func normalised(_ s: String?) -> String? {
        guard var s else { return nil }
        if s.hasPrefix("\u{FEFF}") { s.removeFirst() }
        var out = ""
        var lastWasReplacement = false
        for ch in s {
            if ch == "\u{FFFD}" { if lastWasReplacement { continue }; lastWasReplacement = true } else { lastWasReplacement = false }
            out.append(ch)
        }
        return out.isEmpty ? nil : out
    }

    func parse(_ c: SyslogCase, strict: Bool) -> Result<SyslogMessage, SyslogError> {
        let parser = SyslogParser(strict: strict, zone: .utc, referenceTime: Self.reference)
        return c.bytes.withUnsafeBufferPointer { p in Result { () throws(SyslogError) in try parser.parse(p) } }
    }

    func check(_ m: SyslogMessage, against e: [String: CorpusValue], hasYear: Bool) {
        #expect(m.priority == e["Priority"]?.int)
        #expect(m.facility == e["Facility"]?.int)
        #expect(m.severity == e["Severity"]?.int)
        #expect(m.hostname == e["Hostname"]?.string)
        #expect(m.appname == e["Appname"]?.string)
        #expect(m.procid == e["ProcID"]?.string)
        #expect(m.msgid == e["MsgID"]?.string)
        #expect(Self.normalised(m.message) == Self.normalised(e["Message"]?.string))
        if let v = e["Version"]?.int { #expect(m.version == v) }
        if let ts = e["Timestamp"]?.string {
            let t = m.timestamp
            #expect(t != nil)
            if hasYear {
                let want = Timestamp.parseISO8601(ts)?.timestamp
                #expect(t?.epochSeconds == want?.epochSeconds)
                #expect(t?.nanoseconds == want?.nanoseconds)
                #expect(t?.offsetSeconds == want?.offsetSeconds)
            } else {
                // RFC 3164: go-syslog leaves the year 0000; compare month, day and time.
                let got = t.map { String($0.iso8601().dropFirst(4).prefix(15)) }
                #expect(got == String(ts.dropFirst(4).prefix(15)))
            }
        } else {
            #expect(m.timestamp == nil)
        }
        if case .sd(let want)? = e["StructuredData"] {
            let got = Dictionary(uniqueKeysWithValues: (m.structuredData ?? []).map { el in
                (el.id, Dictionary(el.params.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
            })
            #expect(got == want)
        } else {
            #expect(m.structuredData == nil)
        }
    }

    @Test(arguments: rfc5424)
    func goSyslogRFC5424(_ c: SyslogCase) throws {
        let strict = parse(c, strict: true)
        if c.valid, let e = c.expected {
            let m = try strict.get()
            #expect(m.format == .rfc5424)
            check(m, against: e, hasYear: true)
            // Lenient mode reads every valid message the same way.
            check(try parse(c, strict: false).get(), against: e, hasYear: true)
        } else {
            #expect(throws: SyslogError.self) { try strict.get() }
        }
    }

    @Test(arguments: rfc3164)
    func goSyslogRFC3164(_ c: SyslogCase) throws {
        let e = try #require(c.expected)
        for strict in [true, false] {
            let m = try parse(c, strict: strict).get()
            #expect(m.format == .rfc3164)
            check(m, against: e, hasYear: false)
        }
    }

    @Test func everyInvalidCaseStillBecomesAnEventWhenLenient() {
        let translator = SyslogTranslator(parser: SyslogParser(strict: false, referenceTime: Self.reference))
        let ctx = RecordContext(source: "corpus", received: Timestamp(epochSeconds: Self.reference))
        var events = 0, unparsed = 0
        for c in Self.rfc5424 where !c.valid {
            c.bytes.withUnsafeBufferPointer { p in
                do throws(TranslationError) {
                    let e = try translator.translate(p, context: ctx)
                    #expect(e.jsonString.utf8.count > 0)
                    events += 1
                } catch {
                    _ = unparsedEvent(p, context: ctx, format: "syslog", error: error)
                    unparsed += 1
                }
            }
        }
        #expect(events + unparsed == Self.rfc5424.filter { !$0.valid }.count)
        #expect(events > 0)
    }
}
