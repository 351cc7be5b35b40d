/*
 * gzip through ISA-L's igzip (Debian's libisal): inflate ~4x and deflate (levels 1-3) ~10x
 * zlib's speed on this machine's CPUs, the two costs that set the time of a pull and of a push
 * that compresses. Node's zlib stays for deflate levels 4-9 and for zlib's own formats.
 *
 *   gunzipNew() -> handle                    a streaming gunzip of one or more gzip members
 *   gunzipRun(handle, input, output) -> Promise<[consumed, produced, state]>
 *       on a pool thread: inflate `input` into `output` until the input is used up or the
 *       output full. state: 0 inside a member (more input wanted), 1 at the end of a member
 *       (the stream may end here), 2 after a member's end, in trailing zero padding (ignored,
 *       as Node's zlib ignores it). A member that starts after another is read as part of the
 *       same stream (multi-member gzip). Corrupt data rejects with an Error whose message is
 *       zlib's wording ("incorrect data check", "invalid block type", ...) and code
 *       "Z_DATA_ERROR", so callers treat it as they treat node:zlib's.
 *   deflateBound(length) -> number            the output a piece of `length` bytes may need
 *   deflatePiece(piece, dictionary | null, level, last, output) -> Promise<number>
 *       on a pool thread, into `output` (deflateBound bytes at least; the bytes written are
 *       the result): raw deflate of one piece of a longer stream at level 1-3, primed with
 *       `dictionary` (the end of the piece before), ended with a sync flush (byte-aligned, not
 *       final) or, when `last`, with the final block: pieces joined in order are one deflate
 *       stream (compression/stream.ts's gzipPieces frames it). Level 0, and a piece whose first
 *       32 KiB do not compress (random data, compressed files), are stored blocks instead: the
 *       size deflate would give them, at the cost of a copy; so is a piece whose deflate
 *       would not fit the output.
 *
 * A handle's state is only touched by one call at a time: the caller awaits each run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/igzip_lib.h>

#include "common.h"

/* The JS values a job on the pool uses (its handle, input and output buffers), kept alive until
 * it completes: a reference each, all made or none (nullish values are skipped). */
#define MAX_HELD 3

struct held {
  napi_ref refs[MAX_HELD];
  int n;
};

static void release(napi_env env, struct held *h) {
  for (int i = 0; i < h->n; i++) napi_delete_reference(env, h->refs[i]);
  h->n = 0;
}

static bool hold(napi_env env, struct held *h, const napi_value *values, int count) {
  for (int i = 0; i < count; i++) {
    if (cn_is_nullish(env, values[i])) continue;
    if (napi_create_reference(env, values[i], 1, &h->refs[h->n]) != napi_ok) {
      release(env, h);
      return false;
    }
    h->n++;
  }
  return true;
}

/* ---- inflate ---------------------------------------------------------------------------- */

enum { AT_MEMBER = 0, MEMBER_END = 1, TRAILING = 2 };

struct gunzip {
  struct inflate_state state;
  int phase;
  bool busy;
};

static void gunzip_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void gunzip_start_member(struct gunzip *g) {
  isal_inflate_reset(&g->state);
  g->state.crc_flag = ISAL_GZIP;
  g->phase = AT_MEMBER;
}

static napi_value js_gunzip_new(napi_env env, napi_callback_info info) {
  (void)info;
  struct gunzip *g = calloc(1, sizeof *g);
  if (g == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  isal_inflate_init(&g->state);
  gunzip_start_member(g);
  napi_value handle;
  if (napi_create_external(env, g, gunzip_finalize, NULL, &handle) != napi_ok) {
    free(g);
    return NULL;
  }
  return handle;
}

struct gunzip_job {
  napi_async_work work;
  napi_deferred deferred;
  struct held held; /* the handle, the input and the output */
  struct gunzip *g;
  uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len;
  size_t consumed, produced;
  int error; /* an ISAL_* error code, 0 when none */
};

static const char *isal_message(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK: return "invalid block type";
    case ISAL_INVALID_SYMBOL: return "invalid code";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER: return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_NEED_DICT: return "need dictionary";
    default: return "corrupt deflate data";
  }
}

