import MozDefEvent

/// MozDef's `cloudtrail` plugin: CloudTrail keys whose type varies from event to event
/// (an object here, a string there) would break Elasticsearch's mapping, so their
/// values are stored as `{"raw_value": "<the value as JSON text>"}`; and
/// requestparameters.htmlpart is cut to 4095 characters. Paths and the text form
/// (Python's json.dumps) as in mozilla/MozDef mq/plugins/cloudtrail.py.
enum CloudTrailRawValues {
    /// Top-level details keys whose whole value is wrapped.
    static let topLevel: Set<String> = ["additionaleventdata", "apiversion", "serviceeventdetails"]
    /// Paths inside requestparameters / responseelements.
    static let nested: [String: [[String]]] = [
        "requestparameters": [
            ["attribute"], ["callerreference"], ["description"], ["disableapitermination"], ["domainname"],
            ["domainnames"], ["ebsoptimized"], ["filter"], ["iaminstanceprofile"], ["instancetype"],
            ["logstreamname"], ["rule"], ["source"],
        ],
        "responseelements": [
            ["distribution", "distributionconfig", "callerreference"], ["endpoint"],
            ["findings", "service", "additionalinfo", "unusual"], ["lastmodified"], ["role"],
            ["securitygroups"], ["subnets"],
        ],
    ]
    static let htmlpartLimit = 4095

    /// Quick check before parsing: could this (lowercased, compact) value need a change?
    static func mayApply(key: String, value: UnsafeBufferPointer<UInt8>) -> Bool {
        if topLevel.contains(key) { return true }
        guard let paths = nested[key] else { return false }
        for p in paths where FormatDetector.contains(value, "\"\(p.last!)\"") { return true }
        return key == "requestparameters" && FormatDetector.contains(value, "\"htmlpart\"")
    }

    /// The new value (compact JSON), or nil when nothing changes.
    static func apply(key: String, value: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let v = try? JSONReader.parse(value) else { return nil }
        var out = v
        if topLevel.contains(key) {
            out = wrap(v)
        } else if case .object(var o) = v, let paths = nested[key] {
            var changed = false
            for p in paths { changed = wrap(&o, path: p[...]) || changed }
            if key == "requestparameters", case .string(let h)? = o["htmlpart"], h.unicodeScalars.count > htmlpartLimit {
                o["htmlpart"] = .string(String(String.UnicodeScalarView(h.unicodeScalars.prefix(htmlpartLimit))))
                changed = true
            }
            guard changed else { return nil }
            out = .object(o)
        } else {
            return nil
        }
        var w = JSONWriter(capacity: value.count + 64)
        w.value(out)
        return w.bytes
    }

    static func wrap(_ v: JSONValue) -> JSONValue {
        .object(JSONObject(["raw_value": .string(pythonJSON(v))]))
    }

    static func wrap(_ o: inout JSONObject, path: ArraySlice<String>) -> Bool {
        guard let k = path.first, let v = o[k] else { return false }
        if path.count == 1 {
            o[k] = wrap(v)
            return true
        }
        guard case .object(var inner) = v else { return false }
        let changed = wrap(&inner, path: path.dropFirst())
        if changed { o[k] = .object(inner) }
        return changed
    }

    /// Python's json.dumps(v): ", " and ": " separators, non-ASCII as \uXXXX.
    static func pythonJSON(_ v: JSONValue) -> String {
        var s = ""
        func str(_ t: String) {
            s += "\""
            for u in t.unicodeScalars {
                switch u {
                case "\"": s += "\\\""
                case "\\": s += "\\\\"
                case "\n": s += "\\n"
                case "\r": s += "\\r"
                case "\t": s += "\\t"
                case "\u{08}": s += "\\b"
                case "\u{0C}": s += "\\f"
                default:
                    if u.value < 0x20 || u.value > 0x7E {
                        func hex(_ x: UInt32) { s += "\\u" + String(repeating: "0", count: 4 - String(x, radix: 16).count) + String(x, radix: 16) }
                        if u.value > 0xFFFF {
                            let x = u.value - 0x10000
                            hex(0xD800 + (x >> 10)); hex(0xDC00 + (x & 0x3FF))
                        } else {
                            hex(u.value)
                        }
                    } else {
                        s.unicodeScalars.append(u)
                    }
                }
            }
            s += "\""
        }
        func go(_ v: JSONValue) {
            switch v {
            case .null: s += "null"
            case .bool(let b): s += b ? "true" : "false"
            case .int(let i): s += String(i)
            case .double(let d): s += d == d.rounded() && abs(d) < 1e16 ? String(format1: d) : "\(d)"
            case .string(let t): str(t)
            case .array(let a):
                s += "["
                for (i, x) in a.enumerated() { if i > 0 { s += ", " }; go(x) }
                s += "]"
            case .object(let o):
                s += "{"
                for (i, m) in o.members.enumerated() { if i > 0 { s += ", " }; str(m.key); s += ": "; go(m.value) }
                s += "}"
            }
        }
        go(v)
        return s
    }
}

extension String {
    /// A whole double as Python's repr writes it: "3.0".
    init(format1 d: Double) { self = String(Int64(d)) + ".0" }
}

extension FormatDetector {
    static func contains(_ p: UnsafeBufferPointer<UInt8>, _ s: String) -> Bool {
        var s = s
        return s.withUTF8 { n in
            guard let base = p.baseAddress, let nb = n.baseAddress else { return false }
            return mds_find(base, p.count, nb, n.count) >= 0
        }
    }
}

import CFastPath
