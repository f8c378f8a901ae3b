/*
 * Seed corpus of the session fuzzers (fuzz/corpus/session/): handcrafted
 * streams built here, so that they stay valid when the wire format or the
 * harnesses change.
 *
 *   recv_*.bin    for fuzz_session_recv: [options][split][time step] and the
 *                 bytes of a peer: Requests to the harness's handlers (echo,
 *                 hold, sum with a Tx stream, generate with credit, late
 *                 binding), Cancel, Connect, answers to the harness's own
 *                 calls (Response, Data, Close, Credit, Accept), Goodbye.
 *   frames_*.bin  for fuzz_session_frames: programs in its step language.
 *
 * The test checks that the committed files are exactly what this builds
 * (ROAM_WRITE_SEEDS=1 rewrites them) and that every peer stream decodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <roam/roam.h>

typedef struct buf {
  uint8_t b[8192];
  size_t n;
} buf;

static void put(buf *o, const void *p, size_t n) {
  assert_true(o->n + n <= sizeof o->b);
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
static void put8(buf *o, uint8_t v) { put(o, &v, 1); }

/* One message, framed (COBS) or length-prefixed (message transport). */
static void msg(buf *o, const roam_msg *m, int msg_mode) {
  uint8_t raw[1024], fr[1100];
  size_t rl;
  assert_int_equal(roam_msg_encode_buf(m, raw, sizeof raw, &rl), 0);
  roam_msg back;
  assert_int_equal(roam_msg_decode(&back, raw, rl), 0);
  if (msg_mode) {
    put8(o, (uint8_t)rl);
    put8(o, (uint8_t)(rl >> 8));
    put(o, raw, rl);
    return;
  }
  size_t fl = roam_cobs_encode(raw, rl, fr);
  fr[fl++] = 0;
  put(o, fr, fl);
}

static roam_msg mk(roam_msg_kind k, uint64_t conn) {
  roam_msg m;
  memset(&m, 0, sizeof m);
  m.kind = k;
  m.conn_id = conn;
  return m;
}
static void request(buf *o, int mm, uint64_t conn, uint64_t rid, uint64_t method, const char *p,
                    size_t n, const uint64_t *ch, size_t nch) {
  roam_msg m = mk(ROAM_MSG_REQUEST, conn);
  m.request_id = rid;
  m.method_id = method;
  m.payload.ptr = (const uint8_t *)p;
  m.payload.len = n;
  m.channels.items = ch;
  m.channels.count = nch;
  msg(o, &m, mm);
}
static void chanmsg(buf *o, int mm, roam_msg_kind k, uint64_t conn, uint64_t ch, const char *p,
                    size_t n, uint32_t credit) {
  roam_msg m = mk(k, conn);
  m.channel_id = ch;
  m.payload.ptr = (const uint8_t *)p;
  m.payload.len = n;
  m.credit = credit;
  msg(o, &m, mm);
}
static void response(buf *o, int mm, uint64_t conn, uint64_t rid, const char *p, size_t n) {
  roam_msg m = mk(ROAM_MSG_RESPONSE, conn);
  m.request_id = rid;
  m.payload.ptr = (const uint8_t *)p;
  m.payload.len = n;
  msg(o, &m, mm);
}
static void simple(buf *o, int mm, roam_msg_kind k, uint64_t conn, uint64_t rid) {
  roam_msg m = mk(k, conn);
  m.request_id = rid;
  msg(o, &m, mm);
}

/* The harness's methods (fuzz_session_recv.c). */
enum { H_ECHO = 1, H_HOLD = 2, H_SUM = 3, H_GEN = 4, H_LATE = 5 };
/* Its options byte. */
enum { O_ACCEPTOR = 1, O_TINY = 2, O_HANDLERS = 4, O_LISTEN = 8, O_NODIAG = 0x40, O_MSG = 0x80 };

/* The peer calls the harness's handlers (the peer is the initiator when the
 * harness accepts: odd channel ids). */
static void calls_into_handlers(buf *o, int mm, uint64_t conn) {
  uint64_t c1 = 1, c3 = 3, c5 = 5, c7[2] = {7, 9};
  request(o, mm, conn, 1, H_ECHO, "\x02hi", 3, NULL, 0);
  request(o, mm, conn, 2, H_ECHO, "\x01", 1, NULL, 0);
  request(o, mm, conn, 3, H_HOLD, NULL, 0, NULL, 0);
  request(o, mm, conn, 4, H_HOLD, NULL, 0, NULL, 0);
  simple(o, mm, ROAM_MSG_CANCEL, conn, 3);
  request(o, mm, conn, 5, H_SUM, "\x01", 1, &c1, 1);
  chanmsg(o, mm, ROAM_MSG_DATA, conn, 1, "\x02", 1, 0);
  chanmsg(o, mm, ROAM_MSG_DATA, conn, 1, "\x04\x05", 2, 0);
  chanmsg(o, mm, ROAM_MSG_CLOSE, conn, 1, NULL, 0, 0);
  request(o, mm, conn, 6, H_GEN, "\x08", 1, &c3, 1);
  chanmsg(o, mm, ROAM_MSG_CREDIT, conn, 3, NULL, 0, 12);
  chanmsg(o, mm, ROAM_MSG_CREDIT, conn, 3, NULL, 0, 12);
  request(o, mm, conn, 7, H_LATE, NULL, 0, &c5, 1);
  chanmsg(o, mm, ROAM_MSG_DATA, conn, 5, "\x06", 1, 0);
  chanmsg(o, mm, ROAM_MSG_DATA, conn, 5, "", 0, 0);
  chanmsg(o, mm, ROAM_MSG_CLOSE, conn, 5, NULL, 0, 0);
  request(o, mm, conn, 8, H_LATE, NULL, 0, c7, 2);
  chanmsg(o, mm, ROAM_MSG_RESET, conn, 9, NULL, 0, 0);
  request(o, mm, conn, 9, 0x99, NULL, 0, NULL, 0); /* unknown method */
}

