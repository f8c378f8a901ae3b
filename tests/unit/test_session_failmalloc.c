/*
 * Allocation failures: two sessions back to back run one scenario
 * (handshake, calls both ways, a Tx stream into a sum-like handler, an
 * output stream back, a call answered later, a cancel, a deadline, a
 * virtual connection with a call on it, Goodbye on it, a graceful close),
 * with a roam_mem that fails the N-th allocation, for every N the scenario
 * makes; then once more failing every allocation from the N-th on.
 *
 * Whatever fails, the sessions must not crash or leak, every call that
 * roam_call() accepted completes exactly once, a call that roam_call()
 * refused never runs its callback, and the only errors an API returns are
 * the documented ones (ROAM_ERR_NOMEM among them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "session_peer.h"

#define M_ECHO 0x2001u
#define M_LATER 0x2002u
#define M_NEVER 0x2003u
#define M_SUM 0x2004u
#define M_GEN 0x2005u
#define M_LATE 0x2006u /* binds its first channel later, ignores the others */

#define MAXCALLS 128
#define MAXH 128

typedef struct fcall {
  int started, done, status;
  uint64_t method;
  int side;
  uint64_t conn, rid, tx, rx;
  int tx_open, rx_open, tx_ended, rx_ended;
  uint32_t tx_sent, rx_got;
} fcall;

typedef struct fh {
  roam_request *r;
  int side, kind;
  int want; /* 1 = answer Ok now, 2 = answer an error now */
  int released;
  uint64_t ch;
  uint32_t count, sent;
  int ch_ended;
} fh;

typedef struct fworld {
  tmem mem;      /* the sessions' allocator (fails) */
  tmem dmem;     /* the dispatchers' allocator (does not) */
  roam_session *s[2];
  roam_dispatcher *d[2];
  uint8_t *wire[2];
  size_t wlen[2], wcap[2];
  fcall calls[MAXCALLS];
  int ncalls;
  fh hs[MAXH];
  int nh;
  uint64_t now;
  uint64_t conn_a; /* A's virtual connection, 0 until accepted */
  int variant;
  int nomem_closes;
  int closed[2];
  long api_nomem;
} fworld;

static fworld *FW;

#define OKRC(rc, ...)                                                                          \
  do {                                                                                         \
    int rc_ = (rc);                                                                            \
    int ok_ = rc_ == 0 || rc_ == ROAM_ERR_NOMEM || rc_ == ROAM_ERR_CLOSED ||                   \
              rc_ == ROAM_ERR_NOT_FOUND __VA_ARGS__;                                           \
    if (!ok_) fail_msg("line %d: unexpected %s (fail_at %ld)", __LINE__, roam_err_name(rc_), \
                       FW->mem.fail_at);                                                       \
    if (rc_ == ROAM_ERR_NOMEM) FW->api_nomem++;                                                \
  } while (0)

/* ---- calls ------------------------------------------------------------------ */

static void on_result(roam_session *s, const roam_call_result *res, void *ud) {
  fcall *c = ud;
  (void)s;
  if (!c->started) fail_msg("callback of a call roam_call() refused");
  c->done++;
  if (c->done != 1) fail_msg("call completed %d times", c->done);
  if (res->request_id != c->rid) fail_msg("wrong request id");
  c->status = res->status;
}

static void tx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fcall *c = ud;
  (void)s, (void)conn, (void)ch, (void)err;
  if (c->tx_ended++) fail_msg("Tx ended twice");
}
static void tx_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch, (void)ud;
}
static const roam_channel_callbacks tx_cbs = {NULL, tx_end, tx_writable};

static int rx_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  fcall *c = ud;
  (void)s, (void)conn, (void)ch;
  if (v.len != 4 || v.ptr[0] != (uint8_t)c->rx_got) fail_msg("value out of order");
  c->rx_got++;
  return 0;
}
static void rx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fcall *c = ud;
  (void)s, (void)conn, (void)ch, (void)err;
  if (c->rx_ended++) fail_msg("Rx ended twice");
}
static const roam_channel_callbacks rx_cbs = {rx_data, rx_end, NULL};

