/*
 * Session layer against a scripted raw peer: every rule of PROTOCOL.md
 * §5-§11 with the exact bytes or Goodbye reasons, and the happy paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "session_peer.h"

#define M_ECHO 0x9aabc4ba61fd5df3ull
#define M_SUM 0x855b3a25d97bfefdull
#define M_GEN 0x54d2273d8cdb9c38ull
#define M_SLOW 0x77ull

/* ---- handlers used by the tests ---------------------------------------- */

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  (void)s;
  (void)ud;
  roam_bytes p = roam_request_payload(r);
  assert_int_equal(roam_request_respond_ok(r, p.ptr, p.len), 0);
}

static roam_request *held_req;
static int cancel_seen;
static void on_cancel(roam_request *r, int why, void *ud) {
  (void)r;
  (void)ud;
  cancel_seen = why;
}
static void h_slow(roam_session *s, roam_request *r, void *ud) {
  (void)s;
  (void)ud;
  held_req = r;
  roam_request_set_cancel_cb(r, on_cancel, NULL);
}

/* sum: binds channel 0 as RECV, answers with the i64 total on Close. */
typedef struct sum_state {
  roam_request *r;
  int64_t total;
  int values;
} sum_state;
static sum_state sums[8];
static int nsums;
static int sum_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s;
  (void)conn;
  (void)ch;
  sum_state *st = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  int32_t x;
  roam_dec_i32(&d, &x);
  if (roam_dec_finish(&d)) return ROAM_ERR_DECODE;
  st->total += x;
  st->values++;
  return 0;
}
static void sum_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s;
  (void)conn;
  (void)ch;
  sum_state *st = ud;
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_i64(&e, st->total);
  if (err == 0) roam_request_respond_ok(st->r, buf, e.len);
  else roam_request_respond_error(st->r, ROAM_ERR_REMOTE_CANCELLED);
}
static const roam_channel_callbacks sum_cbs = {sum_data, sum_end, NULL};
static void h_sum(roam_session *s, roam_request *r, void *ud) {
  (void)s;
  (void)ud;
  sum_state *st = &sums[nsums++];
  memset(st, 0, sizeof *st);
  st->r = r;
  assert_int_equal(roam_request_channel_count(r), 1);
  assert_int_equal(roam_request_bind_channel(r, 0, ROAM_CHAN_RECV, &sum_cbs, st), 0);
}

/* generate(count, output): sends 0..count-1 as credit allows. */
typedef struct gen_state {
  roam_request *r;
  uint64_t conn, ch;
  uint32_t next, count;
} gen_state;
static gen_state gen;
static void gen_pump(roam_session *s) {
  while (gen.next < gen.count) {
    uint8_t buf[8];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_i32(&e, (int32_t)gen.next);
    int rc = roam_channel_send(s, gen.conn, gen.ch, buf, e.len);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    assert_int_equal(rc, 0);
    gen.next++;
  }
  roam_request_respond_ok(gen.r, NULL, 0);
  gen.r = NULL;
}
static void gen_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)conn;
  (void)ch;
  (void)ud;
  if (gen.r) gen_pump(s);
}
static const roam_channel_callbacks gen_cbs = {NULL, NULL, gen_writable};
static void h_gen(roam_session *s, roam_request *r, void *ud) {
  (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t count = 0;
  uint64_t chid = 0;
  roam_dec_u32(&d, &count);
  roam_dec_u64(&d, &chid);
  if (roam_dec_finish(&d)) {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  gen.r = r;
  gen.conn = roam_request_conn_id(r);
  gen.ch = roam_request_channel_id(r, 0);
  gen.next = 0;
  gen.count = count;
  assert_int_equal(roam_request_bind_channel(r, 0, ROAM_CHAN_SEND, &gen_cbs, NULL), 0);
  gen_pump(s);
}

static roam_dispatcher *make_disp(void) {
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, M_ECHO, h_echo, NULL);
  roam_dispatcher_add(d, M_SLOW, h_slow, NULL);
  roam_dispatcher_add(d, M_SUM, h_sum, NULL);
  roam_dispatcher_add(d, M_GEN, h_gen, NULL);
  return d;
}

static roam_dispatcher *g_disp;
static sp *ready_acceptor(uint32_t max_payload, uint32_t credit) {
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, max_payload, credit);
  assert_true(roam_session_is_ready(p->s));
  return p;
}

static void expect_goodbye(sp *p, const char *rule) {
  roam_msg m;
  int found = 0;
  while (sp_next(p, &m)) {
    if (m.kind == ROAM_MSG_GOODBYE) {
      assert_int_equal(m.conn_id, 0);
      char buf[256];
      size_t n = m.reason.len < 255 ? m.reason.len : 255;
      memcpy(buf, m.reason.ptr, n);
      buf[n] = 0;
      if (!strstr(buf, rule)) fail_msg("Goodbye reason '%s' lacks '%s'", buf, rule);
      found = 1;
    }
  }
  assert_true(found);
  assert_true(roam_session_is_closed(p->s));
  assert_true(roam_session_is_done(p->s));
  assert_int_equal(p->closed_calls, 1);
}

/* Nothing but credit granted back for the Data consumed (the session
 * returns it within credit_delay_ms, 100 by default). */
static void expect_only_credit(sp *p, uint64_t channel, uint32_t bytes) {
  roam_msg m;
  p->now += 100;
  roam_session_tick(p->s, p->now);
  uint32_t got = 0;
  while (sp_next(p, &m)) {
    assert_int_equal(m.kind, ROAM_MSG_CREDIT);
    assert_int_equal(m.channel_id, channel);
    got += m.credit;
  }
  assert_int_equal(got, bytes);
  assert_false(roam_session_is_closed(p->s));
}

static void expect_nothing(sp *p) {
  roam_msg m;
  assert_int_equal(sp_next(p, &m), 0);
  assert_false(roam_session_is_closed(p->s));
}

static void read_file(const char *rel, uint8_t *buf, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", ROAM_GOLDEN_DIR, rel);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  *len = fread(buf, 1, 4096, f);
  fclose(f);
}

/* ---- handshake ------------------------------------------------------------ */

static void test_hello_bytes(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  uint8_t out[64], want[64];
  size_t wl;
  size_t n = sp_take_raw(p, out, sizeof out);
  read_file("cobs/message_hello_typical_framed.bin", want, &wl);
  assert_int_equal(n, wl);
  assert_memory_equal(out, want, wl);
  sp_free(p);
}

static void test_negotiation(void **st) {
  (void)st;
  sp *p = ready_acceptor(1024, 64);
  assert_int_equal(roam_session_max_payload(p->s), 1024);
  assert_int_equal(roam_session_initial_credit(p->s), 64);
  sp_free(p);
}

static void test_hello_v1(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_msg m;
  sp_next(p, &m);
  uint8_t raw[64];
  size_t rl;
  read_file("wire/message_hello_typical.bin", raw, &rl);
  raw[1] = 0; /* V1 */
  uint8_t fr[80];
  size_t fl = roam_cobs_encode(raw, rl, fr);
  fr[fl++] = 0;
  assert_int_equal(sp_feed(p, fr, fl), ROAM_ERR_PROTOCOL);
  expect_goodbye(p, "message.hello.unknown-version");
  sp_free(p);
}

static void test_hello_unknown_variant(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_msg m;
  sp_next(p, &m);
  uint8_t fr[] = {0x01, 0x02, 0x02, 0x00}; /* Message::Hello, variant 2 */
  sp_feed(p, fr, sizeof fr);
  expect_goodbye(p, "message.hello.unknown-version");
  sp_free(p);
}

static void test_request_before_hello(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_msg m;
  sp_next(p, &m);
  sp_request(p, 0, 1, M_ECHO, "x", 1, NULL, 0);
  expect_goodbye(p, "message.hello.ordering");
  sp_free(p);
}

static void test_late_hello_ignored(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  sp_hello(p, 10, 10);
  expect_nothing(p);
  assert_int_equal(roam_session_max_payload(p->s), 1 << 20);
  sp_free(p);
}

/* [message.hello.unknown-version] applies after the exchange too: an
 * unknown Hello variant (00 05 10 10) gets the Goodbye; a Hello V2 does not
 * (test_late_hello_ignored). */