static void gunzip_execute(napi_env env, void *data) {
  (void)env;
  struct gunzip_job *j = data;
  struct gunzip *g = j->g;
  struct inflate_state *s = &g->state;
  uint8_t *in = j->in, *in_end = j->in + j->in_len;
  uint8_t *out = j->out, *out_end = j->out + j->out_len;
  for (;;) {
    if (g->phase == TRAILING) {
      in = in_end; /* padding after the last member: ignored */
      break;
    }
    if (g->phase == MEMBER_END) {
      if (in == in_end) break;
      /* Node's rule: a zero byte after a member starts padding; anything else, another member */
      if (*in == 0) {
        g->phase = TRAILING;
        continue;
      }
      gunzip_start_member(g);
    }
    s->next_in = in;
    s->avail_in = (uint32_t)(in_end - in);
    s->next_out = out;
    s->avail_out = (uint32_t)(out_end - out);
    int r = isal_inflate(s);
    in = s->next_in;
    out = s->next_out;
    if (r < 0 || r == ISAL_NEED_DICT) {
      j->error = r;
      break;
    }
    if (s->block_state == ISAL_BLOCK_FINISH) {
      g->phase = MEMBER_END;
      continue;
    }
    /* the input is used up, or the output full (the rest of the input waits for the next run) */
    break;
  }
  j->consumed = (size_t)(in - j->in);
  j->produced = (size_t)(out - j->out);
}

static void gunzip_complete(napi_env env, napi_status status, void *data) {
  struct gunzip_job *j = data;
  j->g->busy = false;
  if (status != napi_ok) {
    cn_reject_errno(env, j->deferred, ECANCELED, "gunzip", NULL, NULL);
  } else if (j->error != 0) {
    napi_value msg, code, err;
    if (napi_create_string_utf8(env, isal_message(j->error), NAPI_AUTO_LENGTH, &msg) == napi_ok &&
        napi_create_string_utf8(env, "Z_DATA_ERROR", NAPI_AUTO_LENGTH, &code) == napi_ok &&
        napi_create_error(env, code, msg, &err) == napi_ok) {
      napi_reject_deferred(env, j->deferred, err);
    }
  } else {
    napi_value arr, v;
    if (napi_create_array_with_length(env, 3, &arr) == napi_ok) {
      bool ok = napi_create_double(env, (double)j->consumed, &v) == napi_ok && napi_set_element(env, arr, 0, v) == napi_ok &&
                napi_create_double(env, (double)j->produced, &v) == napi_ok && napi_set_element(env, arr, 1, v) == napi_ok &&
                napi_create_int32(env, j->g->phase, &v) == napi_ok && napi_set_element(env, arr, 2, v) == napi_ok;
      if (ok) napi_resolve_deferred(env, j->deferred, arr);
    }
  }
  release(env, &j->held);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_gunzip_run(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  napi_valuetype t;
  void *gp = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &gp) != napi_ok || gp == NULL) {
    return cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"handle\" argument must be a gunzip handle");
  }
  struct gunzip *g = gp;
  if (g->busy) return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "gunzipRun: the handle is already running");
  const void *in, *out;
  size_t in_len, out_len;
  if (!cn_get_bytes(env, argv[1], "input", &in, &in_len) || !cn_get_bytes(env, argv[2], "output", &out, &out_len)) return NULL;
  if (in_len > UINT32_MAX || out_len > UINT32_MAX || out_len == 0) {
    return cn_throw_type(env, "ERR_OUT_OF_RANGE", "gunzipRun: input and output must be 1 byte to 4 GiB");
  }
  struct gunzip_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->g = g;
  j->in = (uint8_t *)in;
  j->in_len = in_len;
  j->out = (uint8_t *)out;
  j->out_len = out_len;
  if (!hold(env, &j->held, argv, 3)) {
    free(j);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:gunzipRun", gunzip_execute, gunzip_complete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    release(env, &j->held);
    free(j);
    return NULL;
  }
  g->busy = true;
  return promise;
}

