/*
 * Server side of generated code: a request handle with an arena for the
 * decoded arguments, typed replies, and channels bound to the request.
 *
 * Lifetimes: the roam_gen_request lives until the answer. Each opened
 * channel has its own small record that lives until the channel ends: the
 * session calls on_end for ends it sees (peer Close/Reset, connection
 * closed) and never for ends we cause, so the record is freed either in
 * on_end or right after our own successful close.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/mem.h"
#include "gen_internal.h"

typedef struct gen_chan {
  roam_gen_request *g; /* NULL once the request is answered */
  size_t index;
  roam_session *s;
  roam_mem mem; /* the session's: the record outlives the request */
  uint64_t conn, id;
  bool send;
  bool binding; /* inside roam_request_bind_channel */
  bool ended;   /* on_end ran while binding */
  roam_gen_deliver_fn deliver;
  void (*typed)(void);
  void (*on_end)(int err, void *ud);
  void (*on_writable)(void *ud);
  void *ud;
} gen_chan;

#define GEN_INLINE_ARENA 512

struct roam_gen_request {
  roam_request *req;
  roam_mem mem; /* the session's hooks: every allocation goes through them */
  roam_arena arena;
  const uint8_t *args;
  size_t args_len;
  void (*on_cancel)(void *ud);
  void *cancel_ud;
  bool cancelled;
  size_t nchan;
  gen_chan **chans;
  gen_chan *chan_slots[4]; /* chans for up to four channel parameters */
  max_align_t inline_arena[GEN_INLINE_ARENA / sizeof(max_align_t)];
};

static void gen_cancelled(roam_request *r, int why, void *ud) {
  (void)r, (void)why;
  roam_gen_request *g = ud;
  g->cancelled = true;
  if (g->on_cancel)
    g->on_cancel(g->cancel_ud);
}

roam_gen_request *roam_gen_request_new(roam_request *r, size_t nchannels) {
  const roam_mem *mem = roam__session_mem(roam_request_session(r));
  roam_gen_request *g = roam__malloc(mem, sizeof *g);
  gen_chan **chans = NULL;
  if (g && nchannels > sizeof g->chan_slots / sizeof g->chan_slots[0]) {
    if (nchannels <= SIZE_MAX / sizeof *chans)
      chans = roam__calloc(mem, nchannels * sizeof *chans);
  }
  if (g == NULL || (nchannels > sizeof g->chan_slots / sizeof g->chan_slots[0] && !chans)) {
    roam__free(mem, g);
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return NULL;
  }
  g->req = r;
  g->mem = *mem;
  g->on_cancel = NULL;
  g->cancel_ud = NULL;
  g->cancelled = false;
  g->nchan = nchannels;
  g->chans = chans ? chans : g->chan_slots;
  memset(g->chan_slots, 0, sizeof g->chan_slots);
  roam_arena_init_buffer(&g->arena, g->inline_arena, sizeof g->inline_arena, mem);
  /* the payload is only valid during the handler call: the arguments
   * point into a copy that lives as long as the request */
  roam_bytes p = roam_request_payload(r);
  g->args = roam_arena_copy(&g->arena, p.ptr, p.len);
  g->args_len = p.len;
  if (g->args == NULL) {
    roam_arena_free(&g->arena);
    if (g->chans != g->chan_slots)
      roam__free(mem, g->chans);
    roam__free(mem, g);
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return NULL;
  }
  roam_arena_set_limit(&g->arena, ROAM_GEN_ARENA_LIMIT);
  roam_request_set_cancel_cb(r, gen_cancelled, g);
  return g;
}

void roam_gen_request_args(roam_gen_request *g, roam_dec *d) {
  roam_dec_init(d, g->args, g->args_len);
}

roam_arena *roam_gen_request_arena(roam_gen_request *g) { return &g->arena; }
roam_request *roam_gen_request_raw(roam_gen_request *g) { return g->req; }
bool roam_gen_request_is_cancelled(const roam_gen_request *g) { return g->cancelled; }

