/*
 * roam-c's side of the suite's socket workloads (bench/run), through the
 * public runtime API only: a roam_server in a child process (its own loop),
 * roam_client / roam_link / roam_chan in this one.
 *
 *   rtt        roam_client_call() of a --size payload, one at a time;
 *              median and p99 round trip
 *   pipelined  roam_client_call_async() with --inflight calls in flight;
 *              calls/s
 *   stream     one call with a Tx channel (caller -> callee); roam_chan_send
 *              of --size-byte values for --secs, then Close; the handler
 *              answers with the byte count; GB/s of value bytes. --credit
 *              sets initial_channel_credit, --window channel_window, on
 *              both sides (0 = the runtime's defaults: 64 KiB, 1 MiB).
 *   idle       --links links (roam_link_connect), handshake done, no calls:
 *              memory per link, server and client side
 *   active     --links links, each doing sequential roam_call()s on its
 *              session; aggregate calls/s
 *   budget     --links raw connections each send a Hello and --size bytes
 *              of a frame without delimiter while a roam_client calls
 *              echo: the server's RSS growth (MiB), the client's calls/s
 * The echo handler answers Ok(payload bytes). Output: RESULT lines
 * (lib/bench_util.h), impl "roam".
 *
 * --transport ws (rtt, pipelined): the server listens on ws:// and tcp://
 * at once; one client of each kind measures in alternating slices (ten per
 * run), so both see the same server and the same moment of the machine.
 * RESULT lines: impl "roam" for ws://, impl "tcp" for tcp://.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <roam/runtime.h>

#include "lib/bench_util.h"

#define IMPL "roam"
#define M_ECHO 0x6563686f62656e63ull /* any id: both ends are ours */
#define M_SINK 0x73696e6b62656e63ull

static void set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) bu_die("fcntl");
}

static void check(int r, const char *what) {
  if (r != 0) bu_fail(what, r);
}

/* ---- server (child process) ------------------------------------------------------- */

typedef struct srv_arg {
  bool tcp;
  bool ws; /* ws:// and tcp:// (the ready line: "ws-addr tcp-addr") */
  uint32_t credit, window;
} srv_arg;

static uint64_t g_srv_ready;
static roam_loop *g_srv_loop;

static void echo_handler(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

typedef struct sink_state {
  roam_request *req;
  uint64_t bytes;
} sink_state;

static int sink_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s;
  (void)conn;
  (void)ch;
  ((sink_state *)ud)->bytes += v.len;
  return 0;
}

static void sink_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s;
  (void)conn;
  (void)ch;
  (void)err;
  sink_state *st = ud;
  uint8_t out[8];
  memcpy(out, &st->bytes, 8);
  roam_request_respond_ok(st->req, out, 8);
  free(st);
}

static const roam_channel_callbacks g_sink_cbs = {sink_data, sink_end, NULL};

static void sink_handler(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  sink_state *st = calloc(1, sizeof *st);
  if (!st) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  st->req = req;
  if (roam_request_channel_count(req) != 1 ||
      roam_request_bind_channel(req, 0, ROAM_CHAN_RECV, &g_sink_cbs, st) != 0) {
    free(st);
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  }
}

static void srv_ready(roam_link *l, void *ud) {
  (void)l;
  (void)ud;
  g_srv_ready++;
}

static void srv_close(roam_server *srv, roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)srv;
  (void)err;
  (void)reason;
  (void)ud;
  if (roam_link_is_ready(l) && g_srv_ready) g_srv_ready--;
}

typedef struct ctl_state {
  int in, out;
} ctl_state;

static void ctl_io(roam_io *w, int fd, unsigned events, void *ud) {
  (void)fd;
  (void)events;
  ctl_state *c = ud;
  if (!bu_child_answer(c->in, c->out, g_srv_ready)) {
    roam_io_free(w);
    roam_loop_stop(g_srv_loop);
  }
}

