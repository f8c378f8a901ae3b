/*
 * Client: one outgoing link, blocking and callback calls, lazy connect and
 * reconnect with exponential backoff, thread-safe submission.
 *
 * States: IDLE (no link) -> CONNECTING (one attempt in progress) -> READY;
 * a failed attempt goes to BACKOFF (timer) and then CONNECTING again, or,
 * once max_attempts attempts failed, back to IDLE with every waiting call
 * failed with ROAM_ERR_RETRIES_EXHAUSTED. A client without reconnect goes
 * to DEAD instead of IDLE. Calls made while not READY wait in a FIFO queue
 * (payload and metadata copied) and start when the handshake completes; so
 * only one attempt is ever in progress and every caller waits for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"

typedef enum { C_IDLE, C_CONNECTING, C_READY, C_BACKOFF, C_DEAD } c_state;

typedef struct rt_ccall {
  struct rt_ccall *prev, *next; /* waiting queue */
  roam_client *c;
  uint64_t method;
  uint8_t *payload; /* owned copy while queued */
  size_t len;
  roam_call_opts opts;
  roam_meta_entry *md; /* owned copy while queued */
  uint64_t queued_at;
  roam_reply_cb cb;
  void *ud;
  roam_pending *pending;
  bool queued;
  bool started;
  roam_session *s;
  uint64_t conn_id, request_id;
} rt_ccall;

struct roam_pending {
  roam_mem mem;
  roam_client *c;
  rt_ccall *call; /* NULL once done */
  bool done;
  roam_reply reply;
};

struct roam_client {
  roam_loop *loop;
  bool own_loop;
  char *addr;
  roam_client_options opts;
  rt_link_conf *conf;
  roam_link *link;
  c_state state;
  uint32_t attempt;
  bool attempt_timed_out;
  int last_err;
  uint32_t fail_seq; /* bumped each time an attempt sequence gives up */
  uint32_t connections;
  roam_timer *attempt_timer;
  roam_timer *backoff_timer;
  rt_ccall *qhead, *qtail;
  roam_client *prev, *next; /* loop->clients */
};

void roam_retry_policy_init(roam_retry_policy *p) {
  p->max_attempts = 3;
  p->initial_delay_ms = 100;
  p->max_delay_ms = 5000;
  p->multiplier = 2;
}

void roam_client_options_init(roam_client_options *opts) {
  memset(opts, 0, sizeof *opts);
  roam_link_options_init(&opts->link);
  roam_retry_policy_init(&opts->retry);
  opts->connect_timeout_ms = 5000;
}

static const roam_mem *cmem(roam_client *c) { return &c->loop->mem; }

/* ------------------------------------------------------------------------ */
/* replies                                                                   */
/* ------------------------------------------------------------------------ */

void roam_reply_free(roam_reply *r) {
  if (!r) return;
  if (r->value && r->mem.free) r->mem.free(r->value, r->mem.user_data);
  r->value = NULL;
  r->value_len = 0;
}

static void reply_fill(const roam_mem *mem, const roam_call_result *res, roam_reply *out) {
  memset(out, 0, sizeof *out);
  out->status = res->status;
  out->mem = *mem;
  if (res->value.len) {
    out->value = roam__malloc(mem, res->value.len);
    if (!out->value) {
      out->status = ROAM_ERR_NOMEM;
      return;
    }
    memcpy(out->value, res->value.ptr, res->value.len);
    out->value_len = res->value.len;
  }
}

static void call_free(roam_client *c, rt_ccall *k) {
  const roam_mem *m = c ? cmem(c) : NULL;
  if (!m) return;
  roam__free(m, k->payload);
  roam__free(m, k->md);
  roam__free(m, k);
}

/* Complete a call record: hand the result to its pending handle or its
 * callback, then free it. */
static void deliver(rt_ccall *k, const roam_call_result *res) {
  roam_client *c = k->c;
  if (k->pending) {
    reply_fill(cmem(c), res, &k->pending->reply);
    k->pending->done = true;
    k->pending->call = NULL;
  } else if (k->cb) {
    k->cb(c, res, k->ud);
  }
  call_free(c, k);
}

static void deliver_status(rt_ccall *k, int status) {
  roam_call_result res;
  memset(&res, 0, sizeof res);
  res.status = status;
  res.conn_id = k->opts.conn_id;
  deliver(k, &res);
}