static fcall *new_call(fworld *w, int side, uint64_t conn) {
  assert_true(w->ncalls < MAXCALLS);
  fcall *c = &w->calls[w->ncalls++];
  memset(c, 0, sizeof *c);
  c->side = side;
  c->conn = conn;
  return c;
}

static void call(fworld *w, int side, uint64_t conn, uint64_t method, const void *p, size_t n,
                 int chan_dir, uint64_t timeout) {
  fcall *c = new_call(w, side, conn);
  c->method = method;
  roam_call_opts o;
  memset(&o, 0, sizeof o);
  o.conn_id = conn;
  o.timeout_ms = timeout;
  uint64_t ch = 0;
  if (chan_dir) {
    int rc = roam_channel_alloc(w->s[side], conn, chan_dir, chan_dir == ROAM_CHAN_SEND ? &tx_cbs : &rx_cbs,
                                c, &ch);
    OKRC(rc);
    if (rc) return;
    o.channels = &ch;
    o.channel_count = 1;
    if (chan_dir == ROAM_CHAN_SEND)
      c->tx = ch;
    else
      c->rx = ch;
  }
  c->started = 1; /* (cleared below if refused) */
  int rc = roam_call(w->s[side], method, p, n, &o, on_result, c, &c->rid);
  OKRC(rc, || rc == ROAM_ERR_LIMIT);
  if (rc) {
    c->started = 0;
    if (c->done) fail_msg("callback ran for a refused call");
    /* its channel went with it */
    if (ch && roam_channel_credit(w->s[side], conn, ch)) fail_msg("channel kept");
    return;
  }
  if (c->done) fail_msg("callback ran inside roam_call");
  c->tx_open = c->tx != 0;
  c->rx_open = c->rx != 0;
}

/* ---- handlers ------------------------------------------------------------------------ */

static fh *hold(roam_session *s, roam_request *r, int kind) {
  fworld *w = FW;
  assert_true(w->nh < MAXH);
  fh *h = &w->hs[w->nh++];
  memset(h, 0, sizeof *h);
  h->r = r;
  h->side = s == w->s[0] ? 0 : 1;
  h->kind = kind;
  return h;
}

static void answer(fh *h) {
  if (h->released || !h->want) return;
  int rc;
  if (h->want == 1) {
    uint8_t v[4] = {(uint8_t)h->count, 0, 0, 0};
    rc = roam_request_respond_ok(h->r, v, sizeof v);
  } else {
    rc = roam_request_respond_error(h->r, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  }
  if (rc == ROAM_ERR_NOMEM) {
    FW->api_nomem++;
    return; /* not released: try again later */
  }
  if (rc != 0 && rc != ROAM_ERR_CANCELLED && rc != ROAM_ERR_CLOSED)
    fail_msg("respond: %s", roam_err_name(rc));
  h->released = 1;
}

static void on_cancel(roam_request *r, int why, void *ud) {
  fh *h = ud;
  (void)r, (void)why;
  h->want = 2;
}

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  roam_bytes p = roam_request_payload(r);
  int rc = roam_request_respond_ok(r, p.ptr, p.len);
  if (rc == ROAM_ERR_NOMEM) { /* keep it and answer later */
    fh *h = hold(s, r, 0);
    h->want = 1;
    roam_request_set_cancel_cb(r, on_cancel, h);
    return;
  }
  if (rc) fail_msg("echo respond: %s", roam_err_name(rc));
}
static void h_later(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  fh *h = hold(s, r, 1);
  roam_request_set_cancel_cb(r, on_cancel, h);
}
static void h_never(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  fh *h = hold(s, r, 2);
  roam_request_set_cancel_cb(r, on_cancel, h);
}

static int sum_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  fh *h = ud;
  (void)s, (void)conn, (void)ch;
  if (v.len != 4 || v.ptr[0] != (uint8_t)h->count) fail_msg("sum: value out of order");
  h->count++;
  return 0;
}
static void sum_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fh *h = ud;
  (void)s, (void)conn, (void)ch;
  if (h->ch_ended++) fail_msg("sum: ended twice");
  if (!h->want) h->want = err == 0 ? 1 : 2;
  answer(h);
}
static const roam_channel_callbacks sum_cbs = {sum_data, sum_end, NULL};

