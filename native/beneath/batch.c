/*
 * A pull's small files written and moved a batch at a time on libuv's thread pool (one trip per
 * batch, not one per file), so that the JavaScript thread that receives them stays free to take
 * the next ones in (src/folders/small-writes.ts).
 *
 * writeCheckedFiles(dirFd, names, data, sha256s, mtimesMs, keepOpen) -> Promise<ArrayBuffer>
 *   For each file: its bytes' SHA-256 compared with `sha256s[i]` (64 hex digits; OpenSSL's, the
 *   one Node itself links and exports), and nothing made when they differ (CALL_SHA256, EBADMSG):
 *   the check costs the pool's thread, not the JavaScript thread that receives the files. Then
 *   openat(dirFd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666), its bytes
 *   written in full, its access and modification times set to `mtimesMs` (whole milliseconds,
 *   plus half a millisecond as src/folders/link-no-replace.ts `mtimeSeconds` gives them), then
 *   fstat. The descriptor is closed unless `keepOpen` (the caller then flushes each file by
 *   itself). A file that failed is closed and removed. The answer holds WRITE_SLOTS int64 values
 *   per file: 0 or -errno, the descriptor kept open or -1, the call that failed (CALL_*), and
 *   from the fstat: size, inode, mtime and ctime in nanoseconds.
 *
 * moveFiles(fromDirFd, names, rootFd, rels, byLink) -> Promise<ArrayBuffer>
 *   For each file: `names[i]` in `fromDirFd` moved to `rels[i]` below `rootFd` exactly as
 *   moveBeneath does it (beneath.c: the parent opened by openat2 with RESOLVE_BENEATH |
 *   RESOLVE_NO_SYMLINKS, then renameat2 with RENAME_NOREPLACE, or a link and an unlink). The
 *   answer holds two int64 values per file: 0 or -errno, and the call that failed.
 *
 * Both take their own duplicates of the descriptors they are given, so the caller may close
 * those while a batch runs. The buffers are held (references) until the batch is done; the caller
 * must not write into them before the promise settles.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* renameat2, RENAME_NOREPLACE (glibc 2.28) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <pthread.h>
#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#include "batch.h"

#define WRITE_SLOTS 7
#define MOVE_SLOTS 2
#define PATH_BYTES 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  uint32_t count;
  char **names;
  int64_t *out;
  /* writeFiles */
  int dir;
  bool keep_open;
  const uint8_t **data;
  size_t *lengths;
  napi_ref *buffers;
  uint8_t (*sha256)[32];
  int64_t *mtime_ms;
  /* moveFiles */
  int from_dir;
  int root;
  bool by_link;
  char **rels;
} batch_job;

static void free_job(napi_env env, batch_job *job) {
  for (uint32_t i = 0; i < job->count; i++) {
    if (job->names != NULL) free(job->names[i]);
    if (job->rels != NULL) free(job->rels[i]);
    if (job->buffers != NULL && job->buffers[i] != NULL) napi_delete_reference(env, job->buffers[i]);
  }
  free(job->names);
  free(job->rels);
  free(job->buffers);
  free(job->data);
  free(job->lengths);
  free(job->sha256);
  free(job->mtime_ms);
  free(job->out);
  if (job->dir >= 0) close(job->dir);
  if (job->from_dir >= 0) close(job->from_dir);
  if (job->root >= 0) close(job->root);
  if (job->work != NULL) napi_delete_async_work(env, job->work);
  free(job);
}

static batch_job *new_job(void) {
  batch_job *job = calloc(1, sizeof *job);
  if (job != NULL) job->dir = job->from_dir = job->root = -1;
  return job;
}

/* A copy of a string argument (malloc'ed), or NULL: not a string, too long, or a NUL inside. */
static char *string_copy(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok ||
      length >= PATH_BYTES - 1)
    return NULL;
  char *copy = malloc(length + 1);
  if (copy == NULL) return NULL;
  napi_get_value_string_utf8(env, value, copy, length + 1, &length);
  if (strlen(copy) != length) {
    free(copy);
    return NULL;
  }
  return copy;
}

