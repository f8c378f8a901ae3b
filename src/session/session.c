/*
 * Session core: lifecycle, the output buffer, the input loop, the Hello
 * exchange, timers and teardown. See session_internal.h for the layout.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag/diag_internal.h"
#include "wire/wire_internal.h"
#include "session/session_internal.h"

/* ------------------------------------------------------------------ */
/* configuration                                                       */
/* ------------------------------------------------------------------ */

const roam_mem *roam__session_mem(const roam_session *s) { return &s->mem; }

void roam_session_config_init(roam_session_config *cfg, roam_role role) {
  memset(cfg, 0, sizeof *cfg);
  cfg->role = role;
  cfg->max_payload_size = 1048576;
  cfg->initial_channel_credit = 65536;
  cfg->max_outgoing_calls = 4096;
  cfg->outgoing_queue_limit = 65536;
  cfg->max_incoming_calls = 4096;
  cfg->max_channels = 4096;
  cfg->max_connections = 256;
  cfg->overrun_buffer_cap = 1048576;
  cfg->output_high_water = 4u << 20;
  cfg->handshake_timeout_ms = 5000;
  cfg->cancel_grace_ms = 1000;
  cfg->credit_warn_ms = 2000;
  cfg->credit_delay_ms = 100;
}

/* Largest frame a peer may send: payload, full metadata, a channel list of
 * max_channels ids and the fixed fields, COBS-expanded. */
static size_t derived_max_frame(const roam_session_config *cfg) {
  size_t raw = (size_t)cfg->max_payload_size + ROAM_META_MAX_TOTAL +
               (size_t)ROAM_META_MAX_ENTRIES * 8 + (size_t)cfg->max_channels * 10 + 128;
  return roam_cobs_max_encoded(raw);
}

/* ------------------------------------------------------------------ */
/* logging and counters                                                */
/* ------------------------------------------------------------------ */

void roam__log(roam_session *s, roam_log_level lvl, const char *fmt, ...) {
  if (!s->cfg.log) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ENTER(s);
  s->cfg.log(s->cfg.log_user_data, lvl, buf);
  LEAVE(s);
}

static const char *const ignore_texts[] = {
#define ROAM__IGN_TEXT(name, text) text,
    ROAM_IGNORE_MAP(ROAM__IGN_TEXT)
#undef ROAM__IGN_TEXT
};

const char *roam_ignore_kind_text(int kind) {
  if (kind < 0 || kind >= ROAM_IGNORE_COUNT) return "?";
  return ignore_texts[kind];
}

void roam__ignored(roam_session *s, int kind, const roam_msg *m) {
  if (!s->stats.ignored)
    s->stats.ignored = roam__calloc(&s->mem, ROAM_IGNORE_COUNT * sizeof *s->stats.ignored);
  if (s->stats.ignored) s->stats.ignored[kind]++; /* (a count lost without memory) */
  if (!s->cfg.log) return;
  if (m)
    roam__log(s, ROAM_LOG_INFO, "ignored %s (conn %llu, id %llu): %s", roam_msg_kind_name(m->kind),
              (unsigned long long)m->conn_id,
              (unsigned long long)(m->kind >= ROAM_MSG_DATA ? m->channel_id : m->request_id),
              ignore_texts[kind]);
  else
    roam__log(s, ROAM_LOG_INFO, "ignored: %s", ignore_texts[kind]);
}

static void spy(roam_session *s, const char *dir, const roam_msg *m) {
  char line[400];
  roam_msg_format(m, line, sizeof line);
  roam__log(s, ROAM_LOG_INFO, "%s %s", dir, line);
}

/* ------------------------------------------------------------------ */
/* output                                                              */
/* ------------------------------------------------------------------ */

static size_t old_pending(const roam_session *s) { return s->old_len - s->old_head; }

size_t roam__out_pending(const roam_session *s) {
  return old_pending(s) + (s->out_len - s->out_head);
}

uint64_t roam__out_end(const roam_session *s) { return s->out_base + roam__out_pending(s); }

int roam__out_cut(roam_session *s, uint64_t pos, size_t len) {
  if (pos < s->out_base || pos + len > roam__out_end(s)) return -1;
  size_t off = (size_t)(pos - s->out_base), op = old_pending(s);
  if (off < op) { /* in the older segment (frames never straddle the two) */
    if (off + len > op) return -1;
    off += s->old_head;
    memmove(s->old + off, s->old + off + len, s->old_len - off - len);
    s->old_len -= len;
    if (s->old_len == s->old_head) s->old_head = s->old_len = 0;
    return 0;
  }
  off = s->out_head + (off - op);
  memmove(s->out + off, s->out + off + len, s->out_len - off - len);
  s->out_len -= len;
  if (s->out_len == s->out_head) s->out_head = s->out_len = 0;
  return 0;
}

/* Make room for n more bytes at the end of the output; returns where. */
static uint8_t *out_reserve(roam_session *s, size_t n);
int roam__out_ensure(roam_session *s, size_t n) {
  if (!out_reserve(s, n)) return ROAM_ERR_NOMEM;
  /* headers are encoded in the scratch encoder first */
  if (!roam_enc_reserve(&s->scratch, n < 256 ? n : 256)) return ROAM_ERR_NOMEM;
  return 0;
}

