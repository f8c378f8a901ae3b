/*
 * Virtual connections (PROTOCOL.md §9): Connect/Accept/Reject on the link,
 * Goodbye per connection. Only the link (connection 0) listens.
 */
#include <string.h>

#include "session/session_internal.h"

void roam__peer_goodbye(roam_session *s, roam_bytes reason);

static int emit_conn_msg(roam_session *s, roam_msg_kind kind, uint64_t request_id,
                         uint64_t conn_id, const char *reason, const roam_meta_entry *md,
                         size_t n) {
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = kind;
  m.request_id = request_id;
  m.conn_id = conn_id;
  if (reason) {
    m.reason.ptr = (const uint8_t *)reason;
    m.reason.len = strlen(reason);
  }
  m.metadata.count = n;
  m.metadata.entries = md;
  if (n) {
    roam_metadata_measure(&m.metadata);
    if (roam_metadata_check_limits(&m.metadata)) return ROAM_ERR_METADATA_LIMIT;
  }
  return roam__emit(s, &m, NULL, 0);
}

static int check_md(roam_session *s, const roam_msg *m) {
  if (roam_metadata_check_limits(&m->metadata) == 0) return 0;
  roam__violation(s, "call.metadata.limits");
  return -1;
}

/* ---- the side that listens ------------------------------------------------ */

int roam_session_listen(roam_session *s, bool enable) {
  if (!s) return ROAM_ERR_INVALID_ARG;
  s->listening = enable;
  return 0;
}

void roam__handle_connect(roam_session *s, const roam_msg *m) {
  if (check_md(s, m)) return;
  if (!s->listening || !s->cbs.on_connect) {
    if (emit_conn_msg(s, ROAM_MSG_REJECT, m->request_id, 0, "not listening", NULL, 0))
      roam__fatal(s);
    return;
  }
  if (roam_u64map_get(&s->connects_in, m->request_id)) {
    roam__ignored(s, ROAM_IGNORE_DUPLICATE_CONNECT, m);
    return;
  }
  if ((uint64_t)s->conns.count - 1 + s->connects_in.count >= s->cfg.max_connections ||
      roam_u64map_put(&s->connects_in, &s->mem, m->request_id, (void *)1)) {
    if (emit_conn_msg(s, ROAM_MSG_REJECT, m->request_id, 0, "too many connections", NULL, 0))
      roam__fatal(s);
    return;
  }
  ENTER(s);
  s->cbs.on_connect(s, m->request_id, &m->metadata, s->ud);
  LEAVE(s);
}

int roam_session_accept(roam_session *s, uint64_t connect_id, const roam_meta_entry *md,
                        size_t md_count, const roam_dispatcher *d, uint64_t *conn_id_out) {
  if (!s || (!md && md_count)) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  if (!roam_u64map_get(&s->connects_in, connect_id)) return ROAM_ERR_NOT_FOUND;
  uint64_t id = s->next_conn_id;
  while (id == 0 || roam_idmap_get(&s->conns, id)) id++;
  conn *c = roam__conn_new(s, id);
  if (!c) return ROAM_ERR_NOMEM;
  int rc = emit_conn_msg(s, ROAM_MSG_ACCEPT, connect_id, id, NULL, md, md_count);
  if (rc) {
    roam_idmap_del(&s->conns, id);
    s->stats.connections--;
    roam__free(&s->mem, c);
    return rc;
  }
  s->next_conn_id = id + 1;
  c->disp = d;
  roam_u64map_del(&s->connects_in, connect_id);
  if (conn_id_out) *conn_id_out = id;
  return 0;
}

int roam_session_reject(roam_session *s, uint64_t connect_id, const char *reason,
                        const roam_meta_entry *md, size_t md_count) {
  if (!s || (!md && md_count)) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  if (!roam_u64map_get(&s->connects_in, connect_id)) return ROAM_ERR_NOT_FOUND;
  int rc = emit_conn_msg(s, ROAM_MSG_REJECT, connect_id, 0, reason ? reason : "", md, md_count);
  if (rc) return rc;
  roam_u64map_del(&s->connects_in, connect_id);
  return 0;
}

/* ---- the side that connects ----------------------------------------------- */

int roam_session_connect(roam_session *s, const roam_meta_entry *md, size_t md_count,
                         uint64_t timeout_ms, roam_connect_cb cb, void *ud) {
  if (!s || !cb || (!md && md_count)) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  if (s->state != S_READY) return ROAM_ERR_STATE;
  if (timeout_ms && roam__theap_reserve(&s->timers, &s->mem)) return ROAM_ERR_NOMEM;
  connect_op *op = roam__calloc(&s->mem, sizeof *op);
  if (!op) return ROAM_ERR_NOMEM;
  op->request_id = s->next_connect_id;
  op->cb = cb;
  op->ud = ud;
  roam__tmr_init(&op->timer, TK_CONNECT);
  int rc = roam_idmap_put(&s->connects_out, &s->mem, op->request_id, op);
  if (rc == 0) {
    rc = emit_conn_msg(s, ROAM_MSG_CONNECT, op->request_id, 0, NULL, md, md_count);
    if (rc) roam_idmap_del(&s->connects_out, op->request_id);
  }
  if (rc) {
    roam__free(&s->mem, op);
    return rc;
  }
  s->next_connect_id++; /* a Connect that timed out keeps its id used */
  if (timeout_ms) (void)roam__theap_add(&s->timers, &s->mem, &op->timer, roam__now(s) + timeout_ms);
  return 0;
}

static void connect_done(roam_session *s, connect_op *op, int status, uint64_t conn_id,
                         roam_bytes reason, const roam_metadata *md) {
  roam__theap_remove(&s->timers, &op->timer);
  ENTER(s);
  op->cb(s, status, conn_id, reason, md, op->ud);
  LEAVE(s);
  roam__free(&s->mem, op);
}

