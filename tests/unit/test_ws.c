/* The WebSocket codec (src/ws/): handshake both sides, framing through a
 * client/server pair, the violations that end a link. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef ROAM_HAVE_WEBSOCKET
#include "ws/ws.h"

static void test_accept_key_rfc_sample(void **st) {
  (void)st;
  char acc[29];
  rws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, acc); /* RFC 6455 §1.3 */
  assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* Move a's output into b, `step` bytes per feed (0 = all at once); stops
 * at the first message b assembles. */
static size_t pump(rws *a, rws *b, size_t step) {
  const uint8_t *p;
  size_t n = rws_output(a, &p), total = 0;
  while (n > 0) {
    size_t k = step && step < n ? step : n, used = 0;
    assert_int_equal(rws_feed(b, p, k, &used), 0);
    rws_consume(a, used);
    total += used;
    roam_bytes m;
    if (rws_message(b, &m) || rws_get_state(b) >= RWS_FAILED) break;
    if (used == 0) break;
    n = rws_output(a, &p);
  }
  return total;
}

static void pair(rws **c, rws **s, size_t limit, const char *origins) {
  rws_config cc = {.server = false, .max_message = limit, .path = "/p", .host = "h:1"};
  rws_config sc = {.server = true, .max_message = limit, .path = "/p", .origins = origins};
  assert_int_equal(rws_new(c, &cc), 0);
  assert_int_equal(rws_new(s, &sc), 0);
  assert_int_equal(rws_client_start(*c), 0);
}

static void open_pair(rws **c, rws **s, size_t limit, size_t step) {
  pair(c, s, limit, NULL);
  pump(*c, *s, step);
  assert_int_equal(rws_get_state(*s), RWS_OPEN);
  assert_true(rws_take_opened(*s));
  pump(*s, *c, step);
  assert_int_equal(rws_get_state(*c), RWS_OPEN);
  assert_true(rws_take_opened(*c));
}

static void roundtrip(size_t step) {
  rws *c, *s;
  open_pair(&c, &s, 1 << 20, step);
  size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 70001};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    uint8_t *msg = malloc(n + 1);
    for (size_t j = 0; j < n; j++) msg[j] = (uint8_t)(j * 7 + i);
    /* client -> server (masked) */
    assert_int_equal(rws_send(c, msg, n), 0);
    const uint8_t *p;
    size_t out = rws_output(c, &p);
    if (n > 0) assert_true(out >= n + 6 && (p[1] & 0x80)); /* mask bit */
    pump(c, s, step);
    roam_bytes m;
    assert_true(rws_message(s, &m));
    assert_int_equal(m.len, n);
    if (n) assert_memory_equal(m.ptr, msg, n);
    rws_message_done(s);
    /* server -> client (unmasked) */
    assert_int_equal(rws_send(s, msg, n), 0);
    out = rws_output(s, &p);
    assert_int_equal(p[1] & 0x80, 0);
    pump(s, c, step);
    assert_true(rws_message(c, &m));
    assert_int_equal(m.len, n);
    if (n) assert_memory_equal(m.ptr, msg, n);
    rws_message_done(c);
    free(msg);
  }
  rws_free(c);
  rws_free(s);
}

static void test_roundtrip_whole(void **st) {
  (void)st;
  roundtrip(0);
}
static void test_roundtrip_byte_by_byte(void **st) {
  (void)st;
  roundtrip(1);
}
static void test_roundtrip_odd_pieces(void **st) {
  (void)st;
  roundtrip(4093);
}

/* Feed raw bytes to an open server codec. */
static rws *open_server(size_t limit) {
  rws *c, *s;
  open_pair(&c, &s, limit, 0);
  rws_free(c);
  const uint8_t *p;
  rws_consume(s, rws_output(s, &p));
  return s;
}

static void feed_raw(rws *s, const uint8_t *b, size_t n) {
  size_t used;
  assert_int_equal(rws_feed(s, b, n, &used), 0);
}

