/*
 * cairn_native: removing and measuring a directory tree with no depth or path-length limit.
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

/* A directory on a walk's stack. */
struct level {
  int fd;           /* -1 once closed to stay under KEEP_OPEN */
  dev_t dev;
  ino_t ino;
  char *name;       /* this directory's name in its parent */
  char *names;      /* usage walk: its entry names, NUL-separated, read when it was entered */
  size_t names_len;
  size_t pos;       /* usage walk: the next name to visit */
};

/* Where a walk failed: the first failure wins. */
struct walk_error {
  int err;
  const char *syscall;
  size_t depth;
  char entry[256];
};

struct job {
  napi_async_work work;
  napi_deferred deferred;
  int dirfd;
  char *name;
  /* results */
  bool existed;
  struct walk_error e;
};

static void fail(struct walk_error *w, int err, const char *syscall, size_t depth, const char *entry) {
  w->err = err;
  w->syscall = syscall;
  w->depth = depth;
  snprintf(w->entry, sizeof w->entry, "%s", entry == NULL ? "" : entry);
}

/*
 * Push directory `nm` (open as `fd`, `st` its fstat; for the usage walk, its entry names) on a
 * walk's stack, growing it, and close the fd of the level KEEP_OPEN below. On failure nothing is
 * pushed: the caller still owns `fd` and `names`.
 */
static bool push_level(struct walk_error *w, struct level **stack, size_t *cap, size_t *n, int fd, const struct stat *st,
                       const char *nm, char *names, size_t names_len) {
  if (*n == *cap) {
    struct level *bigger = realloc(*stack, 2 * *cap * sizeof **stack);
    if (bigger == NULL) {
      fail(w, ENOMEM, "realloc", *n, nm);
      return false;
    }
    *stack = bigger;
    *cap *= 2;
  }
  char *name = strdup(nm);
  if (name == NULL) {
    fail(w, ENOMEM, "strdup", *n, nm);
    return false;
  }
  (*stack)[*n] = (struct level){.fd = fd, .dev = st->st_dev, .ino = st->st_ino, .name = name, .names = names, .names_len = names_len, .pos = 0};
  (*n)++;
  if (*n > KEEP_OPEN && (*stack)[*n - 1 - KEEP_OPEN].fd >= 0) {
    close((*stack)[*n - 1 - KEEP_OPEN].fd);
    (*stack)[*n - 1 - KEEP_OPEN].fd = -1;
  }
  return true;
}

/* Reject a walk's promise with its failure, naming where in the tree it happened. */
static void reject_walk(napi_env env, napi_deferred deferred, const struct walk_error *w, const char *name) {
  char detail[400];
  snprintf(detail, sizeof detail, "at depth %zu, entry '%s'", w->depth, w->entry);
  cn_reject_errno(env, deferred, w->err, w->syscall, name, detail);
}

/* A walk's arguments: a directory fd and one path component below it. */
static bool walk_args(napi_env env, napi_callback_info info, bool allow_dot, int32_t *dirfd, char **name) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return false;
  if (!cn_get_int32(env, argv[0], "dirfd", dirfd) || !cn_get_path(env, argv[1], "name", false, name)) return false;
  if ((*name)[0] == '\0' || strchr(*name, '/') != NULL || (!allow_dot && strcmp(*name, ".") == 0) || strcmp(*name, "..") == 0) {
    free(*name);
    *name = NULL;
    cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The \"name\" argument must be one path component");
    return false;
  }
  return true;
}

