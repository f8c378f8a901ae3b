/*
 * roam-libevent: the loop driver (roam/loop.h) for libevent. One persistent
 * struct event per watched fd, one timer event for the runtime's earliest
 * deadline; the wakeup for other threads is the runtime's own eventfd,
 * watched like any fd (no libevent threading support needed).
 */
#include <stdbool.h>
#include <string.h>

#include <roam/libevent.h>

typedef struct evd {
  roam_mem mem;
  struct event_base *base;
  roam_loop *loop;
  struct event *timer;
} evd;

static void on_event(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  unsigned ev = 0;
  if (what & EV_READ) ev |= ROAM_IO_READ;
  if (what & EV_WRITE) ev |= ROAM_IO_WRITE;
  roam_loop_drive_io(arg, ev);
}

static int evd_watch(void *ctx, roam_io *io, int fd, unsigned events) {
  evd *d = ctx;
  struct event *e = roam_io_driver_data(io);
  if (e && (event_get_fd(e) != fd || events == 0)) {
    event_free(e);
    roam_io_set_driver_data(io, NULL);
    e = NULL;
  }
  if (events == 0) return 0;
  short what = (short)(EV_PERSIST | ((events & ROAM_IO_READ) ? EV_READ : 0) |
                       ((events & ROAM_IO_WRITE) ? EV_WRITE : 0));
  if (e) {
    if (event_get_events(e) == what) return 0;
    event_del(e);
    if (event_assign(e, d->base, fd, what, on_event, io) != 0) return -1;
  } else {
    e = event_new(d->base, fd, what, on_event, io);
    if (!e) return -1;
    roam_io_set_driver_data(io, e);
  }
  return event_add(e, NULL) == 0 ? 0 : -1;
}

static void evd_unwatch(void *ctx, roam_io *io) {
  (void)ctx;
  struct event *e = roam_io_driver_data(io);
  if (e) event_free(e);
  roam_io_set_driver_data(io, NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  evd *d = arg;
  if (d->loop) roam_loop_drive_timer(d->loop);
}

static void evd_set_timer(void *ctx, uint64_t delay_ms) {
  evd *d = ctx;
  if (delay_ms == UINT64_MAX) {
    evtimer_del(d->timer);
    return;
  }
  struct timeval tv;
  tv.tv_sec = (time_t)(delay_ms / 1000);
  tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
  evtimer_add(d->timer, &tv);
}

static void evd_free(evd *d) {
  if (d->timer) event_free(d->timer);
  d->mem.free(d, d->mem.user_data);
}

static void evd_detach(void *ctx) { evd_free(ctx); }

int roam_libevent_loop_new(struct event_base *base, const roam_loop_options *opts,
                           roam_loop **out) {
  if (!base || !out) return ROAM_ERR_INVALID_ARG;
  const roam_mem *m = opts && opts->mem ? opts->mem : roam_mem_default();
  evd *d = m->malloc(sizeof *d, m->user_data);
  if (!d) return ROAM_ERR_NOMEM;
  memset(d, 0, sizeof *d);
  d->mem = *m;
  d->base = base;
  d->timer = evtimer_new(base, on_timer, d);
  if (!d->timer) {
    evd_free(d);
    return ROAM_ERR_NOMEM;
  }
  roam_loop_driver drv = {d, evd_watch, evd_unwatch, evd_set_timer, NULL, evd_detach};
  roam_loop *loop;
  int r = roam_loop_new_driven(&loop, opts, &drv);
  if (r != 0) {
    evd_free(d);
    return r;
  }
  d->loop = loop;
  *out = loop;
  return 0;
}
