/* The subject's WebSocket transport (ws_subject.h). */
#include "ws_subject.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int sj_ws_split(const char *addr, char *hostport, size_t hcap, char *path, size_t pcap) {
  if (strncmp(addr, "ws://", 5) != 0) return -1;
  const char *a = addr + 5;
  const char *rb = a[0] == '[' ? strchr(a, ']') : NULL;
  const char *slash = strchr(rb ? rb : a, '/');
  size_t n = slash ? (size_t)(slash - a) : strlen(a);
  const char *p = slash ? slash : "/";
  if (n == 0 || n >= hcap || strlen(p) >= pcap) return -1;
  memcpy(hostport, a, n);
  hostport[n] = 0;
  strcpy(path, p);
  return 0;
}

#ifdef ROAM_HAVE_WEBSOCKET

#include "session/session_internal.h"
#include "ws/ws.h"

struct sj_ws {
  rws *w;
  bool violation_reported;
};

bool sj_ws_supported(void) { return true; }

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int write_out(rws *w, int fd) {
  const uint8_t *p;
  size_t n;
  while ((n = rws_output(w, &p)) > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k > 0) {
      rws_consume(w, (size_t)k);
      continue;
    }
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  return 0;
}

sj_ws *sj_ws_open(int fd, const char *hostport, const char *path, roam_session *s,
                  uint64_t timeout_ms, char *err, size_t errcap) {
  sj_ws *x = calloc(1, sizeof *x);
  rws_config cfg = {.server = false, .max_message = s->cfg.max_frame_size, .path = path,
                    .host = hostport};
  if (!x || rws_new(&x->w, &cfg) != 0 || rws_client_start(x->w) != 0) {
    snprintf(err, errcap, "out of memory");
    goto fail;
  }
  uint64_t deadline = mono_ms() + timeout_ms;
  /* Read one byte at a time: what follows the 101 (the peer's first
   * frames) must stay in the socket for the main loop. */
  while (rws_get_state(x->w) == RWS_HANDSHAKE) {
    if (write_out(x->w, fd) != 0) {
      snprintf(err, errcap, "write failed: %s", strerror(errno));
      goto fail;
    }
    const uint8_t *p;
    uint64_t now = mono_ms();
    if (now >= deadline) {
      snprintf(err, errcap, "no WebSocket handshake answer within %llu ms",
               (unsigned long long)timeout_ms);
      goto fail;
    }
    struct pollfd pf = {fd, (short)(POLLIN | (rws_output(x->w, &p) ? POLLOUT : 0)), 0};
    if (poll(&pf, 1, (int)(deadline - now)) < 0 && errno != EINTR) {
      snprintf(err, errcap, "poll: %s", strerror(errno));
      goto fail;
    }
    uint8_t b;
    ssize_t r = recv(fd, &b, 1, 0);
    if (r == 0) {
      snprintf(err, errcap, "the peer closed during the WebSocket handshake");
      goto fail;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      snprintf(err, errcap, "read failed: %s", strerror(errno));
      goto fail;
    }
    size_t used;
    if (rws_feed(x->w, &b, 1, &used) != 0) {
      snprintf(err, errcap, "out of memory");
      goto fail;
    }
  }
  if (rws_get_state(x->w) != RWS_OPEN) {
    snprintf(err, errcap, "WebSocket handshake failed: %s", rws_error_text(x->w));
    goto fail;
  }
  rws_take_opened(x->w);
  return x;
fail:
  sj_ws_free(x);
  return NULL;
}

void sj_ws_free(sj_ws *x) {
  if (!x) return;
  rws_free(x->w);
  free(x);
}

bool sj_ws_holding(const sj_ws *x) {
  roam_bytes m;
  return rws_message(x->w, &m);
}

/* The codec ended the WebSocket: tell the session (a violation by the peer
 * is a protocol error with a Goodbye; a close frame is the end of input). */
