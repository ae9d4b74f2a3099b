import Foundation
import MozDefEvent

/// loginput's routes (mozilla/MozDef loginput/index.py), independent of the HTTP server:
/// a body in, a reply out, events stored before a 200 is given.
///
/// Same as loginput: `/events` and `/nxlog` add `"endpoint": "events"`, `/cef` adds
/// `"endpoint": "cef"`, `/custom/<app>` adds `"endpoint": "<app>"` and `"customendpoint": true`;
/// success is 200 with an empty body. Where loginput answers 500 or drops events later,
/// this answers 400 with `{"error": ...}` and stores nothing from that request.
public final class Ingest: Sendable {
    public enum Route: Sendable, Equatable {
        case events, nxlog, cef, custom(String), bulk

        public var name: String {
            switch self {
            case .events: "events"
            case .nxlog: "nxlog"
            case .cef: "cef"
            case .custom: "custom"
            case .bulk: "_bulk"
            }
        }
    }

    public struct Reply: Sendable {
        public var status: Int
        public var json: String?
    }

    public let store: any EventStore
    public let normalizer: Normalizer
    public let metrics: Metrics

    public init(store: any EventStore, normalizer: Normalizer, metrics: Metrics) {
        self.store = store
        self.normalizer = normalizer
        self.metrics = metrics
    }

    /// `{"error": message}`, the body of every refusal.
    public static func errorBody(_ message: String) -> String {
        var w = JSONWriter(capacity: 128)
        w.value(.object(JSONObject(members: [.init(key: "error", value: .string(message))])))
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func error(_ status: Int, _ message: String) -> Reply {
        Reply(status: status, json: errorBody(message))
    }

    /// Answers a request: parsing and normalizing happen on the caller's thread; `reply` is
    /// called once the events are committed (from the store's thread) or at once when the
    /// request is refused.
    public func handle(_ route: Route, body: [UInt8], now: Timestamp = Clock.now(), reply: @escaping @Sendable (Reply) -> Void) {
        if route == .bulk { return bulk(body, now: now, reply: reply) }
        metrics.received(route.name, 1)
        let stored: JSONObject
        switch document(body, route: route, now: now) {
        case .success(let d): stored = d
        case .failure(let why):
            metrics.rejected(route.name, 1)
            return reply(Self.error(400, why.description))
        }
        let metrics = self.metrics
        store.insert([StoredEvent(stored, received: now)]) { error in
            if let error {
                metrics.rejected(route.name, 1)
                return reply(Self.error(503, "not stored: \(error)"))
            }
            metrics.stored(route.name, 1)
            reply(Reply(status: 200, json: nil))
        }
    }

    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The stored form of one posted document: parsed, marked with the route's `endpoint` as
    /// loginput does (`nil`: a message from the eventtask queue, stored as MozDef's worker
    /// would), and normalized.
    public func document(_ body: [UInt8], route: Route?, now: Timestamp) -> Result<JSONObject, Refusal> {
        let doc: JSONValue
        do {
            doc = try body.withUnsafeBufferPointer { b throws(JSONReadError) in try JSONReader.parse(b) }
        } catch {
            return .failure(Refusal(description: body.isEmpty ? "empty body: expected a JSON object" : "not JSON: \(error)"))
        }
        guard case .object(var o) = doc else { return .failure(Refusal(description: "expected a JSON object")) }
        switch route {
        case .events?, .nxlog?: o.set("endpoint", "events")
        case .cef?: o.set("endpoint", "cef")
        case .custom(let app)?:
            o.set("endpoint", .string(app))
            o.set("customendpoint", true)
        case .bulk?, nil: break
        }
        do {
            return .success(try normalizer.normalize(o, now: now))
        } catch {
            return .failure(Refusal(description: error.description))
        }
    }

    /// `/_bulk`: a JSON array, or NDJSON. Elasticsearch action lines (an object with an
    /// `index` key) are skipped. Every other line must be a JSON object; those that are
    /// not are named in the answer: 200 with `{"errors":true,"stored":N,"failed":[...]}`
    /// when some events were stored, 400 when none could be.
    func bulk(_ body: [UInt8], now: Timestamp, reply: @escaping @Sendable (Reply) -> Void) {
        var docs: [JSONObject] = []
        var failed: [(line: Int, error: String)] = []
        let nowText = JSONValue.string(Normalizer.isoformat(now))
        func take(_ v: JSONValue, line: Int) {
            guard case .object(let o) = v else { failed.append((line, "expected a JSON object")); return }
            // An Elasticsearch action line: {"index": {...}} (or "create").
            if o.count == 1, o.members[0].key == "index" || o.members[0].key == "create", case .object = o.members[0].value { return }
            do {
                docs.append(try normalizer.normalize(o, nowText: nowText))
            } catch {
                failed.append((line, error.description))
            }
        }
        body.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
            if i < b.count, b[i] == UInt8(ascii: "[") {
                // A JSON array of events.
                do {
                    guard case .array(let a) = try JSONReader.parse(b) else { return }
                    for (k, v) in a.enumerated() { take(v, line: k + 1) }
                } catch {
                    failed.append((1, "not JSON: \(error)"))
                }
                return
            }
            // NDJSON: one document per line; blank lines are skipped.
            var lineNo = 0
            var start = 0
            while start < b.count {
                var end = start
                while end < b.count, b[end] != 0x0A { end += 1 }
                lineNo += 1
                var last = end
                if last > start, b[last - 1] == 0x0D { last -= 1 }
                var first = start
                while first < last, b[first] == 0x20 || b[first] == 0x09 { first += 1 }
                if first < last {
                    do {
                        take(try JSONReader.parse(UnsafeBufferPointer(rebasing: b[first..<last])), line: lineNo)
                    } catch {
                        failed.append((lineNo, "not JSON: \(error)"))
                    }
                }
                start = end + 1
            }
        }
        metrics.received("_bulk", docs.count + failed.count)
        metrics.rejected("_bulk", failed.count)
        var answer = Reply(status: 200, json: nil)
        if !failed.isEmpty {
            var w = JSONWriter(capacity: 256)
            w.value(.object(JSONObject(members: [
                .init(key: "errors", value: true),
                .init(key: "stored", value: .int(Int64(docs.count))),
                .init(key: "failed", value: .array(failed.map {
                    .object(JSONObject(members: [.init(key: "line", value: .int(Int64($0.line))), .init(key: "error", value: .string($0.error))]))
                })),
            ])))
            answer = Reply(status: docs.isEmpty ? 400 : 200, json: String(decoding: w.bytes, as: UTF8.self))
        }
        if docs.isEmpty { return reply(answer) }
        let metrics = self.metrics, count = docs.count, done = answer
        store.insert(docs.map { StoredEvent($0, received: now) }) { error in
            if let error {
                metrics.rejected("_bulk", count)
                return reply(Self.error(503, "not stored: \(error)"))
            }
            metrics.stored("_bulk", count)
            reply(done)
        }
    }
}

