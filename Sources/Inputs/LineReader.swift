#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames a byte stream into LF-terminated lines (a CR before the LF is dropped),
/// handing each to the caller as a borrowed buffer: no copy, no allocation per line.
public struct LineReader {
    /// Lines longer than this are handed out in pieces of this size, so memory
    /// stays bounded and nothing is dropped.
    public static let maxLine = 4 * 1024 * 1024

    private var source: any ByteSource
    public let path: String
    /// 1-based number of the last line handed out.
    public private(set) var lineNumber = 0
    public private(set) var bytesRead = 0

    public init(source: any ByteSource, path: String) {
        self.source = source
        self.path = path
    }

    /// Opens a file (or "-" for stdin) and picks plain or gzip by its magic bytes.
    public static func open(path: String) throws(InputError) -> LineReader {
        let fd: Int32
        let name: String
        if path == "-" {
            fd = 0
            name = "stdin"
        } else {
            fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw InputError(path: path, reason: String(cString: strerror(errno))) }
            name = path
        }
        var raw = FDSource(fd: fd, path: name)
        let head = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        defer { head.deallocate() }
        var got = 0
        // Read exactly two bytes (a pipe may deliver one at a time) to sniff gzip's 1f 8b.
        while got < 2 {
            let n = try raw.read(into: UnsafeMutableRawBufferPointer(rebasing: head[got...]))
            if n == 0 { break }
            got += n
        }
        let prefix = Array(head[0..<got])
        if got == 2 && head[0] == 0x1F && head[1] == 0x8B {
            let gz = try GzipSource(inner: raw, prefix: UnsafeRawBufferPointer(head))
            return LineReader(source: PrefixedSource(prefix: [], inner: gz), path: name)
        }
        return LineReader(source: PrefixedSource(prefix: prefix, inner: raw), path: name)
    }

    /// Calls `body` for every line; returns after the last one. Lines read before an
    /// error are delivered first (a partial last line included), then the error is thrown.
    public mutating func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        var buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buf.deallocate() }
        var start = 0  // first byte of the pending line
        var end = 0    // end of valid data
        while true {
            if end == buf.count {
                if start > 0 {
                    // Slide the partial line to the front.
                    buf.baseAddress!.copyMemory(from: buf.baseAddress! + start, byteCount: end - start)
                    end -= start
                    start = 0
                } else if buf.count < Self.maxLine {
                    let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buf.count * 2, Self.maxLine), alignment: 16)
                    bigger.baseAddress!.copyMemory(from: buf.baseAddress!, byteCount: end)
                    buf.deallocate()
                    buf = bigger
                } else {
                    try emit(buf, start, end, body)  // an over-long line, in pieces
                    start = 0
                    end = 0
                }
            }
            let n: Int
            do {
                n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[end...]))
            } catch {
                if end > start { try emit(buf, start, end, body) }
                throw error
            }
            if n == 0 { break }
            bytesRead += n
            var scan = end
            end += n
            let base = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            while scan < end, let nl = memchr(base + scan, 0x0A, end - scan) {
                let at = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                try emit(buf, start, at, body)
                start = at + 1
                scan = start
            }
        }
        if end > start { try emit(buf, start, end, body) }
    }

    @inline(__always)
    private mutating func emit(_ buf: UnsafeMutableRawBufferPointer, _ s: Int, _ e: Int,
                               _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        var e = e
        let base = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if e > s && base[e - 1] == 0x0D { e -= 1 }
        lineNumber += 1
        try body(UnsafeBufferPointer(start: base + s, count: e - s), lineNumber)
    }

    public mutating func close() {
        if let p = source as? PrefixedSource<FDSource>, p.inner.fd > 2 { Glibc.close(p.inner.fd) }
        if let p = source as? PrefixedSource<GzipSource> { p.inner.closeInner() }
    }
}

/// Replays sniffed bytes before reading on.
struct PrefixedSource<Inner: ByteSource>: ByteSource {
    var prefix: [UInt8]
    var inner: Inner

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if !prefix.isEmpty {
            let n = min(prefix.count, buffer.count)
            prefix.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            prefix.removeFirst(n)
            return n
        }
        return try inner.read(into: buffer)
    }
}
