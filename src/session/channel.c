/*
 * Channels: id allocation, Data/Close/Reset/Credit in both directions, and
 * credit-based flow control [flow.channel.*].
 *
 * Finished channels are not remembered one by one: an id at or below the
 * highest id ever used on the connection that is no longer live is
 * "finished" (late Credit/Reset/Data are ignored), an id above it was
 * "never opened" (channeling.unknown). A small ring of ids the peer closed
 * recently catches Data after Close.
 */
#include <string.h>

#include "session/session_internal.h"

void roam__credit_blocked(roam_session *s);

chan *roam__chan_get(const conn *c, uint64_t id) {
  return c ? roam_idmap_get(&c->chans, id) : NULL;
}

chan *roam__chan_new(roam_session *s, conn *c, uint64_t id) {
  chan *ch = s->chan_free;
  if (ch)
    s->chan_free = ch->next_free;
  else if (!(ch = roam__malloc(&s->mem, sizeof *ch)))
    return NULL;
  memset(ch, 0, sizeof *ch);
  ch->id = id;
  ch->c = c;
  if (roam_idmap_put(&c->chans, &s->mem, id, ch)) {
    ch->next_free = s->chan_free;
    s->chan_free = ch;
    return NULL;
  }
  if (id > c->max_chan_id) c->max_chan_id = id;
  return ch;
}

static void credit_unlink(roam_session *s, chan *ch) {
  if (!ch->cr_pending) return;
  if (ch->cr.prev)
    ch->cr.prev->cr.next = ch->cr.next;
  else
    s->credit_pending = ch->cr.next;
  if (ch->cr.next) ch->cr.next->cr.prev = ch->cr.prev;
  ch->cr.prev = ch->cr.next = NULL;
  ch->cr_pending = 0;
}

/* ---- Credits not sent yet ------------------------------------------------
 * A Credit can be taken back while none of its bytes has left the output:
 * a peer must never get a Credit for a channel whose Close or Reset we have
 * received (the TypeScript 0.6 peer ends the link with channeling.unknown
 * on one), and a channel's Credits waiting in the output fold into one, so
 * there is at most one record per channel. Records are in output order. */

static uint32_t unsent_find(const roam_session *s, const chan *ch) {
  for (uint32_t i = 0; i < s->cr_unsent_n; i++)
    if (s->cr_unsent[i].ch == ch) return i;
  return UINT32_MAX;
}

static void unsent_drop(roam_session *s, uint32_t i) {
  s->cr_unsent[i].ch->cr_unsent = 0;
  memmove(&s->cr_unsent[i], &s->cr_unsent[i + 1],
          (size_t)(s->cr_unsent_n - i - 1) * sizeof *s->cr_unsent);
  s->cr_unsent_n--;
}

/* Forget the channel's record; its Credit, if any, stays in the output. */
static void unsent_forget(roam_session *s, chan *ch) {
  if (!ch->cr_unsent) return;
  uint32_t i = unsent_find(s, ch);
  if (i != UINT32_MAX)
    unsent_drop(s, i);
  else
    ch->cr_unsent = 0;
}

/* Take the channel's unsent Credit out of the output: returns its amount
 * (0: there was none, or it has started leaving). */
static uint32_t unsent_take_back(roam_session *s, chan *ch) {
  if (!ch->cr_unsent) return 0;
  uint32_t i = unsent_find(s, ch);
  if (i == UINT32_MAX) {
    ch->cr_unsent = 0;
    return 0;
  }
  credit_unsent r = s->cr_unsent[i];
  unsent_drop(s, i);
  if (roam__out_cut(s, r.pos, r.len)) return 0;
  for (uint32_t j = i; j < s->cr_unsent_n; j++) s->cr_unsent[j].pos -= r.len;
  s->stats.msgs_out[ROAM_MSG_CREDIT]--;
  s->stats.credit_granted -= r.amount;
  if (s->cfg.flags & ROAM_SESSION_WIRE_SPY)
    roam__log(s, ROAM_LOG_INFO, "unsend Credit(conn %llu, channel %llu, %u bytes): taken back "
              "before it left", (unsigned long long)ch->c->id, (unsigned long long)ch->id,
              r.amount);
  return r.amount;
}

