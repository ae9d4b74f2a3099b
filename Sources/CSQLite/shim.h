#ifndef MOZDEF_SHIP_CSQLITE_SHIM_H
#define MOZDEF_SHIP_CSQLITE_SHIM_H
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: sqlite copies the bytes now.
static inline int mds_sqlite_bind_text(sqlite3_stmt *s, int i, const char *p, int n) {
    return sqlite3_bind_text(s, i, p, n, SQLITE_TRANSIENT);
}

// sqlite3_config is variadic. Memory statistics off: every allocation then skips a global
// mutex (measured: about 3% of the writer's time). Must run before sqlite3_initialize.
static inline int mds_sqlite_fast_malloc(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
