import Foundation
import Testing
import TestSupport
import Inputs
@testable import MozDefEvent
@testable import Translators

/// Vector's GELF field validation cases (strict and lenient) and real datagrams from
/// graypy and pygelf, reassembled and translated.
@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct GELFCorpusTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var json: String
        var name: String
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard Corpus.available, let a = try? Corpus.json("gelf/vector-gelf/gelf_deserializer_cases.json") as? [[String: Any]] else { return [] }
        return a.map { Case(json: String(decoding: try! JSONSerialization.data(withJSONObject: $0), as: UTF8.self), name: $0["name"] as? String ?? "?") }
    }()

    @Test(arguments: cases)
    func vectorCase(_ c: Case) throws {
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(c.json.utf8)) as? [String: Any])
        let payload = try JSONSerialization.data(withJSONObject: try #require(spec["payload"]))
        let okStrict = spec["ok"] as? Bool ?? spec["ok_strict"] as? Bool ?? false
        var strict = GELFTranslator(mapping: builtinMappings.mapping(.gelf), strict: true)
        var lenient = GELFTranslator(mapping: builtinMappings.mapping(.gelf), strict: false)
        if !okStrict {
            #expect(throws: TranslationError.self) { try translated(&strict, Array(payload)) }
        }
        // Lenient mode keeps every well-formed document.
        let o = okStrict ? try translated(&strict, Array(payload)) : try translated(&lenient, Array(payload))
        let d = try #require(o["details"] as? [String: Any])
        let p = try #require(spec["payload"] as? [String: Any])
        if let h = p["host"] as? String { #expect(o["hostname"] as? String == h) }
        if let s = p["short_message"] as? String { #expect(o["summary"] as? String == s) }
        if let l = p["level"] as? Int { #expect(o["severity"] as? String == Severity(rawValue: UInt8(l))?.string) }
        if p["level"] == nil { #expect(o["severity"] as? String == "ALERT") }
        for (k, v) in p where k.hasPrefix("_") && k != "_id" {
            #expect(jsonEqual(d[String(k.dropFirst())], v), "\(k) → details.\(k.dropFirst())")
        }
        for k in ["full_message", "facility", "line", "file"] where p[k] != nil { #expect(jsonEqual(d[k], p[k]), "\(k)") }
        #expect(d["id"] == nil && d["_id"] == nil)
        if let expect = spec["expect"] as? [String: Any], let ts = expect["timestamp"] as? String {
            #expect(o["utctimestamp"] as? String == ts.replacingOccurrences(of: "Z", with: "+00:00"))
        }
    }

    @Test func wireCaptures() throws {
        let arr = try #require(try Corpus.json("gelf/wire-captures/python_clients.json") as? [[String: Any]])
        for c in arr {
            let g = GELFAssembler()
            var doc: [UInt8]?
            for (i, hex) in (c["datagrams_hex"] as? [String] ?? []).enumerated() {
                var b: [UInt8] = []
                var s = hex.startIndex
                while s < hex.endIndex { let e = hex.index(s, offsetBy: 2); b.append(UInt8(hex[s..<e], radix: 16)!); s = e }
                if let m = try g.feed(b, now: Double(i)) { doc = m }
            }
            let payload = try #require(doc)
            let want = try #require(c["reassembled_payload_json"] as? [String: Any])
            var t = GELFTranslator(mapping: builtinMappings.mapping(.gelf), strict: true)
            let o = try translated(&t, payload)
            #expect(o["summary"] as? String == want["short_message"] as? String)
            #expect(o["hostname"] as? String == want["host"] as? String)
            let d = try #require(o["details"] as? [String: Any])
            for (k, v) in want where k.hasPrefix("_") && k != "_id" { #expect(jsonEqual(d[String(k.dropFirst())], v), "\(k)") }
        }
    }
}

/// The lenient/strict policy and NUL-free basics without the corpus.
@Suite struct GELFTranslatorTests {
    @Test func missingHostAndShortMessage() throws {
        var lenient = GELFTranslator(mapping: builtinMappings.mapping(.gelf), strict: false)
        let o = try translated(&lenient, #"{"version":"1.1","full_message":"line one\nline two","level":3,"timestamp":1700000000}"#)
        #expect(o["hostname"] == nil)
        #expect(o["summary"] as? String == "line one")
        #expect(o["severity"] as? String == "ERROR")
        #expect(o["utctimestamp"] as? String == "2023-11-14T22:13:20+00:00")
        var strict = GELFTranslator(mapping: builtinMappings.mapping(.gelf), strict: true)
        #expect(throws: TranslationError("GELF: no host")) {
            try translated(&strict, #"{"version":"1.1","short_message":"x"}"#)
        }
        #expect(throws: TranslationError.self) { try translated(&lenient, #"{"version":"1.1","short_message":"x""#) }
        #expect(throws: TranslationError.self) { try translated(&lenient, "not json") }
    }
}
