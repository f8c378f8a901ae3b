/*
 * A process with hung diagnostic records, for test_diag_sigusr1: it records a
 * few requests and channels that never complete (with a fake clock, so the
 * elapsed times are fixed), installs the SIGUSR1 dump to stderr, prints
 * "ready debug=<0|1> args=<0|1>" on stdout and waits to be killed.
 *
 * With the argument "stuck", one more state's lock is held forever by a
 * thread, as if that thread hung inside the diagnostics hooks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <roam/diag.h>

#include "diag/diag_internal.h"

#define SEC 1000000000ull

static _Atomic uint64_t fake_now;
static uint64_t fake_clock(void *ud) {
  (void)ud;
  return atomic_load(&fake_now);
}

static void queue_depth(roam_diag_writer *w, void *ud) {
  roam_diag_printf(w, "  queue depth: %d", *(const int *)ud);
}

static pthread_barrier_t stuck_ready;
static void *hang_holding_lock(void *arg) {
  roam__diag_test_lock_state(arg);
  pthread_barrier_wait(&stuck_ready);
  for (;;) pause();
  return NULL;
}

int main(int argc, char **argv) {
  int stuck = argc > 1 && strcmp(argv[1], "stuck") == 0;
  static const int depth = 7;
  roam_diag_set_clock(fake_clock, NULL);
  roam_diag_set_method_name(0x1001, "Testbed.echo");
  roam_diag_set_method_name(0x1002, "Testbed.sum");

  roam_diag_state *client = roam_diag_state_new("client-link", NULL);
  roam_diag_state *idle = roam_diag_state_new("idle-link", NULL);
  roam_diag_state *stuck_st = stuck ? roam_diag_state_new("stuck-link", NULL) : NULL;
  roam_diag_state *vconn = roam_diag_state_new(NULL, NULL); /* "link-1" */
  if (!client || !idle || !vconn || (stuck && !stuck_st)) return 2;

  atomic_store(&fake_now, 0);
  roam_diag_req *r1 = roam_diag_request_begin(client, 0, 1, 0x1001, 1);
  roam_diag_request_add_arg(client, r1, "args", "hello");
  roam_diag_request_begin(vconn, 1, 1, 0x1002, 0);
  if (stuck_st) roam_diag_request_begin(stuck_st, 0, 4, 0x1001, 1);
  atomic_store(&fake_now, 1 * SEC);
  roam_diag_request_begin(client, 0, 3, 0x1002, 1);
  roam_diag_channel_open(client, 0, 5, 1, 3);
  atomic_store(&fake_now, 2 * SEC);
  roam_diag_request_begin(client, 0, 2, 0x9999, 0);
  roam_diag_channel_open(client, 0, 6, 0, 0);
  roam_diag_state_add_callback(client, queue_depth, (void *)&depth);
  atomic_store(&fake_now, 4300000000ull);

  if (stuck_st) {
    pthread_t t;
    pthread_barrier_init(&stuck_ready, NULL, 2);
    if (pthread_create(&t, NULL, hang_holding_lock, stuck_st) != 0) return 2;
    pthread_barrier_wait(&stuck_ready);
  }

  if (roam_diag_install_sigusr1(2) != ROAM_OK) return 3;
  printf("ready debug=%d args=%d\n", roam_diag_debug_enabled(), roam_diag_record_args_enabled());
  fflush(stdout);
  for (;;) pause();
}
