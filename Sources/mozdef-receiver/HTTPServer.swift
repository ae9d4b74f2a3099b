import Foundation
import MozDefEvent
import Receiver
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request, body collected.
struct HTTPRequest: Sendable {
    var method: HTTPMethod
    /// The path without its query and without a trailing slash ("/" stays "/").
    var path: String
    var query: [String: String]
    var headers: HTTPHeaders
    var body: [UInt8]
}

/// What a route answers.
struct HTTPReply: Sendable {
    var status: Int
    var contentType: String?
    var body: [UInt8] = []
    var headers: [(String, String)] = []

    static func json(_ status: Int, _ text: String) -> HTTPReply {
        HTTPReply(status: status, contentType: "application/json", body: Array(text.utf8))
    }

    static func error(_ status: Int, _ message: String) -> HTTPReply {
        json(status, Ingest.errorBody(message))
    }
}

/// The routes: path → (methods and handlers). A handler answers through `reply`, once, from
/// any thread. The server on SwiftNIO's HTTP/1.1 codec (the library Hummingbird and Vapor are
/// built on) with a channel handler per connection: no task per request, so a request costs
/// a third of what it did on Hummingbird here (see benchmarks/receiver.sh).
final class Routes: Sendable {
    typealias Handler = @Sendable (HTTPRequest, @escaping @Sendable (HTTPReply) -> Void) -> Void
    private let exact: [String: [(HTTPMethod, Handler)]]
    /// `prefix/` + one more segment (`/custom/<app>`).
    private let prefixed: [String: [(HTTPMethod, Handler)]]
    let token: String?
    /// Told the path of each body refused for its size (413), for the counters.
    let tooLarge: @Sendable (String) -> Void

    init(exact: [String: [(HTTPMethod, Handler)]], prefixed: [String: [(HTTPMethod, Handler)]], token: String?,
         tooLarge: @escaping @Sendable (String) -> Void) {
        self.exact = exact
        self.prefixed = prefixed
        self.token = token
        self.tooLarge = tooLarge
    }

    func handle(_ r: HTTPRequest, _ reply: @escaping @Sendable (HTTPReply) -> Void) {
        // --token: every route but /status.
        if let token, r.path != "/status", r.headers.first(name: "authorization") != "Bearer " + token {
            var a = HTTPReply.json(401, #"{"error": "a valid bearer token is required"}"#)
            a.headers = [("WWW-Authenticate", "Bearer")]
            return reply(a)
        }
        var table = exact[r.path]
        if table == nil, let slash = r.path.lastIndex(of: "/"), slash != r.path.startIndex {
            table = prefixed[String(r.path[..<slash])]
        }
        guard let table else { return reply(.error(404, "no such route: \(r.path)")) }
        guard let h = table.first(where: { $0.0 == r.method })?.1 else {
            let allow = table.map { $0.0.rawValue }.joined(separator: ", ")
            var a = HTTPReply.error(405, "method not allowed; use \(allow)")
            a.headers = [("Allow", allow)]
            return reply(a)
        }
        h(r, reply)
    }
}

final class HTTPConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let maxBody = 4 << 20
    let routes: Routes
    let limits: ConnectionLimits
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false
    /// Closes the connection unless its next request is complete in time: a client that
    /// sends a request a byte at a time (slowloris) or holds an idle connection open does not
    /// keep it for ever.
    private var deadline: Scheduled<Void>?

    init(routes: Routes, limits: ConnectionLimits) {
        self.routes = routes
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    /// From now, `limits.requestTimeout` seconds for the next request to arrive whole.
    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(limits.requestTimeout * 1000))) {
            let (me, ctx) = bound.value
            if me.head != nil {
                // Part of a request came: say why before closing.
                me.head = nil
                Self.write(ctx, .error(408, "the request did not arrive within \(me.limits.requestTimeout) s"), version: .http1_1, keepAlive: false)
            } else {
                ctx.close(promise: nil)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            tooLarge = false
            if let n = h.headers.first(name: "content-length").flatMap({ Int($0) }) {
                if n > Self.maxBody { tooLarge = true } else { body.reserveCapacity(n) }
            }
        case .body(let b):
            if tooLarge { return }
            if body.count + b.readableBytes > Self.maxBody {
                tooLarge = true
                body = []
            } else {
                b.withUnsafeReadableBytes { body.append(contentsOf: $0) }
            }
        case .end:
            guard let h = head else { return }
            head = nil
            // Answering may take long (a rule run): the clock starts again with the answer.
            deadline?.cancel()
            deadline = nil
            let keepAlive = h.isKeepAlive && !tooLarge
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let version = h.version
            let send: @Sendable (HTTPReply) -> Void = { reply in
                let answer: @Sendable () -> Void = {
                    let (me, ctx) = bound.value
                    // Armed first: writing the answer hands the connection's next pipelined
                    // request to this handler at once, which then stops the clock for it.
                    if keepAlive && ctx.channel.isActive { me.arm(ctx) }
                    Self.write(ctx, reply, version: version, keepAlive: keepAlive)
                }
                if bound.eventLoop.inEventLoop { answer() } else { bound.eventLoop.execute(answer) }
            }
            var path = Substring(h.uri)
            var query: [String: String] = [:]
            if let q = path.firstIndex(of: "?") {
                for pair in path[path.index(after: q)...].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let key = String(kv[0]).replacingOccurrences(of: "+", with: " ").percentDecoded ?? String(kv[0])
                    let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").percentDecoded ?? String(kv[1])) : ""
                    query[key] = value
                }
                path = path[..<q]
            }
            while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
            if tooLarge {
                // As nginx in front of loginput answers.
                routes.tooLarge(String(path))
                return send(.error(413, "body over 4 MiB"))
            }
            let request = HTTPRequest(method: h.method, path: String(path), query: query, headers: h.headers, body: body)
            body = []
            routes.handle(request, send)
        }
    }

    private static func write(_ context: ChannelHandlerContext, _ reply: HTTPReply, version: HTTPVersion, keepAlive: Bool) {
        var headers = HTTPHeaders()
        if let t = reply.contentType { headers.add(name: "Content-Type", value: t) }
        headers.add(name: "Content-Length", value: String(reply.body.count))
        for (k, v) in reply.headers { headers.add(name: k, value: v) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if !reply.body.isEmpty {
            var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
            buffer.writeBytes(reply.body)
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        } else {
            let channel = context.channel
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

enum HTTPServer {
    /// Binds `host:port` on NIO's event loops (one per core) and serves until the channel closes.
    static func run(host: String, port: Int, routes: Routes, limits: ConnectionLimits, started: @Sendable () -> Void) async throws {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                // Over the limit, a connection is closed at once: memory stays bounded (each
                // may hold a body of up to 4 MiB).
                // Counted down when it closes, however that happens.
                let counted = limits.opened()
                channel.closeFuture.whenComplete { _ in limits.closed() }
                guard counted else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPConnection(routes: routes, limits: limits))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        started()
        try await channel.closeFuture.get()
    }
}

/// How many connections may be open at once, and how long a connection may take to send its
/// next whole request (--max-connections, --request-timeout).
final class ConnectionLimits: @unchecked Sendable {
    let maxConnections: Int
    let requestTimeout: Double
    private let lock = NSLock()
    private var open = 0

    init(maxConnections: Int, requestTimeout: Double) {
        self.maxConnections = maxConnections
        self.requestTimeout = requestTimeout
    }

    /// Counts a new connection; false when it is one too many.
    func opened() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        open += 1
        return open <= maxConnections
    }

    func closed() {
        lock.lock()
        open -= 1
        lock.unlock()
    }
}
