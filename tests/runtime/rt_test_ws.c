/*
 * The runtime over WebSocket (ws://) against a forked server: echo from 0
 * bytes to the negotiated maximum, 64 pipelined 64 KiB calls against a
 * server with a small output high-water mark (messages held back while its
 * output drains), a wrong path refused, and the reconnecting client (server
 * killed, a new one on the same address); links handed to the other loops
 * of a server on three loops.
 */
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_testlib.h"

static void test_echo_sizes(const char *bound) {
  roam_client *c;
  int r = roam_client_connect(&c, bound, NULL, 5000);
  CHECK_EQ(r, 0);
  if (r) return;
  uint32_t max = roam_session_max_payload(roam_client_session(c));
  size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 200000, (size_t)max - 4 - 1};
  uint8_t *buf = malloc((size_t)max + 64);
  char *str = malloc((size_t)max + 64);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    for (size_t j = 0; j < n; j++) str[j] = (char)('a' + (j % 26));
    size_t len = t_enc_string(buf, (size_t)max + 64, str, n);
    roam_reply rep;
    roam_call_opts o = {.timeout_ms = 5000};
    r = roam_client_call(c, T_ECHO, buf, len, &o, &rep);
    CHECK_EQ(r, 0);
    CHECK(rep.value_len == len && (len == 0 || memcmp(rep.value, buf, len) == 0));
    roam_reply_free(&rep);
  }
  free(buf);
  free(str);
  CHECK(strncmp(roam_link_peer(roam_client_link(c)), "ws://", 5) == 0);
  roam_client_free(c);
}

static void test_pipelined(const char *bound) {
  roam_client *c;
  int r = roam_client_connect(&c, bound, NULL, 5000);
  CHECK_EQ(r, 0);
  if (r) return;
  enum { N = 64, SIZE = 65536 };
  static char str[SIZE];
  static uint8_t enc[N][SIZE + 8];
  size_t len[N];
  roam_pending *p[N];
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < SIZE; j++) str[j] = (char)('a' + (i + j) % 26);
    len[i] = t_enc_string(enc[i], sizeof enc[i], str, SIZE);
    CHECK_EQ(roam_client_call_start(c, T_ECHO, enc[i], len[i], NULL, &p[i]), 0);
  }
  int good = 0;
  for (int i = 0; i < N; i++) {
    roam_reply rep;
    if (roam_pending_wait(p[i], 10000, &rep) == 0 && rep.value_len == len[i] &&
        memcmp(rep.value, enc[i], len[i]) == 0)
      good++;
    roam_reply_free(&rep);
    roam_pending_free(p[i]);
  }
  CHECK_EQ(good, N);
  CHECK_EQ(t_echo(c, "after the batch"), 0);
  roam_client_free(c);
}

static void test_wrong_path(const char *bound) {
  char wrong[300];
  snprintf(wrong, sizeof wrong, "%s/elsewhere", bound);
  roam_client *c;
  int r = roam_client_connect(&c, wrong, NULL, 5000);
  CHECK(r != 0);
  if (r == 0) roam_client_free(c);
  /* and ws:// is refused where the server speaks plain TCP (no 101) */
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  bind(fd, (struct sockaddr *)&sa, sizeof sa);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  close(fd);
  return ntohs(sa.sin_port);
}

static void test_reconnect(void) {
  char addr[64];
  snprintf(addr, sizeof addr, "ws://127.0.0.1:%d/rt", free_port());
  roam_client_options co;
  roam_client_options_init(&co);
  co.reconnect = true;
  co.retry.max_attempts = 30;
  co.retry.initial_delay_ms = 20;
  co.retry.max_delay_ms = 200;
  roam_client *c;
  CHECK_EQ(roam_client_new(&c, addr, &co), 0);
  t_server_opts o = {.delay_ms = 200};
  pid_t pid = t_fork_server_delayed(addr, &o);
  CHECK(pid > 0);
  CHECK_EQ(t_echo(c, "first"), 0);
  CHECK_EQ(roam_client_connection_count(c), 1);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  roam_pending *hang;
  roam_reply rep;
  CHECK_EQ(roam_client_call_start(c, T_HANG, NULL, 0, NULL, &hang), 0);
  CHECK_EQ(roam_pending_wait(hang, 2000, &rep), ROAM_ERR_CLOSED);
  roam_reply_free(&rep);
  roam_pending_free(hang);
  pid = t_fork_server_delayed(addr, &o);
  CHECK_EQ(t_echo(c, "second"), 0);
  CHECK_EQ(roam_client_connection_count(c), 2);
  t_stop_server(pid, SIGKILL);
  roam_client_free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char bound[256];
  t_server_opts o = {.high_water = 64 * 1024};
  pid_t pid = t_fork_server("ws://127.0.0.1:0/rt", &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    CHECK(strncmp(bound, "ws://127.0.0.1:", 15) == 0);
    test_echo_sizes(bound);
    test_pipelined(bound);
    test_wrong_path(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  /* a server on several loops hands accepted WebSocket links to the other
   * loops: they must stay WebSocket links there */
  t_server_opts lo = {.loops = 3};
  pid = t_fork_server("ws://127.0.0.1:0/rt", &lo, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    for (int i = 0; i < 6; i++) test_echo_sizes(bound);
    test_wrong_path(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  test_reconnect();
  return t_finish("rt_test_ws");
}
