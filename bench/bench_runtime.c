/*
 * Runtime benchmarks: roam over real sockets next to a raw-socket baseline
 * measured in the same run. Client and server are separate processes.
 *
 *   rtt        sequential unary echo of a 32-byte string (Unix socket and
 *              TCP loopback): median and p99 round trip; raw: ping-pong of
 *              the same 33 payload bytes (postcard string) over a plain
 *              socket.
 *   pipelined  echo with 64 calls in flight (calls/s); raw: 64 messages of
 *              33 bytes in flight through an echoing socket (msgs/s).
 *   stream     one channel of 64 KiB values (GB/s); raw: 64 KiB writes into
 *              a socket drained by the peer (GB/s).
 *   idle       10 000 idle links on one server process: server VmRSS per
 *              link.
 * Each figure is the median of 5 runs (--runs N). Usage:
 *   bench_runtime [--runs N] [--quick] [--diag] [rtt|pipelined|stream|idle ...]
 *   bench_runtime --addr ADDR [--runs N] [--quick] pipelined
 * --addr: the pipelined client only, against a Testbed server already
 * running at ADDR (Testbed.echo of the same 32-byte string); prints
 *   RESULT pipelined64.external runtime rate <calls/s> calls/s
 * (bench/run compares `roam bench` with it against one server).
 * --diag keeps the sessions' diagnostic records (roam_diag) switched on; by
 * default the benchmark switches them off (ROAM_SESSION_NO_DIAGNOSTICS).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <roam/postcard.h>
#include <roam/runtime.h>

#define M_ECHO 0x9aabc4ba61fd5df3ull
#define M_SINK 0x2001ull
#define M_RSS 0x3001ull

static int g_runs = 5;
static bool g_quick = false;
static bool g_diag = false; /* --diag: sessions keep diagnostic records (off by default here) */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}
static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median_d(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static void raise_nofile(rlim_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = want;
  if (rl.rlim_max < want) rl.rlim_max = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ======================================================================== */
/* roam server (child process)                                               */
/* ======================================================================== */

static void h_echo(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

typedef struct sink {
  roam_request *req;
  uint64_t bytes;
} sink;

static int sink_data(roam_session *s, uint64_t c, uint64_t id, roam_bytes v, void *ud) {
  (void)s;
  (void)c;
  (void)id;
  ((sink *)ud)->bytes += v.len;
  return 0;
}
static void sink_end(roam_session *s, uint64_t c, uint64_t id, int err, void *ud) {
  (void)s;
  (void)c;
  (void)id;
  (void)err;
  sink *k = ud;
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, k->bytes);
  roam_request_respond_ok(k->req, buf, roam_enc_size(&e));
  free(k);
}
static const roam_channel_callbacks sink_cbs = {.on_data = sink_data, .on_end = sink_end};

static void h_sink(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  sink *k = calloc(1, sizeof *k);
  k->req = req;
  if (roam_request_channel_count(req) != 1 ||
      roam_request_bind_channel(req, 0, ROAM_CHAN_RECV, &sink_cbs, k) != 0) {
    free(k);
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  }
}

static void h_rss(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, (uint64_t)rss_kib());
  roam_request_respond_ok(req, buf, roam_enc_size(&e));
}

static void on_term(roam_loop *loop, int signo, void *ud) {
  (void)signo;
  (void)ud;
  roam_loop_stop(loop);
}

/* Fork a roam server on addr; writes the bound address to out. */
static int server_main(const char *addr, int wfd);

static pid_t roam_server_proc(const char *addr, char *out, size_t cap) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    /* a fresh process image: a forked copy would carry the parent's RSS */
    close(p[0]);
    char fdtxt[16];
    snprintf(fdtxt, sizeof fdtxt, "%d", p[1]);
    execl("/proc/self/exe", "bench_runtime", "--server", addr, fdtxt, g_diag ? "--diag" : NULL,
          (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  ssize_t n = read(p[0], out, cap - 1);
  close(p[0]);
  out[n > 0 ? n : 0] = 0;
  return pid;
}

static int server_main(const char *addr, int wfd) {
  {
    raise_nofile(20000);
    roam_loop *loop;
    roam_loop_new(&loop, NULL);
    roam_server_options so;
    roam_server_options_init(&so);
    so.link.session.initial_channel_credit = 1u << 20;
    if (!g_diag) so.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
    roam_server *srv;
    roam_server_new(loop, &so, &srv);
    roam_server_handle(srv, M_ECHO, h_echo, NULL);
    roam_server_handle(srv, M_SINK, h_sink, NULL);
    roam_server_handle(srv, M_RSS, h_rss, NULL);
    roam_listener *ls;
    if (roam_server_listen(srv, addr, &ls) != 0) _exit(2);
    const char *a = roam_listener_address(ls);
    if (write(wfd, a, strlen(a) + 1) < 0) _exit(3);
    close(wfd);
    roam_loop_signal(loop, SIGTERM, on_term, NULL);
    roam_loop_run(loop);
    roam_loop_free(loop);
  }
  return 0;
}

static void stop_proc(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

/* ======================================================================== */
/* raw server (child process)                                                */
/* ======================================================================== */

/* Modes: 'e' echo everything back; 's' sink: read until EOF, answer the byte
 * count as 8 bytes. */
static void raw_serve_conn(int fd, char mode) {
  static uint8_t buf[1 << 20];
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    if (mode == 'e') {
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = write(fd, buf + off, (size_t)(n - off));
        if (w <= 0) return;
        off += w;
      }
    } else {
      total += (uint64_t)n;
    }
  }
  if (mode == 's') {
    if (write(fd, &total, sizeof total) < 0) return;
  }
}

static int raw_listen(bool tcp, char *addr_out, size_t cap) {
  int fd;
  if (tcp) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&in, sizeof in) != 0) return -1;
    socklen_t l = sizeof in;
    getsockname(fd, (struct sockaddr *)&in, &l);
    snprintf(addr_out, cap, "tcp:%u", (unsigned)ntohs(in.sin_port));
  } else {
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    snprintf(un.sun_path, sizeof un.sun_path, "/tmp/bench-raw-%d.sock", (int)getpid());
    unlink(un.sun_path);
    if (bind(fd, (struct sockaddr *)&un, sizeof un) != 0) return -1;
    snprintf(addr_out, cap, "unix:%s", un.sun_path);
  }
  listen(fd, 64);
  return fd;
}

