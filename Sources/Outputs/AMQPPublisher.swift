import CRabbitMQ
import MozDefEvent
#if canImport(Glibc)
import Glibc
#endif

/// Publishes events to RabbitMQ the way MozDef's loginput does (exchange `eventtask`, direct,
/// durable; routing key `eventtask`; JSON, persistent), with publisher confirms.
///
/// Each event is kept until the broker confirms it; at most `window` are unconfirmed at a
/// time. When the connection fails, it reconnects with exponential backoff and jitter and
/// publishes again, in order, everything not confirmed (at-least-once: a message the broker
/// took just before the failure can arrive twice, never zero times).
public final class AMQPPublisher: EventSink {
    public struct Target: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 5672
        public var user = "guest"
        public var password = "guest"
        public var vhost = "/"
        public var exchange = "eventtask"
        /// `direct` for events (MozDef's eventtask), `topic` for alerts.
        public var exchangeType = "direct"
        public var routingKey = "eventtask"
        /// Declared durable and bound, as MozDef's loginput and workers do; empty: none.
        public var queue = "eventtask"
        /// amqps://: TLS, verified against `caCert` (else the system's CA store) unless `insecure`.
        public var tls = false
        public var caCert: String?
        public var insecure = false
        public var clientCert: String?
        public var clientKey: String?

        public init() {}

