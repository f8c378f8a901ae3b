/*
 * Two sessions back to back in memory (initiator A, acceptor B), driven by a
 * seeded random scheduler through thousands of interleavings of:
 *   - calls both ways on the root and on virtual connections: echo, answered
 *     later, never answered until cancelled, unknown method;
 *   - channels both ways: a caller Tx stream into a sum-like handler (bound at
 *     once or later), a callee output stream back (generate-like), with
 *     automatic or manual credit, tiny or default credit windows;
 *   - cancels, call deadlines and cancel grace (time moves with tick),
 *     Connect/Accept/Reject (at once or later), connect timeouts, Goodbye on
 *     virtual connections, small in-flight limits (queueing, refusals), small
 *     output high-water marks, byte streams cut at random points or whole
 *     messages;
 *   - a final graceful drain (or not), then Goodbye / EOF and free.
 *
 * Invariants checked:
 *   - every call that roam_call() accepted completes exactly once, with an
 *     outcome consistent with what happened (echo returns its argument, sums
 *     add up, generated streams arrive complete and in order);
 *   - an observer decoding both byte streams sees one Response per Request,
 *     no Data after Close/Reset and no Data beyond the credit granted;
 *   - no Goodbye on connection 0 and no protocol error unless the test closes
 *     the link itself; on_closed runs once;
 *   - all memory goes back: a counting roam_mem returns to zero after
 *     roam_session_free (and ASan/LSan in the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "session/u64map.h"
#include "session_peer.h"

/* ---- random numbers --------------------------------------------------------- */