static pid_t raw_server_proc(bool tcp, char mode, char *addr, size_t cap) {
  int lfd = raw_listen(tcp, addr, cap);
  if (lfd < 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) {
      int c = accept(lfd, NULL, NULL);
      if (c < 0) continue;
      if (tcp) {
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      raw_serve_conn(c, mode);
      close(c);
    }
  }
  close(lfd);
  return pid;
}

static int raw_connect(const char *addr) {
  if (strncmp(addr, "tcp:", 4) == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons((uint16_t)atoi(addr + 4));
    if (connect(fd, (struct sockaddr *)&in, sizeof in) != 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof un.sun_path, "%s", addr + 5);
  if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0) return -1;
  return fd;
}

static void raw_cleanup(const char *addr) {
  if (strncmp(addr, "unix:", 5) == 0) unlink(addr + 5);
}

static bool read_full(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n) {
    ssize_t r = read(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= (size_t)r;
  }
  return true;
}

static bool write_full(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t r = write(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= (size_t)r;
  }
  return true;
}

/* ======================================================================== */
/* rtt                                                                       */
/* ======================================================================== */

static uint8_t g_msg[64];
static size_t g_msg_len;

static void make_msg(void) {
  roam_enc e;
  roam_enc_init(&e, g_msg, sizeof g_msg);
  roam_enc_cstr(&e, "0123456789abcdef0123456789ABCDEF"); /* 32 bytes */
  g_msg_len = roam_enc_size(&e);
}

