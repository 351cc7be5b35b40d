/*
 * cairn_native: hashing on libuv's thread pool.
 *
 * Node's crypto hashes on the calling (main) thread. Every byte of a layer is hashed
 * once or twice (its digest, its diffID) while the main thread also parses the tar:
 * here the hashing runs on a thread of the pool instead, beside the parsing.
 *
 *   hashNew(algorithm) -> handle            'sha256', 'sha384' or 'sha512'
 *   hashUpdate(handle, pieces) -> Promise   pieces: an array of Uint8Array chunks and file
 *                                           spans [fd, offset, length, close?], hashed in order
 *                                           on a pool thread (a span read there with pread: its
 *                                           bytes never cross into JavaScript; with `close`, its
 *                                           fd is closed there once the update is done, read or
 *                                           not); the chunks are referenced (not copied) until
 *                                           it settles and must not change meanwhile, nor may a
 *                                           span's file
 *   hashDigest(handle) -> string            the lowercase hex digest; the handle is spent
 *   crc32Chunk(chunk) -> Promise<number>    the CRC-32 (zlib's) of one chunk, on a pool thread;
 *                                           the chunk is referenced until it settles
 *   crc32Combine(crc1, crc2, len2) -> number the CRC-32 of two pieces from theirs (zlib's
 *                                           crc32_combine): chunks checked in parallel, joined
 *
 * A span whose file ends before offset + length fails with ENODATA ("the file ended early");
 * the error's `piece` is the index of the piece that failed.
 *
 * One update at a time per handle: the caller waits for an update to settle before the
 * next (or the digest). OpenSSL and zlib are the ones Node itself is linked with (their
 * symbols are exported by the node binary, their headers ship with Node's).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#define MAX_CHUNKS 256

struct hasher {
  EVP_MD_CTX *ctx;
  bool busy;   /* an update is in flight */
  bool spent;  /* the digest was taken */
};

/* Bytes in memory (fd < 0), or a span of an open file. */
struct piece {
  const uint8_t *data;
  size_t len;
  int fd;
  int64_t offset;
  int64_t length;
  bool close_after; /* the span's fd is closed once the job is done */
};

struct update_job {
  napi_async_work work;
  napi_deferred deferred;
  struct hasher *h;
  napi_ref handle_ref;
  napi_ref chunks_ref;
  size_t count;
  struct piece p[MAX_CHUNKS];
  int err;               /* errno of the failing call, 0 when it succeeded */
  const char *syscall;
  bool short_read;
  size_t failed_at;      /* the piece that failed */
};

static void hasher_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct hasher *h = data;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

static bool get_hasher(napi_env env, napi_value v, struct hasher **out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"handle\" argument must be a hasher from hashNew()");
    return false;
  }
  void *p;
  if (napi_get_value_external(env, v, &p) != napi_ok) return false;
  *out = p;
  return true;
}

static napi_value js_hash_new(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  char alg[16];
  size_t n;
  if (napi_get_value_string_utf8(env, argv[0], alg, sizeof alg, &n) != napi_ok) {
    return cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"algorithm\" argument must be a string");
  }
  const EVP_MD *md = strcmp(alg, "sha256") == 0 ? EVP_sha256() : strcmp(alg, "sha384") == 0 ? EVP_sha384() : strcmp(alg, "sha512") == 0 ? EVP_sha512() : NULL;
  if (md == NULL) return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "unsupported hash algorithm '%s'", alg);
  struct hasher *h = calloc(1, sizeof *h);
  if (h == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
    EVP_MD_CTX_free(h->ctx);
    free(h);
    return cn_throw_errno(env, ENOMEM, "EVP_DigestInit_ex", NULL, NULL, NULL);
  }
  napi_value ext;
  if (napi_create_external(env, h, hasher_finalize, NULL, &ext) != napi_ok) {
    EVP_MD_CTX_free(h->ctx);
    free(h);
    return NULL;
  }
  return ext;
}

#define FILE_CHUNK (1 << 20)

