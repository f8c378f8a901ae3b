/*
 * Diagnostics: the registry of states, the per-state records (hot path), the
 * method-name table, the environment switches and the clock.
 * See diag_internal.h for the locking design.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/mem.h"
#include "diag/diag_internal.h"

/* ---- environment, switches, clock -------------------------------------- */

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static int env_debug;      /* ROAM_DEBUG set */
static int env_debug_args; /* ROAM_DEBUG_ARGS set */
static atomic_int args_override = -1;

static void read_env(void) {
  env_debug = getenv("ROAM_DEBUG") != NULL;
  env_debug_args = getenv("ROAM_DEBUG_ARGS") != NULL;
}

int roam_diag_debug_enabled(void) {
  pthread_once(&env_once, read_env);
  return env_debug;
}

int roam_diag_record_args_enabled(void) {
  int o = atomic_load_explicit(&args_override, memory_order_relaxed);
  if (o >= 0) return o;
  pthread_once(&env_once, read_env);
  return env_debug || env_debug_args;
}

void roam_diag_set_record_args(int enabled) {
  atomic_store_explicit(&args_override, enabled < 0 ? -1 : (enabled != 0),
                        memory_order_relaxed);
}

typedef uint64_t (*diag_clock_fn)(void *);
static _Atomic(diag_clock_fn) clock_fn; /* zero-initialised: the default clock */
static _Atomic(void *) clock_ud;

void roam_diag_set_clock(uint64_t (*now_ns)(void *user_data), void *user_data) {
  atomic_store_explicit(&clock_ud, user_data, memory_order_relaxed);
  atomic_store_explicit(&clock_fn, now_ns, memory_order_release);
}

