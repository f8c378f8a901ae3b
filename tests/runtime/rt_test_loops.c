/*
 * A server on several loops (roam_server_options.loops) with a worker pool
 * for blocking handlers, in-process, its loop 0 run by a thread of its own:
 *   - many links from client threads spread over the loops, each with
 *     pipelined calls, a channel stream, a cancelled call, a call that
 *     times out, blocking calls with channels (worker side: the blocking
 *     channel API) and deferred answers from other threads;
 *   - a blocking handler (sleeps 200 ms) does not delay other calls on the
 *     same link: their answers arrive while it sleeps;
 *   - graceful shutdown with calls in flight (a blocking one is waited
 *     for; a hanging one is cut at the deadline).
 * Also built with -fsanitize=thread (scripts/test).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <roam/session.h>

#include "rt_testlib.h"

#define LOOPS 3
#define THREADS 6
#define CLIENTS_PER_THREAD 8
#define PIPELINE 32
#define STREAM_VALUES 40

#define T_SLEEP 0x5001ull  /* blocking: sleeps 200 ms, answers () */
#define T_BSUM 0x5002ull   /* blocking: (Tx<bytes>) -> (u64 count, u64 bytes) */
#define T_BGEN 0x5003ull   /* blocking: (u32 n, Rx<bytes>) -> () */
#define T_DEFER 0x5004ull  /* answered by another thread: echo */

/* ---- server side ------------------------------------------------------------ */

static roam_loop *g_loop0;
static roam_server *g_srv;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static roam_loop *g_seen_loops[16];
static int g_nseen;
static atomic_int g_open_hooks, g_close_hooks;
static atomic_bool g_shutdown_done;

static void h_echo(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(req);
  roam_request_respond_ok(req, p.ptr, p.len);
}

static void h_hang(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)req, (void)ud; /* answered by the session on Cancel / close */
}

typedef struct sum_ctx {
  roam_request *req;
  uint64_t count, bytes;
} sum_ctx;

static int sum_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)id;
  sum_ctx *c = ud;
  c->count++;
  c->bytes += v.len;
  return 0;
}

static void sum_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s, (void)conn, (void)id;
  sum_ctx *c = ud;
  uint8_t buf[24];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, c->count);
  roam_enc_u64(&e, c->bytes);
  if (err == 0)
    roam_request_respond_ok(c->req, buf, roam_enc_size(&e));
  else
    roam_request_respond_error(c->req, ROAM_ERR_REMOTE_CANCELLED);
  free(c);
}

static const roam_channel_callbacks sum_cbs = {.on_data = sum_data, .on_end = sum_end};

