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

/// Settings of one `mozdef-ship convert` run.
public struct ConvertOptions: Sendable {
    public var format: InputFormat = .auto
    public var zone: ZoneInfo = .utc
    public var strict = false
    public var rejectsPath: String?
    public var outputPath: String?
    /// Where events go (--to); outputPath, when set, means .file (created or truncated).
    public var destination = Destination.stdout
    public var delivery = DeliveryOptions()
    /// A fixed "now": the time of lines that carry none, and the year-inference reference (reproducible output).
    public var now: Timestamp?
    public var progress = false
    /// Compiled mappings (built-in unless --mappings named a directory).
    public var mappings: MappingSet?
    /// The Zeek log type when a Zeek input has no #path (default: from the file name).
    public var zeekPath: String?

    public init() {}
}

/// Counts reported on stderr at the end, and the exit status they imply.
public struct ConvertSummary: Sendable, Equatable {
    public var filesTotal = 0
    public var filesDone = 0
    public var recordsIn = 0
    public var eventsOut = 0
    /// Lines kept as `unparsed` events (lenient mode).
    public var unparsed = 0
    /// Lines written to the rejects file (strict mode).
    public var rejected = 0
    public var blank = 0
    /// Records that make no event on purpose (Zeek headers, CloudTrail digests).
    public var skipped = 0
    public var bytesIn = 0
    /// Notes about skipped input, one per input and kind.
    public var notes: [String] = []
    public var seconds = 0.0
    /// One line per I/O error, naming the file.
    public var errors: [String] = []

    /// 0 all converted, 1 some records rejected, 2 usage or I/O error.
    public var exitStatus: Int32 {
        if !errors.isEmpty { return 2 }
        return rejected > 0 ? 1 : 0
    }

    public var line: String {
        var s = "mozdef-ship convert: \(filesDone)/\(filesTotal) inputs, \(recordsIn) records in, \(eventsOut) events out"
        s += ", \(unparsed) unparsed, \(rejected) rejected, \(blank) blank lines skipped"
        if skipped > 0 { s += ", \(skipped) header or digest records" }
        s += ", " + formatFixed(seconds, 2) + " s"
        if !errors.isEmpty { s += ", \(errors.count) input error" + (errors.count == 1 ? "" : "s") }
        return s
    }
}

func formatFixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let have = s.distance(from: dot, to: s.endIndex) - 1
        if have < digits { s += String(repeating: "0", count: digits - have) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}

/// Reads inputs, translates each line, writes events; unparseable lines become
/// `unparsed` events (lenient) or rejects (strict). Nothing is dropped silently.
public final class ConvertJob {
    public let options: ConvertOptions
    public private(set) var summary = ConvertSummary()
    private var lastProgress = 0.0
    private var started = 0.0

    public init(options: ConvertOptions) { self.options = options }

    /// Runs the whole job; returns the summary (also printed to stderr by the CLI).
    public func run(inputs: [String]) -> ConvertSummary {
        started = Clock.monotonicSeconds()
        mds_signal_usr1_install()
        let (paths, listErrors) = InputPaths.expand(inputs.isEmpty ? ["-"] : inputs)
        summary.errors += listErrors.map(\.description)
        summary.filesTotal = paths.count + listErrors.count
        // Events a destination refuses (HTTP 4xx) go to the dead-letter file, as rejected lines do.
        let refused = DeliveryRejects(path: options.rejectsPath)
        let reject: (UnsafeBufferPointer<UInt8>, Int, String) throws(LineOutput.WriteError) -> Void = { event, status, response throws(LineOutput.WriteError) in
            try refused.reject(event, status: status, response: response)
        }
        let output: any EventSink
        do {
            let destination = options.outputPath.map { Destination.file($0) } ?? options.destination
            output = try destination.open(append: false, report: { printError("mozdef-ship convert: " + $0) },
                                          stop: { mds_signal_stop_pending() != 0 },
                                          delivery: options.delivery, reject: reject)
        } catch {
            summary.errors.append(error.description)
            return summary
        }
        // Only strict mode rejects lines; lenient mode keeps them as unparsed events.
        var rejects: RejectsWriter?
        do {
            if options.strict {
                rejects = try options.rejectsPath.map { r throws(LineOutput.WriteError) in RejectsWriter(output: try LineOutput(path: r, append: true)) }
                    ?? RejectsWriter(output: LineOutput(fd: 2, name: "stderr", flushAt: 0))
            }
        } catch {
            summary.errors.append(error.description)
            return summary
        }
        for path in paths {
            do {
                try convert(path: path, output: output, rejects: rejects)
                summary.filesDone += 1
            } catch let e as InputError {
                summary.errors.append(e.description)
            } catch let e as LineOutput.WriteError {
                summary.errors.append(e.description)
                break  // the output is gone: further inputs would be lost
            } catch {
                summary.errors.append("\(path): \(error)")
            }
        }
        do {
            try output.flush()
            // A spool gets one more try to empty; what stays goes out on the next run.
            if let spool = output as? SpoolingSink, !(try spool.drain()) {
                summary.notes.append("\(spool.waitingEvents) events wait in the spool \(spool.options.directory) until the destination takes them (the next run with --spool-dir sends them first)")
            }
            try rejects?.flush()
        } catch {
            summary.errors.append(error.description)
        }
        if let line = output.statsLine { summary.notes.append(line) }
        do { try refused.flush() } catch { summary.errors.append(error.description) }
        summary.rejected += refused.count
        if options.progress { printError("\u{1B}[2K\r", terminator: false) }
        summary.seconds = Clock.monotonicSeconds() - started
        return summary
    }

