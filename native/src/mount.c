/*
 * cairn_native: mount(2), umount2(2), and overlay mounts through the new mount
 * API (fsopen / fsconfig / fsmount / move_mount), which passes each lower layer
 * separately ("lowerdir+") instead of one option string capped at a page.
 * Failures carry the file system context's own error log in the message.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The new mount API's numbers, defined here because older libc headers lack them
 * and <linux/mount.h> clashes with <sys/mount.h> on some glibc versions. */
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#define CN_FSOPEN_CLOEXEC 0x1u
#define CN_FSMOUNT_CLOEXEC 0x1u
#define CN_MOUNT_ATTR_RDONLY 0x1u
#define CN_MOVE_MOUNT_F_EMPTY_PATH 0x4u
#define CN_FSCONFIG_SET_FLAG 0u
#define CN_FSCONFIG_SET_STRING 1u
#define CN_FSCONFIG_SET_FD 5u
#define CN_FSCONFIG_CMD_CREATE 6u
/* fsconfig copies at most 256 bytes of a string value (strndup_user(value, 256)). */
#define CN_FSCONFIG_STRING_MAX 255

static int sys_fsopen(const char *fsname, unsigned flags) { return (int)syscall(SYS_fsopen, fsname, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, flags, attrs); }
static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags) {
  return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 5, argv, NULL)) return NULL;
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  int64_t flags;
  napi_value ret = NULL;
  if (!cn_get_int64(env, argv[3], "flags", &flags) || !cn_get_path(env, argv[0], "source", true, &source) ||
      !cn_get_path(env, argv[1], "target", false, &target) || !cn_get_path(env, argv[2], "fstype", true, &fstype) ||
      !cn_get_path(env, argv[4], "data", true, &data))
    goto done;
  if (flags < 0) {
    cn_throw_type(env, "ERR_OUT_OF_RANGE", "mount flags must not be negative");
    goto done;
  }
  if (mount(source, target, fstype, (unsigned long)flags, data) < 0) {
    cn_throw_errno(env, errno, "mount", source, target, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(source);
  free(target);
  free(fstype);
  free(data);
  return ret;
}

static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  char *target = NULL;
  int32_t flags;
  napi_value ret = NULL;
  if (!cn_get_int32(env, argv[1], "flags", &flags) || !cn_get_path(env, argv[0], "target", false, &target))
    goto done;
  if (umount2(target, flags) < 0) {
    cn_throw_errno(env, errno, "umount2", target, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  free(target);
  return ret;
}

/* Drain the fs context's message log into out ("overlay: ..."; several joined by "; "). */
static void read_fs_log(int fsfd, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  char msg[1024];
  for (int i = 0; i < 16; i++) {
    ssize_t n = read(fsfd, msg, sizeof msg - 1);
    if (n <= 0) break; /* ENODATA: the log is empty */
    msg[n] = '\0';
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    const char *text = msg;
    /* Each message starts with its level: "e ", "w " or "i ". */
    if (n >= 2 && msg[1] == ' ') text = msg + 2;
    int w = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", text);
    if (w < 0 || (size_t)w >= cap - used) break;
    used += (size_t)w;
  }
}

/* Throw the errno error of a failed fsconfig/fsmount step, with the context's log. */
static napi_value throw_fs(napi_env env, int err, int fsfd, const char *syscall_name, const char *key,
                           const char *value) {
  char log[2048];
  char detail[2400];
  log[0] = '\0';
  if (fsfd >= 0) read_fs_log(fsfd, log, sizeof log);
  snprintf(detail, sizeof detail, "%s%s%s", key ? key : "", (key && log[0]) ? ": " : "", log);
  return cn_throw_errno(env, err, syscall_name, value, NULL, detail[0] ? detail : NULL);
}

/*
 * Set a layer parameter (lowerdir+, upperdir, workdir) from a string path or an
 * open directory fd. Paths too long for an fsconfig string are opened and passed
 * by fd (FSCONFIG_SET_FD, Linux 6.13+). Returns false with an exception pending.
 */
static bool set_layer(napi_env env, int fsfd, const char *key, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_number) {
    int32_t fd;
    if (!cn_get_int32(env, v, key, &fd)) return false;
    if (sys_fsconfig(fsfd, CN_FSCONFIG_SET_FD, key, NULL, fd) < 0) {
      char what[32];
      snprintf(what, sizeof what, "fd %d", fd);
      throw_fs(env, errno, fsfd, "fsconfig", key, what);
      return false;
    }
    return true;
  }
  char *path = NULL;
  if (!cn_get_path(env, v, key, false, &path)) return false;
  bool ok = true;
  if (strlen(path) <= CN_FSCONFIG_STRING_MAX) {
    if (sys_fsconfig(fsfd, CN_FSCONFIG_SET_STRING, key, path, 0) < 0) {
      throw_fs(env, errno, fsfd, "fsconfig", key, path);
      ok = false;
    }
  } else {
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      cn_throw_errno(env, errno, "open", path, NULL, key);
      ok = false;
    } else {
      if (sys_fsconfig(fsfd, CN_FSCONFIG_SET_FD, key, NULL, dfd) < 0) {
        throw_fs(env, errno, fsfd, "fsconfig", key, path);
        ok = false;
      }
      close(dfd);
    }
  }
  free(path);
  return ok;
}

