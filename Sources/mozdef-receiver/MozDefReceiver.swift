import ArgumentParser
import Foundation
import Hummingbird
import NIOCore
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

/// The bundled ingest server: MozDef loginput's routes on Hummingbird, events normalized as
/// MozDef's worker does and stored in SQLite before the 200 goes out.
struct MozDefReceiver: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mozdef-receiver",
        abstract: "Receive MozDef events over HTTP (loginput's routes) and store them in SQLite.")

    @Option(help: ArgumentHelp("Address and port to listen on (loopback by default).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"

    @Option(help: ArgumentHelp("Directory for the SQLite store; created if missing.", valueName: "dir"))
    var data = "/var/lib/mozdef-receiver"

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

    @Option(help: ArgumentHelp("POST each new alert (its JSON document) to this URL.", valueName: "url"))
    var webhook: String?

    @Option(name: .customLong("mozdef-hostname"), help: ArgumentHelp("The mozdefhostname stored events get (default: this host's name).", valueName: "name"))
    var mozdefHostname: String?

    func validate() throws {
        guard Self.hostPort(listen) != nil else { throw ValidationError("--listen '\(listen)': expected host:port") }
        if let d = retentionDays, d < 1 { throw ValidationError("--retention-days must be >= 1") }
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
        let store: SQLiteStore
        do {
            store = try SQLiteStore(directory: data)
        } catch {
            throw ValidationError("--data \(data): \(error)")
        }
        let engine = RuleEngine(rules: loaded, store: store, metrics: metrics)
        let name = mozdefHostname ?? ProcessInfo.processInfo.hostName
        let ingest = Ingest(store: store, normalizer: Normalizer(mozdefHostname: name), metrics: metrics)
        let target = amqp.flatMap { AMQPPublisher.Target.parse($0) }.map { t -> AMQPPublisher.Target in
            var t = t
            t.queue = amqpQueue
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
        let router = Router()
        if let token { router.add(middleware: BearerToken(token: token)) }

        router.get("status") { _, _ in
            Self.json(200, #"{"status": "ok", "service": "loginput"}"#)
        }
        router.get("test") { _, _ in Response(status: .ok) }
        let routes: [(String, Ingest.Route)] = [("events", .events), ("nxlog", .nxlog), ("cef", .cef)]
        // (Hummingbird's router matches a path with and without its trailing slash.)
        for (path, route) in routes {
            router.post(RouterPath(path)) { request, _ in try await Self.ingest(request, route, ingest) }
            router.put(RouterPath(path)) { request, _ in try await Self.ingest(request, route, ingest) }
        }
        router.post("custom/:app") { request, context in
            try await Self.ingest(request, .custom(context.parameters.get("app") ?? ""), ingest)
        }
        router.put("custom/:app") { request, context in
            try await Self.ingest(request, .custom(context.parameters.get("app") ?? ""), ingest)
        }
        router.post("_bulk") { request, _ in try await Self.ingest(request, .bulk, ingest) }
        // A known path with a method it does not take: 405 with Allow, as loginput answers.
        let allowed: [(RouterPath, String, [HTTPRequest.Method])] = [
            ("events", "POST, PUT", [.get, .delete, .patch]), ("nxlog", "POST, PUT", [.get, .delete, .patch]),
            ("cef", "POST, PUT", [.get, .delete, .patch]), ("custom/:app", "POST, PUT", [.get, .delete, .patch]),
            ("_bulk", "POST", [.get, .put, .delete, .patch]), ("status", "GET", [.post, .put, .delete, .patch]),
            ("test", "GET", [.post, .put, .delete, .patch]),
        ]
        for (path, allow, methods) in allowed {
            for m in methods {
                router.on(path, method: m) { _, _ in
                    Response(status: .methodNotAllowed, headers: [.allow: allow, .contentType: "application/json"],
                             body: .init(byteBuffer: ByteBuffer(string: Self.errorJSON("method not allowed; use \(allow)"))))
                }
            }
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        router.get("api/events") { request, _ in
            let query: EventQuery
            do {
                query = try EventQuery(request.uri.queryParameters.get("q").map { String($0) } ?? "")
            } catch {
                return Self.json(400, Self.errorJSON("q: \(error)"))
            }
            return try await Self.listing(request, "events") { since, limit in
                let r = try store.events(since: since, limit: limit) { query.matches($0) }
                return (r.total, r.events)
            }
        }

        // `?now=ISO-TIME` evaluates the windows as of that time (replays and tests).
        router.post("api/alerts/run") { request, _ in
            var now = Clock.now()
            if let s = request.uri.queryParameters.get("now") {
                guard let t = Timestamp.parseISO8601(String(s)) else { return Self.json(400, Self.errorJSON("now: expected an ISO 8601 time")) }
                now = t.timestamp
            }
            let at = now
            let raised = await Self.offLoop { engine.runAll(now: at) }
            var w = JSONWriter(capacity: 4096)
            w.value(.object(JSONObject(members: [.init(key: "alerts", value: .array(raised.map { .object($0.document) }))])))
            return Self.json(200, String(decoding: w.bytes, as: UTF8.self))
        }
        router.get("api/alerts") { request, _ in
            try await Self.listing(request, "alerts") { since, limit in
                let r = try store.alerts(since: since, limit: limit)
                return (r.total, r.alerts)
            }
        }
        router.get("api/rules") { _, _ in
            var w = JSONWriter(capacity: 1024)
            w.value(.object(JSONObject(members: [.init(key: "rules", value: engine.describe())])))
            return Self.json(200, String(decoding: w.bytes, as: UTF8.self))
        }
        // Rules run on their schedules (and on POST /api/alerts/run), on a thread of their own:
        // the event loops never wait for a rule's query.
        if !loaded.isEmpty {
            let t = Thread {
                while true {
                    _ = engine.runDue()
                    Thread.sleep(forTimeInterval: 1)
                }
            }
            t.name = "rules"
            t.start()
        }

        if let days = retentionDays {
            Task.detached {
                while true {
                    let cutoff = (Int64(Date().timeIntervalSince1970) - Int64(days) * 86_400) * 1_000_000
                    _ = try? store.expire(before: cutoff)
                    try? await Task.sleep(nanoseconds: 3_600_000_000_000)
                }
            }
        }

        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mozdef-receiver"))
        try await app.runService()
    }

    static func log(_ s: String) {
        FileHandle.standardError.write(Data(("mozdef-receiver: " + s + "\n").utf8))
    }

    /// Runs blocking work (SQLite queries, rule runs) off the event loops.
    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            DispatchQueue.global().async { c.resume(with: Result { try work() }) }
        }
    }

    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: work()) }
        }
    }

    /// `{"total":N,"<key>":[...]}` for `?since=&limit=` (default 100, at most 10,000).
    static func listing(_ request: Request, _ key: String, _ fetch: @escaping @Sendable (Int64?, Int) throws -> (Int, [JSONObject])) async throws -> Response {
        let q = request.uri.queryParameters
        let limit = q.get("limit").flatMap { Int($0) } ?? 100
        var since: Int64?
        if let s = q.get("since") {
            guard let t = Timestamp.parseISO8601(String(s)) else { return json(400, errorJSON("since: expected an ISO 8601 time")) }
            since = t.timestamp.epochSeconds * 1_000_000 + Int64(t.timestamp.nanoseconds / 1000)
        }
        let bounded = max(0, min(limit, 10_000))
        let from = since
        let (total, docs) = try await offLoop { try fetch(from, bounded) }
        var w = JSONWriter(capacity: 4096)
        w.value(.object(JSONObject(members: [
            .init(key: "total", value: .int(Int64(total))),
            .init(key: key, value: .array(docs.map { .object($0) })),
        ])))
        return json(200, String(decoding: w.bytes, as: UTF8.self))
    }

    static func errorJSON(_ message: String) -> String {
        var w = JSONWriter(capacity: 128)
        w.value(.object(JSONObject(members: [.init(key: "error", value: .string(message))])))
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func json(_ status: Int, _ body: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Bodies over 4 MiB get 413, as nginx in front of loginput gives them.
    static func ingest(_ request: Request, _ route: Ingest.Route, _ ingest: Ingest) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 4 << 20)
        } catch let e as HTTPResponseError where e.status == .contentTooLarge {
            ingest.metrics.rejected(route.name, 1)
            return json(413, errorJSON("body over 4 MiB"))
        }
        let r = await ingest.handle(route, body: Array(buffer.readableBytesView))
        if let body = r.json { return json(r.status, body) }
        return Response(status: .init(code: r.status))
    }
}

/// `--token`: every route but /status needs `Authorization: Bearer <token>`; nothing is read
/// or stored without it.
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/status" || path == "/status/" { return try await next(request, context) }
        guard request.headers[.authorization] == "Bearer " + token else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error": "a valid bearer token is required"}"#)))
        }
        return try await next(request, context)
    }
}
