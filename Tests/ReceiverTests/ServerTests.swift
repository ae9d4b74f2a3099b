import Foundation
import Testing
import TestSupport

/// The `mozdef-receiver` executable on a loopback port, driven by clients that are not
/// part of it: `mozdef-ship` and Python's urllib (Tests/Support/http_request.py).
@Suite(.serialized) struct ServerTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A product built beside the test bundle.
    static func product(_ name: String) -> String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return repoRoot.appendingPathComponent(".build/debug/" + name).path
    }

    final class Receiver {
        let process = Process()
        let port: Int
        var base: String { "http://127.0.0.1:\(port)" }

        /// `data`: a directory for SQLite, or a postgres:// URL.
        init(data: String, extra: [String] = [], port: Int? = nil) throws {
            self.port = try port ?? Self.freePort()
            process.executableURL = URL(fileURLWithPath: ServerTests.product("mozdef-receiver"))
            let store = data.hasPrefix("postgres://") ? ["--store", data] : ["--data", data]
            process.arguments = ["--listen", "127.0.0.1:\(self.port)"] + store + ["--mozdef-hostname", "receiver.test"] + extra
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            for _ in 0..<300 where process.isRunning {
                if let r = try? ServerTests.request("GET", base + "/status"), r.status == 200 { return }
                usleep(50_000)
            }
            Issue.record("mozdef-receiver did not answer on port \(self.port)")
        }

        static func freePort() throws -> Int { try freeLoopbackPort() }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        deinit { if process.isRunning { kill9() } }
    }

    struct Reply {
        var status: Int
        var contentType: String
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    static func run(_ exe: String, _ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static func request(_ method: String, _ url: String, body: String? = nil, bodyFile: String? = nil, headers: [String] = []) throws -> Reply {
        var args = [repoRoot.appendingPathComponent("Tests/Support/http_request.py").path, method, url]
        for h in headers { args += ["--header", h] }
        if let body { args += ["--body", body] }
        if let bodyFile { args += ["--body-file", bodyFile] }
        let (_, out, _) = try run("/usr/bin/python3", args)
        let nl = out.firstIndex(of: "\n") ?? out.endIndex
        let head = out[..<nl].split(separator: " ", maxSplits: 1)
        return Reply(status: Int(head.first ?? "") ?? 0, contentType: head.count > 1 ? String(head[1]) : "",
                     body: nl < out.endIndex ? String(out[out.index(after: nl)...]) : "")
    }

    static func events(_ r: Receiver, _ q: String = "") throws -> (total: Int, events: [[String: Any]]) {
        let enc = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let reply = try request("GET", r.base + "/api/events?limit=10000&q=" + enc)
        let o = reply.json as? [String: Any]
        return (o?["total"] as? Int ?? -1, o?["events"] as? [[String: Any]] ?? [])
    }

    @Test func loginputRoutesAsMozDefAnswersThem() throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        let r = try Receiver(data: dir.path("data"))
        let status = try Self.request("GET", r.base + "/status")
        #expect(status.status == 200 && status.contentType.hasPrefix("application/json"))
        #expect(status.body == #"{"status": "ok", "service": "loginput"}"#)
        #expect(try Self.request("GET", r.base + "/test").status == 200)
        #expect(try Self.request("GET", r.base + "/events").status == 405)
        #expect(try Self.request("PUT", r.base + "/_bulk", body: "{}").status == 405)
        #expect(try Self.request("POST", r.base + "/status", body: "{}").status == 405)
        #expect(try Self.request("GET", r.base + "/nowhere").status == 404)

        // mozdef-ship, one POST per event, as to MozDef's loginput: all 61 stored.
        let sample = Self.repoRoot.appendingPathComponent("samples/syslog/auth.log").path
        let (code, _, err) = try Self.run(Self.product("mozdef-ship"),
                                          ["convert", "--format", "syslog", "--now", "2026-11-29T00:00:00Z", "--to", r.base + "/events", sample])
        #expect(code == 0, "\(err)")
        var (total, _) = try Self.events(r)
        #expect(total == 61)
        let failed = try Self.events(r, "summary:failed AND details.username:root")
        #expect(failed.total > 0 && failed.events.allSatisfy { ($0["summary"] as? String)?.lowercased().contains("failed") == true })

        // Success is 200 with an empty body; every route adds its endpoint.
        for (method, path, endpoint) in [("POST", "/events", "events"), ("PUT", "/nxlog/", "events"), ("POST", "/cef", "cef"), ("PUT", "/custom/myapp", "myapp")] {
            let reply = try Self.request(method, r.base + path, body: #"{"summary":"via \#(path)","hostname":"h1","Odd Key":1}"#)
            #expect(reply.status == 200 && reply.body.isEmpty, "\(method) \(path): \(reply.status) \(reply.body)")
            let e = try Self.events(r, #"summary:"via \#(path)""#).events.first
            let details = e?["details"] as? [String: Any]
            if endpoint == "myapp" {
                #expect(e?["endpoint"] as? String == "myapp" && e?["customendpoint"] as? Bool == true && e?["Odd Key"] as? Int == 1)
            } else {
                #expect(details?["endpoint"] as? String == endpoint && details?["odd key"] as? Int == 1, "\(String(describing: e))")
            }
            #expect(e?["receivedtimestamp"] as? String != nil && e?["mozdefhostname"] as? String == "receiver.test")
        }
        total = try Self.events(r).total
        #expect(total == 65)

        // Refused, with a JSON reason, and nothing stored.
        for (body, why) in [("{not json", "not JSON"), ("[1,2]", "expected a JSON object"), ("", "empty body"), (#"{"timestamp":"soon"}"#, "timestamp")] {
            let reply = try Self.request("POST", r.base + "/events", body: body)
            #expect(reply.status == 400 && reply.contentType.hasPrefix("application/json"), "\(body): \(reply.status)")
            #expect(((reply.json as? [String: Any])?["error"] as? String)?.contains(why) == true, "\(body): \(reply.body)")
        }
        let big = try dir.write("big.json", Array(("{\"summary\":\"" + String(repeating: "x", count: 4 << 20) + "\"}").utf8))
        #expect(try Self.request("POST", r.base + "/events", bodyFile: big).status == 413)
        #expect(try Self.events(r).total == 65)

        // /_bulk: action lines skipped, a bad line named, the rest stored.
        let bulk = "{\"index\":{\"_index\":\"events\"}}\n{\"summary\":\"bulk one\"}\nnot json\n{\"index\":{}}\n{\"summary\":\"bulk two\"}\n"
        let reply = try Self.request("POST", r.base + "/_bulk", body: bulk)
        #expect(reply.status == 200)
        let answer = reply.json as? [String: Any]
        #expect(answer?["errors"] as? Bool == true && answer?["stored"] as? Int == 2)
        #expect((answer?["failed"] as? [[String: Any]])?.first?["line"] as? Int == 3)
        #expect(try Self.request("POST", r.base + "/_bulk", body: #"[{"summary":"arr one"},{"index":{}},{"summary":"arr two"}]"#).body.isEmpty)
        #expect(try Self.events(r, "summary:bulk").total == 2)
        #expect(try Self.events(r, "summary:arr").total == 2)

        let metrics = try Self.request("GET", r.base + "/metrics").body
        #expect(metrics.contains(#"mozdef_receiver_events_stored_total{route="events"} 62"#), "\(metrics)")
        #expect(metrics.contains(#"mozdef_receiver_events_rejected_total{route="_bulk"} 1"#))
        // The four refused bodies and the one over 4 MiB.
        #expect(metrics.contains(#"mozdef_receiver_events_rejected_total{route="events"} 5"#), "\(metrics)")
    }

    /// Where a test's receivers keep their events: a SQLite directory, or a private
    /// PostgreSQL (kept alive by the returned object).
    static func store(_ kind: String, _ dir: TemporaryDirectory) throws -> (String, PrivatePostgres?) {
        if kind == "sqlite" { return (dir.path("data"), nil) }
        let pg = try PrivatePostgres()
        return (pg.url, pg)
    }

    /// A 200 means committed: the receiver killed with SIGKILL right after still has the event.
    @Test(arguments: ["sqlite", "postgres"])
    func aTwoHundredSurvivesKillNine(store: String) throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        let (data, pg) = try Self.store(store, dir)
        defer { withExtendedLifetime(pg) {} }
        var r = try Receiver(data: data)
        for k in 0..<20 {
            #expect(try Self.request("POST", r.base + "/events", body: #"{"summary":"durable \#(k)"}"#).status == 200)
        }
        let port = r.port
        r.kill9()
        r = try Receiver(data: data, port: port)
        #expect(try Self.events(r, "summary:durable").total == 20)
    }

    /// PostgreSQL restarted under a running receiver: the requests in between may get 500
    /// (never a 200 for an event not committed), and the receiver reconnects by itself.
    @Test func postgresRestartedUnderTheReceiver() throws {
        let pg = try PrivatePostgres()
        let r = try Receiver(data: pg.url, extra: ["--rules", Self.repoRoot.appendingPathComponent("samples/rules").path])
        var failures = 0
        func post(_ k: Int) throws {
            for _ in 0..<100 {
                if try Self.request("POST", r.base + "/events", body: #"{"summary":"through a restart \#(k)"}"#).status == 200 { return }
                failures += 1
                usleep(100_000)
            }
            Issue.record("event \(k) never stored")
        }
        for k in 0..<10 { try post(k) }
        try pg.restart()
        for k in 10..<20 { try post(k) }
        let got = try Self.events(r, "summary:restart")
        #expect(Set(got.events.compactMap { $0["summary"] as? String }).count == 20)
        #expect(got.total <= 20 + failures)
        #expect(try Self.request("POST", r.base + "/api/alerts/run").status == 200, "the rules read again after the restart")
    }

    /// With --token nothing is read or stored without `Authorization: Bearer`; /status stays open.
    @Test func aTokenGuardsEveryRouteButStatus() throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        let r = try Receiver(data: dir.path("data"), extra: ["--token", "s3cret"])
        #expect(try Self.request("GET", r.base + "/status").status == 200)
        #expect(try Self.request("POST", r.base + "/events", body: #"{"summary":"x"}"#).status == 401)
        #expect(try Self.request("POST", r.base + "/events", body: #"{"summary":"x"}"#, headers: ["Authorization: Bearer nope"]).status == 401)
        #expect(try Self.request("GET", r.base + "/api/events").status == 401)
        #expect(try Self.request("POST", r.base + "/events", body: #"{"summary":"y"}"#, headers: ["Authorization: Bearer s3cret"]).status == 200)
        let all = try Self.request("GET", r.base + "/api/events", headers: ["Authorization: Bearer s3cret"]).json as? [String: Any]
        #expect(all?["total"] as? Int == 1)
    }

    /// The sample rules over one receiver: an alert when the threshold is reached, none below
    /// it, none twice for the same events; the rule listing and the alert counters.
    @Test(arguments: ["sqlite", "postgres"])
    func sampleRulesRaiseAlertsOnce(store: String) throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        let (data, pg) = try Self.store(store, dir)
        defer { withExtendedLifetime(pg) {} }
        let r = try Receiver(data: data, extra: ["--rules", Self.repoRoot.appendingPathComponent("samples/rules").path])
        func post(_ body: String, _ times: Int = 1) throws {
            for _ in 0..<times { #expect(try Self.request("POST", r.base + "/events", body: body).status == 200) }
        }
        func run() throws -> [[String: Any]] {
            (try Self.request("POST", r.base + "/api/alerts/run").json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        }
        let attempt = #"{"summary":"login invalid ldap_count_entries failed by 1.2.3.4","hostname":"exhostname","category":"syslog","details":{"program":"sshd","sourceipaddress":"1.2.3.4"}}"#
        try post(attempt, 9)
        try post(#"{"summary":"login invalid ldap_count_entries failed by 5.6.7.8","hostname":"exhostname","category":"syslog","details":{"program":"sshd","sourceipaddress":"5.6.7.8"}}"#)
        try post(#"{"summary":"login invalid by 1.2.3.4","hostname":"exhostname","category":"syslog","details":{"program":"sshd","sourceipaddress":"1.2.3.4"}}"#)
        #expect(try run().isEmpty, "9 attempts from one address must not alert")
        try post(attempt)
        var alerts = try run()
        #expect(alerts.count == 1)
        let a = alerts.first
        #expect(a?["summary"] as? String == "10 ssh bruteforce attempts by 1.2.3.4 exhostname (10 hits)")
        #expect(a?["category"] as? String == "bruteforce" && a?["severity"] as? String == "NOTICE" && a?["tags"] as? [String] == ["ssh"])
        #expect((a?["events"] as? [[String: Any]])?.count == 10)
        #expect(a?["classname"] as? String == "AlertGenericLoader:bruteforce_ssh" && a?["notify_mozdefbot"] as? Bool == false)
        #expect(try run().isEmpty, "the same events raised an alert twice")

        try post(#"{"source":"cloudtrail","details":{"eventname":"StopLogging","requestparameters":{"name":"cloudtrail_example_name"}}}"#)
        try post(#"{"category":"syslog","summary":"device eth0 entered promiscuous mode","hostname":"logging.server.com","details":{"program":"kernel"}}"#, 3)
        try post(#"{"category":"syslog","summary":"device veth12 entered promiscuous mode","hostname":"docker.host","details":{"program":"kernel"}}"#)
        alerts = try run()
        let summaries = Set(alerts.compactMap { $0["summary"] as? String })
        #expect(summaries == ["Cloudtrail Logging Disabled: cloudtrail_example_name", "Promiscuous mode enabled on logging.server.com [3]"])
        #expect(alerts.first { ($0["category"] as? String) == "AWSCloudtrail" }?["notify_mozdefbot"] as? Bool == true)

        let stored = try Self.request("GET", r.base + "/api/alerts").json as? [String: Any]
        #expect(stored?["total"] as? Int == 3)
        let rules = (try Self.request("GET", r.base + "/api/rules").json as? [String: Any])?["rules"] as? [[String: Any]] ?? []
        #expect(rules.map { $0["name"] as? String ?? "" } == [
            "bruteforce_ssh", "cloudtrail_logging_disabled", "deadman", "duo_authfail", "guard_duty_probe", "ldap_add", "ldap_group",
            "promisc_kernel", "proxy_drop_executable", "ssh_access",
        ])
        #expect(rules.first { $0["name"] as? String == "deadman" }?["type"] as? String == "deadman")
        #expect(rules.first { $0["name"] as? String == "deadman" }?["schedule"] as? String == "*/5 * * * *")
        #expect(rules.allSatisfy { $0["last_run"] is String && $0["last_error"] is NSNull })
        #expect((try Self.request("GET", r.base + "/api/rules").json as? [String: Any])?["leader"] as? Bool == true, "a receiver alone runs its rules")
        let metrics = try Self.request("GET", r.base + "/metrics").body
        #expect(metrics.contains("mozdef_receiver_alerts_total 3"), "\(metrics)")
    }

    /// A store of the first release (schema version 0, no message ids) is migrated at start:
    /// its events are kept and new ones are stored beside them.
    @Test func aFirstReleaseStoreIsMigrated() throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        try FileManager.default.createDirectory(atPath: dir.path("data"), withIntermediateDirectories: true)
        let old = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.executescript('''
            CREATE TABLE events (id INTEGER PRIMARY KEY, utc INTEGER NOT NULL, received INTEGER NOT NULL,
                category TEXT NOT NULL, hostname TEXT NOT NULL, doc TEXT NOT NULL);
            CREATE INDEX events_utc ON events(utc);
            CREATE INDEX events_received ON events(received);
            CREATE TABLE alerts (id INTEGER PRIMARY KEY, utc INTEGER NOT NULL, rule TEXT NOT NULL, doc TEXT NOT NULL);
            CREATE TABLE rule_events (rule TEXT NOT NULL, event INTEGER NOT NULL, PRIMARY KEY (rule, event)) WITHOUT ROWID;
            INSERT INTO events(utc, received, category, hostname, doc) VALUES
                (1, 1, 'test', 'h', '{"summary":"kept from before","category":"test","hostname":"h"}');
            ''')
            db.commit()
            """
        let (code, _, err) = try Self.run("/usr/bin/python3", ["-c", old, dir.path("data/events.sqlite")])
        #expect(code == 0, "\(err)")
        let r = try Receiver(data: dir.path("data"))
        #expect(try Self.request("POST", r.base + "/events", body: #"{"summary":"new one"}"#).status == 200)
        #expect(try Self.events(r, "summary:kept").total == 1)
        #expect(try Self.events(r).total == 2)
        let (_, version, _) = try Self.run("/usr/bin/python3", ["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])", dir.path("data/events.sqlite")])
        #expect(version.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
    }

    /// A rule file with an error stops the start, naming the file and the reason.
    @Test func aBadRuleIsRefusedAtStart() throws {
        let dir = try TemporaryDirectory(prefix: "receiver")
        let rules = dir.path("rules")
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        _ = try dir.write("rules/broken.json", Array(#"{"search_string":"summary:x AND (y","aggregation_key":"k","time_window":1,"num_samples":1,"num_aggregations":1,"alert_category":"c","alert_tags":[],"alert_severity":"INFO","alert_summary":"s"}"#.utf8))
        let (code, _, err) = try Self.run(Self.product("mozdef-receiver"), ["--listen", "127.0.0.1:\(try Receiver.freePort())", "--data", dir.path("data"), "--rules", rules])
        #expect(code != 0)
        #expect(err.contains("broken.json: search_string:") && err.contains("not closed"), "\(err)")
    }
}
