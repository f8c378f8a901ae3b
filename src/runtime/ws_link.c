/*
 * WebSocket links: a TCP socket, the WebSocket codec (src/ws/) and a
 * session in message mode (ROAM_SESSION_MESSAGE_TRANSPORT).
 *
 * Until the upgrade completes the session's output (its Hello) waits; the
 * session's handshake timeout counts from the accept or connect, so it also
 * bounds a peer that never finishes the HTTP handshake. A refused upgrade
 * (server) sends its HTTP answer and closes; a bad answer (client) fails the
 * link with ROAM_ERR_PROTOCOL.
 *
 * Input: the socket is read into the loop's buffer and fed to the codec,
 * which stops at each complete message; the message goes to the session.
 * When the session's output is above its high-water mark the message (and
 * the rest of the read) is held and reading pauses until the output drains:
 * a link holds at most one message plus one read.
 *
 * Output: session messages are framed into the codec's buffer while less
 * than RT_WS_OUT_LIMIT waits there (beyond that they stay in the session,
 * whose high-water mark then stops the input), and written with one send.
 *
 * Ending: a violation of the WebSocket rules by the peer (text message,
 * reserved opcode or bits, wrong masking, a message over the frame limit)
 * is a roam protocol violation: the session sends its Goodbye (rule id
 * from the codec), then the close frame with the matching code follows,
 * then the usual drain. A close frame from the peer is echoed and ends the
 * link; a graceful session close sends close 1000 after the Goodbye.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "rt_internal.h"

#ifdef ROAM_HAVE_WEBSOCKET

#include "session/session_internal.h"
#include "ws/ws.h"

/* Framed output kept in the codec before session messages stay put. */
#define RT_WS_OUT_LIMIT (256u * 1024)

typedef struct rt_ws {
  rws *w;
  uint8_t *pend; /* the rest of a read held back while the session is full */
  size_t pend_len, pend_off;
  bool in_input; /* feeding the session (callbacks may flush) */
  bool failed_logged;
  size_t since_flush;
} rt_ws;

bool rt_ws_supported(void) { return true; }

int rt_ws_attach(roam_link *l, const rt_addr *a, bool server) {
  roam_loop *loop = l->loop;
  rt_ws *x = roam__calloc(&loop->mem, sizeof *x);
  if (!x) return ROAM_ERR_NOMEM;
  char host[300];
  if (strchr(a->host, ':'))
    snprintf(host, sizeof host, "[%s]:%s", a->host, a->port);
  else
    snprintf(host, sizeof host, "%s:%s", a->host, a->port);
  rws_config cfg = {
      .server = server,
      .max_message = l->s->cfg.max_frame_size, /* as on byte streams */
      .path = a->ws_path,
      .host = host,
      .origins = server ? l->conf->opts.ws_origins : NULL,
      .mem = &loop->mem,
  };
  int r = rws_new(&x->w, &cfg);
  if (r != 0) {
    roam__free(&loop->mem, x);
    return r;
  }
  l->ws = x;
  return 0;
}

void rt_ws_detach(roam_link *l) {
  rt_ws *x = l->ws;
  if (!x) return;
  rws_free(x->w);
  roam__free(&l->loop->mem, x->pend);
  roam__free(&l->loop->mem, x);
  l->ws = NULL;
}

void rt_ws_connected(roam_link *l) {
  if (rws_client_start(l->ws->w) != 0) rt_link_kill(l, ROAM_ERR_NOMEM);
}

size_t rt_ws_out(const roam_link *l) {
  const uint8_t *p;
  return rws_output(l->ws->w, &p) + roam__out_pending(l->s);
}

size_t rt_ws_held(const roam_link *l) {
  const uint8_t *p;
  const rt_ws *x = l->ws;
  return rws_input_buffered(x->w) + rws_output(x->w, &p) + (x->pend ? x->pend_len : 0);
}

void rt_ws_trim(roam_link *l) {
  if (!l->ws || l->ws->in_input) return; /* (not under a message being delivered) */
  if (l->state != RT_LINK_OPEN) rws_drop_input(l->ws->w);
  rws_trim(l->ws->w);
}

/* ---- input ------------------------------------------------------------------ */

