/*
 * The server's memory budget (roam_server_options.memory_budget,
 * docs/runtime.md "Memory") against a forked server with the defaults:
 * 50 raw connections each send a valid Hello and then a 4 MiB frame without
 * its delimiter (byte streams over TCP; over ws:// a frame announcing a
 * 1 MiB message that never completes). Meanwhile a good client makes echo
 * calls, which must all succeed, and the server's resident set (VmRSS from
 * /proc, through the T_RSS method) must grow by at most 16 MiB; the
 * budget's own counters (roam_server_get_stats, through T_BUDGET) must stay
 * within the limit plus one read per loop, show that links stalled, and
 * drop back to 0 once the bad links are gone. Run with one server loop and
 * with two (one budget for both).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roam/postcard.h>
#include <roam/runtime.h>

#include "rt_testlib.h"

/* Under a sanitizer the resident set is mostly the sanitizer's (shadow
 * memory, ASan's quarantine of freed blocks): only the budget's own
 * counters are checked there. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

#define T_BUDGET 0x3003ull /* () -> (u64 limit, used, peak, stalls, closed) */
#define BAD_LINKS 50
#define BAD_BYTES (4u << 20)
#define GROWTH_MAX_KIB (16 * 1024)
#define READ_SLACK (768u * 1024) /* one read, and a step of the frame storage */

/* ---- the server (child process) ---------------------------------------- */

static void h_budget(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  roam_server_stats st;
  roam_server_get_stats(ud, &st);
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, st.memory_budget);
  roam_enc_u64(&e, st.memory_used);
  roam_enc_u64(&e, st.memory_peak);
  roam_enc_u64(&e, st.memory_stalls);
  roam_enc_u64(&e, st.memory_closed);
  roam_request_respond_ok(req, buf, roam_enc_size(&e));
}

static void run_server(const char *addr, uint32_t loops, int wfd) {
  roam_loop *loop;
  if (roam_loop_new(&loop, NULL) != 0) _exit(90);
  roam_server_options so;
  roam_server_options_init(&so);
  so.loops = loops;
  so.memory_stall_ms = 1500; /* the default budget; a shorter wait keeps the test short */
  roam_server *srv;
  if (roam_server_new(loop, &so, &srv) != 0) _exit(91);
  t_register_handlers(srv);
  roam_server_handle(srv, T_BUDGET, h_budget, srv);
  roam_listener *ls;
  if (roam_server_listen(srv, addr, &ls) != 0) _exit(92);
  const char *a = roam_listener_address(ls);
  size_t n = strlen(a) + 1;
  if (write(wfd, a, n) != (ssize_t)n) _exit(93);
  close(wfd);
  roam_loop_run(loop); /* until SIGKILL */
  _exit(0);
}

static pid_t fork_server(const char *addr, uint32_t loops, char *bound, size_t cap) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    run_server(addr, loops, p[1]);
  }
  close(p[1]);
  ssize_t got = read(p[0], bound, cap - 1);
  close(p[0]);
  if (got <= 0) return -1;
  bound[got] = 0;
  return pid;
}

/* ---- the bad connections ------------------------------------------------- */

typedef struct bad_conn {
  int fd;
  size_t sent;
  bool closed; /* by the server (or failed) */
} bad_conn;

typedef struct bad_set {
  bad_conn c[BAD_LINKS];
  bool ws;
  atomic_bool stop;
  atomic_int open;
} bad_set;

static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

static bool send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= (size_t)w;
  }
  return true;
}

/* The Hello of an initiator session: framed for a byte stream, or the
 * bare message for a WebSocket. */
static size_t hello_bytes(bool message, uint8_t *out, size_t cap) {
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  if (message) cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT;
  roam_session *s;
  if (roam_session_new(&s, &cfg, NULL, NULL) != 0) return 0;
  size_t n = 0;
  if (message) {
    roam_bytes m;
    if (roam_session_next_message(s, &m) == 0 && m.len <= cap) {
      memcpy(out, m.ptr, m.len);
      n = m.len;
    }
  } else {
    const uint8_t *p;
    n = roam_session_output(s, &p);
    if (n <= cap) memcpy(out, p, n);
  }
  roam_session_free(s);
  return n;
}

/* A client WebSocket frame header (binary, FIN, mask key 0 so the payload
 * goes as is). */