static void h_sum(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  fh *h = hold(s, r, 3);
  roam_request_set_cancel_cb(r, on_cancel, h);
  int rc = roam_request_bind_channel(r, 0, ROAM_CHAN_RECV, &sum_cbs, h);
  if (rc) {
    if (rc != ROAM_ERR_STATE && rc != ROAM_ERR_CLOSED && rc != ROAM_ERR_CANCELLED)
      fail_msg("bind: %s", roam_err_name(rc));
    h->want = 2;
    answer(h);
  }
}

static void h_late(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  fh *h = hold(s, r, 5); /* bound in pump_once */
  roam_request_set_cancel_cb(r, on_cancel, h);
}

static void gen_pump(fh *h) {
  fworld *w = FW;
  if (h->released || h->want) return;
  while (h->sent < 20 && !h->ch_ended) {
    uint8_t v[4] = {(uint8_t)h->sent, 1, 2, 3};
    int rc = roam_channel_send(w->s[h->side], roam_request_conn_id(h->r), h->ch, v, 4);
    if (rc == ROAM_ERR_WOULD_BLOCK || rc == ROAM_ERR_NOMEM) {
      if (rc == ROAM_ERR_NOMEM) w->api_nomem++;
      return;
    }
    if (rc) {
      h->ch_ended = 1;
      break;
    }
    h->sent++;
  }
  h->count = h->sent;
  h->want = h->sent == 20 ? 1 : 2;
  answer(h);
}
static void gen_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch;
  gen_pump(ud);
}
static void gen_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fh *h = ud;
  (void)s, (void)conn, (void)ch, (void)err;
  h->ch_ended = 1;
  gen_pump(h);
}
static const roam_channel_callbacks gen_cbs = {NULL, gen_end, gen_writable};

static void h_gen(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  fh *h = hold(s, r, 4);
  roam_request_set_cancel_cb(r, on_cancel, h);
  h->ch = roam_request_channel_id(r, 0);
  int rc = roam_request_bind_channel(r, 0, ROAM_CHAN_SEND, &gen_cbs, h);
  if (rc) {
    h->want = 2;
    answer(h);
    return;
  }
  gen_pump(h);
}

/* ---- connections ---------------------------------------------------------------------- */

static void on_connect(roam_session *s, uint64_t id, const roam_metadata *md, void *ud) {
  fworld *w = ud;
  (void)md;
  uint64_t cid;
  int rc = roam_session_accept(s, id, NULL, 0, w->d[1], &cid);
  OKRC(rc);
  if (rc == ROAM_ERR_NOMEM) OKRC(roam_session_reject(s, id, "no memory", NULL, 0));
}
static void on_connected(roam_session *s, int status, uint64_t conn, roam_bytes reason,
                         const roam_metadata *md, void *ud) {
  fworld *w = ud;
  (void)reason, (void)md;
  if (status == 0) {
    w->conn_a = conn;
    OKRC(roam_session_set_dispatcher(s, conn, w->d[0]));
  } else if (status != ROAM_ERR_NOMEM && status != ROAM_ERR_REJECTED &&
             status != ROAM_ERR_CLOSED && status != ROAM_ERR_TIMEOUT) {
    fail_msg("connect: %s", roam_err_name(status));
  }
}
static void on_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  fworld *w = ud;
  (void)reason;
  int i = s == w->s[0] ? 0 : 1;
  if (w->closed[i]++) fail_msg("on_closed twice");
  if (err != 0 && err != ROAM_ERR_NOMEM && err != ROAM_ERR_CLOSED)
    fail_msg("closed with %s", roam_err_name(err));
  if (err == ROAM_ERR_NOMEM) w->nomem_closes++;
}

/* ---- moving bytes ---------------------------------------------------------------------- */

static void wire_put(fworld *w, int d, const void *p, size_t n) {
  if (w->wlen[d] + n > w->wcap[d]) {
    w->wcap[d] = (w->wlen[d] + n) * 2;
    w->wire[d] = realloc(w->wire[d], w->wcap[d]);
  }
  memcpy(w->wire[d] + w->wlen[d], p, n);
  w->wlen[d] += n;
}

static void check_recv(fworld *w, int rc) {
  if (rc && rc != ROAM_ERR_CLOSED && rc != ROAM_ERR_WOULD_BLOCK)
    fail_msg("recv: %s (fail_at %ld): only our own closes may end a link", roam_err_name(rc),
             w->mem.fail_at);
}

