/*
 * Loop primitives (timers, watchers, posted tasks, signals, stop from
 * another thread) and echo over Unix, TCP/IPv4 and TCP/IPv6 against a
 * forked server: payloads from 0 bytes to the negotiated maximum, and a call
 * over the maximum that fails locally without killing the link.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rt_testlib.h"

/* ---- loop primitives ------------------------------------------------------ */

static int order[8];
static int norder;

static void tfire(roam_timer *t, void *ud) {
  (void)t;
  order[norder++] = (int)(intptr_t)ud;
}

static int reps;
static void trepeat(roam_timer *t, void *ud) {
  (void)ud;
  if (++reps == 3) roam_timer_free(t); /* free from its own callback */
}

static bool cond_reps(void *ud) {
  (void)ud;
  return reps >= 3 && norder >= 3;
}

static void test_timers(void) {
  roam_loop *loop;
  CHECK_EQ(roam_loop_new(&loop, NULL), 0);
  roam_timer *a, *b, *c, *r;
  roam_timer_new(loop, tfire, (void *)(intptr_t)3, &a);
  roam_timer_new(loop, tfire, (void *)(intptr_t)1, &b);
  roam_timer_new(loop, tfire, (void *)(intptr_t)2, &c);
  roam_timer_new(loop, trepeat, NULL, &r);
  /* t0 before the starts: a loaded machine may preempt us in between */
  uint64_t t0 = t_now_ms();
  roam_timer_start(a, 30, 0);
  roam_timer_start(b, 5, 0);
  roam_timer_start(c, 15, 0);
  roam_timer_start(r, 1, 2);
  CHECK_EQ(roam_loop_run_until(loop, cond_reps, NULL, 2000), 0);
  uint64_t el = t_now_ms() - t0;
  if (!(el >= 25 && el < 1000)) fprintf(stderr, "el=%llu\n", (unsigned long long)el);
  CHECK(el >= 25 && el < 1000);
  CHECK_EQ(norder, 3);
  CHECK_EQ(order[0], 1);
  CHECK_EQ(order[1], 2);
  CHECK_EQ(order[2], 3);
  CHECK(!roam_timer_is_active(a));
  /* a stopped timer does not fire */
  roam_timer_start(a, 1, 0);
  roam_timer_stop(a);
  roam_loop_run_once(loop, 10);
  CHECK_EQ(norder, 3);
  CHECK_EQ(roam_loop_run_until(loop, NULL, NULL, 10), ROAM_ERR_INVALID_ARG);
  roam_timer_free(a);
  roam_timer_free(b);
  roam_loop_free(loop); /* frees c */
}

static bool never(void *ud) {
  (void)ud;
  return false;
}

static int io_hits;
static void on_pipe(roam_io *w, int fd, unsigned ev, void *ud) {
  (void)ud;
  char buf[16];
  if (ev & ROAM_IO_READ) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) io_hits++;
    if (io_hits == 2) roam_io_free(w);
  }
}

static void test_io(void) {
  roam_loop *loop;
  CHECK_EQ(roam_loop_new(&loop, NULL), 0);
  int p[2];
  CHECK_EQ(pipe(p), 0);
  roam_io *w;
  CHECK_EQ(roam_io_new(loop, p[0], ROAM_IO_READ, on_pipe, NULL, &w), 0);
  CHECK_EQ(write(p[1], "x", 1), 1);
  roam_loop_run_once(loop, 100);
  CHECK_EQ(io_hits, 1);
  roam_io_set(w, 0); /* paused: no event */
  CHECK_EQ(write(p[1], "y", 1), 1);
  roam_loop_run_once(loop, 20);
  CHECK_EQ(io_hits, 1);
  roam_io_set(w, ROAM_IO_READ);
  roam_loop_run_once(loop, 100);
  CHECK_EQ(io_hits, 2); /* and the watcher freed itself */
  CHECK_EQ(roam_loop_run_until(loop, never, NULL, 20), ROAM_ERR_TIMEOUT);
  close(p[0]);
  close(p[1]);
  roam_loop_free(loop);
}

static int posted;
static void post_fn(roam_loop *loop, void *ud) {
  (void)loop;
  posted += (int)(intptr_t)ud;
}

