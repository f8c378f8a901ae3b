/* Diagnostics module: dump format, records, locks, SIGUSR1 in-process. */
#include <errno.h>
#include <poll.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <roam/diag.h>

#include "diag/diag_internal.h"

#if defined(__SANITIZE_THREAD__)
#define DIAG_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DIAG_UNDER_TSAN 1
#endif
#endif
#ifndef DIAG_UNDER_TSAN
#define DIAG_UNDER_TSAN 0
#endif

#define UP "\xE2\xAC\x86"
#define DOWN "\xE2\xAC\x87"
#define ELLIPSIS "\xE2\x80\xA6"

#define SEC 1000000000ull
#define MS 1000000ull

/* ---- fixtures -------------------------------------------------------------- */

static _Atomic uint64_t fake_now;
static uint64_t fake_clock(void *ud) {
  (void)ud;
  return atomic_load(&fake_now);
}

/* Every state a test creates, so teardown can free them even after a failed
 * assertion (the registry is process-wide). */
#define MAX_STATES 64
static roam_diag_state *states[MAX_STATES];

static roam_diag_state *mk(const char *name, const roam_mem *mem) {
  roam_diag_state *st = roam_diag_state_new(name, mem);
  assert_non_null(st);
  for (int i = 0; i < MAX_STATES; i++) {
    if (!states[i]) {
      states[i] = st;
      return st;
    }
  }
  fail_msg("too many states");
  return NULL;
}

static void rm(roam_diag_state *st) {
  for (int i = 0; i < MAX_STATES; i++) {
    if (states[i] == st) states[i] = NULL;
  }
  roam_diag_state_free(st);
}

static int setup(void **ctx) {
  (void)ctx;
  atomic_store(&fake_now, 0);
  roam_diag_set_clock(fake_clock, NULL);
  roam_diag_set_record_args(1);
  roam_diag_clear_method_names();
  roam_diag_set_method_name(100, "Testbed.echo");
  roam_diag_set_method_name(200, "Testbed.sum");
  return 0;
}

static int teardown(void **ctx) {
  (void)ctx;
  for (int i = 0; i < MAX_STATES; i++) {
    if (states[i]) roam_diag_state_free(states[i]);
    states[i] = NULL;
  }
  roam_diag_set_clock(NULL, NULL);
  roam_diag_set_record_args(-1);
  roam_diag_clear_method_names();
  return 0;
}

static char *dump(void) {
  char *out = NULL;
  size_t len = 99;
  assert_int_equal(roam_diag_dump(&out, &len), ROAM_OK);
  assert_non_null(out);
  assert_int_equal(strlen(out), len);
  return out;
}

static void expect_dump(const char *want) {
  char *got = dump();
  if (strcmp(got, want) != 0) {
    print_error("--- want ---\n%s--- got ---\n%s------------\n", want, got);
  }
  assert_string_equal(got, want);
  free(got);
}

static void print_pending(roam_diag_writer *w, void *ud) {
  roam_diag_printf(w, "  pending writes: %d\n", *(int *)ud);
}
static void print_hello(roam_diag_writer *w, void *ud) {
  (void)ud;
  roam_diag_printf(w, "  hello from %s", "callback"); /* no newline: one is added */
}
static void print_nothing(roam_diag_writer *w, void *ud) {
  (void)w;
  (void)ud;
}

/* ---- format ---------------------------------------------------------------- */