static void ended(sj_ws *x, roam_session *s) {
  if (x->violation_reported) return;
  x->violation_reported = true;
  if (rws_violation(x->w)) {
    roam__violation(s, rws_violation(x->w));
    roam__settle(s);
  } else {
    roam_session_eof(s);
  }
}

size_t sj_ws_feed(sj_ws *x, roam_session *s, const uint8_t *data, size_t len, bool *progress) {
  size_t off = 0;
  *progress = false;
  for (;;) {
    roam_bytes m;
    if (rws_message(x->w, &m)) {
      int r = roam_session_recv_message(s, m.ptr, m.len);
      if (r == ROAM_ERR_WOULD_BLOCK) break; /* held until the output drains */
      rws_message_done(x->w);
      *progress = true;
      if (r != 0) break; /* the session closed */
    }
    if (rws_get_state(x->w) != RWS_OPEN) {
      ended(x, s);
      off = len; /* nothing more will be read */
      break;
    }
    size_t used = 0;
    if (rws_feed(x->w, data + off, len - off, &used) != 0) {
      roam_session_eof(s);
      return len;
    }
    off += used;
    if (rws_get_state(x->w) != RWS_OPEN) continue; /* report it above */
    if (!rws_message(x->w, &m)) break; /* all taken */
  }
  return off;
}

bool sj_ws_has_output(const sj_ws *x, roam_session *s) {
  const uint8_t *p;
  return rws_output(x->w, &p) > 0 || roam_session_want_write(s);
}

int sj_ws_flush(sj_ws *x, int fd, roam_session *s) {
  roam_bytes m;
  bool can_send = !rws_close_sent(x->w) && !rws_peer_closed(x->w, NULL);
  while (roam_session_next_message(s, &m) == 0 && m.ptr) {
    if (can_send && rws_send(x->w, m.ptr, m.len) != 0) can_send = false;
    roam_session_consume(s, m.len); /* (dropped once the WebSocket is closing) */
  }
  if (write_out(x->w, fd) != 0) {
    roam_session_eof(s);
    return -1;
  }
  return 0;
}

void sj_ws_close(sj_ws *x, int fd, roam_session *s) {
  sj_ws_flush(x, fd, s);
  uint16_t code = rws_violation_code(x->w), peer = 0;
  if (rws_peer_closed(x->w, &peer)) code = peer == 1005 ? RWS_CLOSE_NORMAL : peer;
  rws_close(x->w, code ? code : RWS_CLOSE_NORMAL);
  /* the close frame is small: wait a little for room if the socket is full */
  for (int i = 0; i < 50 && write_out(x->w, fd) == 0; i++) {
    const uint8_t *p;
    if (rws_output(x->w, &p) == 0) break;
    struct pollfd pf = {fd, POLLOUT, 0};
    poll(&pf, 1, 20);
  }
}

#else

bool sj_ws_supported(void) { return false; }
sj_ws *sj_ws_open(int fd, const char *hostport, const char *path, roam_session *s,
                  uint64_t timeout_ms, char *err, size_t errcap) {
  (void)fd, (void)hostport, (void)path, (void)s, (void)timeout_ms;
  snprintf(err, errcap, "built without WebSocket support");
  return NULL;
}
void sj_ws_free(sj_ws *x) { (void)x; }
size_t sj_ws_feed(sj_ws *x, roam_session *s, const uint8_t *data, size_t len, bool *progress) {
  (void)x, (void)s, (void)data;
  *progress = false;
  return len;
}
bool sj_ws_holding(const sj_ws *x) {
  (void)x;
  return false;
}
int sj_ws_flush(sj_ws *x, int fd, roam_session *s) {
  (void)x, (void)fd, (void)s;
  return -1;
}
bool sj_ws_has_output(const sj_ws *x, roam_session *s) {
  (void)x, (void)s;
  return false;
}
void sj_ws_close(sj_ws *x, int fd, roam_session *s) { (void)x, (void)fd, (void)s; }

#endif
