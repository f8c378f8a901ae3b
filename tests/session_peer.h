/*
 * Test helper: a scripted raw peer around one session. The test writes
 * messages as the peer (sp_send), and reads what the session sent back
 * (sp_next), byte-exact through the real COBS framing.
 */
#ifndef ROAM_TEST_SESSION_PEER_H
#define ROAM_TEST_SESSION_PEER_H

#include <roam/roam.h>
#include <roam/session.h>
#include <stdlib.h>
#include <string.h>

/* ---- counting (and optionally failing) allocator ------------------------ */

/* Every block carries a 16-byte header with its size, so that the live byte
 * count is exact. fail_at = n > 0 makes the n-th allocation (counting from
 * 1, realloc that grows included) fail; fail_every makes each one after it
 * fail too. */
typedef struct tmem {
  roam_mem mem;
  size_t bytes, peak;
  long live;
  long allocs;   /* attempts so far */
  long fail_at;  /* 0 = never fail */
  int fail_every;
  long failures;
} tmem;

static inline int tmem_should_fail(tmem *t) {
  t->allocs++;
  if (t->fail_at <= 0) return 0;
  if (t->allocs == t->fail_at || (t->fail_every && t->allocs > t->fail_at)) {
    t->failures++;
    return 1;
  }
  return 0;
}

static inline void *tmem_malloc(size_t n, void *ud) {
  tmem *t = ud;
  if (tmem_should_fail(t)) return NULL;
  unsigned char *p = malloc(n + 16);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  t->bytes += n;
  if (t->bytes > t->peak) t->peak = t->bytes;
  t->live++;
  return p + 16;
}

static inline void tmem_free(void *q, void *ud) {
  tmem *t = ud;
  if (!q) return;
  unsigned char *p = (unsigned char *)q - 16;
  size_t n;
  memcpy(&n, p, sizeof n);
  t->bytes -= n;
  t->live--;
  free(p);
}

static inline void *tmem_realloc(void *q, size_t n, void *ud) {
  tmem *t = ud;
  if (!q) return tmem_malloc(n, ud);
  unsigned char *p = (unsigned char *)q - 16;
  size_t old;
  memcpy(&old, p, sizeof old);
  if (n > old && tmem_should_fail(t)) return NULL;
  unsigned char *np = realloc(p, n + 16);
  if (!np) return NULL;
  memcpy(np, &n, sizeof n);
  t->bytes = t->bytes - old + n;
  if (t->bytes > t->peak) t->peak = t->bytes;
  return np + 16;
}

static inline void tmem_init(tmem *t) {
  memset(t, 0, sizeof *t);
  t->mem.user_data = t;
  t->mem.malloc = tmem_malloc;
  t->mem.realloc = tmem_realloc;
  t->mem.free = tmem_free;
}

/* ---- scripted peer ---------------------------------------------------------- */

typedef struct sp {
  roam_session *s;
  roam_deframer df;
  uint8_t *pending; /* output not yet parsed */
  size_t plen, pcap;
  uint8_t frame[1 << 21];
  roam_msg last;
  int closed_err;
  int closed_calls;
  char reason[256];
  uint64_t now;
} sp;

static inline void sp_on_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  sp *p = ud;
  (void)s;
  p->closed_calls++;
  p->closed_err = err;
  size_t n = reason.len < sizeof p->reason - 1 ? reason.len : sizeof p->reason - 1;
  if (n) memcpy(p->reason, reason.ptr, n);
  p->reason[n] = 0;
}

static inline sp *sp_new_cfg(roam_session_config *cfg, roam_session_callbacks *cbs) {
  sp *p = calloc(1, sizeof *p);
  roam_session_callbacks local;
  if (!cbs) {
    memset(&local, 0, sizeof local);
    cbs = &local;
  }
  if (!cbs->on_closed) cbs->on_closed = sp_on_closed;
  int rc = roam_session_new(&p->s, cfg, cbs, p);
  if (rc) abort();
  roam_deframer_init(&p->df, 1 << 22, NULL);
  p->now = cfg->now_ms;
  return p;
}

static inline sp *sp_new(roam_role role) {
  roam_session_config cfg;
  roam_session_config_init(&cfg, role);
  return sp_new_cfg(&cfg, NULL);
}

