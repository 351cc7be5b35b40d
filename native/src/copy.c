/*
 * cairn_native: copying a span of one open file into another, in the kernel.
 *
 *   copyFileRange(srcFd, srcOffset, length, dstFd) -> Promise
 *       copy `length` bytes of srcFd from `srcOffset` to the start of dstFd, on a thread of
 *       libuv's pool: copy_file_range(2), which moves the bytes page cache to page cache (or
 *       shares the blocks where the file system can: a reflink, tried by the kernel itself
 *       on the same file system) without copying them through user space; where the kernel
 *       cannot (another file system, an old kernel) pread/pwrite.
 *   prefetchAt(dirfd, names, lengths) -> Promise
 *       a hint, on a thread of the pool: the first lengths[i] bytes of each file names[i] in
 *       dirfd are read into the page cache in the background (posix_fadvise WILLNEED), so
 *       that the many small reads of a tree copy or a re-emitted layer find them there, read
 *       by the disk at its full queue depth instead of one file at a time. Only regular files
 *       beneath dirfd reached without a symlink are opened (openat2 RESOLVE_BENEATH |
 *       RESOLVE_NO_SYMLINKS): a name that is anything else, or gone, is passed over; the hint
 *       changes nothing a later read sees.
 *
 * The applier writes the body of a big file this way when the layer is a span of an
 * uncompressed archive file on disk: the bytes are hashed from the same file by hashUpdate.
 * A source that ends before srcOffset + length fails with ENODATA ("the file ended early").
 * cn_copy_span (common.h) is the same copy for other calls of the addon (apply.c's applyCopy).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define COPY_CHUNK (1 << 20)
#define COPY_STEP ((size_t)1 << 30)

struct copy_job {
  napi_async_work work;
  napi_deferred deferred;
  int src, dst;
  int64_t offset, length;
  struct cn_copy_failure f;
};

/* pread/pwrite from `in` to `out` for `left` bytes. */
static bool copy_by_hand(int src, int dst, off_t in, off_t out, int64_t left, struct cn_copy_failure *f) {
  uint8_t *buf = malloc(COPY_CHUNK);
  if (buf == NULL) {
    f->err = ENOMEM;
    f->syscall = "malloc";
    return false;
  }
  bool ok = true;
  while (ok && left > 0) {
    size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
    ssize_t n = pread(src, buf, want, in);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      f->err = n < 0 ? errno : ENODATA;
      f->short_read = n == 0;
      f->syscall = "pread";
      ok = false;
      break;
    }
    for (ssize_t w = 0; w < n;) {
      ssize_t m = pwrite(dst, buf + w, (size_t)(n - w), out + w);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        f->err = errno;
        f->syscall = "pwrite";
        ok = false;
        break;
      }
      w += m;
    }
    in += n;
    out += n;
    left -= n;
  }
  free(buf);
  return ok;
}

bool cn_copy_span(int src, int64_t offset, int64_t length, int dst, struct cn_copy_failure *f) {
  loff_t in = (loff_t)offset, out = 0;
  int64_t left = length;
  while (left > 0) {
    size_t want = (uint64_t)left < COPY_STEP ? (size_t)left : COPY_STEP;
    ssize_t n = copy_file_range(src, &in, dst, &out, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) return copy_by_hand(src, dst, (off_t)in, (off_t)out, left, f);
      f->err = errno;
      f->syscall = "copy_file_range";
      return false;
    }
    if (n == 0) {
      f->err = ENODATA;
      f->syscall = "copy_file_range";
      f->short_read = true;
      return false;
    }
    left -= n;
  }
  return true;
}

