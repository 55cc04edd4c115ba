/*
 * syncfs(2) for Node.js, run on libuv's thread pool: one call makes durable every dirty page of
 * the file system that holds a descriptor, where fdatasync(2) on each of N files asks the disk to
 * flush its cache N times (Mosaic's folder sync writes small files in batches and flushes each
 * batch before linking its files into place: docs/benchmarks.md, "One syncfs per batch").
 *
 * syncfs(fd) resolves with undefined, or rejects with an Error shaped like Node's fs errors (`code`
 * 'EIO', `errno`, `syscall`): since Linux 5.8, a write-back error anywhere on that file system
 * since `fd` was opened. On a system without syncfs it rejects with ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

typedef struct {
  int fd;
  int error;
  napi_deferred deferred;
  napi_async_work work;
} Job;

static napi_value text(napi_env env, const char *value) {
  napi_value result;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &result);
  return result;
}

static void run(napi_env env, void *data) {
  (void)env;
  Job *job = data;
#ifdef __linux__
  job->error = syncfs(job->fd) == 0 ? 0 : errno;
#else
  job->error = ENOSYS;
#endif
}

static void done(napi_env env, napi_status status, void *data) {
  Job *job = data;
  int error = status == napi_ok ? job->error : EIO;
  if (error == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  } else {
    /* As Node's own fs errors: code "EIO", errno -5, syscall "syncfs". */
    napi_value number, value;
    napi_create_error(env, text(env, uv_err_name(uv_translate_sys_error(error))),
                      text(env, strerror(error)), &value);
    napi_create_int32(env, uv_translate_sys_error(error), &number);
    napi_set_named_property(env, value, "errno", number);
    napi_set_named_property(env, value, "syscall", text(env, "syncfs"));
    napi_reject_deferred(env, job->deferred, value);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value syncfs_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "syncfs(fd): fd must be a file descriptor");
    return NULL;
  }
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  job->fd = fd;
  napi_value promise;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_async_work(env, NULL, text(env, "syncfs"), run, done, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "syncfs", NAPI_AUTO_LENGTH, syncfs_js, NULL, &fn);
  napi_set_named_property(env, exports, "syncfs", fn);
  return exports;
}
