import Outputs

/// Where `--to` sends events: stdout, a file, or RabbitMQ.
public enum Destination: Sendable, Equatable {
    case stdout
    /// Appended to when `append` (tail), else created or truncated (convert's -o).
    case file(String)
    case amqp(AMQPPublisher.Target)
    case http(String)
    /// Elasticsearch or OpenSearch's bulk API: es+http://host:9200 or es+https://…
    case elasticsearch(String)

    /// `-`, `stdout`, `file:PATH`, `http(s)://…`, `es+http(s)://host:port` or `amqp://user:pass@host:port/vhost`.
    public static func parse(_ s: String) -> Result<Destination, UsageError> {
        if s == "-" || s == "stdout" { return .success(.stdout) }
        if s.hasPrefix("file:") {
            let p = String(s.dropFirst(5))
            return p.isEmpty ? .failure(UsageError("--to file: needs a path")) : .success(.file(p))
        }
        if s.hasPrefix("http://") || s.hasPrefix("https://") { return .success(.http(s)) }
        if s.hasPrefix("es+http://") || s.hasPrefix("es+https://") {
            let rest = s.drop { $0 != ":" }.dropFirst(3)
            if rest.isEmpty || rest.hasPrefix("/") { return .failure(UsageError("--to '\(s)': expected es+http://host:port")) }
            return .success(.elasticsearch(s))
        }
        if s.hasPrefix("amqp://") || s.hasPrefix("amqps://") {
            guard let t = AMQPPublisher.Target.parse(s) else { return .failure(UsageError("--to: cannot read the AMQP URL '\(s)'")) }
            return .success(.amqp(t))
        }
        if let colon = s.firstIndex(of: ":") {
            return .failure(UsageError("--to: unsupported destination '\(s[..<colon])' (this version writes to stdout, file:PATH, http(s)://, es+http(s):// or amqp(s)://)"))
        }
        return .failure(UsageError("--to: expected -, stdout, file:PATH, http(s)://..., es+http(s)://... or amqp(s)://..., got '\(s)'"))
    }

    /// How the destination is named in messages (no password).
    public var display: String {
        switch self {
        case .stdout: "stdout"
        case .file(let p): p
        case .amqp(let t): t.display
        case .http(let u): u
        case .elasticsearch(let u): u
        }
    }

    public var isNetwork: Bool {
        switch self {
        case .http, .amqp, .elasticsearch: true
        case .stdout, .file: false
        }
    }

    /// Opens the sink. `report` receives connection messages; `stop` ends reconnect attempts.
    func open(append: Bool, report: @escaping (String) -> Void, stop: @escaping () -> Bool,
              delivery: DeliveryOptions, reject: @escaping (UnsafeBufferPointer<UInt8>, Int, String) throws(LineOutput.WriteError) -> Void)
        throws(LineOutput.WriteError) -> any EventSink {
        if let spool = delivery.spool {
            switch self {
            case .http, .amqp, .elasticsearch:
                var plain = delivery
                plain.spool = nil
                return try SpoolingSink(options: spool, name: display, stop: stop, report: report) { giveUp, say throws(LineOutput.WriteError) in
                    try self.open(append: append, report: say, stop: giveUp, delivery: plain, reject: reject)
                }
            case .stdout, .file: break  // refused by the command line; a file needs no spool
            }
        }
        let exchange = delivery.exchange, routingKey = delivery.routingKey
        switch self {
        case .http(let url):
            let h = HTTPSink(url: url, options: delivery.http)
            h.report = report
            h.shouldStop = stop
            h.onReject = reject
            return h
        case .elasticsearch(let url):
            var o = ElasticsearchSink.Options()
            o.http = delivery.http
            o.index = delivery.index
            let e = ElasticsearchSink(url: url, options: o)
            e.report = report
            e.shouldStop = stop
            e.onReject = reject
            return e
        case .stdout: return LineOutput(fd: 1, name: "stdout")
        case .file(let p): return try LineOutput(path: p, append: append)
        case .amqp(var t):
            if let exchange { t.exchange = exchange }
            if let routingKey { t.routingKey = routingKey }
            t.caCert = delivery.http.caCert
            t.insecure = delivery.http.insecure
            t.clientCert = delivery.http.clientCert
            t.clientKey = delivery.http.clientKey
            // A queue is declared and bound only on MozDef's own exchange and key.
            if t.exchange != "eventtask" || t.routingKey != "eventtask" { t.queue = "" }
            let p = AMQPPublisher(target: t)
            p.report = report
            p.shouldStop = stop
            return p
        }
    }
}

public struct UsageError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// How events are delivered to network destinations (options of --to).
public struct DeliveryOptions: Sendable {
    public var exchange: String?
    public var routingKey: String?
    public var http = HTTPSink.Options()
    /// The index of es+http(s):// destinations (--index); %Y, %m and %d take the event's date.
    public var index = "events-%Y%m%d"
    /// A disk spool in front of a network destination (--spool-dir).
    public var spool: SpoolingSink.Options?
    public init() {}
}
