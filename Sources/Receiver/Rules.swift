import Foundation
import MozDefEvent

/// An alert rule. The file format is MozDef's generic-rule JSON (alerts/generic_alert_loader.py)
/// with a few optional keys of ours, documented in mozdef-receiver(8):
///
/// - `type`: `aggregation` (the default, MozDef's generic rule), `simple` (one alert per
///   matching event, as MozDef's walkEvents alerts) or `deadman` (an alert when nothing
///   matched in the window, as deadman_generic).
/// - `summary_template`: the alert summary with `{count}`, `{value}`, `{hits:FIELD}`,
///   `{values:FIELD}` and `{FIELD}` / `{FIELD|default}` taken from the first event.
/// - `watchlist`: `{"FIELD": ["value", ...]}`: the event's FIELD must be one of the values.
/// - `schedule`: a 5-field crontab (UTC) or an interval (`30s`, `5m`, `1h`); every minute
///   by default.
///
/// An aggregation rule groups the events of the last `time_window` minutes that match
/// `search_string`, `filters` and the watchlist by `aggregation_key`; a group of at least
/// `num_aggregations` events raises an alert whose summary, without a template, is
/// `<alert_summary> (<count>): <key value>`, then ` (<field>=<values>)` for each
/// `additional_summary_fields`, then ` [<hostnames>]`. Up to `num_samples` events go in it.
/// An event never feeds the same rule twice (MozDef marks it with `alert_names`).
public struct AlertRule: Sendable {
    public enum Kind: String, Sendable { case aggregation, simple, deadman }

    public var name: String
    public var kind: Kind
    public var query: EventQuery
    public var filters: [(field: String, value: String)]
    public var watchlist: [(field: String, values: Set<String>)]
    public var aggregationKey: String
    public var windowMinutes: Double
    public var samples: Int
    public var threshold: Int
    public var category: String
    public var tags: [String]
    public var severity: String
    public var summary: String
    public var template: SummaryTemplate?
    public var url: String?
    public var channel: String?
    public var notify: Bool?
    public var additionalFields: [String]
    public var description: String
    public var schedule: Schedule

