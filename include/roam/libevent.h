/*
 * roam-libevent: run roam-c's runtime on a libevent event_base (link with
 * `pkg-config --libs roam-libevent`).
 *
 *   struct event_base *base = event_base_new();
 *   roam_loop *loop;
 *   roam_libevent_loop_new(base, NULL, &loop);
 *   roam_server_new(loop, ...) / roam_link_connect(loop, ...) ...
 *   event_base_dispatch(base);     // until event_base_loopbreak()
 *   roam_loop_free(loop);
 *
 * The runtime's wakeup for other threads is an eventfd watched through the
 * base, so the base always has an event and event_base_dispatch() returns
 * only on event_base_loopbreak() / loopexit(). The callback APIs work as on
 * a roam_loop; the blocking ones return ROAM_ERR_STATE (see roam/loop.h).
 * Threads: the loop belongs to the thread that dispatches the base, which
 * must be the one that created it; libevent's own locking is not needed.
 */
#ifndef ROAM_LIBEVENT_H
#define ROAM_LIBEVENT_H

#include <event2/event.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a roam_loop driven by base (which must outlive it). opts as for
 * roam_loop_new (NULL = defaults; its mem hooks also serve the adapter).
 * Free with roam_loop_free(). */
ROAM_EXTERN int roam_libevent_loop_new(struct event_base *base, const roam_loop_options *opts,
                                       roam_loop **out);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_LIBEVENT_H */
