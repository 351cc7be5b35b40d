/*
 * cairn_native: removing a directory tree with no depth or path-length limit.
 *
 * removeTreeAt(dirfd, name) -> Promise<boolean> removes `name` (one path
 * component) under the directory `dirfd`, on a libuv worker thread, and
 * resolves true, or false if `name` did not exist. It never builds a path: every
 * call is relative to a directory fd (getdents64, openat, unlinkat), and the
 * walk is iterative, with an explicit stack of levels, so neither PATH_MAX nor
 * the C or JS stack limits the depth. At most KEEP_OPEN directory fds are held;
 * a level whose fd was closed is reopened through ".." from its child and
 * checked (device and inode) to be the directory it was.
 *
 * It does not cross into another file system: a directory on another device
 * (something mounted inside the tree) fails the call with EXDEV, leaving it
 * and what it holds untouched. The caller keeps `dirfd` open until the promise
 * settles.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <dirent.h>

#define KEEP_OPEN 64
#define DENTS_BUF 32768

struct dent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

struct level {
  int fd;       /* -1 once closed to stay under KEEP_OPEN */
  dev_t dev;
  ino_t ino;
  char *name;   /* this directory's name in its parent */
};

struct job {
  napi_async_work work;
  napi_deferred deferred;
  int dirfd;
  char *name;
  /* results */
  bool existed;
  int err;
  const char *syscall;
  size_t depth;
  char entry[256];
};

static void fail(struct job *j, int err, const char *syscall, size_t depth, const char *entry) {
  j->err = err;
  j->syscall = syscall;
  j->depth = depth;
  snprintf(j->entry, sizeof j->entry, "%s", entry == NULL ? "" : entry);
}

