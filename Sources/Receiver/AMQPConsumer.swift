import CRabbitMQ
import Foundation
import MozDefEvent
import Outputs

/// `--amqp`: consumes MozDef's `eventtask` queue as MozDef's workers do (exchange `eventtask`,
/// direct, durable; queue `eventtask`, durable, bound with routing key `eventtask`). Deliveries
/// are taken in batches, normalized and stored; the batch is acknowledged only once its
/// transaction is committed, so a crash or a lost connection gets it delivered again (to this
/// or another receiver on the same queue: the broker shares a queue among its consumers).
/// A message that is not a JSON object, or that normalization refuses, is logged with its
/// reason, counted as rejected and rejected without requeue (the broker dead-letters it if the
/// queue has a dead-letter exchange). A message with a message id (mozdef-ship sets one) is
/// stored once even when delivered again: the id is kept with the event, unique.
public final class AMQPConsumer: @unchecked Sendable {
    public let target: AMQPPublisher.Target
    let ingest: Ingest
    let prefetch: Int
    let log: @Sendable (String) -> Void
    public private(set) var consumed = 0

    public init(target: AMQPPublisher.Target, ingest: Ingest, prefetch: Int = 1000, log: @escaping @Sendable (String) -> Void) {
        self.target = target
        self.ingest = ingest
        self.prefetch = prefetch
        self.log = log
    }

    /// Runs on its own thread for the life of the process.
    public func start() {
        let t = Thread { self.loop() }
        t.name = "amqp-consumer"
        t.start()
    }

    private func loop() {
        var delay = 0.5
        var down = false
        while true {
            switch AMQPPublisher.openChannel(target) {
            case .failure(let why):
                if !down { log("amqp: \(target.display): \(why); retrying") }
                down = true
            case .success(let s):
                let setup = mds_amqp_consume_setup(s, target.exchange, target.queue, target.routingKey, UInt16(min(prefetch, 65535)))
                if setup == 0 {
                    if down { log("amqp: \(target.display): connected again") }
                    down = false
                    delay = 0.5
                    let why = consume(s)
                    log("amqp: \(target.display): \(why); reconnecting")
                    down = true
                } else {
                    log("amqp: \(target.display): cannot declare, bind or consume queue \(target.queue) (step \(-setup))")
                    down = true
                }
                amqp_connection_close(s, Int32(AMQP_REPLY_SUCCESS))
                amqp_destroy_connection(s)
            }
            Thread.sleep(forTimeInterval: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, 30)
        }
    }

    /// Consumes until the connection fails; why it stopped.
    private func consume(_ s: amqp_connection_state_t) -> String {
        let env = UnsafeMutablePointer<amqp_envelope_t>.allocate(capacity: 1)
        defer { env.deallocate() }
        while true {
            // Wait for one delivery, then take whatever else has already arrived.
            var bodies: [[UInt8]] = []
            var tags: [UInt64] = []
            var ids: [String?] = []
            var wait: Int32 = 1000
            while bodies.count < prefetch {
                let r = mds_amqp_next_delivery(s, wait, env)
                if r < 0 { return "connection lost" }
                if r == 0 { break }
                let m = env.pointee.message.body
                bodies.append(m.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: m.bytes, count: m.len)))
                tags.append(env.pointee.delivery_tag)
                let p = env.pointee.message.properties
                if p._flags & UInt32(AMQP_BASIC_MESSAGE_ID_FLAG) != 0, p.message_id.len > 0 {
                    ids.append(String(decoding: UnsafeRawBufferPointer(start: p.message_id.bytes, count: p.message_id.len), as: UTF8.self))
                } else {
                    ids.append(nil)
                }
                amqp_destroy_envelope(env)
                wait = 0
            }
            if bodies.isEmpty { continue }
            let now = Clock.now()
            var docs: [StoredEvent] = []
            var refused: [UInt64] = []
            for (i, body) in bodies.enumerated() {
                let tag = tags[i]
                switch ingest.document(body, route: nil, now: now) {
                case .success(let d): docs.append(StoredEvent(d, received: now, messageID: ids[i]))
                case .failure(let why):
                    log("amqp: delivery \(tag) on \(target.queue): \(why.description); rejected")
                    refused.append(tag)
                }
            }
            ingest.metrics.received("amqp", bodies.count)
            ingest.metrics.rejected("amqp", refused.count)
            if !docs.isEmpty {
                let done = DispatchSemaphore(value: 0)
                let box = ErrorBox()
                ingest.store.insert(docs) { error in
                    box.error = error
                    done.signal()
                }
                done.wait()
                if let e = box.error { return "not stored: \(e)" }  // unacknowledged: delivered again
                ingest.metrics.stored("amqp", docs.count)
            }
            for t in refused where amqp_basic_reject(s, 1, t, 0) != 0 { return "connection lost" }
            if amqp_basic_ack(s, 1, tags.last!, 1) != 0 { return "connection lost" }
            consumed += bodies.count
        }
    }
}

private final class ErrorBox: @unchecked Sendable {
    var error: Error?
}
