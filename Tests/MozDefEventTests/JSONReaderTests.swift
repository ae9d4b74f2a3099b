import Foundation
import Testing
import TestSupport
@testable import MozDefEvent

@Suite struct JSONReaderTests {
    /// JSONValue as Foundation objects, to compare with JSONSerialization.
    static func foundation(_ v: JSONValue) -> Any {
        switch v {
        case .null: NSNull()
        case .bool(let b): NSNumber(value: b)
        case .int(let i): NSNumber(value: i)
        case .double(let d): NSNumber(value: d)
        case .string(let s): s as NSString
        case .array(let a): a.map(foundation) as NSArray
        case .object(let o): Dictionary(o.members.map { ($0.key, foundation($0.value)) }, uniquingKeysWith: { $1 }) as NSDictionary
        }
    }

    static func agree(_ text: String) throws -> Bool {
        let ours = foundation(try JSONReader.parse(text)) as! NSObject
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as! NSObject
        return ours.isEqual(theirs)
    }

    @Test(arguments: [
        "0", "-0", "  1 ", "-12", "9223372036854775807", "-9223372036854775808", "18446744073709551616",
        "1.5", "-2.5e3", "1E-2", "true", "false", "null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\\u20ac\"", "\"\\ud83d\\ude00\"", "\"é€😀\"", "[]", "{}", "[1,[2,[3]],{\"a\":{\"b\":null}}]",
        "{\"a\":1,\"b\":[true,false],\"c\":\"x\"}", " \t\n\r[ 1 , 2 ]\n",
    ])
    func agreesWithFoundation(_ text: String) throws {
        #expect(try Self.agree(text), "\(text)")
    }

    @Test func keepsKeyOrderAndLastDuplicate() throws {
        let v = try JSONReader.parse(#"{"z":1,"a":2,"z":3}"#)
        #expect(v.objectValue?.keys == ["z", "a"])
        #expect(v.objectValue?["z"] == .int(3))
    }

    @Test func loneSurrogatesBecomeReplacementCharacters() throws {
        #expect(try JSONReader.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
        #expect(try JSONReader.parse(#""\udc00""#) == .string("\u{FFFD}"))
        #expect(try JSONReader.parse(#""\ud800\u0041""#) == .string("\u{FFFD}A"))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "-", "1e", "\"\\x\"", "\"\u{01}\"",
        "[1 2]", "nul", "tru", "\"abc", "{\"a\" 1}", "{1:2}", "1 2", "[", "\"\\u12\"", "\"\\u12G4\"", "NaN", "Infinity",
    ])
    func refusesInvalidText(_ text: String) {
        #expect(throws: JSONReadError.self) { try JSONReader.parse(text) }
    }

    @Test func refusesInvalidUTF8AndReportsTheOffset() {
        let bytes: [UInt8] = Array("{\"k\":\"a".utf8) + [0xFF] + Array("\"}".utf8)
        let e = bytes.withUnsafeBufferPointer { p in Result { () throws(JSONReadError) in try JSONReader.parse(p) } }
        if case .failure(let err) = e { #expect(err.offset == 6) } else { Issue.record("accepted invalid UTF-8") }
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONReader.parse(ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONReadError.self) { try JSONReader.parse(deep) }
    }

    @Test func roundTripsThroughTheWriter() throws {
        let text = #"{"a":[1,-2,3.25,true,null,"x\"y\n"],"b":{"c":"é"}}"#
        var w = JSONWriter()
        w.value(try JSONReader.parse(text))
        #expect(String(decoding: w.bytes, as: UTF8.self) == text)
    }
}

/// Every JSON document in the shared corpus (whole files, or one per line) reads as
/// Foundation's JSONSerialization reads it.
@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct JSONReaderCorpusTests {
    @Test func everyCorpusDocumentAgreesWithFoundation() throws {
        let files = FileManager.default.enumerator(at: Corpus.root, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { ["json", "jsonl", "ndjson"].contains($0.pathExtension) }
        var documents = 0
        for url in files {
            let data = try Data(contentsOf: url)
            let texts: [Data] = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
                ? [data] : data.split(separator: 0x0A).filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D } }
            for t in texts {
                let theirs = try? JSONSerialization.jsonObject(with: t, options: [.fragmentsAllowed]) as? NSObject
                let ours = t.withUnsafeBytes { raw in
                    try? JSONReader.parse(raw.bindMemory(to: UInt8.self))
                }
                if let theirs {
                    let o = try #require(ours, "\(url.lastPathComponent): refused a document Foundation reads")
                    let d = Self.difference(o, theirs, path: "$")
                    #expect(d == nil, "\(url.lastPathComponent): \(d ?? "")")
                    documents += 1
                } else {
                    #expect(ours == nil, "\(url.lastPathComponent): accepted a document Foundation refuses")
                }
            }
        }
        #expect(documents >= 30)
    }

    /// Where two readings differ, or nil. Doubles are compared to 1e-15 relative:
    /// Foundation on Linux does not round every decimal to the nearest double (we use strtod).
    static func difference(_ v: JSONValue, _ f: Any, path: String) -> String? {
        switch (v, f) {
        case (.null, is NSNull): return nil
        case (.string(let s), let t as String):
            // Foundation's NSString drops a leading U+FEFF (BOM) from a string's content; it is data.
            if s == t || (s.hasPrefix("\u{FEFF}") && String(s.dropFirst()) == t) { return nil }
            return "\(path): \(s.debugDescription) vs \(t.debugDescription)"
        case (.array(let a), let b as [Any]):
            guard a.count == b.count else { return "\(path): \(a.count) vs \(b.count) elements" }
            for (k, (x, y)) in zip(a, b).enumerated() { if let d = difference(x, y, path: "\(path)[\(k)]") { return d } }
            return nil
        case (.object(let o), let b as [String: Any]):
            guard o.count == b.count else { return "\(path): \(o.keys) vs \(b.keys)" }
            for m in o.members {
                guard let y = b[m.key] else { return "\(path).\(m.key) missing" }
                if let d = difference(m.value, y, path: "\(path).\(m.key)") { return d }
            }
            return nil
        case (.bool(let x), let n as NSNumber): return x == n.boolValue ? nil : "\(path): \(x) vs \(n)"
        case (.int(let x), let n as NSNumber): return Double(x) == n.doubleValue ? nil : "\(path): \(x) vs \(n)"
        case (.double(let x), let n as NSNumber):
            return abs(x - n.doubleValue) <= 1e-15 * max(abs(x), 1) ? nil : "\(path): \(x) vs \(n)"
        default: return "\(path): \(v) vs \(f)"
        }
    }
}