void roam__credit_sent(roam_session *s) {
  uint32_t k = 0;
  while (k < s->cr_unsent_n && s->cr_unsent[k].pos < s->out_base) s->cr_unsent[k++].ch->cr_unsent = 0;
  if (!k) return;
  memmove(s->cr_unsent, s->cr_unsent + k, (size_t)(s->cr_unsent_n - k) * sizeof *s->cr_unsent);
  s->cr_unsent_n -= k;
}

/* Emit a Credit and remember where it is (without room for the record it
 * simply cannot be taken back). */
static int emit_credit(roam_session *s, chan *ch, uint32_t amount) {
  uint64_t pos = roam__out_end(s);
  uint8_t hdr[HDR_MAX];
  size_t n = roam__hdr_small(hdr, ROAM_MSG_CREDIT, ch->c->id, ch->id, amount);
  int rc = roam__emit_fast(s, ROAM_MSG_CREDIT, hdr, n, NULL, 0);
  if (rc) return rc;
  if (s->cr_unsent_n == s->cr_unsent_cap) {
    uint32_t ncap = s->cr_unsent_cap ? s->cr_unsent_cap * 2 : 8;
    credit_unsent *nr = roam__realloc(&s->mem, s->cr_unsent, (size_t)ncap * sizeof *nr);
    if (!nr) return 0;
    s->cr_unsent = nr;
    s->cr_unsent_cap = ncap;
  }
  credit_unsent *r = &s->cr_unsent[s->cr_unsent_n++];
  r->ch = ch;
  r->pos = pos;
  r->len = (uint32_t)(roam__out_end(s) - pos);
  r->amount = amount;
  ch->cr_unsent = 1;
  return 0;
}

static void chan_free(roam_session *s, chan *ch) {
  credit_unlink(s, ch);
  unsent_forget(s, ch);
  roam_idmap_del(&ch->c->chans, ch->id);
  if (ch->state == CH_UNBOUND) /* (only then does the union hold values) */
    while (ch->buf.head) {
      chan_buf *b = ch->buf.head;
      ch->buf.head = b->next;
      roam__free(&s->mem, b);
    }
  if (ch->diag) roam_diag_channel_close(s->diag, ch->diag);
  ch->diag = NULL;
  ch->next_free = s->chan_free;
  s->chan_free = ch;
}

void roam__chan_release(roam_session *s, chan *ch) { chan_free(s, ch); }

void roam__chan_end(roam_session *s, chan *ch, int notify, int err) {
  const roam_channel_callbacks *cbs = ch->cbs;
  void *ud = ch->ud;
  uint64_t conn_id = ch->c->id, id = ch->id;
  /* Live channels, and channels of a call that never left (the application
   * holds their ids and callbacks too), unless the application ended them. */
  int bound = ch->state == CH_OPEN || (ch->state == CH_PENDING && !ch->peer_closed);
  chan_free(s, ch);
  if (notify && bound && cbs && cbs->on_end) {
    ENTER(s);
    cbs->on_end(s, conn_id, id, err, ud);
    LEAVE(s);
  }
}

static void remember_closed(roam_session *s, conn *c, uint64_t id) {
  if (!c->recent_closed) {
    c->recent_closed = roam__calloc(&s->mem, RECENT_CLOSED * sizeof *c->recent_closed);
    /* without memory, a late Data on this channel is ignored instead of
     * being reported as a violation: nothing worse */
    if (!c->recent_closed) return;
  }
  c->recent_closed[c->recent_pos % RECENT_CLOSED] = id;
  c->recent_pos++;
}

static int recently_closed(const conn *c, uint64_t id) {
  if (!c->recent_closed) return id == 0; /* (as a ring of zeros would) */
  for (int i = 0; i < RECENT_CLOSED; i++)
    if (c->recent_closed[i] == id) return 1;
  return 0;
}

static int emit_simple(roam_session *s, roam_msg_kind kind, uint64_t conn_id, uint64_t id,
                       uint32_t credit) {
  uint8_t hdr[HDR_MAX];
  size_t n = roam__hdr_small(hdr, kind, conn_id, id, credit);
  return roam__emit_fast(s, kind, hdr, n, NULL, 0);
}

