/*
 * Signal storm: several threads create and free states and begin/end records
 * in a loop, another dumps directly, another renames methods, while one more
 * sends SIGUSR1 to the process hundreds of times. Must finish in bounded time
 * (an alarm kills a deadlocked run), never crash, and be sanitizer-clean.
 * Callback user data is freed right after roam_diag_state_free() returns, so
 * a dump that still called the callback would be a use-after-free.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <roam/diag.h>

#include "diag/diag_internal.h"

#define WORKERS 4
#define SIGNALS 500

static atomic_int stop;
static atomic_uint_fast64_t out_bytes;
static atomic_uint_fast64_t worker_rounds;
static atomic_uint_fast64_t direct_dumps;

static void cb(roam_diag_writer *w, void *ud) {
  const int *v = ud;
  roam_diag_printf(w, "  worker %d alive", *v);
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  while (!atomic_load(&stop)) {
    roam_diag_state *st = roam_diag_state_new(id % 2 ? NULL : "storm", NULL);
    if (!st) abort();
    /* Half the states are written like a session's: no lock, dumps read
     * the records as seqlocks. */
    if (id >= WORKERS / 2) roam__diag_state_single_writer(st);
    int *ud = malloc(sizeof *ud);
    if (!ud) abort();
    *ud = id;
    roam_diag_state_add_callback(st, cb, ud);
    roam_diag_req *rs[16];
    roam_diag_chan *cs[16];
    for (int round = 0; round < 20; round++) {
      for (int i = 0; i < 16; i++) {
        rs[i] = roam_diag_request_begin(st, 0, (uint64_t)(round * 16 + i), (uint64_t)(i % 5),
                                        i & 1);
        roam_diag_request_add_arg(st, rs[i], "i", "value");
        cs[i] = roam_diag_channel_open(st, 0, (uint64_t)i, i & 1, 0);
      }
      if (round % 7 == 0) roam_diag_state_set_name(st, round % 2 ? "storm-renamed" : "storm");
      if (round == 19) break; /* leave the last batch open: freed with the state */
      for (int i = 0; i < 16; i++) {
        roam_diag_request_end(st, rs[i]);
        roam_diag_channel_close(st, cs[i]);
      }
    }
    roam_diag_state_free(st);
    free(ud);
    atomic_fetch_add(&worker_rounds, 1);
  }
  return NULL;
}

static void *dumper(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    char *s = NULL;
    size_t len = 0;
    if (roam_diag_dump(&s, &len) != ROAM_OK) abort();
    free(s);
    atomic_fetch_add(&direct_dumps, 1);
  }
  return NULL;
}

static void *namer(void *arg) {
  (void)arg;
  char name[32];
  for (unsigned i = 0; !atomic_load(&stop); i++) {
    snprintf(name, sizeof name, "Storm.m%u", i % 97);
    roam_diag_set_method_name(i % 5, name);
    if (i % 1000 == 999) roam_diag_clear_method_names();
  }
  return NULL;
}

static void *drain(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    atomic_fetch_add(&out_bytes, (uint64_t)n);
  }
  return NULL;
}

static void test_storm(void **ctx) {
  (void)ctx;
  alarm(240); /* a deadlock ends the process (SIGALRM) and fails the test */
  int p[2];
  assert_int_equal(pipe(p), 0);
  pthread_t drainer;
  assert_int_equal(pthread_create(&drainer, NULL, drain, (void *)(intptr_t)p[0]), 0);
  assert_int_equal(roam_diag_install_sigusr1(p[1]), ROAM_OK);

  pthread_t w[WORKERS], d, n;
  for (int i = 0; i < WORKERS; i++) {
    assert_int_equal(pthread_create(&w[i], NULL, worker, (void *)(intptr_t)i), 0);
  }
  assert_int_equal(pthread_create(&d, NULL, dumper, NULL), 0);
  assert_int_equal(pthread_create(&n, NULL, namer, NULL), 0);

  /* This thread is the signal sender. */
  for (int i = 0; i < SIGNALS; i++) {
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    struct timespec ts = {0, 300000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  /* Let the dump thread catch up with the last signal before stopping. */
  uint64_t before = roam__diag_signal_dump_count();
  kill(getpid(), SIGUSR1);
  for (int i = 0; i < 20000 && roam__diag_signal_dump_count() == before; i++) usleep(100);

  atomic_store(&stop, 1);
  for (int i = 0; i < WORKERS; i++) pthread_join(w[i], NULL);
  pthread_join(d, NULL);
  pthread_join(n, NULL);
  roam_diag_uninstall_sigusr1();
  close(p[1]);
  pthread_join(drainer, NULL);
  close(p[0]);
  alarm(0);

  uint64_t sig_dumps = roam__diag_signal_dump_count();
  print_message("signal dumps %llu, direct dumps %llu, worker rounds %llu, bytes %llu\n",
                (unsigned long long)sig_dumps, (unsigned long long)atomic_load(&direct_dumps),
                (unsigned long long)atomic_load(&worker_rounds),
                (unsigned long long)atomic_load(&out_bytes));
  assert_true(sig_dumps > before);
  assert_true(atomic_load(&worker_rounds) > 0);
  assert_int_equal(roam__diag_state_count(), 0);
  roam_diag_clear_method_names();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_storm),
  };
  return cmocka_run_group_tests_name("diag_storm", tests, NULL, NULL);
}
