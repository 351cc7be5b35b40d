/*
 * cairn_native: shared helpers for argument conversion and errno errors.
 *
 * Every exported function is synchronous. Failures of a system call are thrown
 * as JS Errors shaped like Node's fs errors: message "ENOENT: no such file or
 * directory, openat2 'path'", and properties code ("ENOENT"), errno (negative,
 * as Node does), syscall, and path/dest where the call had them. Bad arguments
 * are thrown as TypeErrors with code ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE.
 */
#ifndef CAIRN_NATIVE_COMMON_H
#define CAIRN_NATIVE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

/* Maximum number of arguments any exported function takes. */
#define CAIRN_MAX_ARGS 8

/*
 * Fetch the call's arguments into argv (missing ones are undefined).
 * Returns false with a pending exception if fewer than `required` were given.
 */
bool cn_args(napi_env env, napi_callback_info info, size_t required, napi_value *argv, size_t *argc);

/* Number arguments. Each returns false with a pending TypeError on a bad value. */
bool cn_get_int32(napi_env env, napi_value v, const char *name, int32_t *out);
bool cn_get_uint32(napi_env env, napi_value v, const char *name, uint32_t *out);
/* An integer from a number (must be a safe integer) or a BigInt (must fit). */
bool cn_get_int64(napi_env env, napi_value v, const char *name, int64_t *out);
bool cn_get_bool(napi_env env, napi_value v, const char *name, bool *out);

/*
 * A path or name: a string (UTF-8) or a Buffer/Uint8Array (raw bytes, for names
 * that are not valid UTF-8). The result is a NUL-terminated heap copy that the
 * caller frees. A value containing a NUL byte is refused (as Node's fs does).
 * With `nullable`, null and undefined give *out = NULL and succeed.
 */
bool cn_get_path(napi_env env, napi_value v, const char *name, bool nullable, char **out);

/* Raw bytes of a Buffer/Uint8Array (not copied; valid during the call). */
bool cn_get_bytes(napi_env env, napi_value v, const char *name, const void **data, size_t *len);

/*
 * A typed array of the given type with at least `min` elements (the message says "of min numbers"):
 * its data and element count.
 * Throws ERR_INVALID_ARG_VALUE naming `name` otherwise.
 */
bool cn_get_typed(napi_env env, napi_value v, napi_typedarray_type want, size_t min, const char *name, void **data, size_t *len);

/* Whether v is null or undefined. */
bool cn_is_nullish(napi_env env, napi_value v);

/* Throw a TypeError with a Node-style code. Always returns NULL for `return cn_throw_type(...)`. */
napi_value cn_throw_type(napi_env env, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Throw the errno error `err` for `syscall`, with optional path, dest and an extra
 * detail appended to the message (e.g. the overlay driver's own log). Returns NULL.
 */
napi_value cn_throw_errno(napi_env env, int err, const char *syscall, const char *path,
                          const char *dest, const char *detail);

/* The errno's symbolic name ("ENOENT"), or NULL when not known. */
const char *cn_errno_name(int err);

/* Small value constructors that return NULL (with an exception pending) on failure. */
napi_value cn_undefined(napi_env env);
napi_value cn_int32(napi_env env, int32_t v);
napi_value cn_double(napi_env env, double v);
napi_value cn_bool(napi_env env, bool v);

/* Property setters on an object; return false on failure (exception pending). */
bool cn_set_value(napi_env env, napi_value obj, const char *key, napi_value v);
bool cn_set_double(napi_env env, napi_value obj, const char *key, double v);
bool cn_set_bigint_u64(napi_env env, napi_value obj, const char *key, uint64_t v);
bool cn_set_bigint_i64(napi_env env, napi_value obj, const char *key, int64_t v);
bool cn_set_string(napi_env env, napi_value obj, const char *key, const char *v);

/*
 * Work on libuv's pool that settles a promise: creates the promise and queues `execute` (on a
 * pool thread) then `complete` (on the main thread, which settles *deferred and frees `data`).
 * Returns the promise, or NULL with nothing queued (the caller frees `data`) when N-API fails.
 */
napi_value cn_queue_promise(napi_env env, const char *resource, napi_async_execute_callback execute,
                            napi_async_complete_callback complete, void *data, napi_deferred *deferred,
                            napi_async_work *work);

/* Reject `deferred` with the errno error cn_throw_errno would throw. */
void cn_reject_errno(napi_env env, napi_deferred deferred, int err, const char *syscall, const char *path,
                     const char *detail);

/* Why cn_copy_span failed: errno, the call, and whether the source ended first (ENODATA). */
struct cn_copy_failure {
  int err;
  const char *syscall;
  bool short_read;
};

/*
 * Copy `length` bytes of `src` from `offset` to the start of `dst` (copy.c): copy_file_range,
 * pread/pwrite where the kernel cannot. False with *f filled when it fails.
 */
bool cn_copy_span(int src, int64_t offset, int64_t length, int dst, struct cn_copy_failure *f);

/* Register a function on the exports object. */
bool cn_export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb);

/* Registration entry points of each source file. */
bool cn_register_at(napi_env env, napi_value exports);
bool cn_register_xattr(napi_env env, napi_value exports);
bool cn_register_mount(napi_env env, napi_value exports);
bool cn_register_tree(napi_env env, napi_value exports);
bool cn_register_apply(napi_env env, napi_value exports);
bool cn_register_hash(napi_env env, napi_value exports);
bool cn_register_copy(napi_env env, napi_value exports);
bool cn_register_upper(napi_env env, napi_value exports);
bool cn_register_scan(napi_env env, napi_value exports);
bool cn_register_socket(napi_env env, napi_value exports);
bool cn_register_process(napi_env env, napi_value exports);
bool cn_register_external(napi_env env, napi_value exports);
bool cn_register_gzip(napi_env env, napi_value exports);

#endif
