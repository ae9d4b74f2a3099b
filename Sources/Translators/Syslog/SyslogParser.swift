#if canImport(Glibc)
import Glibc
#endif
import MozDefEvent

/// Parses RFC 5424 and RFC 3164 syslog lines from bytes.
///
/// Strict mode is RFC 5424's grammar to the letter (field lengths, SD escaping,
/// RFC3339 with at most 6 fraction digits, BOM-prefixed MSG must be UTF-8) and
/// RFC 3164 with a PRI and a timestamp. Lenient mode accepts what real relays send:
/// missing PRI, ISO or year-bearing timestamps, over-long fields, loose SD spacing.
public struct SyslogParser: Sendable {
    public var strict: Bool
    /// Zone for timestamps written without one (RFC 3164 always).
    public let zone: ZoneInfo
    /// Year inference for RFC 3164: the most recent year that puts the line no
    /// more than one day after this instant (epoch seconds).
    public let referenceTime: Int64
    /// The reference's year in `zone`, computed once rather than per line.
    private let referenceYear: Int64
    private let referenceMonth: Int

    public init(strict: Bool = false, zone: ZoneInfo = .utc, referenceTime: Int64) {
        self.strict = strict
        self.zone = zone
        self.referenceTime = referenceTime
        let refLocal = referenceTime + Int64(zone.offset(atUTC: referenceTime))
        let refDate = Civil.date(days: refLocal >= 0 ? refLocal / 86_400 : (refLocal - 86_399) / 86_400)
        referenceYear = refDate.year
        referenceMonth = refDate.month
    }

    public func parse(_ line: String) throws(SyslogError) -> SyslogMessage {
        var s = line
        let r = s.withUTF8 { p in Result { () throws(SyslogError) in try parse(p) } }
        return try r.get()
    }

    public func parse(_ p: UnsafeBufferPointer<UInt8>) throws(SyslogError) -> SyslogMessage {
        var bytes: [UInt8] = []
        var m = try parse(p, into: &bytes)
        m.bytes = bytes
        return m
    }

    /// Parses into ranges of `bytes`, which is filled with the record and derived text
    /// (its capacity is reused: a caller converting many lines allocates nothing here).
    /// The returned message's own `bytes` is left empty.
    public func parse(_ p: UnsafeBufferPointer<UInt8>, into bytes: inout [UInt8]) throws(SyslogError) -> SyslogMessage {
        var extra: [UInt8] = []
        var m = try parseRanges(p, extra: &extra)
        finish(&m, p, extra, into: &bytes)
        return m
    }

    /// The header's ranges (into `p`, valid UTF-8) and time, without copying the record:
    /// for a syslog header in front of another format (CEF).
    func parseHeader(_ p: UnsafeBufferPointer<UInt8>) -> SyslogMessage? {
        var extra: [UInt8] = []
        return try? parseRanges(p, extra: &extra)
    }