static void copy_execute(napi_env env, void *data) {
  (void)env;
  struct copy_job *j = data;
  cn_copy_span(j->src, j->offset, j->length, j->dst, &j->f);
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  struct copy_job *j = data;
  if (status != napi_ok) cn_reject_errno(env, j->deferred, ECANCELED, "copyFileRange", NULL, NULL);
  else if (j->f.err != 0) cn_reject_errno(env, j->deferred, j->f.err, j->f.syscall, NULL, j->f.short_read ? "the file ended early" : NULL);
  else napi_resolve_deferred(env, j->deferred, cn_undefined(env));
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_copy_file_range(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 4, argv, NULL)) return NULL;
  int32_t src, dst;
  int64_t offset, length;
  if (!cn_get_int32(env, argv[0], "srcFd", &src) || !cn_get_int64(env, argv[1], "srcOffset", &offset) || !cn_get_int64(env, argv[2], "length", &length) ||
      !cn_get_int32(env, argv[3], "dstFd", &dst))
    return NULL;
  if (src < 0 || dst < 0 || offset < 0 || length < 0) return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "fds, offset and length must not be negative");
  struct copy_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->src = src;
  j->dst = dst;
  j->offset = offset;
  j->length = length;
  napi_value promise = cn_queue_promise(env, "cairn:copyFileRange", copy_execute, copy_complete, j, &j->deferred, &j->work);
  if (promise == NULL) free(j);
  return promise;
}

struct prefetch_job {
  napi_async_work work;
  napi_deferred deferred;
  int dirfd;
  uint32_t n;
  char **names;
  int64_t *lengths;
};

static void free_prefetch(napi_env env, struct prefetch_job *j) {
  if (j->names != NULL)
    for (uint32_t i = 0; i < j->n; i++) free(j->names[i]);
  free(j->names);
  free(j->lengths);
  if (j->work != NULL) napi_delete_async_work(env, j->work);
  free(j);
}

static void prefetch_execute(napi_env env, void *data) {
  (void)env;
  struct prefetch_job *j = data;
  /* only regular files beneath dirfd, reached without a symlink: nothing else is ever opened */
  struct open_how how = {.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
  for (uint32_t i = 0; i < j->n; i++) {
    struct stat st;
    /* a hint: the reader of the file reports what is wrong with it */
    if (fstatat(j->dirfd, j->names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    int fd = (int)syscall(SYS_openat2, j->dirfd, j->names[i], &how, sizeof how);
    if (fd < 0) continue;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) (void)posix_fadvise(fd, 0, (off_t)j->lengths[i], POSIX_FADV_WILLNEED);
    close(fd);
  }
}

static void prefetch_complete(napi_env env, napi_status status, void *data) {
  struct prefetch_job *j = data;
  if (status != napi_ok) cn_reject_errno(env, j->deferred, ECANCELED, "prefetchAt", NULL, NULL);
  else napi_resolve_deferred(env, j->deferred, cn_undefined(env));
  free_prefetch(env, j);
}

static napi_value js_prefetch_at(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  int32_t dirfd;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd)) return NULL;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok) return NULL;
  if (!is_array || napi_get_array_length(env, argv[1], &n) != napi_ok) return cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"names\" argument must be an array");
  void *ldata;
  size_t llen;
  if (!cn_get_typed(env, argv[2], napi_float64_array, n, "lengths", &ldata, &llen)) return NULL;
  struct prefetch_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->dirfd = dirfd;
  if (n > 0 && ((j->names = calloc(n, sizeof *j->names)) == NULL || (j->lengths = calloc(n, sizeof *j->lengths)) == NULL)) {
    free_prefetch(env, j);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  for (uint32_t i = 0; i < n; i++) {
    j->n = i + 1; /* free_prefetch frees what was filled so far */
    napi_value v;
    double len = ((const double *)ldata)[i];
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || !cn_get_path(env, v, "name", false, &j->names[i])) {
      free_prefetch(env, j);
      return NULL;
    }
    if (!(len >= 0 && len <= 9007199254740991.0)) {
      free_prefetch(env, j);
      return cn_throw_type(env, "ERR_OUT_OF_RANGE", "lengths[%u] must be a safe integer >= 0", i);
    }
    j->lengths[i] = (int64_t)len;
  }
  j->n = n;
  napi_value promise = cn_queue_promise(env, "cairn:prefetchAt", prefetch_execute, prefetch_complete, j, &j->deferred, &j->work);
  if (promise == NULL) free_prefetch(env, j);
  return promise;
}

bool cn_register_copy(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "copyFileRange", js_copy_file_range) && cn_export_fn(env, exports, "prefetchAt", js_prefetch_at);
}