static void pct(uint64_t *ns, int n, double *med_us, double *p99_us) {
  qsort(ns, (size_t)n, sizeof *ns, cmp_u64);
  *med_us = (double)ns[n / 2] / 1000.0;
  *p99_us = (double)ns[(size_t)((double)n * 0.99)] / 1000.0;
}

static roam_client_options *client_opts(void) {
  static roam_client_options co;
  roam_client_options_init(&co);
  if (!g_diag) co.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  return &co;
}

static void rtt_roam(const char *addr, int iters, double *med, double *p99) {
  roam_client *c;
  if (roam_client_connect(&c, addr, client_opts(), 5000) != 0) {
    *med = *p99 = -1;
    return;
  }
  uint64_t *ns = malloc(sizeof *ns * (size_t)iters);
  for (int i = 0; i < iters / 10; i++) {
    roam_reply r;
    roam_client_call(c, M_ECHO, g_msg, g_msg_len, NULL, &r);
    roam_reply_free(&r);
  }
  for (int i = 0; i < iters; i++) {
    roam_reply r;
    uint64_t t0 = now_ns();
    int st = roam_client_call(c, M_ECHO, g_msg, g_msg_len, NULL, &r);
    ns[i] = now_ns() - t0;
    if (st != 0 || r.value_len != g_msg_len) fprintf(stderr, "rtt: bad reply %d\n", st);
    roam_reply_free(&r);
  }
  pct(ns, iters, med, p99);
  free(ns);
  roam_client_free(c);
}

static void rtt_raw(const char *addr, int iters, double *med, double *p99) {
  int fd = raw_connect(addr);
  if (fd < 0) {
    *med = *p99 = -1;
    return;
  }
  uint64_t *ns = malloc(sizeof *ns * (size_t)iters);
  uint8_t back[64];
  for (int i = 0; i < iters / 10; i++) {
    write_full(fd, g_msg, g_msg_len);
    read_full(fd, back, g_msg_len);
  }
  for (int i = 0; i < iters; i++) {
    uint64_t t0 = now_ns();
    write_full(fd, g_msg, g_msg_len);
    read_full(fd, back, g_msg_len);
    ns[i] = now_ns() - t0;
  }
  pct(ns, iters, med, p99);
  free(ns);
  close(fd);
}

static void bench_rtt(bool tcp) {
  char ra[256], wa[256];
  pid_t rs = roam_server_proc(tcp ? "tcp://127.0.0.1:0" : "unix:/tmp/bench-roam-rt.sock", ra, sizeof ra);
  pid_t ws = raw_server_proc(tcp, 'e', wa, sizeof wa);
  int iters = g_quick ? 2000 : 20000;
  double rm[16], rp[16], wm[16], wp[16];
  for (int r = 0; r < g_runs; r++) {
    rtt_roam(ra, iters, &rm[r], &rp[r]);
    rtt_raw(wa, iters, &wm[r], &wp[r]);
  }
  double a = median_d(rm, g_runs), b = median_d(rp, g_runs);
  double c = median_d(wm, g_runs), d = median_d(wp, g_runs);
  printf("rtt %-4s  roam median %7.2f us  p99 %7.2f us | raw median %7.2f us  p99 %7.2f us | "
         "ratio %.2fx (target <= 1.25x)\n",
         tcp ? "tcp" : "unix", a, b, c, d, a / c);
  stop_proc(rs);
  kill(ws, SIGKILL);
  waitpid(ws, NULL, 0);
  raw_cleanup(wa);
}

/* ======================================================================== */
/* pipelined                                                                 */
/* ======================================================================== */

typedef struct pl {
  roam_client *c;
  long sent, done, total, bad;
} pl;

