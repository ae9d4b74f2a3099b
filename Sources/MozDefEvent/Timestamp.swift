/// An instant plus the UTC offset the source wrote it with.
///
/// `timestamp` in a MozDef event keeps the source's offset; `utctimestamp`
/// is the same instant at `+00:00`. Hand-written because Foundation's ISO 8601
/// parsers are 20-2000x slower than this on the hot path.
public struct Timestamp: Sendable, Hashable, Comparable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var epochSeconds: Int64
    /// 0 ..< 1_000_000_000.
    public var nanoseconds: Int32
    /// The source's offset from UTC in seconds (east positive).
    public var offsetSeconds: Int32
    /// Fraction digits to print (0-9): the source's precision is kept.
    public var fractionDigits: UInt8

    public init(epochSeconds: Int64, nanoseconds: Int32 = 0, offsetSeconds: Int32 = 0, fractionDigits: UInt8 = 0) {
        self.epochSeconds = epochSeconds
        self.nanoseconds = nanoseconds
        self.offsetSeconds = offsetSeconds
        self.fractionDigits = fractionDigits
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.epochSeconds, a.nanoseconds) < (b.epochSeconds, b.nanoseconds)
    }

    /// Microseconds since the epoch (the receiver's stored times).
    public var epochMicroseconds: Int64 { epochSeconds * 1_000_000 + Int64(nanoseconds / 1000) }

    /// The same instant with offset +00:00.
    public var utc: Timestamp {
        Timestamp(epochSeconds: epochSeconds, nanoseconds: nanoseconds, offsetSeconds: 0, fractionDigits: fractionDigits)
    }
}

// MARK: civil calendar

