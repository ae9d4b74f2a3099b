#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a JSON text was refused (byte offset where reading stopped).
public typealias JSONReadError = ParseError

/// Why bytes could not be parsed, with the 0-based byte offset where parsing stopped.
/// Shared by the readers of the different formats.
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public init(_ reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }
    public var description: String { "\(reason) at byte \(offset + 1)" }
}

/// A hand-written JSON reader (RFC 8259) into `JSONValue`: objects keep their key
/// order (a repeated key keeps its last value), integers that fit are `.int`,
/// other numbers `.double`. Nesting deeper than `maxDepth` is refused, so hostile
/// input cannot exhaust the stack. Lone UTF-16 surrogates in `\u` escapes become
/// U+FFFD; raw bytes that are not UTF-8 are refused.
public struct JSONReader {
    public static let defaultMaxDepth = 64

    private let p: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let maxDepth: Int

    private init(_ p: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.p = p
        self.maxDepth = maxDepth
    }

    /// Reads exactly one JSON value (surrounding white space allowed).
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONReadError) -> JSONValue {
        var r = JSONReader(p, maxDepth: maxDepth)
        r.skipSpace()
        let v = try r.value(depth: 0)
        r.skipSpace()
        guard r.i == p.count else { throw JSONReadError("unexpected data after the JSON value", offset: r.i) }
        return v
    }

    public static func parse(_ s: String, maxDepth: Int = defaultMaxDepth) throws(JSONReadError) -> JSONValue {
        var s = s
        let r = s.withUTF8 { p in Result { () throws(JSONReadError) in try parse(p, maxDepth: maxDepth) } }
        return try r.get()
    }

    @inline(__always) private mutating func skipSpace() {
        while i < p.count {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    private mutating func value(depth: Int) throws(JSONReadError) -> JSONValue {
        guard i < p.count else { throw JSONReadError("unexpected end of input", offset: i) }
        switch p[i] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw JSONReadError("unexpected character", offset: i)
        }
    }

    private mutating func literal(_ s: StaticString) throws(JSONReadError) {
        let n = s.utf8CodeUnitCount
        guard i + n <= p.count, memcmp(p.baseAddress! + i, s.utf8Start, n) == 0 else {
            throw JSONReadError("invalid literal", offset: i)
        }
        i += n
    }

    private mutating func object(depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONReadError("nesting deeper than \(maxDepth)", offset: i) }
        i += 1
        var o = JSONObject()
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
        while true {
            guard i < p.count, p[i] == UInt8(ascii: "\"") else { throw JSONReadError("expected a string key", offset: i) }
            let k = try string()
            skipSpace()
            guard i < p.count, p[i] == UInt8(ascii: ":") else { throw JSONReadError("expected ':'", offset: i) }
            i += 1
            skipSpace()
            let v = try value(depth: depth)
            o[k] = v
            skipSpace()
            guard i < p.count else { throw JSONReadError("unexpected end of input in an object", offset: i) }
            if p[i] == UInt8(ascii: ",") { i += 1; skipSpace(); continue }
            if p[i] == UInt8(ascii: "}") { i += 1; return .object(o) }
            throw JSONReadError("expected ',' or '}'", offset: i)
        }
    }

    private mutating func array(depth: Int) throws(JSONReadError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONReadError("nesting deeper than \(maxDepth)", offset: i) }
        i += 1
        var a: [JSONValue] = []
        skipSpace()
        if i < p.count, p[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
            a.append(try value(depth: depth))
            skipSpace()
            guard i < p.count else { throw JSONReadError("unexpected end of input in an array", offset: i) }
            if p[i] == UInt8(ascii: ",") { i += 1; skipSpace(); continue }
            if p[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            throw JSONReadError("expected ',' or ']'", offset: i)
        }
    }

    private mutating func string() throws(JSONReadError) -> String {
        let open = i
        i += 1
        let start = i
        // Fast path: no escapes, valid UTF-8, no control bytes.
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: p[start..<i])
                guard UTF8Validation.isValid(raw) else { throw JSONReadError("string is not UTF-8", offset: start) }
                i += 1
                return String(decoding: raw, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw JSONReadError("control character in a string", offset: i) }
            i += 1
        }
        guard i < p.count else { throw JSONReadError("unterminated string", offset: open) }
        var out: [UInt8] = Array(p[start..<i])
        while i < p.count {
            let b = p[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                guard out.withUnsafeBufferPointer(UTF8Validation.isValid) else {
                    throw JSONReadError("string is not UTF-8", offset: start)
                }
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw JSONReadError("control character in a string", offset: i) }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < p.count else { throw JSONReadError("unterminated escape", offset: i) }
            let e = p[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate: a low one must follow to make one scalar.
                    if i + 1 < p.count, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    scalar = 0xFFFD
                }
                JSONScan.appendScalar(scalar, to: &out)
            default:
                throw JSONReadError("invalid escape", offset: i - 1)
            }
        }
        throw JSONReadError("unterminated string", offset: open)
    }

    private mutating func hex4() throws(JSONReadError) -> UInt32 {
        guard i + 4 <= p.count else { throw JSONReadError("truncated \\u escape", offset: i) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 55)
            default: throw JSONReadError("invalid \\u escape", offset: i + k)
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    private mutating func number() throws(JSONReadError) -> JSONValue {
        let start = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < p.count, Digits.isDigit(p[i]) else { throw JSONReadError("invalid number", offset: start) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
            if i < p.count, Digits.isDigit(p[i]) { throw JSONReadError("leading zero in a number", offset: i) }
        } else {
            while i < p.count, Digits.isDigit(p[i]) { i += 1 }
        }
        var integral = true
        if i < p.count, p[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard i < p.count, Digits.isDigit(p[i]) else { throw JSONReadError("digit expected after '.'", offset: i) }
            while i < p.count, Digits.isDigit(p[i]) { i += 1 }
        }
        if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
            integral = false
            i += 1
            if i < p.count, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < p.count, Digits.isDigit(p[i]) else { throw JSONReadError("digit expected in the exponent", offset: i) }
            while i < p.count, Digits.isDigit(p[i]) { i += 1 }
        }
        if integral && i - start <= 20 {
            // Accumulated on the negative side, which holds Int64.min.
            var v: Int64 = 0
            var k = start
            let negative = p[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            var overflow = false
            while k < i {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.subtractingReportingOverflow(Int64(p[k] - 48))
                if o1 || o2 { overflow = true; break }
                v = a
                k += 1
            }
            if !overflow {
                if negative { return .int(v) }
                if v != .min { return .int(-v) }
            }
        }
        let d = JSONScan.double(UnsafeBufferPointer(rebasing: p[start..<i]))
        // Past a double's range (1e400): refused, as no writer could give it back.
        guard d.isFinite else { throw JSONReadError("number out of range", offset: start) }
        return .double(d)
    }
}
