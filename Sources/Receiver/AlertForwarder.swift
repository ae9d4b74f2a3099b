import Foundation
import MozDefEvent
import Outputs

/// Sends raised alerts on, from its own thread so a rule run never waits for the network:
/// to RabbitMQ as MozDef's alert tasks do (exchange `alerts`, topic, durable; routing key
/// `mozdef.alert`; the message `{"_id", "_index", "_source"}`), and to a webhook as one POST
/// of the alert document each. Both retry with backoff until delivered (publisher confirms;
/// 2xx); a webhook answer that is not retryable is logged. Alerts are stored before they get
/// here, so none is lost if the destinations stay down.
public final class AlertForwarder: @unchecked Sendable {
    private let queue = BatchQueue<StoredAlert>()
    private let amqp: AMQPPublisher?
    private let webhook: HTTPSink?
    let log: @Sendable (String) -> Void

    public init(amqp: AMQPPublisher.Target?, webhook: String?, log: @escaping @Sendable (String) -> Void) {
        self.log = log
        if var t = amqp {
            t.exchange = "alerts"
            t.exchangeType = "topic"
            t.routingKey = "mozdef.alert"
            t.queue = ""  // consumers bind their own queues (MozDef's bind `mozdef.*`)
            let p = AMQPPublisher(target: t, window: 100)
            p.report = { log("alerts: \($0)") }
            self.amqp = p
        } else {
            self.amqp = nil
        }
        if let webhook {
            let h = HTTPSink(url: webhook, options: HTTPSink.Options())
            h.report = { log("alerts: \($0)") }
            h.onReject = { _, status, body throws(LineOutput.WriteError) in log("alerts: \(webhook) refused an alert: HTTP \(status) \(body)") }
            self.webhook = h
        } else {
            self.webhook = nil
        }
        if self.amqp != nil || self.webhook != nil {
            let t = Thread { self.loop() }
            t.name = "alert-forwarder"
            t.start()
        }
    }

    public func send(_ alerts: [StoredAlert]) {
        guard amqp != nil || webhook != nil else { return }
        queue.put(alerts)
    }

    private func loop() {
        while true { forward(queue.takeAll()) }
    }

    /// Out of line: with these calls inside `loop`'s endless loop, the release optimizer of
    /// Swift 6.3 runs for many minutes (measured: over 25 CPU minutes, never finishing).
    @inline(never)
    private func forward(_ batch: [StoredAlert]) {
        if let amqp { deliver(batch.map { $0.message() }, to: amqp) }
        if let webhook { deliver(batch.map { $0.json() }, to: webhook) }
    }

    @inline(never)
    private func deliver(_ bodies: [[UInt8]], to sink: any EventSink) {
        var lines: [UInt8] = []
        for b in bodies { lines += b; lines.append(0x0A) }
        let failed = lines.withUnsafeBytes { b -> LineOutput.WriteError? in
            do throws(LineOutput.WriteError) { try sink.write(b) } catch { return error }
            return nil
        }
        if let failed { log("alerts: \(sink.name): \(failed)") }
        // The sink holds what it was given until it is delivered.
        while true {
            do throws(LineOutput.WriteError) {
                try sink.flush()
                return
            } catch {
                log("alerts: \(sink.name): \(error); retrying")
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}
