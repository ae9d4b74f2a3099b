import Foundation
import Testing
import TestSupport

/// `--to http://` against a real HTTP server (Python's http.server, Tests/Support/http_recorder.py)
/// that records every request.
@Suite(.serialized) struct HTTPTests {
    final class Server {
        let process = Process()
        let record: String
        let port: Int

        init(_ dir: TemporaryDirectory, failFirst: Int = 0, port: Int? = nil, extra: [String] = []) throws {
            record = dir.path("requests.jsonl")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [Binary.repoRoot.appendingPathComponent("Tests/Support/http_recorder.py").path, record,
                                 "--fail-first", String(failFirst)] + (port.map { ["--port", String($0)] } ?? []) + extra
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            self.port = Int(firstLine(of: out)) ?? 0
        }

        /// SIGKILL: children of the test runner inherit its blocked signal mask, SIGTERM included.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit { if process.isRunning { stop() } }

        struct Request: Decodable {
            var path: String
            var status: Int
            var headers: [String: String]
            var body: String
        }

        var requests: [Request] {
            guard let d = FileManager.default.contents(atPath: record) else { return [] }
            return String(decoding: d, as: UTF8.self).split(separator: "\n").compactMap {
                try? JSONDecoder().decode(Request.self, from: Data($0.utf8))
            }
        }
    }

    static let now = "2026-11-29T00:00:00Z"
    static let sample = "samples/syslog/auth.log"

    static func localEvents() throws -> [String] {
        try Binary.run(["convert", "--format", "syslog", "--now", now, sample]).stdout.split(separator: "\n").map(String.init)
    }

