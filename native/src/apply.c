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
 *   applyCopy(srcDirfd, srcName, srcIno, size, dstDirfd, dstName, meta, xattrs) -> Promise<fd>
 *     on a thread of libuv's pool: openat(srcDirfd, srcName, O_RDONLY|O_NOFOLLOW|O_NONBLOCK|
 *     O_NOCTTY) — still the regular file srcIno of `size` bytes, else ESTALE —, openat(dstDirfd,
 *     dstName, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600), the bytes copied in the kernel
 *     (copy.c's cn_copy_span: copy_file_range, a reflink where the file system shares blocks),
 *     fchown, fchmod, fsetxattr each attribute, futimens; the source closed. Resolves to the
 *     new file's fd, left open for reading (its bytes hashed where they now lie; the caller
 *     closes it); a failure closes both. The xattr values are pinned until it settles.
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

#include <linux/openat2.h>

#define META_LEN 9
#define MAX_ID 0xfffffffeu

struct meta {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  struct timespec ts[2];
  unsigned major_, minor_;
};

/* One entry's META_LEN numbers, checked. */
static bool check_meta(napi_env env, const double *d, struct meta *m) {
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
  return check_meta(env, data, m);
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
  /* Owner and mode are set only where they differ from what the file has: a file made by root
   * with its mode (most of a layer's) needs neither call, each of which rewrites the inode.
   * fchown clears setuid and setgid, so the mode is set again after one. */
  struct stat st;
  bool known = fstat(fd, &st) == 0;
  bool chowned = false;
  if (!known || st.st_uid != m->uid || st.st_gid != m->gid) {
    if (fchown(fd, m->uid, m->gid) < 0) return fail(f, "fchown", NULL);
    chowned = true;
  }
  if ((!known || chowned || (st.st_mode & 07777) != m->mode) && fchmod(fd, m->mode) < 0) return fail(f, "fchmod", NULL);
  if (!set_xattrs(fd, false, false, x, f)) return false;
  if (futimens(fd, m->ts) < 0) return fail(f, "futimens", NULL);
  return true;
}

static napi_value throw_failure(napi_env env, const struct failure *f, const char *entry) {
  return cn_throw_errno(env, f->err, f->syscall, f->name != NULL ? f->name : entry, NULL, NULL);
}

/* Results of make_file and make_node. */
#define MADE 0
#define MERGED 1   /* an existing directory, kept */
#define EXISTS (-1) /* the name exists (as something else): nothing done */
#define FAILED (-2) /* a system call failed: see the failure */

static int make_file(int dirfd, const char *name, const struct chunks *c, const struct meta *m,
                     const struct xattrs *x, struct failure *f) {
  int fd;
  do {
    /* made with its permission bits (less the umask; file_meta sets what differs), as
     * Docker's extraction makes a file with its header's mode */
    fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, m->mode & 0777);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == EEXIST) return EXISTS;
    fail(f, "openat", NULL);
    return FAILED;
  }
  bool ok = write_all(fd, c, f) && file_meta(fd, m, x, f);
  if (close(fd) < 0 && ok) ok = fail(f, "close", NULL);
  return ok ? MADE : FAILED;
}

enum node_kind { K_DIR = 0, K_SYMLINK = 1, K_CHAR = 2, K_BLOCK = 3, K_FIFO = 4 };

