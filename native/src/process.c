/*
 * cairn_native: starting a program without Node's child_process, for the one process a short
 * command waits on (the OCI runtime of `run --rm`). Node forks itself to spawn (libuv's
 * fork + exec): the kernel copies the page tables of a 60 MB process only for exec to drop
 * them (~2 ms), and child_process with its streams is loaded for it (~1.5 ms). posix_spawn
 * (glibc: clone(CLONE_VM | CLONE_VFORK)) shares the memory until the exec instead. The child
 * is waited for on the event loop through a pidfd (pollReadable), then reaped here.
 *
 *   spawn(file, argv, stdio) -> [pid, pidfd]
 *       run `file` (an absolute path: no PATH search) with `argv` and this process's
 *       environment; stdio[i] is the fd that becomes the child's fd i (given as i, the fd is
 *       inherited even when it is close-on-exec here). Signals the child starts with: none blocked, every handler the default (Node
 *       ignores SIGPIPE; a child must not inherit that). The pidfd is O_CLOEXEC.
 *   reap(pid) -> status | -1
 *       waitpid(pid, WNOHANG): the exit status as a shell gives it (the code, or 128 + the
 *       signal that killed it), or -1 while it runs.
 *   isatty(fd) -> boolean
 *       whether fd is a terminal (Node's own answer needs its tty and net modules).
 *   exitNow(code)
 *       _exit(code): this process ends at once, without Node's teardown (stopping and joining
 *       its threads, ~1 ms) — for bin/cairn.js once a command is done and nothing is pending.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

static void free_strings(char **v, uint32_t n) {
  if (v == NULL) return;
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 3, argv, NULL)) return NULL;
  char *file = NULL;
  if (!cn_get_path(env, argv[0], "file", false, &file)) return NULL;
  if (file[0] != '/') {
    free(file);
    return cn_throw_type(env, "ERR_INVALID_ARG_VALUE", "The argument 'file' must be an absolute path");
  }
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0) {
    free(file);
    return cn_throw_type(env, "ERR_INVALID_ARG_TYPE", "The \"argv\" argument must be a non-empty array of strings");
  }
  char **args = calloc((size_t)n + 1, sizeof *args);
  if (args == NULL) {
    free(file);
    return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, argv[1], i, &item) != napi_ok || !cn_get_path(env, item, "argv", false, &args[i])) {
      free_strings(args, n);
      free(file);
      return NULL;
    }
  }
  int32_t fds[3];
  for (uint32_t i = 0; i < 3; i++) {
    napi_value item;
    if (napi_get_element(env, argv[2], i, &item) != napi_ok || !cn_get_int32(env, item, "stdio", &fds[i])) {
      free_strings(args, n);
      free(file);
      return NULL;
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int err = posix_spawn_file_actions_init(&actions);
  if (err == 0) {
    err = posix_spawnattr_init(&attr);
    if (err != 0) posix_spawn_file_actions_destroy(&actions);
  }
  if (err != 0) {
    free_strings(args, n);
    free(file);
    return cn_throw_errno(env, err, "posix_spawn", NULL, NULL, NULL);
  }
  /* also for an fd given as itself: that clears its close-on-exec flag (POSIX 2024, glibc 2.29+),
     which a caller's stdio may carry */
  for (int i = 0; i < 3 && err == 0; i++) err = posix_spawn_file_actions_adddup2(&actions, fds[i], i);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
  if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);
  if (err == 0) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  if (err == 0) err = posix_spawn(&pid, file, &actions, &attr, args, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  free_strings(args, n);
  if (err != 0) {
    napi_value r = cn_throw_errno(env, err, "posix_spawn", file, NULL, NULL);
    free(file);
    return r;
  }
  free(file);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    /* the child runs; without a pidfd it cannot be waited for here: stop it and say why */
    err = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return cn_throw_errno(env, err, "pidfd_open", NULL, NULL, NULL);
  }
  napi_value result;
  if (napi_create_array_with_length(env, 2, &result) != napi_ok || napi_set_element(env, result, 0, cn_int32(env, pid)) != napi_ok ||
      napi_set_element(env, result, 1, cn_int32(env, pidfd)) != napi_ok)
    return NULL;
  return result;
}

static napi_value js_reap(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int32_t pid;
  if (!cn_get_int32(env, argv[0], "pid", &pid)) return NULL;
  if (pid <= 0) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"pid\" must be positive");
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return cn_throw_errno(env, errno, "waitpid", NULL, NULL, NULL);
  if (r == 0) return cn_int32(env, -1);
  if (WIFEXITED(status)) return cn_int32(env, WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return cn_int32(env, 128 + WTERMSIG(status));
  return cn_int32(env, -1);
}

static napi_value js_isatty(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int32_t fd;
  if (!cn_get_int32(env, argv[0], "fd", &fd)) return NULL;
  return cn_bool(env, isatty(fd) == 1);
}

static napi_value js_exit_now(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int32_t code;
  if (!cn_get_int32(env, argv[0], "code", &code)) return NULL;
  if (code < 0 || code > 255) return cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"code\" must be in 0..255");
  _exit(code);
}

bool cn_register_process(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "spawn", js_spawn) && cn_export_fn(env, exports, "reap", js_reap) &&
         cn_export_fn(env, exports, "isatty", js_isatty) && cn_export_fn(env, exports, "exitNow", js_exit_now);
}
