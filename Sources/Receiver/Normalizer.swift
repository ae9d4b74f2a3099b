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
        try normalize(input, nowText: .string(Self.isoformat(now)))
    }

    /// The fields of MozDef's table that land at the top level, in the stored order.
    private struct Top {
        var timestamp: JSONValue?
        var utctimestamp: JSONValue?
        var category: JSONValue?
        var hostname: JSONValue?
        var processid: JSONValue?
        var processname: JSONValue?
        var severity: JSONValue?
        var source: JSONValue?
        var facility: JSONValue?
        var summary: JSONValue?
        var eventsource: JSONValue?
    }

    private static let mozdefPlugins = JSONValue.object(JSONObject([("plugins", .array([]))]))
    private static let unknown = JSONValue.string("UNKNOWN")

    /// `normalize` with the receipt time already formatted (once per request).
    public func normalize(_ input: JSONObject, nowText: JSONValue) throws(Failure) -> JSONObject {
        // A custom endpoint's document is stored as sent, with only the defaults added.
        if case .bool(true)? = input["customendpoint"] {
            var out = input
            out.set("receivedtimestamp", nowText)
            addDefaults(&out, now: nowText)
            return out
        }
        var top = Top()
        var details = JSONObject()
        var tags: [JSONValue] = []
        var hasSummary = false
        for m in input.members where m.key == "summary" { hasSummary = true; break }
        var sawTime = false
        for m in input.members {
            let key = Self.canonical(m.key)
            let v = m.value
            switch key {
            case "sourceip": details.set("eventsourceipaddress", v)
            case "source": top.source = v
            case "facility", "syslogfacility":
                if key == "facility" { top.source = v }
                top.facility = .string(Self.str(v))
            case "message", "summary": top.summary = Self.text(v)
            case "payload":
                if hasSummary { details.set("payload", Self.text(v)) } else { top.summary = Self.text(v) }
            case "eventtime", "timestamp", "utctimestamp", "date":
                let t = JSONValue.string(try Self.toUTC(v, key: m.key))
                top.utctimestamp = t
                top.timestamp = t
                sawTime = true
            case "hostname", "source_host", "host": top.hostname = Self.text(v)
            case "tags":
                switch v {
                case .array(let a): tags.append(contentsOf: a)
                case .string(let s): if !s.isEmpty { tags.append(v) }
                default: throw Failure(description: "\(m.key): tags must be a list or a string")
                }
            case "syslogseverity", "severity", "severityvalue", "level", "priority":
                top.severity = .string(Self.str(v).uppercased())
            case "pid", "processid": top.processid = Self.text(v)
            case "pname", "processname", "sourcename", "program": top.processname = Self.text(v)
            case "path", "logger", "file": top.eventsource = Self.text(v)
            case "type", "eventtype", "category": top.category = Self.text(v)
            case "fields", "details":
                if case .object(let o) = v {
                    if details.isEmpty { details = o } else { for d in o.members { details.set(d.key, d.value) } }
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
        if !sawTime { top.utctimestamp = nowText }
        var out = JSONObject()
        out.members.reserveCapacity(18)
        out.append("timestamp", top.timestamp ?? nowText)
        out.append("utctimestamp", top.utctimestamp ?? nowText)
        out.append("receivedtimestamp", nowText)
        out.append("mozdefhostname", .string(mozdefHostname))
        out.append("type", "event")
        out.append("category", top.category ?? Self.unknown)
        out.append("hostname", top.hostname ?? Self.unknown)
        out.append("processid", top.processid ?? Self.unknown)
        out.append("processname", top.processname ?? Self.unknown)
        out.append("severity", top.severity ?? Self.unknown)
        out.append("source", top.source ?? Self.unknown)
        if let f = top.facility { out.append("facility", f) }
        out.append("summary", top.summary ?? Self.unknown)
        if let e = top.eventsource { out.append("eventsource", e) }
        out.append("tags", .array(tags))
        out.append("details", .object(details))
        out.append("mozdef", Self.mozdefPlugins)
        return out
    }

    /// A key as MozDef's table sees it: without `@`, lowercased. Most keys already are.
    @inline(__always) static func canonical(_ k: String) -> String {
        for b in k.utf8 where b == 0x40 || (b >= 0x41 && b <= 0x5A) || b >= 0x80 {
            return String(k.filter { $0 != "@" }).lowercased()
        }
        return k
    }

    /// `str(v)` as a JSON string, without a copy when it already is one.
    @inline(__always) static func text(_ v: JSONValue) -> JSONValue {
        if case .string = v { return v }
        return .string(str(v))
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
            case .double(let d) where d.isFinite:
                // Past Int64 (1e19) it is refused below, not trapped on.
                if let i = Int64(exactly: d.rounded(.towardZero)) { return .int(i) }
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