/* An option "key=value" (FSCONFIG_SET_STRING) or "key" (FSCONFIG_SET_FLAG). */
static bool set_option(napi_env env, int fsfd, napi_value v) {
  char *opt = NULL;
  if (!cn_get_path(env, v, "option", false, &opt)) return false;
  bool ok = true;
  char *eq = strchr(opt, '=');
  int r;
  if (eq != NULL) {
    *eq = '\0';
    r = sys_fsconfig(fsfd, CN_FSCONFIG_SET_STRING, opt, eq + 1, 0);
  } else {
    r = sys_fsconfig(fsfd, CN_FSCONFIG_SET_FLAG, opt, NULL, 0);
  }
  if (r < 0) {
    if (eq != NULL) *eq = '=';
    throw_fs(env, errno, fsfd, "fsconfig", opt, NULL);
    ok = false;
  }
  free(opt);
  return ok;
}

/*
 * overlayMount(lowerdirs, upperdir, workdir, target, readonly, options):
 * lowerdirs topmost first, each a path or a directory fd; upperdir/workdir a
 * path, a directory fd, or null; options "key=value" or "key" strings.
 */
static napi_value js_overlay_mount(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 6, argv, NULL)) return NULL;
  bool is_array = false, readonly = false;
  uint32_t nlower = 0, nopts = 0;
  char *target = NULL;
  int fsfd = -1, mfd = -1;
  napi_value ret = NULL;
  if (napi_is_array(env, argv[0], &is_array) != napi_ok) goto done;
  if (!is_array || napi_get_array_length(env, argv[0], &nlower) != napi_ok || nlower == 0) {
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "lowerdirs must be a non-empty array");
    goto done;
  }
  if (napi_is_array(env, argv[5], &is_array) != napi_ok) goto done;
  if (!is_array || napi_get_array_length(env, argv[5], &nopts) != napi_ok) {
    cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "options must be an array of strings");
    goto done;
  }
  if (!cn_get_bool(env, argv[4], "readonly", &readonly) || !cn_get_path(env, argv[3], "target", false, &target))
    goto done;

  fsfd = sys_fsopen("overlay", CN_FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    int e = errno;
    cn_throw_errno(env, e, "fsopen", "overlay", NULL,
                   e == ENOSYS ? "the new mount API needs Linux 5.2 or later" : NULL);
    goto done;
  }
  for (uint32_t i = 0; i < nlower; i++) {
    napi_value el;
    if (napi_get_element(env, argv[0], i, &el) != napi_ok || !set_layer(env, fsfd, "lowerdir+", el)) goto done;
  }
  if (!cn_is_nullish(env, argv[1]) && !set_layer(env, fsfd, "upperdir", argv[1])) goto done;
  if (!cn_is_nullish(env, argv[2]) && !set_layer(env, fsfd, "workdir", argv[2])) goto done;
  for (uint32_t i = 0; i < nopts; i++) {
    napi_value el;
    if (napi_get_element(env, argv[5], i, &el) != napi_ok || !set_option(env, fsfd, el)) goto done;
  }
  if (sys_fsconfig(fsfd, CN_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    int e = errno;
    char log[2048];
    read_fs_log(fsfd, log, sizeof log);
    char detail[2200];
    snprintf(detail, sizeof detail, "create: %s",
             log[0] ? log : "overlay gave no reason here (the kernel log may say more)");
    cn_throw_errno(env, e, "fsconfig", target, NULL, detail);
    goto done;
  }
  mfd = sys_fsmount(fsfd, CN_FSMOUNT_CLOEXEC, readonly ? CN_MOUNT_ATTR_RDONLY : 0);
  if (mfd < 0) {
    throw_fs(env, errno, fsfd, "fsmount", NULL, target);
    goto done;
  }
  if (sys_move_mount(mfd, "", AT_FDCWD, target, CN_MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    cn_throw_errno(env, errno, "move_mount", target, NULL, NULL);
    goto done;
  }
  ret = cn_undefined(env);
done:
  if (mfd >= 0) close(mfd);
  if (fsfd >= 0) close(fsfd);
  free(target);
  return ret;
}

/* -1 unknown, 0 no, 1 yes: the kernel does not change under a running process. */
static int lowerdir_plus_cache = -1;

static napi_value js_overlay_supports_lowerdir_plus(napi_env env, napi_callback_info info) {
  (void)info;
  if (lowerdir_plus_cache >= 0) return cn_bool(env, lowerdir_plus_cache == 1);
  int fsfd = sys_fsopen("overlay", CN_FSOPEN_CLOEXEC);
  if (fsfd < 0) {
    int e = errno;
    /* No new mount API, or no overlay driver: "lowerdir+" cannot be used. */
    if (e == ENOSYS || e == ENODEV) {
      lowerdir_plus_cache = 0;
      return cn_bool(env, false);
    }
    return cn_throw_errno(env, e, "fsopen", "overlay", NULL, NULL);
  }
  int r = sys_fsconfig(fsfd, CN_FSCONFIG_SET_STRING, "lowerdir+", "/", 0);
  int e = errno;
  close(fsfd);
  if (r == 0 || e == EINVAL) {
    lowerdir_plus_cache = r == 0 ? 1 : 0; /* EINVAL: "Unknown parameter 'lowerdir+'" */
    return cn_bool(env, r == 0);
  }
  return cn_throw_errno(env, e, "fsconfig", "lowerdir+", NULL, NULL);
}

bool cn_register_mount(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "mount", js_mount) && cn_export_fn(env, exports, "umount2", js_umount2) &&
         cn_export_fn(env, exports, "overlayMount", js_overlay_mount) &&
         cn_export_fn(env, exports, "overlaySupportsLowerdirPlus", js_overlay_supports_lowerdir_plus);
}