    /// Fills `bytes` with the record and the derived text, repairing invalid UTF-8
    /// field by field (ranges move) so every slice stays valid UTF-8 for JSON.
    private func finish(_ m: inout SyslogMessage, _ p: UnsafeBufferPointer<UInt8>, _ extra: [UInt8], into bytes: inout [UInt8]) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: p)
        if !extra.isEmpty { bytes.append(contentsOf: extra) }
        if UTF8Validation.isValid(p) && (extra.isEmpty || extra.withUnsafeBufferPointer(UTF8Validation.isValid)) {
            return
        }
        var out: [UInt8] = []
        func move(_ r: Range<Int>?) -> Range<Int>? {
            guard let r else { return nil }
            let start = out.count
            out.append(contentsOf: String(decoding: bytes[r], as: UTF8.self).utf8)
            return start..<out.count
        }
        m.hostnameRange = move(m.hostnameRange)
        m.appnameRange = move(m.appnameRange)
        m.procidRange = move(m.procidRange)
        m.msgidRange = move(m.msgidRange)
        m.messageRange = move(m.messageRange)
        m.sd = m.sd?.map { .init(isElement: $0.isElement, a: move($0.a)!, b: $0.isElement ? 0..<0 : move($0.b)!) }
        bytes = out
    }

    private func parseRanges(_ p: UnsafeBufferPointer<UInt8>, extra: inout [UInt8]) throws(SyslogError) -> SyslogMessage {
        var i = 0
        // Leading blanks appear in some relays' output; RFC 5424 allows none.
        if !strict { while i < p.count, p[i] == 0x20 || p[i] == 0x09 { i += 1 } }
        var priority: Int?
        if i < p.count, p[i] == UInt8(ascii: "<") {
            priority = try parsePRI(p, &i)
        } else if strict {
            throw SyslogError("expecting a priority value within angle brackets", offset: i)
        }
        // RFC 5424: VERSION right after PRI. A digit run followed by a space is a version;
        // "<14>2010-08-30T..." (3164 with ISO time) is not.
        if let priority, i < p.count, p[i] &- 49 < 9 {  // 1-9
            var j = i
            var v = 0
            while j < p.count, Digits.isDigit(p[j]), j - i < 4 { v = v * 10 + Int(p[j] &- 48); j += 1 }
            if j < p.count, p[j] == 0x20, j - i <= 3 {
                do {
                    return try parse5424(p, at: j + 1, priority: priority, version: v, extra: &extra)
                } catch {
                    if strict { throw error }
                    // A damaged RFC 5424 line: fall through to the best-effort RFC 3164 reading.
                    extra.removeAll()
                }
            } else if strict, j == p.count || !Digits.isDigit(p[j]) && p[j] != UInt8(ascii: "-") {
                throw SyslogError(j - i > 3 ? "expecting a version value in the range 1-999" : "parsing error", offset: j)
            }
        } else if strict, priority != nil {
            // RFC 5424 requires a version: only RFC 3164 can follow (with a timestamp).
            if i < p.count, p[i] == UInt8(ascii: "0") || p[i] == 0x20 {
                throw SyslogError("expecting a version value in the range 1-999", offset: i)
            }
        }
        return try parse3164(p, at: i, priority: priority)
    }

    // MARK: PRI

    private func parsePRI(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) throws(SyslogError) -> Int {
        let start = i
        i += 1
        var v = 0
        var n = 0
        while i < p.count, Digits.isDigit(p[i]) {
            v = v * 10 + Int(p[i] &- 48)
            n += 1
            i += 1
            if n > 3 { throw SyslogError("expecting a priority value in the range 1-191 or equal to 0", offset: i - 1) }
        }
        guard n > 0 else { throw SyslogError("expecting a priority value in the range 1-191 or equal to 0", offset: start + 1) }
        // RFC 5424 forbids leading zeros ("<002>"), and the range is 0-191.
        if n > 1 && p[start + 1] == UInt8(ascii: "0") && strict {
            throw SyslogError("expecting a priority value in the range 1-191 or equal to 0", offset: start + 2)
        }
        guard v <= 191 else { throw SyslogError("expecting a priority value in the range 1-191 or equal to 0", offset: i - 1) }
        guard i < p.count, p[i] == UInt8(ascii: ">") else {
            throw SyslogError("expecting a priority value in the range 1-191 or equal to 0", offset: i)
        }
        i += 1
        return v
    }

    // MARK: RFC 5424

    private func parse5424(_ p: UnsafeBufferPointer<UInt8>, at start: Int, priority: Int, version: Int,
                           extra: inout [UInt8]) throws(SyslogError) -> SyslogMessage {
        var m = SyslogMessage(format: .rfc5424)
        m.priority = priority
        m.version = version
        var i = start
        // TIMESTAMP
        if i < p.count, p[i] == UInt8(ascii: "-"), i + 1 == p.count || p[i + 1] == 0x20 {
            i += 1
        } else {
            guard let t = Timestamp.parseISO8601(p, from: i, options: .init(rfc5424Strict: strict)) else {
                throw SyslogError("expecting a RFC3339MICRO timestamp or a nil value", offset: i)
            }
            var ts = t.timestamp
            if !t.hasZone { applyZone(&ts) }
            m.timestamp = ts
            m.timestampHasZone = t.hasZone
            i += t.length
        }
        try expectSpace(p, &i, "parsing error")
        m.hostnameRange = try headerField(p, &i, max: 255, "expecting an hostname (from 1 to max 255 US-ASCII characters) or a nil value")
        try expectSpace(p, &i, "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value")
        m.appnameRange = try headerField(p, &i, max: 48, "expecting an app-name (from 1 to max 48 US-ASCII characters) or a nil value")
        try expectSpace(p, &i, "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value")
        m.procidRange = try headerField(p, &i, max: 128, "expecting a procid (from 1 to max 128 US-ASCII characters) or a nil value")
        try expectSpace(p, &i, "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value")
        m.msgidRange = try headerField(p, &i, max: 32, "expecting a msgid (from 1 to max 32 US-ASCII characters) or a nil value")
        try expectSpace(p, &i, "expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value")
        // STRUCTURED-DATA
        if i < p.count, p[i] == UInt8(ascii: "-") {
            i += 1
        } else if i < p.count, p[i] == UInt8(ascii: "[") {
            let sdStart = i
            let extraStart = extra.count
            do {
                m.sd = try parseSD(p, &i, extra: &extra)
            } catch {
                if strict { throw error }
                // Lenient: unparseable SD stays in the message rather than being lost.
                m.sd = nil
                extra.removeSubrange(extraStart...)
                i = sdStart
                m.messageRange = messageRange(p, from: i)
                return m
            }
        } else {
            throw SyslogError("expecting a structured data section containing one or more elements (`[id( key=\"value\")*]+`) or a nil value", offset: i)
        }
        // MSG
        if i < p.count {
            if p[i] != 0x20 {
                if strict { throw SyslogError("parsing error", offset: i) }
            } else {
                i += 1
            }
            if strict, i + 3 <= p.count, p[i] == 0xEF, p[i + 1] == 0xBB, p[i + 2] == 0xBF,
               !UTF8Validation.isValid(UnsafeBufferPointer(rebasing: p[(i + 3)...])) {
                throw SyslogError("expecting a free-form optional message in UTF-8 (starting with or without BOM) or a free-form optional message in any encoding (starting without BOM)", offset: i + 3)
            }
            m.messageRange = messageRange(p, from: i)
        }
        return m
    }

    @inline(__always) private func expectSpace(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ why: String) throws(SyslogError) {
        guard i < p.count, p[i] == 0x20 else { throw SyslogError(why, offset: i) }
        i += 1
    }

    /// NILVALUE or 1*max PRINTUSASCII, ended by a space (or the end of the line).
    private func headerField(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, max: Int, _ why: String) throws(SyslogError) -> Range<Int>? {
        let start = i
        while i < p.count, p[i] > 32, p[i] < 127 { i += 1 }
        let n = i - start
        guard n > 0 else { throw SyslogError(why, offset: i) }
        if i < p.count, p[i] != 0x20 { throw SyslogError(why, offset: i) }
        if strict && n > max { throw SyslogError(why, offset: start + max) }
        if n == 1 && p[start] == UInt8(ascii: "-") { return nil }
        return start..<i
    }

    private static let sdParamError = "expecting a structured data parameter (`key=\"value\"`, both part from 1 to max 32 US-ASCII characters; key cannot contain `=`, ` `, `]`, and `\"`, while value cannot contain `]`, backslash, and `\"` unless escaped)"
    private static let sdIDError = "expecting a structured data element id (from 1 to max 32 US-ASCII characters; except `=`, ` `, `]`, and `\"`"

    /// Structured data as one flat list (one allocation): each element's id item
    /// followed by its parameter items.
    private func parseSD(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, extra: inout [UInt8]) throws(SyslogError) -> [SyslogMessage.SDItem] {
        var items: [SyslogMessage.SDItem] = []
        items.reserveCapacity(12)
        while i < p.count, p[i] == UInt8(ascii: "[") {
            i += 1
            guard let id = sdName(p, &i) else { throw SyslogError(Self.sdIDError, offset: i) }
            // A repeated SD-ID is invalid (strict); leniently its params join the first one.
            let dup = items.firstIndex { $0.isElement && same(p, $0.a, id) }
            if dup != nil && strict { throw SyslogError("duplicate structured data element id", offset: i) }
            var insertAt: Int?
            if let d = dup {
                var e = d + 1
                while e < items.count, !items[e].isElement { e += 1 }
                insertAt = e
            } else {
                items.append(.init(isElement: true, a: id, b: 0..<0))
            }
            while true {
                guard i < p.count else { throw SyslogError(Self.sdParamError, offset: i) }
                if p[i] == UInt8(ascii: "]") { i += 1; break }
                guard p[i] == 0x20 else { throw SyslogError(strict ? Self.sdIDError : Self.sdParamError, offset: i) }
                while i < p.count, p[i] == 0x20 { i += 1; if strict { break } }
                if !strict, i < p.count, p[i] == UInt8(ascii: "]") { i += 1; break }
                guard let name = sdName(p, &i) else { throw SyslogError(Self.sdParamError, offset: i) }
                if !strict { while i < p.count, p[i] == 0x20 { i += 1 } }
                guard i < p.count, p[i] == UInt8(ascii: "=") else { throw SyslogError(Self.sdParamError, offset: i) }
                i += 1
                if !strict { while i < p.count, p[i] == 0x20 { i += 1 } }
                guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw SyslogError(Self.sdParamError, offset: i) }
                i += 1
                let value = try sdValue(p, &i, extra: &extra)
                let item = SyslogMessage.SDItem(isElement: false, a: name, b: value)
                if let at = insertAt {
                    items.insert(item, at: at)
                    insertAt = at + 1
                } else {
                    items.append(item)
                }
            }
        }
        return items
    }

    /// SD-NAME: 1*32 PRINTUSASCII except `=`, SP, `]`, `"`.
    private func sdName(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Range<Int>? {
        let start = i
        while i < p.count {
            let b = p[i]
            guard b > 32, b < 127, b != UInt8(ascii: "="), b != UInt8(ascii: "]"), b != UInt8(ascii: "\"") else { break }
            i += 1
        }
        let n = i - start
        guard n > 0, !strict || n <= 32 else { return nil }
        return start..<i
    }

    /// PARAM-VALUE up to the closing quote; `\"`, `\\` and `\]` are unescaped,
    /// any other backslash is kept as written (RFC 5424 §6.3.3).
    /// The range is in `p`, or past `p.count` in `extra` when unescaping changed the bytes.
    private func sdValue(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, extra: inout [UInt8]) throws(SyslogError) -> Range<Int> {
        let start = i
        var hasEscape = false
        // Fast path: the closing quote with no backslash (or, strict, ']') before it.
        if let q = memchr(p.baseAddress! + i, Int32(UInt8(ascii: "\"")), p.count - i) {
            let end = p.baseAddress!.distance(to: q.assumingMemoryBound(to: UInt8.self))
            if memchr(p.baseAddress! + i, Int32(UInt8(ascii: "\\")), end - i) == nil,
               !strict || memchr(p.baseAddress! + i, Int32(UInt8(ascii: "]")), end - i) == nil {
                let raw = UnsafeBufferPointer(rebasing: p[start..<end])
                if strict, !UTF8Validation.isValid(raw) { throw SyslogError(Self.sdParamError, offset: start) }
                i = end + 1
                return start..<end
            }
        }
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") { break }
            if b == UInt8(ascii: "\\") {
                hasEscape = true
                if i + 1 < p.count, p[i + 1] == UInt8(ascii: "\"") || p[i + 1] == UInt8(ascii: "\\") || p[i + 1] == UInt8(ascii: "]") {
                    i += 2
                    continue
                }
                if strict { throw SyslogError("expecting chars `]`, `\"`, and `\\` to be escaped within param value", offset: i + 1) }
            } else if b == UInt8(ascii: "]") && strict {
                throw SyslogError("expecting chars `]`, `\"`, and `\\` to be escaped within param value", offset: i)
            }
            i += 1
        }
        guard i < p.count else { throw SyslogError(Self.sdParamError, offset: i) }
        let raw = UnsafeBufferPointer(rebasing: p[start..<i])
        i += 1  // closing quote
        if strict, !UTF8Validation.isValid(raw) { throw SyslogError(Self.sdParamError, offset: start) }
        if !hasEscape { return start..<(start + raw.count) }
        let outStart = p.count + extra.count
        var k = 0
        while k < raw.count {
            let b = raw[k]
            if b == UInt8(ascii: "\\"), k + 1 < raw.count,
               raw[k + 1] == UInt8(ascii: "\"") || raw[k + 1] == UInt8(ascii: "\\") || raw[k + 1] == UInt8(ascii: "]") {
                extra.append(raw[k + 1])
                k += 2
            } else {
                extra.append(b)
                k += 1
            }
        }
        return outStart..<(p.count + extra.count)
    }

    /// MSG from `i` to the end, BOM stripped; nil when empty.
    private func messageRange(_ p: UnsafeBufferPointer<UInt8>, from start: Int) -> Range<Int>? {
        var i = start
        if i + 3 <= p.count, p[i] == 0xEF, p[i + 1] == 0xBB, p[i + 2] == 0xBF { i += 3 }
        guard i < p.count else { return nil }
        return i..<p.count
    }

    private func same(_ p: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && memcmp(p.baseAddress! + a.lowerBound, p.baseAddress! + b.lowerBound, a.count) == 0
    }

    func applyZone(_ ts: inout Timestamp) {
        let off = zone.offset(forLocal: ts.epochSeconds)
        ts.epochSeconds -= Int64(off)
        ts.offsetSeconds = off
    }

    // MARK: RFC 3164

    private static let months: [(UInt8, UInt8, UInt8)] = [
        (0x6A, 0x61, 0x6E), (0x66, 0x65, 0x62), (0x6D, 0x61, 0x72), (0x61, 0x70, 0x72),
        (0x6D, 0x61, 0x79), (0x6A, 0x75, 0x6E), (0x6A, 0x75, 0x6C), (0x61, 0x75, 0x67),
        (0x73, 0x65, 0x70), (0x6F, 0x63, 0x74), (0x6E, 0x6F, 0x76), (0x64, 0x65, 0x63),
    ]

    /// "Mmm" (any case) at i, as 1-12.
    @inline(__always) private func month(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard i + 3 <= p.count else { return nil }
        let a = p[i] | 0x20, b = p[i + 1] | 0x20, c = p[i + 2] | 0x20
        for (k, m) in Self.months.enumerated() where m.0 == a && m.1 == b && m.2 == c { return k + 1 }
        return nil
    }

    /// `Mmm [ ]d[d] [yyyy ]hh:mm:ss[.frac][:]` → (wall seconds as UTC, nanos, digits, length, hadYear)
    func parse3164Time(_ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> (month: Int, day: Int, year: Int?, secs: Int, nanos: Int32, digits: UInt8, end: Int)? {
        guard let mon = month(p, start), start + 3 < p.count, p[start + 3] == 0x20 else { return nil }
        var i = start + 4
        if i < p.count, p[i] == 0x20 { i += 1 }  // space-padded day
        var day = 0
        var nd = 0
        while i < p.count, Digits.isDigit(p[i]), nd < 2 { day = day * 10 + Int(p[i] &- 48); i += 1; nd += 1 }
        guard nd > 0, day >= 1, day <= 31, i < p.count, p[i] == 0x20 else { return nil }
        i += 1
        var year: Int?
        if let y = Digits.fixed(p, i, 4), i + 4 < p.count, p[i + 4] == 0x20 {  // "Mar 7 2008 19:06:53"
            year = y
            i += 5
        }
        guard let hh = Digits.fixed(p, i, 2), i + 2 < p.count, p[i + 2] == UInt8(ascii: ":"),
              let mm = Digits.fixed(p, i + 3, 2), i + 5 < p.count, p[i + 5] == UInt8(ascii: ":"),
              let ss = Digits.fixed(p, i + 6, 2), hh <= 23, mm <= 59, ss <= 60 else { return nil }
        i += 8
        var nanos: Int32 = 0
        var digits: UInt8 = 0
        if i < p.count, p[i] == UInt8(ascii: "."), i + 1 < p.count, Digits.isDigit(p[i + 1]) {  // Cisco msec
            i += 1
            var scale: Int32 = 100_000_000
            while i < p.count, Digits.isDigit(p[i]) {
                if digits < 9 { nanos += Int32(p[i] &- 48) * scale; scale /= 10; digits += 1 }
                i += 1
            }
        }
        // Without a year Feb 29 may be valid (a leap year is inferred); Feb 30 or Apr 31 never are.
        if day > Civil.daysIn(month: mon, year: year.map(Int64.init) ?? 2000) { return nil }
        return (mon, day, year, hh * 3600 + mm * 60 + ss, nanos, digits, i)
    }

    /// The year, and the wall-clock time in it (seconds as if UTC).
    func inferYear(month: Int, day: Int, secs: Int) -> (year: Int64, wall: Int64) {
        let refYear = referenceYear
        // Nearly every line: the reference's own year fits, and the next year could only
        // fit for a January line read in December.
        if month != 1 || referenceMonth != 12, day <= Civil.daysIn(month: month, year: refYear) {
            let wall = Civil.days(year: refYear, month: month, day: day) * 86_400 + Int64(secs)
            if wall - Int64(zone.offset(forLocal: wall)) <= referenceTime + 86_400 { return (refYear, wall) }
        }
        // Feb 29 exists only in leap years: candidates skip years where the date is invalid.
        var y = refYear + 1
        while y >= refYear - 4 {
            defer { y -= 1 }
            guard day <= Civil.daysIn(month: month, year: y) else { continue }
            let wall = Civil.days(year: y, month: month, day: day) * 86_400 + Int64(secs)
            if wall - Int64(zone.offset(forLocal: wall)) <= referenceTime + 86_400 { return (y, wall) }
        }
        return (refYear, Civil.days(year: refYear, month: month, day: min(day, Civil.daysIn(month: month, year: refYear))) * 86_400 + Int64(secs))
    }

    private func parse3164(_ p: UnsafeBufferPointer<UInt8>, at start: Int, priority: Int?) throws(SyslogError) -> SyslogMessage {
        var m = SyslogMessage(format: .rfc3164)
        m.priority = priority
        var i = start
        if !strict { while i < p.count, p[i] == 0x20 { i += 1 } }  // "<167> Mar  7 ..."
        if let t = parse3164Time(p, i) {
            let wall: Int64
            if let y = t.year {
                wall = Civil.days(year: Int64(y), month: t.month, day: t.day) * 86_400 + Int64(t.secs)
            } else {
                wall = inferYear(month: t.month, day: t.day, secs: t.secs).wall
            }
            var ts = Timestamp(epochSeconds: wall, nanoseconds: t.nanos, fractionDigits: t.digits)
            applyZone(&ts)
            m.timestamp = ts
            i = t.end
        } else if let t = Timestamp.parseISO8601(p, from: i) {
            var ts = t.timestamp
            if !t.hasZone { applyZone(&ts) }
            m.timestamp = ts
            m.timestampHasZone = t.hasZone
            i += t.length
        } else if strict || priority == nil {
            // Without PRI and timestamp nothing says this line is syslog.
            throw SyslogError("expecting a RFC3164 or RFC3339 timestamp", offset: i)
        }
        if m.timestamp != nil {
            if i < p.count, p[i] == UInt8(ascii: ":") { i += 1 }  // Cisco "19:06:53: host"
            if i < p.count {
                guard p[i] == 0x20 else { throw SyslogError("expecting a space after the timestamp", offset: i) }
                i += 1
            }
        }
        // HOSTNAME, unless the next word is already the TAG (relays that omit it).
        var wordEnd = i
        while wordEnd < p.count, p[wordEnd] != 0x20 { wordEnd += 1 }
        if wordEnd > i, m.timestamp != nil, !looksLikeTag(p, i, wordEnd) {
            m.hostnameRange = i..<wordEnd
            i = wordEnd
            if i < p.count { i += 1 }
        }
        // TAG: name[pid]: / name: / name[pid]
        if let tag = parseTag(p, i) {
            m.appnameRange = tag.name
            m.procidRange = tag.pid
            i = tag.end
        }
        m.messageRange = messageRange(p, from: i)
        return m
    }

    /// A word that ends with `:` or `]` (before an optional `:`) is a tag, not a hostname.
    private func looksLikeTag(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        let last = p[e - 1]
        if last == UInt8(ascii: ":") { return true }
        if last == UInt8(ascii: "]") {
            var k = s
            while k < e, p[k] != UInt8(ascii: "[") { k += 1 }
            return k < e - 1
        }
        return false
    }

    /// The tag is the word before the first `:` or `[`, with no space in it.
    private func parseTag(_ p: UnsafeBufferPointer<UInt8>, _ start: Int) -> (name: Range<Int>, pid: Range<Int>?, end: Int)? {
        var i = start
        while i < p.count {
            let b = p[i]
            if b == 0x20 || b == UInt8(ascii: ":") || b == UInt8(ascii: "[") { break }
            i += 1
        }
        guard i > start, i < p.count else { return nil }
        let nameEnd = i
        var pid: Range<Int>?
        if p[i] == UInt8(ascii: "[") {
            let ps = i + 1
            var k = ps
            while k < p.count, p[k] != UInt8(ascii: "]"), p[k] != 0x20 { k += 1 }
            guard k < p.count, p[k] == UInt8(ascii: "]") else { return nil }
            pid = ps..<k
            i = k + 1
            if i < p.count, p[i] == UInt8(ascii: ":") { i += 1 }
            else if i < p.count, p[i] != 0x20 { return nil }
        } else if p[i] == UInt8(ascii: ":") {
            i += 1
        } else {
            return nil  // "Some message here": a word, not a tag
        }
        if i < p.count, p[i] == 0x20 { i += 1 }  // the one space that separates TAG and MSG
        return (start..<nameEnd, pid, i)
    }
}
