/*
 * Fuzz a session with arbitrary input after a valid handshake.
 *
 * Input: [options][split][time step] then the bytes the peer "sends".
 *   options bit 0: role (initiator / acceptor)
 *           bit 1: tiny credit window (16 bytes; else 1 KiB)
 *           bit 2: handlers registered (echo, hold, sum-like with a Rx
 *                  channel, generate-like with a Tx channel, late binding)
 *           bit 3: listening for Connect
 *           bit 4: tolerate credit overrun (legacy option b)
 *           bit 5: send without credit (legacy option a)
 *           bit 6: no diagnostics (then heap_bytes must equal what the
 *                  allocator holds, byte for byte)
 *           bit 7: message transport (the rest is [u16 length][message]...)
 *   split: 0 = feed everything at once, else feed pieces of that many bytes
 *   time step: ms added (and tick) after each piece
 * Before the input, the session makes a few calls of its own (one with a Tx
 * and one with an Rx channel) so that Responses, Data and Credit from the
 * input can land on live state.
 *
 * Checked: no crash or undefined behaviour (ASan/UBSan), no leak (a counting
 * allocator returns to zero after roam_session_free), memory bounded by the
 * configuration at every step (and heap_bytes exact without diagnostics),
 * every accepted call completes exactly once.
 *
 * fuzz_session_frames.c includes this file (FUZZ_SESSION_NO_ENTRY) for the
 * harness and feeds structurally valid messages instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <roam/cobs.h>
#include <roam/session.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

/* ---- counting allocator ---------------------------------------------------- */

typedef struct fzmem {
  roam_mem mem;
  size_t bytes, peak;
  long live;
} fzmem;

static void *fz_malloc(size_t n, void *ud) {
  fzmem *m = ud;
  unsigned char *p = malloc(n + 16);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  m->bytes += n;
  if (m->bytes > m->peak) m->peak = m->bytes;
  m->live++;
  return p + 16;
}
static void fz_free(void *q, void *ud) {
  fzmem *m = ud;
  if (!q) return;
  unsigned char *p = (unsigned char *)q - 16;
  size_t n;
  memcpy(&n, p, sizeof n);
  m->bytes -= n;
  m->live--;
  free(p);
}
static void *fz_realloc(void *q, size_t n, void *ud) {
  fzmem *m = ud;
  if (!q) return fz_malloc(n, ud);
  unsigned char *p = (unsigned char *)q - 16, *np;
  size_t old;
  memcpy(&old, p, sizeof old);
  np = realloc(p, n + 16);
  if (!np) return NULL;
  memcpy(np, &n, sizeof n);
  m->bytes = m->bytes - old + n;
  if (m->bytes > m->peak) m->peak = m->bytes;
  return np + 16;
}

/* ---- the harness ---------------------------------------------------------------- */

enum { H_ECHO = 1, H_HOLD = 2, H_SUM = 3, H_GEN = 4, H_LATE = 5 };

#define MAXHOLD 64
#define MAXCALLS 16
#define MAXPEND 8

typedef struct fzhold {
  int in_use, kind;
  roam_request *r;
  uint64_t conn, ch;
  int bound, sent, ended, stop;
} fzhold;

typedef struct fzcall {
  int started, done;
  uint64_t rid, conn;
} fzcall;

typedef struct fz {
  fzmem mem;
  roam_session *s;
  roam_dispatcher *d;
  int role, msg_mode, no_diag, handlers;
  uint32_t credit;
  uint64_t now;
  size_t bound;
  fzhold holds[MAXHOLD];
  fzcall calls[MAXCALLS];
  int ncalls;
  uint64_t tx, rx, tx_conn, rx_conn; /* our own channels */
  int tx_open;
  uint32_t tx_sent;
  uint64_t pend[MAXPEND]; /* Connects waiting for a decision */
  int npend;
  uint64_t conns[MAXPEND];
  int nconns;
  int closed;
} fz;

static fz *FZ;