static void on_call_done(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  deliver((rt_ccall *)ud, res);
}

/* ------------------------------------------------------------------------ */
/* queue                                                                     */
/* ------------------------------------------------------------------------ */

static void q_push(roam_client *c, rt_ccall *k) {
  k->queued = true;
  k->next = NULL;
  k->prev = c->qtail;
  if (c->qtail)
    c->qtail->next = k;
  else
    c->qhead = k;
  c->qtail = k;
}

static void q_remove(roam_client *c, rt_ccall *k) {
  if (!k->queued) return;
  if (k->prev)
    k->prev->next = k->next;
  else
    c->qhead = k->next;
  if (k->next)
    k->next->prev = k->prev;
  else
    c->qtail = k->prev;
  k->prev = k->next = NULL;
  k->queued = false;
}

static void fail_queue(roam_client *c, int status) {
  while (c->qhead) {
    rt_ccall *k = c->qhead;
    q_remove(c, k);
    deliver_status(k, status);
  }
}

/* Own the payload and metadata of a call that has to wait. */
static int call_copy(roam_client *c, rt_ccall *k, const void *payload) {
  if (k->len) {
    k->payload = roam__malloc(cmem(c), k->len);
    if (!k->payload) return ROAM_ERR_NOMEM;
    memcpy(k->payload, payload, k->len);
  }
  size_t n = k->opts.metadata_count;
  if (n && k->opts.metadata) {
    size_t bytes = n * sizeof(roam_meta_entry);
    for (size_t i = 0; i < n; i++)
      bytes += k->opts.metadata[i].key.len + k->opts.metadata[i].value.len;
    k->md = roam__malloc(cmem(c), bytes);
    if (!k->md) return ROAM_ERR_NOMEM;
    uint8_t *p = (uint8_t *)(k->md + n);
    for (size_t i = 0; i < n; i++) {
      const roam_meta_entry *e = &k->opts.metadata[i];
      k->md[i] = *e;
      if (e->key.len) memcpy(p, e->key.ptr, e->key.len);
      k->md[i].key.ptr = p;
      p += e->key.len;
      if (e->value.len) memcpy(p, e->value.ptr, e->value.len);
      k->md[i].value.ptr = p;
      p += e->value.len;
    }
    k->opts.metadata = k->md;
  }
  return 0;
}

/* Start a call on the current session. */
static int call_start(roam_client *c, rt_ccall *k, const void *payload) {
  roam_session *s = roam_link_session(c->link);
  roam_call_opts o = k->opts;
  if (k->queued_at && o.timeout_ms) {
    uint64_t waited = c->loop->now - k->queued_at;
    o.timeout_ms = waited >= o.timeout_ms ? 1 : o.timeout_ms - waited;
  }
  uint64_t rid = 0;
  int r = roam_call(s, k->method, payload, k->len, &o, on_call_done, k, &rid);
  if (r == 0) {
    k->started = true;
    k->s = s;
    k->conn_id = o.conn_id;
    k->request_id = rid;
  }
  return r;
}

static void start_attempt(roam_client *c);

static void ensure_connecting(roam_client *c) {
  if (c->state == C_IDLE) {
    c->attempt = 0;
    start_attempt(c);
  }
}

/* Start or queue. Returns an error only when the call could not be
 * accepted at all (then nothing of it remains). */
