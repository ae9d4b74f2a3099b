#if canImport(Glibc)
import Glibc
#endif
import CFastPath

/// Allocation-free JSON scanning for the record path: values are located and
/// validated in place (C kernels), strings are unescaped only when they hold escapes.
/// Input must already be valid UTF-8.
public enum JSONScan {
    public static let maxDepth = 64

    @inline(__always) public static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }

    @inline(__always) public static func skipSpace(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var i = i
        while i < p.count, isSpace(p[i]) { i += 1 }
        return i
    }

    /// The length of the JSON number at p[i], or 0.
    /// Whether all of `p` is a JSON number that a double can hold: 1e400 is valid JSON but
    /// reads as infinity (RFC 8259 §6: such numbers do not interoperate), so it is kept as
    /// text instead.
    public static func isPortableNumber(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard p.count > 0, numberLength(p, 0) == p.count else { return false }
        if p.count <= 15 && !p.contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) { return true }
        return double(p).isFinite
    }

    /// The value of a JSON number's text (strtod needs a NUL-terminated copy; numbers are short).
    public static func double(_ p: UnsafeBufferPointer<UInt8>) -> Double {
        var buf = [CChar](repeating: 0, count: p.count + 1)
        for k in 0..<p.count { buf[k] = CChar(bitPattern: p[k]) }
        return strtod(buf, nil)
    }

    public static func numberLength(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var k = i
        let n = p.count
        if k < n, p[k] == UInt8(ascii: "-") { k += 1 }
        guard k < n else { return 0 }
        if p[k] == UInt8(ascii: "0") {
            k += 1
        } else if p[k] &- 49 < 9 {
            while k < n, p[k] &- 48 < 10 { k += 1 }
        } else {
            return 0
        }
        if k < n, p[k] == UInt8(ascii: ".") {
            k += 1
            guard k < n, p[k] &- 48 < 10 else { return 0 }
            while k < n, p[k] &- 48 < 10 { k += 1 }
        }
        if k < n, p[k] | 0x20 == UInt8(ascii: "e") {
            k += 1
            if k < n, p[k] == UInt8(ascii: "+") || p[k] == UInt8(ascii: "-") { k += 1 }
            guard k < n, p[k] &- 48 < 10 else { return 0 }
            while k < n, p[k] &- 48 < 10 { k += 1 }
        }
        return k - i
    }

    /// For a string token at p[i] (the opening quote): the index of its closing quote, or nil.
    @inline(__always) public static func stringEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, escaped: inout Bool) -> Int? {
        guard let base = p.baseAddress, i + 1 <= p.count else { return nil }
        var esc: Int32 = 0
        let e = mds_json_string_end(base + i + 1, p.count - i - 1, &esc)
        if esc != 0 { escaped = true }
        return e < 0 ? nil : i + 1 + e
    }

    /// The end (exclusive) of the valid JSON value at p[i], or nil.
    @inline(__always) public static func valueEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, maxDepth: Int = maxDepth) -> Int? {
        guard let base = p.baseAddress, i < p.count else { return nil }
        let e = mds_json_value_end(base, p.count, i, Int32(maxDepth))
        return e < 0 ? nil : e
    }

    /// Appends the unescaped body of a valid string token (`body` excludes the quotes).
    /// Lone surrogates become U+FFFD, so the result is valid UTF-8.
    public static func unescape(_ p: UnsafeBufferPointer<UInt8>, _ body: Range<Int>, into out: inout [UInt8]) {
        var i = body.lowerBound
        let end = body.upperBound
        while i < end {
            var j = i
            while j < end, p[j] != UInt8(ascii: "\\") { j += 1 }
            if j > i { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j])) }
            i = j
            guard i + 1 < end else { break }
            let c = p[i + 1]
            i += 2
            switch c {
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var v = hex4(p, i)
                i += 4
                if v & 0xFC00 == 0xD800, i + 6 <= end, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") {
                    let lo = hex4(p, i + 2)
                    if lo & 0xFC00 == 0xDC00 {
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                        i += 6
                    }
                }
                if v & 0xF800 == 0xD800 { v = 0xFFFD }
                appendScalar(v, to: &out)
            default: out.append(c)  // " \ /
            }
        }
    }

    @inline(__always) static func hex4(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt8 = c &- 48 < 10 ? c &- 48 : (c | 0x20) &- 87
            v = v << 4 | UInt32(d)
        }
        return v
    }

    public static func appendScalar(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80: out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// Validates the object or array at p[i] and appends it compactly with its keys lowercased;
    /// returns the end of the value in p, or nil (nothing appended) when it is not valid JSON.
    /// `scratch` is working room kept by the caller between calls.
    /// `captures` (see mds_json_capture) get offsets into `out`.
    public static func appendLowercasingKeys(_ p: UnsafeBufferPointer<UInt8>, from i: Int, scratch: inout [UInt8],
                                             to out: inout [UInt8],
                                             captures: UnsafeMutableBufferPointer<mds_json_capture>? = nil) -> Int? {
        let room = p.count - i
        if scratch.count < room { scratch = [UInt8](repeating: 0, count: max(room, scratch.count * 2)) }
        var written = 0
        let end = scratch.withUnsafeMutableBufferPointer { o in
            mds_json_lower_copy_value(o.baseAddress!, p.baseAddress!, p.count, i, Int32(maxDepth - 1), &written,
                                      captures?.baseAddress, Int32(captures?.count ?? 0))
        }
        if end >= 0, let captures {
            let base = out.count
            for k in captures.indices where captures[k].start >= 0 {
                captures[k].start += base
                captures[k].end += base
            }
        }
        guard end >= 0 else { return nil }
        scratch.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<written])) }
        return end
    }

    /// A raw value to write on one line: `r` itself, or (when it spans lines) a compact copy
    /// appended to `out`. Output is one event per line, so raw JSON must not carry a newline.
    public static func oneLine(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, into out: inout [UInt8]) -> Range<Int> {
        guard let base = p.baseAddress, r.count > 1,
              memchr(base + r.lowerBound, 0x0A, r.count) != nil || memchr(base + r.lowerBound, 0x0D, r.count) != nil else { return r }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: r.count))
        let n = out.withUnsafeMutableBufferPointer { o in mds_json_copy_compact(o.baseAddress! + start, base + r.lowerBound, r.count) }
        out.removeLast(r.count - n)
        return start..<out.count
    }

    /// One member of an object, located in place.
    public struct Member: Sendable {
        /// The key's body (inside the quotes).
        public var key: Range<Int>
        public var keyEscaped: Bool
        /// The value's token; for strings, including the quotes.
        public var value: Range<Int>
        /// For strings: true when the body holds escapes.
        public var valueEscaped: Bool
        public var first: UInt8
    }

    /// Iterates the members of the object at p[i] (the `{`), validating as it goes.
    public struct ObjectIterator {
        public let p: UnsafeBufferPointer<UInt8>
        public var i: Int
        public private(set) var failed = false
        public private(set) var end = 0
        var started = false

        public init?(_ p: UnsafeBufferPointer<UInt8>, at i: Int) {
            guard i < p.count, p[i] == UInt8(ascii: "{") else { return nil }
            self.p = p
            self.i = i + 1
        }

        /// The next member, or nil at the end (check `failed`).
        public mutating func next() -> Member? {
            i = skipSpace(p, i)
            guard i < p.count else { failed = true; return nil }
            if p[i] == UInt8(ascii: "}") {
                if started { failed = true; return nil }  // "{...,}" is invalid
                end = i + 1
                return nil
            }
            started = true
            guard p[i] == UInt8(ascii: "\"") else { failed = true; return nil }
            var kEsc = false
            guard let ke = stringEnd(p, i, escaped: &kEsc) else { failed = true; return nil }
            let key = (i + 1)..<ke
            i = skipSpace(p, ke + 1)
            guard i < p.count, p[i] == UInt8(ascii: ":") else { failed = true; return nil }
            i = skipSpace(p, i + 1)
            guard i < p.count else { failed = true; return nil }
            let first = p[i]
            var vEsc = false
            let ve: Int?
            if first == UInt8(ascii: "\"") {
                ve = stringEnd(p, i, escaped: &vEsc).map { $0 + 1 }
            } else if first &- 48 < 10 || first == UInt8(ascii: "-") {
                let n = numberLength(p, i)
                ve = n > 0 ? i + n : nil
            } else {
                ve = valueEnd(p, i, maxDepth: maxDepth - 1)
            }
            guard let ve else { failed = true; return nil }
            let m = Member(key: key, keyEscaped: kEsc, value: i..<ve, valueEscaped: vEsc, first: first)
            i = skipSpace(p, ve)
            if i < p.count, p[i] == UInt8(ascii: ",") {
                i += 1
                started = false  // a member must follow
                i = skipSpace(p, i)
                if i < p.count, p[i] == UInt8(ascii: "}") { failed = true; return nil }
                started = true
                return m
            }
            guard i < p.count, p[i] == UInt8(ascii: "}") else { failed = true; return nil }
            // Leave i on the '}' so the next call ends cleanly.
            started = false
            return m
        }
    }
}
