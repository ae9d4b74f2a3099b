import Foundation
import Testing
@testable import Inputs
import CZlib
import TestSupport

/// Real files in a temporary directory; gzip data made with zlib itself.
@Suite struct LineReaderTests {
    let tmp: TemporaryDirectory
    var dir: URL { tmp.url }

    init() throws { tmp = try TemporaryDirectory(prefix: "mozdef-ship-inputs") }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String { try tmp.write(name, bytes) }

    /// One gzip member, compressed with zlib's deflate (windowBits 31 = gzip wrapper).
    static func gzip(_ input: [UInt8]) -> [UInt8] {
        var s = z_stream()
        precondition(mds_deflateInit2(&s, 6, 31) == Z_OK)
        var out = [UInt8](repeating: 0, count: input.count + 1024)
        var src = input
        let produced = src.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { o in
                s.next_in = inp.baseAddress
                s.avail_in = uInt(inp.count)
                s.next_out = o.baseAddress
                s.avail_out = uInt(o.count)
                precondition(deflate(&s, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(s.avail_out)
            }
        }
        deflateEnd(&s)
        return Array(out[0..<produced])
    }

    func lines(_ path: String) throws -> (lines: [String], error: InputError?) {
        let r = try LineReader.open(path: path)
        defer { r.close() }
        var out: [String] = []
        do {
            var last = 0
            try r.forEachLine { l, n in
                // Numbers rise by one per line; pieces of an over-long line share theirs.
                #expect(n == last || n == last + 1)
                last = n
                out.append(String(decoding: l, as: UTF8.self))
            }
        } catch let e as InputError {
            return (out, e)
        }
        return (out, nil)
    }

    @Test func plainFileWithCRLFAndNoFinalNewline() throws {
        let p = try write("a.log", Array("one\r\ntwo\n\nthree".utf8))
        let r = try lines(p)
        #expect(r.lines == ["one", "two", "", "three"])
        #expect(r.error == nil)
    }

    @Test func gzipIsDetectedByMagicBytesNotName() throws {
        let text = (1...5000).map { "line \($0) " + String(repeating: "x", count: $0 % 300) }.joined(separator: "\n") + "\n"
        let p = try write("archive.log", Self.gzip(Array(text.utf8)))  // no .gz suffix
        let r = try lines(p)
        #expect(r.error == nil)
        #expect(r.lines.count == 5000)
        #expect(r.lines.last?.hasPrefix("line 5000 ") == true)
    }

    @Test func multiMemberGzipReadsEveryMember() throws {
        let a = Self.gzip(Array("first\nsecond\n".utf8))
        let b = Self.gzip(Array("third\n".utf8))
        let p = try write("multi.gz", a + b + [0, 0, 0, 0])  // trailing zero padding is tolerated
        let r = try lines(p)
        #expect(r.lines == ["first", "second", "third"])
        #expect(r.error == nil)
    }

    @Test func truncatedGzipDeliversEarlierLinesThenNamesTheFile() throws {
        let text = (1...20000).map { "record number \($0) with some payload to compress" }.joined(separator: "\n") + "\n"
        let gz = Self.gzip(Array(text.utf8))
        let p = try write("cut.gz", Array(gz.prefix(gz.count / 2)))
        let r = try lines(p)
        #expect(r.lines.count > 1000)
        #expect(r.lines.count < 20000)
        #expect(r.lines.first == "record number 1 with some payload to compress")
        let e = try #require(r.error)
        #expect(e.path == p)
        #expect(e.reason.contains("truncated"))
    }

    @Test func corruptGzipIsAnErrorNamingTheFile() throws {
        var gz = Self.gzip(Array(String(repeating: "abcdefgh\n", count: 5000).utf8))
        for i in 20..<60 { gz[i] ^= 0x5A }
        let p = try write("bad.gz", gz)
        let r = try lines(p)
        let e = try #require(r.error)
        #expect(e.path == p)
        #expect(e.reason.contains("corrupt") || e.reason.contains("truncated"))
    }

    @Test func overLongLinesArrivePiecewiseWithNothingLost() throws {
        let big = String(repeating: "z", count: LineReader.maxLine + 10)
        let p = try write("long.log", Array((big + "\nshort\n").utf8))
        let r = try lines(p)
        #expect(r.lines.map(\.count) == [LineReader.maxLine, 10, 5])
    }

    @Test func overLongLinesEndingAtAPieceBoundaryKeepLineNumbersAndAddNoEmptyLine() throws {
        let exact = String(repeating: "y", count: LineReader.maxLine)
        let withCR = String(repeating: "c", count: LineReader.maxLine - 1) + "\r"
        let p = try write("exact.log", Array((exact + "\n" + exact + "\r\n" + withCR + "tail\nlast\n").utf8))
        let r = try LineReader.open(path: p)
        defer { r.close() }
        var got: [(Int, Int)] = []
        while let l = try r.next() { got.append((l.count, r.lineNumber)) }
        // Pieces of one line share its number; the CR inside a piece is data, kept.
        #expect(got.map(\.0) == [LineReader.maxLine, LineReader.maxLine, LineReader.maxLine, 4, 4])
        #expect(got.map(\.1) == [1, 2, 3, 3, 4])
    }

    @Test func directoriesExpandRecursivelyInSortedOrder() throws {
        _ = try write("tree/b.log", [0x61])
        _ = try write("tree/a/z.log", [0x61])
        _ = try write("tree/a/y.log.gz", Self.gzip([0x61]))
        _ = try write("tree/C.log", [0x61])
        let root = dir.appendingPathComponent("tree").path
        let got = InputPaths.expand([root]).paths.map { String($0.dropFirst(root.count + 1)) }
        #expect(got == ["C.log", "a/y.log.gz", "a/z.log", "b.log"])
        let nope = dir.appendingPathComponent("nope").path
        let r = InputPaths.expand([nope, root])
        #expect(r.errors == [InputError(path: nope, reason: "No such file or directory")])
        #expect(r.paths.count == 4)
    }

    @Test func missingFileErrorNamesIt() {
        #expect(throws: InputError(path: "/nonexistent/x.log", reason: "No such file or directory")) {
            _ = try LineReader.open(path: "/nonexistent/x.log")
        }
    }
}