static size_t ws_header(uint8_t *h, uint64_t len) {
  h[0] = 0x82;
  size_t k;
  if (len < 126) {
    h[1] = (uint8_t)(0x80 | len);
    k = 2;
  } else if (len < 65536) {
    h[1] = 0x80 | 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    k = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    k = 10;
  }
  memset(h + k, 0, 4);
  return k + 4;
}

/* Connect, Hello, then (WebSocket) the header of a message that never ends. */
static bool bad_open(bad_conn *c, int port, bool ws, size_t *total) {
  c->fd = tcp_connect(port);
  if (c->fd < 0) return false;
  uint8_t hello[64], buf[512];
  size_t hn = hello_bytes(ws, hello, sizeof hello);
  if (!hn) return false;
  if (!ws) {
    *total = BAD_BYTES;
    return send_all(c->fd, hello, hn);
  }
  static const char req[] =
      "GET /b HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  size_t k = ws_header(buf, hn);
  memcpy(buf + k, hello, hn);
  /* within the message limit (1 MiB and a little): all of it may be kept */
  *total = 1u << 20;
  size_t h2 = ws_header(buf + k + hn, *total);
  return send_all(c->fd, req, sizeof req - 1) && send_all(c->fd, buf, k + hn + h2);
}

static void *bad_main(void *arg) {
  bad_set *b = arg;
  static uint8_t chunk[64 * 1024];
  memset(chunk, 0x5a, sizeof chunk); /* no zero byte: no delimiter */
  size_t total = b->ws ? (1u << 20) : BAD_BYTES;
  /* First every link gets 600 KiB of its frame (below the frame limit, so
   * no link can be closed for its size yet: 30 MiB wanted at once, and the
   * server has 300 ms to read what it may), then the rest. */
  size_t limit = 600u * 1024;
  uint64_t t_phase = t_now_ms(), t_all = 0;
  uint8_t sink[4096];
  while (!atomic_load(&b->stop)) {
    if (limit < total) {
      bool all = true;
      for (int i = 0; i < BAD_LINKS; i++)
        if (!b->c[i].closed && b->c[i].sent < limit) all = false;
      if (all && !t_all) t_all = t_now_ms();
      if ((t_all && t_now_ms() - t_all >= 300) || t_now_ms() - t_phase > 1500) limit = total;
    }
    struct pollfd pf[BAD_LINKS];
    int map[BAD_LINKS], n = 0;
    for (int i = 0; i < BAD_LINKS; i++) {
      if (b->c[i].closed) continue;
      pf[n].fd = b->c[i].fd;
      pf[n].events = POLLIN | (b->c[i].sent < limit ? POLLOUT : 0);
      pf[n].revents = 0;
      map[n++] = i;
    }
    if (n == 0) break;
    if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR) break;
    for (int j = 0; j < n; j++) {
      bad_conn *c = &b->c[map[j]];
      bool gone = false;
      if (pf[j].revents & POLLIN) { /* the server's Hello, Goodbye, or EOF */
        ssize_t r = recv(c->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) gone = true;
      }
      if (!gone && (pf[j].revents & POLLOUT) && c->sent < limit) {
        size_t want = limit - c->sent < sizeof chunk ? limit - c->sent : sizeof chunk;
        ssize_t w = send(c->fd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) c->sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR) gone = true;
      }
      if (gone || (pf[j].revents & (POLLERR | POLLHUP))) {
        c->closed = true;
        atomic_fetch_sub(&b->open, 1);
      }
    }
  }
  return NULL;
}

/* ---- the scenario -------------------------------------------------------- */

typedef struct budget_fig {
  uint64_t limit, used, peak, stalls, closed;
} budget_fig;

static bool get_budget(roam_client *c, budget_fig *f) {
  roam_reply rep;
  roam_call_opts o = {.timeout_ms = 5000};
  if (roam_client_call(c, T_BUDGET, NULL, 0, &o, &rep) != 0) return false;
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  bool ok = roam_dec_u64(&d, &f->limit) == 0 && roam_dec_u64(&d, &f->used) == 0 &&
            roam_dec_u64(&d, &f->peak) == 0 && roam_dec_u64(&d, &f->stalls) == 0 &&
            roam_dec_u64(&d, &f->closed) == 0;
  roam_reply_free(&rep);
  return ok;
}

