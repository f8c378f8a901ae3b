/*
 * roam-demo: a guided tour of roam-c. It starts a Testbed server (its own
 * event loop, in a second thread) and talks to it as a client over a Unix
 * socket in a temporary directory, one step at a time, printing what each
 * step shows and what came back. Exit status 0 only if every step went as
 * expected.
 *
 *   roam-demo          over a Unix socket
 *   roam-demo --ws     over WebSocket (ws://127.0.0.1:<free port>/demo), the
 *                      transport browsers use
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roam/diag.h>
#include <roam/runtime.h>

#include "testbed_service.h"

#define TIMEOUT_MS 5000
/* A method of the demo server that answers only when told to (or when the
 * caller cancels): it keeps a call in flight for as long as we want. */
#define DEMO_HOLD UINT64_C(0xde70de70de70de70)
#define NO_SUCH_METHOD UINT64_C(0x0123456789abcdef)

static int failures;

static void step(int n, const char *title, const char *why) {
  printf("\n%d. %s\n   %s\n", n, title, why);
}

static void result(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(bool ok, const char *fmt, ...) {
  if (!ok) failures++;
  printf("   %s ", ok ? "✓" : "✗ UNEXPECTED:");
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/* ---- the server, in its own thread ------------------------------------------------- */

typedef struct server {
  roam_loop *loop;
  roam_server *srv;
  pthread_t thread;
  roam_request *held;       /* the DEMO_HOLD call being held (server thread only) */
  atomic_int holds_started; /* read by the client thread */
  atomic_int holds_cancelled;
  char address[160]; /* where it listens (the port picked for port 0) */
} server;

static void hold_cancelled(roam_request *r, int why, void *ud) {
  (void)why;
  server *sv = ud;
  if (sv->held == r) sv->held = NULL;
  roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED); /* only releases the handle */
  atomic_fetch_add(&sv->holds_cancelled, 1);
}

static void h_hold(roam_session *s, roam_request *r, void *ud) {
  (void)s;
  server *sv = ud;
  sv->held = r;
  roam_request_set_cancel_cb(r, hold_cancelled, sv);
  atomic_fetch_add(&sv->holds_started, 1);
}

/* Posted to the server loop: answer the held call. */
static void release_hold(roam_loop *loop, void *ud) {
  server *sv = ud;
  if (!loop || !sv->held) return;
  static const uint8_t released[] = {8, 'r', 'e', 'l', 'e', 'a', 's', 'e', 'd'};
  roam_request_respond_ok(sv->held, released, sizeof released);
  sv->held = NULL;
}

static void on_link_open(roam_server *srv, roam_link *link, void *ud) {
  (void)srv, (void)ud;
  roam_session_listen(roam_link_session(link), true); /* accept virtual connections */
}

static void on_connect(roam_link *link, uint64_t connect_id, const roam_metadata *md, void *ud) {
  (void)md;
  server *sv = ud;
  roam_session_accept(roam_link_session(link), connect_id, NULL, 0,
                      roam_server_dispatcher(sv->srv), NULL);
}

static void *server_thread(void *arg) {
  server *sv = arg;
  roam_loop_run(sv->loop);
  return NULL;
}

static void shutdown_done(roam_server *srv, void *ud) {
  (void)ud;
  roam_loop_stop(roam_server_loop(srv));
}

static void start_shutdown(roam_loop *loop, void *ud) {
  server *sv = ud;
  if (!loop) return;
  if (roam_server_shutdown(sv->srv, 2000, shutdown_done, NULL) != 0) roam_loop_stop(loop);
}

static int server_start(server *sv, const char *addr) {
  memset(sv, 0, sizeof *sv);
  int rc = roam_loop_new(&sv->loop, NULL);
  if (rc) return rc;
  roam_server_options so;
  roam_server_options_init(&so);
  so.link.session.name = "demo-server";
  so.link.on_connect = on_connect;
  so.on_link_open = on_link_open;
  so.user_data = sv;
  rc = roam_server_new(sv->loop, &so, &sv->srv);
  if (rc == 0) rc = roam_testbed_register_with(roam_gen_add_server, sv->srv);
  if (rc == 0) rc = roam_server_handle(sv->srv, DEMO_HOLD, h_hold, sv);
  roam_listener *ls = NULL;
  if (rc == 0) rc = roam_server_listen(sv->srv, addr, &ls);
  if (rc == 0) snprintf(sv->address, sizeof sv->address, "%s", roam_listener_address(ls));
  if (rc == 0 && pthread_create(&sv->thread, NULL, server_thread, sv) != 0) rc = ROAM_ERR_NOMEM;
  if (rc) roam_loop_free(sv->loop);
  roam_diag_set_method_name(DEMO_HOLD, "Demo.hold");
  return rc;
}

static void server_stop(server *sv) {
  roam_loop_post(sv->loop, start_shutdown, sv);
  pthread_join(sv->thread, NULL);
  roam_loop_free(sv->loop); /* frees the server too */
}

/* ---- client helpers ------------------------------------------------------------ */

/* Options of the typed calls (roam-gen's stubs): a connection, a timeout. */
static const roam_call_opts *opts_on(uint64_t conn) {
  static roam_call_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.conn_id = conn;
  opts.timeout_ms = TIMEOUT_MS;
  return &opts;
}

/* Where decoded results live (reset after each step). */
static roam_arena arena;

static bool str_is(roam_str s, const char *want) {
  return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* A call made on the client's session directly, to get at its request id. */
typedef struct raw_call {
  bool done;
  int status;
  char value[32];
} raw_call;

static void raw_done(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  raw_call *rc = ud;
  rc->done = true;
  rc->status = res->status;
  roam_dec d;
  roam_dec_init(&d, res->value.ptr, res->value.len);
  roam_bytes v;
  if (res->status == 0 && roam_dec_str(&d, &v) == 0)
    snprintf(rc->value, sizeof rc->value, "%.*s", (int)v.len, v.ptr);
}

static bool raw_finished(void *ud) { return ((raw_call *)ud)->done; }

typedef struct counter {
  atomic_int *value;
  int target;
} counter;

static bool counter_reached(void *ud) {
  counter *c = ud;
  return atomic_load(c->value) >= c->target;
}

/* Pump the client loop until a counter the server thread increments
 * reaches its target. The server does not wake our loop, so pump in short
 * slices and look again. */
static bool wait_counter(roam_client *c, atomic_int *value, int target) {
  counter k = {value, target};
  uint64_t deadline = roam_now_ms() + TIMEOUT_MS;
  while (!counter_reached(&k) && roam_now_ms() < deadline)
    roam_loop_run_until(roam_client_loop(c), counter_reached, &k, 10);
  return counter_reached(&k);
}

/* ---- the steps ------------------------------------------------------------------- */

static void demo_echo(roam_client *c) {
  step(1, "echo",
       "A plain call: the Request carries the argument (a String), the Response the result.");
  roam_str got = {"", 0};
  int st = testbed_echo(c, roam_str_c("hello, roam"), &got, &arena, opts_on(0));
  result(st == 0 && str_is(got, "hello, roam"), "echo(\"hello, roam\") -> \"%.*s\"", (int)got.len,
         got.ptr);
  roam_arena_reset(&arena);
}

static void demo_user_error(roam_client *c) {
  step(2, "a user error",
       "divide returns Result<i64, MathError>: dividing by zero is the method's own error,\n"
       "   sent as Err(User(DivisionByZero)) -- the call itself worked.");
  int64_t q = 0;
  testbed_math_error err = TESTBED_MATH_ERROR_OVERFLOW;
  int st = testbed_divide(c, 1, 0, &q, &err, &arena, opts_on(0));
  bool ok = st == ROAM_ERR_REMOTE_USER && err == TESTBED_MATH_ERROR_DIVISION_BY_ZERO;
  result(ok, "divide(1, 0) -> Err(User(%s))",
         st == ROAM_ERR_REMOTE_USER ? testbed_math_error_name(err) : roam_strerror(st));
  roam_arena_reset(&arena);
}

static void demo_unknown_method(roam_client *c) {
  step(3, "an unknown method",
       "Methods are 64-bit ids (a hash of the signature). An id the server does not serve\n"
       "   gets Err(UnknownMethod); the link stays up.");
  roam_reply r;
  roam_client_call(c, NO_SUCH_METHOD, NULL, 0, opts_on(0), &r);
  result(r.status == ROAM_ERR_REMOTE_UNKNOWN_METHOD, "method 0x%016llx -> %s",
         (unsigned long long)NO_SUCH_METHOD,
         r.status == ROAM_ERR_REMOTE_UNKNOWN_METHOD ? "Err(UnknownMethod)"
                                                    : roam_strerror(r.status));
  roam_reply_free(&r);
}

static void demo_sum(roam_client *c) {
  step(4, "sum over a channel",
       "The caller opens a channel (Tx<i32>), passes its id in the call and streams values\n"
       "   on it after the Request; Close ends the stream and the server answers the total.");
  testbed_sum_call call;
  if (testbed_sum_start(c, opts_on(0), &call) != 0) {
    result(false, "cannot start the call");
    return;
  }
  for (int32_t i = 1; i <= 10; i++) testbed_sender_i32_send(&call.numbers, i, TIMEOUT_MS);
  testbed_sender_i32_close(&call.numbers);
  uint64_t id = roam_chan_id(call.numbers.chan);
  int64_t total = -1;
  int st = testbed_sum_finish(&call, &total, &arena, TIMEOUT_MS);
  if (st == ROAM_ERR_TIMEOUT) testbed_sum_abort(&call);
  result(st == 0 && total == 55, "sent 1, 2, ..., 10 on channel %llu, then Close -> sum = %lld",
         (unsigned long long)id, (long long)total);
  roam_arena_reset(&arena);
}

static void demo_generate(const char *addr) {
  step(5, "generate with flow control",
       "A second client that grants only 8 bytes of credit per channel: the server may send\n"
       "   8 bytes of values, then waits until the client returns credit (Credit messages).");
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.name = "demo-tiny-window";
  co.link.session.initial_channel_credit = 8; /* negotiated: the smaller of both sides */
  roam_client *c;
  int rc = roam_client_connect(&c, addr, &co, TIMEOUT_MS);
  if (rc) {
    result(false, "cannot connect: %s", roam_strerror(rc));
    return;
  }
  testbed_generate_call call;
  if (testbed_generate_start(c, 50, opts_on(0), &call) != 0) {
    result(false, "cannot start the call");
    roam_client_free(c);
    return;
  }
  int32_t next = 0, x = -1;
  bool in_order = true;
  while (testbed_receiver_i32_recv(&call.output, &x, &arena, TIMEOUT_MS) == 1) {
    if (x != next) in_order = false;
    next++;
  }
  int status = testbed_generate_finish(&call, TIMEOUT_MS);
  if (status == ROAM_ERR_TIMEOUT) testbed_generate_abort(&call);
  roam_session_stats st;
  roam_session_get_stats(roam_client_session(c), &st);
  bool ok = status == 0 && in_order && next == 50 && st.msgs_out[ROAM_MSG_CREDIT] >= 5;
  result(ok, "generate(50): %d values in order through an %u-byte window; the client sent %llu "
             "Credit messages (%llu bytes)",
         (int)next, roam_session_initial_credit(roam_client_session(c)),
         (unsigned long long)st.msgs_out[ROAM_MSG_CREDIT],
         (unsigned long long)st.credit_granted);
  roam_arena_reset(&arena);
  roam_client_free(c);
}

static void demo_transform(roam_client *c) {
  step(6, "transform",
       "Two channels in one call: strings go in on one, come back on the other.");
  static const char *const words[] = {"alpha", "beta", "gamma"};
  testbed_transform_call call;
  if (testbed_transform_start(c, opts_on(0), &call) != 0) {
    result(false, "cannot start the call");
    return;
  }
  for (size_t i = 0; i < 3; i++)
    testbed_sender_string_send(&call.input, roam_str_c(words[i]), TIMEOUT_MS);
  testbed_sender_string_close(&call.input);
  char back[64] = "";
  size_t n = 0, used = 0;
  bool ok = true;
  roam_str s;
  while (testbed_receiver_string_recv(&call.output, &s, &arena, TIMEOUT_MS) == 1) {
    ok = ok && n < 3 && str_is(s, words[n]);
    used += (size_t)snprintf(back + used, sizeof back - used, "%s\"%.*s\"", n ? ", " : "",
                             (int)s.len, s.ptr);
    if (used >= sizeof back) used = sizeof back - 1;
    n++;
  }
  int st = testbed_transform_finish(&call, TIMEOUT_MS);
  if (st == ROAM_ERR_TIMEOUT) testbed_transform_abort(&call);
  result(ok && n == 3 && st == 0, "sent \"alpha\", \"beta\", \"gamma\" -> got back %s", back);
  roam_arena_reset(&arena);
}

static void demo_virtual_connection(roam_client *c) {
  step(7, "a virtual connection",
       "Connect opens another connection on the same link, with its own request ids and\n"
       "   channels; the server accepts it and serves Testbed there too.");
  uint64_t conn_id = 0;
  int rc = roam_client_open_connection(c, NULL, 0, TIMEOUT_MS, &conn_id);
  if (rc) {
    result(false, "Connect failed: %s", roam_strerror(rc));
    return;
  }
  roam_str got = {"", 0};
  int st = testbed_echo(c, roam_str_c("hello from connection 2"), &got, &arena, opts_on(conn_id));
  result(st == 0 && str_is(got, "hello from connection 2"),
         "Accept gave connection id %llu; echo there -> \"%.*s\"", (unsigned long long)conn_id,
         (int)got.len, got.ptr);
  roam_arena_reset(&arena);
  roam_session_conn_close(roam_client_session(c), conn_id, ""); /* Goodbye on it only */
}

static void demo_cancel(roam_client *c, server *sv) {
  step(8, "a cancelled call",
       "Demo.hold does not answer on its own. The caller sends Cancel: the server's handler\n"
       "   is told, and the caller gets Err(Cancelled).");
  roam_session *s = roam_client_session(c);
  raw_call rc = {false, 0, ""};
  uint64_t rid = 0;
  int before = atomic_load(&sv->holds_started);
  int cancelled_before = atomic_load(&sv->holds_cancelled);
  if (roam_call(s, DEMO_HOLD, NULL, 0, NULL, raw_done, &rc, &rid) != 0) {
    result(false, "cannot start the call");
    return;
  }
  wait_counter(c, &sv->holds_started, before + 1); /* the server holds it now */
  roam_call_cancel(s, 0, rid);
  roam_loop_run_until(roam_client_loop(c), raw_finished, &rc, TIMEOUT_MS);
  bool handler_told = wait_counter(c, &sv->holds_cancelled, cancelled_before + 1);
  result(rc.done && rc.status == ROAM_ERR_REMOTE_CANCELLED && handler_told,
         "Demo.hold (request %llu) cancelled -> %s; the server's handler saw the cancel: %s",
         (unsigned long long)rid,
         rc.status == ROAM_ERR_REMOTE_CANCELLED ? "Err(Cancelled)" : roam_strerror(rc.status),
         handler_told ? "yes" : "no");
}

static void demo_diagnostics(roam_client *c, server *sv) {
  step(9, "a diagnostic dump",
       "While Demo.hold is in flight, roam_diag_dump() lists what every link is waiting for\n"
       "   (the same text SIGUSR1 writes to stderr). Then the server answers the call.");
  roam_session *s = roam_client_session(c);
  raw_call rc = {false, 0, ""};
  int before = atomic_load(&sv->holds_started);
  if (roam_call(s, DEMO_HOLD, NULL, 0, NULL, raw_done, &rc, NULL) != 0) {
    result(false, "cannot start the call");
    return;
  }
  wait_counter(c, &sv->holds_started, before + 1);
  usleep(300 * 1000); /* so that the call has been waiting a little */
  char *text = NULL;
  size_t len = 0;
  bool dumped = roam_diag_dump(&text, &len) == 0 && text;
  bool shows = dumped && strstr(text, "⬆") && strstr(text, "⬇") && strstr(text, "Demo.hold");
  if (dumped) {
    printf("   ---- roam_diag_dump() ----\n");
    for (const char *line = text; *line;) {
      const char *nl = strchr(line, '\n');
      int n = nl ? (int)(nl - line) : (int)strlen(line);
      printf("   | %.*s\n", n, line);
      line += n + (nl ? 1 : 0);
    }
    printf("   --------------------------\n");
  }
  free(text);
  roam_loop_post(sv->loop, release_hold, sv);
  roam_loop_run_until(roam_client_loop(c), raw_finished, &rc, TIMEOUT_MS);
  result(dumped && shows, "the dump shows Demo.hold outgoing (⬆, client) and incoming (⬇, server)");
  result(rc.done && rc.status == 0 && strcmp(rc.value, "released") == 0,
         "then the server answered: \"%s\"", rc.value);
}

int main(int argc, char **argv) {
  bool ws = argc == 2 && strcmp(argv[1], "--ws") == 0;
  if (argc > 1 && !ws) {
    fprintf(stderr, "usage: roam-demo [--ws]   (default: a Unix socket; --ws: WebSocket)\n");
    return 2;
  }
  char dir[] = "/tmp/roam-demo-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("roam-demo: mkdtemp");
    return 1;
  }
  char addr[160];
  snprintf(addr, sizeof addr, "unix:%s/testbed.sock", dir);
  if (ws) snprintf(addr, sizeof addr, "ws://127.0.0.1:0/demo");

  server sv;
  int rc = server_start(&sv, addr);
  if (rc == 0 && ws) snprintf(addr, sizeof addr, "%s", sv.address); /* the port picked */
  if (rc) {
    fprintf(stderr, "roam-demo: cannot start the server on %s: %s\n", addr, roam_strerror(rc));
    rmdir(dir);
    return 1;
  }
  printf("roam-demo: a Testbed server (own thread, own event loop) and a client,\n"
         "           talking over %s\n", addr);

  roam_arena_init(&arena, NULL);
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.name = "demo-client";
  roam_client *c;
  rc = roam_client_connect(&c, addr, &co, TIMEOUT_MS);
  if (rc) {
    fprintf(stderr, "roam-demo: cannot connect to %s: %s\n", addr, roam_strerror(rc));
    failures++;
  } else {
    demo_echo(c);
    demo_user_error(c);
    demo_unknown_method(c);
    demo_sum(c);
    demo_generate(addr);
    demo_transform(c);
    demo_virtual_connection(c);
    demo_cancel(c, &sv);
    demo_diagnostics(c, &sv);
    roam_client_free(c);
  }

  server_stop(&sv);
  roam_arena_free(&arena);
  rmdir(dir);
  if (failures) {
    printf("\nroam-demo: %d step(s) did not go as expected\n", failures);
    return 1;
  }
  printf("\nroam-demo: every step went as expected\n");
  return 0;
}
