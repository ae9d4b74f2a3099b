/*
 * floor.c - the performance "floor" for mozdef-ship benchmarks.
 *
 * Does the least work any line-to-JSON converter must do: read the input in
 * large blocks, split it into lines, and write each line as an RFC 8259 JSON
 * string followed by '\n'.  No parsing, no allocation per line.  Comparing
 * mozdef-ship against this tells us how much our real work costs on top of
 * the unavoidable I/O + escaping.
 *
 * Usage: floor [-o OUT] [INPUT|-]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_BLOCK  (1u << 20)   /* 1 MiB reads */
#define OUT_BLOCK (1u << 20)   /* flush threshold */
/*
 * A line handed to emit_line is shorter than 2 * IN_BLOCK (carried partial
 * line + one block) and each byte expands to at most 6 (\u00XX).  Pages never
 * touched are not resident, so the generous size costs no RSS.
 */
#define OUT_CAP   (OUT_BLOCK + 6 * 2 * IN_BLOCK + 16)

static unsigned char *out;
static size_t out_len;
static int out_fd = STDOUT_FILENO;

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void flush_out(void)
{
    size_t off = 0;
    while (off < out_len) {
        ssize_t n = write(out_fd, out + off, out_len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("write");
        }
        off += (size_t)n;
    }
    out_len = 0;
}

/* Byte classes: 0 = copy verbatim, otherwise the escape letter (or 'u'). */
static unsigned char esc[256];

static void init_escapes(void)
{
    for (int c = 0; c < 0x20; c++)
        esc[c] = 'u';
    esc['\n'] = 'n';
    esc['\r'] = 'r';
    esc['\t'] = 't';
    esc['"'] = '"';
    esc['\\'] = '\\';
}

/*
 * Append one line as a JSON string.  Runs of plain bytes are copied with
 * memcpy so the common (no escaping) case stays close to memory bandwidth.
 * Caller guarantees len < 2 * IN_BLOCK, so the output buffer cannot overflow.
 */
static void emit_line(const unsigned char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char *o = out + out_len;
    const unsigned char *end = p + len;

    *o++ = '"';
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !esc[*p])
            p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p == end)
            break;
        unsigned char c = *p++;
        *o++ = '\\';
        if (esc[c] == 'u') {
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = (unsigned char)hex[c >> 4];
            *o++ = (unsigned char)hex[c & 15];
        } else {
            *o++ = esc[c];
        }
    }
    *o++ = '"';
    *o++ = '\n';
    out_len = (size_t)(o - out);
    if (out_len >= OUT_BLOCK)
        flush_out();
}

int main(int argc, char **argv)
{
    const char *in_path = NULL, *out_path = NULL;
    int opt;

    while ((opt = getopt(argc, argv, "o:")) != -1) {
        if (opt == 'o') {
            out_path = optarg;
        } else {
            fprintf(stderr, "usage: %s [-o OUT] [INPUT|-]\n", argv[0]);
            return 2;
        }
    }
    if (optind < argc)
        in_path = argv[optind];

    int in_fd = STDIN_FILENO;
    if (in_path && strcmp(in_path, "-") != 0) {
        in_fd = open(in_path, O_RDONLY);
        if (in_fd < 0)
            die(in_path);
    }
    if (out_path) {
        out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out_fd < 0)
            die(out_path);
    }

    init_escapes();
    /*
     * Input buffer holds a carried-over partial line plus one block.  A line
     * longer than IN_BLOCK is emitted in IN_BLOCK pieces (each as its own
     * JSON string); realistic log lines never come close.
     */
    unsigned char *in = malloc(2 * IN_BLOCK);
    out = malloc(OUT_CAP);
    if (!in || !out)
        die("malloc");

    size_t have = 0;          /* bytes of pending data at the start of in */
    for (;;) {
        ssize_t n = read(in_fd, in + have, IN_BLOCK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        if (n == 0)
            break;
        have += (size_t)n;

        const unsigned char *p = in, *end = in + have;
        const unsigned char *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            emit_line(p, (size_t)(nl - p));
            p = nl + 1;
        }
        have = (size_t)(end - p);
        if (have >= IN_BLOCK) {        /* pathological line: split it */
            emit_line(p, IN_BLOCK);
            p += IN_BLOCK;
            have -= IN_BLOCK;
        }
        memmove(in, p, have);
    }
    if (have > 0)                      /* final line without '\n' */
        emit_line(in, have);

    flush_out();
    if (out_fd != STDOUT_FILENO && close(out_fd) != 0)
        die("close");
    free(in);
    free(out);
    return 0;
}