static void test_format_exact(void **ctx) {
  (void)ctx;
  int pending = 3;
  roam_diag_state *alpha = mk("alpha", NULL);
  roam_diag_state *idle = mk("idle", NULL);
  roam_diag_state *chans = mk("chan-only", NULL);
  roam_diag_state *cb_only = mk("cb-only", NULL);
  roam_diag_state *cb_silent = mk("cb-silent", NULL);

  atomic_store(&fake_now, 0);
  roam_diag_req *r1 = roam_diag_request_begin(alpha, 0, 1, 100, 1);
  assert_int_equal(roam_diag_request_add_arg(alpha, r1, "args", "\"hi\""), ROAM_OK);
  atomic_store(&fake_now, 1 * SEC);
  roam_diag_req *r2 = roam_diag_request_begin(alpha, 0, 2, 200, 0);
  roam_diag_request_add_arg(alpha, r2, "a", "1");
  roam_diag_request_add_arg(alpha, r2, "b", "two");
  atomic_store(&fake_now, 1500 * MS);
  roam_diag_req *r3 = roam_diag_request_begin(alpha, 0, 3, 999, 1);
  atomic_store(&fake_now, 2 * SEC);
  roam_diag_req *r4 = roam_diag_request_begin(alpha, 0, 4, 100, 0);
  assert_non_null(r1);
  assert_non_null(r2);
  assert_non_null(r3);
  assert_non_null(r4);
  roam_diag_chan *c1 = roam_diag_channel_open(alpha, 0, 11, 1, 1);
  roam_diag_chan *c2 = roam_diag_channel_open(alpha, 0, 12, 1, 0);
  roam_diag_chan *c3 = roam_diag_channel_open(alpha, 0, 13, 0, 0);
  assert_non_null(c1);
  assert_non_null(c2);
  assert_non_null(c3);
  roam_diag_channel_set_request(alpha, c2, 3);
  assert_int_equal(roam_diag_state_add_callback(alpha, print_pending, &pending), ROAM_OK);

  roam_diag_request_end(idle, roam_diag_request_begin(idle, 0, 9, 100, 1));
  roam_diag_channel_close(idle, roam_diag_channel_open(idle, 0, 9, 1, 9));

  roam_diag_channel_open(chans, 0, 21, 0, 0);
  roam_diag_channel_close(chans, roam_diag_channel_open(chans, 0, 22, 1, 0));

  roam_diag_state_add_callback(cb_only, print_hello, NULL);
  roam_diag_state_add_callback(cb_silent, print_nothing, NULL);

  /* Elapsed: 3.05 -> "3.0", 2.05 -> "2.0", 1.55 -> "1.6", 1.05 -> "1.1"
   * (the doubles are just below/above the ties, as in Rust). */
  atomic_store(&fake_now, 3050 * MS);
  expect_dump("[alpha] 2" UP " 2" DOWN " 2tx 1rx\n"
              "  " UP "#3 ? 1.6s\n"
              "  " UP "#1 Testbed.echo 3.0s (args=\"hi\")\n"
              "  " DOWN "#4 Testbed.echo 1.1s\n"
              "  " DOWN "#2 Testbed.sum 2.0s (a=1, b=two)\n"
              "  pending writes: 3\n"
              "[chan-only] 1rx\n"
              "[cb-only]\n"
              "  hello from callback\n");

  /* Ending requests and closing channels updates counts and lines. */
  roam_diag_request_end(alpha, r3);
  roam_diag_request_end(alpha, r2);
  roam_diag_channel_close(alpha, c1);
  roam_diag_channel_close(alpha, c3);
  pending = 0;
  rm(cb_only);
  expect_dump("[alpha] 1" UP " 1" DOWN " 1tx\n"
              "  " UP "#1 Testbed.echo 3.0s (args=\"hi\")\n"
              "  " DOWN "#4 Testbed.echo 1.1s\n"
              "  pending writes: 0\n"
              "[chan-only] 1rx\n");
  roam_diag_request_end(alpha, r1);
  roam_diag_request_end(alpha, r4);
  roam_diag_channel_close(alpha, c2);
  (void)cb_silent;
}

static void test_empty_dump(void **ctx) {
  (void)ctx;
  expect_dump("");
  roam_diag_state *a = mk("a", NULL);
  roam_diag_state *b = mk(NULL, NULL);
  (void)a;
  (void)b;
  expect_dump(""); /* states with nothing to report are skipped */
  char *s = (char *)"x";
  size_t len = 5;
  assert_int_equal(roam_diag_dump(&s, &len), ROAM_OK);
  assert_string_equal(s, "");
  assert_int_equal(len, 0);
  free(s);
  assert_int_equal(roam_diag_dump(NULL, NULL), ROAM_ERR_INVALID_ARG);
}

static void test_args_only_when_enabled(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("s", NULL);
  roam_diag_set_record_args(0);
  assert_int_equal(roam_diag_record_args_enabled(), 0);
  roam_diag_req *r = roam_diag_request_begin(st, 0, 5, 100, 1);
  assert_int_equal(roam_diag_request_add_arg(st, r, "k", "v"), ROAM_OK);
  expect_dump("[s] 1" UP "\n  " UP "#5 Testbed.echo 0.0s\n");
  roam_diag_set_record_args(1);
  assert_int_equal(roam_diag_record_args_enabled(), 1);
  roam_diag_request_add_arg(st, r, "k", "v");
  roam_diag_request_add_arg(st, r, "empty", NULL);
  expect_dump("[s] 1" UP "\n  " UP "#5 Testbed.echo 0.0s (k=v, empty=)\n");
  /* Reusing the record starts with no args. */
  roam_diag_request_end(st, r);
  r = roam_diag_request_begin(st, 0, 6, 100, 1);
  expect_dump("[s] 1" UP "\n  " UP "#6 Testbed.echo 0.0s\n");
  roam_diag_request_end(st, r);
  assert_int_equal(roam_diag_request_add_arg(NULL, r, "k", "v"), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_diag_request_add_arg(st, NULL, "k", "v"), ROAM_ERR_INVALID_ARG);
}

