import Foundation
import Testing
@testable import Outputs
import CCurl
import CRabbitMQ

/// A one-request HTTP server on a loopback ephemeral port: accepts one connection,
/// records the request, answers with `status`.
final class OneShotHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private(set) var request = [UInt8]()

    init(status: Int, body: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        let listener = fd
        let response = Array("HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
        Thread {
            let c = accept(listener, nil, nil)
            var buf = [UInt8](repeating: 0, count: 65536)
            var req = [UInt8]()
            while true {
                let n = read(c, &buf, buf.count)
                if n <= 0 { break }
                req += buf[0..<n]
                if let headerEnd = Self.headerEnd(req) {
                    let head = String(decoding: req[0..<headerEnd], as: UTF8.self).lowercased()
                    let cl = head.components(separatedBy: "\r\n").first { $0.hasPrefix("content-length:") }
                        .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) } ?? 0
                    if req.count >= headerEnd + 4 + cl { break }
                }
            }
            self.request = req
            _ = response.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            close(c)
            self.done.signal()
        }.start()
    }

    static func headerEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }

    func wait() { done.wait(); close(fd) }
}

@Suite struct CLibraryTests {
    @Test func libcurlPostsToARealLoopbackServer() throws {
        let server = try OneShotHTTPServer(status: 200, body: "")
        let client = HTTPClient()
        let body = Array(#"{"summary":"just a test","tags":["test"]}"#.utf8)
        let r = try client.post(url: "http://127.0.0.1:\(server.port)/events", body: body)
        server.wait()
        #expect(r.status == 200)
        let req = String(decoding: server.request, as: UTF8.self)
        #expect(req.hasPrefix("POST /events HTTP/1.1\r\n"))
        #expect(req.lowercased().contains("content-type: application/json"))
        #expect(req.hasSuffix(#"{"summary":"just a test","tags":["test"]}"#))
        #expect(HTTPClient.libcurlVersion.hasPrefix("libcurl/"))
    }

    @Test func libcurlReportsStatusAndBody() throws {
        let server = try OneShotHTTPServer(status: 400, body: "bad")
        let r = try HTTPClient().post(url: "http://127.0.0.1:\(server.port)/x", body: [])
        server.wait()
        #expect(r.status == 400)
        #expect(String(decoding: r.body, as: UTF8.self) == "bad")
    }

    @Test func libcurlConnectionErrorsAreTyped() throws {
        // A port we just bound and closed: nothing listens there.
        let s = try OneShotHTTPServer(status: 200, body: "")
        let port = s.port
        _ = try? HTTPClient().post(url: "http://127.0.0.1:\(port)/", body: [])
        s.wait()
        #expect(throws: HTTPClient.Failure.self) { try HTTPClient().post(url: "http://127.0.0.1:\(port)/", body: []) }
    }

    @Test func librabbitmqIsLinkedAndReportsARefusedConnection() throws {
        #expect(AMQPConnection.librabbitmqVersion.hasPrefix("0."))
        let s = try OneShotHTTPServer(status: 200, body: "")
        let port = s.port
        _ = try? HTTPClient().post(url: "http://127.0.0.1:\(port)/", body: [])
        s.wait()
        let error = #expect(throws: AMQPConnection.Failure.self) {
            _ = try AMQPConnection(host: "127.0.0.1", port: Int(port), timeoutSeconds: 2)
        }
        #expect(error?.reason.contains("127.0.0.1:\(port)") == true)
    }
}
