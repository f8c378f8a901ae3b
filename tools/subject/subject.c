/*
 * roam-subject: the conformance subject (PROTOCOL.md §14, docs/subject.md).
 *
 * Connects to PEER_ADDR as the link initiator and serves Testbed; in client
 * mode it also runs one scenario against the peer's Testbed. It drives the
 * sans-I/O session with a small poll(2) loop of its own, so that path
 * depends on nothing but the session layer; ROAM_SUBJECT_LOOP puts the
 * link on the runtime instead, driven by a loop adapter.
 *
 * Environment:
 *   PEER_ADDR=host:port      where the harness listens (required)
 *   SUBJECT_MODE=server|client (default server)
 *   CLIENT_SCENARIO=echo|sum|generate (default echo)
 *   ACCEPT_CONNECTIONS=1     accept virtual connections
 *   ROAM_WIRE_SPY=1          log every message to stderr
 *   ROAM_SUBJECT_LOOP=libuv|libevent  run the link on the runtime (roam_link)
 *                            driven by that loop adapter instead of the
 *                            subject's own poll loop ("roam": on a
 *                            roam_loop); unset = the subject's poll loop
 *
 * Exit status: 0 success (server: the link ended without a violation of
 * ours to report; client: the scenario gave the expected result); 1 the
 * scenario failed, the connection could not be made, or the link ended
 * before the handshake completed; 2 bad environment; 3 the peer violated
 * the protocol (we sent Goodbye with the rule id). Nothing goes to stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <roam/diag.h>
#include <roam/loop.h>
#include <roam/session.h>
#ifdef ROAM_SUBJECT_LIBUV
#include <roam/libuv.h>
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
#include <roam/libevent.h>
#endif

#include "testbed_service.h"
#include "ws_subject.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_PROTOCOL 3

#define CALL_TIMEOUT_MS 30000u
#define LINGER_MS 2000u

static bool wire_spy, debug_log;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("roam-subject: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t session_clock(void *ud) {
  (void)ud;
  return now_ms();
}

static bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

static void log_cb(void *ud, roam_log_level level, const char *msg) {
  (void)ud;
  if (level <= ROAM_LOG_WARN || (level == ROAM_LOG_INFO && wire_spy) || debug_log)
    say("%s", msg);
}

/* ---- client scenarios ------------------------------------------------------ */

enum scenario { SC_NONE, SC_ECHO, SC_SUM, SC_GENERATE };

typedef struct subject {
  roam_session *s;
  roam_dispatcher *disp;
  int fd;
  sj_ws *ws; /* PEER_ADDR=ws://...: the WebSocket transport; NULL = TCP */
  bool ready;
  bool closed;
  int close_err;
  char close_reason[200];

  enum scenario scenario;
  bool scenario_done;
  bool scenario_ok;
  char scenario_msg[300];

  uint64_t ch;      /* sum: our Tx channel; generate: our Rx channel */
  int32_t next;     /* sum: next value to send (1..=5) */
  bool tx_open;     /* sum: channel still ours to send on */
  int32_t got[8];   /* generate: values received */
  size_t ngot;
  bool got_extra;   /* more values than expected, or out of range */

  roam_loop *loop;  /* ROAM_SUBJECT_LOOP: the runtime drives the link */
  roam_link *link;
  void (*stop)(void *ud); /* end the application's loop */
  void *stop_ud;
} subject;

#ifdef ROAM_SUBJECT_RUNTIME
static void close_link_task(roam_loop *loop, void *ud);
#endif

static void scenario_result(subject *sj, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void scenario_result(subject *sj, bool ok, const char *fmt, ...) {
  if (sj->scenario_done) return;
  sj->scenario_done = true;
  sj->scenario_ok = ok;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sj->scenario_msg, sizeof sj->scenario_msg, fmt, ap);
  va_end(ap);
#ifdef ROAM_SUBJECT_RUNTIME
  /* on the runtime: say Goodbye once the callbacks of this turn are over */
  if (sj->loop && sj->scenario != SC_NONE) roam_loop_post(sj->loop, close_link_task, sj);
#endif
}

