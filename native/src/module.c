/*
 * cairn_native: module entry point. Registers the functions of at.c, xattr.c, mount.c,
 * tree.c, apply.c, hash.c, copy.c, upper.c, scan.c, socket.c, process.c and external.c and exports the platform's values of the flags they take as `constants`.
 */
#include "common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <linux/openat2.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT (1 << 2)
#endif
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

static bool export_constants(napi_env env, napi_value exports) {
  napi_value c;
  if (napi_create_object(env, &c) != napi_ok) return false;
#define K(name) if (!cn_set_double(env, c, #name, (double)(name))) return false;
  /* open flags */
  K(O_RDONLY) K(O_WRONLY) K(O_RDWR) K(O_CREAT) K(O_EXCL) K(O_TRUNC) K(O_APPEND) K(O_NONBLOCK)
  K(O_DIRECTORY) K(O_NOFOLLOW) K(O_CLOEXEC) K(O_PATH) K(O_TMPFILE) K(O_NOCTTY)
  /* *at flags */
  K(AT_FDCWD) K(AT_SYMLINK_NOFOLLOW) K(AT_SYMLINK_FOLLOW) K(AT_REMOVEDIR) K(AT_EMPTY_PATH) K(AT_NO_AUTOMOUNT)
  /* openat2 resolve flags */
  K(RESOLVE_NO_XDEV) K(RESOLVE_NO_MAGICLINKS) K(RESOLVE_NO_SYMLINKS) K(RESOLVE_BENEATH) K(RESOLVE_IN_ROOT)
  K(RESOLVE_CACHED)
  /* renameat2 flags */
  K(RENAME_NOREPLACE) K(RENAME_EXCHANGE) K(RENAME_WHITEOUT)
  /* file types and permission bits */
  K(S_IFMT) K(S_IFREG) K(S_IFDIR) K(S_IFLNK) K(S_IFCHR) K(S_IFBLK) K(S_IFIFO) K(S_IFSOCK)
  K(S_ISUID) K(S_ISGID) K(S_ISVTX)
  /* mount flags */
  K(MS_RDONLY) K(MS_NOSUID) K(MS_NODEV) K(MS_NOEXEC) K(MS_SYNCHRONOUS) K(MS_REMOUNT) K(MS_DIRSYNC)
  K(MS_NOSYMFOLLOW) K(MS_NOATIME) K(MS_NODIRATIME) K(MS_BIND) K(MS_MOVE) K(MS_REC) K(MS_SILENT)
  K(MS_UNBINDABLE) K(MS_PRIVATE) K(MS_SLAVE) K(MS_SHARED) K(MS_RELATIME) K(MS_STRICTATIME) K(MS_LAZYTIME)
  /* umount2 flags */
  K(MNT_FORCE) K(MNT_DETACH) K(MNT_EXPIRE) K(UMOUNT_NOFOLLOW)
  /* xattr flags */
  K(XATTR_CREATE) K(XATTR_REPLACE)
  /* flock operations */
  K(LOCK_SH) K(LOCK_EX) K(LOCK_NB) K(LOCK_UN)
  /* utimensat special nanosecond values */
  K(UTIME_NOW) K(UTIME_OMIT)
  /* shutdown(2) */
  K(SHUT_RD) K(SHUT_WR) K(SHUT_RDWR)
#undef K
  return napi_object_freeze(env, c) == napi_ok && cn_set_value(env, exports, "constants", c);
}

NAPI_MODULE_INIT() {
  if (!cn_register_at(env, exports) || !cn_register_xattr(env, exports) || !cn_register_mount(env, exports) ||
      !cn_register_tree(env, exports) ||
      !cn_register_apply(env, exports) || !cn_register_hash(env, exports) || !cn_register_copy(env, exports) || !cn_register_upper(env, exports) || !cn_register_scan(env, exports) ||
      !cn_register_socket(env, exports) || !cn_register_process(env, exports) || !cn_register_external(env, exports) || !cn_register_gzip(env, exports) ||
      !export_constants(env, exports))
    return NULL;
  return exports;
}
