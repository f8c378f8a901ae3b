/* Internal definitions of the runtime layer (src/runtime/). */
#ifndef ROAM_RT_INTERNAL_H
#define ROAM_RT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <roam/loop.h>
#include <roam/runtime.h>

#include "common/mem.h"

#if defined(__GNUC__) || defined(__clang__)
#define RT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RT_PRINTF(a, b)
#endif

#define RT_MAX_SIGNAL 64

/* ---- addresses (addr.c) ------------------------------------------------ */

typedef enum rt_addr_kind { RT_ADDR_TCP = 1, RT_ADDR_UNIX = 2 } rt_addr_kind;

typedef struct rt_addr {
  rt_addr_kind kind;
  char host[256]; /* TCP: host without brackets ("" = any) */
  char port[16];  /* TCP: decimal port */
  char path[108]; /* UNIX: path; abstract names start with '@' */
  bool ws;            /* TCP carrying WebSocket ("ws://host:port/path") */
  char ws_path[256];  /* WebSocket request path ("/" at least) */
} rt_addr;

/* Parse "tcp://h:p", "h:p", "[v6]:p", "unix:/path", "unix:///path",
 * "unix:@abstract", "ws://h:p/path". listen: host may be empty or "*". */
int rt_addr_parse(const char *text, bool listen, rt_addr *out);
/* Fill a sockaddr_un; returns the length to pass to bind/connect. */
socklen_t rt_addr_unix_sockaddr(const rt_addr *a, struct sockaddr_storage *ss);
/* Text of a socket address in the public syntax ("tcp://1.2.3.4:5",
 * "tcp://[::1]:5", "unix:/p"). */
void rt_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);
/* Non-blocking, close-on-exec socket options. */
int rt_set_nonblock(int fd);
void rt_tcp_nodelay(int fd);
/* Create a listening socket. Returns fd or a negative roam error. */
int rt_listen_socket(const rt_addr *a, int backlog, char *bound_text, size_t cap, int *port);

/* ---- loop (loop.c) ------------------------------------------------------ */

struct roam_io {
  roam_loop *loop;
  int fd;
  unsigned events;    /* wanted */
  unsigned reg;       /* registered with epoll (0 = not added) */
  roam_io_fn fn;
  void *ud;
  bool dead;
  bool embedded; /* part of another object: never freed by the loop */
  roam_io *prev, *next; /* all live ios (poll backend, loop free) */
  roam_io *grave_next;
  void *drv_data; /* the loop driver's state (driven loops) */
};

struct roam_timer {
  roam_loop *loop;
  roam_timer_fn fn;
  void *ud;
  uint64_t due;
  uint64_t repeat;
  uint64_t gen; /* loop iteration that armed it */
  size_t heap_index; /* SIZE_MAX when inactive */
  roam_timer *prev, *next; /* loop->timers */
};

typedef struct rt_task {
  struct rt_task *next;
  roam_task_fn fn;
  void *ud;
} rt_task;

struct roam_loop {
  roam_mem mem;
  roam_log_fn log;
  void *log_ud;
  roam_loop_backend backend;
  int epfd;
  /* poll backend */
  void *pfds; /* struct pollfd[] */
  roam_io **pios;
  size_t pcap;
  bool pdirty;
  size_t nios;
  roam_io *ios;
  roam_io *grave;

  roam_timer **heap;
  size_t hn, hcap;
  roam_timer *timers; /* all timers (freed with the loop) */
  uint64_t now;
  uint64_t iter;
  uint64_t activity; /* bumped whenever application callbacks may have run */

  int wake_rfd, wake_wfd;
  roam_io *wake_io;
  atomic_bool stop;
  atomic_bool wake_pending;
  atomic_int running;
  pthread_t thread;
  atomic_ullong sig_pending;
  roam_signal_fn sig_fn[RT_MAX_SIGNAL + 1];
  void *sig_ud[RT_MAX_SIGNAL + 1];

  pthread_mutex_t post_mu;
  rt_task *post_head, *post_tail;

  /* links */
  roam_link *links;      /* all links */
  size_t nlinks;
  roam_link *dirty;      /* links with output to flush */
  roam_link *reap;       /* dead links waiting for on_close + free */
  bool has_deadlines;
  uint64_t sweep_due;     /* next idle sweep (link.c); UINT64_MAX: none due */
  int sweep_fd;           /* its timerfd (loop.c), or -1 */
  roam_io *sweep_io;
  bool sweep_failed;      /* no timerfd: the sweep is a deadline of the wait */
  size_t budget_stalled;  /* links waiting for their server's memory budget */
  uint8_t *rbuf;
  size_t rbuf_size;
  uint32_t spin_max_us; /* roam_loop_options.wait_spin_us (0: never) */
  uint32_t spin_us;     /* the current polling budget of run_until */

