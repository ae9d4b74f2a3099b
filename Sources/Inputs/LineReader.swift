#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames a byte stream into LF-terminated lines (a CR before the LF is dropped),
/// handing each to the caller as a borrowed buffer: no copy, no allocation per line.
public final class LineReader {
    /// Lines longer than this are handed out in pieces of this size, so memory
    /// stays bounded and nothing is dropped.
    public static let maxLine = 4 * 1024 * 1024

    private var source: any ByteSource
    public let path: String
    /// 1-based number of the last line handed out.
    public private(set) var lineNumber = 0
    public private(set) var bytesRead = 0
    /// The last line handed out is a piece of an over-long line that goes on.
    public var inLongLine: Bool { continuing }

    private var buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    private var start = 0  // first byte of the pending line
    private var scan = 0   // where the newline search resumes
    private var end = 0    // end of valid data
    private var eof = false
    private var pendingError: InputError?
    private var pieceFull = false
    /// The last line handed out was a piece of an over-long line: the next piece, or
    /// its end, belongs to the same line (same number, no empty line at its LF).
    private var continuing = false

    public init(source: any ByteSource, path: String) {
        self.source = source
        self.path = path
    }

    deinit { buf.deallocate() }

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
        do {
            // Read exactly two bytes (a pipe may deliver one at a time) to sniff gzip's 1f 8b.
            while got < 2 {
                let n = try raw.read(into: UnsafeMutableRawBufferPointer(rebasing: head[got...]))
                if n == 0 { break }
                got += n
            }
            if got == 2 && head[0] == 0x1F && head[1] == 0x8B {
                let gz = try GzipSource(inner: raw, prefix: UnsafeRawBufferPointer(head))
                return LineReader(source: PrefixedSource(prefix: [], inner: gz), path: name)
            }
        } catch {
            if fd > 2 { Glibc.close(fd) }  // e.g. EISDIR: do not leak the descriptor
            throw error
        }
        return LineReader(source: PrefixedSource(prefix: Array(head[0..<got]), inner: raw), path: name)
    }

    /// The next line, valid until the next call; nil after the last one. Lines read
    /// before an error are handed out first (a partial last line included), then the
    /// error is thrown.
    public func next() throws(InputError) -> UnsafeBufferPointer<UInt8>? {
        while true {
            let base = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)  // fill() may move it
            if scan < end, let nl = memchr(base + scan, 0x0A, end - scan) {
                let at = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                let wasContinuing = continuing
                continuing = false
                let emptyRest = at == start || (at == start + 1 && base[start] == 0x0D)
                let begin = start
                start = at + 1
                scan = start
                // An over-long line that ended exactly at a piece boundary: its LF
                // (or CRLF) ends it and is not a line of its own.
                if wasContinuing && emptyRest { continue }
                return emit(begin, at, newLine: !wasContinuing)
            }
            scan = end
            if eof {
                if end > start {
                    let line = emit(start, end, newLine: !continuing)
                    continuing = false
                    start = end
                    return line
                }
                if let e = pendingError {
                    pendingError = nil
                    throw e
                }
                return nil
            }
            fill()
            if pieceFull {
                pieceFull = false
                // A piece keeps every byte (a CR here is data, not a line ending).
                let line = emit(start, end, newLine: !continuing, stripCR: false)
                continuing = true
                start = end
                scan = end
                return line
            }
        }
    }

    /// Makes room and reads more; at the end of input or on an error, sets `eof`.
    private func fill() {
        if start == end {
            start = 0
            end = 0
            scan = 0
        } else if end == buf.count {
            if start > 0 {
                // Slide the partial line to the front.
                buf.baseAddress!.copyMemory(from: buf.baseAddress! + start, byteCount: end - start)
                end -= start
                scan -= start
                start = 0
            } else if buf.count < Self.maxLine {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buf.count * 2, Self.maxLine), alignment: 16)
                bigger.baseAddress!.copyMemory(from: buf.baseAddress!, byteCount: end)
                buf.deallocate()
                buf = bigger
            } else {
                // An over-long line: hand out what is buffered as one piece (see `maxLine`).
                pieceFull = true
                return
            }
        }
        let n: Int
        do {
            n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buf[end...]))
        } catch {
            pendingError = error
            eof = true
            return
        }
        if n == 0 {
            eof = true
            return
        }
        bytesRead += n
        end += n
    }

    @inline(__always) private func emit(_ s: Int, _ e: Int, newLine: Bool = true, stripCR: Bool = true) -> UnsafeBufferPointer<UInt8> {
        var e = e
        let base = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if stripCR && e > s && base[e - 1] == 0x0D { e -= 1 }
        if newLine { lineNumber += 1 }
        return UnsafeBufferPointer(start: base + s, count: e - s)
    }

    /// Calls `body` for every line; see `next()`.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        while let line = try next() {
            try body(line, lineNumber)
        }
    }

    public func close() {
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
