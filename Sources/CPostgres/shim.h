#ifndef MOZDEF_SHIP_CPOSTGRES_SHIM_H
#define MOZDEF_SHIP_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#endif
