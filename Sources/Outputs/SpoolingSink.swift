import MozDefEvent
#if canImport(Glibc)
import Glibc
#endif

/// A network destination with a disk spool in front of it (`--spool-dir`).
///
/// While the destination takes events, they go straight to it, and a copy of those not yet
/// acknowledged is kept in memory (at most `pendingLimit`, 1 MiB: past that the destination
/// is flushed, which also bounds what a failure can send twice). When an attempt fails for `giveUpAfter` seconds, the unacknowledged events
/// and every later one are appended to segment files in the spool directory, fsync'd on each
/// `flush`; `flush` then means "safe on disk", which is what the tailer's checkpoints need.
/// The spool is replayed in order, oldest first, as soon as the destination is back (tries
/// are spaced with exponential backoff), also by the next run with the same directory; new
/// events queue behind it until it is empty. When the spool would grow past `maxBytes`,
/// `write` waits, replaying, until there is room: reading pauses, nothing is dropped.
///
/// Layout: `segment-<n>.ndjson` (events, one per line, append-only), `cursor` (the segment
/// and byte offset of the first event not yet delivered, replaced atomically), `lock` (one
/// process per spool). Delivery is at least once: events replayed after a failure the
/// destination had in fact taken can arrive twice.
public final class SpoolingSink: EventSink {
    public struct Options: Sendable {
        public var directory: String
        public var maxBytes: Int64 = 1 << 30
        /// How long one delivery attempt may keep failing before events go to disk.
        public var giveUpAfter = 2.0
        public var segmentBytes: Int64 = 64 << 20
        public init(directory: String) { self.directory = directory }
    }

    public let options: Options
    public let name: String
    /// Opens the destination, given its "give up" test and where its messages go.
    private let makeInner: (@escaping () -> Bool, @escaping (String) -> Void) throws(LineOutput.WriteError) -> any EventSink
    private let stop: () -> Bool
    private let report: (String) -> Void

    private var inner: (any EventSink)?
    /// Direct mode: the events written to `inner` since it last flushed.
    private var pending: [UInt8] = []
    static let pendingLimit = 1 << 20

    private var lockFD: Int32 = -1
    /// Segment numbers on disk, oldest first; empty when nothing is spooled.
    private var segments: [Int64] = []
    /// Bytes of segments[0] already delivered.
    private var cursor: Int64 = 0
    private var writeFD: Int32 = -1
    private var writeSize: Int64 = 0
    private var unsynced = false
    private var dirUnsynced = false
    /// Spooled bytes not yet delivered.
    public private(set) var waitingBytes: Int64 = 0
    private var nextAttempt = 0.0
    private var backoff = 0.5
    private var failingSince: Double?

    public private(set) var sent = 0
    public private(set) var spooled = 0
    public private(set) var replayed = 0
    public private(set) var waitingEvents = 0

    public var spooling: Bool { !segments.isEmpty }

    public init(options: Options, name: String, stop: @escaping () -> Bool, report: @escaping (String) -> Void,
                makeInner: @escaping (_ giveUp: @escaping () -> Bool, _ report: @escaping (String) -> Void) throws(LineOutput.WriteError) -> any EventSink)
        throws(LineOutput.WriteError) {
        self.options = options
        self.name = name
        self.stop = stop
        self.report = report
        self.makeInner = makeInner
        try openSpool()
        if spooling {
            report("\(name): \(waitingEvents) events wait in the spool \(options.directory); they go out first")
        }
    }

    deinit {
        if writeFD >= 0 { close(writeFD) }
        if lockFD >= 0 { close(lockFD) }
    }

    private func fail(_ reason: String) -> LineOutput.WriteError {
        LineOutput.WriteError(name: options.directory, reason: reason)
    }


    /// The destination's "give up" test for one attempt: stopping, or failing for too long.
    private func giveUp() -> Bool {
        if stop() { return true }
        let now = Clock.monotonicSeconds()
        guard let t = failingSince else { failingSince = now; return false }
        return now - t >= options.giveUpAfter
    }

    private func destination() throws(LineOutput.WriteError) -> any EventSink {
        if let inner { return inner }
        let s = try makeInner({ [unowned self] in self.giveUp() }, { [unowned self] message in
            // While events go to disk, the spool reports; each retry's own complaint would repeat.
            if !self.spooling { self.report(message) }
        })
        inner = s
        return s
    }

