/*
 * cairn_native: argument conversion and Node-style errno errors (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cn_args(napi_env env, napi_callback_info info, size_t required, napi_value *argv, size_t *argc) {
  size_t n = CAIRN_MAX_ARGS;
  if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok) return false;
  if (n < required) {
    cn_throw_type(env, "ERR_MISSING_ARGS", "expected %zu arguments, got %zu", required, n);
    return false;
  }
  if (argc != NULL) *argc = n;
  return true;
}

bool cn_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_null || t == napi_undefined;
}

static bool is_integer(double d) {
  return d == d && d >= -9007199254740991.0 && d <= 9007199254740991.0 && (double)(int64_t)d == d;
}

bool cn_get_int64(napi_env env, napi_value v, const char *name, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_bigint) {
    bool lossless = false;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) != napi_ok) return false;
    if (!lossless) {
      cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"%s\" is out of range", name);
      return false;
    }
    return true;
  }
  if (t != napi_number) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"%s\" argument must be a number or bigint", name);
    return false;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!is_integer(d)) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"%s\" must be a safe integer", name);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

bool cn_get_int32(napi_env env, napi_value v, const char *name, int32_t *out) {
  int64_t x;
  if (!cn_get_int64(env, v, name, &x)) return false;
  if (x < INT32_MIN || x > INT32_MAX) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"%s\" is out of the int32 range", name);
    return false;
  }
  *out = (int32_t)x;
  return true;
}

bool cn_get_uint32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  int64_t x;
  if (!cn_get_int64(env, v, name, &x)) return false;
  if (x < 0 || x > (int64_t)UINT32_MAX) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"%s\" is out of the uint32 range", name);
    return false;
  }
  *out = (uint32_t)x;
  return true;
}

bool cn_get_bool(napi_env env, napi_value v, const char *name, bool *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) {
    *out = false;
    return true;
  }
  if (t != napi_boolean) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"%s\" argument must be a boolean", name);
    return false;
  }
  return napi_get_value_bool(env, v, out) == napi_ok;
}

bool cn_get_bytes(napi_env env, napi_value v, const char *name, const void **data, size_t *len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok) return false;
  if (is_typed) {
    napi_typedarray_type type;
    size_t length;
    void *p;
    if (napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok) return false;
    if (type != napi_uint8_array) {
      cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"%s\" argument must be a Buffer or Uint8Array", name);
      return false;
    }
    *data = p;
    *len = length;
    return true;
  }
  cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"%s\" argument must be a Buffer or Uint8Array", name);
  return false;
}

bool cn_get_typed(napi_env env, napi_value v, napi_typedarray_type want, size_t min, const char *name, void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok) return false;
  if (!is || napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want || *len < min) {
    const char *what = want == napi_float64_array ? "Float64Array" : want == napi_int32_array ? "Int32Array" : "typed array";
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"%s\" argument must be a %s of %zu numbers", name, what, min);
    return false;
  }
  return true;
}

bool cn_get_path(napi_env env, napi_value v, const char *name, bool nullable, char **out) {
  *out = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (nullable && (t == napi_null || t == napi_undefined)) return true;
  if (t == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return false;
    char *buf = malloc(len + 1);
    if (buf == NULL) {
      cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
      return false;
    }
    size_t got = 0;
    if (napi_get_value_string_utf8(env, v, buf, len + 1, &got) != napi_ok) {
      free(buf);
      return false;
    }
    if (strlen(buf) != got) {
      free(buf);
      cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"%s\" argument must not contain null bytes", name);
      return false;
    }
    *out = buf;
    return true;
  }
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok) return false;
  if (!is_typed) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"%s\" argument must be a string or Buffer", name);
    return false;
  }
  const void *data;
  size_t len;
  if (!cn_get_bytes(env, v, name, &data, &len)) return false;
  if (len > 0 && memchr(data, 0, len) != NULL) {
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"%s\" argument must not contain null bytes", name);
    return false;
  }
  char *buf = malloc(len + 1);
  if (buf == NULL) {
    cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return false;
  }
  if (len > 0) memcpy(buf, data, len);
  buf[len] = '\0';
  *out = buf;
  return true;
}

napi_value cn_throw_type(napi_env env, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  napi_throw_type_error(env, code, msg);
  return NULL;
}

const char *cn_errno_name(int err) {
  switch (err) {
#define E(name) case name: return #name;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF) E(ECHILD)
    E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV)
    E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC)
    E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK)
    E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM) E(ENODATA) E(ETIME) E(ENOLINK) E(EPROTO)
    E(EOVERFLOW) E(EBADFD) E(EILSEQ) E(EUSERS) E(ENOTSOCK) E(ESTALE) E(EDQUOT) E(ECANCELED)
    E(EOWNERDEAD) E(ENOTRECOVERABLE) E(ENOMEDIUM) E(EMEDIUMTYPE) E(ENOKEY) E(EKEYEXPIRED)
    E(EKEYREVOKED) E(EKEYREJECTED) E(EUCLEAN) E(ENOTCONN) E(ECONNREFUSED) E(ETIMEDOUT)
#undef E
    /* Node (libuv) calls EOPNOTSUPP (95 on Linux, == ENOTSUP) "ENOTSUP"; do the same. */
    case EOPNOTSUPP: return "ENOTSUP";
    default: return NULL;
  }
}

