/*
 * nng (nanomsg-next-gen) request/reply peer of the suite's workloads:
 * a rep0 server with contexts (nng_ctx) in a child process, req0 callers
 * in this one, over ipc:// (transport "unix") or tcp://127.0.0.1.
 *
 *   rtt        one req socket, nng_sendmsg/nng_recvmsg of a --size body
 *   pipelined  one req socket with --inflight contexts, each an aio loop
 *   idle       --links req sockets, each dialled once: memory per pipe
 *   active     --links req sockets, one context each, all looping
 * The server echoes the body back through one of its contexts (256, or
 * one per link up to 1024 for "active"). Output: RESULT lines, impl "nng".
 */
#include <stdatomic.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "bench_util.h"

#define IMPL "nng"

static void nng_check(int rv, const char *what) {
  if (rv != 0) {
    fprintf(stderr, "bench(nng): %s: %s\n", what, nng_strerror(rv));
    exit(2);
  }
}

/* ---- server (child process) ------------------------------------------------ */

typedef struct srv_arg {
  bool tcp;
  unsigned nctx;
} srv_arg;

typedef struct srv_ctx {
  nng_ctx ctx;
  nng_aio *aio;
  bool sending;
} srv_ctx;

static atomic_ullong g_srv_pipes;

static void srv_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg) {
  (void)p;
  (void)arg;
  if (ev == NNG_PIPE_EV_ADD_POST)
    atomic_fetch_add(&g_srv_pipes, 1);
  else if (ev == NNG_PIPE_EV_REM_POST)
    atomic_fetch_sub(&g_srv_pipes, 1);
}

static void srv_cb(void *arg) {
  srv_ctx *c = arg;
  int rv = nng_aio_result(c->aio);
  if (c->sending) {
    c->sending = false;
    if (rv != 0) {
      nng_msg *m = nng_aio_get_msg(c->aio);
      if (m) nng_msg_free(m);
      if (rv == NNG_ECLOSED) return;
    }
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  if (rv != 0) {
    if (rv == NNG_ECLOSED) return;
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  /* echo: send the request message back (its header routes the reply) */
  c->sending = true;
  nng_ctx_send(c->ctx, c->aio);
}

static int server_main(int ctl_in, int ctl_out, void *argp) {
  srv_arg *a = argp;
  bu_raise_nofile();
  nng_socket sock;
  nng_check(nng_rep0_open(&sock), "rep0_open");
  nng_check(nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, srv_pipe_cb, NULL), "notify");
  nng_check(nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, srv_pipe_cb, NULL), "notify");
  char url[256];
  nng_listener l;
  if (a->tcp) {
    nng_check(nng_listen(sock, "tcp://127.0.0.1:0", &l, 0), "listen");
    int port = 0;
    nng_check(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), "bound port");
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
  } else {
    const char *path = bu_unix_path("nng");
    unlink(path);
    snprintf(url, sizeof url, "ipc://%s", path);
    nng_check(nng_listen(sock, url, &l, 0), "listen");
  }
  srv_ctx *cs = calloc(a->nctx, sizeof *cs);
  if (!cs) bu_die("oom");
  for (unsigned i = 0; i < a->nctx; i++) {
    nng_check(nng_ctx_open(&cs[i].ctx, sock), "ctx_open");
    nng_check(nng_aio_alloc(&cs[i].aio, srv_cb, &cs[i]), "aio_alloc");
    nng_ctx_recv(cs[i].ctx, cs[i].aio);
  }
  bu_child_ready(ctl_out, url);
  while (bu_child_answer(ctl_in, ctl_out, atomic_load(&g_srv_pipes))) {
  }
  /* the child _exit()s: no teardown (nng takes long to close many pipes) */
  if (!a->tcp) unlink(url + 6);
  return 0;
}

static void start_server(bu_child *ch, const bu_opts *o, unsigned nctx) {
  srv_arg a = {bu_is_tcp(o), nctx};
  bu_child_start(ch, server_main, &a);
}

static void req_open(nng_socket *s) {
  nng_check(nng_req0_open(s), "req0_open");
  nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
}

/* ---- rtt --------------------------------------------------------------------- */