static void pl_cb(roam_client *c, const roam_call_result *res, void *ud);
static void pl_send(pl *p) {
  p->sent++;
  if (roam_client_call_async(p->c, M_ECHO, g_msg, g_msg_len, NULL, pl_cb, p) != 0) {
    p->done++;
    p->bad++;
  }
}
static void pl_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  pl *p = ud;
  p->done++;
  if (res->status != 0) p->bad++;
  if (p->sent < p->total) pl_send(p);
}
static bool pl_done(void *ud) {
  pl *p = ud;
  return p->done >= p->total;
}

static double pipe_roam(const char *addr, long total, int inflight) {
  roam_client *c;
  if (roam_client_connect(&c, addr, client_opts(), 5000) != 0) return -1;
  pl p = {c, 0, 0, total, 0};
  uint64_t t0 = now_ns();
  for (int i = 0; i < inflight; i++) pl_send(&p);
  roam_loop_run_until(roam_client_loop(c), pl_done, &p, 60000);
  double secs = (double)(now_ns() - t0) / 1e9;
  if (p.bad) fprintf(stderr, "pipelined: %ld bad replies\n", p.bad);
  roam_client_free(c);
  return (double)total / secs;
}

static double pipe_raw(const char *addr, long total, int inflight) {
  int fd = raw_connect(addr);
  if (fd < 0) return -1;
  long sent = 0, recvd_bytes = 0, need = total * (long)g_msg_len;
  uint8_t out[64 * 64];
  for (int i = 0; i < inflight; i++) memcpy(out + (size_t)i * g_msg_len, g_msg, g_msg_len);
  static uint8_t in[1 << 16];
  uint64_t t0 = now_ns();
  /* keep `inflight` messages outstanding: write one batch, then a message
   * for each message that came back */
  write_full(fd, out, (size_t)inflight * g_msg_len);
  sent = inflight;
  long pending_bytes = 0;
  while (recvd_bytes < need) {
    ssize_t n = read(fd, in, sizeof in);
    if (n <= 0) break;
    recvd_bytes += n;
    pending_bytes += n;
    long msgs = pending_bytes / (long)g_msg_len;
    pending_bytes %= (long)g_msg_len;
    if (msgs > total - sent) msgs = total - sent;
    while (msgs > 0) {
      long k = msgs > inflight ? inflight : msgs;
      write_full(fd, out, (size_t)k * g_msg_len);
      sent += k;
      msgs -= k;
    }
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  close(fd);
  return (double)total / secs;
}

static void bench_pipelined_at(const char *addr) {
  long total = g_quick ? 50000 : 400000;
  double r[16];
  for (int i = 0; i < g_runs; i++) {
    r[i] = pipe_roam(addr, total, 64);
    if (r[i] < 0) {
      fprintf(stderr, "bench_runtime: cannot connect to %s\n", addr);
      exit(1);
    }
  }
  double a = median_d(r, g_runs);
  printf("pipelined (64 in flight) against %s  roam %10.0f calls/s\n", addr, a);
  printf("RESULT pipelined64.external runtime rate %.0f calls/s\n", a);
}

static void bench_pipelined(bool tcp) {
  char ra[256], wa[256];
  pid_t rs = roam_server_proc(tcp ? "tcp://127.0.0.1:0" : "unix:/tmp/bench-roam-pl.sock", ra, sizeof ra);
  pid_t ws = raw_server_proc(tcp, 'e', wa, sizeof wa);
  long total = g_quick ? 50000 : 400000;
  double r[16], w[16];
  for (int i = 0; i < g_runs; i++) {
    r[i] = pipe_roam(ra, total, 64);
    w[i] = pipe_raw(wa, total, 64);
  }
  double a = median_d(r, g_runs), b = median_d(w, g_runs);
  printf("pipelined %-4s (64 in flight)  roam %10.0f calls/s | raw %10.0f msgs/s | ratio %.2f "
         "(target >= 0.7)\n",
         tcp ? "tcp" : "unix", a, b, a / b);
  stop_proc(rs);
  kill(ws, SIGKILL);
  waitpid(ws, NULL, 0);
  raw_cleanup(wa);
}

/* ======================================================================== */
/* stream                                                                    */
/* ======================================================================== */

#define CHUNK (64 * 1024)

static double stream_roam(const char *addr, uint64_t bytes) {
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.initial_channel_credit = 1u << 20; /* a 64 KiB value needs more */
  if (!g_diag) co.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  roam_client *c;
  if (roam_client_connect(&c, addr, &co, 5000) != 0) return -1;
  static uint8_t val[CHUNK + 8];
  static uint8_t raw[CHUNK];
  memset(raw, 0x5a, sizeof raw);
  roam_enc e;
  roam_enc_init(&e, val, sizeof val);
  roam_enc_bytes(&e, raw, CHUNK);
  size_t vlen = roam_enc_size(&e);
  roam_chan *tx;
  roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_SEND, &tx);
  uint64_t id = roam_chan_id(tx);
  uint8_t arg[16];
  roam_enc_init(&e, arg, sizeof arg);
  roam_enc_u64(&e, id);
  roam_call_opts o = {.channels = &id, .channel_count = 1};
  roam_pending *p;
  uint64_t t0 = now_ns();
  roam_client_call_start(c, M_SINK, arg, roam_enc_size(&e), &o, &p);
  uint64_t n = bytes / CHUNK;
  for (uint64_t i = 0; i < n; i++) {
    if (roam_chan_send(tx, val, vlen, 10000) != 0) {
      fprintf(stderr, "stream: send failed\n");
      break;
    }
  }
  roam_chan_close(tx);
  roam_reply r;
  int st = roam_pending_wait(p, 60000, &r);
  double secs = (double)(now_ns() - t0) / 1e9;
  if (st != 0) fprintf(stderr, "stream: call failed %d\n", st);
  roam_reply_free(&r);
  roam_pending_free(p);
  roam_chan_free(tx);
  roam_client_free(c);
  return (double)(n * vlen) / secs / 1e9;
}

