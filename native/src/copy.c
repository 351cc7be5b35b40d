/*
 * cairn_native: copying a span of one open file into another, in the kernel.
 *
 *   copyFileRange(srcFd, srcOffset, length, dstFd) -> Promise
 *       copy `length` bytes of srcFd from `srcOffset` to the start of dstFd, on a thread of
 *       libuv's pool: copy_file_range(2), which moves the bytes page cache to page cache (or
 *       shares the blocks where the file system can) without copying them through user
 *       space; where the kernel cannot (another file system, an old kernel) pread/pwrite.
 *
 * The applier writes the body of a big file this way when the layer is a span of an
 * uncompressed archive file on disk: the bytes are hashed from the same file by hashFile.
 * A source that ends before srcOffset + length fails with ENODATA ("the file ended early").
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define COPY_CHUNK (1 << 20)
#define COPY_STEP ((size_t)1 << 30)

struct copy_job {
  napi_async_work work;
  napi_deferred deferred;
  int src, dst;
  int64_t offset, length;
  int err;
  const char *syscall;
  bool short_read;
};

/* pread/pwrite from *in to *out for `left` bytes. */
static void copy_by_hand(struct copy_job *j, off_t in, off_t out, int64_t left) {
  uint8_t *buf = malloc(COPY_CHUNK);
  if (buf == NULL) {
    j->err = ENOMEM;
    j->syscall = "malloc";
    return;
  }
  while (left > 0) {
    size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
    ssize_t n = pread(j->src, buf, want, in);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      j->err = n < 0 ? errno : ENODATA;
      j->short_read = n == 0;
      j->syscall = "pread";
      break;
    }
    for (ssize_t w = 0; w < n;) {
      ssize_t m = pwrite(j->dst, buf + w, (size_t)(n - w), out + w);
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) {
        j->err = errno;
        j->syscall = "pwrite";
        free(buf);
        return;
      }
      w += m;
    }
    in += n;
    out += n;
    left -= n;
  }
  free(buf);
}

static void copy_execute(napi_env env, void *data) {
  (void)env;
  struct copy_job *j = data;
  loff_t in = (loff_t)j->offset, out = 0;
  int64_t left = j->length;
  while (left > 0) {
    size_t want = (uint64_t)left < COPY_STEP ? (size_t)left : COPY_STEP;
    ssize_t n = copy_file_range(j->src, &in, j->dst, &out, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        copy_by_hand(j, (off_t)in, (off_t)out, left);
        return;
      }
      j->err = errno;
      j->syscall = "copy_file_range";
      return;
    }
    if (n == 0) {
      j->err = ENODATA;
      j->syscall = "copy_file_range";
      j->short_read = true;
      return;
    }
    left -= n;
  }
}

static void copy_complete(napi_env env, napi_status status, void *data) {
  struct copy_job *j = data;
  if (status != napi_ok) cn_reject_errno(env, j->deferred, ECANCELED, "copyFileRange", NULL, NULL);
  else if (j->err != 0) cn_reject_errno(env, j->deferred, j->err, j->syscall, NULL, j->short_read ? "the file ended early" : NULL);
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

bool cn_register_copy(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "copyFileRange", js_copy_file_range);
}
