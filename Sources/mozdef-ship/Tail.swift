#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import MozDefEvent
import Pipeline
import Translators

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow log files through rotation and restarts, converting each new line to a MozDef event.",
        discussion: """
            Files are known by device, inode and a hash of their first bytes; checkpoints in the state \
            directory advance only after the output has the events. SIGTERM/SIGINT save and exit 0; \
            SIGHUP re-globs and reopens the output file; SIGUSR1 prints counts.
            Exit status: 0 stopped by a signal, 2 usage, state or I/O error.
            """
    )

    @OptionGroup var translation: TranslationOptions

    @Option(help: ArgumentHelp("Where events go: - (stdout, the default), file:PATH (appended to), http(s)://host/path or amqp://user:pass@host:port/vhost.", valueName: "dest"))
    var to = "-"

    @OptionGroup var delivery: DeliveryFlags

    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Checkpoint directory (default: /var/lib/mozdef-ship as root, else $XDG_STATE_HOME/mozdef-ship).", valueName: "dir"))
    var stateDir: String?

    @Flag(name: .customLong("from-beginning"), help: "Read files found at start without a checkpoint from their first line (default: only new lines).")
    var fromBeginning = false

    @Option(name: .customLong("rotate-wait"), help: ArgumentHelp("Seconds a rotated or deleted file is still read after it is drained.", valueName: "seconds"))
    var rotateWait = 5.0

    @Option(name: .customLong("flush-after"), help: ArgumentHelp("Seconds after which a last line without its newline is sent as it is.", valueName: "seconds"))
    var flushAfter = 5.0

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp("Seconds between stat polls (inotify wakes sooner).", valueName: "seconds"))
    var pollInterval = 1.0

    @Option(name: .customLong("forget-after"), help: ArgumentHelp("Days after which the checkpoint of a file no longer seen is dropped.", valueName: "days"))
    var forgetAfter = 7.0

    @Flag(name: .customLong("no-inotify"), help: "Poll only (for filesystems where inotify misses changes).")
    var noInotify = false

    @Argument(help: "Files or glob patterns (quote them: files that match later are picked up).")
    var paths: [String]

    func validate() throws {
        if paths.isEmpty { throw ValidationError("give at least one file or pattern") }
        for (name, v) in [("--rotate-wait", rotateWait), ("--flush-after", flushAfter), ("--forget-after", forgetAfter)] where !(v >= 0) {
            throw ValidationError("\(name) must be a number of seconds (or days) >= 0")
        }
        if !(pollInterval > 0) { throw ValidationError("--poll-interval must be > 0") }
    }

    func run() throws {
        var options = TailJob.Options()
        do {
            try translation.apply(to: &options.convert)
        } catch {
            throw usage(error.text)
        }
        switch Destination.parse(to) {
        case .success(let d): options.destination = d
        case .failure(let e): throw usage(e.description)
        }
        options.delivery = delivery.options
        if delivery.spoolDir != nil, !options.destination.isNetwork {
            throw usage("--spool-dir needs an http(s):// or amqp:// destination (--to)")
        }
        if let stateDir { options.stateDirectory = stateDir }
        options.tail.patterns = paths
        options.tail.fromBeginning = fromBeginning
        options.tail.rotateWait = rotateWait
        options.tail.flushAfter = flushAfter
        options.tail.forgetAfter = Int64(forgetAfter * 86_400)
        options.pollInterval = pollInterval
        options.inotify = !noInotify
        let job = TailJob(options: options)
        let status = job.run()
        for e in job.errors { printError("mozdef-ship tail: \(e)") }
        printError(job.stats.line)
        if status != 0 { throw ExitCode(status) }
    }

    private func usage(_ message: String) -> ExitCode {
        printError("mozdef-ship tail: \(message)")
        return ExitCode(2)
    }
}
