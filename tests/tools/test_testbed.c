/*
 * The Testbed codecs roam-gen generates from tools/testbed/testbed.rs:
 * round trips and exact bytes of every type, decode errors; and the
 * handlers behind a scripted peer: exact response payloads, streaming with
 * credit, cancellation and teardown without leaked call state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "session_peer.h"
#include "testbed_service.h"

/* ---- helpers -------------------------------------------------------------- */

typedef struct buf {
  uint8_t b[256];
  roam_enc e;
} buf;

static roam_enc *enc(buf *b) {
  roam_enc_init(&b->e, b->b, sizeof b->b);
  return &b->e;
}

#define ASSERT_BYTES(e, ...)                                                   \
  do {                                                                         \
    static const uint8_t want_[] = {__VA_ARGS__};                              \
    assert_int_equal(roam_enc_error(e), 0);                                    \
    assert_int_equal(roam_enc_size(e), sizeof want_);                          \
    assert_memory_equal(roam_enc_data(e), want_, sizeof want_);                \
  } while (0)

static roam_dec dec_of(const roam_enc *e) {
  roam_dec d;
  roam_dec_init(&d, roam_enc_data(e), roam_enc_size(e));
  return d;
}

/* ---- codecs (generated from tools/testbed/testbed.rs) ------------------------ */

static roam_arena g_arena;