static void fz_respond(fzhold *h, int how) {
  if (!h->in_use) return;
  int rc;
  uint8_t v[2] = {7, 7};
  if (how == 0)
    rc = roam_request_respond_ok(h->r, v, 2);
  else if (how == 1)
    rc = roam_request_respond_user_error(h->r, v, 1);
  else
    rc = roam_request_respond_error(h->r, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  /* payload and metadata are tiny: only these outcomes are possible */
  CHECK(rc == 0 || rc == ROAM_ERR_CANCELLED || rc == ROAM_ERR_CLOSED);
  h->in_use = 0;
  h->r = NULL;
}

static fzhold *fz_hold(roam_request *r, int kind);

static void fz_on_cancel(roam_request *r, int why, void *ud) {
  fzhold *h = ud;
  CHECK(h->in_use && h->r == r);
  CHECK(why == ROAM_ERR_CANCELLED || why == ROAM_ERR_CLOSED);
  CHECK(roam_request_is_cancelled(r) || why == ROAM_ERR_CANCELLED);
  if (h->kind != H_SUM && h->kind != H_GEN) fz_respond(h, 1);
}

static fzhold *fz_hold(roam_request *r, int kind) {
  for (int i = 0; i < MAXHOLD; i++) {
    fzhold *h = &FZ->holds[i];
    if (h->in_use || (h->bound == 1 && !h->ended)) continue; /* (its channel still calls back) */
    memset(h, 0, sizeof *h);
    h->in_use = 1;
    h->kind = kind;
    h->r = r;
    h->conn = roam_request_conn_id(r);
    roam_request_set_cancel_cb(r, fz_on_cancel, h);
    return h;
  }
  return NULL;
}

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  int rc;
  if (p.len && p.ptr[0] & 1) {
    roam_meta_entry md;
    memset(&md, 0, sizeof md);
    md.key = (roam_bytes){(const uint8_t *)"k", 1};
    md.kind = ROAM_META_U64;
    md.u64 = p.len;
    rc = roam_request_respond_raw(r, p.ptr, p.len, &md, 1);
  } else {
    rc = roam_request_respond_ok(r, p.ptr, p.len);
  }
  /* the payload fits (the Request's did), but not always with the Ok byte */
  CHECK(rc == 0 || rc == ROAM_ERR_PAYLOAD_TOO_LARGE);
  if (rc) CHECK(roam_request_respond_error(r, ROAM_ERR_REMOTE_INVALID_PAYLOAD) == 0);
}

static void h_hold(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  if (!fz_hold(r, H_HOLD)) CHECK(roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED) == 0);
}

static int sum_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  fzhold *h = ud;
  (void)s;
  CHECK(conn == h->conn && ch == h->ch && !h->ended);
  return v.len && v.ptr[0] == 0xff ? ROAM_ERR_DECODE : 0;
}
static void sum_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fzhold *h = ud;
  (void)s;
  CHECK(conn == h->conn && ch == h->ch && !h->ended);
  CHECK(err == 0 || err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED);
  h->ended = 1;
  if (h->in_use && h->r) fz_respond(h, err ? 1 : 0);
}
static const roam_channel_callbacks sum_cbs = {sum_data, sum_end, NULL};

static void fz_bind_sum(fzhold *h, int manual) {
  h->ch = roam_request_channel_id(h->r, 0);
  int rc = roam_request_bind_channel(h->r, 0, ROAM_CHAN_RECV | (manual ? ROAM_CHAN_MANUAL_CREDIT : 0),
                                     &sum_cbs, h);
  if (rc == 0) {
    h->bound = 1;
    return;
  }
  CHECK(rc == ROAM_ERR_CANCELLED || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_STATE ||
        rc == ROAM_ERR_INVALID_ARG);
  h->bound = -1;
  fz_respond(h, 2);
}

static void h_sum(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  fzhold *h = fz_hold(r, H_SUM);
  if (!h) {
    CHECK(roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED) == 0);
    return;
  }
  fz_bind_sum(h, 0);
}

static void h_late(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  if (!fz_hold(r, H_LATE)) CHECK(roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED) == 0);
}

static void gen_pump(fzhold *h) {
  if (!h->in_use || !h->r) return;
  while (h->sent < 8 && !h->ended && !h->stop) {
    uint8_t v[3] = {(uint8_t)h->sent, 1, 2};
    int rc = roam_channel_send(FZ->s, h->conn, h->ch, v, sizeof v);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc) {
      /* (STATE, INVALID_ARG: the channel ended and the peer reused its id for
       * a new one, which it may: ids of finished channels are not kept) */
      CHECK(rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_STATE ||
            rc == ROAM_ERR_INVALID_ARG);
      h->stop = 1; /* (on_end follows if the channel has not ended yet) */
      break;
    }
    h->sent++;
  }
  fz_respond(h, h->sent == 8 ? 0 : 1);
}
static void gen_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  fzhold *h = ud;
  (void)s;
  CHECK(conn == h->conn && ch == h->ch);
  gen_pump(h);
}
static void gen_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  fzhold *h = ud;
  (void)s;
  CHECK(conn == h->conn && ch == h->ch && !h->ended);
  CHECK(err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED);
  h->ended = 1;
  gen_pump(h);
}
static const roam_channel_callbacks gen_cbs = {NULL, gen_end, gen_writable};

