import Foundation
import Testing
import TestSupport

/// The fuzz harness (`mozdef-fuzz`, built normally: it replays inputs) on what fuzzing found
/// and on mutated samples. For every input the harness checks that nothing crashes, that
/// every event writes as JSON that reads back with MozDef's required fields and a readable
/// utctimestamp, and that the receiver answers every body with a status it documents.
@Suite struct FuzzRegressionTests {
    static var harness: String {
        Binary.url.deletingLastPathComponent().appendingPathComponent("mozdef-fuzz").path
    }

    static func replay(_ target: String, _ files: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: harness)
        p.arguments = [target] + files
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: d, as: UTF8.self))
    }

    /// Every input fuzzing made crash, kept in Tests/FuzzRegressions/TARGET/.
    @Test func whatFuzzingFoundStaysFixed() throws {
        let root = Binary.repoRoot.appendingPathComponent("Tests/FuzzRegressions").path
        let targets = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        #expect(!targets.isEmpty)
        for t in targets {
            let files = try FileManager.default.contentsOfDirectory(atPath: root + "/" + t).sorted().map { root + "/" + t + "/" + $0 }
            let (code, out) = try Self.replay(t, files)
            #expect(code == 0, "\(t): \(out.prefix(2000))")
            #expect(out.split(separator: "\n").filter { $0.hasSuffix(": ok") }.count == files.count)
        }
    }

    /// Property: for every format, a sample mutated at random (bytes flipped, cut, repeated,
    /// spliced) still gives valid events or typed errors, never a crash. Seeded, so a failure
    /// replays.
    @Test(arguments: [
        ("syslog", "samples/syslog/auth.log"), ("syslog", "samples/syslog/rfc5424.log"), ("cef", "samples/cef/firewall.cef"),
        ("zeek-tsv", "samples/zeek/conn.log"), ("zeek-json", "samples/zeek/ssh.json.log"), ("gelf", "samples/gelf/app.gelf"),
        ("cloudtrail", "samples/cloudtrail/records.json"), ("json", "samples/cloudtrail/records.json"),
        ("receiver", "samples/syslog/auth.log.expected.jsonl"), ("bulk", "samples/syslog/auth.log.expected.jsonl"),
        ("query", "samples/rules/bruteforce_ssh.json"),
    ])
    func mutatedSamplesGiveEventsOrErrors(target: String, sample: String) throws {
        let dir = try TemporaryDirectory(prefix: "mutants")
        let base = Array(try Data(contentsOf: Binary.repoRoot.appendingPathComponent(sample)))
        var rng = SplitMix(seed: UInt64(truncatingIfNeeded: (target + sample).utf8.reduce(1469598103934665603) { ($0 ^ UInt64($1)) &* 1099511628211 }))
        var files: [String] = []
        for i in 0..<150 {
            var b = target == "query" ? Array(#"category:(syslog OR authentication) AND details.program:sshd AND summary:"failed" AND NOT x:[1 TO 5] AND y:ab*"#.utf8) : base
            for _ in 0..<(1 + Int(rng.next() % 6)) { Self.mutate(&b, &rng) }
            files.append(try dir.write("m\(i)", b))
        }
        let (code, out) = try Self.replay(target, files)
        #expect(code == 0, "\(target) \(sample): \(out.prefix(2000))")
    }

    static func mutate(_ b: inout [UInt8], _ rng: inout SplitMix) {
        let interesting: [[UInt8]] = [[0x00], [0x0A], [0x22], [0x5C], [0x7B], [0x7D], [0xFF], [0xC3], Array("\\u0000".utf8), Array("99999999999999999999".utf8),
                                      Array("-1".utf8), Array("1e309".utf8), Array("%{".utf8), [0x09], [0x3D], [0x7C]]
        guard !b.isEmpty else { b = interesting[Int(rng.next() % UInt64(interesting.count))]; return }
        let at = Int(rng.next() % UInt64(b.count))
        switch rng.next() % 6 {
        case 0: b[at] ^= UInt8(1 << (rng.next() % 8))
        case 1: b.removeSubrange(at..<min(b.count, at + 1 + Int(rng.next() % 64)))
        case 2: b.insert(contentsOf: interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
        case 3: b = Array(b[..<at])
        case 4:
            let from = Int(rng.next() % UInt64(b.count))
            b.insert(contentsOf: b[from..<min(b.count, from + 1 + Int(rng.next() % 200))], at: at)
        default: b[at] = UInt8(truncatingIfNeeded: rng.next())
        }
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
