/*
 * Shared helpers of the benchmark suite (bench/run): header-only, so that
 * any bench program can include it as "lib/bench_util.h" (bench/ programs)
 * or "bench_util.h" (bench/peers/).
 *
 * Output protocol: every measured figure is one line on stdout
 *
 *     RESULT <workload> <impl> <metric> <value> <unit>
 *
 * one line per metric per run (a program invocation is one run). The
 * driver (bench/lib/suite.py) runs each program several times, interleaving
 * implementations, and aggregates by (workload, impl, metric). Fields never
 * contain spaces. Units say which way is better: us, ns, B/link (lower) and
 * calls/s, cycles/s, GB/s, MB/s, msgs/s (higher). Anything else a program
 * prints (lines not starting with "RESULT ") is shown only with --verbose.
 *
 * Command line shared by the suite's programs:
 *   prog WORKLOAD [--transport unix|tcp] [--secs S] [--inflight N]
 *        [--size BYTES] [--credit BYTES] [--links N] [--id NAME]
 *        [--samples FILE]
 * --id names the workload in the RESULT lines (the driver always passes it;
 * default "<workload>.<transport>"). --samples FILE: the round-trip
 * workloads also append their latency distribution to FILE (see
 * bu_samples_save), from which the driver draws the CDF charts.
 */
#ifndef ROAM_BENCH_UTIL_H
#define ROAM_BENCH_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ---------------------------------------------------------------- */

static inline uint64_t bu_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void bu_sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- fatal errors ------------------------------------------------------------ */

static inline void bu_die(const char *what) {
  fprintf(stderr, "bench: %s (errno %d: %s)\n", what, errno, strerror(errno));
  exit(2);
}
static inline void bu_fail(const char *what, int code) {
  fprintf(stderr, "bench: %s failed: %d\n", what, code);
  exit(2);
}

/* Copy a string, truncating to fit (always terminated). */
static inline void bu_copy(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = 0;
}

/* ---- results ------------------------------------------------------------- */

static inline void bu_result(const char *workload, const char *impl, const char *metric,
                             double value, const char *unit) {
  printf("RESULT %s %s %s %.6g %s\n", workload, impl, metric, value, unit);
  fflush(stdout);
}

/* ---- latency samples ------------------------------------------------------- */

typedef struct bu_samples {
  uint64_t *v;
  size_t n, cap;
} bu_samples;

static inline void bu_samples_add(bu_samples *s, uint64_t x) {
  if (s->n == s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 4096;
    uint64_t *nv = realloc(s->v, nc * sizeof *nv);
    if (!nv) bu_die("out of memory");
    s->v = nv;
    s->cap = nc;
  }
  s->v[s->n++] = x;
}

static inline int bu_cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* p in [0, 1]; sorts the samples. Nearest-rank percentile. */
static inline uint64_t bu_samples_pct(bu_samples *s, double p) {
  if (!s->n) return 0;
  qsort(s->v, s->n, sizeof *s->v, bu_cmp_u64);
  size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
  if (i >= s->n) i = s->n - 1;
  return s->v[i];
}

static inline void bu_samples_free(bu_samples *s) {
  free(s->v);
  memset(s, 0, sizeof *s);
}


/* ---- command line ------------------------------------------------------------ */

typedef struct bu_opts {
  const char *workload;  /* argv[1] */
  const char *transport; /* "unix" (default), "tcp" or "ws" (bench_suite_net) */
  double secs;           /* measuring time per run; default 2 */
  unsigned inflight;     /* default 64 */
  size_t size;           /* payload / value size; default 32 */
  uint32_t credit;       /* channel credit window; 0 = protocol default */
  uint32_t window;       /* receive window (channel_window); 0 = default */
  unsigned links;        /* default 1000 */
  const char *id;        /* workload name printed in RESULT lines; default
                            "<workload>.<transport>" */
  const char *samples;   /* --samples: file the latency distribution is
                            appended to; NULL = none */
} bu_opts;