    /// MozDef's alert class name for a generic rule; also the dedup key.
    public var classname: String { "AlertGenericLoader:" + name }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Reads a rule file; a missing or mistyped field is named.
    public init(name: String, json: JSONObject) throws(Failure) {
        self.name = name
        func string(_ k: String) throws(Failure) -> String {
            guard case .string(let s)? = json[k] else { throw Failure(description: "\(k): expected a string") }
            return s
        }
        func optionalString(_ k: String) throws(Failure) -> String? {
            switch json[k] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            default: throw Failure(description: "\(k): expected a string")
            }
        }
        func number(_ k: String) throws(Failure) -> Double {
            switch json[k] {
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: throw Failure(description: "\(k): expected a number")
            }
        }
        let typeName = try optionalString("type") ?? "aggregation"
        guard let k = Kind(rawValue: typeName) else { throw Failure(description: "type: expected aggregation, simple or deadman") }
        kind = k
        do {
            query = try EventQuery(try string("search_string"))
        } catch let e as Failure {
            throw e
        } catch {
            throw Failure(description: "search_string: \(error)")
        }
        var fs: [(String, String)] = []
        if let f = json["filters"] {
            guard case .array(let pairs) = f else { throw Failure(description: "filters: expected [[field, value], ...]") }
            for p in pairs {
                guard case .array(let fv) = p, fv.count == 2, case .string(let field) = fv[0] else {
                    throw Failure(description: "filters: expected [[field, value], ...]")
                }
                fs.append((field, Normalizer.str(fv[1])))
            }
        }
        filters = fs
        var wl: [(String, Set<String>)] = []
        if let w = json["watchlist"] {
            guard case .object(let o) = w else { throw Failure(description: "watchlist: expected {\"field\": [values]}") }
            for m in o.members {
                guard case .array(let vs) = m.value else { throw Failure(description: "watchlist.\(m.key): expected a list") }
                wl.append((m.key, Set(vs.map { Normalizer.str($0) })))
            }
        }
        watchlist = wl
        windowMinutes = try number("time_window")
        guard windowMinutes > 0 else { throw Failure(description: "time_window must be > 0 (minutes)") }
        if k == .aggregation {
            aggregationKey = try string("aggregation_key")
            samples = Int(try number("num_samples"))
            threshold = Int(try number("num_aggregations"))
            guard threshold >= 1, samples >= 0 else { throw Failure(description: "num_aggregations must be >= 1, num_samples >= 0") }
        } else {
            aggregationKey = ""
            samples = 1
            threshold = 1
        }
        if k == .deadman {
            description = try string("description")
            category = try optionalString("alert_category") ?? "deadman"
        } else {
            description = ""
            category = try string("alert_category")
        }
        switch json["alert_tags"] {
        case .array(let t)?: tags = t.map { Normalizer.str($0) }
        case nil where k == .deadman: tags = []
        default: throw Failure(description: "alert_tags: expected a list")
        }
        if k == .deadman, !tags.contains("deadman") { tags.insert("deadman", at: 0) }
        severity = try (k == .deadman ? optionalString("alert_severity") ?? "ERROR" : string("alert_severity")).uppercased()
        summary = k == .deadman ? try optionalString("alert_summary") ?? "" : try string("alert_summary")
        if let t = try optionalString("summary_template") {
            do {
                template = try SummaryTemplate(t)
            } catch {
                throw Failure(description: "summary_template: \(error.description)")
            }
        }
        if let u = try optionalString("alert_url"), !u.isEmpty { url = u }
        if let c = try optionalString("channel"), !c.isEmpty { channel = c }
        switch json["notify_mozdefbot"] {
        case nil, .null?: notify = nil
        case .bool(let b)?: notify = b
        default: throw Failure(description: "notify_mozdefbot: expected true or false")
        }
        if case .array(let a)? = json["additional_summary_fields"] { additionalFields = a.map { Normalizer.str($0) } } else { additionalFields = [] }
        do {
            schedule = try Schedule(try optionalString("schedule") ?? "* * * * *")
        } catch {
            throw Failure(description: "schedule: \(error.description)")
        }
    }

    func matches(_ doc: JSONObject) -> Bool {
        guard query.matches(doc) else { return false }
        for f in filters where !EventQuery.values(doc, f.field).contains(where: { Normalizer.str($0) == f.value }) { return false }
        for w in watchlist where !EventQuery.values(doc, w.field).contains(where: { w.values.contains(Normalizer.str($0)) }) { return false }
        return true
    }

    /// MozDef's tagBotNotify: NOTICE and INFO alerts do not notify, others do; a channel
    /// always does; the rule's own `notify_mozdefbot` wins.
    var notifies: Bool {
        if let notify { return notify }
        if channel != nil { return true }
        return !["NOTICE", "INFO"].contains(severity)
    }
}

/// `{count}`, `{value}`, `{hits:FIELD}` (the five most common values, each as
/// `value (n hits)`), `{values:FIELD}` (distinct values in order, comma-separated), and
/// `{FIELD}` or `{FIELD|default}` from the first event; `{{` and `}}` are braces.
public struct SummaryTemplate: Sendable {
    enum Part: Sendable {
        case text(String), count, value, hits(String), values(String), field(String, String?)
    }
    let parts: [Part]

