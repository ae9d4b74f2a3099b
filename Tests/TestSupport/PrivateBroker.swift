import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private RabbitMQ for one test (Debian's rabbitmq-server, scripts/rabbitmq-private): its
/// own ports and data directory on loopback, with TLS on port + 1.
public final class PrivateBroker {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    public let dir: TemporaryDirectory
    public let port: Int
    public var url: String { "amqp://guest:guest@127.0.0.1:\(port)/" }

    public init() throws {
        dir = try TemporaryDirectory(prefix: "rabbitmq")
        chmod(dir.url.path, 0o755)
        // AMQP port; the script derives the epmd (+10000) and distribution (+20000) ports.
        port = 21000 + Int(getpid() % 4000) + Int.random(in: 0..<500)
        try makeCertificates()
        try run("start")
    }

    /// TLS on port + 1 (see scripts/rabbitmq-private), with a CA made here by openssl.
    public var tlsPort: Int { port + 1 }
    public var caFile: String { dir.path("node/tls/ca.pem") }

    func makeCertificates() throws {
        let tls = dir.path("node/tls")
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        try Data("subjectAltName=DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: tls + "/ext.cnf"))
        for args in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mozdef-ship test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "2", "-extfile", "ext.cnf"],
        ] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: tls)
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw Failure(description: "openssl \(args[0]) failed") }
        }
    }

    public func run(_ what: String) throws {
        let script = PrivateBroker.repoRoot.appendingPathComponent("scripts/rabbitmq-private").path
        try runScript([script, what, dir.path("node"), String(port)])
    }

    deinit { try? run("stop") }

    public struct Message: Decodable, Sendable {
        public var exchange: String
        public var routing_key: String
        public var content_type: String?
        public var content_encoding: String?
        public var delivery_mode: Int?
        public var body: String

        public init(exchange: String, routing_key: String, content_type: String?, content_encoding: String?, delivery_mode: Int?, body: String) {
            self.exchange = exchange
            self.routing_key = routing_key
            self.content_type = content_type
            self.content_encoding = content_encoding
            self.delivery_mode = delivery_mode
            self.body = body
        }
    }

    /// Everything in `queue`, consumed by pika until `expected` distinct bodies arrived.
    public func consume(queue: String = "eventtask", expected: Int) throws -> [Message] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [PrivateBroker.repoRoot.appendingPathComponent("Tests/Support/amqp_consume.py").path, String(port), queue, String(expected), "90"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failure(description: "amqp_consume.py failed") }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(Message.self, from: Data($0.utf8))
        }
    }
}