static int make_node(int dirfd, const char *name, int kind, const char *target, const struct meta *m,
                     const struct xattrs *x, struct failure *f) {
  int made = MADE;
  bool ok;
  switch (kind) {
    case K_DIR:
      if (mkdirat(dirfd, name, 0700) < 0) {
        if (errno != EEXIST) {
          fail(f, "mkdirat", NULL);
          return FAILED;
        }
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
          fail(f, "fstatat", NULL);
          return FAILED;
        }
        if (!S_ISDIR(st.st_mode)) return EXISTS;
        made = MERGED;
      }
      ok = (fchownat(dirfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(f, "fchownat", NULL)) &&
           (fchmodat(dirfd, name, m->mode, 0) == 0 || fail(f, "fchmodat", NULL)) &&
           xattrs_by_name(dirfd, name, false, x, f);
      break;
    case K_SYMLINK:
      if (symlinkat(target, dirfd, name) < 0) {
        if (errno == EEXIST) return EXISTS;
        fail(f, "symlinkat", NULL);
        return FAILED;
      }
      ok = (fchownat(dirfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(f, "fchownat", NULL)) &&
           xattrs_by_name(dirfd, name, true, x, f) &&
           (utimensat(dirfd, name, m->ts, AT_SYMLINK_NOFOLLOW) == 0 || fail(f, "utimensat", NULL));
      break;
    default: {
      mode_t type = kind == K_CHAR ? S_IFCHR : kind == K_BLOCK ? S_IFBLK : S_IFIFO;
      if (mknodat(dirfd, name, type | 0600, makedev(m->major_, m->minor_)) < 0) {
        if (errno == EEXIST) return EXISTS;
        fail(f, "mknodat", NULL);
        return FAILED;
      }
      ok = (fchownat(dirfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) == 0 || fail(f, "fchownat", NULL)) &&
           (fchmodat(dirfd, name, m->mode, 0) == 0 || fail(f, "fchmodat", NULL)) &&
           xattrs_by_name(dirfd, name, true, x, f) &&
           (utimensat(dirfd, name, m->ts, AT_SYMLINK_NOFOLLOW) == 0 || fail(f, "utimensat", NULL));
      break;
    }
  }
  return ok ? made : FAILED;
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
  struct failure f = {0};
  int r = make_file(dirfd, name, &c, &m, &x, &f);
  if (r == FAILED) throw_failure(env, &f, name);
  else ret = cn_bool(env, r == MADE);
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
  struct failure f = {0};
  int r = make_node(dirfd, name, kind, target, &m, &x, &f);
  if (r == FAILED) throw_failure(env, &f, name);
  else ret = cn_int32(env, r);
done:
  free_xattrs(&x);
  free(target);
  free(name);
  return ret;
}

/*
 * applyBatch(rootfd, resolve, count, ops, meta, results) -> Promise<number>
 *
 * Several entries applied in order on a thread of libuv's pool, so that the main thread
 * parses (and decompresses, and hashes) the next entries meanwhile. ops holds 5 slots per
 * entry: [kind (0..4 as applyNode, 5 a regular file), parent (the parent directory's path
 * below rootfd, bytes; empty for rootfd itself), name, body chunks (a file) or target (a
 * symlink) or null, xattrs]; meta holds 9 numbers per entry (as applyFile). Each parent is
 * opened with openat2(rootfd, parent, O_PATH|O_DIRECTORY, resolve) — the caller passes its
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|... flags — once per run of entries sharing it. The
 * work stops at the first entry it cannot complete (its parent does not resolve, its name
 * exists, a call fails): the promise resolves to the number of entries done, and the
 * caller applies the rest itself, where it can remove, create missing directories and say
 * exactly what is wrong. results[i] is 0 (created) or 1 (an existing directory kept) for
 * each entry done. Everything the work reads is copied or pinned (references to ops,
 * meta and results) until it completes. The caller must not close rootfd before then.
 */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define K_FILE 5
#define OP_SLOTS 5

struct op {
  int kind;
  char *parent;
  char *name;
  char *target;
  struct chunks chunks;
  struct xattrs x;
  struct meta m;
};

struct batch {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep[3];
  int rootfd;
  uint64_t resolve;
  uint32_t n;
  struct op *ops;
  int32_t *results;
  uint32_t done;
};

static void free_batch(napi_env env, struct batch *b) {
  if (b->ops != NULL) {
    for (uint32_t i = 0; i < b->n; i++) {
      free(b->ops[i].parent);
      free(b->ops[i].name);
      free(b->ops[i].target);
      free_chunks(&b->ops[i].chunks);
      free_xattrs(&b->ops[i].x);
    }
    free(b->ops);
  }
  for (int i = 0; i < 3; i++)
    if (b->keep[i] != NULL) napi_delete_reference(env, b->keep[i]);
  if (b->work != NULL) napi_delete_async_work(env, b->work);
  free(b);
}

static int open_parent(int rootfd, const char *parent, uint64_t resolve) {
  if (parent[0] == '\0') return rootfd;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = resolve;
  long fd;
  do {
    fd = syscall(SYS_openat2, rootfd, parent, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  return (int)fd;
}

/* The parent directory of the entries being applied, open once per run of entries sharing it. */
struct parent_cache {
  int rootfd;
  uint64_t resolve;
  int fd; /* -1: none open */
  char key[4097];
};

/* An fd of directory `parent` below the root (the cached one when it is the same), or -1. */
static int parent_fd(struct parent_cache *c, const char *parent) {
  if (c->fd >= 0 && strcmp(c->key, parent) == 0) return c->fd;
  if (c->fd >= 0 && c->fd != c->rootfd) close(c->fd);
  c->fd = -1;
  size_t len = strlen(parent);
  if (len >= sizeof c->key) {
    errno = ENAMETOOLONG;
    return -1;
  }
  c->fd = open_parent(c->rootfd, parent, c->resolve);
  if (c->fd >= 0) memcpy(c->key, parent, len + 1);
  return c->fd;
}

static void parent_close(struct parent_cache *c) {
  if (c->fd >= 0 && c->fd != c->rootfd) close(c->fd);
  c->fd = -1;
}

static void batch_execute(napi_env env, void *data) {
  struct batch *b = data;
  struct parent_cache pc = {b->rootfd, b->resolve, -1, ""};
  uint32_t i;
  for (i = 0; i < b->n; i++) {
    struct op *op = &b->ops[i];
    int pfd = parent_fd(&pc, op->parent);
    if (pfd < 0) break;
    struct failure f = {0};
    int r = op->kind == K_FILE ? make_file(pfd, op->name, &op->chunks, &op->m, &op->x, &f)
                               : make_node(pfd, op->name, op->kind, op->target, &op->m, &op->x, &f);
    if (r < 0) break;
    b->results[i] = r;
  }
  parent_close(&pc);
  b->done = i;
}

/* Resolve a batch's promise to the number of entries done, or reject it when the work was cancelled. */
static void settle_done(napi_env env, napi_status status, napi_deferred deferred, uint32_t done, const char *cancelled) {
  napi_value v;
  if (status == napi_ok && napi_create_uint32(env, done, &v) == napi_ok) {
    napi_resolve_deferred(env, deferred, v);
    return;
  }
  napi_value msg, err;
  if (napi_create_string_utf8(env, cancelled, NAPI_AUTO_LENGTH, &msg) == napi_ok && napi_create_error(env, NULL, msg, &err) == napi_ok)
    napi_reject_deferred(env, deferred, err);
}

static void batch_complete(napi_env env, napi_status status, void *data) {
  struct batch *b = data;
  settle_done(env, status, b->deferred, b->done, "applyBatch: the work was cancelled");
  free_batch(env, b);
}

static bool get_op(napi_env env, napi_value ops, uint32_t i, const double *meta, struct op *op) {
  napi_value slot[OP_SLOTS];
  for (uint32_t k = 0; k < OP_SLOTS; k++)
    if (napi_get_element(env, ops, i * OP_SLOTS + k, &slot[k]) != napi_ok) return false;
  int32_t kind;
  if (!cn_get_int32(env, slot[0], "kind", &kind)) return false;
  if (kind < K_DIR || kind > K_FILE) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"kind\" must be 0..5");
    return false;
  }
  op->kind = kind;
  if (!cn_get_path(env, slot[1], "parent", false, &op->parent) || !cn_get_path(env, slot[2], "name", false, &op->name))
    return false;
  if (kind == K_FILE && !get_chunks(env, slot[3], &op->chunks)) return false;
  if (kind == K_SYMLINK && !cn_get_path(env, slot[3], "target", false, &op->target)) return false;
  if (!get_xattrs(env, slot[4], &op->x)) return false;
  return check_meta(env, meta + (size_t)i * META_LEN, &op->m);
}

/* rootfd, resolve and count: the first three arguments of applyBatch and applyPlain. */
static bool get_batch_head(napi_env env, napi_value *argv, int32_t *rootfd, int64_t *resolve, uint32_t *n) {
  if (!cn_get_int32(env, argv[0], "rootfd", rootfd) || !cn_get_int64(env, argv[1], "resolve", resolve) ||
      !cn_get_uint32(env, argv[2], "count", n))
    return false;
  if (*resolve < 0) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "resolve must not be negative");
    return false;
  }
  return true;
}