static uint64_t rng_next(uint64_t *st) {
  uint64_t z = (*st += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* ---- the world ------------------------------------------------------------------ */

enum { K_ECHO, K_LATER, K_NEVER, K_SUM, K_SUM_LATE, K_GEN, K_UNKNOWN, K_COUNT };
static const uint64_t method_of[K_COUNT] = {0x1001, 0x1002, 0x1003, 0x1004,
                                            0x1005, 0x1006, 0xdead};
enum { TX_NONE, TX_OPEN, TX_CLOSED, TX_RESET, TX_GONE };
enum { RX_NONE, RX_OPEN, RX_ENDED, RX_RESET };

#define MAXCONN 64
#define MAXV_CAP 200

struct world;

/* One outgoing call. */
typedef struct callrec {
  struct world *w;
  int kind, from;
  uint64_t conn_id, rid;
  int done, status;
  int cancelled, has_deadline;
  uint8_t *payload;
  size_t len;
  /* sum: the caller's Tx */
  uint64_t tx;
  int tx_state, tx_end_err, tx_dead;
  uint32_t tx_sent, tx_target;
  uint64_t tx_sum;
  /* generate: the caller's Rx */
  uint64_t rx;
  int rx_state, rx_end_err, rx_manual;
  uint32_t rx_got, gen_count, gen_seed, gen_maxv;
  size_t rx_unconsumed;
} callrec;

/* One incoming request held by a handler. */
typedef struct hreq {
  struct world *w;
  int side, kind;
  roam_request *r;
  uint64_t conn_id;
  int released, cancel_seen;
  uint8_t *payload;
  size_t len;
  int bound, ch_ended;
  uint64_t ch;
  uint32_t count, next, gen_count, gen_maxv, gen_seed;
  uint64_t total;
  struct hreq *all_next;
} hreq;

typedef struct side {
  struct world *w;
  int idx;
  roam_session *s;
  roam_dispatcher *d;
  int closed_calls, closed_err;
  int listening;
  uint64_t conns[MAXCONN];
  int nconns;
  uint64_t pend[MAXCONN]; /* incoming Connects waiting for a decision */
  int npend;
  int connects_started, connects_done;
} side;

/* Bytes in flight from one side to the other ("the kernel buffers"). */
typedef struct wire {
  uint8_t *buf;
  size_t head, len, cap;
} wire;

typedef struct obs_chan {
  int64_t avail;
  int closed;
} obs_chan;

typedef struct observer {
  roam_deframer df[2];
  int hello[2];
  uint32_t hcredit[2];
  roam_u64map reqs[2];  /* requests sent by side d and not answered */
  roam_u64map chans[2]; /* channel state of Data sent by side d */
  roam_u64map gone;     /* connections a Goodbye was seen for */
  uint64_t responses, requests, datas;
} observer;

typedef struct world {
  uint64_t rng;
  unsigned seed, scenario;
  side sd[2];
  tmem mem;
  uint64_t now;
  int msg_mode;
  size_t chunk_max; /* 0 = whole */
  uint32_t credit_a, credit_b, maxv;
  int refusals_possible;
  int closing; /* the test closes the link */
  int drained;
  callrec **calls;
  size_t ncalls, capcalls;
  hreq *hreqs;
  size_t nhreqs;
  wire wires[2]; /* wires[d]: bytes from side d */
  observer ob;
  uint8_t *tmp;
  size_t tmpcap;
  long goodbyes_vconn;
  int no_diag;
  size_t disp_bytes; /* what the dispatchers hold in mem */
} world;

static world *W; /* for failure messages */
static int g_trace; /* ROAM_B2B_TRACE=1: print every action */
#define TRACE(...)                 \
  do {                             \
    if (g_trace) printf(__VA_ARGS__); \
  } while (0)

#define FAILW(...)                                                                   \
  do {                                                                               \
    print_error("seed %u scenario %u: ", W ? W->seed : 0, W ? W->scenario : 0);      \
    fail_msg(__VA_ARGS__);                                                           \
  } while (0)
#define CHECKW(cond, ...)        \
  do {                           \
    if (!(cond)) FAILW(__VA_ARGS__); \
  } while (0)

static uint32_t rnd(world *w, uint32_t n) { return n ? (uint32_t)(rng_next(&w->rng) % n) : 0; }
static int chance(world *w, uint32_t one_in) { return rnd(w, one_in) == 0; }

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put64(uint8_t *p, uint64_t v) {
  put32(p, (uint32_t)v);
  put32(p + 4, (uint32_t)(v >> 32));
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* Channel values: u32 sequence number, then a filler derived from it. */
static uint32_t vlen_for(uint32_t seed, uint32_t i, uint32_t maxv) {
  uint32_t h = seed ^ (i * 0x9E3779B1u);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  return 4 + h % (maxv - 3);
}
static void make_value(uint8_t *b, uint32_t seq, uint32_t len) {
  put32(b, seq);
  for (uint32_t j = 4; j < len; j++) b[j] = (uint8_t)(seq * 31u + j);
}
static int value_ok(roam_bytes v, uint32_t seq) {
  if (v.len < 4 || get32(v.ptr) != seq) return 0;
  for (size_t j = 4; j < v.len; j++)
    if (v.ptr[j] != (uint8_t)(seq * 31u + j)) return 0;
  return 1;
}

static int conn_gone(world *w, uint64_t conn) {
  return roam_u64map_get(&w->ob.gone, conn + 1) != NULL;
}
static void mark_gone(world *w, uint64_t conn) {
  if (!conn_gone(w, conn)) roam_u64map_put(&w->ob.gone, roam_mem_default(), conn + 1, (void *)1);
}

static void side_drop_conn(side *sd, uint64_t conn) {
  for (int i = 0; i < sd->nconns; i++)
    if (sd->conns[i] == conn) {
      sd->conns[i] = sd->conns[--sd->nconns];
      return;
    }
}

/* ---- observer: decodes both byte streams -------------------------------------- */

static obs_chan *obs_chan_get(world *w, int dir, uint64_t conn, uint64_t ch) {
  uint64_t key = conn << 48 | ch;
  obs_chan *c = roam_u64map_get(&w->ob.chans[dir], key);
  if (!c) {
    c = calloc(1, sizeof *c);
    uint32_t cr = w->ob.hcredit[0] < w->ob.hcredit[1] ? w->ob.hcredit[0] : w->ob.hcredit[1];
    c->avail = cr;
    roam_u64map_put(&w->ob.chans[dir], roam_mem_default(), key, c);
  }
  return c;
}

static void obs_msg(world *w, int dir, const uint8_t *b, size_t n) {
  observer *o = &w->ob;
  roam_msg m;
  CHECKW(roam_msg_decode(&m, b, n) == 0, "undecodable message from side %d", dir);
  if (!o->hello[dir]) {
    CHECKW(m.kind == ROAM_MSG_HELLO, "first message from side %d is %s", dir,
           roam_msg_kind_name(m.kind));
    o->hello[dir] = 1;
    o->hcredit[dir] = m.hello.initial_channel_credit;
    return;
  }
  switch (m.kind) {
  case ROAM_MSG_HELLO: FAILW("second Hello from side %d", dir); break;
  case ROAM_MSG_GOODBYE:
    if (m.conn_id == 0) {
      char r[200];
      size_t k = m.reason.len < sizeof r - 1 ? m.reason.len : sizeof r - 1;
      memcpy(r, m.reason.ptr, k);
      r[k] = 0;
      CHECKW(w->closing && m.reason.len == 0, "Goodbye on the link from side %d: '%s'", dir, r);
    } else {
      w->goodbyes_vconn++;
      mark_gone(w, m.conn_id);
    }
    break;
  case ROAM_MSG_REQUEST: {
    uint64_t key = m.conn_id << 48 | m.request_id;
    CHECKW(!roam_u64map_get(&o->reqs[dir], key), "request %llu on conn %llu sent twice",
           (unsigned long long)m.request_id, (unsigned long long)m.conn_id);
    roam_u64map_put(&o->reqs[dir], roam_mem_default(), key, (void *)1);
    o->requests++;
    break;
  }
  case ROAM_MSG_RESPONSE: {
    uint64_t key = m.conn_id << 48 | m.request_id;
    if (!roam_u64map_del(&o->reqs[!dir], key))
      CHECKW(conn_gone(w, m.conn_id), "Response %llu on conn %llu without a Request in flight",
             (unsigned long long)m.request_id, (unsigned long long)m.conn_id);
    o->responses++;
    break;
  }
  case ROAM_MSG_DATA: {
    obs_chan *c = obs_chan_get(w, dir, m.conn_id, m.channel_id);
    CHECKW(!c->closed, "Data after Close/Reset on channel %llu from side %d",
           (unsigned long long)m.channel_id, dir);
    c->avail -= (int64_t)m.payload.len;
    CHECKW(c->avail >= 0, "Data beyond credit on channel %llu from side %d",
           (unsigned long long)m.channel_id, dir);
    o->datas++;
    break;
  }
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET: obs_chan_get(w, dir, m.conn_id, m.channel_id)->closed = 1; break;
  case ROAM_MSG_CREDIT: obs_chan_get(w, !dir, m.conn_id, m.channel_id)->avail += m.credit; break;
  default: break;
  }
}

static void obs_bytes(world *w, int dir, const uint8_t *b, size_t n) {
  while (n) {
    size_t used = 0;
    roam_bytes fr;
    int rc = roam_deframer_feed(&w->ob.df[dir], b, n, &used, &fr);
    b += used;
    n -= used;
    CHECKW(rc >= 0, "bad framing from side %d", dir);
    if (rc == 1) obs_msg(w, dir, fr.ptr, fr.len);
    if (rc == 0) break;
  }
}

static void obs_init(world *w) {
  memset(&w->ob, 0, sizeof w->ob);
  for (int d = 0; d < 2; d++) {
    roam_deframer_init(&w->ob.df[d], 1 << 24, NULL);
    roam_u64map_init(&w->ob.reqs[d]);
    roam_u64map_init(&w->ob.chans[d]);
  }
  roam_u64map_init(&w->ob.gone);
}

static void obs_free(world *w) {
  for (int d = 0; d < 2; d++) {
    roam_deframer_free(&w->ob.df[d]);
    roam_u64map_free(&w->ob.reqs[d], roam_mem_default());
    uint32_t i = 0;
    void *v;
    while ((v = roam_u64map_next(&w->ob.chans[d], &i)) != NULL) free(v);
    roam_u64map_free(&w->ob.chans[d], roam_mem_default());
  }
  roam_u64map_free(&w->ob.gone, roam_mem_default());
}

/* ---- wires ------------------------------------------------------------------------ */

static void wire_push(wire *wr, const void *p, size_t n) {
  if (wr->head && wr->head == wr->len) wr->head = wr->len = 0;
  if (wr->len + n > wr->cap) {
    if (wr->head) {
      memmove(wr->buf, wr->buf + wr->head, wr->len - wr->head);
      wr->len -= wr->head;
      wr->head = 0;
    }
    if (wr->len + n > wr->cap) {
      wr->cap = (wr->len + n) * 2;
      wr->buf = realloc(wr->buf, wr->cap);
    }
  }
  memcpy(wr->buf + wr->len, p, n);
  wr->len += n;
}

/* Side `from` writes (some of) its output onto the wire. */
static size_t pump_out(world *w, int from, size_t max) {
  roam_session *s = w->sd[from].s;
  wire *wr = &w->wires[from];
  size_t moved = 0;
  if (w->msg_mode) {
    roam_bytes m;
    while (moved < max && roam_session_next_message(s, &m) == 0 && m.len) {
      uint32_t l = (uint32_t)m.len;
      wire_push(wr, &l, 4);
      wire_push(wr, m.ptr, m.len);
      roam_session_consume(s, m.len);
      moved += m.len;
      if (chance(w, 2)) break;
    }
    return moved;
  }
  const uint8_t *d;
  size_t n = roam_session_output(s, &d);
  if (n > max) n = max;
  if (n) {
    wire_push(wr, d, n);
    roam_session_consume(s, n);
  }
  return n;
}

/* The other side reads (some of) the wire. */
static size_t pump_in(world *w, int from, size_t max) {
  roam_session *dst = w->sd[!from].s;
  wire *wr = &w->wires[from];
  size_t moved = 0;
  if (w->msg_mode) {
    while (moved < max && wr->len - wr->head >= 4) {
      uint32_t l;
      memcpy(&l, wr->buf + wr->head, 4);
      if (w->tmpcap < l + 1) {
        w->tmpcap = (size_t)l * 2 + 64;
        w->tmp = realloc(w->tmp, w->tmpcap);
      }
      memcpy(w->tmp, wr->buf + wr->head + 4, l);
      int rc = roam_session_recv_message(dst, w->tmp, l);
      if (rc == ROAM_ERR_WOULD_BLOCK) break;
      CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED || w->closing, "recv_message: %s",
             roam_err_name(rc));
      obs_msg(w, from, w->tmp, l);
      wr->head += 4 + l;
      moved += l;
      if (chance(w, 3)) break;
    }
    return moved;
  }
  size_t n = wr->len - wr->head;
  if (n > max) n = max;
  if (!n) return 0;
  if (w->tmpcap < n) {
    w->tmpcap = n * 2;
    w->tmp = realloc(w->tmp, w->tmpcap);
  }
  memcpy(w->tmp, wr->buf + wr->head, n);
  size_t used = 0;
  int rc = roam_session_recv(dst, w->tmp, n, &used);
  CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED, "recv: %s", roam_err_name(rc));
  CHECKW(used <= n, "consumed more than fed");
  obs_bytes(w, from, w->tmp, used);
  wr->head += used;
  return used;
}

static size_t chunk(world *w) {
  if (!w->chunk_max || chance(w, 4)) return SIZE_MAX;
  return 1 + rnd(w, (uint32_t)w->chunk_max);
}

/* ---- calls (caller side) ------------------------------------------------------------ */

static void tx_pump(world *w, callrec *rec, int max);

static void on_result(roam_session *s, const roam_call_result *res, void *ud) {
  callrec *rec = ud;
  world *w = rec->w;
  (void)s;
  rec->done++;
  TRACE("%c result conn %llu rid %llu: %s\n", 'A' + rec->from, (unsigned long long)rec->conn_id,
        (unsigned long long)rec->rid, roam_err_name(res->status));
  CHECKW(rec->done == 1, "call %llu completed %d times", (unsigned long long)rec->rid, rec->done);
  CHECKW(res->request_id == rec->rid && res->conn_id == rec->conn_id,
         "result for %llu/%llu delivered to call %llu/%llu", (unsigned long long)res->conn_id,
         (unsigned long long)res->request_id, (unsigned long long)rec->conn_id,
         (unsigned long long)rec->rid);
  rec->status = res->status;
  int st = res->status;
  switch (st) {
  case 0:
  case ROAM_ERR_REMOTE_USER:
  case ROAM_ERR_CLOSED: break;
  case ROAM_ERR_REMOTE_UNKNOWN_METHOD:
    CHECKW(rec->kind == K_UNKNOWN, "UnknownMethod for kind %d", rec->kind);
    break;
  case ROAM_ERR_REMOTE_CANCELLED:
    CHECKW(rec->cancelled || w->refusals_possible, "Cancelled answer to a call never cancelled");
    break;
  case ROAM_ERR_TIMEOUT: CHECKW(rec->has_deadline, "timeout without a deadline"); break;
  case ROAM_ERR_CANCELLED: CHECKW(rec->cancelled, "local cancel of a call never cancelled"); break;
  default: FAILW("unexpected call status %s", roam_err_name(st));
  }
  if (rec->kind == K_UNKNOWN) CHECKW(st != 0 && st != ROAM_ERR_REMOTE_USER, "unknown method answered");
  if (st == ROAM_ERR_CLOSED)
    CHECKW(w->closing || conn_gone(w, rec->conn_id) || roam_session_is_closed(s) ||
               !roam_session_conn_exists(s, rec->conn_id),
           "call failed with CLOSED on a live connection");
  if (st == 0 || st == ROAM_ERR_REMOTE_USER) {
    switch (rec->kind) {
    case K_ECHO:
    case K_LATER:
    case K_NEVER:
      CHECKW(res->value.len == rec->len &&
                 (rec->len == 0 || memcmp(res->value.ptr, rec->payload, rec->len) == 0),
             "echo value differs (kind %d, %zu vs %zu bytes)", rec->kind, res->value.len, rec->len);
      if (rec->kind == K_ECHO) CHECKW(st == 0, "echo answered an error");
      if (rec->kind == K_NEVER) CHECKW(rec->cancelled && st != 0, "never-call answered");
      break;
    case K_SUM:
    case K_SUM_LATE:
      if (st == 0) {
        CHECKW(rec->tx_state == TX_CLOSED, "sum answered Ok before the stream was closed");
        CHECKW(res->value.len == 12, "sum value has %zu bytes", res->value.len);
        CHECKW(get32(res->value.ptr) == rec->tx_sent && get64(res->value.ptr + 4) == rec->tx_sum,
               "sum mismatch: %u values / %llu bytes received, %u / %llu sent",
               get32(res->value.ptr), (unsigned long long)get64(res->value.ptr + 4), rec->tx_sent,
               (unsigned long long)rec->tx_sum);
      }
      break;
    case K_GEN:
      if (st == 0) {
        CHECKW(res->value.len == 4 && get32(res->value.ptr) == rec->gen_count, "gen value");
        if (rec->rx_state != RX_RESET) {
          CHECKW(rec->rx_state == RX_ENDED && rec->rx_end_err == 0,
                 "gen Ok but its channel did not end cleanly (%d, %d)", rec->rx_state,
                 rec->rx_end_err);
          CHECKW(rec->rx_got == rec->gen_count, "gen Ok with %u of %u values", rec->rx_got,
                 rec->gen_count);
        }
      }
      break;
    default: break;
    }
  }
  /* The call's own Rx channels have ended by now (unless the connection is
   * being torn down: its channels end after its calls). */
  if (st != ROAM_ERR_CLOSED)
    CHECKW(rec->rx_state != RX_OPEN, "Rx channel still open after its call completed (%s)",
           roam_err_name(st));
  /* Stop streaming into a call that is over. */
  if (rec->tx_state == TX_OPEN && chance(w, 2)) tx_pump(w, rec, 0);
}

static void tx_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  callrec *rec = ud;
  (void)s;
  CHECKW(conn == rec->conn_id && ch == rec->tx, "on_writable for the wrong channel");
  if (chance(rec->w, 2)) tx_pump(rec->w, rec, 3);
}
static void tx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  callrec *rec = ud;
  (void)s;
  CHECKW(conn == rec->conn_id && ch == rec->tx, "on_end for the wrong channel");
  CHECKW(rec->tx_state == TX_OPEN, "Tx on_end in state %d", rec->tx_state);
  CHECKW(err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED, "Tx ended with %d", err);
  rec->tx_state = TX_GONE;
  rec->tx_end_err = err;
}
static const roam_channel_callbacks tx_cbs = {NULL, tx_end, tx_writable};