static inline void sp_free(sp *p) {
  roam_session_free(p->s);
  roam_deframer_free(&p->df);
  free(p->pending);
  free(p);
}

/* Feed raw bytes as if they came from the peer. */
static inline int sp_feed(sp *p, const uint8_t *b, size_t n) {
  size_t used = 0;
  int rc = roam_session_recv(p->s, b, n, &used);
  return rc;
}

/* Send one message as the peer (COBS-framed). */
static inline int sp_send(sp *p, const roam_msg *m) {
  size_t n = roam_msg_encoded_size(m);
  uint8_t *raw = malloc(n + 1);
  size_t len = 0;
  if (roam_msg_encode_buf(m, raw, n + 1, &len)) abort();
  uint8_t *fr = malloc(roam_cobs_max_encoded(len) + 1);
  size_t fl = roam_cobs_encode(raw, len, fr);
  fr[fl++] = 0;
  int rc = sp_feed(p, fr, fl);
  free(raw);
  free(fr);
  return rc;
}

/* Append bytes the session sent to our pending buffer (the caller consumes
 * them from the session). */
static inline void sp_collect(sp *p, const uint8_t *d, size_t n) {
  if (p->plen + n > p->pcap) {
    p->pcap = (p->plen + n) * 2;
    p->pending = realloc(p->pending, p->pcap);
  }
  memcpy(p->pending + p->plen, d, n);
  p->plen += n;
}

/* Collect the session's output into our pending buffer. */
static inline void sp_drain(sp *p) {
  const uint8_t *d;
  size_t n;
  while ((n = roam_session_output(p->s, &d)) > 0) {
    sp_collect(p, d, n);
    roam_session_consume(p->s, n);
  }
}

/* Next message the session sent; 0 if none. The message views p->frame. */
static inline int sp_next(sp *p, roam_msg *out) {
  sp_drain(p);
  if (!p->plen) return 0;
  size_t used = 0;
  roam_bytes fr;
  int rc = roam_deframer_feed(&p->df, p->pending, p->plen, &used, &fr);
  memmove(p->pending, p->pending + used, p->plen - used);
  p->plen -= used;
  if (rc != 1) return 0;
  memcpy(p->frame, fr.ptr, fr.len);
  if (roam_msg_decode(out, p->frame, fr.len)) abort();
  return 1;
}

/* Raw bytes of everything pending (for byte-exact checks). */
static inline size_t sp_take_raw(sp *p, uint8_t *buf, size_t cap) {
  sp_drain(p);
  size_t n = p->plen < cap ? p->plen : cap;
  memcpy(buf, p->pending, n);
  memmove(p->pending, p->pending + n, p->plen - n);
  p->plen -= n;
  return n;
}

static inline int sp_hello(sp *p, uint32_t max_payload, uint32_t credit) {
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_HELLO;
  m.hello.version = ROAM_HELLO_V2;
  m.hello.max_payload_size = max_payload;
  m.hello.initial_channel_credit = credit;
  return sp_send(p, &m);
}

/* Skip the session's Hello and complete the exchange. */
static inline void sp_handshake(sp *p, uint32_t max_payload, uint32_t credit) {
  roam_msg m;
  if (!sp_next(p, &m) || m.kind != ROAM_MSG_HELLO) abort();
  sp_hello(p, max_payload, credit);
}

static inline roam_msg sp_msg(roam_msg_kind kind, uint64_t conn_id) {
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = kind;
  m.conn_id = conn_id;
  return m;
}

static inline int sp_request(sp *p, uint64_t conn, uint64_t rid, uint64_t method,
                             const void *payload, size_t len, const uint64_t *chans,
                             size_t nchan) {
  roam_msg m = sp_msg(ROAM_MSG_REQUEST, conn);
  m.request_id = rid;
  m.method_id = method;
  m.payload.ptr = payload;
  m.payload.len = len;
  m.channels.items = chans;
  m.channels.count = nchan;
  return sp_send(p, &m);
}

static inline int sp_chan_msg(sp *p, roam_msg_kind kind, uint64_t conn, uint64_t ch,
                              const void *payload, size_t len, uint32_t credit) {
  roam_msg m = sp_msg(kind, conn);
  m.channel_id = ch;
  m.payload.ptr = payload;
  m.payload.len = len;
  m.credit = credit;
  return sp_send(p, &m);
}

#endif
