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

    @Option(help: "Input format: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: InputFormat = .auto

    @Option(help: ArgumentHelp("Directory of mapping files (<format>.map) that replace the built-in ones.", valueName: "dir"))
    var mappings: String?

    @Option(name: .customLong("zeek-path"), help: ArgumentHelp("Zeek log type for inputs without #path or _path (default: from the file name).", valueName: "type"))
    var zeekPath: String?

    @Option(help: "Zone of timestamps written without one: UTC, ±HH:MM, local, or an IANA name.")
    var timezone = "UTC"

    @Flag(help: "Reject records that do not parse (to --rejects) instead of keeping them as unparsed events; stricter GELF checks.")
    var strict = false

    @Option(help: "Append rejected lines to this file as JSON objects (default with --strict: stderr).")
    var rejects: String?

    @Option(name: .shortAndLong, help: "Write events to this file instead of stdout.")
    var output: String?

    @Option(help: "Use this RFC 3339 time as the current time (received timestamps, year inference).")
    var now: String?

    @Argument(help: "Files, directories (converted recursively in sorted order) or - for stdin.")
    var inputs: [String] = []

    func run() throws {
        var options = ConvertOptions()
        options.format = format
        options.strict = strict
        options.rejectsPath = rejects
        options.outputPath = output
        options.zeekPath = zeekPath
        do {
            options.mappings = try MappingSet.load(directory: mappings)
        } catch {
            throw usage("\(error)")
        }
        do {
            options.zone = try ZoneInfo.named(timezone)
        } catch {
            throw usage("--timezone: \(error)")
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

extension InputFormat: ExpressibleByArgument {}
