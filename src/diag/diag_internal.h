/*
 * Internals of the diagnostics module, shared by the src/diag sources and the tests.
 *
 * Locking design (see also docs/diagnostics.md):
 *
 *   registry lock (rwlock)   list of states, each state's name
 *   method lock   (rwlock)   method-id -> name table
 *   state->lock   (mutex)    the state's records, free lists, counters and
 *                            callback list
 *
 * Order: registry before method before state. Nothing else nests.
 *
 * Writers of the registry (state_new, state_free, set_name) take the write
 * lock and may block. A dump takes the registry *read* lock with trylock and
 * a few short retries and keeps it for its whole run; so roam_diag_state_free,
 * which takes the write lock before unlinking and freeing the state, can never
 * free a state (or run past its return while a callback of that state is still
 * being called) under a dump's feet, and the dump never needs a reference
 * count. Several dumps may run at once (all readers).
 *
 * A dump takes everything else with trylock as well, so it can never wait on
 * a lock held by a stuck thread; it reports the lock it could not take.
 *
 * The hot path: channel open/close take only state->lock; request
 * begin/end take it too, except on a single-writer state (a session's:
 * roam__diag_state_single_writer), whose owner writes request records with
 * no lock and no atomic read-modify-write at all: dumps read them as
 * seqlocks (struct roam_diag_req).
 */
#ifndef ROAM_DIAG_INTERNAL_H
#define ROAM_DIAG_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <roam/diag.h>

/*
 * A request record: one slot of a slab (see roam_diag__slab). Its writer is
 * the state's owner thread (a single-writer state, e.g. a session's) or any
 * thread under state->lock; dumps read it without stopping the writer, as a
 * seqlock: `seq` is odd while the writer changes the fields after it, and a
 * dump keeps what it read only if `seq` was even and did not move. Every
 * field a dump reads is atomic (relaxed; the seq loads/stores order them).
 */
struct roam_diag_req {
  _Atomic uint32_t seq;
  _Atomic uint32_t flags; /* ROAM_DIAG__LIVE | ROAM_DIAG__OUT */
  _Atomic uint64_t conn_id, request_id, method_id, start_ns;
  _Atomic uint64_t order;    /* the state's begin counter: newest first */
  _Atomic size_t args_len;   /* args text is read and written under state->lock */
  _Atomic int args_truncated;
  char *args; /* NULL, or a buffer of ROAM_DIAG__ARGS_CAP bytes kept on reuse;
                 set under state->lock */
  /* Writer side only. */
  struct roam_diag_req *free_next;
  struct roam_diag__slab *slab;
};
#define ROAM_DIAG__LIVE 1u
#define ROAM_DIAG__OUT 2u

/* Request slots come in slabs, prepended to the state's list (published with
 * a release store of the head; `next` never changes while a dump may run).
 * Slabs are freed only with the registry write lock held (no dump running):
 * in roam_diag_state_free, and when more than ROAM_DIAG_FREELIST_MAX slots
 * are free (whole empty slabs are given back). */
typedef struct roam_diag__slab {
  struct roam_diag__slab *next;
  size_t n, live;
  struct roam_diag_req slot[];
} roam_diag__slab;

struct roam_diag_chan {
  struct roam_diag_chan *prev, *next;
  uint64_t conn_id, channel_id, request_id, start_ns;
  int tx;
  int in_use;
};

typedef struct roam_diag__cb {
  struct roam_diag__cb *next; /* written once, under the state lock, when a
                                 later callback is appended */
  roam_diag_callback_fn fn;
  void *user_data;
} roam_diag__cb;

struct roam_diag_state {
  roam_mem mem;
  /* Protected by the registry lock. */
  struct roam_diag_state *reg_prev, *reg_next;
  char *name;
  /* Protected by lock. */
  pthread_mutex_t lock;
  struct roam_diag_chan *chan_head;
  struct roam_diag_chan *chan_free;
  size_t n_chan_free;
  size_t n_tx, n_rx;
  /* Request slots: written by the owner alone when single_writer, else
   * under lock; read by dumps (see struct roam_diag_req). */
  int single_writer;
  _Atomic(roam_diag__slab *) slabs;
  struct roam_diag_req *req_free;
  size_t n_req_free, n_req_slots;
  uint64_t order;
  roam_diag__cb *cb_head, *cb_tail;
  size_t n_cb;
};

/* Args buffer: the text, "…" (3 bytes) and a NUL. */
#define ROAM_DIAG__ARGS_CAP (ROAM_DIAG_ARGS_MAX + 4)

/* Registry and method table (diag.c). */
extern pthread_rwlock_t roam__diag_registry_lock;
extern struct roam_diag_state *roam__diag_registry_head;
extern pthread_rwlock_t roam__diag_method_lock;
/* Look up under the method read lock (caller holds it); NULL if unknown. */
const char *roam__diag_method_name_locked(uint64_t method_id);
uint64_t roam__diag_now(void);

/* From now on only one thread at a time (with the hand-over synchronised,
 * as for a roam_session) begins and ends requests of st: they then take no
 * lock. Call before the first request. */
void roam__diag_state_single_writer(roam_diag_state *st);

/* Dump retries: attempts and pause between them. */
#define ROAM_DIAG__TRY_ATTEMPTS 10
#define ROAM_DIAG__TRY_PAUSE_NS 1000000L

/* Test hooks (hidden in the shared library, linked statically by tests). */
void roam__diag_test_lock_state(roam_diag_state *st);
void roam__diag_test_unlock_state(roam_diag_state *st);
void roam__diag_test_wrlock_registry(void);
void roam__diag_test_unlock_registry(void);
void roam__diag_test_wrlock_methods(void);
void roam__diag_test_unlock_methods(void);
/* Dumps written by the SIGUSR1 thread since the process started. */
uint64_t roam__diag_signal_dump_count(void);
/* Number of registered states. */
size_t roam__diag_state_count(void);

#endif
