/*
 * Hostile and broken peers: a silent peer that never sends Hello is closed
 * after the handshake timeout (server side and client side); a peer that
 * sends garbage gets Goodbye and a close; graceful server shutdown lets
 * in-flight calls finish, then closes links, and honours its deadline.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roam/cobs.h>
#include <roam/message.h>

#include "rt_testlib.h"

static int raw_connect(const char *ua) {
  const char *path = ua + 5;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
  if (connect(fd, (struct sockaddr *)&un, sizeof un) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Read everything until EOF (or timeout_ms); returns bytes read. */
static size_t read_all(int fd, uint8_t *buf, size_t cap, uint64_t timeout_ms, bool *eof) {
  size_t n = 0;
  uint64_t t0 = t_now_ms();
  *eof = false;
  while (n < cap) {
    uint64_t el = t_now_ms() - t0;
    if (el >= timeout_ms) break;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)(timeout_ms - el)) <= 0) break;
    ssize_t r = read(fd, buf + n, cap - n);
    if (r == 0) {
      *eof = true;
      break;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      *eof = true;
      break;
    }
    n += (size_t)r;
  }
  return n;
}

/* Decode the COBS frames in buf; count kinds; copy the last Goodbye reason. */
static void frames(const uint8_t *buf, size_t n, int *kinds, char *reason, size_t rcap) {
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    if (buf[i] != 0) continue;
    uint8_t out[4096];
    size_t olen = 0;
    if (i > start && roam_cobs_decode(buf + start, i - start, out, sizeof out, &olen) == 0) {
      roam_msg m;
      if (roam_msg_decode(&m, out, olen) == 0) {
        kinds[m.kind]++;
        if (m.kind == ROAM_MSG_GOODBYE)
          snprintf(reason, rcap, "%.*s", (int)m.reason.len, (const char *)m.reason.ptr);
      }
    }
    start = i + 1;
  }
}

static void test_silent_and_garbage(void) {
  char ua[128], bound[256];
  t_unix_addr(ua, sizeof ua, "hostile");
  t_server_opts o = {.handshake_ms = 300};
  pid_t pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid <= 0) return;

  /* silent peer */
  int fd = raw_connect(ua);
  CHECK(fd >= 0);
  uint64_t t0 = t_now_ms();
  uint8_t buf[8192];
  bool eof;
  size_t n = read_all(fd, buf, sizeof buf, 3000, &eof);
  uint64_t el = t_now_ms() - t0;
  CHECK(eof);
  CHECK(el >= 250 && el < 2000);
  int kinds[ROAM_MSG_KIND_COUNT] = {0};
  char reason[256] = "";
  frames(buf, n, kinds, reason, sizeof reason);
  CHECK_EQ(kinds[ROAM_MSG_HELLO], 1);
  CHECK_EQ(kinds[ROAM_MSG_GOODBYE], 0); /* a handshake timeout closes without Goodbye */
  close(fd);

  /* garbage */
  fd = raw_connect(ua);
  CHECK(fd >= 0);
  static const uint8_t junk[] = {0x05, 0xff, 0xfe, 0xfd, 0xfc, 0x00, 0x01, 0x02, 0x00};
  CHECK_EQ(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  n = read_all(fd, buf, sizeof buf, 3000, &eof);
  CHECK(eof);
  memset(kinds, 0, sizeof kinds);
  frames(buf, n, kinds, reason, sizeof reason);
  CHECK_EQ(kinds[ROAM_MSG_HELLO], 1);
  CHECK_EQ(kinds[ROAM_MSG_GOODBYE], 1);
  CHECK(strstr(reason, "message.") != NULL);
  close(fd);

  /* garbage after a valid Hello: still a Goodbye */
  fd = raw_connect(ua);
  uint8_t hello[64], frame[80];
  roam_enc e;
  roam_enc_init(&e, hello, sizeof hello);
  roam_enc_variant(&e, 0);          /* Message::Hello */
  roam_enc_variant(&e, ROAM_HELLO_V2);
  roam_enc_u32(&e, 1u << 20);
  roam_enc_u32(&e, 65536);
  size_t fl = roam_cobs_encode(hello, roam_enc_size(&e), frame);
  frame[fl++] = 0;
  CHECK_EQ(write(fd, frame, fl), (ssize_t)fl);
  static const uint8_t bad[] = {0x02, 0x63, 0x00}; /* discriminant 99 */
  CHECK_EQ(write(fd, bad, sizeof bad), (ssize_t)sizeof bad);
  n = read_all(fd, buf, sizeof buf, 3000, &eof);
  CHECK(eof);
  memset(kinds, 0, sizeof kinds);
  frames(buf, n, kinds, reason, sizeof reason);
  CHECK_EQ(kinds[ROAM_MSG_GOODBYE], 1);
  CHECK(strstr(reason, "message.unknown-variant") != NULL);
  close(fd);

  /* the server is fine afterwards */
  roam_client *c;
  CHECK_EQ(roam_client_connect(&c, ua, NULL, 2000), 0);
  roam_reply rep;
  uint8_t enc[16];
  size_t len = t_enc_string(enc, sizeof enc, "ok", 2);
  CHECK_EQ(roam_client_call(c, T_ECHO, enc, len, NULL, &rep), 0);
  roam_reply_free(&rep);
  roam_client_free(c);
  CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
}

