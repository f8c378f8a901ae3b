/*
 * roam-c on a libuv loop: a Testbed-style echo server and a client calling
 * it, both on the application's uv_loop_t, next to a libuv timer of the
 * application's own. Build: cc main.c $(pkg-config --cflags --libs roam-libuv)
 *
 * The client makes CALLS echo calls one after the other (each started from
 * the previous one's callback), checks every answer, then shuts the server
 * down gracefully; uv_run returns once nothing is left. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <roam/libuv.h>
#include <roam/runtime.h>
#include <roam/testbed_ids.h>

#define CALLS 1000

typedef struct app {
  roam_server *srv;
  roam_client *cli;
  int done, failed;
  int ticks; /* the application's own timer still runs */
  uv_timer_t tick;
} app;

/* echo(String) -> String: the answer is the argument's bytes */
static void echo(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  roam_bytes args = roam_request_payload(req);
  roam_request_respond_ok(req, args.ptr, args.len);
}

static void call_next(app *a);

static void server_gone(roam_server *srv, void *ud) {
  app *a = ud;
  roam_server_free(srv);
  a->srv = NULL;
  uv_close((uv_handle_t *)&a->tick, NULL); /* nothing else keeps uv_run going */
}

static void on_reply(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  app *a = ud;
  static const uint8_t want[] = {5, 'h', 'e', 'l', 'l', 'o'};
  if (res->status != 0 || res->value.len != sizeof want ||
      memcmp(res->value.ptr, want, sizeof want) != 0) {
    fprintf(stderr, "example-libuv: call %d: %s\n", a->done, roam_strerror(res->status));
    a->failed++;
  }
  if (++a->done < CALLS && !a->failed) {
    call_next(a);
    return;
  }
  roam_server_shutdown(a->srv, 1000, server_gone, a);
}

static void call_next(app *a) {
  static const uint8_t arg[] = {5, 'h', 'e', 'l', 'l', 'o'}; /* postcard ("hello",) */
  int r = roam_client_call_async(a->cli, ROAM_TESTBED_ECHO, arg, sizeof arg, NULL, on_reply, a);
  if (r != 0) {
    fprintf(stderr, "example-libuv: call: %s\n", roam_strerror(r));
    a->failed++;
  }
}

static void on_tick(uv_timer_t *t) { ((app *)t->data)->ticks++; }

int main(void) {
  uv_loop_t uv;
  uv_loop_init(&uv);
  app a;
  memset(&a, 0, sizeof a);
  roam_loop *loop;
  int r = roam_libuv_loop_new(&uv, NULL, &loop);
  roam_listener *ls = NULL;
  if (r == 0) r = roam_server_new(loop, NULL, &a.srv);
  if (r == 0) r = roam_server_handle(a.srv, ROAM_TESTBED_ECHO, echo, NULL);
  if (r == 0) r = roam_server_listen(a.srv, "tcp://127.0.0.1:0", &ls);
  if (r == 0) {
    roam_client_options co;
    roam_client_options_init(&co);
    co.loop = loop;
    r = roam_client_new(&a.cli, roam_listener_address(ls), &co);
  }
  if (r != 0) {
    fprintf(stderr, "example-libuv: setup: %s\n", roam_strerror(r));
    return 1;
  }
  uv_timer_init(&uv, &a.tick);
  a.tick.data = &a;
  uv_timer_start(&a.tick, on_tick, 1, 1);
  call_next(&a); /* waits for the handshake inside the client */

  uv_run(&uv, UV_RUN_DEFAULT);

  roam_client_free(a.cli);
  roam_loop_free(loop);
  uv_run(&uv, UV_RUN_NOWAIT); /* the adapter's handles close */
  if (uv_loop_close(&uv) != 0) {
    fprintf(stderr, "example-libuv: handles left on the loop\n");
    return 1;
  }
  if (a.failed || a.done != CALLS) {
    fprintf(stderr, "example-libuv: %d of %d calls done, %d failed\n", a.done, CALLS, a.failed);
    return 1;
  }
  printf("example-libuv: %d echo calls over libuv, the application's timer ticked %d times\n",
         a.done, a.ticks);
  return 0;
}