    @Test func oneEventPerPostAsMozDefLoginputExpects() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let server = try Server(dir)
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(server.port)/events",
                                "--header", "Authorization: Bearer s3cret", Self.sample])
        server.stop()
        #expect(r.status == 0, "\(r.stderr)")
        let reqs = server.requests
        #expect(reqs.map(\.body) == (try Self.localEvents()))
        #expect(reqs.allSatisfy { $0.path == "/events" && $0.headers["Content-Type"] == "application/json" })
        #expect(reqs.allSatisfy { $0.headers["Authorization"] == "Bearer s3cret" })
        #expect(r.stderr.contains("61 delivered, 0 rejected, 0 retries, 61 requests"))
    }

    @Test func bulkBatchesGzipAndRetriesOnServerErrors() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let server = try Server(dir, failFirst: 3)
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(server.port)/_bulk",
                                "--batch", "25", "--gzip", Self.sample])
        server.stop()
        #expect(r.status == 0, "\(r.stderr)")
        let reqs = server.requests
        #expect(reqs.prefix(3).allSatisfy { $0.status == 503 })
        let delivered = reqs.filter { $0.status == 200 }
        #expect(delivered.map { $0.body.split(separator: "\n").count } == [25, 25, 11])
        #expect(delivered.flatMap { $0.body.split(separator: "\n").map(String.init) } == (try Self.localEvents()))
        #expect(delivered.allSatisfy { $0.headers["Content-Encoding"] == "gzip" && $0.headers["Content-Type"] == "application/x-ndjson" })
        #expect(r.stderr.contains("3 retries"))
    }

    @Test func refusedEventsGoToTheRejectsFileAndExitOne() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let server = try Server(dir)
        let input = try dir.write("in.log", Array("<13>Nov 29 10:00:00 h app: fine 1\n<13>Nov 29 10:00:01 h app: REJECTME please\n<13>Nov 29 10:00:02 h app: fine 2\n".utf8))
        let rejects = dir.path("rejects.jsonl")
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(server.port)/events",
                                "--rejects", rejects, input])
        server.stop()
        #expect(r.status == 1)
        #expect(server.requests.filter { $0.status == 200 }.count == 2)
        let rejected = try String(contentsOfFile: rejects, encoding: .utf8)
        #expect(rejected.split(separator: "\n").count == 1)
        #expect(rejected.contains("HTTP 400") && rejected.contains("bad event") && rejected.contains("REJECTME please"))
    }

    /// `convert` of `n` lines to `path` on a server killed (SIGKILL) after `killAfter` requests
    /// and started again on the same port 0.5 s later: the exit status, what it said, and the
    /// summaries of the events the server took, in order.
    static func throughAKilledServer(_ prefix: String, n: Int, path: String, _ extra: [String], killAfter: Int) throws
        -> (status: Int32, stderr: String, got: [String]) {
        let dir = try TemporaryDirectory(prefix: "http")
        var server = try Server(dir)
        let port = server.port
        let input = try dir.write("in.log", Array(Self.lines(prefix, n).utf8))
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(port)\(path)"] + extra + [input]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        while server.requests.count < killAfter { usleep(20_000) }
        server.stop()
        usleep(500_000)
        server = try Server(dir, port: port)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        server.stop()
        return (p.terminationStatus, stderr, Self.summaries(server.requests))
    }

    /// The server killed in the middle and back: every event arrives; duplicates are counted
    /// and at most what was in flight (one /_bulk batch of 500; one pipeline of 16 POSTs).
    @Test(arguments: [(100_000, "/_bulk", ["--batch", "500"], 40, 500), (5_000, "/events", ["--pipeline", "16"], 500, 16)])
    func theServerGoesAwayMidStreamAndComesBack(n: Int, path: String, extra: [String], killAfter: Int, inFlight: Int) throws {
        let (status, stderr, got) = try Self.throughAKilledServer("H", n: n, path: path, extra, killAfter: killAfter)
        #expect(status == 0, "\(stderr)")
        #expect(Set(got).count == n, "missing \(n - Set(got).count)")
        #expect(got.count - Set(got).count <= inFlight, "\(got.count - Set(got).count) duplicates")
        #expect(stderr.contains("retrying") && stderr.contains("delivering again"), "\(stderr)")
    }

    static func summaries(_ reqs: [Server.Request]) -> [String] {
        reqs.filter { $0.status == 200 }.flatMap { $0.body.split(separator: "\n") }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["summary"] as? String
        }
    }

    /// Appends the lines `prefix`+n for n in `r` to the file at `path` (as a logging program would).
    static func append(_ path: String, _ prefix: String, _ r: Range<Int>) throws {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        h.seekToEndOfFile()
        h.write(Data(r.map { "<13>Nov 29 10:00:00 host app: \(prefix)\(String(format: "%06d", $0))\n" }.joined().utf8))
        try h.close()
    }

    static func lines(_ prefix: String, _ n: Int) -> String {
        (0..<n).map { "<13>Nov 29 10:00:00 host app: \(prefix)\(String(format: "%06d", $0))" }.joined(separator: "\n") + "\n"
    }

    /// Lines of the spool's segment files.
    static func spooledLines(_ dir: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("segment-") }.reduce(0) { n, f in
            n + (FileManager.default.contents(atPath: dir + "/" + f).map { $0.filter { $0 == 0x0A }.count } ?? 0)
        }
    }

    /// A free loopback port: a server is started on one and stopped.
    static func freePort(_ dir: TemporaryDirectory) throws -> Int {
        let s = try Server(dir)
        s.stop()
        return s.port
    }

    /// The destination is down for a whole run: the events wait on disk, the run ends with
    /// exit 0 and says so, and the next run sends them first, in order, then its own.
    @Test func theSpoolKeepsEventsAcrossRunsWhileTheServerIsDown() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let port = try Self.freePort(dir)
        let spool = dir.path("spool")
        let first = try dir.write("first.log", Array(Self.lines("A", 5000).utf8))
        let second = try dir.write("second.log", Array(Self.lines("B", 1000).utf8))
        let args = ["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(port)/_bulk", "--batch", "100",
                    "--spool-dir", spool]
        let r1 = try Binary.run(args + [first])
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(r1.stderr.contains("spooling them to \(spool)"))
        #expect(r1.stderr.contains("5000 events wait in the spool"))
        #expect(Self.spooledLines(spool) == 5000)

        let server = try Server(dir, port: port)
        let r2 = try Binary.run(args + [second])
        server.stop()
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(r2.stderr.contains("5000 events wait in the spool"))
        #expect(r2.stderr.contains("6000 sent ("), "\(r2.stderr)")
        #expect(r2.stderr.contains(" 0 waiting in "), "\(r2.stderr)")
        let got = Self.summaries(server.requests)
        let expected = (0..<5000).map { "A" + String(format: "%06d", $0) } + (0..<1000).map { "B" + String(format: "%06d", $0) }
        #expect(got.count == 6000)
        #expect(got.map { String($0.suffix(7)) } == expected, "spooled events out of order or missing")
        #expect(Self.spooledLines(spool) == 0)
        #expect(!FileManager.default.fileExists(atPath: spool + "/cursor"))
    }

    /// A full spool makes `convert` wait, not drop: it finishes once the server is back,
    /// and every event arrives.
    @Test func aFullSpoolMakesConvertWait() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let port = try Self.freePort(dir)
        let spool = dir.path("spool")
        let n = 20_000
        let input = try dir.write("in.log", Array(Self.lines("C", n).utf8))
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(port)/_bulk", "--batch", "200",
                       "--spool-dir", spool, "--spool-max", "1M", input]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Down for a while: the spool fills to its limit (plus at most one block) and convert waits.
        var waited = 0
        while Self.spooledLines(spool) == 0 && waited < 200 { usleep(50_000); waited += 1 }
        usleep(3_000_000)
        #expect(p.isRunning, "convert ended while the destination was down and the spool full")
        let size = ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasPrefix("segment-") }.reduce(0) {
            $0 + ((try? FileManager.default.attributesOfItem(atPath: spool + "/" + $1)[.size] as? Int) ?? 0)
        }
        #expect(size > 0 && size <= (1 << 20) + (1 << 20), "spool holds \(size) bytes")
        let server = try Server(dir, port: port)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        server.stop()
        #expect(p.terminationStatus == 0, "\(stderr)")
        let got = Self.summaries(server.requests)
        #expect(Set(got).count == n, "missing \(n - Set(got).count)")
        #expect(got.count - Set(got).count <= 200, "\(got.count - Set(got).count) duplicates")
        #expect(Self.spooledLines(spool) == 0)
    }

    /// `tail` counts a spooled line as safe: its checkpoint moves past it, so after a restart
    /// the line is sent from the spool and not read again (no duplicates), and lines written
    /// while it was stopped follow.
    @Test func tailCheckpointsSpooledLinesAndSendsThemAfterARestart() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let port = try Self.freePort(dir)
        let spool = dir.path("spool"), log = dir.path("app.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        func appendLines(_ r: Range<Int>) throws { try Self.append(log, "T", r) }
        func startTail() throws -> Process {
            let p = Process()
            p.executableURL = Binary.url
            p.arguments = ["tail", "--format", "syslog", "--state-dir", dir.path("state"), "--to", "http://127.0.0.1:\(port)/_bulk",
                           "--batch", "50", "--spool-dir", spool, "--poll-interval", "0.2", log]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(500_000)
            return p
        }
        var tail = try startTail()
        try appendLines(0..<300)
        var waited = 0
        while Self.spooledLines(spool) < 300 && waited < 600 { usleep(50_000); waited += 1 }
        #expect(Self.spooledLines(spool) == 300)
        tail.terminate()
        tail.waitUntilExit()
        #expect(tail.terminationStatus == 0)
        try appendLines(300..<400)  // while stopped

        let server = try Server(dir, port: port)
        tail = try startTail()
        waited = 0
        while Set(Self.summaries(server.requests)).count < 400 && waited < 600 { usleep(50_000); waited += 1 }
        tail.terminate()
        tail.waitUntilExit()
        server.stop()
        let got = Self.summaries(server.requests).map { String($0.suffix(7)) }
        #expect(got == (0..<400).map { "T" + String(format: "%06d", $0) }, "\(got.count) events, \(got.count - Set(got).count) duplicates")
        #expect(Self.spooledLines(spool) == 0)
    }

    /// `--batch-wait`: `tail` lets a partial /_bulk batch wait for more lines (the lines of two
    /// writes 0.1 s apart go in one request), and sends it once the time is up.
    @Test func batchWaitCollectsLinesForAPartialBatch() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let server = try Server(dir)
        let log = dir.path("app.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        func appendLines(_ r: Range<Int>) throws { try Self.append(log, "W", r) }
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["tail", "--format", "syslog", "--state-dir", dir.path("state"), "--to", "http://127.0.0.1:\(server.port)/_bulk",
                       "--batch", "1000", "--batch-wait", "1500", "--poll-interval", "0.2", log]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(500_000)
        try appendLines(0..<3)
        usleep(100_000)
        try appendLines(3..<5)
        var waited = 0
        while Self.summaries(server.requests).count < 5 && waited < 600 { usleep(50_000); waited += 1 }
        p.terminate()
        p.waitUntilExit()
        server.stop()
        let sizes = server.requests.filter { $0.status == 200 }.map { $0.body.split(separator: "\n").count }
        #expect(sizes == [5], "requests of \(sizes) events")
        #expect(p.terminationStatus == 0)
    }

    /// One event per POST goes out pipelined (`--pipeline`); answers with 503, chunked bodies,
    /// `Connection: close` with requests still queued behind it, and a server killed and
    /// restarted: every event arrives, in order where nothing failed, duplicates at most one
    /// pipeline's worth after the kill.
    @Test(arguments: [["--fail-first", "5"], ["--chunked"], ["--close-every", "7"]])
    func pipelinedPostsSurviveWhatServersDo(server extra: [String]) throws {
        let dir = try TemporaryDirectory(prefix: "http")
        let failFirst = extra.first == "--fail-first" ? Int(extra[1])! : 0
        let server = try Server(dir, failFirst: failFirst, extra: extra.first == "--fail-first" ? [] : extra)
        let n = 500
        let input = try dir.write("in.log", Array(Self.lines("P", n).utf8))
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(server.port)/events",
                                "--pipeline", "16", input])
        server.stop()
        #expect(r.status == 0, "\(r.stderr)")
        let got = Self.summaries(server.requests).map { String($0.suffix(7)) }
        let expected = (0..<n).map { "P" + String(format: "%06d", $0) }
        if failFirst > 0 {
            // Events pipelined behind a refused one were taken first: the retried ones come later.
            #expect(got.count == n && Set(got) == Set(expected), "\(got.count) events")
            #expect(server.requests.filter { $0.status == 503 }.count == failFirst)
            #expect(r.stderr.contains("\(failFirst) retries") || r.stderr.contains("retries"), "\(r.stderr)")
        } else {
            #expect(got == expected, "\(got.count) events")
        }
        #expect(r.stderr.contains("\(n) delivered, 0 rejected"), "\(r.stderr)")
    }
}
