#include "rt_testlib.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Atomic int t_failures = 0;
_Atomic int t_checks = 0;

int t_finish(const char *name) {
  printf("%s: %d checks\n", name, t_checks);
  printf("%d passed, %d failed\n", t_failures ? 0 : 1, t_failures ? 1 : 0);
  return t_failures ? 1 : 0;
}

uint64_t t_now_ms(void) { return roam_now_ms(); }

long t_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

void t_unix_addr(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "unix:/tmp/roam-rt-%s-%d.sock", tag, (int)getpid());
}

size_t t_enc_string(uint8_t *buf, size_t cap, const char *s, size_t len) {
  roam_enc e;
  roam_enc_init(&e, buf, cap);
  roam_enc_bytes(&e, s, len);
  return roam_enc_error(&e) ? 0 : roam_enc_size(&e);
}

void t_fill_value(uint8_t *p, size_t n, uint64_t i) {
  for (size_t j = 0; j < n; j++) p[j] = (uint8_t)(i * 131u + j * 7u + (j >> 8));
  if (n >= 8)
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(i >> (8 * k));
}

uint64_t t_hash(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* ---- handlers ------------------------------------------------------------ */

static void h_echo(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  if (roam_request_respond_ok(req, p.ptr, p.len) == ROAM_ERR_PAYLOAD_TOO_LARGE)
    roam_request_respond_user_error(req, NULL, 0); /* Ok(value) would not fit */
}

static void h_hang(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)req;
  (void)ud;
  /* keep the handle: the session answers Err(Cancelled) on Cancel and
   * releases it when the link closes */
}

typedef struct delay_ctx {
  roam_request *req;
  roam_timer *t;
} delay_ctx;

static void delay_fire(roam_timer *t, void *ud) {
  delay_ctx *d = ud;
  roam_request_respond_ok(d->req, NULL, 0);
  roam_timer_free(t);
  free(d);
}

static void delay_cancel(roam_request *r, int why, void *ud) {
  (void)r;
  (void)why;
  (void)ud;
}

static void h_delay(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  roam_server *srv = ud;
  roam_dec d;
  roam_bytes p = roam_request_payload(req);
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t ms = 0;
  roam_dec_u32(&d, &ms);
  if (roam_dec_finish(&d) != 0) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  delay_ctx *c = calloc(1, sizeof *c);
  c->req = req;
  roam_request_set_cancel_cb(req, delay_cancel, c);
  roam_timer_new(roam_server_loop(srv), delay_fire, c, &c->t);
  roam_timer_start(c->t, ms, 0);
}

/* STREAM_IN: sum up a byte stream. */
typedef struct in_ctx {
  roam_request *req;
  uint64_t count, bytes, hash;
} in_ctx;

static int in_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  in_ctx *c = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  roam_bytes b;
  if (roam_dec_bytes(&d, &b) != 0 || roam_dec_finish(&d) != 0) return ROAM_ERR_DECODE;
  c->count++;
  c->bytes += b.len;
  c->hash = t_hash(c->hash, b.ptr, b.len);
  return 0;
}

static void in_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  in_ctx *c = ud;
  if (err == 0) {
    uint8_t buf[32];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_u64(&e, c->count);
    roam_enc_u64(&e, c->bytes);
    roam_enc_u64(&e, c->hash);
    roam_request_respond_ok(c->req, buf, roam_enc_size(&e));
  } else {
    roam_request_respond_error(c->req, ROAM_ERR_REMOTE_CANCELLED);
  }
  free(c);
}

static const roam_channel_callbacks in_cbs = {.on_data = in_data, .on_end = in_end};

static void h_stream_in(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  if (roam_request_channel_count(req) != 1) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  in_ctx *c = calloc(1, sizeof *c);
  c->req = req;
  c->hash = T_HASH_INIT;
  if (roam_request_bind_channel(req, 0, ROAM_CHAN_RECV, &in_cbs, c) != 0) {
    free(c);
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  }
}