static void test_args_sanitised_and_bounded(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("s", NULL);
  roam_diag_req *r = roam_diag_request_begin(st, 0, 1, 100, 1);
  roam_diag_request_add_arg(st, r, "x", "a\nb\tc\x7f");
  expect_dump("[s] 1" UP "\n  " UP "#1 Testbed.echo 0.0s (x=a b c )\n");
  roam_diag_request_end(st, r);

  /* 'é' is two bytes: "v=" + 127 x "é" = 256 bytes, the cut falls between
   * the halves of the 128th: it is dropped whole. */
  char big[1024] = "";
  for (int i = 0; i < 200; i++) strcat(big, "\xC3\xA9");
  r = roam_diag_request_begin(st, 0, 2, 100, 1);
  roam_diag_request_add_arg(st, r, "v", big);
  roam_diag_request_add_arg(st, r, "more", "ignored");
  char want[2048];
  strcpy(want, "[s] 1" UP "\n  " UP "#2 Testbed.echo 0.0s (v=");
  for (int i = 0; i < 127; i++) strcat(want, "\xC3\xA9");
  strcat(want, ELLIPSIS ")\n");
  expect_dump(want);
  roam_diag_request_end(st, r);

  /* ASCII: cut exactly at ROAM_DIAG_ARGS_MAX bytes. */
  memset(big, 'z', 600);
  big[600] = '\0';
  r = roam_diag_request_begin(st, 0, 3, 100, 1);
  roam_diag_request_add_arg(st, r, "k", big);
  strcpy(want, "[s] 1" UP "\n  " UP "#3 Testbed.echo 0.0s (k=");
  size_t n = strlen(want);
  memset(want + n, 'z', ROAM_DIAG_ARGS_MAX - 2);
  want[n + ROAM_DIAG_ARGS_MAX - 2] = '\0';
  strcat(want, ELLIPSIS ")\n");
  expect_dump(want);
  roam_diag_request_end(st, r);
}

static void expect_elapsed(roam_diag_state *st, uint64_t ns, const char *secs) {
  atomic_store(&fake_now, 1000 * SEC);
  roam_diag_req *r = roam_diag_request_begin(st, 0, 1, 100, 1);
  atomic_store(&fake_now, 1000 * SEC + ns);
  char want[128];
  snprintf(want, sizeof want, "[e] 1" UP "\n  " UP "#1 Testbed.echo %ss\n", secs);
  expect_dump(want);
  roam_diag_request_end(st, r);
}

static void test_elapsed_one_decimal(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("e", NULL);
  /* Values checked against Rust's format!("{:.1}", d.as_secs_f64()). */
  expect_elapsed(st, 0, "0.0");
  expect_elapsed(st, 49999999, "0.0");
  expect_elapsed(st, 50000000, "0.1");
  expect_elapsed(st, 150000000, "0.1");
  expect_elapsed(st, 250000000, "0.2"); /* exact tie: to even */
  expect_elapsed(st, 350000000, "0.3");
  expect_elapsed(st, 1250000000ull, "1.2");
  expect_elapsed(st, 1500000000ull, "1.5");
  expect_elapsed(st, 99950000000ull, "100.0");
  expect_elapsed(st, 12345678901234ull, "12345.7");
  /* A clock that went backwards shows 0.0s (like Instant::duration_since). */
  atomic_store(&fake_now, 5 * SEC);
  roam_diag_req *r = roam_diag_request_begin(st, 0, 7, 200, 0);
  atomic_store(&fake_now, 4 * SEC);
  expect_dump("[e] 1" DOWN "\n  " DOWN "#7 Testbed.sum 0.0s\n");
  roam_diag_request_end(st, r);
}

