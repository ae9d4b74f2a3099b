#if canImport(Glibc)
import Glibc
#endif
import MozDefEvent

/// GELF 1.1 JSON → MozDef event, through the `gelf` mapping.
///
/// `short_message` → summary, `host` → hostname, `level` (syslog 0-7) → severity,
/// `timestamp` (seconds, fraction allowed) → the event time; every other field goes to
/// details (`_x` as `x` with the built-in mapping, `_id` dropped as the spec asks).
/// Lenient (default): a missing `host` leaves hostname out, a missing `short_message`
/// takes `full_message`'s first line; strict (`--strict`): both are required, as are
/// a string host, a numeric level and field names of `[\w.-]` (Vector's checks).
public struct GELFTranslator: Translator {
    public let mapping: Mapping
    public var strict: Bool
    var record: MappedRecord
    var members: [JSONScan.Member] = []
    /// Field names resolved once (they repeat record after record).
    let keys: KeyCache

    public init(mapping: Mapping, strict: Bool) {
        self.mapping = mapping
        self.strict = strict
        record = MappedRecord(view: mapping.global)
        keys = KeyCache(view: mapping.global, transform: .none)
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        var r = MappedRecord.take(&self.record, view: mapping.global)
        defer { self.record = r }
        var ms = members
        members = []
        defer { members = ms }
        var host: Range<Int>?, short: Range<Int>?, full: Range<Int>?
        var level: Severity?
        let keys = Unmanaged.passUnretained(self.keys), strict = self.strict
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            var i = JSONScan.skipSpace(p, 0)
            guard var it = JSONScan.ObjectIterator(p, at: i) else { throw TranslationError("GELF: not a JSON object") }
            ms.removeAll(keepingCapacity: true)
            while let m = it.next() { ms.append(m) }
            if it.failed { throw TranslationError("GELF: invalid JSON near byte \(it.i)") }
            i = JSONScan.skipSpace(p, it.end)
            guard i == p.count else { throw TranslationError("GELF: text after the JSON object at byte \(i)") }
            for m in ms {
                let key = UnsafeBufferPointer(rebasing: p[m.key])
                @inline(__always) func isKey(_ s: StaticString) -> Bool { memcmp(key.baseAddress!, s.utf8Start, s.utf8CodeUnitCount) == 0 }
                let isString = m.first == UInt8(ascii: "\"")
                var value = m.value
                if m.first == UInt8(ascii: "{") || m.first == UInt8(ascii: "[") { value = JSONScan.oneLine(p, m.value, into: &bytes) }
                if isString {
                    value = (m.value.lowerBound + 1)..<(m.value.upperBound - 1)
                    if m.valueEscaped {
                        let b = bytes.count
                        JSONScan.unescape(p, value, into: &bytes)
                        value = b..<bytes.count
                    }
                }
                switch key.count {
                case 4 where isKey("host"):
                    if isString { host = value; continue }
                    if strict { throw TranslationError("GELF: host is not a string") }
                case 5 where isKey("level"):
                    if let n = parseSmallInt(p, m.value), n <= 7 { level = Severity(rawValue: UInt8(n)); continue }
                    // Lenient: a level sent as text ("6") is still a level.
                    if !strict, isString, let n = parseSmallInt(p, (m.value.lowerBound + 1)..<(m.value.upperBound - 1)), n <= 7 {
                        level = Severity(rawValue: UInt8(n))
                        continue
                    }
                    if strict { throw TranslationError("GELF: level is not a syslog level (0-7)") }
                case 7 where isKey("version"):
                    if strict, !(isString && bytes[value].starts(with: "1.".utf8)) {
                        throw TranslationError("GELF: version is not 1.x")
                    }
                    continue
                case 9 where isKey("timestamp"):
                    if !isString, let t = Self.seconds(UnsafeBufferPointer(rebasing: p[m.value])) { e.timestamp = t; continue }
                    if strict { throw TranslationError("GELF: timestamp is not a number of seconds") }
                case 13 where isKey("short_message"):
                    if isString { short = value; continue }
                case 12 where isKey("full_message"):
                    if isString { full = value }
                default:
                    if strict {
                        guard key.allSatisfy({ $0 &- 97 < 26 || $0 &- 65 < 26 || $0 &- 48 < 10 || $0 == 95 || $0 == 46 || $0 == 45 }) else {
                            throw TranslationError("GELF: field name '\(String(decoding: key, as: UTF8.self))' is not [A-Za-z0-9_.-]")
                        }
                        guard key.first == UInt8(ascii: "_") || Self.standard(key) else {
                            throw TranslationError("GELF: unknown field '\(String(decoding: key, as: UTF8.self))' without a leading '_'")
                        }
                    }
                }
                if !m.keyEscaped, let k = keys._withUnsafeGuaranteedRef({ $0.resolve(key) }) {
                    r.add(k, value: value, kind: isString ? .string : .raw, bytes: &bytes)
                } else {
                    r.add(key: key, keyStart: m.key.lowerBound, value: value, kind: isString ? .string : .raw, bytes: &bytes)
                }
            }
            if strict {
                if host == nil { throw TranslationError("GELF: no host") }
                if short == nil { throw TranslationError("GELF: no short_message") }
            }
        }
        // GELF 1.1: level defaults to 1 (ALERT).
        e.severity = level ?? .alert
        if let host { e.hostnameText = .slice(host) }
        if let short {
            e.summaryText = .slice(short)
        } else if let full {
            var end = full.lowerBound
            while end < full.upperBound, e.bytes[end] != 0x0A { end += 1 }
            e.summaryText = .slice(full.lowerBound..<end)
        }
        e.categoryText = .literal("gelf")
        e.setSource(context.source)
        r.complete(&e)
    }

    /// Fields GELF 1.1 defines (facility, line and file are deprecated but still sent).
    static func standard(_ k: UnsafeBufferPointer<UInt8>) -> Bool {
        k.elementsEqual("full_message".utf8) || k.elementsEqual("facility".utf8) || k.elementsEqual("line".utf8)
            || k.elementsEqual("file".utf8)
    }

    /// Seconds since the epoch with an optional fraction: 1385053862.3072.
    static func seconds(_ v: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard JSONScan.numberLength(v, 0) == v.count, v.count > 0 else { return nil }
        if v.contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) {
            guard let d = Double(String(decoding: v, as: UTF8.self)) else { return nil }
            return Timestamp.fromEpoch(seconds: d)
        }
        return ZeekTranslator.epoch(v)
    }
}