static int rx_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  callrec *rec = ud;
  (void)s;
  CHECKW(conn == rec->conn_id && ch == rec->rx, "on_data for the wrong channel");
  CHECKW(rec->rx_state == RX_OPEN, "Data on an Rx channel in state %d", rec->rx_state);
  CHECKW(rec->rx_got < rec->gen_count, "more values than generated");
  CHECKW(v.len == vlen_for(rec->gen_seed, rec->rx_got, rec->gen_maxv) && value_ok(v, rec->rx_got),
         "value %u corrupt or out of order", rec->rx_got);
  rec->rx_got++;
  if (rec->rx_manual) rec->rx_unconsumed += v.len;
  return 0;
}
static void rx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  callrec *rec = ud;
  (void)s;
  CHECKW(conn == rec->conn_id && ch == rec->rx, "on_end for the wrong channel");
  CHECKW(rec->rx_state == RX_OPEN, "Rx on_end in state %d", rec->rx_state);
  rec->rx_state = RX_ENDED;
  rec->rx_end_err = err;
}

static const roam_channel_callbacks rx_cbs = {rx_data, rx_end, NULL};

/* Send up to max values; max 0 = just close if the call is over. */
static void tx_pump(world *w, callrec *rec, int max) {
  roam_session *s = w->sd[rec->from].s;
  uint8_t buf[MAXV_CAP];
  for (;;) {
    if (rec->tx_state != TX_OPEN) return;
    if (rec->done || rec->tx_sent >= rec->tx_target) {
      int rc = roam_channel_close(s, rec->conn_id, rec->tx);
      CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND, "close: %s",
             roam_err_name(rc));
      if (rc == 0) rec->tx_state = TX_CLOSED;
      else rec->tx_dead = 1; /* on_end follows */
      return;
    }
    if (max-- <= 0 || rec->tx_dead) return;
    uint32_t len = 4 + rnd(w, w->maxv - 3);
    make_value(buf, rec->tx_sent, len);
    int rc = roam_channel_send(s, rec->conn_id, rec->tx, buf, len);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND) {
      rec->tx_dead = 1; /* on_end follows */
      return;
    }
    CHECKW(rc == 0, "send: %s", roam_err_name(rc));
    rec->tx_sent++;
    rec->tx_sum += len;
  }
}

