/* Server: one dispatcher, any number of listeners, their links, graceful
 * shutdown. */
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

typedef struct rt_handler {
  struct rt_handler *next;
  roam_server *srv; /* NULL once the server is freed */
  roam_handler_fn fn;
  void *ud;
} rt_handler;

/* What outlives the server until the last of its sessions is freed. */
typedef struct rt_srv_shared {
  roam_dispatcher *disp;
  rt_handler *handlers;
} rt_srv_shared;

struct roam_server {
  roam_loop *loop;
  roam_server_options opts;
  rt_link_conf *conf;
  rt_srv_shared *sh;
  roam_listener *listeners;
  roam_link *links;
  size_t nlinks;
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

static void srv_link_open(roam_link *l, void *ctx) {
  roam_server *srv = ctx;
  if (srv->shutting || (srv->opts.max_links && srv->nlinks >= srv->opts.max_links)) {
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
  if (srv->opts.on_link_open) srv->opts.on_link_open(srv, l, srv->opts.user_data);
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
    srv->opts.on_link_close(srv, l, err, reason, srv->opts.user_data);
}

static const rt_link_owner g_srv_owner = {
    .on_open = srv_link_open,
    .on_ready = NULL,
    .on_close = srv_link_close,
};

/* ---- handlers -------------------------------------------------------------- */

static void handler_tramp(roam_session *s, roam_request *req, void *ud) {
  rt_handler *h = ud;
  if (!h->srv || h->srv->shutting) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  h->fn(s, req, h->ud);
}

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
  srv->next = loop->servers;
  if (loop->servers) loop->servers->prev = srv;
  loop->servers = srv;
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

int roam_server_handle(roam_server *srv, uint64_t method_id, roam_handler_fn fn, void *ud) {
  if (!srv || !fn) return ROAM_ERR_INVALID_ARG;
  rt_handler *h = roam__calloc(&srv->loop->mem, sizeof *h);
  if (!h) return ROAM_ERR_NOMEM;
  h->srv = srv;
  h->fn = fn;
  h->ud = ud;
  int r = roam_dispatcher_add(srv->sh->disp, method_id, handler_tramp, h);
  if (r != 0) {
    roam__free(&srv->loop->mem, h);
    return r;
  }
  h->next = srv->sh->handlers;
  srv->sh->handlers = h;
  return 0;
}

roam_dispatcher *roam_server_dispatcher(roam_server *srv) { return srv ? srv->sh->disp : NULL; }
size_t roam_server_link_count(const roam_server *srv) { return srv ? srv->nlinks : 0; }
roam_loop *roam_server_loop(const roam_server *srv) { return srv ? srv->loop : NULL; }

int roam_server_listen(roam_server *srv, const char *addr, roam_listener **out) {
  if (!srv || !addr) return ROAM_ERR_INVALID_ARG;
  if (srv->shutting) return ROAM_ERR_STATE;
  roam_listener *ls;
  int r = rt_listener_new(srv->loop, addr, srv->conf, &g_srv_owner, srv, srv->opts.backlog, &ls);
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
  if (srv->nlinks == 0) {
    roam_timer_stop(srv->shut_timer);
    void (*done)(roam_server *, void *) = srv->done;
    srv->done = NULL;
    if (done) done(srv, srv->done_ud); /* may free srv */
  }
}

int roam_server_shutdown(roam_server *srv, uint64_t deadline_ms,
                         void (*done)(roam_server *srv, void *ud), void *ud) {
  if (!srv) return ROAM_ERR_INVALID_ARG;
  if (srv->shutting) return ROAM_ERR_STATE;
  srv->shutting = true;
  srv->done = done;
  srv->done_ud = ud;
  close_listeners(srv);
  srv->shutdown_deadline = roam_now_ms() + deadline_ms;
  int r = roam_timer_new(srv->loop, shutdown_check, srv, &srv->shut_timer);
  if (r != 0) return r;
  /* check at once (from the next iteration), then every 5 ms */
  return roam_timer_start(srv->shut_timer, 0, 5);
}

void roam_server_free(roam_server *srv) {
  if (!srv) return;
  roam_loop *loop = srv->loop;
  close_listeners(srv);
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