/* The receive window: channel_window, never below the initial credit. */
static uint32_t recv_window(const roam_session *s) {
  return s->cfg.channel_window > s->credit ? s->cfg.channel_window : s->credit;
}

/* Grant the consumed bytes back now (and, the first time, open the window
 * past the initial credit). */
static void grant_now(roam_session *s, chan *ch) {
  credit_unlink(s, ch);
  if (s->state == S_CLOSED || ch->c->closing) return;
  uint32_t window = recv_window(s);
  uint64_t grant = ch->recv_unacked;
  if (!ch->window_open) {
    grant += window - s->credit;
    ch->window_open = 1;
  }
  if ((uint64_t)ch->recv_remaining + grant > window) grant = window - ch->recv_remaining;
  ch->recv_unacked = 0;
  if (grant == 0) return;
  ch->recv_remaining += (uint32_t)grant;
  /* (both fit the window, so the sum fits 32 bits) */
  uint32_t amount = (uint32_t)grant + unsent_take_back(s, ch);
  s->stats.credit_granted += amount;
  if (emit_credit(s, ch, amount)) roam__fatal(s);
}

/*
 * Receiver policy [flow.channel.*]: a Credit goes out only when it is
 * needed. Consumed bytes go back to the sender at once when it has used at
 * least half of the credit it was given (the initial credit until the
 * window opens, then the window), so a busy stream never stalls and a
 * stream of small values costs one Credit per half window, never one per
 * value. The first such grant also opens the wider window. Below that
 * point they are held for at most credit_delay_ms: values are atomic and
 * may be as large as the whole window, so holding consumed bytes for ever
 * could leave a sender waiting for room it never gets. A channel that ends
 * drops its pending grant (the sender is done). A short stream therefore
 * never causes a Credit: the TypeScript 0.6 peer ends the link on a Credit
 * for a channel it has closed, and the 0.6 harness expects none.
 */
static void chan_consume(roam_session *s, chan *ch, size_t n) {
  uint64_t unacked = (uint64_t)ch->recv_unacked + n;
  ch->recv_unacked = unacked > UINT32_MAX ? UINT32_MAX : (uint32_t)unacked;
  if (ch->recv_unacked == 0 || s->state == S_CLOSED || ch->c->closing) return;
  /* Values buffered before binding, delivered after the peer's Close (or
   * Reset): the peer no longer holds the channel, it must get no Credit. */
  if (ch->peer_closed || ch->peer_reset) return;
  uint32_t given = ch->window_open ? recv_window(s) : s->credit;
  if (ch->recv_remaining <= given / 2) {
    grant_now(s, ch);
    return;
  }
  if (ch->cr_pending) return;
  if (!roam__tmr_armed(&s->credit_timer) &&
      roam__theap_add(&s->timers, &s->mem, &s->credit_timer, roam__now(s) + s->cfg.credit_delay_ms)) {
    grant_now(s, ch); /* no room for the timer: grant at once instead */
    return;
  }
  ch->cr_pending = 1;
  ch->cr.prev = NULL;
  ch->cr.next = s->credit_pending;
  if (s->credit_pending) s->credit_pending->cr.prev = ch;
  s->credit_pending = ch;
}

void roam__flush_credit(roam_session *s) {
  while (s->credit_pending && s->state != S_CLOSED) grant_now(s, s->credit_pending);
}

void roam__chan_activate(roam_session *s, chan *ch) {
  ch->state = CH_OPEN;
  ch->send_credit = s->credit;
  ch->recv_remaining = s->credit;
  if (s->diag)
    ch->diag = roam_diag_channel_open(s->diag, ch->c->id, ch->id, ch->dir == ROAM_CHAN_SEND,
                                      ch->request_id);
  if (ch->peer_closed) { /* closed by the application before the Request left */
    if (roam__chan_send_close(s, ch)) roam__fatal(s);
    return;
  }
  if (ch->dir == ROAM_CHAN_SEND && ch->blocked && ch->cbs && ch->cbs->on_writable) {
    ch->blocked = 0;
    ENTER(s);
    ch->cbs->on_writable(s, ch->c->id, ch->id, ch->ud);
    LEAVE(s);
  }
}

