/*
 * Byte-stream links: a connected fd + a roam_session in byte-stream mode.
 *
 * Input: the socket is read into the loop's shared buffer and fed to
 * roam_session_recv(). When the session stops consuming (its output is
 * above output_high_water), the output is flushed at once; what still
 * cannot be consumed is kept in a per-link buffer and reading pauses until
 * the output drains. Idle links hold no buffer.
 *
 * Output: roam_session_output() is written with one send() per link per
 * loop iteration (links are put on the loop's dirty list by on_want_write
 * and flushed after the events of the iteration are handled), and also
 * between the slices of a large read (eager_flush_bytes), so that two
 * peers work on a pipelined batch at the same time instead of in turns.
 * When the socket is full the link waits for writability; otherwise it
 * never registers for it.
 *
 * Closing: when the session closes (Goodbye sent or received, timeout),
 * the remaining output is flushed, the write side is shut down, and the
 * socket is read until EOF (so that our Goodbye is not destroyed by an RST)
 * or linger_ms; then the fd is closed and the link is reaped at the end of
 * the iteration (on_close hooks, free).
 *
 * Memory: the session gives its buffers back (roam_session_trim) once the
 * Hello exchange is done, and again once the link saw no I/O for two idle
 * sweeps of its loop (RT_IDLE_SWEEP_MS apart). A server's links read
 * within its memory budget (budget.c).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_internal.h"

static void link_on_io(roam_io *w, int fd, unsigned events, void *ud);

/* roam_session_output, asked only when there is something to send (an
 * empty session may have no output buffer at all). */
static size_t sess_out(roam_session *s, const uint8_t **p) {
  *p = NULL;
  return roam_session_want_write(s) ? roam_session_output(s, p) : 0;
}
static void link_flush(roam_link *l);
static void update_events(roam_link *l);

/* ------------------------------------------------------------------------ */
/* configuration                                                             */
/* ------------------------------------------------------------------------ */

void roam_link_options_init(roam_link_options *opts) {
  memset(opts, 0, sizeof *opts);
  roam_session_config_init(&opts->session, ROAM_ROLE_INITIATOR);
  opts->connect_timeout_ms = 10000;
  opts->linger_ms = 2000;
  opts->eager_flush_bytes = RT_EAGER_FLUSH_DEFAULT;
}

int rt_link_conf_new(roam_loop *loop, const roam_link_options *opts, rt_link_conf **out) {
  rt_link_conf *c = roam__calloc(&loop->mem, sizeof *c);
  if (!c) return ROAM_ERR_NOMEM;
  if (opts)
    c->opts = *opts;
  else
    roam_link_options_init(&c->opts);
  if (c->opts.session.name) {
    size_t n = strlen(c->opts.session.name);
    c->name = roam__malloc(&loop->mem, n + 1);
    if (!c->name) {
      roam__free(&loop->mem, c);
      return ROAM_ERR_NOMEM;
    }
    memcpy(c->name, c->opts.session.name, n + 1);
    c->opts.session.name = c->name;
  }
  if (c->opts.ws_origins) {
    size_t n = strlen(c->opts.ws_origins);
    c->ws_origins = roam__malloc(&loop->mem, n + 1);
    if (!c->ws_origins) {
      roam__free(&loop->mem, c->name);
      roam__free(&loop->mem, c);
      return ROAM_ERR_NOMEM;
    }
    memcpy(c->ws_origins, c->opts.ws_origins, n + 1);
    c->opts.ws_origins = c->ws_origins;
  }
  if (!c->opts.linger_ms) c->opts.linger_ms = 2000;
  if (!c->opts.eager_flush_bytes) c->opts.eager_flush_bytes = RT_EAGER_FLUSH_DEFAULT;
  /* A wider receive window unless the application chose its own window or
   * initial credit (a small credit is a request for a small window). */
  roam_session_config dflt;
  roam_session_config_init(&dflt, ROAM_ROLE_INITIATOR);
  if (!c->opts.session.channel_window &&
      c->opts.session.initial_channel_credit == dflt.initial_channel_credit)
    c->opts.session.channel_window = RT_CHANNEL_WINDOW_DEFAULT;
  c->refs = 1;
  *out = c;
  return 0;
}