static void test_late_hello_unknown_variant(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t fr[] = {0x01, 0x04, 0x05, 0x10, 0x10, 0x00}; /* COBS(00 05 10 10) */
  sp_feed(p, fr, sizeof fr);
  expect_goodbye(p, "message.hello.unknown-version");
  sp_free(p);
}

static void test_handshake_timeout(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  roam_msg m;
  sp_next(p, &m);
  assert_int_equal(roam_session_next_timeout(p->s), 5000);
  roam_session_tick(p->s, 4999);
  assert_false(roam_session_is_closed(p->s));
  roam_session_tick(p->s, 5000);
  assert_true(roam_session_is_closed(p->s));
  assert_int_equal(p->closed_err, ROAM_ERR_TIMEOUT);
  assert_int_equal(sp_next(p, &m), 0); /* no Goodbye on a timeout */
  sp_free(p);
}

/* ---- incoming calls ----------------------------------------------------------- */

static void test_echo_exact_bytes(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t arg[] = {5, 'h', 'e', 'l', 'l', 'o'};
  sp_request(p, 0, 1, M_ECHO, arg, sizeof arg, NULL, 0);
  uint8_t out[64];
  size_t n = sp_take_raw(p, out, sizeof out);
  /* Response{conn 0, req 1, md [], ch [], payload 00 05 hello} framed */
  uint8_t raw[] = {6, 0, 1, 0, 0, 7, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  uint8_t want[32];
  size_t wl = roam_cobs_encode(raw, sizeof raw, want);
  want[wl++] = 0;
  assert_int_equal(n, wl);
  assert_memory_equal(out, want, wl);
  sp_free(p);
}

static void test_unknown_method(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  sp_request(p, 0, 9, 0xdeadbeef, NULL, 0, NULL, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.request_id, 9);
  assert_int_equal(m.payload.len, 2);
  assert_int_equal(m.payload.ptr[0], 1);
  assert_int_equal(m.payload.ptr[1], 1);
  expect_nothing(p);
  sp_free(p);
}

static void test_pipelined_out_of_order(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  held_req = NULL;
  sp_request(p, 0, 1, M_SLOW, NULL, 0, NULL, 0);
  roam_request *slow = held_req;
  assert_non_null(slow);
  for (uint64_t i = 2; i < 50; i++) sp_request(p, 0, i, M_ECHO, "", 0, NULL, 0);
  roam_msg m;
  for (uint64_t i = 2; i < 50; i++) {
    assert_true(sp_next(p, &m));
    assert_int_equal(m.request_id, i);
  }
  assert_int_equal(roam_request_respond_ok(slow, NULL, 0), 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.request_id, 1);
  sp_free(p);
}

static void test_duplicate_request_id(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  sp_request(p, 0, 1, M_SLOW, NULL, 0, NULL, 0);
  sp_request(p, 0, 1, M_SLOW, NULL, 0, NULL, 0);
  expect_goodbye(p, "call.request-id.duplicate-detection");
  sp_free(p);
}

static void test_payload_limit(void **st) {
  (void)st;
  sp *p = ready_acceptor(16, 1 << 16);
  uint8_t big[17] = {0};
  sp_request(p, 0, 1, M_ECHO, big, sizeof big, NULL, 0);
  expect_goodbye(p, "message.hello.enforcement");
  sp_free(p);
}

static void test_metadata_limits(void **st) {
  (void)st;
  static roam_meta_entry e[129];
  for (int i = 0; i < 129; i++) {
    e[i].key.ptr = (const uint8_t *)"k";
    e[i].key.len = 1;
    e[i].kind = ROAM_META_U64;
  }
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  roam_msg m = sp_msg(ROAM_MSG_REQUEST, 0);
  m.request_id = 1;
  m.method_id = M_ECHO;
  m.metadata.entries = e;
  m.metadata.count = 129;
  sp_send(p, &m);
  expect_goodbye(p, "call.metadata.limits");
  sp_free(p);
  /* one oversize key */
  static uint8_t key[257];
  memset(key, 'a', sizeof key);
  e[0].key.ptr = key;
  e[0].key.len = 257;
  p = ready_acceptor(1 << 20, 1 << 16);
  m.metadata.count = 1;
  sp_send(p, &m);
  expect_goodbye(p, "call.metadata.limits");
  sp_free(p);
}

static void test_unknown_conn(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  /* Response, Cancel, Reset, Credit, Goodbye on unknown conns: ignored. */
  roam_msg m = sp_msg(ROAM_MSG_RESPONSE, 7);
  m.request_id = 1;
  sp_send(p, &m);
  m = sp_msg(ROAM_MSG_CANCEL, 7);
  sp_send(p, &m);
  sp_chan_msg(p, ROAM_MSG_RESET, 7, 1, NULL, 0, 0);
  sp_chan_msg(p, ROAM_MSG_CREDIT, 7, 1, NULL, 0, 5);
  m = sp_msg(ROAM_MSG_GOODBYE, 7);
  sp_send(p, &m);
  expect_nothing(p);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.ignored[ROAM_IGNORE_UNKNOWN_CONN], 5);
  sp_request(p, 7, 1, M_ECHO, NULL, 0, NULL, 0);
  expect_goodbye(p, "message.conn-id");
  sp_free(p);
  p = ready_acceptor(1 << 20, 1 << 16);
  sp_chan_msg(p, ROAM_MSG_DATA, 3, 1, "x", 1, 0);
  expect_goodbye(p, "message.conn-id");
  sp_free(p);
  p = ready_acceptor(1 << 20, 1 << 16);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 3, 1, NULL, 0, 0);
  expect_goodbye(p, "message.conn-id");
  sp_free(p);
}

static void test_unknown_discriminant_and_garbage(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t fr[] = {0x02, 0x0c, 0x00}; /* discriminant 12 */
  sp_feed(p, fr, sizeof fr);
  expect_goodbye(p, "message.unknown-variant");
  sp_free(p);
  p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t bad[] = {0x05, 0x05, 0x00}; /* COBS code runs past the frame */
  sp_feed(p, bad, sizeof bad);
  expect_goodbye(p, "message.decode-error");
  sp_free(p);
  p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t trunc[] = {0x03, 0x05, 0x01, 0x00}; /* truncated Request */
  sp_feed(p, trunc, sizeof trunc);
  expect_goodbye(p, "message.decode-error");
  sp_free(p);
}

/* ---- channels -------------------------------------------------------------------- */

static void test_sum_channel(void **st) {
  (void)st;
  nsums = 0;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint64_t ch = 1; /* the acceptor's peer is the initiator: odd ids */
  uint8_t arg[] = {1};
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0); /* before the Request: unknown */
  expect_goodbye(p, "channeling.unknown");
  sp_free(p);

  p = ready_acceptor(1 << 20, 1 << 16);
  sp_request(p, 0, 1, M_SUM, arg, 1, &ch, 1);
  for (int i = 1; i <= 5; i++) {
    uint8_t v = (uint8_t)(i * 2); /* zigzag */
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, &v, 1, 0);
  }
  expect_only_credit(p, 1, 5);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.payload.len, 2);
  assert_int_equal(m.payload.ptr[1], 30); /* zigzag(15) */
  /* Data after Close */
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0);
  expect_goodbye(p, "channeling.data-after-close");
  sp_free(p);
}

static void test_channel_even_id_and_invalid_data(void **st) {
  (void)st;
  nsums = 0;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint64_t ch = 2; /* wrong parity for the peer: accepted anyway */
  uint8_t arg[] = {2};
  sp_request(p, 0, 1, M_SUM, arg, 1, &ch, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 2, "\x04", 1, 0);
  expect_only_credit(p, 2, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 2, "\x80", 1, 0); /* truncated varint */
  expect_goodbye(p, "channeling.data.invalid");
  sp_free(p);
}

static void test_channel_zero(void **st) {
  (void)st;
  roam_msg_kind kinds[] = {ROAM_MSG_DATA, ROAM_MSG_CLOSE, ROAM_MSG_RESET, ROAM_MSG_CREDIT};
  for (int i = 0; i < 4; i++) {
    sp *p = ready_acceptor(1 << 20, 1 << 16);
    sp_chan_msg(p, kinds[i], 0, 0, "\x02", kinds[i] == ROAM_MSG_DATA ? 1 : 0, 1);
    expect_goodbye(p, "channeling.id.zero-reserved");
    sp_free(p);
  }
}

