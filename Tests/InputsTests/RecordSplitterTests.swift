import Testing
@testable import Inputs

/// The record splitter against records whose exact text is known: generated JSON with
/// brackets, quotes and backslashes inside strings, deep nesting and white space, fed in
/// pieces of every size so records and 64-byte blocks straddle the pieces.
@Suite struct RecordSplitterTests {
    /// A small deterministic generator (SplitMix64), so a failure can be replayed.
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// JSON text of a random value; `space` adds white space between tokens.
    static func value(_ r: inout Rng, depth: Int, space: Bool) -> String {
        let ws = space ? [" ", "\n", "\t", "  ", ""][r.below(5)] : ""
        switch depth > 5 ? r.below(4) : r.below(7) {
        case 0: return string(&r)
        case 1: return ["true", "false", "null"][r.below(3)]
        case 2: return ["0", "-12", "3.25", "1e9", "6.02E-23", "4096"][r.below(6)]
        case 3: return string(&r)
        case 4, 5:
            let n = r.below(6)
            let members = (0..<n).map { _ in "\(string(&r))\(ws):\(ws)\(value(&r, depth: depth + 1, space: space))" }
            return "{\(ws)" + members.joined(separator: ",\(ws)") + "\(ws)}"
        default:
            let n = r.below(5)
            return "[\(ws)" + (0..<n).map { _ in value(&r, depth: depth + 1, space: space) }.joined(separator: ",\(ws)") + "\(ws)]"
        }
    }

    /// A JSON string with the bytes that trouble a splitter: brackets, escaped quotes and
    /// backslashes (also at the end), and non-ASCII text.
    static func string(_ r: inout Rng) -> String {
        // Escapes are rare (as in real logs), so most 64-byte blocks have none.
        let plain = ["a", "Records", "{", "}", "[", "]", ",", ":", "é", "日本", "abcdefghijklmnopqrstuvwxyz", " ", "0"]
        let escapes = ["\\\"", "\\\\", "\\n", "\\u00e9", "x\\\\\\\"y", "\\\\\\\\"]
        let n = r.below(12)
        return "\"" + (0..<n).map { _ in
            r.below(24) == 0 ? escapes[r.below(escapes.count)] : plain[r.below(plain.count)]
        }.joined() + "\""
    }

    /// A record: an object, often long and nested enough for the 64-byte path.
    static func record(_ r: inout Rng, space: Bool) -> String {
        var v = value(&r, depth: 1, space: space)
        while !v.hasPrefix("{") { v = value(&r, depth: 1, space: space) }
        return v
    }

    /// Feeds `text` in pieces of the sizes `sizes` cycles through; every record's text.
    static func split(_ text: [UInt8], sizes: [Int]) throws -> [String] {
        var s = RecordSplitter()
        var out: [String] = []
        var at = 0, k = 0
        try text.withUnsafeBufferPointer { all in
            while at < all.count {
                let n = min(sizes[k % sizes.count], all.count - at)
                k += 1
                s.feed(UnsafeBufferPointer(rebasing: all[at..<(at + n)]), newline: false)
                while let rec = try s.next() { out.append(String(decoding: rec, as: UTF8.self)) }
                at += n
            }
        }
        #expect(s.isIdle)
        return out
    }

    @Test(arguments: [false, true])
    func cloudTrailDocumentsYieldEachRecordExactly(space: Bool) throws {
        var r = Rng(s: space ? 7 : 3)
        for round in 0..<40 {
            let records = (0..<(1 + r.below(30))).map { _ in Self.record(&r, space: space) }
            let ws = space ? "\n  " : ""
            let doc = "{\(ws)\"Records\"\(ws):\(ws)[\(ws)" + records.joined(separator: ",\(ws)") + "\(ws)]\(ws)}"
            let sizes = round % 4 == 0 ? [doc.utf8.count] : [1 + r.below(7), 63, 64, 65, 1 + r.below(300)]
            let got = try Self.split(Array(doc.utf8), sizes: sizes)
            #expect(got.count == records.count)
            for (g, e) in zip(got, records) where g != e {
                Issue.record("round \(round): got \(g.prefix(200)) expected \(e.prefix(200))")
                break
            }
        }
    }

    @Test func topLevelObjectsOneAfterAnother() throws {
        var r = Rng(s: 11)
        // (an object with a "Records" member would be a CloudTrail document: not here)
        let records = (0..<300).map { _ in Self.record(&r, space: false) }.filter { !$0.contains(#""Records""#) }
        let got = try Self.split(Array(records.joined(separator: "\n").utf8), sizes: [97, 1, 64, 500])
        #expect(got == records)
    }

    /// A byte no JSON value has, deep inside a record, is an error there: the records
    /// after it are not swallowed.
    @Test func aBadByteDeepInsideARecordStopsOnlyThatRecord() throws {
        let pad = String(repeating: "p", count: 80)
        let bad = #"{"a":{"b":{"c":["\#(pad)", 1, x, "\#(pad)"]}}}"#
        let good = #"{"ok":{"n":[1,2,3],"s":"\#(pad)"}}"#
        var s = RecordSplitter()
        var seen: [String] = [], errors = 0
        for line in [good, bad, good] {
            let bytes = Array(line.utf8)
            try bytes.withUnsafeBufferPointer { b in
                s.feed(b, newline: true)
                while true {
                    do {
                        guard let rec = try s.next() else { break }
                        seen.append(String(decoding: rec, as: UTF8.self))
                    } catch let error as RecordSplitter.SplitError {
                        errors += 1
                        #expect(error.reason.contains("'x'"))
                        #expect(String(decoding: error.partial, as: UTF8.self).hasPrefix(#"{"a":{"b""#))
                    }
                }
            }
            s.feed(UnsafeBufferPointer(start: nil, count: 0), newline: true)
            _ = try s.next()
        }
        #expect(errors == 1)
        #expect(seen == [good, good])
    }
}