    private func convert(path: String, output: any EventSink, rejects: RejectsWriter?) throws {
        let reader = try LineReader.open(path: path)
        defer { reader.close() }
        let fixedNow = options.now
        let nowSecs = fixedNow?.epochSeconds ?? Clock.now().epochSeconds
        // Lines cannot be newer than their file: the mtime is the better year reference.
        let reference = min(nowSecs, InputPaths.modificationTime(path) ?? nowSecs)
        let parser = SyslogParser(strict: options.strict, zone: options.zone, referenceTime: reference)
        let zeekPath = options.zeekPath ?? (path == "-" ? nil : ZeekTranslator.path(fromFileName: path))
        var dispatch = Dispatch(format: options.format, mappings: options.mappings ?? MappingSet.builtin(),
                                syslogParser: parser, strict: options.strict, zeekPath: zeekPath)
        let sourceName = path == "-" ? "stdin" : path
        let bytesBefore = summary.bytesIn
        // Locals, not properties of this class: the per-record loop then pays no
        // dynamic exclusivity checks.
        var writer = JSONWriter(capacity: 512 * 1024)
        var counts = FileCounts()
        defer {
            summary.bytesIn = bytesBefore + reader.bytesRead
            summary.recordsIn += counts.recordsIn
            summary.eventsOut += counts.eventsOut
            summary.unparsed += counts.unparsed
            summary.rejected += counts.rejected
            summary.blank += counts.blank
            summary.skipped += counts.skipped
            for n in counts.notes { summary.notes.append("\(sourceName): \(n)") }
        }
        do {
            try forEachRecord(reader, &writer, &counts, sourceName: sourceName, dispatch: &dispatch,
                              fixedNow: fixedNow, output: output, rejects: rejects, bytesBefore: bytesBefore)
        } catch {
            try Self.drain(&writer, output)  // events of the lines before the failure are kept
            throw error
        }
        try Self.drain(&writer, output)
    }

    struct FileCounts {
        var recordsIn = 0, eventsOut = 0, unparsed = 0, rejected = 0, blank = 0, skipped = 0
        var notes: [String] = []
    }

    private func forEachRecord(_ reader: LineReader, _ writer: inout JSONWriter, _ counts: inout FileCounts,
                               sourceName: String, dispatch: inout Dispatch,
                               fixedNow: Timestamp?, output: any EventSink, rejects: RejectsWriter?,
                               bytesBefore: Int) throws {
        var ctx = RecordContext(source: sourceName, received: fixedNow ?? Clock.received())
        var bytesSeen = 0
        let progress = options.progress
        let format = options.format
        // JSON documents may span lines (pretty-printed) or hold many records (CloudTrail).
        var splitter = RecordSplitter()
        // One CloudTrail event is at most 256 KB; other JSON records are smaller still. A document
        // that grows past this without a Records array is not a record (and is kept, not dropped).
        if format != .cloudtrail { splitter.maxRecord = 1 << 20 }
        var splitting = false
        // One event, refilled per record: its storage is reused.
        var event = Event(timestamp: ctx.received, category: "", summary: "")
        // A plain loop, no closure: the event is not captured, so it is never copied.
        while let line = try reader.next() {
            bytesSeen &+= line.count &+ 1
            if mds_signal_take(SIGUSR1) != 0 {
                // Counts on request (kill -USR1), as the summary line gives them at the end.
                var now = summary
                now.recordsIn += counts.recordsIn
                now.eventsOut += counts.eventsOut
                now.unparsed += counts.unparsed
                now.rejected += counts.rejected
                now.blank += counts.blank
                now.seconds = Clock.monotonicSeconds() - started
                printError(now.line + (output.statsLine.map { "; " + $0 } ?? ""))
            }
            // NUL-delimited GELF (as GELF over TCP frames it): each piece is a record.
            if !splitting, format == .gelf || format == .auto, line.first == UInt8(ascii: "{"),
               let base = line.baseAddress, memchr(base, 0, line.count) != nil {
                var s = 0
                for i in 0...line.count where i == line.count || line[i] == 0 {
                    if i > s {
                        try record(UnsafeBufferPointer(rebasing: line[s..<i]), &dispatch, &ctx, fixedNow: fixedNow,
                                   line: reader.lineNumber, sourceName: sourceName, rejects: rejects, &event, &writer, &counts)
                    }
                    s = i + 1
                }
                if writer.count >= 256 * 1024 { try Self.drain(&writer, output) }
                continue
            }
            if !splitting, format == .cloudtrail || format == .auto || format == .gelf || format == .mozdef,
               format == .cloudtrail ? !line.isEmpty : FormatDetector.needsSplitter(line) {
                splitting = true
            }
            if splitting {
                splitter.feed(line, newline: !reader.inLongLine)
                while true {
                    let rec: UnsafeBufferPointer<UInt8>
                    do throws(RecordSplitter.SplitError) {
                        guard let r = try splitter.next() else { break }
                        rec = r
                    } catch {
                        // Not JSON after all: the broken record, to the end of this line, is kept as it is.
                        counts.recordsIn += 1
                        try error.partial.withUnsafeBufferPointer { b in
                            try keep(b, error: TranslationError(error.reason), format: format == .auto ? .mozdef : format,
                                     line: reader.lineNumber, sourceName: sourceName, ctx: ctx, rejects: rejects,
                                     &event, &writer, &counts)
                        }
                        break
                    }
                    try record(rec, &dispatch, &ctx, fixedNow: fixedNow, line: reader.lineNumber, sourceName: sourceName,
                               rejects: rejects, &event, &writer, &counts)
                    if writer.count >= 256 * 1024 { try Self.drain(&writer, output) }
                }
                splitting = !splitter.isIdle || format == .cloudtrail
                continue
            }
            if line.isEmpty {
                counts.blank += 1
                continue
            }
            try record(line, &dispatch, &ctx, fixedNow: fixedNow, line: reader.lineNumber, sourceName: sourceName,
                       rejects: rejects, &event, &writer, &counts)
            if writer.count >= 256 * 1024 { try Self.drain(&writer, output) }
            if progress && counts.recordsIn & 0x3FFF == 0 {
                showProgress(records: summary.recordsIn + counts.recordsIn, bytesNow: bytesBefore + bytesSeen)
            }
        }
        if splitter.pending == 0 && !splitter.isIdle {
            // Inside an array with no record open: nothing is lost, but say so.
            splitter.reset()
            counts.notes.append("the input ends inside a JSON array")
        }
        if splitter.pending > 0 {
            let rest = splitter.takePending()
            let reason = TranslationError("the input ends inside a JSON document (\(rest.count) bytes unfinished)")
            counts.recordsIn += 1
            try rest.withUnsafeBufferPointer { b in try keep(b, error: reason, format: format == .auto ? .mozdef : format,
                     line: reader.lineNumber, sourceName: sourceName, ctx: ctx, rejects: rejects, &event, &writer, &counts) }
        }
    }

