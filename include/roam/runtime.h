/*
 * roam-c runtime layer: an event loop that drives sessions over sockets.
 *
 *   roam_loop      single-threaded event loop (epoll on Linux, poll(2)
 *                  elsewhere or on request), timers, fd watchers, posted
 *                  tasks (thread-safe), signal watchers.
 *   roam_link      one byte-stream link (TCP, Unix socket, any connected
 *                  fd) with its roam_session. The runtime feeds the socket's
 *                  bytes to roam_session_recv(), writes roam_session_output(),
 *                  keeps the session's clock fed (roam_session_tick()) and
 *                  arms a timer for roam_session_next_timeout().
 *   roam_listener  accepts links (acceptor role) on one address.
 *   roam_server    a dispatcher + any number of listeners + their links,
 *                  with graceful shutdown.
 *   roam_client    one outgoing link: blocking calls for sequential code,
 *                  callback calls for event-driven code, optional lazy
 *                  connect and reconnect with exponential backoff, and
 *                  thread-safe submission from other threads.
 *   roam_chan      a channel usable from blocking code (send waits for
 *                  credit, recv waits for a value) by pumping the loop.
 *
 * Addresses (roam_link_connect, roam_listen, roam_server_listen,
 * roam_client_new):
 *   "tcp://host:port"   TCP over IPv4 or IPv6 (TCP_NODELAY is set)
 *   "host:port"         the same; IPv6 literals in brackets: "[::1]:9000"
 *   "unix:/path"        Unix-domain stream socket ("unix:///path" also works;
 *                       "unix:@name" is a Linux abstract socket)
 *   "ws://host:port/path"  WebSocket (RFC 6455) over TCP: one roam message per
 *                       binary message (docs/websocket.md); the path defaults
 *                       to "/" and a listener serves exactly that path
 * For listening, host may be empty or "*" (every IPv4 interface) and port 0
 * picks a free port (see roam_listener_address). Name resolution uses
 * getaddrinfo() and blocks; pass numeric addresses on latency-critical paths.
 *
 * Threading model. A loop and everything attached to it (links, sessions,
 * listeners, servers, clients, channels, timers, watchers) belong to the one
 * thread that runs the loop. The only functions callable from any thread
 * are those marked "thread-safe": roam_loop_stop() (also async-signal-safe),
 * roam_loop_post(), roam_client_submit(), roam_client_submit_wait(),
 * roam_server_link_count(), roam_server_get_stats(), the roam_job_*
 * functions and the roam_chan_* functions on channels from roam_job_chan().
 * To serve other threads, run the loop in a thread of its own with
 * roam_loop_run() and have the other threads use those functions. A server
 * with options.loops > 1 runs its other loops in threads of its own
 * (handlers then run concurrently); roam_server_handle_blocking() runs
 * handlers on a worker pool. docs/runtime.md has a table by function.
 *
 * Another event loop (libuv, libevent, ...) can drive a roam_loop instead
 * of its built-in epoll/poll backend: roam/loop.h, roam/libuv.h,
 * roam/libevent.h.
 *
 * Blocking functions (roam_loop_run_until, roam_client_call, roam_chan_send,
 * ...) pump the loop themselves on the calling thread. They must not be
 * called while that loop is already running (from inside a callback, or
 * while another thread runs it): they then return ROAM_ERR_STATE.
 *
 * Errors: 0 or a negative roam_error (common.h). ROAM_ERR_IO means a system
 * call failed; errno is preserved where noted.
 *
 * The library never prints: diagnostics go to the log callback of
 * roam_loop_options (and of each session's config).
 *
 * Embedding roam in another event loop instead: see docs/embedding.md.
 * Design and usage: docs/runtime.md.
 */
#ifndef ROAM_RUNTIME_H
#define ROAM_RUNTIME_H

#include <stdbool.h>

#include "session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct roam_loop roam_loop;
typedef struct roam_timer roam_timer;
typedef struct roam_io roam_io;
typedef struct roam_link roam_link;
typedef struct roam_listener roam_listener;
typedef struct roam_server roam_server;
typedef struct roam_client roam_client;
typedef struct roam_pending roam_pending;
typedef struct roam_chan roam_chan;
typedef struct roam_job roam_job;

/* ======================================================================== */
/* Event loop                                                                */
/* ======================================================================== */

typedef enum roam_loop_backend {
  ROAM_LOOP_BACKEND_DEFAULT = 0, /* epoll on Linux, else poll; the
                                    environment variable ROAM_LOOP_BACKEND=poll
                                    or =epoll overrides it */
  ROAM_LOOP_BACKEND_EPOLL = 1,   /* ROAM_ERR_INVALID_ARG where unavailable */
  ROAM_LOOP_BACKEND_POLL = 2,
  ROAM_LOOP_BACKEND_DRIVER = 3   /* another event loop (roam/loop.h) */
} roam_loop_backend;

