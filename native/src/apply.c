/*
 * cairn_native: whole-entry calls for the layer applier (src/layer/apply.ts).
 *
 * Applying one tar entry took six to eight separate calls (create, write, fchown,
 * fchmod, fsetxattr per attribute, utimensat, close); each crossing into the addon
 * costs more than the system call itself for the small files a root filesystem is
 * made of. These calls do the same system calls, in the same order and with the same
 * flags, in one crossing:
 *
 *   applyFile(dirfd, name, chunks, meta, xattrs) -> bool
 *     openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600), write
 *     every chunk, fchown, fchmod, fsetxattr each attribute, futimens, close.
 *     false (nothing done) when the name exists: the caller removes it and retries.
 *   fileMeta(fd, meta, xattrs)
 *     the same metadata on an open file (a body too large to pass at once).
 *   applyNode(dirfd, name, kind, meta, xattrs, target) -> 0 | 1 | -1
 *     kind 0 directory: mkdirat(0700); an existing directory is kept (1); then
 *       fchownat(AT_SYMLINK_NOFOLLOW), fchmodat, xattrs (no times: the caller sets
 *       directory times last, as entries created inside change them);
 *     kind 1 symlink to `target`: symlinkat, fchownat(NOFOLLOW), xattrs, utimensat(NOFOLLOW);
 *     kind 2/3/4 char device / block device / FIFO: mknodat(type|0600, major:minor),
 *       fchownat(NOFOLLOW), fchmodat, xattrs, utimensat(NOFOLLOW).
 *     -1 (nothing done) when the name exists (for a directory: as something else).
 *
 * Order: chown before chmod (chown clears setuid/setgid) and before the xattrs (chown
 * clears security.capability). Names are created with O_EXCL / mkdirat / symlinkat /
 * mknodat, which never follow a symlink in the last component; the metadata calls
 * after them use the fd or AT_SYMLINK_NOFOLLOW, so nothing planted can redirect them.
 * Attributes of a non-regular file are set through an O_PATH|O_NOFOLLOW fd and its
 * /proc/self/fd/N magic link (which lands on the inode itself, symlink included);
 * there `user.*` attributes the kernel refuses with EPERM are skipped (Linux allows
 * them on regular files and directories only), as Docker does.
 *
 * meta is a Float64Array: [uid, gid, mode, atimeSec, atimeNsec, mtimeSec, mtimeNsec,
 * devMajor, devMinor]. xattrs is null or a flat array [name, value, name, value, ...]
 * (name a string, value a Buffer). A failed system call throws the usual errno error;
 * a failed attribute names the attribute as its `path` (syscall "fsetxattr"). Every fd
 * opened here is closed before returning, on every path.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#define META_LEN 9
#define MAX_ID 0xfffffffeu

struct meta {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  struct timespec ts[2];
  unsigned major_, minor_;
};

static bool get_meta(napi_env env, napi_value v, struct meta *m) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok) return false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (!is_typed || napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_float64_array || len < META_LEN) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"meta\" argument must be a Float64Array of %d numbers", META_LEN);
    return false;
  }
  const double *d = data;
  for (int i = 0; i < META_LEN; i++) {
    if (!(d[i] == d[i] && d[i] >= -9007199254740991.0 && d[i] <= 9007199254740991.0 && (double)(int64_t)d[i] == d[i])) {
      cn_throw_type(env, "ERR_OUT_OF_RANGE", "meta[%d] must be a safe integer", i);
      return false;
    }
  }
  if (d[0] < 0 || d[0] > MAX_ID || d[1] < 0 || d[1] > MAX_ID) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "owner %.0f:%.0f is out of range", d[0], d[1]);
    return false;
  }
  if (d[2] < 0 || d[2] > 07777) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "mode %.0f is out of range", d[2]);
    return false;
  }
  if (d[4] < 0 || d[4] > 999999999 || d[6] < 0 || d[6] > 999999999) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "nanoseconds must be 0..999999999");
    return false;
  }
  if (d[7] < 0 || d[7] > 0xfff || d[8] < 0 || d[8] > 0xfffff) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "device number %.0f:%.0f is out of range", d[7], d[8]);
    return false;
  }
  m->uid = (uid_t)d[0];
  m->gid = (gid_t)d[1];
  m->mode = (mode_t)d[2];
  m->ts[0].tv_sec = (time_t)d[3];
  m->ts[0].tv_nsec = (long)d[4];
  m->ts[1].tv_sec = (time_t)d[5];
  m->ts[1].tv_nsec = (long)d[6];
  m->major_ = (unsigned)d[7];
  m->minor_ = (unsigned)d[8];
  return true;
}

/* The attribute list: null/undefined or a flat [name, value, ...] array. */
struct xattrs {
  uint32_t n; /* pairs */
  char **names;
  const void **values;
  size_t *sizes;
};

static void free_xattrs(struct xattrs *x) {
  if (x->names != NULL)
    for (uint32_t i = 0; i < x->n; i++) free(x->names[i]);
  free(x->names);
  free(x->values);
  free(x->sizes);
  memset(x, 0, sizeof *x);
}