    public init(_ s: String) throws(AlertRule.Failure) {
        var parts: [Part] = []
        var text = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "{", next < s.endIndex, s[next] == "{" { text.append("{"); i = s.index(after: next); continue }
            if c == "}", next < s.endIndex, s[next] == "}" { text.append("}"); i = s.index(after: next); continue }
            if c == "}" { throw AlertRule.Failure(description: "a '}' without its '{'") }
            guard c == "{" else { text.append(c); i = next; continue }
            guard let close = s[next...].firstIndex(of: "}") else { throw AlertRule.Failure(description: "a '{' is not closed") }
            let name = String(s[next..<close])
            if !text.isEmpty { parts.append(.text(text)); text = "" }
            if name == "count" {
                parts.append(.count)
            } else if name == "value" {
                parts.append(.value)
            } else if name.hasPrefix("hits:") {
                parts.append(.hits(String(name.dropFirst(5))))
            } else if name.hasPrefix("values:") {
                parts.append(.values(String(name.dropFirst(7))))
            } else if let bar = name.firstIndex(of: "|") {
                parts.append(.field(String(name[..<bar]), String(name[name.index(after: bar)...])))
            } else {
                guard !name.isEmpty else { throw AlertRule.Failure(description: "an empty {}") }
                parts.append(.field(name, nil))
            }
            i = s.index(after: close)
        }
        if !text.isEmpty { parts.append(.text(text)) }
        self.parts = parts
    }

    func render(count: Int, value: String, events: [JSONObject]) -> String {
        var out = ""
        for p in parts {
            switch p {
            case .text(let t): out += t
            case .count: out += String(count)
            case .value: out += value
            case .hits(let f):
                var counts: [String: Int] = [:]
                var order: [String] = []
                for e in events {
                    for v in EventQuery.values(e, f) where v != .null {
                        let s = Normalizer.str(v)
                        if counts[s] == nil { order.append(s) }
                        counts[s, default: 0] += 1
                    }
                }
                // Most common first; ties in the order seen (Python's Counter.most_common).
                let top = order.enumerated().sorted { (a, b) in
                    counts[a.element]! != counts[b.element]! ? counts[a.element]! > counts[b.element]! : a.offset < b.offset
                }.prefix(5)
                out += top.map { "\($0.element) (\(counts[$0.element]!) hits)" }.joined(separator: " ")
            case .values(let f):
                out += RuleEngine.distinct(events.flatMap { EventQuery.values($0, f).filter { $0 != .null }.map { Normalizer.str($0) } })
                    .joined(separator: ",")
            case .field(let f, let dflt):
                if let v = events.first.flatMap({ EventQuery.values($0, f).first }), v != .null {
                    out += Normalizer.str(v)
                } else {
                    out += dflt ?? "UNKNOWN"
                }
            }
        }
        return out
    }
}

/// When a rule runs: a 5-field crontab in UTC (`*`, `*/n`, `a-b`, `a-b/n`, lists; day of
/// month and day of week both restricted means either, as cron does) or an interval.
public struct Schedule: Sendable {
    enum Form: Sendable { case cron([Set<Int>], domStar: Bool, dowStar: Bool), every(Int) }
    let form: Form
    public let text: String

    public init(_ s: String) throws(AlertRule.Failure) {
        text = s
        let t = s.trimmingSpaces
        if let unit = t.last, "smh".contains(unit), let n = Int(t.dropLast()), n > 0 {
            form = .every(n * (unit == "s" ? 1 : unit == "m" ? 60 : 3600))
            return
        }
        let fields = t.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 5 else { throw AlertRule.Failure(description: "expected 5 crontab fields or an interval such as 30s, 5m, 1h") }
        let ranges = [0...59, 0...23, 1...31, 1...12, 0...7]
        var sets: [Set<Int>] = []
        for (f, r) in zip(fields, ranges) {
            var set = Set<Int>()
            for item in f.split(separator: ",") {
                var step = 1
                var body = Substring(item)
                if let slash = item.firstIndex(of: "/") {
                    guard let n = Int(item[item.index(after: slash)...]), n > 0 else { throw AlertRule.Failure(description: "bad step in '\(f)'") }
                    step = n
                    body = item[..<slash]
                }
                var lo = r.lowerBound, hi = r.upperBound
                if body != "*" {
                    let ends = body.split(separator: "-")
                    guard (1...2).contains(ends.count), let a = Int(ends[0]), let b = Int(ends.last!), r.contains(a), r.contains(b), a <= b else {
                        throw AlertRule.Failure(description: "'\(f)' is outside \(r.lowerBound)-\(r.upperBound)")
                    }
                    lo = a
                    hi = ends.count == 2 || step > 1 ? (ends.count == 2 ? b : r.upperBound) : a
                }
                for v in stride(from: lo, through: hi, by: step) { set.insert(v) }
            }
            sets.append(set)
        }
        if sets[4].contains(7) { sets[4].insert(0) }  // Sunday is 0 or 7
        form = .cron(sets, domStar: fields[2] == "*", dowStar: fields[4] == "*")
    }

