#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Buffered newline-delimited output to stdout or a file.
public final class LineOutput {
    public let name: String
    private var fd: Int32
    private let ownsFD: Bool
    private var buffer: [UInt8] = []
    private let flushAt: Int

    public struct WriteError: Error, CustomStringConvertible {
        public var name: String
        public var reason: String
        public var description: String { "\(name): \(reason)" }
    }

    public init(fd: Int32, name: String, flushAt: Int = 256 * 1024) {
        self.fd = fd
        self.name = name
        self.ownsFD = false
        self.flushAt = flushAt
        buffer.reserveCapacity(flushAt + 64 * 1024)
    }

    /// Creates or truncates `path`.
    public init(path: String, append: Bool = false, flushAt: Int = 256 * 1024) throws(WriteError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw WriteError(name: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.name = path
        self.ownsFD = true
        self.flushAt = flushAt
        buffer.reserveCapacity(flushAt + 64 * 1024)
    }

    deinit {
        try? flush()
        if ownsFD { close(fd) }
    }

    /// Appends one record and a newline.
    public func writeLine(_ bytes: UnsafeRawBufferPointer) throws(WriteError) {
        buffer.append(contentsOf: bytes)
        buffer.append(0x0A)
        if buffer.count >= flushAt { try flush() }
    }

    /// Writes a block of complete lines; large blocks skip the internal buffer.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(WriteError) {
        if bytes.count < flushAt / 4 {
            buffer.append(contentsOf: bytes)
            if buffer.count >= flushAt { try flush() }
            return
        }
        try flush()
        try writeAll(bytes)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(WriteError) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw WriteError(name: name, reason: String(cString: strerror(errno)))
            }
            off += n
        }
    }

    /// Makes what was flushed durable (fsync) when the output is a regular file.
    public func sync() throws(WriteError) {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        if fsync(fd) != 0 { throw WriteError(name: name, reason: "fsync: " + String(cString: strerror(errno))) }
    }

    /// Opens the output file's path again (after it was rotated away), in append mode.
    public func reopen() throws(WriteError) {
        guard ownsFD else { return }
        try flush()
        let fresh = open(name, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND, 0o644)
        guard fresh >= 0 else { throw WriteError(name: name, reason: String(cString: strerror(errno))) }
        close(fd)
        fd = fresh
    }

    public func flush() throws(WriteError) {
        defer { buffer.removeAll(keepingCapacity: true) }
        let r = buffer.withUnsafeBytes { b in Result { () throws(WriteError) in try writeAll(b) } }
        try r.get()
    }
}