static void h_gen(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  fzhold *h = fz_hold(r, H_GEN);
  if (!h) {
    CHECK(roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED) == 0);
    return;
  }
  if (roam_request_channel_count(r) == 0) {
    fz_respond(h, 2);
    return;
  }
  h->ch = roam_request_channel_id(r, 0);
  int rc = roam_request_bind_channel(r, 0, ROAM_CHAN_SEND, &gen_cbs, h);
  if (rc) {
    CHECK(rc == ROAM_ERR_STATE);
    fz_respond(h, 2);
    return;
  }
  h->bound = 1;
  gen_pump(h);
}

/* ---- our own calls and channels -------------------------------------------------- */

static void on_result(roam_session *s, const roam_call_result *res, void *ud) {
  fzcall *c = ud;
  (void)s;
  CHECK(c->started && !c->done);
  CHECK(res->request_id == c->rid && res->conn_id == c->conn);
  c->done = 1;
  if (res->status == 0 || res->status == ROAM_ERR_REMOTE_USER)
    CHECK(res->value.ptr != NULL || res->value.len == 0);
}

static void tx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)ud;
  CHECK(conn == FZ->tx_conn && ch == FZ->tx && FZ->tx_open);
  CHECK(err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED);
  FZ->tx_open = 0;
}
static void tx_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch, (void)ud;
}
static const roam_channel_callbacks tx_cbs = {NULL, tx_end, tx_writable};

static int rx_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s, (void)ud;
  CHECK(ch == FZ->rx && conn == FZ->rx_conn);
  return v.len == 1 && v.ptr[0] == 0xff ? ROAM_ERR_DECODE : 0;
}
static void rx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)ud;
  CHECK(ch == FZ->rx && conn == FZ->rx_conn);
  CHECK(err == 0 || err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED);
  FZ->rx = 0;
}
static const roam_channel_callbacks rx_cbs = {rx_data, rx_end, NULL};

static void fz_call(fz *f, uint64_t conn, uint64_t method, const void *p, size_t n, int chdir,
                    uint64_t timeout) {
  if (f->ncalls >= MAXCALLS) return;
  fzcall *c = &f->calls[f->ncalls];
  memset(c, 0, sizeof *c);
  roam_call_opts o;
  memset(&o, 0, sizeof o);
  o.conn_id = conn;
  o.timeout_ms = timeout;
  uint64_t ch = 0;
  if (chdir) {
    if ((chdir == ROAM_CHAN_SEND && f->tx_open) || (chdir == ROAM_CHAN_RECV && f->rx)) return;
    int rc = roam_channel_alloc(f->s, conn, chdir, chdir == ROAM_CHAN_SEND ? &tx_cbs : &rx_cbs,
                                NULL, &ch);
    if (rc) {
      CHECK(rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_LIMIT);
      return;
    }
    o.channels = &ch;
    o.channel_count = 1;
  }
  c->started = 1;
  c->conn = conn;
  int rc = roam_call(f->s, method, p, n, &o, on_result, c, &c->rid);
  if (rc) {
    CHECK(rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_LIMIT ||
          rc == ROAM_ERR_PAYLOAD_TOO_LARGE);
    CHECK(!c->done);
    c->started = 0;
    return;
  }
  CHECK(!c->done);
  f->ncalls++;
  if (chdir == ROAM_CHAN_SEND) {
    f->tx = ch;
    f->tx_conn = conn;
    f->tx_open = 1;
    f->tx_sent = 0;
  } else if (chdir == ROAM_CHAN_RECV) {
    f->rx = ch;
    f->rx_conn = conn;
  }
}