static void seed_recv_requests(buf *o) {
  put8(o, O_ACCEPTOR | O_HANDLERS | O_LISTEN | O_NODIAG);
  put8(o, 0);  /* all at once */
  put8(o, 40); /* ms per piece */
  calls_into_handlers(o, 0, 0);
  roam_msg c = mk(ROAM_MSG_CONNECT, 0);
  c.request_id = 1;
  msg(o, &c, 0);
  simple(o, 0, ROAM_MSG_CANCEL, 0, 4);
  roam_msg g = mk(ROAM_MSG_GOODBYE, 0);
  msg(o, &g, 0);
}

static void seed_recv_split(buf *o) {
  put8(o, O_ACCEPTOR | O_HANDLERS | O_TINY);
  put8(o, 5); /* five bytes at a time */
  put8(o, 3);
  calls_into_handlers(o, 0, 0);
}

static void seed_recv_messages(buf *o) {
  put8(o, O_ACCEPTOR | O_HANDLERS | O_LISTEN | O_MSG);
  put8(o, 0);
  put8(o, 10);
  calls_into_handlers(o, 1, 0);
}

/* The harness is the initiator and answers nothing itself: the peer answers
 * its calls (1 echo, 2 sum with Tx channel 1, 3 generate with Rx channel 3,
 * 4 hold with a deadline) and its Connect (link request id 1). */
static void seed_recv_answers(buf *o) {
  put8(o, O_NODIAG);
  put8(o, 0);
  put8(o, 50);
  response(o, 0, 0, 1, "\x00\x01x", 3);
  chanmsg(o, 0, ROAM_MSG_CREDIT, 0, 1, NULL, 0, 64);
  chanmsg(o, 0, ROAM_MSG_DATA, 0, 3, "\x00\x01\x02", 3, 0);
  chanmsg(o, 0, ROAM_MSG_DATA, 0, 3, "\x01\x01\x02", 3, 0);
  chanmsg(o, 0, ROAM_MSG_CLOSE, 0, 3, NULL, 0, 0);
  response(o, 0, 0, 3, "\x00\x02", 2);
  roam_msg a = mk(ROAM_MSG_ACCEPT, 1);
  a.request_id = 1;
  msg(o, &a, 0);
  request(o, 0, 1, 1, H_ECHO, "\x01z", 2, NULL, 0);
  chanmsg(o, 0, ROAM_MSG_RESET, 0, 1, NULL, 0, 0);
  response(o, 0, 0, 2, "\x01\x03", 2);
  response(o, 0, 0, 4, "\x01\x00\x07", 3);
  roam_msg g = mk(ROAM_MSG_GOODBYE, 1);
  g.reason = (roam_bytes){(const uint8_t *)"bye", 3};
  msg(o, &g, 0);
}

/* A violation at the end: Data on a channel that was never opened. */
static void seed_recv_violation(buf *o) {
  put8(o, O_ACCEPTOR | O_HANDLERS);
  put8(o, 0);
  put8(o, 0);
  request(o, 0, 0, 1, H_ECHO, "\x00", 1, NULL, 0);
  chanmsg(o, 0, ROAM_MSG_DATA, 0, 77, "\x02", 1, 0);
}

/* ---- programs for fuzz_session_frames -------------------------------------------- */