static void test_unknown_channel_each_kind(void **st) {
  (void)st;
  roam_msg_kind kinds[] = {ROAM_MSG_DATA, ROAM_MSG_CLOSE, ROAM_MSG_RESET, ROAM_MSG_CREDIT};
  for (int i = 0; i < 4; i++) {
    sp *p = ready_acceptor(1 << 20, 1 << 16);
    sp_chan_msg(p, kinds[i], 0, 99, "\x02", kinds[i] == ROAM_MSG_DATA ? 1 : 0, 1);
    expect_goodbye(p, "channeling.unknown");
    sp_free(p);
  }
}

static void test_credit_overrun(void **st) {
  (void)st;
  nsums = 0;
  sp *p = ready_acceptor(1 << 20, 4);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t big[5] = {0x80, 0x80, 0x80, 0x80, 0x01};
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, big, 5, 0);
  expect_goodbye(p, "flow.channel.credit-overrun");
  sp_free(p);
}

static void test_credit_granted_back(void **st) {
  (void)st;
  nsums = 0;
  sp *p = ready_acceptor(1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint32_t outstanding = 16; /* what we (the peer) may still send */
  int credits = 0;
  for (int i = 0; i < 200; i++) {
    uint8_t v[2] = {0x80 | 4, 0x01}; /* zigzag 2 bytes */
    assert_true(outstanding >= 2);
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
    outstanding -= 2;
    if (i % 3 != 2) continue; /* the session's output is collected every 3 Data */
    roam_msg m;
    while (sp_next(p, &m)) {
      assert_int_equal(m.kind, ROAM_MSG_CREDIT);
      assert_int_equal(m.channel_id, 1);
      outstanding += m.credit;
      credits++;
      assert_true(outstanding <= 16);
    }
  }
  assert_true(credits > 10);
  assert_true(credits < 200); /* hysteresis: no Credit per Data */
  sp_free(p);
}

/* The output grows in two pieces: when the buffer is full while part of it
 * waits to be sent, it is set aside whole and new frames go to another
 * buffer (no pending byte is moved). roam_session_output hands out the
 * older piece first, output_queued counts both, the bytes reach the wire
 * in order, and the big buffers are given back a second after the output
 * drained. */
static void ignore_result(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  (void)res;
  (void)ud;
}

static void test_output_in_two_pieces(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 16);
  static uint8_t payload[3000];
  uint64_t sent = 0, seen = 0;
  int pieces = 0;
  for (int round = 0; round < 40; round++) {
    for (int i = 0; i < 7; i++, sent++) {
      memset(payload, (int)(sent % 251) + 1, sizeof payload);
      assert_int_equal(roam_call(p->s, M_SUM, payload, sizeof payload, NULL, ignore_result,
                                 NULL, NULL),
                       0);
    }
    /* the transport takes only part of the first piece */
    const uint8_t *d;
    size_t total = roam_session_output_queued(p->s);
    size_t n = roam_session_output(p->s, &d);
    assert_true(n > 0 && n <= total);
    if (n < total) pieces++;
    size_t take = n / 3 + 1;
    sp_collect(p, d, take);
    roam_session_consume(p->s, take);
    assert_int_equal(roam_session_output_queued(p->s), total - take);
  }
  assert_true(pieces > 0);
  /* collect the rest: every Request in order, its payload intact */
  roam_msg m;
  while (sp_next(p, &m)) {
    assert_int_equal(m.kind, ROAM_MSG_REQUEST);
    assert_int_equal(m.payload.len, sizeof payload);
    for (size_t k = 0; k < m.payload.len; k++)
      if (m.payload.ptr[k] != (uint8_t)((seen % 251) + 1))
        fail_msg("request %llu, byte %zu", (unsigned long long)seen, k);
    seen++;
  }
  assert_int_equal(seen, sent);
  assert_int_equal(roam_session_output_queued(p->s), 0);
  roam_session_stats a, b;
  roam_session_get_stats(p->s, &a);
  assert_true(roam_session_next_timeout(p->s) <= p->now + 1000);
  roam_session_tick(p->s, p->now + 1000);
  roam_session_get_stats(p->s, &b);
  assert_true(b.heap_bytes + 65536 < a.heap_bytes); /* the big buffers went back */
  sp_free(p);
}

/* Regression: consumed bytes were held back while more than half the window
 * was left, so a sender whose next value needed more than that waited for
 * ever. They now go back when the output is next collected. */
static void test_credit_no_stall_on_large_values(void **st) {
  (void)st;
  nsums = 0;
  sp *p = ready_acceptor(1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t small[1] = {2}; /* 1 byte: 15 left, more than half the window */
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, small, 1, 0);
  roam_msg m;
  assert_false(sp_next(p, &m)); /* no Credit per small value... */
  roam_session_tick(p->s, p->now + 99);
  assert_false(sp_next(p, &m));
  roam_session_tick(p->s, p->now + 100); /* ...but none held past credit_delay_ms */
  assert_true(sp_next(p, &m)); /* a sender needing 16 bytes waits for this */
  assert_int_equal(m.kind, ROAM_MSG_CREDIT);
  assert_int_equal(m.credit, 1);
  expect_nothing(p);
  /* the whole window again: 16 bytes in a row */
  uint8_t v5[5] = {0xfe, 0xff, 0xff, 0xff, 0x0f}; /* the largest i32 */
  for (int i = 0; i < 3; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v5, 5, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, small, 1, 0);
  assert_false(roam_session_is_closed(p->s));
  sp_free(p);
}

/* channel_window above the initial credit: nothing is granted before the
 * sender has used half of its initial credit; the Credit that returns those
 * bytes also opens the rest of the window; afterwards the sender never holds
 * more than the window, grants come at half of it, and an overrun is still
 * measured against what was granted. */
static void test_channel_window(void **st) {
  (void)st;
  nsums = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 64;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 16); /* negotiated initial credit: 16 */
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t v[2] = {0x80 | 4, 0x01}; /* zigzag, 2 bytes */
  roam_msg m;
  for (int i = 0; i < 3; i++) {
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
    expect_nothing(p); /* 14, 12, 10 of 16 left: not needed yet */
  }
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  assert_true(sp_next(p, &m)); /* 8 left of 16: grant 8 + the 48 that open the window */
  assert_int_equal(m.kind, ROAM_MSG_CREDIT);
  assert_int_equal(m.credit, 56);
  expect_nothing(p);
  uint32_t outstanding = 64;
  int credits = 0;
  for (int i = 0; i < 300; i++) {
    assert_true(outstanding >= 2);
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
    outstanding -= 2;
    while (sp_next(p, &m)) {
      assert_int_equal(m.kind, ROAM_MSG_CREDIT);
      outstanding += m.credit;
      credits++;
      assert_true(outstanding <= 64);
      assert_true(m.credit >= 32); /* at half the window, not per value */
    }
  }
  assert_true(credits >= 300 * 2 / 32 - 1);
  uint8_t over[80];
  memset(over, 0x80, sizeof over);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, over, outstanding + 1, 0);
  expect_goodbye(p, "flow.channel.credit-overrun");
  sp_free(p);
}

/* A session with the runtime's window (1 MiB over a 64 KiB initial credit)
 * receiving a short stream: no Credit at all, not even after
 * credit_delay_ms (the TypeScript 0.6 peer ends the link on a Credit for a
 * channel it has closed). */
static void test_short_stream_no_credit(void **st) {
  (void)st;
  nsums = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 1u << 20;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 65536);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t v[2] = {0x80 | 4, 0x01};
  for (int i = 0; i < 10; i++) {
    sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
    expect_nothing(p);
  }
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  roam_session_tick(p->s, p->now + 1000);
  expect_nothing(p);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.credit_granted, 0);
  assert_int_equal(stats.msgs_out[ROAM_MSG_CREDIT], 0);
  sp_free(p);
}

/* A needed Credit still wholly in the output when the peer's Close (or
 * Reset) arrives is taken back: the peer no longer holds the channel. */
