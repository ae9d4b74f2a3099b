/* A minimal HTTP/1.1 server for `make bench` (benchmarks/http.sh): accepts POSTs on
   127.0.0.1, reads each body by Content-Length and answers 200 with an empty body on the same
   kept-alive connection, so the client's cost is measured, not the server's. One connection
   at a time; prints its port, then counts requests and body bytes to stderr on SIGTERM.
   With "es", the answer is an Elasticsearch bulk response in which every item succeeded
   ({"errors":false}, which a bulk client reads without looking at the items).
   usage: http_sink [es] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static long requests, bytes;
static void done(int sig) { (void)sig; fprintf(stderr, "%ld requests, %ld body bytes\n", requests, bytes); _exit(0); }

int main(int argc, char **argv) {
    signal(SIGTERM, done);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) { perror("bind"); return 1; }
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    static char buf[1 << 20];
    static const char empty[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    static const char bulk[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
                               "{\"took\":1,\"errors\":false,\"items\":[]}";
    const int es = argc > 1 && strcmp(argv[1], "es") == 0;
    const char *reply = es ? bulk : empty;
    const size_t reply_len = es ? sizeof bulk - 1 : sizeof empty - 1;
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        size_t have = 0;
        for (;;) {
            char *end = NULL;
            while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
                ssize_t n = read(c, buf + have, sizeof buf - have);
                if (n <= 0) goto next;
                have += (size_t)n;
            }
            size_t head = (size_t)(end - buf) + 4;
            long body = 0;
            for (char *p = buf; p < end; p++) {
                if ((p == buf || p[-1] == '\n') && strncasecmp(p, "Content-Length:", 15) == 0) body = atol(p + 15);
            }
            size_t need = head + (size_t)body, got = have < need ? have : need;
            while (got < need) {  /* drain the body (it may be larger than the buffer) */
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0) goto next;
                got += (size_t)n;
                if (got > need) { memmove(buf, buf + n - (got - need), got - need); have = got - need; goto answered; }
            }
            have = have > need ? have - need : 0;
            if (have) memmove(buf, buf + need, have);
        answered:
            requests++;
            bytes += body;
            if (write(c, reply, reply_len) < 0) break;
        }
    next:
        close(c);
    }
}