typedef struct roam_loop_options {
  roam_loop_backend backend;
  const roam_mem *mem;       /* NULL = libc; also the default for sessions */
  roam_log_fn log;           /* NULL = silent; also the default for sessions */
  void *log_user_data;
  size_t read_buffer_size;   /* shared by all links of the loop; default
                                256 KiB. Links hold no read buffer while
                                idle. */
  /* A thread waiting in roam_loop_run_until() (a synchronous call, a
   * blocking channel send or receive, ...) first polls for events for up to
   * this many microseconds, yielding the CPU between polls, before it
   * sleeps. Where waking a sleeping thread is slow (virtual machines
   * without guest halt polling) an answer that comes within that time is
   * seen much sooner. Adaptive: after a poll that found nothing the next
   * one is shorter, down to none, and it grows back once a sleep ends
   * within the budget, so a thread waiting on slow answers does not keep
   * burning CPU. roam_loop_run() (servers) never polls. 0 = the default
   * (50 us); negative = never poll. */
  int32_t wait_spin_us;
} roam_loop_options;

ROAM_EXTERN void roam_loop_options_init(roam_loop_options *opts);

/* Create a loop. opts NULL = defaults. */
ROAM_EXTERN int roam_loop_new(roam_loop **out, const roam_loop_options *opts);
/* Free the loop and everything still attached to it: links are aborted
 * (their on_close runs with ROAM_ERR_CLOSED, pending calls fail with
 * ROAM_ERR_CLOSED), listeners, servers and clients are freed, and so are
 * timers and fd watchers still allocated (their fds are not closed; do not
 * use those pointers afterwards). Must not be called while
 * the loop is running, nor while other threads may still post to it. */
ROAM_EXTERN void roam_loop_free(roam_loop *loop);

/* Run until roam_loop_stop() is called (returns 0) or an unrecoverable
 * poller error (ROAM_ERR_IO). Records the calling thread as the loop
 * thread. */
ROAM_EXTERN int roam_loop_run(roam_loop *loop);
/* One iteration: run due timers and posted tasks, flush output, wait for
 * events at most timeout_ms (0 = do not block, UINT64_MAX = no limit),
 * handle them, flush again. Returns the number of events handled (>= 0), or
 * ROAM_ERR_STATE when the loop is already running, or ROAM_ERR_IO. */
ROAM_EXTERN int roam_loop_run_once(roam_loop *loop, uint64_t timeout_ms);
/* Pump the loop until cond(ud) returns true (checked before each
 * iteration) or timeout_ms elapsed (UINT64_MAX = no limit), or
 * roam_loop_stop() was called. Returns 0 (cond true), ROAM_ERR_TIMEOUT,
 * ROAM_ERR_CANCELLED (stopped; the stop request is consumed), or
 * ROAM_ERR_STATE (the loop is already running). This is the documented way
 * for sequential code to wait for anything. */
ROAM_EXTERN int roam_loop_run_until(roam_loop *loop, bool (*cond)(void *ud), void *ud,
                                    uint64_t timeout_ms);
/* Ask roam_loop_run() to return after the current iteration.
 * Thread-safe and async-signal-safe (sets a flag and writes an eventfd /
 * self-pipe); may be called from a signal handler. */
ROAM_EXTERN void roam_loop_stop(roam_loop *loop);
/* Whether roam_loop_run/run_once/run_until is active (loop thread only). */
ROAM_EXTERN bool roam_loop_is_running(const roam_loop *loop);

/* The loop's monotonic clock in milliseconds (CLOCK_MONOTONIC), refreshed
 * once per iteration. roam_now_ms() reads the clock directly. */
ROAM_EXTERN uint64_t roam_loop_now(const roam_loop *loop);
ROAM_EXTERN uint64_t roam_now_ms(void);
ROAM_EXTERN roam_loop_backend roam_loop_get_backend(const roam_loop *loop);
ROAM_EXTERN const roam_mem *roam_loop_mem(const roam_loop *loop);

/* Run fn(loop, ud) on the loop thread during its next iteration (in
 * submission order). Thread-safe. Returns 0 or ROAM_ERR_NOMEM. Tasks still
 * queued when the loop is freed run with loop == NULL so they can release
 * ud. */
typedef void (*roam_task_fn)(roam_loop *loop, void *ud);
ROAM_EXTERN int roam_loop_post(roam_loop *loop, roam_task_fn fn, void *ud);

/* Call fn on the loop thread when signal signo is delivered to the process
 * (installs a sigaction handler; the handler only sets a flag and wakes the
 * loop). One loop per signal number; fn NULL removes the watcher and
 * restores the default disposition. Typical use: SIGINT and SIGTERM start
 * roam_server_shutdown(). */
