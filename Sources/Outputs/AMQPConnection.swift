import CRabbitMQ
#if canImport(Glibc)
import Glibc
#endif

/// A librabbitmq connection (TCP, PLAIN login, one channel). The forwarding layer
/// (confirms, reconnects) builds on this.
public final class AMQPConnection {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public var description: String { reason }
    }

    private let state: amqp_connection_state_t
    private var open = false

    public static var librabbitmqVersion: String { String(cString: mds_amqp_version()) }

    public init(host: String, port: Int, user: String = "guest", password: String = "guest",
                vhost: String = "/", timeoutSeconds: Int = 5) throws(Failure) {
        state = amqp_new_connection()
        // From here on the object is fully initialised: a throw still runs deinit,
        // which destroys the connection, so the failure paths below must not.
        guard let socket = amqp_tcp_socket_new(state) else {
            throw Failure(reason: "cannot create a TCP socket")
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let rc = amqp_socket_open_noblock(socket, host, Int32(port), &tv)
        guard rc == AMQP_STATUS_OK.rawValue else {
            throw Failure(reason: "amqp://\(host):\(port): \(String(cString: amqp_error_string2(rc)))")
        }
        let reply = mds_amqp_login_plain(state, vhost, 0, 131_072, 0, user, password)
        guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
            throw Failure(reason: "amqp://\(host):\(port): login failed")
        }
        amqp_channel_open(state, 1)
        guard amqp_get_rpc_reply(state).reply_type == AMQP_RESPONSE_NORMAL else {
            throw Failure(reason: "amqp://\(host):\(port): cannot open channel 1")
        }
        open = true
    }

    deinit {
        if open {
            amqp_channel_close(state, 1, Int32(AMQP_REPLY_SUCCESS))
            amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        amqp_destroy_connection(state)
    }
}
