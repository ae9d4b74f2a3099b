#if canImport(Glibc)
import Glibc
#endif
import MozDefEvent
import CFastPath

/// A forward-only cursor over UTF-8 bytes for hand-written message matching
/// (Swift's Regex is far too slow for the per-line path).
struct ByteScanner {
    let p: UnsafeBufferPointer<UInt8>
    var i: Int

    init(_ p: UnsafeBufferPointer<UInt8>, at i: Int = 0) {
        self.p = p
        self.i = i
    }

    var atEnd: Bool { i >= p.count }

    /// Consumes `s` if the input continues with it.
    @inline(__always) mutating func eat(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard i + n <= p.count, p[i] == s.utf8Start.pointee,
              memcmp(p.baseAddress! + i, s.utf8Start, n) == 0 else { return false }
        i += n
        return true
    }

    func peek(_ s: StaticString) -> Bool {
        var c = self
        return c.eat(s)
    }

    /// Bytes up to (not including) the next space, or the end; consumes them.
    mutating func word() -> Range<Int> {
        let s = i
        while i < p.count, p[i] != 0x20 { i += 1 }
        return s..<i
    }

    /// Bytes up to the first occurrence of `s`; consumes them and `s`. Nil if absent.
    mutating func upTo(_ s: StaticString) -> Range<Int>? {
        guard let k = find(s, from: i) else { return nil }
        let r = i..<k
        i = k + s.utf8CodeUnitCount
        return r
    }

    mutating func skipSpaces() { while i < p.count, p[i] == 0x20 { i += 1 } }

    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: p[r]), as: UTF8.self)
    }

    /// Position of the last `s` that starts at or after `from`, without consuming.
    func findLast(_ s: StaticString, from: Int) -> Int? {
        let m = s.utf8CodeUnitCount
        guard let base = p.baseAddress, m > 0, p.count - from >= m else { return nil }
        var k = p.count - m
        while k >= from {
            if base[k] == s.utf8Start.pointee, memcmp(base + k, s.utf8Start, m) == 0 { return k }
            k -= 1
        }
        return nil
    }

    /// True when `s` lies wholly inside `r`.
    func contains(_ s: StaticString, in r: Range<Int>) -> Bool {
        guard let k = find(s, from: r.lowerBound) else { return false }
        return k + s.utf8CodeUnitCount <= r.upperBound
    }

    /// Position of `s` at or after `from`, without consuming.
    func find(_ s: StaticString, from: Int) -> Int? {
        guard from < p.count, let base = p.baseAddress else { return nil }
        let k = mds_find(base + from, p.count - from, s.utf8Start, s.utf8CodeUnitCount)
        return k < 0 ? nil : from + k
    }

    func int(_ r: Range<Int>) -> Int64? {
        guard !r.isEmpty, r.count <= 18 else { return nil }
        var v: Int64 = 0
        for k in r {
            let d = p[k] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    /// True for an IPv4 or IPv6 literal (shape check; `%zone` allowed on v6).
    func isIP(_ r: Range<Int>) -> Bool {
        guard !r.isEmpty, r.count <= 64 else { return false }
        var dots = 0, colons = 0, hexLetters = 0
        for k in r {
            let b = p[k]
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): continue
            case UInt8(ascii: "."): dots += 1
            case UInt8(ascii: ":"): colons += 1
            case UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): hexLetters += 1
            case UInt8(ascii: "%"): return colons >= 2
            default: return false
            }
        }
        if colons >= 2 { return true }
        return colons == 0 && hexLetters == 0 && dots == 3
    }
}
