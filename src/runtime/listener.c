/* Listening sockets: every accepted connection becomes an acceptor link. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rt_internal.h"

static void on_retry(roam_timer *t, void *ud) {
  (void)t;
  roam_listener *ls = ud;
  rt_io_start(ls->io, ROAM_IO_READ);
}

static void on_accept(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w;
  (void)events;
  roam_listener *ls = ud;
  roam_loop *loop = ls->loop;
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      rt_log(loop, ROAM_LOG_WARN, "accept on %s: %s", ls->address, strerror(errno));
      if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
          ls->retry) {
        /* out of descriptors: stop accepting for a moment instead of spinning */
        rt_io_start(ls->io, 0);
        roam_timer_start(ls->retry, 100, 0);
      }
      return;
    }
    char peer[192];
    if (ss.ss_family == AF_UNIX)
      snprintf(peer, sizeof peer, "%s#%d", ls->address, c);
    else
      rt_sockaddr_text((struct sockaddr *)&ss, len, peer, sizeof peer);
    if (ss.ss_family != AF_UNIX) rt_tcp_nodelay(c);
    if (ls->owner && ls->owner->on_accept && ls->owner->on_accept(c, peer, ls->ws, ls->owner_ctx)) {
      if (w->dead) return;
      continue; /* handed to another loop */
    }
    int r = ls->ws ? rt_link_create_ws(loop, c, ls->conf, ls->owner, ls->owner_ctx, peer, ls->ws)
                   : rt_link_create(loop, c, ROAM_ROLE_ACCEPTOR, ls->conf, ls->owner,
                                    ls->owner_ctx, peer, false, NULL);
    if (r != 0) {
      rt_log(loop, ROAM_LOG_WARN, "accepted link on %s: %s", ls->address, roam_strerror(r));
      close(c);
    }
    if (w->dead) return; /* listener freed from a hook */
  }
}

int rt_listener_new(roam_loop *loop, const char *addr, rt_link_conf *conf,
                    const rt_link_owner *owner, void *owner_ctx, int backlog,
                    roam_listener **out) {
  if (loop->freeing) return ROAM_ERR_STATE;
  rt_addr a;
  int r = rt_addr_parse(addr, true, &a);
  if (r != 0) return r;
  if (a.ws && !rt_ws_supported()) {
    rt_log(loop, ROAM_LOG_ERROR, "%s: this build has no WebSocket support (libwslay, nettle)", addr);
    return ROAM_ERR_ADDRESS;
  }
  roam_listener *ls = roam__calloc(&loop->mem, sizeof *ls);
  if (!ls) return ROAM_ERR_NOMEM;
  ls->loop = loop;
  int fd = rt_listen_socket(&a, backlog, ls->address, sizeof ls->address, &ls->port);
  if (fd < 0) {
    roam__free(&loop->mem, ls);
    return fd;
  }
  if (a.ws) { /* "ws://" + the bound host:port + the path */
    ls->ws = roam__malloc(&loop->mem, sizeof a);
    if (!ls->ws) {
      close(fd);
      roam__free(&loop->mem, ls);
      return ROAM_ERR_NOMEM;
    }
    *ls->ws = a;
    char hp[sizeof ls->address];
    snprintf(hp, sizeof hp, "%s", ls->address + 6); /* after "tcp://" */
    snprintf(ls->address, sizeof ls->address, "ws://%.100s%.50s", hp, a.ws_path);
  }
  ls->fd = fd;
  if (a.kind == RT_ADDR_UNIX && a.path[0] != '@') snprintf(ls->unix_path, sizeof ls->unix_path, "%s", a.path);
  r = roam_io_new(loop, fd, ROAM_IO_READ, on_accept, ls, &ls->io);
  if (r != 0) {
    close(fd);
    if (ls->unix_path[0]) unlink(ls->unix_path);
    roam__free(&loop->mem, ls->ws);
    roam__free(&loop->mem, ls);
    return r;
  }
  if (roam_timer_new(loop, on_retry, ls, &ls->retry) != 0) ls->retry = NULL;
  ls->conf = conf;
  conf->refs++;
  ls->owner = owner;
  ls->owner_ctx = owner_ctx;
  ls->next = loop->listeners;
  if (loop->listeners) loop->listeners->prev = ls;
  loop->listeners = ls;
  *out = ls;
  return 0;
}

int roam_listen(roam_loop *loop, const char *addr, const roam_link_options *link_opts,
                int backlog, roam_listener **out) {
  if (!loop || !addr || !out) return ROAM_ERR_INVALID_ARG;
  rt_link_conf *c;
  int r = rt_link_conf_new(loop, link_opts, &c);
  if (r != 0) return r;
  r = rt_listener_new(loop, addr, c, NULL, NULL, backlog, out);
  rt_link_conf_unref(loop, c);
  return r;
}

const char *roam_listener_address(const roam_listener *l) { return l ? l->address : ""; }
int roam_listener_port(const roam_listener *l) { return l ? l->port : 0; }

void roam_listener_free(roam_listener *ls) {
  if (!ls) return;
  roam_loop *loop = ls->loop;
  if (!ls->detached) {
    if (ls->prev)
      ls->prev->next = ls->next;
    else
      loop->listeners = ls->next;
    if (ls->next) ls->next->prev = ls->prev;
  }
  roam_timer_free(ls->retry);
  rt_io_release(ls->io); /* memory freed after the current dispatch */
  ls->io = NULL;
  close(ls->fd);
  if (ls->unix_path[0]) unlink(ls->unix_path);
  rt_link_conf_unref(loop, ls->conf);
  roam__free(&loop->mem, ls->ws);
  roam__free(&loop->mem, ls);
}

void rt_listener_free_all(roam_loop *loop) {
  while (loop->listeners) roam_listener_free(loop->listeners);
}