static void run_rtt(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o, 256); /* fork before nng starts its threads here */
  nng_socket s;
  req_open(&s);
  nng_check(nng_dial(s, ch.addr, NULL, 0), "dial");
  uint8_t body[4096];
  size_t n = o->size > sizeof body ? sizeof body : o->size;
  bu_fill(body, n);
  bu_samples smp = {0};
  for (int phase = 0; phase < 2; phase++) {
    uint64_t t_end = bu_now_ns() + (uint64_t)(o->secs * (phase ? 1e9 : 1e8));
    for (;;) {
      uint64_t t0 = bu_now_ns();
      if (t0 >= t_end) break;
      nng_msg *m;
      nng_check(nng_msg_alloc(&m, 0), "msg_alloc");
      nng_check(nng_msg_append(m, body, n), "append");
      nng_check(nng_sendmsg(s, m, 0), "sendmsg");
      nng_check(nng_recvmsg(s, &m, 0), "recvmsg");
      if (nng_msg_len(m) != n) bu_fail("nng echo length", (int)nng_msg_len(m));
      nng_msg_free(m);
      if (phase) bu_samples_add(&smp, bu_now_ns() - t0);
    }
  }
  bu_report_latency(o, IMPL, &smp);
  bu_samples_free(&smp);
  nng_close(s);
  bu_child_stop(&ch);
}

/* ---- callers: aio loops on contexts ----------------------------------------------- */

typedef struct caller {
  nng_ctx ctx;
  nng_aio *aio;
  bool receiving;
  size_t size;
} caller;

static atomic_ullong g_done;
static atomic_bool g_stop;
static atomic_uint g_active; /* callers still looping */

static void caller_send(caller *c, nng_msg *m) {
  c->receiving = false;
  nng_aio_set_msg(c->aio, m);
  nng_ctx_send(c->ctx, c->aio);
}

static void caller_cb(void *arg) {
  caller *c = arg;
  int rv = nng_aio_result(c->aio);
  if (rv != 0) {
    if (!c->receiving) {
      nng_msg *m = nng_aio_get_msg(c->aio);
      if (m) nng_msg_free(m);
    }
    atomic_fetch_sub(&g_active, 1);
    return;
  }
  if (!c->receiving) {
    c->receiving = true;
    nng_ctx_recv(c->ctx, c->aio);
    return;
  }
  nng_msg *m = nng_aio_get_msg(c->aio);
  if (nng_msg_len(m) != c->size) bu_fail("nng echo length", (int)nng_msg_len(m));
  atomic_fetch_add_explicit(&g_done, 1, memory_order_relaxed);
  if (atomic_load_explicit(&g_stop, memory_order_relaxed)) {
    nng_msg_free(m);
    atomic_fetch_sub(&g_active, 1);
    return;
  }
  /* reuse the reply (same body) as the next request */
  nng_msg_header_clear(m);
  caller_send(c, m);
}

static void callers_start(caller *cs, unsigned n, const uint8_t *body, size_t len) {
  atomic_store(&g_done, 0);
  atomic_store(&g_stop, false);
  atomic_store(&g_active, n);
  for (unsigned i = 0; i < n; i++) {
    nng_msg *m;
    nng_check(nng_msg_alloc(&m, 0), "msg_alloc");
    nng_check(nng_msg_append(m, body, len), "append");
    caller_send(&cs[i], m);
  }
}

/* Measure for o->secs after a warm-up of a tenth of that; then stop all
 * callers and wait for them. Returns calls/s. */
static double callers_measure(const bu_opts *o) {
  bu_sleep_ms((unsigned)(o->secs * 100));
  uint64_t d0 = atomic_load(&g_done), t0 = bu_now_ns();
  bu_sleep_ms((unsigned)(o->secs * 1000));
  uint64_t d1 = atomic_load(&g_done), t1 = bu_now_ns();
  atomic_store(&g_stop, true);
  for (int i = 0; i < 5000 && atomic_load(&g_active); i++) bu_sleep_ms(1);
  return (double)(d1 - d0) / ((double)(t1 - t0) / 1e9);
}