    /// Translates one record and writes its event (or keeps the record as unparsed/rejected).
    @inline(__always)
    private func record(_ rec: UnsafeBufferPointer<UInt8>, _ dispatch: inout Dispatch, _ ctx: inout RecordContext,
                        fixedNow: Timestamp?, line: Int, sourceName: String, rejects: RejectsWriter?,
                        _ event: inout Event, _ writer: inout JSONWriter, _ counts: inout FileCounts) throws {
        counts.recordsIn += 1
        // The read time only dates lines that carry none; the coarse clock ticks in
        // milliseconds, so reading it every 64 records loses nothing.
        if fixedNow == nil && counts.recordsIn & 63 == 0 { ctx.received = Clock.received() }
        let (format, error) = dispatch.translate(rec, context: ctx, into: &event)
        if let error {
            if error.reason.isEmpty {  // a header or a digest: no event, on purpose
                counts.skipped += 1
                counts.recordsIn -= 1
                if let n = error.note, !counts.notes.contains(n) { counts.notes.append(n) }
                return
            }
            try keep(rec, error: error, format: format, line: line, sourceName: sourceName, ctx: ctx, rejects: rejects,
                     &event, &writer, &counts)
            return
        }
        writer.event(event)
        writer.raw(0x0A)
        counts.eventsOut += 1
    }

    /// A record no translator could read: a reject (strict) or an unparsed event (lenient).
    private func keep(_ rec: UnsafeBufferPointer<UInt8>, error: TranslationError, format: InputFormat, line: Int,
                      sourceName: String, ctx: RecordContext, rejects: RejectsWriter?,
                      _ event: inout Event, _ writer: inout JSONWriter, _ counts: inout FileCounts) throws {
        guard try keepUnreadable(rec, error: error, format: format, file: sourceName, line: line, context: ctx,
                                 rejects: rejects, into: &event) else {
            counts.rejected += 1
            return
        }
        counts.unparsed += 1
        writer.event(event)
        writer.raw(0x0A)
        counts.eventsOut += 1
    }

    /// Events are built in `writer` and handed to the output in blocks.
    private static func drain(_ writer: inout JSONWriter, _ output: any EventSink) throws(LineOutput.WriteError) {
        defer { writer.reset() }
        try writer.withBytes { b throws(LineOutput.WriteError) in try output.write(b) }
    }

    private func showProgress(records: Int, bytesNow: Int) {
        let t = Clock.monotonicSeconds()
        guard t - lastProgress >= 0.25 else { return }
        lastProgress = t
        let mbps = Double(bytesNow) / 1_048_576 / max(t - started, 1e-6)
        printError("\u{1B}[2K\rfiles \(summary.filesDone)/\(summary.filesTotal), \(records) records, "
                   + formatFixed(mbps, 1) + " MB/s", terminator: false)
    }
}
