/*
 * The session layer alone: two sessions back to back in memory (no
 * sockets, no threads), one core.
 *
 *   unary echo, 1 and 64 calls in flight       completed calls/s
 *   cost per call at 10 / 1 000 / 100 000 in flight   ns/call (flat?)
 *   one channel, default credit, 64 KiB values  GB/s of values
 *   heap (counting allocator): an idle session after the handshake, and
 *   the extra per in-flight call (caller, callee) and per open channel
 *
 * Every figure is the median of 5 runs. Sessions run with the default
 * configuration (diagnostics on) and again without diagnostic records
 * (ROAM_SESSION_NO_DIAGNOSTICS), since those are the diagnostics module's
 * cost, not the session's.
 *
 *   bench_session [--quick] [--runs N]
 * Build with -DCMAKE_BUILD_TYPE=Release for figures.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <roam/roam.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_session: %s: %s\n", what, roam_err_name(rc));
  exit(2);
}

/* ---- counting allocator (requested bytes, no header in the count) ------- */

typedef struct cmem {
  roam_mem mem;
  size_t bytes;
} cmem;

static void *c_malloc(size_t n, void *ud) {
  cmem *m = ud;
  size_t *p = malloc(n + sizeof(size_t) * 2);
  if (!p) return NULL;
  p[0] = n;
  m->bytes += n;
  return p + 2;
}
static void c_free(void *q, void *ud) {
  cmem *m = ud;
  if (!q) return;
  size_t *p = (size_t *)q - 2;
  m->bytes -= p[0];
  free(p);
}
static void *c_realloc(void *q, size_t n, void *ud) {
  cmem *m = ud;
  if (!q) return c_malloc(n, ud);
  size_t *p = (size_t *)q - 2;
  size_t old = p[0];
  size_t *np = realloc(p, n + sizeof(size_t) * 2);
  if (!np) return NULL;
  np[0] = n;
  m->bytes = m->bytes - old + n;
  return np + 2;
}
static void cmem_init(cmem *m) {
  memset(m, 0, sizeof *m);
  m->mem.user_data = m;
  m->mem.malloc = c_malloc;
  m->mem.realloc = c_realloc;
  m->mem.free = c_free;
}

/* ---- two sessions in memory ----------------------------------------------- */

#define M_ECHO 1
#define M_SINK 2
#define M_HOLD 3

typedef struct pair {
  roam_session *a, *b; /* a: initiator (caller), b: acceptor (callee) */
  roam_dispatcher *d;
  cmem ma, mb;
  /* echo workload */
  uint64_t started, completed, target;
  uint32_t inflight;
  int failed;
  /* hold workload */
  roam_request **held;
  size_t nheld, capheld;
  /* stream workload */
  uint64_t tx, rx_bytes, tx_bytes, stream_target;
  uint8_t *value;
  size_t vlen;
} pair;

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_request_respond_ok(r, p.ptr, p.len);
}

static void h_hold(roam_session *s, roam_request *r, void *ud) {
  pair *p = ud;
  (void)s;
  if (p->nheld == p->capheld) {
    p->capheld = p->capheld ? p->capheld * 2 : 1024;
    p->held = realloc(p->held, p->capheld * sizeof *p->held);
  }
  p->held[p->nheld++] = r;
}

static int sink_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  pair *p = ud;
  (void)s, (void)conn, (void)ch;
  p->rx_bytes += v.len;
  return 0;
}
static void sink_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err, (void)ud;
}
static const roam_channel_callbacks sink_cbs = {sink_data, sink_end, NULL};
static roam_request *sink_req;
static void h_sink(roam_session *s, roam_request *r, void *ud) {
  (void)s;
  sink_req = r;
  int rc = roam_request_bind_channel(r, 0, ROAM_CHAN_RECV, &sink_cbs, ud);
  if (rc) die("bind", rc);
}