static void test_point(void **st) {
  (void)st;
  buf b;
  testbed_point p = {1, -1};
  testbed_point_encode(enc(&b), &p);
  ASSERT_BYTES(&b.e, 0x02, 0x01);
  testbed_point q = {INT32_MIN, INT32_MAX};
  testbed_point_encode(enc(&b), &q);
  roam_dec d = dec_of(&b.e);
  testbed_point r;
  assert_int_equal(testbed_point_decode(&d, &r, &g_arena), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(r.x, INT32_MIN);
  assert_int_equal(r.y, INT32_MAX);
}

static bool str_is(roam_str s, const char *want) {
  return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void test_person(void **st) {
  (void)st;
  buf b;
  testbed_person bob = {roam_str_c("Bob"), 25, {false, {NULL, 0}}};
  testbed_person_encode(enc(&b), &bob);
  ASSERT_BYTES(&b.e, 0x03, 'B', 'o', 'b', 0x19, 0x00);
  testbed_person alice = {roam_str_c("Alice"), 30, {true, roam_str_c("a@x")}};
  testbed_person_encode(enc(&b), &alice);
  ASSERT_BYTES(&b.e, 0x05, 'A', 'l', 'i', 'c', 'e', 0x1e, 0x01, 0x03, 'a', '@', 'x');
  roam_dec d = dec_of(&b.e);
  testbed_person p;
  assert_int_equal(testbed_person_decode(&d, &p, &g_arena), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_true(str_is(p.name, "Alice"));
  assert_int_equal(p.age, 30);
  assert_true(p.email.is_some);
  assert_true(str_is(p.email.value, "a@x"));
  /* truncated: the email is missing */
  roam_dec_init(&d, b.b, 7);
  assert_int_not_equal(testbed_person_decode(&d, &p, &g_arena), 0);
  /* option tag 2 */
  uint8_t bad[] = {0x01, 'x', 0x01, 0x02};
  roam_dec_init(&d, bad, sizeof bad);
  assert_int_not_equal(testbed_person_decode(&d, &p, &g_arena), 0);
}

static void test_rectangle(void **st) {
  (void)st;
  buf b;
  testbed_rectangle r = {{1, 2}, {4, 6}, {true, roam_str_c("r")}};
  testbed_rectangle_encode(enc(&b), &r);
  ASSERT_BYTES(&b.e, 0x02, 0x04, 0x08, 0x0c, 0x01, 0x01, 'r');
  roam_dec d = dec_of(&b.e);
  testbed_rectangle q;
  assert_int_equal(testbed_rectangle_decode(&d, &q, &g_arena), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(q.bottom_right.y, 6);
  assert_true(q.label.is_some);
}

static void test_enums(void **st) {
  (void)st;
  buf b;
  testbed_color blue = TESTBED_COLOR_BLUE;
  testbed_color_encode(enc(&b), &blue);
  ASSERT_BYTES(&b.e, 0x02);
  testbed_math_error ovf = TESTBED_MATH_ERROR_OVERFLOW;
  testbed_math_error_encode(enc(&b), &ovf);
  ASSERT_BYTES(&b.e, 0x01);
  testbed_lookup_error nf = TESTBED_LOOKUP_ERROR_NOT_FOUND;
  testbed_lookup_error_encode(enc(&b), &nf);
  ASSERT_BYTES(&b.e, 0x00);
  uint8_t three = 3, one = 1;
  roam_dec d;
  testbed_color c;
  roam_dec_init(&d, &three, 1);
  assert_int_equal(testbed_color_decode(&d, &c, &g_arena), ROAM_ERR_DECODE);
  testbed_math_error me;
  roam_dec_init(&d, &one, 1);
  assert_int_equal(testbed_math_error_decode(&d, &me, &g_arena), 0);
  assert_int_equal(me, TESTBED_MATH_ERROR_OVERFLOW);
  testbed_lookup_error le;
  roam_dec_init(&d, &three, 1);
  assert_int_equal(testbed_lookup_error_decode(&d, &le, &g_arena), ROAM_ERR_DECODE);
  assert_string_equal(testbed_color_name(TESTBED_COLOR_GREEN), "Green");
  assert_string_equal(testbed_math_error_name(TESTBED_MATH_ERROR_DIVISION_BY_ZERO),
                      "DivisionByZero");
}

static void test_shape(void **st) {
  (void)st;
  buf b;
  testbed_shape circle = {.tag = TESTBED_SHAPE_CIRCLE, .circle = {2.0}};
  testbed_shape_encode(enc(&b), &circle);
  ASSERT_BYTES(&b.e, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x40);
  testbed_shape pt = {.tag = TESTBED_SHAPE_POINT};
  testbed_shape_encode(enc(&b), &pt);
  ASSERT_BYTES(&b.e, 0x02);
  testbed_shape rect = {.tag = TESTBED_SHAPE_RECTANGLE, .rectangle = {3.0, 4.5}};
  testbed_shape_encode(enc(&b), &rect);
  assert_int_equal(roam_enc_size(&b.e), 17);
  roam_dec d = dec_of(&b.e);
  testbed_shape s;
  assert_int_equal(testbed_shape_decode(&d, &s, &g_arena), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(s.tag, TESTBED_SHAPE_RECTANGLE);
  assert_true(s.rectangle.width == 3.0 && s.rectangle.height == 4.5);
  uint8_t bad = 3;
  roam_dec_init(&d, &bad, 1);
  assert_int_equal(testbed_shape_decode(&d, &s, &g_arena), ROAM_ERR_DECODE);
  char text[64];
  roam_testbed_fmt_shape(text, sizeof text, &rect);
  assert_string_equal(text, "Rectangle { width: 3, height: 4.5 }");
}

static void test_canvas(void **st) {
  (void)st;
  buf b;
  testbed_shape shapes[] = {{.tag = TESTBED_SHAPE_CIRCLE, .circle = {1.0}},
                            {.tag = TESTBED_SHAPE_POINT}};
  testbed_canvas c = {roam_str_c("c"), {shapes, 2}, TESTBED_COLOR_RED};
  testbed_canvas_encode(enc(&b), &c);
  assert_int_equal(roam_enc_error(&b.e), 0);
  assert_int_equal(roam_enc_size(&b.e), 2 + 1 + 9 + 1 + 1);
  roam_dec d = dec_of(&b.e);
  testbed_canvas out;
  assert_int_equal(testbed_canvas_decode(&d, &out, &g_arena), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(out.shapes.len, 2);
  assert_int_equal(out.shapes.items[1].tag, TESTBED_SHAPE_POINT);
  assert_int_equal(out.background, TESTBED_COLOR_RED);
  /* the second shape has an unknown variant: an error; the arena frees all */
  b.b[2 + 1 + 9] = 7;
  d = dec_of(&b.e);
  assert_int_equal(testbed_canvas_decode(&d, &out, &g_arena), ROAM_ERR_DECODE);
  /* a count larger than the input is refused before allocating */
  uint8_t huge[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0x0f};
  roam_dec_init(&d, huge, sizeof huge);
  assert_int_not_equal(testbed_canvas_decode(&d, &out, &g_arena), 0);
  roam_arena_reset(&g_arena);
}

static void test_message(void **st) {
  (void)st;
  buf b;
  testbed_message n = {.tag = TESTBED_MESSAGE_NUMBER, .number = 21};
  testbed_message_encode(enc(&b), &n);
  ASSERT_BYTES(&b.e, 0x01, 0x2a);
  static const uint8_t data[] = {1, 2, 3};
  testbed_message m = {.tag = TESTBED_MESSAGE_DATA, .data = {data, 3}};
  testbed_message_encode(enc(&b), &m);
  ASSERT_BYTES(&b.e, 0x02, 0x03, 1, 2, 3);
  testbed_message t = {.tag = TESTBED_MESSAGE_TEXT, .text = roam_str_c("hi")};
  testbed_message_encode(enc(&b), &t);
  ASSERT_BYTES(&b.e, 0x00, 0x02, 'h', 'i');
  roam_dec d = dec_of(&b.e);
  testbed_message out;
  assert_int_equal(testbed_message_decode(&d, &out, &g_arena), 0);
  assert_true(str_is(out.text, "hi"));
}

static void test_person_display(void **st) {
  (void)st;
  testbed_person bob = {roam_str_c("Bob"), 25, {false, {NULL, 0}}};
  char text[96];
  roam_testbed_fmt_person(text, sizeof text, &bob);
  assert_string_equal(text, "Person { name: \"Bob\", age: 25, email: None }");
}

/* ---- the handlers behind a scripted peer --------------------------------------- */

static roam_dispatcher *g_disp;

static sp *peer(uint32_t credit) {
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, credit);
  return p;
}

/* Call a unary method; returns the Response payload in out. */
static size_t call(sp *p, uint64_t rid, uint64_t method, const void *args, size_t len,
                   uint8_t *out, size_t cap) {
  sp_request(p, 0, rid, method, args, len, NULL, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.request_id, rid);
  assert_true(m.payload.len <= cap);
  memcpy(out, m.payload.ptr, m.payload.len);
  return m.payload.len;
}

#define ASSERT_CALL(p, method, args, alen, ...)                                \
  do {                                                                         \
    static const uint8_t want_[] = {__VA_ARGS__};                              \
    uint8_t got_[512];                                                         \
    size_t n_ = call(p, ++rid, method, args, alen, got_, sizeof got_);         \
    assert_int_equal(n_, sizeof want_);                                        \
    assert_memory_equal(got_, want_, sizeof want_);                            \
  } while (0)

static void test_unary_exact(void **st) {
  (void)st;
  sp *p = peer(1 << 16);
  uint64_t rid = 0;
  uint8_t two = 2, nine = 9;
  ASSERT_CALL(p, ROAM_TESTBED_LOOKUP, &two, 1, 0x00, 0x03, 0x42, 0x6f, 0x62, 0x19, 0x00);
  ASSERT_CALL(p, ROAM_TESTBED_LOOKUP, &nine, 1, 0x01, 0x00, 0x00);
  uint8_t div0[] = {0x0e, 0x00}; /* 7 / 0 */
  ASSERT_CALL(p, ROAM_TESTBED_DIVIDE, div0, 2, 0x01, 0x00, 0x00);
  uint8_t ovf[11]; /* i64::MIN / -1 */
  roam_enc e;
  roam_enc_init(&e, ovf, sizeof ovf);
  roam_enc_i64(&e, INT64_MIN);
  roam_enc_i64(&e, -1);
  ASSERT_CALL(p, ROAM_TESTBED_DIVIDE, ovf, roam_enc_size(&e), 0x01, 0x00, 0x01);
  uint8_t div[] = {0x0d, 0x04}; /* -7 / 2 = -3 */
  ASSERT_CALL(p, ROAM_TESTBED_DIVIDE, div, 2, 0x00, 0x05);
  uint8_t rev[] = {8, 'a', 'b', 0xf0, 0x9f, 0xa6, 0x80, 'c', 'd'};
  ASSERT_CALL(p, ROAM_TESTBED_REVERSE, rev, sizeof rev, 0x00, 8, 'd', 'c', 0xf0, 0x9f, 0xa6,
              0x80, 'b', 'a');
  uint8_t bad_utf8[] = {2, 0xc3, 0x28};
  ASSERT_CALL(p, ROAM_TESTBED_ECHO, bad_utf8, 3, 0x01, 0x02);
  ASSERT_CALL(p, ROAM_TESTBED_ECHO, NULL, 0, 0x01, 0x02);
  uint8_t trailing[] = {1, 'x', 0};
  ASSERT_CALL(p, ROAM_TESTBED_ECHO, trailing, 3, 0x01, 0x02);
  uint8_t green[] = {5, 'G', 'r', 'E', 'e', 'N'};
  ASSERT_CALL(p, ROAM_TESTBED_PARSE_COLOR, green, sizeof green, 0x00, 0x01, 0x01);
  uint8_t rouge[] = {5, 'r', 'o', 'u', 'g', 'e'};
  ASSERT_CALL(p, ROAM_TESTBED_PARSE_COLOR, rouge, sizeof rouge, 0x00, 0x00);
  uint8_t rect[] = {0x08, 0x0c, 0x02, 0x04, 0x00}; /* (4,6)-(1,2), no label: 12.0 */
  ASSERT_CALL(p, ROAM_TESTBED_RECTANGLE_AREA_ALT, rect, sizeof rect, 0x00, 0, 0, 0, 0, 0, 0,
              0x28, 0x40);
  uint8_t shape3 = 3;
  ASSERT_CALL(p, ROAM_TESTBED_SHAPE_AREA, &shape3, 1, 0x01, 0x02);
  uint8_t msg[] = {0x01, 0x09}; /* Number(-5) -> Number(-10) */
  ASSERT_CALL(p, ROAM_TESTBED_PROCESS_MESSAGE, msg, 2, 0x00, 0x01, 0x13);
  uint8_t text[] = {0x00, 0x01, 'x'};
  ASSERT_CALL(p, ROAM_TESTBED_PROCESS_MESSAGE, text, 3, 0x00, 0x00, 12, 'p', 'r', 'o', 'c',
              'e', 's', 's', 'e', 'd', ':', ' ', 'x');
  uint8_t data[] = {0x02, 0x03, 1, 2, 3};
  ASSERT_CALL(p, ROAM_TESTBED_PROCESS_MESSAGE, data, 5, 0x00, 0x02, 0x03, 3, 2, 1);
  uint8_t three = 3;
  ASSERT_CALL(p, ROAM_TESTBED_GET_POINTS, &three, 1, 0x00, 0x03, 0, 0, 2, 4, 4, 8);
  uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f}; /* u32::MAX as i32 < 0: none */
  ASSERT_CALL(p, ROAM_TESTBED_GET_POINTS, huge, 5, 0x00, 0x00);
  uint8_t pair[] = {0x0e, 0x01, 's'};
  ASSERT_CALL(p, ROAM_TESTBED_SWAP_PAIR, pair, 3, 0x00, 0x01, 's', 0x0e);
  uint8_t person[] = {0x01, 'D', 41, 0x00};
  ASSERT_CALL(p, ROAM_TESTBED_CREATE_PERSON, person, 4, 0x00, 0x01, 'D', 41, 0x00);
  uint8_t canvas[] = {0x01, 'c', 0x01, 0x02, 0x02}; /* "c", [Point], Blue */
  ASSERT_CALL(p, ROAM_TESTBED_CREATE_CANVAS, canvas, 5, 0x00, 0x01, 'c', 0x01, 0x02, 0x02);
  canvas[4] = 3; /* Color 3 */
  ASSERT_CALL(p, ROAM_TESTBED_CREATE_CANVAS, canvas, 5, 0x01, 0x02);
  sp_free(p);
}

/* sum: Data before and after the handler bound the channel; Close. */
static void test_sum(void **st) {
  (void)st;
  sp *p = peer(1 << 16);
  uint64_t ch = 1;
  uint8_t arg[] = {1};
  sp_request(p, 0, 1, ROAM_TESTBED_SUM, arg, 1, &ch, 1);
  for (int i = 1; i <= 5; i++) {
    uint8_t v = (uint8_t)(i * 2);
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, &v, 1, 0);
  }
  assert_int_equal(roam_testbed_live_calls(), 1);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.payload.len, 2);
  assert_int_equal(m.payload.ptr[1], 30); /* zigzag(15) */
  assert_int_equal(roam_testbed_live_calls(), 0);
  /* an i32 that does not decode: Goodbye channeling.data.invalid */
  ch = 3;
  sp_request(p, 0, 2, ROAM_TESTBED_SUM, "\x03", 1, &ch, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 3, "\xff\xff\xff\xff\x7f", 5, 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_GOODBYE);
  assert_int_equal(roam_testbed_live_calls(), 0);
  sp_free(p);
}

/* generate(20) with 4 bytes of credit: waits, resumes on Credit, Close,
 * then the Response. */
static void test_generate_credit(void **st) {
  (void)st;
  sp *p = peer(4);
  uint64_t ch = 1;
  uint8_t arg[] = {20, 1};
  sp_request(p, 0, 1, ROAM_TESTBED_GENERATE, arg, 2, &ch, 1);
  int got = 0, closed = 0, answered = 0;
  uint64_t avail = 4;
  for (int round = 0; round < 100 && !answered; round++) {
    roam_msg m;
    while (sp_next(p, &m)) {
      if (m.kind == ROAM_MSG_DATA) {
        assert_false(closed);
        assert_true(m.payload.len <= avail);
        avail -= m.payload.len;
        assert_int_equal(m.payload.ptr[0], got * 2);
        got++;
      } else if (m.kind == ROAM_MSG_CLOSE) {
        closed = 1;
      } else {
        assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
        assert_true(closed);
        assert_int_equal(m.payload.len, 1);
        answered = 1;
      }
    }
    if (!answered) {
      sp_chan_msg(p, ROAM_MSG_CREDIT, 0, 1, NULL, 0, 3);
      avail += 3;
    }
  }
  assert_int_equal(got, 20);
  assert_true(answered);
  assert_int_equal(roam_testbed_live_calls(), 0);
  sp_free(p);
}

/* transform with a 6-byte window: values wait for output credit and the
 * input window is not reopened before they went out. */
static void test_transform_credit(void **st) {
  (void)st;
  sp *p = peer(6);
  uint64_t chans[2] = {1, 3};
  uint8_t arg[] = {1, 3};
  sp_request(p, 0, 1, ROAM_TESTBED_TRANSFORM, arg, 2, chans, 2);
  uint8_t v[3] = {2, 'a', 'b'};
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 3, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 3, 0); /* output credit is now used up */
  v[1] = 'c';
  roam_msg m;
  int data = 0, credit_in = 0;
  while (sp_next(p, &m)) {
    if (m.kind == ROAM_MSG_DATA) data++;
    if (m.kind == ROAM_MSG_CREDIT) credit_in += (int)m.credit;
  }
  assert_int_equal(data, 2);
  assert_int_equal(credit_in, 6); /* both were sent: the input window reopens */
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 3, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 3, 0);
  credit_in = data = 0;
  while (sp_next(p, &m)) {
    if (m.kind == ROAM_MSG_DATA) data++;
    if (m.kind == ROAM_MSG_CREDIT) credit_in++;
  }
  assert_int_equal(data, 0);      /* no output credit */
  assert_int_equal(credit_in, 0); /* and the queued values hold the input window */
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  assert_false(sp_next(p, &m)); /* still waiting to send them */
  sp_chan_msg(p, ROAM_MSG_CREDIT, 0, 3, NULL, 0, 6);
  int order = 0;
  while (sp_next(p, &m)) {
    if (m.kind == ROAM_MSG_DATA) {
      assert_true(order < 2);
      assert_int_equal(m.payload.ptr[1], 'c');
      order++;
    } else if (m.kind == ROAM_MSG_CLOSE) {
      assert_int_equal(order, 2);
      order = 10;
    } else if (m.kind == ROAM_MSG_RESPONSE) {
      assert_int_equal(order, 10);
      order = 20;
    }
  }
  assert_int_equal(order, 20);
  assert_int_equal(roam_testbed_live_calls(), 0);
  sp_free(p);
}

