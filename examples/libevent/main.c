/*
 * roam-c on a libevent event_base: an echo server and a client calling it,
 * both on the application's base, next to a libevent timer of the
 * application's own. Build: cc main.c $(pkg-config --cflags --libs
 * roam-libevent)
 *
 * The client makes CALLS echo calls one after the other (each started from
 * the previous one's callback), checks every answer, then shuts the server
 * down gracefully and breaks the event loop. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <roam/libevent.h>
#include <roam/runtime.h>
#include <roam/testbed_ids.h>

#define CALLS 1000

typedef struct app {
  struct event_base *base;
  roam_server *srv;
  roam_client *cli;
  int done, failed;
  int ticks; /* the application's own timer still runs */
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
  event_base_loopbreak(a->base);
}

static void on_reply(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  app *a = ud;
  static const uint8_t want[] = {5, 'h', 'e', 'l', 'l', 'o'};
  if (res->status != 0 || res->value.len != sizeof want ||
      memcmp(res->value.ptr, want, sizeof want) != 0) {
    fprintf(stderr, "example-libevent: call %d: %s\n", a->done, roam_strerror(res->status));
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
    fprintf(stderr, "example-libevent: call: %s\n", roam_strerror(r));
    a->failed++;
  }
}

static void on_tick(evutil_socket_t fd, short what, void *ud) {
  (void)fd, (void)what;
  ((app *)ud)->ticks++;
}

int main(void) {
  app a;
  memset(&a, 0, sizeof a);
  a.base = event_base_new();
  if (!a.base) return 1;
  roam_loop *loop;
  int r = roam_libevent_loop_new(a.base, NULL, &loop);
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
    fprintf(stderr, "example-libevent: setup: %s\n", roam_strerror(r));
    return 1;
  }
  struct event *tick = event_new(a.base, -1, EV_PERSIST, on_tick, &a);
  struct timeval ms = {0, 1000};
  event_add(tick, &ms);
  call_next(&a); /* waits for the handshake inside the client */

  event_base_dispatch(a.base);

  event_free(tick);
  roam_client_free(a.cli);
  roam_loop_free(loop);
  event_base_free(a.base);
  if (a.failed || a.done != CALLS) {
    fprintf(stderr, "example-libevent: %d of %d calls done, %d failed\n", a.done, CALLS,
            a.failed);
    return 1;
  }
  printf("example-libevent: %d echo calls over libevent, the application's timer ticked %d "
         "times\n", a.done, a.ticks);
  return 0;
}
