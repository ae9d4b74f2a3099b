import CCurl
import MozDefEvent
#if canImport(Glibc)
import Glibc
#endif

/// POSTs over one kept-alive connection, with HTTP/1.1 pipelining (RFC 9112 §9.3.2) for
/// one-event requests: up to `depth` requests go out in one write, then their answers are
/// read, in order (a /_bulk batch goes alone, in one write too). On loopback one
/// request and its answer cost the client about 50 µs of kernel time here, whoever sends it;
/// sent `depth` at a time, that cost is shared.
///
/// libcurl makes the connection (TCP, TLS, certificates: CURLOPT_CONNECT_ONLY) and moves the
/// bytes (curl_easy_send/recv); the requests are written and the answers read here.
/// POST is not idempotent, and pipelining it is safe only with a way to recover from a
/// partial failure: events whose answers did not come (connection lost, `Connection: close`)
/// are sent again on a new connection, so after a failure at most `depth` events arrive twice.
final class HTTPPipeline {
    struct Answer {
        var status: Int
        var body: [UInt8]
    }

    let url: String
    let options: HTTPSink.Options
    let depth: Int
    private var handle: UnsafeMutableRawPointer
    private var socket: curl_socket_t = -1
    private var connected = false
    /// "POST /path HTTP/1.1\r\nHost: ...\r\n<headers>Content-Length: ".
    private let head: [UInt8]
    private var out: [UInt8] = []
    /// Received bytes not yet parsed: buf[pos...].
    private var buf: [UInt8] = []
    private var pos = 0
    private var compressed: [UInt8] = []
    private(set) var requests = 0

    init(url: String, options: HTTPSink.Options, depth: Int, contentType: String) {
        self.url = url
        self.options = options
        self.depth = max(1, depth)
        handle = curl_easy_init()!
        let (host, target) = Self.hostAndTarget(url)
        var h = "POST \(target) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: \(contentType)\r\n"
        if options.gzip { h += "Content-Encoding: gzip\r\n" }
        for extra in options.headers { h += extra + "\r\n" }
        h += "Content-Length: "
        head = Array(h.utf8)
        configure()
    }

    deinit { curl_easy_cleanup(handle) }