static void start_call(world *w) {
  int from = (int)rnd(w, 2);
  side *sd = &w->sd[from];
  roam_session *s = sd->s;
  uint64_t conn = 0;
  if (sd->nconns && chance(w, 2)) conn = sd->conns[rnd(w, (uint32_t)sd->nconns)];
  static const int weights[K_COUNT] = {8, 4, 2, 4, 2, 4, 1};
  int total = 0, kind = 0;
  for (int i = 0; i < K_COUNT; i++) total += weights[i];
  int pick = (int)rnd(w, (uint32_t)total);
  while (pick >= weights[kind]) pick -= weights[kind++];

  callrec *rec = calloc(1, sizeof *rec);
  rec->w = w;
  rec->kind = kind;
  rec->from = from;
  rec->conn_id = conn;
  roam_call_opts o;
  memset(&o, 0, sizeof o);
  o.conn_id = conn;
  uint64_t chid = 0;
  int rc;
  if (kind == K_SUM || kind == K_SUM_LATE) {
    rc = roam_channel_alloc(s, conn, ROAM_CHAN_SEND, &tx_cbs, rec, &chid);
    rec->tx = chid;
    rec->tx_target = rnd(w, 4) == 0 ? 0 : rnd(w, 40);
  } else if (kind == K_GEN) {
    rec->rx_manual = chance(w, 3);
    rc = roam_channel_alloc(s, conn, ROAM_CHAN_RECV | (rec->rx_manual ? ROAM_CHAN_MANUAL_CREDIT : 0),
                            &rx_cbs, rec, &chid);
    rec->rx = chid;
    rec->gen_count = rnd(w, 50);
    rec->gen_seed = (uint32_t)rng_next(&w->rng);
    rec->gen_maxv = w->maxv;
  } else {
    rc = 0;
  }
  if (rc) {
    CHECKW(rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_LIMIT,
           "channel_alloc: %s", roam_err_name(rc));
    free(rec);
    return;
  }
  if (chid) {
    o.channels = &chid;
    o.channel_count = 1;
  }
  if (kind == K_GEN) {
    rec->len = 12;
    rec->payload = malloc(12);
    put32(rec->payload, rec->gen_count);
    put32(rec->payload + 4, rec->gen_maxv);
    put32(rec->payload + 8, rec->gen_seed);
  } else if (chid) {
    rec->len = 8;
    rec->payload = malloc(8);
    put64(rec->payload, chid);
  } else {
    rec->len = chance(w, 10) ? rnd(w, 3000) : rnd(w, 48);
    rec->payload = malloc(rec->len + 1);
    for (size_t i = 0; i < rec->len; i++) rec->payload[i] = (uint8_t)rng_next(&w->rng);
  }
  if (chance(w, 8)) {
    o.timeout_ms = 1 + rnd(w, 400);
    rec->has_deadline = 1;
  }
  roam_meta_entry md[2];
  if (chance(w, 5)) {
    memset(md, 0, sizeof md);
    md[0].key = (roam_bytes){(const uint8_t *)"trace", 5};
    md[0].kind = ROAM_META_STRING;
    md[0].value = (roam_bytes){(const uint8_t *)"abc", 3};
    md[1].key = (roam_bytes){(const uint8_t *)"n", 1};
    md[1].kind = ROAM_META_U64;
    md[1].u64 = 7;
    o.metadata = md;
    o.metadata_count = 2;
  }
  rc = roam_call(s, method_of[kind], rec->payload, rec->len, &o, on_result, rec, &rec->rid);
  TRACE("%c call kind %d conn %llu -> rc %d rid %llu (tx %llu rx %llu)\n", 'A' + from, kind,
        (unsigned long long)conn, rc, (unsigned long long)rec->rid, (unsigned long long)rec->tx,
        (unsigned long long)rec->rx);
  if (rc) {
    CHECKW(rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_LIMIT,
           "roam_call: %s", roam_err_name(rc));
    CHECKW(rec->done == 0, "callback ran for a refused call");
    /* the channel was released with the refused call */
    if (chid) CHECKW(roam_channel_credit(s, conn, chid) == 0, "channel survived a refused call");
    free(rec->payload);
    free(rec);
    return;
  }
  CHECKW(rec->done == 0, "callback ran inside roam_call");
  if (rec->tx) rec->tx_state = TX_OPEN;
  if (rec->rx) rec->rx_state = RX_OPEN;
  if (w->ncalls == w->capcalls) {
    w->capcalls = w->capcalls ? w->capcalls * 2 : 64;
    w->calls = realloc(w->calls, w->capcalls * sizeof *w->calls);
  }
  w->calls[w->ncalls++] = rec;
  if (rec->tx && chance(w, 2)) tx_pump(w, rec, 2);
}

static callrec *pick_call(world *w, int (*pred)(const callrec *)) {
  if (!w->ncalls) return NULL;
  size_t start = rnd(w, (uint32_t)w->ncalls);
  for (size_t k = 0; k < w->ncalls; k++) {
    callrec *rec = w->calls[(start + k) % w->ncalls];
    if (pred(rec)) return rec;
  }
  return NULL;
}
static int p_pending(const callrec *r) { return !r->done; }
static int p_tx_open(const callrec *r) { return r->tx_state == TX_OPEN && !r->tx_dead; }
static int p_rx_manual(const callrec *r) { return r->rx_manual && r->rx_unconsumed; }
static int p_rx_open(const callrec *r) { return r->rx_state == RX_OPEN; }
static int p_never(const callrec *r) { return !r->done && r->kind == K_NEVER && !r->cancelled; }

static void cancel_call(world *w, callrec *rec) {
  int was = rec->cancelled;
  rec->cancelled = 1; /* a queued call completes inside roam_call_cancel */
  int rc = roam_call_cancel(w->sd[rec->from].s, rec->conn_id, rec->rid);
  TRACE("%c cancel conn %llu rid %llu -> %d\n", 'A' + rec->from, (unsigned long long)rec->conn_id,
        (unsigned long long)rec->rid, rc);
  CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_NOT_FOUND, "cancel: %s",
         roam_err_name(rc));
  if (rc == ROAM_ERR_NOT_FOUND)
    CHECKW(rec->done || conn_gone(w, rec->conn_id), "cancel: call %llu not found",
           (unsigned long long)rec->rid);
  if (rc) rec->cancelled = was;
}

static void consume_rx(world *w, callrec *rec, size_t n) {
  if (n > rec->rx_unconsumed) n = rec->rx_unconsumed;
  int rc = roam_channel_consume(w->sd[rec->from].s, rec->conn_id, rec->rx, n);
  CHECKW(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED, "consume: %s",
         roam_err_name(rc));
  rec->rx_unconsumed = rc == 0 ? rec->rx_unconsumed - n : 0;
}

static void reset_channel(world *w, callrec *rec) {
  roam_session *s = w->sd[rec->from].s;
  if (rec->tx_state == TX_OPEN) {
    int rc = roam_channel_reset(s, rec->conn_id, rec->tx);
    CHECKW(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED, "reset tx: %s",
           roam_err_name(rc));
    if (rc == 0) rec->tx_state = TX_RESET;
    else rec->tx_dead = 1;
  } else if (rec->rx_state == RX_OPEN) {
    int rc = roam_channel_reset(s, rec->conn_id, rec->rx);
    CHECKW(rc == 0 || rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED, "reset rx: %s",
           roam_err_name(rc));
    if (rc == 0) rec->rx_state = RX_RESET;
  }
}

/* ---- handlers (callee side) -------------------------------------------------------- */

static void h_release(hreq *h, int rc) {
  world *w = h->w;
  TRACE("%c respond kind %d conn %llu -> %d\n", 'A' + h->side, h->kind,
        (unsigned long long)h->conn_id, rc);
  (void)w;
  if (rc == ROAM_ERR_CANCELLED) CHECKW(h->cancel_seen, "respond: CANCELLED without a cancel");
  CHECKW(rc == 0 || rc == ROAM_ERR_CANCELLED || rc == ROAM_ERR_CLOSED, "respond: %s",
         roam_err_name(rc));
  h->released = 1;
  h->r = NULL;
}

static void h_respond_payload(hreq *h, int user_error) {
  if (h->released) return;
  int rc = user_error ? roam_request_respond_user_error(h->r, h->payload, h->len)
                      : roam_request_respond_ok(h->r, h->payload, h->len);
  h_release(h, rc);
}

