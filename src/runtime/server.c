/* Server: one dispatcher, any number of listeners, their links, graceful
 * shutdown; optionally several loops (one thread each). */
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

typedef struct rt_handler {
  struct rt_handler *next;
  roam_server *srv; /* NULL once the server is freed */
  roam_handler_fn fn;
  void *ud;
  roam_blocking_fn bfn; /* blocking handler: runs on pool's threads */
  rt_pool *pool;
} rt_handler;

/* What outlives the server until the last of its sessions is freed. */
typedef struct rt_srv_shared {
  roam_dispatcher *disp;
  rt_handler *handlers;
} rt_srv_shared;

/* Several loops: the server runs on loop 0 (its own) and owns one child
 * server per other loop; the children's loops run in threads of their own.
 * Only the server's listeners accept; sockets are handed round-robin. */
typedef struct rt_srv_kid {
  roam_server *srv; /* the child server (on loop) */
  roam_loop *loop;
  pthread_t thread;
} rt_srv_kid;

/* What a child's "shutdown done" task needs once the server may be gone. */
typedef struct rt_srv_group {
  atomic_int refs;
  const roam_mem *mem; /* loop 0's, which outlives every task */
  roam_server *srv; /* NULL once the server is freed (its loop thread only) */
} rt_srv_group;

struct roam_server {
  roam_loop *loop;
  roam_server_options opts;
  rt_link_conf *conf;
  rt_srv_shared *sh;
  roam_listener *listeners;
  roam_link *links;
  _Atomic size_t nlinks; /* read by other threads for the statistics */
  atomic_ullong accepted, requests;
  roam_server *parent; /* a child: the server it serves for */
  rt_srv_kid *kids;    /* loops 1..nkids */
  uint32_t nkids;
  bool kids_started;
  uint32_t kids_busy;  /* children still shutting down */
  uint64_t next_loop;  /* round-robin hand-off */
  rt_srv_group *group;
  rt_pool *pool; /* worker threads of blocking handlers (all loops) */
  bool shutting;
  uint64_t shutdown_deadline;
  roam_timer *shut_timer;
  void (*done)(roam_server *srv, void *ud);
  void *done_ud;
  roam_server *prev, *next;
};

void roam_server_options_init(roam_server_options *opts) {
  memset(opts, 0, sizeof *opts);
  roam_link_options_init(&opts->link);
}

static void shared_cleanup(roam_loop *loop, void *ctx) {
  rt_srv_shared *sh = ctx;
  roam_dispatcher_free(sh->disp);
  while (sh->handlers) {
    rt_handler *h = sh->handlers;
    sh->handlers = h->next;
    roam__free(&loop->mem, h);
  }
  roam__free(&loop->mem, sh);
}

/* ---- link ownership ------------------------------------------------------ */

static size_t srv_total_links(const roam_server *srv);
/* What the application sees: the server it created, also on other loops. */
static roam_server *srv_public(roam_server *srv) { return srv->parent ? srv->parent : srv; }

static void srv_link_open(roam_link *l, void *ctx) {
  roam_server *srv = ctx;
  if (srv->shutting || (srv->opts.max_links && srv_total_links(srv) >= srv->opts.max_links)) {
    if (!srv->shutting)
      rt_log(srv->loop, ROAM_LOG_WARN, "server: link limit (%u) reached, closing %s",
             (unsigned)srv->opts.max_links, roam_link_peer(l));
    l->owner = NULL;
    roam_link_abort(l);
    return;
  }
  l->o_member = true;
  l->o_prev = NULL;
  l->o_next = srv->links;
  if (srv->links) srv->links->o_prev = l;
  srv->links = l;
  srv->nlinks++;
  srv->accepted++;
  if (srv->opts.on_link_open) srv->opts.on_link_open(srv_public(srv), l, srv->opts.user_data);
}

static void srv_unlink(roam_server *srv, roam_link *l) {
  if (!l->o_member) return;
  if (l->o_prev)
    l->o_prev->o_next = l->o_next;
  else
    srv->links = l->o_next;
  if (l->o_next) l->o_next->o_prev = l->o_prev;
  l->o_prev = l->o_next = NULL;
  l->o_member = false;
  srv->nlinks--;
}

