import CFastPath
import MozDefEvent

/// Recognises a record's format from its first bytes (for `--format auto`).
public enum FormatDetector {
    @inline(__always) static func has(_ p: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard let base = p.baseAddress else { return false }
        return mds_find(base, p.count, s.utf8Start, s.utf8CodeUnitCount) >= 0
    }

    /// The format of one record. JSON documents are told apart by their keys; `#` lines
    /// are Zeek headers; "CEF:" at the start or after a syslog header is CEF; the rest is syslog.
    public static func detect(_ p: UnsafeBufferPointer<UInt8>) -> InputFormat {
        var i = 0
        while i < p.count, p[i] == 0x20 || p[i] == 0x09 { i += 1 }
        guard i < p.count else { return .syslog }
        switch p[i] {
        case UInt8(ascii: "{"):
            return json(p)
        case UInt8(ascii: "["):
            // A JSON array opens with a value; "[    0.000000] ..." (dmesg) is text.
            return opensJSONArray(p, i) ? json(p) : .syslog
        case UInt8(ascii: "#"):
            // Zeek's header starts with #separator; other '#' lines are text.
            return p[i...].starts(with: "#separator ".utf8) ? .zeek : .syslog
        default:
            if CEFTranslator.cefStart(UnsafeBufferPointer(rebasing: p[..<min(p.count, 512)])) != nil { return .cef }
            return .syslog
        }
    }

    /// '[' at i followed by an object, a string, ']' or the end of the line.
    static func opensJSONArray(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool {
        let k = JSONScan.skipSpace(p, i + 1)
        return k == p.count || p[k] == UInt8(ascii: "{") || p[k] == UInt8(ascii: "\"") || p[k] == UInt8(ascii: "]")
    }

    /// A JSON record's format by its keys.
    public static func json(_ p: UnsafeBufferPointer<UInt8>) -> InputFormat {
        if has(p, "\"short_message\"") || (has(p, "\"version\"") && has(p, "\"host\"") && has(p, "\"_")) { return .gelf }
        if (has(p, "\"eventSource\"") && has(p, "\"eventName\"")) || has(p, "\"eventVersion\"") { return .cloudtrail }
        if has(p, "\"Records\"") || has(p, "\"digestStartTime\"") { return .cloudtrail }
        if has(p, "\"_path\"") || (has(p, "\"ts\"") && (has(p, "\"uid\"") || has(p, "\"id.orig_h\""))) { return .zeek }
        return .mozdef
    }

    /// True when a line opens a JSON stream that needs the record splitter: a CloudTrail
    /// Records document, or a document that does not end on its first line.
    public static func needsSplitter(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        while i < p.count, JSONScan.isSpace(p[i]) { i += 1 }
        guard i < p.count, p[i] == UInt8(ascii: "{") || p[i] == UInt8(ascii: "[") else { return false }
        if p[i] == UInt8(ascii: "[") { return opensJSONArray(p, i) }
        var e = p.count
        while e > i, JSONScan.isSpace(p[e - 1]) { e -= 1 }
        if p[e - 1] != UInt8(ascii: "}") { return true }
        // {"Records":[ near the start: the whole file may be one line.
        let head = UnsafeBufferPointer(rebasing: p[i..<min(p.count, i + 64)])
        return has(head, "\"Records\"")
    }
}

/// Events already in MozDef's shape, passed through after validation: a JSON object
/// with a string `summary`; `utctimestamp`/`timestamp`, when present, ISO 8601 strings
/// (the zone may be missing, as MozDef allows) or epoch numbers; `details` an object;
/// `tags` an array; `category`/`hostname` strings.
public struct MozDefPassthrough: Translator {
    public init() {}

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            let s = JSONScan.skipSpace(p, 0)
            guard var it = JSONScan.ObjectIterator(p, at: s) else { throw TranslationError("MozDef event: not a JSON object") }
            var summary = false
            while let m = it.next() {
                let k = p[m.key]
                func expect(_ first: UInt8, _ what: String) throws(TranslationError) {
                    guard m.first == first else { throw TranslationError("MozDef event: \(String(decoding: k, as: UTF8.self)) is not \(what)") }
                }
                if k.elementsEqual("summary".utf8) { try expect(UInt8(ascii: "\""), "a string"); summary = true }
                else if k.elementsEqual("details".utf8) { try expect(UInt8(ascii: "{"), "an object") }
                else if k.elementsEqual("tags".utf8) { try expect(UInt8(ascii: "["), "an array") }
                else if k.elementsEqual("category".utf8) || k.elementsEqual("hostname".utf8) { try expect(UInt8(ascii: "\""), "a string") }
                else if k.elementsEqual("utctimestamp".utf8) || k.elementsEqual("timestamp".utf8) {
                    // MozDef reads ISO 8601 text (a missing zone is its host's) and epoch numbers.
                    let isNumber = m.first == UInt8(ascii: "-") || m.first &- 48 < 10
                    if !isNumber {
                        try expect(UInt8(ascii: "\""), "an ISO 8601 string or an epoch number")
                        let body = UnsafeBufferPointer(rebasing: p[(m.value.lowerBound + 1)..<(m.value.upperBound - 1)])
                        guard Timestamp.parseISO8601(body) != nil else {
                            throw TranslationError("MozDef event: \(String(decoding: k, as: UTF8.self)) is not an ISO 8601 time")
                        }
                    }
                }
            }
            if it.failed { throw TranslationError("MozDef event: invalid JSON near byte \(it.i)") }
            guard JSONScan.skipSpace(p, it.end) == p.count else { throw TranslationError("MozDef event: text after the object at byte \(it.end)") }
            guard summary else { throw TranslationError("MozDef event: no summary") }
            // Written as it came, compacted onto one line.
            bytes.removeAll(keepingCapacity: true)
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: it.end - s))
            let n = bytes.withUnsafeMutableBufferPointer { o in
                mds_json_copy_compact(o.baseAddress! + start, p.baseAddress! + s, it.end - s)
            }
            bytes.removeLast(it.end - s - n)
        }
        e.passthrough = true
    }
}