void rt_link_conf_unref(roam_loop *loop, rt_link_conf *c) {
  if (!c || --c->refs > 0) return;
  if (c->cleanup) c->cleanup(loop, c->cleanup_ctx);
  roam__free(&loop->mem, c->name);
  roam__free(&loop->mem, c->ws_origins);
  rt_budget_unref(c->budget);
  roam__free(&loop->mem, c);
}

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static void mark_dirty(roam_link *l) {
  if (l->in_dirty || l->state == RT_LINK_DEAD) return;
  l->in_dirty = true;
  l->dirty_next = l->loop->dirty;
  l->loop->dirty = l;
  rt_loop_touch(l->loop);
}

static void schedule_reap(roam_link *l) {
  if (l->in_reap) return;
  l->in_reap = true;
  l->reap_next = l->loop->reap;
  l->loop->reap = l;
  rt_loop_touch(l->loop);
}

static void close_fd(roam_link *l) {
  if (l->io.fd >= 0) {
    rt_io_start(&l->io, 0); /* the watcher stays for the next fd, if any */
    close(l->io.fd);
    l->io.fd = -1;
  }
}

/* The transport is gone (or we give up on it). */
static void link_kill(roam_link *l, int err) {
  if (l->state == RT_LINK_DEAD) return;
  close_fd(l);
  bool reported = l->closed_reported;
  l->state = RT_LINK_DEAD;
  if (l->s && !roam_session_is_closed(l->s)) roam_session_eof(l->s);
  if (!reported && err) l->close_err = err;
  l->closed_reported = true;
  schedule_reap(l);
}

static void update_events(roam_link *l) {
  unsigned ev = 0;
  switch (l->state) {
  case RT_LINK_CONNECTING:
    ev = ROAM_IO_WRITE;
    break;
  case RT_LINK_OPEN:
    if (!l->pause_user && !l->pause_bp && !l->pause_budget) ev |= ROAM_IO_READ;
    /* fallthrough */
  case RT_LINK_FLUSHING:
    if (l->io.events & ROAM_IO_WRITE) ev |= ROAM_IO_WRITE;
    break;
  case RT_LINK_DRAINING:
    ev = ROAM_IO_READ;
    break;
  case RT_LINK_DEAD:
    return;
  }
  if (l->io.fd >= 0 && rt_io_start(&l->io, ev) != 0) link_kill(l, ROAM_ERR_IO);
}

static void set_want_write(roam_link *l, bool on) {
  unsigned ev = l->io.events;
  ev = on ? (ev | ROAM_IO_WRITE) : (ev & ~ROAM_IO_WRITE);
  if (ev != l->io.events && rt_io_start(&l->io, ev) != 0) link_kill(l, ROAM_ERR_IO);
}

/* ------------------------------------------------------------------------ */
/* session callbacks                                                         */
/* ------------------------------------------------------------------------ */

static void cb_ready(roam_session *s, void *ud) {
  roam_link *l = ud;
  l->ready = true;
  l->trim_ready = true;
  rt_log(l->loop, ROAM_LOG_DEBUG, "link %s: Hello exchanged; max payload %lu, initial credit %lu",
         l->peer ? l->peer : "?", (unsigned long)roam_session_max_payload(s),
         (unsigned long)roam_session_initial_credit(s));
  if (l->owner && l->owner->on_ready) l->owner->on_ready(l, l->owner_ctx);
  if (l->conf->opts.on_ready) l->conf->opts.on_ready(l, l->ud);
}

static void cb_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  (void)s;
  roam_link *l = ud;
  if (!l->closed_reported) {
    l->closed_reported = true;
    l->close_err = err;
    rt_log(l->loop, ROAM_LOG_DEBUG, "link %s closed: %s%s%.*s", l->peer ? l->peer : "?",
           err ? roam_strerror(err) : "cleanly", reason.len ? ": " : "", (int)(reason.len > 200 ? 200 : reason.len),
           reason.len ? (const char *)reason.ptr : "");
    if (reason.len && !l->close_reason) {
      l->close_reason = roam__malloc(&l->loop->mem, reason.len);
      if (l->close_reason) {
        memcpy(l->close_reason, reason.ptr, reason.len);
        l->close_reason_len = reason.len;
      }
    }
  }
  switch (l->state) {
  case RT_LINK_CONNECTING:
    /* nothing was sent; the transport is useless now */
    l->abort_req = true;
    schedule_reap(l);
    break;
  case RT_LINK_OPEN:
    l->state = RT_LINK_FLUSHING;
    l->linger_deadline = l->loop->now + l->conf->opts.linger_ms;
    l->loop->has_deadlines = true;
    update_events(l);
    mark_dirty(l);
    break;
  default:
    break;
  }
}