static void credit_taken_back(roam_msg_kind end) {
  nsums = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 64;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t v[2] = {0x80 | 4, 0x01};
  for (int i = 0; i < 4; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  const uint8_t *d;
  assert_true(roam_session_output(p->s, &d) > 0); /* the Credit, not collected */
  sp_chan_msg(p, end, 0, 1, NULL, 0, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  expect_nothing(p);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.credit_granted, 0);
  assert_int_equal(stats.msgs_out[ROAM_MSG_CREDIT], 0);
  sp_free(p);
}

static void test_credit_taken_back_on_close(void **st) {
  (void)st;
  credit_taken_back(ROAM_MSG_CLOSE);
}

static void test_credit_taken_back_on_reset(void **st) {
  (void)st;
  credit_taken_back(ROAM_MSG_RESET);
}

/* A Credit whose first byte has been handed out stays whole in the output
 * (the peer will get it; cutting it would corrupt the stream). */
static void test_credit_partly_sent_stays(void **st) {
  (void)st;
  nsums = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 64;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t v[2] = {0x80 | 4, 0x01};
  for (int i = 0; i < 4; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  const uint8_t *d;
  assert_true(roam_session_output(p->s, &d) > 1);
  uint8_t raw[256];
  raw[0] = d[0];
  roam_session_consume(p->s, 1);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  size_t n = 1 + sp_take_raw(p, raw + 1, sizeof raw - 1);
  roam_msg m;
  uint8_t dec[256];
  const uint8_t *zero = memchr(raw, 0, n);
  assert_non_null(zero);
  size_t dlen = 0;
  assert_int_equal(roam_cobs_decode(raw, (size_t)(zero - raw), dec, sizeof dec, &dlen), 0);
  assert_int_equal(roam_msg_decode(&m, dec, dlen), 0);
  assert_int_equal(m.kind, ROAM_MSG_CREDIT);
  assert_int_equal(m.channel_id, 1);
  assert_int_equal(m.credit, 56);
  const uint8_t *next = zero + 1;
  zero = memchr(next, 0, n - (size_t)(next - raw));
  assert_non_null(zero);
  assert_int_equal(roam_cobs_decode(next, (size_t)(zero - next), dec, sizeof dec, &dlen), 0);
  assert_int_equal(roam_msg_decode(&m, dec, dlen), 0);
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  sp_free(p);
}

/* Values that arrived before the handler bound the channel, then the
 * peer's Close: binding delivers them, and no Credit follows (the peer no
 * longer holds the channel). */
static void test_no_credit_after_close_on_late_bind(void **st) {
  (void)st;
  nsums = 0;
  held_req = NULL;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 64;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SLOW, "\x01", 1, &ch, 1);
  assert_non_null(held_req);
  uint8_t v[2] = {0x80 | 4, 0x01};
  for (int i = 0; i < 8; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 1, NULL, 0, 0);
  expect_nothing(p);
  sum_state *sst = &sums[nsums++];
  memset(sst, 0, sizeof *sst);
  sst->r = held_req;
  assert_int_equal(roam_request_bind_channel(held_req, 0, ROAM_CHAN_RECV, &sum_cbs, sst), 0);
  assert_int_equal(sst->values, 8);
  roam_msg m;
  assert_true(sp_next(p, &m)); /* the sum, and nothing else */
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  expect_nothing(p);
  roam_session_tick(p->s, p->now + 1000);
  expect_nothing(p);
  sp_free(p);
}

/* Grants while an earlier Credit of the channel still waits in the output
 * fold into one Credit. */
static void test_unsent_credits_fold(void **st) {
  (void)st;
  nsums = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.channel_window = 64;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 16);
  uint64_t ch = 1;
  sp_request(p, 0, 1, M_SUM, "\x01", 1, &ch, 1);
  uint8_t v[2] = {0x80 | 4, 0x01};
  /* 8 bytes: Credit 8 + 48; then 32 more: Credit 32, folded into the first */
  for (int i = 0; i < 4 + 16; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_CREDIT);
  assert_int_equal(m.credit, 56 + 32);
  expect_nothing(p);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.credit_granted, 88);
  assert_int_equal(stats.msgs_out[ROAM_MSG_CREDIT], 1);
  /* the peer may now send 16 + 88 - 40 = 64 bytes: exactly the window */
  for (int i = 0; i < 32; i++) sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, v, 2, 0);
  assert_false(roam_session_is_closed(p->s));
  sp_free(p);
}

static void test_generate_respects_credit(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 8);
  uint64_t ch = 1;
  uint8_t arg[2] = {50, 1};
  sp_request(p, 0, 1, M_GEN, arg, 2, &ch, 1);
  uint64_t avail = 8;
  int got = 0, closed = 0, responded = 0;
  for (int round = 0; round < 1000 && !responded; round++) {
    roam_msg m;
    while (sp_next(p, &m)) {
      if (m.kind == ROAM_MSG_DATA) {
        assert_false(closed);
        assert_true(m.payload.len <= avail);
        avail -= m.payload.len;
        roam_dec d;
        roam_dec_init(&d, m.payload.ptr, m.payload.len);
        int32_t x;
        roam_dec_i32(&d, &x);
        assert_int_equal(x, got);
        got++;
      } else if (m.kind == ROAM_MSG_CLOSE) {
        closed = 1;
      } else if (m.kind == ROAM_MSG_RESPONSE) {
        assert_true(closed); /* Close before Response */
        responded = 1;
      }
    }
    if (!responded) {
      sp_chan_msg(p, ROAM_MSG_CREDIT, 0, 1, NULL, 0, 3);
      avail += 3;
    }
  }
  assert_int_equal(got, 50);
  assert_true(responded);
  sp_free(p);
}

static void test_reset_and_late_messages(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 4);
  uint64_t ch = 1;
  uint8_t arg[2] = {50, 1};
  sp_request(p, 0, 1, M_GEN, arg, 2, &ch, 1);
  sp_chan_msg(p, ROAM_MSG_RESET, 0, 1, NULL, 0, 0);
  /* late Credit / Reset for the finished channel: ignored */
  sp_chan_msg(p, ROAM_MSG_CREDIT, 0, 1, NULL, 0, 100);
  sp_chan_msg(p, ROAM_MSG_RESET, 0, 1, NULL, 0, 0);
  roam_msg m;
  while (sp_next(p, &m)) assert_true(m.kind == ROAM_MSG_DATA);
  assert_false(roam_session_is_closed(p->s));
  /* the generator is stuck without its channel; cancel ends it */
  roam_msg c = sp_msg(ROAM_MSG_CANCEL, 0);
  c.request_id = 1;
  sp_send(p, &c);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.payload.ptr[1], 3);
  gen.r = NULL;
  sp_free(p);
}

/* ---- cancel ------------------------------------------------------------------------- */

static void test_incoming_cancel(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  held_req = NULL;
  cancel_seen = 0;
  sp_request(p, 0, 4, M_SLOW, NULL, 0, NULL, 0);
  roam_msg c = sp_msg(ROAM_MSG_CANCEL, 0);
  c.request_id = 4;
  sp_send(p, &c);
  assert_int_equal(cancel_seen, ROAM_ERR_CANCELLED);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(m.payload.len, 2);
  assert_int_equal(m.payload.ptr[1], 3);
  /* the handler's late answer is only a release */
  assert_int_equal(roam_request_respond_ok(held_req, NULL, 0), ROAM_ERR_CANCELLED);
  expect_nothing(p);
  /* Cancel of a finished call: ignored */
  sp_send(p, &c);
  expect_nothing(p);
  sp_free(p);
}

/* ---- outgoing calls ------------------------------------------------------------------ */

static int results[64];
static int nresults;
static uint8_t result_value[64];
static void on_result(roam_session *s, const roam_call_result *res, void *ud) {
  (void)s;
  (void)ud;
  results[nresults++] = res->status;
  if (res->value.len && res->value.len < sizeof result_value)
    memcpy(result_value, res->value.ptr, res->value.len);
}