int roam__chan_send_close(roam_session *s, chan *ch) {
  int rc = emit_simple(s, ROAM_MSG_CLOSE, ch->c->id, ch->id, 0);
  if (rc) return rc; /* the channel stays */
  roam__chan_end(s, ch, 0, 0);
  return 0;
}

int roam__chan_send_reset(roam_session *s, chan *ch) {
  int rc = emit_simple(s, ROAM_MSG_RESET, ch->c->id, ch->id, 0);
  if (rc) return rc; /* the channel stays */
  roam__chan_end(s, ch, 0, 0);
  return 0;
}

/* ---- API ------------------------------------------------------------------ */

int roam_channel_alloc(roam_session *s, uint64_t conn_id, int dir,
                       const roam_channel_callbacks *cbs, void *ud, uint64_t *id_out) {
  int d = dir & 3;
  if (!s || (d != ROAM_CHAN_SEND && d != ROAM_CHAN_RECV)) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  conn *c = roam__conn_get(s, conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  if (c->chans.count >= s->cfg.max_channels) return ROAM_ERR_LIMIT;
  /* Stay above every id seen so far: a peer may use ids of our parity. */
  uint64_t id = c->next_chan_id;
  if (id <= c->max_chan_id) {
    id = c->max_chan_id + 1;
    if ((id & 1) != (c->next_chan_id & 1)) id++;
  }
  if (id > UINT64_MAX - 2) return ROAM_ERR_LIMIT;
  chan *ch = roam__chan_new(s, c, id);
  if (!ch) return ROAM_ERR_NOMEM;
  c->next_chan_id = id + 2;
  ch->state = CH_PENDING;
  ch->dir = (uint8_t)d;
  ch->manual_credit = (dir & ROAM_CHAN_MANUAL_CREDIT) != 0;
  ch->cbs = cbs;
  ch->ud = ud;
  if (id_out) *id_out = id;
  return 0;
}

static int lookup(roam_session *s, uint64_t conn_id, uint64_t id, chan **out) {
  *out = NULL;
  if (!s) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  conn *c = roam__conn_get(s, conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  *out = roam__chan_get(c, id);
  return *out ? 0 : ROAM_ERR_NOT_FOUND;
}

int roam_channel_send(roam_session *s, uint64_t conn_id, uint64_t channel_id, const void *value,
                      size_t len) {
  chan *ch;
  int rc = lookup(s, conn_id, channel_id, &ch);
  if (rc) return rc;
  if (!value && len) return ROAM_ERR_INVALID_ARG;
  if (ch->dir != ROAM_CHAN_SEND) return ch->state == CH_UNBOUND ? ROAM_ERR_STATE : ROAM_ERR_INVALID_ARG;
  if (ch->peer_closed) return ROAM_ERR_CLOSED;
  if (len > s->max_payload) return ROAM_ERR_PAYLOAD_TOO_LARGE;
  if (ch->state == CH_PENDING) {
    ch->blocked = 1;
    return ROAM_ERR_WOULD_BLOCK;
  }
  if (ch->state != CH_OPEN) return ROAM_ERR_STATE;
  if (!(s->cfg.flags & ROAM_SESSION_SEND_WITHOUT_CREDIT)) {
    if (len > ch->send_credit) {
      ch->blocked = 1;
      roam__credit_blocked(s);
      return ROAM_ERR_WOULD_BLOCK;
    }
  }
  uint8_t hdr[HDR_MAX];
  size_t hl = roam__hdr_small(hdr, ROAM_MSG_DATA, conn_id, channel_id, len);
  rc = roam__emit_fast(s, ROAM_MSG_DATA, hdr, hl, value, len);
  if (rc == 0 && !(s->cfg.flags & ROAM_SESSION_SEND_WITHOUT_CREDIT)) ch->send_credit -= len;
  return rc;
}

uint64_t roam_channel_credit(const roam_session *s, uint64_t conn_id, uint64_t channel_id) {
  if (!s) return 0;
  conn *c = roam__conn_get(s, conn_id);
  chan *ch = roam__chan_get(c, channel_id);
  return ch && ch->dir == ROAM_CHAN_SEND ? ch->send_credit : 0;
}

int roam_channel_close(roam_session *s, uint64_t conn_id, uint64_t channel_id) {
  chan *ch;
  int rc = lookup(s, conn_id, channel_id, &ch);
  if (rc) return rc;
  if (ch->dir == ROAM_CHAN_RECV) return roam_channel_reset(s, conn_id, channel_id);
  if (ch->dir != ROAM_CHAN_SEND) return ROAM_ERR_STATE;
  if (ch->state == CH_PENDING) {
    ch->peer_closed = 1; /* sent when the Request leaves */
    return 0;
  }
  rc = roam__chan_send_close(s, ch);
  roam__settle(s);
  return rc;
}

int roam_channel_reset(roam_session *s, uint64_t conn_id, uint64_t channel_id) {
  chan *ch;
  int rc = lookup(s, conn_id, channel_id, &ch);
  if (rc) return rc;
  if (ch->state == CH_PENDING) {
    if (ch->request_id) {
      ch->dir = 0; /* the Request lists it; drop it when the call settles */
      ch->state = CH_DISCARD;
    } else {
      roam__chan_release(s, ch);
    }
    return 0;
  }
  rc = roam__chan_send_reset(s, ch);
  roam__settle(s);
  return rc;
}

int roam_channel_consume(roam_session *s, uint64_t conn_id, uint64_t channel_id, size_t n) {
  chan *ch;
  int rc = lookup(s, conn_id, channel_id, &ch);
  if (rc) return rc;
  if (ch->state == CH_UNBOUND || ch->dir == ROAM_CHAN_SEND) return ROAM_ERR_STATE;
  chan_consume(s, ch, n);
  return 0;
}

/* ---- incoming channel messages ------------------------------------------- */

/* Common checks; returns the live channel or NULL (handled). */
static chan *incoming_chan(roam_session *s, const roam_msg *m, int strict_conn) {
  conn *c = roam__conn_get(s, m->conn_id);
  if (!c) {
    if (strict_conn)
      roam__unknown_conn(s, m);
    else
      roam__ignored(s, ROAM_IGNORE_UNKNOWN_CONN, m);
    return NULL;
  }
  if (m->channel_id == 0) {
    roam__violation(s, "channeling.id.zero-reserved");
    return NULL;
  }
  chan *ch = roam__chan_get(c, m->channel_id);
  if (ch && ch->state == CH_PENDING) ch = NULL; /* not announced yet */
  if (!ch) {
    if (m->kind == ROAM_MSG_DATA && recently_closed(c, m->channel_id))
      roam__violation(s, "channeling.data-after-close");
    else if (m->channel_id <= c->max_chan_id)
      roam__ignored(s, ROAM_IGNORE_LATE_CHANNEL, m);
    else
      roam__violation(s, "channeling.unknown");
    return NULL;
  }
  return ch;
}

void roam__handle_data(roam_session *s, const roam_msg *m) {
  chan *ch = incoming_chan(s, m, 1);
  if (!ch) return;
  size_t len = m->payload.len;
  if (len > s->max_payload) {
    roam__violation(s, RULE_DATA_LIMIT);
    return;
  }
  if (ch->peer_closed) {
    roam__violation(s, "channeling.data-after-close");
    return;
  }
  if (ch->peer_reset) {
    roam__ignored(s, ROAM_IGNORE_LATE_CHANNEL, m);
    return;
  }
  if (ch->dir == ROAM_CHAN_SEND || ch->state == CH_PENDING) {
    roam__ignored(s, ROAM_IGNORE_WRONG_DIRECTION, m);
    return;
  }
  if (len > ch->recv_remaining) {
    if (!(s->cfg.flags & ROAM_SESSION_TOLERATE_OVERRUN)) {
      roam__violation(s, "flow.channel.credit-overrun");
      return;
    }
    ch->recv_remaining = 0;
  } else {
    ch->recv_remaining -= (uint32_t)len;
  }
  switch (ch->state) {
  case CH_UNBOUND: {
    if ((s->cfg.flags & ROAM_SESSION_TOLERATE_OVERRUN) &&
        ch->buf.buffered + len > (size_t)s->credit + s->cfg.overrun_buffer_cap) {
      roam__log(s, ROAM_LOG_WARN, "channel %llu overran its buffer cap; resetting it",
                (unsigned long long)ch->id);
      if (emit_simple(s, ROAM_MSG_RESET, ch->c->id, ch->id, 0)) {
        roam__fatal(s);
        return;
      }
      roam__chan_release(s, ch);
      return;
    }
    if (len == 0 && ch->buf.tail && ch->buf.tail->len == 0 && ch->buf.tail->count < SIZE_MAX) {
      ch->buf.tail->count++;
      return;
    }
    chan_buf *b = roam__malloc(&s->mem, sizeof *b + len);
    if (!b) {
      roam__fatal(s);
      return;
    }
    b->next = NULL;
    b->len = len;
    b->count = 1;
    if (len) memcpy(b + 1, m->payload.ptr, len);
    if (ch->buf.tail)
      ch->buf.tail->next = b;
    else
      ch->buf.head = b;
    ch->buf.tail = b;
    ch->buf.buffered += len;
    return;
  }
  case CH_DISCARD:
    roam__ignored(s, ROAM_IGNORE_DISCARDED_DATA, m);
    chan_consume(s, ch, len);
    return;
  default: break;
  }
  conn *c = ch->c;
  uint64_t id = ch->id;
  int rc = 0;
  if (ch->cbs && ch->cbs->on_data) {
    ENTER(s);
    rc = ch->cbs->on_data(s, c->id, id, m->payload, ch->ud);
    LEAVE(s);
  }
  if (rc < 0) {
    roam__violation(s, "channeling.data.invalid");
    return;
  }
  ch = roam__chan_get(c, id);
  if (ch && !ch->manual_credit && ch->state == CH_OPEN) chan_consume(s, ch, len);
}

void roam__handle_close(roam_session *s, const roam_msg *m) {
  chan *ch = incoming_chan(s, m, 1);
  if (!ch) return;
  if (ch->dir == ROAM_CHAN_SEND) {
    roam__ignored(s, ROAM_IGNORE_WRONG_DIRECTION, m);
    return;
  }
  if (ch->state == CH_UNBOUND) {
    if (ch->peer_reset)
      roam__ignored(s, ROAM_IGNORE_LATE_CHANNEL, m);
    else
      ch->peer_closed = 1; /* ends when bound, after its buffered values */
    return;
  }
  unsent_take_back(s, ch); /* the peer no longer holds the channel */
  remember_closed(s, ch->c, ch->id);
  if (ch->state == CH_DISCARD)
    roam__chan_release(s, ch);
  else
    roam__chan_end(s, ch, 1, 0);
}

static void drop_buffered(roam_session *s, chan *ch) {
  while (ch->buf.head) {
    chan_buf *b = ch->buf.head;
    ch->buf.head = b->next;
    roam__free(&s->mem, b);
  }
  ch->buf.tail = NULL;
  ch->buf.buffered = 0;
}

void roam__handle_reset(roam_session *s, const roam_msg *m) {
  chan *ch = incoming_chan(s, m, 0);
  if (!ch) return;
  unsent_take_back(s, ch); /* the peer no longer holds the channel */
  if (ch->state == CH_UNBOUND) {
    /* Abandoned before the handler took it: it ends (CANCELLED) when bound. */
    ch->peer_reset = 1;
    drop_buffered(s, ch);
    return;
  }
  if (ch->state == CH_OPEN)
    roam__chan_end(s, ch, 1, ROAM_ERR_CANCELLED);
  else
    roam__chan_release(s, ch);
}

void roam__handle_credit(roam_session *s, const roam_msg *m) {
  chan *ch = incoming_chan(s, m, 0);
  if (!ch) return;
  s->peer_granted = 1;
  roam__theap_remove(&s->timers, &s->credit_warn_timer);
  if (ch->dir == ROAM_CHAN_RECV) {
    roam__ignored(s, ROAM_IGNORE_WRONG_DIRECTION, m);
    return;
  }
  s->stats.credit_received += m->credit;
  ch->send_credit += m->credit;
  if (ch->blocked && ch->state == CH_OPEN && ch->cbs && ch->cbs->on_writable) {
    ch->blocked = 0;
    ENTER(s);
    ch->cbs->on_writable(s, ch->c->id, ch->id, ch->ud);
    LEAVE(s);
  }
}
