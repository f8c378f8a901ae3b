/*
 * Outgoing calls: Request out, Response in, local Cancel and deadlines, and
 * the per-connection queue of calls waiting for the handshake or for room
 * under max_outgoing_calls.
 */
#include <string.h>

#include "session/session_internal.h"

static call *call_alloc(roam_session *s) {
  call *k = s->call_free;
  if (k)
    s->call_free = k->next;
  else if (!(k = roam__malloc(&s->mem, sizeof *k)))
    return NULL;
  /* (field by field: a memset here is a rep stos on the hot path) */
  k->request_id = 0;
  k->c = NULL;
  k->cb = NULL;
  k->ud = NULL;
  roam__tmr_init(&k->timer, TK_CALL_DEADLINE);
  k->next = NULL;
  k->deferred = NULL;
  k->diag = NULL;
  k->chans.heap = NULL;
  k->state = 0;
  k->cancelled = 0;
  k->nchan = 0;
  return k;
}

void roam__call_free(roam_session *s, call *k) {
  roam__theap_remove(&s->timers, &k->timer);
  if (k->nchan > CALL_INLINE_CHANS) roam__free(&s->mem, k->chans.heap);
  roam__free(&s->mem, k->deferred);
  k->nchan = 0;
  k->deferred = NULL;
  k->next = s->call_free;
  s->call_free = k;
}

/* Interpret a Response payload: Result<T, RoamError<E>>. */
static int parse_result(roam_bytes p, roam_bytes *value) {
  value->ptr = p.ptr;
  value->len = 0;
  if (p.len == 0) return ROAM_ERR_BAD_RESPONSE;
  if (p.ptr[0] == 0) {
    value->ptr = p.ptr + 1;
    value->len = p.len - 1;
    return 0;
  }
  if (p.ptr[0] != 1) return ROAM_ERR_BAD_RESPONSE;
  roam_dec d;
  roam_dec_init(&d, p.ptr + 1, p.len - 1);
  uint32_t variant;
  if (roam_dec_variant(&d, &variant)) return ROAM_ERR_BAD_RESPONSE;
  switch (variant) {
  case 0:
    value->ptr = d.p;
    value->len = roam_dec_remaining(&d);
    return ROAM_ERR_REMOTE_USER;
  case 1: return ROAM_ERR_REMOTE_UNKNOWN_METHOD;
  case 2: return ROAM_ERR_REMOTE_INVALID_PAYLOAD;
  case 3: return ROAM_ERR_REMOTE_CANCELLED;
  default: return ROAM_ERR_BAD_RESPONSE;
  }
}

/* The call's own RECV channels end with its Response (gracefully), or are
 * abandoned with Reset when the call ends locally. */
static void end_call_channels(roam_session *s, call *k, int got_response, int status) {
  const uint64_t *ids = roam__call_chans(k);
  for (uint16_t i = 0; i < k->nchan; i++) {
    chan *ch = roam__chan_get(k->c, ids[i]);
    if (!ch || ch->request_id != k->request_id) continue;
    if (ch->state == CH_PENDING) {
      /* The Request never left: the channel never opened. */
      roam__chan_end(s, ch, 1, status == ROAM_ERR_CLOSED ? ROAM_ERR_CLOSED : ROAM_ERR_CANCELLED);
      continue;
    }
    if (ch->state == CH_DISCARD && !ch->incoming) {
      roam__chan_release(s, ch);
      continue;
    }
    if (ch->dir != ROAM_CHAN_RECV) continue;
    if (got_response) {
      roam__chan_end(s, ch, 1, 0);
    } else if (s->state != S_CLOSED && !k->c->closing) {
      uint8_t hdr[HDR_MAX];
      size_t n = roam__hdr_small(hdr, ROAM_MSG_RESET, k->c->id, ch->id, 0);
      if (roam__emit_fast(s, ROAM_MSG_RESET, hdr, n, NULL, 0)) roam__fatal(s);
      roam__chan_end(s, ch, 1, ROAM_ERR_CANCELLED);
    }
  }
}

