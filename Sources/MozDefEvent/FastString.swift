/// Builds Strings from bytes on the per-record path.
///
/// Most syslog fields (host, program, pid, user, address) are short ASCII. For up to
/// 15 ASCII bytes the stdlib stores a String inline in its two words, with a
/// discriminator byte 0xE0 | count (immortal, ASCII, small) on 64-bit platforms: building
/// that value directly skips validation and a call into the runtime. The layout is
/// verified once at start; if it differs, every call takes `String(decoding:as:)`.
public enum FastString {
    public static let smallLayoutOK: Bool = {
        guard MemoryLayout<String>.size == 16, UInt64(1).littleEndian == 1 else { return false }
        for probe in ["", "a", "host-01", "0123456789abcde"] {
            let built = probe.utf8.withContiguousStorageIfAvailable { smallASCII($0) } ?? nil
            guard let built, built == probe, built.utf8.count == probe.utf8.count,
                  built.hashValue == probe.hashValue else { return false }
        }
        return true
    }()

    @inline(__always) static func smallASCII(_ p: UnsafeBufferPointer<UInt8>) -> String? {
        let n = p.count
        guard n <= 15 else { return nil }
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { w in
            if n > 0 { w.baseAddress!.copyMemory(from: p.baseAddress!, byteCount: n) }
        }
        guard (words.0 | words.1) & 0x8080_8080_8080_8080 == 0 else { return nil }
        words.1 |= (0xE0 | UInt64(n)) << 56
        return unsafeBitCast(words, to: String.self)
    }

    /// A String of the bytes, invalid UTF-8 repaired with U+FFFD. Callers on hot paths
    /// pass `smallLayoutOK` read once, since reading a lazy global costs a call each time.
    @inline(__always) public static func make(_ p: UnsafeBufferPointer<UInt8>, small: Bool = smallLayoutOK) -> String {
        if small, p.count <= 15, let s = smallASCII(p) { return s }
        return String(decoding: p, as: UTF8.self)
    }
}
