import Foundation
import Testing
import TestSupport
@testable import MozDefEvent
@testable import Translators

/// rsyslog's parser tests and VRL's parse_syslog cases: real-world RFC 3164 quirks.
/// Where those projects and go-syslog disagree we follow go-syslog's TAG rule (a
/// TAG ends in ':' or '[pid]'); such cases are checked for our documented reading.
@Suite(.enabled(if: Corpus.available, Comment(rawValue: Corpus.missing)))
struct RealWorldSyslogTests {
    static let reference = SyslogCorpusTests.reference
    let parser = SyslogParser(strict: false, zone: .utc, referenceTime: reference)
    static let rsyslogSeverity = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]

    func parse(_ s: String) -> SyslogMessage? { try? parser.parse(s) }

    /// "Mar  6 16:57:54" as rsyslog renders %timestamp%.
    func rfc3164Time(_ t: Timestamp) -> String {
        let iso = t.iso8601()
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let m = Int(iso.dropFirst(5).prefix(2))!
        let d = Int(iso.dropFirst(8).prefix(2))!
        return "\(months[m - 1]) \(d < 10 ? " " : "")\(d) \(iso.dropFirst(11).prefix(8))"
    }

    @Test func rsyslogParserTests() throws {
        let tests = try #require(try Corpus.json("syslog/rsyslog-parsertests/rsyslog_parsertests.json") as? [[String: Any]])
        var checked = 0, notSyslog = 0, bareTags = 0
        for t in tests where t["paired_1to1"] as? Bool == true {
            let template = t["template"] as? String ?? ""
            let inputs = t["inputs"] as? [String] ?? []
            let outputs = t["expected_output_lines"] as? [String] ?? []
            let fields = template.split(separator: ",").map(String.init)
            for (input, expected) in zip(inputs, outputs) {
                guard let m = parse(input) else {
                    // Headerless lines (no PRI, no timestamp: Snare, free text) are not
                    // syslog to us: they become unparsed events instead of a guessed host.
                    #expect(!input.hasPrefix("<"), "\(input)")
                    notSyslog += 1
                    continue
                }
                checked += 1
                guard fields.first == "%PRI%" else {
                    if template.hasPrefix("-%hostname%-") {
                        #expect(expected == "-\(m.hostname ?? "")-", "\(input)")
                    } else if template.hasPrefix("-%msg%-") || template.hasPrefix("%msg%--END") {
                        let msg = m.message ?? ""
                        #expect(expected == (template.hasPrefix("-") ? "-\(msg)-" : "\(msg)--END"), "\(input)")
                    } else if template.hasPrefix("?%hostname%?%syslogtag%?%msg%?") {
                        // force.tagEndingByColon: rsyslog's TAG rule equals ours here.
                        let parts = expected.split(separator: "?", omittingEmptySubsequences: false).map(String.init)
                        #expect(parts[1] == m.hostname, "\(input)")
                        #expect((parts[2] == "-") == (m.appname == nil), "\(input)")
                        #expect(parts[3].hasSuffix(m.message ?? "\u{0}"), "\(input)")
                    } else if template.hasPrefix("\"%timereported") || template.hasPrefix("%timereported") {
                        let parts = expected.dropFirst().dropLast().components(separatedBy: "\", \"")
                        #expect(m.timestamp.map { String($0.iso8601().prefix(19)) } == parts[0], "\(input)")
                        #expect(parts[1] == m.hostname, "\(input)")
                        if m.appname == nil { bareTags += 1 } else { #expect(parts[2] == m.appname && parts[3] == (m.procid ?? "")) }
                    }
                    continue
                }
                let cols = expected.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
                #expect(cols[0] == String(m.priority ?? 13), "\(input)")
                #expect(cols[1] == Facility.name(m.facility ?? 1), "\(input)")
                #expect(cols[2] == Self.rsyslogSeverity[m.severity ?? 5], "\(input)")
                var next = 3
                if fields.count > 3, fields[3].hasPrefix("%timestamp") {
                    let ts = try #require(m.timestamp, "\(input)")
                    var want = cols[3]
                    if want.dropFirst(4).first == "0" {  // buggyday renders "Mar 07"
                        want = String(want.prefix(4)) + " " + String(want.dropFirst(5))
                    }
                    #expect(rfc3164Time(ts) == want, "\(input)")
                    next = 4
                }
                if fields.count > next, fields[next] == "%hostname%" {
                    let host = cols[next]
                    #expect(host == "$RS_HOSTNAME" ? m.hostname == nil : m.hostname == host, "\(input)")
                }
                if template.contains("%msg%"), !input.contains("äöü") || !expected.contains("#303") {
                    let msg = m.message ?? ""
                    if expected.hasSuffix(msg) {
                        continue
                    }
                    // A bare first word (no ':' or '[pid]') is rsyslog's TAG and part of our MSG.
                    let word = msg.prefix { $0 != " " }
                    let rest = msg.dropFirst(word.count)
                    #expect(m.appname == nil && expected.contains(",\(word),") && expected.hasSuffix(String(rest)), "\(input)")
                    bareTags += 1
                }
            }
        }
        #expect(checked >= 45)
        #expect(notSyslog == 5)
        #expect(bareTags <= 8)
    }

    @Test func vrlParseSyslogCases() throws {
        let cases = try #require(try Corpus.json("syslog/vrl-parse_syslog/parse_syslog.unit-cases.json") as? [[String: Any]])
        let standard: Set<String> = ["severity", "facility", "timestamp", "hostname", "appname", "procid", "msgid", "message", "version"]
        for c in cases {
            let input = try #require(c["input"] as? String)
            guard let e = c["expected"] as? [String: Any] else {
                #expect(parse(input) == nil, "\(input)")
                continue
            }
            let m = try #require(parse(input), "\(input)")
            if let f = e["facility"] as? String { #expect(Facility.name(m.facility ?? -1) == f) }
            if let s = e["severity"] as? String { #expect(Self.rsyslogSeverity[m.severity ?? 0] == s) }
            if let ts = e["timestamp"] as? String {
                let want = try #require(Timestamp.parseISO8601(ts.replacingOccurrences(of: "<current year>", with: "2026")))
                #expect(m.timestamp?.epochSeconds == want.timestamp.epochSeconds, "\(input)")
            }
            #expect(m.hostname == e["hostname"] as? String, "\(input)")
            #expect(m.msgid == e["msgid"] as? String, "\(input)")
            if let pid = e["procid"] { #expect(m.procid == "\(pid)") } else { #expect(m.procid == nil) }
            if let app = e["appname"] as? String, m.appname == nil {
                // VRL's bare-word TAG ("apache_error [Tue ...") stays in our summary.
                #expect(m.message == "\(app) \(e["message"] as? String ?? "")", "\(input)")
            } else {
                #expect(m.appname == e["appname"] as? String, "\(input)")
                #expect(m.message == e["message"] as? String, "\(input)")
            }
            for (k, v) in e where !standard.contains(k) {
                let params = try #require(v as? [String: String])
                let el = m.structuredData?.first { $0.id == k }
                #expect(el.map { Dictionary(uniqueKeysWithValues: $0.params.map { ($0.name, $0.value) }) } == params, "\(input) \(k)")
            }
        }
    }
}