static const char *status_text(int status) {
  switch (status) {
  case ROAM_ERR_REMOTE_USER: return "the method returned a user error";
  case ROAM_ERR_REMOTE_UNKNOWN_METHOD: return "Err(UnknownMethod)";
  case ROAM_ERR_REMOTE_INVALID_PAYLOAD: return "Err(InvalidPayload)";
  case ROAM_ERR_REMOTE_CANCELLED: return "Err(Cancelled)";
  default: return roam_strerror(status);
  }
}

static const char ECHO_TEXT[] = "hello from client";

static void echo_done(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  subject *sj = ud;
  if (res->status != 0) {
    scenario_result(sj, false, "echo failed: %s", status_text(res->status));
    return;
  }
  roam_dec d;
  roam_dec_init(&d, res->value.ptr, res->value.len);
  roam_bytes got;
  roam_dec_str(&d, &got);
  if (roam_dec_finish(&d) != 0) {
    scenario_result(sj, false, "echo: the result is not a String");
    return;
  }
  if (got.len != strlen(ECHO_TEXT) || memcmp(got.ptr, ECHO_TEXT, got.len) != 0) {
    scenario_result(sj, false, "echo returned \"%.*s\", expected \"%s\"", (int)got.len, got.ptr,
                    ECHO_TEXT);
    return;
  }
  scenario_result(sj, true, "echo returned \"%s\"", ECHO_TEXT);
}

/* sum: send 1..=5 on our Tx channel as credit allows, then Close. */
static void sum_pump(subject *sj) {
  while (sj->tx_open && sj->next <= 5) {
    uint8_t buf[8];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_i32(&e, sj->next);
    int rc = roam_channel_send(sj->s, 0, sj->ch, buf, roam_enc_size(&e));
    if (rc == ROAM_ERR_WOULD_BLOCK) return; /* on_writable resumes */
    if (rc != 0) {
      sj->tx_open = false;
      scenario_result(sj, false, "sum: sending %d failed: %s", (int)sj->next, roam_strerror(rc));
      return;
    }
    sj->next++;
  }
  if (sj->tx_open) {
    sj->tx_open = false;
    int rc = roam_channel_close(sj->s, 0, sj->ch);
    if (rc) scenario_result(sj, false, "sum: closing the channel failed: %s", roam_strerror(rc));
  }
}

static void sum_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch;
  sum_pump(ud);
}

static void sum_tx_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch;
  subject *sj = ud;
  if (sj->tx_open && sj->next <= 5)
    scenario_result(sj, false, "sum: the channel ended before all values were sent: %s",
                    roam_strerror(err));
  sj->tx_open = false;
}

static const roam_channel_callbacks sum_tx_cbs = {NULL, sum_tx_end, sum_writable};

static void sum_done(roam_session *s, const roam_call_result *res, void *ud) {
  subject *sj = ud;
  if (sj->tx_open) { /* the call ended first: abandon the channel */
    sj->tx_open = false;
    roam_channel_reset(s, 0, sj->ch);
  }
  if (res->status != 0) {
    scenario_result(sj, false, "sum failed: %s", status_text(res->status));
    return;
  }
  roam_dec d;
  roam_dec_init(&d, res->value.ptr, res->value.len);
  int64_t total = 0;
  roam_dec_i64(&d, &total);
  if (roam_dec_finish(&d) != 0) {
    scenario_result(sj, false, "sum: the result is not an i64");
    return;
  }
  if (total != 15) {
    scenario_result(sj, false, "sum returned %lld, expected 15", (long long)total);
    return;
  }
  scenario_result(sj, true, "sum of 1..=5 returned 15");
}

/* generate(5): collect the values of our Rx channel. */
static int gen_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)ch;
  subject *sj = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  int32_t x = 0;
  roam_dec_i32(&d, &x);
  int rc = roam_dec_finish(&d);
  if (rc) return rc; /* not an i32: Goodbye channeling.data.invalid */
  if (sj->ngot < sizeof sj->got / sizeof sj->got[0])
    sj->got[sj->ngot++] = x;
  else
    sj->got_extra = true;
  return 0;
}

