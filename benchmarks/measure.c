/*
 * measure.c - run a command and report its CPU time and peak RSS.
 *
 * Usage: measure RESULT_FILE CMD [ARGS...]
 * Writes "USER_S SYS_S MAXRSS_KIB\n" to RESULT_FILE and exits with CMD's
 * status (128+signal if it was killed).
 *
 * Why not a Python wrapper: Linux carries the parent's high-water RSS into
 * ru_maxrss across fork/exec, so a child spawned from python3 reports at
 * least the interpreter's ~10+ MiB.  A small C parent keeps that bias under
 * ~1 MiB, like GNU time, without requiring the `time` package.
 */
#define _DEFAULT_SOURCE        /* wait4() is BSD, not POSIX */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s RESULT_FILE CMD [ARGS...]\n", argv[0]);
        return 2;
    }
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[2], NULL, NULL, &argv[2], environ);
    if (rc != 0) {
        fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(rc));
        return 127;
    }

    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("measure: wait4");
            return 1;
        }
    }

    long maxrss_kib = ru.ru_maxrss;
#ifdef __APPLE__
    maxrss_kib /= 1024;    /* macOS reports bytes, Linux KiB */
#endif
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fprintf(f, "%ld.%06ld %ld.%06ld %ld\n",
            (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
            (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, maxrss_kib);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 1;
    }

    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}
