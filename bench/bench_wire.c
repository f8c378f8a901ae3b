/*
 * Wire-layer benchmark: message decode/encode rates, COBS throughput, and
 * heap allocations per decoded message (must be 0).
 *
 *   cmake -S . -B /tmp/wire-rel -DCMAKE_BUILD_TYPE=Release
 *   cmake --build /tmp/wire-rel --target bench_wire && /tmp/wire-rel/bench/bench_wire
 *
 * Every figure is the median of 5 runs; each run lasts about 0.2 s (pass a
 * number of seconds per run as the first argument to change that).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <roam/cobs.h>
#include <roam/message.h>

/* ------------------------------------------------------------------ */
/* Allocation counting                                                 */
/* ------------------------------------------------------------------ */

/* Every malloc of the process is counted by interposing the C library's
 * allocator (glibc, not under a sanitizer, which has its own). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BENCH_NO_MALLOC_HOOK 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || !defined(__GLIBC__)
#define BENCH_NO_MALLOC_HOOK 1
#endif

static unsigned long long g_libc_allocs;

#ifndef BENCH_NO_MALLOC_HOOK
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
  g_libc_allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t k) {
  g_libc_allocs++;
  return __libc_calloc(n, k);
}
void *realloc(void *p, size_t n) {
  g_libc_allocs++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#define MALLOC_HOOKED 1
#else
#define MALLOC_HOOKED 0
#endif

/* And every allocation made through a roam_mem. */
static unsigned long long g_mem_allocs;
static void *cnt_malloc(size_t n, void *ud) {
  (void)ud;
  g_mem_allocs++;
  return malloc(n);
}
static void *cnt_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  g_mem_allocs++;
  return realloc(p, n);
}
static void cnt_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static const roam_mem counting_mem = {NULL, cnt_malloc, cnt_realloc, cnt_free};

static unsigned long long allocs_now(void) { return g_libc_allocs + g_mem_allocs; }

/* ------------------------------------------------------------------ */
/* Timing                                                              */
/* ------------------------------------------------------------------ */

/* CPU time of this thread: the figures are per core and do not count time
 * when another process had the core (the build machine may be busy). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint64_t g_sink;
static double g_run_seconds = 0.2;

typedef uint64_t (*bench_fn)(void *ctx, uint64_t iters);

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median over 5 runs of the seconds per iteration. */
static double measure(bench_fn fn, void *ctx) {
  /* calibrate: grow the count until one run takes a tenth of the target */
  uint64_t iters = 1;
  for (;;) {
    double t0 = now_s();
    g_sink += fn(ctx, iters);
    double dt = now_s() - t0;
    if (dt > g_run_seconds / 10 || iters > (UINT64_C(1) << 40)) {
      double per = dt / (double)iters;
      iters = (uint64_t)(g_run_seconds / (per > 0 ? per : 1e-9)) + 1;
      break;
    }
    iters *= 4;
  }
  double runs[5];
  for (int r = 0; r < 5; r++) {
    double t0 = now_s();
    g_sink += fn(ctx, iters);
    runs[r] = (now_s() - t0) / (double)iters;
  }
  qsort(runs, 5, sizeof runs[0], cmp_double);
  return runs[2];
}

/* ------------------------------------------------------------------ */
/* Workloads                                                           */
/* ------------------------------------------------------------------ */

typedef struct msg_ctx {
  roam_msg msg;       /* value to encode */
  uint8_t *enc;       /* its encoding */
  size_t enc_len;
  uint8_t *out;       /* scratch output */
  size_t out_cap;
} msg_ctx;

static uint64_t run_decode(void *p, uint64_t iters) {
  msg_ctx *c = p;
  uint64_t acc = 0;
  roam_msg m;
  for (uint64_t i = 0; i < iters; i++) {
    /* the compiler cannot hoist the call: it has side effects on m */
    if (roam_msg_decode(&m, c->enc, c->enc_len) != 0) abort();
    acc += m.payload.len + m.request_id;
  }
  return acc;
}

static uint64_t run_encode(void *p, uint64_t iters) {
  msg_ctx *c = p;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < iters; i++) {
    size_t len;
    c->msg.request_id = i & 0x7f;
    if (roam_msg_encode_buf(&c->msg, c->out, c->out_cap, &len) != 0) abort();
    acc += len + c->out[len - 1];
  }
  return acc;
}

