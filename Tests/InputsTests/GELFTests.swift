import Foundation
import Testing
import TestSupport
@testable import Inputs

private func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.utf8.makeIterator()
    while let a = it.next(), let b = it.next() {
        out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16)!)
    }
    return out
}

/// GELF UDP chunk reassembly and payload decoding against the corpus: 22 chunking
/// scenarios and datagrams captured from graypy and pygelf.
@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct GELFCorpusTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var datagrams: [[UInt8]]
        var expect: String
        var payload: String?
        var testDescription: String { name }
    }

    static let scenarios: [Scenario] = {
        guard let arr = try? Corpus.json("gelf/chunking-scenarios/chunk_scenarios.json") as? [[String: Any]] else { return [] }
        return arr.map { c in
            Scenario(name: c["name"] as? String ?? "?",
                     datagrams: (c["datagrams_hex"] as? [String] ?? []).map { bytes(hex: $0) },
                     expect: c["expect"] as? String ?? "?",
                     payload: c["expected_reassembled_payload"] as? String)
        }
    }()

    @Test(arguments: scenarios)
    func chunkingScenario(_ s: Scenario) throws {
        let g = GELFAssembler()
        var messages: [[UInt8]] = []
        var errors: [GELFError] = []
        for (i, d) in s.datagrams.enumerated() {
            do throws(GELFError) {
                if let m = try g.feed(d, now: Double(i) * 0.01) { messages.append(m) }
            } catch {
                errors.append(error)
            }
        }
        switch s.expect {
        case "frame", "message":
            #expect(errors.isEmpty, "\(errors)")
            #expect(messages.count == 1)
            #expect(messages.first.map { String(decoding: $0, as: UTF8.self) } == s.payload)
        case "two_messages":
            #expect(errors.isEmpty)
            #expect(messages.count == 2)
            #expect(messages.allSatisfy { String(decoding: $0, as: UTF8.self) == s.payload })
        case "incomplete_then_discard":
            #expect(messages.isEmpty && errors.isEmpty)
            #expect(g.pendingMessages == 1)
            #expect(g.expire(now: 4.9) == 0)
            #expect(g.expire(now: 5.2) == 1)
            #expect(g.pendingMessages == 0)
        case "error", "empty_or_error":
            #expect(messages.isEmpty)
            #expect(!errors.isEmpty)
        default:
            Issue.record("unknown expectation \(s.expect)")
        }
        if s.expect != "incomplete_then_discard" { #expect(g.pendingMessages == 0) }
    }

    @Test func capturedClientDatagrams() throws {
        let arr = try #require(try Corpus.json("gelf/wire-captures/python_clients.json") as? [[String: Any]])
        #expect(arr.count >= 9)
        for c in arr {
            let name = c["name"] as? String ?? "?"
            let g = GELFAssembler()
            var got: [UInt8]?
            // Reverse the chunks: order must not matter.
            for (i, hex) in (c["datagrams_hex"] as? [String] ?? []).reversed().enumerated() {
                if let m = try g.feed(bytes(hex: hex), now: Double(i)) { got = m }
            }
            let doc = try #require(got, "\(name)")
            let parsed = try JSONSerialization.jsonObject(with: Data(doc)) as? NSDictionary
            let want = c["reassembled_payload_json"] as? NSDictionary
            #expect(parsed == want, "\(name)")
        }
    }
}

@Suite struct GELFLimitsTests {
    @Test func inflatedSizeIsBounded() throws {
        // 1 MiB of spaces compresses to about a kilobyte.
        let big = String(repeating: " ", count: 1 << 20)
        let z = try #require(try? zlibCompress(Array(big.utf8)))
        let g = GELFAssembler(maxPayloadBytes: 64 * 1024)
        #expect(throws: GELFError.self) { _ = try g.feed(z, now: 0) }
        #expect(try GELFAssembler().feed(z, now: 0)?.count == 1 << 20)
    }

    @Test func reassembledSizeIsBounded() throws {
        let g = GELFAssembler(maxPayloadBytes: 1000)
        let part = [UInt8](repeating: 0x41, count: 600)
        let header: [UInt8] = [0x1E, 0x0F, 1, 2, 3, 4, 5, 6, 7, 8]
        #expect(try g.feed(header + [0, 3] + part, now: 0) == nil)
        #expect(throws: GELFError.self) { _ = try g.feed(header + [1, 3] + part, now: 0) }
        #expect(g.pendingMessages == 0)
    }

    func zlibCompress(_ input: [UInt8]) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))"]
        let i = Pipe(), o = Pipe()
        p.standardInput = i
        p.standardOutput = o
        try p.run()
        i.fileHandleForWriting.write(Data(input))
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return [UInt8](out)
    }
}
