import CCurl
import CZlib
import MozDefEvent
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

    private var batchBody: [UInt8] = []
    private var batchCount = 0

    public private(set) var delivered = 0
    public private(set) var rejected = 0
    public private(set) var retries = 0
    public var requests: Int { pipeline.requests }
    /// One-event mode: the events not yet answered, oldest first.
    private var queue: [[UInt8]] = []
    /// The connection: libcurl connects (TLS included), requests and answers are ours.
    private let pipeline: HTTPPipeline

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(url: String, options: Options) {
        _ = Self.globalInit
        self.url = url
        self.options = options
        var path = Substring(url)
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<q] }
        bulk = path.hasSuffix("/_bulk")
        pipeline = bulk ? HTTPPipeline(url: url, options: options, depth: 1, contentType: "application/x-ndjson")
            : HTTPPipeline(url: url, options: options, depth: options.pipeline, contentType: "application/json")
    }

    public static var libcurlVersion: String { String(cString: curl_version()) }

    public var statsLine: String? {
        "\(url): \(delivered) delivered, \(rejected) rejected, \(retries) retries, \(requests) requests"
    }

    // MARK: EventSink

    public func write(_ bytes: UnsafeRawBufferPointer) throws(LineOutput.WriteError) {
        try forEachLine(bytes) { line throws(LineOutput.WriteError) in
            if bulk {
                if batchCount == 0 { batchStarted = Clock.monotonicSeconds() }
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
        if batchCount > 0, let wait = options.batchWait, Clock.monotonicSeconds() - batchStarted >= wait { try sendBatch() }
    }

    public var holdFor: Double? {
        guard bulk, batchCount > 0, let wait = options.batchWait else { return nil }
        let left = batchStarted + wait - Clock.monotonicSeconds()
        return left > 0 ? left : nil
    }

    private var batchStarted = 0.0


    public func flush() throws(LineOutput.WriteError) {
        if batchCount > 0 { try sendBatch() }
        if !queue.isEmpty { try pump() }
    }

    /// One-event mode: sends the queue, `pipeline` requests at a time, until every event is
    /// delivered or rejected. Retryable answers and the events a failed connection left
    /// unanswered go again (first, so order holds), after a backoff when nothing got through.
    private func pump() throws(LineOutput.WriteError) {
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
        // Two buffers take turns, so a batch's memory is reused, not mapped afresh each time.
        swap(&batchBody, &sending)
        let n = batchCount
        batchCount = 0
        defer { sending.removeAll(keepingCapacity: true) }
        try send(sending, events: n)
    }

    private var sending: [UInt8] = []

    // MARK: requests

    /// POSTs a /_bulk batch until it is delivered or rejected.
    private func send(_ body: [UInt8], events: Int) throws(LineOutput.WriteError) {
        var delay = 0.1
        var reported = false
        let one = [body]
        while true {
            let (answers, failure) = pipeline.exchange(one[...])
            guard let a = answers.first else {
                try backoff(failure ?? "no answer", &delay, &reported)
                continue
            }
            switch a.status {
            case 200..<300:
                if reported { report("\(url): delivering again") }
                delivered += events
                return
            case 408, 429, 500..<600:
                try backoff("HTTP \(a.status)", &delay, &reported)
            default:
                let text = String(decoding: a.body.prefix(4096), as: UTF8.self)
                rejected += events
                // Each event of the request is rejected on its own line.
                let failed = body.withUnsafeBytes { b -> LineOutput.WriteError? in
                    do { try forEachLine(b) { event throws(LineOutput.WriteError) in try onReject(event, a.status, text) } } catch let e as LineOutput.WriteError { return e } catch { return nil }
                    return nil
                }
                if let failed { throw failed }
                return
            }
        }
    }

    private func backoff(_ why: String, _ delay: inout Double, _ reported: inout Bool) throws(LineOutput.WriteError) {
        retries += 1
        try pauseBeforeRetry(url, why, &delay, &reported, shouldStop: shouldStop, report: report)
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

/// Waits before a retry (exponential backoff from `delay`, doubling to 30 s, with jitter),
/// saying why once; throws when the job is stopping, so the events stay undelivered.
func pauseBeforeRetry(_ name: String, _ why: String, _ delay: inout Double, _ reported: inout Bool,
                      shouldStop: () -> Bool, report: (String) -> Void) throws(LineOutput.WriteError) {
    if shouldStop() { throw LineOutput.WriteError(name: name, reason: why + " (giving up: stopping)") }
    if !reported {
        report("\(name): \(why); retrying (events are kept until the server takes them)")
        reported = true
    }
    usleep(useconds_t(delay * Double.random(in: 0.8...1.2) * 1_000_000))
    delay = min(delay * 2, 30)
}
