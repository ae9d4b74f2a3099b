#if canImport(Glibc)
import Glibc
#endif
import CFastPath
import MozDefEvent

/// ArcSight Common Event Format → MozDef event, through the `cef` mapping.
///
/// `[syslog header ]CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
/// Header fields may escape `|` and `\`; extension values may escape `=`, `\`, and
/// newlines (`\n` → LF, `\r` → CR). A value runs to the next ` key=`; an `=` that
/// does not follow a key-shaped word is part of the value; trailing spaces are trimmed.
public struct CEFTranslator: Translator {
    public let mapping: Mapping
    public let syslog: SyslogParser
    var record: MappedRecord
    /// The C kernel's output (header, then pairs) and unescaped text, reused record after record.
    var splitScratch: [UInt32] = []
    var unescapeScratch: [UInt8] = []
    /// Extension keys resolved once (vendors repeat the same keys record after record).
    let keys: KeyCache
    /// The header's detail names, resolved once.
    let headerKeys: [ResolvedKey]
    var zones: [String: SyslogParser] = [:]

    /// Reads a syslog header before "CEF:" (always leniently).
    let lenientSyslog: SyslogParser

    public init(mapping: Mapping, syslog: SyslogParser) {
        self.mapping = mapping
        self.syslog = syslog
        lenientSyslog = SyslogParser(strict: false, zone: syslog.zone, referenceTime: syslog.referenceTime)
        keys = KeyCache(view: mapping.global, transform: .lowercaseUnknown, classify: Self.timeKey)
        let cache = keys
        headerKeys = Self.headerNames.map { n in cache.resolve(UnsafeBufferPointer(start: n.utf8Start, count: n.utf8CodeUnitCount))! }
        record = MappedRecord(view: mapping.global)
    }

    public static let headerNames: [StaticString] = ["cefversion", "devicevendor", "deviceproduct", "deviceversion", "signatureid", "name", "severity"]

    /// Where the header's ranges end and the pairs begin in the split output.
    static let pairsAt = 16