static void test_call_before_handshake_waits(void **st) {
  (void)st;
  nresults = 0;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  roam_msg m;
  assert_true(sp_next(p, &m));
  uint64_t rid;
  assert_int_equal(roam_call(p->s, M_ECHO, "\x01x", 2, NULL, on_result, NULL, &rid), 0);
  assert_int_equal(rid, 1);
  assert_int_equal(sp_next(p, &m), 0); /* nothing before the peer's Hello */
  sp_hello(p, 1 << 20, 1 << 16);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_REQUEST);
  assert_int_equal(m.method_id, M_ECHO);
  roam_msg r = sp_msg(ROAM_MSG_RESPONSE, 0);
  r.request_id = 1;
  r.payload.ptr = (const uint8_t *)"\x00\x01x";
  r.payload.len = 3;
  sp_send(p, &r);
  assert_int_equal(nresults, 1);
  assert_int_equal(results[0], 0);
  assert_memory_equal(result_value, "\x01x", 2);
  /* the same Response again: ignored, counted */
  sp_send(p, &r);
  assert_int_equal(nresults, 1);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.ignored[ROAM_IGNORE_LATE_RESPONSE], 1);
  sp_free(p);
}

static void test_remote_errors(void **st) {
  (void)st;
  nresults = 0;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 1 << 20, 1 << 16);
  const char *payloads[] = {"\x01\x00\x07", "\x01\x01", "\x01\x02", "\x01\x03", "\x02", ""};
  size_t lens[] = {3, 2, 2, 2, 1, 0};
  int want[] = {ROAM_ERR_REMOTE_USER, ROAM_ERR_REMOTE_UNKNOWN_METHOD,
                ROAM_ERR_REMOTE_INVALID_PAYLOAD, ROAM_ERR_REMOTE_CANCELLED, ROAM_ERR_BAD_RESPONSE,
                ROAM_ERR_BAD_RESPONSE};
  for (int i = 0; i < 6; i++) {
    uint64_t rid;
    roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, &rid);
    roam_msg r = sp_msg(ROAM_MSG_RESPONSE, 0);
    r.request_id = rid;
    r.payload.ptr = (const uint8_t *)payloads[i];
    r.payload.len = lens[i];
    sp_send(p, &r);
    assert_int_equal(results[i], want[i]);
  }
  assert_int_equal(result_value[0], 7);
  sp_free(p);
}

static void test_call_timeout_and_cancel(void **st) {
  (void)st;
  nresults = 0;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 1 << 20, 1 << 16);
  roam_call_opts o = {0};
  o.timeout_ms = 100;
  uint64_t rid;
  assert_int_equal(roam_call(p->s, 5, NULL, 0, &o, on_result, NULL, &rid), 0);
  roam_session_tick(p->s, 99);
  assert_int_equal(nresults, 0);
  roam_session_tick(p->s, 100);
  assert_int_equal(nresults, 1);
  assert_int_equal(results[0], ROAM_ERR_TIMEOUT);
  roam_msg m;
  assert_true(sp_next(p, &m)); /* Request */
  assert_true(sp_next(p, &m)); /* Cancel */
  assert_int_equal(m.kind, ROAM_MSG_CANCEL);
  assert_int_equal(m.request_id, rid);
  /* explicit cancel: completes with the peer's answer */
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, &rid), 0);
  assert_int_equal(roam_call_cancel(p->s, 0, rid), 0);
  roam_msg r = sp_msg(ROAM_MSG_RESPONSE, 0);
  r.request_id = rid;
  r.payload.ptr = (const uint8_t *)"\x01\x03";
  r.payload.len = 2;
  sp_send(p, &r);
  assert_int_equal(results[1], ROAM_ERR_REMOTE_CANCELLED);
  /* ... or locally after the grace time when the peer stays silent */
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, &rid), 0);
  assert_int_equal(roam_call_cancel(p->s, 0, rid), 0);
  roam_session_tick(p->s, 100 + 1000);
  assert_int_equal(nresults, 3);
  assert_int_equal(results[2], ROAM_ERR_CANCELLED);
  sp_free(p);
}

static void test_eof_fails_pending(void **st) {
  (void)st;
  nresults = 0;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 1 << 20, 1 << 16);
  for (int i = 0; i < 10; i++) roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL);
  roam_session_eof(p->s);
  assert_int_equal(nresults, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(results[i], ROAM_ERR_CLOSED);
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), ROAM_ERR_CLOSED);
  sp_free(p);
}

static void test_outgoing_limit_queue(void **st) {
  (void)st;
  nresults = 0;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  cfg.max_outgoing_calls = 2;
  cfg.outgoing_queue_limit = 1;
  sp *p = sp_new_cfg(&cfg, NULL);
  sp_handshake(p, 1 << 20, 1 << 16);
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), 0);
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), 0);
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), 0); /* queued */
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), ROAM_ERR_LIMIT);
  roam_msg m;
  int reqs = 0;
  while (sp_next(p, &m)) reqs++;
  assert_int_equal(reqs, 2);
  roam_msg r = sp_msg(ROAM_MSG_RESPONSE, 0);
  r.request_id = 1;
  r.payload.ptr = (const uint8_t *)"\x00";
  r.payload.len = 1;
  sp_send(p, &r);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.request_id, 3);
  sp_free(p);
}

static void test_incoming_limit_refuses(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.max_incoming_calls = 2;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 1 << 16);
  for (uint64_t i = 1; i <= 3; i++) sp_request(p, 0, i, M_SLOW, NULL, 0, NULL, 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.request_id, 3);
  assert_int_equal(m.payload.ptr[0], 1);
  assert_int_equal(m.payload.ptr[1], 3);
  sp_free(p);
}

static void test_local_payload_too_large(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 8, 1 << 16);
  assert_int_equal(roam_call(p->s, 5, "0123456789", 10, NULL, on_result, NULL, NULL),
                   ROAM_ERR_PAYLOAD_TOO_LARGE);
  assert_false(roam_session_is_closed(p->s));
  sp_free(p);
}

/* ---- virtual connections ------------------------------------------------------------- */

static uint64_t accepted_conn;
static void on_connect_accept(roam_session *s, uint64_t cid, const roam_metadata *md, void *ud) {
  (void)md;
  (void)ud;
  assert_int_equal(roam_session_accept(s, cid, NULL, 0, g_disp, &accepted_conn), 0);
}

static void test_connect_reject_when_not_listening(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  roam_msg m = sp_msg(ROAM_MSG_CONNECT, 0);
  m.request_id = 1;
  sp_send(p, &m);
  uint8_t out[64], want[64];
  size_t wl, n = sp_take_raw(p, out, sizeof out);
  uint8_t raw[64];
  size_t rl;
  read_file("wire/message_reject.bin", raw, &rl);
  wl = roam_cobs_encode(raw, rl, want);
  want[wl++] = 0;
  assert_int_equal(n, wl);
  assert_memory_equal(out, want, wl);
  sp_free(p);
}