typedef void (*roam_signal_fn)(roam_loop *loop, int signo, void *ud);
ROAM_EXTERN int roam_loop_signal(roam_loop *loop, int signo, roam_signal_fn fn, void *ud);

/* ---- timers ------------------------------------------------------------ */

typedef void (*roam_timer_fn)(roam_timer *t, void *ud);

ROAM_EXTERN int roam_timer_new(roam_loop *loop, roam_timer_fn fn, void *ud, roam_timer **out);
/* (Re)start: first fires after delay_ms, then every repeat_ms (0 = once). */
ROAM_EXTERN int roam_timer_start(roam_timer *t, uint64_t delay_ms, uint64_t repeat_ms);
ROAM_EXTERN void roam_timer_stop(roam_timer *t);
ROAM_EXTERN bool roam_timer_is_active(const roam_timer *t);
/* Stop and free; allowed from the timer's own callback. NULL: no-op. */
ROAM_EXTERN void roam_timer_free(roam_timer *t);

/* ---- fd watchers ------------------------------------------------------- */

#define ROAM_IO_READ 0x1u
#define ROAM_IO_WRITE 0x2u
#define ROAM_IO_ERROR 0x4u /* error or hang-up; always reported */

/* events: what happened (ROAM_IO_* bits). */
typedef void (*roam_io_fn)(roam_io *w, int fd, unsigned events, void *ud);

/* Watch an application fd (level-triggered). The fd is not made
 * non-blocking and is never closed by the runtime. */
ROAM_EXTERN int roam_io_new(roam_loop *loop, int fd, unsigned events, roam_io_fn fn, void *ud,
                            roam_io **out);
/* Change the watched events (0 = pause). */
ROAM_EXTERN int roam_io_set(roam_io *w, unsigned events);
/* Stop watching and free; allowed from the watcher's own callback. */
ROAM_EXTERN void roam_io_free(roam_io *w);

/* ======================================================================== */
/* Links                                                                     */
/* ======================================================================== */

typedef struct roam_link_options {
  /* Session configuration. role is set by the runtime (connect: initiator;
   * accept: acceptor); now_ms is filled from the loop clock; mem and log
   * default to the loop's. Initialise with roam_link_options_init().
   * Receive window: when session.channel_window is 0 and
   * session.initial_channel_credit is left at its default (64 KiB), links
   * use a 1 MiB window (the session alone keeps the 64 KiB initial credit
   * as its window): a stream of 64 KiB values then keeps the socket busy
   * instead of waiting a round trip per value. A smaller initial credit
   * keeps the window at that credit; channel_window 65536 gives the
   * reference's window. */
  roam_session_config session;
  /* Dispatcher of the root connection (NULL = Err(UnknownMethod) for every
   * request). Must outlive the link. */
  const roam_dispatcher *dispatcher;
  /* Hooks, all optional, all on the loop thread: */
  /* The link exists and its session is created (Hello queued; not yet
   * ready). Set dispatchers, make calls (they wait for the handshake). */
  void (*on_open)(roam_link *link, void *ud);
  /* The Hello exchange completed. */
  void (*on_ready)(roam_link *link, void *ud);
  /* The link ended (err and reason as for roam_session_callbacks.on_closed;
   * ROAM_ERR_IO when connecting or the socket failed). The session is
   * still valid here for the last time; the link and session are freed
   * right after the hook returns. Called exactly once for every link whose
   * creation returned 0, and for accepted links after on_open. */
  void (*on_close)(roam_link *link, int err, roam_bytes reason, void *ud);
  /* Passed through to the session (virtual connections). */
  void (*on_connect)(roam_link *link, uint64_t connect_id, const roam_metadata *md, void *ud);
  void (*on_conn_closed)(roam_link *link, uint64_t conn_id, int err, roam_bytes reason,
                         void *ud);
  void *user_data;            /* ud of the hooks, roam_link_user_data() */
  uint64_t connect_timeout_ms; /* socket connect; default 10000 */
  uint64_t linger_ms;          /* after a Goodbye, how long to try to flush
                                  before closing anyway; default 2000 */
  /* Eager flushing. A read that brings many messages is fed to the session
   * in slices of at most this many bytes, each cut after the last frame
   * that ends inside it (a slice with no frame end goes whole, with the
   * rest of the read), and output of at least this size is sent between
   * slices: the peer starts on the first answers while this side works on
   * the rest, instead of the two taking turns a whole batch at a time.
   * 0 = default (1024); SIZE_MAX = off (one send per link per loop
   * iteration). */
  size_t eager_flush_bytes;
  /* WebSocket servers (ws:// listeners): the Origin values accepted, separated
   * by spaces or commas ("https://app.example https://admin.example");
   * other upgrade requests get HTTP 403. NULL or "" = any Origin, and
   * requests without one (non-browser clients). Browsers let a page from
   * any site open a WebSocket to any server its user can reach: set this
   * for servers that browsers can reach. Copied. */
  const char *ws_origins;
} roam_link_options;