static void *poster(void *arg) {
  roam_loop *loop = arg;
  for (int i = 0; i < 1000; i++) roam_loop_post(loop, post_fn, (void *)(intptr_t)1);
  usleep(20000);
  roam_loop_stop(loop);
  return NULL;
}

static int got_sig;
static void on_sig(roam_loop *loop, int signo, void *ud) {
  (void)ud;
  got_sig = signo;
  roam_loop_stop(loop);
}

static void test_threads_and_signals(void) {
  roam_loop *loop;
  CHECK_EQ(roam_loop_new(&loop, NULL), 0);
  pthread_t th;
  pthread_create(&th, NULL, poster, loop);
  CHECK_EQ(roam_loop_run(loop), 0); /* returns on the other thread's stop */
  pthread_join(th, NULL);
  CHECK_EQ(posted, 1000);
  CHECK_EQ(roam_loop_signal(loop, SIGUSR2, on_sig, NULL), 0);
  raise(SIGUSR2);
  CHECK_EQ(roam_loop_run(loop), 0);
  CHECK_EQ(got_sig, SIGUSR2);
  CHECK_EQ(roam_loop_signal(loop, SIGUSR2, NULL, NULL), 0);
  /* stop before run: run returns at once */
  roam_loop_stop(loop);
  CHECK_EQ(roam_loop_run(loop), 0);
  roam_loop_free(loop);
}

/* ---- echo ------------------------------------------------------------------- */

static void echo_sizes(const char *addr, uint32_t max) {
  roam_client *c;
  int r = roam_client_connect(&c, addr, NULL, 5000);
  CHECK_EQ(r, 0);
  if (r) return;
  CHECK_EQ(roam_session_max_payload(roam_client_session(c)), max);
  size_t sizes[] = {0, 1, 127, 128, 1000, 65536, 200000, (size_t)max - 4 - 1};
  uint8_t *buf = malloc((size_t)max + 64);
  char *str = malloc((size_t)max + 64);
  memset(str, 'q', (size_t)max + 64);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    for (size_t j = 0; j < n; j++) str[j] = (char)('a' + (j % 26));
    size_t len = t_enc_string(buf, (size_t)max + 64, str, n);
    roam_reply rep;
    roam_call_opts o = {.timeout_ms = 5000};
    r = roam_client_call(c, T_ECHO, buf, len, &o, &rep);
    CHECK_EQ(r, 0);
    CHECK_EQ(rep.value_len, len);
    CHECK(rep.value_len == len && (len == 0 || memcmp(rep.value, buf, len) == 0));
    roam_reply_free(&rep);
  }
  /* a request of exactly the maximum: accepted, the answer cannot fit */
  {
    size_t n = (size_t)max - 3; /* varint(len) is 3 bytes here */
    size_t len = t_enc_string(buf, (size_t)max + 64, str, n);
    CHECK_EQ(len, max);
    roam_reply rep;
    r = roam_client_call(c, T_ECHO, buf, len, NULL, &rep);
    CHECK_EQ(r, ROAM_ERR_REMOTE_USER);
    roam_reply_free(&rep);
  }
  /* one byte over: fails locally, the link survives */
  {
    size_t len = (size_t)max + 1;
    memset(buf, 0, len);
    roam_reply rep;
    r = roam_client_call(c, T_ECHO, buf, len, NULL, &rep);
    CHECK_EQ(r, ROAM_ERR_PAYLOAD_TOO_LARGE);
    roam_reply_free(&rep);
    size_t l2 = t_enc_string(buf, 64, "still alive", 11);
    r = roam_client_call(c, T_ECHO, buf, l2, NULL, &rep);
    CHECK_EQ(r, 0);
    CHECK(rep.value_len == l2 && memcmp(rep.value, buf, l2) == 0);
    roam_reply_free(&rep);
    CHECK(roam_client_is_ready(c));
  }
  /* unknown method: a remote error, the link stays */
  {
    roam_reply rep;
    r = roam_client_call(c, 0x7777, NULL, 0, NULL, &rep);
    CHECK_EQ(r, ROAM_ERR_REMOTE_UNKNOWN_METHOD);
    roam_reply_free(&rep);
  }
  free(buf);
  free(str);
  roam_client_free(c);
}

/* roam_client_open_connection: refused by a server that does not listen
 * for virtual connections (the accepted case runs in the tools' tests,
 * against the Testbed server), and not before the client is ready. */
