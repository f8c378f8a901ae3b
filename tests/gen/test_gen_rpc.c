/*
 * A client and a server of the services roam-gen generates from every.rs,
 * over a real Unix socket (the server on its own loop in a thread): typed
 * blocking and asynchronous calls, typed user errors, an answer given later
 * from a timer, a per-call timeout, channels in both directions, NULL
 * handlers answering UnknownMethod, two services on one server.
 *
 * Server and clients allocate through counting roam_mem hooks: the
 * generated code and its support (request handles, channel records,
 * asynchronous call records, arenas, encode buffers) must allocate through
 * them, and every allocation must be freed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "every.h"

#define T_MS 5000

/* ---- counting allocation hooks ------------------------------------------ */

/* Each block carries a header linking it into the hooks' list of live
 * blocks, so that a test can ask whether a pointer came from them. */
typedef union block {
  struct {
    union block *prev, *next;
    size_t size;
  } h;
  max_align_t align;
} block;

typedef struct counting {
  roam_mem mem;
  pthread_mutex_t mu;
  block live; /* list head */
  size_t nlive, nallocs;
  int fail_next; /* the next allocation fails (1) */
} counting;

static void *c_malloc(size_t n, void *ud) {
  counting *c = ud;
  pthread_mutex_lock(&c->mu);
  block *b = NULL;
  if (c->fail_next) {
    c->fail_next = 0;
  } else if ((b = malloc(sizeof *b + n)) != NULL) {
    b->h.size = n;
    b->h.prev = &c->live;
    b->h.next = c->live.h.next;
    c->live.h.next->h.prev = b;
    c->live.h.next = b;
    c->nlive++;
    c->nallocs++;
  }
  pthread_mutex_unlock(&c->mu);
  return b ? b + 1 : NULL;
}

static void c_free(void *p, void *ud) {
  if (p == NULL) return;
  counting *c = ud;
  block *b = (block *)p - 1;
  pthread_mutex_lock(&c->mu);
  b->h.prev->h.next = b->h.next;
  b->h.next->h.prev = b->h.prev;
  c->nlive--;
  pthread_mutex_unlock(&c->mu);
  free(b);
}

static void *c_realloc(void *p, size_t n, void *ud) {
  if (p == NULL) return c_malloc(n, ud);
  void *q = c_malloc(n, ud);
  if (q == NULL) return NULL;
  size_t old = ((block *)p - 1)->h.size;
  memcpy(q, p, old < n ? old : n);
  c_free(p, ud);
  return q;
}

static void counting_init(counting *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->live.h.prev = c->live.h.next = &c->live;
  c->mem.user_data = c;
  c->mem.malloc = c_malloc;
  c->mem.realloc = c_realloc;
  c->mem.free = c_free;
}

static bool counting_owns(counting *c, const void *p) {
  bool found = false;
  pthread_mutex_lock(&c->mu);
  for (block *b = c->live.h.next; b != &c->live && !found; b = b->h.next)
    found = (const void *)(b + 1) == p;
  pthread_mutex_unlock(&c->mu);
  return found;
}

static size_t counting_live(counting *c) {
  pthread_mutex_lock(&c->mu);
  size_t n = c->nlive;
  pthread_mutex_unlock(&c->mu);
  return n;
}

static counting s_mem; /* the server's hooks */
static int s_req_foreign; /* request handles not from s_mem (server thread) */
static int s_req_seen;
static int s_hooks_bad; /* teardown found a fault (main fails) */

/* ---- the server ---------------------------------------------------------- */

static roam_loop *s_loop;

/* ping answers later, from a timer: the request handle outlives the call. */
typedef struct later {
  every_first_ping_request *req;
  uint32_t n;
} later;

static void ping_timer(roam_timer *t, void *ud) {
  later *l = ud;
  every_tree child = {(int32_t)l->n + 1, {NULL, 0}, {false, NULL}};
  every_tree tree = {(int32_t)l->n, {&child, 1}, {false, NULL}};
  every_first_ping_reply(l->req, &tree);
  free(l);
  roam_timer_free(t);
}

