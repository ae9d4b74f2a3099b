import Foundation
import MozDefEvent

/// A rule in MozDef's generic-rule JSON (alerts/generic_alert_loader.py): the events of the
/// last `time_window` minutes that match `search_string` and every `filters` pair, grouped by
/// `aggregation_key`; a group of at least `num_aggregations` events raises an alert whose
/// summary is `<alert_summary> (<count>): <key value>`, then ` (<field>=<values>)` for each
/// `additional_summary_fields`, then ` [<hostnames>]`. Up to `num_samples` events go in it.
/// An event never feeds the same rule twice (MozDef marks it with `alert_names`).
public struct GenericRule: Sendable {
    public var name: String
    public var query: EventQuery
    public var filters: [(field: String, value: String)]
    public var aggregationKey: String
    public var windowMinutes: Double
    public var samples: Int
    public var threshold: Int
    public var category: String
    public var tags: [String]
    public var severity: String
    public var summary: String
    public var url: String?
    public var additionalFields: [String]

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
        func number(_ k: String) throws(Failure) -> Double {
            switch json[k] {
            case .int(let i)?: return Double(i)
            case .double(let d)?: return d
            default: throw Failure(description: "\(k): expected a number")
            }
        }
        let search = try string("search_string")
        do {
            query = try EventQuery(search)
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
        aggregationKey = try string("aggregation_key")
        windowMinutes = try number("time_window")
        samples = Int(try number("num_samples"))
        threshold = Int(try number("num_aggregations"))
        guard windowMinutes > 0, threshold >= 1, samples >= 0 else {
            throw Failure(description: "time_window must be > 0, num_aggregations >= 1, num_samples >= 0")
        }
        category = try string("alert_category")
        guard case .array(let t)? = json["alert_tags"] else { throw Failure(description: "alert_tags: expected a list") }
        tags = t.map { Normalizer.str($0) }
        severity = try string("alert_severity")
        summary = try string("alert_summary")
        if case .string(let u)? = json["alert_url"], !u.isEmpty { url = u }
        if case .array(let a)? = json["additional_summary_fields"] { additionalFields = a.map { Normalizer.str($0) } } else { additionalFields = [] }
    }

    func matches(_ doc: JSONObject) -> Bool {
        guard query.matches(doc) else { return false }
        for f in filters where !EventQuery.values(doc, f.field).contains(where: { Normalizer.str($0) == f.value }) { return false }
        return true
    }
}

/// The loaded rules and their last runs.
public final class RuleEngine: @unchecked Sendable {
    public let rules: [GenericRule]
    let store: any EventStore
    let metrics: Metrics
    private let lock = NSLock()
    private var lastRun: [String: String] = [:]
    private var lastError: [String: String] = [:]

    public init(rules: [GenericRule], store: any EventStore, metrics: Metrics) {
        self.rules = rules
        self.store = store
        self.metrics = metrics
    }

    /// Every `*.json` in `directory`, in name order; a file with an error is refused with
    /// `file: reason`.
    public static func load(directory: String) throws(GenericRule.Failure) -> [GenericRule] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted()
        } catch {
            throw GenericRule.Failure(description: "\(directory): cannot read the directory")
        }
        var out: [GenericRule] = []
        for n in names {
            let path = directory + "/" + n
            guard let data = FileManager.default.contents(atPath: path) else { throw GenericRule.Failure(description: "\(path): cannot read") }
            let json: JSONValue
            do {
                json = try Array(data).withUnsafeBufferPointer { b throws(JSONReadError) in try JSONReader.parse(b) }
            } catch {
                throw GenericRule.Failure(description: "\(path): not JSON: \(error)")
            }
            guard case .object(let o) = json else { throw GenericRule.Failure(description: "\(path): expected a JSON object") }
            do {
                out.append(try GenericRule(name: String(n.dropLast(5)), json: o))
            } catch {
                throw GenericRule.Failure(description: "\(path): \(error.description)")
            }
        }
        return out
    }

    /// Runs every rule once; the alerts raised.
    public func runAll(now: Timestamp = Clock.now()) -> [JSONObject] {
        var raised: [JSONObject] = []
        for r in rules {
            do {
                raised += try run(r, now: now)
                lock.lock(); lastRun[r.name] = Normalizer.isoformat(now); lastError[r.name] = nil; lock.unlock()
                metrics.add("rule_runs", r.name, 1)
            } catch {
                lock.lock(); lastRun[r.name] = Normalizer.isoformat(now); lastError[r.name] = "\(error)"; lock.unlock()
                metrics.add("rule_errors", r.name, 1)
            }
        }
        metrics.add("alerts", "all", raised.count)
        return raised
    }

    func run(_ r: GenericRule, now: Timestamp) throws -> [JSONObject] {
        let nowUS = now.epochSeconds * 1_000_000 + Int64(now.nanoseconds / 1000)
        let since = nowUS - Int64(r.windowMinutes * 60_000_000)
        let rule = "AlertGenericLoader:" + r.name
        // Groups in order of first appearance, as the events came.
        var order: [String] = []
        var groups: [String: [(Int64, JSONObject)]] = [:]
        for (id, doc) in try store.window(since: since, unusedBy: rule) where r.matches(doc) {
            guard let v = EventQuery.values(doc, r.aggregationKey).first, v != .null else { continue }
            let key = Normalizer.str(v)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append((id, doc))
        }
        var alerts: [JSONObject] = []
        for key in order {
            let evs = groups[key]!
            guard evs.count >= r.threshold else { continue }
            var summary = "\(r.summary) (\(evs.count)): \(key)"
            for f in r.additionalFields {
                let vals = Self.distinct(evs.flatMap { EventQuery.values($0.1, f).map { Normalizer.str($0) } })
                summary += " (\(f)=\(vals.joined(separator: ",")))"
            }
            let hosts = Self.distinct(evs.compactMap { $0.1["hostname"].map { Normalizer.str($0) } })
            summary += " [\(hosts.joined(separator: ","))]"
            let sample = evs.prefix(r.samples == 0 ? evs.count : r.samples)
            var a = JSONObject(members: [
                .init(key: "utctimestamp", value: .string(Normalizer.isoformat(now))),
                .init(key: "severity", value: .string(r.severity)),
                .init(key: "summary", value: .string(summary)),
                .init(key: "category", value: .string(r.category)),
                .init(key: "tags", value: .array(r.tags.map { .string($0) })),
                .init(key: "events", value: .array(sample.map { e in
                    .object(JSONObject(members: [
                        .init(key: "documentindex", value: "events"),
                        .init(key: "documentid", value: .string(String(e.0))),
                        .init(key: "documentsource", value: .object(e.1)),
                    ]))
                })),
                .init(key: "channel", value: .null),
                .init(key: "notify_mozdefbot", value: .bool(["CRITICAL", "ERROR", "WARNING"].contains(r.severity.uppercased()))),
                .init(key: "status", value: "manual"),
                .init(key: "classname", value: .string(rule)),
            ])
            if let url = r.url { a.set("url", .string(url)) }
            try store.insertAlert(a, utc: nowUS, rule: rule, events: evs.map(\.0))
            alerts.append(a)
        }
        return alerts
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
                .init(key: "type", value: "generic"),
                .init(key: "last_run", value: lastRun[r.name].map { .string($0) } ?? .null),
                .init(key: "last_error", value: lastError[r.name].map { .string($0) } ?? .null),
            ]))
        })
    }
}
