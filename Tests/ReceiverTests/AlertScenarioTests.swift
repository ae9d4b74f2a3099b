import Foundation
import Testing
import TestSupport

/// MozDef's alert test cases (tests/alerts/test_<alert>.py), re-expressed as black-box tests:
/// events are POSTed to a fresh receiver running `samples/rules`, the rules are run, and the
/// alerts of the rule under test are compared with what MozDef's tests expect. Events are
/// deep-merged over MozDef's test base event, as its harness does.
@Suite(.serialized) struct AlertScenarioTests {
    typealias S = ServerTests
    static let rules = S.repoRoot.appendingPathComponent("samples/rules").path

    /// MozDef's AlertTestSuite base event (without the times: the receiver sets them).
    static var base: [String: Any] {
        [
        "category": "excategory", "hostname": "exhostname", "severity": "NOTICE", "source": "exsource",
        "summary": "Example summary", "tags": ["tag1", "tag2"],
        "details": ["sourceipaddress": "10.9.8.7", "hostname": "exhostname"],
        ]
    }

    static func merged(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] {
        var out = a
        for (k, v) in b {
            if let sub = v as? [String: Any], let old = out[k] as? [String: Any] { out[k] = merged(old, sub) } else { out[k] = v }
        }
        return out
    }

    static func json(_ o: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    /// Posts `events` (over the base event, in one /_bulk), runs every rule at `runAt` seconds
    /// from now, and returns the alerts `rule` raised.
    static func alerts(_ rule: String, _ events: [[String: Any]], runAt offset: Double = 0, base: [String: Any] = base) throws -> [[String: Any]] {
        let dir = try TemporaryDirectory(prefix: "scenario")
        let r = try S.Receiver(data: dir.path("data"), extra: ["--rules", rules])
        if !events.isEmpty {
            let body = events.map { json(merged(base, $0)) }.joined(separator: "\n")
            let reply = try S.request("POST", r.base + "/_bulk", body: body)
            #expect(reply.status == 200 && reply.body.isEmpty, "\(reply)")
        }
        let at = Date().addingTimeInterval(offset)
        let f = ISO8601DateFormatter()
        let q = "?now=" + (f.string(from: at).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        let run = try S.request("POST", r.base + "/api/alerts/run" + q)
        #expect(run.status == 200)
        let all = (run.json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return all.filter { $0["classname"] as? String == "AlertGenericLoader:" + rule }
    }

    static func check(_ a: [String: Any]?, category: String, severity: String, tags: [String], summary: String,
                      events: Int, notify: Bool, url: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a?["category"] as? String == category, sourceLocation: sourceLocation)
        #expect(a?["severity"] as? String == severity, sourceLocation: sourceLocation)
        #expect(a?["tags"] as? [String] == tags, sourceLocation: sourceLocation)
        #expect(a?["summary"] as? String == summary, sourceLocation: sourceLocation)
        #expect((a?["events"] as? [[String: Any]])?.count == events, sourceLocation: sourceLocation)
        #expect(a?["notify_mozdefbot"] as? Bool == notify, sourceLocation: sourceLocation)
        #expect(a?["status"] as? String == "manual" && a?["channel"] is NSNull, sourceLocation: sourceLocation)
        if let url { #expect(a?["url"] as? String == url, sourceLocation: sourceLocation) }
        let first = ((a?["events"] as? [[String: Any]])?.first)
        if events > 0 {
            #expect(first?["documentindex"] as? String == "events" && first?["documentid"] is String && first?["documentsource"] is [String: Any],
                    sourceLocation: sourceLocation)
        }
    }

    // 1: bruteforce_ssh
    static var attempt: [String: Any] {
        [
        "summary": "login invalid ldap_count_entries failed by 1.2.3.4", "category": "syslog",
        "details": ["program": "sshd", "sourceipaddress": "1.2.3.4"],
        ]
    }

    @Test func bruteforceSSH() throws {
        let a = try Self.alerts("bruteforce_ssh", Array(repeating: Self.attempt, count: 10))
        #expect(a.count == 1)
        Self.check(a.first, category: "bruteforce", severity: "NOTICE", tags: ["ssh"],
                   summary: "10 ssh bruteforce attempts by 1.2.3.4 exhostname (10 hits)", events: 10, notify: false)
    }

    @Test(arguments: [
        "9 attempts", "8 from one address and 2 from another", "summary without failed", "failed alone",
        "program not sshd", "3 minutes old", "skiphost 11.22.33.44", "skiphost 55.66.77.88", "sourceipaddress null",
    ])
    func bruteforceSSHNegative(_ case_: String) throws {
        var events = Array(repeating: Self.attempt, count: 10)
        var offset = 0.0
        func each(_ f: ([String: Any]) -> [String: Any]) { events = events.map(f) }
        switch case_ {
        case "9 attempts": events.removeLast()
        case "8 from one address and 2 from another":
            for i in 8..<10 { events[i] = Self.merged(events[i], ["details": ["sourceipaddress": "1.2.3.5"]]) }
        case "summary without failed": each { Self.merged($0, ["summary": "login invalid ldap_count_entries by 1.2.3.4"]) }
        case "failed alone": each { Self.merged($0, ["summary": "failed"]) }
        case "program not sshd": each { Self.merged($0, ["details": ["program": "badprogram"]]) }
        case "3 minutes old": offset = 180
        case "skiphost 11.22.33.44": each { Self.merged($0, ["summary": "login invalid ldap_count_entries failed by 11.22.33.44"]) }
        case "skiphost 55.66.77.88": each { Self.merged($0, ["summary": "login invalid ldap_count_entries failed by 55.66.77.88"]) }
        case "sourceipaddress null": each { Self.merged($0, ["details": ["sourceipaddress": NSNull()]]) }
        default: Issue.record("unknown case")
        }
        #expect(try Self.alerts("bruteforce_ssh", events, runAt: offset).isEmpty, "\(case_)")
    }

    // 2: ldap_add
    static let ldapActor = "dc=example mail=user_la@example.com,o=com,dc=example IP=1.2.3.4:49818 conn=527493"
    static var ldapAdd: [String: Any] {
        [
        "category": "ldapChange",
        "summary": "\(ldapActor) add cn=example_cn,ou=groups,dc=example",
        "details": ["dn": "cn=example_cn,ou=groups,dc=example", "changetype": "add", "actor": ldapActor],
        ]
    }

    @Test func ldapAdd() throws {
        let a = try Self.alerts("ldap_add", [Self.ldapAdd])
        #expect(a.count == 1)
        Self.check(a.first, category: "ldap", severity: "INFO", tags: ["ldap"],
                   summary: "\(Self.ldapActor) added cn=example_cn,ou=groups,dc=example", events: 1, notify: false)
        #expect(try Self.alerts("ldap_add", [Self.merged(Self.ldapAdd, ["details": ["changetype": "delete"]])]).isEmpty)
        #expect(try Self.alerts("ldap_add", [Self.merged(Self.ldapAdd, ["details": ["actor": "cn=binduser,dc=example"]])]).isEmpty)
    }

    // 3: ldap_group
    static var ldapGroup: [String: Any] {
        [
        "category": "ldapChange",
        "summary": "\(ldapActor) modify cn=example_cn,ou=groups,dc=example",
        "details": ["dn": "cn=example_cn,ou=groups,dc=example", "changetype": "modify", "actor": ldapActor,
                    "email": "user_la@example.com", "changepairs": ["add:memberUid", "add:member"]],
        ]
    }

    @Test func ldapGroup() throws {
        let a = try Self.alerts("ldap_group", [Self.ldapGroup])
        #expect(a.count == 1)
        Self.check(a.first, category: "ldap", severity: "INFO", tags: ["ldap"],
                   summary: "LDAP group change initiated by user_la@example.com", events: 1, notify: false)
        #expect(try Self.alerts("ldap_group", [Self.merged(Self.ldapGroup, ["details": ["changepairs": ["delete:member"]]])]).isEmpty)
        #expect(try Self.alerts("ldap_group", [Self.merged(Self.ldapGroup, ["summary": "modify cn=example_cn,ou=people"])]).isEmpty)
    }

    // 4: ssh_access (watchlist)
    static var sshLogin: [String: Any] {
        [
        "category": "syslog", "hostname": "victim1.small.corp.com",
        "summary": "Accepted publickey for alamakota from 11.22.33.44 port 39190 ssh2",
        "details": ["sourceipaddress": "11.22.33.44", "program": "sshd", "username": "alamakota"],
        ]
    }

    @Test func sshAccess() throws {
        let a = try Self.alerts("ssh_access", [Self.sshLogin])
        #expect(a.count == 1)
        Self.check(a.first, category: "access", severity: "CRITICAL", tags: ["ssh"],
                   summary: "SSH login from 11.22.33.44 on victim1.small.corp.com as user alamakota", events: 1, notify: true)
        #expect(try Self.alerts("ssh_access", [Self.merged(Self.sshLogin, ["details": ["sourceipaddress": "11.22.33.45"]])]).isEmpty,
                "an address outside the watchlist")
        #expect(try Self.alerts("ssh_access", [Self.merged(Self.sshLogin, ["summary": "Failed publickey for alamakota from 11.22.33.44"])]).isEmpty)
    }

    // 5: promisc_kernel
    @Test func promiscKernel() throws {
        let e: [String: Any] = ["category": "syslog", "summary": "device eth0 entered promiscuous mode", "hostname": "logging.server.com",
                                "details": ["program": "kernel"]]
        let a = try Self.alerts("promisc_kernel", Array(repeating: e, count: 10))
        #expect(a.count == 1)
        Self.check(a.first, category: "promisc", severity: "WARNING", tags: ["promisc", "kernel"],
                   summary: "Promiscuous mode enabled on logging.server.com [10]", events: 10, notify: true)
        #expect(try Self.alerts("promisc_kernel", [Self.merged(e, ["summary": "device veth0 entered promiscuous mode"])]).isEmpty)
        #expect(try Self.alerts("promisc_kernel", [Self.merged(e, ["summary": "device eth0 left promiscuous mode"])]).isEmpty)
    }

    // 6: duo_authfail
    @Test func duoAuthFail() throws {
        let e: [String: Any] = ["category": "authentication", "summary": "authentication FRAUD for you@somewhere.com",
                                "details": ["sourceipaddress": "1.2.3.4", "username": "you@somewhere.com", "result": "fraud"]]
        let a = try Self.alerts("duo_authfail", [e])
        #expect(a.count == 1)
        Self.check(a.first, category: "duosecurity", severity: "WARNING", tags: ["duosecurity"],
                   summary: "Duo Authentication Failure: user you@somewhere.com rejected and marked a Duo Authentication attempt from 1.2.3.4 as fraud",
                   events: 1, notify: true, url: "https://duo.com/docs/administration-users#user-fraud-reports")
        #expect(try Self.alerts("duo_authfail", [Self.merged(e, ["details": ["result": "success"]])]).isEmpty)
    }

    // 7: cloudtrail_logging_disabled
    @Test func cloudtrailLoggingDisabled() throws {
        let e: [String: Any] = ["source": "cloudtrail", "details": ["eventname": "StopLogging", "requestparameters": ["name": "cloudtrail_example_name"]]]
        let a = try Self.alerts("cloudtrail_logging_disabled", [e])
        #expect(a.count == 1)
        Self.check(a.first, category: "AWSCloudtrail", severity: "CRITICAL", tags: ["cloudtrail", "aws"],
                   summary: "Cloudtrail Logging Disabled: cloudtrail_example_name", events: 1, notify: true)
        #expect(try Self.alerts("cloudtrail_logging_disabled", [Self.merged(e, ["details": ["eventname": "StartLogging"]])]).isEmpty)
        #expect(try Self.alerts("cloudtrail_logging_disabled", [Self.merged(e, ["source": "notcloudtrail"])]).isEmpty)
    }

    // 8: guard_duty_probe
    @Test func guardDutyProbe() throws {
        let e: [String: Any] = ["source": "guardduty", "details": ["sourceipaddress": "1.2.3.4", "finding": ["action": ["actionType": "PORT_PROBE"]]]]
        let a = try Self.alerts("guard_duty_probe", [e])
        #expect(a.count == 1)
        Self.check(a.first, category: "bruteforce", severity: "INFO", tags: ["guardduty", "bruteforce"],
                   summary: "Guard Duty Port Probe by 1.2.3.4", events: 1, notify: false)
        #expect(try Self.alerts("guard_duty_probe", [Self.merged(e, ["details": ["finding": ["action": ["actionType": "DNS_REQUEST"]]]])]).isEmpty)
    }

    // 9: proxy_drop_executable
    @Test func proxyDropExecutable() throws {
        let e: [String: Any] = ["category": "proxy", "details": ["sourceipaddress": "1.2.3.4", "destination": "http://evil.com/evil.exe", "proxyaction": "TCP_DENIED"]]
        let a = try Self.alerts("proxy_drop_executable", [e])
        #expect(a.count == 1)
        Self.check(a.first, category: "squid", severity: "WARNING", tags: ["squid", "proxy"],
                   summary: "Suspicious Proxy DROP event(s) detected from 1.2.3.4 to the following executable file destination(s): http://evil.com/evil.exe",
                   events: 1, notify: true)
        #expect(try Self.alerts("proxy_drop_executable", [Self.merged(e, ["details": ["destination": "http://evil.com/evil.html"]])]).isEmpty)
        #expect(try Self.alerts("proxy_drop_executable", [Self.merged(e, ["details": ["proxyaction": "TCP_MISS"]])]).isEmpty)
    }

    // 10: deadman
    @Test func deadman() throws {
        let a = try Self.alerts("deadman", [["category": "excategory"]])
        #expect(a.count == 1)
        Self.check(a.first, category: "deadman", severity: "ERROR", tags: ["deadman", "syslog"],
                   summary: "Deadman check failed for 'syslog heartbeat' the past 5 minutes", events: 0, notify: true)
        #expect(try Self.alerts("deadman", [["category": "syslog"]]).isEmpty, "a heartbeat in the window")
        #expect(try Self.alerts("deadman", [["category": "syslog"]], runAt: 6 * 60).count == 1, "the heartbeat is older than the window")
    }

    // 11: a second run over the same events raises nothing new; new events raise again.
    @Test func noAlertTwiceFromTheSameEvents() throws {
        let dir = try TemporaryDirectory(prefix: "scenario")
        let r = try S.Receiver(data: dir.path("data"), extra: ["--rules", Self.rules])
        let body = Array(repeating: Self.json(Self.merged(Self.base, Self.attempt)), count: 10).joined(separator: "\n")
        func run() throws -> [[String: Any]] {
            let all = (try S.request("POST", r.base + "/api/alerts/run").json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            return all.filter { $0["classname"] as? String == "AlertGenericLoader:bruteforce_ssh" }
        }
        #expect(try S.request("POST", r.base + "/_bulk", body: body).status == 200)
        #expect(try run().count == 1)
        #expect(try run().isEmpty, "the same events raised an alert twice")
        #expect(try S.request("POST", r.base + "/_bulk", body: body).status == 200)
        #expect(try run().count == 1, "ten new attempts are a new alert")
        let stored = try S.request("GET", r.base + "/api/alerts?limit=100").json as? [String: Any]
        let mine = (stored?["alerts"] as? [[String: Any]] ?? []).filter { $0["classname"] as? String == "AlertGenericLoader:bruteforce_ssh" }
        #expect(mine.count == 2)
    }
}