typedef struct cobs_ctx {
  uint8_t *raw;
  size_t n;
  uint8_t *enc;
  size_t enc_len;
  uint8_t *dec;
  roam_deframer df;
} cobs_ctx;

static uint64_t run_cobs_encode(void *p, uint64_t iters) {
  cobs_ctx *c = p;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < iters; i++) acc += roam_cobs_encode(c->raw, c->n, c->enc) + c->enc[i % 64];
  return acc;
}

static uint64_t run_cobs_decode(void *p, uint64_t iters) {
  cobs_ctx *c = p;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < iters; i++) {
    size_t len;
    if (roam_cobs_decode(c->enc, c->enc_len, c->dec, c->n, &len) != 0) abort();
    acc += len + c->dec[i % 64];
  }
  return acc;
}

static uint64_t run_cobs_roundtrip(void *p, uint64_t iters) {
  cobs_ctx *c = p;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < iters; i++) {
    size_t len, en = roam_cobs_encode(c->raw, c->n, c->enc);
    if (roam_cobs_decode(c->enc, en, c->dec, c->n, &len) != 0) abort();
    acc += len + c->dec[i % 64];
  }
  return acc;
}

/* The encoded frame plus its delimiter through the deframer's fast path. */
static uint64_t run_deframe(void *p, uint64_t iters) {
  cobs_ctx *c = p;
  uint64_t acc = 0;
  for (uint64_t i = 0; i < iters; i++) {
    size_t used;
    roam_bytes fr;
    if (roam_deframer_feed(&c->df, c->enc, c->enc_len + 1, &used, &fr) != 1) abort();
    acc += fr.len + fr.ptr[i % 64];
  }
  return acc;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    p[i] = (uint8_t)(s >> 24);
  }
}

static void msg_ctx_init(msg_ctx *c, const roam_msg *m) {
  c->msg = *m;
  c->enc_len = roam_msg_encoded_size(m);
  c->enc = malloc(c->enc_len);
  c->out_cap = c->enc_len + 16;
  c->out = malloc(c->out_cap);
  size_t len;
  if (roam_msg_encode_buf(m, c->enc, c->enc_len, &len) != 0 || len != c->enc_len) abort();
}

static void print_row(const char *what, double sec_per_op, double bytes_per_op) {
  double rate = 1.0 / sec_per_op;
  if (bytes_per_op > 0)
    printf("  %-42s %12.2f M/s %9.2f GB/s %9.1f ns/op\n", what, rate / 1e6,
           rate * bytes_per_op / 1e9, sec_per_op * 1e9);
  else
    printf("  %-42s %12.2f M/s %14s %9.1f ns/op\n", what, rate / 1e6, "", sec_per_op * 1e9);
}

