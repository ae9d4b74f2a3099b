/// Hand-written JSON writer into a reused byte buffer (RFC 8259).
///
/// Strings from Swift are valid UTF-8 by construction; raw bytes go through
/// `string(bytes:)`, which replaces invalid sequences with U+FFFD so the output
/// is always valid JSON.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always) public mutating func raw(_ b: UInt8) { bytes.append(b) }
    @inline(__always) public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { appendEscaped($0) }
    }

    public mutating func string(_ s: Substring) {
        var s = s
        s.withUTF8 { appendEscaped($0) }
    }

    /// Writes bytes of unknown validity as a JSON string, repairing bad UTF-8.
    public mutating func string(bytes src: UnsafeBufferPointer<UInt8>) {
        if UTF8Validation.isValid(src) {
            appendEscaped(src)
        } else {
            string(String(decoding: src, as: UTF8.self))
        }
    }

    public mutating func int(_ v: Int64) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            // Negate via magnitude so Int64.min does not trap.
            appendUnsigned(v.magnitude)
        } else {
            appendUnsigned(UInt64(v))
        }
    }

    public mutating func double(_ v: Double) {
        // JSON has no NaN or infinity: write null rather than invalid JSON.
        guard v.isFinite else { raw("null"); return }
        if v == v.rounded(), abs(v) < 1e15 {
            int(Int64(v))
        } else {
            bytes.append(contentsOf: v.description.utf8)
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
            bytes.append(UInt8(ascii: "["))
            for (i, e) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                value(e)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o): object(o)
        }
    }

    public mutating func object(_ o: JSONObject) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for m in o.members {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            string(m.key)
            bytes.append(UInt8(ascii: ":"))
            value(m.value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes `"key":` (with a leading comma unless `first`).
    @inline(__always) public mutating func key(_ k: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func appendUnsigned(_ v: UInt64) {
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, no heap
        var n = v
        withUnsafeMutableBytes(of: &tmp) { buf in
            var i = 24
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: n % 10) &+ 48
                n /= 10
            } while n > 0
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    private static let hex: StaticString = "0123456789abcdef"

    /// Copies runs of safe bytes in bulk and escapes only `"`, `\` and controls.
    private mutating func appendEscaped(_ src: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = src.count
        while i < n {
            let b = src[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C {
                i += 1
                continue
            }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<i])) }
            bytes.append(UInt8(ascii: "\\"))
            switch b {
            case 0x22: bytes.append(0x22)
            case 0x5C: bytes.append(0x5C)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                raw("u00")
                Self.hex.withUTF8Buffer { h in
                    bytes.append(h[Int(b >> 4)])
                    bytes.append(h[Int(b & 0xF)])
                }
            }
            i += 1
            runStart = i
        }
        if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: src[runStart..<n])) }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// UTF-8 validation per RFC 3629 (no overlongs, no surrogates, max U+10FFFF).
public enum UTF8Validation {
    public static func isValid(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = p.count
        while i < n {
            let b0 = p[i]
            if b0 < 0x80 { i += 1; continue }
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