static void callers_free(caller *cs, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    nng_aio_stop(cs[i].aio);
    nng_ctx_close(cs[i].ctx);
    nng_aio_free(cs[i].aio);
  }
}

static void caller_init(caller *c, nng_socket s, size_t size) {
  nng_check(nng_ctx_open(&c->ctx, s), "ctx_open");
  nng_check(nng_aio_alloc(&c->aio, caller_cb, c), "aio_alloc");
  c->size = size;
}

static void run_pipelined(const bu_opts *o) {
  bu_child ch;
  unsigned n = o->inflight;
  start_server(&ch, o, n > 256 ? n : 256);
  nng_socket s;
  req_open(&s);
  nng_check(nng_dial(s, ch.addr, NULL, 0), "dial");
  caller *cs = calloc(n, sizeof *cs);
  uint8_t body[4096];
  if (!cs || o->size > sizeof body) bu_die("setup");
  bu_fill(body, o->size);
  for (unsigned i = 0; i < n; i++) caller_init(&cs[i], s, o->size);
  callers_start(cs, n, body, o->size);
  double rate = callers_measure(o);
  bu_result(bu_wl(o), IMPL, "rate", rate, "calls/s");
  callers_free(cs, n);
  nng_close(s);
  free(cs);
  bu_child_stop(&ch);
}

static void run_active(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  unsigned n = o->links;
  start_server(&ch, o, n < 64 ? 64 : n > 1024 ? 1024 : n);
  nng_socket *socks = calloc(n, sizeof *socks);
  caller *cs = calloc(n, sizeof *cs);
  uint8_t body[4096];
  if (!socks || !cs || o->size > sizeof body) bu_die("setup");
  bu_fill(body, o->size);
  for (unsigned i = 0; i < n; i++) {
    req_open(&socks[i]);
    nng_check(nng_dial(socks[i], ch.addr, NULL, NNG_FLAG_NONBLOCK), "dial");
    caller_init(&cs[i], socks[i], o->size);
  }
  bu_child_wait_links(&ch, n, 60000);
  callers_start(cs, n, body, o->size);
  double rate = callers_measure(o);
  bu_result(bu_wl(o), IMPL, "rate", rate, "calls/s");
  /* no teardown of the sockets (slow in nng, not measured) */
  bu_child_stop(&ch);
  fflush(stdout);
  _exit(0); /* nng's exit handler would close every socket */
}

static void run_idle(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o, 256);
  unsigned n = o->links, n1 = n / 10;
  nng_socket *socks = calloc(n, sizeof *socks);
  if (!socks) bu_die("oom");
  uint64_t rss_srv[2] = {0, 0}, rss_cli[2] = {0, 0};
  for (unsigned i = 0; i < n; i++) {
    req_open(&socks[i]);
    /* dial in the background (a synchronous dial costs a round trip of
     * nng's threads each); the server's pipe count tells when all are up */
    nng_check(nng_dial(socks[i], ch.addr, NULL, NNG_FLAG_NONBLOCK), "dial");
    if (i + 1 == n1 || i + 1 == n) {
      int k = i + 1 == n;
      rss_srv[k] = bu_child_wait_links(&ch, i + 1, 60000);
      rss_cli[k] = bu_rss(0);
    }
  }
  double d = (double)(n - n1);
  bu_result(bu_wl(o), IMPL, "server_mem", ((double)rss_srv[1] - (double)rss_srv[0]) / d,
            "B/link");
  bu_result(bu_wl(o), IMPL, "client_mem", ((double)rss_cli[1] - (double)rss_cli[0]) / d,
            "B/link");
  /* no nng_close(): closing 10 000 sockets takes nng seconds and is not
   * measured */
  bu_child_stop(&ch);
  fflush(stdout);
  _exit(0); /* nng's exit handler would close every socket */
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  bu_opts o = bu_parse(argc, argv);
  if (!strcmp(o.workload, "rtt"))
    run_rtt(&o);
  else if (!strcmp(o.workload, "pipelined"))
    run_pipelined(&o);
  else if (!strcmp(o.workload, "idle"))
    run_idle(&o);
  else if (!strcmp(o.workload, "active"))
    run_active(&o);
  else
    bu_usage(argv[0]);
  return 0;
}