static void on_req_cancel(roam_request *r, int why, void *ud) {
  hreq *h = ud;
  world *w = h->w;
  CHECKW(r == h->r && !h->released, "cancel callback for a released request");
  CHECKW(why == ROAM_ERR_CANCELLED || why == ROAM_ERR_CLOSED, "cancel why %d", why);
  CHECKW(!h->cancel_seen, "cancel callback twice");
  CHECKW(roam_request_is_cancelled(r) || why == ROAM_ERR_CANCELLED, "cancel flag");
  h->cancel_seen = why;
  if (h->kind == K_NEVER && chance(w, 2)) h_respond_payload(h, 1);
  else if (h->kind == K_LATER && chance(w, 4)) h_respond_payload(h, 0);
}

static hreq *hreq_new(roam_session *s, roam_request *r, void *ud, int kind) {
  side *sd = ud;
  world *w = sd->w;
  (void)s;
  hreq *h = calloc(1, sizeof *h);
  h->w = w;
  h->side = sd->idx;
  h->kind = kind;
  h->r = r;
  h->conn_id = roam_request_conn_id(r);
  roam_bytes p = roam_request_payload(r);
  h->len = p.len;
  h->payload = malloc(p.len + 1);
  if (p.len) memcpy(h->payload, p.ptr, p.len);
  h->all_next = w->hreqs;
  w->hreqs = h;
  w->nhreqs++;
  roam_request_set_cancel_cb(r, on_req_cancel, h);
  roam_request_set_user_data(r, h);
  CHECKW(roam_request_user_data(r) == h, "user data");
  return h;
}

/* Trimming from a handler does nothing: its payload lives in the
 * deframer's storage (ASan would see the payload read below otherwise). */
static void roam_trim_in_callback(roam_session *s, world *w) {
  if (chance(w, 3)) roam_session_trim(s);
}

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  side *sd = ud;
  world *w = sd->w;
  roam_trim_in_callback(s, w);
  roam_bytes p = roam_request_payload(r);
  int rc;
  if (chance(w, 4)) {
    /* raw Response with metadata */
    uint8_t *buf = malloc(p.len + 1);
    buf[0] = 0;
    if (p.len) memcpy(buf + 1, p.ptr, p.len);
    roam_meta_entry md;
    memset(&md, 0, sizeof md);
    md.key = (roam_bytes){(const uint8_t *)"x", 1};
    md.kind = ROAM_META_BYTES;
    md.value = (roam_bytes){(const uint8_t *)"\x00\x01", 2};
    rc = roam_request_respond_raw(r, buf, p.len + 1, &md, 1);
    free(buf);
  } else {
    rc = roam_request_respond_ok(r, p.ptr, p.len);
  }
  CHECKW(rc == 0, "echo respond: %s", roam_err_name(rc));
}

static void h_later(roam_session *s, roam_request *r, void *ud) { hreq_new(s, r, ud, K_LATER); }
static void h_never(roam_session *s, roam_request *r, void *ud) { hreq_new(s, r, ud, K_NEVER); }

static int sum_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  hreq *h = ud;
  world *w = h->w;
  (void)w;
  (void)s;
  CHECKW(conn == h->conn_id && ch == h->ch, "sum: data for the wrong channel");
  CHECKW(!h->ch_ended, "sum: data after end");
  CHECKW(value_ok(v, h->count), "sum: value %u corrupt or out of order", h->count);
  h->count++;
  h->total += v.len;
  return 0;
}
static void sum_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  hreq *h = ud;
  world *w = h->w;
  (void)w;
  (void)s;
  CHECKW(conn == h->conn_id && ch == h->ch, "sum: end for the wrong channel");
  CHECKW(!h->ch_ended, "sum: end twice");
  h->ch_ended = 1;
  if (h->released) return;
  if (err == 0) {
    uint8_t v[12];
    put32(v, h->count);
    put64(v + 4, h->total);
    h_release(h, roam_request_respond_ok(h->r, v, 12));
  } else {
    h_release(h, roam_request_respond_user_error(h->r, "x", 1));
  }
}
static const roam_channel_callbacks sum_cbs = {sum_data, sum_end, NULL};

static void sum_bind(hreq *h) {
  world *w = h->w;
  (void)w;
  h->ch = roam_request_channel_id(h->r, 0);
  int rc = roam_request_bind_channel(h->r, 0, ROAM_CHAN_RECV, &sum_cbs, h);
  if (rc == 0) {
    h->bound = 1;
    return;
  }
  CHECKW(rc == ROAM_ERR_CANCELLED || rc == ROAM_ERR_CLOSED, "bind: %s", roam_err_name(rc));
  h->bound = -1;
  if (!h->released) h_release(h, roam_request_respond_user_error(h->r, "b", 1));
}

static void h_sum(roam_session *s, roam_request *r, void *ud) {
  hreq *h = hreq_new(s, r, ud, K_SUM);
  world *w = h->w;
  (void)w;
  CHECKW(roam_request_channel_count(r) == 1, "sum: %zu channels", roam_request_channel_count(r));
  sum_bind(h);
}
static void h_sum_late(roam_session *s, roam_request *r, void *ud) {
  hreq *h = hreq_new(s, r, ud, K_SUM_LATE);
  world *w = h->w;
  (void)w;
  CHECKW(roam_request_channel_count(r) == 1, "sum: %zu channels", roam_request_channel_count(r));
}

static void gen_pump(hreq *h) {
  world *w = h->w;
  if (h->released) return;
  roam_session *s = w->sd[h->side].s;
  uint8_t buf[MAXV_CAP];
  while (h->next < h->gen_count && !h->ch_ended) {
    uint32_t len = vlen_for(h->gen_seed, h->next, h->gen_maxv);
    make_value(buf, h->next, len);
    int rc = roam_channel_send(s, h->conn_id, h->ch, buf, len);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc == ROAM_ERR_NOT_FOUND || rc == ROAM_ERR_CLOSED) {
      h->ch_ended = 1;
      break;
    }
    CHECKW(rc == 0, "gen send: %s", roam_err_name(rc));
    h->next++;
  }
  if (h->next < h->gen_count) {
    h_release(h, roam_request_respond_user_error(h->r, "g", 1));
  } else {
    uint8_t v[4];
    put32(v, h->gen_count);
    h_release(h, roam_request_respond_ok(h->r, v, 4));
  }
}
static void gen_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  hreq *h = ud;
  world *w = h->w;
  (void)w;
  (void)s;
  CHECKW(conn == h->conn_id && ch == h->ch, "gen: writable for the wrong channel");
  gen_pump(h);
}
static void gen_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  hreq *h = ud;
  world *w = h->w;
  (void)w;
  (void)s;
  CHECKW(conn == h->conn_id && ch == h->ch, "gen: end for the wrong channel");
  CHECKW(err == ROAM_ERR_CANCELLED || err == ROAM_ERR_CLOSED, "gen: end %d", err);
  h->ch_ended = 1;
  gen_pump(h);
}
static const roam_channel_callbacks gen_cbs = {NULL, gen_end, gen_writable};

static void h_gen(roam_session *s, roam_request *r, void *ud) {
  hreq *h = hreq_new(s, r, ud, K_GEN);
  world *w = h->w;
  CHECKW(h->len == 12 && roam_request_channel_count(r) == 1, "gen: bad request");
  h->gen_count = get32(h->payload);
  h->gen_maxv = get32(h->payload + 4);
  h->gen_seed = get32(h->payload + 8);
  h->ch = roam_request_channel_id(r, 0);
  int rc = roam_request_bind_channel(r, 0, ROAM_CHAN_SEND, &gen_cbs, h);
  CHECKW(rc == 0, "gen bind: %s", roam_err_name(rc));
  h->bound = 1;
  if (chance(w, 2)) gen_pump(h);
}