static const roam_channel_callbacks gen_rx_cbs = {gen_data, NULL, NULL};

static void gen_done(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  subject *sj = ud;
  if (res->status != 0) {
    scenario_result(sj, false, "generate failed: %s", status_text(res->status));
    return;
  }
  if (res->value.len != 0) {
    scenario_result(sj, false, "generate: the result is not ()");
    return;
  }
  /* The output channel ended before this callback (Close or the Response). */
  bool ok = sj->ngot == 5 && !sj->got_extra;
  for (size_t i = 0; ok && i < 5; i++) ok = sj->got[i] == (int32_t)i;
  if (!ok) {
    char list[128];
    size_t n = 0;
    for (size_t i = 0; i < sj->ngot && n < sizeof list - 16; i++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", i ? ", " : "", (int)sj->got[i]);
    list[n] = 0;
    scenario_result(sj, false, "generate(5) delivered [%s]%s, expected [0, 1, 2, 3, 4]", list,
                    sj->got_extra ? " and more" : "");
    return;
  }
  scenario_result(sj, true, "generate(5) delivered [0, 1, 2, 3, 4]");
}

static int start_scenario(subject *sj) {
  roam_call_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.timeout_ms = CALL_TIMEOUT_MS;
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  int rc;
  switch (sj->scenario) {
  case SC_ECHO:
    roam_enc_cstr(&e, ECHO_TEXT);
    rc = roam_call(sj->s, ROAM_TESTBED_ECHO, buf, roam_enc_size(&e), &opts, echo_done, sj, NULL);
    break;
  case SC_SUM:
    rc = roam_channel_alloc(sj->s, 0, ROAM_CHAN_SEND, &sum_tx_cbs, sj, &sj->ch);
    if (rc) break;
    roam_enc_u64(&e, sj->ch);
    opts.channels = &sj->ch;
    opts.channel_count = 1;
    rc = roam_call(sj->s, ROAM_TESTBED_SUM, buf, roam_enc_size(&e), &opts, sum_done, sj, NULL);
    if (rc) break;
    sj->next = 1;
    sj->tx_open = true;
    sum_pump(sj); /* waits for the Request to go out (after the handshake) */
    break;
  case SC_GENERATE:
    rc = roam_channel_alloc(sj->s, 0, ROAM_CHAN_RECV, &gen_rx_cbs, sj, &sj->ch);
    if (rc) break;
    roam_enc_u32(&e, 5);
    roam_enc_u64(&e, sj->ch);
    opts.channels = &sj->ch;
    opts.channel_count = 1;
    rc = roam_call(sj->s, ROAM_TESTBED_GENERATE, buf, roam_enc_size(&e), &opts, gen_done, sj,
                   NULL);
    break;
  default: return 0;
  }
  if (rc) scenario_result(sj, false, "could not start the call: %s", roam_strerror(rc));
  return rc;
}

/* ---- session callbacks ------------------------------------------------------- */

static void on_ready(roam_session *s, void *ud) {
  subject *sj = ud;
  sj->ready = true;
  if (debug_log)
    say("handshake done: max payload %u, initial credit %u", roam_session_max_payload(s),
        roam_session_initial_credit(s));
}

static void on_closed(roam_session *s, int err, roam_bytes reason, void *ud) {
  (void)s;
  subject *sj = ud;
  sj->closed = true;
  sj->close_err = err;
  size_t n = reason.len < sizeof sj->close_reason - 1 ? reason.len : sizeof sj->close_reason - 1;
  if (n) memcpy(sj->close_reason, reason.ptr, n);
  sj->close_reason[n] = 0;
}

static void on_connect(roam_session *s, uint64_t connect_id, const roam_metadata *md, void *ud) {
  (void)md;
  subject *sj = ud;
  uint64_t conn_id = 0;
  int rc = roam_session_accept(s, connect_id, NULL, 0, sj->disp, &conn_id);
  if (rc) {
    say("cannot accept virtual connection (Connect %llu): %s", (unsigned long long)connect_id,
        roam_strerror(rc));
    roam_session_reject(s, connect_id, "cannot accept", NULL, 0);
  } else if (debug_log) {
    say("accepted virtual connection %llu", (unsigned long long)conn_id);
  }
}

/* ---- transport ------------------------------------------------------------------ */

/* Split "host:port" / "[v6]:port"; returns 0 or -1. */
static int split_addr(const char *addr, char *host, size_t hcap, char *port, size_t pcap) {
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || !colon[1]) return -1;
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (h[0] == '[') {
    if (hl < 2 || h[hl - 1] != ']') return -1;
    h++;
    hl -= 2;
  }
  if (hl >= hcap || strlen(colon + 1) >= pcap) return -1;
  memcpy(host, h, hl);
  host[hl] = 0;
  strcpy(port, colon + 1);
  return 0;
}

