/*
 * bench_method_id: method-id computation rate and BLAKE3 throughput, with
 * the b3sum command timed on the same data for comparison.
 *
 *   bench_method_id [--mib N] [--runs N] [--no-b3sum]
 *
 * Every figure is the median of --runs runs (default 5), given twice: per
 * wall-clock second and per CPU second (the latter is steadier on a busy
 * machine; for multi-threaded b3sum it is the per-core efficiency). BLAKE3 is measured
 * on 64 KiB inputs (one-shot per input, every back end this CPU supports)
 * and on one large buffer of --mib MiB (default 256) hashed in one call; the
 * same bytes are written to a temporary file and hashed by
 * `b3sum --num-threads 1` and by plain `b3sum` (all cores), both timed from
 * spawn to exit with output to /dev/null. Build with
 * -DCMAKE_BUILD_TYPE=Release for meaningful numbers.
 */
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <roam/blake3.h>
#include <roam/method_id.h>
#include <roam/testbed_ids.h>

extern char **environ;

#define MAX_RUNS 15

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One measurement: amount of work, wall seconds, CPU seconds. */
typedef struct sample {
  double work, wall, cpu;
} sample;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static volatile uint64_t sink; /* keeps results alive */

/* ---- method ids ---- */

static sample run_method_ids(double min_secs) {
  uint64_t n = 0, acc = 0;
  double t0 = now(), c0 = cpu_now(), t;
  do {
    for (int k = 0; k < 64; k++) {
      const roam_method_desc *m = &roam_testbed_methods[n % ROAM_TESTBED_METHOD_COUNT];
      uint64_t id = 0;
      (void)roam_method_desc_id(m, ROAM_SIG_PUBLISHED, &id);
      acc ^= id;
      n++;
    }
    t = now() - t0;
  } while (t < min_secs);
  sink ^= acc;
  return (sample){(double)n, t, cpu_now() - c0};
}

static sample run_sig_encode(double min_secs) {
  uint64_t n = 0, acc = 0;
  uint8_t buf[256];
  double t0 = now(), c0 = cpu_now(), t;
  do {
    for (int k = 0; k < 256; k++) {
      const roam_method_desc *m = &roam_testbed_methods[n % ROAM_TESTBED_METHOD_COUNT];
      size_t len = 0;
      (void)roam_signature_encode(m->args, m->argc, m->ret, 0, buf, sizeof buf, &len);
      acc += len + buf[len - 1];
      n++;
    }
    t = now() - t0;
  } while (t < min_secs);
  sink ^= acc;
  return (sample){(double)n, t, cpu_now() - c0};
}

static sample run_kebab(double min_secs) {
  static const char *const names[] = {"Testbed", "TemplateHost", "rectangle_area",
                                      "XMLHttpRequest", "process_message", "getPoints"};
  uint64_t n = 0, acc = 0;
  char out[64];
  double t0 = now(), c0 = cpu_now(), t;
  do {
    for (int k = 0; k < 256; k++) {
      const char *s = names[n % 6];
      size_t len = 0;
      (void)roam_kebab_case(s, strlen(s), out, sizeof out, &len);
      acc += len + (uint8_t)out[0];
      n++;
    }
    t = now() - t0;
  } while (t < min_secs);
  sink ^= acc;
  return (sample){(double)n, t, cpu_now() - c0};
}

/* ---- BLAKE3 ---- */

/* Hash `len`-byte inputs one-shot for at least min_secs. */
static sample run_blake3(const uint8_t *data, size_t len, roam_blake3_backend be,
                         double min_secs) {
  uint64_t bytes = 0;
  uint8_t out[32];
  double t0 = now(), c0 = cpu_now(), t;
  do {
    roam_blake3_hasher h;
    roam_blake3_hasher_init(&h);
    roam_blake3_hasher_set_backend(&h, be);
    roam_blake3_hasher_update(&h, data, len);
    roam_blake3_hasher_finalize(&h, out, 32);
    sink ^= out[0];
    bytes += len;
    t = now() - t0;
  } while (t < min_secs);
  return (sample){(double)bytes, t, cpu_now() - c0};
}

/* ---- b3sum ---- */

static int have_b3sum(void) { return system("command -v b3sum >/dev/null 2>&1") == 0; }

/* Time `b3sum [--num-threads 1] file` from spawn to exit (CPU time: the
 * child's user + system time). Returns 0, or -1 on failure. */
