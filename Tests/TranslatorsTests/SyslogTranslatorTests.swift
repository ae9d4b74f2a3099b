import Foundation
import Testing
@testable import MozDefEvent
@testable import Translators

@Suite struct SyslogTranslatorTests {
    static let reference: Int64 = 1_795_910_400  // 2026-11-29T00:00:00Z
    let ctx = RecordContext(source: "/var/log/auth.log", received: Timestamp(epochSeconds: reference, fractionDigits: 6))

    func event(_ line: String, zone: ZoneInfo = .utc, reference: Int64 = reference) throws -> Event {
        let t = SyslogTranslator(parser: SyslogParser(strict: false, zone: zone, referenceTime: reference))
        var s = line
        return try s.withUTF8 { p in try t.translate(p, context: ctx) }
    }

    func details(_ e: Event) -> [String: JSONValue] {
        Dictionary(e.details.members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    @Test func rfc5424FieldsAndStructuredDataLayout() throws {
        let e = try event(#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][meta x="a\]b\"c\\d"] \#u{FEFF}An application event"#)
        #expect(e.severity == .notice)
        #expect(e.hostname == "mymachine.example.com")
        #expect(e.processname == "evntslog")
        #expect(e.processid == "1234")
        #expect(e.summary == "An application event")
        #expect(e.category == "syslog")
        #expect(e.source == "/var/log/auth.log")
        let d = details(e)
        #expect(d["facility"] == "local4")
        #expect(d["program"] == "evntslog")
        #expect(d["msgid"] == "ID47")
        let sd = try #require(d["structureddata"]?.objectValue)
        #expect(sd.keys == ["exampleSDID@32473", "meta"])
        #expect(sd["exampleSDID@32473"]?.objectValue?["eventSource"] == "Application")
        #expect(sd["meta"]?.objectValue?["x"] == #"a]b"c\d"#)
        #expect(e.jsonString.hasPrefix(#"{"timestamp":"2003-10-11T22:14:15.003+00:00","utctimestamp":"2003-10-11T22:14:15.003+00:00""#))
    }

    @Test func rfc3164YearInferenceGivesDecemberLinesReadInJanuaryThePreviousYear() throws {
        let jan2 = Civil.seconds(year: 2027, month: 1, day: 2, hour: 10, minute: 0, second: 0)
        #expect(try event("<38>Dec 31 23:59:58 host sshd[1]: x", reference: jan2).timestamp.iso8601() == "2026-12-31T23:59:58+00:00")
        #expect(try event("<38>Jan  2 09:00:00 host sshd[1]: x", reference: jan2).timestamp.iso8601() == "2027-01-02T09:00:00+00:00")
        // A host whose clock runs slightly ahead across New Year's Eve.
        let dec31 = Civil.seconds(year: 2026, month: 12, day: 31, hour: 23, minute: 59, second: 50)
        #expect(try event("<38>Jan  1 00:00:05 host sshd[1]: x", reference: dec31).timestamp.iso8601() == "2027-01-01T00:00:05+00:00")
        // Feb 29 only exists in leap years: the most recent one.
        #expect(try event("<38>Feb 29 12:00:00 host a: x").timestamp.iso8601() == "2024-02-29T12:00:00+00:00")
        #expect(try event("<38>Mar 7 2008 19:06:53: host a: x").timestamp.iso8601() == "2008-03-07T19:06:53+00:00")
    }

    @Test func timezoneAppliesToZonelessTimestampsOnly() throws {
        let berlin = try ZoneInfo.named("Europe/Berlin")
        let winter = try event("<38>Nov 28 10:00:00 host app: x", zone: berlin)
        #expect(winter.timestamp.iso8601() == "2026-11-28T10:00:00+01:00")
        #expect(winter.timestamp.iso8601(utc: true) == "2026-11-28T09:00:00+00:00")
        let summer = try event("<38>Jul  1 10:00:00.250 host app: x", zone: berlin)
        #expect(summer.timestamp.iso8601() == "2026-07-01T10:00:00.250+02:00")
        let explicit = try event("<38>2026-11-28T10:00:00-05:00 host app: x", zone: berlin)
        #expect(explicit.timestamp.iso8601() == "2026-11-28T10:00:00-05:00")
        let naive = try event("<38>2026-11-28T10:00:00 host app: x", zone: berlin)
        #expect(naive.timestamp.iso8601() == "2026-11-28T10:00:00+01:00")
    }

    @Test(arguments: [
        ("Nov 28 10:04:05 haproxy[7341]: Proxy web started.", nil, "haproxy", "7341", "Proxy web started."),
        ("<167>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened for user foo by (uid=0)", "source_server", "sshd", "12750", "session opened for user foo by (uid=0)"),
        ("<189>Nov 28 10:01:02 core-sw1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down", "core-sw1", "%LINK-3-UPDOWN", nil, "Interface Gi0/1, changed state to down"),
        ("<166>Jul  6 20:33:28 ABC-1-234567 Some message here", "ABC-1-234567", nil, nil, "Some message here"),
        ("<14>Aug 30 23:00:05 X4711", "X4711", nil, nil, ""),
        ("<27>xapi: [error|xen3] Connection to master died.", nil, "xapi", nil, "[error|xen3] Connection to master died."),
        ("<167> Mar  7 19:06:53 example tag:msgnum:3", "example", "tag", nil, "msgnum:3"),
    ] as [(String, String?, String?, String?, String)])
    func rfc3164Quirks(line: String, host: String?, program: String?, pid: String?, summary: String) throws {
        let e = try event(line)
        #expect(e.hostname == host)
        #expect(e.processname == program)
        #expect(e.processid == pid)
        #expect(e.summary == summary)
        #expect(details(e)["program"]?.stringValue == program)
    }

    @Test func impossibleDatesAreNotTimestamps() throws {
        let strict = SyslogTranslator(parser: SyslogParser(strict: true, referenceTime: Self.reference))
        for line in ["<13>Feb 30 10:00:00 h x: y", "<13>Apr 31 10:00:00 h x: y"] {
            var s = line
            #expect(throws: TranslationError.self) { try s.withUTF8 { try strict.translate($0, context: ctx) } }
            // Lenient: kept whole, dated by the time it was read.
            let e = try event(line)
            #expect(e.timestamp == ctx.received)
            #expect(e.summary.contains("10:00:00"))
        }
    }

    @Test func missingPRIMeansUserNotice() throws {
        let e = try event("Feb 18 16:01:59 serverX -- MARK --")
        #expect(e.severity == .notice)
        #expect(details(e)["facility"] == "user")
        #expect(e.summary == "-- MARK --")
    }

    @Test func linesWithoutPRIOrTimestampAreNotSyslog() {
        #expect(throws: TranslationError.self) { try event("This is a message!") }
        #expect(throws: TranslationError.self) { try event("    at com.example.Foo.bar(Foo.java:42)") }
    }

    struct AuthCase: Sendable, CustomTestStringConvertible {
        var line: String
        var category: String
        var fields: [String: JSONValue]
        var testDescription: String { line }
    }

    static let authCases: [AuthCase] = [
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Accepted publickey for alice from 203.0.113.45 port 51122 ssh2: ED25519 SHA256:abc",
              category: "authentication",
              fields: ["success": true, "username": "alice", "sourceipaddress": "203.0.113.45", "sourceport": 51122, "authmethod": "publickey"]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Failed password for invalid user admin from 2001:db8::7 port 4444 ssh2",
              category: "authentication",
              fields: ["success": false, "username": "admin", "sourceipaddress": "2001:db8::7", "sourceport": 4444, "invaliduser": true, "authmethod": "password"]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Failed password for root from 198.51.100.9 port 22 ssh2",
              category: "authentication", fields: ["success": false, "username": "root", "sourceipaddress": "198.51.100.9"]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Invalid user  from 198.51.100.9 port 40000",
              category: "authentication", fields: ["success": false, "username": "", "sourceport": 40000]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Failed password for root from gw.example.net port 22 ssh2",
              category: "authentication", fields: ["success": false, "sourcehostname": "gw.example.net"]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Disconnected from invalid user test 198.51.100.9 port 5 [preauth]",
              category: "authentication", fields: ["action": "disconnect", "username": "test", "sourceipaddress": "198.51.100.9", "sourceport": 5]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Connection closed by 198.51.100.9 port 5 [preauth]",
              category: "authentication", fields: ["action": "disconnect", "sourceipaddress": "198.51.100.9", "sourceport": 5]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: message repeated 5 times: [ Failed password for root from 198.51.100.9 port 22 ssh2]",
              category: "authentication", fields: ["success": false, "repeated": 5, "username": "root"]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=root",
              category: "authentication", fields: ["success": false, "username": "root", "sourceipaddress": "198.51.100.9", "service": "sshd"]),
        .init(line: "Nov 27 09:14:02 bastion sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
              category: "authentication", fields: ["success": true, "username": "alice", "targetuser": "root", "command": "/usr/bin/id", "tty": "pts/0"]),
        .init(line: "Nov 27 09:14:02 bastion sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow",
              category: "authorization", fields: ["success": false, "username": "bob", "command": "/bin/cat /etc/shadow"]),
        .init(line: "Nov 27 09:14:02 bastion sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
              category: "authentication", fields: ["success": false, "username": "bob"]),
        .init(line: "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
              category: "authentication", fields: ["success": false, "username": "lonvick", "targetuser": "root", "tty": "/dev/pts/8"]),
        .init(line: "Nov 27 09:14:02 bastion su[3000]: (to root) alice on pts/2",
              category: "authentication", fields: ["success": true, "username": "alice", "targetuser": "root"]),
        .init(line: "Nov 27 09:14:02 bastion su[3000]: FAILED SU (to root) bob on pts/1",
              category: "authentication", fields: ["success": false, "username": "bob", "targetuser": "root"]),
        .init(line: "Nov 27 09:14:02 db login[812]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure",
              category: "authentication", fields: ["success": false, "username": "root", "tty": "/dev/tty1"]),
        .init(line: "Nov 27 09:14:02 db login[812]: pam_unix(login:session): session opened for user carol(uid=1002) by LOGIN(uid=0)",
              category: "authentication", fields: ["success": true, "username": "carol", "byuser": "LOGIN", "service": "login"]),
        .init(line: "<167>Mar 27 19:06:53 source_server sshd(pam_unix)[12750]: session opened for user foo by (uid=0)",
              category: "authentication", fields: ["success": true, "username": "foo", "subsystem": "pam_unix"]),
        // A client-chosen user name that imitates sshd's own text must not move the address.
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Invalid user x from 6.6.6.6 port 1 from 203.0.113.9 port 5555",
              category: "authentication",
              fields: ["username": "x from 6.6.6.6 port 1", "sourceipaddress": "203.0.113.9", "sourceport": 5555]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Failed password for a port 9 from 1.1.1.1 port 2 from 198.51.100.9 port 22 ssh2",
              category: "authentication",
              fields: ["username": "a port 9 from 1.1.1.1 port 2", "sourceipaddress": "198.51.100.9", "sourceport": 22]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Disconnected from invalid user a b 10.0.0.1 port 7 203.0.113.5 port 40000 [preauth]",
              category: "authentication",
              fields: ["username": "a b 10.0.0.1 port 7", "sourceipaddress": "203.0.113.5", "sourceport": 40000]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Invalid user admin from 198.51.100.9",
              category: "authentication", fields: ["username": "admin", "sourceipaddress": "198.51.100.9"]),
        .init(line: "Nov 27 09:14:02 bastion sshd-session[2211]: Accepted publickey for alice from 203.0.113.45 port 51122 ssh2",
              category: "authentication", fields: ["success": true, "username": "alice"]),
        // A command containing " ; " is still one successful command.
        .init(line: "Nov 27 09:14:02 bastion sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c a ; b NOT in sudoers",
              category: "authentication",
              fields: ["success": true, "username": "alice", "command": "/bin/sh -c a ; b NOT in sudoers", "targetuser": "root"]),
        .init(line: "Nov 27 09:14:02 db CRON[9921]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
              category: "syslog", fields: [:]),
        .init(line: "Nov 27 09:14:02 bastion sshd[2211]: Server listening on 0.0.0.0 port 22.",
              category: "syslog", fields: [:]),
    ]

    @Test(arguments: authCases)
    func authenticationEvents(_ c: AuthCase) throws {
        let e = try event(c.line)
        #expect(e.category == c.category)
        let d = details(e)
        for (k, v) in c.fields { #expect(d[k] == v, "\(k)") }
        if c.category == "syslog" { #expect(d["success"] == nil) }
    }
}