static void pair_init(pair *p, unsigned flags, uint32_t limit) {
  memset(p, 0, sizeof *p);
  cmem_init(&p->ma);
  cmem_init(&p->mb);
  p->d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(p->d, M_ECHO, h_echo, p);
  roam_dispatcher_add(p->d, M_SINK, h_sink, p);
  roam_dispatcher_add(p->d, M_HOLD, h_hold, p);
  for (int i = 0; i < 2; i++) {
    roam_session_config cfg;
    roam_session_config_init(&cfg, i == 0 ? ROAM_ROLE_INITIATOR : ROAM_ROLE_ACCEPTOR);
    cfg.flags = flags;
    cfg.mem = i == 0 ? &p->ma.mem : &p->mb.mem;
    if (limit) {
      cfg.max_outgoing_calls = limit;
      cfg.max_incoming_calls = limit;
      cfg.max_channels = limit;
      cfg.output_high_water = 64u << 20;
    }
    int rc = roam_session_new(i == 0 ? &p->a : &p->b, &cfg, NULL, p);
    if (rc) die("session_new", rc);
  }
  roam_session_set_dispatcher(p->b, 0, p->d);
}

static void pair_free(pair *p) {
  roam_session_free(p->a);
  roam_session_free(p->b);
  roam_dispatcher_free(p->d);
  free(p->held);
}

/* Move everything one way; returns the bytes moved. */
static size_t flow(roam_session *from, roam_session *to) {
  const uint8_t *d;
  size_t n = roam_session_output(from, &d), used = 0;
  if (!n) return 0;
  int rc = roam_session_recv(to, d, n, &used);
  if (rc) die("recv", rc);
  roam_session_consume(from, used);
  return used;
}

static void settle(pair *p) {
  while (flow(p->a, p->b) + flow(p->b, p->a)) {
  }
}

/* ---- unary echo ------------------------------------------------------------- */

static const uint8_t echo_arg[] = {5, 'h', 'e', 'l', 'l', 'o'};

static void on_echo(roam_session *s, const roam_call_result *res, void *ud);

static void start_echo(pair *p) {
  int rc = roam_call(p->a, M_ECHO, echo_arg, sizeof echo_arg, NULL, on_echo, p, NULL);
  if (rc) die("call", rc);
  p->started++;
}

static void on_echo(roam_session *s, const roam_call_result *res, void *ud) {
  pair *p = ud;
  (void)s;
  if (res->status != 0 || res->value.len != sizeof echo_arg) p->failed = 1;
  p->completed++;
  if (p->started < p->target) start_echo(p);
}

/* ns per completed call with `inflight` calls kept in flight. */
static double run_echo(unsigned flags, uint32_t inflight, uint64_t calls) {
  pair p;
  pair_init(&p, flags, inflight > 4096 ? inflight * 2 : 0);
  settle(&p);
  p.target = calls + inflight;
  for (uint32_t i = 0; i < inflight; i++) start_echo(&p);
  /* warm up: the first round */
  while (p.completed < inflight) {
    flow(p.a, p.b);
    flow(p.b, p.a);
  }
  uint64_t c0 = p.completed, t0 = now_ns();
  while (p.completed < calls) {
    flow(p.a, p.b);
    flow(p.b, p.a);
  }
  uint64_t t1 = now_ns();
  if (p.failed) die("echo", ROAM_ERR_BAD_RESPONSE);
  double ns = (double)(t1 - t0) / (double)(p.completed - c0);
  p.target = 0;
  settle(&p);
  pair_free(&p);
  return ns;
}

/* ---- streaming ---------------------------------------------------------------- */

static void stream_pump(pair *p) {
  while (p->tx_bytes < p->stream_target) {
    int rc = roam_channel_send(p->a, 0, p->tx, p->value, p->vlen);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc) die("send", rc);
    p->tx_bytes += p->vlen;
  }
}
static void tx_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch, (void)ud;
}
static void tx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err, (void)ud;
}
static const roam_channel_callbacks tx_cbs = {NULL, tx_end, tx_writable};
static void on_done(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s, (void)res, (void)ud;
}