/* React to what the codec saw. false: stop reading. */
static bool ws_events(roam_link *l) {
  rws *w = l->ws->w;
  if (rws_take_opened(w)) rt_link_kick(l); /* the Hello can go now */
  switch (rws_get_state(w)) {
  case RWS_HANDSHAKE:
  case RWS_OPEN:
    return true;
  case RWS_FAILED:
    if (!l->ws->failed_logged) {
      l->ws->failed_logged = true;
      rt_log(l->loop, ROAM_LOG_WARN, "%s: WebSocket handshake failed: %s",
             l->peer ? l->peer : "?", rws_error_text(w));
    }
    if (roam_session_role(l->s) == ROAM_ROLE_INITIATOR) {
      rt_link_kill(l, ROAM_ERR_PROTOCOL);
    } else {
      /* the HTTP answer is queued: send it, then close (no Goodbye: the
       * session never ran) */
      roam_session_close_reason(l->s, rws_error_text(w));
      rt_link_kick(l);
    }
    return false;
  case RWS_CLOSED:
    if (rws_violation(w)) {
      roam__violation(l->s, rws_violation(w)); /* Goodbye, then the close frame */
      roam__settle(l->s);
    } else if (!roam_session_is_closed(l->s)) {
      roam_session_eof(l->s); /* the peer's close frame */
    }
    rt_link_kick(l);
    return false;
  }
  return false;
}

/* Hand the ready message (if any) to the session. false: it was held back
 * (session full) or the link stopped. */
static bool ws_deliver(roam_link *l) {
  rws *w = l->ws->w;
  roam_bytes m;
  if (!rws_message(w, &m)) return true;
  int r = roam_session_recv_message(l->s, m.ptr, m.len);
  if (r == ROAM_ERR_WOULD_BLOCK) {
    rt_link_flush_now(l); /* push the output out and try once more */
    if (l->state != RT_LINK_OPEN) return false;
    r = roam_session_recv_message(l->s, m.ptr, m.len);
    if (r == ROAM_ERR_WOULD_BLOCK) return false;
  }
  rws_message_done(w);
  l->loop->activity++;
  l->ws->since_flush += m.len;
  if (r != 0 || l->state != RT_LINK_OPEN) return false;
  if (l->ws->since_flush >= l->conf->opts.eager_flush_bytes) {
    /* let the peer start on these answers while the rest is worked on */
    l->ws->since_flush = 0;
    if (rt_ws_out(l) >= l->conf->opts.eager_flush_bytes) {
      rt_link_flush_now(l);
      if (l->state != RT_LINK_OPEN) return false;
    }
  }
  return true;
}

static void hold(roam_link *l, const uint8_t *data, size_t n) {
  rt_ws *x = l->ws;
  if (n) {
    uint8_t *p = roam__malloc(&l->loop->mem, n);
    if (!p) {
      rt_link_kill(l, ROAM_ERR_NOMEM);
      return;
    }
    memcpy(p, data, n);
    x->pend = p;
    x->pend_len = n;
    x->pend_off = 0;
  }
  l->pause_bp = true;
  rt_link_update_events(l);
}

/* Feed received bytes (n may be 0: frames already inside the codec).
 * false: reading stops (held back, or the link ends). */
static bool ws_input(roam_link *l, const uint8_t *data, size_t n) {
  static const uint8_t none[1];
  if (!data) data = none; /* (no arithmetic on NULL) */
  rws *w = l->ws->w;
  size_t off = 0;
  l->ws->in_input = true;
  bool ok = true;
  for (;;) {
    if (!ws_deliver(l)) {
      if (l->state == RT_LINK_OPEN) hold(l, data + off, n - off);
      ok = false;
      break;
    }
    size_t used = 0;
    if (rws_feed(w, data + off, n - off, &used) != 0) {
      rt_link_kill(l, ROAM_ERR_NOMEM);
      ok = false;
      break;
    }
    off += used;
    const uint8_t *p;
    if (rws_output(w, &p) > 0) rt_link_kick(l); /* a pong */
    if (!ws_events(l)) {
      ok = false;
      break;
    }
    roam_bytes m;
    if (!rws_message(w, &m)) break; /* all consumed, waiting for more */
  }
  l->ws->in_input = false;
  return ok;
}

/* Output drained: deliver what was held back, then read again. */
static void ws_resume(roam_link *l) {
  rt_ws *x = l->ws;
  uint8_t *p = x->pend;
  size_t off = x->pend_off, len = x->pend_len;
  x->pend = NULL;
  x->pend_len = x->pend_off = 0;
  l->pause_bp = false;
  bool ok = ws_input(l, p ? p + off : NULL, p ? len - off : 0);
  roam__free(&l->loop->mem, p);
  if (ok && l->state == RT_LINK_OPEN) rt_link_update_events(l);
}

