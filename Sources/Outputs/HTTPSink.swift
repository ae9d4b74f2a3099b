import CCurl
import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Sends events over HTTP(S) with libcurl: one event per POST (MozDef's loginput `/events`
/// answers 200 with an empty body), or NDJSON batches to a path ending in `/_bulk`.
///
/// 2xx is delivered. 408, 429, 5xx and connection errors are retried with exponential backoff
/// and jitter until they succeed (or `shouldStop`); any other status is a rejection: the
/// events go to `onReject` with the response and are not retried.
public final class HTTPSink: EventSink {
    public struct Options: Sendable {
        public var headers: [String] = []
        public var caCert: String?
        public var insecure = false
        public var clientCert: String?
        public var clientKey: String?
        public var timeoutSeconds = 30.0
        public var gzip = false
        /// Events per request for a `/_bulk` URL.
        public var batch = 500
        /// Seconds a partial batch may wait for more events (--batch-wait); nil: it goes at
        /// the next flush.
        public var batchWait: Double?
        /// One-event POSTs in flight on the connection (HTTP/1.1 pipelining); 1 waits for
        /// each answer.
        public var pipeline = 16
        public init() {}
    }

    public let url: String
    public let options: Options
    public var name: String { url }
    /// Bulk (NDJSON batches) when the path ends in `/_bulk`.
    public let bulk: Bool
    public var report: (String) -> Void = { _ in }
    public var shouldStop: () -> Bool = { false }
    /// Rejected events (one call per event): the event, the status and the response body.
    public var onReject: (UnsafeBufferPointer<UInt8>, Int, String) throws(LineOutput.WriteError) -> Void = { _, _, _ in }

    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var batchBody: [UInt8] = []
    private var batchCount = 0
    private var response = Box()
    private var compressed: [UInt8] = []

    public private(set) var delivered = 0
    public private(set) var rejected = 0
    public private(set) var retries = 0
    private var bulkRequests = 0
    public var requests: Int { bulkRequests + (pipeline?.requests ?? 0) }
    /// One-event mode: the events not yet answered, oldest first, and the connection.
    private var queue: [[UInt8]] = []
    private let pipeline: HTTPPipeline?

    private final class Box { var bytes: [UInt8] = [] }
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(url: String, options: Options) {
        _ = Self.globalInit
        self.url = url
        self.options = options
        var path = Substring(url)
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<q] }
        bulk = path.hasSuffix("/_bulk")
        pipeline = bulk ? nil : HTTPPipeline(url: url, options: options, depth: options.pipeline)
        handle = curl_easy_init()!
        var h: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, bulk ? "Content-Type: application/x-ndjson" : "Content-Type: application/json")
        h = curl_slist_append(h, "Expect:")  // no 100-continue round trip
        if options.gzip { h = curl_slist_append(h, "Content-Encoding: gzip") }
        for extra in options.headers { h = curl_slist_append(h, extra) }
        headerList = h
        let c = handle
        mds_curl_setopt_string(c, CURLOPT_URL, url)
        mds_curl_setopt_long(c, CURLOPT_NOSIGNAL, 1)
        mds_curl_setopt_long(c, CURLOPT_POST, 1)
        mds_curl_setopt_long(c, CURLOPT_TIMEOUT_MS, Int(options.timeoutSeconds * 1000))
        mds_curl_setopt_long(c, CURLOPT_CONNECTTIMEOUT_MS, Int(min(options.timeoutSeconds, 10) * 1000))
        mds_curl_setopt_slist(c, CURLOPT_HTTPHEADER, h)
        mds_curl_setopt_long(c, CURLOPT_TCP_KEEPALIVE, 1)
        if let ca = options.caCert { mds_curl_setopt_string(c, CURLOPT_CAINFO, ca) }
        if options.insecure {
            mds_curl_setopt_long(c, CURLOPT_SSL_VERIFYPEER, 0)
            mds_curl_setopt_long(c, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let cert = options.clientCert { mds_curl_setopt_string(c, CURLOPT_SSLCERT, cert) }
        if let key = options.clientKey { mds_curl_setopt_string(c, CURLOPT_SSLKEY, key) }
        mds_curl_setopt_datacb(c, CURLOPT_WRITEFUNCTION) { ptr, size, n, ud in
            let box = Unmanaged<Box>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            if let ptr, box.bytes.count < 65536 { box.bytes.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count)) }
            return count
        }
        mds_curl_setopt_pointer(c, CURLOPT_WRITEDATA, Unmanaged.passUnretained(response).toOpaque())
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
    }

    public static var libcurlVersion: String { String(cString: curl_version()) }

    public var statsLine: String? {
        "\(url): \(delivered) delivered, \(rejected) rejected, \(retries) retries, \(requests) requests"
    }

    // MARK: EventSink

    public func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        try forEachLine(bytes) { line throws(LineOutput.WriteError) in
            if bulk {
                if batchCount == 0 { batchStarted = Self.monotonic() }
                batchBody.append(contentsOf: line)
                batchBody.append(0x0A)
                batchCount += 1
                if batchCount >= max(1, options.batch) { try sendBatch() }
            } else {
                queue.append(Array(line))
                if queue.count >= max(1, options.pipeline) { try pump() }
            }
        }
        // A partial batch that has waited long enough goes now, even between flushes.
        if batchCount > 0, let wait = options.batchWait, Self.monotonic() - batchStarted >= wait { try sendBatch() }
    }

    public var holdFor: Double? {
        guard bulk, batchCount > 0, let wait = options.batchWait else { return nil }
        let left = batchStarted + wait - Self.monotonic()
        return left > 0 ? left : nil
    }

    private var batchStarted = 0.0

    private static func monotonic() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    public func flush() throws(LineOutput.WriteError) {
        if batchCount > 0 { try sendBatch() }
        if !queue.isEmpty { try pump() }
    }

    /// One-event mode: sends the queue, `pipeline` requests at a time, until every event is
    /// delivered or rejected. Retryable answers and the events a failed connection left
    /// unanswered go again (first, so order holds), after a backoff when nothing got through.
    private func pump() throws(LineOutput.WriteError) {
        guard let pipeline else { return }
        var delay = 0.1
        var reported = false
        while !queue.isEmpty {
            let n = min(max(1, options.pipeline), queue.count)
            let (answers, failure) = pipeline.exchange(queue[0..<n])
            var again: [[UInt8]] = []
            var why = failure
            var progress = false
            for (i, a) in answers.enumerated() {
                switch a.status {
                case 200..<300:
                    delivered += 1
                    progress = true
                case 408, 429, 500..<600:
                    again.append(queue[i])
                    why = "HTTP \(a.status)"
                default:
                    rejected += 1
                    progress = true
                    let text = String(decoding: a.body.prefix(4096), as: UTF8.self)
                    try queue[i].withUnsafeBufferPointer { e throws(LineOutput.WriteError) in try onReject(e, a.status, text) }
                }
            }
            queue = again + queue[answers.count..<n] + queue[n...]
            if let why, !progress || !again.isEmpty {
                try backoff(why, &delay, &reported)
            } else if reported, why == nil {
                report("\(url): delivering again")
                reported = false
                delay = 0.1
            }
        }
    }

    public func sync() throws(LineOutput.WriteError) {}
    public func reopen() throws(LineOutput.WriteError) {}

    private func sendBatch() throws(LineOutput.WriteError) {
        let body = batchBody
        let n = batchCount
        batchBody.removeAll(keepingCapacity: true)
        batchCount = 0
        try body.withUnsafeBufferPointer { b throws(LineOutput.WriteError) in try send(b, events: n) }
    }

    // MARK: requests

    /// POSTs `body` until it is delivered or rejected.
    private func send(_ body: UnsafeBufferPointer<UInt8>, events: Int) throws(LineOutput.WriteError) {
        var delay = 0.1
        var reported = false
        while true {
            let (status, failure) = post(body)
            if let failure {
                try backoff("\(failure)", &delay, &reported)
                continue
            }
            switch status {
            case 200..<300:
                if reported { report("\(url): delivering again") }
                delivered += events
                return
            case 408, 429, 500..<600:
                try backoff("HTTP \(status)", &delay, &reported)
            default:
                let text = String(decoding: response.bytes.prefix(4096), as: UTF8.self)
                rejected += events
                // Each event of the request is rejected on its own line.
                try forEachLine(UnsafeRawBufferPointer(body)) { event throws(LineOutput.WriteError) in try onReject(event, status, text) }
                return
            }
        }
    }

    private func backoff(_ why: String, _ delay: inout Double, _ reported: inout Bool) throws(LineOutput.WriteError) {
        retries += 1
        if shouldStop() { throw LineOutput.WriteError(name: url, reason: why + " (giving up: stopping)") }
        if !reported {
            report("\(url): \(why); retrying (events are kept until the server takes them)")
            reported = true
        }
        usleep(useconds_t(delay * Double.random(in: 0.8...1.2) * 1_000_000))
        delay = min(delay * 2, 30)
    }

    /// One POST; the status, or why there is none.
    private func post(_ body: UnsafeBufferPointer<UInt8>) -> (Int, String?) {
        response.bytes.removeAll(keepingCapacity: true)
        bulkRequests += 1
        let h = handle
        func perform(_ payload: UnsafeBufferPointer<UInt8>) -> CURLcode {
            mds_curl_setopt_offt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.count))
            mds_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: payload.baseAddress))
            return curl_easy_perform(h)
        }
        let rc: CURLcode
        if options.gzip {
            Self.gzipInto(&compressed, body)
            rc = compressed.withUnsafeBufferPointer { perform($0) }
        } else {
            rc = perform(body)
        }
        mds_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, nil)
        guard rc == CURLE_OK else { return (0, String(cString: curl_easy_strerror(rc))) }
        var status = 0
        mds_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return (status, nil)
    }

    /// gzip (RFC 1952) of `src` into `out`.
    static func gzipInto(_ out: inout [UInt8], _ src: UnsafeBufferPointer<UInt8>) {
        var z = z_stream()
        _ = mds_deflateInit2(&z, 1, 15 + 16)  // level 1: cheap; +16 asks zlib for the gzip wrapper
        let bound = Int(deflateBound(&z, uLong(src.count)))
        if out.count < bound { out = [UInt8](repeating: 0, count: bound) }
        out.withUnsafeMutableBufferPointer { o in
            z.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
            z.avail_in = uInt(src.count)
            z.next_out = o.baseAddress
            z.avail_out = uInt(o.count)
            _ = deflate(&z, Z_FINISH)
        }
        let n = Int(z.total_out)
        deflateEnd(&z)
        out.removeLast(out.count - n)
    }
}
