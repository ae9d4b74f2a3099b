import Foundation
import Testing
import TestSupport

/// The `convert` command end to end: real files, real pipes, exit statuses.
@Suite struct ConvertCommandTests {
    let tmp: TemporaryDirectory
    var dir: URL { tmp.url }

    init() throws { tmp = try TemporaryDirectory(prefix: "mozdef-ship-cli") }

    func file(_ name: String, _ content: [UInt8]) throws -> String { try tmp.write(name, content) }

    func objects(_ s: String) throws -> [[String: Any]] {
        try s.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    static let mixed = "<38>Nov 28 10:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\nnot syslog at all\n\n<13>1 - - - - - - ok\n"

    @Test func lenientKeepsUnparseableLinesAsTaggedEvents() throws {
        let p = try file("mixed.log", Array(Self.mixed.utf8))
        let r = try Binary.run(["convert", "--now", "2026-11-29T00:00:00Z", p])
        #expect(r.status == 0)
        let evs = try objects(r.stdout)
        #expect(evs.count == 3)
        #expect(evs[0]["category"] as? String == "authentication")
        #expect(evs[1]["category"] as? String == "unparsed")
        #expect(evs[1]["summary"] as? String == "not syslog at all")
        #expect(evs[1]["tags"] as? [String] == ["unparsed"])
        #expect(r.stderr.contains("3 records in, 3 events out, 1 unparsed, 0 rejected, 1 blank lines skipped"))
    }

    @Test func strictSendsRejectsToTheRejectsFileAndExitsOne() throws {
        let p = try file("mixed.log", Array(Self.mixed.utf8) + [0xFF, 0xFE, 0x0A])
        let rejects = dir.appendingPathComponent("rejects.jsonl").path
        let r = try Binary.run(["convert", "--strict", "--rejects", rejects, p])
        #expect(r.status == 1)
        #expect(try objects(r.stdout).count == 2)
        let rej = try objects(String(contentsOfFile: rejects, encoding: .utf8))
        #expect(rej.count == 2)
        #expect(rej[0]["file"] as? String == p)
        #expect(rej[0]["line"] as? Int == 2)
        #expect(rej[0]["raw"] as? String == "not syslog at all")
        #expect((rej[0]["reason"] as? String)?.contains("at byte") == true)
        #expect(rej[1]["line"] as? Int == 5)
        #expect(rej[1]["rawbase64"] as? String == "//4=")
    }

    @Test func sigusr1PrintsTheCountsSoFar() throws {
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog"]
        let input = Pipe(), err = Pipe()
        p.standardInput = input
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        input.fileHandleForWriting.write(Data("<13>Nov 29 10:00:00 h app: one\n<13>Nov 29 10:00:01 h app: two\n".utf8))
        usleep(300_000)
        kill(p.processIdentifier, SIGUSR1)
        usleep(100_000)
        // The counts are printed when the next line is read.
        input.fileHandleForWriting.write(Data("<13>Nov 29 10:00:02 h app: three\n".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2, "\(text)")
        #expect(lines.first?.contains("0/1 inputs, 2 records in, 2 events out") == true)
        #expect(lines.last?.contains("1/1 inputs, 3 records in, 3 events out") == true)
    }

    @Test func stdinIsTheSourceForPipes() throws {
        let r = try Binary.run(["convert", "--format", "syslog"], stdin: Data("<13>Nov 28 10:00:00 h app: hello\n".utf8))
        #expect(r.status == 0)
        let e = try #require(try objects(r.stdout).first)
        #expect(e["source"] as? String == "stdin")
        #expect(e["summary"] as? String == "hello")
    }

    @Test func ioErrorsNameTheFileExitTwoAndOtherInputsStillConvert() throws {
        let good = try file("good.log", Array("<13>Nov 28 10:00:00 h app: one\n".utf8))
        let missing = dir.appendingPathComponent("missing.log").path
        let r = try Binary.run(["convert", missing, good])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(missing): No such file or directory"))
        #expect(try objects(r.stdout).count == 1)
    }

    @Test func truncatedGzipConvertsTheLinesBeforeTheDamage() throws {
        let text = (1...3000).map { "<13>Nov 28 10:00:00 h app: event \($0) with padding padding padding" }.joined(separator: "\n") + "\n"
        let gz = try gzip(Data(text.utf8))
        let p = try file("cut.log.gz", Array(gz.prefix(gz.count * 2 / 3)))
        let r = try Binary.run(["convert", p])
        #expect(r.status == 2)
        #expect(r.stderr.contains(p))
        #expect(r.stderr.contains("truncated"))
        let n = try objects(r.stdout).count
        #expect(n > 1000 && n < 3000)
    }

    @Test func directoriesConvertInSortedOrder() throws {
        let sub = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try Data("<13>Nov 28 10:00:00 h app: b\n".utf8).write(to: sub.appendingPathComponent("b.log"))
        try gzip(Data("<13>Nov 28 10:00:00 h app: a\n".utf8)).write(to: sub.appendingPathComponent("a.log.gz"))
        let r = try Binary.run(["convert", sub.path])
        #expect(r.status == 0)
        #expect(try objects(r.stdout).map { $0["summary"] as? String } == ["a", "b"])
        #expect(r.stderr.contains("2/2 inputs"))
    }

    @Test func usageErrorsExitTwo() throws {
        #expect(try Binary.run(["convert", "--timezone", "Nowhere/Atlantis", "-"], stdin: Data()).status == 2)
        #expect(try Binary.run(["convert", "--now", "yesterday", "-"], stdin: Data()).status == 2)
        #expect(try Binary.run(["convert", "--format", "xml", "-"], stdin: Data()).status != 0)
    }

    @Test func outputFileOption() throws {
        let out = dir.appendingPathComponent("out.jsonl").path
        let r = try Binary.run(["convert", "-o", out, "-"], stdin: Data("<13>Nov 28 10:00:00 h app: x\n".utf8))
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        #expect(try objects(String(contentsOfFile: out, encoding: .utf8)).count == 1)
    }

    /// gzip(1) from the system, so archives are made the way users make them.
    func gzip(_ d: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-c"]
        let i = Pipe(), o = Pipe()
        p.standardInput = i
        p.standardOutput = o
        try p.run()
        i.fileHandleForWriting.write(d)
        try i.fileHandleForWriting.close()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return out
    }
}
