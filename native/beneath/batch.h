/* The batch calls of batch.c, registered by beneath.c's module init. */
#ifndef MOSAIC_BATCH_H
#define MOSAIC_BATCH_H
#include <node_api.h>

napi_value batch_write_files(napi_env env, napi_callback_info info);
napi_value batch_move_files(napi_env env, napi_callback_info info);

#endif
