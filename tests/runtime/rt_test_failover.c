/*
 * Transport failures: the server killed with SIGKILL mid-call (pending calls
 * fail with ROAM_ERR_CLOSED promptly); the reconnecting client (lazy
 * connect, reconnect when a new server comes up on the same address, one
 * attempt shared by concurrent callers, remote errors never reconnect,
 * retries exhausted).
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_testlib.h"

static int opens;
static void on_open(roam_link *l, void *ud) {
  (void)l;
  (void)ud;
  opens++;
}

static void test_sigkill(const char *ua) {
  char bound[256];
  pid_t pid = t_fork_server(ua, NULL, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid <= 0) return;
  roam_client *c;
  CHECK_EQ(roam_client_connect(&c, bound, NULL, 5000), 0);
  CHECK_EQ(t_echo(c, "before"), 0);
  roam_pending *p[10];
  for (int i = 0; i < 10; i++) CHECK_EQ(roam_client_call_start(c, T_HANG, NULL, 0, NULL, &p[i]), 0);
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p[0], 100, &rep), ROAM_ERR_TIMEOUT); /* they are in flight */
  kill(pid, SIGKILL);
  uint64_t t0 = t_now_ms();
  for (int i = 0; i < 10; i++) {
    CHECK_EQ(roam_pending_wait(p[i], 5000, &rep), ROAM_ERR_CLOSED);
    roam_reply_free(&rep);
    roam_pending_free(p[i]);
  }
  uint64_t el = t_now_ms() - t0;
  CHECK(el < 500);
  /* without reconnect the client is dead now */
  CHECK_EQ(t_echo(c, "after"), ROAM_ERR_CLOSED);
  roam_client_free(c);
  waitpid(pid, NULL, 0);
}

static void test_reconnect(const char *ua) {
  roam_client_options co;
  roam_client_options_init(&co);
  co.reconnect = true;
  co.retry.max_attempts = 20;
  co.retry.initial_delay_ms = 20;
  co.retry.max_delay_ms = 200;
  co.link.on_open = on_open;
  roam_client *c;
  CHECK_EQ(roam_client_new(&c, ua, &co), 0);
  /* lazy: nothing happens before the first call */
  roam_loop_run_once(roam_client_loop(c), 10);
  CHECK_EQ(opens, 0);
  CHECK_EQ(roam_client_connection_count(c), 0);

  /* no server yet, and it comes up 300 ms later: the call waits for the
   * reconnect attempts and then succeeds */
  t_server_opts o = {.delay_ms = 300};
  pid_t pid = t_fork_server_delayed(ua, &o);
  CHECK(pid > 0);
  CHECK_EQ(t_echo(c, "first"), 0);
  CHECK_EQ(roam_client_connection_count(c), 1);
  CHECK(opens >= 2); /* some attempts failed before the server was up */

  /* a remote error does not reconnect */
  roam_reply rep;
  CHECK_EQ(roam_client_call(c, 0x4242, NULL, 0, NULL, &rep), ROAM_ERR_REMOTE_UNKNOWN_METHOD);
  roam_reply_free(&rep);
  CHECK_EQ(roam_client_connection_count(c), 1);

  /* kill the server; a new one comes up on the same address */
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  roam_pending *hang;
  /* a call in flight when the transport dies fails with CLOSED */
  CHECK_EQ(roam_client_call_start(c, T_HANG, NULL, 0, NULL, &hang), 0);
  CHECK_EQ(roam_pending_wait(hang, 2000, &rep), ROAM_ERR_CLOSED);
  roam_reply_free(&rep);
  roam_pending_free(hang);
  o.delay_ms = 200;
  pid = t_fork_server_delayed(ua, &o);
  /* several callers at once while disconnected: one attempt sequence */
  int before = opens;
  int done = 0, ok = 0;
  struct ctx {
    int *done, *ok;
  } cx = {&done, &ok};
  (void)cx;
  roam_pending *ps[8];
  for (int i = 0; i < 8; i++) {
    uint8_t enc[16];
    size_t len = t_enc_string(enc, sizeof enc, "many", 4);
    CHECK_EQ(roam_client_call_start(c, T_ECHO, enc, len, NULL, &ps[i]), 0);
  }
  for (int i = 0; i < 8; i++) {
    int r = roam_pending_wait(ps[i], 10000, &rep);
    CHECK_EQ(r, 0);
    roam_reply_free(&rep);
    roam_pending_free(ps[i]);
  }
  CHECK_EQ(roam_client_connection_count(c), 2);
  /* attempts are sequential: each failed attempt opened one link */
  CHECK(opens - before >= 1 && opens - before <= 20);
  CHECK_EQ(t_echo(c, "again"), 0);
  t_stop_server(pid, SIGKILL);

  /* gone for good: the retry policy gives up */
  roam_client_free(c);
  roam_client_options_init(&co);
  co.reconnect = true; /* reference defaults: 3 attempts, 100 ms, x2 */
  CHECK_EQ(roam_client_new(&c, ua, &co), 0);
  uint64_t t0 = t_now_ms();
  CHECK_EQ(t_echo(c, "nobody"), ROAM_ERR_RETRIES_EXHAUSTED);
  uint64_t el = t_now_ms() - t0;
  CHECK(el >= 250 && el < 2000); /* waits 100 + 200 ms between the attempts */
  /* and the next call tries again from scratch */
  CHECK_EQ(t_echo(c, "nobody"), ROAM_ERR_RETRIES_EXHAUSTED);
  roam_client_free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char ua[128];
  t_unix_addr(ua, sizeof ua, "failover");
  test_sigkill(ua);
  unlink(ua + 5);
  test_reconnect(ua);
  unlink(ua + 5);
  return t_finish("rt_test_failover");
}