ROAM_EXTERN void roam_link_options_init(roam_link_options *opts);

/* Connect to addr as the initiator. Never blocks on the network (name
 * resolution excepted): returns 0 with the link in "connecting" state; the
 * session exists at once (calls wait for the handshake); failures arrive
 * through on_close. ROAM_ERR_ADDRESS for an unparsable or unresolvable
 * address. opts NULL = defaults. out may be NULL. */
ROAM_EXTERN int roam_link_connect(roam_loop *loop, const char *addr,
                                  const roam_link_options *opts, roam_link **out);
/* Adopt an already connected stream fd (socketpair, pipe pair is not
 * supported: one bidirectional fd). The fd is made non-blocking and is
 * closed by the runtime when the link ends. */
ROAM_EXTERN int roam_link_open_fd(roam_loop *loop, int fd, roam_role role,
                                  const roam_link_options *opts, roam_link **out);

ROAM_EXTERN roam_session *roam_link_session(const roam_link *link);
ROAM_EXTERN roam_loop *roam_link_loop(const roam_link *link);
ROAM_EXTERN void *roam_link_user_data(const roam_link *link);
ROAM_EXTERN void roam_link_set_user_data(roam_link *link, void *ud);
ROAM_EXTERN int roam_link_fd(const roam_link *link);
/* The peer's address as text ("tcp://1.2.3.4:5", "unix:/path"), or "". */
ROAM_EXTERN const char *roam_link_peer(const roam_link *link);
ROAM_EXTERN bool roam_link_is_ready(const roam_link *link);
/* Graceful close: Goodbye (empty reason), flush, close. on_close follows. */
ROAM_EXTERN int roam_link_close(roam_link *link);
/* Close at once without Goodbye (on_close follows with ROAM_ERR_CLOSED,
 * from the next loop iteration). */
ROAM_EXTERN void roam_link_abort(roam_link *link);
/* Stop (true) / resume (false) reading from the socket, for applications
 * that cannot keep up; the runtime also pauses on its own while the
 * session's output is above output_high_water. */
ROAM_EXTERN void roam_link_pause_read(roam_link *link, bool pause);
/* Bytes accepted by the session but not yet written to the socket. */
ROAM_EXTERN size_t roam_link_output_pending(const roam_link *link);

/* ---- listeners --------------------------------------------------------- */

/* Listen on addr; every accepted connection becomes a link (acceptor role)
 * configured by link_opts (copied; hooks run for each link). backlog 0 =
 * SOMAXCONN. A stale Unix socket file (nothing listening) is replaced; the
 * file is removed by roam_listener_free. */
ROAM_EXTERN int roam_listen(roam_loop *loop, const char *addr, const roam_link_options *link_opts,
                            int backlog, roam_listener **out);
/* The bound address in the address syntax above (with the real port). */
ROAM_EXTERN const char *roam_listener_address(const roam_listener *l);
ROAM_EXTERN int roam_listener_port(const roam_listener *l); /* TCP; else 0 */
/* Stop accepting and close the socket (links already accepted stay). */
ROAM_EXTERN void roam_listener_free(roam_listener *l);

/* ======================================================================== */
/* Server                                                                    */
/* ======================================================================== */

typedef struct roam_server_options {
  /* Link configuration of accepted links (its dispatcher and user_data are
   * ignored: the server's own are used). */
  roam_link_options link;
  /* Per-link hooks (optional): */
  void (*on_link_open)(roam_server *srv, roam_link *link, void *ud);
  void (*on_link_close)(roam_server *srv, roam_link *link, int err, roam_bytes reason,
                        void *ud);
  void *user_data;
  uint32_t max_links; /* 0 = unlimited; beyond it new sockets are closed */
  int backlog;        /* 0 = SOMAXCONN */
  /* Loop threads (0 or 1 = the server's loop only). With loops = N > 1 the
   * server makes N-1 more roam_loops, each run by a thread of its own from
   * the first roam_server_listen / adopt on; its listeners stay on the
   * server's loop, which hands accepted sockets round-robin to the N loops
   * (docs/runtime.md "Several loops"). A link lives on one loop; its
   * handlers and hooks run on that loop's thread, so they must be
   * thread-safe, and so must the mem and log hooks. Register handlers
   * (roam_server_handle*) before the first listen. */
  uint32_t loops;
  /* Worker threads for handlers registered with roam_server_handle_blocking
   * (0 = 4), shared by all loops; started by the first such registration. */
  uint32_t workers;
  /* Memory budget (docs/runtime.md "Memory"): the bytes of partially
   * received frames and of queued output that all links of the server (on
   * all its loops) may hold beyond memory_link_allowance each. A link above
   * its allowance reads only what the budget has room for and otherwise
   * stops reading (the peer's bytes wait in the kernel) until the budget
   * has room again; a link that waits so for memory_stall_ms without
   * writing anything is closed with Goodbye "server memory budget
   * exhausted". 0 = 12 MiB; SIZE_MAX = no budget (each link is bounded only
   * by its frame limit and output_high_water). */
  size_t memory_budget;
  size_t memory_link_allowance; /* 0 = 16 KiB: a link holding less never waits */
  uint64_t memory_stall_ms;     /* 0 = 10000 */
} roam_server_options;