static void test_order_newest_first(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("o", NULL);
  roam_diag_req *r[6];
  for (int i = 0; i < 6; i++) {
    atomic_store(&fake_now, (uint64_t)i * SEC);
    r[i] = roam_diag_request_begin(st, 0, (uint64_t)(10 + i), 100, i % 2 == 0);
  }
  atomic_store(&fake_now, 10 * SEC);
  expect_dump("[o] 3" UP " 3" DOWN "\n"
              "  " UP "#14 Testbed.echo 6.0s\n"
              "  " UP "#12 Testbed.echo 8.0s\n"
              "  " UP "#10 Testbed.echo 10.0s\n"
              "  " DOWN "#15 Testbed.echo 5.0s\n"
              "  " DOWN "#13 Testbed.echo 7.0s\n"
              "  " DOWN "#11 Testbed.echo 9.0s\n");
  /* Removing from the middle, head and tail keeps the order. */
  roam_diag_request_end(st, r[2]);
  roam_diag_request_end(st, r[5]);
  roam_diag_request_end(st, r[1]);
  expect_dump("[o] 2" UP " 1" DOWN "\n"
              "  " UP "#14 Testbed.echo 6.0s\n"
              "  " UP "#10 Testbed.echo 10.0s\n"
              "  " DOWN "#13 Testbed.echo 7.0s\n");
  /* Equal start times: the later begin is listed first. */
  roam_diag_req *a = roam_diag_request_begin(st, 0, 20, 100, 0);
  roam_diag_req *b = roam_diag_request_begin(st, 0, 21, 100, 0);
  expect_dump("[o] 2" UP " 3" DOWN "\n"
              "  " UP "#14 Testbed.echo 6.0s\n"
              "  " UP "#10 Testbed.echo 10.0s\n"
              "  " DOWN "#21 Testbed.echo 0.0s\n"
              "  " DOWN "#20 Testbed.echo 0.0s\n"
              "  " DOWN "#13 Testbed.echo 7.0s\n");
  roam_diag_request_end(st, a);
  roam_diag_request_end(st, b);
  roam_diag_request_end(st, r[0]);
  roam_diag_request_end(st, r[3]);
  roam_diag_request_end(st, r[4]);
  expect_dump("");
}

static void test_freed_state_absent(void **ctx) {
  (void)ctx;
  roam_diag_state *a = mk("first", NULL);
  roam_diag_state *b = mk("second", NULL);
  roam_diag_state *c = mk("third", NULL);
  roam_diag_request_begin(a, 0, 1, 100, 1);
  roam_diag_request_begin(b, 0, 2, 100, 1);
  roam_diag_request_begin(c, 0, 3, 100, 1);
  roam_diag_channel_open(b, 0, 1, 1, 2);
  roam_diag_state_add_callback(b, print_hello, NULL);
  expect_dump("[first] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n"
              "[second] 1" UP " 1tx\n  " UP "#2 Testbed.echo 0.0s\n  hello from callback\n"
              "[third] 1" UP "\n  " UP "#3 Testbed.echo 0.0s\n");
  rm(b); /* frees its remaining records and callbacks */
  expect_dump("[first] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n"
              "[third] 1" UP "\n  " UP "#3 Testbed.echo 0.0s\n");
  rm(a);
  rm(c);
  expect_dump("");
  assert_int_equal(roam__diag_state_count(), 0);
  roam_diag_state_free(NULL);
}

static void test_names(void **ctx) {
  (void)ctx;
  roam_diag_state *a = mk(NULL, NULL);
  roam_diag_state *b = mk(NULL, NULL);
  char na[32], nb[32];
  assert_true(roam_diag_state_get_name(a, na, sizeof na) > 5);
  assert_true(roam_diag_state_get_name(b, nb, sizeof nb) > 5);
  assert_memory_equal(na, "link-", 5);
  assert_memory_equal(nb, "link-", 5);
  assert_int_equal(strtoull(na + 5, NULL, 10) + 1, strtoull(nb + 5, NULL, 10));
  roam_diag_request_begin(a, 0, 1, 100, 1);
  char want[128];
  snprintf(want, sizeof want, "[%s] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n", na);
  expect_dump(want);
  roam_diag_state_set_name(a, "host\xE2\x86\x92markdown");
  roam_diag_state_set_name(a, NULL); /* kept */
  roam_diag_state_set_name(NULL, "x");
  expect_dump("[host\xE2\x86\x92markdown] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n");
  char small[5];
  assert_int_equal(roam_diag_state_get_name(a, small, sizeof small), 15);
  assert_string_equal(small, "host");
  assert_int_equal(roam_diag_state_get_name(NULL, small, sizeof small), ROAM_ERR_INVALID_ARG);
}

