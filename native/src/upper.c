/*
 * cairn_native: the plain lane of a recorded copy of an overlay upper (src/layer/upper-copy.ts).
 *
 * A container's layer is mostly new regular files with nothing but a name, an owner, a mode,
 * a size and times. Reading each in JavaScript (a stat object, its attributes, a tar header
 * built field by field, a copy call and its promise) cost more main-thread time than the
 * kernel spent copying it; these calls do it for a whole directory, and for a run of such
 * files at once:
 *
 *   scanDir(dirfd) -> { names, info }
 *     every entry of directory dirfd (but . and ..): fstatat(AT_SYMLINK_NOFOLLOW) and the size
 *     of its attribute list (llistxattr of /proc/self/fd/DIRFD/NAME: the entry itself, never
 *     followed); sorted as the layer lists them — by the bytes of the name in the archive, a
 *     character device 0:0 (a whiteout) as ".wh." + name, a shorter name first when one is a
 *     prefix of the other. `names`: the names, concatenated; `info`: SCAN_SLOTS doubles per
 *     entry — name offset and length in `names`, st_mode, uid, gid, size, atime s/ns, mtime
 *     s/ns, nlink, rdev major/minor, inode and device as high and low 32 bits, attribute list
 *     bytes (0: none). A failed call throws its errno error naming the entry.
 *
 *   copyPlainRun(srcDirfd, dstDirfd, prefix, names, info, idx, clamp, out) -> Promise<Int32Array>
 *     the entries idx[k] of a scanDir result (regular files with one link and no attributes
 *     whose archive name prefix + name is at most 100 bytes of ASCII, owner ids and size and
 *     mtime within ustar's octal fields), in order. At the call: each one's ustar header,
 *     exactly as src/tar/writer.ts encodes it (mode & 07777, numeric owner, no user or group
 *     name, the mtime in whole seconds — clamped to `clamp` when clamp >= 0 —, typeflag '0'),
 *     followed by its padding, is written into `out` (header k at the sum of 512 + padding of
 *     those before it); an entry that is not plain is a TypeError and nothing is queued. Then,
 *     on a thread of libuv's pool, each file is made as applyCopy makes one: the source
 *     opened without following a symlink and checked to be still that inode of that size
 *     (else ESTALE), the new file created O_EXCL (mode 0600) in dstDirfd, the bytes copied in
 *     the kernel (copy_file_range), then fchown, fchmod, futimens. Resolves to the new files'
 *     fds, open for reading, the caller's to close. It stops at the first failure: the files
 *     made are closed, and the promise rejects with the errno error, its `index` the entry
 *     that failed. `names` is pinned until it settles; keep both directory fds open.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SCAN_SLOTS 18
#define BLOCK 512
#define MAX_ID 07777777ull            /* 7 octal digits */
#define MAX_SIZE 077777777777ull      /* 11 octal digits */

enum {
  S_NAME_OFF, S_NAME_LEN, S_MODE, S_UID, S_GID, S_SIZE, S_ATIME, S_ATIME_NS, S_MTIME, S_MTIME_NS,
  S_NLINK, S_RDEV_MAJOR, S_RDEV_MINOR, S_INO_HI, S_INO_LO, S_DEV_HI, S_DEV_LO, S_XATTR
};

/* --- scanDir -------------------------------------------------------------------------- */

struct scanned {
  char *name;
  size_t len;
  struct stat st;
  ssize_t xattr;
  bool whiteout; /* sorts as ".wh." + name */
};

static int key_byte(const struct scanned *s, size_t i) {
  static const char wh[] = ".wh.";
  if (s->whiteout) return i < 4 ? (unsigned char)wh[i] : (unsigned char)s->name[i - 4];
  return (unsigned char)s->name[i];
}