static int connect_peer(const char *addr) {
  char host[256], port[32];
  if (split_addr(addr, host, sizeof host, port, sizeof port)) {
    say("PEER_ADDR '%s' is not host:port", addr);
    return -2;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int gai = getaddrinfo(host, port, &hints, &res);
  if (gai) {
    say("cannot resolve %s: %s", addr, gai_strerror(gai));
    return -2;
  }
  int fd = -1, err = 0;
  /* A few attempts over about two seconds, for a peer that is still
   * setting up its listener. */
  for (int attempt = 0; fd < 0 && attempt < 20; attempt++) {
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
      fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        err = errno;
        continue;
      }
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
      err = errno;
      close(fd);
      fd = -1;
    }
    if (fd < 0 && err == ECONNREFUSED) {
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
    } else if (fd < 0) {
      break;
    }
  }
  freeaddrinfo(res);
  if (fd < 0) {
    say("cannot connect to %s: %s", addr, strerror(err));
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* Write what the session has to send. Returns 0, or -1 when the transport
 * failed (the session has been told). */
static int flush_output(subject *sj) {
  if (sj->ws) return sj_ws_flush(sj->ws, sj->fd, sj->s);
  const uint8_t *data;
  size_t n;
  while ((n = roam_session_output(sj->s, &data)) > 0) {
    ssize_t w = send(sj->fd, data, n, MSG_NOSIGNAL);
    if (w > 0) {
      roam_session_consume(sj->s, (size_t)w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (debug_log) say("write failed: %s", strerror(errno));
    roam_session_eof(sj->s);
    return -1;
  }
  return 0;
}

/* After our last message: half-close and wait (bounded) for the peer to
 * close, reading and dropping whatever it still sends. Closing a socket
 * with unread input would make the kernel send RST, and the peer could lose
 * our final messages. */
static void linger_close(int fd, uint64_t linger_ms) {
  shutdown(fd, SHUT_WR);
  uint64_t deadline = now_ms() + linger_ms;
  char buf[16384];
  for (;;) {
    uint64_t now = now_ms();
    if (now >= deadline) break;
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, (int)(deadline - now));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) break;
  }
  close(fd);
}

/* Input: one buffer; what the session could not take yet (its output is
 * above the high-water mark) stays there until the output drains. */
typedef struct input {
  uint8_t buf[65536];
  size_t off, len;
} input;

/* Feed the session what is left in the buffer. Returns how much it took. */
static size_t feed_held(subject *sj, input *in) {
  size_t used = 0;
  if (sj->ws) { /* whole messages: one may wait inside the codec */
    bool progress = false;
    if (in->off < in->len || sj_ws_holding(sj->ws))
      in->off += sj_ws_feed(sj->ws, sj->s, in->buf + in->off, in->len - in->off, &progress);
    if (in->off == in->len) in->off = in->len = 0;
    return progress;
  }
  if (in->off < in->len && roam_session_want_read(sj->s))
    roam_session_recv(sj->s, in->buf + in->off, in->len - in->off, &used);
  in->off += used;
  if (in->off == in->len || roam_session_is_closed(sj->s)) in->off = in->len = 0;
  return used;
}

/* Read and feed everything the socket has now, without blocking, before
 * any output is collected: the session answers a whole input batch at once
 * (one Credit for all the Data of the batch, for instance). Returns -1 when
 * the transport failed (the session has been told), else 0. */
static int read_batch(subject *sj, input *in) {
  for (int i = 0; i < 64 && in->off == in->len && roam_session_want_read(sj->s) &&
                  !(sj->ws && sj_ws_holding(sj->ws)); i++) {
    ssize_t r = recv(sj->fd, in->buf, sizeof in->buf, 0);
    if (r > 0) {
      in->off = 0;
      in->len = (size_t)r;
      feed_held(sj, in);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (r < 0 && debug_log) say("read failed: %s", strerror(errno));
    roam_session_eof(sj->s); /* end of file, or the connection failed */
    return r < 0 ? -1 : 0;
  }
  return 0;
}

/* Drive the session until it is done. */
static void run(subject *sj) {
  static input in;
  bool transport_dead = false;
  bool closing = false;
  for (;;) {
    if (flush_output(sj)) transport_dead = true;
    if (feed_held(sj, &in)) continue; /* room again after the output drained */
    if (sj->scenario != SC_NONE && sj->scenario_done && !closing &&
        !roam_session_is_closed(sj->s)) {
      closing = true;
      roam_session_close(sj->s); /* graceful Goodbye, then done */
      continue;
    }
    if (roam_session_is_done(sj->s) || transport_dead) break;

    struct pollfd p = {sj->fd, 0, 0};
    if (in.off == in.len && !roam_session_is_closed(sj->s) && !(sj->ws && sj_ws_holding(sj->ws)))
      p.events |= POLLIN;
    const uint8_t *pending;
    if (roam_session_output(sj->s, &pending) > 0 || (sj->ws && sj_ws_has_output(sj->ws, sj->s)))
      p.events |= POLLOUT;
    uint64_t now = now_ms();
    uint64_t due = roam_session_next_timeout(sj->s);
    int timeout = -1;
    if (due != UINT64_MAX) timeout = due <= now ? 0 : (due - now > 60000 ? 60000 : (int)(due - now));
    int n = poll(&p, 1, timeout);
    if (n < 0 && errno != EINTR) {
      say("poll: %s", strerror(errno));
      roam_session_eof(sj->s);
      break;
    }
    roam_session_tick(sj->s, now_ms());
    if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && read_batch(sj, &in))
      transport_dead = true;
  }
  /* When we had the last word (our Goodbye), give the peer time to read
   * it; when the peer closed, only a moment for its last bytes. */
  bool we_closed = closing || sj->close_err == ROAM_ERR_PROTOCOL;
  if (sj->ws && !transport_dead) sj_ws_close(sj->ws, sj->fd, sj->s);
  if (transport_dead) close(sj->fd);
  else linger_close(sj->fd, we_closed ? LINGER_MS : 250);
  sj->fd = -1;
}

/* ---- the link on the runtime, driven by a loop adapter ---------------------------- */
/* (built in with ROAM_SUBJECT_RUNTIME: tools/subject/run builds that variant
 * when ROAM_SUBJECT_LOOP is set; the CMake target always has it) */
#ifdef ROAM_SUBJECT_RUNTIME

static void close_link_task(roam_loop *loop, void *ud) {
  subject *sj = ud;
  if (loop && sj->link) roam_link_close(sj->link); /* Goodbye, flush, linger */
}

static void link_ready(roam_link *link, void *ud) { on_ready(roam_link_session(link), ud); }

static void link_closed(roam_link *link, int err, roam_bytes reason, void *ud) {
  subject *sj = ud;
  on_closed(roam_link_session(link), err, reason, sj);
  sj->link = NULL;
  sj->s = NULL; /* freed with the link after this hook */
  if (sj->stop) sj->stop(sj->stop_ud);
}

static void link_connect(roam_link *link, uint64_t connect_id, const roam_metadata *md,
                         void *ud) {
  on_connect(roam_link_session(link), connect_id, md, ud);
}

#ifdef ROAM_SUBJECT_LIBUV
static void stop_uv(void *ud) { uv_stop(ud); }
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
static void stop_event(void *ud) { event_base_loopbreak(ud); }
#endif
static void stop_roam(void *ud) { roam_loop_stop(ud); }

/* Serve the connected fd with a roam_link on the loop named by kind (the
 * runtime does framing, flushing, timeouts and the closing linger). Returns
 * 0, EXIT_USAGE for a loop this build does not have, or EXIT_FAIL. */
static int run_on_loop(subject *sj, const char *kind, const roam_session_config *cfg) {
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.log = log_cb;
  int rc = ROAM_ERR_INVALID_ARG;
#ifdef ROAM_SUBJECT_LIBUV
  uv_loop_t uv;
  bool have_uv = false;
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
  struct event_base *base = NULL;
#endif
  if (strcmp(kind, "roam") == 0) {
    rc = roam_loop_new(&sj->loop, &lo);
    sj->stop = stop_roam;
    sj->stop_ud = sj->loop;
  }
#ifdef ROAM_SUBJECT_LIBUV
  else if (strcmp(kind, "libuv") == 0) {
    if (uv_loop_init(&uv) != 0) return EXIT_FAIL;
    have_uv = true;
    rc = roam_libuv_loop_new(&uv, &lo, &sj->loop);
    sj->stop = stop_uv;
    sj->stop_ud = &uv;
  }
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
  else if (strcmp(kind, "libevent") == 0) {
    base = event_base_new();
    if (!base) return EXIT_FAIL;
    rc = roam_libevent_loop_new(base, &lo, &sj->loop);
    sj->stop = stop_event;
    sj->stop_ud = base;
  }
#endif
  else {
    say("ROAM_SUBJECT_LOOP=%s: this build has no such loop (libuv, libevent%s)", kind,
        " need their -dev packages at build time");
    return EXIT_USAGE;
  }
  int status = EXIT_FAIL;
  if (rc != 0) {
    say("cannot create the %s loop: %s", kind, roam_strerror(rc));
    goto out;
  }
  roam_link_options opts;
  roam_link_options_init(&opts);
  opts.session = *cfg;
  opts.session.clock = NULL; /* the runtime's */
  /* the session's own window (the runtime would widen it to 1 MiB), as
   * with the poll loop */
  if (!opts.session.channel_window) opts.session.channel_window = opts.session.initial_channel_credit;
  opts.dispatcher = sj->disp;
  opts.on_ready = link_ready;
  opts.on_close = link_closed;
  opts.on_connect = link_connect;
  opts.user_data = sj;
  /* like the poll loop: answer a whole input batch at once */
  opts.eager_flush_bytes = SIZE_MAX;
  int fd = sj->fd;
  sj->fd = -1; /* the link owns it now */
  rc = roam_link_open_fd(sj->loop, fd, ROAM_ROLE_INITIATOR, &opts, &sj->link);
  if (rc != 0) {
    say("cannot create the link: %s", roam_strerror(rc));
    close(fd);
    goto out;
  }
  sj->s = roam_link_session(sj->link);
  if (env_flag("ACCEPT_CONNECTIONS")) roam_session_listen(sj->s, true);
  start_scenario(sj); /* calls wait for the handshake */
  if (strcmp(kind, "roam") == 0) rc = roam_loop_run(sj->loop);
#ifdef ROAM_SUBJECT_LIBUV
  if (have_uv) rc = uv_run(&uv, UV_RUN_DEFAULT) < 0 ? ROAM_ERR_IO : 0;
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
  if (base) rc = event_base_dispatch(base) < 0 ? ROAM_ERR_IO : 0;
#endif
  if (sj->link) {
    say("the %s loop ended before the link (%s)", kind, roam_strerror(rc));
    sj->link = NULL;
  } else {
    status = 0;
  }
out:
  roam_loop_free(sj->loop); /* aborts a link still open */
  sj->loop = NULL;
  sj->s = NULL;
#ifdef ROAM_SUBJECT_LIBUV
  if (have_uv) {
    uv_run(&uv, UV_RUN_NOWAIT); /* the adapter's handles close */
    if (uv_loop_close(&uv) != 0) say("libuv loop still has handles");
  }
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
  if (base) event_base_free(base);
#endif
  return status;
}
#endif /* ROAM_SUBJECT_RUNTIME */

static bool loop_kind_known(const char *kind) {
#ifndef ROAM_SUBJECT_RUNTIME
  (void)kind;
  return false;
#endif
#ifdef ROAM_SUBJECT_LIBUV
  if (strcmp(kind, "libuv") == 0) return true;
#endif
#ifdef ROAM_SUBJECT_LIBEVENT
  if (strcmp(kind, "libevent") == 0) return true;
#endif
  return strcmp(kind, "roam") == 0;
}

int main(void) {
  wire_spy = env_flag("ROAM_WIRE_SPY");
  debug_log = getenv("ROAM_DEBUG") != NULL;
  const char *addr = getenv("PEER_ADDR");
  const char *mode = getenv("SUBJECT_MODE");
  const char *scen = getenv("CLIENT_SCENARIO");
  const char *loop_kind = getenv("ROAM_SUBJECT_LOOP");
  if (loop_kind && !*loop_kind) loop_kind = NULL;
  if (loop_kind && !loop_kind_known(loop_kind)) {
    say("ROAM_SUBJECT_LOOP=%s: not a loop of this build (libuv and libevent are built in when "
        "their -dev packages are installed; roam)", loop_kind);
    return EXIT_USAGE;
  }
  if (!addr || !*addr) {
    say("PEER_ADDR is not set (host:port of the peer to connect to)");
    return EXIT_USAGE;
  }
  subject sj;
  memset(&sj, 0, sizeof sj);
  sj.fd = -1;
  if (!mode || !*mode || strcmp(mode, "server") == 0) {
    sj.scenario = SC_NONE;
  } else if (strcmp(mode, "client") == 0) {
    if (!scen || !*scen || strcmp(scen, "echo") == 0) sj.scenario = SC_ECHO;
    else if (strcmp(scen, "sum") == 0) sj.scenario = SC_SUM;
    else if (strcmp(scen, "generate") == 0) sj.scenario = SC_GENERATE;
    else {
      say("unknown CLIENT_SCENARIO '%s' (echo, sum or generate)", scen);
      return EXIT_USAGE;
    }
  } else {
    say("unknown SUBJECT_MODE '%s' (server or client)", mode);
    return EXIT_USAGE;
  }

  signal(SIGPIPE, SIG_IGN);
  roam_diag_install_sigusr1(2);

  sj.disp = roam_dispatcher_new(NULL);
  if (!sj.disp || roam_testbed_register(sj.disp) != 0) {
    say("out of memory");
    return EXIT_FAIL;
  }

  char ws_hostport[300], ws_path[256];
  bool use_ws = strncmp(addr, "ws://", 5) == 0;
  if (use_ws) {
    if (loop_kind) {
      say("PEER_ADDR '%s' with ROAM_SUBJECT_LOOP=%s: the subject runs ws:// on its own poll loop "
          "only (unset ROAM_SUBJECT_LOOP)", addr, loop_kind);
      roam_dispatcher_free(sj.disp);
      return EXIT_USAGE;
    }
    if (!sj_ws_supported()) {
      say("PEER_ADDR '%s': this build has no WebSocket support (libwslay-dev, nettle-dev)", addr);
      roam_dispatcher_free(sj.disp);
      return EXIT_USAGE;
    }
    if (sj_ws_split(addr, ws_hostport, sizeof ws_hostport, ws_path, sizeof ws_path) != 0) {
      say("PEER_ADDR '%s' is not ws://host:port/path", addr);
      roam_dispatcher_free(sj.disp);
      return EXIT_USAGE;
    }
  }
  sj.fd = connect_peer(use_ws ? ws_hostport : addr);
  if (sj.fd < 0) {
    roam_dispatcher_free(sj.disp);
    return sj.fd == -2 ? EXIT_USAGE : EXIT_FAIL;
  }

  int rc;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  cfg.name = "subject";
  cfg.now_ms = now_ms();
  cfg.clock = session_clock;
  cfg.log = log_cb;
  if (wire_spy) cfg.flags |= ROAM_SESSION_WIRE_SPY;
#ifdef ROAM_SUBJECT_RUNTIME
  if (loop_kind) {
    rc = run_on_loop(&sj, loop_kind, &cfg);
    if (rc != 0) {
      if (sj.fd >= 0) close(sj.fd);
      roam_dispatcher_free(sj.disp);
      roam_diag_uninstall_sigusr1();
      return rc;
    }
    goto finished;
  }
#endif
  if (use_ws) cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT;
  roam_session_callbacks cbs;
  memset(&cbs, 0, sizeof cbs);
  cbs.on_ready = on_ready;
  cbs.on_closed = on_closed;
  cbs.on_connect = on_connect;
  rc = roam_session_new(&sj.s, &cfg, &cbs, &sj);
  if (rc) {
    say("cannot create the session: %s", roam_strerror(rc));
    close(sj.fd);
    roam_dispatcher_free(sj.disp);
    return EXIT_FAIL;
  }
  if (use_ws) {
    char err[200];
    sj.ws = sj_ws_open(sj.fd, ws_hostport, ws_path, sj.s, 5000, err, sizeof err);
    if (!sj.ws) {
      say("%s: %s", addr, err);
      roam_session_free(sj.s);
      close(sj.fd);
      roam_dispatcher_free(sj.disp);
      return EXIT_FAIL;
    }
  }
  /* Hello is queued: put it on the wire before anything else
   * [message.hello.timing]. */
  flush_output(&sj);
  roam_session_set_dispatcher(sj.s, 0, sj.disp);
  if (env_flag("ACCEPT_CONNECTIONS")) roam_session_listen(sj.s, true);
  start_scenario(&sj); /* calls wait for the handshake */

  run(&sj);

#ifdef ROAM_SUBJECT_RUNTIME
finished:;
#endif
  int status;
  if (sj.scenario != SC_NONE) {
    if (!sj.scenario_done)
      scenario_result(&sj, false, "the link closed before the call completed%s%s%s",
                      sj.close_reason[0] ? " (" : "", sj.close_reason,
                      sj.close_reason[0] ? ")" : "");
    say("client scenario %s: %s", sj.scenario_ok ? "passed" : "FAILED", sj.scenario_msg);
    status = sj.scenario_ok ? EXIT_OK : EXIT_FAIL;
  } else if (sj.close_err == ROAM_ERR_PROTOCOL) {
    say("closed the link after a protocol violation by the peer: %s", sj.close_reason);
    status = EXIT_PROTOCOL;
  } else if (!sj.ready) {
    say("the link ended before the handshake completed (%s)",
        sj.close_err == ROAM_ERR_TIMEOUT ? "no Hello from the peer" : "connection closed");
    status = EXIT_FAIL;
  } else {
    if (sj.close_reason[0] && sj.close_err != 0 && debug_log)
      say("link closed: %s", sj.close_reason);
    status = EXIT_OK;
  }
  roam_session_free(sj.s); /* NULL on the runtime: freed with the link */
  sj_ws_free(sj.ws);
  roam_dispatcher_free(sj.disp);
  roam_diag_uninstall_sigusr1();
  if (roam_testbed_live_calls() != 0) {
    say("internal error: %zu Testbed calls still hold state", roam_testbed_live_calls());
    if (status == EXIT_OK) status = EXIT_FAIL;
  }
  return status;
}