static void open_connection(const char *addr) {
  roam_client *c;
  CHECK_EQ(roam_client_connect(&c, addr, NULL, 5000), 0);
  uint64_t id = 99;
  CHECK_EQ(roam_client_open_connection(c, NULL, 0, 2000, &id), ROAM_ERR_REJECTED);
  CHECK_EQ(id, 99);
  CHECK_EQ(roam_client_open_connection(c, NULL, 0, 2000, NULL), ROAM_ERR_INVALID_ARG);
  roam_reply rep; /* the link is still fine */
  CHECK_EQ(roam_client_call(c, T_ECHO, "\x01x", 2, NULL, &rep), 0);
  roam_reply_free(&rep);
  roam_client_free(c);
  roam_client_options co;
  roam_client_options_init(&co);
  co.reconnect = true; /* connects lazily: not ready yet */
  CHECK_EQ(roam_client_new(&c, addr, &co), 0);
  CHECK_EQ(roam_client_open_connection(c, NULL, 0, 2000, &id), ROAM_ERR_STATE);
  roam_client_free(c);
}

static void test_echo(void) {
  t_server_opts o = {.max_payload = 256 * 1024};
  char bound[256];
  char ua[128];
  t_unix_addr(ua, sizeof ua, "basic");
  pid_t pid = t_fork_server(ua, &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    CHECK(strcmp(bound, ua) == 0);
    echo_sizes(bound, 256 * 1024);
    open_connection(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  pid = t_fork_server("tcp://127.0.0.1:0", &o, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    echo_sizes(bound, 256 * 1024);
    /* host:port without the scheme */
    echo_sizes(bound + 6, 256 * 1024);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  pid = t_fork_server("[::1]:0", &o, bound, sizeof bound);
  if (pid > 0) {
    CHECK(strncmp(bound, "tcp://[::1]:", 12) == 0);
    echo_sizes(bound, 256 * 1024);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  } else {
    fprintf(stderr, "note: no IPv6 loopback, skipped\n");
  }
}

static void test_errors(void) {
  roam_client *c;
  CHECK_EQ(roam_client_new(&c, "nonsense", NULL), ROAM_ERR_ADDRESS);
  CHECK_EQ(roam_client_new(&c, "tcp://127.0.0.1:", NULL), ROAM_ERR_ADDRESS);
  /* refused */
  char ua[128];
  t_unix_addr(ua, sizeof ua, "nobody");
  int r = roam_client_connect(&c, ua, NULL, 2000);
  CHECK_EQ(r, ROAM_ERR_IO);
  r = roam_client_connect(&c, "tcp://127.0.0.1:1", NULL, 2000);
  CHECK_EQ(r, ROAM_ERR_IO);
}

/* roam_loop_run_until polls before it sleeps (wait_spin_us), but adapts:
 * a wait made of 300 timer ticks and no I/O must cost about what it costs
 * with polling off, not 300 polls of 50 us each (15 ms). */
static int ticks;
static void tick(roam_timer *t, void *ud) {
  (void)ud;
  if (++ticks == 300) roam_timer_stop(t);
}
static bool cond_ticks(void *ud) {
  (void)ud;
  return ticks >= 300;
}

static double thread_cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_of_ticks(int32_t spin_us) {
  roam_loop_options o;
  roam_loop_options_init(&o);
  o.wait_spin_us = spin_us;
  roam_loop *loop;
  CHECK_EQ(roam_loop_new(&loop, &o), 0);
  roam_timer *t;
  CHECK_EQ(roam_timer_new(loop, tick, NULL, &t), 0);
  ticks = 0;
  CHECK_EQ(roam_timer_start(t, 1, 1), 0);
  double c0 = thread_cpu_ms();
  CHECK_EQ(roam_loop_run_until(loop, cond_ticks, NULL, 10000), 0);
  double c = thread_cpu_ms() - c0;
  roam_loop_free(loop);
  return c;
}

static void test_wait_spin(void) {
  double off = cpu_of_ticks(-1), on = cpu_of_ticks(0); /* 0: the default, 50 us */
  if (!(on - off < 5.0)) fprintf(stderr, "wait with polling %.1f ms CPU, without %.1f ms\n", on, off);
  CHECK(on - off < 5.0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  test_timers();
  test_wait_spin();
  test_io();
  test_threads_and_signals();
  test_errors();
  test_echo();
  return t_finish("rt_test_basic");
}