static int by_key(const void *a, const void *b) {
  const struct scanned *x = a, *y = b;
  size_t lx = x->len + (x->whiteout ? 4 : 0), ly = y->len + (y->whiteout ? 4 : 0);
  size_t n = lx < ly ? lx : ly;
  for (size_t i = 0; i < n; i++) {
    int d = key_byte(x, i) - key_byte(y, i);
    if (d != 0) return d;
  }
  return lx < ly ? -1 : lx > ly;
}

static void free_scanned(struct scanned *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].name);
  free(v);
}

static napi_value js_scan_dir(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int32_t dirfd;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return cn_throw_errno(env, errno, "openat", ".", NULL, NULL);
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    int e = errno;
    close(fd);
    return cn_throw_errno(env, e, "fdopendir", NULL, NULL, NULL);
  }
  size_t n = 0, cap = 0, total = 0;
  struct scanned *v = NULL;
  napi_value ret = NULL;
  char path[64 + 256];
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      if (errno != 0) {
        cn_throw_errno(env, errno, "readdir", NULL, NULL, NULL);
        goto done;
      }
      break;
    }
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (n == cap) {
      size_t c = cap == 0 ? 64 : cap * 2;
      struct scanned *w = realloc(v, c * sizeof *v);
      if (w == NULL) {
        cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
        goto done;
      }
      v = w;
      cap = c;
    }
    struct scanned *s = &v[n];
    s->len = strlen(de->d_name);
    s->name = malloc(s->len + 1);
    if (s->name == NULL) {
      cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
      goto done;
    }
    memcpy(s->name, de->d_name, s->len + 1);
    n++;
    if (fstatat(dirfd, s->name, &s->st, AT_SYMLINK_NOFOLLOW) < 0) {
      cn_throw_errno(env, errno, "fstatat", s->name, NULL, NULL);
      goto done;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, s->name);
    s->xattr = llistxattr(path, NULL, 0);
    if (s->xattr < 0) {
      cn_throw_errno(env, errno, "llistxattr", s->name, NULL, NULL);
      goto done;
    }
    s->whiteout = S_ISCHR(s->st.st_mode) && major(s->st.st_rdev) == 0 && minor(s->st.st_rdev) == 0;
    total += s->len;
  }
  qsort(v, n, sizeof *v, by_key);
  {
    void *nb = NULL, *ib = NULL;
    napi_value names, ab, arr, obj;
    if (napi_create_buffer(env, total > 0 ? total : 1, &nb, &names) != napi_ok ||
        napi_create_arraybuffer(env, n * SCAN_SLOTS * sizeof(double) + 1, &ib, &ab) != napi_ok ||
        napi_create_typedarray(env, napi_float64_array, n * SCAN_SLOTS, ab, 0, &arr) != napi_ok)
      goto done;
    size_t off = 0;
    double *o = ib;
    for (size_t i = 0; i < n; i++) {
      const struct scanned *s = &v[i];
      const struct stat *st = &s->st;
      memcpy((char *)nb + off, s->name, s->len);
      double *r = o + i * SCAN_SLOTS;
      uint64_t ino = (uint64_t)st->st_ino, dev = (uint64_t)st->st_dev;
      r[S_NAME_OFF] = (double)off;
      r[S_NAME_LEN] = (double)s->len;
      r[S_MODE] = st->st_mode;
      r[S_UID] = st->st_uid;
      r[S_GID] = st->st_gid;
      r[S_SIZE] = (double)st->st_size;
      r[S_ATIME] = (double)st->st_atim.tv_sec;
      r[S_ATIME_NS] = (double)st->st_atim.tv_nsec;
      r[S_MTIME] = (double)st->st_mtim.tv_sec;
      r[S_MTIME_NS] = (double)st->st_mtim.tv_nsec;
      r[S_NLINK] = (double)st->st_nlink;
      r[S_RDEV_MAJOR] = major(st->st_rdev);
      r[S_RDEV_MINOR] = minor(st->st_rdev);
      r[S_INO_HI] = (double)(ino >> 32);
      r[S_INO_LO] = (double)(ino & 0xffffffffu);
      r[S_DEV_HI] = (double)(dev >> 32);
      r[S_DEV_LO] = (double)(dev & 0xffffffffu);
      r[S_XATTR] = (double)s->xattr;
      off += s->len;
    }
    if (napi_create_object(env, &obj) != napi_ok || !cn_set_value(env, obj, "names", names) || !cn_set_value(env, obj, "info", arr)) goto done;
    ret = obj;
  }