  /* objects freed with the loop */
  roam_listener *listeners;
  roam_server *servers;
  roam_client *clients;
  bool freeing;

  /* driven by another event loop (roam_loop_new_driven, loop.h) */
  bool driven;
  int in_drive;          /* inside a drive entry point */
  bool poked;            /* a zero-delay timer was asked for */
  uint64_t drv_deadline; /* what the driver's timer is armed for */
  roam_loop_driver drv;
};

/* env.c: the debugging switches. The loop's log, when the application
 * gave none: stderr if a switch is set. */
void rt_env_loop_log(roam_log_fn *log, void **user_data);
/* Apply the switches to a session the runtime creates (after its log
 * defaults): the wire spy flag; stderr when it has no log callback. */
void rt_env_session(roam_session_config *cfg);
void rt_log(roam_loop *loop, roam_log_level lvl, const char *fmt, ...) RT_PRINTF(3, 4);
/* Internal io registration (embedded or allocated). */
void rt_io_init(roam_loop *loop, roam_io *io, int fd, roam_io_fn fn, void *ud);
int rt_io_start(roam_io *io, unsigned events);
void rt_io_release(roam_io *io); /* stop; free later unless embedded */
bool rt_loop_on_thread(const roam_loop *loop);
/* Something changed outside a loop iteration (output, a timer, a link to
 * reap): a driven loop asks its driver to run an iteration soon. */
void rt_loop_touch(roam_loop *loop);

/* ---- links (link.c) ----------------------------------------------------- */

#define RT_EAGER_FLUSH_DEFAULT 1024
#define RT_WAIT_SPIN_DEFAULT_US 50
#define RT_CHANNEL_WINDOW_DEFAULT (1024u * 1024)

/* Shared, refcounted link configuration (one per listener, server, client). */
typedef struct rt_budget rt_budget;

typedef struct rt_link_conf {
  int refs;
  rt_budget *budget; /* a server's memory budget (a reference), or NULL */
  roam_link_options opts;
  char *name; /* copy of opts.session.name */
  char *ws_origins; /* copy of opts.ws_origins */
  /* run when the last reference goes (after every session using it was
   * freed): frees a dispatcher owned by a server */
  void (*cleanup)(roam_loop *loop, void *ctx);
  void *cleanup_ctx;
} rt_link_conf;

int rt_link_conf_new(roam_loop *loop, const roam_link_options *opts, rt_link_conf **out);
void rt_link_conf_unref(roam_loop *loop, rt_link_conf *c);

/* Internal owner of a link (server, client, listener): notified before the
 * user hooks (open, ready) and after them (close). */
typedef struct rt_link_owner {
  void (*on_open)(roam_link *link, void *ctx);
  void (*on_ready)(roam_link *link, void *ctx);
  void (*on_close)(roam_link *link, int err, roam_bytes reason, void *ctx);
  /* The output fell to half the high-water mark (only when want_drain). */
  void (*on_drain)(roam_link *link, void *ctx);
  /* A listener accepted fd (peer: its address text; ws: the listener's
   * WebSocket address, NULL for a byte stream): return true when the owner
   * took it (hand-off to another loop), false to serve it here. */
  bool (*on_accept)(int fd, const char *peer, const struct rt_addr *ws, void *ctx);
} rt_link_owner;

typedef enum rt_link_state {
  RT_LINK_CONNECTING = 0,
  RT_LINK_OPEN,
  RT_LINK_FLUSHING, /* session closed; writing what is left */
  RT_LINK_DRAINING, /* write side shut down; reading until EOF */
  RT_LINK_DEAD      /* fd closed; waiting to be reaped */
} rt_link_state;

struct roam_link {
  roam_loop *loop;
  roam_session *s;
  rt_link_conf *conf;
  const rt_link_owner *owner;
  void *owner_ctx;
  void *ud;
  roam_io io;
  rt_link_state state;
  bool is_socket;
  bool in_dirty;
  bool in_reap;
  bool pause_user;
  bool pause_bp;     /* input held back because output is above high water */
  bool ready;
  bool abort_req;
  bool closed_reported;
  bool opened;       /* on_open ran */
  bool want_drain;   /* the owner waits for the output to drain */
  bool write_failed;
  bool in_feed; /* feed() is handing the loop's read buffer to the session */
  bool pause_budget; /* not reading: the server's memory budget is spent */
  bool trim_ready;   /* handshake done: trim once the output is out */
  bool o_member;
  uint8_t idle_sweeps; /* idle sweeps passed without I/O (RT_IDLE_TRIM: trimmed) */
  int close_err;
  int fail_err;      /* why a connect failed (reported instead of CLOSED) */
  uint8_t *close_reason;
  size_t close_reason_len;
  uint8_t *pend;     /* input not consumed by the session */
  size_t pend_len, pend_off;
  size_t charged;           /* bytes charged to conf->budget */
  uint64_t stall_since;     /* pause_budget since then, or last write */
  uint64_t conn_deadline;   /* connecting */
  uint64_t linger_deadline; /* flushing / draining */
  struct addrinfo *ai_list, *ai_cur;
  char *peer;
  roam_link *prev, *next;   /* loop->links */
  roam_link *dirty_next;
  roam_link *reap_next;
  roam_link *o_prev, *o_next; /* owner's list (server) */
  roam_job *jobs; /* deferred requests (job.c) */
  struct rt_ws *ws; /* WebSocket transport (ws_link.c); NULL = byte stream */
};

