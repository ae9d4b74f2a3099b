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

/// The libcurl and librabbitmq sinks against real sockets (the full behaviour is tested
/// end to end in PipelineTests against real servers).
@Suite struct CLibraryTests {
    final class Refusals: @unchecked Sendable { var got: [(event: String, status: Int, response: String)] = [] }

    static func sink(_ url: String, refusals: Refusals? = nil, stop: Bool = false) -> HTTPSink {
        let sink = HTTPSink(url: url, options: HTTPSink.Options())
        sink.shouldStop = { stop }
        if let refusals {
            sink.onReject = { event, status, response in
                refusals.got.append((String(decoding: event, as: UTF8.self), status, response))
            }
        }
        return sink
    }

    static func send(_ sink: HTTPSink, _ line: String) throws(LineOutput.WriteError) {
        let bytes = Array((line + "\n").utf8)
        let r = bytes.withUnsafeBytes { b in Result { () throws(LineOutput.WriteError) in try sink.write(b); try sink.flush() } }
        try r.get()
    }

    @Test func libcurlPostsToARealLoopbackServer() throws {
        let server = try OneShotHTTPServer(status: 200, body: "")
        let sink = Self.sink("http://127.0.0.1:\(server.port)/events")
        try Self.send(sink, #"{"summary":"just a test","tags":["test"]}"#)
        server.wait()
        #expect(sink.delivered == 1)
        let req = String(decoding: server.request, as: UTF8.self)
        #expect(req.hasPrefix("POST /events HTTP/1.1\r\n"))
        #expect(req.lowercased().contains("content-type: application/json"))
        #expect(req.hasSuffix(#"{"summary":"just a test","tags":["test"]}"#))
        #expect(HTTPSink.libcurlVersion.hasPrefix("libcurl/"))
    }

    @Test func libcurlReportsStatusAndBody() throws {
        let server = try OneShotHTTPServer(status: 400, body: "bad")
        let refusals = Refusals()
        let sink = Self.sink("http://127.0.0.1:\(server.port)/x", refusals: refusals)
        try Self.send(sink, "{}")
        server.wait()
        #expect(refusals.got.count == 1)
        #expect(refusals.got.first?.status == 400)
        #expect(refusals.got.first?.response == "bad")
        #expect(sink.rejected == 1 && sink.delivered == 0)
    }

    @Test func libcurlConnectionErrorsAreTyped() throws {
        // A port we just bound and closed: nothing listens there.
        let s = try OneShotHTTPServer(status: 200, body: "")
        let port = s.port
        try? Self.send(Self.sink("http://127.0.0.1:\(port)/"), "{}")
        s.wait()
        // Stopping: the retry loop gives up with a typed error naming the destination.
        let error = #expect(throws: LineOutput.WriteError.self) { try Self.send(Self.sink("http://127.0.0.1:\(port)/", stop: true), "{}") }
        #expect(error?.name == "http://127.0.0.1:\(port)/")
    }

    @Test func librabbitmqIsLinkedAndReportsARefusedConnection() throws {
        #expect(AMQPPublisher.librabbitmqVersion.hasPrefix("0."))
        let s = try OneShotHTTPServer(status: 200, body: "")
        let port = s.port
        try? Self.send(Self.sink("http://127.0.0.1:\(port)/"), "{}")
        s.wait()
        var target = AMQPPublisher.Target()
        target.port = Int(port)
        let publisher = AMQPPublisher(target: target)
        publisher.shouldStop = { true }
        let line = Array("{}\n".utf8)
        let error = #expect(throws: LineOutput.WriteError.self) {
            try line.withUnsafeBytes { b in try publisher.write(b) }
        }
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
    }
}