static void h_stream_in(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  sum_ctx *c = calloc(1, sizeof *c);
  c->req = req;
  if (roam_request_channel_count(req) != 1 ||
      roam_request_bind_channel(req, 0, ROAM_CHAN_RECV, &sum_cbs, c) != 0) {
    free(c);
    roam_request_respond_error(req, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  }
}

/* ---- blocking handlers (worker threads) ------------------------------------ */

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void b_sleep(roam_job *job, void *ud) {
  (void)ud;
  sleep_ms(200);
  CHECK_EQ(roam_job_respond_ok(job, NULL, 0), 0);
}

static void b_sum(roam_job *job, void *ud) {
  (void)ud;
  roam_chan *ch;
  int r = roam_job_chan(job, 0, ROAM_CHAN_RECV, &ch);
  CHECK_EQ(r, 0);
  if (r != 0) {
    roam_job_respond_error(job, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  uint64_t count = 0, bytes = 0;
  roam_bytes v;
  while ((r = roam_chan_recv(ch, &v, 10000)) == 1) {
    count++;
    bytes += v.len;
  }
  CHECK_EQ(r, 0); /* the caller closed it */
  roam_chan_free(ch);
  uint8_t buf[24];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u64(&e, count);
  roam_enc_u64(&e, bytes);
  CHECK_EQ(roam_job_respond_ok(job, buf, roam_enc_size(&e)), 0);
}

static void b_gen(roam_job *job, void *ud) {
  (void)ud;
  roam_bytes p = roam_job_payload(job);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t n = 0;
  roam_dec_u32(&d, &n);
  roam_chan *ch;
  int r = roam_job_chan(job, 0, ROAM_CHAN_SEND, &ch);
  CHECK_EQ(r, 0);
  if (r != 0) {
    roam_job_respond_error(job, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint8_t val[64];
    val[0] = 40; /* postcard bytes: length 40 */
    memset(val + 1, (int)i, 40);
    CHECK_EQ(roam_chan_send(ch, val, 41, 10000), 0);
  }
  CHECK_EQ(roam_chan_close(ch), 0);
  roam_chan_free(ch);
  CHECK_EQ(roam_job_respond_ok(job, NULL, 0), 0);
}

/* T_DEFER: the loop handler defers, a thread of its own answers */
static void *answer_thread(void *arg) {
  roam_job *job = arg;
  sleep_ms(5);
  roam_bytes p = roam_job_payload(job);
  CHECK_EQ(roam_job_respond_ok(job, p.ptr, p.len), 0);
  return NULL;
}

static void h_defer(roam_session *s, roam_request *req, void *ud) {
  (void)s, (void)ud;
  roam_job *job;
  CHECK_EQ(roam_request_defer(req, &job), 0);
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  CHECK_EQ(pthread_create(&t, &a, answer_thread, job), 0);
  pthread_attr_destroy(&a);
}

static void on_open(roam_server *srv, roam_link *link, void *ud) {
  (void)ud;
  CHECK(srv == g_srv);
  atomic_fetch_add(&g_open_hooks, 1);
  roam_loop *l = roam_link_loop(link);
  pthread_mutex_lock(&g_mu);
  int i;
  for (i = 0; i < g_nseen && g_seen_loops[i] != l; i++) {
  }
  if (i == g_nseen && g_nseen < 16) g_seen_loops[g_nseen++] = l;
  pthread_mutex_unlock(&g_mu);
}

static void on_close(roam_server *srv, roam_link *link, int err, roam_bytes reason, void *ud) {
  (void)srv, (void)link, (void)err, (void)reason, (void)ud;
  atomic_fetch_add(&g_close_hooks, 1);
}

static void *server_thread(void *arg) {
  (void)arg;
  CHECK_EQ(roam_loop_run(g_loop0), 0);
  return NULL;
}

static void shutdown_done(roam_server *srv, void *ud) {
  (void)srv, (void)ud;
  atomic_store(&g_shutdown_done, true);
  roam_loop_stop(g_loop0);
}

static void start_shutdown(roam_loop *loop, void *ud) {
  (void)ud;
  if (loop) CHECK_EQ(roam_server_shutdown(g_srv, 300, shutdown_done, NULL), 0);
}

/* ---- client side ------------------------------------------------------------ */

static char g_addr[160];

typedef struct pipe_st {
  int done, ok;
} pipe_st;

static void echo_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  pipe_st *st = ud;
  st->done++;
  if (res->status == 0 && res->value.len == 6 && memcmp(res->value.ptr, "\x05hello", 6) == 0)
    st->ok++;
}

static bool pipe_done(void *ud) { return ((pipe_st *)ud)->done == PIPELINE; }

/* One client: pipelined echo, a stream, a call that times out. */
static void client_work(roam_client *c) {
  pipe_st st = {0, 0};
  for (int i = 0; i < PIPELINE; i++)
    CHECK_EQ(roam_client_call_async(c, T_ECHO, "\x05hello", 6, NULL, echo_cb, &st), 0);
  CHECK_EQ(roam_loop_run_until(roam_client_loop(c), pipe_done, &st, 20000), 0);
  CHECK_EQ(st.ok, PIPELINE);

  roam_chan *ch;
  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_SEND, &ch), 0);
  uint64_t id = roam_chan_id(ch);
  uint8_t arg[16];
  roam_enc e;
  roam_enc_init(&e, arg, sizeof arg);
  roam_enc_u64(&e, id);
  roam_call_opts co;
  memset(&co, 0, sizeof co);
  co.channels = &id;
  co.channel_count = 1;
  roam_pending *p;
  CHECK_EQ(roam_client_call_start(c, T_STREAM_IN, arg, roam_enc_size(&e), &co, &p), 0);
  for (int i = 0; i < STREAM_VALUES; i++) CHECK_EQ(roam_chan_send(ch, "\x03" "abc", 4, 10000), 0);
  CHECK_EQ(roam_chan_close(ch), 0);
  roam_reply rep;
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_dec d;
  roam_dec_init(&d, rep.value, rep.value_len);
  uint64_t count = 0, bytes = 0;
  roam_dec_u64(&d, &count);
  roam_dec_u64(&d, &bytes);
  CHECK_EQ(count, STREAM_VALUES);
  CHECK_EQ(bytes, STREAM_VALUES * 4);
  roam_reply_free(&rep);
  roam_pending_free(p);
  roam_chan_free(ch);

  /* a call that times out (Cancel goes to the server) */
  memset(&co, 0, sizeof co);
  co.timeout_ms = 20;
  CHECK_EQ(roam_client_call(c, T_HANG, NULL, 0, &co, &rep), ROAM_ERR_TIMEOUT);
  roam_reply_free(&rep);
  /* blocking calls with channels: the worker receives, then sends */
  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_SEND, &ch), 0);
  id = roam_chan_id(ch);
  roam_enc_init(&e, arg, sizeof arg);
  roam_enc_u64(&e, id);
  memset(&co, 0, sizeof co);
  co.channels = &id;
  co.channel_count = 1;
  CHECK_EQ(roam_client_call_start(c, T_BSUM, arg, roam_enc_size(&e), &co, &p), 0);
  for (int i = 0; i < STREAM_VALUES; i++) CHECK_EQ(roam_chan_send(ch, "\x03" "xyz", 4, 10000), 0);
  CHECK_EQ(roam_chan_close(ch), 0);
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_dec_init(&d, rep.value, rep.value_len);
  count = bytes = 0;
  roam_dec_u64(&d, &count);
  roam_dec_u64(&d, &bytes);
  CHECK_EQ(count, STREAM_VALUES);
  CHECK_EQ(bytes, STREAM_VALUES * 4);
  roam_reply_free(&rep);
  roam_pending_free(p);
  roam_chan_free(ch);

  CHECK_EQ(roam_chan_open(roam_client_link(c), 0, ROAM_CHAN_RECV, &ch), 0);
  id = roam_chan_id(ch);
  roam_enc_init(&e, arg, sizeof arg);
  roam_enc_u32(&e, STREAM_VALUES);
  roam_enc_u64(&e, id);
  CHECK_EQ(roam_client_call_start(c, T_BGEN, arg, roam_enc_size(&e), &co, &p), 0);
  int got = 0, r;
  roam_bytes v;
  while ((r = roam_chan_recv(ch, &v, 10000)) == 1) {
    CHECK_EQ(v.len, 41);
    if (v.len == 41) CHECK_EQ(v.ptr[1], got & 0xff);
    got++;
  }
  CHECK_EQ(r, 0);
  CHECK_EQ(got, STREAM_VALUES);
  CHECK_EQ(roam_pending_wait(p, 10000, &rep), 0);
  roam_reply_free(&rep);
  roam_pending_free(p);
  roam_chan_free(ch);

  /* answered from another thread */
  CHECK_EQ(roam_client_call(c, T_DEFER, "\x05hello", 6, NULL, &rep), 0);
  CHECK(rep.value_len == 6 && memcmp(rep.value, "\x05hello", 6) == 0);
  roam_reply_free(&rep);

  /* a call cancelled by freeing its pending handle */
  CHECK_EQ(roam_client_call_start(c, T_HANG, NULL, 0, NULL, &p), 0);
  roam_pending_free(p);
  /* the link still works */
  CHECK_EQ(roam_client_call(c, T_ECHO, "\x05hello", 6, NULL, &rep), 0);
  roam_reply_free(&rep);
}