/* GB/s of values through one channel. */
static double run_stream(unsigned flags, size_t vlen, uint64_t total) {
  pair p;
  pair_init(&p, flags, 0);
  settle(&p);
  p.value = malloc(vlen);
  for (size_t i = 0; i < vlen; i++) p.value[i] = (uint8_t)(i * 7 + 1);
  p.vlen = vlen;
  int rc = roam_channel_alloc(p.a, 0, ROAM_CHAN_SEND, &tx_cbs, &p, &p.tx);
  if (rc) die("alloc", rc);
  roam_call_opts o;
  memset(&o, 0, sizeof o);
  o.channels = &p.tx;
  o.channel_count = 1;
  rc = roam_call(p.a, M_SINK, NULL, 0, &o, on_done, &p, NULL);
  if (rc) die("call", rc);
  settle(&p);
  p.stream_target = total;
  uint64_t t0 = now_ns();
  while (p.rx_bytes < total) {
    stream_pump(&p);
    flow(p.a, p.b);
    flow(p.b, p.a);
  }
  uint64_t t1 = now_ns();
  roam_channel_close(p.a, 0, p.tx);
  settle(&p);
  roam_request_respond_ok(sink_req, NULL, 0);
  settle(&p);
  free(p.value);
  pair_free(&p);
  return (double)total / (double)(t1 - t0); /* bytes per ns = GB/s */
}

/* ---- memory ------------------------------------------------------------------- */

typedef struct memfig {
  double idle, per_call, per_req, per_chan_caller, per_chan_callee;
} memfig;

static void on_ignore(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s, (void)res, (void)ud;
}

/* Bytes each side holds more with a call in flight listing k fresh RECV
 * channels (k = 0: a plain call), per call, n calls, fresh sessions. */
static void mem_calls(unsigned flags, uint32_t n, uint32_t k, double *caller, double *callee) {
  pair p;
  pair_init(&p, flags, n * (k + 1) * 2 + 16);
  settle(&p);
  size_t a0 = p.ma.bytes, b0 = p.mb.bytes;
  uint64_t ids[16];
  for (uint32_t i = 0; i < n; i++) {
    for (uint32_t j = 0; j < k; j++)
      if (roam_channel_alloc(p.a, 0, ROAM_CHAN_RECV, &sink_cbs, &p, &ids[j])) die("alloc", 0);
    roam_call_opts o;
    memset(&o, 0, sizeof o);
    o.channels = ids;
    o.channel_count = k;
    if (roam_call(p.a, M_HOLD, NULL, 0, &o, on_ignore, NULL, NULL)) die("call", 0);
  }
  settle(&p);
  *caller = ((double)p.ma.bytes - (double)a0) / n;
  *callee = ((double)p.mb.bytes - (double)b0) / n;
  for (size_t i = 0; i < p.nheld; i++) roam_request_respond_ok(p.held[i], NULL, 0);
  p.nheld = 0;
  settle(&p);
  pair_free(&p);
}

static memfig run_mem(unsigned flags, uint32_t n) {
  memfig f;
  pair p;
  pair_init(&p, flags, 0);
  settle(&p);
  f.idle = (double)p.ma.bytes;
  pair_free(&p);
  mem_calls(flags, n, 0, &f.per_call, &f.per_req);
  double a2, b2;
  mem_calls(flags, n, 2, &a2, &b2); /* two channels per call */
  f.per_chan_caller = (a2 - f.per_call) / 2;
  f.per_chan_callee = (b2 - f.per_req) / 2;
  return f;
}

/* ---- driver -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define RUNS_MAX 15

int main(int argc, char **argv) {
  int runs = 5, quick = 0;
  const char *only = NULL;
  uint32_t inflight_only = 0; /* --inflight N: just ns/call with N in flight */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--inflight") && i + 1 < argc) inflight_only = (uint32_t)atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_session [--quick] [--runs N] [--only echo|scale|scale100k|stream|mem]\n"
                      "                     [--inflight N]\n");
      return 2;
    }
  }