static void test_virtual_connection(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  roam_session_callbacks cbs = {0};
  cbs.on_connect = on_connect_accept;
  sp *p = sp_new_cfg(&cfg, &cbs);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  roam_session_listen(p->s, true);
  sp_handshake(p, 1 << 20, 1 << 16);
  roam_msg m = sp_msg(ROAM_MSG_CONNECT, 0);
  m.request_id = 1;
  sp_send(p, &m);
  roam_msg a;
  assert_true(sp_next(p, &a));
  assert_int_equal(a.kind, ROAM_MSG_ACCEPT);
  assert_int_equal(a.request_id, 1);
  assert_int_equal(a.conn_id, 1);
  /* calls on conn 1 and conn 0 */
  sp_request(p, 1, 1, M_ECHO, "\x01y", 2, NULL, 0);
  assert_true(sp_next(p, &a));
  assert_int_equal(a.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(a.conn_id, 1);
  /* Goodbye on conn 1 leaves conn 0 working */
  roam_msg g = sp_msg(ROAM_MSG_GOODBYE, 1);
  sp_send(p, &g);
  assert_false(roam_session_conn_exists(p->s, 1));
  sp_request(p, 0, 1, M_ECHO, "\x01z", 2, NULL, 0);
  assert_true(sp_next(p, &a));
  assert_int_equal(a.kind, ROAM_MSG_RESPONSE);
  assert_int_equal(a.conn_id, 0);
  /* a Request on the closed connection is a violation */
  sp_request(p, 1, 2, M_ECHO, "\x01z", 2, NULL, 0);
  expect_goodbye(p, "message.conn-id");
  sp_free(p);
}

static int connect_status;
static uint64_t connect_conn;
static void on_connected(roam_session *s, int status, uint64_t conn_id, roam_bytes reason,
                         const roam_metadata *md, void *ud) {
  (void)s;
  (void)reason;
  (void)md;
  (void)ud;
  connect_status = status;
  connect_conn = conn_id;
}

static void test_outgoing_connect(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 1 << 20, 1 << 16);
  connect_status = 99;
  assert_int_equal(roam_session_connect(p->s, NULL, 0, 1000, on_connected, NULL), 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_CONNECT);
  roam_msg a = sp_msg(ROAM_MSG_ACCEPT, 5);
  a.request_id = m.request_id;
  sp_send(p, &a);
  assert_int_equal(connect_status, 0);
  assert_int_equal(connect_conn, 5);
  nresults = 0;
  roam_call_opts o = {0};
  o.conn_id = 5;
  assert_int_equal(roam_call(p->s, 1, NULL, 0, &o, on_result, NULL, NULL), 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.conn_id, 5);
  assert_int_equal(m.request_id, 1);
  /* peer Goodbye on 5: the call fails, conn 0 stays */
  roam_msg g = sp_msg(ROAM_MSG_GOODBYE, 5);
  sp_send(p, &g);
  assert_int_equal(nresults, 1);
  assert_int_equal(results[0], ROAM_ERR_CLOSED);
  assert_false(roam_session_is_closed(p->s));
  /* rejected connect */
  assert_int_equal(roam_session_connect(p->s, NULL, 0, 1000, on_connected, NULL), 0);
  assert_true(sp_next(p, &m));
  roam_msg r = sp_msg(ROAM_MSG_REJECT, 0);
  r.request_id = m.request_id;
  r.reason.ptr = (const uint8_t *)"no";
  r.reason.len = 2;
  sp_send(p, &r);
  assert_int_equal(connect_status, ROAM_ERR_REJECTED);
  sp_free(p);
}

/* ---- regressions found by the back-to-back and allocation-failure tests ---- */

/* roam_session_free() left the pooled request handles allocated. */
static void test_free_releases_everything(void **st) {
  (void)st;
  tmem t;
  tmem_init(&t);
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.mem = &t.mem;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, g_disp);
  sp_handshake(p, 1 << 20, 1 << 16);
  sp_request(p, 0, 1, M_ECHO, "\x01x", 2, NULL, 0);
  held_req = NULL;
  sp_request(p, 0, 2, M_SLOW, NULL, 0, NULL, 0);
  assert_int_equal(roam_request_respond_ok(held_req, NULL, 0), 0);
  sp_request(p, 0, 3, M_SLOW, NULL, 0, NULL, 0); /* still held at free */
  assert_true(t.bytes > 0);
  sp_free(p);
  assert_int_equal(t.bytes, 0);
  assert_int_equal(t.live, 0);
}

static int ends[8], nends, datas;
static int rec_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)ch, (void)v, (void)ud;
  datas++;
  return 0;
}
static void rec_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)ud;
  ends[nends++] = err;
}
static const roam_channel_callbacks rec_cbs = {rec_data, rec_end, NULL};

/* A queued call (not sent yet) that ended took its channels away without
 * on_end. */
static void test_queued_call_channels_end(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  cfg.max_outgoing_calls = 1;
  sp *p = sp_new_cfg(&cfg, NULL);
  sp_handshake(p, 1 << 20, 1 << 16);
  nresults = nends = 0;
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), 0);
  uint64_t ch, rid;
  roam_call_opts o = {0};
  for (int round = 0; round < 2; round++) {
    assert_int_equal(roam_channel_alloc(p->s, 0, ROAM_CHAN_RECV, &rec_cbs, NULL, &ch), 0);
    o.channels = &ch;
    o.channel_count = 1;
    o.timeout_ms = round == 1 ? 10 : 0;
    assert_int_equal(roam_call(p->s, 5, NULL, 0, &o, on_result, NULL, &rid), 0); /* queued */
    if (round == 0)
      assert_int_equal(roam_call_cancel(p->s, 0, rid), 0);
    else
      roam_session_tick(p->s, 10);
    assert_int_equal(nresults, round + 1);
    assert_int_equal(results[round], round == 0 ? ROAM_ERR_CANCELLED : ROAM_ERR_TIMEOUT);
    assert_int_equal(nends, round + 1);
    assert_int_equal(ends[round], ROAM_ERR_CANCELLED);
  }
  /* ... and when the link closes */
  assert_int_equal(roam_channel_alloc(p->s, 0, ROAM_CHAN_RECV, &rec_cbs, NULL, &ch), 0);
  o.timeout_ms = 0;
  assert_int_equal(roam_call(p->s, 5, NULL, 0, &o, on_result, NULL, &rid), 0);
  roam_session_eof(p->s);
  assert_int_equal(nends, 3);
  assert_int_equal(ends[2], ROAM_ERR_CLOSED);
  sp_free(p);
}

/* A channel reset by the application while its call was queued: the
 * Request later named it but no Reset followed, and the peer's Data on it
 * drew Goodbye flow.channel.credit-overrun. */
static void test_reset_channel_of_queued_call(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  cfg.max_outgoing_calls = 1;
  sp *p = sp_new_cfg(&cfg, NULL);
  sp_handshake(p, 1 << 20, 16);
  nresults = nends = datas = 0;
  uint64_t ch, rid;
  assert_int_equal(roam_call(p->s, 5, NULL, 0, NULL, on_result, NULL, NULL), 0);
  assert_int_equal(roam_channel_alloc(p->s, 0, ROAM_CHAN_RECV, &rec_cbs, NULL, &ch), 0);
  roam_call_opts o = {0};
  o.channels = &ch;
  o.channel_count = 1;
  assert_int_equal(roam_call(p->s, 5, NULL, 0, &o, on_result, NULL, &rid), 0);
  assert_int_equal(roam_channel_reset(p->s, 0, ch), 0);
  roam_msg m;
  assert_true(sp_next(p, &m)); /* Request 1 */
  assert_int_equal(sp_next(p, &m), 0);
  roam_msg r = sp_msg(ROAM_MSG_RESPONSE, 0);
  r.request_id = 1;
  r.payload.ptr = (const uint8_t *)"\x00";
  r.payload.len = 1;
  sp_send(p, &r);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_REQUEST);
  assert_int_equal(m.request_id, rid);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESET);
  assert_int_equal(m.channel_id, ch);
  /* Data that crossed the Reset: ignored */
  uint8_t v[16] = {0};
  sp_chan_msg(p, ROAM_MSG_DATA, 0, ch, v, sizeof v, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, ch, v, sizeof v, 0);
  expect_nothing(p);
  assert_int_equal(datas, 0);
  assert_int_equal(nends, 0); /* the application ended it itself */
  sp_free(p);
}

/* An Accept that arrived after our Connect timed out was ignored, leaving
 * the peer with a connection it went on using: its Requests on it drew
 * Goodbye message.conn-id. Now the connection is closed at once. */
static void test_stale_accept_closed(void **st) {
  (void)st;
  sp *p = sp_new(ROAM_ROLE_INITIATOR);
  sp_handshake(p, 1 << 20, 1 << 16);
  connect_status = 99;
  assert_int_equal(roam_session_connect(p->s, NULL, 0, 100, on_connected, NULL), 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_CONNECT);
  roam_session_tick(p->s, 100);
  assert_int_equal(connect_status, ROAM_ERR_TIMEOUT);
  roam_msg a = sp_msg(ROAM_MSG_ACCEPT, 3);
  a.request_id = m.request_id;
  sp_send(p, &a);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_GOODBYE);
  assert_int_equal(m.conn_id, 3);
  /* what the peer sent before it saw the Goodbye is ignored */
  sp_request(p, 3, 1, M_ECHO, NULL, 0, NULL, 0);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 3, 1, NULL, 0, 0);
  expect_nothing(p);
  /* an Accept for a Connect we never sent is still just ignored */
  a.request_id = 77;
  a.conn_id = 4;
  sp_send(p, &a);
  expect_nothing(p);
  sp_free(p);
}

/* A Request (or Data/Close) that crossed our Goodbye on a virtual
 * connection drew Goodbye message.conn-id on the link. */
