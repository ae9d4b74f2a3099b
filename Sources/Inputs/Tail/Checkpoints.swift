import MozDefEvent
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where reading of one file stopped: the file is known by device and inode plus a
/// hash of its first bytes (so a reused inode or a replaced file is not taken for it).
public struct Checkpoint: Sendable, Equatable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var head: FileHead
    /// Bytes of the file whose lines were written (and flushed) by the output.
    public var offset: Int64
    /// When the file was last seen (epoch seconds): entries of files gone longer expire.
    public var seen: Int64

    public init(path: String, device: UInt64, inode: UInt64, head: FileHead, offset: Int64, seen: Int64) {
        self.path = path
        self.device = device
        self.inode = inode
        self.head = head
        self.offset = offset
        self.seen = seen
    }
}

/// The checkpoint file of a state directory: one line per file,
/// `device inode headhash headlength offset seen path` (the path %-escaped), after a
/// version line. Saved atomically: temp file, fsync, rename, fsync of the directory.
public struct CheckpointStore: Sendable {
    public static let fileName = "checkpoints"
    static let versionLine = "mozdef-ship tail checkpoints 1"

    public let directory: String
    public var entries: [Checkpoint] = []
    public var path: String { directory + "/" + Self.fileName }

    public struct StateError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
    }

    public init(directory: String) { self.directory = directory }

    /// Reads the checkpoint file (none yet: no entries). A damaged file is an error that names
    /// its line; the caller decides what to do (see TailJob).
    public static func load(directory: String) throws(StateError) -> CheckpointStore {
        var store = CheckpointStore(directory: directory)
        let path = store.path
        guard let text = Files.text(path) else {
            if errno == ENOENT { return store }
            throw StateError(path: path, line: 0, reason: String(cString: strerror(errno)))
        }
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            if lineNo == 1 {
                guard raw == versionLine else { throw StateError(path: path, line: 1, reason: "not a checkpoint file (expected '\(versionLine)')") }
                continue
            }
            if raw.isEmpty { continue }
            let parts = raw.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: false)
            guard parts.count == 7, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]),
                  let hash = UInt64(parts[2], radix: 16), let hlen = Int(parts[3]), hlen >= 0, hlen <= FileHead.size,
                  let off = Int64(parts[4]), off >= 0, let seen = Int64(parts[5]), let p = parts[6].percentDecoded, !p.isEmpty
            else { throw StateError(path: path, line: lineNo, reason: "expected 'device inode headhash headlength offset seen path'") }
            store.entries.append(Checkpoint(path: p, device: dev, inode: ino, head: FileHead(hash: hash, length: hlen), offset: off, seen: seen))
        }
        guard lineNo >= 1, text.hasSuffix("\n") else { throw StateError(path: path, line: lineNo, reason: "truncated (no final newline)") }
        return store
    }

    /// Writes all entries atomically.
    public func save() throws(StateError) {
        var text = Self.versionLine + "\n"
        for e in entries {
            text += "\(e.device) \(e.inode) \(String(e.head.hash, radix: 16)) \(e.head.length) \(e.offset) \(e.seen) \(Self.escape(e.path))\n"
        }
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StateError(path: tmp, line: 0, reason: String(cString: strerror(errno))) }
        var ok = true
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                done += n
            }
        }
        if ok && fsync(fd) != 0 { ok = false }
        let saved = errno
        close(fd)
        guard ok else { unlink(tmp); throw StateError(path: tmp, line: 0, reason: String(cString: strerror(saved))) }
        guard rename(tmp, path) == 0 else { throw StateError(path: path, line: 0, reason: String(cString: strerror(errno))) }
        // The rename itself is durable once the directory is synced.
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    public func find(device: UInt64, inode: UInt64) -> Checkpoint? {
        entries.last { $0.device == device && $0.inode == inode }
    }

    /// The path with '%', newline and carriage return escaped (one entry per line).
    static func escape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "%": out += "%25"
            case "\n": out += "%0A"
            case "\r": out += "%0D"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

/// A hash of a file's first bytes (up to `size`): with device and inode, a file's identity.
public struct FileHead: Sendable, Equatable {
    public static let size = 256
    public var hash: UInt64
    public var length: Int

    public init(hash: UInt64, length: Int) {
        self.hash = hash
        self.length = length
    }

    /// The head of the open file `fd`, over at most `limit` bytes.
    public static func read(_ fd: Int32, limit: Int = size) -> FileHead? {
        var buf = [UInt8](repeating: 0, count: limit)
        var got = 0
        while got < limit {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, limit - got, off_t(got)) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            got += n
        }
        return FileHead(hash: hash(buf[0..<got]), length: got)
    }

    static func hash(_ b: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for c in b { h = (h ^ UInt64(c)) &* 0x100000001b3 }
        return h
    }

    /// True when `fd`'s first `length` bytes hash to this head (the same file, or the
    /// same file grown).
    public func matches(_ fd: Int32) -> Bool {
        guard let h = FileHead.read(fd, limit: length) else { return false }
        return h == self
    }
}