/* Hash `length` bytes of fd from `offset` through buf (`cap` bytes). */
static void hash_span(struct update_job *j, const struct piece *p, uint8_t *buf, size_t cap) {
  int64_t pos = p->offset, left = p->length;
  while (left > 0) {
    size_t want = left < (int64_t)cap ? (size_t)left : cap;
    ssize_t n = pread(p->fd, buf, want, (off_t)pos);
    if (n < 0) {
      if (errno == EINTR) continue;
      j->err = errno;
      j->syscall = "pread";
      return;
    }
    if (n == 0) {
      j->err = ENODATA;
      j->syscall = "pread";
      j->short_read = true;
      return;
    }
    if (EVP_DigestUpdate(j->h->ctx, buf, (size_t)n) != 1) {
      j->err = EIO;
      j->syscall = "EVP_DigestUpdate";
      return;
    }
    pos += n;
    left -= n;
  }
}

static void update_execute(napi_env env, void *data) {
  (void)env;
  struct update_job *j = data;
  /* one buffer for the job's spans: as big as the biggest (small ones come from malloc's arena, reused) */
  size_t cap = 0;
  for (size_t i = 0; i < j->count; i++)
    if (j->p[i].fd >= 0 && j->p[i].length > (int64_t)cap) cap = j->p[i].length < FILE_CHUNK ? (size_t)j->p[i].length : FILE_CHUNK;
  uint8_t *buf = NULL;
  for (size_t i = 0; i < j->count && j->err == 0; i++) {
    const struct piece *p = &j->p[i];
    if (p->fd < 0) {
      if (EVP_DigestUpdate(j->h->ctx, p->data, p->len) != 1) {
        j->err = EIO;
        j->syscall = "EVP_DigestUpdate";
      }
      continue;
    }
    if (p->length == 0) continue;
    if (buf == NULL && (buf = malloc(cap)) == NULL) {
      j->err = ENOMEM;
      j->syscall = "malloc";
      break;
    }
    hash_span(j, p, buf, cap);
    if (j->err != 0) j->failed_at = i;
  }
  free(buf);
  /* every fd handed over to be closed is closed, read or not */
  for (size_t i = 0; i < j->count; i++)
    if (j->p[i].fd >= 0 && j->p[i].close_after) close(j->p[i].fd);
}

static void update_complete(napi_env env, napi_status status, void *data) {
  struct update_job *j = data;
  j->h->busy = false;
  if (status != napi_ok)
    for (size_t i = 0; i < j->count; i++) /* the work never ran: what it was to close is closed here */
      if (j->p[i].fd >= 0 && j->p[i].close_after) close(j->p[i].fd);
  if (status != napi_ok) cn_reject_errno(env, j->deferred, ECANCELED, "hashUpdate", NULL, NULL);
  else if (j->err != 0) {
    /* the error says which piece failed (`piece`), for the caller's message */
    cn_throw_errno(env, j->err, j->syscall, NULL, NULL, j->short_read ? "the file ended early" : NULL);
    napi_value e, at;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) {
      if (napi_create_uint32(env, (uint32_t)j->failed_at, &at) == napi_ok) napi_set_named_property(env, e, "piece", at);
      napi_reject_deferred(env, j->deferred, e);
    }
  } else napi_resolve_deferred(env, j->deferred, cn_undefined(env));
  napi_delete_reference(env, j->chunks_ref);
  napi_delete_reference(env, j->handle_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

/* A span [fd, offset, length] or [fd, offset, length, close]: the numbers checked. */
static bool get_span_piece(napi_env env, napi_value v, struct piece *p) {
  napi_value f[4];
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok || (n != 3 && n != 4)) {
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "a file span must be [fd, offset, length] or [fd, offset, length, close]");
    return false;
  }
  for (uint32_t k = 0; k < n; k++)
    if (napi_get_element(env, v, k, &f[k]) != napi_ok) return false;
  p->close_after = false;
  if (n == 4 && !cn_get_bool(env, f[3], "close", &p->close_after)) return false;
  int32_t fd;
  if (!cn_get_int32(env, f[0], "fd", &fd) || !cn_get_int64(env, f[1], "offset", &p->offset) || !cn_get_int64(env, f[2], "length", &p->length)) return false;
  if (fd < 0 || p->offset < 0 || p->length < 0) {
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "fd, offset and length must not be negative");
    return false;
  }
  p->fd = fd;
  return true;
}

