/*
 * How a process waits for its socket decides a round trip on this machine
 * more than anything roam-c does in user space. This program measures a
 * bare 32-byte ping-pong over a Unix socketpair (two processes, no
 * protocol) with the waiting strategies an event loop could use, side by
 * side, in alternating rounds:
 *
 *   read      the client blocks in read(), the server in epoll_wait()
 *             (the suite's raw floor)
 *   epoll     both wait in epoll_wait() then read() (roam_loop's epoll
 *             back end: the same system calls as roam-c's round trip)
 *   io_uring  both wait in io_uring_enter(): the client submits its send
 *             and recv together and waits for the recv; the server keeps a
 *             multishot recv (provided buffers) and submits each answer
 *             with its next wait (one system call per side and round trip)
 *   spin      both poll with epoll_wait(timeout 0) instead of sleeping
 *             (busy polling: no halted CPU to wake, at the price of a core
 *             each; when other work wants those cores it collapses)
 *   yield     the client polls and calls sched_yield() between polls, the
 *             server blocks in epoll_wait() (a caller that waits for its own
 *             answer spins, politely)
 *
 * It exists to decide whether an io_uring back end or busy polling is worth
 * having in roam_loop (docs/benchmarks.md). Output: median round trip per
 * strategy and its ratio to `read`, plus RESULT lines.
 *
 *   bench_wait [--rounds N] [--secs S]      (BENCH_QUICK=1: 3 rounds of 0.1 s)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef BENCH_HAVE_URING
#include <liburing.h>
#endif

#include "lib/bench_util.h"

enum { S_READ, S_EPOLL, S_URING, S_SPIN, S_YIELD, S_COUNT };
static const char *const names[S_COUNT] = {"read", "epoll", "io_uring", "spin", "yield"};

#define MSG 32

static void die(const char *what) {
  fprintf(stderr, "bench_wait: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const void *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) die("write");
    p = (const char *)p + w;
    n -= (size_t)w;
  }
}

/* Wait until fd is readable the way the strategy does (read: not at all). */
static void wait_readable(int strategy, int ep) {
  struct epoll_event ev;
  int n;
  do {
    n = epoll_wait(ep, &ev, 1, strategy == S_SPIN || strategy == S_YIELD ? 0 : -1);
    if (n == 0 && strategy == S_YIELD) sched_yield();
  } while (n == 0 || (n < 0 && errno == EINTR));
  if (n < 0) die("epoll_wait");
}

static int epoll_for(int fd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll");
  return ep;
}

/* ---- epoll / read / spin ---------------------------------------------------- */

static void serve_epoll(int fd, int strategy) {
  int ep = epoll_for(fd);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  char buf[4096];
  for (;;) {
    wait_readable(strategy, ep);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("server read");
    }
    write_all(fd, buf, (size_t)n);
  }
  close(ep);
}

static void ping_epoll(int fd, int strategy, double secs, bu_samples *s) {
  int ep = strategy == S_READ ? -1 : epoll_for(fd);
  if (strategy != S_READ) fcntl(fd, F_SETFL, O_NONBLOCK);
  char out[MSG], in[MSG];
  memset(out, 1, sizeof out);
  uint64_t t_end = bu_now_ns() + (uint64_t)(secs * 1e9);
  for (uint64_t t0; (t0 = bu_now_ns()) < t_end;) {
    write_all(fd, out, MSG);
    size_t got = 0;
    while (got < MSG) {
      if (strategy != S_READ) wait_readable(strategy, ep);
      ssize_t n = read(fd, in + got, MSG - got);
      if (n > 0) got += (size_t)n;
      else if (n == 0) die("peer gone");
      else if (errno != EAGAIN && errno != EINTR) die("read");
    }
    bu_samples_add(s, bu_now_ns() - t0);
  }
  if (ep >= 0) close(ep);
}

/* ---- io_uring ---------------------------------------------------------------- */

#ifdef BENCH_HAVE_URING
#define NBUF 16
#define BUFSZ 4096
enum { U_RECV = 1, U_SEND };

static void arm_recv(struct io_uring *r, int fd) {
  struct io_uring_sqe *q = io_uring_get_sqe(r);
  io_uring_prep_recv_multishot(q, fd, NULL, 0, 0);
  q->flags |= IOSQE_BUFFER_SELECT;
  q->buf_group = 0;
  q->user_data = U_RECV;
}

static void serve_uring(int fd) {
  struct io_uring r;
  if (io_uring_queue_init(64, &r, 0) != 0) die("io_uring_queue_init");
  void *mem;
  if (posix_memalign(&mem, 4096, NBUF * sizeof(struct io_uring_buf)) != 0) die("memalign");
  struct io_uring_buf_ring *br = mem;
  io_uring_buf_ring_init(br);
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = 0};
  if (io_uring_register_buf_ring(&r, &reg, 0) != 0) die("register_buf_ring");
  static char bufs[NBUF][BUFSZ], out[NBUF][BUFSZ];
  for (int i = 0; i < NBUF; i++)
    io_uring_buf_ring_add(br, bufs[i], BUFSZ, (unsigned short)i, io_uring_buf_ring_mask(NBUF), i);
  io_uring_buf_ring_advance(br, NBUF);
  arm_recv(&r, fd);
  for (int done = 0; !done;) {
    struct io_uring_cqe *c;
    if (io_uring_submit_and_wait(&r, 1) < 0) die("io_uring_submit_and_wait");
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&r, head, c) {
      seen++;
      if (c->user_data != U_RECV) continue;
      if (c->res <= 0) {
        done = 1;
        break;
      }
      unsigned bid = c->flags >> IORING_CQE_BUFFER_SHIFT;
      memcpy(out[bid], bufs[bid], (size_t)c->res); /* the buffer goes back now */
      struct io_uring_sqe *q = io_uring_get_sqe(&r);
      io_uring_prep_send(q, fd, out[bid], (size_t)c->res, 0);
      q->user_data = U_SEND;
      io_uring_buf_ring_add(br, bufs[bid], BUFSZ, (unsigned short)bid,
                            io_uring_buf_ring_mask(NBUF), 0);
      io_uring_buf_ring_advance(br, 1);
      if (!(c->flags & IORING_CQE_F_MORE)) arm_recv(&r, fd);
    }
    io_uring_cq_advance(&r, seen);
  }
  io_uring_queue_exit(&r);
  free(mem);
}

