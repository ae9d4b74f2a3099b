import Foundation
import Testing
@testable import MozDefEvent

@Suite struct JSONWriterTests {
    private func written(_ f: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        f(&w)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    @Test(arguments: [
        ("plain", "\"plain\""),
        ("quote\"back\\slash", "\"quote\\\"back\\\\slash\""),
        ("nl\ncr\rtab\t", "\"nl\\ncr\\rtab\\t\""),
        ("\u{01}\u{1F}\u{08}\u{0C}", "\"\\u0001\\u001f\\b\\f\""),
        ("ünïcødé ✓ 𐌼", "\"ünïcødé ✓ 𐌼\""),
        ("/slash and \u{7F}", "\"/slash and \u{7F}\""),
    ])
    func escapesStrings(input: String, expected: String) {
        #expect(written { $0.string(input) } == expected)
    }

    /// Every length around the small-string (15 bytes) and word (8 bytes) boundaries,
    /// with a character needing an escape at every position, against a plain escaper.
    @Test func fastPathsAgreeWithAReferenceEscaper() throws {
        func reference(_ s: String) -> String {
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        }
        for n in 0...40 {
            let base = String((0..<n).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            #expect(written { $0.string(base) } == reference(base))
            for pos in 0..<max(n, 1) {
                for special in ["\"", "\\", "\n", "\u{01}", "é", "\u{7F}"] {
                    var chars = Array(base)
                    if chars.isEmpty { chars = [Character(special)] } else { chars[pos] = Character(special) }
                    let s = String(chars)
                    #expect(written { $0.string(s) } == reference(s), "\(s.debugDescription)")
                }
            }
        }
    }

    @Test func invalidUTF8BecomesReplacementCharacterAndValidJSON() throws {
        let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0x28, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98]
        let s = bad.withUnsafeBufferPointer { p in written { $0.string(bytes: p) } }
        let parsed = try JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed]) as? String
        #expect(parsed?.hasPrefix("a\u{FFFD}b") == true)
        #expect(parsed?.contains("\u{FFFD}") == true)
    }

    @Test func validatorAgreesWithRFC3629() {
        let cases: [([UInt8], Bool)] = [
            ([0x41], true), ([0xC3, 0xA9], true), ([0xE2, 0x82, 0xAC], true), ([0xF0, 0x9F, 0x98, 0x80], true),
            ([0xC0, 0xAF], false), ([0xE0, 0x80, 0xAF], false), ([0xED, 0xA0, 0x80], false),
            ([0xF4, 0x90, 0x80, 0x80], false), ([0xC3], false), ([0x80], false), ([0xFE], false),
        ]
        for (bytes, ok) in cases {
            #expect(bytes.withUnsafeBufferPointer { UTF8Validation.isValid($0) } == ok, "\(bytes)")
        }
    }

    @Test func numbersAndNesting() throws {
        var o = JSONObject()
        o.append("i", .int(Int64.min))
        o.append("d", .double(0.5))
        o.append("whole", .double(3))
        o.append("nan", .double(.nan))
        o.append("a", .array([.bool(true), .null, .string("x")]))
        o.append("o", .object(JSONObject(["k": "v"])))
        let s = written { $0.object(o) }
        // A whole double stays a double, as Python's json writes it.
        #expect(s == #"{"i":-9223372036854775808,"d":0.5,"whole":3.0,"nan":null,"a":[true,null,"x"],"o":{"k":"v"}}"#)
        _ = try JSONSerialization.jsonObject(with: Data(s.utf8))
    }

    @Test func unbalancedDetailFieldsStillGiveValidJSON() throws {
        let t = Timestamp(epochSeconds: 0)
        var e = Event(timestamp: t, category: "c", summary: "s")
        e.detailFields = [.objectEnd, .objectStart("a"), .int("n", -5), .bool("b", true), .objectStart("inner")]
        let o = try #require(try JSONSerialization.jsonObject(with: Data(e.jsonString.utf8)) as? [String: Any])
        let a = try #require((o["details"] as? [String: Any])?["a"] as? [String: Any])
        #expect(a["n"] as? Int == -5)
        #expect(a["b"] as? Bool == true)
        #expect(e.details["a"]?.objectValue?["inner"] == .object(JSONObject()))
    }

    @Test func objectSubscriptReplacesInPlaceAndRemoves() {
        var o = JSONObject()
        o["a"] = 1
        o["b"] = 2
        o["a"] = 3
        #expect(o.keys == ["a", "b"])
        #expect(o["a"] == .int(3))
        o["a"] = nil
        #expect(o.keys == ["b"])
    }

    @Test func eventKeyOrderIsStableAndOptionalFieldsAreOmitted() throws {
        let t = Timestamp(epochSeconds: 1_700_000_000, offsetSeconds: 3600)
        var e = Event(timestamp: t, receivedTimestamp: t.utc, category: "syslog", summary: "hi")
        e.details.append("facility", "auth")
        let s = e.jsonString
        #expect(s == #"{"timestamp":"2023-11-14T23:13:20+01:00","utctimestamp":"2023-11-14T22:13:20+00:00","receivedtimestamp":"2023-11-14T22:13:20+00:00","category":"syslog","summary":"hi","tags":[],"details":{"facility":"auth"}}"#)
        e.hostname = "h"
        e.processid = "42"
        e.processname = "sshd"
        e.severity = .warning
        e.source = "/var/log/auth.log"
        e.tags = ["a", "b"]
        let full = try JSONSerialization.jsonObject(with: Data(e.jsonString.utf8)) as? [String: Any]
        #expect(full?["severity"] as? String == "WARNING")
        #expect(full?["processid"] as? String == "42")
        #expect(full?["tags"] as? [String] == ["a", "b"])
    }
}