static inline void bu_usage(const char *prog) {
  fprintf(stderr,
          "usage: %s WORKLOAD [--transport unix|tcp] [--secs S] [--inflight N]\n"
          "          [--size BYTES] [--credit BYTES] [--window BYTES] [--links N] [--id NAME]\n"
          "          [--samples FILE]\n",
          prog);
  exit(2);
}

static inline bu_opts bu_parse(int argc, char **argv) {
  bu_opts o = {NULL, "unix", 2.0, 64, 32, 0, 0, 1000, NULL, NULL};
  if (argc < 2) bu_usage(argv[0]);
  o.workload = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) bu_usage(argv[0]);
    const char *v = argv[++i];
    if (!strcmp(a, "--transport")) {
      if (strcmp(v, "unix") && strcmp(v, "tcp") && strcmp(v, "ws")) bu_usage(argv[0]);
      o.transport = v;
    } else if (!strcmp(a, "--secs")) {
      o.secs = atof(v);
    } else if (!strcmp(a, "--inflight")) {
      o.inflight = (unsigned)strtoul(v, NULL, 10);
    } else if (!strcmp(a, "--size")) {
      o.size = (size_t)strtoull(v, NULL, 10);
    } else if (!strcmp(a, "--credit")) {
      o.credit = (uint32_t)strtoul(v, NULL, 10);
    } else if (!strcmp(a, "--window")) {
      o.window = (uint32_t)strtoul(v, NULL, 10);
    } else if (!strcmp(a, "--links")) {
      o.links = (unsigned)strtoul(v, NULL, 10);
    } else if (!strcmp(a, "--id")) {
      o.id = v;
    } else if (!strcmp(a, "--samples")) {
      o.samples = v;
    } else {
      bu_usage(argv[0]);
    }
  }
  if (o.secs <= 0) o.secs = 0.1;
  if (!o.inflight) o.inflight = 1;
  if (!o.links) o.links = 1;
  return o;
}

static inline bool bu_is_tcp(const bu_opts *o) { return !strcmp(o->transport, "tcp"); }

/* The workload name to print: --id, else "<workload>.<transport>". */
static inline const char *bu_wl(const bu_opts *o) {
  static char buf[128];
  if (o->id) return o->id;
  snprintf(buf, sizeof buf, "%s.%s", o->workload, o->transport);
  return buf;
}

/* ---- latency reports ------------------------------------------------------------- */

/* At most this many values per distribution in a --samples file: 2 000
 * quantiles resolve the CDF to 0.05 % (p99.9 still has two points) and keep
 * the file at about 12 KB whatever the run's length. */
#define BU_SAMPLES_QUANTILES 2000u

/*
 * Append one latency distribution to path, as a block
 *
 *     # <workload> <impl> n=<samples> unit=ns
 *     <value>          (m lines, ascending)
 *
 * With n <= BU_SAMPLES_QUANTILES the m = n lines are the samples
 * themselves; otherwise they are the m = BU_SAMPLES_QUANTILES quantiles at
 * the mid-ranks (i + 0.5) / m, each standing for n / m samples, so that
 * blocks of several runs pool into one distribution by weight. Appending
 * lets one program write several implementations (rtt.ws writes two).
 */
static inline void bu_samples_save(const char *path, const char *workload, const char *impl,
                                   bu_samples *s) {
  FILE *f = fopen(path, "a");
  if (!f) bu_die("open --samples file");
  qsort(s->v, s->n, sizeof *s->v, bu_cmp_u64);
  size_t m = s->n <= BU_SAMPLES_QUANTILES ? s->n : BU_SAMPLES_QUANTILES;
  fprintf(f, "# %s %s n=%zu unit=ns\n", workload, impl, s->n);
  for (size_t i = 0; i < m; i++) {
    size_t k = m == s->n ? i : (size_t)(((double)i + 0.5) / (double)m * (double)s->n);
    if (k >= s->n) k = s->n - 1;
    fprintf(f, "%llu\n", (unsigned long long)s->v[k]);
  }
  if (fclose(f) != 0) bu_die("write --samples file");
}