    // MARK: EventSink

    public func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        if spooling {
            try append(bytes)
            try replay(budget: 4 << 20)
            return
        }
        pending.append(contentsOf: bytes)
        do {
            failingSince = nil
            try destination().write(bytes)
            if pending.count >= Self.pendingLimit {
                failingSince = nil
                try destination().flush()
                delivered()
            }
        } catch {
            try failOver(error)
        }
    }

    public func flush() throws(LineOutput.WriteError) {
        if !spooling, !pending.isEmpty || inner != nil {
            do {
                failingSince = nil
                try destination().flush()
                delivered()
            } catch {
                try failOver(error)
            }
        }
        if spooling {
            try syncSpool()
            try replay(budget: 4 << 20)
        }
    }

    public func sync() throws(LineOutput.WriteError) { try syncSpool() }

    public var holdFor: Double? { spooling ? nil : inner?.holdFor }
    public func reopen() throws(LineOutput.WriteError) {}

    public var statsLine: String? {
        var s = "\(name): \(sent) sent (\(replayed) of them from the spool), \(spooled) spooled, \(waitingEvents) waiting in \(options.directory)"
        if let i = inner?.statsLine { s += "; " + i }
        return s
    }

    /// Tries to empty the spool now (at the end of a run); true when it is empty.
    public func drain() throws(LineOutput.WriteError) -> Bool {
        try flush()
        if spooling {
            nextAttempt = 0
            try replay(budget: .max)
        }
        return !spooling
    }

    private func delivered() {
        sent += pending.withUnsafeBytes { Self.lines($0) }
        pending.removeAll(keepingCapacity: pending.capacity <= 2 * Self.pendingLimit)
    }

    /// The destination failed: what it had not acknowledged goes to disk, and so does what follows.
    private func failOver(_ error: LineOutput.WriteError) throws(LineOutput.WriteError) {
        inner = nil  // dropped with whatever it held: `pending` has all of it
        _ = error  // the destination has said why already
        report("\(name): not taking events for \(options.giveUpAfter) s; spooling them to \(options.directory) until it is back")
        let p = pending
        pending = []
        let failure = p.withUnsafeBytes { b -> LineOutput.WriteError? in
            do { try append(b) } catch let e as LineOutput.WriteError { return e } catch { return fail("\(error)") }
            return nil
        }
        if let failure { throw failure }
        try syncSpool()
        nextAttempt = Clock.monotonicSeconds() + backoff
    }

    // MARK: spool files

    private func path(_ n: Int64) -> String {
        let digits = String(n)
        return options.directory + "/segment-" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".ndjson"
    }

    private func openSpool() throws(LineOutput.WriteError) {
        let dir = options.directory
        if mkdir(dir, 0o700) != 0, errno != EEXIST { throw fail("cannot create the spool directory: \(String(cString: strerror(errno)))") }
        lockFD = open(dir + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if lockFD < 0 { throw fail("cannot open its lock file: \(String(cString: strerror(errno)))") }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 { throw fail("another mozdef-ship is using this spool") }
        guard let d = opendir(dir) else { throw fail("cannot read the spool directory: \(String(cString: strerror(errno)))") }
        var found: [Int64] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name.hasPrefix("segment-"), name.hasSuffix(".ndjson"), let n = Int64(name.dropFirst(8).dropLast(7)) { found.append(n) }
        }
        closedir(d)
        found.sort()
        // The cursor: "<segment> <offset>"; absent means the start of the oldest segment.
        var cs: Int64 = found.first ?? 0, co: Int64 = 0
        if let text = Files.text(dir + "/cursor") {
            let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int64($0) }
            if parts.count == 2 { cs = parts[0]; co = parts[1] }
        }
        for n in found where n < cs { unlink(path(n)) }  // delivered already
        segments = found.filter { $0 >= cs }
        if let first = segments.first, first != cs { co = 0 }
        cursor = co
        // A line cut short by a crash was never acknowledged: it goes (its source sends it again).
        if let last = segments.last { try trimPartialLine(last) }
        waitingBytes = 0
        waitingEvents = 0
        for (k, n) in segments.enumerated() {
            let (size, lines) = try Self.measure(path(n), from: k == 0 ? cursor : 0)
            waitingBytes += size
            waitingEvents += lines
        }
        if let last = segments.last {
            writeFD = open(path(last), O_WRONLY | O_APPEND | O_CLOEXEC)
            if writeFD < 0 { throw fail("cannot open \(path(last)): \(String(cString: strerror(errno)))") }
            var st = stat()
            fstat(writeFD, &st)
            writeSize = Int64(st.st_size)
        }
    }

    /// Bytes and lines of a segment from `offset`.
    private static func measure(_ p: String, from offset: Int64) throws(LineOutput.WriteError) -> (Int64, Int) {
        let fd = open(p, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw LineOutput.WriteError(name: p, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var at = offset, lines = 0, size: Int64 = 0
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(at)) }
            if n <= 0 { break }
            lines += buf.withUnsafeBytes { Self.lines(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            size += Int64(n)
            at += Int64(n)
        }
        return (size, lines)
    }

    private func trimPartialLine(_ n: Int64) throws(LineOutput.WriteError) {
        let p = path(n)
        let fd = open(p, O_RDWR | O_CLOEXEC)
        if fd < 0 { throw fail("cannot open \(p): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        var end = Int64(st.st_size)
        var byte: UInt8 = 0
        while end > 0, pread(fd, &byte, 1, off_t(end - 1)) == 1, byte != 0x0A { end -= 1 }
        if end < Int64(st.st_size) {
            report("\(name): dropping an incomplete last line (\(Int64(st.st_size) - end) bytes) from \(p): it was never acknowledged")
            _ = ftruncate(fd, off_t(end))
            _ = fsync(fd)
        }
    }

    private func newSegment() throws(LineOutput.WriteError) {
        if writeFD >= 0 { try syncSpool(); close(writeFD) }
        let n = (segments.last ?? 0) + 1
        writeFD = open(path(n), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if writeFD < 0 { throw fail("cannot create \(path(n)): \(String(cString: strerror(errno)))") }
        if segments.isEmpty {
            cursor = 0
            try saveCursor(segment: n, offset: 0)
        }
        segments.append(n)
        writeSize = 0
        dirUnsynced = true
    }

    /// Appends complete lines, waiting (and replaying) while the spool is full.
    private func append(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        guard bytes.count > 0 else { return }
        var delay = 0.1
        var said = false
        while waitingBytes > 0, waitingBytes + Int64(bytes.count) > options.maxBytes {
            if stop() { throw fail("the spool is full (\(options.maxBytes) bytes) and the destination is down; stopping") }
            if !said {
                report("\(name): the spool is full (\(options.maxBytes) bytes); reading waits until the destination takes events")
                said = true
            }
            try replay(budget: .max)
            if waitingBytes + Int64(bytes.count) <= options.maxBytes { break }
            usleep(useconds_t(delay * 1_000_000))
            delay = min(delay * 2, 5)
        }
        while !(try writeSegment(bytes)) {
            // The spool's filesystem is full: as when the spool is, wait for the destination
            // to take what waits (which frees room), and try again.
            if stop() { throw fail("the spool's filesystem is full and the destination is down; stopping") }
            if !said {
                report("\(name): the spool's filesystem is full (\(waitingBytes) bytes waiting); reading waits until the destination takes events")
                said = true
            }
            try replay(budget: .max)
            usleep(useconds_t(delay * 1_000_000))
            delay = min(delay * 2, 5)
        }
        writeSize += Int64(bytes.count)
        waitingBytes += Int64(bytes.count)
        let k = Self.lines(bytes)
        spooled += k
        waitingEvents += k
        unsynced = true
    }

    /// Appends `bytes` to the segment being written; false, with nothing of them left in it,
    /// when the filesystem has no room (ENOSPC, EDQUOT).
    private func writeSegment(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) -> Bool {
        if writeFD < 0 || writeSize >= options.segmentBytes {
            do {
                try newSegment()
            } catch {
                if errno == ENOSPC || errno == EDQUOT { return false }
                throw error
            }
        }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(writeFD, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ENOSPC || errno == EDQUOT {
                    // A part written would be a cut line: the segment goes back to its end.
                    _ = ftruncate(writeFD, off_t(writeSize))
                    _ = lseek(writeFD, off_t(writeSize), SEEK_SET)
                    return false
                }
                throw fail("cannot write to the spool: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        return true
    }

    private func syncSpool() throws(LineOutput.WriteError) {
        if unsynced, writeFD >= 0 {
            if fdatasync(writeFD) != 0 { throw fail("cannot sync the spool: \(String(cString: strerror(errno)))") }
            unsynced = false
        }
        if dirUnsynced { syncDirectory(); dirUnsynced = false }
    }

    private func syncDirectory() {
        let d = open(options.directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 { _ = fsync(d); close(d) }
    }

    private func saveCursor(segment: Int64, offset: Int64) throws(LineOutput.WriteError) {
        let tmp = options.directory + "/cursor.tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw fail("cannot write the spool cursor: \(String(cString: strerror(errno)))") }
        let text = Array("\(segment) \(offset)\n".utf8)
        let n = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        let why = errno
        close(fd)
        guard n == text.count, synced else {
            // The old cursor stays (a full filesystem, say): events after it may be sent
            // again after a restart, none is skipped.
            unlink(tmp)
            if why == ENOSPC || why == EDQUOT || n >= 0 { return }
            throw fail("cannot write the spool cursor: \(String(cString: strerror(why)))")
        }
        if rename(tmp, options.directory + "/cursor") != 0 { throw fail("cannot replace the spool cursor: \(String(cString: strerror(errno)))") }
        dirUnsynced = true
    }

    /// Sends spooled events, oldest first, up to `budget` bytes, if a try is due. On failure
    /// the next try waits longer; when the spool is empty, events go straight out again.
    private func replay(budget: Int) throws(LineOutput.WriteError) {
        guard spooling, Clock.monotonicSeconds() >= nextAttempt else { return }
        var left = budget
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while let seg = segments.first, left > 0 {
            let p = path(seg)
            let fd = open(p, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw fail("cannot read \(p): \(String(cString: strerror(errno)))") }
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(cursor)) }
            close(fd)
            if n < 0 { throw fail("cannot read \(p): \(String(cString: strerror(errno)))") }
            // Whole lines only (the segment being written holds only whole lines).
            var end = n
            while end > 0, chunk[end - 1] != 0x0A { end -= 1 }
            if end == 0 {
                if n > 0 && end == 0 && n == chunk.count {
                    // A line longer than the buffer: read it whole.
                    chunk = [UInt8](repeating: 0, count: chunk.count * 2)
                    continue
                }
                // This segment is delivered.
                if segments.count > 1 {
                    unlink(p)
                    segments.removeFirst()
                    cursor = 0
                    try saveCursor(segment: segments[0], offset: 0)
                    continue
                }
                // The spool is empty: events go straight out again.
                try syncSpool()
                close(writeFD)
                writeFD = -1
                unlink(p)
                unlink(options.directory + "/cursor")
                segments = []
                cursor = 0
                writeSize = 0
                waitingBytes = 0
                waitingEvents = 0
                syncDirectory()
                report("\(name): the spool is empty; sending directly again")
                break
            }
            let lines = chunk.withUnsafeBytes { Self.lines(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
            do {
                failingSince = nil
                let d = try destination()
                try chunk.withUnsafeBytes { b in try d.write(UnsafeRawBufferPointer(rebasing: b[..<end])) }
                failingSince = nil
                try d.flush()
            } catch {
                inner = nil  // the events stay spooled; a stop just ends the tries
                nextAttempt = Clock.monotonicSeconds() + backoff * Double.random(in: 0.8...1.2)
                backoff = min(backoff * 2, 30)
                return
            }
            backoff = 0.5
            cursor += Int64(end)
            waitingBytes -= Int64(end)
            waitingEvents -= lines
            replayed += lines
            sent += lines
            left -= end
            try saveCursor(segment: seg, offset: cursor)
        }
    }

    /// Line feeds in `b` (memchr: this runs over every byte sent).
    static func lines(_ b: UnsafeRawBufferPointer) -> Int {
        guard var p = b.baseAddress else { return 0 }
        let end = p + b.count
        var k = 0
        while p < end, let q = memchr(p, 0x0A, end - p) {
            k += 1
            p = UnsafeRawPointer(q) + 1
        }
        return k
    }
}
