/*
 * Embedding and scaling benchmarks (docs/benchmarks.md "bench_embed"):
 *
 *   loops      a server with 1 and with 2 loops (roam_server_options.loops)
 *              in the same run: calls/s of 1 000 active links (sequential
 *              calls on each) and of pipelined echo (4 links, 64 calls in
 *              flight on each); server and client CPU time per call.
 *   blocked    round trip of a short call while another call on the same
 *              link is in a handler that sleeps 200 ms: on the worker pool
 *              (roam_server_handle_blocking) next to the idle round trip;
 *              and, for contrast, with the sleep on the loop thread.
 *   adapters   round trip and pipelined echo (64 in flight) with client and
 *              server on roam_loop, on libuv (roam-libuv) and on libevent
 *              (roam-libevent), interleaved round by round.
 * Unix sockets; the server is a forked process. Medians of --runs rounds
 * (default 5; BENCH_QUICK=1 or --quick: 3 short rounds). Usage:
 *   bench_embed [--runs N] [--quick] [loops|blocked|adapters ...]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <roam/loop.h>
#include <roam/postcard.h>
#include <roam/runtime.h>
#ifdef BENCH_HAVE_LIBUV
#include <roam/libuv.h>
#endif
#ifdef BENCH_HAVE_LIBEVENT
#include <roam/libevent.h>
#endif

#define M_ECHO 0x9aabc4ba61fd5df3ull
#define M_SLEEP 0x5001ull      /* worker pool: sleeps 200 ms */
#define M_SLEEP_LOOP 0x5002ull /* on the loop thread: sleeps 200 ms */