static bool get_xattrs(napi_env env, napi_value v, struct xattrs *x) {
  memset(x, 0, sizeof *x);
  if (cn_is_nullish(env, v)) return true;
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok) return false;
  uint32_t len = 0;
  if (!is_array || napi_get_array_length(env, v, &len) != napi_ok || len % 2 != 0) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"xattrs\" argument must be null or an array of name, value pairs");
    return false;
  }
  if (len == 0) return true;
  x->n = len / 2;
  x->names = calloc(x->n, sizeof *x->names);
  x->values = calloc(x->n, sizeof *x->values);
  x->sizes = calloc(x->n, sizeof *x->sizes);
  if (x->names == NULL || x->values == NULL || x->sizes == NULL) {
    free_xattrs(x);
    cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return false;
  }
  for (uint32_t i = 0; i < x->n; i++) {
    napi_value name, value;
    if (napi_get_element(env, v, 2 * i, &name) != napi_ok || napi_get_element(env, v, 2 * i + 1, &value) != napi_ok ||
        !cn_get_path(env, name, "xattr name", false, &x->names[i]) ||
        !cn_get_bytes(env, value, "xattr value", &x->values[i], &x->sizes[i])) {
      free_xattrs(x);
      return false;
    }
  }
  return true;
}

/* Body chunks: null/undefined, one Buffer, or an array of Buffers (views, not copied). */
struct chunks {
  uint32_t n;
  const void **data;
  size_t *len;
  const void *one_data;
  size_t one_len;
};

static void free_chunks(struct chunks *c) {
  if (c->data != &c->one_data) free(c->data);
  if (c->len != &c->one_len) free(c->len);
  memset(c, 0, sizeof *c);
}

static bool get_chunks(napi_env env, napi_value v, struct chunks *c) {
  memset(c, 0, sizeof *c);
  if (cn_is_nullish(env, v)) return true;
  bool is_array = false;
  if (napi_is_array(env, v, &is_array) != napi_ok) return false;
  if (!is_array) {
    if (!cn_get_bytes(env, v, "chunks", &c->one_data, &c->one_len)) return false;
    c->n = 1;
    c->data = &c->one_data;
    c->len = &c->one_len;
    return true;
  }
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok) return false;
  if (n == 0) return true;
  c->data = calloc(n, sizeof *c->data);
  c->len = calloc(n, sizeof *c->len);
  if (c->data == NULL || c->len == NULL) {
    free_chunks(c);
    cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return false;
  }
  c->n = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok || !cn_get_bytes(env, e, "chunks", &c->data[i], &c->len[i])) {
      free_chunks(c);
      return false;
    }
  }
  return true;
}

/* What failed: the system call, its errno, and the name it concerned (an xattr's, or NULL for the entry's). */
struct failure {
  int err;
  const char *syscall;
  const char *name;
};

static bool fail(struct failure *f, const char *syscall, const char *name) {
  f->err = errno;
  f->syscall = syscall;
  f->name = name;
  return false;
}

static bool write_all(int fd, const struct chunks *c, struct failure *f) {
  for (uint32_t i = 0; i < c->n; i++) {
    const char *p = c->data[i];
    size_t left = c->len[i];
    while (left > 0) {
      ssize_t w = write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail(f, "write", NULL);
      }
      p += w;
      left -= (size_t)w;
    }
  }
  return true;
}

/*
 * Set the attributes on `fd`. `proc`: fd is O_PATH, go through its magic link. `special`:
 * not a regular file or directory, where a refused user.* attribute is skipped.
 */
static bool set_xattrs(int fd, bool proc, bool special, const struct xattrs *x, struct failure *f) {
  char path[64];
  if (proc) snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  for (uint32_t i = 0; i < x->n; i++) {
    int r = proc ? setxattr(path, x->names[i], x->values[i], x->sizes[i], 0)
                 : fsetxattr(fd, x->names[i], x->values[i], x->sizes[i], 0);
    if (r == 0) continue;
    if (special && errno == EPERM && strncmp(x->names[i], "user.", 5) == 0) continue;
    return fail(f, "fsetxattr", x->names[i]);
  }
  return true;
}

/* Attributes of `name` in dirfd, which is not a regular file: through an O_PATH fd. */
static bool xattrs_by_name(int dirfd, const char *name, bool special, const struct xattrs *x, struct failure *f) {
  if (x->n == 0) return true;
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(f, "openat", NULL);
  bool ok = set_xattrs(fd, true, special, x, f);
  close(fd);
  return ok;
}

static bool file_meta(int fd, const struct meta *m, const struct xattrs *x, struct failure *f) {
  if (fchown(fd, m->uid, m->gid) < 0) return fail(f, "fchown", NULL);
  if (fchmod(fd, m->mode) < 0) return fail(f, "fchmod", NULL);
  if (!set_xattrs(fd, false, false, x, f)) return false;
  if (futimens(fd, m->ts) < 0) return fail(f, "futimens", NULL);
  return true;
}

