/*
 * Channels of jobs, for threads other than the loop thread (roam_job_chan):
 * the session's channel lives on the loop thread; values cross through two
 * queues under a mutex, with a condition variable for the waiting thread.
 *   RECV: the loop appends what arrives (bounded by the channel's credit
 *         window: credit is granted back, through a posted task, only as
 *         the thread takes values).
 *   SEND: the thread appends (waiting while RT_XCHAN_QUEUE_BYTES are
 *         queued); a posted pump hands values to the session until it has
 *         no credit, and on_writable pumps again.
 * Two references: the application's (roam_chan_free) and the loop's (until
 * the session ended the channel, or the loop closed or reset it).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"

#define RT_XCHAN_QUEUE_BYTES (256u * 1024)

typedef struct rt_xval {
  struct rt_xval *next;
  size_t len;
  uint8_t data[];
} rt_xval;

struct rt_xchan {
  const roam_mem *mem;
  roam_loop *loop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs;
  roam_job *job;     /* until the job is answered (its owner's thread) */
  size_t index;
  roam_session *s;   /* NULL once the channel ended */
  uint64_t conn, id;
  int dir;
  /* shared, under mu */
  bool bind_done;
  int bind_err;
  bool ended;
  int end_err;
  rt_xval *head, *tail; /* RECV: arrived; SEND: to hand to the session */
  size_t count, bytes;
  bool pump_posted;
  bool close_req, close_done;
  bool reset_req;
  size_t consumed; /* RECV: credit to give back */
  bool consume_posted;
  rt_xval *handed; /* RECV: the value the thread is looking at */
  rt_xchan *job_next; /* job->xchans */
};

static void x_unref_locked(rt_xchan *x) {
  /* called with mu held; frees (after unlocking) at zero */
  if (--x->refs > 0) {
    pthread_mutex_unlock(&x->mu);
    return;
  }
  pthread_mutex_unlock(&x->mu);
  while (x->head) {
    rt_xval *v = x->head;
    x->head = v->next;
    roam__free(x->mem, v);
  }
  roam__free(x->mem, x->handed);
  pthread_mutex_destroy(&x->mu);
  pthread_cond_destroy(&x->cv);
  roam__free(x->mem, x);
}

/* Loop thread: the session is done with the channel. */
static void x_ended_loop(rt_xchan *x, int err) {
  pthread_mutex_lock(&x->mu);
  x->s = NULL;
  if (!x->ended) {
    x->ended = true;
    x->end_err = err;
  }
  pthread_cond_broadcast(&x->cv);
  x_unref_locked(x);
}

/* ---- session callbacks (loop thread) --------------------------------------- */

static int x_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)id;
  rt_xchan *x = ud;
  rt_xval *n = roam__malloc(x->mem, sizeof *n + v.len);
  if (!n) return ROAM_ERR_NOMEM;
  n->next = NULL;
  n->len = v.len;
  if (v.len) memcpy(n->data, v.ptr, v.len);
  pthread_mutex_lock(&x->mu);
  if (x->tail)
    x->tail->next = n;
  else
    x->head = n;
  x->tail = n;
  x->count++;
  pthread_cond_broadcast(&x->cv);
  pthread_mutex_unlock(&x->mu);
  return 0;
}

static void x_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s, (void)conn, (void)id;
  x_ended_loop(ud, err);
}

static void x_pump(rt_xchan *x);

static void x_writable(roam_session *s, uint64_t conn, uint64_t id, void *ud) {
  (void)s, (void)conn, (void)id;
  x_pump(ud);
}

static const roam_channel_callbacks g_x_cbs = {
    .on_data = x_data,
    .on_end = x_end,
    .on_writable = x_writable,
};

/* ---- loop tasks ------------------------------------------------------------- */

/* Hand queued values to the session while it has credit; then the Close or
 * Reset the thread asked for. */