/* ---- deflate ---------------------------------------------------------------------------- */

struct deflate_job {
  napi_async_work work;
  napi_deferred deferred;
  struct held held; /* the piece, the dictionary and the output */
  uint8_t *in;
  size_t in_len;
  uint8_t *dict;
  size_t dict_len;
  int level;
  bool last;
  uint8_t *out; /* the caller's buffer, out_cap bytes (at least deflateBound's) */
  size_t out_cap;
  size_t out_len;
  int error; /* errno or an ISA-L code */
};

static const uint32_t LEVEL_BUF[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};

/* Bytes of a piece test-compressed to tell whether it compresses at all. */
#define SAMPLE (32 << 10)
/* Compressed to at least this fraction of itself, a sample is taken as incompressible. */
#define INCOMPRESSIBLE 0.97
#define STORED_MAX 65535

/* Whether the start of a piece does not compress (random data, compressed files): a fast
 * stateless level-1 deflate of at most SAMPLE bytes. */
static bool incompressible(const uint8_t *in, size_t len) {
  if (len < 4096) return false;
  size_t n = len < SAMPLE ? len : SAMPLE;
  size_t cap = n + 1024;
  uint8_t *out = malloc(cap);
  if (out == NULL) return false;
  struct isal_zstream z;
  isal_deflate_stateless_init(&z);
  z.level = 0;
  z.next_in = (uint8_t *)in;
  z.avail_in = (uint32_t)n;
  z.next_out = out;
  z.avail_out = (uint32_t)cap;
  z.end_of_stream = 1;
  int r = isal_deflate_stateless(&z);
  size_t made = cap - z.avail_out;
  free(out);
  return r != COMP_OK || (double)made >= (double)n * INCOMPRESSIBLE;
}

/* The piece as stored blocks (byte-aligned before and after) into `out`: BFINAL only on the last
 * block of the last piece; an empty last piece is one empty final block, an empty other piece
 * nothing. Returns the bytes written (at most stored_bound(len)). */
static size_t stored_bound(size_t len) { return len + 5 * ((len + STORED_MAX - 1) / STORED_MAX) + 5; }

static size_t stored_blocks(const uint8_t *in, size_t len, bool last, uint8_t *out) {
  size_t blocks = (len + STORED_MAX - 1) / STORED_MAX;
  if (blocks == 0 && last) blocks = 1;
  uint8_t *o = out;
  size_t at = 0;
  for (size_t b = 0; b < blocks; b++) {
    size_t n = len - at < STORED_MAX ? len - at : STORED_MAX;
    *o++ = (last && b + 1 == blocks) ? 1 : 0;
    *o++ = (uint8_t)(n & 0xff);
    *o++ = (uint8_t)(n >> 8);
    *o++ = (uint8_t)(~n & 0xff);
    *o++ = (uint8_t)((~n >> 8) & 0xff);
    memcpy(o, in + at, n);
    o += n;
    at += n;
  }
  return (size_t)(o - out);
}

static void deflate_execute(napi_env env, void *data) {
  (void)env;
  struct deflate_job *j = data;
  if (j->level == 0 || incompressible(j->in, j->in_len)) {
    j->out_len = stored_blocks(j->in, j->in_len, j->last, j->out);
    return;
  }
  struct isal_zstream *z = malloc(sizeof *z);
  uint8_t *level_buf = malloc(LEVEL_BUF[j->level]);
  if (z == NULL || level_buf == NULL) {
    j->error = ENOMEM;
    goto done;
  }
  isal_deflate_init(z);
  z->level = (uint32_t)j->level;
  z->level_buf = level_buf;
  z->level_buf_size = LEVEL_BUF[j->level];
  z->gzip_flag = IGZIP_DEFLATE;
  z->flush = SYNC_FLUSH;
  z->end_of_stream = j->last ? 1 : 0;
  if (j->dict_len > 0) {
    int r = isal_deflate_set_dict(z, j->dict, (uint32_t)j->dict_len);
    if (r != COMP_OK) {
      j->error = r;
      goto done;
    }
  }
  z->next_in = j->in;
  z->avail_in = (uint32_t)j->in_len;
  z->next_out = j->out;
  z->avail_out = (uint32_t)j->out_cap;
  int r = isal_deflate(z);
  if (r != COMP_OK) {
    j->error = r;
    goto done;
  }
  bool flushed = z->avail_in == 0 && (j->last ? z->internal_state.state == ZSTATE_END : z->internal_state.state == ZSTATE_NEW_HDR);
  if (flushed) j->out_len = (size_t)(z->next_out - j->out);
  else j->out_len = stored_blocks(j->in, j->in_len, j->last, j->out); /* it did not fit: stored always does */
done:
  free(level_buf);
  free(z);
}

