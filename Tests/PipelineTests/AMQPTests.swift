import CRabbitMQ
import Foundation
import Testing
import TestSupport

/// `--to amqp://` against a real RabbitMQ (Debian's rabbitmq-server, a private node on
/// loopback started here), checked by consuming with pika, a peer that is not ours.
@Suite(.serialized) struct AMQPTests {
    /// A private broker for one test: its own ports and data directory.
    typealias Broker = PrivateBroker

    static let now = "2026-11-29T00:00:00Z"

    @Test func convertPublishesMozDefsContractAndSurvivesABrokerRestart() throws {
        let broker = try Broker()
        // 1. The contract: exchange and routing key eventtask, JSON, persistent; the bodies are
        //    exactly the events `convert` writes to stdout.
        let sample = "samples/syslog/auth.log"
        let r = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", broker.url, sample])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("61 confirmed"))
        let local = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, sample])
        let expected = local.stdout.split(separator: "\n").map(String.init)
        let got = try broker.consume(expected: expected.count)
        #expect(got.map(\.body) == expected)
        for m in got.prefix(3) {
            #expect(m.exchange == "eventtask" && m.routing_key == "eventtask")
            #expect(m.content_type == "application/json" && m.content_encoding == "utf-8" && m.delivery_mode == 2)
        }
        // The same, read with librabbitmq: every message's exchange, key, properties and body.
        let again = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", broker.url, sample])
        #expect(again.status == 0, "\(again.stderr)")
        let viaC = broker.getWithLibrabbitmq(count: expected.count)
        #expect(viaC.map(\.body) == expected)
        #expect(viaC.allSatisfy { $0.exchange == "eventtask" && $0.routing_key == "eventtask" && $0.content_type == "application/json"
            && $0.content_encoding == "utf-8" && $0.delivery_mode == 2 })

        // 2. The broker stops in the middle of 100,000 events and comes back: every event arrives;
        //    duplicates (events the broker took but had not confirmed) are counted, at most one window.
        let dir = try TemporaryDirectory(prefix: "amqp")
        let n = 100_000
        let lines = (0..<n).map { "<13>Nov 29 10:00:00 host app: L\(String(format: "%07d", $0))" }.joined(separator: "\n") + "\n"
        let input = try dir.write("big.log", Array(lines.utf8))
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog", "--now", Self.now, "--to", broker.url, input]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        usleep(300_000)
        try broker.run("stop")
        usleep(1_000_000)
        try broker.run("start")
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(stderr)")
        let all = try broker.consume(expected: n)
        let summaries = all.compactMap { m in
            (try? JSONSerialization.jsonObject(with: Data(m.body.utf8)) as? [String: Any])?["summary"] as? String
        }
        let distinct = Set(summaries)
        #expect(distinct.count == n, "missing \(n - distinct.count)")
        let duplicates = summaries.count - distinct.count
        #expect(duplicates <= 1000, "\(duplicates) duplicates: more than one confirm window")
        #expect(stderr.contains("connected again") || stderr.contains("\(n) confirmed"))

        // 3. With --spool-dir and the broker down for a whole run: the events wait on disk
        //    (exit 0, and it says so); the next run, with the broker back, sends them first.
        let m = 30_000
        let spoolInput = try dir.write("spool.log", Array(((0..<m).map { "<13>Nov 29 10:00:00 host app: S\(String(format: "%07d", $0))" }
            .joined(separator: "\n") + "\n").utf8))
        let empty = try dir.write("empty.log", [])
        let spool = dir.path("spool")
        try broker.run("stop")
        let down = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", broker.url, "--spool-dir", spool, spoolInput])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(down.stderr.contains("spooling them to") && down.stderr.contains("\(m) events wait in the spool"), "\(down.stderr)")
        try broker.run("start")
        let back = try Binary.run(["convert", "--format", "syslog", "--to", broker.url, "--spool-dir", spool, empty])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stderr.contains("\(m) sent (\(m) of them from the spool), 0 spooled, 0 waiting"), "\(back.stderr)")
        let spooled = try broker.consume(expected: m).compactMap { msg in
            (try? JSONSerialization.jsonObject(with: Data(msg.body.utf8)) as? [String: Any])?["summary"] as? String
        }
        // Nothing reached the broker before it went down, so nothing may come twice.
        #expect(spooled == (0..<m).map { "S" + String(format: "%07d", $0) }, "\(spooled.count) events, \(Set(spooled).count) distinct")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasPrefix("segment-") }.isEmpty)
    }

    @Test func tailCheckpointsOnlyWhatTheBrokerConfirmed() throws {
        let broker = try Broker()
        let dir = try TemporaryDirectory(prefix: "amqp-tail")
        let log = dir.path("app.log")
        let lines = (0..<500).map { "<13>Nov 29 10:00:00 host app: T\(String(format: "%07d", $0))" }.joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: log))
        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["tail", "--format", "syslog", "--from-beginning", "--state-dir", dir.path("state"), "--to", broker.url,
                       "--poll-interval", "0.2", log]
        p.standardError = FileHandle.nullDevice
        try p.run()
        let got = try broker.consume(expected: 500)
        p.terminate()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(Set(got.map(\.body)).count == 500)
        let state = try String(contentsOfFile: dir.path("state/checkpoints"), encoding: .utf8)
        #expect(state.contains(" \(lines.utf8.count) "), "checkpoint at the end of the file: \(state)")
    }

    /// amqps://: the broker's certificate is verified against --cacert (and its name against
    /// the host), or not at all with --insecure; an unknown CA is refused, and retried.
    @Test func amqpsVerifiesTheBrokersCertificate() throws {
        let broker = try Broker()
        let sample = "samples/syslog/auth.log"
        let local = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, sample]).stdout.split(separator: "\n").map(String.init)
        let tls = "amqps://guest:guest@localhost:\(broker.tlsPort)/"
        let verified = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to", tls, "--cacert", broker.caFile, sample])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stderr.contains("amqps://guest@localhost:\(broker.tlsPort)/: 61 confirmed"), "\(verified.stderr)")
        let insecure = try Binary.run(["convert", "--format", "syslog", "--now", Self.now, "--to",
                                       "amqps://guest:guest@127.0.0.1:\(broker.tlsPort)/", "--insecure", sample])
        #expect(insecure.status == 0, "\(insecure.stderr)")
        #expect(try broker.consume(expected: local.count).map(\.body) == local + local)

        let p = Process()
        p.executableURL = Binary.url
        p.arguments = ["convert", "--format", "syslog", "--to", tls, sample]  // the system's CAs do not know this one
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        usleep(2_000_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("verification failed") && stderr.contains("retrying"), "\(stderr)")
    }
}