/* Peer message kind k (1..11): op byte (k - 1); Hello: 176. */
static void p_op(buf *o, int kind) { put8(o, (uint8_t)(kind - 1)); }
/* Fields in the order the interpreter reads them. */
static void p_conn0(buf *o) { put8(o, 0); }
static void p_id(buf *o, uint8_t id) { put8(o, (uint8_t)(id - 1)); } /* 1..12 */
static void p_nometa(buf *o) { put8(o, 0); }
static void p_payload(buf *o, const char *p, uint8_t n) {
  put8(o, n);
  put(o, p, n);
}
static void p_request(buf *o, uint8_t rid, uint8_t method, const uint8_t *ids, uint8_t nids,
                      const char *p, uint8_t n) {
  p_op(o, ROAM_MSG_REQUEST);
  p_conn0(o);
  p_id(o, rid);
  put8(o, (uint8_t)(method - 1));
  p_nometa(o);
  put8(o, nids);
  for (uint8_t i = 0; i < nids; i++) p_id(o, ids[i]);
  p_payload(o, p, n);
}
static void p_chan(buf *o, int kind, uint8_t ch) {
  p_op(o, kind);
  p_conn0(o);
  p_id(o, ch);
}
static void p_data(buf *o, uint8_t ch, const char *p, uint8_t n) {
  p_chan(o, ROAM_MSG_DATA, ch);
  p_payload(o, p, n);
}
static void p_app(buf *o, uint8_t action, uint8_t arg) {
  put8(o, (uint8_t)(178 + action));
  put8(o, arg);
}

static void seed_frames_handlers(buf *o) {
  put8(o, O_ACCEPTOR | O_HANDLERS | O_LISTEN);
  uint8_t one = 1, three = 3, five = 5;
  p_request(o, 1, H_ECHO, NULL, 0, "\x02hi", 3);
  p_request(o, 2, H_HOLD, NULL, 0, "", 0);
  p_op(o, ROAM_MSG_CANCEL);
  p_conn0(o);
  p_id(o, 2);
  p_request(o, 3, H_SUM, &one, 1, "", 0);
  p_data(o, 1, "\x02", 1);
  p_data(o, 1, "\x04", 1);
  p_chan(o, ROAM_MSG_CLOSE, 1);
  p_request(o, 4, H_GEN, &three, 1, "", 0);
  p_chan(o, ROAM_MSG_CREDIT, 3);
  put8(o, 40);
  p_request(o, 5, H_LATE, &five, 1, "", 0);
  p_data(o, 5, "\x06", 1);
  p_app(o, 6, 1); /* bind it (manual credit) */
  p_app(o, 10, 1); /* consume */
  p_chan(o, ROAM_MSG_CLOSE, 5);
  p_op(o, ROAM_MSG_CONNECT);
  p_id(o, 1);
  p_nometa(o);
  p_app(o, 7, 1); /* accept */
  p_app(o, 11, 0); /* drain */
  p_app(o, 0, 50); /* time */
}

static void seed_frames_own_calls(buf *o) {
  put8(o, 0); /* initiator, no handlers */
  p_app(o, 1, 0x08); /* a call with a Tx channel */
  p_app(o, 3, 4);    /* send on it */
  p_op(o, ROAM_MSG_RESPONSE);
  p_conn0(o);
  p_id(o, 1);
  p_nometa(o);
  put8(o, 0); /* Ok */
  p_payload(o, "\x01x", 2);
  p_chan(o, ROAM_MSG_CREDIT, 1);
  put8(o, 16);
  p_op(o, ROAM_MSG_DATA);
  p_conn0(o);
  p_id(o, 3);
  p_payload(o, "\x00\x01", 2);
  p_chan(o, ROAM_MSG_CLOSE, 3);
  p_op(o, ROAM_MSG_ACCEPT);
  p_id(o, 1);
  put8(o, 2 | (0 << 2)); /* conn 1 */
  p_nometa(o);
  p_app(o, 2, 3);  /* cancel */
  p_app(o, 0, 200); /* time: deadline, grace, credit warning */
  p_app(o, 9, 0);  /* Goodbye on the connection */
  p_app(o, 14, 1); /* graceful close */
}

typedef struct seed {
  const char *name;
  void (*build)(buf *);
} seed;

static const seed seeds[] = {
    {"recv_requests.bin", seed_recv_requests},     {"recv_split.bin", seed_recv_split},
    {"recv_messages.bin", seed_recv_messages},     {"recv_answers.bin", seed_recv_answers},
    {"recv_violation.bin", seed_recv_violation},   {"frames_handlers.bin", seed_frames_handlers},
    {"frames_own_calls.bin", seed_frames_own_calls},
};

static void test_seeds_up_to_date(void **st) {
  (void)st;
  int write = getenv("ROAM_WRITE_SEEDS") != NULL;
  for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
    buf *o = calloc(1, sizeof *o);
    seeds[i].build(o);
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz/corpus/session/%s", ROAM_SOURCE_DIR, seeds[i].name);
    if (write) {
      FILE *f = fopen(path, "wb");
      assert_non_null(f);
      assert_int_equal(fwrite(o->b, 1, o->n, f), o->n);
      fclose(f);
    } else {
      FILE *f = fopen(path, "rb");
      if (!f) fail_msg("%s missing (ROAM_WRITE_SEEDS=1 writes it)", path);
      static uint8_t have[8192];
      size_t n = fread(have, 1, sizeof have, f);
      fclose(f);
      if (n != o->n || memcmp(have, o->b, n))
        fail_msg("%s is stale (ROAM_WRITE_SEEDS=1 rewrites it)", path);
    }
    free(o);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_seeds_up_to_date)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
