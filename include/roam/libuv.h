/*
 * roam-libuv: run roam-c's runtime on a libuv loop (link with
 * `pkg-config --libs roam-libuv`).
 *
 *   uv_loop_t *uv = uv_default_loop();
 *   roam_loop *loop;
 *   roam_libuv_loop_new(uv, NULL, &loop);
 *   roam_server_new(loop, ...) / roam_link_connect(loop, ...) /
 *   roam_client_new(..., opts.loop = loop) ...
 *   uv_run(uv, UV_RUN_DEFAULT);
 *   roam_loop_free(loop);
 *   uv_run(uv, UV_RUN_NOWAIT);   // lets the adapter's handles close
 *
 * Every link, listener and armed runtime timer is an active libuv handle
 * (uv_run keeps running while there are any); the wakeup (uv_async_t) is
 * unreferenced. The callback APIs work as on a roam_loop; the blocking ones
 * return ROAM_ERR_STATE (see roam/loop.h). Threads: the loop belongs to the
 * thread running uv_run, which must be the one that created it; other
 * threads use roam_loop_post, roam_client_submit(_wait) and the
 * thread-safe respond path, as with a roam_loop.
 */
#ifndef ROAM_LIBUV_H
#define ROAM_LIBUV_H

#include <uv.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a roam_loop driven by uv (which must outlive it). opts as for
 * roam_loop_new (NULL = defaults; its mem hooks also serve the adapter).
 * Free with roam_loop_free(), then let uv run once more. */
ROAM_EXTERN int roam_libuv_loop_new(uv_loop_t *uv, const roam_loop_options *opts,
                                    roam_loop **out);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_LIBUV_H */