static int submit_call(roam_client *c, rt_ccall *k, const void *payload) {
  bool needs_session = k->opts.channel_count > 0 || k->opts.conn_id != 0;
  if (c->state == C_READY && !needs_session &&
      (c->qhead || rt_link_out(c->link) > rt_link_low_water(c->link))) {
    /* Backpressure: the link's output is above half its high-water mark.
     * Hold the call here rather than in the session, so that the session
     * keeps consuming the peer's answers (a session stops reading while its
     * output is above the mark, and two peers that both did that would wait
     * for each other forever). */
    int r = call_copy(c, k, payload);
    if (r != 0) return r;
    k->queued_at = c->loop->now;
    q_push(c, k);
    c->link->want_drain = true;
    rt_link_kick(c->link); /* the next flush reports the drain */
    return 0;
  }
  if (c->state == C_READY) {
    int r = call_start(c, k, payload);
    if (r != ROAM_ERR_CLOSED || !c->opts.reconnect || needs_session) return r;
    /* the link is going away: forget it and reconnect */
    roam_link *old = c->link;
    c->link = NULL;
    old->owner = NULL;
    c->state = C_IDLE;
  }
  if (needs_session) return ROAM_ERR_STATE;
  if (c->state == C_DEAD) return ROAM_ERR_CLOSED;
  int r = call_copy(c, k, payload);
  if (r != 0) return r;
  k->queued_at = c->loop->now;
  q_push(c, k);
  ensure_connecting(c);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* connection attempts                                                       */
/* ------------------------------------------------------------------------ */

/* Start waiting calls in order while the output has room. */
static void start_queued(roam_client *c) {
  while (c->qhead && c->state == C_READY) {
    if (rt_link_out(c->link) > rt_link_low_water(c->link)) {
      c->link->want_drain = true;
      return;
    }
    rt_ccall *k = c->qhead;
    q_remove(c, k);
    int r = call_start(c, k, k->payload);
    if (r != 0) {
      deliver_status(k, r);
    } else {
      roam__free(cmem(c), k->payload);
      k->payload = NULL;
      roam__free(cmem(c), k->md);
      k->md = NULL;
      k->opts.metadata = NULL;
    }
  }
}

static void own_drain(roam_link *l, void *ctx) {
  roam_client *c = ctx;
  if (l == c->link) start_queued(c);
}

static void own_ready(roam_link *l, void *ctx) {
  roam_client *c = ctx;
  if (l != c->link) return;
  c->state = C_READY;
  c->connections++;
  c->attempt = 0;
  roam_timer_stop(c->attempt_timer);
  start_queued(c);
}

static uint64_t backoff_delay(const roam_retry_policy *p, uint32_t attempt) {
  uint64_t d = p->initial_delay_ms;
  uint32_t m = p->multiplier ? p->multiplier : 1;
  for (uint32_t i = 1; i < attempt && d < p->max_delay_ms; i++) d *= m;
  return d > p->max_delay_ms ? p->max_delay_ms : d;
}

static void attempt_failed(roam_client *c, int err) {
  c->last_err = err;
  if (!c->opts.reconnect) {
    c->state = C_DEAD;
    c->fail_seq++;
    fail_queue(c, err);
    return;
  }
  uint32_t max = c->opts.retry.max_attempts ? c->opts.retry.max_attempts : 1;
  if (c->attempt >= max) {
    rt_log(c->loop, ROAM_LOG_WARN, "client %s: %u connection attempts failed (%s)", c->addr,
           (unsigned)c->attempt, roam_strerror(err));
    c->state = C_IDLE;
    c->attempt = 0;
    c->fail_seq++;
    fail_queue(c, ROAM_ERR_RETRIES_EXHAUSTED);
    return;
  }
  c->state = C_BACKOFF;
  roam_timer_start(c->backoff_timer, backoff_delay(&c->opts.retry, c->attempt), 0);
}

static void own_close(roam_link *l, int err, roam_bytes reason, void *ctx) {
  (void)reason;
  roam_client *c = ctx;
  if (l != c->link) return;
  c->link = NULL;
  roam_timer_stop(c->attempt_timer);
  if (c->state == C_CONNECTING) {
    int e = c->attempt_timed_out ? ROAM_ERR_TIMEOUT : (err ? err : ROAM_ERR_CLOSED);
    if (e == ROAM_ERR_PROTOCOL) e = ROAM_ERR_CLOSED;
    attempt_failed(c, e);
    return;
  }
  c->last_err = err ? err : ROAM_ERR_CLOSED;
  if (c->opts.reconnect) {
    c->state = C_IDLE;
    if (c->qhead) ensure_connecting(c);
  } else {
    c->state = C_DEAD;
    fail_queue(c, ROAM_ERR_CLOSED);
  }
}

static const rt_link_owner g_client_owner = {
    .on_open = NULL,
    .on_ready = own_ready,
    .on_close = own_close,
    .on_drain = own_drain,
};

static void start_attempt(roam_client *c) {
  c->attempt++;
  c->attempt_timed_out = false;
  c->state = C_CONNECTING;
  roam_link *l = NULL;
  int r = rt_link_connect(c->loop, c->addr, c->conf, &g_client_owner, c, &l);
  if (r != 0) {
    /* unusable address or no memory: retrying will not help */
    c->last_err = r;
    c->state = c->opts.reconnect ? C_IDLE : C_DEAD;
    c->attempt = 0;
    c->fail_seq++;
    fail_queue(c, r);
    return;
  }
  c->link = l;
  roam_timer_start(c->attempt_timer, c->opts.connect_timeout_ms ? c->opts.connect_timeout_ms : 5000,
                   0);
}

static void on_attempt_timeout(roam_timer *t, void *ud) {
  (void)t;
  roam_client *c = ud;
  if (c->state != C_CONNECTING || !c->link) return;
  c->attempt_timed_out = true;
  roam_link_abort(c->link);
}

static void on_backoff(roam_timer *t, void *ud) {
  (void)t;
  roam_client *c = ud;
  if (c->state == C_BACKOFF) start_attempt(c);
}

/* ------------------------------------------------------------------------ */
/* lifecycle                                                                 */
/* ------------------------------------------------------------------------ */

int roam_client_new(roam_client **out, const char *addr, const roam_client_options *opts) {
  if (!out || !addr) return ROAM_ERR_INVALID_ARG;
  *out = NULL;
  roam_client_options def;
  if (!opts) {
    roam_client_options_init(&def);
    opts = &def;
  }
  rt_addr a;
  int r = rt_addr_parse(addr, false, &a);
  if (r != 0) return ROAM_ERR_ADDRESS;
  roam_loop *loop = opts->loop;
  bool own = false;
  if (!loop) {
    roam_loop_options lo;
    roam_loop_options_init(&lo);
    lo.mem = opts->link.session.mem;
    lo.log = opts->link.session.log;
    lo.log_user_data = opts->link.session.log_user_data;
    lo.read_buffer_size = 256 * 1024;
    r = roam_loop_new(&loop, &lo);
    if (r != 0) return r;
    own = true;
  } else if (loop->freeing) {
    return ROAM_ERR_STATE;
  }
  roam_client *c = roam__calloc(&loop->mem, sizeof *c);
  if (!c) goto nomem;
  c->loop = loop;
  c->own_loop = own;
  c->opts = *opts;
  c->opts.loop = loop;
  size_t n = strlen(addr);
  c->addr = roam__malloc(&loop->mem, n + 1);
  if (!c->addr) goto nomem;
  memcpy(c->addr, addr, n + 1);
  roam_link_options lo = opts->link;
  if (!lo.connect_timeout_ms || (opts->connect_timeout_ms && opts->connect_timeout_ms < lo.connect_timeout_ms))
    lo.connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms : 5000;
  if (rt_link_conf_new(loop, &lo, &c->conf) != 0) goto nomem;
  if (roam_timer_new(loop, on_attempt_timeout, c, &c->attempt_timer) != 0) goto nomem;
  if (roam_timer_new(loop, on_backoff, c, &c->backoff_timer) != 0) goto nomem;
  c->next = loop->clients;
  if (loop->clients) loop->clients->prev = c;
  loop->clients = c;
  c->state = C_IDLE;
  if (!opts->reconnect) start_attempt(c);
  if (c->state == C_DEAD) {
    r = c->last_err;
    roam_client_free(c);
    return r;
  }
  *out = c;
  return 0;
nomem:
  if (c) {
    roam_timer_free(c->attempt_timer);
    roam_timer_free(c->backoff_timer);
    rt_link_conf_unref(loop, c->conf);
    roam__free(&loop->mem, c->addr);
    roam__free(&loop->mem, c);
  }
  if (own) roam_loop_free(loop);
  return ROAM_ERR_NOMEM;
}

typedef struct {
  roam_client *c;
  uint32_t seq;
} ready_wait;

static bool ready_cond(void *ud) {
  ready_wait *w = ud;
  return w->c->state == C_READY || w->c->state == C_DEAD || w->c->fail_seq != w->seq;
}

int roam_client_wait_ready(roam_client *c, uint64_t timeout_ms) {
  if (!c) return ROAM_ERR_INVALID_ARG;
  if (c->state == C_READY) return 0;
  if (c->state == C_DEAD) return c->last_err ? c->last_err : ROAM_ERR_CLOSED;
  ready_wait w = {c, c->fail_seq};
  ensure_connecting(c);
  if (c->fail_seq != w.seq) return c->last_err;
  int r = roam_loop_run_until(c->loop, ready_cond, &w, timeout_ms);
  if (r != 0) return r;
  if (c->state == C_READY) return 0;
  if (c->state == C_DEAD) return c->last_err ? c->last_err : ROAM_ERR_CLOSED;
  return c->opts.reconnect ? ROAM_ERR_RETRIES_EXHAUSTED : c->last_err;
}

int roam_client_connect(roam_client **out, const char *addr, const roam_client_options *opts,
                        uint64_t timeout_ms) {
  roam_client *c;
  int r = roam_client_new(&c, addr, opts);
  if (r != 0) return r;
  r = roam_client_wait_ready(c, timeout_ms);
  if (r != 0) {
    roam_client_free(c);
    return r;
  }
  *out = c;
  return 0;
}

void roam_client_free(roam_client *c) {
  if (!c) return;
  roam_loop *loop = c->loop;
  if (c->prev)
    c->prev->next = c->next;
  else
    loop->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  c->state = C_DEAD;
  fail_queue(c, ROAM_ERR_CLOSED);
  roam_timer_free(c->attempt_timer);
  roam_timer_free(c->backoff_timer);
  c->attempt_timer = c->backoff_timer = NULL;
  roam_link *l = c->link;
  if (l) {
    /* calls in flight complete now (ROAM_ERR_CLOSED), with c still valid */
    roam_link_close(l);
    if (l->state != RT_LINK_DEAD && roam_link_session(l) && !roam_session_is_closed(l->s))
      roam_link_abort(l);
    l->owner = NULL;
    c->link = NULL;
  }
  rt_link_conf_unref(loop, c->conf);
  roam__free(&loop->mem, c->addr);
  bool own = c->own_loop;
  roam__free(&loop->mem, c);
  if (own) {
    if (!atomic_load(&loop->running)) rt_links_flush_dirty(loop); /* send the Goodbye */
    roam_loop_free(loop);
  }
}

void rt_client_free_all(roam_loop *loop) {
  while (loop->clients) roam_client_free(loop->clients);
}

roam_loop *roam_client_loop(const roam_client *c) { return c ? c->loop : NULL; }
roam_link *roam_client_link(const roam_client *c) {
  return c && c->state == C_READY ? c->link : (c ? c->link : NULL);
}
roam_session *roam_client_session(const roam_client *c) {
  return c && c->link ? roam_link_session(c->link) : NULL;
}
bool roam_client_is_ready(const roam_client *c) { return c && c->state == C_READY; }
uint32_t roam_client_connection_count(const roam_client *c) { return c ? c->connections : 0; }

/* ------------------------------------------------------------------------ */
/* calls                                                                     */
/* ------------------------------------------------------------------------ */

static rt_ccall *call_new(roam_client *c, uint64_t method, size_t len, const roam_call_opts *opts) {
  rt_ccall *k = roam__calloc(cmem(c), sizeof *k);
  if (!k) return NULL;
  k->c = c;
  k->method = method;
  k->len = len;
  if (opts) k->opts = *opts;
  return k;
}

int roam_client_call_async(roam_client *c, uint64_t method_id, const void *payload, size_t len,
                           const roam_call_opts *opts, roam_reply_cb cb, void *ud) {
  if (!c || (len && !payload)) return ROAM_ERR_INVALID_ARG;
  rt_ccall *k = call_new(c, method_id, len, opts);
  if (!k) return ROAM_ERR_NOMEM;
  k->cb = cb;
  k->ud = ud;
  int r = submit_call(c, k, payload);
  if (r != 0) call_free(c, k);
  return r;
}

int roam_client_call_start(roam_client *c, uint64_t method_id, const void *payload, size_t len,
                           const roam_call_opts *opts, roam_pending **out) {
  if (!c || !out || (len && !payload)) return ROAM_ERR_INVALID_ARG;
  roam_pending *p = roam__calloc(cmem(c), sizeof *p);
  if (!p) return ROAM_ERR_NOMEM;
  rt_ccall *k = call_new(c, method_id, len, opts);
  if (!k) {
    roam__free(cmem(c), p);
    return ROAM_ERR_NOMEM;
  }
  p->c = c;
  p->call = k;
  p->mem = *cmem(c);
  p->reply.mem = p->mem;
  k->pending = p;
  int r = submit_call(c, k, payload);
  if (r != 0) {
    call_free(c, k);
    roam__free(cmem(c), p);
    return r;
  }
  *out = p;
  return 0;
}

static bool pending_cond(void *ud) { return ((roam_pending *)ud)->done; }

int roam_pending_wait(roam_pending *p, uint64_t timeout_ms, roam_reply *out) {
  if (!p || !out) return ROAM_ERR_INVALID_ARG;
  memset(out, 0, sizeof *out);
  if (!p->done) {
    int r = roam_loop_run_until(p->c->loop, pending_cond, p, timeout_ms);
    if (!p->done) {
      out->status = r ? r : ROAM_ERR_TIMEOUT;
      return out->status;
    }
  }
  *out = p->reply;
  memset(&p->reply, 0, sizeof p->reply);
  return out->status;
}

bool roam_pending_done(const roam_pending *p) { return p && p->done; }

void roam_pending_free(roam_pending *p) {
  if (!p) return;
  rt_ccall *k = p->call;
  roam_mem mem = p->mem;
  if (k) {
    roam_client *c = k->c;
    k->pending = NULL;
    if (k->queued) {
      q_remove(c, k);
      call_free(c, k);
    } else if (k->started) {
      /* the answer is dropped when it comes */
      roam_call_cancel(k->s, k->conn_id, k->request_id);
    }
  }
  roam_reply_free(&p->reply);
  roam__free(&mem, p);
}

int roam_client_call(roam_client *c, uint64_t method_id, const void *payload, size_t len,
                     const roam_call_opts *opts, roam_reply *out) {
  if (!out) return ROAM_ERR_INVALID_ARG;
  memset(out, 0, sizeof *out);
  if (!c) return out->status = ROAM_ERR_INVALID_ARG;
  if (atomic_load(&c->loop->running)) return out->status = ROAM_ERR_STATE;
  roam_pending *p;
  int r = roam_client_call_start(c, method_id, payload, len, opts, &p);
  if (r != 0) return out->status = r;
  uint64_t to = opts && opts->timeout_ms ? opts->timeout_ms : UINT64_MAX;
  r = roam_pending_wait(p, to, out);
  if (!p->done) {
    roam_pending_free(p);
    out->status = r;
    return r;
  }
  roam_pending_free(p);
  return out->status;
}

/* ------------------------------------------------------------------------ */
/* virtual connections                                                       */
/* ------------------------------------------------------------------------ */

/* On the heap: if the wait ends early (the loop failed), the session's
 * answer still comes later and frees it. */
typedef struct rt_opening {
  bool done, abandoned;
  int status;
  uint64_t conn_id;
  roam_mem mem;
} rt_opening;

static void opening_cb(roam_session *s, int status, uint64_t conn_id, roam_bytes reason,
                       const roam_metadata *md, void *ud) {
  (void)s, (void)reason, (void)md;
  rt_opening *o = ud;
  if (o->abandoned) {
    roam_mem mem = o->mem;
    roam__free(&mem, o);
    return;
  }
  o->done = true;
  o->status = status;
  o->conn_id = conn_id;
}

static bool opening_done(void *ud) { return ((rt_opening *)ud)->done; }

int roam_client_open_connection(roam_client *c, const roam_meta_entry *md, size_t md_count,
                                uint64_t timeout_ms, uint64_t *conn_id) {
  if (!c || !conn_id || (md_count && !md)) return ROAM_ERR_INVALID_ARG;
  if (atomic_load(&c->loop->running) || c->state != C_READY) return ROAM_ERR_STATE;
  rt_opening *o = roam__calloc(cmem(c), sizeof *o);
  if (!o) return ROAM_ERR_NOMEM;
  o->mem = c->loop->mem;
  int r = roam_session_connect(roam_client_session(c), md, md_count, timeout_ms, opening_cb, o);
  if (r != 0) {
    roam__free(cmem(c), o);
    return r;
  }
  /* the session answers in every case: accepted, rejected, timeout, closed */
  r = roam_loop_run_until(c->loop, opening_done, o, UINT64_MAX);
  if (!o->done) {
    o->abandoned = true;
    return r ? r : ROAM_ERR_STATE;
  }
  r = o->status;
  if (r == 0) *conn_id = o->conn_id;
  roam__free(cmem(c), o);
  return r;
}

/* ------------------------------------------------------------------------ */
/* thread-safe submission                                                    */
/* ------------------------------------------------------------------------ */

typedef struct rt_submit {
  roam_client *c;
  uint64_t method;
  uint8_t *payload;
  size_t len;
  uint64_t timeout;
  roam_reply_cb cb;
  void *ud;
  roam_mem mem;
} rt_submit;

static void submit_task(roam_loop *loop, void *ud) {
  rt_submit *t = ud;
  int r = ROAM_ERR_CLOSED;
  if (loop) {
    roam_call_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = t->timeout;
    r = roam_client_call_async(t->c, t->method, t->payload, t->len, &o, t->cb, t->ud);
  }
  if (r != 0 && t->cb) {
    roam_call_result res;
    memset(&res, 0, sizeof res);
    res.status = r;
    t->cb(t->c, &res, t->ud);
  }
  roam__free(&t->mem, t->payload);
  roam__free(&t->mem, t);
}

int roam_client_submit(roam_client *c, uint64_t method_id, const void *payload, size_t len,
                       uint64_t timeout_ms, roam_reply_cb cb, void *ud) {
  if (!c || (len && !payload)) return ROAM_ERR_INVALID_ARG;
  /* the loop's allocator must be usable from any thread (libc's is) */
  const roam_mem *mem = &c->loop->mem;
  rt_submit *t = roam__calloc(mem, sizeof *t);
  if (!t) return ROAM_ERR_NOMEM;
  t->mem = *mem;
  if (len) {
    t->payload = roam__malloc(mem, len);
    if (!t->payload) {
      roam__free(mem, t);
      return ROAM_ERR_NOMEM;
    }
    memcpy(t->payload, payload, len);
  }
  t->c = c;
  t->method = method_id;
  t->len = len;
  t->timeout = timeout_ms;
  t->cb = cb;
  t->ud = ud;
  int r = roam_loop_post(c->loop, submit_task, t);
  if (r != 0) {
    roam__free(mem, t->payload);
    roam__free(mem, t);
  }
  return r;
}

typedef struct rt_waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs;
  bool done;
  roam_reply reply;
  roam_mem mem;
} rt_waiter;

