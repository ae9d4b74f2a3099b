#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import MozDefEvent
import Pipeline
import Translators

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert log files, .gz archives, directories or stdin to MozDef JSON events, one per line.",
        discussion: "Exit status: 0 all records converted, 1 some records rejected (--strict), 2 usage or I/O error."
    )

    @OptionGroup var translation: TranslationOptions

    @Option(name: .shortAndLong, help: "Write events to this file instead of stdout.")
    var output: String?

    @Option(help: ArgumentHelp("Where events go: - (stdout, the default), file:PATH, http(s)://host/path or amqp://user:pass@host:port/vhost.", valueName: "dest"))
    var to: String?

    @OptionGroup var delivery: DeliveryFlags

    @Option(help: "Use this RFC 3339 time as the current time (received timestamps, year inference).")
    var now: String?

    @Argument(help: "Files, directories (converted recursively in sorted order) or - for stdin.")
    var inputs: [String] = []

    func run() throws {
        var options = ConvertOptions()
        do {
            try translation.apply(to: &options)
        } catch {
            throw usage(error.text)
        }
        options.outputPath = output
        if let to {
            guard output == nil else { throw usage("give -o or --to, not both") }
            switch Destination.parse(to) {
            case .success(let d): options.destination = d
            case .failure(let e): throw usage(e.description)
            }
        }
        options.delivery = delivery.options
        if delivery.spoolDir != nil, !options.destination.isNetwork || (options.outputPath != nil) {
            throw usage("--spool-dir needs an http(s):// or amqp:// destination (--to)")
        }
        if let now {
            guard let t = Timestamp.parseISO8601(now), t.hasZone else {
                throw usage("--now: '\(now)' is not an RFC 3339 time with a zone")
            }
            options.now = t.timestamp
        }
        options.progress = isatty(2) != 0
        let job = ConvertJob(options: options)
        let summary = job.run(inputs: inputs)
        for n in summary.notes { printError("mozdef-ship convert: note: \(n)") }
        for e in summary.errors { printError("mozdef-ship convert: \(e)") }
        printError(summary.line)
        if summary.exitStatus != 0 { throw ExitCode(summary.exitStatus) }
    }

    private func usage(_ message: String) -> ExitCode {
        printError("mozdef-ship convert: \(message)")
        return ExitCode(2)
    }
}