void rt_ws_read(roam_link *l) {
  roam_loop *loop = l->loop;
  for (int i = 0; i < 16; i++) {
    if (l->state != RT_LINK_OPEN || l->pause_user || l->pause_bp) return;
    size_t cap = rt_budget_read_limit(l, loop->rbuf_size);
    if (cap == 0) return;
    ssize_t n = recv(l->io.fd, loop->rbuf, cap, 0);
    if (n > 0) {
      bool more = ws_input(l, loop->rbuf, (size_t)n);
      if (l->trim_ready && l->state == RT_LINK_OPEN) {
        rt_link_trim_after_hello(l);
        rt_ws_trim(l);
      }
      rt_budget_settle(l);
      if (!more || (size_t)n < cap) return;
      continue;
    }
    if (n == 0) {
      rt_link_kill(l, ROAM_ERR_CLOSED);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    rt_link_kill(l, ROAM_ERR_IO);
    return;
  }
}

/* ---- output ------------------------------------------------------------------ */

/* Drop the session's output: the WebSocket cannot carry it any more. */
static void drop_session_output(roam_session *s) {
  roam_bytes m;
  while (roam_session_next_message(s, &m) == 0 && m.ptr) roam_session_consume(s, m.len);
}

bool rt_ws_flush(roam_link *l) {
  rt_ws *x = l->ws;
  rws *w = x->w;
  const uint8_t *p;
  for (int round = 0; round < 8; round++) {
    rws_state st = rws_get_state(w);
    uint16_t peer_code = 0;
    bool peer_closed = rws_peer_closed(w, &peer_code);
    if (st == RWS_FAILED || peer_closed ||
        (st == RWS_HANDSHAKE && roam_session_is_closed(l->s))) {
      drop_session_output(l->s);
      if (peer_closed && !rws_close_sent(w)) /* echo the peer's close */
        rws_close(w, peer_code == 1005 ? RWS_CLOSE_NORMAL : peer_code);
    } else if ((st == RWS_OPEN || st == RWS_CLOSED) && !rws_close_sent(w)) {
      roam_bytes m;
      while (rws_output(w, &p) < RT_WS_OUT_LIMIT && roam_session_next_message(l->s, &m) == 0 &&
             m.ptr) {
        if (rws_send(w, m.ptr, m.len) != 0) {
          rt_link_kill(l, ROAM_ERR_NOMEM);
          return false;
        }
        roam_session_consume(l->s, m.len);
      }
      /* the session is over and everything it said is framed: close */
      if (l->state == RT_LINK_FLUSHING && roam_session_is_done(l->s)) {
        uint16_t code = rws_violation_code(w);
        rws_close(w, code ? code : RWS_CLOSE_NORMAL);
      }
    }
    size_t n;
    while ((n = rws_output(w, &p)) > 0) {
      ssize_t k = send(l->io.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) {
        rws_consume(w, (size_t)k);
        continue;
      }
      if (k < 0 && errno == EINTR) continue;
      if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        rt_link_set_want_write(l, true);
        return false;
      }
      l->write_failed = true;
      rt_link_kill(l, ROAM_ERR_IO);
      return false;
    }
    rt_link_set_want_write(l, false);
    if (l->state == RT_LINK_DEAD) return false;
    if (l->pause_bp && l->state == RT_LINK_OPEN && !x->in_input &&
        roam_session_want_read(l->s)) {
      ws_resume(l); /* deliver what was held back */
      if (l->state == RT_LINK_DEAD) return false;
    }
    /* more session output than the limit let through (or answers to what
     * was held back): another round */
    if (!(roam_session_want_write(l->s) && rws_get_state(w) == RWS_OPEN && !rws_close_sent(w)))
      return true;
  }
  rt_link_kick(l);
  return false;
}

#else /* no libwslay / nettle in this build */

bool rt_ws_supported(void) { return false; }
int rt_ws_attach(roam_link *l, const rt_addr *a, bool server) {
  (void)l, (void)a, (void)server;
  return ROAM_ERR_ADDRESS;
}
void rt_ws_detach(roam_link *l) { (void)l; }
void rt_ws_connected(roam_link *l) { (void)l; }
void rt_ws_read(roam_link *l) { (void)l; }
bool rt_ws_flush(roam_link *l) {
  (void)l;
  return true;
}
size_t rt_ws_out(const roam_link *l) {
  (void)l;
  return 0;
}
size_t rt_ws_held(const roam_link *l) {
  (void)l;
  return 0;
}
void rt_ws_trim(roam_link *l) { (void)l; }

#endif