static void cb_connect(roam_session *s, uint64_t connect_id, const roam_metadata *md,
                       void *ud) {
  roam_link *l = ud;
  if (l->conf->opts.on_connect)
    l->conf->opts.on_connect(l, connect_id, md, l->ud);
  else
    roam_session_reject(s, connect_id, "not listening", NULL, 0);
}

static void cb_conn_closed(roam_session *s, uint64_t conn_id, int err, roam_bytes reason,
                           void *ud) {
  (void)s;
  roam_link *l = ud;
  if (l->conf->opts.on_conn_closed) l->conf->opts.on_conn_closed(l, conn_id, err, reason, l->ud);
}

static void cb_want_write(roam_session *s, void *ud) {
  (void)s;
  mark_dirty((roam_link *)ud);
}

static uint64_t link_clock(void *ud) {
  (void)ud;
  return roam_now_ms();
}

static const roam_session_callbacks g_link_cbs = {
    .on_ready = cb_ready,
    .on_closed = cb_closed,
    .on_connect = cb_connect,
    .on_conn_closed = cb_conn_closed,
    .on_want_write = cb_want_write,
};

/* ------------------------------------------------------------------------ */
/* creation                                                                  */
/* ------------------------------------------------------------------------ */

/* ws: the link speaks WebSocket (the session then works on whole messages). */
static int link_alloc(roam_loop *loop, roam_role role, rt_link_conf *conf,
                      const rt_link_owner *owner, void *owner_ctx, const char *peer,
                      const rt_addr *ws, roam_link **out) {
  if (loop->freeing) return ROAM_ERR_STATE;
  roam_link *l = roam__calloc(&loop->mem, sizeof *l);
  if (!l) return ROAM_ERR_NOMEM;
  l->loop = loop;
  l->conf = conf;
  conf->refs++;
  l->owner = owner;
  l->owner_ctx = owner_ctx;
  l->ud = conf->opts.user_data;
  rt_io_init(loop, &l->io, -1, link_on_io, l);
  l->io.embedded = true;
  if (peer && *peer) {
    size_t n = strlen(peer);
    l->peer = roam__malloc(&loop->mem, n + 1);
    if (l->peer) memcpy(l->peer, peer, n + 1);
  }
  roam_session_config cfg = conf->opts.session;
  cfg.role = role;
  cfg.now_ms = loop->now;
  /* Deadlines started from application code count from now, not from the
   * session's last tick (which may be long ago on a quiet link). */
  if (!cfg.clock) cfg.clock = link_clock;
  if (!cfg.mem) cfg.mem = &loop->mem;
  if (!cfg.log) {
    cfg.log = loop->log;
    cfg.log_user_data = loop->log_ud;
  }
  if (!cfg.name && l->peer) cfg.name = l->peer;
  rt_env_session(&cfg); /* ROAM_WIRE_SPY, ROAM_DEBUG */
  if (ws) cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT;
  int r = roam_session_new(&l->s, &cfg, &g_link_cbs, l);
  if (r == 0 && ws && (r = rt_ws_attach(l, ws, role == ROAM_ROLE_ACCEPTOR)) != 0) {
    roam_session_free(l->s);
    l->s = NULL;
  }
  if (r != 0) {
    rt_io_release(&l->io);
    rt_link_conf_unref(loop, conf);
    roam__free(&loop->mem, l->peer);
    roam__free(&loop->mem, l);
    return r;
  }
  if (conf->opts.dispatcher) roam_session_set_dispatcher(l->s, 0, conf->opts.dispatcher);
  l->next = loop->links;
  if (loop->links) loop->links->prev = l;
  loop->links = l;
  loop->nlinks++;
  *out = l;
  return 0;
}

static void link_opened(roam_link *l) {
  l->opened = true;
  if (l->owner && l->owner->on_open) l->owner->on_open(l, l->owner_ctx);
  if (l->conf->opts.on_open) l->conf->opts.on_open(l, l->ud);
}