uint64_t roam__diag_now(void) {
  diag_clock_fn fn = atomic_load_explicit(&clock_fn, memory_order_acquire);
  if (fn) return fn(atomic_load_explicit(&clock_ud, memory_order_relaxed));
  /* The coarse clock is read from memory by the vDSO (a few ns, never a
   * system call) and ticks every few ms: ample for elapsed times printed
   * with one decimal, and cheap enough for every call's begin and end. */
  struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
  clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- method names -------------------------------------------------------- */

/* Open addressing, linear probing; name == NULL marks an empty slot. Names are
 * allocated with libc (the table is process-wide, not tied to a roam_mem). */
typedef struct {
  uint64_t id;
  char *name;
} method_slot;

pthread_rwlock_t roam__diag_method_lock = PTHREAD_RWLOCK_INITIALIZER;
static method_slot *methods;
static size_t methods_cap; /* power of two, or 0 */
static size_t methods_len;

static size_t method_hash(uint64_t id) {
  id ^= id >> 33;
  id *= 0xff51afd7ed558ccdull;
  id ^= id >> 33;
  return (size_t)id;
}

static method_slot *method_find(method_slot *tab, size_t cap, uint64_t id) {
  size_t mask = cap - 1;
  for (size_t i = method_hash(id) & mask;; i = (i + 1) & mask) {
    if (!tab[i].name || tab[i].id == id) return &tab[i];
  }
}

const char *roam__diag_method_name_locked(uint64_t method_id) {
  if (!methods_cap) return NULL;
  return method_find(methods, methods_cap, method_id)->name;
}

static char *dup_cstr(const roam_mem *m, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = m ? roam__malloc(m, n) : malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

int roam_diag_set_method_name(uint64_t method_id, const char *name) {
  if (!name) return ROAM_ERR_INVALID_ARG;
  char *copy = dup_cstr(NULL, name);
  if (!copy) return ROAM_ERR_NOMEM;
  char *old = NULL;
  int rc = ROAM_OK;
  pthread_rwlock_wrlock(&roam__diag_method_lock);
  if ((methods_len + 1) * 2 > methods_cap) {
    size_t ncap = methods_cap ? methods_cap * 2 : 64;
    method_slot *ntab = calloc(ncap, sizeof *ntab);
    if (!ntab) {
      rc = ROAM_ERR_NOMEM;
      goto out;
    }
    for (size_t i = 0; i < methods_cap; i++) {
      if (methods[i].name) *method_find(ntab, ncap, methods[i].id) = methods[i];
    }
    free(methods);
    methods = ntab;
    methods_cap = ncap;
  }
  method_slot *s = method_find(methods, methods_cap, method_id);
  if (s->name) {
    old = s->name;
  } else {
    methods_len++;
    s->id = method_id;
  }
  s->name = copy;
  copy = NULL;
out:
  pthread_rwlock_unlock(&roam__diag_method_lock);
  free(old);
  free(copy);
  return rc;
}

static int copy_out(const char *s, char *buf, size_t cap) {
  size_t n = strlen(s);
  if (buf && cap) {
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(buf, s, k);
    buf[k] = '\0';
  }
  return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

int roam_diag_get_method_name(uint64_t method_id, char *buf, size_t cap) {
  int rc = ROAM_ERR_NOT_FOUND;
  pthread_rwlock_rdlock(&roam__diag_method_lock);
  const char *n = roam__diag_method_name_locked(method_id);
  if (n) rc = copy_out(n, buf, cap);
  pthread_rwlock_unlock(&roam__diag_method_lock);
  return rc;
}

void roam_diag_clear_method_names(void) {
  pthread_rwlock_wrlock(&roam__diag_method_lock);
  method_slot *tab = methods;
  size_t cap = methods_cap;
  methods = NULL;
  methods_cap = methods_len = 0;
  pthread_rwlock_unlock(&roam__diag_method_lock);
  for (size_t i = 0; i < cap; i++) free(tab[i].name);
  free(tab);
}

/* ---- registry and states --------------------------------------------------- */

pthread_rwlock_t roam__diag_registry_lock = PTHREAD_RWLOCK_INITIALIZER;
struct roam_diag_state *roam__diag_registry_head;
static struct roam_diag_state *registry_tail;
static atomic_uint_fast64_t default_name_counter;

roam_diag_state *roam_diag_state_new(const char *name, const roam_mem *mem) {
  roam_mem m;
  roam__mem_set(&m, mem);
  roam_diag_state *st = roam__calloc(&m, sizeof *st);
  if (!st) return NULL;
  st->mem = m;
  char defname[32];
  if (!name) {
    unsigned long long n = (unsigned long long)atomic_fetch_add(&default_name_counter, 1) + 1;
    /* "link-" + at most 20 digits fits. */
    char digits[24];
    size_t k = 0;
    do {
      digits[k++] = (char)('0' + n % 10);
      n /= 10;
    } while (n);
    memcpy(defname, "link-", 5);
    for (size_t i = 0; i < k; i++) defname[5 + i] = digits[k - 1 - i];
    defname[5 + k] = '\0';
    name = defname;
  }
  st->name = dup_cstr(&st->mem, name);
  if (!st->name || pthread_mutex_init(&st->lock, NULL) != 0) {
    roam__free(&st->mem, st->name);
    roam__free(&st->mem, st);
    return NULL;
  }
  pthread_rwlock_wrlock(&roam__diag_registry_lock);
  st->reg_prev = registry_tail;
  if (registry_tail)
    registry_tail->reg_next = st;
  else
    roam__diag_registry_head = st;
  registry_tail = st;
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  return st;
}

static void free_slab(roam_diag_state *st, roam_diag__slab *sl) {
  for (size_t i = 0; i < sl->n; i++) roam__free(&st->mem, sl->slot[i].args);
  roam__free(&st->mem, sl);
}

static void free_chan_list(roam_diag_state *st, struct roam_diag_chan *c) {
  while (c) {
    struct roam_diag_chan *next = c->next;
    roam__free(&st->mem, c);
    c = next;
  }
}

void roam_diag_state_free(roam_diag_state *st) {
  if (!st) return;
  /* The write lock waits for every dump in progress (they hold the read lock
   * for their whole run) and keeps new ones out until the state is unlinked;
   * afterwards no dump can reach it. */
  pthread_rwlock_wrlock(&roam__diag_registry_lock);
  if (st->reg_prev)
    st->reg_prev->reg_next = st->reg_next;
  else
    roam__diag_registry_head = st->reg_next;
  if (st->reg_next)
    st->reg_next->reg_prev = st->reg_prev;
  else
    registry_tail = st->reg_prev;
  pthread_rwlock_unlock(&roam__diag_registry_lock);

  for (roam_diag__slab *sl = atomic_load_explicit(&st->slabs, memory_order_relaxed); sl;) {
    roam_diag__slab *next = sl->next;
    free_slab(st, sl);
    sl = next;
  }
  free_chan_list(st, st->chan_head);
  free_chan_list(st, st->chan_free);
  for (roam_diag__cb *cb = st->cb_head; cb;) {
    roam_diag__cb *next = cb->next;
    roam__free(&st->mem, cb);
    cb = next;
  }
  pthread_mutex_destroy(&st->lock);
  roam__free(&st->mem, st->name);
  roam_mem m = st->mem;
  roam__free(&m, st);
}

void roam_diag_state_set_name(roam_diag_state *st, const char *name) {
  if (!st || !name) return;
  char *copy = dup_cstr(&st->mem, name);
  if (!copy) return;
  pthread_rwlock_wrlock(&roam__diag_registry_lock);
  char *old = st->name;
  st->name = copy;
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  roam__free(&st->mem, old);
}

int roam_diag_state_get_name(roam_diag_state *st, char *buf, size_t cap) {
  if (!st) return ROAM_ERR_INVALID_ARG;
  pthread_rwlock_rdlock(&roam__diag_registry_lock);
  int n = copy_out(st->name, buf, cap);
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  return n;
}

int roam_diag_state_add_callback(roam_diag_state *st, roam_diag_callback_fn fn, void *user_data) {
  if (!st || !fn) return ROAM_ERR_INVALID_ARG;
  roam_diag__cb *cb = roam__malloc(&st->mem, sizeof *cb);
  if (!cb) return ROAM_ERR_NOMEM;
  cb->next = NULL;
  cb->fn = fn;
  cb->user_data = user_data;
  pthread_mutex_lock(&st->lock);
  if (st->cb_tail)
    st->cb_tail->next = cb;
  else
    st->cb_head = cb;
  st->cb_tail = cb;
  st->n_cb++;
  pthread_mutex_unlock(&st->lock);
  return ROAM_OK;
}

/* ---- requests (hot path) ------------------------------------------------ */

void roam__diag_state_single_writer(roam_diag_state *st) {
  if (st) st->single_writer = 1;
}

/* Seqlock write section of one record (see struct roam_diag_req): the odd
 * value is visible before any field changes, the even one after all. */
static inline uint32_t rec_open(struct roam_diag_req *r) {
  uint32_t q = atomic_load_explicit(&r->seq, memory_order_relaxed);
  atomic_store_explicit(&r->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  return q;
}
static inline void rec_close(struct roam_diag_req *r, uint32_t q) {
  atomic_store_explicit(&r->seq, q + 2, memory_order_release);
}

/* A new slab of free slots (writer side): 8 slots, then as many as the state
 * has, up to 64. */
static int add_slab(roam_diag_state *st) {
  size_t n = st->n_req_slots < 8 ? 8 : st->n_req_slots > 64 ? 64 : st->n_req_slots;
  roam_diag__slab *sl = roam__malloc(&st->mem, sizeof *sl + n * sizeof sl->slot[0]);
  if (!sl) return 0;
  sl->n = n;
  sl->live = 0;
  for (size_t i = 0; i < n; i++) {
    struct roam_diag_req *r = &sl->slot[i];
    atomic_init(&r->seq, 0);
    atomic_init(&r->flags, 0);
    atomic_init(&r->conn_id, 0);
    atomic_init(&r->request_id, 0);
    atomic_init(&r->method_id, 0);
    atomic_init(&r->start_ns, 0);
    atomic_init(&r->order, 0);
    atomic_init(&r->args_len, 0);
    atomic_init(&r->args_truncated, 0);
    r->args = NULL;
    r->slab = sl;
    r->free_next = i + 1 < n ? &sl->slot[i + 1] : st->req_free;
  }
  st->req_free = &sl->slot[0];
  st->n_req_free += n;
  st->n_req_slots += n;
  sl->next = atomic_load_explicit(&st->slabs, memory_order_relaxed);
  /* Publish: a dump that sees the new head sees the initialised slots. */
  atomic_store_explicit(&st->slabs, sl, memory_order_release);
  return 1;
}

roam_diag_req *roam_diag_request_begin(roam_diag_state *st, uint64_t conn_id,
                                       uint64_t request_id, uint64_t method_id, int outgoing) {
  if (!st) return NULL;
  int locked = !st->single_writer;
  if (locked) pthread_mutex_lock(&st->lock);
  struct roam_diag_req *r = st->req_free;
  if (!r) {
    if (!add_slab(st)) {
      if (locked) pthread_mutex_unlock(&st->lock);
      return NULL;
    }
    r = st->req_free;
  }
  st->req_free = r->free_next;
  st->n_req_free--;
  r->slab->live++;
  /* The begin counter orders the dump's lines (newest first), whatever the
   * clock says. */
  uint64_t order = ++st->order;
  uint64_t now = roam__diag_now();
  uint32_t q = rec_open(r);
  atomic_store_explicit(&r->conn_id, conn_id, memory_order_relaxed);
  atomic_store_explicit(&r->request_id, request_id, memory_order_relaxed);
  atomic_store_explicit(&r->method_id, method_id, memory_order_relaxed);
  atomic_store_explicit(&r->start_ns, now, memory_order_relaxed);
  atomic_store_explicit(&r->order, order, memory_order_relaxed);
  atomic_store_explicit(&r->args_len, 0, memory_order_relaxed);
  atomic_store_explicit(&r->args_truncated, 0, memory_order_relaxed);
  atomic_store_explicit(&r->flags, ROAM_DIAG__LIVE | (outgoing ? ROAM_DIAG__OUT : 0u),
                        memory_order_relaxed);
  rec_close(r, q);
  if (locked) pthread_mutex_unlock(&st->lock);
  return r;
}

/* More than ROAM_DIAG_FREELIST_MAX slots free (and more free than live):
 * give back whole empty slabs, if no dump is running (the registry write
 * lock, only tried: the hot path never waits). Rebuilds the free list. */
static void shrink_slabs(roam_diag_state *st) {
  if (pthread_rwlock_trywrlock(&roam__diag_registry_lock) != 0) return;
  roam_diag__slab *keep = NULL, **tail = &keep;
  roam_diag__slab *sl = atomic_load_explicit(&st->slabs, memory_order_relaxed);
  size_t n_free = st->n_req_free;
  while (sl) {
    roam_diag__slab *next = sl->next;
    if (sl->live == 0 && n_free - sl->n >= ROAM_DIAG_FREELIST_MAX / 2) {
      n_free -= sl->n;
      st->n_req_slots -= sl->n;
      free_slab(st, sl);
    } else {
      *tail = sl;
      tail = &sl->next;
    }
    sl = next;
  }
  *tail = NULL;
  atomic_store_explicit(&st->slabs, keep, memory_order_relaxed);
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  struct roam_diag_req *fl = NULL;
  for (sl = keep; sl; sl = sl->next) {
    for (size_t i = sl->n; i-- > 0;) {
      struct roam_diag_req *r = &sl->slot[i];
      if (atomic_load_explicit(&r->flags, memory_order_relaxed) & ROAM_DIAG__LIVE) continue;
      r->free_next = fl;
      fl = r;
    }
  }
  st->req_free = fl;
  st->n_req_free = n_free;
}

void roam_diag_request_end(roam_diag_state *st, roam_diag_req *r) {
  if (!st || !r) return;
  int locked = !st->single_writer;
  if (locked) pthread_mutex_lock(&st->lock);
  if (atomic_load_explicit(&r->flags, memory_order_relaxed) & ROAM_DIAG__LIVE) {
    uint32_t q = rec_open(r);
    atomic_store_explicit(&r->flags, 0, memory_order_relaxed);
    rec_close(r, q);
    r->free_next = st->req_free;
    st->req_free = r;
    st->n_req_free++;
    r->slab->live--;
    if (st->n_req_free > ROAM_DIAG_FREELIST_MAX &&
        st->n_req_free > st->n_req_slots - st->n_req_free && r->slab->live == 0)
      shrink_slabs(st);
  }
  if (locked) pthread_mutex_unlock(&st->lock);
}

/* Append src (n bytes) to the args text (length *len), control characters
 * as spaces, cut at ROAM_DIAG_ARGS_MAX without splitting a UTF-8 sequence.
 * Returns 0 once the text is full (then it ends with "…" and takes nothing
 * more). */
static int args_append(char *args, size_t *len, int *truncated, const char *src, size_t n) {
  size_t l = *len;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (l >= ROAM_DIAG_ARGS_MAX) {
      if ((c & 0xC0) == 0x80) {
        /* c continues a sequence already partly copied: drop that part. */
        size_t k = l;
        while (k > 0 && ((unsigned char)args[k - 1] & 0xC0) == 0x80) k--;
        if (k > 0 && (unsigned char)args[k - 1] >= 0xC0) l = k - 1;
      }
      memcpy(args + l, "\xE2\x80\xA6", 3); /* … */
      *len = l + 3;
      *truncated = 1;
      return 0;
    }
    args[l++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
  }
  *len = l;
  return 1;
}

int roam_diag_request_add_arg(roam_diag_state *st, roam_diag_req *r, const char *key,
                              const char *value) {
  if (!st || !r || !key) return ROAM_ERR_INVALID_ARG;
  if (!roam_diag_record_args_enabled()) return ROAM_OK;
  if (!value) value = "";
  /* Only the owner of r writes its args; the text is written and read (by
   * dumps) under the lock. */
  char *fresh = NULL;
  if (!r->args) {
    fresh = roam__malloc(&st->mem, ROAM_DIAG__ARGS_CAP);
    if (!fresh) return ROAM_ERR_NOMEM;
  }
  pthread_mutex_lock(&st->lock);
  if (fresh) r->args = fresh;
  int truncated = atomic_load_explicit(&r->args_truncated, memory_order_relaxed);
  if (!truncated) {
    size_t len = atomic_load_explicit(&r->args_len, memory_order_relaxed);
    int ok = 1;
    if (len) ok = args_append(r->args, &len, &truncated, ", ", 2);
    if (ok) ok = args_append(r->args, &len, &truncated, key, strlen(key));
    if (ok) ok = args_append(r->args, &len, &truncated, "=", 1);
    if (ok) args_append(r->args, &len, &truncated, value, strlen(value));
    atomic_store_explicit(&r->args_len, len, memory_order_relaxed);
    atomic_store_explicit(&r->args_truncated, truncated, memory_order_relaxed);
  }
  pthread_mutex_unlock(&st->lock);
  return ROAM_OK;
}

/* ---- channels (hot path) ------------------------------------------------ */

roam_diag_chan *roam_diag_channel_open(roam_diag_state *st, uint64_t conn_id,
                                       uint64_t channel_id, int tx, uint64_t request_id) {
  if (!st) return NULL;
  pthread_mutex_lock(&st->lock);
  struct roam_diag_chan *c = st->chan_free;
  if (c) {
    st->chan_free = c->next;
    st->n_chan_free--;
  } else {
    pthread_mutex_unlock(&st->lock);
    c = roam__malloc(&st->mem, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_lock(&st->lock);
  }
  c->conn_id = conn_id;
  c->channel_id = channel_id;
  c->request_id = request_id;
  c->tx = tx != 0;
  c->in_use = 1;
  c->start_ns = roam__diag_now();
  c->prev = NULL;
  c->next = st->chan_head;
  if (st->chan_head) st->chan_head->prev = c;
  st->chan_head = c;
  if (c->tx)
    st->n_tx++;
  else
    st->n_rx++;
  pthread_mutex_unlock(&st->lock);
  return c;
}

void roam_diag_channel_set_request(roam_diag_state *st, roam_diag_chan *c, uint64_t request_id) {
  if (!st || !c) return;
  pthread_mutex_lock(&st->lock);
  c->request_id = request_id;
  pthread_mutex_unlock(&st->lock);
}

void roam_diag_channel_close(roam_diag_state *st, roam_diag_chan *c) {
  if (!st || !c) return;
  struct roam_diag_chan *drop = NULL;
  pthread_mutex_lock(&st->lock);
  if (c->in_use) {
    c->in_use = 0;
    if (c->prev)
      c->prev->next = c->next;
    else
      st->chan_head = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->tx)
      st->n_tx--;
    else
      st->n_rx--;
    if (st->n_chan_free < ROAM_DIAG_FREELIST_MAX) {
      c->prev = NULL;
      c->next = st->chan_free;
      st->chan_free = c;
      st->n_chan_free++;
    } else {
      drop = c;
    }
  }
  pthread_mutex_unlock(&st->lock);
  roam__free(&st->mem, drop);
}

/* ---- test hooks ------------------------------------------------------------ */

void roam__diag_test_lock_state(roam_diag_state *st) { pthread_mutex_lock(&st->lock); }
void roam__diag_test_unlock_state(roam_diag_state *st) { pthread_mutex_unlock(&st->lock); }
void roam__diag_test_wrlock_registry(void) { pthread_rwlock_wrlock(&roam__diag_registry_lock); }
void roam__diag_test_unlock_registry(void) { pthread_rwlock_unlock(&roam__diag_registry_lock); }

size_t roam__diag_state_count(void) {
  size_t n = 0;
  pthread_rwlock_rdlock(&roam__diag_registry_lock);
  for (roam_diag_state *st = roam__diag_registry_head; st; st = st->reg_next) n++;
  pthread_rwlock_unlock(&roam__diag_registry_lock);
  return n;
}
void roam__diag_test_wrlock_methods(void) { pthread_rwlock_wrlock(&roam__diag_method_lock); }
void roam__diag_test_unlock_methods(void) { pthread_rwlock_unlock(&roam__diag_method_lock); }
