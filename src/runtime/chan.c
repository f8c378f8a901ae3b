/* Blocking channels: pump the loop while waiting for credit or values. */
#include <string.h>

#include "rt_internal.h"

#ifndef RT_CHAN_FLUSH_BYTES
#define RT_CHAN_FLUSH_BYTES (192u * 1024)
#endif
#ifndef RT_CHAN_QUEUE_BYTES
#define RT_CHAN_QUEUE_BYTES (512u * 1024)
#endif

typedef struct rt_val {
  struct rt_val *next;
  size_t len;
  uint8_t data[];
} rt_val;

struct roam_chan {
  roam_loop *loop;
  roam_link *link; /* NULL once the channel ended (the link may be gone) */
  roam_session *s;
  uint64_t conn, id;
  int dir;
  bool ended;   /* no more callbacks will come; s must not be used */
  int end_err;
  bool writable;
  rt_val *head, *tail;
  size_t count;
  rt_val *handed;
  rt_xchan *x; /* a job's channel for another thread (job_chan.c) */
  const roam_mem *mem; /* x's */
};

roam_chan *rt_chan_wrap(const roam_mem *mem, rt_xchan *x, uint64_t id, int dir) {
  roam_chan *ch = roam__calloc(mem, sizeof *ch);
  if (!ch) return NULL;
  ch->x = x;
  ch->mem = mem;
  ch->id = id;
  ch->dir = dir;
  return ch;
}

static int ch_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  roam_chan *ch = ud;
  rt_val *n = roam__malloc(&ch->loop->mem, sizeof *n + v.len);
  if (!n) return ROAM_ERR_NOMEM;
  n->next = NULL;
  n->len = v.len;
  if (v.len) memcpy(n->data, v.ptr, v.len);
  if (ch->tail)
    ch->tail->next = n;
  else
    ch->head = n;
  ch->tail = n;
  ch->count++;
  return 0;
}

static void ch_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  roam_chan *ch = ud;
  ch->ended = true;
  ch->end_err = err;
  ch->s = NULL;
  ch->link = NULL;
}

static void ch_writable(roam_session *s, uint64_t conn, uint64_t id, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  ((roam_chan *)ud)->writable = true;
}

static const roam_channel_callbacks g_ch_cbs = {
    .on_data = ch_data,
    .on_end = ch_end,
    .on_writable = ch_writable,
};

int roam_chan_open(roam_link *link, uint64_t conn_id, roam_chan_dir dir, roam_chan **out) {
  if (!link || !out || (dir != ROAM_CHAN_SEND && dir != ROAM_CHAN_RECV))
    return ROAM_ERR_INVALID_ARG;
  roam_session *s = roam_link_session(link);
  if (!s || link->state == RT_LINK_DEAD) return ROAM_ERR_CLOSED;
  roam_chan *ch = roam__calloc(&link->loop->mem, sizeof *ch);
  if (!ch) return ROAM_ERR_NOMEM;
  ch->loop = link->loop;
  ch->link = link;
  ch->s = s;
  ch->conn = conn_id;
  ch->dir = dir;
  int d = dir == ROAM_CHAN_RECV ? (ROAM_CHAN_RECV | ROAM_CHAN_MANUAL_CREDIT) : ROAM_CHAN_SEND;
  int r = roam_channel_alloc(s, conn_id, d, &g_ch_cbs, ch, &ch->id);
  if (r != 0) {
    roam__free(&link->loop->mem, ch);
    return r;
  }
  *out = ch;
  return 0;
}

/* For the generated-code support (src/gen): a channel allocates through its
 * loop's hooks (a job's channel: its own). */
const roam_mem *roam__chan_mem(const roam_chan *ch) { return ch->mem ? ch->mem : &ch->loop->mem; }

uint64_t roam_chan_id(const roam_chan *ch) { return ch ? ch->id : 0; }
size_t roam_chan_buffered(const roam_chan *ch) {
  if (ch && ch->x) return rt_xchan_buffered(ch->x);
  return ch ? ch->count : 0;
}

/* How much of the link's output a blocking send lets wait in memory: the
 * low-water mark, but at most RT_CHAN_QUEUE_BYTES, so that a fast sender
 * does not build a buffer of megabytes that has left the cache by the
 * time the socket takes it (the socket buffer holds the rest). */
static size_t queue_limit(roam_chan *ch) {
  size_t lw = rt_link_low_water(ch->link);
  return lw < RT_CHAN_QUEUE_BYTES ? lw : RT_CHAN_QUEUE_BYTES;
}