done:
  closedir(d);
  free_scanned(v, n);
  return ret;
}

/* --- copyPlainRun --------------------------------------------------------------------- */

static void put_octal(uint8_t *b, size_t off, size_t len, uint64_t v) {
  size_t digits = len - 1;
  for (size_t i = digits; i-- > 0;) {
    b[off + i] = (uint8_t)('0' + (v & 7));
    v >>= 3;
  }
  b[off + digits] = 0;
}

/* The ustar header writer.ts's encodeHeader writes for a plain regular file (see the module comment). */
static void encode(uint8_t *b, const uint8_t *prefix, size_t plen, const uint8_t *name, size_t nlen, uint64_t mode, uint64_t uid,
                   uint64_t gid, uint64_t size, uint64_t mtime) {
  memset(b, 0, BLOCK);
  memcpy(b, prefix, plen);
  memcpy(b + plen, name, nlen);
  put_octal(b, 100, 8, mode & 07777);
  put_octal(b, 108, 8, uid);
  put_octal(b, 116, 8, gid);
  put_octal(b, 124, 12, size);
  put_octal(b, 136, 12, mtime);
  b[156] = '0';
  memcpy(b + 257, "ustar\0" "00", 8);
  put_octal(b, 329, 8, 0);
  put_octal(b, 337, 8, 0);
  unsigned sum = 0;
  for (size_t i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? 0x20 : b[i];
  put_octal(b, 148, 7, sum);
  b[155] = ' ';
}

struct plain_file {
  size_t name_off, name_len;
  int64_t ino, size;
  uid_t uid;
  gid_t gid;
  mode_t mode;
  struct timespec ts[2];
};

struct plain_run {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* names */
  int src_dirfd, dst_dirfd;
  const char *names;
  uint32_t n;
  struct plain_file *files;
  int *fds;
  uint32_t done;
  int err;
  const char *syscall;
  bool short_read;
};

static void free_run(napi_env env, struct plain_run *r) {
  if (r->keep != NULL) napi_delete_reference(env, r->keep);
  if (r->work != NULL) napi_delete_async_work(env, r->work);
  free(r->files);
  free(r->fds);
  free(r);
}

static bool run_fail(struct plain_run *r, int err, const char *syscall) {
  r->err = err;
  r->syscall = syscall;
  return false;
}

/* One file of the run made; its fd in *out. */
static bool make_one(struct plain_run *r, const struct plain_file *f, int *out) {
  char name[256];
  memcpy(name, r->names + f->name_off, f->name_len);
  name[f->name_len] = 0;
  int src;
  do {
    src = openat(r->src_dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  } while (src < 0 && errno == EINTR);
  if (src < 0) return run_fail(r, errno, "openat");
  struct stat st;
  if (fstat(src, &st) < 0) {
    int e = errno;
    close(src);
    return run_fail(r, e, "fstat");
  }
  if (!S_ISREG(st.st_mode) || (int64_t)st.st_ino != f->ino || (int64_t)st.st_size != f->size) {
    close(src);
    return run_fail(r, ESTALE, "fstat");
  }
  int fd;
  do {
    fd = openat(r->dst_dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int e = errno;
    close(src);
    return run_fail(r, e, "openat");
  }
  struct cn_copy_failure cf = {0};
  bool ok = cn_copy_span(src, 0, f->size, fd, &cf);
  close(src);
  if (!ok) {
    r->short_read = cf.short_read;
    run_fail(r, cf.err, cf.syscall);
  } else if (fchown(fd, f->uid, f->gid) < 0) {
    ok = run_fail(r, errno, "fchown");
  } else if (fchmod(fd, f->mode) < 0) {
    ok = run_fail(r, errno, "fchmod");
  } else if (futimens(fd, f->ts) < 0) {
    ok = run_fail(r, errno, "futimens");
  }
  if (!ok) {
    close(fd);
    return false;
  }
  *out = fd;
  return true;
}

static void run_execute(napi_env env, void *data) {
  (void)env;
  struct plain_run *r = data;
  uint32_t i;
  for (i = 0; i < r->n; i++) {
    int fd;
    if (!make_one(r, &r->files[i], &fd)) break;
    r->fds[i] = fd;
  }
  r->done = i;
}

static void run_complete(napi_env env, napi_status status, void *data) {
  struct plain_run *r = data;
  if (status != napi_ok || r->done < r->n)
    for (uint32_t i = 0; i < r->done; i++) close(r->fds[i]); /* nobody else will have them */
  if (status != napi_ok) {
    cn_reject_errno(env, r->deferred, ECANCELED, "copyPlainRun", NULL, NULL);
  } else if (r->done < r->n) {
    const struct plain_file *f = &r->files[r->done];
    char name[256];
    memcpy(name, r->names + f->name_off, f->name_len);
    name[f->name_len] = 0;
    const char *detail = r->err == ESTALE ? "the file was replaced or changed size" : r->short_read ? "the file ended early" : NULL;
    cn_throw_errno(env, r->err, r->syscall, name, NULL, detail);
    napi_value e, at;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) {
      if (napi_create_uint32(env, r->done, &at) == napi_ok) napi_set_named_property(env, e, "index", at);
      napi_reject_deferred(env, r->deferred, e);
    }
  } else {
    void *data = NULL;
    napi_value ab, arr;
    if (napi_create_arraybuffer(env, (size_t)r->n * sizeof(int32_t) + 1, &data, &ab) == napi_ok &&
        napi_create_typedarray(env, napi_int32_array, r->n, ab, 0, &arr) == napi_ok) {
      for (uint32_t i = 0; i < r->n; i++) ((int32_t *)data)[i] = r->fds[i];
      napi_resolve_deferred(env, r->deferred, arr);
    } else {
      for (uint32_t i = 0; i < r->n; i++) close(r->fds[i]);
      napi_value e;
      if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_reject_deferred(env, r->deferred, e);
    }
  }
  free_run(env, r);
}

static napi_value not_plain(napi_env env, uint32_t k, const char *why) {
  return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "entry %u of the run is not plain: %s", k, why);
}

static napi_value js_copy_plain_run(napi_env env, napi_callback_info info) {
  napi_value all[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 8, all, NULL)) return NULL;
  int32_t src_dirfd, dst_dirfd;
  const void *prefix, *names, *out_data;
  size_t plen, names_len, out_len;
  void *info_data, *idx_data;
  size_t info_len, idx_len;
  double clamp;
  if (!cn_get_int32(env, all[0], "srcDirfd", &src_dirfd) || !cn_get_int32(env, all[1], "dstDirfd", &dst_dirfd) ||
      !cn_get_bytes(env, all[2], "prefix", &prefix, &plen) || !cn_get_bytes(env, all[3], "names", &names, &names_len) ||
      !cn_get_typed(env, all[4], napi_float64_array, 0, "info", &info_data, &info_len) ||
      !cn_get_typed(env, all[5], napi_int32_array, 0, "idx", &idx_data, &idx_len) || napi_get_value_double(env, all[6], &clamp) != napi_ok ||
      !cn_get_bytes(env, all[7], "out", &out_data, &out_len))
    return NULL;
  const double *in = info_data;
  const int32_t *idx = idx_data;
  uint32_t n = (uint32_t)idx_len;
  struct plain_run *r = calloc(1, sizeof *r);
  if (r == NULL || (n > 0 && ((r->files = calloc(n, sizeof *r->files)) == NULL || (r->fds = calloc(n, sizeof *r->fds)) == NULL))) {
    if (r != NULL) free_run(env, r);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  size_t at = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (idx[k] < 0 || (size_t)(idx[k] + 1) * SCAN_SLOTS > info_len) {
      free_run(env, r);
      return not_plain(env, k, "no such entry");
    }
    const double *e = in + (size_t)idx[k] * SCAN_SLOTS;
    size_t noff = (size_t)e[S_NAME_OFF], nlen = (size_t)e[S_NAME_LEN];
    const uint8_t *name = (const uint8_t *)names + noff;
    double mtime = e[S_MTIME];
    if (clamp >= 0 && (mtime > clamp || (mtime == clamp && e[S_MTIME_NS] > 0))) mtime = clamp;
    const char *why = NULL;
    if (noff + nlen > names_len || nlen == 0 || nlen > 255) why = "its name is not in names";
    else if (!S_ISREG((mode_t)e[S_MODE]) || e[S_NLINK] != 1 || e[S_XATTR] != 0) why = "not a regular file with one link and no attributes";
    else if (plen + nlen > 100) why = "its name does not fit a ustar header";
    else if (e[S_UID] > MAX_ID || e[S_GID] > MAX_ID || e[S_SIZE] > (double)MAX_SIZE || mtime < 0 || mtime > (double)MAX_SIZE) why = "a number does not fit a ustar header";
    for (size_t i = 0; why == NULL && i < plen + nlen; i++) {
      uint8_t c = i < plen ? ((const uint8_t *)prefix)[i] : name[i - plen];
      if (c == 0 || c > 0x7f) why = "its name is not ASCII";
    }
    uint64_t size = (uint64_t)e[S_SIZE];
    size_t pad = (BLOCK - size % BLOCK) % BLOCK;
    if (why == NULL && at + BLOCK + pad > out_len) why = "out is too small";
    if (why != NULL) {
      free_run(env, r);
      return not_plain(env, k, why);
    }
    encode((uint8_t *)out_data + at, prefix, plen, name, nlen, (uint64_t)e[S_MODE], (uint64_t)e[S_UID], (uint64_t)e[S_GID], size, (uint64_t)mtime);
    memset((uint8_t *)out_data + at + BLOCK, 0, pad);
    at += BLOCK + pad;
    struct plain_file *f = &r->files[k];
    f->name_off = noff;
    f->name_len = nlen;
    f->ino = (int64_t)(((uint64_t)e[S_INO_HI] << 32) | (uint64_t)e[S_INO_LO]);
    f->size = (int64_t)size;
    f->uid = (uid_t)e[S_UID];
    f->gid = (gid_t)e[S_GID];
    f->mode = (mode_t)e[S_MODE] & 07777;
    f->ts[0].tv_sec = (time_t)e[S_ATIME];
    f->ts[0].tv_nsec = (long)e[S_ATIME_NS];
    f->ts[1].tv_sec = (time_t)e[S_MTIME];
    f->ts[1].tv_nsec = (long)e[S_MTIME_NS];
  }
  r->src_dirfd = src_dirfd;
  r->dst_dirfd = dst_dirfd;
  r->names = names;
  r->n = n;
  if (napi_create_reference(env, all[3], 1, &r->keep) != napi_ok) {
    free_run(env, r);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:copyPlainRun", run_execute, run_complete, r, &r->deferred, &r->work);
  if (promise == NULL) free_run(env, r);
  return promise;
}

bool cn_register_upper(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "scanDir", js_scan_dir) && cn_export_fn(env, exports, "copyPlainRun", js_copy_plain_run);
}