static void srv_link_close(roam_link *l, int err, roam_bytes reason, void *ctx) {
  roam_server *srv = ctx;
  bool member = l->o_member;
  srv_unlink(srv, l);
  if (member && srv->opts.on_link_close)
    srv->opts.on_link_close(srv_public(srv), l, err, reason, srv->opts.user_data);
}

static bool srv_accept(int fd, const char *peer, const rt_addr *ws, void *ctx);

static const rt_link_owner g_srv_owner = {
    .on_open = srv_link_open,
    .on_ready = NULL,
    .on_close = srv_link_close,
    .on_accept = srv_accept,
};

/* ---- handlers -------------------------------------------------------------- */

static void handler_tramp(roam_session *s, roam_request *req, void *ud) {
  rt_handler *h = ud;
  if (!h->srv || h->srv->shutting) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  h->srv->requests++;
  h->fn(s, req, h->ud);
}

static int srv_make_kids(roam_server *srv);

int roam_server_new(roam_loop *loop, const roam_server_options *opts, roam_server **out) {
  if (!loop || !out) return ROAM_ERR_INVALID_ARG;
  if (loop->freeing) return ROAM_ERR_STATE;
  roam_server *srv = roam__calloc(&loop->mem, sizeof *srv);
  if (!srv) return ROAM_ERR_NOMEM;
  srv->loop = loop;
  if (opts)
    srv->opts = *opts;
  else
    roam_server_options_init(&srv->opts);
  srv->sh = roam__calloc(&loop->mem, sizeof *srv->sh);
  if (!srv->sh) goto nomem;
  srv->sh->disp = roam_dispatcher_new(&loop->mem);
  if (!srv->sh->disp) goto nomem;
  roam_link_options lo = srv->opts.link;
  lo.dispatcher = srv->sh->disp;
  lo.user_data = srv->opts.user_data;
  if (rt_link_conf_new(loop, &lo, &srv->conf) != 0) goto nomem;
  srv->conf->cleanup = shared_cleanup;
  srv->conf->cleanup_ctx = srv->sh;
  if (srv->opts.memory_budget != SIZE_MAX &&
      rt_budget_new(&loop->mem,
                    srv->opts.memory_budget ? srv->opts.memory_budget : RT_BUDGET_DEFAULT,
                    srv->opts.memory_link_allowance ? srv->opts.memory_link_allowance
                                                    : RT_BUDGET_ALLOWANCE_DEFAULT,
                    srv->opts.memory_stall_ms ? srv->opts.memory_stall_ms : RT_BUDGET_STALL_DEFAULT,
                    &srv->conf->budget) != 0) {
    rt_link_conf_unref(loop, srv->conf); /* frees sh */
    roam__free(&loop->mem, srv);
    return ROAM_ERR_NOMEM;
  }
  srv->next = loop->servers;
  if (loop->servers) loop->servers->prev = srv;
  loop->servers = srv;
  if (srv->opts.loops > 1) {
    int r = srv_make_kids(srv);
    if (r != 0) {
      roam_server_free(srv);
      return r;
    }
  }
  *out = srv;
  return 0;
nomem:
  if (srv->sh) {
    roam_dispatcher_free(srv->sh->disp);
    roam__free(&loop->mem, srv->sh);
  }
  roam__free(&loop->mem, srv);
  return ROAM_ERR_NOMEM;
}

/* Register h (allocated on the server's loop, its function set) behind the
 * trampoline; frees h when the dispatcher refuses it. */
static int srv_add_handler(roam_server *srv, uint64_t method_id, roam_handler_fn tramp,
                           rt_handler *h, void *ud) {
  h->srv = srv;
  h->ud = ud;
  int r = roam_dispatcher_add(srv->sh->disp, method_id, tramp, h);
  if (r != 0) {
    roam__free(&srv->loop->mem, h);
    return r;
  }
  h->next = srv->sh->handlers;
  srv->sh->handlers = h;
  return 0;
}

int roam_server_handle(roam_server *srv, uint64_t method_id, roam_handler_fn fn, void *ud) {
  if (!srv || !fn) return ROAM_ERR_INVALID_ARG;
  if (srv->kids_started) return ROAM_ERR_STATE; /* other threads read the tables */
  for (uint32_t i = 0; i < srv->nkids; i++) {
    int r = roam_server_handle(srv->kids[i].srv, method_id, fn, ud);
    if (r != 0) return r;
  }
  rt_handler *h = roam__calloc(&srv->loop->mem, sizeof *h);
  if (!h) return ROAM_ERR_NOMEM;
  h->fn = fn;
  return srv_add_handler(srv, method_id, handler_tramp, h, ud);
}