static int server_main(int ctl_in, int ctl_out, void *argp) {
  srv_arg *a = argp;
  bu_raise_nofile();
  roam_loop *loop;
  check(roam_loop_new(&loop, NULL), "loop_new");
  g_srv_loop = loop;
  roam_server_options so;
  roam_server_options_init(&so);
  if (a->credit) so.link.session.initial_channel_credit = a->credit;
  if (a->window) so.link.session.channel_window = a->window;
  so.link.on_ready = srv_ready;
  so.on_link_close = srv_close;
  roam_server *srv;
  check(roam_server_new(loop, &so, &srv), "server_new");
  check(roam_server_handle(srv, M_ECHO, echo_handler, NULL), "handle");
  check(roam_server_handle(srv, M_SINK, sink_handler, NULL), "handle");
  char addr[256];
  if (a->tcp || a->ws) {
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:0");
  } else {
    snprintf(addr, sizeof addr, "unix:%s", bu_unix_path("roam"));
  }
  roam_listener *ls, *wls = NULL;
  check(roam_server_listen(srv, addr, &ls), "listen");
  if (a->ws) check(roam_server_listen(srv, "ws://127.0.0.1:0/bench", &wls), "listen ws");
  ctl_state ctl = {ctl_in, ctl_out};
  roam_io *w;
  check(roam_io_new(loop, ctl_in, ROAM_IO_READ, ctl_io, &ctl, &w), "io_new");
  char both[280];
  snprintf(both, sizeof both, "%.130s %.130s", wls ? roam_listener_address(wls) : "",
           roam_listener_address(ls));
  bu_child_ready(ctl_out, wls ? both : roam_listener_address(ls));
  roam_loop_run(loop);
  roam_server_free(srv);
  roam_loop_free(loop);
  return 0;
}

static void start_server(bu_child *ch, const bu_opts *o) {
  srv_arg a = {bu_is_tcp(o), !strcmp(o->transport, "ws"), o->credit, o->window};
  bu_child_start(ch, server_main, &a);
}

static roam_client *client_connect(const char *addr, uint32_t credit, uint32_t window) {
  roam_client_options co;
  roam_client_options_init(&co);
  if (credit) co.link.session.initial_channel_credit = credit;
  if (window) co.link.session.channel_window = window;
  roam_client *c;
  check(roam_client_connect(&c, addr, &co, 10000), "client_connect");
  return c;
}

/* ws mode: the two addresses of the ready line. */
static void split_ws(const bu_child *ch, char *ws, char *tcp, size_t cap) {
  const char *sp = strchr(ch->addr, ' ');
  if (!sp) bu_fail("ws server address", 0);
  snprintf(ws, cap, "%.*s", (int)(sp - ch->addr), ch->addr);
  snprintf(tcp, cap, "%s", sp + 1);
}

/* ---- rtt ------------------------------------------------------------------------ */

/* ws vs tcp on one server: sequential calls in alternating slices. */
static void run_rtt_ws(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o);
  char wsa[256], tcpa[256];
  split_ws(&ch, wsa, tcpa, sizeof wsa);
  roam_client *c[2] = {client_connect(wsa, 0, 0), client_connect(tcpa, 0, 0)};
  uint8_t payload[4096];
  size_t n = o->size > sizeof payload ? sizeof payload : o->size;
  bu_fill(payload, n);
  bu_samples s[2] = {{0}, {0}};
  for (int slice = -2; slice < 10; slice++) { /* two warm-up slices */
    for (int k = 0; k < 2; k++) {
      int i = (slice & 1) ? 1 - k : k; /* alternate who goes first */
      uint64_t t_end = bu_now_ns() + (uint64_t)(o->secs * 1e8);
      for (;;) {
        uint64_t t0 = bu_now_ns();
        if (t0 >= t_end) break;
        roam_reply rep;
        check(roam_client_call(c[i], M_ECHO, payload, n, NULL, &rep), "call");
        if (rep.value_len != n) bu_fail("echo length", (int)rep.value_len);
        roam_reply_free(&rep);
        if (slice >= 0) bu_samples_add(&s[i], bu_now_ns() - t0);
      }
    }
  }
  bu_report_latency(o, IMPL, &s[0]);
  bu_report_latency(o, "tcp", &s[1]);
  for (int i = 0; i < 2; i++) {
    bu_samples_free(&s[i]);
    roam_client_free(c[i]);
  }
  bu_child_stop(&ch);
}

