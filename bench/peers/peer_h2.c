/*
 * nghttp2 peer of the suite's workloads: an HTTP/2 client session and a
 * server session (both nghttp2, sans-I/O like roam's session), one unary
 * exchange = POST with a --size body answered by 200 with a --size body.
 *
 *   session    both sessions back to back in memory (no sockets), --inflight
 *              streams kept open; cycles/s
 *   rtt        server session in a child process over a socketpair; one
 *              stream at a time; median and p99 round trip
 *   pipelined  the same with --inflight streams kept open; calls/s
 * The server answers each request once its END_STREAM arrives with a fixed
 * body of the same size (no echo buffering). SETTINGS_MAX_CONCURRENT_STREAMS
 * is 1024. Output: RESULT lines, impl "nghttp2".
 */
#include <poll.h>

#include <nghttp2/nghttp2.h>

#include "bench_util.h"

#define IMPL "nghttp2"

static uint8_t g_body[65536];
static size_t g_size = 32;

static void h2_check(int rv, const char *what) {
  if (rv < 0) {
    fprintf(stderr, "bench(nghttp2): %s: %s\n", what, nghttp2_strerror(rv));
    exit(2);
  }
}

/* A body of g_size bytes, sent in one DATA frame with END_STREAM. */
static ssize_t body_read(nghttp2_session *s, int32_t stream_id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud) {
  (void)s;
  (void)stream_id;
  (void)src;
  (void)ud;
  size_t n = g_size < length ? g_size : length;
  memcpy(buf, g_body, n);
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

#define NV(n, v)                                                                      \
  {                                                                                   \
    (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
  }

/* ---- server session ------------------------------------------------------------ */

static int srv_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  (void)ud;
  if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
      (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    static nghttp2_nv hdrs[] = {NV(":status", "200")};
    nghttp2_data_provider prd;
    prd.source.ptr = NULL;
    prd.read_callback = body_read;
    h2_check(nghttp2_submit_response(s, f->hd.stream_id, hdrs, 1, &prd), "submit_response");
  }
  return 0;
}

static nghttp2_session *server_new(void) {
  nghttp2_session_callbacks *cb;
  h2_check(nghttp2_session_callbacks_new(&cb), "callbacks_new");
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_on_frame_recv);
  nghttp2_session *s;
  h2_check(nghttp2_session_server_new(&s, cb, NULL), "server_new");
  nghttp2_session_callbacks_del(cb);
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1024}};
  h2_check(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 1), "settings");
  return s;
}

/* ---- client session ------------------------------------------------------------ */

typedef struct client {
  nghttp2_session *s;
  uint64_t done;     /* completed streams */
  unsigned inflight; /* streams open */
  size_t got;        /* response body bytes of the current streams */
} client;

static int cli_on_data(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                       size_t len, void *ud) {
  (void)s;
  (void)flags;
  (void)stream_id;
  (void)data;
  ((client *)ud)->got += len;
  return 0;
}

static int cli_on_close(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud) {
  (void)s;
  (void)stream_id;
  client *c = ud;
  if (error_code != NGHTTP2_NO_ERROR) bu_fail("nghttp2 stream error", (int)error_code);
  c->done++;
  c->inflight--;
  return 0;
}

static void client_init(client *c) {
  memset(c, 0, sizeof *c);
  nghttp2_session_callbacks *cb;
  h2_check(nghttp2_session_callbacks_new(&cb), "callbacks_new");
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cli_on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, cli_on_close);
  h2_check(nghttp2_session_client_new(&c->s, cb, c), "client_new");
  nghttp2_session_callbacks_del(cb);
  h2_check(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), "settings");
}

static void client_submit(client *c) {
  static nghttp2_nv hdrs[] = {NV(":method", "POST"), NV(":scheme", "http"),
                              NV(":authority", "bench"), NV(":path", "/echo")};
  nghttp2_data_provider prd;
  prd.source.ptr = NULL;
  prd.read_callback = body_read;
  h2_check(nghttp2_submit_request(c->s, NULL, hdrs, 4, &prd, NULL), "submit_request");
  c->inflight++;
}

/* Move everything a wants to send into b. Returns bytes moved. */
static size_t transfer(nghttp2_session *a, nghttp2_session *b) {
  size_t total = 0;
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(a, &data);
    h2_check((int)(n < 0 ? n : 0), "mem_send");
    if (n == 0) return total;
    ssize_t r = nghttp2_session_mem_recv(b, data, (size_t)n);
    h2_check((int)(r < 0 ? r : 0), "mem_recv");
    total += (size_t)n;
  }
}

/* ---- in-memory cycle rate ------------------------------------------------------ */

