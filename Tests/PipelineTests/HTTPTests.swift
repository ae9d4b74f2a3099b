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

        init(_ dir: TemporaryDirectory, failFirst: Int = 0, port: Int? = nil) throws {
            record = dir.path("requests.jsonl")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [Binary.repoRoot.appendingPathComponent("Tests/Support/http_recorder.py").path, record,
                                 "--fail-first", String(failFirst)] + (port.map { ["--port", String($0)] } ?? [])
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            var line = Data()
            while !line.contains(0x0A) {
                let d = out.fileHandleForReading.availableData
                if d.isEmpty { break }
                line.append(d)
            }
            self.port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
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

    @Test func theServerGoesAwayMidStreamAndComesBack() throws {
        let dir = try TemporaryDirectory(prefix: "http")
        var server = try Server(dir)
        let port = server.port
        let n = 20_000
        let lines = (0..<n).map { "<13>Nov 29 10:00:00 host app: H\(String(format: "%07d", $0))" }.joined(separator: "\n") + "\n"
        let input = try dir.write("big.log", Array(lines.utf8))
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog", "--now", Self.now, "--to", "http://127.0.0.1:\(port)/_bulk", "--batch", "100", input]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        while server.requests.count < 20 { usleep(20_000) }
        server.stop()
        usleep(700_000)
        server = try Server(dir, port: port)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        server.stop()
        #expect(p.terminationStatus == 0, "\(stderr)")
        let summaries = server.requests.filter { $0.status == 200 }.flatMap { $0.body.split(separator: "\n") }.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["summary"] as? String
        }
        #expect(Set(summaries).count == n, "missing \(n - Set(summaries).count)")
        // A batch the server took just as it stopped may come twice; never more than one.
        #expect(summaries.count - Set(summaries).count <= 100)
        #expect(stderr.contains("retrying"))
    }
}