ROAM_EXTERN void roam_server_options_init(roam_server_options *opts);

/* opts NULL = defaults. */
ROAM_EXTERN int roam_server_new(roam_loop *loop, const roam_server_options *opts,
                                roam_server **out);
/* Register a handler for a method id (preferably before serving; the
 * dispatcher is only used on the loop thread). fn is called on the loop
 * thread with the request handle; it answers at once (synchronous handler)
 * or keeps the handle and answers later (asynchronous handler, e.g. from a
 * timer or after other calls) with roam_request_respond_*. Registering a
 * method id again replaces its handler. */
ROAM_EXTERN int roam_server_handle(roam_server *srv, uint64_t method_id, roam_handler_fn fn,
                                   void *ud);
/* The server's dispatcher (e.g. to set a fallback, or to hand to virtual
 * connections in roam_session_accept). */
ROAM_EXTERN roam_dispatcher *roam_server_dispatcher(roam_server *srv);
/* Start listening on one more address (call once per address). The
 * listener belongs to the server: do not free it yourself. */
ROAM_EXTERN int roam_server_listen(roam_server *srv, const char *addr, roam_listener **out);
/* Serve an already connected fd as acceptor. */
ROAM_EXTERN int roam_server_adopt_fd(roam_server *srv, int fd, roam_link **out);
/* Links of the server on all its loops (any thread: an atomic snapshot). */
ROAM_EXTERN size_t roam_server_link_count(const roam_server *srv);

/* The server's figures over all its loops (any thread; each counter is read
 * atomically, the set is not one snapshot). */
typedef struct roam_server_stats {
  uint32_t loops;           /* loops serving links (options.loops) */
  size_t links;             /* links now */
  uint64_t links_accepted;  /* links served so far (accepted or adopted) */
  uint64_t requests;        /* requests given to registered handlers */
  uint32_t workers;         /* worker threads (0 = no blocking handlers) */
  size_t jobs_queued;       /* blocking requests waiting for a worker */
  uint64_t jobs_run;        /* blocking requests a worker has started */
  /* the memory budget (all 0 without one) */
  size_t memory_budget;     /* its limit */
  size_t memory_used;       /* bytes charged now (beyond the allowances) */
  size_t memory_peak;       /* the most ever charged at once */
  uint64_t memory_stalls;   /* times a link stopped reading for it */
  uint64_t memory_closed;   /* links closed after waiting memory_stall_ms */
} roam_server_stats;
ROAM_EXTERN void roam_server_get_stats(const roam_server *srv, roam_server_stats *out);
ROAM_EXTERN roam_loop *roam_server_loop(const roam_server *srv);

/*
 * Graceful shutdown:
 *   1. stop accepting (listeners closed);
 *   2. new requests on existing links are answered Err(Cancelled);
 *   3. each link whose in-flight incoming requests have all been answered
 *      gets Goodbye (empty reason), its output is flushed, and it closes;
 *   4. at deadline_ms from now, the remaining links are closed with Goodbye
 *      anyway (their unanswered requests are abandoned).
 * done(srv, ud) runs on the loop thread once every link is gone (it may
 * free the server or stop the loop). Returns 0 or ROAM_ERR_STATE if a
 * shutdown is already in progress.
 */
ROAM_EXTERN int roam_server_shutdown(roam_server *srv, uint64_t deadline_ms,
                                     void (*done)(roam_server *srv, void *ud), void *ud);
/* Abort every link and free the server (not from its own hooks). */
ROAM_EXTERN void roam_server_free(roam_server *srv);

/* ======================================================================== */
/* Handlers that may block: jobs and the worker pool                         */
/* ======================================================================== */

/*
 * A job is a request that any thread may answer (the thread-safe respond
 * path). roam_request_defer() turns a request of a runtime link into a job
 * (inside its handler, on the loop thread); roam_server_handle_blocking()
 * does it for every request of a method and runs the handler on one of the
 * server's worker threads, so a handler that blocks (a database query, a
 * file read, a sleep) never stalls a loop: the loop keeps serving the other
 * calls of the same link and of all other links.
 *
 * Thread-safety: all roam_job_* functions may be called from any thread,
 * by one thread at a time for a given job (the one that holds it). The
 * answer is handed to the link's loop (roam_loop_post) and sent from there;
 * answering on the loop thread itself sends at once. Exactly one respond
 * call spends the job (then the pointer is invalid); a job must be answered
 * even when cancelled (the answer is then only a release). If the link is
 * gone, answering just frees the job. Jobs must be answered before their
 * loop is freed (roam_server_free waits for its workers).
 */