static size_t pump_once(fworld *w) {
  size_t moved = 0;
  for (int d = 0; d < 2; d++) {
    if (!w->s[d] || !w->s[!d]) continue;
    if (w->variant == 1) { /* whole messages */
      roam_bytes m;
      while (roam_session_next_message(w->s[d], &m) == 0 && m.len) {
        uint32_t l = (uint32_t)m.len;
        wire_put(w, d, &l, 4);
        wire_put(w, d, m.ptr, m.len);
        roam_session_consume(w->s[d], m.len);
        moved += m.len;
      }
      size_t off = 0;
      while (w->wlen[d] - off >= 4) {
        uint32_t l;
        memcpy(&l, w->wire[d] + off, 4);
        int rc = roam_session_recv_message(w->s[!d], w->wire[d] + off + 4, l);
        check_recv(w, rc);
        if (rc == ROAM_ERR_WOULD_BLOCK) break;
        off += 4 + l;
        moved += l;
      }
      memmove(w->wire[d], w->wire[d] + off, w->wlen[d] - off);
      w->wlen[d] -= off;
      continue;
    }
    const uint8_t *p;
    size_t n = roam_session_output(w->s[d], &p);
    if (n) {
      wire_put(w, d, p, n);
      roam_session_consume(w->s[d], n);
      moved += n;
    }
    if (w->wlen[d]) {
      size_t used = 0;
      check_recv(w, roam_session_recv(w->s[!d], w->wire[d], w->wlen[d], &used));
      memmove(w->wire[d], w->wire[d] + used, w->wlen[d] - used);
      w->wlen[d] -= used;
      moved += used;
    }
  }
  /* work that waited for memory */
  for (int i = 0; i < w->nh; i++) {
    fh *h = &w->hs[i];
    if (h->kind == 4) gen_pump(h);
    if (h->kind == 5 && !h->released && !h->want && ++h->sent > 3) { /* values wait first */
      int rc = roam_request_bind_channel(h->r, 0, ROAM_CHAN_RECV, &sum_cbs, h);
      if (rc == 0) {
        h->kind = 3; /* now a sum */
      } else {
        if (rc != ROAM_ERR_CLOSED && rc != ROAM_ERR_CANCELLED && rc != ROAM_ERR_STATE)
          fail_msg("late bind: %s", roam_err_name(rc));
        h->want = 2;
      }
    }
    answer(h);
  }
  for (int i = 0; i < w->ncalls; i++) {
    fcall *c = &w->calls[i];
    if (c->tx_open && !c->tx_ended) {
      while (c->tx_sent < 10) {
        uint8_t v[4] = {(uint8_t)c->tx_sent, 9, 9, 9};
        int rc = roam_channel_send(w->s[c->side], c->conn, c->tx, v, 4);
        if (rc == ROAM_ERR_WOULD_BLOCK) break;
        OKRC(rc, || rc == ROAM_ERR_STATE);
        if (rc == ROAM_ERR_NOMEM) break;
        if (rc) {
          c->tx_open = 0;
          break;
        }
        c->tx_sent++;
      }
      if (c->tx_sent == 10 || c->done) {
        int rc = roam_channel_close(w->s[c->side], c->conn, c->tx);
        OKRC(rc);
        if (rc != ROAM_ERR_NOMEM) c->tx_open = 0;
      }
    }
  }
  return moved;
}

static void settle(fworld *w) {
  for (int i = 0; i < 200; i++)
    if (!pump_once(w)) return;
}

static void tick(fworld *w, uint64_t dt) {
  w->now += dt;
  for (int d = 0; d < 2; d++)
    if (w->s[d]) roam_session_tick(w->s[d], w->now);
}

/* ---- the scenario ------------------------------------------------------------------------ */

