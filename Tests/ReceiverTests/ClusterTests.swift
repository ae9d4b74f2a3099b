import Foundation
import Testing
import TestSupport

private typealias S = ServerTests

/// Three receivers on one PostgreSQL and one RabbitMQ queue (both real, private, on loopback),
/// fed by `mozdef-ship convert --to amqp://`, while the receiver that leads the rules is
/// killed with SIGKILL and started again.
@Suite(.serialized) struct ClusterTests {
    @Test func threeReceiversOnePostgresEveryEventOnceOneAlert() throws {
        let pg = try PrivatePostgres()
        let broker = try PrivateBroker()
        let dir = try TemporaryDirectory(prefix: "cluster")

        // bruteforce_ssh as shipped, run every 2 s instead of every minute.
        let sample = S.repoRoot.appendingPathComponent("samples/rules/bruteforce_ssh.json")
        var rule = try JSONSerialization.jsonObject(with: Data(contentsOf: sample)) as! [String: Any]
        rule["schedule"] = "2s"
        try FileManager.default.createDirectory(atPath: dir.path("rules"), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: rule).write(to: URL(fileURLWithPath: dir.path("rules/bruteforce_ssh.json")))

        // 100,000 syslog lines, each unique; the 12 ssh brute-force lines of the sample in the middle.
        let n = 100_000
        let brute = try String(contentsOfFile: S.repoRoot.appendingPathComponent("samples/syslog/bruteforce.log").path, encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var text = ""
        text.reserveCapacity(n * 64)
        for i in 0..<(n - brute.count) {
            if i == n / 2 { for b in brute { text += b + "\n" } }
            text += "<13>Nov 29 10:00:00 app-\(i % 7) worker[\(i % 100)]: job \(i) done\n"
        }
        let input = try dir.write("input.log", Array(text.utf8))

        let common = ["--amqp", broker.url, "--rules", dir.path("rules")]
        var receivers: [S.Receiver?] = try (0..<3).map { _ in try S.Receiver(data: pg.url, extra: common) }
        func leaders() throws -> [Int] {
            try receivers.indices.filter { i in
                guard let r = receivers[i] else { return false }
                return (try S.request("GET", r.base + "/api/rules").json as? [String: Any])?["leader"] as? Bool == true
            }
        }
        var lead: [Int] = []
        try PeersTests.waitFor("one leader") { lead = try leaders(); return lead.count == 1 }
        #expect(lead.count == 1, "exactly one receiver runs the rules")

        let ship = Process()
        ship.executableURL = URL(fileURLWithPath: S.product("mozdef-ship"))
        ship.arguments = ["convert", "--format", "syslog", "--to", broker.url, input]
        ship.standardOutput = FileHandle.nullDevice
        ship.standardError = FileHandle.nullDevice
        try ship.run()

        func count(_ sql: String) throws -> Int { Int(try pg.psql(sql)) ?? -1 }
        try PeersTests.waitFor("a fifth of the events") { try count("SELECT count(*) FROM events") >= n / 5 }
        // The leader dies mid-stream: its unacknowledged deliveries go to the others, and
        // another receiver takes the rules over.
        let killed = lead[0]
        let port = receivers[killed]!.port
        receivers[killed]!.kill9()
        receivers[killed] = nil
        try PeersTests.waitFor("a new leader") { lead = try leaders(); return lead.count == 1 }
        #expect(lead.count == 1 && lead[0] != killed, "another receiver leads after the leader's death")
        receivers[killed] = try S.Receiver(data: pg.url, extra: common, port: port)

        ship.waitUntilExit()
        #expect(ship.terminationStatus == 0)
        try PeersTests.waitFor("every event", seconds: 120) { try count("SELECT count(*) FROM events") >= n }
        Thread.sleep(forTimeInterval: 3)  // redeliveries, if any, would land by now
        #expect(try count("SELECT count(*) FROM events") == n, "every event stored exactly once")
        #expect(try count("SELECT count(DISTINCT doc::json->>'summary') FROM events") == n)
        #expect(try count("SELECT count(*) FROM events WHERE msgid IS NULL") == 0, "every message carried its id")

        // The rule runs every 2 s on the leader: one alert, never a second.
        try PeersTests.waitFor("the brute-force alert") { try count("SELECT count(*) FROM alerts") >= 1 }
        Thread.sleep(forTimeInterval: 6)
        #expect(try count("SELECT count(*) FROM alerts WHERE rule = 'AlertGenericLoader:bruteforce_ssh'") == 1)
        let summary = try pg.psql("SELECT doc::json->>'summary' FROM alerts")
        #expect(summary.hasSuffix("ssh bruteforce attempts by 198.51.100.77 bastion-01 (\(summary.split(separator: " ").first ?? "?") hits)"), "\(summary)")
        // Every receiver answers from the same store.
        for r in receivers.compactMap({ $0 }) {
            let got = try S.request("GET", r.base + "/api/alerts").json as? [String: Any]
            #expect(got?["total"] as? Int == 1)
        }
        #expect(try pg.psql("SELECT max(version) FROM schema_version") == "2")
    }

    /// A message published twice with one message id (as a publisher's retry or a delivery
    /// after a consumer's death gives it) is stored once and counted; one without an id, as
    /// often as it comes.
    @Test(arguments: ["sqlite", "postgres"])
    func aMessageIdIsStoredOnce(store: String) throws {
        let broker = try PrivateBroker()
        let dir = try TemporaryDirectory(prefix: "msgid")
        let (data, pg) = try S.store(store, dir)
        defer { withExtendedLifetime(pg) {} }
        let r = try S.Receiver(data: data, extra: ["--amqp", broker.url])
        let input = try dir.write("in.jsonl", Array((0..<50).map { #"{"summary":"copy \#($0)"}"# }.joined(separator: "\n").utf8 + [0x0A]))
        for ids in ["batch", "batch", ""] {
            let (code, _, err) = try S.run("/usr/bin/python3", [PeersTests.support("amqp_peer.py"), "publish", String(broker.port), input] + (ids.isEmpty ? [] : [ids]))
            #expect(code == 0, "\(err)")
        }
        try PeersTests.waitFor("150 deliveries") {
            try S.request("GET", r.base + "/metrics").body.contains(#"mozdef_receiver_events_received_total{route="amqp"} 150"#)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let got = try S.events(r, "summary:copy")
        #expect(got.total == 100, "50 with ids stored once, 50 without stored as they came")
        #expect(Set(got.events.compactMap { $0["summary"] as? String }).count == 50)
        #expect(try S.request("GET", r.base + "/metrics").body.contains("mozdef_receiver_events_duplicate_total 50"))
    }
}