static void detect_socket(roam_link *l) {
  int type;
  socklen_t len = sizeof type;
  l->is_socket = getsockopt(l->io.fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

int rt_link_create(roam_loop *loop, int fd, roam_role role, rt_link_conf *conf,
                   const rt_link_owner *owner, void *owner_ctx, const char *peer,
                   bool connecting, roam_link **out) {
  (void)connecting;
  roam_link *l;
  int r = link_alloc(loop, role, conf, owner, owner_ctx, peer, NULL, &l);
  if (r != 0) return r;
  l->io.fd = fd;
  detect_socket(l);
  l->state = RT_LINK_OPEN;
  update_events(l);
  mark_dirty(l); /* Hello */
  if (out) *out = l;
  link_opened(l);
  return 0;
}

int rt_link_create_ws(roam_loop *loop, int fd, rt_link_conf *conf, const rt_link_owner *owner,
                      void *owner_ctx, const char *peer, const rt_addr *a) {
  roam_link *l;
  int r = link_alloc(loop, ROAM_ROLE_ACCEPTOR, conf, owner, owner_ctx, peer, a, &l);
  if (r != 0) return r;
  l->io.fd = fd;
  l->is_socket = true;
  l->state = RT_LINK_OPEN; /* the upgrade request comes first; Hello waits for it */
  update_events(l);
  link_opened(l);
  return 0;
}

static void conn_next(roam_link *l);

static void conn_done(roam_link *l) {
  rt_tcp_nodelay(l->io.fd);
  l->state = RT_LINK_OPEN;
  l->conn_deadline = 0;
  detect_socket(l);
  if (l->ws) rt_ws_connected(l); /* the upgrade request */
  update_events(l);
  mark_dirty(l);
}

/* Try the addresses from ai_cur on. */
static void conn_next(roam_link *l) {
  while (l->ai_cur) {
    struct addrinfo *ai = l->ai_cur;
    l->ai_cur = ai->ai_next;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) continue;
    if (ai->ai_family != AF_UNIX) rt_tcp_nodelay(fd);
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (r == 0 || errno == EINPROGRESS) {
      l->io.fd = fd;
      if (r == 0) {
        conn_done(l);
      } else {
        update_events(l); /* wait for writability */
      }
      return;
    }
    close(fd);
  }
  /* nothing worked */
  l->abort_req = true;
  l->fail_err = ROAM_ERR_IO;
  schedule_reap(l);
}

int rt_link_connect(roam_loop *loop, const char *addr, rt_link_conf *conf,
                    const rt_link_owner *owner, void *owner_ctx, roam_link **out) {
  rt_addr a;
  int r = rt_addr_parse(addr, false, &a);
  if (r != 0) return r == ROAM_ERR_INVALID_ARG ? r : ROAM_ERR_ADDRESS;
  if (a.ws && !rt_ws_supported()) {
    rt_log(loop, ROAM_LOG_ERROR, "%s: this build has no WebSocket support (libwslay, nettle)", addr);
    return ROAM_ERR_ADDRESS;
  }
  struct addrinfo *list = NULL;
  if (a.kind == RT_ADDR_UNIX) {
    /* a one-entry list built by hand */
    size_t need = sizeof(struct addrinfo) + sizeof(struct sockaddr_storage);
    list = roam__calloc(&loop->mem, need);
    if (!list) return ROAM_ERR_NOMEM;
    struct sockaddr_storage *ss = (struct sockaddr_storage *)(list + 1);
    list->ai_family = AF_UNIX;
    list->ai_socktype = SOCK_STREAM;
    list->ai_addrlen = rt_addr_unix_sockaddr(&a, ss);
    list->ai_addr = (struct sockaddr *)ss;
  } else {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    if (getaddrinfo(a.host, a.port, &hints, &list) != 0 || !list) {
      hints.ai_flags = 0;
      if (getaddrinfo(a.host, a.port, &hints, &list) != 0 || !list) return ROAM_ERR_ADDRESS;
    }
  }
  roam_link *l;
  r = link_alloc(loop, ROAM_ROLE_INITIATOR, conf, owner, owner_ctx, addr, a.ws ? &a : NULL, &l);
  if (r != 0) {
    if (a.kind == RT_ADDR_UNIX)
      roam__free(&loop->mem, list);
    else
      freeaddrinfo(list);
    return r;
  }
  l->ai_list = list;
  l->ai_cur = list;
  if (a.kind == RT_ADDR_UNIX) l->is_socket = true;
  l->state = RT_LINK_CONNECTING;
  uint64_t cto = conf->opts.connect_timeout_ms ? conf->opts.connect_timeout_ms : 10000;
  l->conn_deadline = loop->now + cto;
  loop->has_deadlines = true;
  rt_loop_touch(loop);
  if (out) *out = l;
  link_opened(l);
  if (l->state == RT_LINK_CONNECTING && !l->abort_req) conn_next(l);
  return 0;
}

static void free_ai(roam_link *l) {
  if (!l->ai_list) return;
  if (l->ai_list->ai_family == AF_UNIX && l->ai_list->ai_canonname == NULL &&
      l->ai_list->ai_next == NULL && l->ai_list->ai_addr == (struct sockaddr *)(l->ai_list + 1))
    roam__free(&l->loop->mem, l->ai_list);
  else
    freeaddrinfo(l->ai_list);
  l->ai_list = l->ai_cur = NULL;
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                       */
/* ------------------------------------------------------------------------ */

static void start_drain(roam_link *l) {
  /* Only a link that said Goodbye itself needs to wait for the peer's EOF
   * (closing with unread input would reset the connection and could destroy
   * the Goodbye); after a timeout or the peer's own Goodbye, close now. */
  bool we_said_goodbye = l->close_err == 0 || l->close_err == ROAM_ERR_PROTOCOL;
  if (!we_said_goodbye || !l->is_socket || shutdown(l->io.fd, SHUT_WR) != 0) {
    link_kill(l, 0);
    return;
  }
  l->state = RT_LINK_DRAINING;
  update_events(l);
  rt_ws_trim(l); /* nothing more is read: a message held in part goes */
}

static bool save_pending(roam_link *l, const uint8_t *data, size_t n) {
  if (l->pend && l->pend_off == l->pend_len) {
    l->pend_off = l->pend_len = 0;
  }
  if (l->pend_len == 0) {
    uint8_t *p = roam__realloc(&l->loop->mem, l->pend, n);
    if (!p) return false;
    l->pend = p;
    memcpy(p, data, n);
    l->pend_len = n;
    l->pend_off = 0;
    return true;
  }
  return false; /* never two pending blocks: reading is paused meanwhile */
}

static void free_pending(roam_link *l) {
  roam__free(&l->loop->mem, l->pend);
  l->pend = NULL;
  l->pend_len = l->pend_off = 0;
}

/* Feed bytes to the session. Returns false if the rest had to be held back
 * (reading pauses) or the link stopped accepting input. */
static bool feed_slices(roam_link *l, const uint8_t *data, size_t n);

static bool feed(roam_link *l, const uint8_t *data, size_t n) {
  l->in_feed = true;
  bool r = feed_slices(l, data, n);
  l->in_feed = false;
  return r;
}

static bool feed_slices(roam_link *l, const uint8_t *data, size_t n) {
  size_t off = 0;
  int spins = 0;
  size_t eager = l->conf->opts.eager_flush_bytes;
  while (off < n) {
    size_t c = 0;
    size_t slice = n - off;
    if (slice > eager) { /* end the slice after the last frame in reach */
      const uint8_t *z = memrchr(data + off, 0, eager);
      if (z) slice = (size_t)(z - (data + off)) + 1;
    }
    int r = roam_session_recv(l->s, data + off, slice, &c);
    off += c;
    if (r != 0 || l->state != RT_LINK_OPEN || roam_session_is_closed(l->s)) return false;
    if (off >= n) break;
    if (c == slice) { /* eager flush: let the peer start on these answers */
      if (roam_session_output_queued(l->s) >= eager) {
        link_flush(l);
        if (l->state != RT_LINK_OPEN) return false;
      }
      continue;
    }
    if (c == 0) {
      /* output above high water: push it out and try again */
      link_flush(l);
      if (l->state != RT_LINK_OPEN) return false;
      if (!roam_session_want_read(l->s) || ++spins > 64) {
        if (!save_pending(l, data + off, n - off)) {
          link_kill(l, ROAM_ERR_NOMEM);
          return false;
        }
        l->pause_bp = true;
        update_events(l);
        return false;
      }
    } else {
      spins = 0;
    }
  }
  return true;
}

/* Output drained below the high-water mark: feed what was held back. */
static void resume_input(roam_link *l) {
  if (l->pend && l->pend_off < l->pend_len) l->loop->activity++; /* callbacks may run */
  while (l->pend && l->pend_off < l->pend_len && l->state == RT_LINK_OPEN &&
         roam_session_want_read(l->s)) {
    size_t c = 0;
    int r = roam_session_recv(l->s, l->pend + l->pend_off, l->pend_len - l->pend_off, &c);
    l->pend_off += c;
    if (r != 0 || roam_session_is_closed(l->s)) {
      free_pending(l);
      return;
    }
    if (c == 0) return; /* still full: wait for the next flush */
  }
  if (l->pend && l->pend_off < l->pend_len) return;
  free_pending(l);
  if (l->pause_bp) {
    l->pause_bp = false;
    update_events(l);
  }
}

static void link_read(roam_link *l) {
  roam_loop *loop = l->loop;
  if (l->state == RT_LINK_DRAINING) {
    for (int i = 0; i < 16; i++) {
      ssize_t n = recv(l->io.fd, loop->rbuf, loop->rbuf_size, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      link_kill(l, 0);
      return;
    }
  }
  if (l->ws) {
    rt_ws_read(l);
    return;
  }
  for (int i = 0; i < 16; i++) {
    if (l->state != RT_LINK_OPEN || l->pause_user || l->pause_bp) return;
    size_t cap = rt_budget_read_limit(l, loop->rbuf_size);
    if (cap == 0) return; /* stalled on the memory budget */
    ssize_t n = l->is_socket ? recv(l->io.fd, loop->rbuf, cap, 0) : read(l->io.fd, loop->rbuf, cap);
    if (n > 0) {
      bool more = feed(l, loop->rbuf, (size_t)n);
      if (l->trim_ready && l->state == RT_LINK_OPEN) rt_link_trim_after_hello(l);
      rt_budget_settle(l);
      if (!more || (size_t)n < cap) return;
      continue;
    }
    if (n == 0) {
      link_kill(l, ROAM_ERR_CLOSED);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    link_kill(l, ROAM_ERR_IO);
    return;
  }
}

static void link_flush(roam_link *l) {
  if (l->state != RT_LINK_OPEN && l->state != RT_LINK_FLUSHING) return;
  if (l->write_failed) return;
  rt_link_busy(l);
  if (l->ws) {
    l->stall_since = l->loop->now; /* (may write: not stuck, budget.c) */
    bool all = rt_ws_flush(l);
    if (l->conf->budget) rt_budget_settle(l);
    if (!all) return;
    goto flushed;
  }
  for (int round = 0; round < 8; round++) {
    for (;;) {
      const uint8_t *p;
      size_t n = sess_out(l->s, &p);
      if (n == 0) break;
      ssize_t w = l->is_socket ? send(l->io.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)
                               : write(l->io.fd, p, n);
      if (w > 0) {
        roam_session_consume(l->s, (size_t)w);
        l->stall_since = l->loop->now; /* writing: not stuck (budget.c) */
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_want_write(l, true);
        /* the output may have fallen below high water all the same */
        if (l->pause_bp) resume_input(l);
        if (l->conf->budget) rt_budget_settle(l);
        return;
      }
      /* The peer is gone. What it sent before leaving (a Goodbye, say) may
       * still wait in the socket: let the session see it first (unless the
       * read buffer is being fed right now: an eager flush, or a send from
       * a callback). */
      l->write_failed = true;
      if (l->state == RT_LINK_OPEN && !l->in_feed) link_read(l);
      link_kill(l, ROAM_ERR_IO);
      return;
    }
    set_want_write(l, false);
    if (l->state == RT_LINK_DEAD) return;
    if (l->pause_bp && l->state == RT_LINK_OPEN) {
      resume_input(l);
      const uint8_t *p;
      if (sess_out(l->s, &p) > 0) continue; /* answers to what was fed */
    }
    break;
  }
  if (l->trim_ready) rt_link_trim_after_hello(l);
  if (l->conf->budget) rt_budget_settle(l);
flushed:
  if (l->state == RT_LINK_FLUSHING && roam_session_is_done(l->s)) start_drain(l);
  if (l->want_drain && l->state == RT_LINK_OPEN && rt_link_out(l) <= rt_link_low_water(l)) {
    l->want_drain = false;
    l->loop->activity++;
    if (l->owner && l->owner->on_drain) l->owner->on_drain(l, l->owner_ctx);
  }
}

void rt_link_kick(roam_link *l) { mark_dirty(l); }
void rt_link_kill(roam_link *l, int err) { link_kill(l, err); }
void rt_link_update_events(roam_link *l) { update_events(l); }
void rt_link_set_want_write(roam_link *l, bool on) { set_want_write(l, on); }

void rt_link_flush_now(roam_link *l) { link_flush(l); }

size_t rt_link_out(const roam_link *l) {
  if (l->ws) return rt_ws_out(l);
  return l->s ? roam_session_output_queued(l->s) : 0;
}

size_t rt_link_low_water(const roam_link *l) {
  size_t hw = l->conf->opts.session.output_high_water;
  if (!hw) hw = 4u << 20;
  return hw / 2;
}

static void link_on_io(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w;
  (void)fd;
  roam_link *l = ud;
  if (l->io.fd < 0 || l->state == RT_LINK_DEAD) return; /* stale event */
  rt_link_busy(l);
  if (l->state == RT_LINK_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(l->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err == 0 && (events & ROAM_IO_WRITE)) {
      conn_done(l);
      return;
    }
    if (err == 0 && !(events & ROAM_IO_ERROR)) return;
    close_fd(l);
    conn_next(l);
    return;
  }
  bool handled = false;
  if (events & ROAM_IO_READ) {
    link_read(l);
    handled = true;
  }
  if ((events & ROAM_IO_WRITE) && l->state != RT_LINK_DEAD) {
    link_flush(l);
    handled = true;
  }
  if ((events & ROAM_IO_ERROR) && !handled && l->state != RT_LINK_DEAD) link_kill(l, ROAM_ERR_IO);
}

/* ------------------------------------------------------------------------ */
/* loop phases                                                               */
/* ------------------------------------------------------------------------ */

void rt_links_flush_dirty(roam_loop *loop) {
  while (loop->dirty) {
    roam_link *l = loop->dirty;
    loop->dirty = l->dirty_next;
    l->in_dirty = false;
    l->dirty_next = NULL;
    link_flush(l);
  }
}

/* An idle sweep: a link without I/O since the last two sweeps gives its
 * buffers back. Returns whether a link may still need one. */
static bool link_sweep(roam_link *l) {
  if (l->idle_sweeps >= RT_IDLE_TRIM) return false;
  if (++l->idle_sweeps < RT_IDLE_TRIM) return true;
  if (l->state == RT_LINK_DEAD || !l->s) return false;
  roam_session_trim(l->s);
  rt_ws_trim(l);
  return false;
}

uint64_t rt_links_timeouts(roam_loop *loop) {
  uint64_t now = loop->now, min = UINT64_MAX;
  bool sweep = now >= loop->sweep_due, again = false;
  bool stalled = loop->budget_stalled > 0;
  for (roam_link *l = loop->links; l; l = l->next) {
    if (sweep && link_sweep(l)) again = true;
    if (stalled && l->pause_budget) {
      uint64_t t = rt_budget_check(l, now);
      if (t < min) min = t;
    }
    switch (l->state) {
    case RT_LINK_DEAD:
      continue;
    case RT_LINK_CONNECTING:
      if (l->conn_deadline && now >= l->conn_deadline) {
        link_kill(l, ROAM_ERR_TIMEOUT);
        continue;
      }
      if (l->conn_deadline && l->conn_deadline < min) min = l->conn_deadline;
      break;
    case RT_LINK_FLUSHING:
    case RT_LINK_DRAINING:
      if (now >= l->linger_deadline) {
        link_kill(l, 0);
        continue;
      }
      if (l->linger_deadline < min) min = l->linger_deadline;
      break;
    default:
      break;
    }
    uint64_t nt = roam_session_next_timeout(l->s);
    if (nt <= now) {
      loop->activity++;
      roam_session_tick(l->s, now);
      nt = roam_session_next_timeout(l->s);
    }
    if (nt < min) min = nt;
  }
  if (sweep) {
    if (again)
      rt_loop_arm_sweep(loop, now + RT_IDLE_SWEEP_MS);
    else
      loop->sweep_due = UINT64_MAX;
  }
  if (loop->sweep_due < min && !loop->sweep_io) min = loop->sweep_due;
  return min;
}

static void link_destroy(roam_link *l) {
  roam_loop *loop = l->loop;
  if (l->prev)
    l->prev->next = l->next;
  else
    loop->links = l->next;
  if (l->next) l->next->prev = l->prev;
  loop->nlinks--;
  if (l->in_dirty) {
    /* unlink from the dirty list */
    roam_link **pp = &loop->dirty;
    while (*pp && *pp != l) pp = &(*pp)->dirty_next;
    if (*pp) *pp = l->dirty_next;
  }
  l->state = RT_LINK_DEAD;
  rt_budget_unstall(l);
  if (l->conf->budget) rt_budget_settle(l); /* gives back all it was charged */
  rt_jobs_link_gone(l); /* their requests go with the session */
  roam_session_free(l->s);
  rt_ws_detach(l);
  rt_io_release(&l->io);
  free_ai(l);
  free_pending(l);
  roam__free(&loop->mem, l->close_reason);
  roam__free(&loop->mem, l->peer);
  rt_link_conf_unref(loop, l->conf);
  roam__free(&loop->mem, l);
}

void rt_links_reap(roam_loop *loop) {
  while (loop->reap) {
    roam_link *l = loop->reap;
    loop->reap = l->reap_next;
    l->in_reap = false;
    if (l->state != RT_LINK_DEAD) {
      if (!l->abort_req) continue;
      l->in_reap = true; /* keep link_kill from queueing it again */
      link_kill(l, l->fail_err ? l->fail_err : ROAM_ERR_CLOSED);
      l->in_reap = false;
    }
    loop->activity++;
    roam_bytes reason = {l->close_reason, l->close_reason_len};
    if (l->opened && l->conf->opts.on_close) l->conf->opts.on_close(l, l->close_err, reason, l->ud);
    if (l->owner && l->owner->on_close) l->owner->on_close(l, l->close_err, reason, l->owner_ctx);
    link_destroy(l);
  }
}

void rt_links_free_all(roam_loop *loop) {
  while (loop->links) {
    for (roam_link *l = loop->links; l; l = l->next) {
      if (l->state != RT_LINK_DEAD) {
        l->abort_req = true;
        schedule_reap(l);
      }
    }
    rt_links_reap(loop);
  }
}

/* ------------------------------------------------------------------------ */
/* public API                                                                */
/* ------------------------------------------------------------------------ */

int roam_link_connect(roam_loop *loop, const char *addr, const roam_link_options *opts,
                      roam_link **out) {
  if (!loop || !addr) return ROAM_ERR_INVALID_ARG;
  rt_link_conf *c;
  int r = rt_link_conf_new(loop, opts, &c);
  if (r != 0) return r;
  r = rt_link_connect(loop, addr, c, NULL, NULL, out);
  rt_link_conf_unref(loop, c);
  return r;
}

int roam_link_open_fd(roam_loop *loop, int fd, roam_role role, const roam_link_options *opts,
                      roam_link **out) {
  if (!loop || fd < 0) return ROAM_ERR_INVALID_ARG;
  if (rt_set_nonblock(fd) != 0) return ROAM_ERR_IO;
  rt_link_conf *c;
  int r = rt_link_conf_new(loop, opts, &c);
  if (r != 0) return r;
  char peer[160] = "";
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
    rt_sockaddr_text((struct sockaddr *)&ss, len, peer, sizeof peer);
  r = rt_link_create(loop, fd, role, c, NULL, NULL, peer, false, out);
  rt_link_conf_unref(loop, c);
  return r;
}

roam_session *roam_link_session(const roam_link *link) { return link ? link->s : NULL; }
roam_loop *roam_link_loop(const roam_link *link) { return link ? link->loop : NULL; }
void *roam_link_user_data(const roam_link *link) { return link ? link->ud : NULL; }
void roam_link_set_user_data(roam_link *link, void *ud) {
  if (link) link->ud = ud;
}
int roam_link_fd(const roam_link *link) { return link ? link->io.fd : -1; }
const char *roam_link_peer(const roam_link *link) {
  return link && link->peer ? link->peer : "";
}
bool roam_link_is_ready(const roam_link *link) {
  return link && link->ready && link->state == RT_LINK_OPEN;
}

int roam_link_close(roam_link *link) {
  if (!link) return ROAM_ERR_INVALID_ARG;
  if (link->state == RT_LINK_DEAD) return ROAM_ERR_CLOSED;
  if (link->state == RT_LINK_CONNECTING) {
    roam_link_abort(link);
    return 0;
  }
  if (roam_session_is_closed(link->s)) return 0;
  int r = roam_session_close(link->s);
  mark_dirty(link);
  return r;
}

void roam_link_abort(roam_link *link) {
  if (!link || link->state == RT_LINK_DEAD) return;
  link->abort_req = true;
  schedule_reap(link);
}

void roam_link_pause_read(roam_link *link, bool pause) {
  if (!link || link->pause_user == pause) return;
  link->pause_user = pause;
  update_events(link);
}

size_t roam_link_output_pending(const roam_link *link) {
  if (!link || !link->s) return 0;
  if (link->ws) return rt_ws_out(link);
  return roam_session_output_queued(link->s);
}
