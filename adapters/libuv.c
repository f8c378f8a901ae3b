/*
 * roam-libuv: the loop driver (roam/loop.h) for libuv. One uv_poll_t per
 * watched fd, one uv_timer_t for the runtime's earliest deadline, one
 * unreferenced uv_async_t as the thread-safe (and async-signal-safe)
 * wakeup. libuv closes handles asynchronously, so the adapter's state lives
 * until its last handle's close callback, after roam_loop_free.
 */
#include <stdbool.h>
#include <string.h>

#include <roam/libuv.h>

typedef struct uvd {
  roam_mem mem;
  uv_loop_t *uv;
  roam_loop *loop;
  uv_timer_t timer;
  uv_async_t async;
  int handles; /* not yet closed */
  bool detached;
} uvd;

typedef struct uvd_io {
  uv_poll_t poll;
  uvd *d;
  roam_io *io; /* NULL once the runtime let go of it */
  int fd;
} uvd_io;

static void uvd_release(uvd *d) {
  if (--d->handles == 0 && d->detached) d->mem.free(d, d->mem.user_data);
}

static void on_poll_closed(uv_handle_t *h) {
  uvd_io *p = h->data;
  uvd *d = p->d;
  d->mem.free(p, d->mem.user_data);
  uvd_release(d);
}

static void on_own_closed(uv_handle_t *h) { uvd_release(h->data); }

static void on_poll(uv_poll_t *h, int status, int events) {
  uvd_io *p = h->data;
  if (!p->io) return;
  unsigned ev = 0;
  if (status < 0) ev |= ROAM_IO_ERROR;
  if (events & UV_READABLE) ev |= ROAM_IO_READ;
  if (events & UV_WRITABLE) ev |= ROAM_IO_WRITE;
  roam_loop_drive_io(p->io, ev);
}

static void poll_close(roam_io *io, uvd_io *p) {
  roam_io_set_driver_data(io, NULL);
  p->io = NULL;
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

static int uvd_watch(void *ctx, roam_io *io, int fd, unsigned events) {
  uvd *d = ctx;
  uvd_io *p = roam_io_driver_data(io);
  /* A paused watcher is closed rather than stopped: the fd may be closed
   * and its number reused before the io is watched again. */
  if (p && (p->fd != fd || events == 0)) {
    poll_close(io, p);
    p = NULL;
  }
  if (events == 0) return 0;
  if (!p) {
    p = d->mem.malloc(sizeof *p, d->mem.user_data);
    if (!p) return -1;
    memset(p, 0, sizeof *p);
    if (uv_poll_init(d->uv, &p->poll, fd) != 0) {
      d->mem.free(p, d->mem.user_data);
      return -1;
    }
    p->poll.data = p;
    p->d = d;
    p->io = io;
    p->fd = fd;
    d->handles++;
    roam_io_set_driver_data(io, p);
  }
  int flags = ((events & ROAM_IO_READ) ? UV_READABLE : 0) |
              ((events & ROAM_IO_WRITE) ? UV_WRITABLE : 0);
  return uv_poll_start(&p->poll, flags, on_poll) == 0 ? 0 : -1;
}

static void uvd_unwatch(void *ctx, roam_io *io) {
  (void)ctx;
  uvd_io *p = roam_io_driver_data(io);
  if (p) poll_close(io, p);
}

static void on_timer(uv_timer_t *t) {
  uvd *d = t->data;
  if (d->loop) roam_loop_drive_timer(d->loop);
}

static void uvd_set_timer(void *ctx, uint64_t delay_ms) {
  uvd *d = ctx;
  if (delay_ms == UINT64_MAX)
    uv_timer_stop(&d->timer);
  else
    uv_timer_start(&d->timer, on_timer, delay_ms, 0);
}

static void on_async(uv_async_t *a) {
  uvd *d = a->data;
  if (d->loop) roam_loop_drive_wake(d->loop);
}

static void uvd_wake(void *ctx) {
  uvd *d = ctx;
  uv_async_send(&d->async);
}

static void uvd_close_own(uvd *d) {
  d->detached = true;
  d->loop = NULL;
  uv_close((uv_handle_t *)&d->timer, on_own_closed);
  uv_close((uv_handle_t *)&d->async, on_own_closed);
}

static void uvd_detach(void *ctx) { uvd_close_own(ctx); }

int roam_libuv_loop_new(uv_loop_t *uv, const roam_loop_options *opts, roam_loop **out) {
  if (!uv || !out) return ROAM_ERR_INVALID_ARG;
  const roam_mem *m = opts && opts->mem ? opts->mem : roam_mem_default();
  uvd *d = m->malloc(sizeof *d, m->user_data);
  if (!d) return ROAM_ERR_NOMEM;
  memset(d, 0, sizeof *d);
  d->mem = *m;
  d->uv = uv;
  if (uv_timer_init(uv, &d->timer) != 0) {
    d->mem.free(d, d->mem.user_data);
    return ROAM_ERR_IO;
  }
  d->timer.data = d;
  d->handles = 1;
  if (uv_async_init(uv, &d->async, on_async) != 0) {
    d->detached = true;
    uv_close((uv_handle_t *)&d->timer, on_own_closed);
    return ROAM_ERR_IO;
  }
  d->async.data = d;
  d->handles = 2;
  uv_unref((uv_handle_t *)&d->async);
  roam_loop_driver drv = {d, uvd_watch, uvd_unwatch, uvd_set_timer, uvd_wake, uvd_detach};
  roam_loop *loop;
  int r = roam_loop_new_driven(&loop, opts, &drv);
  if (r != 0) {
    uvd_close_own(d);
    return r;
  }
  d->loop = loop;
  *out = loop;
  return 0;
}