#define WANT(x) (!only || !strcmp(only, x))
  if (runs < 1) runs = 1;
  if (runs > RUNS_MAX) runs = RUNS_MAX;
  uint64_t calls = quick ? 200000 : 2000000;
  uint64_t bytes = quick ? (64ull << 20) : (1ull << 30);
  static const unsigned modes[2] = {0, ROAM_SESSION_NO_DIAGNOSTICS};
  if (inflight_only) {
    double w[2][RUNS_MAX];
    for (int m = 0; m < 2; m++)
      for (int r = 0; r < runs; r++) {
        w[m][r] = run_echo(modes[m], inflight_only,
                           calls > inflight_only * 4ull ? calls : inflight_only * 4ull);
        if (getenv("BENCH_VERBOSE")) fprintf(stderr, "  run %d mode %d: %.1f\n", r, m, w[m][r]);
      }
    printf("%u in flight: %.1f ns/call (default), %.1f (no diagnostics)\n", inflight_only,
           median(w[0], runs), median(w[1], runs));
    return 0;
  }
  static const char *const mode_names[2] = {"default", "no diagnostics"};

  printf("roam-c session layer, two sessions in memory, one core; median of %d runs\n\n", runs);
  printf("%-46s %16s %16s\n", "", mode_names[0], mode_names[1]);
  double v[2][RUNS_MAX];

  static const uint32_t inflights[2] = {1, 64};
  for (int k = 0; k < 2 && WANT("echo"); k++) {
    for (int m = 0; m < 2; m++)
      for (int r = 0; r < runs; r++) v[m][r] = 1e9 / run_echo(modes[m], inflights[k], calls);
    char label[64];
    snprintf(label, sizeof label, "unary echo, %u in flight (calls/s)", inflights[k]);
    printf("%-46s %16.0f %16.0f\n", label, median(v[0], runs), median(v[1], runs));
    fflush(stdout);
  }
  static const uint32_t scale[3] = {10, 1000, 100000};
  for (int k = 0; k < 3; k++) {
    if (!WANT("scale") && !(k == 2 && only && !strcmp(only, "scale100k"))) continue;
    for (int m = 0; m < 2; m++)
      for (int r = 0; r < runs; r++) {
        uint64_t c = calls > scale[k] * 4 ? calls : scale[k] * 4;
        v[m][r] = run_echo(modes[m], scale[k], c);
      }
    char label[64];
    snprintf(label, sizeof label, "cost per call, %u in flight (ns)", scale[k]);
    printf("%-46s %16.1f %16.1f\n", label, median(v[0], runs), median(v[1], runs));
    fflush(stdout);
  }
  for (int m = 0; m < 2 && WANT("stream"); m++)
    for (int r = 0; r < runs; r++) v[m][r] = run_stream(modes[m], 65536, bytes);
  if (WANT("stream")) printf("%-46s %16.2f %16.2f\n", "one channel, 64 KiB values (GB/s)", median(v[0], runs),
         median(v[1], runs));
  fflush(stdout);

  if (!WANT("mem")) return 0;
  memfig mf[2][RUNS_MAX];
  for (int m = 0; m < 2; m++)
    for (int r = 0; r < runs; r++) mf[m][r] = run_mem(modes[m], quick ? 1000 : 10000);
  struct {
    const char *label;
    size_t off;
  } rows[] = {
      {"heap: idle session after the handshake (B)", offsetof(memfig, idle)},
      {"heap: per call in flight, caller (B)", offsetof(memfig, per_call)},
      {"heap: per call in flight, callee (B)", offsetof(memfig, per_req)},
      {"heap: per open channel, caller (B)", offsetof(memfig, per_chan_caller)},
      {"heap: per open channel, callee (B)", offsetof(memfig, per_chan_callee)},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    for (int m = 0; m < 2; m++)
      for (int r = 0; r < runs; r++) v[m][r] = *(double *)((char *)&mf[m][r] + rows[i].off);
    printf("%-46s %16.1f %16.1f\n", rows[i].label, median(v[0], runs), median(v[1], runs));
  }
  return 0;
}
