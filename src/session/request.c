/*
 * Incoming calls: dispatch to handlers, the request handle the application
 * answers (now or later) exactly once, and the peer's Cancel.
 *
 * A handle lives until the application has answered it (released) and no
 * callback holding it is on the stack (pinned). Independently, `done` says
 * whether the wire already carries the answer: the session answers
 * Err(Cancelled) itself on Cancel, and nothing is due once the connection
 * has closed.
 */
#include <string.h>

#include "session/session_internal.h"

/* ---- dispatcher -------------------------------------------------------- */

roam_dispatcher *roam_dispatcher_new(const roam_mem *mem) {
  roam_mem m;
  roam__mem_set(&m, mem);
  roam_dispatcher *d = roam__calloc(&m, sizeof *d);
  if (!d) return NULL;
  d->mem = m;
  roam_u64map_init(&d->methods);
  return d;
}

void roam_dispatcher_free(roam_dispatcher *d) {
  if (!d) return;
  uint32_t i = 0;
  method_entry *e;
  while ((e = roam_u64map_next(&d->methods, &i)) != NULL) roam__free(&d->mem, e);
  roam_u64map_free(&d->methods, &d->mem);
  roam_mem m = d->mem;
  roam__free(&m, d);
}

int roam_dispatcher_add(roam_dispatcher *d, uint64_t method_id, roam_handler_fn fn, void *ud) {
  if (!d || !fn) return ROAM_ERR_INVALID_ARG;
  method_entry *e = roam_u64map_get(&d->methods, method_id);
  if (e) {
    e->fn = fn;
    e->ud = ud;
    return 0;
  }
  e = roam__malloc(&d->mem, sizeof *e);
  if (!e) return ROAM_ERR_NOMEM;
  e->fn = fn;
  e->ud = ud;
  int rc = roam_u64map_put(&d->methods, &d->mem, method_id, e);
  if (rc) roam__free(&d->mem, e);
  return rc;
}

void roam_dispatcher_set_fallback(roam_dispatcher *d, roam_handler_fn fn, void *ud) {
  if (!d) return;
  d->fallback = fn;
  d->fallback_ud = ud;
}

