/* The reference publisher for `make bench`: librabbitmq, one persistent JSON message per
   input line to exchange eventtask / routing key eventtask, publisher confirms with a window
   of 1000 (the same contract and window as mozdef-ship). Prints messages per second.
   usage: amqp_pub PORT FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <amqp.h>
#include <amqp_tcp_socket.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static int wait_acks(amqp_connection_state_t s, uint64_t *acked, int block) {
    for (;;) {
        amqp_frame_t f;
        struct timeval tv = { block ? 5 : 0, 0 };
        int rc = amqp_simple_wait_frame_noblock(s, &f, &tv);
        if (rc == AMQP_STATUS_TIMEOUT) return 0;
        if (rc != AMQP_STATUS_OK) return -1;
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            if (a->delivery_tag > *acked) *acked = a->delivery_tag;  /* multiple or single, in order here */
            block = 0;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT FILE\n", argv[0]); return 2; }
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 2; }
    amqp_connection_state_t s = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(s);
    if (amqp_socket_open(sock, "127.0.0.1", atoi(argv[1]))) { fprintf(stderr, "cannot connect\n"); return 1; }
    if (amqp_login(s, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL) return 1;
    amqp_channel_open(s, 1);
    amqp_exchange_declare(s, 1, amqp_cstring_bytes("eventtask"), amqp_cstring_bytes("direct"), 0, 1, 0, 0, amqp_empty_table);
    amqp_queue_declare(s, 1, amqp_cstring_bytes("eventtask"), 0, 1, 0, 0, amqp_empty_table);
    amqp_queue_bind(s, 1, amqp_cstring_bytes("eventtask"), amqp_cstring_bytes("eventtask"), amqp_cstring_bytes("eventtask"), amqp_empty_table);
    amqp_confirm_select(s, 1);
    if (amqp_get_rpc_reply(s).reply_type != AMQP_RESPONSE_NORMAL) return 1;
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_CONTENT_ENCODING_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.content_encoding = amqp_cstring_bytes("utf-8");
    props.delivery_mode = 2;
    char *line = NULL; size_t cap = 0; ssize_t n;
    uint64_t sent = 0, acked = 0;
    double t0 = now();
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n') n--;
        amqp_bytes_t body = { (size_t)n, line };
        if (amqp_basic_publish(s, 1, amqp_cstring_bytes("eventtask"), amqp_cstring_bytes("eventtask"), 0, 0, &props, body)) return 1;
        sent++;
        if ((sent & 63) == 0 && wait_acks(s, &acked, 0) < 0) return 1;
        while (sent - acked >= 1000) if (wait_acks(s, &acked, 1) < 0) return 1;
        amqp_maybe_release_buffers(s);
    }
    while (acked < sent) if (wait_acks(s, &acked, 1) < 0) return 1;
    double dt = now() - t0;
    printf("%.0f\n", sent / dt);
    return 0;
}