/* Prints median_us and p99_us of round-trip samples in nanoseconds and,
 * with --samples, appends their distribution to that file. */
static inline void bu_report_latency(const bu_opts *o, const char *impl, bu_samples *s) {
  bu_result(bu_wl(o), impl, "median", (double)bu_samples_pct(s, 0.50) / 1000.0, "us");
  bu_result(bu_wl(o), impl, "p99", (double)bu_samples_pct(s, 0.99) / 1000.0, "us");
  if (o->samples) bu_samples_save(o->samples, bu_wl(o), impl, s);
}

/* ---- process plumbing ----------------------------------------------------------- */

/* Raise RLIMIT_NOFILE to its hard limit. Returns the new soft limit. */
static inline rlim_t bu_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

/* Resident set size of a process in bytes (pid 0 = this one). */
static inline uint64_t bu_rss(pid_t pid) {
  char path[64];
  if (pid)
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
  else
    snprintf(path, sizeof path, "/proc/self/statm");
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long size = 0, res = 0;
  int n = fscanf(f, "%lu %lu", &size, &res);
  fclose(f);
  if (n != 2) return 0;
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static inline int bu_write_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static inline int bu_read_all(int fd, void *buf, size_t len) {
  uint8_t *p = buf;
  while (len) {
    ssize_t r = read(fd, p, len);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

/* Read one '\n'-terminated line (without the newline) from a blocking fd. */
static inline int bu_read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    if (ch == '\n') break;
    buf[n++] = ch;
  }
  buf[n] = 0;
  return 0;
}

/*
 * A benchmark server in a child process, talked to over two pipes.
 * The child writes "READY <address>\n" once it listens; afterwards the
 * parent may write "Q\n" and the child answers "<ready_links> <rss>\n"
 * (bu_child_answer); when the parent closes its end (EOF) the child exits.
 */
typedef struct bu_child {
  pid_t pid;
  int to_child;   /* parent writes */
  int from_child; /* parent reads */
  char addr[256];
} bu_child;

/* fn runs in the child with (ctl_in, ctl_out, arg) and returns the exit
 * status. The address line is written by the child with bu_child_ready. */
static inline void bu_child_start(bu_child *c, int (*fn)(int, int, void *), void *arg) {
  int a[2], b[2];
  if (pipe(a) != 0 || pipe(b) != 0) bu_die("pipe");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) bu_die("fork");
  if (pid == 0) {
    close(a[1]);
    close(b[0]);
    int rc = fn(a[0], b[1], arg);
    fflush(stdout);
    _exit(rc);
  }
  close(a[0]);
  close(b[1]);
  c->pid = pid;
  c->to_child = a[1];
  c->from_child = b[0];
  char line[300];
  if (bu_read_line(c->from_child, line, sizeof line) != 0 || strncmp(line, "READY ", 6) != 0) {
    fprintf(stderr, "bench: server child did not start\n");
    exit(2);
  }
  bu_copy(c->addr, sizeof c->addr, line + 6);
}

static inline void bu_child_ready(int ctl_out, const char *addr) {
  char line[300];
  int n = snprintf(line, sizeof line, "READY %s\n", addr);
  if (bu_write_all(ctl_out, line, (size_t)n) != 0) _exit(3);
}

/* Child side: answer one query (call when ctl_in is readable). Returns
 * false on EOF (the parent is done: exit). */
static inline bool bu_child_answer(int ctl_in, int ctl_out, uint64_t ready_links) {
  char ch;
  ssize_t r;
  do {
    r = read(ctl_in, &ch, 1);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  if (ch != 'Q') return true;
  char line[64];
  int n = snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long)ready_links,
                   (unsigned long long)bu_rss(0));
  return bu_write_all(ctl_out, line, (size_t)n) == 0;
}

