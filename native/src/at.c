/*
 * cairn_native: directory-fd-relative file system calls Node's fs lacks —
 * openat2 (RESOLVE_IN_ROOT and friends), openat, mkdirat, mknodat, symlinkat,
 * linkat, unlinkat, renameat2, fchownat, fchmodat, utimensat (nanoseconds),
 * fstatat, readlinkat — plus flock and syncfs on an fd.
 *
 * File descriptors this module opens always carry O_CLOEXEC, so they never
 * leak into child processes. Close them with fs.closeSync.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/openat2.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_renameat2
#error "renameat2 syscall number unknown on this architecture"
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* the same on every architecture (unified syscall table) */
#endif

#define GET_ARGS(n) \
  napi_value argv[CAIRN_MAX_ARGS]; \
  if (!cn_args(env, info, (n), argv, NULL)) return NULL

static napi_value js_openat2(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t dirfd;
  int64_t flags, mode, resolve;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_int64(env, argv[2], "flags", &flags) ||
      !cn_get_int64(env, argv[3], "mode", &mode) || !cn_get_int64(env, argv[4], "resolve", &resolve) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  if (flags < 0 || mode < 0 || resolve < 0) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "flags, mode and resolve must not be negative");
    goto done;
  }
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags | O_CLOEXEC;
  how.mode = (uint64_t)mode;
  how.resolve = (uint64_t)resolve;
  long fd;
  do {
    fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int e = errno;
    cn_throw_errno(env, e, "openat2", path, NULL,
                   e == ENOSYS ? "openat2 needs Linux 5.6 or later" : NULL);
    goto done;
  }
  ret = cn_int32(env, (int32_t)fd);
done:
  free(path);
  return ret;
}

