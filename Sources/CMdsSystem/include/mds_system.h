#ifndef MDS_SYSTEM_H
#define MDS_SYSTEM_H
// Process-level C helpers: signal flags (a handler may only touch sig_atomic_t) and
// inotify, whose event layout Swift cannot read directly.
#include <stddef.h>
#include <stdint.h>

/// Installs handlers for SIGTERM, SIGINT, SIGHUP and SIGUSR1 that only set a flag, without
/// SA_RESTART (a blocking poll returns EINTR, so the main loop sees the flag at once);
/// SIGPIPE is ignored (a closed output is a write error, not a silent death).
void mds_signals_install(void);
/// Installs only the SIGUSR1 flag handler (convert: SIGTERM keeps its default action).
void mds_signal_usr1_install(void);
/// True (once) when `sig` arrived since the last call.
int mds_signal_take(int sig);
/// True while a SIGTERM or SIGINT is pending (not cleared): long waits give up on it.
int mds_signal_stop_pending(void);

/// Watches directory `path` for entries created, moved in or out, deleted, written or
/// closed. Returns the watch descriptor or -1 (errno set).
int mds_inotify_watch_dir(int fd, const char *path);
/// Reads the pending events of inotify `fd` (non-blocking). Returns 1 if any event was a
/// queue overflow, 0 if events were read, -1 if none were pending.
int mds_inotify_drain(int fd, int *structural);
#endif
