/*
 * A file moved into a directory below a root, or a file opened below it, resolved by the kernel
 * without following any symbolic link (openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
 * Linux 5.6 and later).
 *
 * Mosaic moves a received file into its synced folder without replacing anything. Every directory
 * between the folder's root and the file must be a real directory: a local user's `out -> /etc`
 * must not turn a remote `out/passwd` into `/etc/passwd` (src/folders/inside-folder.ts). Node has
 * no openat, so it checks each parent with lstat and then links by path: one lstat per level per
 * file, and a window of microseconds between the check and the link. Here the parent is opened
 * from the root's descriptor with symlinks refused by the kernel, and the file is moved into the
 * directory so opened: one walk of the relative path, and nothing to race. The move is one
 * renameat2(2) with RENAME_NOREPLACE (atomic: the temp name is gone exactly when the new one is
 * there; EEXIST if it is taken); where the file system lacks that flag, a link, then the temp
 * name's unlink.
 *
 * openBeneath(rootFd, rel, flags) opens a file the same way (a read of a folder file for a peer
 * or a device: nothing on the way, nor the file itself, may be a link).
 *
 * moveBeneath(from, rootFd, rel[, byLink]) returns undefined or throws an Error shaped like
 * Node's fs errors (`code`, `errno`, `syscall` 'openat2', 'renameat2', 'linkat' or 'unlink'):
 * openat2's ELOOP (a symlink on the way), ENOENT, ENOTDIR, EXDEV (the path leaves the root),
 * ENOSYS (an older kernel, or a seccomp profile without openat2); renameat2's (or linkat's)
 * EEXIST (the path is taken) and the rest. `byLink` true takes the link-and-unlink way at once
 * (what a file system without RENAME_NOREPLACE gets; tests take it on purpose). Synchronous:
 * three system calls of a few microseconds, cheaper than a trip through libuv's pool.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h> /* renameat2, RENAME_NOREPLACE (glibc 2.28) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "batch.h"
#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#define PATH_BYTES 4096

static napi_value text(napi_env env, const char *value) {
  napi_value result;
  napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &result);
  return result;
}

/* Throws as Node's own fs errors do: code "ELOOP", errno -40, syscall "openat2", path. */
static void throw_errno(napi_env env, int error, const char *syscall, const char *path) {
  napi_value value, number;
  napi_create_error(env, text(env, uv_err_name(uv_translate_sys_error(error))),
                    text(env, strerror(error)), &value);
  napi_create_int32(env, uv_translate_sys_error(error), &number);
  napi_set_named_property(env, value, "errno", number);
  napi_set_named_property(env, value, "syscall", text(env, syscall));
  napi_set_named_property(env, value, "path", text(env, path));
  napi_throw(env, value);
}

/* A string argument into `out` (PATH_BYTES); false (a TypeError thrown) if it is not one. */
static int string_arg(napi_env env, napi_value value, char *out) {
  size_t length;
  /* Too long, or a NUL inside (C would read a shorter path than the one checked in JS). */
  if (napi_get_value_string_utf8(env, value, out, PATH_BYTES, &length) != napi_ok ||
      length >= PATH_BYTES - 1 || strlen(out) != length) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "a path (string, under 4 KiB, no NUL) expected");
    return 0;
  }
  return 1;
}

static napi_value move_beneath(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t root;
  bool by_link = false;
  char *from = malloc(PATH_BYTES), *rel = malloc(PATH_BYTES);
  if (from == NULL || rel == NULL) {
    free(from);
    free(rel);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[1], &root) != napi_ok || root < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "moveBeneath(from, rootFd, rel): rootFd must be a file descriptor");
  } else if (argc >= 4 && napi_get_value_bool(env, argv[3], &by_link) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "moveBeneath(from, rootFd, rel, byLink): byLink must be a boolean");
  } else if (string_arg(env, argv[0], from) && string_arg(env, argv[2], rel)) {
    int call = 0;
    int error = move_below(root, AT_FDCWD, from, rel, by_link, &call);
    if (error != 0) {
      static const char *const calls[] = {"", "openat", "write", "futimens", "fstat",
                                          "openat2", "renameat2", "linkat", "unlink"};
      throw_errno(env, error, calls[call], rel);
    }
  }
  free(from);
  free(rel);
  return NULL;
}

/* openBeneath(rootFd, rel, flags): a descriptor of `rel` below `rootFd`, no symlink resolved
 * (the last component included: ELOOP). `flags` as open(2)'s; O_CLOEXEC is added. */
static napi_value open_beneath(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result = NULL;
  int32_t root, flags;
  char *rel = malloc(PATH_BYTES);
  if (rel == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &root) != napi_ok || root < 0 ||
      napi_get_value_int32(env, argv[2], &flags) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "openBeneath(rootFd, rel, flags): a descriptor, a path and flags");
  } else if (string_arg(env, argv[1], rel)) {
#ifdef __linux__
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned)flags | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof how);
    if (fd < 0) throw_errno(env, errno, "openat2", rel);
    else napi_create_int32(env, fd, &result);
#else
    throw_errno(env, ENOSYS, "openat2", rel);
#endif
  }
  free(rel);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "moveBeneath", NAPI_AUTO_LENGTH, move_beneath, NULL, &fn);
  napi_set_named_property(env, exports, "moveBeneath", fn);
  napi_create_function(env, "openBeneath", NAPI_AUTO_LENGTH, open_beneath, NULL, &fn);
  napi_set_named_property(env, exports, "openBeneath", fn);
  napi_create_function(env, "writeCheckedFiles", NAPI_AUTO_LENGTH, batch_write_files, NULL, &fn);
  napi_set_named_property(env, exports, "writeCheckedFiles", fn);
  napi_create_function(env, "moveFiles", NAPI_AUTO_LENGTH, batch_move_files, NULL, &fn);
  napi_set_named_property(env, exports, "moveFiles", fn);
  return exports;
}
