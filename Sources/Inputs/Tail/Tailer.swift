#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Follows the files that match a set of paths or glob patterns, through rotation
/// (rename + create, copytruncate, delete), truncation and restarts, handing out whole
/// lines. Offsets advance in two steps: `consumed` when a line is handed out, `committed`
/// when the caller says the output has the lines (`commit`); only committed offsets are
/// saved as checkpoints, so a crash repeats at most the lines since the last commit.
public final class Tailer {
    public struct Options: Sendable {
        public var patterns: [String] = []
        /// Files found at start without a checkpoint are read from their start, not their end.
        public var fromBeginning = false
        /// At start, also read the rotated files beside each followed path (app.log.1 …), from
        /// their start: what the checkpoints would have found again is not known (they were
        /// damaged), and a file not read again could hold lines never sent.
        public var rotatedFromStart = false
        /// How long a file that left its path (renamed or deleted) is still read after it is drained.
        public var rotateWait = 5.0
        /// A last line without its newline is handed out after this many seconds without new bytes.
        public var flushAfter = 5.0
        /// Checkpoints of files not seen for this long are dropped.
        public var forgetAfter: Int64 = 7 * 86_400
        /// Longer lines are handed out in pieces of this size.
        public var maxLine = 1 << 20
        /// Bytes read from one file per round (rounds take turns between files; one round's
        /// lines are one batch for the checkpoint).
        public var roundBytes = 256 << 10
        public init() {}
    }

    struct Key: Hashable { var device: UInt64; var inode: UInt64 }

    final class File {
        var path: String
        let key: Key
        let fd: Int32
        var head: FileHead
        /// Bytes read into lines or `pending`.
        var readOffset: Int64
        var committed: Int64
        var pending: [UInt8] = []
        var lastData: Double
        var lastSize: Int64 = -1
        /// When the file stopped being at a matched path (renamed away or deleted).
        var goneSince: Double?

        init(path: String, key: Key, fd: Int32, head: FileHead, offset: Int64, now: Double) {
            self.path = path
            self.key = key
            self.fd = fd
            self.head = head
            readOffset = offset
            committed = offset
            lastData = now
        }

        deinit { close(fd) }

        /// The end of the last line handed out.
        var consumed: Int64 { readOffset - Int64(pending.count) }
    }

    public let options: Options
    public private(set) var store: CheckpointStore
    var files: [Key: File] = [:]
    /// Inodes skipped on purpose (compressed rotated files), so they are noted once.
    var skipped: Set<Key> = []
    private var firstScan = true
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    /// Things worth telling the user (truncations, skipped files), taken by `takeNotes`.
    private var notes: [String] = []
    let watcher: Watcher?

    /// Wall-clock start (epoch seconds): files last written before it are not new to this tailer.
    let startedAt: Double
    /// Siblings of a followed path written since this time and never seen are read whole:
    /// from this tailer's start, or from the last checkpoint save before it.
    var siblingsSince: Double

    public init(options: Options, store: CheckpointStore, watcher: Watcher?, startedAt: Double) {
        self.startedAt = startedAt
        siblingsSince = startedAt
        self.options = options
        self.store = store
        self.watcher = watcher
    }

    public var fileCount: Int { files.count }
    /// Files were opened or restarted since the last call: their start offsets must be saved
    /// before their lines go out (else a crash would leave them without a checkpoint).
    private var opened = false
    public func takeOpened() -> Bool {
        defer { opened = false }
        return opened
    }
    public var pendingPartialLines: Bool { files.values.contains { !$0.pending.isEmpty } }
    public var waitingForRotated: Bool { files.values.contains { $0.goneSince != nil } }

    public func takeNotes() -> [String] {
        defer { notes.removeAll() }
        return notes
    }

    // MARK: finding files

    /// Expands the patterns, starts following new files and notices files that left their path.
    public func scan(now: Double) {
        var seen: Set<Key> = []
        var appeared = false
        for path in expand() {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            if seen.contains(key) { continue }
            seen.insert(key)
            if let f = files[key] {
                f.path = path
                f.goneSince = nil
                continue
            }
            if skipped.contains(key) { continue }
            if open(path: path, key: key, size: Int64(st.st_size), now: now, resumeOnly: false) != nil { appeared = true }
        }
        if firstScan {
            firstScan = false
            appeared = false
            recoverRotated(now: now, matched: seen)
            if options.rotatedFromStart {
                sweepSiblings(now: now, any: true)
            } else if let saved = store.entries.map(\.seen).max() {
                // Generations created and rotated away while no tailer ran (never seen, so
                // without a checkpoint) were written after the last save: read them whole.
                siblingsSince = min(siblingsSince, Double(saved) - 1)
                sweepSiblings(now: now)
            }
        }
        var went = false
        for f in files.values where !seen.contains(f.key) && f.goneSince == nil {
            f.goneSince = now
            went = true
        }
        // A file left its path, or a new one took it: generations may have come and gone in
        // between (one can even be created and renamed while the path is briefly empty).
        if went || appeared { sweepSiblings(now: now) }
    }

