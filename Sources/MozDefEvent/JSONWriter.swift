import CFastPath

/// Hand-written JSON writer into one growable byte buffer (RFC 8259).
///
/// Noncopyable with raw storage: every append is a capacity check and a store,
/// with none of Array's uniqueness checks on the hot path. Strings from Swift are
/// valid UTF-8 by construction; raw bytes go through `string(bytes:)`, which
/// replaces invalid sequences with U+FFFD so the output is always valid JSON.
public struct JSONWriter: ~Copyable, @unchecked Sendable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    public internal(set) var count = 0
    /// `smallStringFastPath`, read once: a lazy global costs a call per access.
    @usableFromInline let smallFast = JSONWriter.smallStringFastPath
    /// Last civil day formatted, so consecutive timestamps skip the calendar math.
    @usableFromInline var cachedDay: Int64 = .min
    @usableFromInline var cachedDate: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public mutating func reset() { count = 0 }

    /// A copy of what was written (tests, small uses).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// The written bytes, borrowed.
    public func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always) @usableFromInline mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    @inline(never) @usableFromInline mutating func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: base, count: count)
        base.deallocate()
        base = b
        capacity = c
    }

    @inline(__always) mutating func put(_ b: UInt8) {
        base[count] = b
        count += 1
    }

    @inline(__always) public mutating func raw(_ b: UInt8) {
        reserve(1)
        put(b)
    }

    @inline(__always) public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { append($0) }
    }

    @inline(__always) public mutating func append(_ p: UnsafeBufferPointer<UInt8>) {
        guard let src = p.baseAddress, p.count > 0 else { return }
        reserve(p.count)
        (base + count).update(from: src, count: p.count)
        count += p.count
    }

    @inline(__always) public mutating func string(_ s: String) {
        if smallFast, smallASCII(s) { return }
        // Native strings are contiguous: borrow their bytes without a copy or retain.
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ appendEscaped($0) }) { return done }
        var s = s
        s.withUTF8 { appendEscaped($0) }
    }

    /// Small strings (up to 15 UTF-8 bytes) live inside the String value itself; most
    /// keys and field values are such. On 64-bit platforms the stdlib's stable layout
    /// keeps the bytes in the two words and, in the top byte, a discriminator (0xE_:
    /// immortal, ASCII, small) and the count. Reading them directly skips the
    /// closure-based access, which costs more than the copy for short strings.
    /// `smallStringFastPath` checks the layout once and falls back if it differs.
    @inline(__always) mutating func smallASCII(_ s: String) -> Bool {
        let (w0, w1) = unsafeBitCast(s, to: (UInt64, UInt64).self)
        let top = w1 >> 56
        guard top & 0xF0 == 0xE0 else { return false }
        let n = Int(top & 0x0F)
        let pad: UInt64 = 0x4141_4141_4141_4141
        let m0: UInt64 = n >= 8 ? ~0 : (1 << (8 * UInt64(n))) &- 1
        let m1: UInt64 = n <= 8 ? 0 : (1 << (8 * UInt64(n - 8))) &- 1
        guard Self.isPlain((w0 & m0) | (pad & ~m0)), Self.isPlain((w1 & m1) | (pad & ~m1)) else { return false }
        reserve(n + 18)  // the two words are stored whole; only n bytes are kept
        put(UInt8(ascii: "\""))
        UnsafeMutableRawPointer(base + count).storeBytes(of: w0.littleEndian, as: UInt64.self)
        UnsafeMutableRawPointer(base + count + 8).storeBytes(of: w1.littleEndian, as: UInt64.self)
        count += n
        put(UInt8(ascii: "\""))
        return true
    }

    static let smallStringFastPath: Bool = {
        guard MemoryLayout<String>.size == 16, UInt64(1).littleEndian == 1 else { return false }
        // Verify the layout on this runtime with strings built at run time.
        for probe in ["", "a", "ab\u{7F}", "0123456789abcde", String(repeating: "x", count: 7)] {
            let (_, w1) = unsafeBitCast(probe, to: (UInt64, UInt64).self)
            guard w1 >> 56 == 0xE0 | UInt64(probe.utf8.count) else { return false }
        }
        return true
    }()

    /// Writes bytes of unknown validity as a JSON string, repairing bad UTF-8.
    public mutating func string(bytes src: UnsafeBufferPointer<UInt8>) {
        if UTF8Validation.isValid(src) {
            appendEscaped(src)
        } else {
            string(String(decoding: src, as: UTF8.self))
        }
    }

    public mutating func int(_ v: Int64) {
        reserve(20)
        if v < 0 {
            put(UInt8(ascii: "-"))
            appendUnsigned(v.magnitude)  // via magnitude so Int64.min does not trap
        } else {
            appendUnsigned(UInt64(v))
        }
    }

    public mutating func double(_ v: Double) {
        // JSON has no NaN or infinity: write null rather than invalid JSON.
        guard v.isFinite else { raw("null"); return }
        if v == v.rounded(), abs(v) < 1e15 {
            // A whole double stays a double (1698.0, as Python's json writes it): written as an
            // integer, a store such as Elasticsearch would map the field as an integer type.
            int(Int64(v))
            raw(".0")
        } else {
            var d = v.description
            d.withUTF8 { append($0) }
        }
    }

    public mutating func bool(_ v: Bool) { v ? raw("true") : raw("false") }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let a):
            raw(UInt8(ascii: "["))
            var first = true
            for e in a {
                if !first { raw(UInt8(ascii: ",")) }
                first = false
                value(e)
            }
            raw(UInt8(ascii: "]"))
        case .object(let o): object(o)
        }
    }

    public mutating func object(_ o: JSONObject) {
        raw(UInt8(ascii: "{"))
        o.members.withUnsafeBufferPointer { ms in
            for i in ms.indices {
                if i > 0 { raw(UInt8(ascii: ",")) }
                string(ms[i].key)
                raw(UInt8(ascii: ":"))
                value(ms[i].value)
            }
        }
        raw(UInt8(ascii: "}"))
    }

    /// Writes `"key":` (with a leading comma unless `first`).
    @inline(__always) public mutating func key(_ k: StaticString, first: Bool = false) {
        let n = k.utf8CodeUnitCount
        reserve(n + 4)
        if !first { put(UInt8(ascii: ",")) }
        count += mds_json_plain(base + count, k.utf8Start, n, 1)
    }

    /// Caller reserved 20 bytes.
    @inline(__always) private mutating func appendUnsigned(_ v: UInt64) {
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        var n = v
        var i = count + digits
        repeat {
            i -= 1
            base[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
            n /= 10
        } while n > 0
        count += digits
    }

    /// True when none of the 8 bytes is a control byte, '"' or '\\' (SWAR test).
    @inline(__always) static func isPlain(_ w: UInt64) -> Bool {
        let lows: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let ctrl = (w &- lows &* 0x20) & ~w & highs
        let q = w ^ (lows &* 0x22), bs = w ^ (lows &* 0x5C)
        let quote = (q &- lows) & ~q & highs
        let slash = (bs &- lows) & ~bs & highs
        return ctrl | quote | slash == 0
    }

    /// Copies the string, quoted, escaping `"`, `\\` and control bytes (RFC 8259);
    /// the scan and copy run 16 bytes at a time in C (SSE2).
    @usableFromInline mutating func appendEscaped(_ src: UnsafeBufferPointer<UInt8>) {
        let n = src.count
        guard let s = src.baseAddress else { raw("\"\""); return }
        reserve(6 * n + 18)
        count += mds_json_string(base + count, s, n)
    }

    // MARK: timestamps

    /// `"YYYY-MM-DDTHH:MM:SS[.fff]±HH:MM"` with the quotes.
    public mutating func timestamp(_ t: Timestamp, utc: Bool) {
        reserve(48)
        put(UInt8(ascii: "\""))
        let off = utc ? 0 : Int64(t.offsetSeconds)
        let local = t.epochSeconds + off
        var days = local / 86_400
        var secs = local % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        // Three slots: an event's time in its own offset and in UTC (written separately
        // when the offset is not zero), and one more for neighbouring events.
        if let slot = clockSlot(local) {
            copyClock(slot)
        } else {
            if days != cachedDay { cacheDate(days) }
            if cachedDate.0 == 0xFF {  // outside 0000-9999: rare, take the slow path
                var s = t.iso8601(utc: utc)
                s.withUTF8 { append($0) }
                raw(UInt8(ascii: "\""))
                return
            }
            let start = count
            withUnsafeBytes(of: cachedDate) { (base + count).update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 10) }
            count += 10
            put(UInt8(ascii: "T"))
            two(Int(secs / 3600)); put(UInt8(ascii: ":"))
            two(Int(secs / 60 % 60)); put(UInt8(ascii: ":"))
            two(Int(secs % 60))
            storeClock(local, from: base + start)
        }
        if t.fractionDigits > 0 {
            // Only the digits kept, right to left with constant divisors (multiplies).
            put(UInt8(ascii: "."))
            let n = min(Int(t.fractionDigits), 9)
            var v = UInt32(t.nanoseconds) / Self.fractionScale(n)
            var k = n
            while k > 0 {
                k -= 1
                base[count + k] = UInt8(48 + v % 10)
                v /= 10
            }
            count += n
        }
        if off == 0 {
            // "+00:00" and the closing quote as one store (room was reserved).
            UnsafeMutableRawPointer(base + count).storeBytes(of: Self.utcSuffix, as: UInt64.self)
            count += 7
            return
        }
        let o = Int(off)
        put(o < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        let a = abs(o)
        two(a / 3600); put(UInt8(ascii: ":")); two(a / 60 % 60)
        put(UInt8(ascii: "\""))
    }

    // "YYYY-MM-DDTHH:MM:SS" for the last three local seconds values formatted.
    @usableFromInline var clockKeys: (Int64, Int64, Int64) = (.min, .min, .min)
    @usableFromInline var clockText: (Clock19, Clock19, Clock19) = (Clock19(), Clock19(), Clock19())
    @usableFromInline var clockNext = 0

    @inline(__always) func clockSlot(_ key: Int64) -> Int? {
        if clockKeys.0 == key { return 0 }
        if clockKeys.1 == key { return 1 }
        if clockKeys.2 == key { return 2 }
        return nil
    }

    /// Three word stores (the caller reserved room past the 19 bytes kept).
    @inline(__always) mutating func copyClock(_ slot: Int) {
        let c = slot == 0 ? clockText.0 : (slot == 1 ? clockText.1 : clockText.2)
        let dst = UnsafeMutableRawPointer(base + count)
        dst.storeBytes(of: c.a, as: UInt64.self)
        dst.storeBytes(of: c.b, toByteOffset: 8, as: UInt64.self)
        dst.storeBytes(of: c.c, toByteOffset: 16, as: UInt64.self)
        count += 19
    }

    mutating func storeClock(_ key: Int64, from p: UnsafePointer<UInt8>) {
        var c = Clock19()
        withUnsafeMutableBytes(of: &c) { $0.baseAddress!.copyMemory(from: p, byteCount: 19) }
        switch clockNext {
        case 0: clockKeys.0 = key; clockText.0 = c
        case 1: clockKeys.1 = key; clockText.1 = c
        default: clockKeys.2 = key; clockText.2 = c
        }
        clockNext = (clockNext + 1) % 3
    }

    /// 10^(9-n): dividing nanoseconds by it leaves the first n fraction digits.
    /// (A switch, not a global table: a lazy global costs a call per access.)
    @inline(__always) static func fractionScale(_ n: Int) -> UInt32 {
        switch n {
        case 0: 1_000_000_000
        case 1: 100_000_000
        case 2: 10_000_000
        case 3: 1_000_000
        case 4: 100_000
        case 5: 10_000
        case 6: 1_000
        case 7: 100
        case 8: 10
        default: 1
        }
    }
    /// The bytes `+00:00"` in memory order on a little-endian machine, then a zero.
    static var utcSuffix: UInt64 { UInt64(0x0022_3030_3A30_302B).littleEndian }

    @inline(__always) private mutating func two(_ v: Int) {
        put(UInt8(48 + v / 10 % 10))
        put(UInt8(48 + v % 10))
    }

    @usableFromInline mutating func cacheDate(_ days: Int64) {
        cachedDay = days
        let (y, m, d) = Civil.date(days: days)
        guard y >= 0 && y <= 9999 else { cachedDate.0 = 0xFF; return }
        let yy = Int(y)
        cachedDate = (UInt8(48 + yy / 1000), UInt8(48 + yy / 100 % 10), UInt8(48 + yy / 10 % 10), UInt8(48 + yy % 10),
                      UInt8(ascii: "-"), UInt8(48 + m / 10), UInt8(48 + m % 10),
                      UInt8(ascii: "-"), UInt8(48 + d / 10), UInt8(48 + d % 10))
    }
}

/// 19 bytes of "YYYY-MM-DDTHH:MM:SS" (padded to 24).
@usableFromInline struct Clock19 {
    @usableFromInline var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0
    @usableFromInline init() {}
}

/// UTF-8 validation per RFC 3629 (no overlongs, no surrogates, max U+10FFFF).
public enum UTF8Validation {
    public static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = p.count
        guard let base = p.baseAddress else { return true }
        while i < n {
            // ASCII runs 16 bytes at a time (C, SSE2): most log text is ASCII.
            i += mds_ascii_prefix(base + i, n - i)
            if i == n { break }
            let b0 = p[i]
            let len: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: len = 2
            case 0xE0: len = 3; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: len = 3
            case 0xED: len = 3; hi = 0x9F
            case 0xF0: len = 4; lo = 0x90
            case 0xF1...0xF3: len = 4
            case 0xF4: len = 4; hi = 0x8F
            default: return false
            }
            guard i + len <= n else { return false }
            let b1 = p[i + 1]
            guard b1 >= lo && b1 <= hi else { return false }
            var k = 2
            while k < len {
                guard p[i + k] & 0xC0 == 0x80 else { return false }
                k += 1
            }
            i += len
        }
        return true
    }
}