static void fz_tx_pump(fz *f, int n) {
  while (f->tx_open && n-- > 0) {
    uint8_t v[2] = {(uint8_t)f->tx_sent, 0};
    int rc = roam_channel_send(f->s, f->tx_conn, f->tx, v, sizeof v);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc) {
      CHECK(rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND);
      return; /* on_end follows (or followed) */
    }
    f->tx_sent++;
  }
}

/* ---- connections ------------------------------------------------------------------ */

static void on_connect(roam_session *s, uint64_t id, const roam_metadata *md, void *ud) {
  fz *f = ud;
  (void)s, (void)md;
  if (f->npend < MAXPEND) f->pend[f->npend++] = id;
  else CHECK(roam_session_reject(s, id, "busy", NULL, 0) == 0);
}
static void on_connected(roam_session *s, int status, uint64_t conn, roam_bytes reason,
                         const roam_metadata *md, void *ud) {
  fz *f = ud;
  (void)reason, (void)md;
  CHECK(status == 0 || status == ROAM_ERR_REJECTED || status == ROAM_ERR_TIMEOUT ||
        status == ROAM_ERR_CLOSED);
  if (status == 0) {
    CHECK(conn != 0 && roam_session_conn_exists(s, conn));
    if (f->nconns < MAXPEND) f->conns[f->nconns++] = conn;
    CHECK(roam_session_set_dispatcher(s, conn, f->d) == 0);
  }
}
static void on_conn_closed(roam_session *s, uint64_t conn, int err, roam_bytes reason, void *ud) {
  fz *f = ud;
  (void)s, (void)reason;
  CHECK(conn != 0);
  CHECK(err == 0 || err == ROAM_ERR_CLOSED || err == ROAM_ERR_PROTOCOL || err == ROAM_ERR_NOMEM);
  for (int i = 0; i < f->nconns; i++)
    if (f->conns[i] == conn) f->conns[i] = f->conns[--f->nconns];
}
static void on_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  fz *f = ud;
  (void)s, (void)reason;
  CHECK(!f->closed);
  f->closed = 1;
  CHECK(err == 0 || err == ROAM_ERR_CLOSED || err == ROAM_ERR_PROTOCOL || err == ROAM_ERR_TIMEOUT);
}
static void on_want_write(roam_session *s, void *ud) {
  (void)ud;
  CHECK(roam_session_want_write(s));
}

static void fz_decide_connects(fz *f, uint8_t how) {
  while (f->npend) {
    uint64_t id = f->pend[--f->npend];
    if (how & 1) {
      uint64_t cid;
      int rc = roam_session_accept(f->s, id, NULL, 0, f->d, &cid);
      CHECK(rc == 0 || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND);
      if (rc == 0 && f->nconns < MAXPEND) f->conns[f->nconns++] = cid;
    } else {
      int rc = roam_session_reject(f->s, id, "no", NULL, 0);
      CHECK(rc == 0 || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND);
    }
    how >>= 1;
  }
}

/* ---- setup, checks, teardown ------------------------------------------------------- */

/* Everything the configuration allows the session to hold at once. */
static size_t fz_bound(const roam_session_config *cfg, int no_diag) {
  size_t frame = roam_cobs_max_encoded((size_t)cfg->max_payload_size + 65536 + 128 * 8 +
                                       (size_t)cfg->max_channels * 10 + 128);
  size_t conns = (size_t)cfg->max_connections + 1 + MAXPEND;
  size_t per_chan = 512 + ((size_t)cfg->initial_channel_credit + cfg->overrun_buffer_cap) * 40;
  size_t per_req = 512 + (size_t)cfg->max_channels * 8 + (no_diag ? 0 : 512);
  return 64 * 1024                                  /* the session, maps, pools */
         + 4 * frame                                /* deframer, headers */
         + 2 * (cfg->output_high_water + 2 * frame) /* output */
         + conns * (4096 + cfg->max_incoming_calls * per_req + cfg->max_channels * per_chan) +
         (no_diag ? 0 : 16384);
}

static void fz_check(fz *f) {
  roam_session_stats st;
  roam_session_get_stats(f->s, &st);
  CHECK(f->mem.bytes <= f->bound);
  if (f->no_diag) CHECK(st.heap_bytes == f->mem.bytes);
  CHECK(st.calls_in_flight <= (uint32_t)MAXCALLS);
  CHECK(roam_session_next_timeout(f->s) > f->now || roam_session_is_closed(f->s));
}

