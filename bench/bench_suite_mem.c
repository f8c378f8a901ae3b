/*
 * roam-c's side of the suite's in-memory workload (bench/run): two
 * sessions (public session API, sans-I/O) back to back, no sockets. One
 * cycle = roam_call() of a --size payload on the initiator, its bytes fed
 * to the acceptor, whose echo handler answers Ok(payload), those bytes fed
 * back, the completion callback run. --inflight calls are kept in flight.
 *
 *   session    cycles/s
 * Output: RESULT lines (lib/bench_util.h), impl "roam".
 */
#include <roam/session.h>

#include "lib/bench_util.h"

#define IMPL "roam"
#define M_ECHO 0x6563686f62656e63ull

static void check(int r, const char *what) {
  if (r != 0) bu_fail(what, r);
}

typedef struct state {
  uint64_t done;
  unsigned inflight;
} state;

static void echo_handler(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

static void call_cb(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  state *st = ud;
  if (res->status != 0) bu_fail("call", res->status);
  st->done++;
  st->inflight--;
}

/* Move a's pending output into b. */
static void transfer(roam_session *a, roam_session *b) {
  for (;;) {
    const uint8_t *data;
    size_t n = roam_session_output(a, &data);
    if (!n) return;
    size_t used = 0;
    check(roam_session_recv(b, data, n, &used), "session_recv");
    roam_session_consume(a, used);
    if (used < n) return; /* b's own output is above its high-water mark */
  }
}

int main(int argc, char **argv) {
  bu_opts o = bu_parse(argc, argv);
  if (strcmp(o.workload, "session")) bu_usage(argv[0]);
  roam_session_config cc, sc;
  roam_session_config_init(&cc, ROAM_ROLE_INITIATOR);
  roam_session_config_init(&sc, ROAM_ROLE_ACCEPTOR);
  roam_session_callbacks cbs;
  memset(&cbs, 0, sizeof cbs);
  roam_session *cli, *srv;
  check(roam_session_new(&cli, &cc, &cbs, NULL), "session_new");
  check(roam_session_new(&srv, &sc, &cbs, NULL), "session_new");
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  if (!d) bu_die("dispatcher");
  check(roam_dispatcher_add(d, M_ECHO, echo_handler, NULL), "dispatcher_add");
  check(roam_session_set_dispatcher(srv, 0, d), "set_dispatcher");
  transfer(cli, srv);
  transfer(srv, cli);
  if (!roam_session_is_ready(cli) || !roam_session_is_ready(srv)) bu_fail("handshake", -1);

  uint8_t payload[4096];
  size_t n = o.size > sizeof payload ? sizeof payload : o.size;
  bu_fill(payload, n);
  state st = {0, 0};
  uint64_t t_warm = bu_now_ns() + (uint64_t)(o.secs * 1e8);
  uint64_t t_end = t_warm + (uint64_t)(o.secs * 1e9);
  uint64_t d0 = 0, t0 = 0;
  bool warm = false;
  for (uint64_t iter = 0;; iter++) {
    while (st.inflight < o.inflight) {
      check(roam_call(cli, M_ECHO, payload, n, NULL, call_cb, &st, NULL), "roam_call");
      st.inflight++;
    }
    transfer(cli, srv);
    transfer(srv, cli);
    if ((iter & 63) == 0) {
      uint64_t now = bu_now_ns();
      if (!warm && now >= t_warm) {
        warm = true;
        d0 = st.done;
        t0 = now;
      }
      if (now >= t_end) {
        bu_result(bu_wl(&o), IMPL, "rate", (double)(st.done - d0) / ((double)(now - t0) / 1e9),
                  "cycles/s");
        break;
      }
    }
  }
  roam_session_free(cli);
  roam_session_free(srv);
  roam_dispatcher_free(d);
  return 0;
}
