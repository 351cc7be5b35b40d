/*
 * cairn_native: a file read into memory that V8 then uses where it lies, for the CLI's bundle and
 * its code cache, which every command reads before it does anything (bin/cairn.js).
 *
 * fs.readFileSync reads a file into a Buffer and, as a string, copies it again into V8's heap;
 * a 1 MB bundle so costs ~1.3 ms of each start here (mostly first touches of new memory, one
 * page fault each on this VM).
 * Here the file is read once into a private anonymous mapping faulted in by one call
 * (MAP_POPULATE) and handed to V8 as an external string (Node-API's
 * node_api_create_external_string_latin1) or an external Buffer: nothing is copied again, and
 * the mapping is released when V8 collects the value. A copy, not a mapping of the file: a
 * file rewritten in place while a long command runs (a rebuild) can then neither change the
 * source V8 compiles lazily nor fault the process.
 *
 *   readExternalLatin1(path) -> string
 *       the file's bytes as a one-byte (latin1) string (its memory made read-only: V8 requires
 *       an external string never to change). The external string API exists from
 *       Node 20.4; looked up at run time, so that an older Node still loads this addon and gets
 *       a copied string instead.
 *   readExternalBytes(path) -> Buffer
 *       the file's bytes (writable: the Buffer's own copy).
 */
#include "common.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* node_api_create_external_string_latin1's signature (js_native_api.h, NAPI_EXPERIMENTAL in Node 20). */
typedef napi_status (*create_external_latin1_fn)(napi_env env, char *str, size_t length, napi_finalize finalize,
                                                 void *hint, napi_value *result, bool *copied);

struct region {
  void *base;
  size_t mapped; /* what munmap releases */
  size_t length; /* the bytes read */
};

static void release(napi_env env, void *data, void *hint) {
  struct region *r = hint;
  munmap(r->base, r->mapped);
  free(r);
}

/* Read `path` whole into a new region (then made read-only if asked); false with an exception pending on failure. */
static bool read_region(napi_env env, const char *path, bool read_only, struct region *out) {
  int fd;
  do {
    fd = open(path, O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    cn_throw_errno(env, errno, "open", path, NULL, NULL);
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    cn_throw_errno(env, err, "fstat", path, NULL, NULL);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    cn_throw_errno(env, S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "read", path, NULL, NULL);
    return false;
  }
  out->base = NULL;
  out->mapped = (size_t)st.st_size;
  out->length = 0;
  if (out->mapped == 0) {
    close(fd);
    return true;
  }
  void *p = mmap(NULL, out->mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    close(fd);
    cn_throw_errno(env, err, "mmap", path, NULL, NULL);
    return false;
  }
  /* the size fstat gave; a file that shrank meanwhile ends early (one that grew is cut there) */
  while (out->length < out->mapped) {
    ssize_t n = read(fd, (char *)p + out->length, out->mapped - out->length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      munmap(p, out->mapped);
      cn_throw_errno(env, err, "read", path, NULL, NULL);
      return false;
    }
    if (n == 0) break;
    out->length += (size_t)n;
  }
  close(fd);
  /* V8 requires an external string's bytes never to change */
  if (read_only) mprotect(p, out->mapped, PROT_READ);
  out->base = p;
  return true;
}

/* The region as `hint` for release(); NULL (region released, exception pending) when out of memory. */
static struct region *boxed(napi_env env, const struct region *r) {
  struct region *box = malloc(sizeof *box);
  if (box == NULL) {
    munmap(r->base, r->mapped);
    cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return NULL;
  }
  *box = *r;
  return box;
}

static napi_value js_read_external_latin1(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  char *path = NULL;
  if (!cn_get_path(env, argv[0], "path", false, &path)) return NULL;
  struct region r;
  bool ok = read_region(env, path, true, &r);
  free(path);
  if (!ok) return NULL;
  napi_value result;
  if (r.base == NULL) return napi_create_string_latin1(env, "", 0, &result) == napi_ok ? result : NULL;
  static create_external_latin1_fn create_external;
  static bool looked_up;
  if (!looked_up) {
    create_external = (create_external_latin1_fn)dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");
    looked_up = true;
  }
  if (create_external == NULL) {
    napi_status s = napi_create_string_latin1(env, r.base, r.length, &result);
    munmap(r.base, r.mapped);
    return s == napi_ok ? result : NULL;
  }
  struct region *box = boxed(env, &r);
  if (box == NULL) return NULL;
  bool copied = false;
  /* when V8 copies instead (it may), the finalizer has already run */
  if (create_external(env, box->base, box->length, release, box, &result, &copied) != napi_ok) {
    if (!copied) release(env, NULL, box);
    return NULL;
  }
  return result;
}

static napi_value js_read_external_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  char *path = NULL;
  if (!cn_get_path(env, argv[0], "path", false, &path)) return NULL;
  struct region r;
  bool ok = read_region(env, path, false, &r);
  free(path);
  if (!ok) return NULL;
  napi_value result;
  if (r.base == NULL) return napi_create_buffer(env, 0, NULL, &result) == napi_ok ? result : NULL;
  struct region *box = boxed(env, &r);
  if (box == NULL) return NULL;
  if (napi_create_external_buffer(env, box->length, box->base, release, box, &result) != napi_ok) {
    release(env, NULL, box);
    return NULL;
  }
  return result;
}

bool cn_register_external(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "readExternalLatin1", js_read_external_latin1) &&
         cn_export_fn(env, exports, "readExternalBytes", js_read_external_bytes);
}
