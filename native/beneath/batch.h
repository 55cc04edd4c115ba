/* The batch calls of batch.c, registered by beneath.c's module init, and the move they share. */
#ifndef MOSAIC_BATCH_H
#define MOSAIC_BATCH_H
#include <node_api.h>
#include <stdbool.h>

/* Which call failed, as the answers report it (src/folders/beneath-batch.ts CALLS). */
enum { CALL_OPENAT = 1, CALL_WRITE, CALL_FUTIMENS, CALL_FSTAT, CALL_OPENAT2, CALL_RENAMEAT2,
       CALL_LINKAT, CALL_UNLINK, CALL_SHA256 };

int move_below(int root, int from_dir, const char *from_name, char *rel, bool by_link, int *call);

napi_value batch_write_files(napi_env env, napi_callback_info info);
napi_value batch_move_files(napi_env env, napi_callback_info info);

#endif