roam_dispatcher *roam_server_dispatcher(roam_server *srv) { return srv ? srv->sh->disp : NULL; }
size_t roam_server_link_count(const roam_server *srv) { return srv ? srv_total_links(srv) : 0; }
roam_loop *roam_server_loop(const roam_server *srv) { return srv ? srv->loop : NULL; }

static int srv_start_kids(roam_server *srv);

int roam_server_listen(roam_server *srv, const char *addr, roam_listener **out) {
  if (!srv || !addr) return ROAM_ERR_INVALID_ARG;
  if (srv->shutting) return ROAM_ERR_STATE;
  roam_listener *ls;
  int r = srv_start_kids(srv);
  if (r != 0) return r;
  r = rt_listener_new(srv->loop, addr, srv->conf, &g_srv_owner, srv, srv->opts.backlog, &ls);
  if (r != 0) return r;
  /* the server owns it: take it off the loop's list */
  roam_loop *loop = srv->loop;
  if (ls->prev)
    ls->prev->next = ls->next;
  else
    loop->listeners = ls->next;
  if (ls->next) ls->next->prev = ls->prev;
  ls->prev = ls->next = NULL;
  ls->detached = true;
  ls->o_next = srv->listeners;
  srv->listeners = ls;
  if (out) *out = ls;
  return 0;
}

int roam_server_adopt_fd(roam_server *srv, int fd, roam_link **out) {
  if (!srv || fd < 0) return ROAM_ERR_INVALID_ARG;
  if (srv->shutting) return ROAM_ERR_STATE;
  if (srv_start_kids(srv) != 0) return ROAM_ERR_IO;
  if (rt_set_nonblock(fd) != 0) return ROAM_ERR_IO;
  return rt_link_create(srv->loop, fd, ROAM_ROLE_ACCEPTOR, srv->conf, &g_srv_owner, srv, "fd",
                        false, out);
}

static void close_listeners(roam_server *srv) {
  while (srv->listeners) {
    roam_listener *ls = srv->listeners;
    srv->listeners = ls->o_next;
    roam_listener_free(ls); /* detached: not on the loop's list */
  }
}

static void shutdown_check(roam_timer *t, void *ud) {
  (void)t;
  roam_server *srv = ud;
  roam_loop *loop = srv->loop;
  bool late = loop->now >= srv->shutdown_deadline;
  for (roam_link *l = srv->links; l; l = l->o_next) {
    if (l->state != RT_LINK_OPEN && l->state != RT_LINK_CONNECTING) continue;
    if (roam_session_is_closed(l->s)) continue;
    bool idle = late;
    if (!idle) {
      roam_session_stats st;
      roam_session_get_stats(l->s, &st);
      idle = st.requests_in_flight == 0;
    }
    if (idle) roam_link_close(l);
  }
  if (srv->nlinks == 0 && srv->kids_busy == 0) {
    roam_timer_stop(srv->shut_timer);
    void (*done)(roam_server *, void *) = srv->done;
    srv->done = NULL;
    if (done) done(srv, srv->done_ud); /* may free srv */
  }
}

static void srv_shutdown_kids(roam_server *srv, uint64_t deadline_ms);

int roam_server_shutdown(roam_server *srv, uint64_t deadline_ms,
                         void (*done)(roam_server *srv, void *ud), void *ud) {
  if (!srv) return ROAM_ERR_INVALID_ARG;
  if (srv->shutting) return ROAM_ERR_STATE;
  srv->shutting = true;
  srv->done = done;
  srv->done_ud = ud;
  close_listeners(srv);
  srv->shutdown_deadline = roam_now_ms() + deadline_ms;
  srv_shutdown_kids(srv, deadline_ms);
  int r = roam_timer_new(srv->loop, shutdown_check, srv, &srv->shut_timer);
  if (r != 0) return r;
  /* check at once (from the next iteration), then every 5 ms */
  return roam_timer_start(srv->shut_timer, 0, 5);
}

