/*
 * cairn_native: extended attributes without following symlinks.
 *
 * Path forms use the l* calls (lsetxattr, lgetxattr, llistxattr, lremovexattr),
 * which act on a symlink itself. Fd forms use f*xattr; an O_PATH fd, which
 * f*xattr refuses with EBADF, is retried through the magic link
 * /proc/self/fd/N with the following variants (the magic link lands on the fd's
 * own inode, even when that inode is a symlink). Values are raw bytes (Buffers),
 * so binary values such as security.capability round-trip exactly. Sizes are
 * queried first and the read is retried on ERANGE (the value changed in between).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>

enum target_kind { T_LPATH, T_FD, T_PROC };

struct target {
  enum target_kind kind;
  const char *path; /* T_LPATH: the caller's path; T_PROC: proc[] */
  int fd;
  char proc[64];
};

static void to_proc(struct target *t) {
  snprintf(t->proc, sizeof t->proc, "/proc/self/fd/%d", t->fd);
  t->kind = T_PROC;
  t->path = t->proc;
}

static ssize_t x_get(const struct target *t, const char *name, void *buf, size_t size) {
  switch (t->kind) {
    case T_LPATH: return lgetxattr(t->path, name, buf, size);
    case T_FD: return fgetxattr(t->fd, name, buf, size);
    default: return getxattr(t->path, name, buf, size);
  }
}

static ssize_t x_list(const struct target *t, char *buf, size_t size) {
  switch (t->kind) {
    case T_LPATH: return llistxattr(t->path, buf, size);
    case T_FD: return flistxattr(t->fd, buf, size);
    default: return listxattr(t->path, buf, size);
  }
}

static int x_set(const struct target *t, const char *name, const void *val, size_t size, int flags) {
  switch (t->kind) {
    case T_LPATH: return lsetxattr(t->path, name, val, size, flags);
    case T_FD: return fsetxattr(t->fd, name, val, size, flags);
    default: return setxattr(t->path, name, val, size, flags);
  }
}

static int x_remove(const struct target *t, const char *name) {
  switch (t->kind) {
    case T_LPATH: return lremovexattr(t->path, name);
    case T_FD: return fremovexattr(t->fd, name);
    default: return removexattr(t->path, name);
  }
}

/* Read the target: argv[0] is a path (fd_form false) or an fd. *owned must be freed. */
static bool get_target(napi_env env, napi_value v, bool fd_form, struct target *t, char **owned) {
  *owned = NULL;
  memset(t, 0, sizeof *t);
  if (fd_form) {
    int32_t fd;
    if (!cn_get_int32(env, v, "fd", &fd)) return false;
    t->kind = T_FD;
    t->fd = fd;
    return true;
  }
  if (!cn_get_path(env, v, "path", false, owned)) return false;
  t->kind = T_LPATH;
  t->path = *owned;
  return true;
}

static const char *sys_name(const struct target *t, const char *op) {
  static const char *names[3][4] = {
      {"lgetxattr", "llistxattr", "lsetxattr", "lremovexattr"},
      {"fgetxattr", "flistxattr", "fsetxattr", "fremovexattr"},
      {"getxattr", "listxattr", "setxattr", "removexattr"},
  };
  int i = op[0] == 'g' ? 0 : op[0] == 'l' ? 1 : op[0] == 's' ? 2 : 3;
  return names[t->kind][i];
}

/* Retry an fd-form call through /proc/self/fd/N when the fd is an O_PATH fd. */
static bool is_opath_fd(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl >= 0 && (fl & O_PATH) != 0;
}

#define RETRY_ON_OPATH(t, expr, r)                                \
  do {                                                            \
    (r) = (expr);                                                 \
    if ((r) < 0 && errno == EBADF && (t).kind == T_FD) {          \
      if (is_opath_fd((t).fd)) {                                  \
        to_proc(&(t));                                            \
        (r) = (expr);                                             \
      } else {                                                    \
        errno = EBADF; /* restore: is_opath_fd may have reset it */ \
      }                                                           \
    }                                                             \
  } while (0)

#define MAX_ERANGE_RETRIES 16

static napi_value do_get(napi_env env, napi_callback_info info, bool fd_form) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  struct target t;
  char *owned = NULL, *name = NULL, *buf = NULL;
  napi_value ret = NULL;
  if (!get_target(env, argv[0], fd_form, &t, &owned) || !cn_get_path(env, argv[1], "name", false, &name))
    goto done;
  for (int attempt = 0;; attempt++) {
    ssize_t size;
    RETRY_ON_OPATH(t, x_get(&t, name, NULL, 0), size);
    if (size < 0) {
      if (errno == ENODATA) {
        if (napi_get_null(env, &ret) != napi_ok) ret = NULL;
      } else {
        cn_throw_errno(env, errno, sys_name(&t, "get"), t.kind == T_FD ? NULL : t.path, NULL, name);
      }
      goto done;
    }
    free(buf);
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL) {
      cn_throw_errno(env, ENOMEM, sys_name(&t, "get"), NULL, NULL, name);
      goto done;
    }
    ssize_t n = x_get(&t, name, buf, (size_t)size);
    if (n >= 0) {
      napi_value out;
      if (napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out) == napi_ok) ret = out;
      goto done;
    }
    if (errno == ENODATA) { /* removed between the two calls */
      if (napi_get_null(env, &ret) != napi_ok) ret = NULL;
      goto done;
    }
    if (errno != ERANGE || attempt >= MAX_ERANGE_RETRIES) {
      cn_throw_errno(env, errno, sys_name(&t, "get"), t.kind == T_FD ? NULL : t.path, NULL, name);
      goto done;
    }
  }
