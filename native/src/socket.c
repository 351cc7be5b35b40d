/*
 * cairn_native: the one kind of socket Node's net cannot open — a SOCK_SEQPACKET unix socket,
 * which is what conmon's attach socket is (net.Socket refuses such an fd: libuv only wraps
 * stream sockets). Reads wait on the event loop (a uv_poll, no thread held); writes are
 * ordinary write(2)s on the fd (fs.write), bounded in time by the send timeout.
 *
 *   seqpacketConnect(path, sendTimeoutMs) -> fd
 *       connect to the socket at `path`, whatever its length: the socket file is opened with
 *       O_PATH and the connection made to /proc/self/fd/N (sun_path holds 108 bytes, a store's
 *       paths may not fit). The fd is blocking, O_CLOEXEC; SO_SNDTIMEO = sendTimeoutMs (0:
 *       none), so a write the peer does not take fails with EAGAIN instead of holding a thread.
 *   recvPacket(fd, buffer) -> length | -1
 *       one packet into `buffer` without waiting (MSG_DONTWAIT): its full length (larger than
 *       the buffer when it was cut: MSG_TRUNC), 0 at the end of the stream, -1 when none is
 *       there yet.
 *   pollReadable(fd) -> Promise
 *       settles once `fd` is readable, hung up or failed, on the event loop: a one-shot uv_poll
 *       (one at a time per fd), resolved in a callback scope so promise reactions run at once.
 *   shutdown(fd, how)
 *       shutdown(2): SHUT_WR is the half-close a peer reads as the end of the stream; SHUT_RDWR
 *       also wakes a pollReadable waiting on the fd.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

static napi_value js_seqpacket_connect(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  char *path = NULL;
  int32_t timeout_ms;
  if (!cn_get_path(env, argv[0], "path", false, &path)) return NULL;
  if (!cn_get_int32(env, argv[1], "sendTimeoutMs", &timeout_ms)) {
    free(path);
    return NULL;
  }
  if (timeout_ms < 0) {
    free(path);
    return cn_throw_type(env, "ERR_OUT_OF_RANGE", "The value of \"sendTimeoutMs\" must not be negative");
  }
  int pfd = open(path, O_PATH | O_CLOEXEC);
  if (pfd < 0) {
    napi_value r = cn_throw_errno(env, errno, "open", path, NULL, NULL);
    free(path);
    return r;
  }
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) {
    int err = errno;
    close(pfd);
    napi_value r = cn_throw_errno(env, err, "socket", path, NULL, NULL);
    free(path);
    return r;
  }
  if (timeout_ms > 0) {
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
      int err = errno;
      close(pfd);
      close(s);
      napi_value r = cn_throw_errno(env, err, "setsockopt", path, NULL, NULL);
      free(path);
      return r;
    }
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d", pfd);
  int r;
  do {
    r = connect(s, (struct sockaddr *)&addr, sizeof addr);
  } while (r < 0 && errno == EINTR);
  int err = errno;
  close(pfd);
  if (r < 0) {
    close(s);
    napi_value e = cn_throw_errno(env, err, "connect", path, NULL, NULL);
    free(path);
    return e;
  }
  free(path);
  return cn_int32(env, s);
}

static napi_value js_recv_packet(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  int32_t fd;
  void *data;
  size_t len;
  if (!cn_get_int32(env, argv[0], "fd", &fd) || !cn_get_typed(env, argv[1], napi_uint8_array, 1, "buffer", &data, &len)) return NULL;
  ssize_t n;
  do {
    n = recv(fd, data, len, MSG_DONTWAIT | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return cn_int32(env, -1);
    return cn_throw_errno(env, errno, "recv", NULL, NULL, NULL);
  }
  return cn_double(env, (double)n);
}

static napi_value js_shutdown(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 2, argv, NULL)) return NULL;
  int32_t fd, how;
  if (!cn_get_int32(env, argv[0], "fd", &fd) || !cn_get_int32(env, argv[1], "how", &how)) return NULL;
  if (shutdown(fd, how) < 0) return cn_throw_errno(env, errno, "shutdown", NULL, NULL, NULL);
  return cn_undefined(env);
}

struct poll_job {
  uv_poll_t poll; /* first: the handle's address is the job's */
  napi_env env;
  napi_deferred deferred;
  napi_async_context context;
};

static void poll_closed(uv_handle_t *handle) {
  free(handle);
}

static void poll_settle(uv_poll_t *handle, int status, int events) {
  (void)events;
  struct poll_job *j = (struct poll_job *)handle;
  napi_env env = j->env;
  uv_poll_stop(handle);
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) == napi_ok) {
    napi_value resource;
    napi_callback_scope cs;
    bool scoped = napi_create_object(env, &resource) == napi_ok && napi_open_callback_scope(env, resource, j->context, &cs) == napi_ok;
    /* libuv's status is a negative errno */
    if (status < 0) cn_reject_errno(env, j->deferred, -status, "poll", NULL, NULL);
    else napi_resolve_deferred(env, j->deferred, cn_undefined(env));
    if (scoped) napi_close_callback_scope(env, cs);
    napi_close_handle_scope(env, hs);
  }
  napi_async_destroy(env, j->context);
  uv_close((uv_handle_t *)handle, poll_closed);
}

static napi_value js_poll_readable(napi_env env, napi_callback_info info) {
  napi_value argv[CAIRN_MAX_ARGS];
  if (!cn_args(env, info, 1, argv, NULL)) return NULL;
  int32_t fd;
  if (!cn_get_int32(env, argv[0], "fd", &fd)) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  struct poll_job *j = calloc(1, sizeof *j);
  if (j == NULL) return cn_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  j->env = env;
  int r = uv_poll_init(loop, &j->poll, fd);
  if (r < 0) {
    free(j);
    return cn_throw_errno(env, -r, "poll", NULL, NULL, NULL);
  }
  napi_value promise, resource, name;
  if (napi_create_object(env, &resource) != napi_ok ||
      napi_create_string_utf8(env, "cairn:pollReadable", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &j->context) != napi_ok) {
    uv_close((uv_handle_t *)&j->poll, poll_closed);
    return NULL;
  }
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) {
    napi_async_destroy(env, j->context);
    uv_close((uv_handle_t *)&j->poll, poll_closed);
    return NULL;
  }
  r = uv_poll_start(&j->poll, UV_READABLE | UV_DISCONNECT, poll_settle);
  if (r < 0) {
    cn_reject_errno(env, j->deferred, -r, "poll", NULL, NULL);
    napi_async_destroy(env, j->context);
    uv_close((uv_handle_t *)&j->poll, poll_closed);
  }
  return promise;
}

bool cn_register_socket(napi_env env, napi_value exports) {
  return cn_export_fn(env, exports, "seqpacketConnect", js_seqpacket_connect) &&
         cn_export_fn(env, exports, "recvPacket", js_recv_packet) && cn_export_fn(env, exports, "shutdown", js_shutdown) &&
         cn_export_fn(env, exports, "pollReadable", js_poll_readable);
}