static double stream_raw(const char *addr, uint64_t bytes) {
  int fd = raw_connect(addr);
  if (fd < 0) return -1;
  static uint8_t buf[CHUNK + 3];
  memset(buf, 0x5a, sizeof buf);
  uint64_t n = bytes / CHUNK;
  uint64_t t0 = now_ns();
  for (uint64_t i = 0; i < n; i++) write_full(fd, buf, sizeof buf);
  shutdown(fd, SHUT_WR);
  uint64_t total = 0;
  read_full(fd, &total, sizeof total);
  double secs = (double)(now_ns() - t0) / 1e9;
  close(fd);
  return (double)total / secs / 1e9;
}

static void bench_stream(bool tcp) {
  char ra[256], wa[256];
  pid_t rs = roam_server_proc(tcp ? "tcp://127.0.0.1:0" : "unix:/tmp/bench-roam-st.sock", ra, sizeof ra);
  pid_t ws = raw_server_proc(tcp, 's', wa, sizeof wa);
  uint64_t bytes = g_quick ? (256ull << 20) : (2048ull << 20);
  double r[16], w[16];
  for (int i = 0; i < g_runs; i++) {
    r[i] = stream_roam(ra, bytes);
    w[i] = stream_raw(wa, bytes);
  }
  double a = median_d(r, g_runs), b = median_d(w, g_runs);
  printf("stream %-4s (64 KiB values)  roam %6.2f GB/s | raw %6.2f GB/s | ratio %.2f (target >= 0.7)\n",
         tcp ? "tcp" : "unix", a, b, a / b);
  stop_proc(rs);
  kill(ws, SIGKILL);
  waitpid(ws, NULL, 0);
  raw_cleanup(wa);
}

/* ======================================================================== */
/* idle links                                                                */
/* ======================================================================== */

static int g_ready, g_closed;
static void idle_ready(roam_link *l, void *ud) {
  (void)l;
  (void)ud;
  g_ready++;
}
static void idle_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l;
  (void)err;
  (void)reason;
  (void)ud;
  g_closed++;
}
static int g_target;
static bool idle_cond(void *ud) {
  (void)ud;
  return g_ready + g_closed >= g_target;
}