/* Parent side: ask the child how many links are ready and its RSS. */
static inline void bu_child_query(bu_child *c, uint64_t *ready, uint64_t *rss) {
  if (bu_write_all(c->to_child, "Q", 1) != 0) bu_die("query child");
  char line[64];
  if (bu_read_line(c->from_child, line, sizeof line) != 0) bu_die("child answer");
  unsigned long long a = 0, b = 0;
  if (sscanf(line, "%llu %llu", &a, &b) != 2) bu_die("child answer format");
  *ready = a;
  *rss = b;
}

/* Wait (polling) until the child reports at least n ready links; returns
 * its RSS then. Gives up after timeout_ms. */
static inline uint64_t bu_child_wait_links(bu_child *c, uint64_t n, unsigned timeout_ms) {
  uint64_t t0 = bu_now_ns(), ready = 0, rss = 0;
  for (;;) {
    bu_child_query(c, &ready, &rss);
    if (ready >= n) return rss;
    if (bu_now_ns() - t0 > (uint64_t)timeout_ms * 1000000u) {
      fprintf(stderr, "bench: server has %llu of %llu links\n", (unsigned long long)ready,
              (unsigned long long)n);
      exit(2);
    }
    bu_sleep_ms(2);
  }
}

/* Close the pipes (the child exits on EOF) and reap it. */
static inline void bu_child_stop(bu_child *c) {
  close(c->to_child);
  close(c->from_child);
  int st;
  for (int i = 0; i < 500; i++) {
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid || r < 0) return;
    bu_sleep_ms(10);
  }
  kill(c->pid, SIGKILL);
  waitpid(c->pid, &st, 0);
}

/* A unique Unix socket path for this process. */
static inline const char *bu_unix_path(const char *tag) {
  static char buf[108];
  snprintf(buf, sizeof buf, "/tmp/roam-bench-%s-%d.sock", tag, (int)getpid());
  return buf;
}

/* ---- plain sockets (for the peers that do not bring their own) ---------------- */

/* Listen on a fresh Unix path or on 127.0.0.1 with an ephemeral port.
 * addr_out gets "unix:/path" or "tcp://127.0.0.1:port". Returns the fd. */
static inline int bu_listen(bool tcp, const char *tag, char *addr_out, size_t cap) {
  int fd;
  if (tcp) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bu_die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) bu_die("bind");
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    snprintf(addr_out, cap, "tcp://127.0.0.1:%d", (int)ntohs(sa.sin_port));
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bu_die("socket");
    struct sockaddr_un su;
    memset(&su, 0, sizeof su);
    su.sun_family = AF_UNIX;
    bu_copy(su.sun_path, sizeof su.sun_path, bu_unix_path(tag));
    unlink(su.sun_path);
    if (bind(fd, (struct sockaddr *)&su, sizeof su) != 0) bu_die("bind");
    snprintf(addr_out, cap, "unix:%s", su.sun_path);
  }
  if (listen(fd, 4096) != 0) bu_die("listen");
  return fd;
}

static inline void bu_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Blocking connect to an address made by bu_listen. */
static inline int bu_connect(const char *addr) {
  int fd;
  if (!strncmp(addr, "tcp://", 6)) {
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bu_die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) bu_die("connect");
    bu_nodelay(fd);
  } else {
    struct sockaddr_un su;
    memset(&su, 0, sizeof su);
    su.sun_family = AF_UNIX;
    bu_copy(su.sun_path, sizeof su.sun_path, addr + 5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) bu_die("socket");
    if (connect(fd, (struct sockaddr *)&su, sizeof su) != 0) bu_die("connect");
  }
  return fd;
}

/* Remove the Unix socket file behind an address (no-op for TCP). */
static inline void bu_unlink_addr(const char *addr) {
  if (!strncmp(addr, "unix:", 5)) unlink(addr + 5);
}

static inline void bu_set_nonblock(int fd, bool on) {
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

/* write() everything to a possibly non-blocking fd, waiting with poll. */
static inline int bu_send_all(int fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, -1);
        continue;
      }
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Fill a payload with a recognisable pattern. */
static inline void bu_fill(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7u + 1u);
}

#endif /* ROAM_BENCH_UTIL_H */