int roam_session_set_dispatcher(roam_session *s, uint64_t conn_id, const roam_dispatcher *d) {
  if (!s) return ROAM_ERR_INVALID_ARG;
  conn *c = roam__conn_get(s, conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  c->disp = d;
  return 0;
}

/* ---- handle lifetime ----------------------------------------------------- */

void roam__request_free(roam_session *s, roam_request *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    s->held = r->next;
  if (r->next) r->next->prev = r->prev;
  if (r->diag) roam_diag_request_end(s->diag, r->diag);
  if (r->nchan > CALL_INLINE_CHANS) roam__free(&s->mem, r->chans.heap);
  r->nchan = 0;
  r->next = s->req_free;
  r->prev = NULL;
  s->req_free = r;
}

static void maybe_free(roam_session *s, roam_request *r) {
  if (r->released && !r->pinned) roam__request_free(s, r);
}

/* Run the cancel callback with the handle pinned. */
static void notify_cancel(roam_session *s, roam_request *r, int why) {
  if (!r->cancel_fn) return;
  r->pinned++;
  ENTER(s);
  r->cancel_fn(r, why, r->cancel_ud);
  LEAVE(s);
  r->pinned--;
}

/* The connection is gone: nothing is due on the wire any more. */
void roam__request_orphan(roam_session *s, roam_request *r, int why) {
  r->c = NULL;
  int was_done = r->done;
  r->done = 1;
  if (!r->cancelled) {
    r->cancelled = 1;
    r->why = why;
    if (!was_done) notify_cancel(s, r, why);
  }
  if (r->diag) {
    roam_diag_request_end(s->diag, r->diag);
    r->diag = NULL;
  }
  maybe_free(s, r);
}

/* ---- answering ------------------------------------------------------------ */

/* Close or drain the request's channels before its Response goes out. */
static void settle_channels(roam_session *s, roam_request *r) {
  const uint64_t *ids = roam__req_chans(r);
  for (uint16_t i = 0; i < r->nchan; i++) {
    chan *ch = roam__chan_get(r->c, ids[i]);
    if (!ch || !ch->incoming || ch->request_id != r->request_id) continue;
    if (ch->state == CH_UNBOUND) {
      /* Never bound: drain whatever comes until the caller closes it. */
      ch->state = CH_DISCARD;
      while (ch->buf.head) {
        chan_buf *b = ch->buf.head;
        ch->buf.head = b->next;
        roam__ignored(s, ROAM_IGNORE_DISCARDED_DATA, NULL);
        ch->recv_unacked += (uint32_t)b->len;
        roam__free(&s->mem, b);
      }
      ch->buf.tail = NULL;
      ch->buf.buffered = 0;
      if (ch->peer_closed || ch->peer_reset) {
        roam__chan_release(s, ch);
        continue;
      }
      roam_channel_consume(s, r->c->id, ch->id, 0);
    } else if (ch->dir == ROAM_CHAN_SEND && ch->state == CH_OPEN) {
      /* Output channels end before the Response
       * [channeling.lifecycle.response-closes-pulls]. */
      roam__chan_send_close(s, ch);
    }
  }
}

/* Put the Response on the wire. */
static int answer(roam_session *s, roam_request *r, uint8_t pre0, uint8_t pre1, int npre,
                  const void *val, size_t len, const roam_meta_entry *md, size_t mdn) {
  if ((size_t)npre + len > s->max_payload) return ROAM_ERR_PAYLOAD_TOO_LARGE;
  uint8_t hdr[HDR_MAX];
  size_t hl = 0, whole;
  roam_msg m;
  if (mdn) {
    memset(&m, 0, sizeof m);
    m.kind = ROAM_MSG_RESPONSE;
    m.conn_id = r->conn_id;
    m.request_id = r->request_id;
    m.metadata.count = mdn;
    m.metadata.entries = md;
    roam_metadata_measure(&m.metadata);
    if (roam_metadata_check_limits(&m.metadata)) return ROAM_ERR_METADATA_LIMIT;
    m.payload.ptr = hdr; /* (sizing only: the length counts, not the bytes) */
    m.payload.len = (size_t)npre + len;
    whole = roam_msg_encoded_size(&m);
  } else {
    hl = roam__hdr_response(hdr, r->conn_id, r->request_id, (size_t)npre + len);
    hdr[hl] = pre0;
    hdr[hl + 1] = pre1;
    hl += (size_t)npre;
    whole = hl + len;
  }
  /* Room for the Close (or Credit) of every channel and the Response first:
   * they go out together or not at all. */
  int rc = roam__out_ensure(s, roam_cobs_max_encoded(whole) + 8 + (size_t)r->nchan * 40);
  if (rc) return rc;
  settle_channels(s, r);
  if (mdn) {
    uint8_t pre[2] = {pre0, pre1};
    m.payload.ptr = val;
    m.payload.len = len;
    rc = roam__emit(s, &m, pre, (size_t)npre);
  } else {
    rc = roam__emit_fast(s, ROAM_MSG_RESPONSE, hdr, hl, val, len);
  }
  if (rc) return rc;
  r->done = 1;
  roam_idmap_del(&r->c->requests, r->request_id);
  r->c = NULL; /* no longer reachable from the connection: do not keep it */
  s->stats.requests_answered++;
  if (r->diag) {
    roam_diag_request_end(s->diag, r->diag);
    r->diag = NULL;
  }
  return 0;
}

static int respond(roam_request *r, uint8_t pre0, uint8_t pre1, int npre, const void *val,
                   size_t len, const roam_meta_entry *md, size_t mdn) {
  if (!r || r->released || (!val && len) || (!md && mdn)) return ROAM_ERR_INVALID_ARG;
  roam_session *s = r->s;
  int rc = 0;
  if (!r->done && (s->state == S_CLOSED || !r->c || r->c->closing)) {
    r->done = 1;
    r->cancelled = 1;
    r->why = ROAM_ERR_CLOSED;
  }
  if (r->done) {
    rc = r->cancelled ? r->why : 0;
  } else {
    rc = answer(s, r, pre0, pre1, npre, val, len, md, mdn);
    if (rc) return rc; /* not released: answer again */
  }
  r->released = 1;
  maybe_free(s, r);
  roam__settle(s);
  return rc;
}

int roam_request_respond_ok(roam_request *r, const void *value, size_t len) {
  return respond(r, 0, 0, 1, value, len, NULL, 0);
}

int roam_request_respond_user_error(roam_request *r, const void *err, size_t len) {
  return respond(r, 1, 0, 2, err, len, NULL, 0);
}

int roam_request_respond_error(roam_request *r, int kind) {
  uint8_t v;
  switch (kind) {
  case ROAM_ERR_REMOTE_UNKNOWN_METHOD: v = 1; break;
  case ROAM_ERR_REMOTE_INVALID_PAYLOAD: v = 2; break;
  case ROAM_ERR_REMOTE_CANCELLED: v = 3; break;
  default: return ROAM_ERR_INVALID_ARG;
  }
  return respond(r, 1, v, 2, NULL, 0, NULL, 0);
}

int roam_request_respond_raw(roam_request *r, const void *payload, size_t len,
                             const roam_meta_entry *md, size_t md_count) {
  return respond(r, 0, 0, 0, payload, len, md, md_count);
}

/* ---- incoming Request ---------------------------------------------------- */

static roam_request *request_alloc(roam_session *s) {
  roam_request *r = s->req_free;
  if (r)
    s->req_free = r->next;
  else if (!(r = roam__malloc(&s->mem, sizeof *r)))
    return NULL;
  /* (field by field: a memset here is a rep stos on the hot path) */
  r->s = NULL;
  r->c = NULL;
  r->conn_id = r->request_id = r->method_id = 0;
  r->chans.heap = NULL;
  r->user_data = NULL;
  r->cancel_fn = NULL;
  r->cancel_ud = NULL;
  r->diag = NULL;
  r->prev = r->next = NULL;
  r->nchan = 0;
  r->done = r->cancelled = r->released = r->pinned = 0;
  r->why = 0;
  return r;
}

/* Answer a Request we will not run, without creating a handle. */
static void refuse(roam_session *s, const roam_msg *req, uint8_t variant) {
  uint8_t hdr[HDR_MAX];
  size_t hl = roam__hdr_response(hdr, req->conn_id, req->request_id, 2);
  uint8_t p[2] = {1, variant}; /* Err(RoamError::variant) */
  if (roam__emit_fast(s, ROAM_MSG_RESPONSE, hdr, hl, p, 2)) roam__fatal(s);
}

void roam__handle_request(roam_session *s, const roam_msg *m) {
  conn *c = roam__conn_get(s, m->conn_id);
  if (!c) {
    roam__unknown_conn(s, m);
    return;
  }
  if (m->payload.len > s->max_payload) {
    roam__violation(s, RULE_PAYLOAD_LIMIT);
    return;
  }
  if (roam_metadata_check_limits(&m->metadata)) {
    roam__violation(s, "call.metadata.limits");
    return;
  }
  if (roam_idmap_get(&c->requests, m->request_id)) {
    roam__violation(s, "call.request-id.duplicate-detection");
    return;
  }
  size_t nchan = m->channels.count;
  roam_dec d;
  roam_dec_init(&d, m->channels.raw, m->channels.raw_len);
  for (size_t i = 0; i < nchan; i++) {
    uint64_t id;
    roam_dec_u64(&d, &id);
    if (id == 0) {
      roam__violation(s, "channeling.id.zero-reserved");
      return;
    }
    if (roam__chan_get(c, id)) {
      roam__violation(s, "channeling.id.uniqueness");
      return;
    }
  }
  s->stats.requests_received++;
  int over = c->requests.count >= s->cfg.max_incoming_calls ||
             (uint64_t)c->chans.count + nchan > s->cfg.max_channels || nchan > UINT16_MAX;
  roam_request *r = over ? NULL : request_alloc(s);
  if (r) r->nchan = (uint16_t)nchan; /* (before roam__req_chans) */
  if (r && nchan > CALL_INLINE_CHANS) {
    r->chans.heap = roam__malloc(&s->mem, nchan * sizeof(uint64_t));
    if (!r->chans.heap) {
      r->nchan = 0;
      r->next = s->req_free;
      s->req_free = r;
      r = NULL;
    }
  }
  roam_dec_init(&d, m->channels.raw, m->channels.raw_len);
  for (size_t i = 0; i < nchan; i++) {
    uint64_t id;
    roam_dec_u64(&d, &id);
    if (id > c->max_chan_id) c->max_chan_id = id; /* the id is used either way */
    if (r) ((uint64_t *)roam__req_chans(r))[i] = id;
  }
  if (r) r->request_id = m->request_id; /* (the map reads it) */
  if (r && roam_idmap_put(&c->requests, &s->mem, m->request_id, r)) {
    if (r->nchan > CALL_INLINE_CHANS) roam__free(&s->mem, r->chans.heap);
    r->nchan = 0;
    r->next = s->req_free;
    s->req_free = r;
    r = NULL;
  }
  if (r) {
    /* The channels, all or none. */
    const uint64_t *ids = roam__req_chans(r);
    size_t made = 0;
    int dup = 0;
    for (; made < nchan; made++) {
      if (roam__chan_get(c, ids[made])) { /* listed twice */
        dup = 1;
        break;
      }
      chan *ch = roam__chan_new(s, c, ids[made]);
      if (!ch) break;
      ch->state = CH_UNBOUND;
      ch->incoming = 1;
      ch->request_id = m->request_id;
      ch->recv_remaining = s->credit;
      ch->send_credit = s->credit;
    }
    if (made < nchan) {
      while (made--) roam__chan_release(s, roam__chan_get(c, ids[made]));
      roam_idmap_del(&c->requests, m->request_id);
      if (r->nchan > CALL_INLINE_CHANS) roam__free(&s->mem, r->chans.heap);
      r->nchan = 0;
      r->next = s->req_free;
      s->req_free = r;
      if (dup) {
        roam__violation(s, "channeling.id.uniqueness");
        return;
      }
      r = NULL;
    }
  }
  if (!r) {
    /* Refused (limits, or out of memory), the only refusal this wire
     * version has: Err(Cancelled). */
    roam__ignored(s, ROAM_IGNORE_REFUSED_CALL, m);
    refuse(s, m, 3);
    return;
  }
  r->s = s;
  r->c = c;
  r->conn_id = c->id;
  r->request_id = m->request_id;
  r->method_id = m->method_id;
  r->nchan = (uint16_t)nchan;
  r->next = s->held;
  if (s->held) s->held->prev = r;
  s->held = r;
  if (s->diag) r->diag = roam_diag_request_begin(s->diag, c->id, r->request_id, r->method_id, 0);

  const roam_dispatcher *disp = c->disp;
  method_entry *e = disp ? roam_u64map_get(&disp->methods, m->method_id) : NULL;
  roam_handler_fn fn = e ? e->fn : disp ? disp->fallback : NULL;
  void *hud = e ? e->ud : disp ? disp->fallback_ud : NULL;
  if (!fn) {
    if (roam_request_respond_error(r, ROAM_ERR_REMOTE_UNKNOWN_METHOD) == ROAM_ERR_NOMEM) {
      roam__fatal(s);
      r->released = 1; /* freed when the teardown orphans it */
    }
    return;
  }
  roam_request *outer = s->cur_req; /* (handlers do not nest, but be safe) */
  roam_bytes outer_p = s->cur_payload;
  const roam_metadata *outer_md = s->cur_md;
  s->cur_req = r;
  s->cur_payload = m->payload;
  s->cur_md = &m->metadata;
  r->pinned++;
  ENTER(s);
  fn(s, r, hud);
  LEAVE(s);
  r->pinned--;
  s->cur_req = outer;
  s->cur_payload = outer_p;
  s->cur_md = outer_md;
  maybe_free(s, r);
}

void roam__handle_cancel(roam_session *s, const roam_msg *m) {
  conn *c = roam__conn_get(s, m->conn_id);
  if (!c) {
    roam__ignored(s, ROAM_IGNORE_UNKNOWN_CONN, m);
    return;
  }
  roam_request *r = roam_idmap_get(&c->requests, m->request_id);
  if (!r || r->done) {
    roam__ignored(s, ROAM_IGNORE_LATE_CANCEL, m);
    return;
  }
  r->pinned++;
  notify_cancel(s, r, ROAM_ERR_CANCELLED);
  /* Unless the handler answered from its cancel callback, the session
   * answers for it [call.cancel.best-effort]. */
  if (!r->done && s->state != S_CLOSED && r->c && !r->c->closing) {
    if (answer(s, r, 1, 3, 2, NULL, 0, NULL, 0) == 0) {
      r->cancelled = 1;
      r->why = ROAM_ERR_CANCELLED;
    } else {
      roam__fatal(s);
    }
  }
  r->pinned--;
  maybe_free(s, r);
}

/* ---- accessors ------------------------------------------------------------ */

roam_session *roam_request_session(const roam_request *r) { return r->s; }
uint64_t roam_request_conn_id(const roam_request *r) { return r->conn_id; }
uint64_t roam_request_id(const roam_request *r) { return r->request_id; }
uint64_t roam_request_method_id(const roam_request *r) { return r->method_id; }
roam_bytes roam_request_payload(const roam_request *r) {
  static const roam_bytes none = {NULL, 0};
  return r->s->cur_req == r ? r->s->cur_payload : none;
}
const roam_metadata *roam_request_metadata(const roam_request *r) {
  return r->s->cur_req == r ? r->s->cur_md : NULL;
}
size_t roam_request_channel_count(const roam_request *r) { return r->nchan; }
uint64_t roam_request_channel_id(const roam_request *r, size_t index) {
  return index < r->nchan ? roam__req_chans(r)[index] : 0;
}
void roam_request_set_user_data(roam_request *r, void *ud) { r->user_data = ud; }
void *roam_request_user_data(const roam_request *r) { return r->user_data; }
void roam_request_set_cancel_cb(roam_request *r, void (*fn)(roam_request *, int, void *),
                                void *ud) {
  r->cancel_fn = fn;
  r->cancel_ud = ud;
}
bool roam_request_is_cancelled(const roam_request *r) { return r->cancelled; }

void roam_request_diag_arg(roam_request *r, const char *key, const char *value) {
  if (r->diag && r->s->diag) roam_diag_request_add_arg(r->s->diag, r->diag, key, value);
}

int roam_request_bind_channel(roam_request *r, size_t index, int dir,
                              const roam_channel_callbacks *cbs, void *ud) {
  if (!r || index >= r->nchan || r->released) return ROAM_ERR_INVALID_ARG;
  int d = dir & 3;
  if (d != ROAM_CHAN_SEND && d != ROAM_CHAN_RECV) return ROAM_ERR_INVALID_ARG;
  roam_session *s = r->s;
  if (r->done) return r->cancelled ? r->why : ROAM_ERR_STATE;
  if (s->state == S_CLOSED || !r->c || r->c->closing) return ROAM_ERR_CLOSED;
  conn *c = r->c;
  chan *ch = roam__chan_get(c, roam__req_chans(r)[index]);
  if (!ch || ch->state != CH_UNBOUND) return ROAM_ERR_STATE;
  ch->dir = (uint8_t)d;
  ch->manual_credit = (dir & ROAM_CHAN_MANUAL_CREDIT) != 0;
  ch->cbs = cbs;
  ch->ud = ud;
  ch->state = CH_OPEN;
  if (s->diag)
    ch->diag = roam_diag_channel_open(s->diag, r->conn_id, ch->id, d == ROAM_CHAN_SEND,
                                      r->request_id);
  uint64_t conn_id = r->conn_id, id = ch->id;
  /* Callbacks below may answer (release) the request: keep the handle. */
  r->pinned++;
  /* The values that arrived before binding leave the channel (their room
   * in it is the credit-grant list's once it is bound). */
  chan_buf *list = ch->buf.head;
  ch->buf.head = ch->buf.tail = NULL;
  ch->buf.buffered = 0;
  if (d == ROAM_CHAN_SEND) {
    ch->peer_closed = 0; /* Close on our output channel: wrong direction */
    for (chan_buf *b = list; b; b = b->next) roam__ignored(s, ROAM_IGNORE_WRONG_DIRECTION, NULL);
  } else {
    /* Deliver them, in order. */
    while (list && (ch = roam__chan_get(c, id)) != NULL && ch->state == CH_OPEN &&
           s->state != S_CLOSED) {
      chan_buf *b = list;
      roam_bytes v = {(const uint8_t *)(b + 1), b->len};
      if (b->count > 1) { /* one of a run of empty values */
        b->count--;
        b = NULL;
      } else {
        list = b->next;
      }
      int rc = 0;
      if (ch->cbs && ch->cbs->on_data) {
        ENTER(s);
        rc = ch->cbs->on_data(s, conn_id, id, v, ch->ud);
        LEAVE(s);
      }
      roam__free(&s->mem, b); /* (NULL for one of a run) */
      if (rc < 0) {
        roam__violation(s, "channeling.data.invalid");
        break;
      }
      ch = roam__chan_get(c, id);
      if (ch && ch->state == CH_OPEN && !ch->manual_credit && s->state != S_CLOSED)
        roam_channel_consume(s, conn_id, id, v.len);
    }
  }
  while (list) { /* not delivered (channel gone, link closed) */
    chan_buf *b = list;
    list = b->next;
    roam__free(&s->mem, b);
  }
  ch = roam__chan_get(c, id);
  if (ch && ch->state == CH_OPEN && s->state != S_CLOSED) {
    if (ch->peer_reset)
      roam__chan_end(s, ch, 1, ROAM_ERR_CANCELLED);
    else if (ch->peer_closed)
      roam__chan_end(s, ch, 1, 0);
  }
  r->pinned--;
  maybe_free(s, r);
  roam__settle(s);
  return 0;
}
