import Foundation
import Testing
import TestSupport

/// The receiver with the peers MozDef users have: mozdef-client from PyPI, pika publishing to
/// eventtask and consuming alerts, a webhook, and mozdef-ship shipping every sample.
@Suite(.serialized) struct PeersTests {
    typealias S = ServerTests

    /// The Python that `make test` set up with mozdef-client (a venv that also sees Debian's
    /// python3-pika).
    static let python = S.repoRoot.appendingPathComponent(".build/python/bin/python3").path
    static func support(_ name: String) -> String { S.repoRoot.appendingPathComponent("Tests/Support/" + name).path }

    @Test func mozdefClientFromPyPIPostsEvents() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.python), "\(Self.python) is missing: `make test` installs mozdef-client there")
        let dir = try TemporaryDirectory(prefix: "peers")
        let r = try S.Receiver(data: dir.path("data"))
        let (code, _, err) = try S.run(Self.python, [Self.support("mozdef_client_send.py"), r.base + "/events", "5"])
        #expect(code == 0, "\(err)")
        let got = try S.events(r, #"summary:"a test event""#)
        #expect(got.total == 5)
        let e = got.events.first
        #expect(e?["category"] as? String == "authentication" && e?["severity"] as? String == "WARNING")
        #expect(e?["tags"] as? [String] == ["generic", "test"])
        let details = e?["details"] as? [String: Any]
        #expect(details?["one"] as? Int == 1 && details?["two"] as? String == "two" && details?["sourceipaddress"] as? String == "1.2.3.4")
        // mozdef-client sends processid/processname/hostname/timestamp; "source": null stays null.
        #expect(e?["processname"] is String && e?["hostname"] is String && e?["utctimestamp"] is String)
        #expect(e?["source"] is NSNull)
    }

    @Test func everySampleShipsThroughMozDefShip() throws {
        let dir = try TemporaryDirectory(prefix: "peers")
        let r = try S.Receiver(data: dir.path("data"))
        let samples = S.repoRoot.appendingPathComponent("samples")
        var expected = 0
        var files = 0
        for folder in try FileManager.default.contentsOfDirectory(atPath: samples.path).sorted() where !["rules", "systemd"].contains(folder) {
            let path = samples.appendingPathComponent(folder)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDir), isDir.boolValue else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: path.path).sorted()
            where !name.hasSuffix(".expected.jsonl") && !name.hasSuffix(".md") {
                let file = path.appendingPathComponent(name).path
                let golden = (try? String(contentsOfFile: file + ".expected.jsonl", encoding: .utf8)) ?? ""
                let (code, _, err) = try S.run(S.product("mozdef-ship"), [
                    "convert", "--format", folder == "mixed" ? "auto" : folder, "--now", "2026-11-29T00:00:00Z", "--to", r.base + "/events", file,
                ])
                // 1: some lines could not be parsed; they are still shipped, as raw events.
                #expect(code == 0 || code == 1, "\(name): \(err)")
                expected += golden.split(separator: "\n").count
                files += 1
                #expect(try S.events(r).total == expected, "after \(folder)/\(name)")
            }
        }
        #expect(files >= 15 && expected > 100)
    }

    final class Recorder {
        let process = Process()
        let port: Int
        let file: String

        init(_ dir: TemporaryDirectory) throws {
            file = dir.path("requests.jsonl")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [PeersTests.support("http_recorder.py"), file]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = out.fileHandleForReading.availableData
            port = Int(String(decoding: line, as: UTF8.self).split(separator: "\n").first ?? "") ?? 0
        }

        var requests: [[String: Any]] {
            ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        /// SIGKILL: the test runner's blocked signals are inherited, so SIGTERM would wait.
        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func waitFor(_ what: String, seconds: Double = 60, _ done: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try done() { return }
            usleep(200_000)
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// pika publishes to eventtask; two receivers share the queue (one is killed with kill -9
    /// on the way and started again); every event is stored, acknowledged only once committed;
    /// a malformed message is refused, not lost silently. Alerts go to the `alerts` exchange
    /// (read by pika on a queue bound with mozdef.*) and to a webhook.
    @Test func rabbitMQConsumerSharesTheQueueAndPublishesAlerts() throws {
        let broker = try PrivateBroker()
        let dir = try TemporaryDirectory(prefix: "peers")
        let hook = try Recorder(dir)
        #expect(hook.port > 0)
        let (bound, _, bindErr) = try S.run("/usr/bin/python3", [Self.support("amqp_peer.py"), "bind-alerts", String(broker.port), "alertBot"])
        #expect(bound == 0, "\(bindErr)")
        let rules = S.repoRoot.appendingPathComponent("samples/rules").path
        let common = ["--amqp", broker.url, "--rules", rules]
        var a: S.Receiver? = try S.Receiver(data: dir.path("a"), extra: common + ["--webhook", "http://127.0.0.1:\(hook.port)/hook"])
        // The second receiver consumes over TLS (amqps, verified against the broker's test CA).
        let b = try S.Receiver(data: dir.path("b"), extra: [
            "--amqp", "amqps://guest:guest@localhost:\(broker.tlsPort)/", "--amqp-cacert", broker.caFile, "--rules", rules,
        ])
        let aPort = a!.port

        let n = 6000
        var lines = (0..<n).map { i in
            i < 10 ? #"{"summary":"login invalid ldap_count_entries failed by 1.2.3.4","hostname":"exhostname","category":"syslog","details":{"program":"sshd","sourceipaddress":"1.2.3.4"},"n":\#(i)}"#
                : #"{"summary":"queued event \#(i)","category":"test","n":\#(i)}"#
        }
        lines.insert("this is not json", at: 3000)
        let input = try dir.write("events.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        let publisher = Process()
        publisher.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        publisher.arguments = [Self.support("amqp_peer.py"), "publish", String(broker.port), input]
        try publisher.run()
        // Kill one receiver while the queue is being consumed, then start it again.
        try Self.waitFor("the first stored events") { try S.events(a!).total + S.events(b).total > 500 }
        a!.kill9()
        a = nil
        publisher.waitUntilExit()
        #expect(publisher.terminationStatus == 0)
        a = try S.Receiver(data: dir.path("a"), extra: common + ["--webhook", "http://127.0.0.1:\(hook.port)/hook"], port: aPort)

        func stored(_ r: S.Receiver) throws -> [Int] {
            try S.events(r).events.compactMap { $0["details"] as? [String: Any] }.compactMap { $0["n"] as? Int }
        }
        var all: [Int] = []
        try Self.waitFor("every event stored") {
            all = try stored(a!) + stored(b)
            return Set(all).count == n
        }
        #expect(Set(all).count == n, "events lost: \(n - Set(all).count)")
        #expect(try stored(b).count > 0 && stored(a!).count > 0, "the two receivers share the queue")
        // Redelivered after kill -9: at most what one receiver held unacknowledged (prefetch).
        #expect(all.count - n <= 1000)
        let metricsA = try S.request("GET", a!.base + "/metrics").body, metricsB = try S.request("GET", b.base + "/metrics").body
        #expect((metricsA + metricsB).contains(#"mozdef_receiver_events_rejected_total{route="amqp"} 1"#), "the malformed message is counted")

        // The ten attempts are in one store or split across two; run both, and send ten more to
        // each store directly so each raises one alert.
        let attempt = #"{"summary":"login invalid ldap_count_entries failed by 1.2.3.4","hostname":"exhostname","category":"syslog","details":{"program":"sshd","sourceipaddress":"1.2.3.4"}}"#
        let ten = Array(repeating: attempt, count: 10).joined(separator: "\n")
        #expect(try S.request("POST", a!.base + "/_bulk", body: ten).status == 200)
        let raised = (try S.request("POST", a!.base + "/api/alerts/run").json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        let brute = raised.filter { $0["classname"] as? String == "AlertGenericLoader:bruteforce_ssh" }
        #expect(brute.count >= 1)

        let (got, out, getErr) = try S.run("/usr/bin/python3", [Self.support("amqp_peer.py"), "get", String(broker.port), "alertBot", String(raised.count), "30"])
        #expect(got == 0, "\(getErr)")
        let messages = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(messages.count == raised.count)
        let m = messages.first
        #expect(m?["exchange"] as? String == "alerts" && m?["routing_key"] as? String == "mozdef.alert")
        let body = (m?["body"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(body?["_index"] as? String == "alerts" && body?["_id"] is String)
        #expect((body?["_source"] as? [String: Any])?["classname"] is String)

        Self.waitFor("the webhook") { hook.requests.count >= raised.count }
        let posted = hook.requests.compactMap { ($0["body"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } }
        #expect(posted.contains { $0["classname"] as? String == "AlertGenericLoader:bruteforce_ssh" && ($0["events"] as? [Any])?.count == 10 })
        #expect(hook.requests.allSatisfy { $0["path"] as? String == "/hook" })
    }
}