extension PrivateBroker {
    /// `count` messages taken from `queue` with librabbitmq's basic.get (no_ack), read
    /// with its own frame decoder: a second consumer besides pika.
    func getWithLibrabbitmq(queue: String = "eventtask", count: Int) -> [Message] {
        guard let s = amqp_new_connection() else { return [] }
        defer { amqp_destroy_connection(s) }
        let sock = amqp_tcp_socket_new(s)
        guard amqp_socket_open(sock, "127.0.0.1", Int32(port)) == AMQP_STATUS_OK.rawValue,
              mds_amqp_login_plain(s, "/", 0, 131_072, 0, "guest", "guest").reply_type == AMQP_RESPONSE_NORMAL else { return [] }
        amqp_channel_open(s, 1)
        func text(_ b: amqp_bytes_t) -> String {
            String(decoding: UnsafeRawBufferPointer(start: b.bytes, count: b.len), as: UTF8.self)
        }
        var out: [Message] = []
        var empty = 0
        while out.count < count && empty < 100 {
            let r = amqp_basic_get(s, 1, amqp_cstring_bytes(queue), 1)
            guard r.reply_type == AMQP_RESPONSE_NORMAL else { break }
            guard r.reply.id == AMQP_BASIC_GET_OK_METHOD else { empty += 1; usleep(50_000); continue }
            let ok = r.reply.decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
            let exchange = text(ok.exchange), routingKey = text(ok.routing_key)
            var m = amqp_message_t()
            guard amqp_read_message(s, 1, &m, 0).reply_type == AMQP_RESPONSE_NORMAL else { break }
            let p = m.properties
            let flags = p._flags
            out.append(Message(exchange: exchange, routing_key: routingKey,
                               content_type: flags & amqp_flags_t(AMQP_BASIC_CONTENT_TYPE_FLAG) != 0 ? text(p.content_type) : nil,
                               content_encoding: flags & amqp_flags_t(AMQP_BASIC_CONTENT_ENCODING_FLAG) != 0 ? text(p.content_encoding) : nil,
                               delivery_mode: flags & amqp_flags_t(AMQP_BASIC_DELIVERY_MODE_FLAG) != 0 ? Int(p.delivery_mode) : nil,
                               body: text(m.body)))
            amqp_destroy_message(&m)
        }
        amqp_channel_close(s, 1, Int32(AMQP_REPLY_SUCCESS))
        amqp_connection_close(s, Int32(AMQP_REPLY_SUCCESS))
        return out
    }
}