static hreq *pick_hreq(world *w, int (*pred)(const hreq *)) {
  if (!w->nhreqs) return NULL;
  size_t skip = rnd(w, (uint32_t)w->nhreqs);
  hreq *first = NULL;
  size_t i = 0;
  for (hreq *h = w->hreqs; h; h = h->all_next, i++) {
    if (!pred(h)) continue;
    if (i >= skip) return h;
    if (!first) first = h;
  }
  return first;
}
static int p_later(const hreq *h) { return !h->released && h->kind == K_LATER; }
static int p_unbound(const hreq *h) { return !h->released && h->kind == K_SUM_LATE && !h->bound; }
static int p_gen(const hreq *h) { return !h->released && h->kind == K_GEN; }
static int p_cancelled(const hreq *h) { return !h->released && h->cancel_seen && h->kind != K_GEN && (h->kind != K_SUM && h->kind != K_SUM_LATE); }

/* ---- connections ------------------------------------------------------------------------ */

static void on_connected(roam_session *s, int status, uint64_t conn_id, roam_bytes reason,
                         const roam_metadata *md, void *ud) {
  side *sd = ud;
  world *w = sd->w;
  (void)reason;
  (void)md;
  sd->connects_done++;
  CHECKW(status == 0 || status == ROAM_ERR_REJECTED || status == ROAM_ERR_TIMEOUT ||
             status == ROAM_ERR_CLOSED,
         "connect: %s", roam_err_name(status));
  if (status == ROAM_ERR_CLOSED) CHECKW(w->closing || roam_session_is_closed(s), "connect CLOSED");
  if (status) return;
  CHECKW(conn_id != 0 && roam_session_conn_exists(s, conn_id), "accepted conn missing");
  CHECKW(sd->nconns < MAXCONN, "too many conns");
  sd->conns[sd->nconns++] = conn_id;
  CHECKW(roam_session_set_dispatcher(s, conn_id, sd->d) == 0, "set_dispatcher");
}

static void do_accept(side *sd, uint64_t id) {
  world *w = sd->w;
  (void)w;
  uint64_t cid = 0;
  int rc = roam_session_accept(sd->s, id, NULL, 0, sd->d, &cid);
  CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED, "accept: %s", roam_err_name(rc));
  if (rc == 0) {
    CHECKW(sd->nconns < MAXCONN, "too many conns");
    sd->conns[sd->nconns++] = cid;
  }
}
static void do_reject(side *sd, uint64_t id) {
  world *w = sd->w;
  roam_meta_entry md;
  memset(&md, 0, sizeof md);
  md.key = (roam_bytes){(const uint8_t *)"why", 3};
  md.kind = ROAM_META_STRING;
  md.value = (roam_bytes){(const uint8_t *)"test", 4};
  int rc = roam_session_reject(sd->s, id, "go away", &md, chance(w, 2));
  CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED, "reject: %s", roam_err_name(rc));
}

static void on_connect(roam_session *s, uint64_t id, const roam_metadata *md, void *ud) {
  side *sd = ud;
  world *w = sd->w;
  (void)s;
  (void)md;
  CHECKW(sd->listening, "on_connect while not listening");
  uint32_t k = rnd(w, 10);
  if (k < 5 && sd->nconns < MAXCONN - 8)
    do_accept(sd, id);
  else if (k < 7 || sd->npend >= MAXCONN)
    do_reject(sd, id);
  else
    sd->pend[sd->npend++] = id;
}

static void on_conn_closed(roam_session *s, uint64_t conn, int err, roam_bytes reason, void *ud) {
  side *sd = ud;
  world *w = sd->w;
  (void)s;
  (void)reason;
  CHECKW(err == 0 || err == ROAM_ERR_CLOSED, "conn closed with %s", roam_err_name(err));
  side_drop_conn(sd, conn);
  mark_gone(w, conn);
}

static void on_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  side *sd = ud;
  world *w = sd->w;
  (void)s;
  sd->closed_calls++;
  sd->closed_err = err;
  char r[200];
  size_t k = reason.len < sizeof r - 1 ? reason.len : sizeof r - 1;
  if (k) memcpy(r, reason.ptr, k);
  r[k] = 0;
  CHECKW(w->closing, "side %d closed unexpectedly: %s '%s'", sd->idx, roam_err_name(err), r);
  CHECKW(sd->closed_calls == 1, "on_closed twice");
}

static void conn_action(world *w) {
  int from = (int)rnd(w, 2);
  side *sd = &w->sd[from];
  uint32_t k = rnd(w, 10);
  if (k < 4) {
    roam_meta_entry md;
    memset(&md, 0, sizeof md);
    md.key = (roam_bytes){(const uint8_t *)"svc", 3};
    md.kind = ROAM_META_STRING;
    md.value = (roam_bytes){(const uint8_t *)"x", 1};
    uint64_t to = chance(w, 3) ? 1 + rnd(w, 300) : 0;
    int rc = roam_session_connect(sd->s, &md, chance(w, 2), to, on_connected, sd);
    TRACE("%c connect -> %d\n", 'A' + from, rc);
    CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED || rc == ROAM_ERR_STATE, "connect: %s",
           roam_err_name(rc));
    if (rc == 0) sd->connects_started++;
  } else if (k < 7) {
    if (!sd->npend) return;
    int i = (int)rnd(w, (uint32_t)sd->npend);
    uint64_t id = sd->pend[i];
    sd->pend[i] = sd->pend[--sd->npend];
    if (chance(w, 2) && sd->nconns < MAXCONN - 8)
      do_accept(sd, id);
    else
      do_reject(sd, id);
  } else {
    if (!sd->nconns) return;
    uint64_t cid = sd->conns[rnd(w, (uint32_t)sd->nconns)];
    mark_gone(w, cid); /* its calls fail inside roam_session_conn_close */
    int rc = roam_session_conn_close(sd->s, cid, chance(w, 2) ? "done" : "");
    TRACE("%c conn_close %llu -> %d\n", 'A' + from, (unsigned long long)cid, rc);
    CHECKW(rc == 0 || rc == ROAM_ERR_CLOSED, "conn_close: %s", roam_err_name(rc));
    side_drop_conn(sd, cid);
    mark_gone(w, cid);
  }
}

/* ---- scenario ------------------------------------------------------------------------------- */

static void nolog(void *ud, roam_log_level lvl, const char *msg) {
  (void)lvl;
  TRACE("  [%s] %s\n", (const char *)ud, msg);
  CHECKW(msg && strlen(msg) < 1024, "log line");
}

static void tick_all(world *w) {
  roam_session_tick(w->sd[0].s, w->now);
  roam_session_tick(w->sd[1].s, w->now);
  for (int i = 0; i < 2; i++) {
    uint64_t t = roam_session_next_timeout(w->sd[i].s);
    CHECKW(t > w->now, "timer due at %llu left behind at %llu", (unsigned long long)t,
           (unsigned long long)w->now);
  }
}

/* Move bytes both ways until nothing moves. */
static void settle(world *w) {
  for (int round = 0; round < 100000; round++) {
    size_t moved = 0;
    for (int d = 0; d < 2; d++) roam_session_tick(w->sd[d].s, w->now);
    for (int d = 0; d < 2; d++) {
      moved += pump_out(w, d, SIZE_MAX);
      moved += pump_in(w, d, SIZE_MAX);
    }
    if (!moved) return;
  }
  FAILW("settle: no quiescence");
}

/* roam_session_get_stats().heap_bytes is exact (without diagnostics). */
static void check_heap(world *w) {
  if (!w->no_diag) return;
  roam_session_stats a, b;
  roam_session_get_stats(w->sd[0].s, &a);
  roam_session_get_stats(w->sd[1].s, &b);
  CHECKW(a.heap_bytes + b.heap_bytes + w->disp_bytes == w->mem.bytes,
         "heap_bytes %zu + %zu + dispatchers %zu, allocator %zu", a.heap_bytes, b.heap_bytes,
         w->disp_bytes, w->mem.bytes);
}

