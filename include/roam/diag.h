/*
 * roam-c diagnostics: what is in flight right now, dumped on SIGUSR1.
 *
 * Mirrors the `diagnostic` module of roam-session 0.6.0 (see PROTOCOL.md §15
 * and docs/diagnostics.md). A process-wide registry holds one diagnostic
 * state per link or virtual connection. The session records every in-flight
 * request and every open channel in its state; a dump lists, per state, what
 * has been waiting and for how long:
 *
 *   [link-1] 2⬆ 1⬇ 1tx
 *     ⬆#7 Testbed.echo 12.0s (args=Hello)
 *     ⬆#5 ? 30.5s
 *     ⬇#2 Testbed.sum 1.5s
 *
 * This module depends only on common.h and POSIX threads; it never prints on
 * its own: output is produced only by roam_diag_dump*() or, once the
 * application asked for it with roam_diag_install_sigusr1(), on SIGUSR1.
 *
 * Thread-safety: every function may be called from any thread, except
 * roam_diag_set_clock() (see there). A state and its records are protected by
 * the state's own lock; the registry and the method-name table have their own
 * locks. The begin/end/open/close hooks are O(1), take one short lock and do
 * not allocate once the state's free lists are warm. (A session's own state
 * is single-writer: its request records are written with no lock at all and
 * read by dumps as seqlocks; see docs/diagnostics.md.)
 *
 * Error codes are those of common.h (0 = ROAM_OK, negative on failure).
 */
#ifndef ROAM_DIAG_H
#define ROAM_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ROAM_DIAG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ROAM_DIAG_PRINTF(a, b)
#endif

/* One per link or virtual connection. */
typedef struct roam_diag_state roam_diag_state;
/* One in-flight request record (owned by its state). */
typedef struct roam_diag_req roam_diag_req;
/* One open channel record (owned by its state). */
typedef struct roam_diag_chan roam_diag_chan;
/* Where dump text goes; handed to custom callbacks. */
typedef struct roam_diag_writer roam_diag_writer;

/* Custom diagnostic callback: appends text with roam_diag_printf(). */
typedef void (*roam_diag_callback_fn)(roam_diag_writer *w, void *user_data);

/* Arguments longer than this (bytes of "k=v, k=v" text per request) are cut
 * at a UTF-8 boundary and end with "…". */
#define ROAM_DIAG_ARGS_MAX 256
/* Free records kept per state and kind for reuse (request records come in
 * slabs of up to 64: beyond this many free, whole empty slabs are given back). */
#define ROAM_DIAG_FREELIST_MAX 256

/* ---- states ------------------------------------------------------------ */

/*
 * Create a state and register it in the process-wide registry (it appears in
 * dumps, in creation order). `name` is copied; NULL gives "link-<n>" with a
 * process-wide counter n = 1, 2, ... `mem` (NULL = libc) serves the state and
 * its records. NULL on out of memory.
 */
ROAM_EXTERN roam_diag_state *roam_diag_state_new(const char *name, const roam_mem *mem);

/*
 * Unregister and free the state with every remaining record and callback.
 * When it returns no dump is using the state or its callbacks any more (it
 * waits for a dump in progress to finish), so callback user data may be freed
 * afterwards. Records of this state must not be used afterwards. NULL: no-op.
 * Must not be called from a custom callback.
 */
ROAM_EXTERN void roam_diag_state_free(roam_diag_state *st);

/* Rename (copied). NULL name, NULL st or out of memory: the name is kept. */
ROAM_EXTERN void roam_diag_state_set_name(roam_diag_state *st, const char *name);

/*
 * Copy the current name into buf (NUL-terminated, truncated to cap-1 bytes).
 * Returns the full length of the name, or ROAM_ERR_INVALID_ARG.
 */
ROAM_EXTERN int roam_diag_state_get_name(roam_diag_state *st, char *buf, size_t cap);

/*
 * Append a custom callback, run on every dump after the state's own lines
 * (in the order added), whether or not the state has requests in flight; a
 * state whose callbacks print nothing and that has nothing in flight is
 * skipped. Callbacks run on the dumping thread with the registry and
 * method-table read locks held (but not the state's lock): they write with
 * roam_diag_printf() / roam_diag_write() on `w` (valid only during the call),
 * may use the request/channel hooks, must not block, and must not create,
 * free or rename states nor set method names (those wait for the dump).
 * `user_data` must stay valid until roam_diag_state_free(st) returns.
 * 0, ROAM_ERR_NOMEM or ROAM_ERR_INVALID_ARG.
 */
ROAM_EXTERN int roam_diag_state_add_callback(roam_diag_state *st, roam_diag_callback_fn fn,
                                             void *user_data);

/* ---- requests ---------------------------------------------------------- */

/*
 * Record an in-flight request, started now. `outgoing` != 0: we called the
 * peer (⬆); 0: the peer called us (⬇). NULL when st is NULL or on out of
 * memory (the session may treat NULL records as "not recorded": every other
 * function accepts them). conn_id is kept with the record but, like the
 * reference, not printed.
 */
ROAM_EXTERN roam_diag_req *roam_diag_request_begin(roam_diag_state *st, uint64_t conn_id,
                                                   uint64_t request_id, uint64_t method_id,
                                                   int outgoing);

/* The request completed (or failed, or was cancelled): forget it. r may be
 * NULL; r must belong to st and must not be used afterwards. */
ROAM_EXTERN void roam_diag_request_end(roam_diag_state *st, roam_diag_req *r);