static void run_session(const bu_opts *o) {
  client c;
  client_init(&c);
  nghttp2_session *srv = server_new();
  unsigned target = o->inflight;
  uint64_t t_warm = bu_now_ns() + (uint64_t)(o->secs * 1e8);
  uint64_t t_end = t_warm + (uint64_t)(o->secs * 1e9);
  uint64_t d0 = 0, t0 = 0;
  bool warm = false;
  for (uint64_t iter = 0;; iter++) {
    while (c.inflight < target) client_submit(&c);
    transfer(c.s, srv);
    transfer(srv, c.s);
    if ((iter & 63) == 0) {
      uint64_t now = bu_now_ns();
      if (!warm && now >= t_warm) {
        warm = true;
        d0 = c.done;
        t0 = now;
      }
      if (now >= t_end) {
        bu_result(bu_wl(o), IMPL, "rate", (double)(c.done - d0) / ((double)(now - t0) / 1e9),
                  "cycles/s");
        break;
      }
    }
  }
  if (c.got < c.done * g_size) bu_fail("nghttp2 response bodies missing", (int)c.got);
  nghttp2_session_del(c.s);
  nghttp2_session_del(srv);
}

/* ---- over a socketpair --------------------------------------------------------- */

typedef struct srv_arg {
  int fd, other;
} srv_arg;

static int write_out(nghttp2_session *s, int fd) {
  for (;;) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(s, &data);
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (bu_write_all(fd, data, (size_t)n) != 0) return -1;
  }
}

static int server_main(int ctl_in, int ctl_out, void *argp) {
  srv_arg *a = argp;
  close(a->other);
  nghttp2_session *s = server_new();
  bu_child_ready(ctl_out, "socketpair");
  static uint8_t buf[256 * 1024];
  if (write_out(s, a->fd) != 0) return 1;
  for (;;) {
    struct pollfd pf[2] = {{a->fd, POLLIN, 0}, {ctl_in, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pf[1].revents && !bu_child_answer(ctl_in, ctl_out, 1)) break;
    if (pf[0].revents) {
      ssize_t r = read(a->fd, buf, sizeof buf);
      if (r <= 0) break;
      if (nghttp2_session_mem_recv(s, buf, (size_t)r) < 0) return 1;
      if (write_out(s, a->fd) != 0) break;
    }
  }
  nghttp2_session_del(s);
  return 0;
}

/* Pump the client over fd until it has at most `until` streams open. */
static void client_pump(client *c, int fd, unsigned until) {
  static uint8_t buf[256 * 1024];
  for (;;) {
    if (write_out(c->s, fd) != 0) bu_die("h2 write");
    if (c->inflight <= until) return;
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) bu_die("h2 read");
    if (nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0) bu_die("h2 mem_recv");
  }
}

static void run_socketpair(const bu_opts *o, bool pipelined) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) bu_die("socketpair");
  srv_arg a = {sv[1], sv[0]};
  bu_child ch;
  bu_child_start(&ch, server_main, &a);
  close(sv[1]);
  int fd = sv[0];
  client c;
  client_init(&c);
  bu_samples smp = {0};
  uint64_t t_warm = bu_now_ns() + (uint64_t)(o->secs * 1e8);
  uint64_t t_end = t_warm + (uint64_t)(o->secs * 1e9);
  uint64_t d0 = 0, t0 = 0;
  bool warm = false;
  unsigned target = pipelined ? o->inflight : 1;
  for (;;) {
    uint64_t ts = bu_now_ns();
    while (c.inflight < target) client_submit(&c);
    /* sequential: wait for the answer; pipelined: for at least one */
    client_pump(&c, fd, target - 1);
    uint64_t now = bu_now_ns();
    if (!pipelined && warm) bu_samples_add(&smp, now - ts);
    if (!warm && now >= t_warm) {
      warm = true;
      d0 = c.done;
      t0 = now;
    }
    if (now >= t_end) {
      if (pipelined)
        bu_result(bu_wl(o), IMPL, "rate", (double)(c.done - d0) / ((double)(now - t0) / 1e9),
                  "calls/s");
      else
        bu_report_latency(o, IMPL, &smp);
      break;
    }
  }
  client_pump(&c, fd, 0);
  if (c.got != c.done * g_size) bu_fail("nghttp2 response bodies missing", (int)c.got);
  bu_samples_free(&smp);
  nghttp2_session_del(c.s);
  close(fd);
  bu_child_stop(&ch);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  bu_opts o = bu_parse(argc, argv);
  g_size = o.size > sizeof g_body ? sizeof g_body : o.size;
  bu_fill(g_body, g_size);
  if (!strcmp(o.workload, "session"))
    run_session(&o);
  else if (!strcmp(o.workload, "rtt"))
    run_socketpair(&o, false);
  else if (!strcmp(o.workload, "pipelined"))
    run_socketpair(&o, true);
  else
    bu_usage(argv[0]);
  return 0;
}