static uint8_t *out_reserve(roam_session *s, size_t n) {
  if (s->out_cap - s->out_len >= n) return s->out + s->out_len;
  size_t pending = s->out_len - s->out_head;
  /* Moving the pending bytes to the front costs no more than the bytes
   * already sent from this buffer did. */
  if (s->out_head > 0 && s->out_head >= pending && s->out_cap - pending >= n) {
    memmove(s->out, s->out + s->out_head, pending);
    s->out_head = 0;
    s->out_len = pending;
    return s->out + s->out_len;
  }
  size_t ncap = s->out_cap ? s->out_cap : 256;
  if (pending > 0 && old_pending(s) == 0) {
    /* Set the buffer aside for the transport to drain; continue in the
     * spare one (or a new one of the same size). */
    uint8_t *spare = s->old;
    size_t spare_cap = s->old_cap;
    s->old = s->out;
    s->old_head = s->out_head;
    s->old_len = s->out_len;
    s->old_cap = s->out_cap;
    s->out = spare;
    s->out_cap = spare_cap;
    s->out_head = s->out_len = 0;
    pending = 0;
    if (s->out_cap >= n) return s->out;
  }
  size_t need = pending + n;
  while (ncap < need) ncap *= 2;
  uint8_t *nb = roam__malloc(&s->mem, ncap);
  if (!nb) return NULL;
  if (pending) memcpy(nb, s->out + s->out_head, pending);
  roam__free(&s->mem, s->out);
  s->out = nb;
  s->out_cap = ncap;
  s->out_head = 0;
  s->out_len = pending;
  return s->out + s->out_len;
}

static void out_commit(roam_session *s, size_t n, int kind) {
  /* (no wake-up while the output is being collected) */
  int was_empty = s->out_len == s->out_head;
  s->out_len += n;
  if (kind >= 0 && kind < ROAM_MSG_KIND_COUNT) s->stats.msgs_out[kind]++;
  if (was_empty && s->cbs.on_want_write) {
    ENTER(s);
    s->cbs.on_want_write(s, s->ud);
    LEAVE(s);
  }
}

/* Write one frame made of three pieces. */
static int out_frame(roam_session *s, const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen, const uint8_t *c, size_t clen, int kind) {
  size_t total = alen + blen + clen;
  if (s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT) {
    if (total > UINT32_MAX) return ROAM_ERR_PAYLOAD_TOO_LARGE;
    uint8_t *p = out_reserve(s, 4 + total);
    if (!p) return ROAM_ERR_NOMEM;
    uint32_t l32 = (uint32_t)total;
    memcpy(p, &l32, 4);
    p += 4;
    memcpy(p, a, alen);
    if (blen) memcpy(p + alen, b, blen);
    if (clen) memcpy(p + alen + blen, c, clen);
    out_commit(s, 4 + total, kind);
    return 0;
  }
  if (total <= ROAM__COBS_SMALL_MAX) {
    /* Most frames: gather the pieces, then encode them in one word-wise
     * pass (three stream writes each ended in a byte-wise tail). */
    uint8_t tmp[ROAM__COBS_SMALL_MAX + 8];
    memcpy(tmp, a, alen);
    if (blen) memcpy(tmp + alen, b, blen);
    if (clen) memcpy(tmp + alen + blen, c, clen);
    memset(tmp + total, 0, 8); /* the last word's unused bytes */
    uint8_t *p = out_reserve(s, total + 9);
    if (!p) return ROAM_ERR_NOMEM;
    size_t n = roam__cobs_encode_small(tmp, total, p);
    p[n] = 0;
    out_commit(s, n + 1, kind);
    return 0;
  }
  uint8_t *p = out_reserve(s, roam_cobs_max_encoded(total) + 1);
  if (!p) return ROAM_ERR_NOMEM;
  roam_cobs_stream cs;
  roam_cobs_stream_begin(&cs, p);
  roam_cobs_stream_write(&cs, a, alen);
  if (blen) roam_cobs_stream_write(&cs, b, blen);
  if (clen) roam_cobs_stream_write(&cs, c, clen);
  size_t n = roam_cobs_stream_end(&cs);
  p[n] = 0;
  out_commit(s, n + 1, kind);
  return 0;
}

int roam__emit(roam_session *s, const roam_msg *m, const uint8_t *pre, size_t pre_len) {
  roam_msg hm = *m;
  hm.payload.len = pre_len + m->payload.len;
  if (pre_len) hm.payload.ptr = pre; /* only the length is encoded here */
  roam_enc_reset(&s->scratch);
  int rc = roam_msg_encode_header(&s->scratch, &hm);
  if (rc == 0 && pre_len) rc = roam_enc_raw(&s->scratch, pre, pre_len);
  if (rc) return rc;
  if (s->cfg.flags & ROAM_SESSION_WIRE_SPY) spy(s, "send", &hm);
  int has_payload = m->kind == ROAM_MSG_REQUEST || m->kind == ROAM_MSG_RESPONSE ||
                    m->kind == ROAM_MSG_DATA;
  if (!has_payload) return out_frame(s, s->scratch.buf, s->scratch.len, NULL, 0, NULL, 0, m->kind);
  return out_frame(s, s->scratch.buf, s->scratch.len, m->payload.ptr, m->payload.len, NULL, 0,
                   m->kind);
}