/*
 * Attach a `key=value` argument string to the request, shown as
 * " (k=v, k2=v2)" after its line. Recorded only while argument recording is
 * enabled (see roam_diag_record_args_enabled()); otherwise a no-op returning
 * 0. Control characters are shown as spaces; the text is bounded by
 * ROAM_DIAG_ARGS_MAX. value NULL = "". Calls for one record must not run
 * concurrently with each other (one owner at a time, like begin/end).
 * 0, ROAM_ERR_NOMEM, ROAM_ERR_INVALID_ARG.
 */
ROAM_EXTERN int roam_diag_request_add_arg(roam_diag_state *st, roam_diag_req *r, const char *key,
                                          const char *value);

/* ---- channels ---------------------------------------------------------- */

/*
 * Record an open channel, opened now. tx != 0: we send on it; 0: we receive.
 * request_id 0 = unknown. NULL when st is NULL or on out of memory. Like the
 * reference, dumps show only the tx/rx counts, not one line per channel.
 */
ROAM_EXTERN roam_diag_chan *roam_diag_channel_open(roam_diag_state *st, uint64_t conn_id,
                                                   uint64_t channel_id, int tx,
                                                   uint64_t request_id);

/* Associate an open channel with the request that carries it (the channel is
 * usually allocated before its request id is known). c may be NULL. */
ROAM_EXTERN void roam_diag_channel_set_request(roam_diag_state *st, roam_diag_chan *c,
                                               uint64_t request_id);

/* The channel was closed: forget it. c may be NULL; must belong to st. */
ROAM_EXTERN void roam_diag_channel_close(roam_diag_state *st, roam_diag_chan *c);

/* ---- method names ------------------------------------------------------ */

/* Map a method id to a display name such as "Testbed.echo" (copied; a second
 * call replaces it). Process-wide. 0, ROAM_ERR_NOMEM, ROAM_ERR_INVALID_ARG. */
ROAM_EXTERN int roam_diag_set_method_name(uint64_t method_id, const char *name);

/* Copy the registered name into buf like roam_diag_state_get_name(); returns
 * its full length, or ROAM_ERR_NOT_FOUND. */
ROAM_EXTERN int roam_diag_get_method_name(uint64_t method_id, char *buf, size_t cap);

/* Forget every registered method name. */
ROAM_EXTERN void roam_diag_clear_method_names(void);

/* ---- dumps ------------------------------------------------------------- */

/*
 * The whole dump as a NUL-terminated string allocated with malloc() (release
 * it with free()); *len (may be NULL) receives its length. The string is
 * empty when nothing is in flight anywhere (as in the reference). Never
 * blocks on a lock: a lock still busy after a few short retries is reported
 * in the text instead. 0, ROAM_ERR_NOMEM or ROAM_ERR_INVALID_ARG.
 */
ROAM_EXTERN int roam_diag_dump(char **out, size_t *len);

/* Write the dump to fd (all of it, retrying on EINTR and short writes).
 * 0, ROAM_ERR_IO (errno set) or ROAM_ERR_NOMEM.
 * Neither dump function is async-signal-safe: never call them from a signal
 * handler yourself, use roam_diag_install_sigusr1(). */
ROAM_EXTERN int roam_diag_dump_fd(int fd);

/* Append text to a dump from a custom callback. 0 or ROAM_ERR_NOMEM (the
 * writer then stays failed and drops further text). */
ROAM_EXTERN int roam_diag_printf(roam_diag_writer *w, const char *fmt, ...) ROAM_DIAG_PRINTF(2, 3);
ROAM_EXTERN int roam_diag_write(roam_diag_writer *w, const char *text, size_t len);

/*
 * Install a SIGUSR1 handler: each SIGUSR1 makes a dedicated dump thread write
 * the dump to fd (2 = stderr; not closed by this module). The handler itself
 * is async-signal-safe: it only write()s one byte to a self-pipe and keeps
 * errno. Signals arriving while a dump is under way are coalesced into one
 * more dump. The previous disposition is saved and restored by
 * roam_diag_uninstall_sigusr1(). 0, ROAM_ERR_STATE (already installed),
 * ROAM_ERR_INVALID_ARG (fd < 0) or ROAM_ERR_IO (errno set).
 * In a child created by fork() the dump thread does not exist: the child's
 * copy of the handler is removed (previous disposition restored) at fork.
 * SIGUSR1 must not be blocked in every thread, or no handler ever runs.
 */
ROAM_EXTERN int roam_diag_install_sigusr1(int fd);

/* Restore the previous SIGUSR1 disposition and stop the dump thread (a dump
 * under way finishes first). No-op when not installed. */
ROAM_EXTERN void roam_diag_uninstall_sigusr1(void);

/* ---- switches ---------------------------------------------------------- */

/* ROAM_DEBUG is set in the environment (read once, at the first call into
 * this module). */
ROAM_EXTERN int roam_diag_debug_enabled(void);

/* Arguments are recorded: ROAM_DEBUG or ROAM_DEBUG_ARGS set at the first
 * call into this module, unless overridden by roam_diag_set_record_args(). */
ROAM_EXTERN int roam_diag_record_args_enabled(void);

/* Override argument recording: 1 on, 0 off, -1 back to the environment. */
ROAM_EXTERN void roam_diag_set_record_args(int enabled);

/*
 * Replace the clock (nanoseconds, must never go backwards); NULL restores
 * CLOCK_MONOTONIC. For tests: call it while no request or channel is being
 * recorded or dumped by another thread.
 */
ROAM_EXTERN void roam_diag_set_clock(uint64_t (*now_ns)(void *user_data), void *user_data);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_DIAG_H */