static napi_value throw_failure(napi_env env, const struct failure *f, const char *entry) {
  return cn_throw_errno(env, f->err, f->syscall, f->name != NULL ? f->name : entry, NULL, NULL);
}

static napi_value js_apply_file(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 5, argv, NULL)) return NULL;
  int32_t dirfd;
  char *name = NULL;
  struct meta m;
  struct chunks c = {0};
  struct xattrs x = {0};
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_path(env, argv[1], "name", false, &name) ||
      !get_chunks(env, argv[2], &c) || !get_meta(env, argv[3], &m) || !get_xattrs(env, argv[4], &x))
    goto done;
  int fd;
  do {
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EEXIST) ret = cn_bool(env, false);
    else cn_throw_errno(env, errno, "openat", name, NULL, NULL);
    goto done;
  }
  struct failure f = {0};
  bool ok = write_all(fd, &c, &f) && file_meta(fd, &m, &x, &f);
  if (close(fd) < 0 && ok) ok = fail(&f, "close", NULL);
  if (!ok) {
    throw_failure(env, &f, name);
    goto done;
  }
  ret = cn_bool(env, true);
done:
  free_xattrs(&x);
  free_chunks(&c);
  free(name);
  return ret;
}

static napi_value js_file_meta(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  int32_t fd;
  struct meta m;
  struct xattrs x = {0};
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "fd", &fd) || !get_meta(env, argv[1], &m) || !get_xattrs(env, argv[2], &x)) goto done;
  struct failure f = {0};
  if (!file_meta(fd, &m, &x, &f)) {
    throw_failure(env, &f, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free_xattrs(&x);
  return ret;
}

enum node_kind { K_DIR = 0, K_SYMLINK = 1, K_CHAR = 2, K_BLOCK = 3, K_FIFO = 4 };

static napi_value js_apply_node(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 5, argv, NULL)) return NULL;
  int32_t dirfd, kind;
  char *name = NULL, *target = NULL;
  struct meta m;
  struct xattrs x = {0};
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_path(env, argv[1], "name", false, &name) ||
      !cn_get_int32(env, argv[2], "kind", &kind) || !get_meta(env, argv[3], &m) || !get_xattrs(env, argv[4], &x))
    goto done;
  if (kind < K_DIR || kind > K_FIFO) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"kind\" must be 0..4");
    goto done;
  }
  if (kind == K_SYMLINK && !cn_get_path(env, argv[5], "target", false, &target)) goto done;

  int created = 0;
  struct failure f = {0};
  bool ok = true;
  switch (kind) {
    case K_DIR:
      if (mkdirat(dirfd, name, 0700) < 0) {
        if (errno != EEXIST) {
          ok = fail(&f, "mkdirat", NULL);
          break;
        }
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
          ok = fail(&f, "fstatat", NULL);
          break;
        }
        if (!S_ISDIR(st.st_mode)) {
          ret = cn_int32(env, -1);
          goto done;
        }
        created = 1; /* an existing directory: merged */
      }
      ok = (fchownat(dirfd, name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(&f, "fchownat", NULL)) &&
           (fchmodat(dirfd, name, m.mode, 0) == 0 || fail(&f, "fchmodat", NULL)) &&
           xattrs_by_name(dirfd, name, false, &x, &f);
      break;
    case K_SYMLINK:
      if (symlinkat(target, dirfd, name) < 0) {
        if (errno == EEXIST) {
          ret = cn_int32(env, -1);
          goto done;
        }
        ok = fail(&f, "symlinkat", NULL);
        break;
      }
      ok = (fchownat(dirfd, name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(&f, "fchownat", NULL)) &&
           xattrs_by_name(dirfd, name, true, &x, &f) &&
           (utimensat(dirfd, name, m.ts, AT_SYMLINK_NOFOLLOW) == 0 || fail(&f, "utimensat", NULL));
      break;
    default: {
      mode_t type = kind == K_CHAR ? S_IFCHR : kind == K_BLOCK ? S_IFBLK : S_IFIFO;
      if (mknodat(dirfd, name, type | 0600, makedev(m.major_, m.minor_)) < 0) {
        if (errno == EEXIST) {
          ret = cn_int32(env, -1);
          goto done;
        }
        ok = fail(&f, "mknodat", NULL);
        break;
      }
      ok = (fchownat(dirfd, name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(&f, "fchownat", NULL)) &&
           (fchmodat(dirfd, name, m.mode, 0) == 0 || fail(&f, "fchmodat", NULL)) &&
           xattrs_by_name(dirfd, name, true, &x, &f) &&
           (utimensat(dirfd, name, m.ts, AT_SYMLINK_NOFOLLOW) == 0 || fail(&f, "utimensat", NULL));
      break;
    }
  }
  if (!ok) {
    throw_failure(env, &f, name);
    goto done;
  }
  ret = cn_int32(env, created);
done:
  free_xattrs(&x);
  free(target);
  free(name);
  return ret;
}

bool cn_register_apply(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "applyFile", js_apply_file) &&
         cn_export_fn(env, exports, "fileMeta", js_file_meta) &&
         cn_export_fn(env, exports, "applyNode", js_apply_node);
}