static long get_rss(roam_client *c) {
  roam_reply rep;
  roam_call_opts o = {.timeout_ms = 5000};
  if (roam_client_call(c, T_RSS, NULL, 0, &o, &rep) != 0) return -1;
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  uint64_t kib = 0;
  long r = roam_dec_u64(&d, &kib) == 0 ? (long)kib : -1;
  roam_reply_free(&rep);
  return r;
}

static void scenario(const char *label, uint32_t loops, bool ws) {
  char bound[160], addr[200];
  pid_t pid = fork_server(ws ? "ws://127.0.0.1:0/b" : "tcp://127.0.0.1:0", loops, bound,
                          sizeof bound);
  CHECK(pid > 0);
  if (pid <= 0) return;
  const char *colon = strrchr(bound, ':');
  int port = atoi(colon + 1);
  /* the good client speaks plain TCP to the same server when it is ws:// */
  snprintf(addr, sizeof addr, "%s", bound);
  roam_client *good;
  int r = roam_client_connect(&good, addr, NULL, 5000);
  CHECK_EQ(r, 0);
  if (r != 0) {
    t_stop_server(pid, SIGKILL);
    return;
  }
  CHECK_EQ(t_echo(good, "warm-up"), 0);
  long rss0 = get_rss(good);
  CHECK(rss0 > 0);

  static bad_set b;
  memset(&b, 0, sizeof b);
  b.ws = ws;
  int opened = 0;
  size_t total = 0;
  for (int i = 0; i < BAD_LINKS; i++) {
    if (bad_open(&b.c[i], port, ws, &total)) {
      opened++;
    } else {
      b.c[i].closed = true;
      if (b.c[i].fd >= 0) close(b.c[i].fd);
      b.c[i].fd = -1;
    }
  }
  CHECK_EQ(opened, BAD_LINKS);
  atomic_store(&b.open, opened);
  pthread_t th;
  pthread_create(&th, NULL, bad_main, &b);

  long rss_max = rss0;
  uint64_t peak_used = 0;
  int calls = 0, failed = 0;
  uint64_t t0 = t_now_ms();
  budget_fig f = {0};
  /* until every bad link is gone (closed by the server), at most 20 s */
  while (atomic_load(&b.open) > 0 && t_now_ms() - t0 < 20000) {
    for (int i = 0; i < 10; i++) {
      calls++;
      if (t_echo(good, "still served?") != 0) failed++;
    }
    long rss = get_rss(good);
    if (rss > rss_max) rss_max = rss;
    if (get_budget(good, &f) && f.used > peak_used) peak_used = f.used;
  }
  atomic_store(&b.stop, true);
  pthread_join(th, NULL);
  int left = atomic_load(&b.open);
  for (int i = 0; i < BAD_LINKS; i++)
    if (b.c[i].fd >= 0) close(b.c[i].fd);
  /* let the server see the closes, then read its counters */
  for (int i = 0; i < 50; i++) {
    if (get_budget(good, &f) && f.used == 0) break;
    usleep(20000);
  }
  bool got = get_budget(good, &f);
  CHECK(got);
  long growth = rss_max - rss0;
  printf("%s: %d calls (%d failed) in %llu ms; server RSS growth %ld KiB (limit %d KiB); "
         "budget %llu B, peak %llu B, stalls %llu, links closed on it %llu; %d bad links left\n",
         label, calls, failed, (unsigned long long)(t_now_ms() - t0), growth, GROWTH_MAX_KIB,
         (unsigned long long)f.limit, (unsigned long long)f.peak, (unsigned long long)f.stalls,
         (unsigned long long)f.closed, left);
  CHECK_EQ(failed, 0);
  CHECK(calls >= 10);
  CHECK_EQ(left, 0); /* every bad link was closed by the server */
  if (RSS_MEANINGFUL)
    CHECK(growth <= GROWTH_MAX_KIB);
  else
    printf("(sanitizer build: the RSS bound is not checked)\n");
  CHECK(f.limit > 0);
  CHECK(f.peak <= f.limit + (uint64_t)(loops > 1 ? loops : 1) * READ_SLACK);
  CHECK(f.stalls > 0);    /* the budget was what held them back */
  CHECK_EQ(f.used, 0);    /* and all of it came back */
  (void)peak_used;
  (void)total;
  roam_client_free(good);
  t_stop_server(pid, SIGKILL);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  scenario("tcp, one loop", 1, false);
  scenario("tcp, two loops", 2, false);
#if defined(ROAM_TEST_WS)
  scenario("ws, one loop", 1, true);
#endif
  return t_finish("rt_test_budget");
}
