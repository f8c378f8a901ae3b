/*
 * Diagnostics: the SIGUSR1 trigger.
 *
 * The handler does the only async-signal-safe thing it can: it write()s one
 * byte to a non-blocking self-pipe (a full pipe already holds a pending
 * request, so a failed write loses nothing) and restores errno. A dedicated
 * thread, created with every signal blocked, waits on the pipe, drains it
 * (so a burst of signals gives one or two dumps, not one each) and writes the
 * dump to the requested fd. The dump itself only ever trylocks (dump.c), so
 * the thread cannot deadlock with a thread that was interrupted, or is stuck,
 * while holding one of our locks.
 *
 * Uninstalling must not close the pipe under a handler that is running on
 * another thread: each handler counts itself in `handlers_active` before it
 * loads `handler_fd`. Uninstall first restores the previous disposition, then
 * stores -1 into handler_fd, then waits for handlers_active to drop to 0. In
 * the sequentially consistent order of these atomics, a handler that still
 * loaded the old fd incremented the counter before uninstall read it, so
 * uninstall waits for it; a later handler sees -1. Only then is the write end
 * closed, which makes the dump thread read end-of-file and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "diag/diag_internal.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler needs lock-free atomic int");

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER; /* install/uninstall/fork */
static int sig_installed;
static int pipe_rd = -1, pipe_wr = -1;
static pthread_t dump_thread;
static struct sigaction prev_action;
static atomic_int handler_fd = -1;
static atomic_int handlers_active;
static atomic_uint_fast64_t signal_dumps;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

struct dump_thread_args {
  int rd, out;
};
static struct dump_thread_args thread_args;

static void on_sigusr1(int sig) {
  (void)sig;
  int saved = errno;
  atomic_fetch_add(&handlers_active, 1);
  int fd = atomic_load(&handler_fd);
  if (fd >= 0) {
    ssize_t k = write(fd, "d", 1);
    (void)k;
  }
  atomic_fetch_sub(&handlers_active, 1);
  errno = saved;
}

static void *dump_main(void *arg) {
  const struct dump_thread_args *a = arg;
  int rd = a->rd, out = a->out;
  for (;;) {
    struct pollfd p = {rd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int want_dump = 0, quit = 0;
    for (;;) {
      char buf[256];
      ssize_t n = read(rd, buf, sizeof buf);
      if (n > 0) {
        want_dump = 1;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) quit = 1;
      break;
    }
    if (want_dump) {
      roam_diag_dump_fd(out);
      atomic_fetch_add(&signal_dumps, 1);
    }
    if (quit) break;
  }
  return NULL;
}

static void close_pipe(void) {
  if (pipe_rd >= 0) close(pipe_rd);
  if (pipe_wr >= 0) close(pipe_wr);
  pipe_rd = pipe_wr = -1;
}

static void atfork_prepare(void) { pthread_mutex_lock(&sig_mu); }
static void atfork_parent(void) { pthread_mutex_unlock(&sig_mu); }
static void atfork_child(void) {
  /* The dump thread was not copied: take the handler out of the child. */
  if (sig_installed) {
    sigaction(SIGUSR1, &prev_action, NULL);
    atomic_store(&handler_fd, -1);
    atomic_store(&handlers_active, 0);
    close_pipe();
    sig_installed = 0;
  }
  pthread_mutex_unlock(&sig_mu);
}
static void register_atfork(void) {
  pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static int set_flags(int fd) {
  int fl = fcntl(fd, F_GETFL);
  int fdfl = fcntl(fd, F_GETFD);
  if (fl < 0 || fdfl < 0) return -1;
  if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
}

int roam_diag_install_sigusr1(int fd) {
  if (fd < 0) return ROAM_ERR_INVALID_ARG;
  pthread_once(&atfork_once, register_atfork);
  pthread_mutex_lock(&sig_mu);
  if (sig_installed) {
    pthread_mutex_unlock(&sig_mu);
    return ROAM_ERR_STATE;
  }
  int p[2];
  if (pipe(p) != 0) goto fail;
  pipe_rd = p[0];
  pipe_wr = p[1];
  if (set_flags(pipe_rd) != 0 || set_flags(pipe_wr) != 0) goto fail;

  thread_args.rd = pipe_rd;
  thread_args.out = fd;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&dump_thread, NULL, dump_main, &thread_args);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    errno = rc;
    goto fail;
  }
#if defined(__linux__) && defined(__GLIBC__)
  pthread_setname_np(dump_thread, "roam-diag");
#endif

  atomic_store(&handler_fd, pipe_wr);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGUSR1, &sa, &prev_action) != 0) {
    int e = errno;
    atomic_store(&handler_fd, -1);
    close(pipe_wr); /* the thread reads end-of-file and exits */
    pipe_wr = -1;
    pthread_join(dump_thread, NULL);
    errno = e;
    goto fail;
  }
  sig_installed = 1;
  pthread_mutex_unlock(&sig_mu);
  return ROAM_OK;

fail: {
  int e = errno;
  close_pipe();
  pthread_mutex_unlock(&sig_mu);
  errno = e;
  return ROAM_ERR_IO;
}
}

void roam_diag_uninstall_sigusr1(void) {
  pthread_mutex_lock(&sig_mu);
  if (!sig_installed) {
    pthread_mutex_unlock(&sig_mu);
    return;
  }
  sigaction(SIGUSR1, &prev_action, NULL);
  atomic_store(&handler_fd, -1);
  while (atomic_load(&handlers_active) != 0) sched_yield();
  close(pipe_wr);
  pipe_wr = -1;
  pthread_join(dump_thread, NULL);
  close_pipe();
  sig_installed = 0;
  pthread_mutex_unlock(&sig_mu);
}

uint64_t roam__diag_signal_dump_count(void) { return (uint64_t)atomic_load(&signal_dumps); }