void roam__remember_local_close(roam_session *s, uint64_t conn_id) {
  if (!s->local_closed) {
    s->local_closed = roam__calloc(&s->mem, RECENT_CLOSED * sizeof *s->local_closed);
    /* without memory, the peer's crossing messages count as violations */
    if (!s->local_closed) return;
  }
  s->local_closed[s->local_closed_pos % RECENT_CLOSED] = conn_id;
  s->local_closed_pos++;
}

void roam__unknown_conn(roam_session *s, const roam_msg *m) {
  for (int i = 0; s->local_closed && i < RECENT_CLOSED; i++)
    if (m->conn_id != 0 && s->local_closed[i] == m->conn_id) {
      roam__ignored(s, ROAM_IGNORE_UNKNOWN_CONN, m);
      return;
    }
  roam__violation(s, "message.conn-id");
}

void roam__handle_accept(roam_session *s, const roam_msg *m) {
  if (check_md(s, m)) return;
  connect_op *op = roam_idmap_get(&s->connects_out, m->request_id);
  if (!op) {
    roam__ignored(s, ROAM_IGNORE_STALE_CONNECT_REPLY, m);
    /* A Connect of ours that timed out was accepted after all: the peer now
     * has a connection we will never use. Close it, so that it does not
     * wait on it (or send on it) for ever. */
    if (m->request_id != 0 && m->request_id < s->next_connect_id && m->conn_id != 0 &&
        !roam_idmap_get(&s->conns, m->conn_id)) {
      if (roam__send_goodbye(s, m->conn_id, "connect timed out")) roam__fatal(s);
      roam__remember_local_close(s, m->conn_id);
    }
    return;
  }
  if (m->conn_id == 0 || roam_idmap_get(&s->conns, m->conn_id)) {
    roam__violation(s, "message.conn-id");
    return;
  }
  roam_idmap_del(&s->connects_out, m->request_id);
  roam_bytes none = {NULL, 0};
  if (!roam__conn_new(s, m->conn_id)) {
    /* The peer has the connection now: close it again. */
    if (roam__send_goodbye(s, m->conn_id, "internal error: out of memory")) roam__fatal(s);
    roam__remember_local_close(s, m->conn_id);
    connect_done(s, op, ROAM_ERR_NOMEM, 0, none, NULL);
    return;
  }
  connect_done(s, op, 0, m->conn_id, none, &m->metadata);
}

void roam__handle_reject(roam_session *s, const roam_msg *m) {
  if (check_md(s, m)) return;
  connect_op *op = roam_idmap_del(&s->connects_out, m->request_id);
  if (!op) {
    roam__ignored(s, ROAM_IGNORE_STALE_CONNECT_REPLY, m);
    return;
  }
  connect_done(s, op, ROAM_ERR_REJECTED, 0, m->reason, &m->metadata);
}

void roam__connect_timer(roam_session *s, connect_op *op) {
  roam_idmap_del(&s->connects_out, op->request_id);
  roam_bytes none = {NULL, 0};
  connect_done(s, op, ROAM_ERR_TIMEOUT, 0, none, NULL);
}

void roam__connects_fail_all(roam_session *s) {
  roam_bytes none = {NULL, 0};
  connect_op *op;
  uint32_t i = 0;
  while (s->connects_out.count) {
    if (!(op = roam_idmap_next(&s->connects_out, &i))) {
      i = 0;
      continue;
    }
    roam_idmap_del(&s->connects_out, op->request_id);
    connect_done(s, op, ROAM_ERR_CLOSED, 0, none, NULL);
  }
  roam_u64map_free(&s->connects_in, &s->mem);
}

/* ---- Goodbye ------------------------------------------------------------------ */

/* Mark a virtual connection closed now; tear it down at the next settle. */
static void conn_schedule_close(roam_session *s, conn *c, int err, roam_bytes reason) {
  c->closing = 1;
  c->close_err = err;
  if (reason.len) {
    c->close_reason = roam__malloc(&s->mem, reason.len);
    if (c->close_reason) {
      memcpy(c->close_reason, reason.ptr, reason.len);
      c->close_reason_len = reason.len;
    }
  }
  c->next_closing = s->closing_conns;
  s->closing_conns = c;
}

void roam__handle_goodbye(roam_session *s, const roam_msg *m) {
  if (m->conn_id == 0) {
    roam__peer_goodbye(s, m->reason);
    return;
  }
  conn *c = roam__conn_get(s, m->conn_id);
  if (!c) {
    roam__ignored(s, ROAM_IGNORE_UNKNOWN_CONN, m);
    return;
  }
  /* [message.goodbye.receive]: nothing more is sent on it. */
  conn_schedule_close(s, c, m->reason.len ? ROAM_ERR_CLOSED : 0, m->reason);
}

int roam_session_conn_close(roam_session *s, uint64_t conn_id, const char *reason) {
  if (!s || conn_id == 0) return ROAM_ERR_INVALID_ARG;
  if (s->state == S_CLOSED) return ROAM_ERR_CLOSED;
  conn *c = roam__conn_get(s, conn_id);
  if (!c) return ROAM_ERR_NOT_FOUND;
  if (!reason) reason = "";
  int rc = roam__send_goodbye(s, conn_id, reason);
  if (rc) return rc;
  roam_bytes r = {(const uint8_t *)reason, strlen(reason)};
  roam__remember_local_close(s, conn_id);
  conn_schedule_close(s, c, 0, r);
  roam__settle(s);
  return 0;
}

bool roam_session_conn_exists(const roam_session *s, uint64_t conn_id) {
  return s && roam__conn_get(s, conn_id) != NULL;
}