static void srv_free_kids(roam_server *srv);

void roam_server_free(roam_server *srv) {
  if (!srv) return;
  roam_loop *loop = srv->loop;
  close_listeners(srv);
  /* running blocking handlers finish (their answers are posted to loops
   * still alive); queued ones are answered Err(Cancelled) */
  rt_pool_free(srv->pool);
  srv->pool = NULL;
  srv_free_kids(srv);
  roam_timer_free(srv->shut_timer);
  for (rt_handler *h = srv->sh->handlers; h; h = h->next) h->srv = NULL;
  while (srv->links) {
    roam_link *l = srv->links;
    srv_unlink(srv, l);
    l->owner = NULL;
    roam_link_abort(l);
  }
  if (srv->prev)
    srv->prev->next = srv->next;
  else
    loop->servers = srv->next;
  if (srv->next) srv->next->prev = srv->prev;
  /* the dispatcher goes with the last session that uses it */
  rt_link_conf_unref(loop, srv->conf);
  roam__free(&loop->mem, srv);
}

void rt_server_free_all(roam_loop *loop) {
  while (loop->servers) roam_server_free(loop->servers);
}

/* ------------------------------------------------------------------------ */
/* several loops                                                             */
/* ------------------------------------------------------------------------ */

static size_t srv_total_links(const roam_server *srv) {
  if (srv->parent) srv = srv->parent;
  size_t n = atomic_load_explicit(&srv->nlinks, memory_order_relaxed);
  for (uint32_t i = 0; i < srv->nkids; i++)
    n += atomic_load_explicit(&srv->kids[i].srv->nlinks, memory_order_relaxed);
  return n;
}

void roam_server_get_stats(const roam_server *srv, roam_server_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!srv) return;
  if (srv->parent) srv = srv->parent;
  out->loops = srv->nkids + 1;
  out->links = srv_total_links(srv);
  out->links_accepted = atomic_load_explicit(&srv->accepted, memory_order_relaxed);
  out->requests = atomic_load_explicit(&srv->requests, memory_order_relaxed);
  out->workers = rt_pool_threads(srv->pool);
  out->jobs_queued = rt_pool_queued(srv->pool);
  out->jobs_run = rt_pool_run(srv->pool);
  const rt_budget *b = srv->conf->budget;
  if (b) {
    out->memory_budget = b->limit;
    out->memory_used = atomic_load_explicit(&b->used, memory_order_relaxed);
    out->memory_peak = atomic_load_explicit(&b->peak, memory_order_relaxed);
    out->memory_stalls = atomic_load_explicit(&b->stalls, memory_order_relaxed);
    out->memory_closed = atomic_load_explicit(&b->closed, memory_order_relaxed);
  }
  for (uint32_t i = 0; i < srv->nkids; i++) {
    const roam_server *k = srv->kids[i].srv;
    out->links_accepted += atomic_load_explicit(&k->accepted, memory_order_relaxed);
    out->requests += atomic_load_explicit(&k->requests, memory_order_relaxed);
  }
}

static int srv_make_kids(roam_server *srv) {
  roam_loop *loop = srv->loop;
  uint32_t n = srv->opts.loops - 1;
  srv->group = roam__calloc(&loop->mem, sizeof *srv->group);
  srv->kids = roam__calloc(&loop->mem, n * sizeof *srv->kids);
  if (!srv->group || !srv->kids) return ROAM_ERR_NOMEM;
  atomic_init(&srv->group->refs, 1);
  srv->group->mem = &loop->mem;
  srv->group->srv = srv;
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.mem = &loop->mem;
  lo.log = loop->log;
  lo.log_user_data = loop->log_ud;
  lo.read_buffer_size = loop->rbuf_size;
  roam_server_options ko = srv->opts;
  ko.loops = 1;
  ko.max_links = 0; /* the server counts for all loops when it hands off */
  for (uint32_t i = 0; i < n; i++) {
    rt_srv_kid *k = &srv->kids[i];
    int r = roam_loop_new(&k->loop, &lo);
    if (r == 0) {
      r = roam_server_new(k->loop, &ko, &k->srv);
      if (r != 0) roam_loop_free(k->loop);
    }
    if (r != 0) return r; /* roam_server_free frees the kids made so far */
    k->srv->parent = srv;
    /* one budget for all loops */
    rt_budget_unref(k->srv->conf->budget);
    k->srv->conf->budget = rt_budget_ref(srv->conf->budget);
    srv->nkids++;
  }
  return 0;
}