/* Create a link on fd (connected or connecting: ai != NULL). */
int rt_link_create(roam_loop *loop, int fd, roam_role role, rt_link_conf *conf,
                   const rt_link_owner *owner, void *owner_ctx, const char *peer,
                   bool connecting, roam_link **out);
/* The same for an accepted connection that speaks WebSocket (a = its
 * listener's ws:// address). */
int rt_link_create_ws(roam_loop *loop, int fd, rt_link_conf *conf, const rt_link_owner *owner,
                      void *owner_ctx, const char *peer, const rt_addr *a);
int rt_link_connect(roam_loop *loop, const char *addr, rt_link_conf *conf,
                    const rt_link_owner *owner, void *owner_ctx, roam_link **out);
/* Output bytes waiting in the session, and the level below which the
 * application may add more (half the session's output_high_water). */
size_t rt_link_out(const roam_link *l);
void rt_link_kick(roam_link *l); /* flush at the end of this iteration */
void rt_link_flush_now(roam_link *l); /* send what the socket takes, now */
size_t rt_link_low_water(const roam_link *l);
/* Loop phases. */
void rt_links_flush_dirty(roam_loop *loop);
void rt_links_reap(roam_loop *loop);
/* Tick sessions that are due and return the earliest deadline of all. */
uint64_t rt_links_timeouts(roam_loop *loop);
void rt_links_free_all(roam_loop *loop);

/* Used by the WebSocket glue (ws_link.c). */
void rt_link_kill(roam_link *l, int err);
void rt_link_update_events(roam_link *l);
void rt_link_set_want_write(roam_link *l, bool on);

/* A link's buffers go back (roam_session_trim) once it saw no I/O for two
 * idle sweeps in a row: 0.5 to 1 s after it went quiet. */
#define RT_IDLE_SWEEP_MS 500
#define RT_IDLE_TRIM 2
/* After the Hello exchange, once nothing waits to be sent: the handshake's
 * buffers go back at once (a link often stays idle from then on; once per
 * link, so no cost on the fast path). */
static inline void rt_link_trim_after_hello(roam_link *l) {
  if (l->trim_ready && !roam_session_want_write(l->s)) {
    l->trim_ready = false;
    roam_session_trim(l->s);
  }
}
/* The link did I/O: it is not idle (keeps its buffers for now). */
void rt_loop_arm_sweep(roam_loop *loop, uint64_t due); /* loop.c */
static inline void rt_link_busy(roam_link *l) {
  l->idle_sweeps = 0;
  if (l->loop->sweep_due == UINT64_MAX) rt_loop_arm_sweep(l->loop, l->loop->now + RT_IDLE_SWEEP_MS);
}

/* ---- the server's memory budget (budget.c) ------------------------------ */

#define RT_BUDGET_DEFAULT (12u << 20)
#define RT_BUDGET_ALLOWANCE_DEFAULT (16u << 10)
#define RT_BUDGET_STALL_DEFAULT 10000
#define RT_BUDGET_RETRY_MS 10

struct rt_budget {
  const roam_mem *mem;
  atomic_int refs; /* server confs (one per loop) */
  size_t limit, allowance;
  uint64_t stall_ms;
  atomic_size_t used, peak;
  atomic_ullong stalls, closed;
};

int rt_budget_new(const roam_mem *mem, size_t limit, size_t allowance, uint64_t stall_ms,
                  rt_budget **out);
rt_budget *rt_budget_ref(rt_budget *b);
void rt_budget_unref(rt_budget *b);
/* Charge (or give back) the difference between what the link holds beyond
 * its allowance and what it was charged so far. */
void rt_budget_settle(roam_link *l);
/* How many bytes the link may read now (at most cap); 0: it stalls (stops
 * reading until rt_budget_check lets it go on). */
size_t rt_budget_read_limit(roam_link *l, size_t cap);
/* A stalled link: read again if the budget has room, close it after the
 * stall timeout. Returns when to check again (UINT64_MAX: not stalled). */