void roam__call_complete(roam_session *s, call *k, int status, const roam_msg *resp) {
  roam__theap_remove(&s->timers, &k->timer);
  roam_call_result res;
  memset(&res, 0, sizeof res);
  res.conn_id = k->c->id;
  res.request_id = k->request_id;
  if (resp) {
    res.payload = resp->payload;
    res.metadata = &resp->metadata;
    status = parse_result(resp->payload, &res.value);
  }
  res.status = status;
  if (k->state == CALL_INFLIGHT || k->nchan) end_call_channels(s, k, resp != NULL, status);
  s->stats.calls_completed++;
  switch (status) {
  case 0: s->stats.calls_ok++; break;
  case ROAM_ERR_TIMEOUT: s->stats.calls_timed_out++; break;
  case ROAM_ERR_CANCELLED: s->stats.calls_cancelled++; break;
  case ROAM_ERR_CLOSED: s->stats.calls_closed++; break;
  default: s->stats.calls_remote_error++; break;
  }
  if (k->diag) roam_diag_request_end(s->diag, k->diag);
  k->diag = NULL;
  if (k->cb) {
    ENTER(s);
    k->cb(s, &res, k->ud);
    LEAVE(s);
  }
  roam__call_free(s, k);
}

static void activate_channels(roam_session *s, call *k) {
  const uint64_t *ids = roam__call_chans(k);
  for (uint16_t i = 0; i < k->nchan; i++) {
    chan *ch = roam__chan_get(k->c, ids[i]);
    if (!ch || ch->request_id != k->request_id) continue;
    if (ch->state == CH_PENDING) {
      roam__chan_activate(s, ch);
    } else if (ch->state == CH_DISCARD && !ch->incoming) {
      /* Reset by the application before the Request left: tell the peer now
       * (the Request names it), then forget it. */
      if (roam__chan_send_reset(s, ch)) roam__fatal(s);
    }
  }
}

/* Send queued calls while the handshake is done and there is room. */
void roam__flush_deferred(roam_session *s, conn *c) {
  while (c->defer_head && s->state == S_READY && !c->closing &&
         c->out_inflight < s->cfg.max_outgoing_calls) {
    call *k = c->defer_head;
    c->defer_head = k->next;
    if (!c->defer_head) c->defer_tail = NULL;
    k->next = NULL;
    c->deferred--;
    roam_msg m;
    size_t dlen = roam__deferred_len(k->deferred);
    int rc = roam_msg_decode(&m, k->deferred + 4, dlen);
    if (rc == 0 && m.payload.len > s->max_payload) rc = ROAM_ERR_PAYLOAD_TOO_LARGE;
    if (rc == 0) rc = roam__emit_raw(s, k->deferred + 4, dlen);
    roam__free(&s->mem, k->deferred);
    k->deferred = NULL;
    if (rc) {
      roam_idmap_del(&c->calls, k->request_id);
      roam__call_complete(s, k, rc, NULL);
      continue;
    }
    k->state = CALL_INFLIGHT;
    c->out_inflight++;
    activate_channels(s, k);
  }
}