static void run_rtt(const bu_opts *o) {
  if (!strcmp(o->transport, "ws")) {
    run_rtt_ws(o);
    return;
  }
  bu_child ch;
  start_server(&ch, o);
  roam_client *c = client_connect(ch.addr, 0, 0);
  uint8_t payload[4096];
  size_t n = o->size > sizeof payload ? sizeof payload : o->size;
  bu_fill(payload, n);
  bu_samples s = {0};
  for (int phase = 0; phase < 2; phase++) {
    uint64_t t_end = bu_now_ns() + (uint64_t)(o->secs * (phase ? 1e9 : 1e8));
    for (;;) {
      uint64_t t0 = bu_now_ns();
      if (t0 >= t_end) break;
      roam_reply rep;
      check(roam_client_call(c, M_ECHO, payload, n, NULL, &rep), "call");
      if (rep.value_len != n) bu_fail("echo length", (int)rep.value_len);
      roam_reply_free(&rep);
      if (phase) bu_samples_add(&s, bu_now_ns() - t0);
    }
  }
  bu_report_latency(o, IMPL, &s);
  bu_samples_free(&s);
  roam_client_free(c);
  bu_child_stop(&ch);
}

/* ---- pipelined ---------------------------------------------------------------------- */

typedef struct pipe_state {
  roam_client *c;
  const uint8_t *payload;
  size_t len;
  uint64_t done;
  unsigned inflight;
  bool stop;
  uint64_t t_end;
} pipe_state;

static void pipe_cb(roam_client *c, const roam_call_result *res, void *ud) {
  pipe_state *p = ud;
  if (res->status != 0) bu_fail("pipelined call", res->status);
  if (res->value.len != p->len) bu_fail("echo length", (int)res->value.len);
  p->done++;
  p->inflight--;
  if (!p->stop) {
    check(roam_client_call_async(c, M_ECHO, p->payload, p->len, NULL, pipe_cb, p), "call_async");
    p->inflight++;
  }
}

static bool pipe_until_time(void *ud) {
  pipe_state *p = ud;
  return bu_now_ns() >= p->t_end;
}

static bool pipe_drained(void *ud) { return ((pipe_state *)ud)->inflight == 0; }

/* ws vs tcp on one server: the pipeline runs on one client at a time, in
 * alternating slices (drained in between). */
