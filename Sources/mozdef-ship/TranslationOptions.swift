import ArgumentParser
import MozDefEvent
import Pipeline
import Translators

/// The options that say how records become events, shared by `convert` and `tail`.
struct TranslationOptions: ParsableArguments {
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

    /// Fills `options`; a mapping or zone that cannot be loaded is a usage error (the message says which).
    func apply(to options: inout ConvertOptions) throws(UsageMessage) {
        options.format = format
        options.strict = strict
        options.rejectsPath = rejects
        options.zeekPath = zeekPath
        do {
            options.mappings = try MappingSet.load(directory: mappings)
        } catch {
            throw UsageMessage("\(error)")
        }
        do {
            options.zone = try ZoneInfo.named(timezone)
        } catch {
            throw UsageMessage("--timezone: \(error)")
        }
    }
}

struct UsageMessage: Error {
    var text: String
    init(_ text: String) { self.text = text }
}

extension InputFormat: ExpressibleByArgument {}

/// RabbitMQ overrides for amqp:// destinations (MozDef's contract by default).
struct AMQPOptions: ParsableArguments {
    @Option(help: ArgumentHelp("RabbitMQ exchange for amqp:// destinations (default: eventtask, MozDef's).", valueName: "name"))
    var exchange: String?

    @Option(name: .customLong("routing-key"), help: ArgumentHelp("RabbitMQ routing key for amqp:// destinations (default: eventtask).", valueName: "key"))
    var routingKey: String?
}