static void x_pump(rt_xchan *x) {
  pthread_mutex_lock(&x->mu);
  x->pump_posted = false;
  while (x->s && x->head && !x->reset_req) {
    rt_xval *v = x->head;
    roam_session *s = x->s;
    pthread_mutex_unlock(&x->mu);
    int r = roam_channel_send(s, x->conn, x->id, v->data, v->len);
    pthread_mutex_lock(&x->mu);
    if (r == ROAM_ERR_WOULD_BLOCK) break; /* on_writable pumps again */
    x->head = v->next;
    if (!x->head) x->tail = NULL;
    x->count--;
    x->bytes -= v->len;
    roam__free(x->mem, v);
    if (r != 0) {
      if (!x->ended) {
        x->ended = true;
        x->end_err = ROAM_ERR_CLOSED;
      }
    }
    pthread_cond_broadcast(&x->cv);
  }
  roam_session *s = x->s;
  bool reset = x->reset_req && s;
  bool close = !reset && x->close_req && !x->close_done && !x->head && s;
  if (reset || close) x->s = NULL; /* no on_end follows an end we cause */
  pthread_mutex_unlock(&x->mu);
  if (reset) roam_channel_reset(s, x->conn, x->id);
  if (close) roam_channel_close(s, x->conn, x->id);
  if (reset || close) {
    pthread_mutex_lock(&x->mu);
    x->close_done = true;
    if (!x->ended) {
      x->ended = true;
      x->end_err = reset ? ROAM_ERR_CANCELLED : 0;
    }
    pthread_cond_broadcast(&x->cv);
    x_unref_locked(x); /* the loop's reference */
    return;
  }
  if (!s) { /* ended meanwhile: wake a thread waiting for the drain */
    pthread_mutex_lock(&x->mu);
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
  }
}

static void x_pump_task(roam_loop *loop, void *ud) {
  rt_xchan *x = ud;
  if (loop) x_pump(x);
  pthread_mutex_lock(&x->mu);
  if (!loop) { /* the loop is being freed: its reference goes too */
    x->pump_posted = false;
    if (!x->ended) {
      x->ended = true;
      x->end_err = ROAM_ERR_CLOSED;
    }
  }
  x_unref_locked(x); /* the task's reference */
}

static void x_consume_task(roam_loop *loop, void *ud) {
  rt_xchan *x = ud;
  pthread_mutex_lock(&x->mu);
  size_t n = x->consumed;
  x->consumed = 0;
  x->consume_posted = false;
  roam_session *s = loop ? x->s : NULL;
  pthread_mutex_unlock(&x->mu);
  if (s && n) roam_channel_consume(s, x->conn, x->id, n);
  pthread_mutex_lock(&x->mu);
  x_unref_locked(x);
}

/* Post a task holding a reference (mu held). */
static int x_post_locked(rt_xchan *x, roam_task_fn fn) {
  x->refs++;
  if (roam_loop_post(x->loop, fn, x) != 0) {
    x->refs--;
    return ROAM_ERR_NOMEM;
  }
  return 0;
}

static void x_bind_task(roam_loop *loop, void *ud) {
  rt_xchan *x = ud;
  roam_job *j = x->job;
  int r = ROAM_ERR_CLOSED;
  if (loop && j->req) {
    int d = x->dir == ROAM_CHAN_RECV ? (ROAM_CHAN_RECV | ROAM_CHAN_MANUAL_CREDIT) : x->dir;
    if (x->index >= roam_request_channel_count(j->req)) {
      r = ROAM_ERR_INVALID_ARG;
    } else {
      x->s = roam_request_session(j->req);
      x->conn = roam_request_conn_id(j->req);
      x->id = roam_request_channel_id(j->req, x->index);
      r = roam_request_bind_channel(j->req, x->index, d, &g_x_cbs, x);
      if (r != 0) x->s = NULL;
    }
  }
  pthread_mutex_lock(&x->mu);
  x->bind_done = true;
  x->bind_err = r;
  pthread_cond_broadcast(&x->cv);
  if (r != 0)
    x_unref_locked(x); /* the loop holds no reference */
  else
    pthread_mutex_unlock(&x->mu);
}