    /// Generations a fast writer created and rotated away between two scans: files beside a
    /// followed path, named like it (app.log → app.log.2), never seen, written since this
    /// tailer started. They are read from their start (or their checkpoint), as rotated files.
    func sweepSiblings(now: Double, any: Bool = false) {
        for pattern in options.patterns {
            let dir = Self.directory(of: pattern)
            if dir.contains(where: { "*?[".contains($0) }) { continue }
            let last = pattern.lastIndex(of: "/").map { pattern[pattern.index(after: $0)...] } ?? pattern[...]
            let stem = String(last.prefix { !"*?[".contains($0) })
            if stem.isEmpty { continue }
            for name in Self.list(dir) where name.hasPrefix(stem) {
                let p = dir == "/" ? "/" + name : dir + "/" + name
                var st = stat()
                guard stat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
                let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                if files[key] != nil || skipped.contains(key) || Self.isCompressedName(p) { continue }
                let size = Int64(st.st_size)
                if let cp = store.find(device: key.device, inode: key.inode) {
                    if cp.offset >= size { continue }  // read to its end already
                    if let f = open(path: p, key: key, size: size, now: now, resumeOnly: true) { f.goneSince = now }
                    continue
                }
                // Older than this tailer: not ours to read (unless the checkpoints were lost).
                guard any || Double(st.st_mtim.tv_sec) >= siblingsSince else { continue }
                if let f = open(path: p, key: key, size: size, now: now, resumeOnly: false, fromStart: true) {
                    f.goneSince = now
                    notes.append(any ? "\(p): rotated beside a followed file, checkpoints lost: read from its start"
                                     : "\(p): created and rotated away between two looks: read from its start")
                }
            }
        }
    }