static int time_b3sum(const char *file, int single_thread, sample *out) {
  char *argv1[] = {"b3sum", "--num-threads", "1", (char *)file, NULL};
  char *argvn[] = {"b3sum", (char *)file, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  double t0 = now();
  int rc = posix_spawnp(&pid, "b3sum", &fa, NULL, single_thread ? argv1 : argvn, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return -1;
  out->wall = now() - t0;
  out->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int b3sum_digest(const char *file, char hex[65]) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "b3sum --no-names '%s'", file);
  FILE *f = popen(cmd, "r");
  if (!f) return -1;
  size_t n = fread(hex, 1, 64, f);
  hex[n] = 0;
  return pclose(f) == 0 && n == 64 ? 0 : -1;
}

/* Prints the medians of work/wall and work/cpu, scaled by `unit`. */
static void report(const char *label, const sample *sm, int n, double unit, const char *suffix) {
  double w[MAX_RUNS], c[MAX_RUNS];
  for (int i = 0; i < n; i++) {
    w[i] = sm[i].work / sm[i].wall / unit;
    c[i] = sm[i].cpu > 0 ? sm[i].work / sm[i].cpu / unit : 0;
  }
  printf("%-46s %11.3f %-4s %11.3f %-4s\n", label, median(w, n), suffix, median(c, n), suffix);
}

int main(int argc, char **argv) {
  size_t mib = 256;
  int runs = 5, use_b3sum = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = (size_t)strtoul(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = atoi(argv[++i]);
    } else if (strcmp(argv[i], "--no-b3sum") == 0) {
      use_b3sum = 0;
    } else {
      fprintf(stderr, "usage: %s [--mib N] [--runs N] [--no-b3sum]\n", argv[0]);
      return 2;
    }
  }
  if (runs < 1) runs = 1;
  if (runs > MAX_RUNS) runs = MAX_RUNS;
  if (mib < 1) mib = 1;

  const roam_blake3_backend best = roam_blake3_backend_detected();
  printf("roam-c bench_method_id: median of %d runs, BLAKE3 back end detected: %s, %ld CPUs\n\n",
         runs, roam_blake3_backend_name(best), sysconf(_SC_NPROCESSORS_ONLN));

  /* Method ids. */
  sample sm[MAX_RUNS];
  printf("%-46s %16s %16s\n", "method-id work (16 Testbed methods)", "per wall-second",
         "per CPU-second");
  for (int i = 0; i < runs; i++) sm[i] = run_method_ids(0.3);
  report("method id (encode + 2x BLAKE3 + kebab)", sm, runs, 1e6, "M/s");
  for (int i = 0; i < runs; i++) sm[i] = run_sig_encode(0.2);
  report("signature encode only", sm, runs, 1e6, "M/s");
  for (int i = 0; i < runs; i++) sm[i] = run_kebab(0.2);
  report("kebab-case only", sm, runs, 1e6, "M/s");

  /* BLAKE3 on 64 KiB inputs, then one big buffer. */
  const size_t small = 64 * 1024;
  const size_t big = mib * 1024 * 1024;
  uint8_t *data = malloc(big > small ? big : small);
  if (!data) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  uint64_t x = 0x243F6A8885A308D3ull;
  for (size_t i = 0; i < (big > small ? big : small); i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    data[i] = (uint8_t)(x >> 56);
  }
  printf("\n%-46s %16s %16s\n", "BLAKE3, this library (1 thread)", "per wall-second",
         "per CPU-second");
  char label[96];
  for (int be = ROAM_BLAKE3_PORTABLE; be <= (int)best; be++) {
    for (int i = 0; i < runs; i++) sm[i] = run_blake3(data, small, (roam_blake3_backend)be, 0.25);
    snprintf(label, sizeof label, "64 KiB inputs, %s",
             roam_blake3_backend_name((roam_blake3_backend)be));
    report(label, sm, runs, 1e9, "GB/s");
  }
  for (int i = 0; i < runs; i++) sm[i] = run_blake3(data, big, best, 0.0);
  snprintf(label, sizeof label, "%zu MiB buffer, %s", mib, roam_blake3_backend_name(best));
  report(label, sm, runs, 1e9, "GB/s");

  /* b3sum on the same bytes. */
  if (use_b3sum && !have_b3sum()) {
    printf("\n(b3sum not installed: comparison skipped)\n");
    use_b3sum = 0;
  }
  if (use_b3sum) {
    char path[] = "/tmp/roam-bench-b3-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
      perror("mkstemp");
      free(data);
      return 1;
    }
    for (size_t off = 0; off < big;) {
      ssize_t n = write(fd, data + off, big - off);
      if (n <= 0) {
        perror("write");
        close(fd);
        unlink(path);
        free(data);
        return 1;
      }
      off += (size_t)n;
    }
    close(fd);

    char want[65], got[65];
    uint8_t d[32];
    roam_blake3(d, data, big);
    for (int i = 0; i < 32; i++) snprintf(want + 2 * i, 3, "%02x", d[i]);
    int same = b3sum_digest(path, got) == 0 && strcmp(got, want) == 0;

    printf("\n%-46s %16s %16s\n", "b3sum 1.x (same bytes, file in page cache)",
           "per wall-second", "per CPU-second");
    for (int mode = 1; mode >= 0; mode--) {
      sample warm;
      (void)time_b3sum(path, mode, &warm);
      int okruns = 0;
      for (int i = 0; i < runs; i++) {
        if (time_b3sum(path, mode, &sm[okruns]) == 0) sm[okruns++].work = (double)big;
      }
      snprintf(label, sizeof label, "%zu MiB file, b3sum %s", mib,
               mode ? "--num-threads 1" : "(default threads)");
      if (okruns)
        report(label, sm, okruns, 1e9, "GB/s");
      else
        printf("%-46s %16s\n", label, "failed");
    }
    printf("\ndigest of the %zu MiB data, this library vs b3sum: %s\n", mib,
           same ? "identical" : "MISMATCH");
    unlink(path);
    if (!same) {
      free(data);
      return 1;
    }
  }
  free(data);
  return 0;
}