    /// The first run time (epoch seconds) after `t`.
    public func next(after t: Int64) -> Int64 {
        switch form {
        case .every(let n): return t + Int64(n)
        case .cron(let sets, let domStar, let dowStar):
            var m = (t / 60 + 1) * 60
            let limit = m + 366 * 86_400 * 5
            while m < limit {
                let d = Civil.date(days: m / 86_400)
                let secs = Int(m % 86_400)
                let dow = Int((m / 86_400 + 4) % 7)  // 1970-01-01 was a Thursday
                let domOK = sets[2].contains(d.day), dowOK = sets[4].contains(dow)
                let dayOK = domStar || dowStar ? domOK && dowOK : domOK || dowOK
                if sets[3].contains(d.month), dayOK {
                    if sets[1].contains(secs / 3600), sets[0].contains(secs / 60 % 60) { return m }
                    m += 60
                } else {
                    m = (m / 86_400 + 1) * 86_400
                }
            }
            return Int64.max
        }
    }
}

/// The loaded rules, their schedules and last runs. New alerts are stored, then handed to
/// `onAlerts` (log, RabbitMQ, webhook).
public final class RuleEngine: @unchecked Sendable {
    public let rules: [AlertRule]
    let store: any EventStore
    let metrics: Metrics
    private let lock = NSLock()
    private var lastRun: [String: String] = [:]
    private var lastError: [String: String] = [:]
    private var nextRun: [String: Int64] = [:]
    /// Serialises runs, so the scheduler and POST /api/alerts/run never raise one alert twice.
    private let runLock = NSLock()
    public var onAlerts: @Sendable ([StoredAlert]) -> Void = { _ in }
    private var leadingFlag = false
    /// Whether this receiver runs the scheduled rules (set by the scheduler; for /api/rules).
    public var leading: Bool {
        get { lock.lock(); defer { lock.unlock() }; return leadingFlag }
        set { lock.lock(); leadingFlag = newValue; lock.unlock() }
    }

    public init(rules: [AlertRule], store: any EventStore, metrics: Metrics) {
        self.rules = rules
        self.store = store
        self.metrics = metrics
    }