napi_value cn_throw_errno(napi_env env, int err, const char *syscall, const char *path,
                          const char *dest, const char *detail) {
  const char *name = cn_errno_name(err);
  char unknown[32];
  if (name == NULL) {
    snprintf(unknown, sizeof unknown, "Unknown system error %d", err);
    name = unknown;
  }
  /* Node's (libuv's) descriptions start in lower case: "no such file or directory". */
  char desc[256];
  snprintf(desc, sizeof desc, "%s", strerror(err));
  if (desc[0] >= 'A' && desc[0] <= 'Z' && !(desc[1] >= 'A' && desc[1] <= 'Z')) desc[0] = (char)(desc[0] - 'A' + 'a');
  /* "CODE: description, syscall 'path' -> 'dest' (detail)" */
  int need = snprintf(NULL, 0, "%s: %s, %s%s%s%s%s%s%s%s%s", name, desc, syscall,
                      path ? " '" : "", path ? path : "", path ? "'" : "",
                      dest ? " -> '" : "", dest ? dest : "", dest ? "'" : "",
                      detail ? ": " : "", detail ? detail : "");
  char *msg = need >= 0 ? malloc((size_t)need + 1) : NULL;
  if (msg == NULL) {
    napi_throw_error(env, name, desc);
    return NULL;
  }
  snprintf(msg, (size_t)need + 1, "%s: %s, %s%s%s%s%s%s%s%s%s", name, desc, syscall,
           path ? " '" : "", path ? path : "", path ? "'" : "",
           dest ? " -> '" : "", dest ? dest : "", dest ? "'" : "",
           detail ? ": " : "", detail ? detail : "");
  napi_value msg_v, error;
  bool ok = napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v) == napi_ok &&
            napi_create_error(env, NULL, msg_v, &error) == napi_ok;
  free(msg);
  if (!ok) {
    napi_throw_error(env, name, desc);
    return NULL;
  }
  napi_value errno_v;
  ok = napi_create_int32(env, -err, &errno_v) == napi_ok &&
       cn_set_value(env, error, "errno", errno_v) &&
       cn_set_string(env, error, "code", name) &&
       cn_set_string(env, error, "syscall", syscall) &&
       (path == NULL || cn_set_string(env, error, "path", path)) &&
       (dest == NULL || cn_set_string(env, error, "dest", dest));
  if (!ok) return NULL; /* an exception from the failed property set is pending */
  napi_throw(env, error);
  return NULL;
}

napi_value cn_undefined(napi_env env) {
  napi_value v;
  if (napi_get_undefined(env, &v) != napi_ok) return NULL;
  return v;
}

napi_value cn_int32(napi_env env, int32_t x) {
  napi_value v;
  if (napi_create_int32(env, x, &v) != napi_ok) return NULL;
  return v;
}

napi_value cn_double(napi_env env, double x) {
  napi_value v;
  if (napi_create_double(env, x, &v) != napi_ok) return NULL;
  return v;
}

napi_value cn_bool(napi_env env, bool x) {
  napi_value v;
  if (napi_get_boolean(env, x, &v) != napi_ok) return NULL;
  return v;
}

bool cn_set_value(napi_env env, napi_value obj, const char *key, napi_value v) {
  return napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool cn_set_double(napi_env env, napi_value obj, const char *key, double x) {
  napi_value v;
  return napi_create_double(env, x, &v) == napi_ok && cn_set_value(env, obj, key, v);
}

bool cn_set_bigint_u64(napi_env env, napi_value obj, const char *key, uint64_t x) {
  napi_value v;
  return napi_create_bigint_uint64(env, x, &v) == napi_ok && cn_set_value(env, obj, key, v);
}

bool cn_set_bigint_i64(napi_env env, napi_value obj, const char *key, int64_t x) {
  napi_value v;
  return napi_create_bigint_int64(env, x, &v) == napi_ok && cn_set_value(env, obj, key, v);
}

bool cn_set_string(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok && cn_set_value(env, obj, key, v);
}

bool cn_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         cn_set_value(env, exports, name, fn);
}

napi_value cn_queue_promise(napi_env env, const char *resource, napi_async_execute_callback execute,
                            napi_async_complete_callback complete, void *data, napi_deferred *deferred,
                            napi_async_work *work) {
  napi_value promise, name;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, data, work) != napi_ok) {
    /* the promise is dropped unsettled: nothing refers to it yet */
    return NULL;
  }
  if (napi_queue_async_work(env, *work) != napi_ok) {
    napi_delete_async_work(env, *work);
    *work = NULL;
    return NULL;
  }
  return promise;
}

void cn_reject_errno(napi_env env, napi_deferred deferred, int err, const char *syscall, const char *path,
                     const char *detail) {
  cn_throw_errno(env, err, syscall, path, NULL, detail);
  napi_value e;
  if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_reject_deferred(env, deferred, e);
}