static bool drained_cond(void *ud) {
  roam_chan *ch = ud;
  return ch->ended || !ch->link || rt_link_out(ch->link) <= queue_limit(ch);
}

static bool send_cond(void *ud) {
  roam_chan *ch = ud;
  return ch->writable || ch->ended;
}

int roam_chan_send(roam_chan *ch, const void *value, size_t len, uint64_t timeout_ms) {
  if (!ch || ch->dir != ROAM_CHAN_SEND || (len && !value)) return ROAM_ERR_INVALID_ARG;
  if (ch->x) return rt_xchan_send(ch->x, value, len, timeout_ms);
  uint64_t start = roam_now_ms();
  /* Backpressure: while the link's output is above the queue limit, pump
   * the loop before adding more. */
  if (ch->link && rt_link_out(ch->link) > queue_limit(ch) &&
      !atomic_load(&ch->loop->running)) {
    int w = roam_loop_run_until(ch->loop, drained_cond, ch,
                                timeout_ms == UINT64_MAX ? UINT64_MAX : timeout_ms);
    if (w != 0) return w;
  }
  for (;;) {
    if (ch->ended) return ROAM_ERR_CLOSED;
    int r = roam_channel_send(ch->s, ch->conn, ch->id, value, len);
    if (r == 0) {
      /* Large output leaves at once, while it is still in the cache,
       * rather than piling up to the queue limit first. */
      if (ch->link && rt_link_out(ch->link) >= RT_CHAN_FLUSH_BYTES) rt_link_flush_now(ch->link);
      return 0;
    }
    if (r != ROAM_ERR_WOULD_BLOCK) return r;
    if (atomic_load(&ch->loop->running)) return ROAM_ERR_STATE;
    uint64_t now = roam_now_ms();
    uint64_t left = UINT64_MAX;
    if (timeout_ms != UINT64_MAX) {
      if (now - start >= timeout_ms) return ROAM_ERR_TIMEOUT;
      left = timeout_ms - (now - start);
    }
    ch->writable = false;
    /* on_writable normally wakes us; poll now and then in case the wait was
     * for the call's Request to leave rather than for credit */
    int w = roam_loop_run_until(ch->loop, send_cond, ch, left < 20 ? left : 20);
    if (w != 0 && w != ROAM_ERR_TIMEOUT) return w;
  }
}

int roam_chan_close(roam_chan *ch) {
  if (!ch || ch->dir != ROAM_CHAN_SEND) return ROAM_ERR_INVALID_ARG;
  if (ch->x) return rt_xchan_close(ch->x);
  if (ch->ended) return ROAM_ERR_CLOSED;
  int r = roam_channel_close(ch->s, ch->conn, ch->id);
  ch->ended = true; /* no on_end follows an end we caused */
  ch->s = NULL;
  ch->link = NULL;
  return r;
}

static bool recv_cond(void *ud) {
  roam_chan *ch = ud;
  return ch->head != NULL || ch->ended;
}

int roam_chan_recv(roam_chan *ch, roam_bytes *value, uint64_t timeout_ms) {
  if (!ch || !value || ch->dir != ROAM_CHAN_RECV) return ROAM_ERR_INVALID_ARG;
  if (ch->x) return rt_xchan_recv(ch->x, value, timeout_ms);
  roam__free(&ch->loop->mem, ch->handed);
  ch->handed = NULL;
  value->ptr = NULL;
  value->len = 0;
  if (!ch->head && !ch->ended) {
    int r = roam_loop_run_until(ch->loop, recv_cond, ch, timeout_ms);
    if (r != 0 && !ch->head) return r;
  }
  if (ch->head) {
    rt_val *n = ch->head;
    ch->head = n->next;
    if (!ch->head) ch->tail = NULL;
    ch->count--;
    ch->handed = n;
    value->ptr = n->data;
    value->len = n->len;
    /* hand the credit back now that the value left the buffer */
    if (!ch->ended && n->len) roam_channel_consume(ch->s, ch->conn, ch->id, n->len);
    return 1;
  }
  return ch->end_err;
}

void roam_chan_free(roam_chan *ch) {
  if (!ch) return;
  if (ch->x) {
    rt_xchan_release(ch->x);
    roam__free(ch->mem, ch);
    return;
  }
  if (!ch->ended && ch->s) roam_channel_reset(ch->s, ch->conn, ch->id);
  roam__free(&ch->loop->mem, ch->handed);
  while (ch->head) {
    rt_val *n = ch->head;
    ch->head = n->next;
    roam__free(&ch->loop->mem, n);
  }
  roam__free(&ch->loop->mem, ch);
}