/* Hand the output to the (imaginary) peer. */
static void fz_drain(fz *f) {
  if (f->msg_mode) {
    roam_bytes m;
    int guard = 0;
    while (roam_session_next_message(f->s, &m) == 0 && m.len && guard++ < 100000)
      roam_session_consume(f->s, m.len);
  } else {
    const uint8_t *p;
    size_t n; /* (the output may come in two pieces) */
    while ((n = roam_session_output(f->s, &p)) > 0) roam_session_consume(f->s, n);
  }
  CHECK(!roam_session_want_write(f->s) || roam_session_is_closed(f->s));
}

static void fz_feed_frame(fz *f, const uint8_t *msg, size_t n) {
  if (f->msg_mode) {
    int rc = roam_session_recv_message(f->s, msg, n);
    if (rc == ROAM_ERR_WOULD_BLOCK) {
      fz_drain(f);
      rc = roam_session_recv_message(f->s, msg, n);
    }
    CHECK(rc == 0 || rc == ROAM_ERR_PROTOCOL || rc == ROAM_ERR_CLOSED);
    return;
  }
  uint8_t *fr = malloc(roam_cobs_max_encoded(n) + 1);
  size_t fl = roam_cobs_encode(msg, n, fr);
  fr[fl++] = 0;
  size_t off = 0;
  while (off < fl) {
    size_t used = 0;
    int rc = roam_session_recv(f->s, fr + off, fl - off, &used);
    CHECK(rc == 0 || rc == ROAM_ERR_PROTOCOL || rc == ROAM_ERR_CLOSED);
    off += used;
    if (rc) break;
    fz_drain(f);
  }
  free(fr);
}

static void fz_setup(fz *f, uint8_t opt) {
  memset(f, 0, sizeof *f);
  FZ = f;
  f->mem.mem.user_data = &f->mem;
  f->mem.mem.malloc = fz_malloc;
  f->mem.mem.realloc = fz_realloc;
  f->mem.mem.free = fz_free;
  f->role = opt & 1;
  f->msg_mode = (opt & 0x80) != 0;
  f->no_diag = (opt & 0x40) != 0;
  f->handlers = (opt & 4) != 0;
  f->now = 1000;
  roam_session_config cfg;
  roam_session_config_init(&cfg, f->role ? ROAM_ROLE_ACCEPTOR : ROAM_ROLE_INITIATOR);
  cfg.mem = &f->mem.mem;
  cfg.now_ms = f->now;
  cfg.max_payload_size = 4096;
  cfg.initial_channel_credit = f->credit = (opt & 2) ? 16 : 1024;
  cfg.max_outgoing_calls = 4;
  cfg.outgoing_queue_limit = 4;
  cfg.max_incoming_calls = 8;
  cfg.max_channels = 16;
  cfg.max_connections = 4;
  cfg.overrun_buffer_cap = 4096;
  cfg.output_high_water = 16384;
  cfg.cancel_grace_ms = 100;
  if (opt & 0x10) cfg.flags |= ROAM_SESSION_TOLERATE_OVERRUN;
  if (opt & 0x20) cfg.flags |= ROAM_SESSION_SEND_WITHOUT_CREDIT;
  if (opt & 0x40) cfg.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  if (opt & 0x80) cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT;
  f->bound = fz_bound(&cfg, f->no_diag);
  roam_session_callbacks cbs;
  memset(&cbs, 0, sizeof cbs);
  cbs.on_closed = on_closed;
  cbs.on_connect = on_connect;
  cbs.on_conn_closed = on_conn_closed;
  cbs.on_want_write = on_want_write;
  CHECK(roam_session_new(&f->s, &cfg, &cbs, f) == 0);
  if (f->handlers) {
    f->d = roam_dispatcher_new(NULL);
    roam_dispatcher_add(f->d, H_ECHO, h_echo, NULL);
    roam_dispatcher_add(f->d, H_HOLD, h_hold, NULL);
    roam_dispatcher_add(f->d, H_SUM, h_sum, NULL);
    roam_dispatcher_add(f->d, H_GEN, h_gen, NULL);
    roam_dispatcher_add(f->d, H_LATE, h_late, NULL);
    roam_session_set_dispatcher(f->s, 0, f->d);
  }
  roam_session_listen(f->s, (opt & 8) != 0);
  fz_drain(f); /* our Hello */
  /* the peer's Hello */
  uint8_t raw[32];
  size_t rl;
  roam_msg h;
  memset(&h, 0, sizeof h);
  h.kind = ROAM_MSG_HELLO;
  h.hello.version = ROAM_HELLO_V2;
  h.hello.max_payload_size = 4096;
  h.hello.initial_channel_credit = f->credit;
  CHECK(roam_msg_encode_buf(&h, raw, sizeof raw, &rl) == 0);
  fz_feed_frame(f, raw, rl);
  CHECK(roam_session_is_ready(f->s));
  /* calls of our own: ids 1, 2, 3 and 4 on connection 0 */
  fz_call(f, 0, H_ECHO, "\x01x", 2, 0, 0);
  fz_call(f, 0, H_SUM, NULL, 0, ROAM_CHAN_SEND, 0);
  fz_call(f, 0, H_GEN, NULL, 0, ROAM_CHAN_RECV, 0);
  fz_call(f, 0, H_HOLD, NULL, 0, 0, 500);
  fz_tx_pump(f, 3);
  /* and a Connect: link request id 1 */
  CHECK(roam_session_connect(f->s, NULL, 0, 300, on_connected, f) == 0);
  fz_drain(f);
  fz_check(f);
}

