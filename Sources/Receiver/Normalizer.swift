import MozDefEvent

/// What MozDef's event worker does to an incoming document before it is stored: its
/// `keyMapping` table and the defaults `Event.add_required_fields` adds
/// (mozilla/MozDef mq/esworker_eventtask.py and mozdef_util/event.py, as described in our
/// notes on MozDef). Two deliberate differences, both documented in mozdef-receiver(8):
/// keys are matched exactly (MozDef's `payload` and `tags` rows also match any substring of
/// those words), and keys outside the table are kept under `details` instead of dropped.
/// Where MozDef drops an event silently (a bad time, `tags` of another type, a bad `_int`),
/// this throws, so the sender hears why.
public struct Normalizer: Sendable {
    public var mozdefHostname: String

    public init(mozdefHostname: String) { self.mozdefHostname = mozdefHostname }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The stored document for `input`, received at `now`.
    public func normalize(_ input: JSONObject, now: Timestamp) throws(Failure) -> JSONObject {
        let nowText = JSONValue.string(Self.isoformat(now))
        // A custom endpoint's document is stored as sent, with only the defaults added.
        if case .bool(true)? = input["customendpoint"] {
            var out = input
            out.set("receivedtimestamp", nowText)
            addDefaults(&out, now: nowText)
            return out
        }
        var out = JSONObject()
        var details = JSONObject()
        var tags: [JSONValue] = []
        let hasSummary = input["summary"] != nil
        var sawTime = false
        for m in input.members {
            let key = String(m.key.filter { $0 != "@" }).lowercased()
            let v = m.value
            switch key {
            case "sourceip": details.set("eventsourceipaddress", v)
            case "source": out.set("source", v)
            case "facility", "syslogfacility":
                if key == "facility" { out.set("source", v) }
                out.set("facility", .string(Self.str(v)))
            case "message", "summary": out.set("summary", .string(Self.str(v)))
            case "payload":
                if hasSummary { details.set("payload", .string(Self.str(v))) } else { out.set("summary", .string(Self.str(v))) }
            case "eventtime", "timestamp", "utctimestamp", "date":
                let t = try Self.toUTC(v, key: m.key)
                out.set("utctimestamp", .string(t))
                out.set("timestamp", .string(t))
                sawTime = true
            case "hostname", "source_host", "host": out.set("hostname", .string(Self.str(v)))
            case "tags":
                switch v {
                case .array(let a): tags.append(contentsOf: a)
                case .string(let s): if !s.isEmpty { tags.append(v) }
                default: throw Failure(description: "\(m.key): tags must be a list or a string")
                }
            case "syslogseverity", "severity", "severityvalue", "level", "priority":
                out.set("severity", .string(Self.str(v).uppercased()))
            case "pid", "processid": out.set("processid", .string(Self.str(v)))
            case "pname", "processname", "sourcename", "program": out.set("processname", .string(Self.str(v)))
            case "path", "logger", "file": out.set("eventsource", .string(Self.str(v)))
            case "type", "eventtype", "category": out.set("category", .string(Self.str(v)))
            case "fields", "details":
                if case .object(let o) = v {
                    for d in o.members { details.set(d.key, d.value) }
                } else {
                    details.set("message", v)
                }
            default:
                if key.hasPrefix("fields.") || key.hasPrefix("details.") {
                    var name = key.hasPrefix("fields.") ? String(key.dropFirst(7)) : key
                    while let r = name.range(of: "details.") { name.removeSubrange(r) }
                    details.set(name, try Self.coerced(v, name: name, key: m.key))
                } else {
                    // Not in MozDef's table: kept (MozDef drops it).
                    details.set(key, v)
                }
            }
        }
        out.set("receivedtimestamp", nowText)
        out.set("mozdefhostname", .string(mozdefHostname))
        if !sawTime { out.set("utctimestamp", nowText) }
        out.set("type", "event")
        if !tags.isEmpty { out.set("tags", .array(tags)) }
        out.set("details", .object(details))
        addDefaults(&out, now: nowText)
        return out
    }

