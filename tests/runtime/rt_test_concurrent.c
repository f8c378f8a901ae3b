/*
 * Many concurrent clients (separate processes) with pipelined calls against
 * one forked server, once with the default eager flushing and once with its
 * extremes (a send after about every answer on the server and on half the
 * clients, none before the end of a loop iteration on the others); then
 * threads submitting calls to a loop running in its
 * own thread (roam_client_submit / roam_client_submit_wait).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_testlib.h"

#define NCLIENTS 16
#define CALLS 3000
#define INFLIGHT 64

typedef struct {
  roam_client *c;
  int id;
  size_t sent, done, ok;
} pipe_state;

static void pipe_cb(roam_client *c, const roam_call_result *res, void *ud);

static void pipe_send(pipe_state *st) {
  char s[64];
  uint8_t enc[80];
  size_t i = st->sent++;
  int n = snprintf(s, sizeof s, "client %d call %zu %.*s", st->id, i, (int)(i % 23), "abcdefghijklmnopqrstuvw");
  size_t len = t_enc_string(enc, sizeof enc, s, (size_t)n);
  int r = roam_client_call_async(st->c, T_ECHO, enc, len, NULL, pipe_cb, (void *)(uintptr_t)i);
  if (r != 0) st->done++;
}

static pipe_state *g_st;

static void pipe_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  pipe_state *st = g_st;
  size_t i = (size_t)(uintptr_t)ud;
  char s[64];
  uint8_t enc[80];
  int n = snprintf(s, sizeof s, "client %d call %zu %.*s", st->id, i, (int)(i % 23), "abcdefghijklmnopqrstuvw");
  size_t len = t_enc_string(enc, sizeof enc, s, (size_t)n);
  st->done++;
  if (res->status == 0 && res->value.len == len && memcmp(res->value.ptr, enc, len) == 0) st->ok++;
  if (st->sent < CALLS) pipe_send(st);
}

static bool all_done(void *ud) {
  pipe_state *st = ud;
  return st->done >= CALLS;
}

static int client_proc(const char *addr, int id, size_t eager) {
  roam_client *c;
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.eager_flush_bytes = eager;
  if (roam_client_connect(&c, addr, &co, 5000) != 0) return 10;
  pipe_state st = {c, id, 0, 0, 0};
  g_st = &st;
  for (int i = 0; i < INFLIGHT; i++) pipe_send(&st);
  int r = roam_loop_run_until(roam_client_loop(c), all_done, &st, 30000);
  roam_client_free(c);
  if (r != 0) return 11;
  return st.ok == CALLS ? 0 : 12;
}

static int nclients(void) {
  const char *e = getenv("RT_CLIENTS"); /* fewer under valgrind */
  int n = e ? atoi(e) : NCLIENTS;
  return n > 0 && n <= NCLIENTS ? n : NCLIENTS;
}

/* extremes: odd clients send after about every answer, even ones only at
 * the end of each loop iteration; otherwise all use the default */
static void test_processes(const char *addr, bool extremes) {
  pid_t kids[NCLIENTS];
  int nk = nclients();
  fflush(NULL);
  for (int i = 0; i < nk; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      size_t eager = !extremes ? 0 : (i & 1) ? 64 : SIZE_MAX;
      _exit(client_proc(addr, i, eager));
    }
  }
  for (int i = 0; i < nk; i++) {
    int st = 0;
    waitpid(kids[i], &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
  }
}

/* ---- threads -------------------------------------------------------------- */

#define NTHREADS 4
#define TCALLS 500

static roam_client *g_tc;

static void *thread_main(void *arg) {
  int id = (int)(intptr_t)arg;
  int bad = 0;
  for (int i = 0; i < TCALLS; i++) {
    char s[48];
    uint8_t enc[64];
    int n = snprintf(s, sizeof s, "thread %d call %d", id, i);
    size_t len = t_enc_string(enc, sizeof enc, s, (size_t)n);
    roam_reply rep;
    int r = roam_client_submit_wait(g_tc, T_ECHO, enc, len, 5000, &rep);
    if (r != 0 || rep.value_len != len || memcmp(rep.value, enc, len) != 0) bad++;
    roam_reply_free(&rep);
  }
  return (void *)(intptr_t)bad;
}

static atomic_int cb_ok;
static void submit_cb(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  (void)ud;
  if (res->status == 0) atomic_fetch_add(&cb_ok, 1);
}

static void *loop_thread(void *arg) {
  roam_loop_run(arg);
  return NULL;
}

static void test_threads(const char *addr) {
  roam_loop *loop;
  CHECK_EQ(roam_loop_new(&loop, NULL), 0);
  roam_client_options co;
  roam_client_options_init(&co);
  co.loop = loop;
  co.reconnect = true; /* connects lazily on the first submitted call */
  CHECK_EQ(roam_client_new(&g_tc, addr, &co), 0);
  CHECK_EQ(roam_client_connection_count(g_tc), 0);
  pthread_t lt;
  pthread_create(&lt, NULL, loop_thread, loop);
  pthread_t th[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i);
  uint8_t enc[16];
  size_t len = t_enc_string(enc, sizeof enc, "cb", 2);
  for (int i = 0; i < 200; i++) CHECK_EQ(roam_client_submit(g_tc, T_ECHO, enc, len, 5000, submit_cb, NULL), 0);
  for (int i = 0; i < NTHREADS; i++) {
    void *bad;
    pthread_join(th[i], &bad);
    CHECK_EQ((intptr_t)bad, 0);
  }
  for (int i = 0; i < 500 && atomic_load(&cb_ok) < 200; i++) usleep(10000);
  CHECK_EQ(atomic_load(&cb_ok), 200);
  /* only one connection was made for all those concurrent first calls */
  CHECK_EQ(roam_client_connection_count(g_tc), 1);
  roam_loop_stop(loop);
  pthread_join(lt, NULL);
  /* on the loop thread's own side, submit_wait is refused */
  roam_reply rep;
  CHECK_EQ(roam_client_submit_wait(g_tc, T_ECHO, enc, len, 100, &rep), ROAM_ERR_TIMEOUT);
  roam_reply_free(&rep);
  roam_client_free(g_tc);
  roam_loop_free(loop);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char bound[256];
  pid_t pid = t_fork_server("tcp://127.0.0.1:0", NULL, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    test_processes(bound, false);
    test_threads(bound);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  char ua[128];
  t_unix_addr(ua, sizeof ua, "conc");
  t_server_opts so = {0};
  so.eager_flush = 64; /* about one answer per send */
  pid = t_fork_server(ua, &so, bound, sizeof bound);
  CHECK(pid > 0);
  if (pid > 0) {
    test_processes(bound, true);
    CHECK_EQ(t_stop_server(pid, SIGTERM), 0);
  }
  return t_finish("rt_test_concurrent");
}