    /// Every `*.json` in `directory`, in name order; a file with an error is refused with
    /// `file: reason`.
    public static func load(directory: String) throws(AlertRule.Failure) -> [AlertRule] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw AlertRule.Failure(description: "\(directory): cannot read the directory")
        }
        var out: [AlertRule] = []
        for n in names {
            let path = directory + "/" + n
            guard let data = FileManager.default.contents(atPath: path) else { throw AlertRule.Failure(description: "\(path): cannot read") }
            let json: JSONValue
            do {
                json = try Array(data).withUnsafeBufferPointer { b throws(JSONReadError) in try JSONReader.parse(b) }
            } catch {
                throw AlertRule.Failure(description: "\(path): not JSON: \(error)")
            }
            guard case .object(let o) = json else { throw AlertRule.Failure(description: "\(path): expected a JSON object") }
            do {
                out.append(try AlertRule(name: String(n.dropLast(5)), json: o))
            } catch {
                throw AlertRule.Failure(description: "\(path): \(error.description)")
            }
        }
        return out
    }

    /// Runs every rule now; the alerts raised.
    public func runAll(now: Timestamp = Clock.now()) -> [StoredAlert] {
        run(rules, now: now)
    }

    /// Forgets the schedule's times, so that the next runDue only sets them: a receiver that
    /// becomes the cluster's leader runs each rule at its next scheduled time.
    public func resetSchedule() {
        lock.lock()
        nextRun.removeAll()
        lock.unlock()
    }

    /// Runs the rules whose schedule is due at `now` (the first call only sets the times).
    public func runDue(now: Timestamp = Clock.now()) -> [StoredAlert] {
        let t = now.epochSeconds
        var due: [AlertRule] = []
        lock.lock()
        for r in rules {
            guard let at = nextRun[r.name] else { nextRun[r.name] = r.schedule.next(after: t); continue }
            if t >= at {
                due.append(r)
                nextRun[r.name] = r.schedule.next(after: t)
            }
        }
        lock.unlock()
        return due.isEmpty ? [] : run(due, now: now)
    }

    func run(_ list: [AlertRule], now: Timestamp) -> [StoredAlert] {
        runLock.lock()
        var raised: [StoredAlert] = []
        for r in list {
            do {
                raised += try run(r, now: now)
                lock.lock(); lastRun[r.name] = Normalizer.isoformat(now); lastError[r.name] = nil; lock.unlock()
                metrics.add("rule_runs", r.name, 1)
            } catch {
                lock.lock(); lastRun[r.name] = Normalizer.isoformat(now); lastError[r.name] = "\(error)"; lock.unlock()
                metrics.add("rule_errors", r.name, 1)
            }
        }
        runLock.unlock()
        metrics.add("alerts", "all", raised.count)
        if !raised.isEmpty { onAlerts(raised) }
        return raised
    }

    func run(_ r: AlertRule, now: Timestamp) throws -> [StoredAlert] {
        let nowUS = now.epochMicroseconds
        let since = nowUS - Int64(r.windowMinutes * 60_000_000)
        switch r.kind {
        case .deadman:
            // Any matching event in the window, used before or not, keeps the rule quiet; one
            // alert per window while nothing comes.
            let seen = try store.window(since: since, unusedBy: nil).contains { r.matches($0.doc) }
            if seen { return [] }
            if let last = try store.lastAlert(rule: r.classname), last >= since { return [] }
            let minutes = r.windowMinutes == r.windowMinutes.rounded() ? String(Int(r.windowMinutes)) : String(r.windowMinutes)
            let summary = r.template?.render(count: 0, value: "", events: [])
                ?? "Deadman check failed for '\(r.description)' the past \(minutes) minutes"
            return try raise(r, summary: summary, events: [], unlessAlertSince: since, now: now, nowUS: nowUS).map { [$0] } ?? []
        case .simple:
            var out: [StoredAlert] = []
            for (id, doc) in try store.window(since: since, unusedBy: r.classname) where r.matches(doc) {
                let summary = r.template?.render(count: 1, value: "", events: [doc]) ?? r.summary
                if let a = try raise(r, summary: summary, events: [(id, doc)], now: now, nowUS: nowUS) { out.append(a) }
            }
            return out
        case .aggregation:
            // Groups in order of first appearance, as the events came.
            var order: [String] = []
            var groups: [String: [(Int64, JSONObject)]] = [:]
            for (id, doc) in try store.window(since: since, unusedBy: r.classname) where r.matches(doc) {
                guard let v = EventQuery.values(doc, r.aggregationKey).first, v != .null else { continue }
                let key = Normalizer.str(v)
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append((id, doc))
            }
            var out: [StoredAlert] = []
            for key in order {
                let evs = groups[key]!
                guard evs.count >= r.threshold else { continue }
                let summary: String
                if let t = r.template {
                    summary = t.render(count: evs.count, value: key, events: evs.map(\.1))
                } else {
                    var s = "\(r.summary) (\(evs.count)): \(key)"
                    for f in r.additionalFields {
                        let vals = Self.distinct(evs.flatMap { EventQuery.values($0.1, f).map { Normalizer.str($0) } })
                        s += " (\(f)=\(vals.joined(separator: ",")))"
                    }
                    let hosts = Self.distinct(evs.compactMap { $0.1["hostname"].map { Normalizer.str($0) } })
                    s += " [\(hosts.joined(separator: ","))]"
                    summary = s
                }
                if let a = try raise(r, summary: summary, events: evs, sample: r.samples, now: now, nowUS: nowUS) { out.append(a) }
            }
            return out
        }
    }

    /// Builds the alert document (MozDef's createAlertDict), stores it and marks its events;
    /// nil when another receiver of the cluster used these events for this rule first.
    func raise(_ r: AlertRule, summary: String, events: [(Int64, JSONObject)], sample: Int = 0, unlessAlertSince: Int64? = nil,
               now: Timestamp, nowUS: Int64) throws -> StoredAlert? {
        let shown = events.prefix(sample == 0 ? events.count : sample)
        var a = JSONObject(members: [
            .init(key: "utctimestamp", value: .string(Normalizer.isoformat(now))),
            .init(key: "severity", value: .string(r.severity)),
            .init(key: "summary", value: .string(summary)),
            .init(key: "category", value: .string(r.category)),
            .init(key: "tags", value: .array(r.tags.map { .string($0) })),
            .init(key: "events", value: .array(shown.map { e in
                .object(JSONObject(members: [
                    .init(key: "documentindex", value: "events"),
                    .init(key: "documentid", value: .string(String(e.0))),
                    .init(key: "documentsource", value: .object(e.1)),
                ]))
            })),
            .init(key: "channel", value: r.channel.map { .string($0) } ?? .null),
            .init(key: "notify_mozdefbot", value: .bool(r.notifies)),
            .init(key: "status", value: "manual"),
            .init(key: "classname", value: .string(r.classname)),
        ])
        if let url = r.url { a.set("url", .string(url)) }
        guard let id = try store.insertAlert(a, utc: nowUS, rule: r.classname, events: events.map(\.0), unlessAlertSince: unlessAlertSince) else { return nil }
        return StoredAlert(id: id, document: a)
    }

    static func distinct(_ xs: [String]) -> [String] {
        var seen = Set<String>()
        return xs.filter { seen.insert($0).inserted }
    }

    /// For GET /api/rules.
    public func describe() -> JSONValue {
        lock.lock()
        defer { lock.unlock() }
        return .array(rules.map { r in
            .object(JSONObject(members: [
                .init(key: "name", value: .string(r.name)),
                .init(key: "type", value: .string(r.kind.rawValue)),
                .init(key: "schedule", value: .string(r.schedule.text)),
                .init(key: "last_run", value: lastRun[r.name].map { .string($0) } ?? .null),
                .init(key: "last_error", value: lastError[r.name].map { .string($0) } ?? .null),
            ]))
        })
    }
}

/// An alert as stored: its id in the store and its document.
public struct StoredAlert: Sendable {
    public var id: Int64
    public var document: JSONObject

    /// MozDef's RabbitMQ alert message: `{"_id", "_index", "_source"}`. (Not inlined: the
    /// optimizer spends many minutes inlining the recursive JSON writer into callers.)
    @inline(never)
    public func message() -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.value(.object(JSONObject(members: [
            .init(key: "_id", value: .string(String(id))),
            .init(key: "_index", value: "alerts"),
            .init(key: "_source", value: .object(document)),
        ])))
        return w.bytes
    }

    /// The alert document as JSON text.
    @inline(never)
    public func json() -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.value(.object(document))
        return w.bytes
    }
}