/* Loop thread, inside the handler (the payload is copied from the request,
 * which must not be used afterwards; its cancel callback and user data
 * belong to the job). Only for requests of runtime links (roam_link,
 * roam_server, roam_client). Returns 0, ROAM_ERR_NOMEM or
 * ROAM_ERR_INVALID_ARG. */
ROAM_EXTERN int roam_request_defer(roam_request *req, roam_job **out);

ROAM_EXTERN roam_bytes roam_job_payload(const roam_job *job); /* valid until answered */
ROAM_EXTERN uint64_t roam_job_method_id(const roam_job *job);
/* The caller cancelled or the link closed: the answer will not be sent. */
ROAM_EXTERN bool roam_job_is_cancelled(const roam_job *job);
/* Answer (copies value). Values sent on the job's channels (roam_job_chan)
 * leave before the answer: these wait until the channels' queued values
 * are handed to the session. 0, or ROAM_ERR_NOMEM (the job is not spent). */
ROAM_EXTERN int roam_job_respond_ok(roam_job *job, const void *value, size_t len);
ROAM_EXTERN int roam_job_respond_user_error(roam_job *job, const void *err, size_t len);
/* kind: ROAM_ERR_REMOTE_UNKNOWN_METHOD, _INVALID_PAYLOAD or _CANCELLED. */
ROAM_EXTERN int roam_job_respond_error(roam_job *job, int kind);

/* A channel of the job's request (index in roam_request_channel_id order)
 * for a thread other than the loop thread: dir ROAM_CHAN_RECV for the
 * caller's Tx<T>, ROAM_CHAN_SEND for its Rx<T>. The blocking channel API
 * (roam_chan_send / _recv / _close / _buffered / _free) then works from
 * that thread: send waits while 256 KiB are queued or there is no credit,
 * recv waits for a value (credit is returned as values are taken), close
 * waits until the values and the Close are handed to the session. Bind
 * before answering; free the channel (any time, also after answering).
 * Not on the loop thread (ROAM_ERR_STATE). */
ROAM_EXTERN int roam_job_chan(roam_job *job, size_t index, roam_chan_dir dir, roam_chan **out);

/* A handler run on a worker thread: it owns job and must answer it (there
 * or later, from any thread). */
typedef void (*roam_blocking_fn)(roam_job *job, void *ud);

/* Run method_id's requests on the server's worker pool (options.workers
 * threads). Register before the first listen when options.loops > 1. During
 * a graceful shutdown the server waits for these answers like any other. */
ROAM_EXTERN int roam_server_handle_blocking(roam_server *srv, uint64_t method_id,
                                            roam_blocking_fn fn, void *ud);

/* ======================================================================== */
/* Client                                                                    */
/* ======================================================================== */

/* Reconnection policy. Defaults are those of the Rust reference
 * (roam-session RetryPolicy): max_attempts 3, initial_delay_ms 100,
 * max_delay_ms 5000, multiplier 2. Attempt n (1-based) that fails waits
 * min(initial_delay_ms * multiplier^(n-1), max_delay_ms) before attempt
 * n+1; after max_attempts failed attempts the waiting calls fail with
 * ROAM_ERR_RETRIES_EXHAUSTED. */
typedef struct roam_retry_policy {
  uint32_t max_attempts;
  uint64_t initial_delay_ms;
  uint64_t max_delay_ms;
  uint32_t multiplier;
} roam_retry_policy;

ROAM_EXTERN void roam_retry_policy_init(roam_retry_policy *p);

typedef struct roam_client_options {
  /* Configuration of the client's link (hooks run for every link the
   * client opens; dispatcher lets the client serve calls from the peer). */
  roam_link_options link;
  /* The loop to run on. NULL: the client creates and owns a private loop
   * (roam_client_loop) that its blocking functions pump. */
  roam_loop *loop;
  /* false: connect at once (roam_client_new starts it); when the link
   * closes, the client is dead and calls fail with ROAM_ERR_CLOSED.
   * true: connect lazily on the first call; after the transport fails the
   * next call reconnects under `retry`; only one connection attempt is in
   * progress at a time and calls made meanwhile wait for it. A remote error
   * (Err(...) from the peer) never triggers a reconnect. Calls in flight
   * when the transport fails complete with ROAM_ERR_CLOSED (they are not
   * resent: the peer may have executed them). */
  bool reconnect;
  roam_retry_policy retry;
  /* Connect + Hello exchange per attempt; default 5000. */
  uint64_t connect_timeout_ms;
} roam_client_options;

ROAM_EXTERN void roam_client_options_init(roam_client_options *opts);

/* Create a client for addr (copied). Does not block. opts NULL = defaults
 * (private loop, no reconnect). */