static void fz_teardown(fz *f, int graceful) {
  if (graceful) {
    roam_session_close(f->s);
    fz_drain(f);
  }
  /* release what is still held: now only a release */
  for (int i = 0; i < MAXHOLD; i++)
    if (f->holds[i].in_use && (i & 1)) fz_respond(&f->holds[i], 0);
  roam_session_free(f->s);
  for (int i = 0; i < f->ncalls; i++) CHECK(f->calls[i].started && f->calls[i].done);
  roam_dispatcher_free(f->d);
  CHECK(f->mem.bytes == 0 && f->mem.live == 0);
  FZ = NULL;
}

/* ---- the target: arbitrary bytes ------------------------------------------------------- */

#ifndef FUZZ_SESSION_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  fz f;
  fz_setup(&f, data[0]);
  size_t split = data[1];
  uint8_t tstep = data[2];
  data += 3;
  size -= 3;
  size_t off = 0;
  int round = 0;
  while (off < size && !roam_session_is_closed(f.s)) {
    if (f.msg_mode) {
      /* [u16 length][message] */
      if (size - off < 2) break;
      size_t n = (size_t)data[off] | (size_t)data[off + 1] << 8;
      off += 2;
      if (n > size - off) n = size - off;
      int rc = roam_session_recv_message(f.s, data + off, n);
      CHECK(rc == 0 || rc == ROAM_ERR_PROTOCOL || rc == ROAM_ERR_CLOSED ||
            rc == ROAM_ERR_WOULD_BLOCK);
      if (rc != ROAM_ERR_WOULD_BLOCK) off += n;
      else off -= 2;
    } else {
      size_t n = split ? split : size - off;
      if (n > size - off) n = size - off;
      size_t used = 0;
      int rc = roam_session_recv(f.s, data + off, n, &used);
      CHECK(rc == 0 || rc == ROAM_ERR_PROTOCOL || rc == ROAM_ERR_CLOSED);
      CHECK(used <= n);
      off += used;
    }
    fz_check(&f);
    /* the application acts between pieces */
    round++;
    if (tstep) {
      f.now += tstep;
      roam_session_tick(f.s, f.now);
    }
    fz_tx_pump(&f, 2);
    if (f.tx_open && (round & 15) == 15 && roam_channel_close(f.s, f.tx_conn, f.tx) == 0)
      f.tx_open = 0;
    if (f.npend) fz_decide_connects(&f, (uint8_t)round);
    for (int i = 0; i < MAXHOLD; i++) {
      fzhold *h = &f.holds[i];
      if (!h->in_use) continue;
      if (h->kind == H_LATE && !h->bound && (round & 3) == 3) fz_bind_sum(h, round & 4);
      else if (h->kind == H_GEN) gen_pump(h);
      else if (h->kind == H_HOLD && (round & 7) == 7) fz_respond(h, 0);
    }
    fz_drain(&f);
    fz_check(&f);
    /* the transport gives memory back between reads (roam_session_trim) */
    if ((round & 3) == 2) {
      roam_session_trim(f.s);
      fz_check(&f);
    }
  }
  fz_teardown(&f, split & 1);
  return 0;
}
#endif