static napi_value js_hash_update(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  struct hasher *h;
  if (!get_hasher(env, argv[0], &h)) return NULL;
  if (h->busy || h->spent) return cn_throw_type(env, "ERR_INVALID_STATE", h->spent ? "the hasher's digest was taken" : "an update of this hasher is in flight");
  bool is_array;
  uint32_t count;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    return cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"pieces\" argument must be an array of Uint8Array and [fd, offset, length]");
  }
  if (count > MAX_CHUNKS) return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "at most %d pieces per update", MAX_CHUNKS);
  struct update_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->h = h;
  j->count = count;
  for (uint32_t i = 0; i < count; i++) {
    napi_value c;
    const void *p = NULL;
    bool span = false;
    j->p[i].fd = -1;
    if (napi_get_element(env, argv[1], i, &c) != napi_ok || napi_is_array(env, c, &span) != napi_ok ||
        !(span ? get_span_piece(env, c, &j->p[i]) : cn_get_bytes(env, c, "chunk", &p, &j->p[i].len))) {
      free(j);
      return NULL;
    }
    j->p[i].data = p;
  }
  if (napi_create_reference(env, argv[0], 1, &j->handle_ref) != napi_ok) {
    free(j);
    return NULL;
  }
  if (napi_create_reference(env, argv[1], 1, &j->chunks_ref) != napi_ok) {
    napi_delete_reference(env, j->handle_ref);
    free(j);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:hashUpdate", update_execute, update_complete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    napi_delete_reference(env, j->chunks_ref);
    napi_delete_reference(env, j->handle_ref);
    free(j);
    return NULL;
  }
  h->busy = true;
  return promise;
}

static napi_value js_hash_digest(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  struct hasher *h;
  if (!get_hasher(env, argv[0], &h)) return NULL;
  if (h->busy || h->spent) return cn_throw_type(env, "ERR_INVALID_STATE", h->spent ? "the hasher's digest was taken" : "an update of this hasher is in flight");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1) return cn_throw_errno(env, EIO, "EVP_DigestFinal_ex", NULL, NULL, NULL);
  h->spent = true;
  static const char hex[] = "0123456789abcdef";
  char out[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  napi_value s;
  if (napi_create_string_latin1(env, out, 2 * n, &s) != napi_ok) return NULL;
  return s;
}

struct crc_job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref chunk_ref;
  const uint8_t *data;
  size_t len;
  uint32_t crc;
};

static void crc_execute(napi_env env, void *data) {
  (void)env;
  struct crc_job *j = data;
  j->crc = (uint32_t)crc32_z(0, j->data, j->len);
}

static void crc_complete(napi_env env, napi_status status, void *data) {
  struct crc_job *j = data;
  if (status == napi_ok) {
    napi_value v;
    if (napi_create_uint32(env, j->crc, &v) == napi_ok) napi_resolve_deferred(env, j->deferred, v);
  } else {
    cn_reject_errno(env, j->deferred, ECANCELED, "crc32", NULL, NULL);
  }
  napi_delete_reference(env, j->chunk_ref);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_crc32_chunk(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  const void *p;
  size_t len;
  if (!cn_get_bytes(env, argv[0], "chunk", &p, &len)) return NULL;
  struct crc_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->data = p;
  j->len = len;
  if (napi_create_reference(env, argv[0], 1, &j->chunk_ref) != napi_ok) {
    free(j);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:crc32Chunk", crc_execute, crc_complete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    napi_delete_reference(env, j->chunk_ref);
    free(j);
  }
  return promise;
}

static napi_value js_crc32_combine(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  uint32_t a, b;
  int64_t len2;
  if (!cn_get_uint32(env, argv[0], "crc1", &a) || !cn_get_uint32(env, argv[1], "crc2", &b) || !cn_get_int64(env, argv[2], "len2", &len2)) return NULL;
  if (len2 < 0) return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"len2\" argument must not be negative");
  napi_value v;
  if (napi_create_uint32(env, (uint32_t)crc32_combine64(a, b, (z_off64_t)len2), &v) != napi_ok) return NULL;
  return v;
}

bool cn_register_hash(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "hashNew", js_hash_new) && cn_export_fn(env, exports, "hashUpdate", js_hash_update) &&
         cn_export_fn(env, exports, "hashDigest", js_hash_digest) && cn_export_fn(env, exports, "crc32Chunk", js_crc32_chunk) &&
         cn_export_fn(env, exports, "crc32Combine", js_crc32_combine);
}