static void ping_uring(int fd, double secs, bu_samples *s) {
  struct io_uring r;
  if (io_uring_queue_init(8, &r, 0) != 0) die("io_uring_queue_init");
  char out[MSG], in[MSG];
  memset(out, 1, sizeof out);
  uint64_t t_end = bu_now_ns() + (uint64_t)(secs * 1e9);
  for (uint64_t t0; (t0 = bu_now_ns()) < t_end;) {
    size_t got = 0;
    struct io_uring_sqe *q = io_uring_get_sqe(&r);
    io_uring_prep_send(q, fd, out, MSG, 0);
    q->user_data = U_SEND;
    q->flags |= IOSQE_CQE_SKIP_SUCCESS;
    while (got < MSG) {
      q = io_uring_get_sqe(&r);
      io_uring_prep_recv(q, fd, in + got, MSG - got, 0);
      q->user_data = U_RECV;
      int recv_done = 0;
      while (!recv_done) {
        if (io_uring_submit_and_wait(&r, 1) < 0) die("io_uring_submit_and_wait");
        struct io_uring_cqe *c;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&r, head, c) {
          seen++;
          if (c->res < 0 && c->user_data == U_SEND) {
            errno = -c->res;
            die("send");
          }
          if (c->user_data != U_RECV) continue;
          if (c->res <= 0) {
            errno = c->res < 0 ? -c->res : EPIPE;
            die("recv");
          }
          got += (size_t)c->res;
          recv_done = 1;
        }
        io_uring_cq_advance(&r, seen);
      }
    }
    bu_samples_add(s, bu_now_ns() - t0);
  }
  io_uring_queue_exit(&r);
}

/* io_uring may be disabled (kernel.io_uring_disabled, seccomp): then the
 * row is left out, as roam_loop would fall back to epoll. */
static int uring_usable(void) {
  struct io_uring r;
  if (io_uring_queue_init(4, &r, 0) != 0) return 0;
  io_uring_queue_exit(&r);
  return 1;
}
#endif

/* One run: a fresh server process and socketpair; median round trip. */
static double run_one(int strategy, double secs) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
#ifdef BENCH_HAVE_URING
    if (strategy == S_URING) serve_uring(sv[1]);
    else
#endif
      serve_epoll(sv[1], strategy == S_READ || strategy == S_YIELD ? S_EPOLL : strategy);
    _exit(0);
  }
  close(sv[1]);
  bu_samples s = {0};
  bu_samples warm = {0};
#ifdef BENCH_HAVE_URING
  if (strategy == S_URING) {
    ping_uring(sv[0], secs / 10, &warm);
    ping_uring(sv[0], secs, &s);
  } else
#endif
  {
    ping_epoll(sv[0], strategy, secs / 10, &warm);
    ping_epoll(sv[0], strategy, secs, &s);
  }
  shutdown(sv[0], SHUT_WR);
  close(sv[0]);
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_wait: the %s server failed\n", names[strategy]);
    exit(1);
  }
  double med = (double)bu_samples_pct(&s, 0.5) / 1000.0;
  bu_samples_free(&s);
  bu_samples_free(&warm);
  return med;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  int rounds = getenv("BENCH_QUICK") ? 3 : 7;
  double secs = getenv("BENCH_QUICK") ? 0.1 : 0.4;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--secs") && i + 1 < argc) secs = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_wait [--rounds N] [--secs S]\n");
      return 2;
    }
  }
  if (rounds < 1 || rounds > 100 || !(secs > 0)) {
    fprintf(stderr, "bench_wait: bad --rounds or --secs\n");
    return 2;
  }
  int have[S_COUNT] = {1, 1, 0, 1, 1};
#ifdef BENCH_HAVE_URING
  have[S_URING] = uring_usable();
#endif
  double med[S_COUNT][100], ratio[S_COUNT][100];
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < S_COUNT; k++) {
      int st = (k + r) % S_COUNT; /* rotate who goes first */
      if (have[st]) med[st][r] = run_one(st, secs);
    }
    for (int st = 0; st < S_COUNT; st++)
      if (have[st]) ratio[st][r] = med[st][r] / med[S_READ][r];
  }
  printf("bare 32-byte ping-pong over a Unix socketpair, two processes: median round trip,\n"
         "median of %d alternating rounds of %.2f s (ratio: to `read`, per round)\n",
         rounds, secs);
  for (int st = 0; st < S_COUNT; st++) {
    if (!have[st]) {
      printf("  %-9s not available here (%s)\n", names[st],
#ifdef BENCH_HAVE_URING
             "io_uring is disabled on this system"
#else
             "built without liburing"
#endif
      );
      continue;
    }
    double m = median(med[st], rounds), q = median(ratio[st], rounds);
    printf("  %-9s %7.1f us  %5.2fx read\n", names[st], m, q);
    printf("RESULT wait.%s bench_wait median %.3f us\n", names[st], m);
  }
  return 0;
}