static void test_method_names(void **ctx) {
  (void)ctx;
  char buf[64];
  assert_int_equal(roam_diag_get_method_name(100, buf, sizeof buf), 12);
  assert_string_equal(buf, "Testbed.echo");
  assert_int_equal(roam_diag_get_method_name(12345, buf, sizeof buf), ROAM_ERR_NOT_FOUND);
  assert_int_equal(roam_diag_set_method_name(1, NULL), ROAM_ERR_INVALID_ARG);
  /* Many ids (the table grows), then replace one. */
  for (uint64_t i = 0; i < 1000; i++) {
    char n[32];
    snprintf(n, sizeof n, "Svc.m%llu", (unsigned long long)i);
    assert_int_equal(roam_diag_set_method_name(0xabcdef0000ull + i * 7919, n), ROAM_OK);
  }
  for (uint64_t i = 0; i < 1000; i++) {
    char n[32];
    snprintf(n, sizeof n, "Svc.m%llu", (unsigned long long)i);
    assert_true(roam_diag_get_method_name(0xabcdef0000ull + i * 7919, buf, sizeof buf) > 0);
    assert_string_equal(buf, n);
  }
  assert_int_equal(roam_diag_set_method_name(100, "Testbed.echo2"), ROAM_OK);
  roam_diag_state *st = mk("m", NULL);
  roam_diag_req *r = roam_diag_request_begin(st, 0, 1, 100, 1);
  roam_diag_req *r2 = roam_diag_request_begin(st, 0, 2, 0xabcdef0000ull + 5 * 7919, 1);
  expect_dump("[m] 2" UP "\n  " UP "#2 Svc.m5 0.0s\n  " UP "#1 Testbed.echo2 0.0s\n");
  roam_diag_clear_method_names();
  expect_dump("[m] 2" UP "\n  " UP "#2 ? 0.0s\n  " UP "#1 ? 0.0s\n");
  roam_diag_request_end(st, r);
  roam_diag_request_end(st, r2);
}

static void test_null_tolerance(void **ctx) {
  (void)ctx;
  assert_null(roam_diag_request_begin(NULL, 0, 1, 1, 1));
  assert_null(roam_diag_channel_open(NULL, 0, 1, 1, 0));
  roam_diag_state *st = mk("n", NULL);
  roam_diag_request_end(st, NULL);
  roam_diag_request_end(NULL, NULL);
  roam_diag_channel_close(st, NULL);
  roam_diag_channel_set_request(st, NULL, 1);
  assert_int_equal(roam_diag_state_add_callback(st, NULL, NULL), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_diag_state_add_callback(NULL, print_hello, NULL), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_diag_dump_fd(-1), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_diag_install_sigusr1(-1), ROAM_ERR_INVALID_ARG);
  roam_diag_uninstall_sigusr1(); /* not installed: no-op */
  /* Ending twice is harmless (the record is only unlinked once). */
  roam_diag_req *r = roam_diag_request_begin(st, 0, 1, 100, 1);
  roam_diag_request_end(st, r);
  roam_diag_request_end(st, r);
  roam_diag_chan *c = roam_diag_channel_open(st, 0, 1, 1, 0);
  roam_diag_channel_close(st, c);
  roam_diag_channel_close(st, c);
  expect_dump("");
}

/* ---- allocation behaviour ------------------------------------------------ */

typedef struct {
  size_t allocs, frees;
  size_t fail_after; /* 0 = never fail */
} counting;

static void *c_malloc(size_t n, void *ud) {
  counting *c = ud;
  if (c->fail_after && c->allocs >= c->fail_after) return NULL;
  c->allocs++;
  return malloc(n);
}
static void *c_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  return realloc(p, n);
}
static void c_free(void *p, void *ud) {
  counting *c = ud;
  if (p) c->frees++;
  free(p);
}

static void test_no_allocation_in_steady_state(void **ctx) {
  (void)ctx;
  counting cnt = {0, 0, 0};
  roam_mem mem = {&cnt, c_malloc, c_realloc, c_free};
  roam_diag_state *st = mk("steady", &mem);
  roam_diag_req *r[10];
  roam_diag_chan *c[10];
  for (int round = 0; round < 1000; round++) {
    if (round == 1) cnt.allocs = 0; /* warm after the first round */
    for (int i = 0; i < 10; i++) {
      r[i] = roam_diag_request_begin(st, 0, (uint64_t)i, 100, i & 1);
      roam_diag_request_add_arg(st, r[i], "k", "value");
      c[i] = roam_diag_channel_open(st, 0, (uint64_t)i, i & 1, (uint64_t)i);
    }
    for (int i = 0; i < 10; i++) {
      roam_diag_request_end(st, r[i]);
      roam_diag_channel_close(st, c[i]);
    }
  }
  assert_int_equal(cnt.allocs, 0);
  rm(st);
  /* Everything allocated through the hooks was released through them. */
  assert_true(cnt.frees > 0);
}

/* Request slots come in slabs; after a burst, whole empty slabs are given
 * back until at most ROAM_DIAG_FREELIST_MAX slots (plus one slab) stay free,
 * on a locked state and on a single-writer one alike. */