/* ---- the thread's side ------------------------------------------------------ */

/* Wait on cv until deadline (UINT64_MAX = none); mu held. false on timeout. */
static bool x_wait(rt_xchan *x, uint64_t deadline) {
  if (deadline == UINT64_MAX) {
    pthread_cond_wait(&x->cv, &x->mu);
    return true;
  }
  uint64_t now = roam_now_ms();
  if (now >= deadline) return false;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t left = deadline - now;
  ts.tv_sec += (time_t)(left / 1000);
  ts.tv_nsec += (long)(left % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&x->cv, &x->mu, &ts);
  return true;
}

static uint64_t deadline_of(uint64_t timeout_ms) {
  if (timeout_ms == UINT64_MAX) return UINT64_MAX;
  uint64_t now = roam_now_ms();
  return timeout_ms > UINT64_MAX - now ? UINT64_MAX : now + timeout_ms;
}

int roam_job_chan(roam_job *job, size_t index, roam_chan_dir dir, roam_chan **out) {
  if (!job || !out || (dir != ROAM_CHAN_SEND && dir != ROAM_CHAN_RECV))
    return ROAM_ERR_INVALID_ARG;
  if (rt_loop_on_thread(job->loop)) return ROAM_ERR_STATE;
  rt_xchan *x = roam__calloc(job->mem, sizeof *x);
  if (!x) return ROAM_ERR_NOMEM;
  x->mem = job->mem;
  x->loop = job->loop;
  x->job = job;
  x->index = index;
  x->dir = dir;
  x->refs = 2; /* the application's and the loop's */
  pthread_mutex_init(&x->mu, NULL);
  pthread_cond_init(&x->cv, NULL);
  if (roam_loop_post(job->loop, x_bind_task, x) != 0) {
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    roam__free(job->mem, x);
    return ROAM_ERR_NOMEM;
  }
  pthread_mutex_lock(&x->mu);
  while (!x->bind_done) pthread_cond_wait(&x->cv, &x->mu);
  int r = x->bind_err;
  pthread_mutex_unlock(&x->mu);
  roam_chan *ch = r == 0 ? rt_chan_wrap(job->mem, x, x->id, dir) : NULL;
  if (r == 0 && !ch) r = ROAM_ERR_NOMEM;
  if (r != 0) {
    if (r == ROAM_ERR_NOMEM) { /* bound: let the loop reset it */
      pthread_mutex_lock(&x->mu);
      x->reset_req = true;
      if (!x->pump_posted && x_post_locked(x, x_pump_task) == 0) x->pump_posted = true;
      pthread_mutex_unlock(&x->mu);
    }
    x->job = NULL;
    pthread_mutex_lock(&x->mu);
    x_unref_locked(x);
    return r;
  }
  x->job_next = job->xchans;
  job->xchans = x;
  *out = ch;
  return 0;
}

int rt_xchan_send(rt_xchan *x, const void *value, size_t len, uint64_t timeout_ms) {
  if (x->dir != ROAM_CHAN_SEND || (len && !value)) return ROAM_ERR_INVALID_ARG;
  rt_xval *n = roam__malloc(x->mem, sizeof *n + len);
  if (!n) return ROAM_ERR_NOMEM;
  n->next = NULL;
  n->len = len;
  if (len) memcpy(n->data, value, len);
  uint64_t deadline = deadline_of(timeout_ms);
  pthread_mutex_lock(&x->mu);
  int r = 0;
  for (;;) {
    if (x->ended || x->close_req) {
      r = ROAM_ERR_CLOSED;
      break;
    }
    if (x->bytes < RT_XCHAN_QUEUE_BYTES) break;
    if (!x_wait(x, deadline)) {
      r = ROAM_ERR_TIMEOUT;
      break;
    }
  }
  if (r == 0) {
    if (x->tail)
      x->tail->next = n;
    else
      x->head = n;
    x->tail = n;
    x->count++;
    x->bytes += len;
    if (!x->pump_posted && x_post_locked(x, x_pump_task) == 0) x->pump_posted = true;
  }
  pthread_mutex_unlock(&x->mu);
  if (r != 0) roam__free(x->mem, n);
  return r;
}

