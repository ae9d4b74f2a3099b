#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CMdsSystem
import Inputs
import MozDefEvent
import Outputs
import Translators

/// `mozdef-ship tail`: follows files, translates each new line, writes the events, and
/// saves checkpoints only for lines the output has (flushed, and fsync'd for a file).
///
/// One round: re-glob when something appeared or went (or every poll interval), read what
/// the files gained (at most `roundBytes` each), write the events, flush, commit. Checkpoints
/// are saved at most every `saveInterval` seconds, so after `kill -9` the lines repeated on
/// restart are at most those of the rounds since the last save (one batch).
public final class TailJob {
    public struct Options: Sendable {
        public var convert = ConvertOptions()
        public var tail = Tailer.Options()
        public var stateDirectory = TailJob.defaultStateDirectory()
        public var destination = Destination.stdout
        public var delivery = DeliveryOptions()
        /// Stat polling period (inotify only wakes the loop sooner).
        public var pollInterval = 1.0
        public var inotify = true
        /// Checkpoints are saved at most this often while lines keep coming.
        public var saveInterval = 0.2
        public init() {}
    }

    public struct Stats: Sendable {
        public var linesIn = 0, eventsOut = 0, unparsed = 0, rejected = 0, blank = 0, skipped = 0
        public var checkpointsSaved = 0
        public var line: String {
            "mozdef-ship tail: \(linesIn) lines in, \(eventsOut) events out, \(unparsed) unparsed, \(rejected) rejected, "
                + "\(blank) blank lines skipped, \(checkpointsSaved) checkpoint saves"
        }
    }

    public let options: Options
    public private(set) var stats = Stats()
    /// One line per problem (I/O errors); non-empty means exit status 2.
    public private(set) var errors: [String] = []
    /// Messages for stderr as they happen (truncations, rotations found, skipped files).
    public var report: (String) -> Void = { printError("mozdef-ship tail: " + $0) }

    public init(options: Options) { self.options = options }

    /// `/var/lib/mozdef-ship` for root, else `$XDG_STATE_HOME/mozdef-ship` (or `~/.local/state/mozdef-ship`).
    public static func defaultStateDirectory() -> String {
        if geteuid() == 0 { return "/var/lib/mozdef-ship" }
        if let x = getenv("XDG_STATE_HOME"), x.pointee != 0 { return String(cString: x) + "/mozdef-ship" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.local/state/mozdef-ship"
    }

    /// Runs until SIGTERM or SIGINT (or `until` returns true, for tests); returns the exit status.
    public func run(until: (() -> Bool)? = nil) -> Int32 {
        mds_signals_install()
        guard Self.makeDirectories(options.stateDirectory) else {
            errors.append("\(options.stateDirectory): cannot create the state directory: \(String(cString: strerror(errno)))")
            return 2
        }
        // One tailer per state directory: two would overwrite each other's checkpoints.
        let lockPath = options.stateDirectory + "/lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            errors.append("\(lockPath): \(String(cString: strerror(errno)))")
            return 2
        }
        defer { close(lock) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            errors.append("\(options.stateDirectory): in use by another mozdef-ship tail (lock held on \(lockPath))")
            return 2
        }
        var tailOptions = options.tail
        var store: CheckpointStore
        do {
            store = try CheckpointStore.load(directory: options.stateDirectory)
        } catch {
            // A damaged checkpoint file: set it aside and read the files from their start.
            // Lines may repeat; none are lost.
            let aside = error.path + ".damaged"
            rename(error.path, aside)
            report("\(error); moved to \(aside); reading every file from its start")
            store = CheckpointStore(directory: options.stateDirectory)
            tailOptions.fromBeginning = true
            tailOptions.rotatedFromStart = true
        }
        let refused = DeliveryRejects(path: options.convert.rejectsPath)
        let reject: (UnsafeBufferPointer<UInt8>, Int, String) throws(LineOutput.WriteError) -> Void = { event, status, response throws(LineOutput.WriteError) in
            try refused.reject(event, status: status, response: response)
            try refused.flush()
        }
        let output: any EventSink
        do {
            let report = self.report
            output = try options.destination.open(append: true, report: report, stop: { mds_signal_stop_pending() != 0 },
                                                  delivery: options.delivery, reject: reject)
        } catch {
            errors.append(error.description)
            return 2
        }
        var rejects: RejectsWriter?
        do {
            if options.convert.strict {
                rejects = try options.convert.rejectsPath.map { r throws(LineOutput.WriteError) in RejectsWriter(output: try LineOutput(path: r, append: true)) }
                    ?? RejectsWriter(output: LineOutput(fd: 2, name: "stderr", flushAt: 0))
            }
        } catch {
            errors.append(error.description)
            return 2
        }
        let watcher = Watcher(inotify: options.inotify)
        let tailer = Tailer(options: tailOptions, store: store, watcher: watcher, startedAt: Double(Clock.now().epochSeconds) - 1)
        var translate = LineTranslation(options: options.convert, rejects: rejects)
        var lastSave = Clock.monotonicSeconds()
        var lastScan = -1e9
        var unsaved = false
        var rescan = true
        var stopping = false
        var hold: Double?
        while !stopping {
            if mds_signal_take(SIGTERM) != 0 || mds_signal_take(SIGINT) != 0 || until?() == true { stopping = true }
            if mds_signal_take(SIGHUP) != 0 {
                // Re-glob now, and reopen the output file (it may have been rotated).
                rescan = true
                watcher.forgetAll()
                do { try output.reopen() } catch { report(error.description) }
            }
            if mds_signal_take(SIGUSR1) != 0 {
                report(stats.line)
                if let l = output.statsLine { report(l) }
            }
            let now = Clock.monotonicSeconds()
            let wall = Double(Clock.now().epochSeconds)
            if rescan || now - lastScan >= options.pollInterval {
                tailer.scan(now: wall)
                lastScan = now
                rescan = false
            }
            if tailer.takeOpened() {
                // New files' start offsets are saved before any of their lines go out.
                do {
                    try output.sync()
                    try tailer.saveCheckpoints(now: wall)
                    stats.checkpointsSaved += 1
                } catch {
                    errors.append("\(error)")
                    break
                }
            }
            let read: Int
            do {
                read = try tailer.read(now: wall) { line, path in
                    try translate.line(line, path: path, into: &stats)
                    // Memory stays bounded: events go out in blocks, not per round.
                    if translate.buffered >= 256 * 1024 { try translate.drain(to: output) }
                }
                try translate.drain(to: output)
                // A young partial batch (--batch-wait) may wait for more lines; its lines are
                // committed only once it is sent.
                hold = stopping ? nil : output.holdFor
                if hold == nil {
                    try output.flush()
                    try rejects?.flush()
                }
            } catch {
                // The output failed: nothing after the last commit is checkpointed, so on restart
                // those lines are read again.
                errors.append("\(error)")
                break
            }
            for n in tailer.takeNotes() { report(n) }
            if hold == nil, tailer.commit() { unsaved = true }
            let t = Clock.monotonicSeconds()
            if unsaved && (t - lastSave >= options.saveInterval || read == 0 || stopping) {
                do {
                    try output.sync()
                    try tailer.saveCheckpoints(now: wall)
                    stats.checkpointsSaved += 1
                    unsaved = false
                    lastSave = t
                } catch {
                    errors.append("\(error)")
                    break
                }
            }
            if stopping { break }
            if read == 0 {
                // Idle: sleep until a change, a signal, or the next poll (sooner when a partial
                // line or a rotated file is waiting for its timeout).
                var timeout = options.pollInterval
                if tailer.pendingPartialLines { timeout = min(timeout, max(0.05, tailOptions.flushAfter / 4)) }
                if tailer.waitingForRotated { timeout = min(timeout, max(0.05, tailOptions.rotateWait / 4)) }
                if until != nil { timeout = min(timeout, 0.05) }
                if let hold { timeout = min(timeout, max(0.005, hold)) }
                let wake = watcher.wait(timeout: timeout)
                if wake.structural { rescan = true }
            }
        }
        // Final save: every handed-out line has been flushed above.
        if let line = output.statsLine { report(line) }
        if unsaved {
            do {
                try output.sync()
                try tailer.saveCheckpoints(now: Double(Clock.now().epochSeconds))
                stats.checkpointsSaved += 1
            } catch {
                errors.append("\(error)")
            }
        }
        return errors.isEmpty ? 0 : 2
    }