static void run_pipelined_ws(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o);
  char wsa[256], tcpa[256];
  split_ws(&ch, wsa, tcpa, sizeof wsa);
  roam_client *c[2] = {client_connect(wsa, 0, 0), client_connect(tcpa, 0, 0)};
  uint8_t payload[4096];
  size_t n = o->size > sizeof payload ? sizeof payload : o->size;
  bu_fill(payload, n);
  uint64_t done[2] = {0, 0}, ns[2] = {0, 0};
  for (int slice = -2; slice < 10; slice++) {
    for (int k = 0; k < 2; k++) {
      int i = (slice & 1) ? 1 - k : k;
      roam_loop *loop = roam_client_loop(c[i]);
      pipe_state p = {c[i], payload, n, 0, 0, false, 0};
      for (unsigned j = 0; j < o->inflight; j++) {
        check(roam_client_call_async(c[i], M_ECHO, payload, n, NULL, pipe_cb, &p), "call_async");
        p.inflight++;
      }
      p.t_end = bu_now_ns() + (uint64_t)(o->secs * 1e7); /* fill the pipe */
      roam_loop_run_until(loop, pipe_until_time, &p, UINT64_MAX);
      uint64_t d0 = p.done, t0 = bu_now_ns();
      p.t_end = t0 + (uint64_t)(o->secs * 1e8);
      roam_loop_run_until(loop, pipe_until_time, &p, UINT64_MAX);
      uint64_t d1 = p.done, t1 = bu_now_ns();
      p.stop = true;
      roam_loop_run_until(loop, pipe_drained, &p, 10000);
      if (slice >= 0) {
        done[i] += d1 - d0;
        ns[i] += t1 - t0;
      }
    }
  }
  bu_result(bu_wl(o), IMPL, "rate", (double)done[0] / ((double)ns[0] / 1e9), "calls/s");
  bu_result(bu_wl(o), "tcp", "rate", (double)done[1] / ((double)ns[1] / 1e9), "calls/s");
  for (int i = 0; i < 2; i++) roam_client_free(c[i]);
  bu_child_stop(&ch);
}

static void run_pipelined(const bu_opts *o) {
  if (!strcmp(o->transport, "ws")) {
    run_pipelined_ws(o);
    return;
  }
  bu_child ch;
  start_server(&ch, o);
  roam_client *c = client_connect(ch.addr, 0, 0);
  roam_loop *loop = roam_client_loop(c);
  uint8_t payload[4096];
  size_t n = o->size > sizeof payload ? sizeof payload : o->size;
  bu_fill(payload, n);
  pipe_state p = {c, payload, n, 0, 0, false, 0};
  for (unsigned i = 0; i < o->inflight; i++) {
    check(roam_client_call_async(c, M_ECHO, payload, n, NULL, pipe_cb, &p), "call_async");
    p.inflight++;
  }
  p.t_end = bu_now_ns() + (uint64_t)(o->secs * 1e8);
  roam_loop_run_until(loop, pipe_until_time, &p, UINT64_MAX); /* warm-up */
  uint64_t d0 = p.done, t0 = bu_now_ns();
  p.t_end = t0 + (uint64_t)(o->secs * 1e9);
  roam_loop_run_until(loop, pipe_until_time, &p, UINT64_MAX);
  uint64_t d1 = p.done, t1 = bu_now_ns();
  p.stop = true;
  roam_loop_run_until(loop, pipe_drained, &p, 10000);
  bu_result(bu_wl(o), IMPL, "rate", (double)(d1 - d0) / ((double)(t1 - t0) / 1e9), "calls/s");
  roam_client_free(c);
  bu_child_stop(&ch);
}

/* ---- stream --------------------------------------------------------------------------- */

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

static void run_stream(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o);
  roam_client *c = client_connect(ch.addr, o->credit, o->window);
  roam_chan *tx;
  check(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_SEND, &tx), "chan_open");
  uint64_t id = roam_chan_id(tx);
  uint8_t args[16];
  size_t alen = put_varint(args, id);
  roam_call_opts copts;
  memset(&copts, 0, sizeof copts);
  copts.channels = &id;
  copts.channel_count = 1;
  uint8_t *value = malloc(o->size);
  if (!value) bu_die("oom");
  bu_fill(value, o->size);
  roam_pending *pend;
  uint64_t t0 = bu_now_ns();
  uint64_t t_end = t0 + (uint64_t)(o->secs * 1e9);
  check(roam_client_call_start(c, M_SINK, args, alen, &copts, &pend), "call_start");
  uint64_t sent = 0;
  for (uint64_t i = 0;; i++) {
    check(roam_chan_send(tx, value, o->size, 10000), "chan_send");
    sent += o->size;
    if ((i & 7) == 7 && bu_now_ns() >= t_end) break;
  }
  check(roam_chan_close(tx), "chan_close");
  roam_reply rep;
  check(roam_pending_wait(pend, 10000, &rep), "pending_wait");
  uint64_t t1 = bu_now_ns();
  uint64_t got = 0;
  if (rep.value_len == 8) memcpy(&got, rep.value, 8);
  if (got != sent) {
    fprintf(stderr, "roam stream: sent %llu, server got %llu\n", (unsigned long long)sent,
            (unsigned long long)got);
    exit(2);
  }
  roam_reply_free(&rep);
  roam_pending_free(pend);
  roam_chan_free(tx);
  bu_result(bu_wl(o), IMPL, "throughput", (double)got / (double)(t1 - t0), "GB/s");
  free(value);
  roam_client_free(c);
  bu_child_stop(&ch);
}

