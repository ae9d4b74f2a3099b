import Foundation
import Testing
import TestSupport
@testable import MozDefEvent
@testable import Receiver

/// Rule files: schedules, summary templates and the errors a broken file gets; and a
/// scheduled rule raising its alert in a running receiver without being asked.
@Suite struct RuleTests {
    static func at(_ iso: String) -> Int64 { Timestamp.parseISO8601(iso)!.timestamp.epochSeconds }

    static func next(_ schedule: String, after iso: String) throws -> String {
        let t = try Schedule(schedule).next(after: at(iso))
        return Normalizer.isoformat(Timestamp(epochSeconds: t, nanoseconds: 0, fractionDigits: 0))
    }

    @Test func crontabAndIntervals() throws {
        #expect(try Self.next("* * * * *", after: "2026-11-29T10:15:30Z") == "2026-11-29T10:16:00+00:00")
        #expect(try Self.next("*/5 * * * *", after: "2026-11-29T10:15:00Z") == "2026-11-29T10:20:00+00:00")
        #expect(try Self.next("0 3 * * 1", after: "2026-11-29T10:15:00Z") == "2026-11-30T03:00:00+00:00")  // 2026-11-30 is a Monday
        #expect(try Self.next("30 2 1 * *", after: "2026-11-29T10:15:00Z") == "2026-12-01T02:30:00+00:00")
        // Day of month and day of week both restricted: either one (cron's rule).
        #expect(try Self.next("0 0 15 * 0", after: "2026-11-29T10:15:00Z") == "2026-12-06T00:00:00+00:00")  // a Sunday before the 15th
        #expect(try Self.next("0 0 * * 7", after: "2026-11-29T10:15:00Z") == "2026-12-06T00:00:00+00:00")  // 7 is Sunday too
        #expect(try Self.next("0-10/5 9-17 * 2,4 *", after: "2026-11-29T10:15:00Z") == "2027-02-01T09:00:00+00:00")
        #expect(try Self.next("90s", after: "2026-11-29T10:15:00Z") == "2026-11-29T10:16:30+00:00")
        #expect(try Self.next("2h", after: "2026-11-29T10:15:00Z") == "2026-11-29T12:15:00+00:00")
        for bad in ["* * * *", "61 * * * *", "*/0 * * * *", "5-1 * * * *", "0s", "x"] {
            #expect(throws: AlertRule.Failure.self, "\(bad)") { try Schedule(bad) }
        }
    }

    @Test func summaryTemplates() throws {
        let e1 = JSONObject([("hostname", "a"), ("details", .object(JSONObject([("user", "x"), ("port", .int(22))])))])
        let e2 = JSONObject([("hostname", "b"), ("details", .object(JSONObject([("user", "y")])))])
        let e3 = JSONObject([("hostname", "b")])
        let t = try SummaryTemplate("{count} by {value}: {hits:hostname} / {values:details.user} / {details.port} {details.nope|none} {{x}}")
        #expect(t.render(count: 3, value: "v", events: [e1, e2, e3]) == "3 by v: b (2 hits) a (1 hits) / x,y / 22 none {x}")
        #expect(try SummaryTemplate("{missing}").render(count: 0, value: "", events: [e3]) == "UNKNOWN")
        for bad in ["{open", "close}", "{}"] {
            #expect(throws: AlertRule.Failure.self, "\(bad)") { try SummaryTemplate(bad) }
        }
    }

    @Test(arguments: [
        (#"{"type":"sometimes","search_string":"x","time_window":1}"#, "type: expected aggregation, simple or deadman"),
        (#"{"type":"deadman","search_string":"x","time_window":5}"#, "description: expected a string"),
        (#"{"type":"simple","search_string":"x","time_window":5,"alert_category":"c","alert_tags":[],"alert_severity":"INFO","alert_summary":"s","schedule":"every day"}"#, "schedule: expected 5 crontab fields"),
        (#"{"type":"simple","search_string":"x","time_window":5,"alert_category":"c","alert_tags":[],"alert_severity":"INFO","alert_summary":"s","summary_template":"{a"}"#, "summary_template: a '{' is not closed"),
        (#"{"type":"simple","search_string":"x","time_window":5,"alert_category":"c","alert_tags":[],"alert_severity":"INFO","alert_summary":"s","watchlist":["a"]}"#, "watchlist: expected"),
        (#"{"search_string":"x","time_window":0,"aggregation_key":"k","num_samples":1,"num_aggregations":1}"#, "time_window must be > 0"),
    ])
    func brokenRuleFilesAreNamed(_ json: String, _ reason: String) throws {
        guard case .object(let o) = try JSONReader.parse(json) else { Issue.record("fixture"); return }
        do {
            _ = try AlertRule(name: "r", json: o)
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.description.hasPrefix(reason), "\(error.description)")
        }
    }

    /// A rule with `"schedule": "1s"` raises its alert in a running receiver on its own, once.
    @Test func aScheduledRuleRunsByItself() throws {
        let dir = try TemporaryDirectory(prefix: "schedule")
        let rules = dir.path("rules")
        try FileManager.default.createDirectory(atPath: rules, withIntermediateDirectories: true)
        _ = try dir.write("rules/canary.json", Array(#"""
            {"type":"simple","search_string":"summary:canary","time_window":5,"alert_category":"test","alert_tags":["t"],
             "alert_severity":"WARNING","alert_summary":"s","summary_template":"canary on {hostname}","schedule":"1s"}
            """#.utf8))
        let r = try ServerTests.Receiver(data: dir.path("data"), extra: ["--rules", rules])
        #expect(try ServerTests.request("POST", r.base + "/events", body: #"{"summary":"a canary event","hostname":"h9"}"#).status == 200)
        var alerts: [[String: Any]] = []
        for _ in 0..<50 {
            alerts = (try ServerTests.request("GET", r.base + "/api/alerts").json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            if !alerts.isEmpty { break }
            usleep(100_000)
        }
        #expect(alerts.count == 1)
        #expect(alerts.first?["summary"] as? String == "canary on h9")
        usleep(2_500_000)
        let later = (try ServerTests.request("GET", r.base + "/api/alerts").json as? [String: Any])?["total"] as? Int
        #expect(later == 1, "runs after the first raised the same alert again")
        let listed = (try ServerTests.request("GET", r.base + "/api/rules").json as? [String: Any])?["rules"] as? [[String: Any]]
        #expect(listed?.first?["schedule"] as? String == "1s" && listed?.first?["last_run"] is String)
    }
}