static int open_dir(int dirfd, const char *name) {
  return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The fd of stack[i], reopened through ".." of stack[i + 1] (open) when it was closed. */
static bool ensure_open(struct job *j, struct level *stack, size_t i) {
  if (stack[i].fd >= 0) return true;
  int fd = openat(stack[i + 1].fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fail(j, errno, "openat", i, "..");
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail(j, errno, "fstat", i, "..");
    close(fd);
    return false;
  }
  if (st.st_dev != stack[i].dev || st.st_ino != stack[i].ino) {
    /* The tree was moved while being removed: stop rather than delete elsewhere. */
    fail(j, ESTALE, "openat", i, "..");
    close(fd);
    return false;
  }
  stack[i].fd = fd;
  return true;
}

static void remove_tree(struct job *j) {
  int fd = open_dir(j->dirfd, j->name);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return;
    if (e != ENOTDIR && e != ELOOP) {
      fail(j, e, "openat", 0, j->name);
      return;
    }
    /* Not a directory: one unlink. */
    j->existed = true;
    if (unlinkat(j->dirfd, j->name, 0) != 0 && errno != ENOENT) fail(j, errno, "unlinkat", 0, j->name);
    return;
  }
  j->existed = true;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail(j, errno, "fstat", 0, j->name);
    close(fd);
    return;
  }
  size_t cap = 64, n = 0;
  struct level *stack = malloc(cap * sizeof *stack);
  char *buf = malloc(DENTS_BUF);
  char *top_name = strdup(j->name);
  if (stack == NULL || buf == NULL || top_name == NULL) {
    fail(j, ENOMEM, "malloc", 0, j->name);
    close(fd);
    free(stack);
    free(buf);
    free(top_name);
    return;
  }
  stack[n++] = (struct level){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .name = top_name};

  while (n > 0 && j->err == 0) {
    struct level *cur = &stack[n - 1];
    bool descended = false;
    if (lseek(cur->fd, 0, SEEK_SET) < 0) {
      fail(j, errno, "lseek", n - 1, cur->name);
      break;
    }
    for (;;) {
      long got = syscall(SYS_getdents64, cur->fd, buf, DENTS_BUF);
      if (got < 0) {
        fail(j, errno, "getdents64", n - 1, cur->name);
        break;
      }
      if (got == 0) break;
      for (long off = 0; off < got && !descended && j->err == 0;) {
        struct dent64 *d = (struct dent64 *)(buf + off);
        off += d->d_reclen;
        const char *nm = d->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
        bool is_dir = d->d_type == DT_DIR;
        if (d->d_type == DT_UNKNOWN) {
          struct stat cst;
          if (fstatat(cur->fd, nm, &cst, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            fail(j, errno, "fstatat", n, nm);
            break;
          }
          is_dir = S_ISDIR(cst.st_mode);
        }
        if (!is_dir) {
          if (unlinkat(cur->fd, nm, 0) != 0 && errno != ENOENT) fail(j, errno, "unlinkat", n, nm);
          continue;
        }
        int cfd = open_dir(cur->fd, nm);
        if (cfd < 0) {
          int e = errno;
          if (e == ENOENT) continue;
          if (e == ENOTDIR || e == ELOOP) { /* replaced meanwhile by a non-directory */
            if (unlinkat(cur->fd, nm, 0) != 0 && errno != ENOENT) fail(j, errno, "unlinkat", n, nm);
            continue;
          }
          fail(j, e, "openat", n, nm);
          break;
        }
        struct stat cst;
        if (fstat(cfd, &cst) != 0) {
          fail(j, errno, "fstat", n, nm);
          close(cfd);
          break;
        }
        if (cst.st_dev != cur->dev) {
          fail(j, EXDEV, "openat", n, nm); /* a mount point: never remove another file system's files */
          close(cfd);
          break;
        }
        if (n == cap) {
          struct level *bigger = realloc(stack, 2 * cap * sizeof *stack);
          if (bigger == NULL) {
            fail(j, ENOMEM, "realloc", n, nm);
            close(cfd);
            break;
          }
          stack = bigger;
          cap *= 2;
        }
        char *cname = strdup(nm);
        if (cname == NULL) {
          fail(j, ENOMEM, "strdup", n, nm);
          close(cfd);
          break;
        }
        stack[n] = (struct level){.fd = cfd, .dev = cst.st_dev, .ino = cst.st_ino, .name = cname};
        n++;
        if (n > KEEP_OPEN && stack[n - 1 - KEEP_OPEN].fd >= 0) {
          close(stack[n - 1 - KEEP_OPEN].fd);
          stack[n - 1 - KEEP_OPEN].fd = -1;
        }
        descended = true;
      }
      if (descended || j->err != 0) break;
    }
    if (descended || j->err != 0) continue;
    /* cur is empty: remove it from its parent and go up. */
    if (n == 1) {
      close(cur->fd);
      cur->fd = -1;
      if (unlinkat(j->dirfd, cur->name, AT_REMOVEDIR) != 0 && errno != ENOENT) fail(j, errno, "unlinkat", 0, cur->name);
      free(cur->name);
      n--;
      break;
    }
    if (!ensure_open(j, stack, n - 2)) break;
    close(cur->fd);
    cur->fd = -1;
    if (unlinkat(stack[n - 2].fd, cur->name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      fail(j, errno, "unlinkat", n - 1, cur->name);
    }
    free(cur->name);
    n--;
  }
  for (size_t i = 0; i < n; i++) {
    if (stack[i].fd >= 0) close(stack[i].fd);
    free(stack[i].name);
  }
  free(stack);
  free(buf);
}

static void execute(napi_env env, void *data) {
  (void)env;
  remove_tree((struct job *)data);
}

static void complete(napi_env env, napi_status status, void *data) {
  struct job *j = data;
  if (status != napi_ok && j->err == 0) fail(j, ECANCELED, "removeTreeAt", 0, j->name);
  if (j->err == 0) {
    napi_resolve_deferred(env, j->deferred, cn_bool(env, j->existed));
  } else {
    char detail[400];
    snprintf(detail, sizeof detail, "at depth %zu, entry '%s'", j->depth, j->entry);
    cn_throw_errno(env, j->err, j->syscall, j->name, NULL, detail);
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_reject_deferred(env, j->deferred, e);
  }
  napi_delete_async_work(env, j->work);
  free(j->name);
  free(j);
}

static napi_value js_remove_tree_at(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  int32_t dirfd;
  char *name = NULL;
  if (!cn_get_int32(env, argv[0], "dirfd", &dirfd) || !cn_get_path(env, argv[1], "name", false, &name)) return NULL;
  if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    free(name);
    return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"name\" argument must be one path component");
  }
  struct job *j = calloc(1, sizeof *j);
  if (j == NULL) {
    free(name);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  j->dirfd = dirfd;
  j->name = name;
  napi_value promise, resource_name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "cairn:removeTreeAt", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_async_work(env, NULL, resource_name, execute, complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    free(name);
    free(j);
    return NULL;
  }
  return promise;
}

bool cn_register_tree(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "removeTreeAt", js_remove_tree_at);
}
