/*
 * The raw-socket floor: the suite's workloads with the same payload bytes
 * over the same socket kinds and no protocol at all (no framing, no
 * headers, no allocation per message). The server is a child process with
 * an epoll loop that echoes (or, for "stream", counts and discards) bytes.
 *
 *   rtt        sequential 32-byte ping-pong; median and p99 round trip
 *   pipelined  --inflight requests of --size bytes outstanding; calls/s
 *   stream     --size-byte writes for --secs, then the server reports the
 *              byte count; GB/s
 *   idle       --links connections: server memory per connection
 *   active     --links connections each doing sequential round trips;
 *              aggregate calls/s
 * Output: RESULT lines (lib/bench_util.h), impl "raw".
 */
#include <sys/epoll.h>

#include "bench_util.h"

#define IMPL "raw"

typedef struct srv_arg {
  bool tcp;
  bool sink;
} srv_arg;

typedef struct sconn {
  int fd;
  uint64_t count; /* sink: bytes received */
} sconn;

static int server_main(int ctl_in, int ctl_out, void *argp) {
  srv_arg *arg = argp;
  bu_raise_nofile();
  char addr[256];
  int lfd = bu_listen(arg->tcp, "raw", addr, sizeof addr);
  bu_set_nonblock(lfd, true);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static int ctl_tag;
  ev.data.ptr = &ctl_tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, ctl_in, &ev);
  bu_child_ready(ctl_out, addr);
  uint64_t links = 0;
  static uint8_t buf[256 * 1024];
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          if (arg->tcp) bu_nodelay(fd);
          sconn *c = calloc(1, sizeof *c);
          if (!c) bu_die("oom");
          c->fd = fd;
          struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
          links++;
        }
      } else if (p == &ctl_tag) {
        if (!bu_child_answer(ctl_in, ctl_out, links)) {
          bu_unlink_addr(addr);
          return 0;
        }
      } else {
        sconn *c = p;
        for (;;) {
          ssize_t r = read(c->fd, buf, sizeof buf);
          if (r > 0) {
            if (arg->sink) {
              c->count += (uint64_t)r;
            } else if (bu_send_all(c->fd, buf, (size_t)r) != 0) {
              r = 0;
            }
            if ((size_t)r == sizeof buf) continue;
            if (r > 0) break;
          }
          if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
          /* EOF or error */
          if (arg->sink) bu_send_all(c->fd, &c->count, sizeof c->count);
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          free(c);
          links--;
          break;
        }
      }
    }
  }
  return 1;
}

static void start_server(bu_child *ch, const bu_opts *o, bool sink) {
  srv_arg a = {bu_is_tcp(o), sink};
  bu_child_start(ch, server_main, &a);
}

/* ---- workloads --------------------------------------------------------------- */

static void run_rtt(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o, false);
  int fd = bu_connect(ch.addr);
  uint8_t out[4096], in[4096];
  size_t n = o->size > sizeof out ? sizeof out : o->size;
  bu_fill(out, n);
  bu_samples s = {0};
  for (int phase = 0; phase < 2; phase++) {
    /* phase 0: warm-up for a tenth of the time */
    uint64_t t_end = bu_now_ns() + (uint64_t)(o->secs * (phase ? 1e9 : 1e8));
    for (;;) {
      uint64_t t0 = bu_now_ns();
      if (t0 >= t_end) break;
      if (bu_write_all(fd, out, n) != 0 || bu_read_all(fd, in, n) != 0) bu_die("rtt io");
      if (phase) bu_samples_add(&s, bu_now_ns() - t0);
    }
  }
  bu_report_latency(o, IMPL, &s);
  bu_samples_free(&s);
  close(fd);
  bu_child_stop(&ch);
}

static void run_pipelined(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o, false);
  int fd = bu_connect(ch.addr);
  size_t msg = o->size;
  size_t cap = msg * o->inflight;
  uint8_t *out = malloc(cap), *in = malloc(cap + msg);
  if (!out || !in) bu_die("oom");
  bu_fill(out, cap);
  if (bu_write_all(fd, out, cap) != 0) bu_die("write");
  size_t have = 0; /* partial response bytes */
  uint64_t done = 0, counted = 0;
  uint64_t t_start = bu_now_ns();
  uint64_t t_warm = t_start + (uint64_t)(o->secs * 1e8);
  uint64_t t_end = t_warm + (uint64_t)(o->secs * 1e9);
  bool warm = false;
  uint64_t t_meas = 0;
  for (;;) {
    ssize_t r = read(fd, in + have, cap - have);
    if (r <= 0) bu_die("read");
    have += (size_t)r;
    size_t k = have / msg;
    have -= k * msg;
    if (have) memmove(in, in + k * msg, have);
    done += k;
    uint64_t now = bu_now_ns();
    if (!warm && now >= t_warm) {
      warm = true;
      counted = done;
      t_meas = now;
    }
    if (now >= t_end) {
      /* drain the rest so the server is quiet, then stop */
      break;
    }
    if (k && bu_write_all(fd, out, k * msg) != 0) bu_die("write");
  }
  uint64_t t1 = bu_now_ns();
  double secs = (double)(t1 - t_meas) / 1e9;
  bu_result(bu_wl(o), IMPL, "rate", (double)(done - counted) / secs, "calls/s");
  free(out);
  free(in);
  close(fd);
  bu_child_stop(&ch);
}