static void check_free_list_bounded(int single_writer) {
  counting cnt = {0, 0, 0};
  roam_mem mem = {&cnt, c_malloc, c_realloc, c_free};
  roam_diag_state *st = mk("bounded", &mem);
  if (single_writer) roam__diag_state_single_writer(st);
  size_t n = ROAM_DIAG_FREELIST_MAX * 4 + 44;
  roam_diag_req **r = calloc(n, sizeof *r);
  assert_non_null(r);
  for (int burst = 0; burst < 2; burst++) {
    for (size_t i = 0; i < n; i++) {
      r[i] = roam_diag_request_begin(st, 0, i, 1, 1);
      assert_non_null(r[i]);
    }
    assert_true(st->n_req_slots >= n);
    size_t frees0 = cnt.frees;
    /* out of order, as calls complete */
    for (size_t i = 0; i < n; i += 2) roam_diag_request_end(st, r[i]);
    for (size_t i = 1; i < n; i += 2) roam_diag_request_end(st, r[i]);
    assert_true(cnt.frees > frees0);
    assert_int_equal(st->n_req_free, st->n_req_slots);
    assert_true(st->n_req_slots <= ROAM_DIAG_FREELIST_MAX + 64);
    expect_dump("");
  }
  free(r);
  size_t allocs = cnt.allocs;
  rm(st);
  assert_int_equal(cnt.frees, allocs);
}

static void test_free_list_bounded(void **ctx) {
  (void)ctx;
  check_free_list_bounded(0);
  check_free_list_bounded(1);
}

/* A single-writer state (a session's) is written with no lock while dumps
 * run: every dump must show whole records, never a mix of two (request id
 * i always has method "m<i % 5>", direction i & 1 and argument i). */
typedef struct {
  roam_diag_state *st;
  atomic_int stop;
  atomic_ulong rounds;
} sw_ctx;

static void *sw_writer(void *arg) {
  sw_ctx *x = arg;
  roam_diag_req *rs[40];
  uint64_t id = 1;
  while (!atomic_load(&x->stop)) {
    for (int i = 0; i < 40; i++, id++) {
      rs[i] = roam_diag_request_begin(x->st, 0, id, 1000 + id % 5, (int)(id & 1));
      char v[24];
      snprintf(v, sizeof v, "%llu", (unsigned long long)id);
      roam_diag_request_add_arg(x->st, rs[i], "a", v);
    }
    for (int i = 39; i >= 0; i -= 2) roam_diag_request_end(x->st, rs[i]);
    for (int i = 38; i >= 0; i -= 2) roam_diag_request_end(x->st, rs[i]);
    atomic_fetch_add(&x->rounds, 1);
  }
  return NULL;
}

static void check_dump_lines(const char *d) {
  const char *p = d;
  unsigned long long prev_out = 0, prev_in = 0;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    if (p[0] == '[') {
      assert_true(strncmp(p, "[sw]", 4) == 0);
    } else {
      unsigned long long id, id2;
      unsigned m;
      char arrow[4] = {0};
      assert_true(strncmp(p, "  ", 2) == 0);
      memcpy(arrow, p + 2, 3);
      /* (the argument is added just after begin: a dump may come between) */
      int n = sscanf(p + 5, "#%llu m%u %*[0-9.]s (a=%llu)", &id, &m, &id2);
      if (n < 2) fail_msg("bad line: %.*s", (int)(nl - p), p);
      assert_int_equal(m, id % 5);
      if (n == 3) assert_int_equal(id2, id);
      else assert_true(nl[-1] == 's');
      int up = strcmp(arrow, UP) == 0;
      assert_true(up || strcmp(arrow, DOWN) == 0);
      assert_int_equal(up, (int)(id & 1));
      /* newest first within each direction */
      unsigned long long *prev = up ? &prev_out : &prev_in;
      if (*prev) assert_true(id < *prev);
      *prev = id;
    }
    p = nl + 1;
  }
}

static void test_single_writer_dumps(void **ctx) {
  (void)ctx;
  roam_diag_set_clock(NULL, NULL);
  for (unsigned k = 0; k < 5; k++) {
    char name[8];
    snprintf(name, sizeof name, "m%u", k);
    roam_diag_set_method_name(1000 + k, name);
  }
  sw_ctx x;
  x.st = mk("sw", NULL);
  roam__diag_state_single_writer(x.st);
  atomic_init(&x.stop, 0);
  atomic_init(&x.rounds, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, sw_writer, &x), 0);
  int nonempty = 0;
  for (int i = 0; i < 2000 || (nonempty < 10 && i < 200000); i++) {
    char *d = dump();
    if (*d) nonempty++;
    check_dump_lines(d);
    free(d);
  }
  atomic_store(&x.stop, 1);
  pthread_join(t, NULL);
  assert_true(atomic_load(&x.rounds) > 0);
  assert_true(nonempty > 0);
  expect_dump("");
  rm(x.st);
}

