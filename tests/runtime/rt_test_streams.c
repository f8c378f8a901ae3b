/*
 * Streams hundreds of times larger than a 256-byte credit window arrive
 * complete and in order, in both directions (and both at once), while other
 * calls proceed on the same link. With the runtime's default window (1 MiB
 * over a 64 KiB initial credit), a long stream still gets its Credits, a
 * few of them, both ways.
 */
#include <signal.h>
#include <string.h>

#include "rt_testlib.h"

#define VALUE 150 /* 152 bytes of postcard: fits the 256-byte window */
#define COUNT 2000 /* 300 KB per stream: ~1200 windows */

static int side_done, side_ok;

static void side_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  side_done++;
  size_t i = (size_t)(uintptr_t)ud;
  char want[32];
  uint8_t enc[40];
  int n = snprintf(want, sizeof want, "side-%zu", i);
  size_t len = t_enc_string(enc, sizeof enc, want, (size_t)n);
  if (res->status == 0 && res->value.len == len && memcmp(res->value.ptr, enc, len) == 0)
    side_ok++;
}

static size_t side_sent;
static void side_call(roam_client *c) {
  char s[32];
  uint8_t enc[40];
  int n = snprintf(s, sizeof s, "side-%zu", side_sent);
  size_t len = t_enc_string(enc, sizeof enc, s, (size_t)n);
  CHECK_EQ(roam_client_call_async(c, T_ECHO, enc, len, NULL, side_cb, (void *)(uintptr_t)side_sent), 0);
  side_sent++;
}

static roam_pending *start_in(roam_client *c, roam_chan **tx) {
  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_SEND, tx), 0);
  uint64_t id = roam_chan_id(*tx);
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, id);
  roam_call_opts o = {.channels = &id, .channel_count = 1};
  roam_pending *p = NULL;
  CHECK_EQ(roam_client_call_start(c, T_STREAM_IN, buf, roam_enc_size(&e), &o, &p), 0);
  return p;
}

static roam_pending *start_out(roam_client *c, roam_chan **rx, uint32_t count, uint32_t size) {
  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_RECV, rx), 0);
  uint64_t id = roam_chan_id(*rx);
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u32(&e, count);
  roam_enc_u32(&e, size);
  roam_enc_u64(&e, id);
  roam_call_opts o = {.channels = &id, .channel_count = 1};
  roam_pending *p = NULL;
  CHECK_EQ(roam_client_call_start(c, T_STREAM_OUT, buf, roam_enc_size(&e), &o, &p), 0);
  return p;
}

static void send_value(roam_chan *tx, uint64_t i, uint64_t *hash) {
  uint8_t v[VALUE], enc[VALUE + 8];
  t_fill_value(v, VALUE, i);
  roam_enc e;
  roam_enc_init(&e, enc, sizeof enc);
  roam_enc_bytes(&e, v, VALUE);
  CHECK_EQ(roam_chan_send(tx, enc, roam_enc_size(&e), 10000), 0);
  *hash = t_hash(*hash, v, VALUE);
}

static void check_in_reply(roam_pending *p, uint64_t count, uint64_t hash) {
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  uint64_t n = 0, bytes = 0, h = 0;
  roam_dec_u64(&d, &n);
  roam_dec_u64(&d, &bytes);
  roam_dec_u64(&d, &h);
  CHECK_EQ(roam_dec_finish(&d), 0);
  CHECK_EQ(n, count);
  CHECK_EQ(bytes, count * VALUE);
  CHECK(h == hash);
  roam_reply_free(&rep);
  roam_pending_free(p);
}

/* Receive one value and check it is value i. Returns false at the end. */
static bool recv_value(roam_chan *rx, uint64_t i, size_t size, uint64_t *hash) {
  roam_bytes v;
  int r = roam_chan_recv(rx, &v, 10000);
  if (r != 1) {
    CHECK_EQ(r, 1);
    return false;
  }
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  roam_bytes b;
  roam_dec_bytes(&d, &b);
  CHECK_EQ(roam_dec_finish(&d), 0);
  CHECK_EQ(b.len, size);
  uint8_t want[VALUE];
  t_fill_value(want, size, i);
  if (b.len != size || memcmp(b.ptr, want, size) != 0) {
    CHECK(!"value out of order or corrupted");
    return false;
  }
  *hash = t_hash(*hash, b.ptr, b.len);
  return true;
}

static void check_out_reply(roam_pending *p, uint64_t hash) {
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  uint64_t h = 0;
  roam_dec_u64(&d, &h);
  CHECK(h == hash);
  roam_reply_free(&rep);
  roam_pending_free(p);
}

static bool sides_done(void *ud) {
  (void)ud;
  return (size_t)side_done == side_sent;
}