static void *kid_main(void *arg) {
  rt_srv_kid *k = arg;
  int r = roam_loop_run(k->loop);
  if (r != 0) rt_log(k->loop, ROAM_LOG_ERROR, "server loop thread: %s", roam_strerror(r));
  return NULL;
}

static int srv_start_kids(roam_server *srv) {
  if (srv->kids_started || srv->nkids == 0) return 0;
  for (uint32_t i = 0; i < srv->nkids; i++) {
    if (pthread_create(&srv->kids[i].thread, NULL, kid_main, &srv->kids[i]) != 0) {
      /* serve with the loops that run */
      rt_log(srv->loop, ROAM_LOG_ERROR, "server: cannot start loop thread %u", (unsigned)i + 1);
      roam_loop_free(srv->kids[i].loop);
      memmove(&srv->kids[i], &srv->kids[i + 1], (srv->nkids - i - 1) * sizeof *srv->kids);
      srv->nkids--;
      i--;
      continue;
    }
  }
  srv->kids_started = true;
  return 0;
}

/* An accepted socket for another loop. */
/* Records handed between loop threads use loop 0's allocator (loop 0
 * outlives the other loops and every task posted to them). */
typedef struct rt_handoff {
  const roam_mem *mem;
  roam_server *kid;
  int fd;
  bool is_ws;
  rt_addr ws; /* is_ws: the listener's WebSocket address (a copy) */
  char peer[];
} rt_handoff;

static void handoff_task(roam_loop *loop, void *ud) {
  rt_handoff *h = ud;
  roam_server *kid = h->kid;
  if (!loop) {
    close(h->fd);
    roam__free(h->mem, h);
    return;
  }
  int r = kid->shutting ? ROAM_ERR_STATE
          : h->is_ws   ? rt_link_create_ws(loop, h->fd, kid->conf, &g_srv_owner, kid, h->peer, &h->ws)
                       : rt_link_create(loop, h->fd, ROAM_ROLE_ACCEPTOR, kid->conf, &g_srv_owner,
                                        kid, h->peer, false, NULL);
  if (r != 0) {
    if (r != ROAM_ERR_STATE) rt_log(loop, ROAM_LOG_WARN, "accepted link: %s", roam_strerror(r));
    close(h->fd);
  }
  roam__free(h->mem, h);
}

/* Listener hook (loop 0): keep the socket (false) or hand it to the next
 * loop in turn. */
static bool srv_accept(int fd, const char *peer, const rt_addr *ws, void *ctx) {
  roam_server *srv = ctx;
  if (srv->nkids == 0 || srv->shutting) return false;
  uint32_t i = (uint32_t)(srv->next_loop++ % (srv->nkids + 1));
  if (i == 0) return false;
  if (srv->opts.max_links && srv_total_links(srv) >= srv->opts.max_links) {
    rt_log(srv->loop, ROAM_LOG_WARN, "server: link limit (%u) reached, closing %s",
           (unsigned)srv->opts.max_links, peer);
    close(fd);
    return true;
  }
  size_t n = strlen(peer) + 1;
  rt_handoff *h = roam__malloc(&srv->loop->mem, sizeof *h + n);
  if (!h) return false;
  h->mem = &srv->loop->mem;
  h->kid = srv->kids[i - 1].srv;
  h->fd = fd;
  h->is_ws = ws != NULL;
  if (ws) h->ws = *ws;
  memcpy(h->peer, peer, n);
  if (roam_loop_post(srv->kids[i - 1].loop, handoff_task, h) != 0) {
    roam__free(h->mem, h);
    return false;
  }
  return true;
}

static void group_unref(rt_srv_group *g) {
  if (atomic_fetch_sub(&g->refs, 1) == 1) roam__free(g->mem, g);
}

/* Loop 0: a child finished its shutdown. */
static void kid_done_task(roam_loop *loop, void *ud) {
  rt_srv_group *g = ud;
  roam_server *srv = g->srv;
  if (loop && srv && srv->kids_busy > 0) srv->kids_busy--;
  group_unref(g);
}

