/*
 * Slow readers: memory stays bounded, the sender is throttled, nothing is
 * lost.
 *  1. channel: the server streams 64 MB of 32 KiB values to a client that
 *     reads slowly; the server's RSS stays bounded (credit throttles it),
 *     the client never buffers more than its receive window (the runtime's
 *     1 MiB, then the reference's 64 KiB), every value arrives in order.
 *  2. link: a client pipelines 300 calls of 60 KB while not reading its
 *     socket; the server's output reaches its high-water mark, it stops
 *     reading, its RSS stays bounded; once the client reads again every
 *     answer arrives.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "rt_testlib.h"

static long server_rss(const char *addr) {
  roam_client *c;
  if (roam_client_connect(&c, addr, NULL, 2000) != 0) return -1;
  roam_reply rep;
  long kib = -1;
  if (roam_client_call(c, T_RSS, NULL, 0, NULL, &rep) == 0) {
    roam_dec d;
    roam_dec_init(&d, rep.value, rep.value_len);
    uint64_t v = 0;
    roam_dec_u64(&d, &v);
    kib = (long)v;
  }
  roam_reply_free(&rep);
  roam_client_free(c);
  return kib;
}

#define VAL (32 * 1024)
#define NVAL 2000

/* window: the client's channel_window (0 = the runtime's default, 1 MiB) */
static void test_channel(const char *addr, uint32_t window) {
  long base = server_rss(addr);
  CHECK(base > 0);
  roam_client *c;
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.channel_window = window;
  CHECK_EQ(roam_client_connect(&c, addr, &co, 2000), 0);
  roam_chan *rx;
  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_RECV, &rx), 0);
  uint64_t id = roam_chan_id(rx);
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u32(&e, NVAL);
  roam_enc_u32(&e, VAL);
  roam_enc_u64(&e, id);
  roam_call_opts o = {.channels = &id, .channel_count = 1};
  roam_pending *p;
  CHECK_EQ(roam_client_call_start(c, T_STREAM_OUT, buf, roam_enc_size(&e), &o, &p), 0);
  uint64_t hash = T_HASH_INIT;
  size_t max_buffered = 0;
  long max_rss = 0;
  static uint8_t want[VAL];
  for (uint64_t i = 0; i < NVAL; i++) {
    roam_bytes v;
    int r = roam_chan_recv(rx, &v, 10000);
    CHECK_EQ(r, 1);
    if (r != 1) break;
    if (roam_chan_buffered(rx) > max_buffered) max_buffered = roam_chan_buffered(rx);
    roam_dec d;
    roam_dec_init(&d, v.ptr, v.len);
    roam_bytes b;
    roam_dec_bytes(&d, &b);
    t_fill_value(want, VAL, i);
    if (b.len != VAL || memcmp(b.ptr, want, VAL) != 0) {
      CHECK(!"value lost, corrupted or out of order");
      break;
    }
    hash = t_hash(hash, b.ptr, b.len);
    if (i < 100) usleep(2000); /* slow at first: the server must wait */
    if (i == 50 || i == 99) {
      long rss = server_rss(addr);
      if (rss > max_rss) max_rss = rss;
    }
  }
  roam_bytes v;
  CHECK_EQ(roam_chan_recv(rx, &v, 5000), 0);
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  uint64_t h = 0;
  roam_dec_u64(&d, &h);
  CHECK(h == hash);
  roam_reply_free(&rep);
  roam_pending_free(p);
  roam_chan_free(rx);
  roam_client_free(c);
  /* no more 32 KiB values wait in the client than fit its window */
  size_t fit = (window ? window : 1024 * 1024) / VAL;
  CHECK(max_buffered <= fit);
  /* and the default window really is wider than the reference's 64 KiB */
  if (!window) CHECK(max_buffered > 2);
  fprintf(stderr, "channel: window %u, at most %zu values waited in the client\n", window,
          max_buffered);
  /* 64 MB went through; the server never held more than a few MiB */
  fprintf(stderr, "channel: server rss base %ld KiB, max during slow read %ld KiB\n", base, max_rss);
  CHECK(max_rss > 0 && max_rss - base < 16 * 1024);
}

#define NCALLS 300
#define CALLSZ 60000

static int done, ok;
static void cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  (void)ud;
  done++;
  if (res->status == 0 && res->value.len == CALLSZ + 3) ok++;
}

static bool all_done(void *ud) {
  (void)ud;
  return done == NCALLS;
}

static int link_closed;
static void on_close(roam_link *l, int err, roam_bytes reason, void *ud) {
  (void)l;
  (void)ud;
  link_closed++;
  fprintf(stderr, "link closed: %s (%.*s)\n", roam_err_name(err), (int)reason.len,
          (const char *)reason.ptr);
}

static void test_link(const char *addr) {
  long base = server_rss(addr);
  roam_client *c;
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.on_close = on_close;
  CHECK_EQ(roam_client_connect(&c, addr, &co, 2000), 0);
  roam_link *l = roam_client_link(c);
  roam_link_pause_read(l, true);
  static char str[CALLSZ];
  static uint8_t enc[CALLSZ + 16];
  memset(str, 'z', sizeof str);
  size_t len = t_enc_string(enc, sizeof enc, str, CALLSZ);
  for (int i = 0; i < NCALLS; i++) CHECK_EQ(roam_client_call_async(c, T_ECHO, enc, len, NULL, cb, NULL), 0);
  /* pump for a while without reading: requests go out until the server stops
   * reading them */
  roam_loop_run_until(roam_client_loop(c), all_done, NULL, 1000);
  CHECK_EQ(done, 0);
  CHECK_EQ(link_closed, 0);
  if (link_closed) {
    roam_client_free(c);
    return;
  }
  long during = server_rss(addr);
  size_t unsent = roam_link_output_pending(l);
  fprintf(stderr, "link: server rss base %ld KiB, while the client does not read %ld KiB; "
                  "%zu request bytes still held by the client\n",
          base, during, unsent);
  CHECK(during - base < 24 * 1024);   /* 18 MB of answers were due */
  /* the sender is throttled: the client's session holds at most about half
   * its high-water mark (the remaining calls wait in the client's queue), so
   * it keeps consuming answers and the two peers cannot deadlock */
  CHECK(unsent <= 3 * 1024 * 1024);
  roam_link_pause_read(l, false);
  CHECK_EQ(roam_loop_run_until(roam_client_loop(c), all_done, NULL, 20000), 0);
  CHECK_EQ(ok, NCALLS);
  roam_client_free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char ua[128], bound[256];
  t_unix_addr(ua, sizeof ua, "slow");
  t_server_opts o = {.high_water = 512 * 1024};
  pid_t pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    test_channel(bound, 0);
    test_channel(bound, 65536);
    test_link(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  return t_finish("rt_test_slow_reader");
}