        /// `amqp://user:pass@host:port/vhost` or `amqps://...` (RabbitMQ's URI spec: the vhost
        /// is the %-decoded path, none means "/"; the port defaults to 5672, 5671 with TLS).
        public static func parse(_ url: String) -> Target? {
            var t = Target()
            var rest: Substring
            if url.hasPrefix("amqp://") {
                rest = Substring(url.dropFirst(7))
            } else if url.hasPrefix("amqps://") {
                rest = Substring(url.dropFirst(8))
                t.tls = true
                t.port = 5671
            } else {
                return nil
            }
            if let slash = rest.firstIndex(of: "/") {
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty { guard let v = path.percentDecoded else { return nil }; t.vhost = v }
                rest = rest[..<slash]
            }
            if let at = rest.lastIndex(of: "@") {
                let cred = rest[..<at]
                rest = rest[rest.index(after: at)...]
                if let colon = cred.firstIndex(of: ":") {
                    guard let u = cred[..<colon].percentDecoded, let p = cred[cred.index(after: colon)...].percentDecoded else { return nil }
                    t.user = u
                    t.password = p
                } else {
                    guard let u = cred.percentDecoded else { return nil }
                    t.user = u
                }
            }
            if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
                guard let port = Int(rest[rest.index(after: colon)...]), port > 0, port < 65536 else { return nil }
                t.port = port
                rest = rest[..<colon]
            }
            if !rest.isEmpty { t.host = String(rest) }
            return t
        }

        public var display: String { "\(tls ? "amqps" : "amqp")://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)" }
    }

    public let target: Target
    public var name: String { target.display }
    public let window: Int
    /// Called with a message when the broker cannot be reached and again when it is back.
    public var report: (String) -> Void = { _ in }
    /// Checked while waiting to reconnect: true gives up (the events stay unconfirmed).
    public var shouldStop: () -> Bool = { false }

    private var state: amqp_connection_state_t?
    /// Events not yet confirmed, oldest first, with their delivery tags on this connection.
    private var unconfirmed: [(tag: UInt64, seq: Int, body: [UInt8])] = []
    /// Message ids are this prefix (random, per publisher) and the event's number: a copy
    /// published again after a lost connection keeps its id, so a consumer that stores ids
    /// (mozdef-receiver) stores it once.
    private let idPrefix: [UInt8] = Array(String(UInt64.random(in: 0...UInt64.max), radix: 16).utf8) + [0x2D]
    private var idBuffer: [UInt8] = []
    /// Index below which every event is confirmed (the array is compacted now and then).
    private var confirmedUpTo = 0
    private var nextTag: UInt64 = 1
    private var connectedOnce = false
    /// Set once a nack made events go out again with newer tags than later ones (until reconnect).
    private var outOfOrder = false

    public private(set) var published = 0
    public private(set) var confirmed = 0
    public private(set) var republished = 0
    public private(set) var reconnects = 0

    public static var librabbitmqVersion: String { String(cString: mds_amqp_version()) }

    public init(target: Target, window: Int = 1000) {
        self.target = target
        self.window = max(1, window)
    }

    deinit { disconnect() }

    /// From the first publish to the last confirm seen by `flush` (monotonic seconds).
    private var firstPublish: Double?
    private var lastSettled: Double?

    public var statsLine: String? {
        var s = "\(target.display): \(confirmed) confirmed, \(republished) published again after reconnecting, \(reconnects) reconnects"
        if let a = firstPublish, let b = lastSettled, b > a, confirmed > 0 {
            s += ", \(Int(Double(confirmed) / (b - a))) msg/s"
        }
        return s
    }


    // MARK: EventSink

    public func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        try forEachLine(bytes) { line throws(LineOutput.WriteError) in try publish(line) }
    }

    public func flush() throws(LineOutput.WriteError) {
        guard pendingCount > 0 else { return }
        while pendingCount > 0 {
            try ensureConnected()
            if !waitConfirms(timeoutMs: 1000, atLeastOne: true) { try reconnectAndResend() }
        }
        lastSettled = Clock.monotonicSeconds()
    }

    public func sync() throws(LineOutput.WriteError) {}
    public func reopen() throws(LineOutput.WriteError) {}

    /// Events written but not confirmed (out-of-order confirms included until the prefix moves).
    var pendingCount: Int { unconfirmed.count - confirmedUpTo }

    // MARK: publishing

    func publish(_ body: UnsafeBufferPointer<UInt8>) throws(LineOutput.WriteError) {
        if firstPublish == nil { firstPublish = Clock.monotonicSeconds() }
        published += 1
        unconfirmed.append((0, published, Array(body)))
        if state == nil {
            try reconnectAndResend()  // publishes every unconfirmed event, this one included
        } else if !send(unconfirmed.count - 1) {
            try reconnectAndResend()
        }
        // Take what confirms have arrived now and then (each look is a system call); wait only
        // when the window is full.
        if published & 63 == 0, !waitConfirms(timeoutMs: 0, atLeastOne: false) { try reconnectAndResend() }
        while pendingCount >= window {
            if !waitConfirms(timeoutMs: 1000, atLeastOne: true) { try reconnectAndResend() }
        }
    }

    /// Publishes unconfirmed[i] on the current connection; false when the connection failed.
    private func send(_ i: Int) -> Bool {
        guard let state else { return false }
        unconfirmed[i].tag = nextTag
        nextTag += 1
        idBuffer.removeAll(keepingCapacity: true)
        idBuffer.append(contentsOf: idPrefix)
        var n = unconfirmed[i].seq, digits = 0
        repeat { idBuffer.append(UInt8(48 + n % 10)); n /= 10; digits += 1 } while n > 0
        idBuffer[(idBuffer.count - digits)...].reverse()
        let rc = unconfirmed[i].body.withUnsafeBytes { b in
            idBuffer.withUnsafeBytes { id in
                mds_amqp_publish_json(state, target.exchange, target.routingKey, b.baseAddress, b.count, id.baseAddress, id.count)
            }
        }
        return rc == AMQP_STATUS_OK.rawValue
    }

    /// Reads confirms (waiting up to timeoutMs for the first when atLeastOne); false when the
    /// connection failed.
    private func waitConfirms(timeoutMs: Int, atLeastOne: Bool) -> Bool {
        guard let state else { return false }
        var wait = atLeastOne ? timeoutMs : 0
        while pendingCount > 0 {
            var tag: UInt64 = 0
            var multiple: Int32 = 0
            let r = mds_amqp_next_confirm(state, Int32(wait), &tag, &multiple)
            if r < 0 { return false }
            if r == 0 { break }
            if r == 3 { continue }
            wait = 0
            if r == 1 {
                settle(upTo: tag, multiple: multiple != 0)
            } else {
                // A nack: the broker could not take them; they are published again.
                if !resendNacked(upTo: tag, multiple: multiple != 0) { return false }
            }
        }
        amqp_maybe_release_buffers(state)
        compact()
        return true
    }

    /// Marks the confirmed events (tag UInt64.max) and moves the confirmed prefix on.
    private func settle(upTo tag: UInt64, multiple: Bool) {
        for i in confirmedUpTo..<unconfirmed.count {
            let t = unconfirmed[i].tag
            // Tags rise with the index unless a nack made some go out again: then look at all.
            if t == 0 || (t != .max && t > tag && !outOfOrder) { break }
            if t != .max, multiple ? t <= tag : t == tag {
                unconfirmed[i].tag = .max
                confirmed += 1
            }
        }
        while confirmedUpTo < unconfirmed.count, unconfirmed[confirmedUpTo].tag == .max { confirmedUpTo += 1 }
    }

    private func resendNacked(upTo tag: UInt64, multiple: Bool) -> Bool {
        for i in confirmedUpTo..<unconfirmed.count {
            let t = unconfirmed[i].tag
            guard t != 0, t != .max, multiple ? t <= tag : t == tag else { continue }
            outOfOrder = true
            republished += 1
            if !send(i) { return false }
        }
        return true
    }

    private func compact() {
        if confirmedUpTo > 4096 || (confirmedUpTo > 0 && confirmedUpTo == unconfirmed.count) {
            unconfirmed.removeFirst(confirmedUpTo)
            confirmedUpTo = 0
        }
    }

    // MARK: connection

    private func ensureConnected() throws(LineOutput.WriteError) {
        if state != nil { return }
        try reconnectAndResend()
    }

    /// Connects (retrying with backoff until it works or `shouldStop`), then publishes every
    /// unconfirmed event again, in order.
    private func reconnectAndResend() throws(LineOutput.WriteError) {
        var delay = 0.1
        var reported = false
        while true {
            disconnect()
            if let failure = connect() {
                if shouldStop() { throw LineOutput.WriteError(name: name, reason: failure + " (giving up: stopping)") }
                if !reported { report("\(name): \(failure); retrying (events are kept until the broker confirms them)"); reported = true }
                let jitter = Double.random(in: 0.8...1.2)
                usleep(useconds_t(delay * jitter * 1_000_000))
                delay = min(delay * 2, 30)
                continue
            }
            if reported { report("\(name): connected again; publishing the \(pendingCount) unconfirmed events again") }
            var ok = true
            for i in confirmedUpTo..<unconfirmed.count where unconfirmed[i].tag != .max {
                if unconfirmed[i].tag != 0 { republished += 1 }
                if !send(i) { ok = false; break }
            }
            if ok { return }
        }
    }

    /// nil when connected, else why not.
    private func connect() -> String? {
        let s: amqp_connection_state_t
        switch Self.openChannel(target) {
        case .success(let c): s = c
        case .failure(let why): return why.description
        }
        let d = mds_amqp_declare(s, target.exchange, target.exchangeType, target.queue, target.routingKey)
        guard d == 0 else {
            amqp_destroy_connection(s)
            return d == -1 ? "cannot declare exchange \(target.exchange)" : d == -4 ? "publisher confirms refused" : "cannot declare or bind queue \(target.queue)"
        }
        state = s
        nextTag = 1
        outOfOrder = false
        if connectedOnce { reconnects += 1 }
        connectedOnce = true
        return nil
    }

    public struct ConnectError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A logged-in connection with channel 1 open (TCP or TLS as `target` says).
    public static func openChannel(_ target: Target) -> Result<amqp_connection_state_t, ConnectError> {
        guard let s = amqp_new_connection() else { return .failure(ConnectError(description: "cannot allocate a connection")) }
        func fail(_ why: String) -> Result<amqp_connection_state_t, ConnectError> {
            amqp_destroy_connection(s)
            return .failure(ConnectError(description: why))
        }
        let socket: OpaquePointer?
        if target.tls {
            var err: Int32 = 0
            socket = mds_amqp_tls_socket(s, target.caCert, target.insecure ? 0 : 1, target.clientCert, target.clientKey, &err)
            if socket == nil { return fail("cannot set up TLS: " + String(cString: amqp_error_string2(err))) }
        } else {
            socket = amqp_tcp_socket_new(s)
            if socket == nil { return fail("cannot create a TCP socket") }
        }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        let rc = amqp_socket_open_noblock(socket, target.host, Int32(target.port), &tv)
        guard rc == AMQP_STATUS_OK.rawValue else { return fail(String(cString: amqp_error_string2(rc))) }
        let reply = mds_amqp_login_plain(s, target.vhost, 0, 131_072, 0, target.user, target.password)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else { return fail("login failed") }
        amqp_channel_open(s, 1)
        guard amqp_get_rpc_reply(s).reply_type == AMQP_RESPONSE_NORMAL else { return fail("cannot open a channel") }
        return .success(s)
    }

    private func disconnect() {
        guard let s = state else { return }
        state = nil
        amqp_channel_close(s, 1, Int32(AMQP_REPLY_SUCCESS))
        amqp_connection_close(s, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(s)
    }
}