done:
  free(buf);
  free(name);
  free(owned);
  return ret;
}

static napi_value do_list(napi_env env, napi_callback_info info, bool fd_form) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  struct target t;
  char *owned = NULL, *buf = NULL;
  napi_value ret = NULL;
  if (!get_target(env, argv[0], fd_form, &t, &owned)) goto done;
  for (int attempt = 0;; attempt++) {
    ssize_t size;
    RETRY_ON_OPATH(t, x_list(&t, NULL, 0), size);
    if (size < 0) {
      cn_throw_errno(env, errno, sys_name(&t, "list"), t.kind == T_FD ? NULL : t.path, NULL, NULL);
      goto done;
    }
    if (size == 0) {
      /* no attributes (most files): no second call */
      napi_create_array(env, &ret);
      goto done;
    }
    free(buf);
    buf = malloc((size_t)size);
    if (buf == NULL) {
      cn_throw_errno(env, ENOMEM, sys_name(&t, "list"), NULL, NULL, NULL);
      goto done;
    }
    ssize_t n = x_list(&t, buf, (size_t)size);
    if (n >= 0) {
      napi_value arr;
      if (napi_create_array(env, &arr) != napi_ok) goto done;
      uint32_t idx = 0;
      size_t pos = 0;
      while (pos < (size_t)n) {
        size_t len = strnlen(buf + pos, (size_t)n - pos);
        if (len > 0) {
          napi_value s;
          if (napi_create_string_utf8(env, buf + pos, len, &s) != napi_ok ||
              napi_set_element(env, arr, idx++, s) != napi_ok)
            goto done;
        }
        pos += len + 1;
      }
      ret = arr;
      goto done;
    }
    if (errno != ERANGE || attempt >= MAX_ERANGE_RETRIES) {
      cn_throw_errno(env, errno, sys_name(&t, "list"), t.kind == T_FD ? NULL : t.path, NULL, NULL);
      goto done;
    }
  }
done:
  free(buf);
  free(owned);
  return ret;
}

static napi_value do_set(napi_env env, napi_callback_info info, bool fd_form) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  struct target t;
  char *owned = NULL, *name = NULL;
  const void *data;
  size_t len;
  int32_t flags = 0;
  napi_value ret = NULL;
  if (!get_target(env, argv[0], fd_form, &t, &owned) || !cn_get_bytes(env, argv[2], "value", &data, &len) ||
      (!cn_is_nullish(env, argv[3]) && !cn_get_int32(env, argv[3], "flags", &flags)) ||
      !cn_get_path(env, argv[1], "name", false, &name))
    goto done;
  int r;
  RETRY_ON_OPATH(t, x_set(&t, name, data, len, flags), r);
  if (r < 0) {
    cn_throw_errno(env, errno, sys_name(&t, "set"), t.kind == T_FD ? NULL : t.path, NULL, name);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(name);
  free(owned);
  return ret;
}

static napi_value do_remove(napi_env env, napi_callback_info info, bool fd_form) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  struct target t;
  char *owned = NULL, *name = NULL;
  napi_value ret = NULL;
  if (!get_target(env, argv[0], fd_form, &t, &owned) || !cn_get_path(env, argv[1], "name", false, &name))
    goto done;
  int r;
  RETRY_ON_OPATH(t, x_remove(&t, name), r);
  if (r < 0) {
    cn_throw_errno(env, errno, sys_name(&t, "remove"), t.kind == T_FD ? NULL : t.path, NULL, name);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(name);
  free(owned);
  return ret;
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info) { return do_get(env, info, false); }
static napi_value js_fgetxattr(napi_env env, napi_callback_info info) { return do_get(env, info, true); }
static napi_value js_llistxattr(napi_env env, napi_callback_info info) { return do_list(env, info, false); }
static napi_value js_flistxattr(napi_env env, napi_callback_info info) { return do_list(env, info, true); }
static napi_value js_lsetxattr(napi_env env, napi_callback_info info) { return do_set(env, info, false); }
static napi_value js_fsetxattr(napi_env env, napi_callback_info info) { return do_set(env, info, true); }
static napi_value js_lremovexattr(napi_env env, napi_callback_info info) { return do_remove(env, info, false); }
static napi_value js_fremovexattr(napi_env env, napi_callback_info info) { return do_remove(env, info, true); }

bool cn_register_xattr(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "lgetxattr", js_lgetxattr) &&
         cn_export_fn(env, exports, "fgetxattr", js_fgetxattr) &&
         cn_export_fn(env, exports, "llistxattr", js_llistxattr) &&
         cn_export_fn(env, exports, "flistxattr", js_flistxattr) &&
         cn_export_fn(env, exports, "lsetxattr", js_lsetxattr) &&
         cn_export_fn(env, exports, "fsetxattr", js_fsetxattr) &&
         cn_export_fn(env, exports, "lremovexattr", js_lremovexattr) &&
         cn_export_fn(env, exports, "fremovexattr", js_fremovexattr);
}