static void test_out_of_memory(void **ctx) {
  (void)ctx;
  counting cnt = {0, 0, 1};
  roam_mem mem = {&cnt, c_malloc, c_realloc, c_free};
  assert_null(roam_diag_state_new("x", &mem)); /* name copy fails */
  assert_int_equal(cnt.allocs, cnt.frees);
  cnt = (counting){0, 0, 2};
  roam_diag_state *st = mk("oom", &mem);
  assert_null(roam_diag_request_begin(st, 0, 1, 1, 1));
  assert_null(roam_diag_channel_open(st, 0, 1, 1, 0));
  assert_int_equal(roam_diag_state_add_callback(st, print_hello, NULL), ROAM_ERR_NOMEM);
  roam_diag_state_set_name(st, "renamed"); /* kept on failure */
  char buf[16];
  roam_diag_state_get_name(st, buf, sizeof buf);
  assert_string_equal(buf, "oom");
  expect_dump("");
  cnt.fail_after = 3;
  roam_diag_req *r = roam_diag_request_begin(st, 0, 1, 100, 1);
  assert_non_null(r);
  assert_int_equal(roam_diag_request_add_arg(st, r, "k", "v"), ROAM_ERR_NOMEM);
  expect_dump("[oom] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n");
  roam_diag_request_end(st, r);
  rm(st);
  assert_int_equal(cnt.allocs, cnt.frees);
}

/* ---- busy locks ------------------------------------------------------------ */

typedef struct {
  roam_diag_state *st; /* NULL: the registry (or methods if which == 2) */
  int which;
  pthread_barrier_t locked, release;
} holder;

static void *hold_lock(void *arg) {
  holder *h = arg;
  if (h->which == 0)
    roam__diag_test_lock_state(h->st);
  else if (h->which == 1)
    roam__diag_test_wrlock_registry();
  else
    roam__diag_test_wrlock_methods();
  pthread_barrier_wait(&h->locked);
  pthread_barrier_wait(&h->release);
  if (h->which == 0)
    roam__diag_test_unlock_state(h->st);
  else if (h->which == 1)
    roam__diag_test_unlock_registry();
  else
    roam__diag_test_unlock_methods();
  return NULL;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dump_while_held(roam_diag_state *st, int which, const char *want) {
  holder h;
  h.st = st;
  h.which = which;
  pthread_barrier_init(&h.locked, NULL, 2);
  pthread_barrier_init(&h.release, NULL, 2);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hold_lock, &h), 0);
  pthread_barrier_wait(&h.locked);
  double t0 = mono_s();
  char *got = dump();
  double dt = mono_s() - t0;
  pthread_barrier_wait(&h.release);
  pthread_join(t, NULL);
  pthread_barrier_destroy(&h.locked);
  pthread_barrier_destroy(&h.release);
  if (strcmp(got, want) != 0) print_error("--- want ---\n%s--- got ---\n%s", want, got);
  assert_string_equal(got, want);
  free(got);
  assert_true(dt < 2.0); /* a few short retries, not a wait */
}

static void test_state_lock_held(void **ctx) {
  (void)ctx;
  roam_diag_state *a = mk("ok-before", NULL);
  roam_diag_state *busy = mk("busy-link", NULL);
  roam_diag_state *b = mk("ok-after", NULL);
  roam_diag_request_begin(a, 0, 1, 100, 1);
  roam_diag_request_begin(busy, 0, 2, 100, 1);
  roam_diag_request_begin(b, 0, 3, 200, 0);
  dump_while_held(busy, 0,
                  "[ok-before] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n"
                  "[busy-link] ERROR: Could not acquire diagnostic state lock "
                  "(held by another thread)\n"
                  "[ok-after] 1" DOWN "\n  " DOWN "#3 Testbed.sum 0.0s\n");
  /* Once released, the state is dumped normally again. */
  expect_dump("[ok-before] 1" UP "\n  " UP "#1 Testbed.echo 0.0s\n"
              "[busy-link] 1" UP "\n  " UP "#2 Testbed.echo 0.0s\n"
              "[ok-after] 1" DOWN "\n  " DOWN "#3 Testbed.sum 0.0s\n");
}

static void test_registry_lock_held(void **ctx) {
  (void)ctx;
  roam_diag_state *a = mk("a", NULL);
  roam_diag_request_begin(a, 0, 1, 100, 1);
  dump_while_held(NULL, 1,
                  "ERROR: Could not acquire diagnostic registry lock (held by another thread)\n");
  dump_while_held(NULL, 2,
                  "ERROR: Could not acquire method name table lock (held by another thread); "
                  "method names shown as ?\n"
                  "[a] 1" UP "\n  " UP "#1 ? 0.0s\n");
}

/* A callback may record into its own state (the state lock is not held while
 * callbacks run) and may even dump recursively without deadlocking. */
