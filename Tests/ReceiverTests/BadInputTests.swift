import Foundation
import Testing
import TestSupport

private typealias S = ServerTests

/// What a hostile or broken client can send (Tests/Support/bad_requests.py, raw sockets): the
/// receiver answers each with the right status, stores nothing of a refused request, stays up,
/// gives up on slow clients, and keeps its memory bounded under many connections.
@Suite(.serialized) struct BadInputTests {
    static func script(_ args: [String]) throws -> String {
        let (code, out, err) = try S.run("/usr/bin/python3", [PeersTests.support("bad_requests.py")] + args)
        #expect(code == 0, "\(err)")
        return out
    }

    static func rssKiB(_ pid: Int32) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    @Test func everyBadRequestGetsItsStatusAndNothingIsStored() throws {
        let dir = try TemporaryDirectory(prefix: "bad")
        let r = try S.Receiver(data: dir.path("data"), extra: ["--token", "s3cret"])
        let out = try Self.script(["cases", String(r.port), "s3cret"])
        var got: [String: Int] = [:]
        for line in out.split(separator: "\n") {
            if let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let c = o["case"] as? String {
                got[c] = o["status"] as? Int
            }
        }
        let want: [String: Int] = [
            "malformed JSON": 400, "not an object": 400, "empty body": 400, "nested 5000 deep": 400, "object nested 100 deep": 400,
            "not UTF-8": 400, "NUL in a string": 400, "5 MiB body": 413, "5 MiB chunked": 413, "bulk with a bad line": 200,
            "bad time": 400, "DELETE /events": 405, "GET /events": 405, "unknown path": 404, "path traversal": 404,
            "not HTTP": 400, "bad Content-Length": 400, "truncated body": 0,
            "no token": 401, "wrong token": 401, "no token, query": 401,
        ]
        for (c, status) in want.sorted(by: { $0.key < $1.key }) {
            #expect(got[c] == status, "\(c): got \(got[c].map(String.init) ?? "nothing"), want \(status)")
        }
        // Refused before it is all read: the answer may be lost to the connection's reset.
        #expect([0, 400].contains(got["header of 200 KB"] ?? -1), "header of 200 KB: \(String(describing: got["header of 200 KB"]))")
        #expect(r.process.isRunning, "the receiver is still up")
        // Only the good line of the bulk request is stored (its answer names the bad one).
        let all = try S.request("GET", r.base + "/api/events?limit=100", headers: ["Authorization: Bearer s3cret"]).json as? [String: Any]
        #expect(all?["total"] as? Int == 1, "\(String(describing: all))")
        #expect(try S.request("GET", r.base + "/status").status == 200)
    }

    /// A client that sends its request head a byte at a time is cut off once
    /// --request-timeout has passed; others are served meanwhile.
    @Test func aSlowClientIsCutOff() throws {
        let dir = try TemporaryDirectory(prefix: "bad")
        let r = try S.Receiver(data: dir.path("data"), extra: ["--request-timeout", "2"])
        let slow = Process()
        slow.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        slow.arguments = [PeersTests.support("bad_requests.py"), "slowloris", String(r.port)]
        let out = Pipe()
        slow.standardOutput = out
        try slow.run()
        usleep(500_000)
        #expect(try S.request("POST", r.base + "/events", body: #"{"summary":"served meanwhile"}"#).status == 200)
        let result = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        slow.waitUntilExit()
        let o = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any]
        #expect([0, 408].contains(o?["status"] as? Int ?? -1), "closed, or answered 408: \(result)")
        #expect((o?["seconds"] as? Double ?? 99) < 5, "cut off after about 2 s: \(result)")
    }

    /// 200 connections posting for a while: every answer a 200 and every event stored, the
    /// receiver up, its memory bounded; past --max-connections, connections are closed.
    @Test func twoHundredConnectionsUnderLoad() throws {
        let dir = try TemporaryDirectory(prefix: "bad")
        let seconds = ProcessInfo.processInfo.environment["MOZDEF_LOAD_SECONDS"] ?? "10"
        let r = try S.Receiver(data: dir.path("data"), extra: ["--max-connections", "250"])
        let before = Self.rssKiB(r.process.processIdentifier)
        let out = try Self.script(["load", String(r.port), "200", seconds])
        let o = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Int]
        let ok = o?["ok"] ?? 0
        #expect(ok > 1000 && o?["other"] == 0 && o?["failed"] == 0, "\(out)")
        #expect(r.process.isRunning)
        let after = Self.rssKiB(r.process.processIdentifier)
        #expect(after < 300 * 1024, "RSS \(before) KiB before, \(after) KiB after")
        let total = (try S.request("GET", r.base + "/metrics").body).split(separator: "\n")
            .first { $0.hasPrefix(#"mozdef_receiver_events_stored_total{route="events"}"#) }?.split(separator: " ").last.flatMap { Int($0) }
        #expect(total == ok, "stored \(String(describing: total)) of \(ok) answered 200")

        // Over the limit: 300 connections open at once against --max-connections 250.
        let capped = try Self.script(["hold", String(r.port), "300"])
        let c = try JSONSerialization.jsonObject(with: Data(capped.utf8)) as? [String: Int]
        #expect(c?["answered"] == 250 && c?["closed"] == 50, "connections past the limit are closed: \(capped)")
        #expect(try S.request("GET", r.base + "/status").status == 200)
    }
}