    /// Paths matching the patterns (a plain path is kept when it exists), and their directories watched.
    func expand() -> [String] {
        var out: [String] = []
        for pattern in options.patterns {
            if let w = watcher {
                let dir = Self.directory(of: pattern)
                if !dir.contains(where: { "*?[".contains($0) }) { w.watch(directory: dir) }
            }
            var g = glob_t()
            defer { globfree(&g) }
            guard glob(pattern, 0, nil, &g) == 0 else { continue }
            for i in 0..<Int(g.gl_pathc) {
                if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
            }
        }
        return out
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func isCompressedName(_ path: String) -> Bool {
        for ext in [".gz", ".bz2", ".xz", ".zst", ".lz4", ".Z", ".zip"] where path.hasSuffix(ext) { return true }
        return false
    }

    static func isCompressedHead(_ fd: Int32) -> Bool {
        var b = [UInt8](repeating: 0, count: 4)
        let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 4, 0) }
        guard n >= 2 else { return false }
        if b[0] == 0x1F && (b[1] == 0x8B || b[1] == 0x9D) { return true }  // gzip, compress
        if n >= 3 && b[0] == 0x42 && b[1] == 0x5A && b[2] == 0x68 { return true }  // bzip2
        if n >= 4 && b[0] == 0xFD && b[1] == 0x37 && b[2] == 0x7A && b[3] == 0x58 { return true }  // xz
        if n >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD { return true }  // zstd
        return false
    }

    /// Starts following a file. Where reading starts: its checkpoint (when the head still
    /// matches and the offset fits), else the start for a file that appeared while running
    /// (or with --from-beginning), else the end of its last complete line.
    @discardableResult
    func open(path: String, key: Key, size: Int64, now: Double, resumeOnly: Bool, fromStart: Bool = false) -> File? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            notes.append("\(path): cannot open: \(String(cString: strerror(errno)))")
            return nil
        }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_dev) == key.device, UInt64(st.st_ino) == key.inode else {
            close(fd)  // replaced between stat and open: the next scan sees the new one
            return nil
        }
        if Self.isCompressedName(path) || Self.isCompressedHead(fd) {
            close(fd)
            skipped.insert(key)
            notes.append("\(path): compressed, not read (rotated files are never read again as new)")
            return nil
        }
        let size = Int64(st.st_size)
        var offset: Int64
        let cp = store.find(device: key.device, inode: key.inode)
        if let cp, cp.head.matches(fd) {
            if cp.offset <= size {
                offset = cp.offset
            } else {
                offset = 0
                notes.append("\(path): shorter than its checkpoint (\(size) < \(cp.offset) bytes): truncated, read from the start")
            }
        } else {
            if resumeOnly { close(fd); return nil }
            if cp != nil { notes.append("\(path): a different file now has this inode: read from the start") }
            offset = firstScan && !options.fromBeginning && !fromStart ? Self.lastLineEnd(fd, size: size) : 0
        }
        guard let head = FileHead.read(fd) else { close(fd); return nil }
        let f = File(path: path, key: key, fd: fd, head: head, offset: offset, now: now)
        files[key] = f
        opened = true
        return f
    }

    /// The offset just after the last newline (a line being written is read when complete).
    static func lastLineEnd(_ fd: Int32, size: Int64) -> Int64 {
        var end = size
        var buf = [UInt8](repeating: 0, count: 4096)
        while end > 0 {
            let start = max(0, end - Int64(buf.count))
            let want = Int(end - start)
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, want, off_t(start)) }
            guard n == want else { return size }
            if let i = buf[0..<n].lastIndex(of: 0x0A) { return start + Int64(i) + 1 }
            end = start
            if size - end > 1 << 20 { return size }  // no newline in the last MiB: one long line, start at the end
        }
        return 0
    }

    /// Files rotated while nothing was following them: a checkpointed inode no longer at a
    /// matched path is looked for in its directory (app.log → app.log.1) and drained.
    func recoverRotated(now: Double, matched: Set<Key>) {
        for cp in store.entries {
            let key = Key(device: cp.device, inode: cp.inode)
            if matched.contains(key) || files[key] != nil { continue }
            let dir = Self.directory(of: cp.path)
            for name in Self.list(dir) {
                let p = dir + "/" + name
                var st = stat()
                guard stat(p, &st) == 0, UInt64(st.st_dev) == cp.device, UInt64(st.st_ino) == cp.inode,
                      st.st_mode & S_IFMT == S_IFREG else { continue }
                if let f = open(path: p, key: key, size: Int64(st.st_size), now: now, resumeOnly: true) {
                    f.goneSince = now
                    notes.append("\(cp.path): rotated to \(p) while not followed: reading the rest from there")
                }
                break
            }
        }
    }

    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    // MARK: reading

    public typealias Emit = (UnsafeBufferPointer<UInt8>, String) throws -> Void

    /// Reads what each file has gained (at most `roundBytes` per file) and hands out whole
    /// lines. Returns the bytes read.
    @discardableResult
    public func read(now: Double, emit: Emit) rethrows -> Int {
        var total = 0
        for f in files.values.sorted(by: { $0.path < $1.path }) {
            total += try read(f, now: now, emit: emit)
            // Closed only once its last lines are committed, so its checkpoint is final.
            if f.goneSince != nil, f.pending.isEmpty, f.committed == f.consumed, now - f.goneSince! >= options.rotateWait {
                var st = stat()
                if fstat(f.fd, &st) == 0, Int64(st.st_size) <= f.readOffset {
                    files[f.key] = nil  // drained and waited for: its checkpoint stays until it expires
                    keepCheckpoint(f, now: now)
                }
            }
        }
        return total
    }

    func read(_ f: File, now: Double, emit: Emit) rethrows -> Int {
        var st = stat()
        guard fstat(f.fd, &st) == 0 else { return 0 }
        let size = Int64(st.st_size)
        if size != f.lastSize {
            // Shorter than what was read, or new first bytes: truncated (copytruncate) or rewritten.
            if size < f.readOffset || (f.head.length > 0 && !f.head.matches(f.fd)) {
                try truncated(f, now: now, emit: emit)
            } else if f.head.length < FileHead.size && size > Int64(f.head.length), let h = FileHead.read(f.fd) {
                f.head = h
            }
            f.lastSize = size
        }
        var total = 0
        while f.readOffset < size && total < options.roundBytes {
            let want = Int(min(Int64(chunk.count), size - f.readOffset, Int64(options.roundBytes - total)))
            let off = f.readOffset
            let n = chunk.withUnsafeMutableBytes { pread(f.fd, $0.baseAddress!, want, off_t(off)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            // Checked after the read: a truncation and regrowth before it shows as other first
            // bytes, and then these bytes are not the ones after the offset.
            if f.head.length > 0 && !f.head.matches(f.fd) {
                try truncated(f, now: now, emit: emit)
                f.lastSize = -1
                break
            }
            f.readOffset += Int64(n)
            f.lastData = now
            total += n
            try chunk.withUnsafeBufferPointer { b in try lines(UnsafeBufferPointer(rebasing: b[0..<n]), f, emit) }
        }
        if !f.pending.isEmpty && now - f.lastData >= options.flushAfter {
            // The writer stopped mid-line: hand out what there is (the rest, if it comes, is a new line).
            try flushPending(f, emit)
        }
        return total
    }

    private func lines(_ b: UnsafeBufferPointer<UInt8>, _ f: File, _ emit: Emit) rethrows {
        var s = 0
        let base = b.baseAddress!
        while s < b.count, let hit = memchr(base + s, 0x0A, b.count - s) {
            let nl = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if f.pending.isEmpty {
                try emit(Self.trimCR(UnsafeBufferPointer(rebasing: b[s..<nl])), f.path)
            } else {
                f.pending.append(contentsOf: UnsafeBufferPointer(rebasing: b[s..<nl]))
                try f.pending.withUnsafeBufferPointer { try emit(Self.trimCR($0), f.path) }
                f.pending.removeAll(keepingCapacity: f.pending.capacity <= 65536)
            }
            s = nl + 1
        }
        if s < b.count {
            f.pending.append(contentsOf: UnsafeBufferPointer(rebasing: b[s...]))
            if f.pending.count >= options.maxLine { try flushPending(f, emit) }
        }
    }

    private func flushPending(_ f: File, _ emit: Emit) rethrows {
        try f.pending.withUnsafeBufferPointer { try emit(Self.trimCR($0), f.path) }
        f.pending.removeAll()
    }

    @inline(__always) static func trimCR(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        b.last == 0x0D ? UnsafeBufferPointer(rebasing: b[..<(b.count - 1)]) : b
    }

    /// The file restarted (copytruncate, or rewritten in place). What was not read yet is
    /// in the copy, if there is one beside it with the same first bytes: the copy is followed
    /// from this file's offset (in rounds, as a rotated file), and this file from 0.
    func truncated(_ f: File, now: Double, emit: Emit) rethrows {
        let from = f.consumed
        if let copy = findCopy(of: f, from: from) {
            var st = stat()
            if fstat(copy.fd, &st) == 0, let head = FileHead.read(copy.fd) {
                let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                let c = File(path: copy.path, key: key, fd: copy.fd, head: head, offset: from, now: now)
                c.goneSince = now
                files[key] = c
                opened = true
            } else {
                close(copy.fd)
            }
            notes.append("\(f.path): truncated; the unread rest is read from its copy \(copy.path)")
        } else {
            // The rest of a partly read last line went with the truncation (written after
            // logrotate's copy): what was read is handed out as it is, not dropped.
            if !f.pending.isEmpty {
                notes.append("\(f.path): truncated after a partial last line: its \(f.pending.count) bytes read are handed out as a line")
                try flushPending(f, emit)
            }
            notes.append("\(f.path): truncated or rewritten: reading from the start")
        }
        f.readOffset = 0
        f.committed = 0
        f.pending.removeAll()
        f.head = FileHead.read(f.fd) ?? FileHead(hash: 0, length: 0)
        // Rotations that came and went before this one was noticed left copies never seen.
        sweepSiblings(now: now)
    }

    /// A file in the same directory, not this one, with this file's first bytes and at least `from` bytes.
    func findCopy(of f: File, from: Int64) -> (fd: Int32, size: Int64, path: String)? {
        let dir = Self.directory(of: f.path)
        for name in Self.list(dir) {
            let p = dir + "/" + name
            if Self.isCompressedName(p) { continue }
            var st = stat()
            guard stat(p, &st) == 0, st.st_mode & S_IFMT == S_IFREG, Int64(st.st_size) >= from,
                  UInt64(st.st_ino) != f.key.inode || UInt64(st.st_dev) != f.key.device,
                  files[Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))] == nil else { continue }
            let fd = Glibc.open(p, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            if f.head.length > 0, f.head.matches(fd) { return (fd, Int64(st.st_size), p) }
            close(fd)
        }
        return nil
    }

    // MARK: checkpoints

    /// The output has every line handed out so far: their offsets become checkpoints.
    public func commit() -> Bool {
        var changed = false
        for f in files.values where f.committed != f.consumed {
            f.committed = f.consumed
            changed = true
        }
        return changed
    }

    private func keepCheckpoint(_ f: File, now: Double) {
        let e = Checkpoint(path: f.path, device: f.key.device, inode: f.key.inode, head: f.head, offset: f.committed, seen: Int64(now))
        store.entries.removeAll { $0.device == e.device && $0.inode == e.inode }
        store.entries.append(e)
    }

    /// Saves the committed offsets (and drops entries of files gone longer than `forgetAfter`).
    public func saveCheckpoints(now: Double) throws(CheckpointStore.StateError) {
        for f in files.values { keepCheckpoint(f, now: now) }
        store.entries.removeAll { Int64(now) - $0.seen > options.forgetAfter }
        try store.save()
    }
}
