#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A time zone for sources that write local wall-clock time (RFC 3164 has no zone).
///
/// Named zones are read from the system's TZif files (RFC 8536) by hand: Foundation's
/// TimeZone needs ICU, which the agent does not link. Offsets past the file's last
/// transition keep the last rule's offset (Debian ships "fat" files up to 2037).
public struct ZoneInfo: Sendable, Equatable {
    public let name: String
    /// UTC instants where the offset changes, ascending, with the offset that starts there.
    let transitions: [Int64]
    let offsets: [Int32]
    let initialOffset: Int32

    public static let utc = ZoneInfo(name: "UTC", fixed: 0)

    public init(name: String, fixed offset: Int32) {
        self.name = name
        transitions = []
        offsets = []
        initialOffset = offset
    }

    init(name: String, transitions: [Int64], offsets: [Int32], initialOffset: Int32) {
        self.name = name
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
    }

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case unknown(String)
        case malformed(String, String)
        public var description: String {
            switch self {
            case .unknown(let n): "unknown time zone '\(n)' (use UTC, ±HH:MM, or a name under /usr/share/zoneinfo)"
            case .malformed(let n, let why): "time zone file for '\(n)' is malformed: \(why)"
            }
        }
    }

    /// `UTC`, `Z`, `±HH:MM`/`±HHMM`, `local` (/etc/localtime) or an IANA name.
    public static func named(_ spec: String, zoneinfoDirectory: String = "/usr/share/zoneinfo") throws -> ZoneInfo {
        let upper = spec.uppercased()
        if upper == "UTC" || upper == "Z" || upper == "GMT" || upper == "ETC/UTC" { return .utc }
        if let first = spec.utf8.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            let digits = spec.utf8.dropFirst().filter { $0 != UInt8(ascii: ":") }
            guard digits.count == 4 || digits.count == 2, digits.allSatisfy({ $0 &- 48 < 10 }) else {
                throw LoadError.unknown(spec)
            }
            let d = digits.map { Int32($0 - 48) }
            let h = d[0] * 10 + d[1]
            let m = d.count == 4 ? d[2] * 10 + d[3] : 0
            guard h <= 23, m <= 59 else { throw LoadError.unknown(spec) }
            return ZoneInfo(name: spec, fixed: (h * 3600 + m * 60) * (first == UInt8(ascii: "-") ? -1 : 1))
        }
        let path: String
        if spec == "local" {
            path = "/etc/localtime"
        } else {
            guard !spec.contains(".."), !spec.hasPrefix("/") else { throw LoadError.unknown(spec) }
            path = zoneinfoDirectory + "/" + spec
        }
        guard let data = Files.read(path, limit: 1 << 22) else { throw LoadError.unknown(spec) }
        return try parseTZif(data, name: spec)
    }

    /// Parses TZif v1-v4, preferring the 64-bit block of v2+.
    static func parseTZif(_ d: [UInt8], name: String) throws -> ZoneInfo {
        func be32(_ i: Int) -> Int64 {
            Int64(Int32(bitPattern: UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])))
        }
        func be64(_ i: Int) -> Int64 {
            var v: UInt64 = 0
            for k in 0..<8 { v = v << 8 | UInt64(d[i + k]) }
            return Int64(bitPattern: v)
        }
        guard d.count >= 44, d[0] == 0x54, d[1] == 0x5A, d[2] == 0x69, d[3] == 0x66 else {
            throw LoadError.malformed(name, "no TZif magic")
        }
        func counts(_ h: Int) -> (isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int) {
            (Int(be32(h + 20)), Int(be32(h + 24)), Int(be32(h + 28)), Int(be32(h + 32)), Int(be32(h + 36)), Int(be32(h + 40)))
        }
        var h = 0
        var timeSize = 4
        var c = counts(0)
        if d[4] >= 0x32 {  // version '2' or later: skip the v1 block
            let v1 = 44 + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut
            guard d.count >= v1 + 44 else { throw LoadError.malformed(name, "truncated v1 block") }
            h = v1
            timeSize = 8
            c = counts(h)
        }
        let tStart = h + 44
        let idxStart = tStart + c.time * timeSize
        let typeStart = idxStart + c.time
        guard c.type > 0, d.count >= typeStart + c.type * 6 else { throw LoadError.malformed(name, "truncated data block") }
        var typeOffsets: [Int32] = []
        for t in 0..<c.type { typeOffsets.append(Int32(be32(typeStart + t * 6))) }
        var transitions: [Int64] = []
        var offsets: [Int32] = []
        for k in 0..<c.time {
            let at = timeSize == 8 ? be64(tStart + k * 8) : be32(tStart + k * 4)
            let ti = Int(d[idxStart + k])
            guard ti < c.type else { throw LoadError.malformed(name, "bad type index") }
            transitions.append(at)
            offsets.append(typeOffsets[ti])
        }
        return ZoneInfo(name: name, transitions: transitions, offsets: offsets, initialOffset: typeOffsets[0])
    }

    /// The offset in force at a UTC instant.
    public func offset(atUTC t: Int64) -> Int32 {
        guard !transitions.isEmpty, t >= transitions[0] else { return initialOffset }
        var lo = 0, hi = transitions.count - 1
        while lo < hi {  // last transition <= t
            let mid = (lo + hi + 1) / 2
            if transitions[mid] <= t { lo = mid } else { hi = mid - 1 }
        }
        return offsets[lo]
    }

    /// The offset for a local wall-clock time (seconds as if UTC). In a DST gap
    /// or overlap the offset before the change is used, as most syslog relays do.
    public func offset(forLocal wall: Int64) -> Int32 {
        if transitions.isEmpty { return initialOffset }
        let guess = offset(atUTC: wall - Int64(initialOffset))
        let o1 = offset(atUTC: wall - Int64(guess))
        if o1 == guess { return o1 }
        let o2 = offset(atUTC: wall - Int64(o1))
        return o2 == o1 ? o1 : max(o1, o2)
    }
}