    /// Splits the record `p` (identical to `bytes` on entry) whose "CEF:" is at `start`,
    /// with the C kernel: `out` gets the header ranges (pairsAt values), then 5 per pair
    /// (see mds_cef_record); unescaped text is appended to `bytes` (and kept in `unesc`).
    /// Returns the number of pairs.
    static func split(_ p: UnsafeBufferPointer<UInt8>, start: Int, bytes: inout [UInt8], out: inout [UInt32],
                      unesc: inout [UInt8]) throws(TranslationError) -> Int {
        // Unescaped text is never longer than the record, label names included twice.
        if unesc.count < 2 * p.count + 16 { unesc = [UInt8](repeating: 0, count: max(2 * p.count + 16, 8192)) }
        if out.count < pairsAt + 64 * 5 { out = [UInt32](repeating: 0, count: pairsAt + 64 * 5) }
        let base = bytes.count
        var used = 0
        func run(_ out: inout [UInt32], _ unesc: inout [UInt8], _ used: inout Int) -> Int {
            out.withUnsafeMutableBufferPointer { o in
                unesc.withUnsafeMutableBufferPointer { u in
                    mds_cef_record(p.baseAddress!, p.count, start, base, o.baseAddress!, o.baseAddress! + pairsAt,
                                   (o.count - pairsAt) / 5, u.baseAddress!, &used)
                }
            }
        }
        var n = run(&out, &unesc, &used)
        while n > 0, n == (out.count - pairsAt) / 5 + 1 {
            out = [UInt32](repeating: 0, count: pairsAt + (n - 1) * 4 * 5)
            n = run(&out, &unesc, &used)
        }
        if n == MDS_CEF_SHORT_HEADER {
            throw TranslationError("CEF header: found \(out[14]) of 7 required '|'-terminated fields")
        }
        if n < 0 { throw TranslationError("CEF extension: expected key=value at byte \(-1 - n)") }
        if used > 0 { unesc.withUnsafeBufferPointer { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<used])) } }
        return n
    }

    /// Where "CEF:" starts: at 0, or after a space (a syslog header before it).
    static func cefStart(_ p: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = p.baseAddress, p.count >= 4 else { return nil }
        var from = 0
        while from + 4 <= p.count {
            let k = mds_find(base + from, p.count - from, "CEF:", 4)
            if k < 0 { return nil }
            let at = from + k
            if at == 0 || p[at - 1] == 0x20 { return at }
            from = at + 1
        }
        return nil
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        // Scratch storage lives in the translator between records (no allocation per record).
        var split: [UInt32] = []
        swap(&split, &splitScratch)
        var unesc: [UInt8] = []
        swap(&unesc, &unescapeScratch)
        defer {
            swap(&split, &splitScratch)
            swap(&unesc, &unescapeScratch)
        }
        var r = MappedRecord.take(&self.record, view: mapping.global)
        defer { self.record = r }
        // Locals: the closure then retains nothing per use.
        let keys = Unmanaged.passUnretained(self.keys), headerKeys = self.headerKeys, lenientSyslog = self.lenientSyslog
        var nameRange = 0..<0
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            guard let start = Self.cefStart(p) else { throw TranslationError("not CEF: no 'CEF:' header") }
            var prefix: Range<Int>?
            if start > 0 {
                var e = start
                while e > 0, p[e - 1] == 0x20 { e -= 1 }
                prefix = 0..<e
            }
            let base = bytes.count
            let n = try Self.split(p, start: start, bytes: &bytes, out: &split, unesc: &unesc)
            var times: (start: Range<Int>?, end: Range<Int>?, rt: Range<Int>?, dtz: Range<Int>?) = (nil, nil, nil, nil)
            var severityRange = 0..<0
            split.withUnsafeBufferPointer { o in
                for k in 0..<7 {
                    r.add(headerKeys[k], value: Int(o[2 * k])..<Int(o[2 * k + 1]), kind: .string, bytes: &bytes)
                }
                nameRange = Int(o[10])..<Int(o[11])
                severityRange = Int(o[12])..<Int(o[13])
                if let prefix { r.add(name: "syslog", value: prefix, kind: .string, bytes: &bytes) }
                unesc.withUnsafeBufferPointer { u in
                    var q = o.baseAddress! + Self.pairsAt
                    for _ in 0..<n {
                        defer { q += 5 }
                        let flags = q[4]
                        if flags & MDS_CEF_SKIP != 0 { continue }
                        let value = Int(q[2])..<Int(q[3])
                        if flags & MDS_CEF_LABELLED != 0 {
                            // A label is the device's own name for the field: prefix rules do not rewrite it.
                            let key = UnsafeBufferPointer(start: u.baseAddress! + (Int(q[0]) - base), count: Int(q[1] - q[0]))
                            r.add(key: key, keyStart: Int(q[0]), value: value, kind: .string, prefixRules: false, bytes: &bytes)
                            continue
                        }
                        let key = UnsafeBufferPointer(start: p.baseAddress! + Int(q[0]), count: Int(q[1] - q[0]))
                        let resolved = keys._withUnsafeGuaranteedRef { $0.resolve(key) }
                        switch resolved?.tag ?? Self.timeKey(key) {
                        case 0: break
                        case TimeKey.rt: times.rt = value
                        case TimeKey.start: times.start = value
                        case TimeKey.end: times.end = value
                        case TimeKey.dtz: times.dtz = value
                        default: break
                        }
                        if let resolved {
                            r.add(resolved, value: value, kind: .string, bytes: &bytes)
                        } else {
                            r.add(key: key, keyStart: Int(q[0]), value: value, kind: .string, lowercaseUnknown: true, bytes: &bytes)
                        }
                    }
                }
            }
            // The syslog header before "CEF:", read leniently whatever --strict says: it is not the record.
            let header: SyslogMessage? = prefix.flatMap { pre in lenientSyslog.parseHeader(UnsafeBufferPointer(rebasing: p[pre])) }
            if let pre = prefix, let h = header?.hostnameRange {
                e.hostnameText = .slice(pre.lowerBound + h.lowerBound..<pre.lowerBound + h.upperBound)
            }
            // MozDef's CEF reader took start, else end, else rt; one that cannot be read gives way to the next.
            var found = false
            if times.start != nil || times.end != nil || times.rt != nil {
                let dtz = times.dtz.map { String(decoding: bytes[$0], as: UTF8.self) }
                for k in 0..<3 {
                    guard let t = k == 0 ? times.start : k == 1 ? times.end : times.rt else { continue }
                    if let ts = bytes.withUnsafeBufferPointer({ b in timestamp(UnsafeBufferPointer(rebasing: b[t]), dtz: dtz) }) {
                        e.timestamp = ts
                        found = true
                        break
                    }
                }
            }
            if !found, let ts = header?.timestamp { e.timestamp = ts }
            e.severity = bytes.withUnsafeBufferPointer { b in Self.severity(UnsafeBufferPointer(rebasing: b[severityRange])) }
        }
        e.categoryText = .literal("cef")
        e.summaryText = .slice(nameRange)
        e.setSource(context.source)
        r.complete(&e)
    }

    /// The keys that carry the event's time, short and long names (tags in the key cache).
    enum TimeKey {
        static let rt: UInt8 = 1, start: UInt8 = 2, end: UInt8 = 3, dtz: UInt8 = 4
    }

    @Sendable static func timeKey(_ key: UnsafeBufferPointer<UInt8>) -> UInt8 {
        switch String(decoding: key, as: UTF8.self) {
        case "rt", "deviceReceiptTime": TimeKey.rt
        case "start", "startTime": TimeKey.start
        case "end", "endTime": TimeKey.end
        case "dtz", "deviceTimeZone": TimeKey.dtz
        default: 0
        }
    }

    /// CEF severity (0-10 or a name) → MozDef severity. See mozdef-ship(1).
    public static func severity(_ v: UnsafeBufferPointer<UInt8>) -> Severity? {
        if let n = parseSmallInt(v, 0..<v.count) {
            switch n {
            case 0...3: return .info
            case 4...6: return .warning
            case 7...8: return .error
            case 9...10: return .critical
            default: return nil
            }
        }
        // The names, case-insensitively (no allocation: this runs for every record).
        guard v.count <= 9 else { return nil }
        var word: UInt128 = 0
        for c in v { word = word << 8 | UInt128(c &- 65 < 26 ? c | 0x20 : c) }
        switch word {
        case Self.packed("low"): return .info
        case Self.packed("medium"): return .warning
        case Self.packed("high"): return .error
        case Self.packed("very-high"), Self.packed("very high"): return .critical
        default: return nil  // "Unknown" and anything else
        }
    }

    @inline(__always) static func packed(_ s: StaticString) -> UInt128 {
        var word: UInt128 = 0
        for i in 0..<s.utf8CodeUnitCount { word = word << 8 | UInt128(s.utf8Start[i]) }
        return word
    }

    /// `rt`/`start`/`end`: epoch milliseconds, RFC 3339, or `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]`
    /// (without a zone: `dtz`, else the --timezone zone).
    mutating func timestamp(_ v: UnsafeBufferPointer<UInt8>, dtz: String?) -> Timestamp? {
        guard !v.isEmpty else { return nil }
        if v.allSatisfy({ $0 &- 48 < 10 }) {
            // The CEF spec's epoch milliseconds; 10 digits are seconds (MozDef's digit-count rule).
            guard v.count <= 19 else { return nil }
            var n: Int64 = 0
            for c in v { n = n &* 10 &+ Int64(c - 48) }
            if v.count == 13 { return Timestamp(epochSeconds: n / 1000, nanoseconds: Int32(n % 1000) * 1_000_000, fractionDigits: 3) }
            return Timestamp.fromEpoch(integer: n)
        }
        if let t = Timestamp.parseISO8601(v), t.hasZone { return t.timestamp }
        var parser = syslog
        if let dtz {
            if let cached = zones[dtz] {
                parser = cached
            } else if let z = try? ZoneInfo.named(dtz) {
                parser = SyslogParser(strict: false, zone: z, referenceTime: syslog.referenceTime)
                zones[dtz] = parser
            }
        }
        guard let m = parser.parse3164Time(v, 0) else { return nil }
        var wall: Int64
        if let y = m.year {
            wall = Civil.days(year: Int64(y), month: m.month, day: m.day) * 86_400 + Int64(m.secs)
        } else {
            wall = parser.inferYear(month: m.month, day: m.day, secs: m.secs).wall
        }
        var ts = Timestamp(epochSeconds: wall, nanoseconds: m.nanos, fractionDigits: m.digits)
        // A zone after the time: Z/UTC/GMT or ±hh[:]mm.
        var i = m.end
        while i < v.count, v[i] == 0x20 { i += 1 }
        let zone = UnsafeBufferPointer(rebasing: v[i...])
        if zone.isEmpty {
            parser.applyZone(&ts)
        } else if zone.elementsEqual("Z".utf8) || zone.elementsEqual("UTC".utf8) || zone.elementsEqual("GMT".utf8) {
            // already UTC
        } else if zone.count >= 5, zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-"),
                  let hh = parseSmallInt(zone, 1..<3) {
            let mmStart = zone[3] == UInt8(ascii: ":") ? 4 : 3
            guard let mm = parseSmallInt(zone, mmStart..<min(mmStart + 2, zone.count)) else { return nil }
            let off = Int32((hh * 60 + mm) * 60) * (zone[0] == UInt8(ascii: "-") ? -1 : 1)
            ts.epochSeconds -= Int64(off)
            ts.offsetSeconds = off
        } else if let z = try? ZoneInfo.named(String(decoding: zone, as: UTF8.self)) {
            let off = z.offset(forLocal: ts.epochSeconds)
            ts.epochSeconds -= Int64(off)
            ts.offsetSeconds = off
        } else {
            parser.applyZone(&ts)
        }
        return ts
    }
}