static void test_violations(void **st) {
  (void)st;
  static const struct {
    uint8_t bytes[16];
    size_t n;
    uint16_t code;
    const char *rule;
  } cases[] = {
      {{0x81, 0x80, 1, 2, 3, 4}, 6, 1003, "transport.message.binary"},        /* text */
      {{0x82, 0x01, 'x'}, 3, 1002, "transport.websocket.unmasked-client-frame"},
      {{0xc2, 0x80, 1, 2, 3, 4}, 6, 1002, "transport.websocket.reserved-bits"},
      {{0x83, 0x80, 1, 2, 3, 4}, 6, 1002, "transport.websocket.reserved-opcode"},
      {{0x8b, 0x80, 1, 2, 3, 4}, 6, 1002, "transport.websocket.reserved-opcode"},
      {{0x80, 0x80, 1, 2, 3, 4}, 6, 1002, "transport.websocket.stray-continuation"},
      {{0x09, 0x80, 1, 2, 3, 4}, 6, 1002, "transport.websocket.malformed-frame"}, /* ping !fin */
      {{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4, 0}, 9, 1009, "message.hello.enforcement"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rws *s = open_server(100);
    feed_raw(s, cases[i].bytes, cases[i].n);
    assert_int_equal(rws_get_state(s), RWS_CLOSED);
    assert_int_equal(rws_violation_code(s), cases[i].code);
    assert_non_null(strstr(rws_violation(s), cases[i].rule));
    /* the Goodbye still goes out, then the close frame */
    assert_int_equal(rws_send(s, (const uint8_t *)"g", 1), 0);
    assert_int_equal(rws_close(s, cases[i].code), 0);
    assert_int_not_equal(rws_send(s, (const uint8_t *)"g", 1), 0);
    const uint8_t *p;
    size_t n = rws_output(s, &p);
    assert_int_equal(n, 3 + 4);
    assert_int_equal(p[3], 0x88);
    assert_int_equal((p[5] << 8) | p[6], cases[i].code);
    rws_free(s);
  }
}

static void test_ping_close(void **st) {
  (void)st;
  rws *s = open_server(100);
  const uint8_t ping[] = {0x89, 0x82, 0, 0, 0, 0, 'h', 'i'};
  feed_raw(s, ping, sizeof ping);
  const uint8_t *p;
  size_t n = rws_output(s, &p);
  assert_int_equal(n, 4);
  assert_memory_equal(p, "\x8a\x02hi", 4);
  rws_consume(s, n);
  const uint8_t close_[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9};
  feed_raw(s, close_, sizeof close_);
  uint16_t code;
  assert_true(rws_peer_closed(s, &code));
  assert_int_equal(code, 1001);
  assert_int_equal(rws_violation(s), NULL);
  rws_free(s);
}

static int handshake_status(const char *req, const char *origins) {
  rws_config sc = {.server = true, .max_message = 100, .path = "/p", .origins = origins};
  rws *s;
  assert_int_equal(rws_new(&s, &sc), 0);
  size_t used;
  assert_int_equal(rws_feed(s, (const uint8_t *)req, strlen(req), &used), 0);
  const uint8_t *p;
  size_t n = rws_output(s, &p);
  int status = n > 12 ? atoi((const char *)p + 9) : 0;
  rws_free(s);
  return status;
}

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define UPG "Upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"

static void test_server_handshake_answers(void **st) {
  (void)st;
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 101);
  assert_int_equal(handshake_status("GET /p?x=1 HTTP/1.1\r\nHost: h\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 101);
  assert_int_equal(handshake_status("GET /q HTTP/1.1\r\nHost: h\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 404);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 8\r\n\r\n", NULL), 426);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\n" KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 426);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\n" UPG
                                    "Sec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                    NULL), 400);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\n" UPG KEY KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 400);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 400);
  assert_int_equal(handshake_status("GET /p HTTP/1.0\r\nHost: h\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", NULL), 400);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\nOrigin: https://b\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", "https://a, https://b"),
                   101);
  assert_int_equal(handshake_status("GET /p HTTP/1.1\r\nHost: h\r\nOrigin: https://c\r\n" UPG KEY
                                    "Sec-WebSocket-Version: 13\r\n\r\n", "https://a https://b"),
                   403);
  /* 8 KiB of header without its end */
  char *big = malloc(9000);
  memset(big, 'a', 8999);
  big[8999] = 0;
  memcpy(big, "GET /p HTTP/1.1\r\nX: ", 20);
  assert_int_equal(handshake_status(big, NULL), 431);
  free(big);
}

static void test_client_rejects_bad_answers(void **st) {
  (void)st;
  const char *answers[] = {
      "HTTP/1.1 404 Not Found\r\n\r\n",
      ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"), /* not our key */
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
  };
  for (size_t i = 0; i < 3; i++) {
    rws_config cc = {.server = false, .max_message = 100, .path = "/", .host = "h:1"};
    rws *c;
    assert_int_equal(rws_new(&c, &cc), 0);
    assert_int_equal(rws_client_start(c), 0);
    size_t used;
    assert_int_equal(rws_feed(c, (const uint8_t *)answers[i], strlen(answers[i]), &used), 0);
    assert_int_equal(rws_get_state(c), RWS_FAILED);
    assert_true(strlen(rws_error_text(c)) > 0);
    rws_free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept_key_rfc_sample),
      cmocka_unit_test(test_roundtrip_whole),
      cmocka_unit_test(test_roundtrip_byte_by_byte),
      cmocka_unit_test(test_roundtrip_odd_pieces),
      cmocka_unit_test(test_violations),
      cmocka_unit_test(test_ping_close),
      cmocka_unit_test(test_server_handshake_answers),
      cmocka_unit_test(test_client_rejects_bad_answers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void) {
  fprintf(stderr, "test_ws: built without WebSocket support: skipped\n");
  return 0;
}
#endif