/// Proleptic Gregorian conversions (days since 1970-01-01), after the
/// well-known era-based algorithm; valid for every Int64 day in practice.
public enum Civil {
    @inlinable public static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func date(days z0: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    @inlinable public static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    @inlinable public static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Epoch seconds of a wall-clock time taken as UTC.
    @inlinable public static func seconds(year: Int64, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64 {
        days(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}

// MARK: formatting

extension Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.fff]±HH:MM`; `utc` prints the instant at +00:00.
    public func write(to out: inout [UInt8], utc: Bool = false) {
        let off = utc ? 0 : Int64(offsetSeconds)
        let local = epochSeconds + off
        var days = local / 86_400
        var secs = local % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        let (y, m, d) = Civil.date(days: days)
        if y >= 0 && y <= 9999 {
            let yy = Int(y)
            out.append(UInt8(48 + yy / 1000)); out.append(UInt8(48 + yy / 100 % 10))
            out.append(UInt8(48 + yy / 10 % 10)); out.append(UInt8(48 + yy % 10))
        } else {
            out.append(contentsOf: String(y).utf8)
        }
        out.append(UInt8(ascii: "-")); Self.two(m, &out)
        out.append(UInt8(ascii: "-")); Self.two(d, &out)
        out.append(UInt8(ascii: "T")); Self.two(Int(secs / 3600), &out)
        out.append(UInt8(ascii: ":")); Self.two(Int(secs / 60 % 60), &out)
        out.append(UInt8(ascii: ":")); Self.two(Int(secs % 60), &out)
        if fractionDigits > 0 {
            out.append(UInt8(ascii: "."))
            var div: Int32 = 100_000_000
            for _ in 0..<min(Int(fractionDigits), 9) {
                out.append(UInt8(48 + (nanoseconds / div) % 10))
                div /= 10
            }
        }
        var o = Int(off)
        out.append(o < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        o = abs(o)
        Self.two(o / 3600, &out)
        out.append(UInt8(ascii: ":"))
        Self.two(o / 60 % 60, &out)
    }

    @inline(__always) static func two(_ v: Int, _ out: inout [UInt8]) {
        out.append(UInt8(48 + v / 10 % 10))
        out.append(UInt8(48 + v % 10))
    }

    public func iso8601(utc: Bool = false) -> String {
        var b: [UInt8] = []
        b.reserveCapacity(40)
        write(to: &b, utc: utc)
        return String(decoding: b, as: UTF8.self)
    }
}

extension Timestamp: CustomStringConvertible {
    public var description: String { iso8601() }
}

// MARK: parsing

/// Cursor-free digit helpers over a byte buffer.
public enum Digits {
    @inlinable @inline(__always) public static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }

    /// Reads exactly `n` digits at `i`, or nil.
    @inlinable @inline(__always) public static func fixed(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        guard i + n <= p.count else { return nil }
        var v = 0
        for k in i..<(i + n) {
            let d = p[k] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }
}

extension Timestamp {
    public struct ParseOptions: Sendable {
        /// RFC 5424 TIMESTAMP: `T` separator, a zone, at most 6 fraction digits.
        public var rfc5424Strict: Bool
        public init(rfc5424Strict: Bool = false) { self.rfc5424Strict = rfc5424Strict }
    }

    public struct Parsed: Sendable {
        /// When `hasZone` is false the instant was computed as if the wall time were UTC,
        /// and `offsetSeconds` is 0: the caller applies its default zone.
        public var timestamp: Timestamp
        public var hasZone: Bool
        /// Bytes consumed.
        public var length: Int
    }

    /// RFC 3339 / ISO 8601 extended: `YYYY-MM-DD(T|t| )HH:MM[:SS[.f+]][Z|±HH[:MM]|±HHMM]`.
    /// Stops at the first byte past the timestamp; the caller checks what follows.
    public static func parseISO8601(_ p: UnsafeBufferPointer<UInt8>, from start: Int = 0,
                                     options: ParseOptions = .init()) -> Parsed? {
        var i = start
        guard let year = Digits.fixed(p, i, 4), i + 4 < p.count, p[i + 4] == UInt8(ascii: "-"),
              let month = Digits.fixed(p, i + 5, 2), i + 7 < p.count, p[i + 7] == UInt8(ascii: "-"),
              let day = Digits.fixed(p, i + 8, 2)
        else { return nil }
        i += 10
        guard month >= 1, month <= 12, day >= 1, day <= Civil.daysIn(month: month, year: Int64(year)) else { return nil }
        guard i < p.count else { return nil }
        let sep = p[i]
        if options.rfc5424Strict {
            guard sep == UInt8(ascii: "T") else { return nil }
        } else {
            guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        }
        i += 1
        guard let hour = Digits.fixed(p, i, 2), i + 2 < p.count, p[i + 2] == UInt8(ascii: ":"),
              let minute = Digits.fixed(p, i + 3, 2) else { return nil }
        i += 5
        var second = 0
        if i < p.count, p[i] == UInt8(ascii: ":") {
            guard let s = Digits.fixed(p, i + 1, 2) else { return nil }
            second = s
            i += 3
        } else if options.rfc5424Strict {
            return nil
        }
        // RFC 3339 allows second 60 (leap second); it is folded into the next second.
        guard hour <= 23, minute <= 59, second <= 60 else { return nil }
        var nanos: Int32 = 0
        var digits: UInt8 = 0
        if i < p.count, p[i] == UInt8(ascii: ".") || (!options.rfc5424Strict && p[i] == UInt8(ascii: ",")) {
            i += 1
            var scale: Int32 = 100_000_000
            let fracStart = i
            while i < p.count, Digits.isDigit(p[i]) {
                if digits < 9 {
                    nanos += Int32(p[i] &- 48) * scale
                    scale /= 10
                    digits += 1
                }
                i += 1
            }
            let n = i - fracStart
            guard n > 0 else { return nil }
            if options.rfc5424Strict && n > 6 { return nil }
        }
        var offset = 0
        var hasZone = false
        if i < p.count {
            let z = p[i]
            if z == UInt8(ascii: "Z") || (z == UInt8(ascii: "z") && !options.rfc5424Strict) {
                hasZone = true
                i += 1
            } else if z == UInt8(ascii: "+") || z == UInt8(ascii: "-") {
                guard let oh = Digits.fixed(p, i + 1, 2) else { return nil }
                var om = 0
                if i + 3 < p.count, p[i + 3] == UInt8(ascii: ":") {
                    guard let m = Digits.fixed(p, i + 4, 2) else { return nil }
                    om = m
                    i += 6
                } else if options.rfc5424Strict {
                    return nil
                } else if let m = Digits.fixed(p, i + 3, 2) {
                    om = m
                    i += 5
                } else {
                    i += 3
                }
                guard oh <= 23, om <= 59 else { return nil }
                offset = (oh * 3600 + om * 60) * (z == UInt8(ascii: "-") ? -1 : 1)
                hasZone = true
            }
        }
        if options.rfc5424Strict && !hasZone { return nil }
        let wall = Civil.seconds(year: Int64(year), month: month, day: day, hour: hour, minute: minute, second: second)
        let ts = Timestamp(epochSeconds: wall - Int64(offset), nanoseconds: nanos,
                           offsetSeconds: Int32(offset), fractionDigits: digits)
        return Parsed(timestamp: ts, hasZone: hasZone, length: i - start)
    }

    public static func parseISO8601(_ s: String, options: ParseOptions = .init()) -> Parsed? {
        var s = s
        return s.withUTF8 { p in
            guard let r = parseISO8601(p, options: options), r.length == p.count else { return nil }
            return r
        }
    }

    /// Seconds from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z: the times RFC 3339 (four
    /// year digits) can write. A time outside is not a time an event can carry.
    public static let writableSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// Epoch time from an integer by digit count, as MozDef's toUTC does:
    /// 10 digits are seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds.
    /// Values ≤ 0 are the epoch itself.
    public static func fromEpoch(integer v: Int64) -> Timestamp {
        guard v > 0 else { return Timestamp(epochSeconds: 0) }
        var digits = 0
        var t = v
        while t > 0 { digits += 1; t /= 10 }
        let extra = digits > 10 ? digits - 10 : 0
        // Scale 13/16/19-digit values to their natural unit, keeping the fraction.
        let unitDigits = extra <= 0 ? 0 : (extra <= 3 ? 3 : (extra <= 6 ? 6 : 9))
        var div: Int64 = 1
        for _ in 0..<unitDigits { div *= 10 }
        let secs = v / div
        let frac = v % div
        var nanos = frac
        for _ in unitDigits..<9 { nanos *= 10 }
        return Timestamp(epochSeconds: secs, nanoseconds: Int32(nanos),
                         fractionDigits: frac == 0 ? 0 : UInt8(unitDigits))
    }

    /// Epoch time from a number of seconds; values with more than 10 integer
    /// digits are scaled down to seconds (ms, µs or ns), as MozDef does.
    public static func fromEpoch(seconds v: Double) -> Timestamp? {
        guard v.isFinite else { return nil }
        guard v > 0 else { return Timestamp(epochSeconds: 0) }
        var x = v
        while x >= 1e10 { x /= 1000 }  // 11+ integer digits: a smaller unit
        let secs = x.rounded(.down)
        guard Self.writableSeconds.contains(Int64(secs) + 1) else { return nil }
        // Microseconds, as MozDef's isoformat writes: a double has no more precision here.
        let micros = Int32(((x - secs) * 1e6).rounded())
        if micros >= 1_000_000 {
            return Timestamp(epochSeconds: Int64(secs) + 1, fractionDigits: 0)
        }
        return Timestamp(epochSeconds: Int64(secs), nanoseconds: micros * 1000, fractionDigits: micros == 0 ? 0 : 6)
    }
}
