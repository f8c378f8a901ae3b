/*
 * Diagnostics: producing the dump text.
 *
 * Format (the compact format of roam-session's diagnostic.rs; see
 * docs/diagnostics.md): per state that has something to report, in
 * registration order,
 *
 *   [name] 2⬆ 1⬇ 3tx 1rx           summary, zero counts omitted
 *     ⬆#12 Testbed.echo 1.5s (k=v)  outgoing requests, newest first
 *     ⬇#3 ? 0.2s                    then incoming ones, newest first
 *   <callback text>                 ours: the reference never prints it
 *
 * Nothing at all (an empty string) when nothing is in flight anywhere.
 *
 * Every lock is taken with trylock and a few short retries: a dump never
 * waits on a lock that a stuck thread may hold, it says so instead.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag/diag_internal.h"

#define ARROW_UP "\xE2\xAC\x86"   /* ⬆ U+2B06 */
#define ARROW_DOWN "\xE2\xAC\x87" /* ⬇ U+2B07 */

#define MSG_REGISTRY_BUSY \
  "ERROR: Could not acquire diagnostic registry lock (held by another thread)\n"
#define MSG_STATE_BUSY "ERROR: Could not acquire diagnostic state lock (held by another thread)\n"
#define MSG_METHODS_BUSY                                                       \
  "ERROR: Could not acquire method name table lock (held by another thread); " \
  "method names shown as ?\n"

struct roam_diag_writer {
  char *buf;
  size_t len, cap;
  int failed;
};

static int w_reserve(roam_diag_writer *w, size_t extra) {
  if (w->failed) return ROAM_ERR_NOMEM;
  if (extra <= w->cap - w->len) return ROAM_OK;
  size_t ncap = w->cap ? w->cap : 256;
  while (ncap - w->len < extra) {
    if (ncap > SIZE_MAX / 2) {
      w->failed = 1;
      return ROAM_ERR_NOMEM;
    }
    ncap *= 2;
  }
  char *nb = realloc(w->buf, ncap);
  if (!nb) {
    w->failed = 1;
    return ROAM_ERR_NOMEM;
  }
  w->buf = nb;
  w->cap = ncap;
  return ROAM_OK;
}

int roam_diag_write(roam_diag_writer *w, const char *text, size_t len) {
  if (!w) return ROAM_ERR_INVALID_ARG;
  if (!len) return w->failed ? ROAM_ERR_NOMEM : ROAM_OK;
  if (!text) return ROAM_ERR_INVALID_ARG;
  /* +1 keeps room for the final NUL. */
  if (w_reserve(w, len + 1) != ROAM_OK) return ROAM_ERR_NOMEM;
  memcpy(w->buf + w->len, text, len);
  w->len += len;
  return ROAM_OK;
}

static void w_str(roam_diag_writer *w, const char *s) { roam_diag_write(w, s, strlen(s)); }

int roam_diag_printf(roam_diag_writer *w, const char *fmt, ...) {
  if (!w || !fmt) return ROAM_ERR_INVALID_ARG;
  if (w->failed) return ROAM_ERR_NOMEM;
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return ROAM_ERR_INVALID_ARG;
  if ((size_t)n < sizeof small) return roam_diag_write(w, small, (size_t)n);
  if (w_reserve(w, (size_t)n + 1) != ROAM_OK) return ROAM_ERR_NOMEM;
  va_start(ap, fmt);
  vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  w->len += (size_t)n;
  return ROAM_OK;
}