/* ---- many links ------------------------------------------------------------------------ */

typedef struct many_state {
  unsigned ready;
  unsigned target;
  unsigned closed;
  const uint8_t *payload;
  size_t len;
  bool calling; /* active: start a call loop on every ready link */
  bool stop;
  uint64_t done;
  unsigned inflight;
  uint64_t t_end;
} many_state;

static many_state g_many;

static void many_call_cb(roam_session *s, const roam_call_result *res, void *ud);

static void many_call(roam_session *s) {
  check(roam_call(s, M_ECHO, g_many.payload, g_many.len, NULL, many_call_cb, NULL, NULL),
        "roam_call");
  g_many.inflight++;
}

static void many_call_cb(roam_session *s, const roam_call_result *res, void *ud) {
  (void)ud;
  g_many.inflight--;
  if (res->status != 0) {
    if (g_many.stop) return;
    bu_fail("active call", res->status);
  }
  if (res->value.len != g_many.len) bu_fail("echo length", (int)res->value.len);
  g_many.done++;
  if (!g_many.stop) many_call(s);
}

static void many_ready(roam_link *l, void *ud) {
  (void)ud;
  g_many.ready++;
  if (g_many.calling) many_call(roam_link_session(l));
}

static void many_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l;
  (void)reason;
  (void)ud;
  g_many.closed++;
  if (!g_many.stop) bu_fail("link closed", err);
}

static bool many_all_ready(void *ud) {
  (void)ud;
  return g_many.ready >= g_many.target;
}

static bool many_time(void *ud) {
  (void)ud;
  return bu_now_ns() >= g_many.t_end;
}

static bool many_drained(void *ud) {
  (void)ud;
  return g_many.inflight == 0;
}

/* Open links [from, to) in batches, waiting for every handshake. */
static void many_open(roam_loop *loop, const char *addr, roam_link **links, unsigned from,
                      unsigned to) {
  roam_link_options lo;
  roam_link_options_init(&lo);
  lo.on_ready = many_ready;
  lo.on_close = many_close;
  const unsigned batch = 256;
  for (unsigned i = from; i < to;) {
    unsigned end = i + batch < to ? i + batch : to;
    for (; i < end; i++) check(roam_link_connect(loop, addr, &lo, &links[i]), "link_connect");
    g_many.target = end;
    if (roam_loop_run_until(loop, many_all_ready, NULL, 30000) != 0) bu_fail("link ready", -1);
  }
}

/* How long links stay quiet before the idle figure is read. */
#define IDLE_SETTLE_MS 1200

static bool many_never(void *ud) {
  (void)ud;
  return false;
}

