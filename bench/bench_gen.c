/*
 * roam-gen figures (docs/roam-gen.md, docs/PERFORMANCE.md):
 *   1. encode and decode rates of the generated Testbed codec for a Canvas
 *      of 16 shapes, next to the hand-written codec it replaced
 *      (bench/baseline, a frozen copy), same value, same bytes;
 *   2. roam-gen's time on a generated definition of 1000 methods and 200
 *      types (target: under one second).
 *
 *   bench_gen [--runs N] [--secs S]       (BENCH_QUICK=1: shorter)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "baseline/tb_baseline.h"
#include "testbed.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define NSHAPES 16
static const char canvas_name[] = "a canvas with sixteen shapes";

static testbed_shape g_shapes[NSHAPES];
static testbed_canvas g_canvas;
static tb_shape b_shapes[NSHAPES];
static tb_canvas b_canvas;

static void build_values(void) {
  for (int i = 0; i < NSHAPES; i++) {
    switch (i % 3) {
    case 0:
      g_shapes[i].tag = TESTBED_SHAPE_CIRCLE;
      g_shapes[i].circle.radius = i + 0.5;
      b_shapes[i].kind = TB_SHAPE_CIRCLE;
      b_shapes[i].radius = i + 0.5;
      break;
    case 1:
      g_shapes[i].tag = TESTBED_SHAPE_RECTANGLE;
      g_shapes[i].rectangle.width = i;
      g_shapes[i].rectangle.height = 2.0 * i;
      b_shapes[i].kind = TB_SHAPE_RECTANGLE;
      b_shapes[i].width = i;
      b_shapes[i].height = 2.0 * i;
      break;
    default:
      g_shapes[i].tag = TESTBED_SHAPE_POINT;
      b_shapes[i].kind = TB_SHAPE_POINT;
    }
  }
  g_canvas.name = roam_str_c(canvas_name);
  g_canvas.shapes.items = g_shapes;
  g_canvas.shapes.len = NSHAPES;
  g_canvas.background = TESTBED_COLOR_GREEN;
  b_canvas.name = tb_cstr(canvas_name);
  b_canvas.shapes = b_shapes;
  b_canvas.shape_count = NSHAPES;
  b_canvas.background = TB_GREEN;
}

static uint8_t g_bytes[1024];
static size_t g_len;
static volatile size_t sink;

/* One measured loop: iterations per second of fn over `secs`. */
typedef void (*op_fn)(void);

static double rate(op_fn fn, double secs) {
  /* calibrate a batch of about 1 ms */
  uint64_t t0 = now_ns();
  long batch = 64;
  for (;;) {
    t0 = now_ns();
    for (long i = 0; i < batch; i++)
      fn();
    if (now_ns() - t0 > 1000000 || batch > (1L << 28))
      break;
    batch *= 2;
  }
  uint64_t start = now_ns(), end = start + (uint64_t)(secs * 1e9);
  long n = 0;
  while (now_ns() < end) {
    for (long i = 0; i < batch; i++)
      fn();
    n += batch;
  }
  return n / ((now_ns() - start) / 1e9);
}

static void gen_encode(void) {
  uint8_t buf[1024];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  testbed_canvas_encode(&e, &g_canvas);
  sink += roam_enc_size(&e);
}

static void base_encode(void) {
  uint8_t buf[1024];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_canvas(&e, &b_canvas);
  sink += roam_enc_size(&e);
}

static roam_arena g_arena;

static void gen_decode(void) {
  roam_dec d;
  roam_dec_init(&d, g_bytes, g_len);
  testbed_canvas c;
  roam_arena_reset(&g_arena);
  if (testbed_canvas_decode(&d, &c, &g_arena) != 0 || roam_dec_finish(&d) != 0)
    abort();
  sink += c.shapes.len;
}

static void base_decode(void) {
  roam_dec d;
  roam_dec_init(&d, g_bytes, g_len);
  tb_canvas c;
  if (tb_dec_canvas(&d, &c) != 0 || roam_dec_finish(&d) != 0)
    abort();
  sink += c.shape_count;
  tb_canvas_free(&c);
}

/* ---- roam-gen on a large definition ---- */

