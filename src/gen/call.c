/* Client side of generated code: blocking, asynchronous and channel calls
 * whose arguments are written by a generated encoder and whose reply value
 * lands in the caller's arena. */
#include <stdint.h>
#include <string.h>

#include "common/mem.h"
#include "gen_internal.h"

/* The client's hooks (its loop's): every allocation goes through them. */
static const roam_mem *cmem(const roam_client *c) { return roam_loop_mem(roam_client_loop(c)); }

const roam_mem *roam_gen_client_mem(const roam_client *c) { return c ? cmem(c) : NULL; }

/* Copy a reply value into the arena (views into it stay valid as long as
 * the arena). */
static int keep_value(const roam_reply *rep, roam_arena *a, roam_bytes *value) {
  value->ptr = NULL;
  value->len = 0;
  if (rep->status != 0 && rep->status != ROAM_ERR_REMOTE_USER)
    return rep->status;
  if (rep->value_len && a != NULL) {
    uint8_t *copy = roam_arena_copy(a, rep->value, rep->value_len);
    if (copy == NULL)
      return ROAM_ERR_NOMEM;
    value->ptr = copy;
    value->len = rep->value_len;
  }
  return rep->status;
}

int roam_gen_call(roam_client *c, uint64_t method_id, roam_gen_encode_fn fn, const void *args,
                  const roam_call_opts *opts, roam_arena *a, roam_bytes *value) {
  if (c == NULL || value == NULL)
    return ROAM_ERR_INVALID_ARG;
  gen_buf b;
  int rc = gen_encode(&b, cmem(c), fn, args);
  if (rc != 0) {
    gen_buf_free(&b);
    return rc;
  }
  roam_reply rep;
  roam_client_call(c, method_id, roam_enc_data(&b.e), roam_enc_size(&b.e), opts, &rep);
  gen_buf_free(&b);
  rc = keep_value(&rep, a, value);
  roam_reply_free(&rep);
  return rc;
}

typedef struct async_ctx {
  roam_mem mem;
  roam_gen_done_fn done;
  void (*typed)(void);
  void *ud;
} async_ctx;

static void async_done(roam_client *c, const roam_call_result *res, void *ud) {
  async_ctx ctx = *(async_ctx *)ud;
  roam__free(&ctx.mem, ud);
  roam_bytes v = {NULL, 0};
  if (res->status == 0 || res->status == ROAM_ERR_REMOTE_USER)
    v = res->value;
  ctx.done(c, res->status, v, ctx.typed, ctx.ud);
}

int roam_gen_call_async_chans(roam_client *c, uint64_t method_id, roam_gen_encode_fn fn,
                              const void *args, const roam_call_opts *opts,
                              roam_chan *const *chans, size_t n, roam_gen_done_fn done,
                              void (*typed)(void), void *ud) {
  if (c == NULL || done == NULL || (n && chans == NULL))
    return ROAM_ERR_INVALID_ARG;
  uint64_t small[8], *ids = small;
  if (n > 8)
    ids = n <= SIZE_MAX / sizeof *ids ? roam__malloc(cmem(c), n * sizeof *ids) : NULL;
  if (ids == NULL)
    return ROAM_ERR_NOMEM;
  roam_call_opts o;
  if (opts)
    o = *opts;
  else
    memset(&o, 0, sizeof o);
  if (n) {
    for (size_t i = 0; i < n; i++)
      ids[i] = roam_chan_id(chans[i]);
    o.channels = ids;
    o.channel_count = n;
  }
  async_ctx *ctx = roam__malloc(cmem(c), sizeof *ctx);
  int rc = ROAM_ERR_NOMEM;
  if (ctx != NULL) {
    ctx->mem = *cmem(c);
    ctx->done = done;
    ctx->typed = typed;
    ctx->ud = ud;
    gen_buf b;
    rc = gen_encode(&b, cmem(c), fn, args);
    if (rc == 0)
      rc = roam_client_call_async(c, method_id, roam_enc_data(&b.e), roam_enc_size(&b.e), &o,
                                  async_done, ctx);
    gen_buf_free(&b);
    if (rc != 0)
      roam__free(cmem(c), ctx);
  }
  if (ids != small)
    roam__free(cmem(c), ids);
  return rc;
}