void roam_gen_request_on_cancel(roam_gen_request *g, void (*fn)(void *ud), void *ud) {
  g->on_cancel = fn;
  g->cancel_ud = ud;
}

/* Close the senders, detach the receivers, free the handle. */
static void gen_release(roam_gen_request *g) {
  for (size_t i = 0; i < g->nchan; i++) {
    gen_chan *ch = g->chans[i];
    if (ch == NULL)
      continue;
    ch->g = NULL;
    if (ch->send && roam_channel_close(ch->s, ch->conn, ch->id) == 0)
      roam__free(&ch->mem, ch);
    /* otherwise (a receiver, or a close that failed because the
     * connection is going away) on_end frees it */
  }
  roam_mem mem = g->mem;
  roam_arena_free(&g->arena);
  if (g->chans != g->chan_slots)
    roam__free(&mem, g->chans);
  roam__free(&mem, g);
}

void roam_gen_request_invalid(roam_gen_request *g) {
  roam_request *r = g->req;
  gen_release(g);
  roam_request_respond_error(r, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
}

int roam_gen_request_reply(roam_gen_request *g, bool user_error, roam_gen_encode_fn fn,
                           const void *value) {
  gen_buf b;
  roam_request *r = g->req;
  int rc = gen_encode(&b, &g->mem, fn, value);
  gen_release(g);
  if (rc == 0) {
    rc = user_error ? roam_request_respond_user_error(r, roam_enc_data(&b.e), roam_enc_size(&b.e))
                    : roam_request_respond_ok(r, roam_enc_data(&b.e), roam_enc_size(&b.e));
    /* these leave the handle unanswered: give the call up instead */
    if (rc == ROAM_ERR_PAYLOAD_TOO_LARGE || rc == ROAM_ERR_NOMEM ||
        rc == ROAM_ERR_METADATA_LIMIT)
      roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
  } else {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  gen_buf_free(&b);
  return rc;
}

int roam_gen_request_reply_error(roam_gen_request *g, int kind) {
  roam_request *r = g->req;
  gen_release(g);
  return roam_request_respond_error(r, kind);
}

/* ---- diagnostics ---- */

void roam_gen_request_diag_str(roam_gen_request *g, const char *key, roam_str v) {
  if (!roam_diag_record_args_enabled())
    return;
  size_t n = v.len;
  if (n > 48) {
    n = 48;
    while (n > 0 && ((unsigned char)v.ptr[n] & 0xC0) == 0x80)
      n--;
  }
  char buf[64];
  snprintf(buf, sizeof buf, "\"%.*s\"%s", (int)n, v.ptr, n < v.len ? "…" : "");
  roam_request_diag_arg(g->req, key, buf);
}

void roam_gen_request_diag_i64(roam_gen_request *g, const char *key, int64_t v) {
  if (!roam_diag_record_args_enabled())
    return;
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  roam_request_diag_arg(g->req, key, buf);
}

void roam_gen_request_diag_u64(roam_gen_request *g, const char *key, uint64_t v) {
  if (!roam_diag_record_args_enabled())
    return;
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
  roam_request_diag_arg(g->req, key, buf);
}

void roam_gen_request_diag_f64(roam_gen_request *g, const char *key, double v) {
  if (!roam_diag_record_args_enabled())
    return;
  char buf[40];
  snprintf(buf, sizeof buf, "%g", v);
  roam_request_diag_arg(g->req, key, buf);
}

/* ---- channels ---- */

static int chan_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)id;
  gen_chan *ch = ud;
  return ch->deliver(v, &ch->mem, ch->typed, ch->ud);
}

static void chan_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s, (void)conn, (void)id;
  gen_chan *ch = ud;
  if (ch->g)
    ch->g->chans[ch->index] = NULL;
  ch->g = NULL;
  if (ch->on_end)
    ch->on_end(err, ch->ud);
  if (ch->binding)
    ch->ended = true; /* freed when roam_request_bind_channel returns */
  else
    roam__free(&ch->mem, ch);
}

