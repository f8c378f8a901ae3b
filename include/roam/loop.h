/*
 * roam-c loop driver interface: run the runtime (links, servers, clients,
 * timers, posted tasks) on an event loop that the application already owns
 * (libuv, libevent, a game loop, ...), in the spirit of hiredis's adapters.
 *
 * The runtime needs only three things from a loop:
 *   - watch an fd for readability / writability (level-triggered),
 *   - one timer (the runtime keeps its own timer heap and session deadlines
 *     behind it and always asks for the earliest),
 *   - a thread-safe wakeup, so that roam_loop_post() and the thread-safe
 *     client and respond paths reach the loop thread.
 * A roam_loop created with roam_loop_new_driven() gets these from a
 * roam_loop_driver instead of its built-in epoll/poll backend (which is the
 * other implementation of the same interface). The driver calls back into
 * the runtime with roam_loop_drive_io(), roam_loop_drive_timer() and
 * roam_loop_drive_wake(); each runs the callbacks that are due and then
 * flushes output, reaps closed links and re-arms the timer.
 *
 * Ready-made drivers: roam/libuv.h (roam-libuv), roam/libevent.h
 * (roam-libevent). A driver for another loop is about 150 lines; see
 * src/adapters/ and docs/embedding.md.
 *
 * A driven loop must not be run with roam_loop_run / run_once / run_until
 * (ROAM_ERR_STATE): blocking functions (roam_client_call, roam_chan_send,
 * roam_client_wait_ready, ...) therefore return ROAM_ERR_STATE on it; use
 * the callback APIs (roam_client_call_async, the session's own API) on the
 * loop thread, and roam_client_submit / roam_client_submit_wait from other
 * threads. The loop thread is the thread that created the driven loop.
 *
 * Thread-safety: every function here belongs to the loop thread except the
 * driver's wake op, which the runtime calls from any thread (and from
 * signal handlers when roam_loop_signal / roam_loop_stop are used: it must
 * then be async-signal-safe, as uv_async_send is).
 */
#ifndef ROAM_LOOP_H
#define ROAM_LOOP_H

#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct roam_loop_driver {
  void *ctx; /* first argument of every op */
  /* Watch fd for events (ROAM_IO_READ | ROAM_IO_WRITE, level-triggered;
   * 0 = stop watching it for now). The same io may be watched again later,
   * possibly with another fd (the old one is then closed): compare fds.
   * Report readiness with roam_loop_drive_io(io, what happened), including
   * ROAM_IO_ERROR for errors and hang-ups. Returns 0 or non-zero on
   * failure. Keep per-io state with roam_io_set_driver_data(). */
  int (*watch)(void *ctx, roam_io *io, int fd, unsigned events);
  /* The io is going away (after watch(..., 0)): release its state. */
  void (*unwatch)(void *ctx, roam_io *io);
  /* Arm the one timer to call roam_loop_drive_timer() after delay_ms
   * (0 = as soon as possible, from the loop, never from inside this op);
   * UINT64_MAX = disarm. Replaces any earlier setting. */
  void (*set_timer)(void *ctx, uint64_t delay_ms);
  /* Thread-safe wakeup: make the loop call roam_loop_drive_wake() soon.
   * Optional: NULL = the runtime watches an eventfd of its own through
   * watch() (that watcher then counts as an active fd for the loop). */
  void (*wake)(void *ctx);
  /* roam_loop_free() is done with the driver: release ctx. */
  void (*detach)(void *ctx);
} roam_loop_driver;

/* Create a loop driven by drv (copied). opts as for roam_loop_new (its
 * backend is ignored; roam_loop_get_backend() says
 * ROAM_LOOP_BACKEND_DRIVER). On failure detach is not called. */
ROAM_EXTERN int roam_loop_new_driven(roam_loop **out, const roam_loop_options *opts,
                                     const roam_loop_driver *drv);

/* Driver entry points (loop thread). */
ROAM_EXTERN void roam_loop_drive_io(roam_io *io, unsigned events);
ROAM_EXTERN void roam_loop_drive_timer(roam_loop *loop);
ROAM_EXTERN void roam_loop_drive_wake(roam_loop *loop);

ROAM_EXTERN void *roam_io_driver_data(const roam_io *io);
ROAM_EXTERN void roam_io_set_driver_data(roam_io *io, void *data);
ROAM_EXTERN roam_loop *roam_io_loop(const roam_io *io);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_LOOP_H */