static void run_idle(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o);
  roam_loop *loop;
  check(roam_loop_new(&loop, NULL), "loop_new");
  unsigned n = o->links, n1 = n / 10;
  roam_link **links = calloc(n, sizeof *links);
  if (!links) bu_die("oom");
  memset(&g_many, 0, sizeof g_many);
  uint64_t rss_srv[2], rss_cli[2];
  /* Idle links give their buffers back after 0.5 to 1 s without I/O
   * (docs/runtime.md "Memory"): measure links that are idle, on both sides
   * (the client's loop runs meanwhile, the server's always runs). */
  many_open(loop, ch.addr, links, 0, n1);
  bu_child_wait_links(&ch, n1, 30000);
  roam_loop_run_until(loop, many_never, NULL, IDLE_SETTLE_MS);
  rss_srv[0] = bu_child_wait_links(&ch, n1, 30000);
  rss_cli[0] = bu_rss(0);
  many_open(loop, ch.addr, links, n1, n);
  bu_child_wait_links(&ch, n, 30000);
  roam_loop_run_until(loop, many_never, NULL, IDLE_SETTLE_MS);
  rss_srv[1] = bu_child_wait_links(&ch, n, 30000);
  rss_cli[1] = bu_rss(0);
  double d = (double)(n - n1);
  bu_result(bu_wl(o), IMPL, "server_mem", ((double)rss_srv[1] - (double)rss_srv[0]) / d,
            "B/link");
  bu_result(bu_wl(o), IMPL, "client_mem", ((double)rss_cli[1] - (double)rss_cli[0]) / d,
            "B/link");
  g_many.stop = true;
  roam_loop_free(loop);
  free(links);
  bu_child_stop(&ch);
}

static void run_active(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o);
  roam_loop *loop;
  check(roam_loop_new(&loop, NULL), "loop_new");
  unsigned n = o->links;
  roam_link **links = calloc(n, sizeof *links);
  uint8_t payload[4096];
  if (!links || o->size > sizeof payload) bu_die("setup");
  bu_fill(payload, o->size);
  memset(&g_many, 0, sizeof g_many);
  g_many.payload = payload;
  g_many.len = o->size;
  many_open(loop, ch.addr, links, 0, n);
  bu_child_wait_links(&ch, n, 30000);
  for (unsigned i = 0; i < n; i++) many_call(roam_link_session(links[i]));
  g_many.t_end = bu_now_ns() + (uint64_t)(o->secs * 1e8);
  roam_loop_run_until(loop, many_time, NULL, UINT64_MAX); /* warm-up */
  uint64_t d0 = g_many.done, t0 = bu_now_ns();
  g_many.t_end = t0 + (uint64_t)(o->secs * 1e9);
  roam_loop_run_until(loop, many_time, NULL, UINT64_MAX);
  uint64_t d1 = g_many.done, t1 = bu_now_ns();
  g_many.stop = true;
  roam_loop_run_until(loop, many_drained, NULL, 10000);
  bu_result(bu_wl(o), IMPL, "rate", (double)(d1 - d0) / ((double)(t1 - t0) / 1e9), "calls/s");
  roam_loop_free(loop);
  free(links);
  bu_child_stop(&ch);
}

/* ---- budget --------------------------------------------------------------------- */

/* --links raw connections each send a valid Hello and then --size bytes of
 * one frame that never ends (no zero byte), while a roam_client calls echo
 * on the same server (its defaults: the memory budget on). The server's
 * peak RSS growth over the run is the figure with a target (16 MiB); the
 * good client's rate is shown; any failed call fails the run. */
typedef struct bad_peer {
  int fd;
  size_t sent;
} bad_peer;

static int bad_connect(const char *addr) {
  const char *colon = strrchr(addr, ':');
  if (!colon) bu_fail("tcp address", 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(colon + 1));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) bu_die("bad peer connect");
  return fd;
}