static int open_dir(int dirfd, const char *name) {
  return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The fd of stack[i], reopened through ".." of stack[i + 1] (open) when it was closed. */
static bool ensure_open(struct walk_error *j, struct level *stack, size_t i) {
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
      fail(&j->e, e, "openat", 0, j->name);
      return;
    }
    /* Not a directory: one unlink. */
    j->existed = true;
    if (unlinkat(j->dirfd, j->name, 0) != 0 && errno != ENOENT) fail(&j->e, errno, "unlinkat", 0, j->name);
    return;
  }
  j->existed = true;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    fail(&j->e, errno, "fstat", 0, j->name);
    close(fd);
    return;
  }
  size_t cap = 64, n = 0;
  struct level *stack = malloc(cap * sizeof *stack);
  char *buf = malloc(DENTS_BUF);
  char *top_name = strdup(j->name);
  if (stack == NULL || buf == NULL || top_name == NULL) {
    fail(&j->e, ENOMEM, "malloc", 0, j->name);
    close(fd);
    free(stack);
    free(buf);
    free(top_name);
    return;
  }
  stack[n++] = (struct level){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .name = top_name};

  while (n > 0 && j->e.err == 0) {
    struct level *cur = &stack[n - 1];
    bool descended = false;
    if (lseek(cur->fd, 0, SEEK_SET) < 0) {
      fail(&j->e, errno, "lseek", n - 1, cur->name);
      break;
    }
    for (;;) {
      long got = syscall(SYS_getdents64, cur->fd, buf, DENTS_BUF);
      if (got < 0) {
        fail(&j->e, errno, "getdents64", n - 1, cur->name);
        break;
      }
      if (got == 0) break;
      for (long off = 0; off < got && !descended && j->e.err == 0;) {
        struct dent64 *d = (struct dent64 *)(buf + off);
        off += d->d_reclen;
        const char *nm = d->d_name;
        if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
        bool is_dir = d->d_type == DT_DIR;
        if (d->d_type == DT_UNKNOWN) {
          struct stat cst;
          if (fstatat(cur->fd, nm, &cst, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            fail(&j->e, errno, "fstatat", n, nm);
            break;
          }
          is_dir = S_ISDIR(cst.st_mode);
        }
        if (!is_dir) {
          if (unlinkat(cur->fd, nm, 0) != 0 && errno != ENOENT) fail(&j->e, errno, "unlinkat", n, nm);
          continue;
        }
        int cfd = open_dir(cur->fd, nm);
        if (cfd < 0) {
          int e = errno;
          if (e == ENOENT) continue;
          if (e == ENOTDIR || e == ELOOP) { /* replaced meanwhile by a non-directory */
            if (unlinkat(cur->fd, nm, 0) != 0 && errno != ENOENT) fail(&j->e, errno, "unlinkat", n, nm);
            continue;
          }
          fail(&j->e, e, "openat", n, nm);
          break;
        }
        struct stat cst;
        if (fstat(cfd, &cst) != 0) {
          fail(&j->e, errno, "fstat", n, nm);
          close(cfd);
          break;
        }
        if (cst.st_dev != cur->dev) {
          fail(&j->e, EXDEV, "openat", n, nm); /* a mount point: never remove another file system's files */
          close(cfd);
          break;
        }
        if (!push_level(&j->e, &stack, &cap, &n, cfd, &cst, nm, NULL, 0)) {
          close(cfd);
          break;
        }
        descended = true;
      }
      if (descended || j->e.err != 0) break;
    }
    if (descended || j->e.err != 0) continue;
    /* cur is empty: remove it from its parent and go up. */
    if (n == 1) {
      close(cur->fd);
      cur->fd = -1;
      if (unlinkat(j->dirfd, cur->name, AT_REMOVEDIR) != 0 && errno != ENOENT) fail(&j->e, errno, "unlinkat", 0, cur->name);
      free(cur->name);
      n--;
      break;
    }
    if (!ensure_open(&j->e, stack, n - 2)) break;
    close(cur->fd);
    cur->fd = -1;
    if (unlinkat(stack[n - 2].fd, cur->name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      fail(&j->e, errno, "unlinkat", n - 1, cur->name);
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
  if (status != napi_ok && j->e.err == 0) fail(&j->e, ECANCELED, "removeTreeAt", 0, j->name);
  if (j->e.err == 0) napi_resolve_deferred(env, j->deferred, cn_bool(env, j->existed));
  else reject_walk(env, j->deferred, &j->e, j->name);
  napi_delete_async_work(env, j->work);
  free(j->name);
  free(j);
}

static napi_value js_remove_tree_at(napi_env env, napi_callback_info info) {
  int32_t dirfd;
  char *name = NULL;
  if (!walk_args(env, info, false, &dirfd, &name)) return NULL;
  struct job *j = calloc(1, sizeof *j);
  if (j == NULL) {
    free(name);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  j->dirfd = dirfd;
  j->name = name;
  napi_value promise = cn_queue_promise(env, "cairn:removeTreeAt", execute, complete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    free(name);
    free(j);
  }
  return promise;
}

/* ------------------------------------------------------------------------------------------
 * treeUsageAt(dirfd, name) -> Promise<{ size, inodes, content }>: the allocated bytes
 * (st_blocks * 512) and the distinct inodes of `name` under `dirfd` and everything below it
 * (hard links counted once), and `content`: the apparent bytes (st_size) of every inode that
 * is not a directory, hard links counted once — Docker's measure of a layer (its
 * pkg/directory.Size: regular files, and symlinks by the length of their target) — on a libuv
 * worker thread, with the same walk discipline as removeTreeAt: fd-relative,
 * iterative, no depth or path-length limit, at most KEEP_OPEN directory fds held (a closed
 * level is reopened through ".." of its child and checked by device and inode). A directory
 * on another device (a mount point) counts as itself; its contents are not walked. An entry
 * that vanishes meanwhile is skipped.
 */

struct linked {
  dev_t dev;
  ino_t ino;
  blkcnt_t blocks;
  off_t bytes; /* st_size, 0 for a directory */
};

struct ujob {
  napi_async_work work;
  napi_deferred deferred;
  int dirfd;
  char *name;
  uint64_t size;
  uint64_t inodes;
  uint64_t content;
  struct linked *links;
  size_t nlinks, caplinks;
  struct walk_error e;
};

/* All entry names of the directory `fd` (without "." and ".."), NUL-separated. */
static bool read_names(struct ujob *j, int fd, size_t depth, const char *dname, char **out, size_t *out_len) {
  size_t cap = 4096, len = 0;
  char *names = malloc(cap);
  char *buf = malloc(DENTS_BUF);
  if (names == NULL || buf == NULL) {
    free(names);
    free(buf);
    fail(&j->e, ENOMEM, "malloc", depth, dname);
    return false;
  }
  for (;;) {
    long got = syscall(SYS_getdents64, fd, buf, DENTS_BUF);
    if (got < 0) {
      fail(&j->e, errno, "getdents64", depth, dname);
      free(names);
      free(buf);
      return false;
    }
    if (got == 0) break;
    for (long off = 0; off < got;) {
      struct dent64 *d = (struct dent64 *)(buf + off);
      off += d->d_reclen;
      const char *nm = d->d_name;
      if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0'))) continue;
      size_t n = strlen(nm) + 1;
      if (len + n > cap) {
        while (len + n > cap) cap *= 2;
        char *bigger = realloc(names, cap);
        if (bigger == NULL) {
          fail(&j->e, ENOMEM, "realloc", depth, dname);
          free(names);
          free(buf);
          return false;
        }
        names = bigger;
      }
      memcpy(names + len, nm, n);
      len += n;
    }
  }
  free(buf);
  *out = names;
  *out_len = len;
  return true;
}

/* Count one inode: at once when it has one link (or is a directory), else once per (dev, ino). */
static bool count_inode(struct ujob *j, const struct stat *st, size_t depth, const char *nm) {
  off_t bytes = S_ISDIR(st->st_mode) || st->st_size < 0 ? 0 : st->st_size;
  if (S_ISDIR(st->st_mode) || st->st_nlink <= 1) {
    j->size += (uint64_t)st->st_blocks * 512;
    j->content += (uint64_t)bytes;
    j->inodes++;
    return true;
  }
  if (j->nlinks == j->caplinks) {
    size_t cap = j->caplinks == 0 ? 256 : 2 * j->caplinks;
    struct linked *bigger = realloc(j->links, cap * sizeof *bigger);
    if (bigger == NULL) {
      fail(&j->e, ENOMEM, "realloc", depth, nm);
      return false;
    }
    j->links = bigger;
    j->caplinks = cap;
  }
  j->links[j->nlinks++] = (struct linked){.dev = st->st_dev, .ino = st->st_ino, .blocks = st->st_blocks, .bytes = bytes};
  return true;
}

static int cmp_linked(const void *a, const void *b) {
  const struct linked *x = a, *y = b;
  if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
  return 0;
}

static void tree_usage(struct ujob *j) {
  int fd = openat(j->dirfd, j->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0) {
    if (errno != ENOTDIR && errno != ELOOP) {
      fail(&j->e, errno, "openat", 0, j->name);
      return;
    }
    /* Not a directory: the one inode. */
    if (fstatat(j->dirfd, j->name, &st, AT_SYMLINK_NOFOLLOW) != 0) fail(&j->e, errno, "fstatat", 0, j->name);
    else count_inode(j, &st, 0, j->name);
    return;
  }
  if (fstat(fd, &st) != 0) {
    fail(&j->e, errno, "fstat", 0, j->name);
    close(fd);
    return;
  }
  count_inode(j, &st, 0, j->name);
  size_t cap = 64, n = 0;
  struct level *stack = malloc(cap * sizeof *stack);
  char *top_name = strdup(j->name);
  char *names = NULL;
  size_t names_len = 0;
  if (stack == NULL || top_name == NULL || !read_names(j, fd, 0, j->name, &names, &names_len)) {
    if (j->e.err == 0) fail(&j->e, ENOMEM, "malloc", 0, j->name);
    close(fd);
    free(stack);
    free(top_name);
    return;
  }
  stack[n++] = (struct level){.fd = fd, .dev = st.st_dev, .ino = st.st_ino, .names = names, .names_len = names_len, .pos = 0, .name = top_name};

  while (n > 0 && j->e.err == 0) {
    struct level *cur = &stack[n - 1];
    if (cur->pos >= cur->names_len) {
      /* Done with cur: go up, reopening the parent through ".." if it was closed. */
      if (n >= 2 && !ensure_open(&j->e, stack, n - 2)) break;
      close(cur->fd);
      free(cur->names);
      free(cur->name);
      n--;
      continue;
    }
    const char *nm = cur->names + cur->pos;
    cur->pos += strlen(nm) + 1;
    struct stat cst;
    if (fstatat(cur->fd, nm, &cst, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      fail(&j->e, errno, "fstatat", n, nm);
      break;
    }
    if (!count_inode(j, &cst, n, nm)) break;
    if (!S_ISDIR(cst.st_mode) || cst.st_dev != cur->dev) continue;
    int cfd = openat(cur->fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cfd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue; /* gone or replaced meanwhile */
      fail(&j->e, errno, "openat", n, nm);
      break;
    }
    struct stat dst;
    if (fstat(cfd, &dst) != 0 || dst.st_ino != cst.st_ino || dst.st_dev != cst.st_dev) {
      close(cfd); /* replaced between fstatat and openat: counted as it was */
      continue;
    }
    char *cnames = NULL;
    size_t cnames_len = 0;
    if (!read_names(j, cfd, n, nm, &cnames, &cnames_len)) {
      close(cfd);
      break;
    }
    if (!push_level(&j->e, &stack, &cap, &n, cfd, &dst, nm, cnames, cnames_len)) {
      close(cfd);
      free(cnames);
      break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    if (stack[i].fd >= 0) close(stack[i].fd);
    free(stack[i].names);
    free(stack[i].name);
  }
  free(stack);
  if (j->e.err == 0 && j->nlinks > 0) {
    qsort(j->links, j->nlinks, sizeof *j->links, cmp_linked);
    for (size_t i = 0; i < j->nlinks; i++) {
      if (i > 0 && cmp_linked(&j->links[i], &j->links[i - 1]) == 0) continue;
      j->size += (uint64_t)j->links[i].blocks * 512;
      j->content += (uint64_t)j->links[i].bytes;
      j->inodes++;
    }
  }
}

static void uexecute(napi_env env, void *data) {
  (void)env;
  tree_usage((struct ujob *)data);
}

static void ucomplete(napi_env env, napi_status status, void *data) {
  struct ujob *j = data;
  if (status != napi_ok && j->e.err == 0) fail(&j->e, ECANCELED, "treeUsageAt", 0, j->name);
  if (j->e.err == 0) {
    napi_value r;
    if (napi_create_object(env, &r) == napi_ok && cn_set_double(env, r, "size", (double)j->size) && cn_set_double(env, r, "inodes", (double)j->inodes) &&
        cn_set_double(env, r, "content", (double)j->content)) {
      napi_resolve_deferred(env, j->deferred, r);
    } else {
      napi_value e;
      if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_reject_deferred(env, j->deferred, e);
    }
  } else {
    reject_walk(env, j->deferred, &j->e, j->name);
  }
  napi_delete_async_work(env, j->work);
  free(j->links);
  free(j->name);
  free(j);
}

static napi_value js_tree_usage_at(napi_env env, napi_callback_info info) {
  int32_t dirfd;
  char *name = NULL;
  if (!walk_args(env, info, true, &dirfd, &name)) return NULL;
  struct ujob *j = calloc(1, sizeof *j);
  if (j == NULL) {
    free(name);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  j->dirfd = dirfd;
  j->name = name;
  napi_value promise = cn_queue_promise(env, "cairn:treeUsageAt", uexecute, ucomplete, j, &j->deferred, &j->work);
  if (promise == NULL) {
    free(name);
    free(j);
  }
  return promise;
}

bool cn_register_tree(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "removeTreeAt", js_remove_tree_at) && cn_export_fn(env, exports, "treeUsageAt", js_tree_usage_at);
}