/* A duplicate of a descriptor argument (close-on-exec), or -1. */
static int fd_copy(napi_env env, napi_value value) {
  int32_t fd;
  if (napi_get_value_int32(env, value, &fd) != napi_ok || fd < 0) return -1;
  return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* `count` strings of an array into `*out` (each malloc'ed); false on a bad element. */
static bool strings_of(napi_env env, napi_value array, uint32_t count, char ***out) {
  *out = calloc(count == 0 ? 1 : count, sizeof **out);
  if (*out == NULL) return false;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    if (napi_get_element(env, array, i, &element) != napi_ok) return false;
    (*out)[i] = string_copy(env, element);
    if ((*out)[i] == NULL) return false;
  }
  return true;
}

static bool array_length(napi_env env, napi_value value, uint32_t *length) {
  bool is_array = false;
  return napi_is_array(env, value, &is_array) == napi_ok && is_array &&
         napi_get_array_length(env, value, length) == napi_ok;
}

static void settle(napi_env env, napi_status status, void *data) {
  batch_job *job = data;
  size_t slots = job->rels != NULL ? MOVE_SLOTS : WRITE_SLOTS;
  size_t bytes = (size_t)job->count * slots * sizeof(int64_t);
  napi_value result;
  void *into = NULL;
  if (status == napi_ok && napi_create_arraybuffer(env, bytes, &into, &result) == napi_ok) {
    if (bytes > 0) memcpy(into, job->out, bytes);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "the batch did not run", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  free_job(env, job);
}

/* Queues `job` on the pool; its promise, or NULL (an error thrown, the job freed). */
static napi_value queue(napi_env env, batch_job *job, const char *name, napi_async_execute_callback run) {
  napi_value promise, resource;
  size_t slots = job->rels != NULL ? MOVE_SLOTS : WRITE_SLOTS;
  job->out = calloc((size_t)(job->count == 0 ? 1 : job->count) * slots, sizeof(int64_t));
  if (job->out == NULL ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, resource, run, settle, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free_job(env, job);
    napi_throw_error(env, "ENOMEM", "could not queue the batch");
    return NULL;
  }
  return promise;
}

static int64_t nanoseconds(struct timespec t) {
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* SHA-256 as OpenSSL provides it, fetched once (a fetched method is safe to share by threads). */
static const EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) {
  EVP_MD *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
  sha256_md = fetched != NULL ? fetched : EVP_sha256();
}

/* Whether `bytes` hash to `expected`. */
static bool sha256_is(const uint8_t *bytes, size_t length, const uint8_t expected[32]) {
  pthread_once(&sha256_once, fetch_sha256);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  return EVP_Digest(bytes, length, digest, &size, sha256_md, NULL) == 1 && size == 32 &&
         memcmp(digest, expected, 32) == 0;
}

/* 64 hex digits (either case) into 32 bytes; false if `hex` is not that. */
static bool hex_digest(const char *hex, uint8_t out[32]) {
  if (strlen(hex) != 64) return false;
  for (int i = 0; i < 64; i++) {
    char c = hex[i];
    int v = c >= '0' && c <= '9' ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) return false;
    out[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : out[i / 2] | v);
  }
  return true;
}

static void write_files(napi_env env, void *data) {
  (void)env;
  batch_job *job = data;
  for (uint32_t i = 0; i < job->count; i++) {
    int64_t *out = job->out + (size_t)i * WRITE_SLOTS;
    int call = CALL_SHA256, error = 0;
    struct stat info;
    int fd = -1;
    if (!sha256_is(job->data[i], job->lengths[i], job->sha256[i])) {
      error = EBADMSG;
    } else if ((fd = openat(job->dir, job->names[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                            0666)) < 0) {
      call = CALL_OPENAT;
      error = errno;
    } else {
      call = CALL_WRITE;
      size_t done = 0;
      while (done < job->lengths[i] && error == 0) {
        ssize_t n = write(fd, job->data[i] + done, job->lengths[i] - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) error = errno;
        else if (n == 0) error = EIO;
        else done += (size_t)n;
      }
      if (error == 0) {
        int64_t ms = job->mtime_ms[i], seconds = ms / 1000, rest = ms % 1000;
        if (rest < 0) {
          rest += 1000;
          seconds -= 1;
        }
        struct timespec times[2];
        times[0].tv_sec = (time_t)seconds;
        times[0].tv_nsec = (long)(rest * 1000000 + 500000);
        times[1] = times[0];
        call = CALL_FUTIMENS;
        if (futimens(fd, times) != 0) {
          error = errno;
        } else {
          call = CALL_FSTAT;
          if (fstat(fd, &info) != 0) error = errno;
          else call = 0;
        }
      }
    }
    out[0] = -(int64_t)error;
    out[1] = -1;
    out[2] = call;
    if (call != 0) {
      if (fd >= 0) {
        close(fd);
        unlinkat(job->dir, job->names[i], 0);
      }
      continue;
    }
    if (job->keep_open) out[1] = fd;
    else close(fd);
    out[3] = (int64_t)info.st_size;
    out[4] = (int64_t)info.st_ino;
    out[5] = nanoseconds(info.st_mtim);
    out[6] = nanoseconds(info.st_ctim);
  }
}

napi_value batch_write_files(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  uint32_t count = 0, data_count = 0, hashes_count = 0, mtimes_count = 0;
  batch_job *job = new_job();
  if (job == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 6 &&
            array_length(env, argv[1], &count) && array_length(env, argv[2], &data_count) &&
            array_length(env, argv[3], &hashes_count) && array_length(env, argv[4], &mtimes_count) &&
            data_count == count && hashes_count == count && mtimes_count == count &&
            napi_get_value_bool(env, argv[5], &job->keep_open) == napi_ok;
  if (ok) {
    job->count = count;
    job->data = calloc(count == 0 ? 1 : count, sizeof *job->data);
    job->lengths = calloc(count == 0 ? 1 : count, sizeof *job->lengths);
    job->buffers = calloc(count == 0 ? 1 : count, sizeof *job->buffers);
    job->sha256 = calloc(count == 0 ? 1 : count, sizeof *job->sha256);
    job->mtime_ms = calloc(count == 0 ? 1 : count, sizeof *job->mtime_ms);
    ok = job->data != NULL && job->lengths != NULL && job->buffers != NULL &&
         job->sha256 != NULL && job->mtime_ms != NULL &&
         strings_of(env, argv[1], count, &job->names);
  }
  for (uint32_t i = 0; ok && i < count; i++) {
    napi_value buffer, hash, mtime;
    bool is_buffer = false;
    void *bytes = NULL;
    char hex[66]; /* 64 digits, and one more to tell a longer string */
    size_t hex_length = 0;
    double ms;
    ok = napi_get_element(env, argv[2], i, &buffer) == napi_ok &&
         napi_is_buffer(env, buffer, &is_buffer) == napi_ok && is_buffer &&
         napi_get_buffer_info(env, buffer, &bytes, &job->lengths[i]) == napi_ok &&
         napi_create_reference(env, buffer, 1, &job->buffers[i]) == napi_ok &&
         napi_get_element(env, argv[3], i, &hash) == napi_ok &&
         napi_get_value_string_utf8(env, hash, hex, sizeof hex, &hex_length) == napi_ok &&
         hex_length == 64 && hex_digest(hex, job->sha256[i]) &&
         napi_get_element(env, argv[4], i, &mtime) == napi_ok &&
         napi_get_value_double(env, mtime, &ms) == napi_ok && ms == ms &&
         ms > -9.2e18 && ms < 9.2e18;
    if (ok) {
      job->data[i] = bytes;
      job->mtime_ms[i] = (int64_t)ms;
    }
  }
  if (ok) ok = (job->dir = fd_copy(env, argv[0])) >= 0;
  if (!ok) {
    free_job(env, job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "writeCheckedFiles(dirFd, names, buffers, sha256s, mtimesMs, keepOpen): "
                          "a descriptor, names (under 4 KiB, no NUL), as many buffers, SHA-256s "
                          "(64 hex digits) and numbers, a boolean");
    return NULL;
  }
  return queue(env, job, "mosaic.writeCheckedFiles", write_files);
}

/*
 * Moves `from_name` (in `from_dir`, AT_FDCWD for a path) to `rel` below `root`: its parent opened
 * by openat2 with no symlink resolved, then renameat2 with RENAME_NOREPLACE, or a link and an
 * unlink where the file system lacks the flag (or `by_link`). 0, or an errno with `*call` the
 * CALL_* that failed. `rel` is split at its last '/' in place and restored. Shared by
 * moveBeneath (beneath.c) and moveFiles.
 */
int move_below(int root, int from_dir, const char *from_name, char *rel, bool by_link, int *call) {
#ifdef __linux__
  char *slash = strrchr(rel, '/');
  const char *name = slash == NULL ? rel : slash + 1;
  int dir = root;
  if (slash != NULL) {
    *slash = '\0';
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    dir = (int)syscall(SYS_openat2, root, rel, &how, sizeof how);
    *slash = '/';
    if (dir < 0) {
      *call = CALL_OPENAT2;
      return errno;
    }
  }
  int moved = -1;
  *call = CALL_RENAMEAT2;
  errno = EINVAL;
  if (!by_link) moved = renameat2(from_dir, from_name, dir, name, RENAME_NOREPLACE);
  if (moved != 0 && (errno == EINVAL || errno == ENOSYS)) {
    /* No RENAME_NOREPLACE here: a link (EEXIST if taken), then the temp name removed. */
    *call = CALL_LINKAT;
    moved = linkat(from_dir, from_name, dir, name, 0);
    if (moved == 0 && unlinkat(from_dir, from_name, 0) != 0) {
      *call = CALL_UNLINK;
      moved = -1;
    }
  }
  int error = moved == 0 ? 0 : errno;
  if (moved == 0) *call = 0;
  if (dir != root) close(dir);
  return error;
#else
  (void)root;
  (void)from_dir;
  (void)from_name;
  (void)rel;
  (void)by_link;
  *call = CALL_OPENAT2;
  return ENOSYS;
#endif
}

static void move_files(napi_env env, void *data) {
  (void)env;
  batch_job *job = data;
  for (uint32_t i = 0; i < job->count; i++) {
    int64_t *out = job->out + (size_t)i * MOVE_SLOTS;
    int call = 0;
    int error = move_below(job->root, job->from_dir, job->names[i], job->rels[i], job->by_link, &call);
    out[0] = -(int64_t)error;
    out[1] = call;
  }
}

napi_value batch_move_files(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t count = 0, rel_count = 0;
  batch_job *job = new_job();
  if (job == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 5 &&
            array_length(env, argv[1], &count) && array_length(env, argv[3], &rel_count) &&
            rel_count == count && napi_get_value_bool(env, argv[4], &job->by_link) == napi_ok;
  if (ok) {
    job->count = count;
    ok = strings_of(env, argv[1], count, &job->names) &&
         strings_of(env, argv[3], count, &job->rels);
  }
  if (ok) ok = (job->from_dir = fd_copy(env, argv[0])) >= 0;
  if (ok) ok = (job->root = fd_copy(env, argv[2])) >= 0;
  if (!ok) {
    /* strings_of may have stopped part way: free_job frees what it made. */
    free_job(env, job);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "moveFiles(fromDirFd, names, rootFd, rels, byLink): descriptors, as "
                          "many names as paths (under 4 KiB, no NUL), a boolean");
    return NULL;
  }
  return queue(env, job, "mosaic.moveFiles", move_files);
}