/* STREAM_OUT: send count values of size bytes, as fast as credit allows. */
typedef struct out_ctx {
  roam_request *req;
  roam_session *s;
  uint64_t conn, chan;
  uint32_t count, size, next;
  uint64_t hash;
  uint8_t *val;   /* raw value */
  uint8_t *enc;   /* postcard bytes */
  bool done;
  struct out_ctx *next_ctx;
} out_ctx;

static out_ctx *g_out_ctxs;

static void out_finish(out_ctx *c, bool ok) {
  if (c->done) return;
  c->done = true;
  if (ok) {
    uint8_t buf[16];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_u64(&e, c->hash);
    roam_request_respond_ok(c->req, buf, roam_enc_size(&e));
  } else {
    roam_request_respond_error(c->req, ROAM_ERR_REMOTE_CANCELLED);
  }
}

static void out_pump(out_ctx *c) {
  while (!c->done && c->next < c->count) {
    t_fill_value(c->val, c->size, c->next);
    roam_enc e;
    roam_enc_init(&e, c->enc, (size_t)c->size + 16);
    roam_enc_bytes(&e, c->val, c->size);
    int r = roam_channel_send(c->s, c->conn, c->chan, c->enc, roam_enc_size(&e));
    if (r == ROAM_ERR_WOULD_BLOCK) return; /* on_writable follows */
    if (r != 0) {
      out_finish(c, false);
      return;
    }
    c->hash = t_hash(c->hash, c->val, c->size);
    c->next++;
  }
  if (!c->done) out_finish(c, true);
}

static void out_writable(roam_session *s, uint64_t conn, uint64_t id, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  out_pump(ud);
}

static void out_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s;
  (void)conn;
  (void)id;
  (void)err;
  out_finish(ud, false);
}

static const roam_channel_callbacks out_cbs = {.on_end = out_end, .on_writable = out_writable};

static void out_release(roam_request *r, int why, void *ud) {
  (void)r;
  (void)why;
  out_finish(ud, false); /* releases the handle (already answered) */
}

static void h_stream_out(roam_session *s, roam_request *req, void *ud) {
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t count = 0, size = 0;
  uint64_t chan = 0;
  roam_dec_u32(&d, &count);
  roam_dec_u32(&d, &size);
  roam_dec_u64(&d, &chan);
  if (roam_dec_finish(&d) != 0 || roam_request_channel_count(req) != 1) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  /* The context is not freed: callbacks may still name it after the answer
   * (this server runs in a forked child that exits). */
  out_ctx *c = calloc(1, sizeof *c);
  c->next_ctx = g_out_ctxs; /* kept reachable (leak checkers) */
  g_out_ctxs = c;
  c->req = req;
  c->s = s;
  c->conn = roam_request_conn_id(req);
  c->chan = roam_request_channel_id(req, 0);
  c->count = count;
  c->size = size;
  c->hash = T_HASH_INIT;
  c->val = malloc(size ? size : 1);
  c->enc = malloc((size_t)size + 16);
  roam_request_set_cancel_cb(req, out_release, c);
  if (roam_request_bind_channel(req, 0, ROAM_CHAN_SEND, &out_cbs, c) != 0) {
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  out_pump(c);
}

static void h_rss(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, (uint64_t)t_rss_kib());
  roam_request_respond_ok(req, buf, roam_enc_size(&e));
}

static void exit_task(roam_timer *t, void *ud) {
  (void)t;
  (void)ud;
  _exit(0);
}

static void h_exit(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  roam_server *srv = ud;
  roam_request_respond_ok(req, NULL, 0);
  roam_timer *t;
  roam_timer_new(roam_server_loop(srv), exit_task, NULL, &t);
  roam_timer_start(t, 50, 0);
}

void t_register_handlers(roam_server *srv) {
  roam_server_handle(srv, T_ECHO, h_echo, NULL);
  roam_server_handle(srv, T_HANG, h_hang, NULL);
  roam_server_handle(srv, T_DELAY, h_delay, srv);
  roam_server_handle(srv, T_STREAM_IN, h_stream_in, NULL);
  roam_server_handle(srv, T_STREAM_OUT, h_stream_out, NULL);
  roam_server_handle(srv, T_RSS, h_rss, NULL);
  roam_server_handle(srv, T_EXIT, h_exit, srv);
}