static void run_budget(const bu_opts *o) {
  if (!bu_is_tcp(o)) bu_die("budget: --transport tcp");
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o);
  roam_client *good = client_connect(ch.addr, 0, 0);
  uint8_t payload[32];
  bu_fill(payload, sizeof payload);
  roam_call_opts co = {.timeout_ms = 5000};
  roam_reply rep;
  for (int i = 0; i < 100; i++) { /* warm-up */
    check(roam_client_call(good, M_ECHO, payload, sizeof payload, &co, &rep), "echo");
    roam_reply_free(&rep);
  }
  uint64_t ready, rss0, rss;
  bu_child_query(&ch, &ready, &rss0);

  /* the Hello bytes of an initiator, framed */
  roam_session_config sc;
  roam_session_config_init(&sc, ROAM_ROLE_INITIATOR);
  roam_session *hs;
  check(roam_session_new(&hs, &sc, NULL, NULL), "session_new");
  const uint8_t *hello;
  size_t hello_len = roam_session_output(hs, &hello);
  unsigned n = o->links;
  bad_peer *bad = calloc(n, sizeof *bad);
  struct pollfd *pf = calloc(n, sizeof *pf);
  static uint8_t chunk[64 * 1024];
  memset(chunk, 0x5a, sizeof chunk);
  if (!bad || !pf) bu_die("oom");
  for (unsigned i = 0; i < n; i++) {
    bad[i].fd = bad_connect(ch.addr);
    if (send(bad[i].fd, hello, hello_len, MSG_NOSIGNAL) != (ssize_t)hello_len) bu_die("hello");
    set_nonblock(bad[i].fd);
  }
  roam_session_free(hs);

  uint64_t peak = rss0, calls = 0, t0 = bu_now_ns();
  uint64_t t_end = t0 + (uint64_t)(o->secs * 1e9);
  unsigned open_links = n;
  uint8_t sink[4096];
  while (bu_now_ns() < t_end && open_links > 0) {
    /* the bad peers push what their sockets take */
    for (unsigned i = 0; i < n; i++) {
      pf[i].fd = bad[i].fd;
      pf[i].events = POLLIN | (bad[i].fd >= 0 && bad[i].sent < o->size ? POLLOUT : 0);
      pf[i].revents = 0;
    }
    if (poll(pf, n, 0) < 0 && errno != EINTR) bu_die("poll");
    for (unsigned i = 0; i < n; i++) {
      bad_peer *b = &bad[i];
      if (b->fd < 0) continue;
      bool gone = (pf[i].revents & (POLLERR | POLLHUP)) != 0;
      if (pf[i].revents & POLLIN) {
        ssize_t r = recv(b->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) gone = true;
      }
      if (!gone && (pf[i].revents & POLLOUT)) {
        size_t want = o->size - b->sent < sizeof chunk ? o->size - b->sent : sizeof chunk;
        ssize_t w = send(b->fd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) b->sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) gone = true;
      }
      if (gone) { /* the server closed it (frame limit, or the budget's wait) */
        close(b->fd);
        b->fd = -1;
        open_links--;
      }
    }
    /* the good client is served all along */
    for (int i = 0; i < 20; i++) {
      check(roam_client_call(good, M_ECHO, payload, sizeof payload, &co, &rep), "good call");
      roam_reply_free(&rep);
      calls++;
    }
    bu_child_query(&ch, &ready, &rss);
    if (rss > peak) peak = rss;
  }
  double dt = (double)(bu_now_ns() - t0) / 1e9;
  bu_result(bu_wl(o), IMPL, "server_growth", (double)(peak - rss0) / 1048576.0, "MiB");
  bu_result(bu_wl(o), IMPL, "good_rate", (double)calls / dt, "calls/s");
  for (unsigned i = 0; i < n; i++)
    if (bad[i].fd >= 0) close(bad[i].fd);
  free(bad);
  free(pf);
  roam_client_free(good);
  bu_child_stop(&ch);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  bu_opts o = bu_parse(argc, argv);
  if (!strcmp(o.workload, "rtt"))
    run_rtt(&o);
  else if (!strcmp(o.workload, "pipelined"))
    run_pipelined(&o);
  else if (!strcmp(o.workload, "stream"))
    run_stream(&o);
  else if (!strcmp(o.workload, "idle"))
    run_idle(&o);
  else if (!strcmp(o.workload, "active"))
    run_active(&o);
  else if (!strcmp(o.workload, "budget"))
    run_budget(&o);
  else
    bu_usage(argv[0]);
  return 0;
}