int roam_gen_call_async(roam_client *c, uint64_t method_id, roam_gen_encode_fn fn,
                        const void *args, const roam_call_opts *opts, roam_gen_done_fn done,
                        void (*typed)(void), void *ud) {
  return roam_gen_call_async_chans(c, method_id, fn, args, opts, NULL, 0, done, typed, ud);
}

int roam_gen_open_channels(roam_client *c, const roam_call_opts *opts, const roam_chan_dir *dirs,
                           size_t n, roam_chan **chans) {
  if (c == NULL || (n && (dirs == NULL || chans == NULL)))
    return ROAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < n; i++)
    chans[i] = NULL;
  uint64_t wait = opts && opts->timeout_ms ? opts->timeout_ms : UINT64_MAX;
  int rc = roam_client_is_ready(c) ? 0 : roam_client_wait_ready(c, wait);
  roam_link *link = rc == 0 ? roam_client_link(c) : NULL;
  if (rc == 0 && link == NULL)
    rc = ROAM_ERR_CLOSED;
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = roam_chan_open(link, opts ? opts->conn_id : 0, dirs[i], &chans[i]);
  if (rc != 0)
    for (size_t i = 0; i < n; i++) {
      roam_chan_free(chans[i]);
      chans[i] = NULL;
    }
  return rc;
}

int roam_gen_call_start(roam_client *c, uint64_t method_id, roam_gen_encode_fn fn,
                        const void *args, const roam_call_opts *opts, roam_chan *const *chans,
                        size_t n, roam_pending **out) {
  if (c == NULL || out == NULL || (n && chans == NULL))
    return ROAM_ERR_INVALID_ARG;
  *out = NULL;
  uint64_t small[8], *ids = small;
  if (n > 8)
    ids = n <= SIZE_MAX / sizeof *ids ? roam__malloc(cmem(c), n * sizeof *ids) : NULL;
  if (ids == NULL)
    return ROAM_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    ids[i] = roam_chan_id(chans[i]);
  roam_call_opts o;
  if (opts)
    o = *opts;
  else
    memset(&o, 0, sizeof o);
  o.channels = ids;
  o.channel_count = n;
  gen_buf b;
  int rc = gen_encode(&b, cmem(c), fn, args);
  if (rc == 0)
    rc = roam_client_call_start(c, method_id, roam_enc_data(&b.e), roam_enc_size(&b.e), &o, out);
  gen_buf_free(&b);
  if (ids != small)
    roam__free(cmem(c), ids);
  return rc;
}

int roam_gen_call_finish(roam_pending *p, uint64_t timeout_ms, roam_arena *a, roam_bytes *value) {
  if (p == NULL || value == NULL)
    return ROAM_ERR_INVALID_ARG;
  roam_reply rep;
  int rc = roam_pending_wait(p, timeout_ms, &rep);
  if (!roam_pending_done(p) && rc == ROAM_ERR_TIMEOUT) {
    value->ptr = NULL;
    value->len = 0;
    return rc;
  }
  rc = keep_value(&rep, a, value);
  roam_reply_free(&rep);
  roam_pending_free(p);
  return rc;
}

int roam_gen_chan_send(roam_chan *ch, roam_gen_encode_fn fn, const void *value,
                       uint64_t timeout_ms) {
  if (ch == NULL)
    return ROAM_ERR_INVALID_ARG;
  gen_buf b;
  int rc = gen_encode(&b, roam__chan_mem(ch), fn, value);
  if (rc == 0)
    rc = roam_chan_send(ch, roam_enc_data(&b.e), roam_enc_size(&b.e), timeout_ms);
  gen_buf_free(&b);
  return rc;
}

int roam_gen_add_server(void *server, uint64_t method_id, roam_handler_fn fn, void *ud) {
  return roam_server_handle(server, method_id, fn, ud);
}