int roam_call(roam_session *s, uint64_t method_id, const void *payload, size_t len,
              const roam_call_opts *opts, roam_call_cb cb, void *ud, uint64_t *request_id_out) {
  static const roam_call_opts no_opts;
  if (!opts) opts = &no_opts;
  if (!s || !cb || (!payload && len) || (!opts->channels && opts->channel_count) ||
      (!opts->metadata && opts->metadata_count) || opts->channel_count > UINT16_MAX)
    return ROAM_ERR_INVALID_ARG;
  int rc = 0;
  conn *c = NULL;
  if (s->state == S_CLOSED) {
    rc = ROAM_ERR_CLOSED;
    goto release;
  }
  c = roam__conn_get(s, opts->conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  /* Validate the channels: fresh ids from roam_channel_alloc on this conn. */
  for (size_t i = 0; i < opts->channel_count; i++) {
    chan *ch = roam__chan_get(c, opts->channels[i]);
    if (!ch || ch->state != CH_PENDING || ch->request_id != 0) return ROAM_ERR_INVALID_ARG;
    for (size_t j = 0; j < i; j++)
      if (opts->channels[j] == opts->channels[i]) return ROAM_ERR_INVALID_ARG;
  }
  if (len > s->max_payload) {
    rc = ROAM_ERR_PAYLOAD_TOO_LARGE;
    goto release;
  }
  /* Common calls (no metadata, few channels) skip building a roam_msg. */
  int fast = opts->metadata_count == 0 && opts->channel_count <= HDR_FAST_CHANS;
  roam_msg m;
  if (!fast) {
    memset(&m, 0, sizeof m);
    m.kind = ROAM_MSG_REQUEST;
    m.conn_id = c->id;
    m.method_id = method_id;
    m.metadata.count = opts->metadata_count;
    m.metadata.entries = opts->metadata;
    if (opts->metadata_count) {
      roam_metadata_measure(&m.metadata);
      if (roam_metadata_check_limits(&m.metadata)) {
        rc = ROAM_ERR_METADATA_LIMIT;
        goto release;
      }
    }
    m.channels.count = opts->channel_count;
    m.channels.items = opts->channels;
    m.payload.ptr = payload;
    m.payload.len = len;
  }
  int defer = s->state != S_READY || c->defer_head || c->out_inflight >= s->cfg.max_outgoing_calls;
  if (defer && c->deferred >= s->cfg.outgoing_queue_limit) {
    rc = ROAM_ERR_LIMIT;
    goto release;
  }
  /* Room for the deadline first: once the Request is out, nothing may fail. */
  if (opts->timeout_ms && roam__theap_reserve(&s->timers, &s->mem)) {
    rc = ROAM_ERR_NOMEM;
    goto release;
  }
  call *k = call_alloc(s);
  if (!k) {
    rc = ROAM_ERR_NOMEM;
    goto release;
  }
  k->c = c;
  k->cb = cb;
  k->ud = ud;
  k->request_id = c->next_request_id;
  uint8_t hdr[HDR_MAX];
  size_t hl = 0;
  if (fast)
    hl = roam__hdr_request(hdr, c->id, k->request_id, method_id, opts->channels,
                           opts->channel_count, len);
  else
    m.request_id = k->request_id;
  k->nchan = (uint16_t)opts->channel_count;
  if (k->nchan > CALL_INLINE_CHANS) {
    k->chans.heap = roam__malloc(&s->mem, k->nchan * sizeof(uint64_t));
    if (!k->chans.heap) {
      k->nchan = 0;
      rc = ROAM_ERR_NOMEM;
      goto free_call;
    }
  }
  if (k->nchan) memcpy((uint64_t *)roam__call_chans(k), opts->channels, k->nchan * sizeof(uint64_t));
  if ((rc = roam_idmap_put(&c->calls, &s->mem, k->request_id, k)) != 0) goto free_call;
  if (defer) {
    size_t sz = fast ? hl + len : roam_msg_encoded_size(&m), dlen = sz;
    k->deferred = sz && sz <= UINT32_MAX ? roam__malloc(&s->mem, 4 + sz) : NULL;
    if (!k->deferred) {
      rc = ROAM_ERR_NOMEM;
    } else if (fast) {
      memcpy(k->deferred + 4, hdr, hl);
      if (len) memcpy(k->deferred + 4 + hl, payload, len);
    } else {
      rc = roam_msg_encode_buf(&m, k->deferred + 4, sz, &dlen);
    }
    if (rc == 0) {
      uint32_t l32 = (uint32_t)dlen;
      memcpy(k->deferred, &l32, 4);
    }
    k->state = CALL_DEFERRED;
  } else {
    rc = fast ? roam__emit_fast(s, ROAM_MSG_REQUEST, hdr, hl, payload, len)
              : roam__emit(s, &m, NULL, 0);
    k->state = CALL_INFLIGHT;
  }
  if (rc) {
    roam_idmap_del(&c->calls, k->request_id);
    goto free_call;
  }
  c->next_request_id++;
  for (uint16_t i = 0; i < k->nchan; i++) {
    chan *ch = roam__chan_get(c, roam__call_chans(k)[i]);
    ch->request_id = k->request_id;
  }
  if (defer) {
    if (c->defer_tail)
      c->defer_tail->next = k;
    else
      c->defer_head = k;
    c->defer_tail = k;
    c->deferred++;
  } else {
    c->out_inflight++;
    activate_channels(s, k);
  }
  if (opts->timeout_ms) {
    k->timer.kind = TK_CALL_DEADLINE;
    (void)roam__theap_add(&s->timers, &s->mem, &k->timer, roam__now(s) + opts->timeout_ms);
  }
  if (s->diag) k->diag = roam_diag_request_begin(s->diag, c->id, k->request_id, method_id, 1);
  s->stats.calls_started++;
  if (request_id_out) *request_id_out = k->request_id;
  roam__settle(s);
  return 0;
free_call:
  k->cb = NULL;
  roam__call_free(s, k);
release:
  if (c || (c = roam__conn_get(s, opts->conn_id)) != NULL) {
    for (size_t i = 0; i < opts->channel_count; i++) {
      chan *ch = roam__chan_get(c, opts->channels[i]);
      if (ch && ch->state == CH_PENDING && ch->request_id == 0) roam__chan_release(s, ch);
    }
  }
  return rc;
}

static void deferred_unlink(conn *c, call *k) {
  call **pp = &c->defer_head;
  call *prev = NULL;
  while (*pp && *pp != k) {
    prev = *pp;
    pp = &(*pp)->next;
  }
  if (!*pp) return;
  *pp = k->next;
  if (c->defer_tail == k) c->defer_tail = prev;
  k->next = NULL;
  c->deferred--;
}

static int send_cancel(roam_session *s, call *k) {
  uint8_t hdr[HDR_MAX];
  size_t n = roam__hdr_small(hdr, ROAM_MSG_CANCEL, k->c->id, k->request_id, 0);
  return roam__emit_fast(s, ROAM_MSG_CANCEL, hdr, n, NULL, 0);
}

/* End a call locally (deadline, cancel grace, or a queued call cancelled). */
static void call_abandon(roam_session *s, call *k, int status) {
  conn *c = k->c;
  roam_idmap_del(&c->calls, k->request_id);
  if (k->state == CALL_DEFERRED) {
    deferred_unlink(c, k);
    k->state = 0;
  } else {
    c->out_inflight--;
  }
  roam__call_complete(s, k, status, NULL);
  roam__flush_deferred(s, c);
}

int roam_call_cancel(roam_session *s, uint64_t conn_id, uint64_t request_id) {
  if (!s) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  conn *c = roam__conn_get(s, conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  call *k = roam_idmap_get(&c->calls, request_id);
  if (!k) return ROAM_ERR_NOT_FOUND;
  if (k->state == CALL_DEFERRED) {
    call_abandon(s, k, ROAM_ERR_CANCELLED);
    roam__settle(s);
    return 0;
  }
  if (k->cancelled) return 0;
  /* Room for the grace timer first, so that the call cannot wait for ever. */
  int rc = roam__tmr_armed(&k->timer) ? 0 : roam__theap_reserve(&s->timers, &s->mem);
  if (rc == 0) rc = send_cancel(s, k);
  if (rc) return rc;
  k->cancelled = 1;
  k->timer.kind = TK_CANCEL_GRACE;
  (void)roam__theap_add(&s->timers, &s->mem, &k->timer, roam__now(s) + s->cfg.cancel_grace_ms);
  return 0;
}

void roam__call_timer(roam_session *s, call *k) {
  if (s->state == S_CLOSED || k->c->closing) return;
  if (k->timer.kind == TK_CALL_DEADLINE) {
    if (k->state == CALL_INFLIGHT && !k->cancelled && send_cancel(s, k)) roam__fatal(s);
    call_abandon(s, k, ROAM_ERR_TIMEOUT);
  } else {
    call_abandon(s, k, ROAM_ERR_CANCELLED);
  }
}

void roam__handle_response(roam_session *s, const roam_msg *m) {
  conn *c = roam__conn_get(s, m->conn_id);
  if (!c) {
    roam__ignored(s, ROAM_IGNORE_UNKNOWN_CONN, m);
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
  call *k = roam_idmap_get(&c->calls, m->request_id);
  if (!k || k->state != CALL_INFLIGHT) {
    roam__ignored(s, ROAM_IGNORE_LATE_RESPONSE, m);
    return;
  }
  roam_idmap_del(&c->calls, m->request_id);
  c->out_inflight--;
  roam__call_complete(s, k, 0, m);
  roam__flush_deferred(s, c);
}
