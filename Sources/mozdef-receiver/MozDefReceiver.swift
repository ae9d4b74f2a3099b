import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import MozDefEvent
import Outputs
import Receiver

/// Swift concurrency runs on NIO's event loops, so a request does not hop between the
/// event-loop threads and the cooperative pool (measured here: a third more single POSTs/s).
@main
enum Entry {
    static func main() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await MozDefReceiver.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// The bundled ingest server: MozDef loginput's routes on SwiftNIO, events normalized as
/// MozDef's worker does and stored in SQLite before the 200 goes out.
struct MozDefReceiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mozdef-receiver",
        abstract: "Receive MozDef events over HTTP (loginput's routes) and store them in SQLite or PostgreSQL.")

    @Option(help: ArgumentHelp("Address and port to listen on (loopback by default).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Where events, alerts and rule marks are kept: sqlite:DIR (created if missing; the default is sqlite:/var/lib/mozdef-receiver) or postgres://user:pass@host:port/db, which several receivers can share.", valueName: "store"))
    var store: String?

    @Option(help: ArgumentHelp("The same as --store sqlite:DIR.", valueName: "dir"))
    var data: String?

    @Option(help: ArgumentHelp("Require 'Authorization: Bearer TOKEN' on every route but /status.", valueName: "token"))
    var token: String?

    @Option(name: .customLong("retention-days"), help: ArgumentHelp("Delete events received longer ago than this (checked hourly).", valueName: "days"))
    var retentionDays: Int?

    @Option(help: ArgumentHelp("Directory of alert rules (*.json: MozDef generic rules, simple and deadman rules), each run on its schedule.", valueName: "dir"))
    var rules: String?

    @Option(help: ArgumentHelp("Consume MozDef's eventtask queue on this RabbitMQ (amqp:// or amqps://), and publish alerts to its 'alerts' exchange.", valueName: "url"))
    var amqp: String?

    @Option(name: .customLong("amqp-queue"), help: ArgumentHelp("The queue to consume (bound to exchange eventtask with routing key eventtask).", valueName: "name"))
    var amqpQueue = "eventtask"

    @Option(name: .customLong("amqp-cacert"), help: ArgumentHelp("With amqps://, verify the broker against this CA file (PEM) instead of the system's CA store.", valueName: "file"))
    var amqpCacert: String?

    @Flag(name: .customLong("amqp-insecure"), help: "With amqps://, do not verify the broker's certificate.")
    var amqpInsecure = false

    @Option(help: ArgumentHelp("POST each new alert (its JSON document) to this URL.", valueName: "url"))
    var webhook: String?

    @Option(name: .customLong("max-connections"), help: ArgumentHelp("Most HTTP connections open at once; more are closed as they come.", valueName: "n"))
    var maxConnections = 1024

    @Option(name: .customLong("request-timeout"), help: ArgumentHelp("Seconds a connection has to send its next whole request (after connecting or after its last answer); then it is closed, with 408 if part of a request came.", valueName: "seconds"))
    var requestTimeout = 30.0

    @Option(name: .customLong("mozdef-hostname"), help: ArgumentHelp("The mozdefhostname stored events get (default: this host's name).", valueName: "name"))
    var mozdefHostname: String?

    func validate() throws {
        guard Self.hostPort(listen) != nil else { throw ValidationError("--listen '\(listen)': expected host:port") }
        if store != nil && data != nil { throw ValidationError("--store and --data: give one (--data DIR is --store sqlite:DIR)") }
        if let s = store, !(s.hasPrefix("sqlite:") || s.hasPrefix("postgres://") || s.hasPrefix("postgresql://")) {
            throw ValidationError("--store '\(s)': expected sqlite:DIR or postgres://user:pass@host:port/db")
        }
        if let d = retentionDays, d < 1 { throw ValidationError("--retention-days must be >= 1") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be >= 1") }
        if !(requestTimeout > 0 && requestTimeout <= 86_400) { throw ValidationError("--request-timeout must be > 0 and at most 86400") }
        if let a = amqp, AMQPPublisher.Target.parse(a) == nil { throw ValidationError("--amqp '\(a)': expected amqp://user:pass@host:port/vhost or amqps://...") }
        if let w = webhook, !(w.hasPrefix("http://") || w.hasPrefix("https://")) { throw ValidationError("--webhook '\(w)': expected an http:// or https:// URL") }
    }

    static func hostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        let (host, port) = Self.hostPort(listen)!
        let metrics = Metrics()
        var loaded: [AlertRule] = []
        if let rules {
            do {
                loaded = try RuleEngine.load(directory: rules)
            } catch {
                throw ValidationError("--rules: \(error.description)")
            }
        }
        let spec = store ?? "sqlite:" + (data ?? "/var/lib/mozdef-receiver")
        let store: any EventStore
        do {
            if spec.hasPrefix("sqlite:") {
                store = try SQLiteStore(directory: String(spec.dropFirst("sqlite:".count)))
            } else {
                store = try PostgresStore(url: spec)
            }
        } catch {
            throw ValidationError("--store: \(error)")
        }
        let engine = RuleEngine(rules: loaded, store: store, metrics: metrics)
        let name = mozdefHostname ?? ProcessInfo.processInfo.hostName
        let ingest = Ingest(store: store, normalizer: Normalizer(mozdefHostname: name), metrics: metrics)
        let target = amqp.flatMap { AMQPPublisher.Target.parse($0) }.map { t -> AMQPPublisher.Target in
            var t = t
            t.queue = amqpQueue
            t.caCert = amqpCacert
            t.insecure = amqpInsecure
            return t
        }
        let forwarder = AlertForwarder(amqp: target, webhook: webhook, log: Self.log)
        engine.onAlerts = { alerts in
            for a in alerts {
                Self.log("alert \(a.id): \(a.document["classname"]?.stringValue ?? ""): \(a.document["severity"]?.stringValue ?? "") \(a.document["summary"]?.stringValue ?? "")")
            }
            forwarder.send(alerts)
        }
        if let target { AMQPConsumer(target: target, ingest: ingest, log: Self.log).start() }
        let api = Self.apiRoutes(store: store, engine: engine, metrics: metrics)
        var exact = api
        exact["/status"] = [(.GET, { _, reply in reply(.json(200, #"{"status": "ok", "service": "loginput"}"#)) })]
        exact["/test"] = [(.GET, { _, reply in reply(HTTPReply(status: 200)) })]
        func ingestRoute(_ route: @escaping @Sendable (HTTPRequest) -> Ingest.Route) -> Routes.Handler {
            { request, reply in
                ingest.handle(route(request), body: request.body) { r in
                    reply(r.json.map { .json(r.status, $0) } ?? HTTPReply(status: r.status))
                }
            }
        }
        for (path, route) in [("/events", Ingest.Route.events), ("/nxlog", .nxlog), ("/cef", .cef)] {
            let h = ingestRoute { _ in route }
            exact[path] = [(.POST, h), (.PUT, h)]
        }
        exact["/_bulk"] = [(.POST, ingestRoute { _ in .bulk })]
        let custom = ingestRoute { .custom(String($0.path.split(separator: "/").last ?? "")) }
        let routes = Routes(exact: exact, prefixed: ["/custom": [(.POST, custom), (.PUT, custom)]], token: token) { path in
            // Counted under the route's name, as the other refusals are.
            let name = path.split(separator: "/").first.map(String.init) ?? path
            metrics.rejected(name, 1)
        }

        // Rules run on their schedules (and on POST /api/alerts/run), on a thread of their own:
        // the event loops never wait for a rule's query.
        // In a cluster only the leader runs them; another receiver takes over within a second
        // of the leader's connection ending, and runs each rule at its next scheduled time.
        if !loaded.isEmpty {
            let t = Thread {
                var leading = false
                while true {
                    let now = store.leads()
                    if now != leading {
                        Self.log(now ? "rules: this receiver runs the scheduled rules" : "rules: another receiver runs the scheduled rules")
                        if now { engine.resetSchedule() }
                        leading = now
                        engine.leading = now
                    }
                    if leading { _ = engine.runDue() }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            t.name = "rules"
            t.start()
        }
        if let days = retentionDays {
            let t = Thread {
                while true {
                    let cutoff = (Int64(Date().timeIntervalSince1970) - Int64(days) * 86_400) * 1_000_000
                    _ = try? store.expire(before: cutoff)
                    Thread.sleep(forTimeInterval: 3600)
                }
            }
            t.name = "retention"
            t.start()
        }
        let where_ = listen
        let limits = ConnectionLimits(maxConnections: maxConnections, requestTimeout: requestTimeout)
        try await HTTPServer.run(host: host, port: port, routes: routes, limits: limits) { Self.log("listening on \(where_)") }
    }

    /// The query routes: events, alerts, rules, metrics.
    static func apiRoutes(store: any EventStore, engine: RuleEngine, metrics: Metrics) -> [String: [(HTTPMethod, Routes.Handler)]] {
        var r: [String: [(HTTPMethod, Routes.Handler)]] = [:]
        r["/metrics"] = [(.GET, { _, reply in
            let duplicates = """
                # HELP mozdef_receiver_events_duplicate_total Events not stored again: their AMQP message id was already stored.
                # TYPE mozdef_receiver_events_duplicate_total counter
                mozdef_receiver_events_duplicate_total \(store.duplicatesSkipped())

                """
            reply(HTTPReply(status: 200, contentType: "text/plain; version=0.0.4", body: Array((metrics.text() + duplicates).utf8)))
        })]
        r["/api/events"] = [(.GET, { request, reply in
            let query: EventQuery
            do {
                query = try EventQuery(request.query["q"] ?? "")
            } catch {
                return reply(.error(400, "q: \(error)"))
            }
            listing(request, "events", reply) { since, limit in
                let r = try store.events(since: since, limit: limit) { query.matches($0) }
                return (r.total, r.events)
            }
        })]
        r["/api/alerts"] = [(.GET, { request, reply in
            listing(request, "alerts", reply) { since, limit in
                let r = try store.alerts(since: since, limit: limit)
                return (r.total, r.alerts)
            }
        })]
        // `?now=ISO-TIME` evaluates the windows as of that time (replays and tests).
        r["/api/alerts/run"] = [(.POST, { request, reply in
            var now = Clock.now()
            if let s = request.query["now"] {
                guard let t = Timestamp.parseISO8601(s) else { return reply(.error(400, "now: expected an ISO 8601 time")) }
                now = t.timestamp
            }
            let at = now
            DispatchQueue.global().async {
                let raised = engine.runAll(now: at)
                var w = JSONWriter(capacity: 4096)
                w.value(.object(JSONObject(members: [.init(key: "alerts", value: .array(raised.map { .object($0.document) }))])))
                reply(HTTPReply(status: 200, contentType: "application/json", body: w.bytes))
            }
        })]
        r["/api/rules"] = [(.GET, { _, reply in
            var w = JSONWriter(capacity: 1024)
            w.value(.object(JSONObject(members: [
                .init(key: "leader", value: .bool(engine.leading)),
                .init(key: "rules", value: engine.describe()),
            ])))
            reply(HTTPReply(status: 200, contentType: "application/json", body: w.bytes))
        })]
        return r
    }

    static func log(_ s: String) {
        FileHandle.standardError.write(Data(("mozdef-receiver: " + s + "\n").utf8))
    }

    /// `{"total":N,"<key>":[...]}` for `?since=&limit=` (default 100, at most 10,000), read off
    /// the event loops.
    static func listing(_ request: HTTPRequest, _ key: String, _ reply: @escaping @Sendable (HTTPReply) -> Void,
                        _ fetch: @escaping @Sendable (Int64?, Int) throws -> (Int, [JSONObject])) {
        let limit = request.query["limit"].flatMap { Int($0) } ?? 100
        var since: Int64?
        if let s = request.query["since"] {
            guard let t = Timestamp.parseISO8601(s) else { return reply(.error(400, "since: expected an ISO 8601 time")) }
            since = t.timestamp.epochMicroseconds
        }
        let from = since, bounded = max(0, min(limit, 10_000))
        DispatchQueue.global().async {
            do {
                let (total, docs) = try fetch(from, bounded)
                var w = JSONWriter(capacity: 4096)
                w.value(.object(JSONObject(members: [
                    .init(key: "total", value: .int(Int64(total))),
                    .init(key: key, value: .array(docs.map { .object($0) })),
                ])))
                reply(HTTPReply(status: 200, contentType: "application/json", body: w.bytes))
            } catch {
                reply(.error(500, "\(error)"))
            }
        }
    }
}
