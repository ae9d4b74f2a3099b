/* Load generator for mozdef-receiver (`make bench`): C concurrent keep-alive connections,
 * each with P requests in flight (P = 1, the default, is no pipelining: what mozdef-client
 * and most clients do; mozdef-ship pipelines 16), POSTing the same body for D seconds.
 * Prints requests/s, events/s (requests x events per body), latency p50/p99/max in ms, and
 * its own CPU seconds, as one line of key=value pairs. Any answer but 200 counts as an error
 * and is reported; the run fails if there is one.
 *
 *   http_load HOST PORT PATH BODYFILE EVENTS_PER_BODY CONNECTIONS SECONDS [PIPELINE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t sent;          /* bytes of the requests written */
    int inflight;         /* requests (partly) written, not answered */
    int queued;           /* requests to write */
    double starts[64];    /* when each in-flight request was written, oldest first */
    char in[8192];
    size_t got;           /* bytes of the current answer read */
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int dial(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(2); }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* A complete answer in c->in: its length, or 0 if more is needed. Answers carry
 * Content-Length (the receiver never chunks these). */
static size_t complete(struct conn *c, int *status) {
    c->in[c->got < sizeof c->in ? c->got : sizeof c->in - 1] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) return 0;
    *status = atoi(c->in + 9);
    size_t len = 0;
    for (char *p = c->in; p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, "content-length:", 15) == 0) len = strtoul(p + 15, NULL, 10);
    }
    size_t total = (size_t)(end + 4 - c->in) + len;
    return c->got >= total ? total : 0;
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: http_load HOST PORT PATH BODYFILE EVENTS_PER_BODY CONNECTIONS SECONDS [PIPELINE]\n");
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]), per = atoi(argv[5]), n = atoi(argv[6]);
    double seconds = atof(argv[7]);
    int depth = argc == 9 ? atoi(argv[8]) : 1;
    if (depth < 1 || depth > 64) { fprintf(stderr, "PIPELINE must be 1-64\n"); return 2; }
    FILE *f = fopen(argv[4], "rb");
    if (!f) { perror(argv[4]); return 2; }
    fseek(f, 0, SEEK_END);
    long blen = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *body = malloc(blen);
    if (fread(body, 1, blen, f) != (size_t)blen) { perror("read"); return 2; }
    fclose(f);
    size_t rcap = blen + 256;
    char *req = malloc(rcap);
    int hl = snprintf(req, rcap, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nContent-Length: %ld\r\n\r\n",
                      path, host, port, blen);
    memcpy(req + hl, body, blen);
    size_t rlen = hl + blen;

    size_t lcap = 1 << 20, ln = 0;
    double *lat = malloc(lcap * sizeof *lat);
    long errors = 0;
    int ep = epoll_create1(0);
    struct conn *cs = calloc(n, sizeof *cs);
    double t0 = now(), stop = t0 + seconds;
    for (int i = 0; i < n; i++) {
        cs[i].fd = dial(host, port);
        cs[i].queued = depth;
        struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e);
    }
    int open = n;
    struct epoll_event evs[256];
    while (open > 0) {
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int j = 0; j < k; j++) {
            struct conn *c = evs[j].data.ptr;
            if (c->fd < 0) continue;
            if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                ssize_t r = read(c->fd, c->in + c->got, sizeof c->in - 1 - c->got);
                if (r == 0 || (r < 0 && errno != EAGAIN)) { fprintf(stderr, "connection closed by the server\n"); return 1; }
                if (r > 0) c->got += r;
                int status = 0;
                size_t used;
                double t = now();
                while (c->inflight > 0 && (used = complete(c, &status)) > 0) {
                    if (status != 200) errors++;
                    if (ln == lcap) { lcap *= 2; lat = realloc(lat, lcap * sizeof *lat); }
                    lat[ln++] = t - c->starts[0];
                    memmove(c->starts, c->starts + 1, (c->inflight - 1) * sizeof(double));
                    c->inflight--;
                    memmove(c->in, c->in + used, c->got - used);
                    c->got -= used;
                    if (t < stop) c->queued++;
                }
                if (c->inflight == 0 && c->queued == 0) {
                    close(c->fd);
                    c->fd = -1;
                    open--;
                    continue;
                }
            }
            /* Write what is queued until the socket is full. */
            while (c->queued > 0) {
                ssize_t w = write(c->fd, req + c->sent, rlen - c->sent);
                if (w < 0 && errno == EAGAIN) break;
                if (w <= 0) { perror("write"); return 1; }
                if (c->sent == 0) c->starts[c->inflight++] = now();
                c->sent += w;
                if (c->sent == rlen) { c->sent = 0; c->queued--; }
            }
            struct epoll_event e = {.events = EPOLLIN | (c->queued > 0 ? EPOLLOUT : 0), .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
    }
    double elapsed = now() - t0;
    qsort(lat, ln, sizeof *lat, cmp);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("requests=%zu requests_per_s=%.0f events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%ld client_cpu_s=%.2f seconds=%.2f\n",
           ln, ln / elapsed, ln * (double)per / elapsed, ln ? lat[ln / 2] * 1e3 : 0, ln ? lat[(size_t)(ln * 0.99)] * 1e3 : 0,
           ln ? lat[ln - 1] * 1e3 : 0, errors, cpu, elapsed);
    return errors ? 1 : 0;
}