    /// Fields MozDef fills when missing (a present null is kept).
    func addDefaults(_ o: inout JSONObject, now: JSONValue) {
        for k in ["receivedtimestamp", "utctimestamp", "timestamp"] where o[k] == nil { o.set(k, now) }
        if o["mozdefhostname"] == nil { o.set("mozdefhostname", .string(mozdefHostname)) }
        if o["type"] == nil { o.set("type", "event") }
        if o["tags"] == nil { o.set("tags", .array([])) }
        for k in ["category", "hostname", "processid", "processname", "severity", "source", "summary"] where o[k] == nil {
            o.set(k, "UNKNOWN")
        }
        if o["mozdef"] == nil { o.set("mozdef", .object(JSONObject([("plugins", .array([]))]))) }
        if o["details"] == nil { o.set("details", .object(JSONObject())) }
    }

    /// Python's str() of a JSON value, as MozDef applies it.
    static func str(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return d == d.rounded() && abs(d) < 1e16 ? String(format1(d)) : String(d)
        case .bool(let b): return b ? "True" : "False"
        case .null: return "None"
        case .array, .object:
            var w = JSONWriter(capacity: 256)
            w.value(v)
            return String(decoding: w.bytes, as: UTF8.self)
        }
    }

    private static func format1(_ d: Double) -> String { String(Int64(d)) + ".0" }

    /// `_int` and `_float` names are converted, the rest become strings, as MozDef does.
    static func coerced(_ v: JSONValue, name: String, key: String) throws(Failure) -> JSONValue {
        if name.hasSuffix("_int") {
            switch v {
            case .int: return v
            case .double(let d) where d.isFinite: return .int(Int64(d))
            case .string(let s):
                if let i = Int64(s.trimmingSpaces) { return .int(i) }
            case .bool(let b): return .int(b ? 1 : 0)
            default: break
            }
            throw Failure(description: "\(key): not an integer")
        }
        if name.hasSuffix("_float") {
            switch v {
            case .int(let i): return .double(Double(i))
            case .double: return v
            case .string(let s): if let d = Double(s.trimmingSpaces) { return .double(d) }
            default: break
            }
            throw Failure(description: "\(key): not a number")
        }
        return .string(str(v))
    }

    /// MozDef's toUTC for the value types JSON has: epoch numbers (scaled by digit count),
    /// and ISO 8601 / RFC 3339 text (no zone: UTC). Free-form dates that only dateutil's fuzzy
    /// parser reads are refused, with the key named.
    static func toUTC(_ v: JSONValue, key: String) throws(Failure) -> String {
        switch v {
        case .int(let i): return isoformat(Timestamp.fromEpoch(integer: i))
        case .double(let d):
            guard let t = Timestamp.fromEpoch(seconds: d) else { break }
            return isoformat(t)
        case .string(let s):
            let t = s.trimmingSpaces
            if !t.isEmpty, t.allSatisfy(\.isNumber), let i = Int64(t) { return isoformat(Timestamp.fromEpoch(integer: i)) }
            if let d = Double(t), t.contains(".") { if let ts = Timestamp.fromEpoch(seconds: d) { return isoformat(ts) } }
            if let p = Timestamp.parseISO8601(t) { return isoformat(p.timestamp) }
        default: break
        }
        throw Failure(description: "\(key): not a time MozDef can read (epoch number or ISO 8601)")
    }

    /// Python's isoformat() in UTC: microseconds only when not zero, offset +00:00.
    public static func isoformat(_ t: Timestamp) -> String {
        let micros = Int32(t.nanoseconds / 1000)
        return Timestamp(epochSeconds: t.epochSeconds, nanoseconds: micros * 1000, offsetSeconds: 0,
                         fractionDigits: micros == 0 ? 0 : 6).iso8601(utc: true)
    }
}

extension JSONObject {
    /// Sets `key` (replacing an earlier value: a later key wins, as in MozDef).
    mutating func set(_ key: String, _ value: JSONValue) {
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { append(key, value) }
    }

    init(_ pairs: [(String, JSONValue)]) {
        self.init(members: pairs.map { Member(key: $0.0, value: $0.1) })
    }
}