static napi_value js_apply_batch(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 6, argv, NULL)) return NULL;
  int32_t rootfd;
  int64_t resolve;
  uint32_t n;
  if (!get_batch_head(env, argv, &rootfd, &resolve, &n)) return NULL;
  bool is_array = false;
  uint32_t len = 0;
  if (napi_is_array(env, argv[3], &is_array) != napi_ok) return NULL;
  if (!is_array || napi_get_array_length(env, argv[3], &len) != napi_ok || len < (uint64_t)n * OP_SLOTS)
    return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"ops\" argument must be an array of %u entries of %d slots", n, OP_SLOTS);
  size_t mlen = 0, rlen = 0;
  void *mdata = NULL, *rdata = NULL;
  if (!cn_get_typed(env, argv[4], napi_float64_array, (size_t)n * META_LEN, "meta", &mdata, &mlen) ||
      !cn_get_typed(env, argv[5], napi_int32_array, n, "results", &rdata, &rlen))
    return NULL;

  struct batch *b = calloc(1, sizeof *b);
  if (b == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  b->rootfd = rootfd;
  b->resolve = (uint64_t)resolve;
  b->results = rdata;
  if (n > 0) {
    b->ops = calloc(n, sizeof *b->ops);
    if (b->ops == NULL) {
      free_batch(env, b);
      return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    b->n = i + 1; /* free_batch frees what was filled so far */
    if (!get_op(env, argv[3], i, mdata, &b->ops[i])) {
      free_batch(env, b);
      return NULL;
    }
  }
  b->n = n;
  if (napi_create_reference(env, argv[3], 1, &b->keep[0]) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &b->keep[1]) != napi_ok ||
      napi_create_reference(env, argv[5], 1, &b->keep[2]) != napi_ok) {
    free_batch(env, b);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:applyBatch", batch_execute, batch_complete, b, &b->deferred, &b->work);
  if (promise == NULL) free_batch(env, b); /* only when N-API itself fails */
  return promise;
}

/*
 * applyPlain(rootfd, resolve, count, info, meta, names, buf, results) -> Promise<number>
 *
 * applyBatch for entries read by scanPlain (scan.c): their names, link targets and bodies
 * are read where scanPlain left them (the key's parent and last component in `names`, the
 * body in `buf`), so nothing is converted per entry. Same order, calls, flags, parent
 * resolution and early stop as applyBatch; no xattrs (scanPlain takes no entry with any).
 * `meta` is checked and copied at the call; info, names, buf and results are pinned until the
 * work completes: the caller must not change them.
 */
#define INFO_SLOTS 12

struct plain {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep[4];
  int rootfd;
  uint64_t resolve;
  uint32_t n;
  int32_t *results;
  const int32_t *info;
  struct meta *metas; /* decoded and checked when the call was made */
  const char *names;
  size_t names_len;
  const uint8_t *buf;
  size_t buf_len;
  uint32_t done;
};

static void free_plain(napi_env env, struct plain *b) {
  for (int i = 0; i < 4; i++)
    if (b->keep[i] != NULL) napi_delete_reference(env, b->keep[i]);
  if (b->work != NULL) napi_delete_async_work(env, b->work);
  free(b->metas);
  free(b);
}

static void plain_execute(napi_env env, void *data) {
  struct plain *b = data;
  char parent[4097], base[256], target[4097];
  struct parent_cache pc = {b->rootfd, b->resolve, -1, ""};
  uint32_t i;
  for (i = 0; i < b->n; i++) {
    const int32_t *in = b->info + (size_t)i * INFO_SLOTS;
    int kind = in[0];
    size_t key_off = (size_t)in[1], key_len = (size_t)in[2], base_off = (size_t)in[3];
    size_t plen = base_off > 0 ? base_off - 1 : 0, blen = key_len - base_off;
    if (key_off + key_len > b->names_len || plen >= sizeof parent || blen >= sizeof base) break;
    memcpy(parent, b->names + key_off, plen);
    parent[plen] = '\0';
    memcpy(base, b->names + key_off + base_off, blen);
    base[blen] = '\0';
    int pfd = parent_fd(&pc, parent);
    if (pfd < 0) break;
    const struct meta *m = &b->metas[i];
    struct xattrs x = {0};
    struct failure f = {0};
    int r;
    if (kind == K_FILE) {
      size_t off = (size_t)in[7], size = (size_t)in[8];
      if (off + size > b->buf_len) break;
      struct chunks c = {0};
      c.one_data = b->buf + off;
      c.one_len = size;
      c.n = size > 0 ? 1 : 0;
      c.data = &c.one_data;
      c.len = &c.one_len;
      r = make_file(pfd, base, &c, m, &x, &f);
    } else if (kind == K_SYMLINK) {
      size_t loff = (size_t)in[4], llen = (size_t)in[5];
      if (loff + llen > b->names_len || llen >= sizeof target) break;
      memcpy(target, b->names + loff, llen);
      target[llen] = '\0';
      r = make_node(pfd, base, K_SYMLINK, target, m, &x, &f);
    } else if (kind == K_DIR) {
      r = make_node(pfd, base, K_DIR, NULL, m, &x, &f);
    } else {
      break;
    }
    if (r < 0) break;
    b->results[i] = r; /* 0 created, 1 an existing directory kept */
  }
  parent_close(&pc);
  b->done = i;
}
static void plain_complete(napi_env env, napi_status status, void *data) {
  struct plain *b = data;
  settle_done(env, status, b->deferred, b->done, "applyPlain: the work was cancelled");
  free_plain(env, b);
}

static napi_value js_apply_plain(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 8, argv, NULL)) return NULL;
  int32_t rootfd;
  int64_t resolve;
  uint32_t n;
  if (!get_batch_head(env, argv, &rootfd, &resolve, &n)) return NULL;
  void *info_data, *meta_data, *res_data;
  size_t info_len, meta_len, res_len, names_len, buf_len;
  const void *names, *buf;
  if (!cn_get_typed(env, argv[3], napi_int32_array, (size_t)n * INFO_SLOTS, "info", &info_data, &info_len) ||
      !cn_get_typed(env, argv[4], napi_float64_array, (size_t)n * META_LEN, "meta", &meta_data, &meta_len) ||
      !cn_get_bytes(env, argv[5], "names", &names, &names_len) || !cn_get_bytes(env, argv[6], "buf", &buf, &buf_len) ||
      !cn_get_typed(env, argv[7], napi_int32_array, n, "results", &res_data, &res_len))
    return NULL;
  struct plain *b = calloc(1, sizeof *b);
  if (b == NULL || (n > 0 && (b->metas = calloc(n, sizeof *b->metas)) == NULL)) {
    if (b != NULL) free_plain(env, b);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  const int32_t *in = info_data;
  for (uint32_t i = 0; i < n; i++) {
    /* the same checks applyBatch makes of its meta (check_meta throws on the first bad one) */
    int kind = in[(size_t)i * INFO_SLOTS];
    if (!check_meta(env, (const double *)meta_data + (size_t)i * META_LEN, &b->metas[i])) {
      free_plain(env, b);
      return NULL;
    }
    if (kind != K_DIR && kind != K_SYMLINK && kind != K_FILE) {
      free_plain(env, b);
      return cn_throw_type(env, "ERR_OUT_OF_RANGE", "entry %u: kind must be 0, 1 or 5", i);
    }
  }
  b->rootfd = rootfd;
  b->resolve = (uint64_t)resolve;
  b->n = n;
  b->info = info_data;
  b->names = names;
  b->names_len = names_len;
  b->buf = buf;
  b->buf_len = buf_len;
  b->results = res_data;
  const int pinned[4] = {3, 5, 6, 7}; /* info, names, buf, results (meta was copied above) */
  for (int k = 0; k < 4; k++) {
    if (napi_create_reference(env, argv[pinned[k]], 1, &b->keep[k]) != napi_ok) {
      free_plain(env, b);
      return NULL;
    }
  }
  napi_value promise = cn_queue_promise(env, "cairn:applyPlain", plain_execute, plain_complete, b, &b->deferred, &b->work);
  if (promise == NULL) free_plain(env, b);
  return promise;
}

