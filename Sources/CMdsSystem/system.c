#define _GNU_SOURCE
#include "mds_system.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/inotify.h>
#endif

static volatile sig_atomic_t pending[65];

static void on_signal(int sig) {
    if (sig > 0 && sig < 65) pending[sig] = 1;
}

void mds_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A parent may have left them blocked (the mask is inherited): they must arrive. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int mds_signal_take(int sig) {
    if (sig <= 0 || sig >= 65 || !pending[sig]) return 0;
    pending[sig] = 0;
    return 1;
}

int mds_inotify_watch_dir(int fd, const char *path) {
#if defined(__linux__)
    return inotify_add_watch(fd, path, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |
                             IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
#else
    (void)fd; (void)path; errno = ENOSYS; return -1;
#endif
}

int mds_inotify_drain(int fd, int *structural) {
#if defined(__linux__)
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int any = 0, overflow = 0;
    *structural = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        any = 1;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            if (e->mask & IN_Q_OVERFLOW) overflow = 1;
            if (e->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                *structural = 1;
            p += sizeof(struct inotify_event) + e->len;
        }
    }
    if (overflow) { *structural = 1; return 1; }
    return any ? 0 : -1;
#else
    (void)fd; *structural = 0; return -1;
#endif
}

int mds_signal_stop_pending(void) {
    return pending[SIGTERM] || pending[SIGINT];
}

void mds_signal_usr1_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  /* a report request must not interrupt reads and writes */
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}