static void scenario(fworld *w) {
  roam_session_callbacks cbs;
  memset(&cbs, 0, sizeof cbs);
  cbs.on_connect = on_connect;
  cbs.on_closed = on_closed;
  for (int i = 0; i < 2; i++) {
    roam_session_config cfg;
    roam_session_config_init(&cfg, i == 0 ? ROAM_ROLE_INITIATOR : ROAM_ROLE_ACCEPTOR);
    cfg.mem = &w->mem.mem;
    cfg.initial_channel_credit = 16; /* Credit messages flow */
    cfg.now_ms = w->now;
    cfg.name = i == 0 ? "fail-A" : "fail-B";
    if (w->variant == 1) cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT | ROAM_SESSION_NO_DIAGNOSTICS;
    int rc = roam_session_new(&w->s[i], &cfg, &cbs, w);
    OKRC(rc);
    if (rc) return;
    OKRC(roam_session_set_dispatcher(w->s[i], 0, w->d[i]));
  }
  OKRC(roam_session_listen(w->s[1], true));
  /* before the handshake: queued */
  call(w, 0, 0, M_ECHO, "\x03" "abc", 4, 0, 0);
  call(w, 1, 0, M_ECHO, "\x01" "z", 2, 0, 0);
  settle(w);
  /* calls both ways */
  for (int i = 0; i < 3; i++) call(w, 0, 0, M_ECHO, "\x02" "hi", 3, 0, 0);
  call(w, 1, 0, M_ECHO, "\x00", 1, 0, 0);
  call(w, 0, 0, M_SUM, "\x01", 1, ROAM_CHAN_SEND, 0);
  call(w, 0, 0, M_GEN, "\x14", 1, ROAM_CHAN_RECV, 0);
  call(w, 0, 0, M_LATER, NULL, 0, 0, 0);
  call(w, 0, 0, M_NEVER, NULL, 0, 0, 0);
  int never = w->ncalls - 1;
  call(w, 0, 0, M_NEVER, NULL, 0, 0, 50); /* deadline */
  call(w, 0, 0, 0xdead, NULL, 0, 0, 0);    /* unknown method */
  OKRC(roam_session_connect(w->s[0], NULL, 0, 1000, on_connected, w), || 0);
  if (w->variant == 1) {
    /* maps grow, a call lists three channels (one bound late, two never) */
    for (int i = 0; i < 40; i++) call(w, i & 1, 0, M_ECHO, "\x01" "q", 2, 0, 0);
    fcall *c = new_call(w, 0, 0);
    c->method = M_LATE;
    uint64_t ch[3];
    int ok = 1;
    for (int i = 0; i < 3 && ok; i++) {
      int rc = roam_channel_alloc(w->s[0], 0, ROAM_CHAN_SEND, i == 0 ? &tx_cbs : NULL, c, &ch[i]);
      OKRC(rc);
      ok = rc == 0;
    }
    if (ok) {
      roam_call_opts o;
      memset(&o, 0, sizeof o);
      o.channels = ch;
      o.channel_count = 3;
      roam_meta_entry md;
      memset(&md, 0, sizeof md);
      md.key = (roam_bytes){(const uint8_t *)"k", 1};
      md.kind = ROAM_META_STRING;
      md.value = (roam_bytes){(const uint8_t *)"v", 1};
      o.metadata = &md;
      o.metadata_count = 1;
      c->started = 1;
      int rc = roam_call(w->s[0], M_LATE, NULL, 0, &o, on_result, c, &c->rid);
      OKRC(rc);
      if (rc) {
        c->started = 0;
      } else {
        c->tx = ch[0];
        c->tx_open = 1;
        for (int i = 1; i < 3; i++) OKRC(roam_channel_close(w->s[0], 0, ch[i]));
      }
    }
  }
  settle(w);
  /* answer the later one, cancel the never one */
  for (int i = 0; i < w->nh; i++)
    if (w->hs[i].kind == 1) w->hs[i].want = 1;
  if (w->calls[never].started && !w->calls[never].done)
    OKRC(roam_call_cancel(w->s[0], 0, w->calls[never].rid));
  tick(w, 60);
  settle(w);
  if (w->conn_a) {
    call(w, 0, w->conn_a, M_ECHO, "\x01" "v", 2, 0, 0);
    call(w, 0, w->conn_a, M_LATER, NULL, 0, 0, 0);
    settle(w);
    OKRC(roam_session_conn_close(w->s[0], w->conn_a, "done"));
    settle(w);
  }
  tick(w, 2000); /* cancel grace, connect timeout */
  settle(w);
  OKRC(roam_session_close(w->s[0]));
  settle(w);
}

static long g_nomem_closes, g_api_nomem;