    static func makeDirectories(_ path: String) -> Bool {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
        }
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }
}

/// Lines to events for `tail`: one Dispatch per file (a Zeek header belongs to its file).
struct LineTranslation: ~Copyable {
    let options: ConvertOptions
    let rejects: RejectsWriter?
    var dispatches: [String: Dispatch] = [:]
    var writer = JSONWriter(capacity: 256 * 1024)
    var event = Event(timestamp: Clock.received(), category: "", summary: "")
    var lineNumbers: [String: Int] = [:]

    init(options: ConvertOptions, rejects: RejectsWriter?) {
        self.options = options
        self.rejects = rejects
    }

    mutating func line(_ rec: UnsafeBufferPointer<UInt8>, path: String, into stats: inout TailJob.Stats) throws {
        stats.linesIn += 1
        lineNumbers[path, default: 0] += 1
        if rec.isEmpty {
            stats.blank += 1
            return
        }
        let received = options.now ?? Clock.received()
        if dispatches[path] == nil {
            let parser = SyslogParser(strict: options.strict, zone: options.zone, referenceTime: options.now?.epochSeconds ?? Clock.now().epochSeconds)
            dispatches[path] = Dispatch(format: options.format, mappings: options.mappings ?? MappingSet.builtin(), syslogParser: parser,
                                        strict: options.strict, zeekPath: options.zeekPath ?? ZeekTranslator.path(fromFileName: path))
        }
        let ctx = RecordContext(source: path, received: received)
        let (format, error) = dispatches[path]!.translate(rec, context: ctx, into: &event)
        if let error {
            if error.reason.isEmpty {
                stats.skipped += 1
                return
            }
            guard try keepUnreadable(rec, error: error, format: format, file: path, line: lineNumbers[path]!, context: ctx,
                                     rejects: rejects, into: &event) else {
                stats.rejected += 1
                return
            }
            stats.unparsed += 1
        }
        writer.event(event)
        writer.raw(0x0A)
        stats.eventsOut += 1
    }

    var buffered: Int { writer.count }

    mutating func drain(to output: any EventSink) throws(LineOutput.WriteError) {
        defer { writer.reset() }
        try writer.withBytes { b throws(LineOutput.WriteError) in try output.write(b) }
    }
}
