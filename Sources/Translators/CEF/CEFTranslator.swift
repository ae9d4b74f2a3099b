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
    var pairs: [(key: Range<Int>, value: Range<Int>)] = []
    var zones: [String: SyslogParser] = [:]

    /// Reads a syslog header before "CEF:" (always leniently).
    let lenientSyslog: SyslogParser

    public init(mapping: Mapping, syslog: SyslogParser) {
        self.mapping = mapping
        self.syslog = syslog
        lenientSyslog = SyslogParser(strict: false, zone: syslog.zone, referenceTime: syslog.referenceTime)
        record = MappedRecord(view: mapping.global)
    }

    /// The parsed parts of one CEF record, as ranges of the event's bytes.
    public struct Parsed {
        /// Version, vendor, product, device version, signature id, name, severity.
        public var header: [Range<Int>] = []
        public var extensions: [(key: Range<Int>, value: Range<Int>)] = []
        /// The text before "CEF:", when there is one.
        public var prefix: Range<Int>?
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
            while i < p.count, p[i] != UInt8(ascii: "|") {
                if p[i] == UInt8(ascii: "\\"), i + 1 < p.count { escaped = true; i += 1 }
                i += 1
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
        try extensions(p, from: i, bytes: &bytes, into: &out.extensions)
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

    @inline(__always) static func isKeyByte(_ c: UInt8) -> Bool {
        // Letters, digits and the punctuation vendors use in keys (ad.x, ad.y[0], _).
        c &- 97 < 26 || c &- 65 < 26 || c &- 48 < 10 || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
            || c == UInt8(ascii: "[") || c == UInt8(ascii: "]") || c == UInt8(ascii: ",") || c == UInt8(ascii: "-")
    }

    /// If a key-shaped word followed by an unescaped '=' starts at p[i], the index of that '='.
    @inline(__always) static func keyEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        var k = i
        while k < p.count, isKeyByte(p[k]) { k += 1 }
        return k > i && k < p.count && p[k] == UInt8(ascii: "=") ? k : nil
    }

    static func extensions(_ p: UnsafeBufferPointer<UInt8>, from: Int, bytes: inout [UInt8],
                           into out: inout [(key: Range<Int>, value: Range<Int>)]) throws(TranslationError) {
        var i = from
        while i < p.count, p[i] == 0x20 { i += 1 }
        guard i < p.count else { return }
        guard var eq = keyEnd(p, i) else {
            throw TranslationError("CEF extension: expected key=value at byte \(i)")
        }
        var key = i..<eq
        while true {
            // The value runs to the next " key=" (or the end).
            let vs = eq + 1
            var j = vs
            var escaped = false
            var next: (start: Int, eq: Int)?
            while j < p.count {
                let c = p[j]
                if c == UInt8(ascii: "\\") { escaped = true; j += 2; continue }
                if c == 0x20, j + 1 < p.count, p[j + 1] != 0x20, let e = keyEnd(p, j + 1) {
                    next = (j + 1, e)
                    break
                }
                j += 1
            }
            var ve = min(j, p.count)
            while ve > vs, p[ve - 1] == 0x20 { ve -= 1 }
            if escaped {
                let b = bytes.count
                var k = vs
                while k < ve {
                    var c = p[k]
                    if c == UInt8(ascii: "\\"), k + 1 < ve {
                        switch p[k + 1] {
                        case UInt8(ascii: "="), UInt8(ascii: "\\"): c = p[k + 1]; k += 1
                        case UInt8(ascii: "n"): c = 0x0A; k += 1
                        case UInt8(ascii: "r"): c = 0x0D; k += 1
                        default: break  // an unknown escape is kept as written
                        }
                    }
                    bytes.append(c)
                    k += 1
                }
                out.append((key, b..<bytes.count))
            } else {
                out.append((key, vs..<ve))
            }
            guard let n = next else { return }
            key = n.start..<n.eq
            eq = n.eq
        }
    }

    public func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext) throws(TranslationError) -> Event {
        var copy = self
        var e = Event(timestamp: context.received, category: "", summary: "")
        try copy.translate(record, context: context, into: &e)
        return e
    }

    public mutating func translate(_ record: UnsafeBufferPointer<UInt8>, context: RecordContext, into e: inout Event) throws(TranslationError) {
        e.clear(timestamp: context.received)
        var parsed = Parsed()
        swap(&parsed.extensions, &pairs)
        defer { swap(&parsed.extensions, &pairs) }
        var r = self.record
        self.record = MappedRecord(view: mapping.global)  // keep one copy of the storage alive below
        defer { self.record = r }
        r.reset(view: mapping.global)
        try withRecordCopy(record, into: &e.bytes) { p, bytes throws(TranslationError) in
            try Self.parse(p, bytes: &bytes, into: &parsed)
            var times: (start: Range<Int>?, end: Range<Int>?, rt: Range<Int>?, dtz: Range<Int>?) = (nil, nil, nil, nil)
            for (k, name) in Self.headerNames.enumerated() {
                r.add(name: name, value: parsed.header[k], kind: .string, bytes: &bytes)
            }
            if let pre = parsed.prefix { r.add(name: "syslog", value: pre, kind: .string, bytes: &bytes) }
            let ext = parsed.extensions
            // Labels are rare: the pairing below runs only when some key ends in "Label".
            var labels = false
            for pair in ext where pair.key.count > 5 && p[pair.key.upperBound - 1] == UInt8(ascii: "l")
                && p[(pair.key.upperBound - 5)..<pair.key.upperBound].elementsEqual("Label".utf8) {
                labels = true
                break
            }
            for (n, pair) in ext.enumerated() {
                let key = UnsafeBufferPointer(rebasing: p[pair.key])
                if labels {
                    // A labelled field: its value goes under the label (cs1Label=x → x).
                    if key.count > 5, key.suffix(5).elementsEqual("Label".utf8) {
                        let base = UnsafeBufferPointer(rebasing: key[..<(key.count - 5)])
                        if ext.contains(where: { p[$0.key].elementsEqual(base) }) { continue }  // written with its value
                    } else if let label = ext[(n + 1)...].last(where: { Self.isLabel(p, $0.key, of: key) }) ?? ext[..<n].last(where: { Self.isLabel(p, $0.key, of: key) }),
                              label.value.count > 0 {
                        let ls = bytes.count
                        for i in label.value { let c = bytes[i]; bytes.append(c &- 65 < 26 ? c | 0x20 : c) }
                        let lk = ls..<bytes.count
                        let labelKey = Array(bytes[lk])
                        labelKey.withUnsafeBufferPointer { lb in
                            r.add(key: lb, keyStart: lk.lowerBound, value: pair.value, kind: .string, bytes: &bytes)
                        }
                        continue
                    }
                }
                switch key.count {
                case 2 where key[0] == UInt8(ascii: "r") && key[1] == UInt8(ascii: "t"): times.rt = pair.value
                case 3 where key.elementsEqual("end".utf8): times.end = pair.value
                case 3 where key.elementsEqual("dtz".utf8): times.dtz = pair.value
                case 5 where key.elementsEqual("start".utf8): times.start = pair.value
                case 7 where key.elementsEqual("endTime".utf8): times.end = pair.value
                case 9 where key.elementsEqual("startTime".utf8): times.start = pair.value
                case 14 where key.elementsEqual("deviceTimeZone".utf8): times.dtz = pair.value
                case 17 where key.elementsEqual("deviceReceiptTime".utf8): times.rt = pair.value
                default: break
                }
                r.add(key: key, keyStart: pair.key.lowerBound, value: pair.value, kind: .string, lowercaseUnknown: true, bytes: &bytes)
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
                for t in [times.start, times.end, times.rt] {
                    guard let t else { continue }
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
        r.finish(into: &e)
        e.categoryText = r.top(.category, bytes: &e.bytes) ?? .literal("cef")
        e.summaryText = r.top(.summary, bytes: &e.bytes) ?? .slice(parsed.header[5])
        if let h = r.top(.hostname, bytes: &e.bytes) { e.hostnameText = h }
        if let v = r.top(.processname, bytes: &e.bytes) { e.processnameText = v }
        if let v = r.top(.processid, bytes: &e.bytes) { e.processidText = v }
        e.sourceText = r.top(.source, bytes: &e.bytes)
        if e.sourceText == nil { e.setSource(context.source) }
        e.tags = r.view.tags
    }

    static func isLabel(_ p: UnsafeBufferPointer<UInt8>, _ k: Range<Int>, of key: UnsafeBufferPointer<UInt8>) -> Bool {
        k.count == key.count + 5 && p[k.lowerBound..<(k.lowerBound + key.count)].elementsEqual(key)
            && p[(k.lowerBound + key.count)..<k.upperBound].elementsEqual("Label".utf8)
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