static void expect_cancelled(sp *p, uint64_t rid) {
  roam_msg c = sp_msg(ROAM_MSG_CANCEL, 0);
  c.request_id = rid;
  sp_send(p, &c);
  roam_msg m;
  int responses = 0;
  while (sp_next(p, &m)) {
    if (m.kind == ROAM_MSG_RESPONSE) {
      assert_int_equal(m.request_id, rid);
      assert_int_equal(m.payload.len, 2);
      assert_int_equal(m.payload.ptr[1], 3);
      responses++;
    }
    assert_int_not_equal(m.kind, ROAM_MSG_DATA);
  }
  assert_int_equal(responses, 1);
}

static void test_cancel_streams(void **st) {
  (void)st;
  sp *p = peer(4);
  roam_msg m;
  uint64_t a = 1, b[2] = {3, 5}, g = 7;
  sp_request(p, 0, 1, ROAM_TESTBED_SUM, "\x01", 1, &a, 1);
  sp_request(p, 0, 2, ROAM_TESTBED_TRANSFORM, "\x03\x05", 2, b, 2);
  sp_request(p, 0, 3, ROAM_TESTBED_GENERATE, "\x64\x07", 2, &g, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 3, "\x01x", 2, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 3, "\x01y", 2, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 3, "\x01z", 2, 0); /* queued: no output credit */
  while (sp_next(p, &m)) {
  }
  assert_int_equal(roam_testbed_live_calls(), 3);
  expect_cancelled(p, 1);
  expect_cancelled(p, 2);
  expect_cancelled(p, 3);
  assert_int_equal(roam_testbed_live_calls(), 0);
  /* late messages for the abandoned channels are ignored */
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0);
  sp_chan_msg(p, ROAM_MSG_CREDIT, 0, 7, NULL, 0, 10);
  assert_false(sp_next(p, &m));
  assert_false(roam_session_is_closed(p->s));
  sp_free(p);
}