static void chan_writable(roam_session *s, uint64_t conn, uint64_t id, void *ud) {
  (void)s, (void)conn, (void)id;
  gen_chan *ch = ud;
  if (ch->on_writable)
    ch->on_writable(ch->ud);
}

static const roam_channel_callbacks recv_cbs = {chan_data, chan_end, NULL};
static const roam_channel_callbacks send_cbs = {NULL, chan_end, chan_writable};

static int chan_open(roam_gen_request *g, size_t index, bool send, gen_chan *tmpl) {
  if (index >= g->nchan || g->chans[index] != NULL ||
      index >= roam_request_channel_count(g->req))
    return ROAM_ERR_STATE;
  gen_chan *ch = roam__malloc(&g->mem, sizeof *ch);
  if (ch == NULL)
    return ROAM_ERR_NOMEM;
  *ch = *tmpl;
  ch->mem = g->mem;
  ch->g = g;
  ch->index = index;
  ch->s = roam_request_session(g->req);
  ch->conn = roam_request_conn_id(g->req);
  ch->id = roam_request_channel_id(g->req, index);
  ch->send = send;
  ch->binding = true;
  ch->ended = false;
  g->chans[index] = ch;
  int rc = roam_request_bind_channel(g->req, index, send ? ROAM_CHAN_SEND : ROAM_CHAN_RECV,
                                     send ? &send_cbs : &recv_cbs, ch);
  ch->binding = false;
  if (rc != 0 || ch->ended) {
    if (g->chans[index] == ch)
      g->chans[index] = NULL;
    roam__free(&g->mem, ch);
  }
  return rc;
}

int roam_gen_request_open_recv(roam_gen_request *g, size_t index, roam_gen_deliver_fn deliver,
                               void (*typed)(void), void (*on_end)(int err, void *ud), void *ud) {
  if (deliver == NULL)
    return ROAM_ERR_INVALID_ARG;
  gen_chan t = {.deliver = deliver, .typed = typed, .on_end = on_end, .ud = ud};
  return chan_open(g, index, false, &t);
}

int roam_gen_request_open_send(roam_gen_request *g, size_t index, void (*on_writable)(void *ud),
                               void (*on_end)(int err, void *ud), void *ud) {
  gen_chan t = {.on_writable = on_writable, .on_end = on_end, .ud = ud};
  return chan_open(g, index, true, &t);
}

int roam_gen_request_send(roam_gen_request *g, size_t index, roam_gen_encode_fn fn,
                          const void *value) {
  gen_chan *ch = index < g->nchan ? g->chans[index] : NULL;
  if (ch == NULL || !ch->send)
    return ch == NULL && index < g->nchan ? ROAM_ERR_CLOSED : ROAM_ERR_STATE;
  gen_buf b;
  int rc = gen_encode(&b, &g->mem, fn, value);
  if (rc == 0)
    rc = roam_channel_send(ch->s, ch->conn, ch->id, roam_enc_data(&b.e), roam_enc_size(&b.e));
  gen_buf_free(&b);
  return rc;
}

int roam_gen_request_close(roam_gen_request *g, size_t index) {
  gen_chan *ch = index < g->nchan ? g->chans[index] : NULL;
  if (ch == NULL)
    return ROAM_ERR_STATE;
  int rc = ch->send ? roam_channel_close(ch->s, ch->conn, ch->id)
                    : roam_channel_reset(ch->s, ch->conn, ch->id);
  if (rc == 0) {
    g->chans[index] = NULL;
    roam__free(&g->mem, ch);
  }
  return rc;
}

int roam_gen_add_dispatcher(void *dispatcher, uint64_t method_id, roam_handler_fn fn, void *ud) {
  return roam_dispatcher_add(dispatcher, method_id, fn, ud);
}