ROAM_EXTERN int roam_client_new(roam_client **out, const char *addr,
                                const roam_client_options *opts);
/* roam_client_new + roam_client_wait_ready(timeout_ms); on failure nothing
 * is left allocated. Returns 0, ROAM_ERR_TIMEOUT, ROAM_ERR_CLOSED,
 * ROAM_ERR_IO (connection refused...), ROAM_ERR_RETRIES_EXHAUSTED. */
ROAM_EXTERN int roam_client_connect(roam_client **out, const char *addr,
                                    const roam_client_options *opts, uint64_t timeout_ms);
/* Blocking: pump the loop until the handshake completed (starting a
 * connection if there is none). */
ROAM_EXTERN int roam_client_wait_ready(roam_client *c, uint64_t timeout_ms);
/* Fail pending calls with ROAM_ERR_CLOSED, close the link (Goodbye) and
 * free; frees the private loop. Not from inside the client's callbacks. */
ROAM_EXTERN void roam_client_free(roam_client *c);

ROAM_EXTERN roam_loop *roam_client_loop(const roam_client *c);
/* The current link / session (NULL while not connected). */
ROAM_EXTERN roam_link *roam_client_link(const roam_client *c);
ROAM_EXTERN roam_session *roam_client_session(const roam_client *c);
ROAM_EXTERN bool roam_client_is_ready(const roam_client *c);
/* Successful connections so far (1 after the first, 2 after a reconnect). */
ROAM_EXTERN uint32_t roam_client_connection_count(const roam_client *c);

/* A call's outcome, owned by the caller. status as roam_call_result.status,
 * plus ROAM_ERR_RETRIES_EXHAUSTED for a reconnecting client.
 * value: T (status 0) or E (ROAM_ERR_REMOTE_USER); NULL when empty. */
typedef struct roam_reply {
  int status;
  uint8_t *value;
  size_t value_len;
  roam_mem mem; /* frees value (a copy: the reply outlives the client) */
} roam_reply;
ROAM_EXTERN void roam_reply_free(roam_reply *r);

/* Completion callback (loop thread). res->value etc. are views valid during
 * the call; s is NULL when the call never reached a session (e.g.
 * ROAM_ERR_RETRIES_EXHAUSTED). */
typedef void (*roam_reply_cb)(roam_client *c, const roam_call_result *res, void *ud);

/*
 * Blocking call for sequential code: send, pump the loop until the answer,
 * return it. payload is the postcard-encoded argument tuple. opts may be
 * NULL; opts->timeout_ms bounds the wait (0 = none). Returns out->status
 * (0 = Ok), and out always needs roam_reply_free (it is zeroed on failure
 * to start). Calls that fail to start: ROAM_ERR_PAYLOAD_TOO_LARGE (payload
 * above the negotiated maximum; the link stays up), ROAM_ERR_CLOSED,
 * ROAM_ERR_LIMIT, ROAM_ERR_STATE (loop already running).
 */
ROAM_EXTERN int roam_client_call(roam_client *c, uint64_t method_id, const void *payload,
                                 size_t len, const roam_call_opts *opts, roam_reply *out);

/* Open a virtual connection on the client's link and wait for the peer's
 * answer (blocking code; the client must be ready and its loop not
 * running). Returns 0 with *conn_id set, or ROAM_ERR_REJECTED,
 * ROAM_ERR_TIMEOUT (no answer within timeout_ms; 0 = wait for ever),
 * ROAM_ERR_CLOSED, ROAM_ERR_STATE, ROAM_ERR_NOMEM. Calls on the connection
 * pass its id in roam_call_opts.conn_id; roam_session_conn_close ends it. */
ROAM_EXTERN int roam_client_open_connection(roam_client *c, const roam_meta_entry *md,
                                            size_t md_count, uint64_t timeout_ms,
                                            uint64_t *conn_id);

/* Start a call without waiting (for calls with channels from blocking
 * code): wait with roam_pending_wait, drive channels in between. */
ROAM_EXTERN int roam_client_call_start(roam_client *c, uint64_t method_id, const void *payload,
                                       size_t len, const roam_call_opts *opts,
                                       roam_pending **out);
/* Pump until the call completes or timeout_ms (UINT64_MAX = no limit).
 * Returns ROAM_ERR_TIMEOUT (still pending: wait again or free it), or the
 * call's status with *out filled (then the pending handle is spent: free
 * it). */
ROAM_EXTERN int roam_pending_wait(roam_pending *p, uint64_t timeout_ms, roam_reply *out);
ROAM_EXTERN bool roam_pending_done(const roam_pending *p);
/* Free; cancels the call if it has not completed. */
ROAM_EXTERN void roam_pending_free(roam_pending *p);