int rt_xchan_close(rt_xchan *x) {
  if (x->dir != ROAM_CHAN_SEND) return ROAM_ERR_INVALID_ARG;
  pthread_mutex_lock(&x->mu);
  if (x->ended || x->close_req) {
    pthread_mutex_unlock(&x->mu);
    return ROAM_ERR_CLOSED;
  }
  x->close_req = true;
  if (!x->pump_posted && x_post_locked(x, x_pump_task) == 0) x->pump_posted = true;
  while (!x->close_done && !x->ended) pthread_cond_wait(&x->cv, &x->mu);
  int r = x->close_done && x->end_err == 0 ? 0 : ROAM_ERR_CLOSED;
  pthread_mutex_unlock(&x->mu);
  return r;
}

int rt_xchan_recv(rt_xchan *x, roam_bytes *value, uint64_t timeout_ms) {
  if (x->dir != ROAM_CHAN_RECV || !value) return ROAM_ERR_INVALID_ARG;
  value->ptr = NULL;
  value->len = 0;
  uint64_t deadline = deadline_of(timeout_ms);
  pthread_mutex_lock(&x->mu);
  rt_xval *old = x->handed;
  x->handed = NULL;
  int r;
  for (;;) {
    if (x->head) {
      rt_xval *n = x->head;
      x->head = n->next;
      if (!x->head) x->tail = NULL;
      x->count--;
      x->handed = n;
      value->ptr = n->data;
      value->len = n->len;
      /* the credit of the value goes back now that it left the buffer */
      x->consumed += n->len;
      if (!x->ended && !x->consume_posted && x_post_locked(x, x_consume_task) == 0)
        x->consume_posted = true;
      r = 1;
      break;
    }
    if (x->ended) {
      r = x->end_err;
      break;
    }
    if (!x_wait(x, deadline)) {
      r = ROAM_ERR_TIMEOUT;
      break;
    }
  }
  pthread_mutex_unlock(&x->mu);
  roam__free(x->mem, old);
  return r;
}

size_t rt_xchan_buffered(rt_xchan *x) {
  pthread_mutex_lock(&x->mu);
  size_t n = x->count;
  pthread_mutex_unlock(&x->mu);
  return n;
}

void rt_xchan_release(rt_xchan *x) {
  if (x->job) { /* off the job's list */
    rt_xchan **pp = &x->job->xchans;
    while (*pp && *pp != x) pp = &(*pp)->job_next;
    if (*pp) *pp = x->job_next;
    x->job = NULL;
  }
  pthread_mutex_lock(&x->mu);
  if (!x->ended && !x->close_done) { /* still open: Reset */
    x->reset_req = true;
    if (!x->pump_posted && x_post_locked(x, x_pump_task) == 0) x->pump_posted = true;
  }
  x_unref_locked(x);
}

void rt_xchans_drain(roam_job *job) {
  for (rt_xchan *x = job->xchans; x; x = x->job_next) {
    if (x->dir != ROAM_CHAN_SEND) continue;
    pthread_mutex_lock(&x->mu);
    while (x->head && !x->ended && x->s) pthread_cond_wait(&x->cv, &x->mu);
    pthread_mutex_unlock(&x->mu);
  }
}

void rt_xchans_detach(roam_job *job) {
  while (job->xchans) {
    rt_xchan *x = job->xchans;
    job->xchans = x->job_next;
    x->job_next = NULL;
    x->job = NULL;
  }
}