static void h_ping(every_first_ping_request *req, uint32_t n, roam_str who, void *ud) {
  (void)ud;
  /* the generated request handle comes from the session's hooks */
  s_req_seen++;
  if (!counting_owns(&s_mem, req)) s_req_foreign++;
  if (n == 0 || who.len == 0) {
    every_kinds err = {.tag = EVERY_KINDS_TWO, .two = {-1, 300}};
    every_first_ping_reply_err(req, &err);
    return;
  }
  later *l = malloc(sizeof *l);
  roam_timer *t;
  if (!l || roam_timer_new(s_loop, ping_timer, l, &t) != 0) {
    free(l);
    every_first_ping_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  l->req = req;
  l->n = n;
  roam_timer_start(t, 10, 0);
}

/* points: 99 points are never answered on their own; the call ends with
 * the caller's timeout and our cancel callback releases the request. */
static void points_cancel(void *ud) {
  every_first_points_reply_error(ud, ROAM_ERR_REMOTE_CANCELLED);
}

static void h_points(every_first_points_request *req, const every_vec_point_2 *p, void *ud) {
  (void)ud;
  if (p->len == 99) {
    every_first_points_on_cancel(req, points_cancel, req);
    return;
  }
  every_vec_point out = {(uint8_t)p->len};
  every_first_points_reply(req, &out);
}

static void h_ping_async(every_first_ping_async_request *req, void *ud) {
  (void)ud;
  every_first_ping_async_reply(req);
}

/* stream: every Expr received is answered with a string on `down`; when
 * `up` ends the call returns how many came. */
typedef struct streamer {
  every_first_stream_request *req;
  uint64_t count;
} streamer;

static int64_t eval(const every_expr *e) {
  switch (e->tag) {
  case EVERY_EXPR_NUM: return e->num;
  case EVERY_EXPR_ADD: return eval(e->add._0) + eval(e->add._1);
  case EVERY_EXPR_NEG: return -eval(e->neg);
  case EVERY_EXPR_LIST: {
    int64_t s = 0;
    for (size_t i = 0; i < e->list.len; i++) s += eval(&e->list.items[i]);
    return s;
  }
  }
  return 0;
}

static int stream_value(const every_expr *e, void *ud) {
  streamer *st = ud;
  char text[32];
  snprintf(text, sizeof text, "= %lld", (long long)eval(e));
  st->count++;
  return every_first_stream_send_down(st->req, roam_str_c(text));
}

static void stream_end(int err, void *ud) {
  (void)err;
  streamer *st = ud;
  every_first_stream_reply(st->req, st->count);
  free(st);
}

static void h_stream(every_first_stream_request *req, void *ud) {
  (void)ud;
  streamer *st = calloc(1, sizeof *st);
  st->req = req;
  if (every_first_stream_open_down(req, NULL, NULL, NULL) != 0 ||
      every_first_stream_open_up(req, stream_value, stream_end, st) != 0) {
    free(st);
    every_first_stream_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
  }
}

static void h_eval(every_second_eval_request *req, const every_expr *e, void *ud) {
  (void)ud;
  every_opt_i64 r = {true, eval(e)};
  every_second_eval_reply(req, &r);
}

static void h_boxed(every_second_boxed_request *req, const every_wrapper *w, void *ud) {
  (void)ud;
  if (w->_0 == 0)
    every_second_boxed_reply_err(req, roam_str_c("zero"));
  else
    every_second_boxed_reply(req);
}

static void h_big(every_second_big_request *req, const every_vec_big *v, void *ud) {
  (void)ud;
  every_second_big_reply(req, (uint32_t)v->len);
}

static const every_first_handlers first = {
    .ping = h_ping, .points = h_points, .ping_async = h_ping_async, .stream = h_stream,
    /* .all left NULL: Err(UnknownMethod) */
};
static const every_second_handlers second = {.eval = h_eval, .boxed = h_boxed, .big = h_big};

static pthread_t s_thread;
static char s_dir[64], s_addr[128];

static void *serve(void *arg) {
  (void)arg;
  roam_loop_run(s_loop);
  return NULL;
}

static void stop_task(roam_loop *loop, void *ud) {
  (void)ud;
  if (loop) roam_loop_stop(loop);
}

static int setup(void **st) {
  (void)st;
  snprintf(s_dir, sizeof s_dir, "/tmp/roam-gen-rpc-XXXXXX");
  if (!mkdtemp(s_dir)) return -1;
  snprintf(s_addr, sizeof s_addr, "unix:%s/s.sock", s_dir);
  roam_server *srv;
  counting_init(&s_mem);
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.mem = &s_mem.mem;
  if (roam_loop_new(&s_loop, &lo) != 0 || roam_server_new(s_loop, NULL, &srv) != 0) return -1;
  if (every_first_register_server(srv, &first) != 0 ||
      every_second_register_server(srv, &second) != 0 || roam_server_listen(srv, s_addr, NULL) != 0)
    return -1;
  return pthread_create(&s_thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int teardown(void **st) {
  (void)st;
  roam_loop_post(s_loop, stop_task, NULL);
  pthread_join(s_thread, NULL);
  roam_loop_free(s_loop);
  /* every allocation of the server (generated code included) was freed */
  size_t live = counting_live(&s_mem);
  if (live != 0 || s_mem.nallocs == 0 || s_req_seen == 0 || s_req_foreign != 0) {
    fprintf(stderr, "server hooks: %zu live of %zu, %d request handles, %d not from the hooks\n",
            live, s_mem.nallocs, s_req_seen, s_req_foreign);
    s_hooks_bad = 1;
    return -1;
  }
  pthread_mutex_destroy(&s_mem.mu);
  char path[128];
  snprintf(path, sizeof path, "%s/s.sock", s_dir);
  unlink(path);
  rmdir(s_dir);
  return 0;
}

/* ---- the client --------------------------------------------------------------- */

/* A client on its own loop allocating through m. */
typedef struct counted_client {
  counting m;
  roam_loop *loop;
  roam_client *c;
} counted_client;

static roam_client *connect_client(counted_client *cc) {
  counting_init(&cc->m);
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.mem = &cc->m.mem;
  assert_int_equal(roam_loop_new(&cc->loop, &lo), 0);
  roam_client_options co;
  roam_client_options_init(&co);
  co.loop = cc->loop;
  cc->c = NULL;
  assert_int_equal(roam_client_connect(&cc->c, s_addr, &co, T_MS), 0);
  return cc->c;
}

/* Everything the client and the generated stubs allocated is freed. */
static void close_client(counted_client *cc) {
  roam_client_free(cc->c);
  roam_loop_free(cc->loop);
  assert_true(cc->m.nallocs > 0);
  assert_int_equal(counting_live(&cc->m), 0);
  pthread_mutex_destroy(&cc->m.mu);
}

static roam_call_opts opts(uint64_t timeout_ms) {
  roam_call_opts o;
  memset(&o, 0, sizeof o);
  o.timeout_ms = timeout_ms;
  return o;
}

static void test_blocking(void **st) {
  (void)st;
  counted_client cc;
  roam_client *c = connect_client(&cc);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_call_opts o = opts(T_MS);
  every_tree tree;
  every_kinds err;
  /* answered later by the server, typed result */
  assert_int_equal(every_first_ping(c, 5, roam_str_c("me"), &tree, &err, &a, &o), 0);
  assert_int_equal(tree.value, 5);
  assert_int_equal(tree.children.len, 1);
  assert_int_equal(tree.children.items[0].value, 6);
  /* typed user error */
  assert_int_equal(every_first_ping(c, 0, roam_str_c("me"), &tree, &err, &a, &o),
                   ROAM_ERR_REMOTE_USER);
  assert_int_equal(err.tag, EVERY_KINDS_TWO);
  assert_int_equal(err.two._1, 300);
  /* Vec<Point> in, VecPoint out */
  every_point pts[3] = {{1, 2}, {3, 4}, {5, 6}};
  every_vec_point_2 in = {pts, 3};
  every_vec_point out;
  assert_int_equal(every_first_points(c, &in, &out, &a, &o), 0);
  assert_int_equal(out.x, 3);
  assert_int_equal(every_first_ping_async(c, &o), 0);
  /* a per-call timeout */
  every_point many[99];
  memset(many, 0, sizeof many);
  every_vec_point_2 held = {many, 99};
  roam_call_opts quick = opts(100);
  assert_int_equal(every_first_points(c, &held, &out, &a, &quick), ROAM_ERR_TIMEOUT);
  /* the second service */
  every_expr n2 = {.tag = EVERY_EXPR_NUM, .num = 2}, n3 = {.tag = EVERY_EXPR_NUM, .num = 3};
  every_expr neg = {.tag = EVERY_EXPR_NEG, .neg = &n3};
  every_expr sum = {.tag = EVERY_EXPR_ADD, .add = {&n2, &neg}};
  every_opt_i64 v;
  assert_int_equal(every_second_eval(c, &sum, &v, &a, &o), 0);
  assert_true(v.is_some && v.value == -1);
  every_wrapper w0 = {0, roam_str_c("")}, w1 = {1, roam_str_c("x")};
  roam_str why;
  assert_int_equal(every_second_boxed(c, &w0, &why, &a, &o), ROAM_ERR_REMOTE_USER);
  assert_true(why.len == 4 && memcmp(why.ptr, "zero", 4) == 0);
  assert_int_equal(every_second_boxed(c, &w1, &why, &a, &o), 0);
  /* NULL handlers: UnknownMethod */
  assert_int_equal(every_second_ping(c, &o), ROAM_ERR_REMOTE_UNKNOWN_METHOD);
  every_prims p;
  every_containers ct;
  every_keywords k;
  every_zero_sized z;
  every_tagged t = {.tag = EVERY_TAGGED_OTHER};
  memset(&p, 0, sizeof p);
  memset(&ct, 0, sizeof ct);
  memset(&k, 0, sizeof k);
  memset(&z, 0, sizeof z);
  ct.boxed = &w1;
  every_empty e;
  assert_int_equal(every_first_all(c, &p, &ct, &k, &z, &t, &e, &a, &o),
                   ROAM_ERR_REMOTE_UNKNOWN_METHOD);
  /* a small request for a large C value: refused, within the arena cap */
  every_big smalls[4] = {{.tag = EVERY_BIG_SMALL}, {.tag = EVERY_BIG_SMALL},
                         {.tag = EVERY_BIG_SMALL}, {.tag = EVERY_BIG_LARGE}};
  every_vec_big few = {smalls, 4};
  uint32_t n = 0;
  assert_int_equal(every_second_big(c, &few, &n, &a, &o), 0);
  assert_int_equal(n, 4);
  size_t count = 1000000; /* 1 MB on the wire, 520 MB decoded */
  uint8_t *raw = calloc(1, count + 8);
  assert_non_null(raw);
  size_t hdr = roam_varint_put(raw, count);
  roam_reply r;
  assert_int_equal(roam_client_call(c, EVERY_SECOND_BIG_ID, raw, hdr + count, &o, &r),
                   ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  roam_reply_free(&r);
  free(raw);
  /* a bad argument stays local */
  ct.boxed = NULL;
  assert_int_equal(every_first_all(c, &p, &ct, &k, &z, &t, &e, &a, &o), ROAM_ERR_INVALID_ARG);
  roam_arena_free(&a);
  close_client(&cc);
}

typedef struct waiter {
  int done, status;
  int32_t value;
  every_kinds_tag err;
} waiter;

static void ping_done(roam_client *c, int status, const every_tree *out, const every_kinds *err,
                      void *ud) {
  (void)c;
  waiter *w = ud;
  w->done++;
  w->status = status;
  if (out) w->value = out->value;
  if (err) w->err = err->tag;
}

static bool both_done(void *ud) {
  waiter *w = ud;
  return w[0].done && w[1].done;
}

static void test_async(void **st) {
  (void)st;
  counted_client cc;
  roam_client *c = connect_client(&cc);
  roam_call_opts o = opts(T_MS);
  waiter w[2];
  memset(w, 0, sizeof w);
  /* the call record comes from the client's hooks: no memory, no call */
  cc.m.fail_next = 1;
  assert_int_equal(every_first_ping_async_2(c, 7, roam_str_c("a"), &o, ping_done, &w[0]),
                   ROAM_ERR_NOMEM);
  assert_int_equal(w[0].done, 0);
  assert_int_equal(every_first_ping_async_2(c, 7, roam_str_c("a"), &o, ping_done, &w[0]), 0);
  assert_int_equal(every_first_ping_async_2(c, 0, roam_str_c("a"), &o, ping_done, &w[1]), 0);
  assert_int_equal(roam_loop_run_until(roam_client_loop(c), both_done, w, T_MS), 0);
  assert_int_equal(w[0].done, 1);
  assert_int_equal(w[0].status, 0);
  assert_int_equal(w[0].value, 7);
  assert_int_equal(w[1].status, ROAM_ERR_REMOTE_USER);
  assert_int_equal(w[1].err, EVERY_KINDS_TWO);
  close_client(&cc);
}

static void test_channels(void **st) {
  (void)st;
  counted_client cc;
  roam_client *c = connect_client(&cc);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_call_opts o = opts(T_MS);
  every_first_stream_call call;
  assert_int_equal(every_first_stream_start(c, &o, &call), 0);
  every_expr nums[3] = {{.tag = EVERY_EXPR_NUM, .num = 4},
                        {.tag = EVERY_EXPR_NUM, .num = -2},
                        {.tag = EVERY_EXPR_LIST, .list = {NULL, 0}}};
  every_expr list = {.tag = EVERY_EXPR_LIST, .list = {nums, 2}};
  nums[2] = list;
  for (int i = 0; i < 3; i++) assert_int_equal(every_sender_expr_send(&call.up, &nums[i], T_MS), 0);
  assert_int_equal(every_sender_expr_close(&call.up), 0);
  const char *want[] = {"= 4", "= -2", "= 2"};
  roam_str s;
  int n = 0, rc;
  while ((rc = every_receiver_string_recv(&call.down, &s, &a, T_MS)) == 1) {
    assert_true(n < 3);
    assert_int_equal(s.len, strlen(want[n]));
    assert_memory_equal(s.ptr, want[n], s.len);
    n++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(n, 3);
  uint64_t count = 0;
  assert_int_equal(every_first_stream_finish(&call, &count, &a, T_MS), 0);
  assert_int_equal(count, 3);
  roam_arena_free(&a);
  close_client(&cc);
}

/* The asynchronous stub of a method with channels: the typed handles at
 * once, the typed result in the callback. */
typedef struct stream_waiter {
  int done, status;
  uint64_t count;
} stream_waiter;

static void stream_done(roam_client *c, int status, const uint64_t *out, void *ud) {
  (void)c;
  stream_waiter *w = ud;
  w->done++;
  w->status = status;
  if (out) w->count = *out;
}

static bool stream_finished(void *ud) { return ((stream_waiter *)ud)->done != 0; }

static void test_channels_async(void **st) {
  (void)st;
  counted_client cc;
  roam_client *c = connect_client(&cc);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_call_opts o = opts(T_MS);
  stream_waiter w = {0, 0, 0};
  every_first_stream_call call;
  /* bad arguments stay local */
  assert_int_equal(every_first_stream_async(c, &o, &call, NULL, &w), ROAM_ERR_INVALID_ARG);
  assert_int_equal(every_first_stream_async(NULL, &o, &call, stream_done, &w),
                   ROAM_ERR_INVALID_ARG);
  assert_int_equal(every_first_stream_async(c, &o, &call, stream_done, &w), 0);
  assert_int_equal(w.done, 0); /* never from inside the call */
  every_expr nums[2] = {{.tag = EVERY_EXPR_NUM, .num = 10}, {.tag = EVERY_EXPR_NUM, .num = 20}};
  every_expr sum = {.tag = EVERY_EXPR_LIST, .list = {nums, 2}};
  assert_int_equal(every_sender_expr_send(&call.up, &nums[0], T_MS), 0);
  assert_int_equal(every_sender_expr_send(&call.up, &sum, T_MS), 0);
  assert_int_equal(every_sender_expr_close(&call.up), 0);
  const char *want[] = {"= 10", "= 30"};
  roam_str s;
  int n = 0, rc;
  while ((rc = every_receiver_string_recv(&call.down, &s, &a, T_MS)) == 1) {
    assert_true(n < 2);
    assert_int_equal(s.len, strlen(want[n]));
    assert_memory_equal(s.ptr, want[n], s.len);
    n++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(n, 2);
  assert_int_equal(roam_loop_run_until(roam_client_loop(c), stream_finished, &w, T_MS), 0);
  assert_int_equal(w.done, 1);
  assert_int_equal(w.status, 0);
  assert_int_equal(w.count, 2);
  every_first_stream_abort(&call); /* frees the channels */
  assert_null(call.up.chan);
  assert_null(call.down.chan);
  roam_arena_free(&a);
  close_client(&cc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocking),
      cmocka_unit_test(test_async),
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_channels_async),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  return failed || s_hooks_bad ? 1 : 0;
}