/* Backpressure: while the link's output is above half its session's
 * output_high_water, calls made through the client wait in the client's
 * FIFO queue instead of growing the session's output (see docs/runtime.md).
 *
 * Callback-style call on the loop thread. Returns 0 (cb runs exactly once,
 * never from inside this function) or an error (cb never runs). Calls with
 * channels (opts->channels) need a ready client (ROAM_ERR_STATE otherwise):
 * their ids belong to the current session. */
ROAM_EXTERN int roam_client_call_async(roam_client *c, uint64_t method_id, const void *payload,
                                       size_t len, const roam_call_opts *opts, roam_reply_cb cb,
                                       void *ud);

/* Thread-safe submission from any thread: the payload is copied, the call
 * is started on the loop thread (through roam_loop_post), cb runs there.
 * Returns 0 (cb runs exactly once) or ROAM_ERR_NOMEM. The loop must be
 * running (roam_loop_run in its own thread) for anything to happen. */
ROAM_EXTERN int roam_client_submit(roam_client *c, uint64_t method_id, const void *payload,
                                   size_t len, uint64_t timeout_ms, roam_reply_cb cb, void *ud);
/* Thread-safe blocking variant for threads other than the loop thread:
 * submit and wait (condition variable) for the reply. ROAM_ERR_STATE when
 * called on the loop thread. */
ROAM_EXTERN int roam_client_submit_wait(roam_client *c, uint64_t method_id, const void *payload,
                                        size_t len, uint64_t timeout_ms, roam_reply *out);

/* ======================================================================== */
/* Blocking channels                                                         */
/* ======================================================================== */

/*
 * A channel for sequential code on a link's root or virtual connection.
 * Open it before the call, pass roam_chan_id() in roam_call_opts.channels
 * and inside the payload, start the call (roam_client_call_start), then
 * send / recv, then wait for the call.
 *   ROAM_CHAN_SEND: roam_chan_send blocks (pumping the loop) while there is
 *                   no credit; roam_chan_close when done.
 *   ROAM_CHAN_RECV: values are buffered up to the channel's credit window
 *                   (credit is returned only as roam_chan_recv hands values
 *                   out, so a slow reader throttles the sender and memory
 *                   stays bounded).
 */
ROAM_EXTERN int roam_chan_open(roam_link *link, uint64_t conn_id, roam_chan_dir dir,
                               roam_chan **out);
ROAM_EXTERN uint64_t roam_chan_id(const roam_chan *ch);
/* Send one value (postcard-encoded). Returns 0, ROAM_ERR_TIMEOUT,
 * ROAM_ERR_CLOSED (channel ended / link closed), ROAM_ERR_STATE. */
ROAM_EXTERN int roam_chan_send(roam_chan *ch, const void *value, size_t len,
                               uint64_t timeout_ms);
ROAM_EXTERN int roam_chan_close(roam_chan *ch);
/* Receive one value: returns 1 with *value a view valid until the next
 * roam_chan_recv or roam_chan_free; 0 at the end of the stream (sender
 * closed it); ROAM_ERR_CANCELLED (peer Reset), ROAM_ERR_CLOSED (link
 * closed), ROAM_ERR_TIMEOUT. */
ROAM_EXTERN int roam_chan_recv(roam_chan *ch, roam_bytes *value, uint64_t timeout_ms);
/* Values buffered and not yet received. */
ROAM_EXTERN size_t roam_chan_buffered(const roam_chan *ch);
/* Free (Reset if still open). Free channels before their loop. */
ROAM_EXTERN void roam_chan_free(roam_chan *ch);

/* ---- debugging switches (docs/runtime.md) ---------------------------------
 * Every program built on the runtime honours the reference's variables:
 *   ROAM_WIRE_SPY (any value but empty or "0"): each session the runtime
 *     creates logs every message sent and received, level INFO
 *     (ROAM_SESSION_WIRE_SPY);
 *   ROAM_DEBUG (set): everything the library logs matters, DEBUG included;
 *     with ROAM_DEBUG_ARGS it also records call arguments (roam/diag.h).
 * The output goes through the log callback (loop options, or the session
 * options of a link). When the application installed none and one of these
 * variables is set, the runtime uses roam_log_stderr. Read once, at the
 * first use. Thread-safe. */
#define ROAM_ENV_WIRE_SPY 1u /* ROAM_WIRE_SPY is set (not empty, not "0") */
#define ROAM_ENV_DEBUG 2u    /* ROAM_DEBUG is set */
ROAM_EXTERN unsigned roam_env_switches(void);

/* A ready-made log callback: one line per message on stderr,
 * "roam [NAME] LEVEL: message" (NAME: user_data, a const char *, or NULL).
 * It shows errors and warnings; INFO too under ROAM_WIRE_SPY (the message
 * lines); every level under ROAM_DEBUG. Thread-safe (one write per line). */
ROAM_EXTERN void roam_log_stderr(void *user_data, roam_log_level level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_RUNTIME_H */