int roam__emit_fast(roam_session *s, int kind, const uint8_t *hdr, size_t hlen,
                    const void *payload, size_t plen) {
  if (s->cfg.flags & ROAM_SESSION_WIRE_SPY) { /* (debugging: the slow way) */
    uint8_t *tmp = roam__malloc(&s->mem, hlen + plen);
    roam_msg m;
    if (tmp) {
      memcpy(tmp, hdr, hlen);
      if (plen) memcpy(tmp + hlen, payload, plen);
      if (roam_msg_decode(&m, tmp, hlen + plen) == 0) spy(s, "send", &m);
      roam__free(&s->mem, tmp);
    }
  }
  return out_frame(s, hdr, hlen, payload, plen, NULL, 0, kind);
}

int roam__emit_raw(roam_session *s, const uint8_t *msg, size_t len) {
  if (s->cfg.flags & ROAM_SESSION_WIRE_SPY) {
    roam_msg m;
    if (roam_msg_decode(&m, msg, len) == 0) spy(s, "send", &m);
  }
  return out_frame(s, msg, len, NULL, 0, NULL, 0, len ? msg[0] : -1);
}

size_t roam_session_output(roam_session *s, const uint8_t **data) {
  if (old_pending(s)) {
    *data = s->old + s->old_head;
    return (s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT) ? 0 : old_pending(s);
  }
  *data = s->out ? s->out + s->out_head : NULL; /* (no arithmetic on NULL) */
  if (s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT) {
    /* Message mode hands out messages with roam_session_next_message. */
    return 0;
  }
  return s->out_len - s->out_head;
}

/* Buffers larger than this stay allocated for TRIM_DELAY_MS after the
 * output drains (a busy link reuses them), then are given back. */
#define TRIM_KEEP 65536
#define TRIM_DELAY_MS 1000

static void trim_output(roam_session *s) {
  if (old_pending(s) == 0) {
    roam__free(&s->mem, s->old);
    s->old = NULL;
    s->old_cap = s->old_head = s->old_len = 0;
  }
  if (s->out_len == s->out_head && s->out_cap > TRIM_KEEP) {
    roam__free(&s->mem, s->out);
    s->out = NULL;
    s->out_cap = s->out_head = s->out_len = 0;
  }
}

void roam_session_consume(roam_session *s, size_t n) {
  /* n counts bytes of the segment roam_session_output handed out */
  int in_old = old_pending(s) != 0;
  uint8_t *buf = in_old ? s->old : s->out;
  size_t *head = in_old ? &s->old_head : &s->out_head;
  size_t *len = in_old ? &s->old_len : &s->out_len;
  size_t pending = *len - *head;
  if (s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT) {
    /* Whole messages only: n is the length of the message(s) released. */
    size_t skip = 0;
    while (n && pending - skip >= 4) {
      uint32_t l32;
      memcpy(&l32, buf + *head + skip, 4);
      if (n < l32) break;
      n -= l32;
      skip += 4 + (size_t)l32;
    }
    n = skip;
  }
  if (n > pending) n = pending;
  *head += n;
  s->out_base += n;
  s->stats.bytes_out += n;
  if (s->cr_unsent_n) roam__credit_sent(s);
  if (*head == *len) *head = *len = 0;
  if (roam__out_pending(s) == 0 && s->old_cap + s->out_cap > TRIM_KEEP &&
      !roam__tmr_armed(&s->trim_timer)) {
    /* Keep the buffers while output flows; give them back once idle. */
    if (roam__theap_add(&s->timers, &s->mem, &s->trim_timer, roam__now(s) + TRIM_DELAY_MS))
      trim_output(s); /* no room for the timer: give them back now */
  }
}

size_t roam_session_output_queued(const roam_session *s) { return roam__out_pending(s); }

size_t roam_session_input_buffered(const roam_session *s) {
  return roam_deframer_buffered(&s->deframer) ? s->deframer.cap : 0;
}

void roam_session_trim(roam_session *s) {
  /* Inside a callback the frame being handled may live in the deframer's
   * storage (a handler that sends flushes the link): not now. */
  if (!s || s->depth) return;
  if (s->old_len == s->old_head) {
    roam__free(&s->mem, s->old);
    s->old = NULL;
    s->old_cap = s->old_head = s->old_len = 0;
  }
  if (roam__out_pending(s) == 0) {
    roam__free(&s->mem, s->out);
    s->out = NULL;
    s->out_cap = s->out_head = s->out_len = 0;
  }
  roam_deframer_trim(&s->deframer, 0);
  roam_enc_free(&s->scratch);
  if (!s->timers.count) roam__theap_free(&s->timers, &s->mem);
  if (!s->cr_unsent_n) {
    roam__free(&s->mem, s->cr_unsent);
    s->cr_unsent = NULL;
    s->cr_unsent_cap = 0;
  }
  /* the pools of free call, channel and request records, and empty maps */
  while (s->call_free) {
    call *k = s->call_free;
    s->call_free = k->next;
    roam__free(&s->mem, k);
  }
  while (s->chan_free) {
    chan *ch = s->chan_free;
    s->chan_free = ch->next_free;
    roam__free(&s->mem, ch);
  }
  while (s->req_free) {
    roam_request *r = s->req_free;
    s->req_free = r->next;
    roam__free(&s->mem, r);
  }
  uint32_t i = 0;
  conn *c;
  while ((c = roam_idmap_next(&s->conns, &i)) != NULL) {
    if (!c->calls.count) roam_idmap_free(&c->calls, &s->mem);
    if (!c->requests.count) roam_idmap_free(&c->requests, &s->mem);
    if (!c->chans.count) roam_idmap_free(&c->chans, &s->mem);
  }
}