void t_apply_opts(roam_link_options *lo, const t_server_opts *o) {
  if (!o) return;
  if (o->credit) lo->session.initial_channel_credit = o->credit;
  if (o->max_payload) lo->session.max_payload_size = o->max_payload;
  if (o->high_water) lo->session.output_high_water = o->high_water;
  if (o->handshake_ms) lo->session.handshake_timeout_ms = o->handshake_ms;
  if (o->eager_flush) lo->eager_flush_bytes = o->eager_flush;
}

/* ---- forked server ------------------------------------------------------- */

static void srv_done(roam_server *srv, void *ud) {
  (void)ud;
  roam_loop_stop(roam_server_loop(srv));
}

typedef struct fsrv {
  roam_server *srv;
  uint64_t shutdown_ms;
} fsrv;

static void on_term2(roam_loop *loop, int signo, void *ud) {
  (void)signo;
  fsrv *f = ud;
  if (roam_server_shutdown(f->srv, f->shutdown_ms, srv_done, NULL) != 0) roam_loop_stop(loop);
}

static void run_server(const char *addr, const t_server_opts *o, int wfd) {
  roam_loop *loop;
  if (roam_loop_new(&loop, NULL) != 0) _exit(90);
  roam_server_options so;
  roam_server_options_init(&so);
  t_apply_opts(&so.link, o);
  if (o && o->loops) so.loops = o->loops;
  roam_server *srv;
  if (roam_server_new(loop, &so, &srv) != 0) _exit(91);
  t_register_handlers(srv);
  roam_listener *ls;
  int r = roam_server_listen(srv, addr, &ls);
  if (r != 0) {
    fprintf(stderr, "server listen %s: %s\n", addr, roam_strerror(r));
    _exit(92);
  }
  if (wfd >= 0) {
    const char *a = roam_listener_address(ls);
    size_t n = strlen(a) + 1;
    if (write(wfd, a, n) != (ssize_t)n) _exit(93);
    close(wfd);
  }
  fsrv f = {srv, o && o->shutdown_ms ? o->shutdown_ms : 2000};
  roam_loop_signal(loop, SIGTERM, on_term2, &f);
  roam_loop_signal(loop, SIGINT, on_term2, &f);
  roam_loop_run(loop);
  roam_loop_free(loop);
  _exit(0);
}

pid_t t_fork_server_delayed(const char *addr, const t_server_opts *o) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (o && o->delay_ms) usleep((useconds_t)(o->delay_ms * 1000));
    run_server(addr, o, -1);
  }
  return pid;
}

pid_t t_fork_server(const char *addr, const t_server_opts *o, char *bound, size_t cap) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(p[0]);
    run_server(addr, o, p[1]);
  }
  close(p[1]);
  size_t got = 0;
  while (got < cap - 1) {
    ssize_t n = read(p[0], bound + got, cap - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    if (bound[got - 1] == 0) break;
  }
  bound[got] = 0;
  close(p[0]);
  if (got == 0) {
    waitpid(pid, NULL, 0);
    return -1;
  }
  return pid;
}

int t_stop_server(pid_t pid, int sig) {
  if (pid <= 0) return -1;
  kill(pid, sig);
  int st = 0;
  for (int i = 0; i < 1000; i++) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return st;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return st;
}

int t_echo(roam_client *c, const char *s) {
  uint8_t enc[256];
  size_t len = t_enc_string(enc, sizeof enc, s, strlen(s));
  roam_reply rep;
  roam_call_opts o = {.timeout_ms = 5000};
  int r = roam_client_call(c, T_ECHO, enc, len, &o, &rep);
  if (r == 0 && (rep.value_len != len || memcmp(rep.value, enc, len) != 0)) r = -999;
  roam_reply_free(&rep);
  return r;
}
