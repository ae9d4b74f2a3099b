#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// Something that yields bytes: a file descriptor, or a decompressor over one.
public protocol ByteSource {
    /// Fills up to `buffer.count` bytes; 0 means end of input.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

/// read(2) on a descriptor, retrying on EINTR.
public struct FDSource: ByteSource {
    public let fd: Int32
    public let path: String

    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw InputError(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

/// Streaming gzip (and zlib) decompression, any number of concatenated members
/// (RFC 1952 §2.2), as `gzip -c a >> x; gzip -c b >> x` produces.
public final class GzipSource: ByteSource {
    private var inner: FDSource
    private var stream = z_stream()
    private var inBuf: UnsafeMutableRawBufferPointer
    private var initialized = false
    private var finishedMember = false
    private var innerEOF = false
    public let path: String

    /// `prefix` holds bytes already read from `inner` (used for magic sniffing).
    public init(inner: FDSource, prefix: UnsafeRawBufferPointer) throws(InputError) {
        self.inner = inner
        self.path = inner.path
        inBuf = .allocate(byteCount: 256 * 1024, alignment: 16)
        precondition(prefix.count <= inBuf.count)
        inBuf.copyMemory(from: prefix)
        stream.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(prefix.count)
        // 15 + 32: zlib detects gzip or zlib headers itself.
        let rc = mds_inflateInit2(&stream, 15 + 32)
        guard rc == Z_OK else {
            inBuf.deallocate()
            throw InputError(path: path, reason: "cannot start gzip decoder (zlib error \(rc))")
        }
        initialized = true
    }

    /// Closes the underlying descriptor (not stdin).
    public func closeInner() {
        if inner.fd > 2 { close(inner.fd) }
    }

    deinit {
        if initialized { inflateEnd(&stream) }
        inBuf.deallocate()
    }

    private func refill() throws(InputError) {
        let n = try inner.read(into: inBuf)
        if n == 0 { innerEOF = true }
        stream.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(n)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(buffer.count)
        while stream.avail_out > 0 {
            if stream.avail_in == 0 && !innerEOF {
                do {
                    try refill()
                } catch {
                    // Hand out what this call decoded already; the error comes next call.
                    let produced = buffer.count - Int(stream.avail_out)
                    guard produced > 0 else { throw error }
                    pendingError = error
                    return produced
                }
            }
            if finishedMember {
                // Another member follows only if more bytes do; trailing zero padding is tolerated.
                if stream.avail_in == 0 && innerEOF { break }
                if stream.next_in.pointee == 0 {
                    skipZeros()
                    continue
                }
                inflateReset(&stream)
                finishedMember = false
            }
            if stream.avail_in == 0 && innerEOF {
                return try truncated(produced: buffer.count - Int(stream.avail_out))
            }
            let rc = inflate(&stream, Z_NO_FLUSH)
            switch rc {
            case Z_STREAM_END:
                finishedMember = true
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                if stream.avail_in == 0 && innerEOF {
                    return try truncated(produced: buffer.count - Int(stream.avail_out))
                }
                if stream.avail_in == 0 { continue }
                let produced = buffer.count - Int(stream.avail_out)
                if produced > 0 { return produced }
                throw InputError(path: path, reason: "corrupt gzip stream (no progress)")
            default:
                let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                let produced = buffer.count - Int(stream.avail_out)
                if produced > 0 {
                    // Hand out what was decoded before the damage; the error comes on the next call.
                    pendingError = InputError(path: path, reason: "corrupt gzip stream: \(msg)")
                    return produced
                }
                throw InputError(path: path, reason: "corrupt gzip stream: \(msg)")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }

    private var pendingError: InputError?

    /// Hands out what was decoded before the end; the error comes on the next call.
    private func truncated(produced: Int) throws(InputError) -> Int {
        let e = InputError(path: path, reason: "truncated gzip stream (unexpected end of file)")
        guard produced > 0 else { throw e }
        pendingError = e
        return produced
    }

    private func skipZeros() {
        while stream.avail_in > 0 && stream.next_in.pointee == 0 {
            stream.next_in += 1
            stream.avail_in -= 1
        }
    }
}