static void run(const char *addr) {
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.initial_channel_credit = 256;
  roam_client *c;
  int r = roam_client_connect(&c, addr, &co, 5000);
  CHECK_EQ(r, 0);
  if (r) return;
  CHECK_EQ(roam_session_initial_credit(roam_client_session(c)), 256);
  side_done = side_ok = 0;
  side_sent = 0;

  /* caller -> callee */
  roam_chan *tx;
  roam_pending *p = start_in(c, &tx);
  uint64_t hash = T_HASH_INIT;
  for (uint64_t i = 0; i < COUNT; i++) {
    send_value(tx, i, &hash);
    if (i % 100 == 0) side_call(c);
  }
  CHECK_EQ(roam_chan_close(tx), 0);
  check_in_reply(p, COUNT, hash);
  roam_chan_free(tx);
  CHECK(side_done > 0); /* side calls completed while the stream ran */

  /* callee -> caller */
  roam_chan *rx;
  p = start_out(c, &rx, COUNT, VALUE);
  hash = T_HASH_INIT;
  for (uint64_t i = 0; i < COUNT; i++) {
    if (!recv_value(rx, i, VALUE, &hash)) break;
    CHECK(roam_chan_buffered(rx) <= 1); /* bounded by the 256-byte window */
    if (i % 100 == 0) side_call(c);
  }
  roam_bytes v;
  CHECK_EQ(roam_chan_recv(rx, &v, 5000), 0); /* end of stream */
  check_out_reply(p, hash);
  roam_chan_free(rx);

  /* both directions at once */
  roam_chan *tx2, *rx2;
  roam_pending *pin = start_in(c, &tx2);
  roam_pending *pout = start_out(c, &rx2, COUNT, VALUE);
  uint64_t hin = T_HASH_INIT, hout = T_HASH_INIT;
  for (uint64_t i = 0; i < COUNT; i++) {
    send_value(tx2, i, &hin);
    if (!recv_value(rx2, i, VALUE, &hout)) break;
    if (i % 200 == 0) side_call(c);
  }
  CHECK_EQ(roam_chan_close(tx2), 0);
  CHECK_EQ(roam_chan_recv(rx2, &v, 5000), 0);
  check_in_reply(pin, COUNT, hin);
  check_out_reply(pout, hout);
  roam_chan_free(tx2);
  roam_chan_free(rx2);

  CHECK_EQ(roam_loop_run_until(roam_client_loop(c), sides_done, NULL, 5000), 0);
  CHECK_EQ((size_t)side_ok, side_sent);
  roam_client_free(c);
}

/* Default options on both sides: a stream longer than the initial credit
 * cannot finish unless the receiver grants credit back. */
static void run_default_window(const char *addr) {
  roam_client *c;
  int r = roam_client_connect(&c, addr, NULL, 5000);
  CHECK_EQ(r, 0);
  if (r) return;
  roam_session_stats st;
  uint64_t total = (uint64_t)COUNT * (VALUE + 2); /* postcard: length + bytes */
  CHECK(total > roam_session_initial_credit(roam_client_session(c)));

  roam_chan *tx;
  roam_pending *p = start_in(c, &tx);
  uint64_t hash = T_HASH_INIT;
  for (uint64_t i = 0; i < COUNT; i++) send_value(tx, i, &hash);
  CHECK_EQ(roam_chan_close(tx), 0);
  check_in_reply(p, COUNT, hash);
  roam_chan_free(tx);
  roam_session_get_stats(roam_client_session(c), &st);
  CHECK(st.msgs_in[ROAM_MSG_CREDIT] >= 1);
  CHECK(st.credit_received + roam_session_initial_credit(roam_client_session(c)) >= total);

  roam_chan *rx;
  p = start_out(c, &rx, COUNT, VALUE);
  hash = T_HASH_INIT;
  for (uint64_t i = 0; i < COUNT; i++)
    if (!recv_value(rx, i, VALUE, &hash)) break;
  roam_bytes v;
  CHECK_EQ(roam_chan_recv(rx, &v, 5000), 0); /* end of stream */
  check_out_reply(p, hash);
  roam_chan_free(rx);
  roam_session_get_stats(roam_client_session(c), &st);
  CHECK(st.msgs_out[ROAM_MSG_CREDIT] >= 1);
  CHECK(st.msgs_out[ROAM_MSG_CREDIT] <= 4); /* one per half window, not per value */
  CHECK(st.credit_granted + roam_session_initial_credit(roam_client_session(c)) >= total);
  roam_client_free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  t_server_opts o = {.credit = 256};
  char bound[256], ua[128];
  t_unix_addr(ua, sizeof ua, "streams");
  pid_t pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    run(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  pid = t_fork_server("tcp://127.0.0.1:0", &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    run(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  t_server_opts dflt = {0};
  pid = t_fork_server("tcp://127.0.0.1:0", &dflt, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    run_default_window(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  return t_finish("rt_test_streams");
}