static void test_request_crossing_our_goodbye(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  roam_session_callbacks cbs = {0};
  cbs.on_connect = on_connect_accept;
  sp *p = sp_new_cfg(&cfg, &cbs);
  roam_session_listen(p->s, true);
  sp_handshake(p, 1 << 20, 1 << 16);
  roam_msg m = sp_msg(ROAM_MSG_CONNECT, 0);
  m.request_id = 1;
  sp_send(p, &m);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_ACCEPT);
  assert_int_equal(roam_session_conn_close(p->s, accepted_conn, "bye"), 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_GOODBYE);
  uint64_t ch = 1;
  sp_request(p, accepted_conn, 1, M_SUM, "\x01", 1, &ch, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, accepted_conn, 1, "\x02", 1, 0);
  sp_chan_msg(p, ROAM_MSG_CLOSE, accepted_conn, 1, NULL, 0, 0);
  expect_nothing(p);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.ignored[ROAM_IGNORE_UNKNOWN_CONN], 3);
  /* a connection that never existed is still a violation */
  sp_request(p, 9, 1, M_ECHO, NULL, 0, NULL, 0);
  expect_goodbye(p, "message.conn-id");
  sp_free(p);
}

/* The caller reset its Tx before the handler bound it: bind failed with
 * ROAM_ERR_STATE. Now it binds, and the channel ends (CANCELLED) at once. */
static roam_request *late_req;
static void h_late(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  late_req = r;
}
static void test_reset_before_bind(void **st) {
  (void)st;
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 0x42, h_late, NULL);
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_session_set_dispatcher(p->s, 0, d);
  sp_handshake(p, 1 << 20, 1 << 16);
  uint64_t ch = 1;
  late_req = NULL;
  sp_request(p, 0, 1, 0x42, NULL, 0, &ch, 1);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0);
  sp_chan_msg(p, ROAM_MSG_RESET, 0, 1, NULL, 0, 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0); /* late: ignored */
  assert_non_null(late_req);
  nends = datas = 0;
  assert_int_equal(roam_request_bind_channel(late_req, 0, ROAM_CHAN_RECV, &rec_cbs, NULL), 0);
  assert_int_equal(datas, 0); /* what was buffered went with the Reset */
  assert_int_equal(nends, 1);
  assert_int_equal(ends[0], ROAM_ERR_CANCELLED);
  assert_int_equal(roam_request_respond_ok(late_req, NULL, 0), 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  expect_nothing(p);
  sp_free(p);
  roam_dispatcher_free(d);
}

/* A handle answered by the session (Cancel) kept a pointer to its
 * connection; once the connection was gone, roam_request_bind_channel()
 * read freed memory. */
static void test_bind_after_cancel_and_goodbye(void **st) {
  (void)st;
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 0x42, h_late, NULL);
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  roam_session_callbacks cbs = {0};
  cbs.on_connect = on_connect_accept;
  sp *p = sp_new_cfg(&cfg, &cbs);
  roam_session_listen(p->s, true);
  sp_handshake(p, 1 << 20, 1 << 16);
  roam_msg m = sp_msg(ROAM_MSG_CONNECT, 0);
  m.request_id = 1;
  sp_send(p, &m);
  sp_next(p, &m);
  roam_session_set_dispatcher(p->s, accepted_conn, d);
  uint64_t ch = 1;
  late_req = NULL;
  sp_request(p, accepted_conn, 1, 0x42, NULL, 0, &ch, 1);
  assert_non_null(late_req);
  roam_msg c = sp_msg(ROAM_MSG_CANCEL, accepted_conn);
  c.request_id = 1;
  sp_send(p, &c);
  roam_msg g = sp_msg(ROAM_MSG_GOODBYE, accepted_conn);
  sp_send(p, &g);
  assert_false(roam_session_conn_exists(p->s, accepted_conn));
  assert_int_equal(roam_request_bind_channel(late_req, 0, ROAM_CHAN_RECV, &rec_cbs, NULL),
                   ROAM_ERR_CANCELLED);
  assert_int_equal(roam_request_respond_ok(late_req, NULL, 0), ROAM_ERR_CANCELLED);
  sp_free(p);
  roam_dispatcher_free(d);
}

/* A Request listing more than two channels wrote the ids past the inline
 * array of the handle (its count was set only afterwards). */
static void test_request_three_channels(void **st) {
  (void)st;
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 0x42, h_late, NULL);
  sp *p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_session_set_dispatcher(p->s, 0, d);
  sp_handshake(p, 1 << 20, 1 << 16);
  uint64_t chs[3] = {1, 3, 5};
  late_req = NULL;
  sp_request(p, 0, 1, 0x42, NULL, 0, chs, 3);
  assert_non_null(late_req);
  assert_int_equal(roam_request_channel_count(late_req), 3);
  for (size_t i = 0; i < 3; i++) assert_int_equal(roam_request_channel_id(late_req, i), chs[i]);
  nends = datas = 0;
  assert_int_equal(roam_request_bind_channel(late_req, 2, ROAM_CHAN_RECV, &rec_cbs, NULL), 0);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 5, "\x02", 1, 0);
  assert_int_equal(datas, 1);
  sp_chan_msg(p, ROAM_MSG_CLOSE, 0, 5, NULL, 0, 0);
  assert_int_equal(nends, 1);
  assert_int_equal(roam_request_respond_ok(late_req, NULL, 0), 0);
  sp_free(p);
  /* the same id twice in one Request */
  p = sp_new(ROAM_ROLE_ACCEPTOR);
  roam_session_set_dispatcher(p->s, 0, d);
  sp_handshake(p, 1 << 20, 1 << 16);
  uint64_t dup[3] = {1, 3, 1};
  sp_request(p, 0, 1, 0x42, NULL, 0, dup, 3);
  expect_goodbye(p, "channeling.id.uniqueness");
  sp_free(p);
  roam_dispatcher_free(d);
}

/* Empty values cost no credit: buffered one allocation each on a channel
 * the handler had not bound yet, a peer could make the session grow
 * without bound. Runs of them are now counted, not stored. */
static void test_empty_values_before_bind_bounded(void **st) {
  (void)st;
  tmem t;
  tmem_init(&t);
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 0x42, h_late, NULL);
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.mem = &t.mem;
  cfg.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, d);
  sp_handshake(p, 1 << 20, 1 << 16);
  uint64_t ch = 1;
  late_req = NULL;
  sp_request(p, 0, 1, 0x42, NULL, 0, &ch, 1);
  assert_non_null(late_req);
  /* one frame, many empty Data */
  static uint8_t stream[20000 * 8];
  size_t n = 0;
  uint8_t raw[16];
  size_t rl;
  roam_msg m = sp_msg(ROAM_MSG_DATA, 0);
  m.channel_id = 1;
  assert_int_equal(roam_msg_encode_buf(&m, raw, sizeof raw, &rl), 0);
  for (int i = 0; i < 20000; i++) {
    n += roam_cobs_encode(raw, rl, stream + n);
    stream[n++] = 0;
  }
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x02", 1, 0); /* a value, then the run */
  size_t before = t.bytes;
  assert_int_equal(sp_feed(p, stream, n), 0);
  assert_true(t.bytes - before < 256);
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  assert_int_equal(stats.heap_bytes, t.bytes);
  sp_chan_msg(p, ROAM_MSG_DATA, 0, 1, "\x04", 1, 0);
  nends = datas = 0;
  assert_int_equal(roam_request_bind_channel(late_req, 0, ROAM_CHAN_RECV, &rec_cbs, NULL), 0);
  assert_int_equal(datas, 20002);
  assert_int_equal(roam_request_respond_ok(late_req, NULL, 0), 0);
  sp_free(p);
  roam_dispatcher_free(d);
  assert_int_equal(t.bytes, 0);
}

/* A Response with metadata reserved no output room for itself (its size was
 * computed as 0), so out of memory could leave the Close of its output
 * channel sent and the Response not: the answer must be all or nothing. */