static void step(world *w) {
  if (chance(w, 4)) check_heap(w);
  /* a transport gives memory back now and then (roam_session_trim) */
  if (chance(w, 8)) {
    roam_session_trim(w->sd[rnd(w, 2)].s);
    check_heap(w);
  }
  uint32_t k = rnd(w, 100);
  if (k < 18) {
    start_call(w);
  } else if (k < 48) {
    int d = (int)rnd(w, 2);
    if (chance(w, 2))
      pump_out(w, d, chunk(w));
    else
      pump_in(w, d, chunk(w));
  } else if (k < 54) {
    hreq *h = pick_hreq(w, p_later);
    if (h) h_respond_payload(h, chance(w, 3));
  } else if (k < 57) {
    callrec *rec = pick_call(w, p_pending);
    if (rec) cancel_call(w, rec);
  } else if (k < 67) {
    callrec *rec = pick_call(w, p_tx_open);
    if (rec) tx_pump(w, rec, 1 + (int)rnd(w, 6));
  } else if (k < 71) {
    callrec *rec = pick_call(w, p_rx_manual);
    if (rec) consume_rx(w, rec, 1 + rnd(w, (uint32_t)rec->rx_unconsumed));
  } else if (k < 74) {
    hreq *h = pick_hreq(w, p_unbound);
    if (h) sum_bind(h);
  } else if (k < 75) {
    callrec *rec = pick_call(w, chance(w, 2) ? p_tx_open : p_rx_open);
    if (rec) reset_channel(w, rec);
  } else if (k < 79) {
    /* (time stands still until the Hello exchange is done: no handshake
     * timeouts here) */
    if (!roam_session_is_ready(w->sd[0].s) || !roam_session_is_ready(w->sd[1].s)) return;
    w->now += chance(w, 10) ? 1000 + rnd(w, 2000) : rnd(w, 120);
    TRACE("time %llu\n", (unsigned long long)w->now);
    tick_all(w);
  } else if (k < 82) {
    conn_action(w);
  } else if (k < 84) {
    hreq *h = pick_hreq(w, p_gen);
    if (h) gen_pump(h);
  } else if (k < 86) {
    hreq *h = pick_hreq(w, p_cancelled);
    if (h) h_respond_payload(h, 0);
  } else {
    int d = (int)rnd(w, 2);
    pump_out(w, d, SIZE_MAX);
    pump_in(w, d, chunk(w));
  }
}

/* Finish all work without time passing: every call must end naturally. */
static void drain(world *w) {
  for (int round = 0; round < 10000; round++) {
    int work = 0;
    for (size_t i = 0; i < w->ncalls; i++) {
      callrec *rec = w->calls[i];
      if (p_never(rec)) {
        cancel_call(w, rec);
        work++;
      }
      if (p_tx_open(rec)) {
        tx_pump(w, rec, 1000);
        work++;
      }
      if (rec->rx_manual && rec->rx_unconsumed) {
        consume_rx(w, rec, rec->rx_unconsumed);
        work++;
      }
    }
    for (hreq *h = w->hreqs; h; h = h->all_next) {
      if (h->released) continue;
      if (h->kind == K_LATER || (h->cancel_seen && h->kind != K_SUM && h->kind != K_SUM_LATE &&
                                 h->kind != K_GEN)) {
        h_respond_payload(h, 0);
        work++;
      } else if (h->kind == K_SUM_LATE && !h->bound) {
        sum_bind(h);
        work++;
      } else if (h->kind == K_GEN) {
        gen_pump(h);
      }
      for (int d = 0; d < 2; d++)
        for (int i = 0; i < w->sd[d].npend; i++) do_reject(&w->sd[d], w->sd[d].pend[i]);
      w->sd[0].npend = w->sd[1].npend = 0;
    }
    size_t before = w->ob.responses + w->ob.datas + w->ob.requests;
    settle(w);
    if (!work && before == w->ob.responses + w->ob.datas + w->ob.requests) break;
  }
  /* Everything answered. */
  for (size_t i = 0; i < w->ncalls; i++) {
    callrec *rec = w->calls[i];
    CHECKW(rec->done == 1, "call %llu (kind %d, conn %llu) still pending after the drain",
           (unsigned long long)rec->rid, rec->kind, (unsigned long long)rec->conn_id);
    if (!rec->cancelled && !rec->has_deadline && !conn_gone(w, rec->conn_id) &&
        !w->refusals_possible) {
      switch (rec->kind) {
      case K_ECHO: CHECKW(rec->status == 0, "echo: %s", roam_err_name(rec->status)); break;
      case K_LATER:
        CHECKW(rec->status == 0 || rec->status == ROAM_ERR_REMOTE_USER, "later: %s",
               roam_err_name(rec->status));
        break;
      case K_SUM:
      case K_SUM_LATE:
        if (rec->tx_state == TX_CLOSED && rec->tx_end_err == 0)
          CHECKW(rec->status == 0, "sum: %s", roam_err_name(rec->status));
        break;
      case K_GEN:
        if (rec->rx_state != RX_RESET)
          CHECKW(rec->status == 0, "gen: %s", roam_err_name(rec->status));
        break;
      default: break;
      }
    }
  }
  /* Every Request on the wire got its Response (unless its connection went). */
  for (int d = 0; d < 2; d++) {
    for (uint32_t i = 0; i < w->ob.reqs[d].cap; i++) {
      roam_u64map_slot *sl = &w->ob.reqs[d].slots[i];
      if (!sl->val) continue;
      CHECKW(conn_gone(w, sl->key >> 48), "request %llu on conn %llu from side %d never answered",
             (unsigned long long)(sl->key & 0xffffffffffffull),
             (unsigned long long)(sl->key >> 48), d);
    }
  }
  for (hreq *h = w->hreqs; h; h = h->all_next)
    CHECKW(h->released || conn_gone(w, h->conn_id), "handler (kind %d) never answered", h->kind);
  w->drained = 1;
}

static void world_setup(world *w, unsigned seed, unsigned scenario) {
  memset(w, 0, sizeof *w);
  W = w;
  w->seed = seed;
  w->scenario = scenario;
  w->rng = (uint64_t)seed * 0x100000001b3ull + scenario;
  rng_next(&w->rng);
  tmem_init(&w->mem);
  obs_init(w);
  w->now = 1000;
  w->msg_mode = chance(w, 5);
  static const size_t chunks[] = {0, 1, 7, 64, 1500};
  w->chunk_max = chunks[rnd(w, 5)];
  static const uint32_t credits[] = {8, 16, 64, 300, 65536};
  w->credit_a = chance(w, 2) ? 65536 : credits[rnd(w, 5)];
  w->credit_b = chance(w, 2) ? 65536 : credits[rnd(w, 5)];
  uint32_t cr = w->credit_a < w->credit_b ? w->credit_a : w->credit_b;
  w->maxv = cr < MAXV_CAP ? cr : MAXV_CAP;
  int small_limits = chance(w, 5);
  int listener = (int)rnd(w, 2);
  unsigned flags = w->msg_mode ? ROAM_SESSION_MESSAGE_TRANSPORT : 0;
  if (chance(w, 2)) flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  w->no_diag = (flags & ROAM_SESSION_NO_DIAGNOSTICS) != 0;
  int with_log = chance(w, 3);
  if (with_log && chance(w, 4)) flags |= ROAM_SESSION_WIRE_SPY;
  size_t hw = chance(w, 4) ? 100 + rnd(w, 400) : 0;
  for (int i = 0; i < 2; i++) {
    side *sd = &w->sd[i];
    sd->w = w;
    sd->idx = i;
    roam_session_config cfg;
    roam_session_config_init(&cfg, i == 0 ? ROAM_ROLE_INITIATOR : ROAM_ROLE_ACCEPTOR);
    cfg.flags = flags;
    cfg.initial_channel_credit = i == 0 ? w->credit_a : w->credit_b;
    cfg.now_ms = w->now;
    cfg.mem = &w->mem.mem;
    cfg.cancel_grace_ms = 20 + rnd(w, 2000);
    /* pending grants leave at the next tick, even one that passes no time */
    cfg.credit_delay_ms = 0;
    if (hw) cfg.output_high_water = hw;
    if (small_limits) {
      cfg.max_outgoing_calls = 1 + rnd(w, 4);
      cfg.outgoing_queue_limit = rnd(w, 8);
      cfg.max_incoming_calls = 1 + rnd(w, 6);
      cfg.max_channels = 2 + rnd(w, 6);
      cfg.max_connections = 1 + rnd(w, 3);
      w->refusals_possible = 1;
    }
    if (with_log || g_trace) cfg.log = nolog;
    cfg.log_user_data = i == 0 ? "A" : "B";
    if (g_trace) cfg.flags |= ROAM_SESSION_WIRE_SPY;
    cfg.name = i == 0 ? "b2b-A" : "b2b-B";
    roam_session_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.on_closed = on_closed;
    cbs.on_connect = on_connect;
    cbs.on_conn_closed = on_conn_closed;
    assert_int_equal(roam_session_new(&sd->s, &cfg, &cbs, sd), 0);
    size_t before = w->mem.bytes;
    sd->d = roam_dispatcher_new(&w->mem.mem);
    assert_non_null(sd->d);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_ECHO], h_echo, sd), 0);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_LATER], h_later, sd), 0);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_NEVER], h_never, sd), 0);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_SUM], h_sum, sd), 0);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_SUM_LATE], h_sum_late, sd), 0);
    assert_int_equal(roam_dispatcher_add(sd->d, method_of[K_GEN], h_gen, sd), 0);
    w->disp_bytes += w->mem.bytes - before;
    assert_int_equal(roam_session_set_dispatcher(sd->s, 0, sd->d), 0);
    sd->listening = i == listener;
    roam_session_listen(sd->s, sd->listening);
  }
}

