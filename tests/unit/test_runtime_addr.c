/*
 * Runtime unit tests without sockets to a peer: address parsing, socket
 * address text, listener address reporting, link over a socketpair in one
 * loop (both roles in one process), loop backends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <roam/runtime.h>

#include "runtime/rt_internal.h"

static void test_parse_tcp(void **state) {
  (void)state;
  rt_addr a;
  assert_int_equal(rt_addr_parse("tcp://127.0.0.1:9000", false, &a), 0);
  assert_int_equal(a.kind, RT_ADDR_TCP);
  assert_string_equal(a.host, "127.0.0.1");
  assert_string_equal(a.port, "9000");
  assert_int_equal(rt_addr_parse("localhost:80", false, &a), 0);
  assert_string_equal(a.host, "localhost");
  assert_int_equal(rt_addr_parse("[::1]:443", false, &a), 0);
  assert_string_equal(a.host, "::1");
  assert_string_equal(a.port, "443");
  assert_int_equal(rt_addr_parse("tcp://[fe80::1%eth0]:1", false, &a), 0);
  assert_string_equal(a.host, "fe80::1%eth0");
  /* listening: empty host, '*' and port 0 */
  assert_int_equal(rt_addr_parse(":0", true, &a), 0);
  assert_string_equal(a.host, "");
  assert_int_equal(rt_addr_parse("*:5000", true, &a), 0);
  assert_string_equal(a.host, "");
  /* errors */
  assert_int_equal(rt_addr_parse(":0", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("host:0", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("host", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("host:", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("host:65536", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("host:12a", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("::1:80", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("[::1]80", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("[]:80", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("http://x:1", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse(NULL, false, &a), ROAM_ERR_INVALID_ARG);
}

static void test_parse_unix(void **state) {
  (void)state;
  rt_addr a;
  assert_int_equal(rt_addr_parse("unix:/tmp/x.sock", false, &a), 0);
  assert_int_equal(a.kind, RT_ADDR_UNIX);
  assert_string_equal(a.path, "/tmp/x.sock");
  assert_int_equal(rt_addr_parse("unix:///tmp/y", false, &a), 0);
  assert_string_equal(a.path, "/tmp/y");
  assert_int_equal(rt_addr_parse("unix:@abstract", false, &a), 0);
  assert_string_equal(a.path, "@abstract");
  assert_int_equal(rt_addr_parse("unix:", false, &a), ROAM_ERR_ADDRESS);
  assert_int_equal(rt_addr_parse("unix:@", false, &a), ROAM_ERR_ADDRESS);
  char longp[200];
  memset(longp, 'a', sizeof longp);
  memcpy(longp, "unix:/", 6);
  longp[sizeof longp - 1] = 0;
  assert_int_equal(rt_addr_parse(longp, false, &a), ROAM_ERR_ADDRESS);
}

static void test_listener_address(void **state) {
  (void)state;
  roam_loop *loop;
  assert_int_equal(roam_loop_new(&loop, NULL), 0);
  roam_listener *l;
  assert_int_equal(roam_listen(loop, "tcp://127.0.0.1:0", NULL, 0, &l), 0);
  assert_true(roam_listener_port(l) > 0);
  char want[64];
  snprintf(want, sizeof want, "tcp://127.0.0.1:%d", roam_listener_port(l));
  assert_string_equal(roam_listener_address(l), want);
  roam_listener *l2;
  assert_int_equal(roam_listen(loop, "unix:@roam-unit-test", NULL, 0, &l2), 0);
  assert_string_equal(roam_listener_address(l2), "unix:@roam-unit-test");
  /* the same abstract name twice: in use */
  roam_listener *l3;
  assert_int_equal(roam_listen(loop, "unix:@roam-unit-test", NULL, 0, &l3), ROAM_ERR_ADDRESS);
  roam_listener_free(l);
  roam_loop_free(loop); /* frees l2 */
}

/* Two links over a socketpair in one loop. */
static int ready_count, close_count;
static void on_ready(roam_link *l, void *ud) {
  (void)l;
  (void)ud;
  ready_count++;
}
static void on_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l;
  (void)reason;
  (void)ud;
  close_count++;
  assert_int_equal(err, 0);
}
static bool two_ready(void *ud) {
  (void)ud;
  return ready_count == 2;
}
static bool two_closed(void *ud) {
  (void)ud;
  return close_count == 2;
}

static void echo(roam_session *s, roam_request *req, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

static int answered;
static void on_answer(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  (void)ud;
  assert_int_equal(res->status, 0);
  assert_int_equal(res->value.len, 3);
  assert_memory_equal(res->value.ptr, "\x02hi", 3);
  answered++;
}
static bool got_answer(void *ud) {
  (void)ud;
  return answered == 1;
}

static void socketpair_links(roam_loop_backend be) {
  ready_count = close_count = answered = 0;
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.backend = be;
  roam_loop *loop;
  assert_int_equal(roam_loop_new(&loop, &lo), 0);
  assert_int_equal(roam_loop_get_backend(loop), be);
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 7, echo, NULL);
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  roam_link_options o;
  roam_link_options_init(&o);
  o.on_ready = on_ready;
  o.on_close = on_close;
  roam_link *a, *b;
  assert_int_equal(roam_link_open_fd(loop, sv[0], ROAM_ROLE_INITIATOR, &o, &a), 0);
  o.dispatcher = d;
  assert_int_equal(roam_link_open_fd(loop, sv[1], ROAM_ROLE_ACCEPTOR, &o, &b), 0);
  assert_int_equal(roam_loop_run_until(loop, two_ready, NULL, 2000), 0);
  assert_true(roam_link_is_ready(a));
  uint64_t rid;
  assert_int_equal(roam_call(roam_link_session(a), 7, "\x02hi", 3, NULL, on_answer, NULL, &rid), 0);
  assert_int_equal(roam_loop_run_until(loop, got_answer, NULL, 2000), 0);
  assert_int_equal(roam_link_close(a), 0);
  assert_int_equal(roam_loop_run_until(loop, two_closed, NULL, 2000), 0);
  roam_loop_free(loop);
  roam_dispatcher_free(d);
}

static void test_socketpair_epoll(void **state) {
  (void)state;
  socketpair_links(ROAM_LOOP_BACKEND_EPOLL);
}

static void test_socketpair_poll(void **state) {
  (void)state;
  socketpair_links(ROAM_LOOP_BACKEND_POLL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_tcp),
      cmocka_unit_test(test_parse_unix),
      cmocka_unit_test(test_listener_address),
      cmocka_unit_test(test_socketpair_epoll),
      cmocka_unit_test(test_socketpair_poll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
