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
    var parsedStorage = Parsed()
    /// Extension keys resolved once (vendors repeat the same keys record after record).
    let keys: KeyCache
    /// The header's detail names, resolved once.
    let headerKeys: [ResolvedKey]
    var labelScratch: [Int] = []
    var labelKeyScratch: [UInt8] = []
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

    /// The parsed parts of one CEF record, as ranges of the event's bytes.
    public struct Parsed: Sendable {
        /// Version, vendor, product, device version, signature id, name, severity.
        public var header: [Range<Int>] = []
        public var extensions: [(key: Range<Int>, value: Range<Int>)] = []
        /// The text before "CEF:", when there is one.
        public var prefix: Range<Int>?
        /// Room for the C kernel's pair offsets, reused record after record.
        var pairScratch: [UInt32] = []
    }

    public static let headerNames: [StaticString] = ["cefversion", "devicevendor", "deviceproduct", "deviceversion", "signatureid", "name", "severity"]

    /// Parses `p` (valid UTF-8, identical to `bytes` on entry); unescaped text is appended to `bytes`.
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, bytes: inout [UInt8], into out: inout Parsed) throws(TranslationError) {
        out.header.removeAll(keepingCapacity: true)
        out.extensions.removeAll(keepingCapacity: true)
        out.prefix = nil
        guard let start = cefStart(p) else { throw TranslationError("not CEF: no 'CEF:' header") }
        if start > 0 {
            var e = start
            while e > 0, p[e - 1] == 0x20 { e -= 1 }
            out.prefix = 0..<e
        }
        var i = start + 4
        // Seven '|'-terminated header fields.
        while out.header.count < 7 {
            let s = i
            var escaped = false
            // The next '|' (memchr); a backslash before it means escapes to undo.
            while i < p.count {
                guard let hit = memchr(p.baseAddress! + i, Int32(UInt8(ascii: "|")), p.count - i) else { i = p.count; break }
                let bar = p.baseAddress!.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memchr(p.baseAddress! + i, Int32(UInt8(ascii: "\\")), bar - i) == nil { i = bar; break }
                // Escapes in this stretch: walk it byte by byte.
                while i < p.count, p[i] != UInt8(ascii: "|") {
                    if p[i] == UInt8(ascii: "\\"), i + 1 < p.count { escaped = true; i += 1 }
                    i += 1
                }
                break
            }
            guard i < p.count else {
                throw TranslationError("CEF header: found \(out.header.count) of 7 required '|'-terminated fields")
            }
            if escaped {
                let b = bytes.count
                var k = s
                while k < i {
                    if p[k] == UInt8(ascii: "\\"), k + 1 < i, p[k + 1] == UInt8(ascii: "|") || p[k + 1] == UInt8(ascii: "\\") {
                        k += 1
                    }
                    bytes.append(p[k])
                    k += 1
                }
                out.header.append(b..<bytes.count)
            } else {
                out.header.append(s..<i)
            }
            i += 1
        }
        try extensions(p, from: i, bytes: &bytes, scratch: &out.pairScratch, into: &out.extensions)
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

    static func extensions(_ p: UnsafeBufferPointer<UInt8>, from: Int, bytes: inout [UInt8], scratch raw: inout [UInt32],
                           into out: inout [(key: Range<Int>, value: Range<Int>)]) throws(TranslationError) {
        guard let base = p.baseAddress else { return }
        // Pairs are found by a C kernel (mds_cef_pairs); 64 cover nearly every record.
        if raw.count < 64 * 5 { raw = [UInt32](repeating: 0, count: 64 * 5) }
        var room = raw.count / 5
        var n = raw.withUnsafeMutableBufferPointer { mds_cef_pairs(base, p.count, from, $0.baseAddress!, room) }
        while n == room + 1 {
            room *= 4
            raw = [UInt32](repeating: 0, count: room * 5)
            n = raw.withUnsafeMutableBufferPointer { mds_cef_pairs(base, p.count, from, $0.baseAddress!, room) }
        }
        if n < 0 { throw TranslationError("CEF extension: expected key=value at byte \(-1 - n)") }
        for k in 0..<n {
            let key = Int(raw[k * 5])..<Int(raw[k * 5 + 1])
            let vs = Int(raw[k * 5 + 2]), ve = Int(raw[k * 5 + 3])
            guard raw[k * 5 + 4] != 0 else {
                out.append((key, vs..<ve))
                continue
            }
            let b = bytes.count
            var i = vs
            while i < ve {
                // Plain runs are copied whole; only the escapes are looked at.
                guard let hit = memchr(base + i, 0x5C, ve - i) else {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<ve]))
                    break
                }
                let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if k > i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<k])) }
                i = k
                var c = p[i]
                if i + 1 < ve {
                    switch p[i + 1] {
                    case UInt8(ascii: "="), UInt8(ascii: "\\"): c = p[i + 1]; i += 1
                    case UInt8(ascii: "n"): c = 0x0A; i += 1
                    case UInt8(ascii: "r"): c = 0x0D; i += 1
                    default: break  // an unknown escape is kept as written
                    }
                }
                bytes.append(c)
                i += 1
            }
            out.append((key, b..<bytes.count))
        }
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        // Scratch storage lives in the translator between records (no allocation per record).
        var parsed = Parsed()
        swap(&parsed, &parsedStorage)
        var labelIndex: [Int] = []
        swap(&labelIndex, &labelScratch)
        var labelKey: [UInt8] = []
        swap(&labelKey, &labelKeyScratch)
        defer {
            swap(&parsed, &parsedStorage)
            swap(&labelIndex, &labelScratch)
            swap(&labelKey, &labelKeyScratch)
        }
        var r = MappedRecord.take(&self.record, view: mapping.global)
        defer { self.record = r }
        // Locals: the closure then retains nothing per use.
        let keys = Unmanaged.passUnretained(self.keys), headerKeys = self.headerKeys, lenientSyslog = self.lenientSyslog
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            try Self.parse(p, bytes: &bytes, into: &parsed)
            var times: (start: Range<Int>?, end: Range<Int>?, rt: Range<Int>?, dtz: Range<Int>?) = (nil, nil, nil, nil)
            for k in 0..<7 {
                r.add(headerKeys[k], value: parsed.header[k], kind: .string, bytes: &bytes)
            }
            if let pre = parsed.prefix { r.add(name: "syslog", value: pre, kind: .string, bytes: &bytes) }
            let ext = parsed.extensions
            // Label keys ("cs1Label"), found once: a key with a label goes under the label's value.
            labelIndex.removeAll(keepingCapacity: true)
            for (n, pair) in ext.enumerated() where pair.key.count > 5 && p[pair.key.upperBound - 1] == UInt8(ascii: "l")
                && memcmp(p.baseAddress! + pair.key.upperBound - 5, Self.labelSuffix.utf8Start, 5) == 0 {
                labelIndex.append(n)
            }
            for (n, pair) in ext.enumerated() {
                let key = UnsafeBufferPointer(rebasing: p[pair.key])
                if !labelIndex.isEmpty {
                    if labelIndex.contains(n) {
                        // Written with its value, if that is present.
                        let baseCount = key.count - 5
                        if ext.contains(where: { $0.key.count == baseCount && memcmp(p.baseAddress! + $0.key.lowerBound, key.baseAddress!, baseCount) == 0 }) { continue }
                    } else if let li = labelIndex.last(where: { ext[$0].key.count == key.count + 5
                                                                && memcmp(p.baseAddress! + ext[$0].key.lowerBound, key.baseAddress!, key.count) == 0 }),
                              ext[li].value.count > 0 {
                        let label = ext[li]
                        let ls = bytes.count
                        labelKey.removeAll(keepingCapacity: true)
                        for i in label.value { let c = bytes[i]; labelKey.append(c &- 65 < 26 ? c | 0x20 : c) }
                        bytes.append(contentsOf: labelKey)
                        // A label is the device's own name for the field: prefix rules do not rewrite it.
                        labelKey.withUnsafeBufferPointer { lb in
                            r.add(key: lb, keyStart: ls, value: pair.value, kind: .string, prefixRules: false, bytes: &bytes)
                        }
                        continue
                    }
                }
                let resolved = keys._withUnsafeGuaranteedRef { $0.resolve(key) }
                switch resolved?.tag ?? Self.timeKey(key) {
                case TimeKey.rt: times.rt = pair.value
                case TimeKey.start: times.start = pair.value
                case TimeKey.end: times.end = pair.value
                case TimeKey.dtz: times.dtz = pair.value
                default: break
                }
                if let resolved {
                    r.add(resolved, value: pair.value, kind: .string, bytes: &bytes)
                } else {
                    r.add(key: key, keyStart: pair.key.lowerBound, value: pair.value, kind: .string, lowercaseUnknown: true, bytes: &bytes)
                }
            }
            // The syslog header before "CEF:", read leniently whatever --strict says: it is not the record.
            let header: SyslogMessage? = parsed.prefix.flatMap { pre in try? lenientSyslog.parse(UnsafeBufferPointer(rebasing: p[pre])) }
            if let pre = parsed.prefix, let h = header?.hostnameRange {
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
            e.severity = bytes.withUnsafeBufferPointer { b in Self.severity(UnsafeBufferPointer(rebasing: b[parsed.header[6]])) }
        }
        e.categoryText = .literal("cef")
        e.summaryText = .slice(parsed.header[5])
        e.setSource(context.source)
        r.complete(&e)
    }

    static let labelSuffix: StaticString = "Label"

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
        var lower: [UInt8] = []
        for c in v { lower.append(c | 0x20) }
        switch lower {
        case Array("low".utf8): return .info
        case Array("medium".utf8): return .warning
        case Array("high".utf8): return .error
        case Array("very-high".utf8), Array("very high".utf8): return .critical
        case Array("unknown".utf8): return nil
        default: return nil
        }
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