static void deflate_complete(napi_env env, napi_status status, void *data) {
  struct deflate_job *j = data;
  if (status != napi_ok) {
    cn_reject_errno(env, j->deferred, ECANCELED, "deflate", NULL, NULL);
  } else if (j->error == ENOMEM) {
    cn_reject_errno(env, j->deferred, ENOMEM, "deflate", NULL, NULL);
  } else if (j->error != 0) {
    char text[64];
    snprintf(text, sizeof text, "isal_deflate failed (%d)", j->error);
    cn_reject_errno(env, j->deferred, EIO, "deflate", NULL, text);
  } else {
    napi_value n;
    if (napi_create_double(env, (double)j->out_len, &n) == napi_ok) napi_resolve_deferred(env, j->deferred, n);
  }
  release(env, &j->held);
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value js_deflate_piece(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 5, argv, NULL)) return NULL;
  const void *in, *dict = NULL, *out;
  size_t in_len, dict_len = 0, out_cap;
  int32_t level;
  bool last;
  if (!cn_get_bytes(env, argv[0], "piece", &in, &in_len)) return NULL;
  if (!cn_is_nullish(env, argv[1]) && !cn_get_bytes(env, argv[1], "dictionary", &dict, &dict_len)) return NULL;
  if (!cn_get_int32(env, argv[2], "level", &level) || !cn_get_bool(env, argv[3], "last", &last)) return NULL;
  if (!cn_get_bytes(env, argv[4], "output", &out, &out_cap)) return NULL;
  if (level < 0 || level > ISAL_DEF_MAX_LEVEL) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "deflatePiece: level must be 0 to %d, got %d", ISAL_DEF_MAX_LEVEL, level);
  if (in_len > (UINT32_MAX >> 1) || dict_len > UINT32_MAX) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "deflatePiece: piece too large");
  if (out_cap < stored_bound(in_len) || out_cap > UINT32_MAX) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "deflatePiece: the output must hold at least %zu bytes for a piece of %zu", stored_bound(in_len), in_len);
  struct deflate_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->in = (uint8_t *)in;
  j->in_len = in_len;
  j->dict = (uint8_t *)dict;
  j->dict_len = dict_len;
  j->level = level;
  j->last = last;
  j->out = (uint8_t *)out;
  j->out_cap = out_cap;
  const napi_value keep[] = {argv[0], argv[1], argv[4]};
  if (!hold(env, &j->held, keep, 3)) {
    free(j);
    return NULL;
  }
  napi_value promise = cn_queue_promise(env, "cairn:deflatePiece", deflate_execute, deflate_complete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    release(env, &j->held);
    free(j);
  }
  return promise;
}

static napi_value js_deflate_bound(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int64_t len;
  if (!cn_get_int64(env, argv[0], "length", &len)) return NULL;
  if (len < 0 || len > (int64_t)(UINT32_MAX >> 1)) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "deflateBound: length out of range");
  return cn_double(env, (double)stored_bound((size_t)len));
}

bool cn_register_gzip(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "gunzipNew", js_gunzip_new) && cn_export_fn(env, exports, "gunzipRun", js_gunzip_run) &&
         cn_export_fn(env, exports, "deflatePiece", js_deflate_piece) && cn_export_fn(env, exports, "deflateBound", js_deflate_bound);
}