int roam_session_next_message(roam_session *s, roam_bytes *msg) {
  msg->ptr = NULL;
  msg->len = 0;
  if (!(s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT)) return ROAM_ERR_STATE;
  int in_old = old_pending(s) != 0;
  const uint8_t *buf = in_old ? s->old : s->out;
  size_t head = in_old ? s->old_head : s->out_head, len = in_old ? s->old_len : s->out_len;
  if (len - head < 4) return 0;
  uint32_t l32; /* the length prefix is private */
  memcpy(&l32, buf + head, 4);
  msg->ptr = buf + head + 4;
  msg->len = l32;
  return 0;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */
/* ------------------------------------------------------------------ */

conn *roam__conn_new(roam_session *s, uint64_t id) {
  conn *c = roam__calloc(&s->mem, sizeof *c);
  if (!c) return NULL;
  c->id = id;
  roam_idmap_init(&c->calls);
  roam_idmap_init(&c->requests);
  roam_idmap_init(&c->chans);
  c->next_request_id = 1;
  c->next_chan_id = s->cfg.role == ROAM_ROLE_INITIATOR ? 1 : 2;
  if (roam_idmap_put(&s->conns, &s->mem, id, c)) {
    roam__free(&s->mem, c);
    return NULL;
  }
  s->stats.connections++;
  return c;
}

conn *roam__conn_get(const roam_session *s, uint64_t id) {
  conn *c = id == 0 ? s->root : roam_idmap_get(&s->conns, id);
  return (c && !c->closing) ? c : NULL;
}

int roam_session_new(roam_session **out, const roam_session_config *cfg,
                     const roam_session_callbacks *cbs, void *user_data) {
  if (!out || !cfg) return ROAM_ERR_INVALID_ARG;
  *out = NULL;
  if (cfg->role != ROAM_ROLE_INITIATOR && cfg->role != ROAM_ROLE_ACCEPTOR)
    return ROAM_ERR_INVALID_ARG;
  roam_mem mem;
  roam__mem_set(&mem, cfg->mem);
  roam_session *s = roam__calloc(&mem, sizeof *s);
  if (!s) return ROAM_ERR_NOMEM;
  s->mem = mem;
  s->cfg = *cfg;
  s->cfg.mem = NULL;
  s->cfg.name = NULL;
  if (!s->cfg.max_frame_size) s->cfg.max_frame_size = derived_max_frame(cfg);
  if (!s->cfg.max_connections) s->cfg.max_connections = 1;
  if (cbs) s->cbs = *cbs;
  s->ud = user_data;
  s->now = cfg->now_ms;
  s->max_payload = cfg->max_payload_size;
  s->credit = cfg->initial_channel_credit;
  s->next_conn_id = 1;
  s->next_connect_id = 1;
  roam__tmr_init(&s->handshake_timer, TK_HANDSHAKE);
  roam__tmr_init(&s->credit_warn_timer, TK_CREDIT_WARN);
  roam__tmr_init(&s->credit_timer, TK_CREDIT_FLUSH);
  roam__tmr_init(&s->trim_timer, TK_TRIM);
  roam_idmap_init(&s->conns);
  roam_idmap_init(&s->connects_out);
  roam_u64map_init(&s->connects_in);
  roam_enc_init_growable(&s->scratch, &s->mem);
  int rc = roam_deframer_init(&s->deframer, s->cfg.max_frame_size, &s->mem);
  if (rc) goto fail;
  rc = ROAM_ERR_NOMEM;
  s->root = roam__conn_new(s, 0);
  if (!s->root) goto fail;
  if (!(cfg->flags & ROAM_SESSION_NO_DIAGNOSTICS)) {
    s->diag = roam_diag_state_new(cfg->name, &s->mem);
    /* A session is used by one thread at a time: its request records need
     * no lock (dumps read them as seqlocks). */
    roam__diag_state_single_writer(s->diag);
  }
  if (cfg->handshake_timeout_ms &&
      roam__theap_add(&s->timers, &s->mem, &s->handshake_timer,
                          s->now + cfg->handshake_timeout_ms))
    goto fail;
  roam_msg hello;
  memset(&hello, 0, sizeof hello);
  hello.kind = ROAM_MSG_HELLO;
  hello.hello.version = ROAM_HELLO_V2;
  hello.hello.max_payload_size = cfg->max_payload_size;
  hello.hello.initial_channel_credit = cfg->initial_channel_credit;
  rc = roam__emit(s, &hello, NULL, 0);
  if (rc) goto fail;
  *out = s;
  return 0;
fail:
  roam_session_free(s);
  return rc;
}

void *roam_session_user_data(const roam_session *s) { return s->ud; }
roam_role roam_session_role(const roam_session *s) { return s->cfg.role; }

/* Fail everything on one connection (the link is closing or it got
 * Goodbye). Runs callbacks; every API call they make sees the connection
 * (or the link) as closed. */
void roam__conn_teardown(roam_session *s, conn *c, int err, roam_bytes reason) {
  c->closing = 1;
  ENTER(s);
  /* Calls waiting to be sent, then in flight. */
  while (c->defer_head) {
    call *k = c->defer_head;
    c->defer_head = k->next;
    k->next = NULL;
    roam_idmap_del(&c->calls, k->request_id);
    roam__call_complete(s, k, ROAM_ERR_CLOSED, NULL);
  }
  c->defer_tail = NULL;
  c->deferred = 0;
  /* (Deleting leaves slots where they are, so the scans go on where they
   * were; from the start again only if something came back behind.) */
  uint32_t i = 0;
  call *k;
  while (c->calls.count) {
    if (!(k = roam_idmap_next(&c->calls, &i))) {
      i = 0;
      continue;
    }
    roam_idmap_del(&c->calls, k->request_id);
    roam__call_complete(s, k, ROAM_ERR_CLOSED, NULL);
  }
  roam_request *r;
  i = 0;
  while (c->requests.count) {
    if (!(r = roam_idmap_next(&c->requests, &i))) {
      i = 0;
      continue;
    }
    roam_idmap_del(&c->requests, r->request_id);
    roam__request_orphan(s, r, ROAM_ERR_CLOSED);
  }
  chan *ch;
  i = 0;
  while (c->chans.count) {
    if (!(ch = roam_idmap_next(&c->chans, &i))) {
      i = 0;
      continue;
    }
    roam__chan_end(s, ch, 1, ROAM_ERR_CLOSED);
  }
  if (c->id != 0 && s->cbs.on_conn_closed) s->cbs.on_conn_closed(s, c->id, err, reason, s->ud);
  LEAVE(s);
}

static void conn_free(roam_session *s, conn *c) {
  roam_idmap_free(&c->calls, &s->mem);
  roam_idmap_free(&c->requests, &s->mem);
  roam_idmap_free(&c->chans, &s->mem);
  roam__free(&s->mem, c->recent_closed);
  roam__free(&s->mem, c->close_reason);
  roam__free(&s->mem, c);
}

/* Tear the link down (once), after the state went to S_CLOSED. */
static void link_teardown(roam_session *s) {
  s->teardown_pending = 0;
  /* no more input: a partial frame (up to the frame limit) goes now, not
   * when the transport is done lingering */
  roam_deframer_free(&s->deframer);
  roam_bytes reason = {(const uint8_t *)s->close_reason, s->close_reason_len};
  uint32_t i = 0;
  conn *c;
  while ((c = roam_idmap_next(&s->conns, &i)) != NULL) {
    if (c->closing && c != s->root) continue; /* torn down already */
    roam__conn_teardown(s, c, s->close_err, reason);
  }
  roam__connects_fail_all(s);
  roam__theap_remove(&s->timers, &s->handshake_timer);
  roam__theap_remove(&s->timers, &s->credit_warn_timer);
  roam__theap_remove(&s->timers, &s->credit_timer);
  roam__theap_remove(&s->timers, &s->trim_timer);
  if (!s->closed_notified) {
    s->closed_notified = 1;
    if (s->cbs.on_closed) {
      ENTER(s);
      s->cbs.on_closed(s, s->close_err, reason, s->ud);
      LEAVE(s);
    }
  }
}

/* Run deferred work once no callback is on the stack. */
void roam__settle(roam_session *s) {
  if (s->depth) return;
  while (s->closing_conns) {
    conn *c = s->closing_conns;
    s->closing_conns = c->next_closing;
    roam_bytes reason = {(const uint8_t *)c->close_reason, c->close_reason_len};
    roam__conn_teardown(s, c, c->close_err, reason);
    roam_idmap_del(&s->conns, c->id);
    s->stats.connections--;
    conn_free(s, c);
  }
  if (s->teardown_pending) link_teardown(s);
}

/* Enter S_CLOSED with err and reason; teardown runs at the next settle. */
static void link_close(roam_session *s, int err, const char *reason, size_t reason_len) {
  if (s->state == S_CLOSED) return;
  s->state = S_CLOSED;
  s->close_err = err;
  if (reason_len) {
    s->close_reason = roam__malloc(&s->mem, reason_len);
    if (s->close_reason) {
      memcpy(s->close_reason, reason, reason_len);
      s->close_reason_len = reason_len;
    }
  }
  s->teardown_pending = 1;
}

int roam__send_goodbye(roam_session *s, uint64_t conn_id, const char *reason) {
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = ROAM_MSG_GOODBYE;
  m.conn_id = conn_id;
  m.reason.ptr = (const uint8_t *)reason;
  m.reason.len = strlen(reason);
  return roam__emit(s, &m, NULL, 0);
}

void roam__violation(roam_session *s, const char *rule) {
  if (s->state == S_CLOSED) return;
  s->stats.protocol_errors++;
  roam__log(s, ROAM_LOG_WARN, "protocol violation: %s; sending Goodbye", rule);
  roam__send_goodbye(s, 0, rule);
  link_close(s, ROAM_ERR_PROTOCOL, rule, strlen(rule));
}

void roam__fatal(roam_session *s) {
  if (s->state == S_CLOSED) return;
  static const char r[] = "internal error: out of memory";
  roam__log(s, ROAM_LOG_ERROR, "out of memory; closing the link");
  roam__send_goodbye(s, 0, r);
  link_close(s, ROAM_ERR_NOMEM, r, sizeof r - 1);
}

int roam_session_close_reason(roam_session *s, const char *reason) {
  if (!s) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  if (!reason) reason = "";
  roam__send_goodbye(s, 0, reason);
  link_close(s, 0, reason, strlen(reason));
  roam__settle(s);
  return 0;
}

int roam_session_close(roam_session *s) { return roam_session_close_reason(s, ""); }

void roam_session_eof(roam_session *s) {
  if (s->state == S_CLOSED) return;
  static const char eof_reason[] = "transport closed";
  link_close(s, ROAM_ERR_CLOSED, eof_reason, sizeof eof_reason - 1);
  roam__settle(s);
}

void roam_session_free(roam_session *s) {
  if (!s) return;
  if (s->state != S_CLOSED) {
    static const char r[] = "session freed";
    link_close(s, ROAM_ERR_CLOSED, r, sizeof r - 1);
  }
  s->depth = 0;
  roam__settle(s);
  /* Handles the application still holds become invalid now. */
  while (s->held) roam__request_free(s, s->held);
  uint32_t i = 0;
  conn *c;
  while ((c = roam_idmap_next(&s->conns, &i)) != NULL) conn_free(s, c);
  roam_idmap_free(&s->conns, &s->mem);
  roam_idmap_free(&s->connects_out, &s->mem);
  roam_u64map_free(&s->connects_in, &s->mem);
  roam__theap_free(&s->timers, &s->mem);
  while (s->call_free) {
    call *k = s->call_free;
    s->call_free = k->next;
    roam__free(&s->mem, k);
  }
  while (s->chan_free) {
    chan *ch = s->chan_free;
    s->chan_free = ch->next_free;
    roam__free(&s->mem, ch);
  }
  while (s->req_free) {
    roam_request *r = s->req_free;
    s->req_free = r->next;
    roam__free(&s->mem, r);
  }
  if (s->diag) roam_diag_state_free(s->diag);
  roam_deframer_free(&s->deframer);
  roam_enc_free(&s->scratch);
  roam__free(&s->mem, s->out);
  roam__free(&s->mem, s->old);
  roam__free(&s->mem, s->cr_unsent);
  roam__free(&s->mem, s->local_closed);
  roam__free(&s->mem, s->stats.ignored);
  roam__free(&s->mem, s->close_reason);
  roam_mem mem = s->mem;
  roam__free(&mem, s);
}

/* ------------------------------------------------------------------ */
/* input                                                               */
/* ------------------------------------------------------------------ */

static void handle_hello(roam_session *s, const roam_msg *m) {
  if (s->state == S_READY) {
    roam__ignored(s, ROAM_IGNORE_LATE_HELLO, m);
    return;
  }
  if (m->hello.version != ROAM_HELLO_V2) {
    roam__violation(s, "message.hello.unknown-version");
    return;
  }
  s->state = S_READY;
  if (m->hello.max_payload_size < s->max_payload) s->max_payload = m->hello.max_payload_size;
  if (m->hello.initial_channel_credit < s->credit) s->credit = m->hello.initial_channel_credit;
  roam__theap_remove(&s->timers, &s->handshake_timer);
  if (s->cbs.on_ready) {
    ENTER(s);
    s->cbs.on_ready(s, s->ud);
    LEAVE(s);
  }
  /* Calls made before the handshake leave now, on every connection. */
  if (s->state == S_READY) roam__flush_deferred(s, s->root);
}

static void handle_frame(roam_session *s, const uint8_t *frame, size_t len) {
  roam_msg m;
  int rc = roam_msg_decode(&m, frame, len);
  if (rc) {
    if (s->state == S_HANDSHAKE && rc == ROAM_ERR_UNKNOWN_VARIANT) {
      /* Not a Hello, whatever it is. */
      roam__violation(s, "message.hello.ordering");
      return;
    }
    roam__violation(s, roam_msg_error_rule(rc));
    return;
  }
  s->stats.msgs_in[m.kind]++;
  if (s->cfg.flags & ROAM_SESSION_WIRE_SPY) spy(s, "recv", &m);
  if (s->state == S_HANDSHAKE && m.kind != ROAM_MSG_HELLO) {
    roam__violation(s, "message.hello.ordering");
    return;
  }
  switch (m.kind) {
  case ROAM_MSG_HELLO: handle_hello(s, &m); break;
  case ROAM_MSG_CONNECT: roam__handle_connect(s, &m); break;
  case ROAM_MSG_ACCEPT: roam__handle_accept(s, &m); break;
  case ROAM_MSG_REJECT: roam__handle_reject(s, &m); break;
  case ROAM_MSG_GOODBYE: roam__handle_goodbye(s, &m); break;
  case ROAM_MSG_REQUEST: roam__handle_request(s, &m); break;
  case ROAM_MSG_RESPONSE: roam__handle_response(s, &m); break;
  case ROAM_MSG_CANCEL: roam__handle_cancel(s, &m); break;
  case ROAM_MSG_DATA: roam__handle_data(s, &m); break;
  case ROAM_MSG_CLOSE: roam__handle_close(s, &m); break;
  case ROAM_MSG_RESET: roam__handle_reset(s, &m); break;
  case ROAM_MSG_CREDIT: roam__handle_credit(s, &m); break;
  }
}

/* Peer-driven goodbye on connection 0. */
void roam__peer_goodbye(roam_session *s, roam_bytes reason);
void roam__peer_goodbye(roam_session *s, roam_bytes reason) {
  link_close(s, reason.len ? ROAM_ERR_CLOSED : 0, (const char *)reason.ptr, reason.len);
}

/* Deframer storage kept between frames: a stream of 64 KiB values (frames
 * of 64 KiB and a header, buffers of 128 KiB) keeps its buffers. */
#define DEFRAMER_KEEP (256u * 1024)

int roam_session_recv(roam_session *s, const uint8_t *data, size_t len, size_t *consumed) {
  size_t off = 0;
  if (consumed) *consumed = 0;
  if (!s || (!data && len)) return ROAM_ERR_INVALID_ARG;
  if (s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT) return ROAM_ERR_STATE;
  while (off < len && s->state != S_CLOSED) {
    if (roam__out_pending(s) > s->cfg.output_high_water) break;
    size_t used = 0;
    roam_bytes frame;
    int rc = roam_deframer_feed(&s->deframer, data + off, len - off, &used, &frame);
    off += used;
    if (rc == 0) break;
    if (rc < 0) {
      if (rc == ROAM_ERR_NOMEM)
        roam__fatal(s);
      else
        roam__violation(s, rc == ROAM_ERR_FRAME_TOO_LARGE ? RULE_PAYLOAD_LIMIT
                                                          : "message.decode-error");
      break;
    }
    handle_frame(s, frame.ptr, frame.len);
    roam__settle(s);
    /* A large frame's storage goes back at once (smaller ones are kept for
     * the next frame, until the link goes idle: roam_session_trim). */
    if ((s->deframer.cap > DEFRAMER_KEEP || s->deframer.out_cap > DEFRAMER_KEEP) && !s->depth)
      roam_deframer_trim(&s->deframer, DEFRAMER_KEEP);
  }
  if (s->state == S_CLOSED) off = len; /* nothing more will be read */
  s->stats.bytes_in += off;
  if (consumed) *consumed = off;
  roam__settle(s);
  if (s->state == S_CLOSED) return s->close_err == ROAM_ERR_PROTOCOL ? ROAM_ERR_PROTOCOL : ROAM_ERR_CLOSED;
  return 0;
}

int roam_session_recv_message(roam_session *s, const uint8_t *msg, size_t len) {
  if (!s || (!msg && len)) return ROAM_ERR_INVALID_ARG;
  if (!(s->cfg.flags & ROAM_SESSION_MESSAGE_TRANSPORT)) return ROAM_ERR_STATE;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  if (roam__out_pending(s) > s->cfg.output_high_water) return ROAM_ERR_WOULD_BLOCK;
  s->stats.bytes_in += len;
  if (len > s->cfg.max_frame_size)
    roam__violation(s, RULE_PAYLOAD_LIMIT);
  else
    handle_frame(s, msg, len);
  roam__settle(s);
  if (s->state == S_CLOSED) return s->close_err == ROAM_ERR_PROTOCOL ? ROAM_ERR_PROTOCOL : ROAM_ERR_CLOSED;
  return 0;
}

/* ------------------------------------------------------------------ */
/* time                                                                */
/* ------------------------------------------------------------------ */

static void credit_warn(roam_session *s) {
  if (s->peer_granted || s->credit_warned) return;
  s->credit_warned = 1;
  roam__log(s, ROAM_LOG_WARN,
            "a channel send has waited %llu ms for credit and the peer has never granted any: "
            "it may be a roam 0.6 peer that never sends Credit; consider the "
            "ROAM_SESSION_SEND_WITHOUT_CREDIT option",
            (unsigned long long)s->cfg.credit_warn_ms);
}

void roam__credit_blocked(roam_session *s);
void roam__credit_blocked(roam_session *s) {
  if (s->peer_granted || s->credit_warned || roam__tmr_armed(&s->credit_warn_timer)) return;
  roam__theap_add(&s->timers, &s->mem, &s->credit_warn_timer, roam__now(s) + s->cfg.credit_warn_ms);
}

uint64_t roam__now(roam_session *s) {
  if (s->cfg.clock) {
    uint64_t t = s->cfg.clock(s->cfg.clock_user_data);
    if (t > s->now) s->now = t;
  }
  return s->now;
}

void roam_session_tick(roam_session *s, uint64_t now_ms) {
  if (now_ms > s->now) s->now = now_ms;
  roam__tmr *t;
  while ((t = roam__theap_top(&s->timers)) != NULL && t->deadline <= s->now) {
    roam__theap_remove(&s->timers, t);
    switch (t->kind) {
    case TK_HANDSHAKE:
      if (s->state == S_HANDSHAKE) {
        static const char r[] = "handshake timeout";
        roam__log(s, ROAM_LOG_WARN, "no Hello from the peer within %llu ms; closing",
                  (unsigned long long)s->cfg.handshake_timeout_ms);
        link_close(s, ROAM_ERR_TIMEOUT, r, sizeof r - 1);
      }
      break;
    case TK_CREDIT_WARN: credit_warn(s); break;
    case TK_CREDIT_FLUSH: roam__flush_credit(s); break;
    case TK_TRIM:
      if (roam__out_pending(s) == 0) trim_output(s);
      break;
    case TK_CALL_DEADLINE:
    case TK_CANCEL_GRACE: {
      call *k = (call *)((char *)t - offsetof(call, timer));
      roam__call_timer(s, k);
      break;
    }
    case TK_CONNECT: {
      connect_op *op = (connect_op *)((char *)t - offsetof(connect_op, timer));
      roam__connect_timer(s, op);
      break;
    }
    }
    roam__settle(s);
  }
  roam__settle(s);
}

uint64_t roam_session_next_timeout(const roam_session *s) {
  roam__tmr *t = roam__theap_top(&s->timers);
  return t ? t->deadline : UINT64_MAX;
}

/* ------------------------------------------------------------------ */
/* state queries                                                       */
/* ------------------------------------------------------------------ */

bool roam_session_is_ready(const roam_session *s) { return s->state == S_READY; }
bool roam_session_is_closed(const roam_session *s) { return s->state == S_CLOSED; }
bool roam_session_is_done(const roam_session *s) {
  return s->state == S_CLOSED && roam__out_pending(s) == 0;
}
bool roam_session_want_read(const roam_session *s) {
  return s->state != S_CLOSED && roam__out_pending(s) <= s->cfg.output_high_water;
}
bool roam_session_want_write(const roam_session *s) { return roam__out_pending(s) != 0; }
uint32_t roam_session_max_payload(const roam_session *s) { return s->max_payload; }
uint32_t roam_session_initial_credit(const roam_session *s) { return s->credit; }

/* Bytes held by the session through its allocator (the diagnostic records
 * are the diagnostics module's and are not counted). Walks everything: for
 * statistics, not for hot paths. */
static size_t heap_bytes(const roam_session *s) {
  size_t heap = sizeof *s + s->out_cap + s->old_cap + (size_t)s->cr_unsent_cap * sizeof *s->cr_unsent +
                s->deframer.cap + s->deframer.out_cap + s->scratch.cap +
                roam_idmap_bytes(&s->conns) + roam_idmap_bytes(&s->connects_out) +
                roam_u64map_bytes(&s->connects_in) + (size_t)s->timers.cap * sizeof(void *) +
                (s->local_closed ? RECENT_CLOSED * sizeof(uint64_t) : 0) +
                (s->stats.ignored ? ROAM_IGNORE_COUNT * sizeof(uint64_t) : 0) +
                s->close_reason_len + (size_t)s->connects_out.count * sizeof(connect_op);
  for (const call *k = s->call_free; k; k = k->next) heap += sizeof *k;
  for (const chan *ch = s->chan_free; ch; ch = ch->next_free) heap += sizeof *ch;
  for (const roam_request *r = s->req_free; r; r = r->next) heap += sizeof *r;
  for (const roam_request *r = s->held; r; r = r->next)
    heap += sizeof *r + (r->nchan > CALL_INLINE_CHANS ? r->nchan * sizeof(uint64_t) : 0);
  uint32_t i = 0;
  const conn *c;
  while ((c = roam_idmap_next(&s->conns, &i)) != NULL) {
    heap += sizeof *c + roam_idmap_bytes(&c->calls) + roam_idmap_bytes(&c->requests) +
            roam_idmap_bytes(&c->chans) + c->close_reason_len +
            (c->recent_closed ? RECENT_CLOSED * sizeof(uint64_t) : 0);
    uint32_t j = 0;
    const call *k;
    while ((k = roam_idmap_next(&c->calls, &j)) != NULL)
      heap += sizeof *k + (k->deferred ? 4 + roam__deferred_len(k->deferred) : 0) +
              (k->nchan > CALL_INLINE_CHANS ? k->nchan * sizeof(uint64_t) : 0);
    j = 0;
    const chan *ch;
    while ((ch = roam_idmap_next(&c->chans, &j)) != NULL) {
      heap += sizeof *ch;
      if (ch->state == CH_UNBOUND)
        for (const chan_buf *b = ch->buf.head; b; b = b->next) heap += sizeof *b + b->len;
    }
  }
  return heap;
}

void roam_session_get_stats(const roam_session *s, roam_session_stats *out) {
  const roam__counters *k = &s->stats;
  memset(out, 0, sizeof *out);
  memcpy(out->msgs_in, k->msgs_in, sizeof out->msgs_in);
  memcpy(out->msgs_out, k->msgs_out, sizeof out->msgs_out);
  out->bytes_in = k->bytes_in;
  out->bytes_out = k->bytes_out;
  out->calls_started = k->calls_started;
  out->calls_completed = k->calls_completed;
  out->calls_ok = k->calls_ok;
  out->calls_remote_error = k->calls_remote_error;
  out->calls_timed_out = k->calls_timed_out;
  out->calls_cancelled = k->calls_cancelled;
  out->calls_closed = k->calls_closed;
  out->requests_received = k->requests_received;
  out->requests_answered = k->requests_answered;
  if (k->ignored) memcpy(out->ignored, k->ignored, sizeof out->ignored);
  out->credit_granted = k->credit_granted;
  out->credit_received = k->credit_received;
  out->protocol_errors = k->protocol_errors;
  out->connections = k->connections;
  uint32_t calls = 0, reqs = 0, chans = 0, i = 0;
  conn *c;
  while ((c = roam_idmap_next(&s->conns, &i)) != NULL) {
    calls += c->calls.count;
    reqs += c->requests.count;
    chans += c->chans.count;
  }
  out->calls_in_flight = calls;
  out->requests_in_flight = reqs;
  out->channels_open = chans;
  out->heap_bytes = heap_bytes(s);
}