static void kid_done(roam_server *kid, void *ud) {
  rt_srv_group *g = ud;
  atomic_fetch_add(&g->refs, 1);
  if (roam_loop_post(kid->parent->loop, kid_done_task, g) != 0) atomic_fetch_sub(&g->refs, 1);
}

typedef struct rt_kid_shut {
  const roam_mem *mem;
  roam_server *kid;
  rt_srv_group *group;
  uint64_t deadline_ms;
} rt_kid_shut;

static void kid_shutdown_task(roam_loop *loop, void *ud) {
  rt_kid_shut *t = ud;
  if (loop) roam_server_shutdown(t->kid, t->deadline_ms, kid_done, t->group);
  roam__free(t->mem, t);
}

static void srv_shutdown_kids(roam_server *srv, uint64_t deadline_ms) {
  if (!srv->kids_started) return;
  for (uint32_t i = 0; i < srv->nkids; i++) {
    rt_kid_shut *t = roam__malloc(&srv->loop->mem, sizeof *t);
    if (!t) continue; /* that loop's links end with the server */
    t->mem = &srv->loop->mem;
    t->kid = srv->kids[i].srv;
    t->group = srv->group;
    t->deadline_ms = deadline_ms;
    if (roam_loop_post(srv->kids[i].loop, kid_shutdown_task, t) != 0) {
      roam__free(t->mem, t);
      continue;
    }
    srv->kids_busy++;
  }
}

static void kid_stop_task(roam_loop *loop, void *ud) {
  rt_srv_kid *k = ud;
  if (!loop) return;
  roam_server_free(k->srv); /* aborts its links */
  k->srv = NULL;
  roam_loop_stop(loop);
}

/* Stop every loop thread and free the children with their loops. */
static void srv_free_kids(roam_server *srv) {
  for (uint32_t i = 0; i < srv->nkids; i++) {
    rt_srv_kid *k = &srv->kids[i];
    if (srv->kids_started) {
      if (roam_loop_post(k->loop, kid_stop_task, k) != 0) roam_loop_stop(k->loop);
      pthread_join(k->thread, NULL);
    }
    roam_loop_free(k->loop); /* frees the child if still there */
  }
  roam__free(&srv->loop->mem, srv->kids);
  srv->kids = NULL;
  srv->nkids = 0;
  if (srv->group) {
    srv->group->srv = NULL;
    group_unref(srv->group); /* tasks still queued on loop 0 hold references */
    srv->group = NULL;
  }
}

/* ------------------------------------------------------------------------ */
/* blocking handlers                                                         */
/* ------------------------------------------------------------------------ */

static void blocking_tramp(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  rt_handler *h = ud;
  if (!h->srv || h->srv->shutting) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  h->srv->requests++;
  roam_job *job;
  int r = roam_request_defer(req, &job);
  if (r != 0) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  job->bfn = h->bfn;
  job->bud = h->ud;
  if (rt_pool_push(h->pool, job) != 0) roam_job_respond_error(job, ROAM_ERR_REMOTE_CANCELLED);
}

static int srv_add_blocking(roam_server *srv, uint64_t method_id, roam_blocking_fn fn, void *ud,
                            rt_pool *pool) {
  rt_handler *h = roam__calloc(&srv->loop->mem, sizeof *h);
  if (!h) return ROAM_ERR_NOMEM;
  h->bfn = fn;
  h->pool = pool;
  return srv_add_handler(srv, method_id, blocking_tramp, h, ud);
}

int roam_server_handle_blocking(roam_server *srv, uint64_t method_id, roam_blocking_fn fn,
                                void *ud) {
  if (!srv || !fn || srv->parent) return ROAM_ERR_INVALID_ARG;
  if (srv->kids_started) return ROAM_ERR_STATE; /* other threads read the tables */
  if (!srv->pool) {
    int r = rt_pool_new(&srv->loop->mem, srv->opts.workers, &srv->pool);
    if (r != 0) return r;
  }
  int r = srv_add_blocking(srv, method_id, fn, ud, srv->pool);
  for (uint32_t i = 0; r == 0 && i < srv->nkids; i++)
    r = srv_add_blocking(srv->kids[i].srv, method_id, fn, ud, srv->pool);
  return r;
}