static void world_teardown(world *w) {
  for (int i = 0; i < 2; i++) {
    roam_session_free(w->sd[i].s);
    w->sd[i].s = NULL;
  }
  for (size_t i = 0; i < w->ncalls; i++) {
    callrec *rec = w->calls[i];
    CHECKW(rec->done == 1, "call %llu completed %d times", (unsigned long long)rec->rid,
           rec->done);
    CHECKW(rec->tx_state != TX_OPEN && rec->rx_state != RX_OPEN,
           "call %llu: channel never ended (tx %d, rx %d)", (unsigned long long)rec->rid,
           rec->tx_state, rec->rx_state);
  }
  for (int i = 0; i < 2; i++) roam_dispatcher_free(w->sd[i].d);
  CHECKW(w->mem.bytes == 0 && w->mem.live == 0, "leak: %zu bytes in %ld blocks", w->mem.bytes,
         w->mem.live);
  for (size_t i = 0; i < w->ncalls; i++) {
    free(w->calls[i]->payload);
    free(w->calls[i]);
  }
  free(w->calls);
  while (w->hreqs) {
    hreq *h = w->hreqs;
    w->hreqs = h->all_next;
    free(h->payload);
    free(h);
  }
  for (int d = 0; d < 2; d++) free(w->wires[d].buf);
  free(w->tmp);
  obs_free(w);
  W = NULL;
}

typedef struct totals {
  unsigned long long calls, ok, requests, datas, vconn_goodbyes, connects;
} totals;

static void run_scenario(unsigned seed, unsigned scenario, int steps, totals *t) {
  world *w = calloc(1, sizeof *w);
  world_setup(w, seed, scenario);
  /* A few calls before the handshake completes. */
  int early = (int)rnd(w, 4);
  for (int i = 0; i < early; i++) start_call(w);
  for (int i = 0; i < steps; i++) step(w);
  int mode = (int)rnd(w, 4); /* 0,1: drain then close; 2: close; 3: EOF */
  if (mode <= 1) drain(w);
  int closer = (int)rnd(w, 2);
  w->closing = 1;
  side *a = &w->sd[closer], *b = &w->sd[!closer];
  if (mode == 3) {
    roam_session_eof(a->s);
    roam_session_eof(b->s);
    CHECKW(a->closed_calls == 1 && a->closed_err == ROAM_ERR_CLOSED, "EOF close");
  } else {
    CHECKW(roam_session_close(a->s) == 0, "close");
    CHECKW(a->closed_calls == 1 && a->closed_err == 0, "graceful close: %s",
           roam_err_name(a->closed_err));
    settle(w);
    CHECKW(b->closed_calls == 1 && b->closed_err == 0, "peer of a graceful close: %d %s",
           b->closed_calls, roam_err_name(b->closed_err));
  }
  for (int i = 0; i < 2; i++) {
    side *sd = &w->sd[i];
    CHECKW(roam_session_is_closed(sd->s), "not closed");
    roam_session_stats st;
    roam_session_get_stats(sd->s, &st);
    CHECKW(st.protocol_errors == 0, "side %d: %llu protocol errors", i,
           (unsigned long long)st.protocol_errors);
    CHECKW(st.calls_in_flight == 0 && st.channels_open == 0, "side %d: %u calls, %u channels left",
           i, st.calls_in_flight, st.channels_open);
    CHECKW(st.calls_started == st.calls_completed, "side %d: started %llu completed %llu", i,
           (unsigned long long)st.calls_started, (unsigned long long)st.calls_completed);
    CHECKW(sd->connects_started == sd->connects_done, "side %d: connects %d/%d", i,
           sd->connects_done, sd->connects_started);
  }
  /* Release some handles after the close (answers are then only releases). */
  for (hreq *h = w->hreqs; h; h = h->all_next)
    if (!h->released && chance(w, 2)) h_respond_payload(h, 0);
  for (size_t i = 0; i < w->ncalls; i++) {
    t->calls++;
    if (w->calls[i]->status == 0) t->ok++;
  }
  t->requests += w->ob.requests;
  t->datas += w->ob.datas;
  t->vconn_goodbyes += (unsigned long long)w->goodbyes_vconn;
  t->connects += (unsigned long long)(w->sd[0].connects_started + w->sd[1].connects_started);
  world_teardown(w);
  free(w);
}

static unsigned scale(void) {
  const char *e = getenv("ROAM_B2B_SCALE");
  int v = e ? atoi(e) : 1;
  return v > 0 ? (unsigned)v : 1;
}

static void run_seed(unsigned seed) {
  totals t;
  memset(&t, 0, sizeof t);
  unsigned n = 120 * scale();
  /* ROAM_B2B_ONLY=seed:scenario runs one scenario (to debug a failure). */
  const char *only = getenv("ROAM_B2B_ONLY");
  unsigned oseed = 0, osc = 0;
  if (only && sscanf(only, "%u:%u", &oseed, &osc) == 2) {
    if (oseed == seed) run_scenario(seed, osc, 150 + (int)(osc % 7) * 60, &t);
    return;
  }
  for (unsigned sc = 0; sc < n; sc++) run_scenario(seed, sc, 150 + (int)(sc % 7) * 60, &t);
  print_message("seed %u: %u scenarios, %llu calls (%llu ok), %llu requests and %llu Data on "
                "the wire, %llu connects, %llu virtual-connection Goodbyes\n",
                seed, n, t.calls, t.ok, t.requests, t.datas, t.connects, t.vconn_goodbyes);
}

static void test_seed_1(void **st) { (void)st; run_seed(1); }
static void test_seed_2(void **st) { (void)st; run_seed(2); }
static void test_seed_3(void **st) { (void)st; run_seed(3); }
static void test_seed_4(void **st) { (void)st; run_seed(4); }
static void test_seed_5(void **st) { (void)st; run_seed(5); }
static void test_seed_6(void **st) { (void)st; run_seed(6); }

int main(void) {
  g_trace = getenv("ROAM_B2B_TRACE") != NULL;
  setvbuf(stdout, NULL, _IONBF, 0);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_1), cmocka_unit_test(test_seed_2), cmocka_unit_test(test_seed_3),
      cmocka_unit_test(test_seed_4), cmocka_unit_test(test_seed_5), cmocka_unit_test(test_seed_6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