static void waiter_unref(rt_waiter *w) {
  pthread_mutex_lock(&w->mu);
  int left = --w->refs;
  pthread_mutex_unlock(&w->mu);
  if (left) return;
  roam_reply_free(&w->reply);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  roam_mem mem = w->mem;
  roam__free(&mem, w);
}

static void waiter_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  rt_waiter *w = ud;
  roam_reply r;
  reply_fill(&w->mem, res, &r);
  pthread_mutex_lock(&w->mu);
  w->reply = r;
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  waiter_unref(w);
}

int roam_client_submit_wait(roam_client *c, uint64_t method_id, const void *payload, size_t len,
                            uint64_t timeout_ms, roam_reply *out) {
  if (!out) return ROAM_ERR_INVALID_ARG;
  memset(out, 0, sizeof *out);
  if (!c) return out->status = ROAM_ERR_INVALID_ARG;
  if (rt_loop_on_thread(c->loop)) return out->status = ROAM_ERR_STATE;
  const roam_mem *mem = &c->loop->mem;
  rt_waiter *w = roam__calloc(mem, sizeof *w);
  if (!w) return out->status = ROAM_ERR_NOMEM;
  w->mem = *mem;
  pthread_mutex_init(&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &ca);
  pthread_condattr_destroy(&ca);
  w->refs = 2;
  int r = roam_client_submit(c, method_id, payload, len, timeout_ms, waiter_cb, w);
  if (r != 0) {
    w->refs = 1;
    waiter_unref(w);
    return out->status = r;
  }
  struct timespec dl;
  bool bounded = timeout_ms != 0 && timeout_ms != UINT64_MAX;
  if (bounded) {
    clock_gettime(CLOCK_MONOTONIC, &dl);
    uint64_t ms = timeout_ms + 2000; /* the session's own deadline comes first */
    dl.tv_sec += (time_t)(ms / 1000);
    dl.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
      dl.tv_sec++;
      dl.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&w->mu);
  while (!w->done) {
    if (bounded) {
      if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) break;
    } else {
      pthread_cond_wait(&w->cv, &w->mu);
    }
  }
  if (w->done) {
    *out = w->reply;
    memset(&w->reply, 0, sizeof w->reply);
  } else {
    out->status = ROAM_ERR_TIMEOUT;
  }
  pthread_mutex_unlock(&w->mu);
  waiter_unref(w);
  return out->status;
}