static void run_stream(const bu_opts *o) {
  bu_child ch;
  start_server(&ch, o, true);
  int fd = bu_connect(ch.addr);
  uint8_t *buf = malloc(o->size);
  if (!buf) bu_die("oom");
  bu_fill(buf, o->size);
  uint64_t sent = 0;
  uint64_t t0 = bu_now_ns();
  uint64_t t_end = t0 + (uint64_t)(o->secs * 1e9);
  for (uint64_t i = 0;; i++) {
    if (bu_write_all(fd, buf, o->size) != 0) bu_die("write");
    sent += o->size;
    if ((i & 15) == 15 && bu_now_ns() >= t_end) break;
  }
  shutdown(fd, SHUT_WR);
  uint64_t got = 0;
  if (bu_read_all(fd, &got, sizeof got) != 0) bu_die("read count");
  uint64_t t1 = bu_now_ns();
  if (got != sent) {
    fprintf(stderr, "raw stream: sent %llu, server got %llu\n", (unsigned long long)sent,
            (unsigned long long)got);
    exit(2);
  }
  bu_result(bu_wl(o), IMPL, "throughput", (double)got / ((double)(t1 - t0)), "GB/s");
  free(buf);
  close(fd);
  bu_child_stop(&ch);
}

static void run_idle(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o, false);
  unsigned n = o->links, n1 = n / 10;
  int *fds = malloc(sizeof *fds * n);
  if (!fds) bu_die("oom");
  uint64_t rss_srv[2], rss_cli[2];
  for (unsigned i = 0; i < n; i++) {
    fds[i] = bu_connect(ch.addr);
    if (i + 1 == n1 || i + 1 == n) {
      int k = i + 1 == n;
      rss_srv[k] = bu_child_wait_links(&ch, i + 1, 30000);
      rss_cli[k] = bu_rss(0);
    }
  }
  double d = (double)(n - n1);
  bu_result(bu_wl(o), IMPL, "server_mem", ((double)rss_srv[1] - (double)rss_srv[0]) / d,
            "B/link");
  bu_result(bu_wl(o), IMPL, "client_mem", ((double)rss_cli[1] - (double)rss_cli[0]) / d,
            "B/link");
  for (unsigned i = 0; i < n; i++) close(fds[i]);
  free(fds);
  bu_child_stop(&ch);
}

typedef struct cconn {
  int fd;
  size_t have;
} cconn;

static void run_active(const bu_opts *o) {
  bu_raise_nofile();
  bu_child ch;
  start_server(&ch, o, false);
  unsigned n = o->links;
  size_t msg = o->size;
  cconn *cs = calloc(n, sizeof *cs);
  uint8_t out[4096], in[4096];
  if (!cs || msg > sizeof out) bu_die("setup");
  bu_fill(out, msg);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (unsigned i = 0; i < n; i++) {
    cs[i].fd = bu_connect(ch.addr);
    bu_set_nonblock(cs[i].fd, true);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  bu_child_wait_links(&ch, n, 30000);
  for (unsigned i = 0; i < n; i++)
    if (bu_send_all(cs[i].fd, out, msg) != 0) bu_die("write");
  uint64_t done = 0, counted = 0, t_meas = 0;
  uint64_t t_warm = bu_now_ns() + (uint64_t)(o->secs * 1e8);
  uint64_t t_end = t_warm + (uint64_t)(o->secs * 1e9);
  bool warm = false;
  struct epoll_event evs[256];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < k; i++) {
      cconn *c = evs[i].data.ptr;
      ssize_t r = read(c->fd, in, msg - c->have);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        bu_die("read");
      }
      c->have += (size_t)r;
      if (c->have == msg) {
        c->have = 0;
        done++;
        if (bu_send_all(c->fd, out, msg) != 0) bu_die("write");
      }
    }
    uint64_t now = bu_now_ns();
    if (!warm && now >= t_warm) {
      warm = true;
      counted = done;
      t_meas = now;
    }
    if (now >= t_end) break;
  }
  double secs = (double)(bu_now_ns() - t_meas) / 1e9;
  bu_result(bu_wl(o), IMPL, "rate", (double)(done - counted) / secs, "calls/s");
  for (unsigned i = 0; i < n; i++) close(cs[i].fd);
  close(ep);
  free(cs);
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
  else
    bu_usage(argv[0]);
  return 0;
}