static void test_answer_with_metadata_all_or_nothing(void **st) {
  (void)st;
  tmem t;
  tmem_init(&t);
  roam_dispatcher *d = roam_dispatcher_new(NULL);
  roam_dispatcher_add(d, 0x42, h_late, NULL);
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_ACCEPTOR);
  cfg.mem = &t.mem;
  sp *p = sp_new_cfg(&cfg, NULL);
  roam_session_set_dispatcher(p->s, 0, d);
  sp_handshake(p, 1 << 20, 1 << 16);
  uint64_t ch = 1;
  late_req = NULL;
  sp_request(p, 0, 1, 0x42, NULL, 0, &ch, 1);
  assert_int_equal(roam_request_bind_channel(late_req, 0, ROAM_CHAN_SEND, &rec_cbs, NULL), 0);
  roam_msg m;
  while (sp_next(p, &m)) {
  }
  static uint8_t big[8192];
  roam_meta_entry md;
  memset(&md, 0, sizeof md);
  md.key = (roam_bytes){(const uint8_t *)"k", 1};
  md.kind = ROAM_META_BYTES;
  md.value = (roam_bytes){big, sizeof big};
  t.fail_at = t.allocs + 1; /* no more memory */
  t.fail_every = 1;
  assert_int_equal(roam_request_respond_raw(late_req, "\x00", 1, &md, 1), ROAM_ERR_NOMEM);
  t.fail_at = 0;
  assert_false(roam_session_want_write(p->s)); /* no Close went out alone */
  assert_int_equal(roam_channel_send(p->s, 0, 1, "\x02", 1), 0); /* still open */
  assert_int_equal(roam_request_respond_raw(late_req, "\x00", 1, &md, 1), 0);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_DATA);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_CLOSE);
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_RESPONSE);
  sp_free(p);
  roam_dispatcher_free(d);
  assert_int_equal(t.bytes, 0);
}

/* Message transports: roam_session_next_message() consumed the length
 * prefix, so asking again before consume() returned garbage. */
static void test_next_message_idempotent(void **st) {
  (void)st;
  roam_session_config cfg;
  roam_session_config_init(&cfg, ROAM_ROLE_INITIATOR);
  cfg.flags |= ROAM_SESSION_MESSAGE_TRANSPORT;
  roam_session *s;
  assert_int_equal(roam_session_new(&s, &cfg, NULL, NULL), 0);
  roam_bytes a, b;
  assert_int_equal(roam_session_next_message(s, &a), 0);
  assert_int_equal(roam_session_next_message(s, &b), 0);
  assert_true(a.len > 0);
  assert_ptr_equal(a.ptr, b.ptr);
  assert_int_equal(a.len, b.len);
  roam_msg m;
  assert_int_equal(roam_msg_decode(&m, a.ptr, a.len), 0);
  assert_int_equal(m.kind, ROAM_MSG_HELLO);
  roam_session_consume(s, a.len);
  assert_int_equal(roam_session_next_message(s, &b), 0);
  assert_int_equal(b.len, 0);
  assert_false(roam_session_want_write(s));
  roam_session_free(s);
}

static void test_graceful_close(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  assert_int_equal(roam_session_close(p->s), 0);
  roam_msg m;
  assert_true(sp_next(p, &m));
  assert_int_equal(m.kind, ROAM_MSG_GOODBYE);
  assert_int_equal(m.reason.len, 0);
  assert_true(roam_session_is_done(p->s));
  assert_int_equal(p->closed_err, 0);
  sp_free(p);
}

static void test_split_input_every_byte(void **st) {
  (void)st;
  /* Requests fed one byte at a time give the same answers. */
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  uint8_t stream[4096];
  size_t sl = 0;
  for (uint64_t i = 1; i <= 20; i++) {
    roam_msg m = sp_msg(ROAM_MSG_REQUEST, 0);
    m.request_id = i;
    m.method_id = M_ECHO;
    uint8_t arg[3] = {2, (uint8_t)i, 0};
    m.payload.ptr = arg;
    m.payload.len = 3;
    uint8_t raw[64];
    size_t rl;
    roam_msg_encode_buf(&m, raw, sizeof raw, &rl);
    sl += roam_cobs_encode(raw, rl, stream + sl);
    stream[sl++] = 0;
  }
  for (size_t i = 0; i < sl; i++) assert_int_equal(sp_feed(p, stream + i, 1), 0);
  roam_msg m;
  for (uint64_t i = 1; i <= 20; i++) {
    assert_true(sp_next(p, &m));
    assert_int_equal(m.request_id, i);
    assert_int_equal(m.payload.ptr[2], (uint8_t)i);
  }
  sp_free(p);
}

static void test_idle_memory(void **st) {
  (void)st;
  sp *p = ready_acceptor(1 << 20, 1 << 16);
  roam_msg m;
  while (sp_next(p, &m)) {
  }
  roam_session_stats stats;
  roam_session_get_stats(p->s, &stats);
  print_message("idle session after handshake: %zu heap bytes\n", stats.heap_bytes);
  assert_true(stats.heap_bytes <= 4096);
  sp_free(p);
}

int main(void) {
  g_disp = make_disp();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello_bytes),
      cmocka_unit_test(test_negotiation),
      cmocka_unit_test(test_hello_v1),
      cmocka_unit_test(test_hello_unknown_variant),
      cmocka_unit_test(test_request_before_hello),
      cmocka_unit_test(test_late_hello_ignored),
      cmocka_unit_test(test_late_hello_unknown_variant),
      cmocka_unit_test(test_handshake_timeout),
      cmocka_unit_test(test_echo_exact_bytes),
      cmocka_unit_test(test_unknown_method),
      cmocka_unit_test(test_pipelined_out_of_order),
      cmocka_unit_test(test_duplicate_request_id),
      cmocka_unit_test(test_payload_limit),
      cmocka_unit_test(test_metadata_limits),
      cmocka_unit_test(test_unknown_conn),
      cmocka_unit_test(test_unknown_discriminant_and_garbage),
      cmocka_unit_test(test_sum_channel),
      cmocka_unit_test(test_channel_even_id_and_invalid_data),
      cmocka_unit_test(test_channel_zero),
      cmocka_unit_test(test_unknown_channel_each_kind),
      cmocka_unit_test(test_credit_overrun),
      cmocka_unit_test(test_credit_granted_back),
      cmocka_unit_test(test_output_in_two_pieces),
      cmocka_unit_test(test_credit_no_stall_on_large_values),
    cmocka_unit_test(test_channel_window),
    cmocka_unit_test(test_short_stream_no_credit),
    cmocka_unit_test(test_credit_taken_back_on_close),
    cmocka_unit_test(test_credit_taken_back_on_reset),
    cmocka_unit_test(test_credit_partly_sent_stays),
    cmocka_unit_test(test_unsent_credits_fold),
    cmocka_unit_test(test_no_credit_after_close_on_late_bind),
      cmocka_unit_test(test_generate_respects_credit),
      cmocka_unit_test(test_reset_and_late_messages),
      cmocka_unit_test(test_incoming_cancel),
      cmocka_unit_test(test_call_before_handshake_waits),
      cmocka_unit_test(test_remote_errors),
      cmocka_unit_test(test_call_timeout_and_cancel),
      cmocka_unit_test(test_eof_fails_pending),
      cmocka_unit_test(test_outgoing_limit_queue),
      cmocka_unit_test(test_incoming_limit_refuses),
      cmocka_unit_test(test_local_payload_too_large),
      cmocka_unit_test(test_connect_reject_when_not_listening),
      cmocka_unit_test(test_virtual_connection),
      cmocka_unit_test(test_outgoing_connect),
      cmocka_unit_test(test_free_releases_everything),
      cmocka_unit_test(test_queued_call_channels_end),
      cmocka_unit_test(test_reset_channel_of_queued_call),
      cmocka_unit_test(test_stale_accept_closed),
      cmocka_unit_test(test_request_crossing_our_goodbye),
      cmocka_unit_test(test_reset_before_bind),
      cmocka_unit_test(test_bind_after_cancel_and_goodbye),
      cmocka_unit_test(test_next_message_idempotent),
      cmocka_unit_test(test_request_three_channels),
      cmocka_unit_test(test_empty_values_before_bind_bounded),
      cmocka_unit_test(test_answer_with_metadata_all_or_nothing),
      cmocka_unit_test(test_graceful_close),
      cmocka_unit_test(test_split_input_every_byte),
      cmocka_unit_test(test_idle_memory),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  roam_dispatcher_free(g_disp);
  return rc;
}