static void w_u64(roam_diag_writer *w, uint64_t v) {
  char tmp[24];
  size_t k = sizeof tmp;
  do {
    tmp[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  roam_diag_write(w, tmp + k, sizeof tmp - k);
}

/*
 * Elapsed seconds with one decimal, as Rust's `{:.1}` of
 * Duration::as_secs_f64(): the same double (whole seconds + nanos / 1e9),
 * rounded to nearest, ties to even, by printf's "%.1f". The radix character
 * of the current locale is replaced by '.'.
 */
static void w_secs(roam_diag_writer *w, uint64_t ns) {
  double d = (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, "%.1f", d);
  if (n <= 0 || (size_t)n >= sizeof tmp) {
    w_str(w, "?");
    return;
  }
  size_t digits = 0;
  while (tmp[digits] >= '0' && tmp[digits] <= '9') digits++;
  roam_diag_write(w, tmp, digits);
  roam_diag_write(w, ".", 1);
  roam_diag_write(w, tmp + n - 1, 1);
}

static void pause_briefly(void) {
  struct timespec ts = {0, ROAM_DIAG__TRY_PAUSE_NS};
  nanosleep(&ts, NULL); /* EINTR: just retry sooner */
}

static int try_mutex(pthread_mutex_t *m) {
  for (int i = 0;; i++) {
    if (pthread_mutex_trylock(m) == 0) return 1;
    if (i + 1 >= ROAM_DIAG__TRY_ATTEMPTS) return 0;
    pause_briefly();
  }
}

static int try_rdlock(pthread_rwlock_t *l) {
  for (int i = 0;; i++) {
    if (pthread_rwlock_tryrdlock(l) == 0) return 1;
    if (i + 1 >= ROAM_DIAG__TRY_ATTEMPTS) return 0;
    pause_briefly();
  }
}

/* One request as a dump saw it (a consistent copy of a live record). */
typedef struct snap_req {
  uint64_t request_id, method_id, start_ns, order;
  size_t args_off, args_len;
  int outgoing;
} snap_req;

typedef struct snap {
  snap_req *req;
  size_t n, cap;
  char *args;
  size_t args_len, args_cap;
  int failed;
} snap;

static int snap_grow(snap *sn, size_t args_extra) {
  if (sn->n == sn->cap) {
    size_t ncap = sn->cap ? sn->cap * 2 : 16;
    snap_req *nr = realloc(sn->req, ncap * sizeof *nr);
    if (!nr) return 0;
    sn->req = nr;
    sn->cap = ncap;
  }
  if (args_extra > sn->args_cap - sn->args_len) {
    size_t ncap = sn->args_cap ? sn->args_cap : 1024;
    while (ncap - sn->args_len < args_extra) ncap *= 2;
    char *na = realloc(sn->args, ncap);
    if (!na) return 0;
    sn->args = na;
    sn->args_cap = ncap;
  }
  return 1;
}

/*
 * Copy one record if it is live, as a seqlock reader: the fields count only
 * if `seq` was even before and unchanged after reading them. The writer (a
 * session's owner thread) never waits for us; if it is in the middle of a
 * write we retry, and a record that keeps changing is skipped (it is being
 * begun or ended right now). Called with st->lock held, which keeps the args
 * text still (it is written under the lock).
 */
static void snap_record(snap *sn, struct roam_diag_req *r) {
  for (int attempt = 0; attempt < 1000; attempt++) {
    uint32_t q1 = atomic_load_explicit(&r->seq, memory_order_acquire);
    if (q1 & 1) {
      if (attempt >= 100) sched_yield();
      continue;
    }
    uint32_t flags = atomic_load_explicit(&r->flags, memory_order_relaxed);
    if (!(flags & ROAM_DIAG__LIVE)) {
      atomic_thread_fence(memory_order_acquire);
      if (atomic_load_explicit(&r->seq, memory_order_relaxed) == q1) return;
      continue;
    }
    snap_req q;
    q.request_id = atomic_load_explicit(&r->request_id, memory_order_relaxed);
    q.method_id = atomic_load_explicit(&r->method_id, memory_order_relaxed);
    q.start_ns = atomic_load_explicit(&r->start_ns, memory_order_relaxed);
    q.order = atomic_load_explicit(&r->order, memory_order_relaxed);
    q.outgoing = (flags & ROAM_DIAG__OUT) != 0;
    size_t alen = atomic_load_explicit(&r->args_len, memory_order_relaxed);
    if (!r->args || alen > ROAM_DIAG__ARGS_CAP) alen = 0;
    if (!snap_grow(sn, alen)) {
      sn->failed = 1;
      return;
    }
    if (alen) memcpy(sn->args + sn->args_len, r->args, alen);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&r->seq, memory_order_relaxed) != q1) continue;
    q.args_off = sn->args_len;
    q.args_len = alen;
    sn->args_len += alen;
    sn->req[sn->n++] = q;
    return;
  }
}

/* Newest first: the begin counter, which follows start order. */
static int newest_first(const void *a, const void *b) {
  const snap_req *x = a, *y = b;
  return x->order < y->order ? 1 : x->order > y->order ? -1 : 0;
}

static void w_requests(roam_diag_writer *w, const snap *sn, int outgoing, uint64_t now,
                       int have_names) {
  for (size_t i = 0; i < sn->n; i++) {
    const snap_req *r = &sn->req[i];
    if (r->outgoing != outgoing) continue;
    w_str(w, "\n  ");
    w_str(w, outgoing ? ARROW_UP : ARROW_DOWN);
    w_str(w, "#");
    w_u64(w, r->request_id);
    w_str(w, " ");
    const char *name = have_names ? roam__diag_method_name_locked(r->method_id) : NULL;
    w_str(w, name ? name : "?");
    w_str(w, " ");
    w_secs(w, now > r->start_ns ? now - r->start_ns : 0);
    w_str(w, "s");
    if (r->args_len) {
      w_str(w, " (");
      roam_diag_write(w, sn->args + r->args_off, r->args_len);
      w_str(w, ")");
    }
  }
}

static void w_count(roam_diag_writer *w, size_t n, const char *unit, int *first) {
  if (!n) return;
  if (!*first) w_str(w, " ");
  *first = 0;
  w_u64(w, (uint64_t)n);
  w_str(w, unit);
}

/* Called with the registry read lock held (so st stays alive and its name
 * stable), and the method read lock if have_names. */