static napi_value js_openat(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t dirfd, flags;
  uint32_t mode;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_int32(env, argv[2], "flags", &flags) ||
      !cn_get_uint32(env, argv[3], "mode", &mode) || !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  int fd;
  do {
    fd = openat(dirfd, path, flags | O_CLOEXEC, (mode_t)mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    cn_throw_errno(env, errno, "openat", path, NULL, NULL);
    goto done;
  }
  ret = cn_int32(env, fd);
done:
  free(path);
  return ret;
}

static napi_value js_mkdirat(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t dirfd;
  uint32_t mode;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_uint32(env, argv[2], "mode", &mode) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  if (mkdirat(dirfd, path, (mode_t)mode) < 0) {
    cn_throw_errno(env, errno, "mkdirat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

static napi_value js_mknodat(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t dirfd;
  uint32_t mode, major_, minor_;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_uint32(env, argv[2], "mode", &mode) ||
      !cn_get_uint32(env, argv[3], "major", &major_) || !cn_get_uint32(env, argv[4], "minor", &minor_) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  if (mknodat(dirfd, path, (mode_t)mode, makedev(major_, minor_)) < 0) {
    cn_throw_errno(env, errno, "mknodat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t dirfd;
  char *target = NULL, *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[1], "dirfd", &dirfd) || !cn_get_path(env, argv[0], "target", false, &target) ||
      !cn_get_path(env, argv[2], "path", false, &path))
    goto done;
  if (symlinkat(target, dirfd, path) < 0) {
    cn_throw_errno(env, errno, "symlinkat", target, path, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(target);
  free(path);
  return ret;
}

static napi_value js_linkat(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t olddirfd, newdirfd, flags;
  char *oldpath = NULL, *newpath = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "olddirfd", &olddirfd) || !cn_get_int32(env, argv[2], "newdirfd", &newdirfd) ||
      !cn_get_int32(env, argv[4], "flags", &flags) || !cn_get_path(env, argv[1], "oldpath", false, &oldpath) ||
      !cn_get_path(env, argv[3], "newpath", false, &newpath))
    goto done;
  if (linkat(olddirfd, oldpath, newdirfd, newpath, flags) < 0) {
    cn_throw_errno(env, errno, "linkat", oldpath, newpath, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(oldpath);
  free(newpath);
  return ret;
}

static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t dirfd, flags;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_int32(env, argv[2], "flags", &flags) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  if (unlinkat(dirfd, path, flags) < 0) {
    cn_throw_errno(env, errno, "unlinkat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

static napi_value js_renameat2(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t olddirfd, newdirfd;
  uint32_t flags;
  char *oldpath = NULL, *newpath = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "olddirfd", &olddirfd) || !cn_get_int32(env, argv[2], "newdirfd", &newdirfd) ||
      !cn_get_uint32(env, argv[4], "flags", &flags) || !cn_get_path(env, argv[1], "oldpath", false, &oldpath) ||
      !cn_get_path(env, argv[3], "newpath", false, &newpath))
    goto done;
  if (syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags) < 0) {
    cn_throw_errno(env, errno, "renameat2", oldpath, newpath, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(oldpath);
  free(newpath);
  return ret;
}

/* uid/gid: 0..2^32-2, or -1 for "leave unchanged". */
static bool get_id(napi_env env, napi_value v, const char *name, uint32_t *out) {
  int64_t x;
  if (!cn_get_int64(env, v, name, &x)) return false;
  if (x == -1) {
    *out = (uint32_t)-1;
    return true;
  }
  if (x < 0 || x >= (int64_t)UINT32_MAX) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"%s\" must be -1 or a valid id", name);
    return false;
  }
  *out = (uint32_t)x;
  return true;
}

static napi_value js_fchownat(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t dirfd, flags;
  uint32_t uid, gid;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !get_id(env, argv[2], "uid", &uid) ||
      !get_id(env, argv[3], "gid", &gid) || !cn_get_int32(env, argv[4], "flags", &flags) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  if (fchownat(dirfd, path, (uid_t)uid, (gid_t)gid, flags) < 0) {
    cn_throw_errno(env, errno, "fchownat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

/*
 * fchmodat: flags 0 goes to fchmodat(2). With AT_SYMLINK_NOFOLLOW or AT_EMPTY_PATH
 * it uses fchmodat2(2) (Linux 6.6); on older kernels it falls back to glibc's
 * emulation (AT_SYMLINK_NOFOLLOW: EOPNOTSUPP for a symlink) or, for an empty path
 * with AT_EMPTY_PATH, to chmod of /proc/self/fd/N.
 */
static napi_value js_fchmodat(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t dirfd, flags;
  uint32_t mode;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_uint32(env, argv[2], "mode", &mode) ||
      !cn_get_int32(env, argv[3], "flags", &flags) || !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  int r;
  if (flags == 0) {
    r = fchmodat(dirfd, path, (mode_t)mode, 0);
  } else {
    r = (int)syscall(SYS_fchmodat2, dirfd, path, (mode_t)mode, flags);
    if (r < 0 && errno == ENOSYS) {
      if ((flags & AT_EMPTY_PATH) && path[0] == '\0') {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd);
        r = chmod(proc, (mode_t)mode);
      } else if (flags == AT_SYMLINK_NOFOLLOW) {
        r = fchmodat(dirfd, path, (mode_t)mode, AT_SYMLINK_NOFOLLOW);
      } else {
        errno = ENOSYS;
      }
    }
  }
  if (r < 0) {
    cn_throw_errno(env, errno, "fchmodat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

static bool get_nsec(napi_env env, napi_value v, const char *name, long *out) {
  int64_t x;
  if (!cn_get_int64(env, v, name, &x)) return false;
  if (!((x >= 0 && x < 1000000000) || x == UTIME_NOW || x == UTIME_OMIT)) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE",
                  "The value of \"%s\" must be 0..999999999, UTIME_NOW or UTIME_OMIT", name);
    return false;
  }
  *out = (long)x;
  return true;
}

/* utimensat: a null path applies to dirfd itself (the kernel's futimens form). */
static napi_value js_utimensat(napi_env env, napi_callback_info info) {
  GET_ARGS(7);
  int32_t dirfd, flags;
  int64_t asec, msec;
  struct timespec ts[2];
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_int64(env, argv[2], "atimeSec", &asec) ||
      !get_nsec(env, argv[3], "atimeNsec", &ts[0].tv_nsec) || !cn_get_int64(env, argv[4], "mtimeSec", &msec) ||
      !get_nsec(env, argv[5], "mtimeNsec", &ts[1].tv_nsec) || !cn_get_int32(env, argv[6], "flags", &flags) ||
      !cn_get_path(env, argv[1], "path", true, &path))
    goto done;
  ts[0].tv_sec = (time_t)asec;
  ts[1].tv_sec = (time_t)msec;
  /* The raw syscall: glibc's utimensat refuses a NULL path. */
  if (syscall(SYS_utimensat, dirfd, path, ts, flags) < 0) {
    cn_throw_errno(env, errno, "utimensat", path, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(path);
  return ret;
}

static napi_value js_fstatat(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t dirfd, flags;
  char *path = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_int32(env, argv[2], "flags", &flags) ||
      !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  struct stat st;
  if (fstatat(dirfd, path, &st, flags) < 0) {
    cn_throw_errno(env, errno, "fstatat", path, NULL, NULL);
    goto done;
  }
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) goto done;
  bool ok = cn_set_bigint_u64(env, obj, "dev", (uint64_t)st.st_dev) &&
            cn_set_bigint_u64(env, obj, "ino", (uint64_t)st.st_ino) &&
            cn_set_double(env, obj, "mode", (double)st.st_mode) &&
            cn_set_double(env, obj, "nlink", (double)st.st_nlink) &&
            cn_set_double(env, obj, "uid", (double)st.st_uid) &&
            cn_set_double(env, obj, "gid", (double)st.st_gid) &&
            cn_set_double(env, obj, "rdevMajor", (double)major(st.st_rdev)) &&
            cn_set_double(env, obj, "rdevMinor", (double)minor(st.st_rdev)) &&
            cn_set_double(env, obj, "size", (double)st.st_size) &&
            cn_set_double(env, obj, "blocks", (double)st.st_blocks) &&
            cn_set_double(env, obj, "atimeSec", (double)st.st_atim.tv_sec) &&
            cn_set_double(env, obj, "atimeNsec", (double)st.st_atim.tv_nsec) &&
            cn_set_double(env, obj, "mtimeSec", (double)st.st_mtim.tv_sec) &&
            cn_set_double(env, obj, "mtimeNsec", (double)st.st_mtim.tv_nsec) &&
            cn_set_double(env, obj, "ctimeSec", (double)st.st_ctim.tv_sec) &&
            cn_set_double(env, obj, "ctimeNsec", (double)st.st_ctim.tv_nsec);
  if (ok) ret = obj;
done:
  free(path);
  return ret;
}

/* readlinkat: the raw target bytes, as a Buffer. */
static napi_value js_readlinkat(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t dirfd;
  char *path = NULL, *buf = NULL;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_path(env, argv[1], "path", false, &path))
    goto done;
  size_t cap = 256;
  for (;;) {
    char *nbuf = realloc(buf, cap);
    if (nbuf == NULL) {
      cn_throw_errno(env, ENOMEM, "readlinkat", path, NULL, NULL);
      goto done;
    }
    buf = nbuf;
    ssize_t n = readlinkat(dirfd, path, buf, cap);
    if (n < 0) {
      cn_throw_errno(env, errno, "readlinkat", path, NULL, NULL);
      goto done;
    }
    if ((size_t)n < cap) {
      napi_value out;
      if (napi_create_buffer_copy(env, (size_t)n, buf, NULL, &out) == napi_ok) ret = out;
      goto done;
    }
    if (cap >= (size_t)1 << 24) {
      cn_throw_errno(env, ENAMETOOLONG, "readlinkat", path, NULL, NULL);
      goto done;
    }
    cap *= 2; /* possibly truncated: retry with a larger buffer */
  }
done:
  free(buf);
  free(path);
  return ret;
}

/* flock: blocks the calling thread unless LOCK_NB is given (then EAGAIN if held). */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd, op;
  if (!cn_get_int32(env, argv[0], "fd", &fd) || !cn_get_int32(env, argv[1], "operation", &op)) return NULL;
  int r;
  do {
    r = flock(fd, op);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return cn_throw_errno(env, errno, "flock", NULL, NULL, NULL);
  return cn_undefined(env);
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!cn_get_int32(env, argv[0], "fd", &fd)) return NULL;
  if (syncfs(fd) < 0) return cn_throw_errno(env, errno, "syncfs", NULL, NULL, NULL);
  return cn_undefined(env);
}

bool cn_register_at(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "openat2", js_openat2) && cn_export_fn(env, exports, "openat", js_openat) &&
         cn_export_fn(env, exports, "mkdirat", js_mkdirat) && cn_export_fn(env, exports, "mknodat", js_mknodat) &&
         cn_export_fn(env, exports, "symlinkat", js_symlinkat) && cn_export_fn(env, exports, "linkat", js_linkat) &&
         cn_export_fn(env, exports, "unlinkat", js_unlinkat) &&
         cn_export_fn(env, exports, "renameat2", js_renameat2) &&
         cn_export_fn(env, exports, "fchownat", js_fchownat) &&
         cn_export_fn(env, exports, "fchmodat", js_fchmodat) &&
         cn_export_fn(env, exports, "utimensat", js_utimensat) &&
         cn_export_fn(env, exports, "fstatat", js_fstatat) &&
         cn_export_fn(env, exports, "readlinkat", js_readlinkat) && cn_export_fn(env, exports, "flock", js_flock) &&
         cn_export_fn(env, exports, "syncfs", js_syncfs);
}