static int write_big_definition(const char *path, int ntypes, int nmethods) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fprintf(f, "use std::collections::HashMap;\n\n");
  for (int t = 0; t < ntypes; t++) {
    fprintf(f, "/// Type number %d.\n", t);
    switch (t % 4) {
    case 0:
      fprintf(f, "pub struct Rec%d {\n    pub id: u64,\n    pub name: String,\n"
                 "    pub tags: Vec<String>,\n    pub score: Option<f64>,\n", t);
      if (t % 40 != 0) /* chains of ten records, so signatures stay linear */
        fprintf(f, "    pub prev: Option<Box<Rec%d>>,\n", t - 4);
      fprintf(f, "    pub many: Vec<Choice%d>,\n", t + 1);
      fprintf(f, "}\n\n");
      break;
    case 1:
      fprintf(f, "pub enum Choice%d {\n    Empty,\n    Num(i64),\n    Pair(u8, String),\n"
                 "    Named { a: Flag%d, b: Option<Box<Choice%d>> },\n}\n\n", t, t + 2, t);
      break;
    case 2:
      fprintf(f, "pub struct Tup%d(pub u32, pub [u16; 4], pub HashMap<String, Flag%d>);\n\n", t,
              t + 1);
      break;
    default:
      fprintf(f, "#[repr(u8)]\npub enum Flag%d {\n    A = 0,\n    B = 1,\n    C = 2,\n}\n\n", t);
    }
  }
  int per = 100;
  for (int s = 0; s * per < nmethods; s++) {
    fprintf(f, "/// Service %d.\n#[service]\npub trait Service%d {\n", s, s);
    for (int m = s * per; m < (s + 1) * per && m < nmethods; m++) {
      int t = (m * 7) % ntypes;
      const char *kind = t % 4 == 0 ? "Rec" : t % 4 == 1 ? "Choice" : t % 4 == 2 ? "Tup" : "Flag";
      fprintf(f, "    /// Method %d.\n", m);
      if (m % 5 == 0)
        fprintf(f, "    async fn method_%d(&self, a: %s%d, b: Vec<u32>) -> Result<String, Flag3>;\n",
                m, kind, t);
      else if (m % 5 == 1)
        fprintf(f, "    async fn method_%d(&self, n: u32, out: Tx<%s%d>);\n", m, kind, t);
      else
        fprintf(f, "    async fn method_%d(&self, x: Option<%s%d>, y: (i32, String)) -> %s%d;\n",
                m, kind, t, kind, t);
    }
    fprintf(f, "}\n\n");
  }
  return fclose(f);
}

static double time_roam_gen(const char *def, const char *outdir) {
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid == 0) {
    execl(ROAM_GEN_PATH, "roam-gen", "-o", outdir, def, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_gen: roam-gen failed on %s\n", def);
    exit(1);
  }
  return (now_ns() - t0) / 1e6;
}

int main(int argc, char **argv) {
  int runs = 5;
  double secs = 0.3;
  if (getenv("BENCH_QUICK")) {
    runs = 3;
    secs = 0.1;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--secs") && i + 1 < argc)
      secs = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_gen [--runs N] [--secs S]\n");
      return 2;
    }
  }
  if (runs < 1 || runs > 50 || secs <= 0) {
    fprintf(stderr, "bench_gen: bad --runs or --secs\n");
    return 2;
  }
  build_values();
  /* same value, same bytes */
  roam_enc e;
  roam_enc_init(&e, g_bytes, sizeof g_bytes);
  testbed_canvas_encode(&e, &g_canvas);
  g_len = roam_enc_size(&e);
  uint8_t other[1024];
  roam_enc_init(&e, other, sizeof other);
  tb_enc_canvas(&e, &b_canvas);
  if (roam_enc_error(&e) || roam_enc_size(&e) != g_len || memcmp(other, g_bytes, g_len)) {
    fprintf(stderr, "bench_gen: the two codecs disagree on the Canvas bytes\n");
    return 1;
  }
  max_align_t arena_buf[64];
  roam_arena_init_buffer(&g_arena, arena_buf, sizeof arena_buf, NULL);

  double r[4][50];
  for (int k = 0; k < runs; k++) { /* interleaved, side by side */
    r[0][k] = rate(gen_encode, secs);
    r[1][k] = rate(base_encode, secs);
    r[2][k] = rate(gen_decode, secs);
    r[3][k] = rate(base_decode, secs);
  }
  const char *what[4] = {"encode generated", "encode hand-written", "decode generated",
                         "decode hand-written"};
  double med[4];
  printf("roam-gen codec: Testbed Canvas with %d shapes (%zu bytes); median of %d runs of "
         "%.2f s, one core\n", NSHAPES, g_len, runs, secs);
  printf("  %-26s %12s %10s\n", "operation", "values/s", "ns/value");
  for (int i = 0; i < 4; i++) {
    med[i] = median(r[i], runs);
    printf("  %-26s %10.2f M %10.1f\n", what[i], med[i] / 1e6, 1e9 / med[i]);
  }
  printf("  generated / hand-written: encode %.2fx, decode %.2fx (target >= 1: %s)\n",
         med[0] / med[1], med[2] / med[3],
         med[0] >= med[1] * 0.97 && med[2] >= med[3] * 0.97 ? "met" : "NOT met");
  printf("  (decode: generated into a reused arena; hand-written mallocs the shapes)\n");

  /* roam-gen on 1000 methods and 200 types */
  char dir[] = "/tmp/roam-bench-gen-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("bench_gen: mkdtemp");
    return 1;
  }
  char def[512], cmd[600];
  snprintf(def, sizeof def, "%s/big.rs", dir);
  if (write_big_definition(def, 200, 1000) != 0) {
    perror("bench_gen: writing the definition");
    return 1;
  }
  double t[50];
  for (int k = 0; k < runs; k++)
    t[k] = time_roam_gen(def, dir);
  struct stat sh, sc;
  char hp[600], cp[600];
  snprintf(hp, sizeof hp, "%s/big.h", dir);
  snprintf(cp, sizeof cp, "%s/big.c", dir);
  if (stat(hp, &sh) != 0 || stat(cp, &sc) != 0) {
    fprintf(stderr, "bench_gen: roam-gen wrote no output\n");
    return 1;
  }
  double tm = median(t, runs);
  printf("roam-gen on 1000 methods and 200 types (%lld + %lld bytes of C): %.0f ms, median of "
         "%d (target < 1000 ms: %s)\n",
         (long long)sh.st_size, (long long)sc.st_size, tm, runs, tm < 1000 ? "met" : "NOT met");
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_gen: could not remove %s\n", dir);
  return 0;
}
