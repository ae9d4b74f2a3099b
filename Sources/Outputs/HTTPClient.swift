import CCurl

/// A minimal libcurl client: one reused easy handle, keep-alive between requests.
/// The forwarding layer (retries, batching, spool) builds on this.
public final class HTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var url: String
        public var reason: String
        public var description: String { "\(url): \(reason)" }
    }

    private let handle: UnsafeMutableRawPointer
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public var timeoutMilliseconds = 10_000

    public init() {
        _ = Self.globalInit
        handle = curl_easy_init()!
    }

    deinit { curl_easy_cleanup(handle) }

    public static var libcurlVersion: String { String(cString: curl_version()) }

    /// Collects the response body; curl passes the `Box` back through WRITEDATA.
    private final class Box { var bytes: [UInt8] = [] }

    public func post(url: String, body: [UInt8], contentType: String = "application/json") throws(Failure) -> Response {
        let box = Box()
        let ctx = Unmanaged.passRetained(box)
        defer { ctx.release() }
        var headers: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Content-Type: \(contentType)")
        headers = curl_slist_append(headers, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(headers) }
        let h = handle
        mds_curl_setopt_string(h, CURLOPT_URL, url)
        mds_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        mds_curl_setopt_long(h, CURLOPT_POST, 1)
        mds_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
        mds_curl_setopt_slist(h, CURLOPT_HTTPHEADER, headers)
        mds_curl_setopt_datacb(h, CURLOPT_WRITEFUNCTION) { ptr, size, n, ud in
            let box = Unmanaged<Box>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            if let ptr { box.bytes.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count)) }
            return count
        }
        mds_curl_setopt_pointer(h, CURLOPT_WRITEDATA, ctx.toOpaque())
        let rc: CURLcode = body.withUnsafeBytes { b in
            mds_curl_setopt_offt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(b.count))
            mds_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: b.baseAddress))
            return curl_easy_perform(h)
        }
        mds_curl_setopt_pointer(h, CURLOPT_POSTFIELDS, nil)
        guard rc == CURLE_OK else { throw Failure(url: url, reason: String(cString: curl_easy_strerror(rc))) }
        var status = 0
        mds_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: box.bytes)
    }
}