static void dump_state(roam_diag_writer *w, roam_diag_state *st, int have_names) {
  size_t mark = w->len;
  if (!try_mutex(&st->lock)) {
    /* The reference silently skips a state it cannot read; we say so. */
    w_str(w, "[");
    w_str(w, st->name);
    w_str(w, "] " MSG_STATE_BUSY);
    return;
  }
  /* The slab list only grows while we hold the registry read lock. */
  snap sn = {NULL, 0, 0, NULL, 0, 0, 0};
  for (roam_diag__slab *sl = atomic_load_explicit(&st->slabs, memory_order_acquire); sl;
       sl = sl->next) {
    for (size_t i = 0; i < sl->n && !sn.failed; i++) snap_record(&sn, &sl->slot[i]);
  }
  if (sn.failed) w->failed = 1;
  size_t n_out = 0;
  for (size_t i = 0; i < sn.n; i++) n_out += (size_t)sn.req[i].outgoing;
  size_t n_in = sn.n - n_out;
  if (sn.n > 1) qsort(sn.req, sn.n, sizeof *sn.req, newest_first);
  int has_lines = sn.n + st->n_tx + st->n_rx > 0;
  if (has_lines) {
    uint64_t now = roam__diag_now();
    int first = 1;
    w_str(w, "[");
    w_str(w, st->name);
    w_str(w, "] ");
    w_count(w, n_out, ARROW_UP, &first);
    w_count(w, n_in, ARROW_DOWN, &first);
    w_count(w, st->n_tx, "tx", &first);
    w_count(w, st->n_rx, "rx", &first);
    w_requests(w, &sn, 1, now, have_names);
    w_requests(w, &sn, 0, now, have_names);
    w_str(w, "\n");
  }
  free(sn.req);
  free(sn.args);
  /* The first n_cb nodes of the callback list are immutable from here on
   * (only appends happen, and the state cannot be freed while we hold the
   * registry read lock): walk them without the state lock, so a callback may
   * even record requests in this state. */
  roam_diag__cb *cb = st->cb_head;
  size_t n_cb = st->n_cb;
  pthread_mutex_unlock(&st->lock);
  if (!n_cb) return;

  size_t header_end = 0;
  if (!has_lines) {
    w_str(w, "[");
    w_str(w, st->name);
    w_str(w, "]\n");
    header_end = w->len;
  }
  for (size_t i = 0; i < n_cb; i++) {
    size_t before = w->len;
    cb->fn(w, cb->user_data);
    if (!w->failed && w->len > before && w->buf[w->len - 1] != '\n') w_str(w, "\n");
    /* Never read the last node's next: an append may be writing it. */
    if (i + 1 < n_cb) cb = cb->next;
  }
  /* A state with nothing in flight whose callbacks printed nothing: skip. */
  if (!has_lines && !w->failed && w->len == header_end) w->len = mark;
}

static int dump_into(roam_diag_writer *w) {
  if (!try_rdlock(&roam__diag_registry_lock)) {
    w_str(w, MSG_REGISTRY_BUSY);
    return w->failed ? ROAM_ERR_NOMEM : ROAM_OK;
  }
  int have_names = try_rdlock(&roam__diag_method_lock);
  if (!have_names) w_str(w, MSG_METHODS_BUSY);
  for (roam_diag_state *st = roam__diag_registry_head; st; st = st->reg_next) {
    dump_state(w, st, have_names);
  }
  if (have_names) pthread_rwlock_unlock(&roam__diag_method_lock);
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  return w->failed ? ROAM_ERR_NOMEM : ROAM_OK;
}

int roam_diag_dump(char **out, size_t *len) {
  if (!out) return ROAM_ERR_INVALID_ARG;
  *out = NULL;
  if (len) *len = 0;
  roam_diag_writer w = {NULL, 0, 0, 0};
  int rc = dump_into(&w);
  if (rc == ROAM_OK) rc = w_reserve(&w, 1);
  if (rc != ROAM_OK) {
    free(w.buf);
    return rc;
  }
  w.buf[w.len] = '\0';
  *out = w.buf;
  if (len) *len = w.len;
  return ROAM_OK;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = write(fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      return ROAM_ERR_IO;
    }
    p += k;
    n -= (size_t)k;
  }
  return ROAM_OK;
}

int roam_diag_dump_fd(int fd) {
  if (fd < 0) return ROAM_ERR_INVALID_ARG;
  roam_diag_writer w = {NULL, 0, 0, 0};
  int rc = dump_into(&w);
  if (rc == ROAM_ERR_NOMEM) {
    /* Write what we have, then say it is incomplete. */
    static const char oom[] = "\nERROR: out of memory during diagnostic dump (truncated)\n";
    if (w.len) write_all(fd, w.buf, w.len);
    write_all(fd, oom, sizeof oom - 1);
    free(w.buf);
    return ROAM_ERR_NOMEM;
  }
  if (w.len) rc = write_all(fd, w.buf, w.len);
  free(w.buf);
  return rc;
}
