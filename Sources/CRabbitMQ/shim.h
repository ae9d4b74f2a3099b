#ifndef MOZDEF_SHIP_CRABBITMQ_SHIM_H
#define MOZDEF_SHIP_CRABBITMQ_SHIM_H
// rabbitmq-c 0.12+ moved its headers under rabbitmq-c/; Debian 12 ships 0.11.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

// amqp_login is variadic: a typed wrapper for PLAIN user/password login.
static inline amqp_rpc_reply_t mds_amqp_login_plain(amqp_connection_state_t state,
        const char *vhost, int channel_max, int frame_max, int heartbeat,
        const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat,
                      AMQP_SASL_METHOD_PLAIN, user, password);
}
// AMQP_PROTOCOL_VERSION_* are macros over several tokens in some versions.
static inline const char *mds_amqp_version(void) { return amqp_version(); }
#endif