static long server_rss(const char *addr) {
  roam_client *c;
  if (roam_client_connect(&c, addr, NULL, 5000) != 0) return -1;
  roam_reply r;
  long v = -1;
  if (roam_client_call(c, M_RSS, NULL, 0, NULL, &r) == 0) {
    roam_dec d;
    roam_dec_init(&d, r.value, r.value_len);
    uint64_t x = 0;
    roam_dec_u64(&d, &x);
    v = (long)x;
  }
  roam_reply_free(&r);
  roam_client_free(c);
  return v;
}

static double idle_run(int nlinks) {
  char ra[256];
  pid_t rs = roam_server_proc("unix:/tmp/bench-roam-idle.sock", ra, sizeof ra);
  usleep(50000);
  long before = server_rss(ra);
  roam_loop *loop;
  roam_loop_new(&loop, NULL);
  roam_link_options lo;
  roam_link_options_init(&lo);
  lo.on_ready = idle_ready;
  lo.on_close = idle_close;
  lo.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  g_ready = g_closed = 0;
  for (int i = 0; i < nlinks; i += 256) {
    int n = nlinks - i < 256 ? nlinks - i : 256;
    for (int k = 0; k < n; k++) roam_link_connect(loop, ra, &lo, NULL);
    g_target = i + n;
    roam_loop_run_until(loop, idle_cond, NULL, 10000);
  }
  /* let the server settle */
  roam_loop_run_until(loop, idle_cond, NULL, 200);
  long after = server_rss(ra);
  int ready = g_ready;
  roam_loop_free(loop);
  stop_proc(rs);
  if (ready != nlinks) fprintf(stderr, "idle: only %d of %d links came up (%d closed)\n", ready, nlinks, g_closed);
  fprintf(stderr, "idle run: server rss %ld -> %ld KiB with %d links\n", before, after, ready);
  return (double)(after - before) * 1024.0 / (double)ready;
}

static void bench_idle(void) {
  raise_nofile(30000);
  int n = g_quick ? 2000 : 10000;
  double v[16];
  for (int i = 0; i < g_runs; i++) v[i] = idle_run(n);
  printf("idle links (%d on one server)  %.0f bytes of server RSS per link (target <= 8192)\n", n,
         median_d(v, g_runs));
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  make_msg();
  const char *which[8];
  int nw = 0;
  if (argc >= 4 && strcmp(argv[1], "--server") == 0) {
    g_diag = argc >= 5 && strcmp(argv[4], "--diag") == 0;
    return server_main(argv[2], atoi(argv[3]));
  }
  const char *ext = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
      ext = argv[++i];
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      g_runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--quick") == 0)
      g_quick = true;
    else if (strcmp(argv[i], "--diag") == 0)
      g_diag = true;
    else if (nw < 8)
      which[nw++] = argv[i];
  }
  if (g_runs < 1 || g_runs > 15) g_runs = 5;
  if (ext) {
    if (nw != 1 || strcmp(which[0], "pipelined") != 0) {
      fprintf(stderr, "bench_runtime: --addr goes with the pipelined workload only\n");
      return 2;
    }
    bench_pipelined_at(ext);
    return 0;
  }
  bool all = nw == 0;
  for (int k = 0; k < (all ? 1 : nw); k++) {
    const char *w = all ? "" : which[k];
    if (all || strcmp(w, "rtt") == 0) {
      bench_rtt(false);
      bench_rtt(true);
    }
    if (all || strcmp(w, "pipelined") == 0) {
      bench_pipelined(false);
      bench_pipelined(true);
    }
    if (all || strcmp(w, "stream") == 0) {
      bench_stream(false);
      bench_stream(true);
    }
    if (all || strcmp(w, "idle") == 0) bench_idle();
    fflush(stdout);
  }
  return 0;
}