struct copy_entry {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the xattrs array: its values are read on the pool */
  int src_dirfd, dst_dirfd;
  char *src_name, *dst_name;
  int64_t ino, size;
  struct meta m;
  struct xattrs x;
  int fd; /* the new file, when made */
  struct failure f;
  bool short_read;
  bool at_source; /* the failure concerns the source file */
};

static void free_copy_entry(napi_env env, struct copy_entry *c) {
  free(c->src_name);
  free(c->dst_name);
  free_xattrs(&c->x);
  if (c->keep != NULL) napi_delete_reference(env, c->keep);
  if (c->work != NULL) napi_delete_async_work(env, c->work);
  free(c);
}

static void copy_entry_execute(napi_env env, void *data) {
  (void)env;
  struct copy_entry *c = data;
  c->fd = -1;
  c->at_source = true;
  int src;
  do {
    src = openat(c->src_dirfd, c->src_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  } while (src < 0 && errno == EINTR);
  if (src < 0) {
    fail(&c->f, "openat", NULL);
    return;
  }
  struct stat st;
  if (fstat(src, &st) < 0) {
    fail(&c->f, "fstat", NULL);
    close(src);
    return;
  }
  if (!S_ISREG(st.st_mode) || (int64_t)st.st_ino != c->ino || (int64_t)st.st_size != c->size) {
    errno = ESTALE;
    fail(&c->f, "fstat", NULL);
    close(src);
    return;
  }
  c->at_source = false;
  int fd;
  do {
    fd = openat(c->dst_dirfd, c->dst_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    fail(&c->f, "openat", NULL);
    close(src);
    return;
  }
  struct cn_copy_failure cf = {0};
  bool ok = cn_copy_span(src, 0, c->size, fd, &cf);
  if (!ok) {
    c->f.err = cf.err;
    c->f.syscall = cf.syscall;
    c->f.name = NULL;
    c->short_read = cf.short_read;
    c->at_source = cf.short_read;
  }
  close(src);
  if (ok) ok = file_meta(fd, &c->m, &c->x, &c->f);
  if (!ok) {
    close(fd);
    return;
  }
  c->fd = fd;
}

static void copy_entry_complete(napi_env env, napi_status status, void *data) {
  struct copy_entry *c = data;
  if (status != napi_ok) {
    if (c->fd >= 0) close(c->fd);
    cn_reject_errno(env, c->deferred, ECANCELED, "applyCopy", NULL, NULL);
  } else if (c->fd < 0) {
    const char *detail = c->f.err == ESTALE ? "the file was replaced or changed size" : c->short_read ? "the file ended early" : NULL;
    cn_reject_errno(env, c->deferred, c->f.err, c->f.syscall, c->f.name != NULL ? c->f.name : c->at_source ? c->src_name : c->dst_name, detail);
  } else {
    napi_value v = cn_int32(env, c->fd);
    if (v != NULL) napi_resolve_deferred(env, c->deferred, v);
  }
  free_copy_entry(env, c);
}

static napi_value js_apply_copy(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 8, argv, NULL)) return NULL;
  struct copy_entry *c = calloc(1, sizeof *c);
  if (c == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  int32_t src_dirfd, dst_dirfd;
  if (!cn_get_int32(env, argv[0], "srcDirfd", &src_dirfd) || !cn_get_path(env, argv[1], "srcName", false, &c->src_name) ||
      !cn_get_int64(env, argv[2], "srcIno", &c->ino) || !cn_get_int64(env, argv[3], "size", &c->size) ||
      !cn_get_int32(env, argv[4], "dstDirfd", &dst_dirfd) || !cn_get_path(env, argv[5], "dstName", false, &c->dst_name) ||
      !get_meta(env, argv[6], &c->m) || !get_xattrs(env, argv[7], &c->x)) {
    free_copy_entry(env, c);
    return NULL;
  }
  if (c->size < 0) {
    free_copy_entry(env, c);
    return cn_throw_type(env, "ERR_OUT_OF_RANGE", "size must not be negative");
  }
  c->src_dirfd = src_dirfd;
  c->dst_dirfd = dst_dirfd;
  if (!cn_is_nullish(env, argv[7]) && napi_create_reference(env, argv[7], 1, &c->keep) != napi_ok) {
    free_copy_entry(env, c);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:applyCopy", copy_entry_execute, copy_entry_complete, c, &c->deferred, &c->work);
  if (promise == NULL) free_copy_entry(env, c);
  return promise;
}

bool cn_register_apply(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "applyFile", js_apply_file) && cn_export_fn(env, exports, "applyCopy", js_apply_copy) &&
         cn_export_fn(env, exports, "applyBatch", js_apply_batch) &&
         cn_export_fn(env, exports, "applyPlain", js_apply_plain) &&
         cn_export_fn(env, exports, "fileMeta", js_file_meta) &&
         cn_export_fn(env, exports, "applyNode", js_apply_node);
}