int main(int argc, char **argv) {
  if (argc > 1) g_run_seconds = atof(argv[1]) > 0 ? atof(argv[1]) : g_run_seconds;

  /* small Request: echo's method id, no metadata or channels, 16 bytes */
  static uint8_t small_payload[16];
  fill_random(small_payload, sizeof small_payload, 1);
  roam_msg req;
  memset(&req, 0, sizeof req);
  req.kind = ROAM_MSG_REQUEST;
  req.conn_id = 0;
  req.request_id = 1;
  req.method_id = UINT64_C(0x9aabc4ba61fd5df3);
  req.payload.ptr = small_payload;
  req.payload.len = sizeof small_payload;
  msg_ctx small;
  msg_ctx_init(&small, &req);

  /* Data carrying 64 KiB */
  enum { BIG = 64 * 1024 };
  uint8_t *big_payload = malloc(BIG);
  fill_random(big_payload, BIG, 2);
  roam_msg data;
  memset(&data, 0, sizeof data);
  data.kind = ROAM_MSG_DATA;
  data.conn_id = 0;
  data.channel_id = 3;
  data.payload.ptr = big_payload;
  data.payload.len = BIG;
  msg_ctx bigm;
  msg_ctx_init(&bigm, &data);

  /* COBS of 64 KiB: random bytes (about one zero in 256) */
  cobs_ctx cc;
  cc.n = BIG;
  cc.raw = malloc(BIG);
  fill_random(cc.raw, BIG, 3);
  cc.enc = malloc(roam_cobs_max_encoded(BIG) + 1);
  cc.dec = malloc(BIG);
  cc.enc_len = roam_cobs_encode(cc.raw, BIG, cc.enc);
  cc.enc[cc.enc_len] = 0;
  roam_deframer_init(&cc.df, roam_cobs_max_encoded(BIG), &counting_mem);
  /* and a zero-heavy payload: every 8th byte is zero */
  cobs_ctx cz = cc;
  cz.raw = malloc(BIG);
  fill_random(cz.raw, BIG, 4);
  for (size_t i = 0; i < BIG; i++)
    if (cz.raw[i] == 0 || i % 8 == 7) cz.raw[i] = (uint8_t)(i % 8 == 7 ? 0 : 1);
  cz.enc = malloc(roam_cobs_max_encoded(BIG) + 1);
  cz.dec = malloc(BIG);
  cz.enc_len = roam_cobs_encode(cz.raw, BIG, cz.enc);

  printf("roam-c wire benchmark (median of 5 runs of %.2f s of thread CPU time; one core)\n\n",
         g_run_seconds);
  printf("  %-42s %14s %14s %12s\n", "operation", "rate", "throughput", "time");

  double t;
  t = measure(run_decode, &small);
  print_row("decode small Request (16 B payload)", t, 0);
  double small_decode = 1.0 / t;
  t = measure(run_encode, &small);
  print_row("encode small Request (16 B payload)", t, 0);
  t = measure(run_decode, &bigm);
  print_row("decode Data 64 KiB (zero-copy)", t, (double)bigm.enc_len);
  t = measure(run_encode, &bigm);
  print_row("encode Data 64 KiB (copies the payload)", t, (double)bigm.enc_len);
  t = measure(run_cobs_encode, &cc);
  print_row("COBS encode 64 KiB", t, BIG);
  t = measure(run_cobs_decode, &cc);
  print_row("COBS decode 64 KiB", t, BIG);
  t = measure(run_cobs_roundtrip, &cc);
  print_row("COBS encode+decode 64 KiB", t, BIG);
  double cobs_rt = BIG / t / 1e9;
  t = measure(run_deframe, &cc);
  print_row("deframer, 64 KiB frame in one read", t, BIG);
  t = measure(run_cobs_roundtrip, &cz);
  print_row("COBS encode+decode 64 KiB (1/8 zeros)", t, BIG);

  /* allocations per decoded message */
  printf("\n  heap allocations (%s):\n",
         MALLOC_HOOKED ? "libc malloc interposed + counting roam_mem" : "counting roam_mem only");
  enum { N = 100000 };
  unsigned long long a0 = allocs_now();
  g_sink += run_decode(&small, N);
  unsigned long long a1 = allocs_now();
  printf("  %-42s %14.4f per message\n", "decode small Request", (double)(a1 - a0) / N);
  a0 = allocs_now();
  g_sink += run_decode(&bigm, N / 10);
  a1 = allocs_now();
  printf("  %-42s %14.4f per message\n", "decode Data 64 KiB", (double)(a1 - a0) / (N / 10));
  a0 = allocs_now();
  g_sink += run_deframe(&cc, N / 10);
  g_sink += run_decode(&bigm, N / 10);
  a1 = allocs_now();
  printf("  %-42s %14.4f per frame (after warm-up)\n", "deframe + decode 64 KiB", (double)(a1 - a0) / (N / 10));

  printf("\n  targets: small Request decode >= 20 M/s: %s (%.1f M/s); "
         "COBS encode+decode 64 KiB >= 2 GB/s: %s (%.2f GB/s)\n",
         small_decode >= 20e6 ? "met" : "MISSED", small_decode / 1e6, cobs_rt >= 2.0 ? "met" : "MISSED",
         cobs_rt);

  roam_deframer_free(&cc.df);
  free(small.enc);
  free(small.out);
  free(bigm.enc);
  free(bigm.out);
  free(big_payload);
  free(cc.raw);
  free(cc.enc);
  free(cc.dec);
  free(cz.raw);
  free(cz.enc);
  free(cz.dec);
  return 0;
}