static void *client_thread(void *arg) {
  (void)arg;
  roam_client *cs[CLIENTS_PER_THREAD];
  for (int i = 0; i < CLIENTS_PER_THREAD; i++)
    CHECK_EQ(roam_client_connect(&cs[i], g_addr, NULL, 10000), 0);
  for (int i = 0; i < CLIENTS_PER_THREAD; i++)
    if (cs[i]) client_work(cs[i]);
  for (int i = 0; i < CLIENTS_PER_THREAD; i++) roam_client_free(cs[i]);
  return NULL;
}

static pthread_mutex_t g_check_mu = PTHREAD_MUTEX_INITIALIZER;

int main(void) {
  (void)g_check_mu;
  CHECK_EQ(roam_loop_new(&g_loop0, NULL), 0);
  roam_server_options so;
  roam_server_options_init(&so);
  so.loops = LOOPS;
  so.workers = 4;
  so.on_link_open = on_open;
  so.on_link_close = on_close;
  CHECK_EQ(roam_server_new(g_loop0, &so, &g_srv), 0);
  CHECK_EQ(roam_server_handle(g_srv, T_ECHO, h_echo, NULL), 0);
  CHECK_EQ(roam_server_handle(g_srv, T_HANG, h_hang, NULL), 0);
  CHECK_EQ(roam_server_handle(g_srv, T_STREAM_IN, h_stream_in, NULL), 0);
  CHECK_EQ(roam_server_handle(g_srv, T_DEFER, h_defer, NULL), 0);
  CHECK_EQ(roam_server_handle_blocking(g_srv, T_SLEEP, b_sleep, NULL), 0);
  CHECK_EQ(roam_server_handle_blocking(g_srv, T_BSUM, b_sum, NULL), 0);
  CHECK_EQ(roam_server_handle_blocking(g_srv, T_BGEN, b_gen, NULL), 0);
  roam_listener *ls;
  CHECK_EQ(roam_server_listen(g_srv, "tcp://127.0.0.1:0", &ls), 0);
  snprintf(g_addr, sizeof g_addr, "%s", roam_listener_address(ls));
  /* handlers are fixed once the loops run */
  CHECK_EQ(roam_server_handle(g_srv, T_ECHO, h_echo, NULL), ROAM_ERR_STATE);
  pthread_t st;
  pthread_create(&st, NULL, server_thread, NULL);

  /* many links with calls, streams, timeouts and cancels */
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, client_thread, NULL);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

  roam_server_stats ss;
  roam_server_get_stats(g_srv, &ss);
  CHECK_EQ(ss.loops, LOOPS);
  CHECK_EQ(ss.links_accepted, THREADS * CLIENTS_PER_THREAD);
  CHECK(ss.requests >= (uint64_t)THREADS * CLIENTS_PER_THREAD * (PIPELINE + 4));
  pthread_mutex_lock(&g_mu);
  CHECK_EQ(g_nseen, LOOPS); /* every loop served links */
  pthread_mutex_unlock(&g_mu);
  CHECK_EQ(ss.workers, 4);
  CHECK_EQ(ss.jobs_run, THREADS * CLIENTS_PER_THREAD * 2);

  /* a blocking call does not delay the other calls of its link: a burst of
   * echo calls made after it is answered while it sleeps */
  {
    roam_client *c;
    CHECK_EQ(roam_client_connect(&c, g_addr, NULL, 10000), 0);
    roam_pending *slow;
    CHECK_EQ(roam_client_call_start(c, T_SLEEP, NULL, 0, NULL, &slow), 0);
    uint64_t t0 = t_now_ms();
    for (int i = 0; i < 20; i++) {
      roam_reply rep;
      CHECK_EQ(roam_client_call(c, T_ECHO, "\x05hello", 6, NULL, &rep), 0);
      roam_reply_free(&rep);
    }
    CHECK(!roam_pending_done(slow)); /* still sleeping */
    roam_reply rep;
    CHECK_EQ(roam_pending_wait(slow, 10000, &rep), 0);
    CHECK(t_now_ms() - t0 >= 190);
    roam_reply_free(&rep);
    roam_pending_free(slow);
    roam_client_free(c);
  }

  /* graceful shutdown: idle links close at once, links with a call in
   * flight at the deadline; every loop is covered */
  roam_client *cs[6];
  roam_pending *ps[6];
  for (int i = 0; i < 6; i++) {
    CHECK_EQ(roam_client_connect(&cs[i], g_addr, NULL, 10000), 0);
    CHECK_EQ(roam_client_call_start(cs[i], i % 2 ? T_HANG : T_ECHO, "\x05hello", 6, NULL, &ps[i]),
             0);
  }
  /* a blocking call in flight: shutdown waits for its answer */
  roam_client *bc;
  roam_pending *bp;
  CHECK_EQ(roam_client_connect(&bc, g_addr, NULL, 10000), 0);
  CHECK_EQ(roam_client_call_start(bc, T_SLEEP, NULL, 0, NULL, &bp), 0);
  roam_reply rep0;
  CHECK_EQ(roam_pending_wait(bp, 20, &rep0), ROAM_ERR_TIMEOUT); /* the Request leaves */
  for (int i = 0; i < 6; i++) {
    roam_reply rep;
    CHECK_EQ(roam_pending_wait(ps[i], i % 2 ? 20 : 10000, &rep), i % 2 ? ROAM_ERR_TIMEOUT : 0);
    roam_reply_free(&rep);
  }
  uint64_t t0 = t_now_ms();
  while (roam_server_link_count(g_srv) < 7 && t_now_ms() - t0 < 5000) usleep(1000);
  CHECK_EQ(roam_server_link_count(g_srv), 7);
  {
    roam_server_stats st2;
    uint64_t t1 = t_now_ms();
    do {
      roam_server_get_stats(g_srv, &st2);
    } while (st2.jobs_run < THREADS * CLIENTS_PER_THREAD * 2 + 2 && t_now_ms() - t1 < 5000 &&
             usleep(1000) == 0);
  }
  CHECK_EQ(roam_loop_post(g_loop0, start_shutdown, NULL), 0);
  for (int i = 1; i < 6; i += 2) {
    roam_reply rep;
    int r = roam_pending_wait(ps[i], 10000, &rep);
    CHECK(r == ROAM_ERR_CLOSED || r == ROAM_ERR_REMOTE_CANCELLED);
    roam_reply_free(&rep);
  }
  {
    roam_reply rep;
    CHECK_EQ(roam_pending_wait(bp, 10000, &rep), 0); /* answered before the close */
    roam_reply_free(&rep);
    roam_pending_free(bp);
    roam_client_free(bc);
  }
  pthread_join(st, NULL);
  CHECK(atomic_load(&g_shutdown_done));
  CHECK_EQ(roam_server_link_count(g_srv), 0);
  CHECK_EQ(atomic_load(&g_open_hooks), atomic_load(&g_close_hooks));
  CHECK_EQ(atomic_load(&g_open_hooks), THREADS * CLIENTS_PER_THREAD + 8);
  for (int i = 0; i < 6; i++) {
    roam_pending_free(ps[i]);
    roam_client_free(cs[i]);
  }
  roam_server_free(g_srv);
  roam_loop_free(g_loop0);
  return t_finish("rt_test_loops");
}