/* A listener that accepts and never speaks: the client's handshake times out. */
static void test_client_handshake_timeout(void) {
  char ua[128];
  t_unix_addr(ua, sizeof ua, "mute");
  unlink(ua + 5);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  size_t plen = strlen(ua + 5);
  CHECK(plen < sizeof un.sun_path);
  memcpy(un.sun_path, ua + 5, plen + 1);
  CHECK_EQ(bind(ls, (struct sockaddr *)&un, sizeof un), 0);
  CHECK_EQ(listen(ls, 4), 0);
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.handshake_timeout_ms = 300;
  roam_client *c;
  uint64_t t0 = t_now_ms();
  int r = roam_client_connect(&c, ua, &co, 5000);
  uint64_t el = t_now_ms() - t0;
  CHECK_EQ(r, ROAM_ERR_TIMEOUT);
  CHECK(el >= 250 && el < 2000);
  close(ls);
  unlink(ua + 5);
}

/* ---- graceful shutdown ------------------------------------------------------ */

static int closes, close_err = 99;
static void on_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l;
  (void)reason;
  (void)ud;
  closes++;
  close_err = err;
}

static bool closed1(void *ud) {
  (void)ud;
  return closes >= 1;
}

static void test_shutdown(void) {
  char ua[128], bound[256];
  t_unix_addr(ua, sizeof ua, "shutdown");
  t_server_opts o = {.shutdown_ms = 3000};
  pid_t pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid <= 0) return;
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.on_close = on_close;
  roam_client *c;
  CHECK_EQ(roam_client_connect(&c, ua, &co, 2000), 0);
  uint8_t arg[8];
  roam_enc e;
  roam_enc_init(&e, arg, sizeof arg);
  roam_enc_u32(&e, 400);
  roam_pending *p;
  CHECK_EQ(roam_client_call_start(c, T_DELAY, arg, roam_enc_size(&e), NULL, &p), 0);
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p, 50, &rep), ROAM_ERR_TIMEOUT);
  uint64_t t0 = t_now_ms();
  kill(pid, SIGTERM);
  /* the in-flight call completes normally */
  CHECK_EQ(roam_pending_wait(p, 5000, &rep), 0);
  roam_reply_free(&rep);
  roam_pending_free(p);
  uint64_t el = t_now_ms() - t0;
  CHECK(el >= 300 && el < 2000);
  /* then the server says Goodbye and the link closes gracefully */
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  uint8_t enc[16];
  size_t len = t_enc_string(enc, sizeof enc, "late", 4);
  CHECK_EQ(roam_client_call(c, T_ECHO, enc, len, NULL, &rep), ROAM_ERR_CLOSED);
  roam_reply_free(&rep);
  roam_loop_run_until(roam_client_loop(c), closed1, NULL, 2000);
  CHECK_EQ(closes, 1);
  CHECK_EQ(close_err, 0);
  roam_client_free(c);

  /* the deadline: a call that never finishes does not hold the server */
  o.shutdown_ms = 300;
  pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK_EQ(roam_client_connect(&c, ua, NULL, 2000), 0);
  CHECK_EQ(roam_client_call_start(c, T_HANG, NULL, 0, NULL, &p), 0);
  CHECK_EQ(roam_pending_wait(p, 50, &rep), ROAM_ERR_TIMEOUT);
  t0 = t_now_ms();
  kill(pid, SIGTERM);
  CHECK_EQ(roam_pending_wait(p, 5000, &rep), ROAM_ERR_CLOSED);
  roam_reply_free(&rep);
  roam_pending_free(p);
  el = t_now_ms() - t0;
  CHECK(el >= 250 && el < 2000);
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  roam_client_free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  test_silent_and_garbage();
  test_client_handshake_timeout();
  test_shutdown();
  return t_finish("rt_test_hostile");
}