static roam_diag_state *reentrant_state;
static int reentrant_depth;
static void reentrant_cb(roam_diag_writer *w, void *ud) {
  (void)ud;
  if (reentrant_depth) {
    roam_diag_printf(w, "  nested");
    return;
  }
  reentrant_depth++;
  roam_diag_request_end(reentrant_state, roam_diag_request_begin(reentrant_state, 0, 99, 1, 1));
  char *inner = NULL;
  size_t len = 0;
  int rc = roam_diag_dump(&inner, &len);
  roam_diag_printf(w, "  inner rc=%d len=%zu", rc, len);
  free(inner);
  reentrant_depth--;
}

static void test_callback_reentrancy(void **ctx) {
  (void)ctx;
  reentrant_state = mk("re", NULL);
  roam_diag_state_add_callback(reentrant_state, reentrant_cb, NULL);
  expect_dump("[re]\n  inner rc=0 len=14\n"); /* inner: "[re]\n  nested\n" */
}

/* ---- output to fds, SIGUSR1 in this process ---------------------------- */

static char *read_until(int fd, size_t want_len, int timeout_ms) {
  char *buf = calloc(1, want_len + 4096);
  size_t len = 0;
  double deadline = mono_s() + timeout_ms / 1000.0;
  while (len < want_len) {
    int left = (int)((deadline - mono_s()) * 1000);
    if (left <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t n = read(fd, buf + len, want_len + 4095 - len);
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  return buf;
}

static void test_dump_fd(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("fd", NULL);
  roam_diag_request_begin(st, 0, 4, 200, 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(roam_diag_dump_fd(p[1]), ROAM_OK);
  const char *want = "[fd] 1" DOWN "\n  " DOWN "#4 Testbed.sum 0.0s\n";
  char *got = read_until(p[0], strlen(want), 2000);
  assert_string_equal(got, want);
  free(got);
  close(p[0]);
  close(p[1]);
}

static void test_sigusr1_in_process(void **ctx) {
  (void)ctx;
  roam_diag_state *st = mk("sig", NULL);
  roam_diag_request_begin(st, 0, 8, 100, 1);
  atomic_store(&fake_now, 2500 * MS);
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(roam_diag_install_sigusr1(p[1]), ROAM_OK);
  assert_int_equal(roam_diag_install_sigusr1(p[1]), ROAM_ERR_STATE);
  const char *want = "[sig] 1" UP "\n  " UP "#8 Testbed.echo 2.5s\n";
  for (int i = 0; i < 3; i++) {
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    char *got = read_until(p[0], strlen(want), 10000);
    assert_string_equal(got, want);
    free(got);
  }
  roam_diag_uninstall_sigusr1();
  roam_diag_uninstall_sigusr1();
  /* Reinstalling works, and the previous disposition came back meanwhile. */
  struct sigaction cur;
  sigaction(SIGUSR1, NULL, &cur);
  assert_true(cur.sa_handler == SIG_DFL);
  assert_int_equal(roam_diag_install_sigusr1(p[1]), ROAM_OK);
  raise(SIGUSR1);
  char *got = read_until(p[0], strlen(want), 10000);
  assert_string_equal(got, want);
  free(got);
  roam_diag_uninstall_sigusr1();
  close(p[0]);
  close(p[1]);
}

/* A forked child has no dump thread: its copy of the handler is removed. */
static void test_fork_removes_handler(void **ctx) {
  (void)ctx;
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(roam_diag_install_sigusr1(p[1]), ROAM_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    int ok = cur.sa_handler == SIG_DFL;
    /* And the child may install its own (not under TSan, which does not
     * support starting threads after a multi-threaded fork). */
#if !DIAG_UNDER_TSAN
    ok = ok && roam_diag_install_sigusr1(p[1]) == ROAM_OK;
    roam_diag_uninstall_sigusr1();
#endif
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* The parent's handler is untouched. */
  struct sigaction cur;
  sigaction(SIGUSR1, NULL, &cur);
  assert_true(cur.sa_handler != SIG_DFL);
  roam_diag_uninstall_sigusr1();
  close(p[0]);
  close(p[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_format_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_dump, setup, teardown),
      cmocka_unit_test_setup_teardown(test_args_only_when_enabled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_args_sanitised_and_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_elapsed_one_decimal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_order_newest_first, setup, teardown),
      cmocka_unit_test_setup_teardown(test_freed_state_absent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_method_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_null_tolerance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_allocation_in_steady_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_list_bounded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_single_writer_dumps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_lock_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_registry_lock_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_callback_reentrancy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dump_fd, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigusr1_in_process, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fork_removes_handler, setup, teardown),
  };
  return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