uint64_t rt_budget_check(roam_link *l, uint64_t now);
void rt_budget_unstall(roam_link *l);

/* ---- WebSocket links (ws_link.c) ----------------------------------------- */

/* Give a new link (session in message mode) its WebSocket transport. */
int rt_ws_attach(roam_link *l, const rt_addr *a, bool server);
void rt_ws_detach(roam_link *l);
void rt_ws_connected(roam_link *l); /* client: TCP is up, send the request */
void rt_ws_read(roam_link *l);      /* the socket is readable (link open) */
/* Write what the session and the codec have. false: the link waits (for
 * writability) or died; true: everything is out (the caller may close). */
bool rt_ws_flush(roam_link *l);
size_t rt_ws_out(const roam_link *l); /* bytes waiting to be sent */
/* Bytes the WebSocket codec holds: a message received in part, framed
 * output, input held back (the session's own output not included). */
size_t rt_ws_held(const roam_link *l);
void rt_ws_trim(roam_link *l); /* the link is idle: give back empty buffers */
/* Whether ws:// addresses work in this build (libwslay and nettle found). */
bool rt_ws_supported(void);

/* ---- other objects freed with the loop ----------------------------------- */
void rt_listener_free_all(roam_loop *loop);
void rt_server_free_all(roam_loop *loop);
void rt_client_free_all(roam_loop *loop);

struct roam_listener {
  roam_loop *loop;
  roam_io *io;
  roam_timer *retry; /* re-enables accepting after EMFILE */
  int fd;
  rt_link_conf *conf;
  const rt_link_owner *owner;
  void *owner_ctx;
  char address[160];
  int port;
  char unix_path[110]; /* to unlink; "" for none */
  roam_listener *prev, *next; /* loop->listeners */
  roam_listener *o_next;      /* server's list */
  bool detached;              /* owned by a server, not in loop list */
  rt_addr *ws;                /* ws:// listener: its address (path); else NULL */
};

/* Create a listener with an owner (server). */
int rt_listener_new(roam_loop *loop, const char *addr, rt_link_conf *conf,
                    const rt_link_owner *owner, void *owner_ctx, int backlog,
                    roam_listener **out);

/* ---- jobs, worker pool, job channels (job.c, pool.c, job_chan.c) --------- */

typedef struct rt_xchan rt_xchan;

struct roam_job {
  const roam_mem *mem; /* the loop's */
  roam_loop *loop;
  roam_link *link;    /* loop thread; NULL once the link is gone */
  roam_request *req;  /* loop thread; NULL once answered or the link gone */
  roam_job *l_prev, *l_next; /* link->jobs */
  uint64_t method_id;
  uint8_t *payload;
  size_t len;
  atomic_bool cancelled;
  /* blocking handler and the pool queue */
  roam_blocking_fn bfn;
  void *bud;
  roam_job *q_next;
  /* the answer, written by the answering thread before it is posted */
  int kind; /* 0 ok, 1 user error, 2 error code */
  int err;
  uint8_t *resp;
  size_t resp_len;
  rt_xchan *xchans; /* channels bound through the job (its thread) */
};

/* The link is going away: its jobs can only be released now. */
void rt_jobs_link_gone(roam_link *l);
/* Wait until the job's output channels handed their values to the
 * session (before the answer is posted). */
void rt_xchans_drain(roam_job *job);
/* The job is answered: its channels forget it. */
void rt_xchans_detach(roam_job *job);

typedef struct rt_pool rt_pool;
int rt_pool_new(const roam_mem *mem, uint32_t threads, rt_pool **out);
/* Queue a job with bfn set; returns 0 or ROAM_ERR_STATE (stopping). */
int rt_pool_push(rt_pool *p, roam_job *job);
/* Stop: wait for running handlers, answer queued jobs Err(Cancelled). */
void rt_pool_free(rt_pool *p);
uint32_t rt_pool_threads(const rt_pool *p);
size_t rt_pool_queued(rt_pool *p);
uint64_t rt_pool_run(rt_pool *p);

/* Job channels behind roam_chan (chan.c forwards to these). */
/* A channel's allocation hooks (src/gen allocates through them). */
const roam_mem *roam__chan_mem(const roam_chan *ch);
roam_chan *rt_chan_wrap(const roam_mem *mem, rt_xchan *x, uint64_t id, int dir);
int rt_xchan_send(rt_xchan *x, const void *value, size_t len, uint64_t timeout_ms);
int rt_xchan_close(rt_xchan *x);
int rt_xchan_recv(rt_xchan *x, roam_bytes *value, uint64_t timeout_ms);
size_t rt_xchan_buffered(rt_xchan *x);
void rt_xchan_release(rt_xchan *x); /* the application's roam_chan_free */

#endif