static void run(int variant, long fail_at, int every, long *allocs_out) {
  fworld *w = calloc(1, sizeof *w);
  FW = w;
  w->variant = variant;
  tmem_init(&w->mem);
  tmem_init(&w->dmem);
  w->now = 1000;
  for (int i = 0; i < 2; i++) {
    w->d[i] = roam_dispatcher_new(&w->dmem.mem);
    roam_dispatcher_add(w->d[i], M_ECHO, h_echo, NULL);
    roam_dispatcher_add(w->d[i], M_LATER, h_later, NULL);
    roam_dispatcher_add(w->d[i], M_NEVER, h_never, NULL);
    roam_dispatcher_add(w->d[i], M_SUM, h_sum, NULL);
    roam_dispatcher_add(w->d[i], M_GEN, h_gen, NULL);
    roam_dispatcher_add(w->d[i], M_LATE, h_late, NULL);
  }
  w->mem.fail_at = fail_at;
  w->mem.fail_every = every;
  scenario(w);
  for (int i = 0; i < 2; i++) {
    roam_session_free(w->s[i]);
    w->s[i] = NULL;
  }
  for (int i = 0; i < w->ncalls; i++) {
    fcall *c = &w->calls[i];
    if (c->started && c->done != 1)
      fail_msg("fail_at %ld%s: call %d completed %d times", fail_at, every ? "+" : "", i, c->done);
    if (!c->started && c->done) fail_msg("refused call completed");
    if (c->started && c->tx && c->tx_ended > 1) fail_msg("tx ended twice");
  }
  if (fail_at == 0) { /* without failures everything works */
    if (variant == 1) goto skip_clean_check;
    assert_int_equal(w->api_nomem, 0);
    for (int i = 0; i < w->ncalls; i++) {
      fcall *c = &w->calls[i];
      assert_true(c->started);
      int want = c->method == M_NEVER ? (c->status == ROAM_ERR_TIMEOUT ? ROAM_ERR_TIMEOUT
                                                                        : ROAM_ERR_REMOTE_CANCELLED)
                 : c->method == 0xdead ? ROAM_ERR_REMOTE_UNKNOWN_METHOD
                 : c->method == M_LATER && c->conn ? ROAM_ERR_CLOSED
                                                   : 0;
      if (c->status != want)
        fail_msg("clean run: call %d (method %llx) ended with %s", i,
                 (unsigned long long)c->method, roam_err_name(c->status));
    }
    assert_true(w->conn_a != 0);
  }
skip_clean_check:
  if (w->mem.bytes || w->mem.live)
    fail_msg("fail_at %ld%s: leak of %zu bytes in %ld blocks", fail_at, every ? "+" : "",
             w->mem.bytes, w->mem.live);
  for (int i = 0; i < 2; i++) roam_dispatcher_free(w->d[i]);
  assert_int_equal(w->dmem.bytes, 0);
  if (allocs_out) *allocs_out = w->mem.allocs;
  g_nomem_closes += w->nomem_closes;
  g_api_nomem += w->api_nomem;
  for (int d = 0; d < 2; d++) free(w->wire[d]);
  free(w);
  FW = NULL;
}

static void test_clean_run(void **st) {
  (void)st;
  for (int v = 0; v < 2; v++) {
    long n = 0;
    run(v, 0, 0, &n);
    print_message("scenario %d makes %ld allocations\n", v, n);
    assert_true(n > 20);
  }
}

static void test_fail_each(void **st) {
  (void)st;
  g_nomem_closes = g_api_nomem = 0;
  for (int v = 0; v < 2; v++) {
    long n = 0;
    run(v, 0, 0, &n);
    for (long i = 1; i <= n + 5; i++) run(v, i, 0, NULL);
  }
  print_message("%ld links closed for lack of memory, %ld ROAM_ERR_NOMEM returned\n",
                g_nomem_closes, g_api_nomem);
}

static void test_fail_from(void **st) {
  (void)st;
  for (int v = 0; v < 2; v++) {
    long n = 0;
    run(v, 0, 0, &n);
    for (long i = 1; i <= n + 5; i++) run(v, i, 1, NULL);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_run),
      cmocka_unit_test(test_fail_each),
      cmocka_unit_test(test_fail_from),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
