#ifndef MOZDEF_SHIP_CRABBITMQ_SHIM_H
#define MOZDEF_SHIP_CRABBITMQ_SHIM_H
#include <sys/time.h>
// rabbitmq-c 0.12+ moved its headers under rabbitmq-c/; Debian 12 ships 0.11.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif
#include <openssl/ssl.h>

// A TLS socket for amqps://. With verification on, the peer is checked against `cacert`, or
// else the system's CA store (librabbitmq loads none by itself), and its name against the host.
// *err: 0, or a librabbitmq status.
static inline amqp_socket_t *mds_amqp_tls_socket(amqp_connection_state_t s, const char *cacert, int verify,
                                                 const char *cert, const char *key, int *err) {
    amqp_socket_t *sock = amqp_ssl_socket_new(s);
    if (!sock) { *err = AMQP_STATUS_SSL_ERROR; return NULL; }
    amqp_ssl_socket_set_verify_peer(sock, verify ? 1 : 0);
    amqp_ssl_socket_set_verify_hostname(sock, verify ? 1 : 0);
    int rc = 0;
    if (cacert) rc = amqp_ssl_socket_set_cacert(sock, cacert);
    else SSL_CTX_set_default_verify_paths((SSL_CTX *)amqp_ssl_socket_get_context(sock));
    if (rc == 0 && cert && key) rc = amqp_ssl_socket_set_key(sock, cert, key);
    *err = rc;
    return rc == 0 ? sock : NULL;
}

// amqp_login is variadic: a typed wrapper for PLAIN user/password login.
static inline amqp_rpc_reply_t mds_amqp_login_plain(amqp_connection_state_t state,
        const char *vhost, int channel_max, int frame_max, int heartbeat,
        const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat,
                      AMQP_SASL_METHOD_PLAIN, user, password);
}
// MozDef's contract: a durable exchange (direct for events, topic for alerts), and a durable
// queue bound to it (so events published before any consumer exists are kept, not dropped by
// the broker).
static inline int mds_amqp_declare(amqp_connection_state_t s, const char *exchange, const char *type,
                                   const char *queue, const char *routing_key) {
    amqp_exchange_declare(s, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(type), 0, 1, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -1;
    if (queue && *queue) {
        amqp_queue_declare(s, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
        if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -2;
        amqp_queue_bind(s, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), amqp_empty_table);
        if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -3;
    }
    amqp_confirm_select(s, 1);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -4;
    return 0;
}

// One persistent JSON message (content_type application/json, content_encoding utf-8,
// delivery_mode 2), with a message_id when id_len > 0.
static inline int mds_amqp_publish_json(amqp_connection_state_t s, const char *exchange, const char *routing_key,
                                        const void *body, size_t len, const void *id, size_t id_len) {
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = 2;
    if (id_len > 0) {
        props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
        props.message_id.len = id_len;
        props.message_id.bytes = (void *)id;
    }
    amqp_bytes_t b;
    b.len = len;
    b.bytes = (void *)body;
    return amqp_basic_publish(s, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), 0, 0, &props, b);
}

// The next publisher confirm, waiting at most timeout_ms (0: only what has arrived).
// Returns 1 ack, 2 nack (tag and multiple set), 0 nothing yet, 3 another frame (ignored),
// -1 the connection or channel is gone.
static inline int mds_amqp_next_confirm(amqp_connection_state_t s, int timeout_ms, uint64_t *tag, int *multiple) {
    amqp_frame_t f;
    struct timeval tv;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    int rc = amqp_simple_wait_frame_noblock(s, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) return 0;
    if (rc != AMQP_STATUS_OK) return -1;
    if (f.frame_type != AMQP_FRAME_METHOD) return 3;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = (amqp_basic_ack_t *)f.payload.method.decoded;
        *tag = a->delivery_tag; *multiple = a->multiple;
        return 1;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *a = (amqp_basic_nack_t *)f.payload.method.decoded;
        *tag = a->delivery_tag; *multiple = a->multiple;
        return 2;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return -1;
    default:
        return 3;
    }
}

// A consumer on MozDef's queue: the exchange (direct, durable) and queue (durable) declared
// and bound as MozDef's workers do, at most `prefetch` unacknowledged deliveries, manual acks.
// 0, or -1..-5 naming the step that failed.
static inline int mds_amqp_consume_setup(amqp_connection_state_t s, const char *exchange, const char *queue,
                                         const char *routing_key, uint16_t prefetch) {
    amqp_exchange_declare(s, 1, amqp_cstring_bytes(exchange), amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -1;
    amqp_queue_declare(s, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -2;
    amqp_queue_bind(s, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key), amqp_empty_table);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -3;
    amqp_basic_qos(s, 1, 0, prefetch, 0);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -4;
    amqp_basic_consume(s, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return -5;
    return 0;
}

// The next delivery into *env, waiting at most timeout_ms (0: only what has arrived).
// 1: a delivery (free it with amqp_destroy_envelope), 0: none yet, -1: the connection is gone.
static inline int mds_amqp_next_delivery(amqp_connection_state_t s, int timeout_ms, amqp_envelope_t *env) {
    struct timeval tv;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    amqp_maybe_release_buffers(s);
    amqp_rpc_reply_t r = amqp_consume_message(s, env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return 1;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // A frame other than a delivery (a heartbeat, a basic.return): read and skip it.
        amqp_frame_t f;
        if (amqp_simple_wait_frame_noblock(s, &f, &tv) == AMQP_STATUS_OK) return 0;
    }
    return -1;
}

// AMQP_PROTOCOL_VERSION_* are macros over several tokens in some versions.
static inline const char *mds_amqp_version(void) { return amqp_version(); }
#endif