/// Counters for `GET /metrics` (Prometheus text format 0.0.4).
public final class Metrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [String: [String: Int]] = [:]  // metric → route → value

    public init() {}

    func add(_ metric: String, _ route: String, _ n: Int) {
        guard n > 0 else { return }
        lock.lock()
        counts[metric, default: [:]][route, default: 0] += n
        lock.unlock()
    }

    public func received(_ route: String, _ n: Int) { add("received", route, n) }
    public func stored(_ route: String, _ n: Int) { add("stored", route, n) }
    public func rejected(_ route: String, _ n: Int) { add("rejected", route, n) }

    /// The exposition text.
    public func text() -> String {
        lock.lock()
        defer { lock.unlock() }
        var s = ""
        let kinds: [(String, String, String, String)] = [
            ("received", "mozdef_receiver_events_received_total", "Events received, by route.", "route"),
            ("stored", "mozdef_receiver_events_stored_total", "Events stored (committed), by route.", "route"),
            ("rejected", "mozdef_receiver_events_rejected_total", "Events refused or not stored, by route.", "route"),
            ("alerts", "mozdef_receiver_alerts_total", "Alerts raised.", ""),
            ("rule_runs", "mozdef_receiver_rule_runs_total", "Rule runs, by rule.", "rule"),
            ("rule_errors", "mozdef_receiver_rule_errors_total", "Rule runs that failed, by rule.", "rule"),
        ]
        for (metric, name, help, label) in kinds {
            s += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            let values = counts[metric] ?? [:]
            if label.isEmpty {
                s += "\(name) \(values.values.reduce(0, +))\n"
                continue
            }
            for (k, n) in values.sorted(by: { $0.key < $1.key }) {
                s += "\(name){\(label)=\"\(k)\"} \(n)\n"
            }
        }
        return s
    }
}
