import ArgumentParser
import MozDefEvent
import Pipeline
import Translators
import Outputs

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

/// Options of network destinations (--to http(s):// or amqp://).
struct DeliveryFlags: ParsableArguments {
    @Option(help: ArgumentHelp("RabbitMQ exchange for amqp:// destinations (default: eventtask, MozDef's).", valueName: "name"))
    var exchange: String?

    @Option(name: .customLong("routing-key"), help: ArgumentHelp("RabbitMQ routing key for amqp:// destinations (default: eventtask).", valueName: "key"))
    var routingKey: String?

    @Option(name: .customLong("header"), help: ArgumentHelp("An extra HTTP request header, 'Name: value' (repeatable).", valueName: "header"))
    var headers: [String] = []

    @Option(help: ArgumentHelp("CA certificates (PEM) to verify an https:// or amqps:// destination with.", valueName: "file"))
    var cacert: String?

    @Flag(help: "Do not verify the https:// or amqps:// destination's certificate.")
    var insecure = false

    @Option(help: ArgumentHelp("Client certificate (PEM) for https:// or amqps://.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Client certificate's private key (PEM).", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("Seconds an HTTP request may take before it is retried.", valueName: "seconds"))
    var timeout = 30.0

    @Flag(help: "Compress HTTP request bodies with gzip.")
    var gzip = false

    @Option(help: ArgumentHelp("Events per request for a /_bulk URL or an es+http(s):// destination.", valueName: "n"))
    var batch = 500

    @Option(help: ArgumentHelp("Index of an es+http(s):// destination; %Y, %m and %d take the date of the event's utctimestamp (default: events-%Y%m%d, MozDef's daily indexes).", valueName: "name"))
    var index = "events-%Y%m%d"

    @Option(help: ArgumentHelp("One-event POSTs in flight on the connection (HTTP/1.1 pipelining); 1 waits for each answer.", valueName: "n"))
    var pipeline = 16

    @Option(name: .customLong("batch-wait"), help: ArgumentHelp("Milliseconds a partial /_bulk batch may wait for more events (default: it goes at once).", valueName: "ms"))
    var batchWait: Int?

    @Option(name: .customLong("spool-dir"), help: ArgumentHelp("Keep events on disk here while an http(s):// or amqp:// destination is down, and send them when it is back (also after a restart).", valueName: "dir"))
    var spoolDir: String?

    @Option(name: .customLong("spool-max"), help: ArgumentHelp("Most bytes the spool may hold (suffix K, M or G); when it is full, reading waits. Default 1G.", valueName: "size"))
    var spoolMax: String = "1G"

    static func byteSize(_ s: String) -> Int64? {
        var digits = Substring(s)
        var unit: Int64 = 1
        switch s.last.map({ Character($0.uppercased()) }) {
        case "K": unit = 1 << 10
        case "M": unit = 1 << 20
        case "G": unit = 1 << 30
        default: break
        }
        if unit > 1 { digits = digits.dropLast() }
        guard let n = Int64(digits), n > 0, n <= Int64.max / unit else { return nil }
        return n * unit
    }

    func validate() throws {
        if Self.byteSize(spoolMax) == nil { throw ValidationError("--spool-max '\(spoolMax)': expected a size such as 500M or 2G") }
        if !(timeout > 0) { throw ValidationError("--timeout must be > 0") }
        if batch < 1 { throw ValidationError("--batch must be >= 1") }
        if let why = ElasticsearchSink.invalidIndex(index) { throw ValidationError("--index '\(index)': \(why)") }
        if pipeline < 1 || pipeline > 1024 { throw ValidationError("--pipeline must be 1 to 1024") }
        if let w = batchWait, w < 0 { throw ValidationError("--batch-wait must be >= 0") }
        for h in headers where !h.contains(":") { throw ValidationError("--header '\(h)': expected 'Name: value'") }
    }

    var options: DeliveryOptions {
        var d = DeliveryOptions()
        d.exchange = exchange
        d.routingKey = routingKey
        d.http.headers = headers
        d.http.caCert = cacert
        d.http.insecure = insecure
        d.http.clientCert = cert
        d.http.clientKey = key
        d.http.timeoutSeconds = timeout
        d.http.gzip = gzip
        d.http.batch = batch
        d.index = index
        d.http.pipeline = pipeline
        d.http.batchWait = batchWait.map { Double($0) / 1000 }
        if let spoolDir {
            var o = SpoolingSink.Options(directory: spoolDir)
            o.maxBytes = Self.byteSize(spoolMax) ?? o.maxBytes
            o.segmentBytes = max(1 << 20, min(64 << 20, o.maxBytes / 8))
            d.spool = o
        }
        return d
    }
}