/* The output channel reset by the caller: generate stops, answers Ok(()). */
static void test_generate_output_reset(void **st) {
  (void)st;
  sp *p = peer(4);
  uint64_t g = 1;
  sp_request(p, 0, 1, ROAM_TESTBED_GENERATE, "\x64\x01", 2, &g, 1);
  roam_msg m;
  while (sp_next(p, &m)) assert_int_equal(m.kind, ROAM_MSG_DATA);
  sp_chan_msg(p, ROAM_MSG_RESET, 0, 1, NULL, 0, 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.payload.len, 1);
  assert_int_equal(roam_testbed_live_calls(), 0);
  sp_free(p);
}

/* Streams in flight when the link goes away (EOF, Goodbye on a virtual
 * connection, freeing the session): no state is left behind. */
static void on_connect(roam_session *s, uint64_t cid, const roam_metadata *md, void *ud) {
  (void)md, (void)ud;
  assert_int_equal(roam_session_accept(s, cid, NULL, 0, g_disp, NULL), 0);
}

static void test_teardown(void **st) {
  (void)st;
  for (int how = 0; how < 3; how++) {
    roam_session_config cfg;
    roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
    roam_session_callbacks cbs = {0};
    cbs.on_connect = on_connect;
    sp *p = sp_new_cfg(&cfg, &cbs);
    roam_session_set_dispatcher(p->s, 0, g_disp);
    roam_session_listen(p->s, true);
    sp_handshake(p, 1 << 20, 4);
    roam_msg m = sp_msg(ROAM_MSG_CONNECT, 0);
    m.request_id = 1;
    sp_send(p, &m);
    assert_true(sp_next(p, &m));
    assert_int_equal(m.kind, ROAM_MSG_ACCEPT);
    uint64_t conn = m.conn_id;
    uint64_t a = 1, b[2] = {3, 5}, g = 7;
    sp_request(p, conn, 1, ROAM_TESTBED_SUM, "\x01", 1, &a, 1);
    sp_request(p, conn, 2, ROAM_TESTBED_TRANSFORM, "\x03\x05", 2, b, 2);
    sp_request(p, conn, 3, ROAM_TESTBED_GENERATE, "\x64\x07", 2, &g, 1);
    sp_chan_msg(p, ROAM_MSG_DATA, conn, 3, "\x01x", 2, 0);
    sp_chan_msg(p, ROAM_MSG_DATA, conn, 3, "\x01y", 2, 0);
    sp_chan_msg(p, ROAM_MSG_DATA, conn, 3, "\x01z", 2, 0);
    while (sp_next(p, &m)) {
    }
    assert_int_equal(roam_testbed_live_calls(), 3);
    if (how == 0) {
      roam_session_eof(p->s);
    } else if (how == 1) {
      roam_msg gb = sp_msg(ROAM_MSG_GOODBYE, conn);
      sp_send(p, &gb);
      while (sp_next(p, &m)) assert_int_not_equal(m.conn_id, conn);
      assert_false(roam_session_is_closed(p->s));
    }
    if (how != 2) assert_int_equal(roam_testbed_live_calls(), 0);
    sp_free(p);
    assert_int_equal(roam_testbed_live_calls(), 0);
  }
}

int main(void) {
  g_disp = roam_dispatcher_new(NULL);
  if (roam_testbed_register(g_disp) != 0) return 1;
  roam_arena_init(&g_arena, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_point),
      cmocka_unit_test(test_person),
      cmocka_unit_test(test_rectangle),
      cmocka_unit_test(test_enums),
      cmocka_unit_test(test_shape),
      cmocka_unit_test(test_canvas),
      cmocka_unit_test(test_message),
      cmocka_unit_test(test_person_display),
      cmocka_unit_test(test_unary_exact),
      cmocka_unit_test(test_sum),
      cmocka_unit_test(test_generate_credit),
      cmocka_unit_test(test_transform_credit),
      cmocka_unit_test(test_cancel_streams),
      cmocka_unit_test(test_generate_output_reset),
      cmocka_unit_test(test_teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  roam_dispatcher_free(g_disp);
  roam_arena_free(&g_arena);
  return rc;
}