    private func configure() {
        let c = handle
        mds_curl_setopt_string(c, CURLOPT_URL, url)
        mds_curl_setopt_long(c, CURLOPT_CONNECT_ONLY, 1)
        mds_curl_setopt_long(c, CURLOPT_NOSIGNAL, 1)
        mds_curl_setopt_long(c, CURLOPT_CONNECTTIMEOUT_MS, Int(min(options.timeoutSeconds, 10) * 1000))
        mds_curl_setopt_long(c, CURLOPT_TCP_NODELAY, 1)
        mds_curl_setopt_long(c, CURLOPT_TCP_KEEPALIVE, 1)
        if let ca = options.caCert { mds_curl_setopt_string(c, CURLOPT_CAINFO, ca) }
        if options.insecure {
            mds_curl_setopt_long(c, CURLOPT_SSL_VERIFYPEER, 0)
            mds_curl_setopt_long(c, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let cert = options.clientCert { mds_curl_setopt_string(c, CURLOPT_SSLCERT, cert) }
        if let key = options.clientKey { mds_curl_setopt_string(c, CURLOPT_SSLKEY, key) }
    }

    /// The Host header and the request target of an http(s) URL.
    static func hostAndTarget(_ url: String) -> (String, String) {
        var rest = Substring(url)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") { rest = rest[rest.index(colon, offsetBy: 3)...] }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<slash]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var target = String(rest[slash...])
        if target.isEmpty || target.first == "?" { target = "/" + target }
        return (String(authority), target)
    }

    /// Drops the connection: a new easy handle, configured the same, makes the next one.
    private func disconnect() {
        curl_easy_cleanup(handle)
        handle = curl_easy_init()!
        configure()
        connected = false
        socket = -1
    }

    /// Sends the events' requests in one write and reads their answers, in order. Returns the
    /// answers (fewer than the events when the connection closed or failed: the caller sends
    /// the rest again) and why the rest did not come.
    func exchange(_ events: ArraySlice<[UInt8]>) -> (answers: [Answer], failure: String?) {
        if !connected {
            let rc = curl_easy_perform(handle)
            guard rc == CURLE_OK else {
                let why = String(cString: curl_easy_strerror(rc))
                disconnect()
                return ([], why)
            }
            var s: curl_socket_t = -1
            mds_curl_getinfo_socket(handle, &s)
            socket = s
            connected = true
            buf.removeAll(keepingCapacity: true)
            pos = 0
        }
        out.removeAll(keepingCapacity: true)
        for e in events {
            if options.gzip {
                e.withUnsafeBufferPointer { HTTPSink.gzipInto(&compressed, $0) }
                request(compressed)
            } else {
                request(e)
            }
        }
        requests += events.count
        if let why = sendAll() {
            disconnect()
            return ([], why)
        }
        var answers: [Answer] = []
        answers.reserveCapacity(events.count)
        while answers.count < events.count {
            switch readAnswer() {
            case .success(let (a, close)):
                answers.append(a)
                if close {
                    disconnect()
                    return (answers, answers.count < events.count ? "the server closed the connection" : nil)
                }
            case .failure(let f):
                disconnect()
                return (answers, f.why)
            }
        }
        return (answers, nil)
    }

    private func request(_ body: [UInt8]) {
        out.append(contentsOf: head)
        out.append(contentsOf: String(body.count).utf8)
        out.append(contentsOf: [13, 10, 13, 10])
        out.append(contentsOf: body)
    }

    struct Failed: Error { var why: String }

    /// Waits until the socket is ready for `events`; false on timeout.
    private func wait(_ events: Int16) -> Bool {
        var p = pollfd(fd: socket, events: events, revents: 0)
        let ms = Int32(min(options.timeoutSeconds * 1000, Double(Int32.max)))
        while true {
            let r = poll(&p, 1, ms)
            if r < 0, errno == EINTR { continue }
            return r > 0
        }
    }

    private func sendAll() -> String? {
        var done = 0
        while done < out.count {
            var n = 0
            let rc = out.withUnsafeBytes { b in curl_easy_send(handle, b.baseAddress! + done, b.count - done, &n) }
            if rc == CURLE_AGAIN {
                if !wait(Int16(POLLOUT)) { return "timed out sending" }
                continue
            }
            if rc != CURLE_OK { return String(cString: curl_easy_strerror(rc)) }
            done += n
        }
        return nil
    }

    /// Drops parsed bytes; only between answers (offsets into `buf` are held while parsing one).
    private func compact() {
        if pos > 0, pos == buf.count {
            buf.removeAll(keepingCapacity: true)
            pos = 0
        } else if pos > 65536 {
            buf.removeFirst(pos)
            pos = 0
        }
    }

    /// Reads more bytes onto the end of `buf`; nil on success.
    private func fill() -> String? {
        let start = buf.count
        buf.append(contentsOf: repeatElement(0, count: 16384))
        while true {
            var n = 0
            let rc = buf.withUnsafeMutableBytes { b in curl_easy_recv(handle, b.baseAddress! + start, 16384, &n) }
            if rc == CURLE_AGAIN {
                if !wait(Int16(POLLIN)) { buf.removeLast(16384); return "no answer within \(options.timeoutSeconds) s" }
                continue
            }
            buf.removeLast(16384 - (rc == CURLE_OK ? n : 0))
            if rc != CURLE_OK { return String(cString: curl_easy_strerror(rc)) }
            return n == 0 ? "the server closed the connection" : nil
        }
    }

    /// The index of "\r\n" at or after `from`, reading more as needed.
    private func line(from: Int) -> Result<Int, Failed> {
        var k = from
        while true {
            while k + 1 < buf.count {
                if buf[k] == 13, buf[k + 1] == 10 { return .success(k) }
                k += 1
            }
            if let why = fill() { return .failure(Failed(why: why)) }
        }
    }

    private func need(_ n: Int) -> Failed? {
        while buf.count - pos < n {
            if let why = fill() { return Failed(why: why) }
        }
        return nil
    }

    /// One answer: status, body (its first 64 KiB), and whether the connection ends after it.
    private func readAnswer() -> Result<(Answer, Bool), Failed> {
        compact()
        while true {
            // Status line and headers.
            guard case .success(let statusEnd) = line(from: pos) else { return .failure(lastFailure(from: pos)) }
            let status = buf[pos..<statusEnd]
            guard status.count >= 12, status.starts(with: Array("HTTP/1.".utf8)),
                  let code = Int(String(decoding: status[(pos + 9)..<(pos + 12)], as: UTF8.self)) else {
                return .failure(Failed(why: "not an HTTP/1.x answer"))
            }
            let http10 = status[pos + 7] == UInt8(ascii: "0")
            var length: Int?
            var chunked = false
            var close = http10
            var k = statusEnd + 2
            while true {
                guard case .success(let e) = line(from: k) else { return .failure(Failed(why: "the server closed the connection")) }
                if e == k { k = e + 2; break }  // the empty line
                let h = String(decoding: buf[k..<e], as: UTF8.self)
                if let colon = h.firstIndex(of: ":") {
                    let name = h[..<colon].lowercased()
                    let value = h[h.index(after: colon)...].trimmingSpaces.lowercased()
                    switch name {
                    case "content-length": length = Int(value)
                    case "transfer-encoding": chunked = value.contains("chunked")
                    case "connection":
                        if value.contains("close") { close = true }
                        if value.contains("keep-alive") { close = false }
                    default: break
                    }
                }
                k = e + 2
            }
            pos = k
            if code >= 100 && code < 200 { continue }  // an interim answer: the real one follows
            var body: [UInt8] = []
            if chunked {
                while true {
                    guard case .success(let e) = line(from: pos) else { return .failure(Failed(why: "the server closed the connection")) }
                    let sizeText = String(decoding: buf[pos..<e], as: UTF8.self).split(separator: ";").first ?? ""
                    guard let size = Int(sizeText.trimmingSpaces, radix: 16) else { return .failure(Failed(why: "a bad chunk size")) }
                    pos = e + 2
                    if size == 0 {
                        // Trailers, up to the empty line.
                        while true {
                            guard case .success(let t) = line(from: pos) else { return .failure(Failed(why: "the server closed the connection")) }
                            let empty = t == pos
                            pos = t + 2
                            if empty { break }
                        }
                        break
                    }
                    if let f = need(size + 2) { return .failure(f) }
                    if body.count < 65536 { body.append(contentsOf: buf[pos..<(pos + min(size, 65536 - body.count))]) }
                    pos += size + 2
                }
            } else if let length {
                if let f = need(length) { return .failure(f) }
                body.append(contentsOf: buf[pos..<(pos + min(length, 65536))])
                pos += length
            } else if code != 204 && code != 304 {
                // No length: the body runs to the end of the connection.
                while fill() == nil {}
                body.append(contentsOf: buf[pos..<min(buf.count, pos + 65536)])
                pos = buf.count
                close = true
            }
            return .success((Answer(status: code, body: body), close))
        }
    }

    private func lastFailure(from: Int) -> Failed {
        Failed(why: buf.count > from ? "an answer cut short" : "the server closed the connection")
    }
}