static int g_runs = 5;
static bool g_quick;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err) {
  fprintf(stderr, "bench_embed: %s: %s\n", what, err ? roam_strerror(err) : "failed");
  exit(2);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- a loop of each kind ------------------------------------------------------ */

typedef enum { K_ROAM, K_UV, K_EV, K_COUNT } kind;
static const char *kind_name[K_COUNT] = {"roam_loop", "libuv", "libevent"};

typedef struct xloop {
  kind k;
  roam_loop *loop;
#ifdef BENCH_HAVE_LIBUV
  uv_loop_t uv;
#endif
#ifdef BENCH_HAVE_LIBEVENT
  struct event_base *base;
#endif
} xloop;

static bool kind_available(kind k) {
  switch (k) {
  case K_ROAM: return true;
#ifdef BENCH_HAVE_LIBUV
  case K_UV: return true;
#endif
#ifdef BENCH_HAVE_LIBEVENT
  case K_EV: return true;
#endif
  default: return false;
  }
}

static void xl_new(xloop *x, kind k) {
  memset(x, 0, sizeof *x);
  x->k = k;
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  int r = ROAM_ERR_INVALID_ARG;
  if (k == K_ROAM) r = roam_loop_new(&x->loop, &lo);
#ifdef BENCH_HAVE_LIBUV
  if (k == K_UV) {
    uv_loop_init(&x->uv);
    r = roam_libuv_loop_new(&x->uv, &lo, &x->loop);
  }
#endif
#ifdef BENCH_HAVE_LIBEVENT
  if (k == K_EV) {
    x->base = event_base_new();
    r = roam_libevent_loop_new(x->base, &lo, &x->loop);
  }
#endif
  if (r != 0) die("loop", r);
}

/* One iteration of the application's loop (blocking until something
 * happens). */
static void xl_once(xloop *x) {
  if (x->k == K_ROAM) roam_loop_run_once(x->loop, 100);
#ifdef BENCH_HAVE_LIBUV
  if (x->k == K_UV) uv_run(&x->uv, UV_RUN_ONCE);
#endif
#ifdef BENCH_HAVE_LIBEVENT
  if (x->k == K_EV) event_base_loop(x->base, EVLOOP_ONCE);
#endif
}

static void xl_until(xloop *x, bool (*cond)(void *), void *ud, uint64_t timeout_ms) {
  uint64_t end = now_ns() + timeout_ms * 1000000ull;
  while (!cond(ud)) {
    if (now_ns() > end) die("timeout", ROAM_ERR_TIMEOUT);
    xl_once(x);
  }
}

static void xl_free(xloop *x) {
  roam_loop_free(x->loop);
#ifdef BENCH_HAVE_LIBUV
  if (x->k == K_UV) {
    uv_run(&x->uv, UV_RUN_NOWAIT);
    uv_loop_close(&x->uv);
  }
#endif
#ifdef BENCH_HAVE_LIBEVENT
  if (x->k == K_EV) event_base_free(x->base);
#endif
}

/* ---- the server process -------------------------------------------------------- */

static void h_echo(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

static void sleep_200ms(void) {
  struct timespec ts = {0, 200 * 1000000L};
  nanosleep(&ts, NULL);
}

static void b_sleep(roam_job *job, void *ud) {
  (void)ud;
  sleep_200ms();
  roam_job_respond_ok(job, NULL, 0);
}

static void h_sleep_loop(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  sleep_200ms();
  roam_request_respond_ok(req, NULL, 0);
}

typedef struct server {
  pid_t pid;
  char addr[128];
} server;

static int g_srv_seq;

static bool never(void *ud) {
  (void)ud;
  return false;
}

static void server_start(server *sv, kind k, uint32_t loops) {
  snprintf(sv->addr, sizeof sv->addr, "unix:/tmp/roam-bench-embed-%d-%d.sock", (int)getpid(),
           g_srv_seq++);
  int pfd[2];
  if (pipe(pfd) != 0) die("pipe", 0);
  sv->pid = fork();
  if (sv->pid < 0) die("fork", 0);
  if (sv->pid == 0) {
    close(pfd[0]);
    struct rlimit rl = {8192, 8192};
    setrlimit(RLIMIT_NOFILE, &rl);
    xloop x;
    xl_new(&x, k);
    roam_server_options so;
    roam_server_options_init(&so);
    so.loops = loops;
    so.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
    roam_server *srv;
    int r = roam_server_new(x.loop, &so, &srv);
    if (r == 0) r = roam_server_handle(srv, M_ECHO, h_echo, NULL);
    if (r == 0) r = roam_server_handle(srv, M_SLEEP_LOOP, h_sleep_loop, NULL);
    if (r == 0) r = roam_server_handle_blocking(srv, M_SLEEP, b_sleep, NULL);
    if (r == 0) r = roam_server_listen(srv, sv->addr, NULL);
    if (r != 0) die("server", r);
    if (write(pfd[1], "r", 1) != 1) _exit(3);
    close(pfd[1]);
    if (k == K_ROAM)
      roam_loop_run_until(x.loop, never, NULL, UINT64_MAX);
    else
      for (;;) xl_once(&x);
    _exit(0);
  }
  close(pfd[1]);
  char c;
  if (read(pfd[0], &c, 1) != 1) die("server start", 0);
  close(pfd[0]);
}

/* Stop the server; returns its CPU time (s). */
static double server_stop(server *sv) {
  kill(sv->pid, SIGKILL);
  int st;
  struct rusage ru;
  wait4(sv->pid, &st, 0, &ru);
  unlink(sv->addr + 5);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static double self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* ---- client side: links that call in a loop ------------------------------------- */

static const uint8_t PAYLOAD[33] = {32, 'r', 'o', 'a', 'm', '-', 'c', ' ', 'b', 'e', 'n', 'c',
                                    'h', ' ', 'p', 'a', 'y', 'l', 'o', 'a', 'd', ' ', '3', '2',
                                    ' ', 'b', 'y', 't', 'e', 's', '!', '!', '!'};

typedef struct clients {
  unsigned ready, target;
  uint64_t done;
  unsigned inflight;
  bool stop;
  uint64_t t_end;
  /* rtt */
  uint64_t t_call;
  double *lat;
  int nlat, cap;
  bool rtt_mode;
} clients;

static clients g_c;

static void call_cb(roam_session *s, const roam_call_result *res, void *ud);

static void call(roam_session *s, uint64_t method) {
  int r = roam_call(s, method, PAYLOAD, sizeof PAYLOAD, NULL, call_cb, NULL, NULL);
  if (r != 0) die("roam_call", r);
  g_c.inflight++;
}

static void call_cb(roam_session *s, const roam_call_result *res, void *ud) {
  (void)ud;
  g_c.inflight--;
  if (res->status != 0) {
    if (g_c.stop) return;
    die("call", res->status);
  }
  g_c.done++;
  if (g_c.rtt_mode) {
    if (g_c.nlat < g_c.cap) g_c.lat[g_c.nlat++] = (double)(now_ns() - g_c.t_call) / 1e3;
    if (g_c.stop || g_c.nlat >= g_c.cap) return;
    g_c.t_call = now_ns();
  }
  if (!g_c.stop) call(s, M_ECHO);
}

static void on_ready(roam_link *l, void *ud) {
  (void)l, (void)ud;
  g_c.ready++;
}

static void on_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l, (void)reason, (void)ud;
  if (!g_c.stop) die("link closed", err);
}

static bool all_ready(void *ud) {
  (void)ud;
  return g_c.ready >= g_c.target;
}
static bool time_up(void *ud) {
  (void)ud;
  return now_ns() >= g_c.t_end;
}
static bool drained(void *ud) {
  (void)ud;
  return g_c.inflight == 0;
}
static bool lat_full(void *ud) {
  (void)ud;
  return g_c.nlat >= g_c.cap;
}

static void open_links(xloop *x, const char *addr, roam_link **links, unsigned n) {
  roam_link_options lo;
  roam_link_options_init(&lo);
  lo.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  lo.on_ready = on_ready;
  lo.on_close = on_close;
  for (unsigned i = 0; i < n;) {
    unsigned end = i + 200 < n ? i + 200 : n;
    for (; i < end; i++) {
      int r = roam_link_connect(x->loop, addr, &lo, &links[i]);
      if (r != 0) die("connect", r);
    }
    g_c.target = end;
    xl_until(x, all_ready, NULL, 30000);
  }
}

/* calls/s of n links with `depth` calls in flight each, for secs. */
static double run_rate(kind k, const char *addr, unsigned n, unsigned depth, double secs,
                       double *client_cpu) {
  xloop x;
  xl_new(&x, k);
  roam_link **links = calloc(n, sizeof *links);
  memset(&g_c, 0, sizeof g_c);
  open_links(&x, addr, links, n);
  for (unsigned i = 0; i < n; i++)
    for (unsigned d = 0; d < depth; d++) call(roam_link_session(links[i]), M_ECHO);
  g_c.t_end = now_ns() + (uint64_t)(secs * 0.2e9); /* warm-up */
  xl_until(&x, time_up, NULL, 60000);
  double c0 = self_cpu();
  uint64_t d0 = g_c.done, t0 = now_ns();
  g_c.t_end = t0 + (uint64_t)(secs * 1e9);
  xl_until(&x, time_up, NULL, 60000);
  uint64_t d1 = g_c.done, t1 = now_ns();
  if (client_cpu) *client_cpu = self_cpu() - c0;
  g_c.stop = true;
  xl_until(&x, drained, NULL, 10000);
  xl_free(&x);
  free(links);
  return (double)(d1 - d0) / ((double)(t1 - t0) / 1e9);
}

/* Median round trip (us) of sequential calls on one link. */
static double run_rtt(kind k, const char *addr, int calls) {
  xloop x;
  xl_new(&x, k);
  roam_link *link;
  memset(&g_c, 0, sizeof g_c);
  open_links(&x, addr, &link, 1);
  g_c.rtt_mode = true;
  g_c.cap = calls;
  g_c.lat = calloc((size_t)calls, sizeof *g_c.lat);
  g_c.t_call = now_ns();
  call(roam_link_session(link), M_ECHO);
  xl_until(&x, lat_full, NULL, 60000);
  double m = median(g_c.lat + calls / 10, calls - calls / 10); /* after a warm-up */
  g_c.stop = true;
  xl_until(&x, drained, NULL, 10000);
  xl_free(&x);
  free(g_c.lat);
  return m;
}

/* ---- blocked: short calls while a 200 ms call is in progress ------------------- */

typedef struct slow_state {
  bool slow_done;
  int slow_status;
} slow_state;

static void slow_cb(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  slow_state *st = ud;
  st->slow_done = true;
  st->slow_status = res->status;
}

static void one_cb(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  int *done = ud;
  *done = res->status == 0 ? 1 : -1;
}

static bool flag_set(void *ud) { return *(int *)ud != 0; }
static bool slow_finished(void *ud) { return ((slow_state *)ud)->slow_done; }

/* One echo call: its round trip in us. */
static double one_call(xloop *x, roam_session *s) {
  int done = 0;
  uint64_t t0 = now_ns();
  int r = roam_call(s, M_ECHO, PAYLOAD, sizeof PAYLOAD, NULL, one_cb, &done, NULL);
  if (r != 0) die("roam_call", r);
  xl_until(x, flag_set, &done, 10000);
  if (done < 0) die("echo", 0);
  return (double)(now_ns() - t0) / 1e3;
}

/* Median round trip of echo calls made while a slow call (method) is in
 * progress on the same link; *idle: the median with nothing else going on. */
static double run_blocked(const char *addr, uint64_t method, double *idle) {
  xloop x;
  xl_new(&x, K_ROAM);
  roam_link *link;
  memset(&g_c, 0, sizeof g_c);
  open_links(&x, addr, &link, 1);
  roam_session *s = roam_link_session(link);
  double v[4000];
  int n = 0;
  for (int i = 0; i < 1000; i++) {
    double t = one_call(&x, s);
    if (i >= 100) v[n++] = t;
  }
  *idle = median(v, n);
  n = 0;
  int rounds = g_quick ? 2 : 4;
  for (int r = 0; r < rounds; r++) {
    slow_state st = {false, 0};
    uint64_t t0 = now_ns();
    int rc = roam_call(s, method, NULL, 0, NULL, slow_cb, &st, NULL);
    if (rc != 0) die("slow call", rc);
    /* short calls while the slow one is (expected to be) in its handler */
    while (!st.slow_done && now_ns() - t0 < 180000000ull && n < 4000) {
      double t = one_call(&x, s);
      if (!st.slow_done || n == 0) v[n++] = t;
    }
    xl_until(&x, slow_finished, &st, 10000);
    if (st.slow_status != 0) die("slow call", st.slow_status);
  }
  g_c.stop = true;
  xl_free(&x);
  return median(v, n);
}

/* ---- workloads ---------------------------------------------------------------- */

static void bench_loops(void) {
  double secs = g_quick ? 0.3 : 1.5;
  double act[2][16], pip[2][16], scpu[2][16], ccpu[2][16], ratio_a[16], ratio_p[16];
  for (int r = 0; r < g_runs; r++) {
    for (int li = 0; li < 2; li++) {
      int l = (r + li) % 2; /* alternate which goes first */
      server sv;
      server_start(&sv, K_ROAM, (uint32_t)l + 1);
      double cc;
      double c0 = 0;
      act[l][r] = run_rate(K_ROAM, sv.addr, 1000, 1, secs, &cc);
      pip[l][r] = run_rate(K_ROAM, sv.addr, 4, 64, secs, NULL);
      (void)c0;
      double sc = server_stop(&sv);
      /* CPU per call of the active run is not separable from the pipelined
       * one in the server: report the whole server CPU per call of both */
      double calls = (act[l][r] + pip[l][r]) * secs;
      scpu[l][r] = sc / (calls * 1.2) * 1e6; /* warm-up included: 1.2 x secs */
      ccpu[l][r] = cc / (act[l][r] * secs) * 1e6;
    }
    ratio_a[r] = act[1][r] / act[0][r];
    ratio_p[r] = pip[1][r] / pip[0][r];
  }
  printf("server loops (Unix socket, client: one roam_loop thread; this machine: %ld CPUs)\n",
         sysconf(_SC_NPROCESSORS_ONLN));
  for (int l = 0; l < 2; l++) {
    printf("  %d loop%s  1000 active links %9.0f calls/s | pipelined 4x64 %9.0f calls/s | "
           "server CPU %.2f us/call, client CPU (active) %.2f us/call\n",
           l + 1, l ? "s" : " ", median(act[l], g_runs), median(pip[l], g_runs),
           median(scpu[l], g_runs), median(ccpu[l], g_runs));
  }
  printf("  2 loops / 1 loop: active %.2fx, pipelined %.2fx (median of per-round ratios)\n",
         median(ratio_a, g_runs), median(ratio_p, g_runs));
}

static void bench_blocked(void) {
  double idle[16], pool[16], onloop[16], ratio[16], idle2[16];
  for (int r = 0; r < g_runs; r++) {
    server sv;
    server_start(&sv, K_ROAM, 1);
    pool[r] = run_blocked(sv.addr, M_SLEEP, &idle[r]);
    onloop[r] = run_blocked(sv.addr, M_SLEEP_LOOP, &idle2[r]);
    server_stop(&sv);
    ratio[r] = pool[r] / idle[r];
  }
  printf("short call while another call on the same link sleeps 200 ms in its handler\n");
  printf("  idle round trip %.1f us | with the sleep on the worker pool %.1f us (%.2fx idle, "
         "target <= 1.5x) | with the sleep on the loop thread %.0f us\n",
         median(idle, g_runs), median(pool, g_runs), median(ratio, g_runs),
         median(onloop, g_runs));
}

/* Round trips are measured in more, shorter rounds than the rates: on a
 * shared 2-core machine a whole round sometimes runs at about 2.5 times the
 * usual latency (where the scheduler puts the two processes), and the
 * median of many per-round ratios is robust to a few such rounds. */
static void bench_adapters(void) {
  double secs = g_quick ? 0.3 : 1.5;
  int calls = g_quick ? 2000 : 5000;
  int rtt_runs = 3 * g_runs > 32 ? 32 : 3 * g_runs;
  double rtt[K_COUNT][32], rate[K_COUNT][16];
  double rr[K_COUNT][32], pr[K_COUNT][16];
  for (int r = 0; r < rtt_runs; r++) {
    for (int i = 0; i < K_COUNT; i++) {
      kind k = (kind)((r + i) % K_COUNT);
      if (!kind_available(k)) continue;
      server sv;
      server_start(&sv, k, 1);
      rtt[k][r] = run_rtt(k, sv.addr, calls);
      if (r < g_runs) rate[k][r] = run_rate(k, sv.addr, 1, 64, secs, NULL);
      server_stop(&sv);
    }
    for (int k = 0; k < K_COUNT; k++) {
      if (!kind_available((kind)k)) continue;
      rr[k][r] = rtt[k][r] / rtt[K_ROAM][r];
      if (r < g_runs) pr[k][r] = rate[k][r] / rate[K_ROAM][r];
    }
  }
  printf("loop adapters (client and server on the same kind of loop, Unix socket; round trip: "
         "%d rounds of %d calls)\n", rtt_runs, calls);
  for (int k = 0; k < K_COUNT; k++) {
    if (!kind_available((kind)k)) {
      printf("  %-9s  not built (library not found)\n", kind_name[k]);
      continue;
    }
    printf("  %-9s  rtt median %6.1f us (%.2fx roam_loop, target <= 1.2x) | pipelined 64 "
           "%8.0f calls/s (%.2fx roam_loop, target >= 0.8x)\n",
           kind_name[k], median(rtt[k], rtt_runs), median(rr[k], rtt_runs),
           median(rate[k], g_runs), median(pr[k], g_runs));
  }
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl = {8192, 8192};
  setrlimit(RLIMIT_NOFILE, &rl);
  const char *q = getenv("BENCH_QUICK");
  if (q && *q && strcmp(q, "0") != 0) g_quick = true;
  bool want[3] = {false, false, false};
  bool any = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      g_quick = true;
    } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
      g_runs = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "loops") || !strcmp(argv[i], "blocked") ||
               !strcmp(argv[i], "adapters")) {
      want[argv[i][0] == 'l' ? 0 : argv[i][0] == 'b' ? 1 : 2] = any = true;
    } else {
      fprintf(stderr, "usage: %s [--runs N] [--quick] [loops|blocked|adapters ...]\n", argv[0]);
      return 2;
    }
  }
  if (g_quick && g_runs == 5) g_runs = 3;
  if (g_runs < 1 || g_runs > 16) g_runs = 5;
  if (!any) want[0] = want[1] = want[2] = true;
  printf("roam-c bench_embed: median of %d rounds%s\n", g_runs, g_quick ? " (quick)" : "");
  if (want[2]) bench_adapters();
  if (want[1]) bench_blocked();
  if (want[0]) bench_loops();
  return 0;
}
