/*
 * SIGUSR1 in a real child process: diag_hung_helper records requests that
 * never complete, installs the dump on stderr and waits; we kill() it with
 * SIGUSR1 and check what it writes to its stderr, exactly.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

#define UP "\xE2\xAC\x86"
#define DOWN "\xE2\xAC\x87"

typedef struct {
  pid_t pid;
  int out_fd, err_fd;
} child;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read from fd until `want` bytes arrived, a `stop` byte was read (0 = none)
 * or timeout_ms passed. */
static char *read_some(int fd, size_t want, char stop, int timeout_ms) {
  size_t cap = want + 4096, len = 0;
  char *buf = calloc(1, cap + 1);
  assert_non_null(buf);
  double deadline = mono_s() + timeout_ms / 1000.0;
  while (len < want) {
    int left = (int)((deadline - mono_s()) * 1000);
    if (left <= 0) break;
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t n = read(fd, buf + len, stop ? 1 : cap - len);
    if (n <= 0) break;
    len += (size_t)n;
    if (stop && buf[len - 1] == stop) break;
  }
  buf[len] = '\0';
  return buf;
}

static void spawn(child *c, const char *const *env_extra, const char *arg) {
  /* The environment is built before fork: no allocation in the child. */
  size_t n = 0, k = 0;
  while (environ[n]) n++;
  size_t extra = 0;
  while (env_extra && env_extra[extra]) extra++;
  char **envp = calloc(n + extra + 1, sizeof *envp);
  assert_non_null(envp);
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "ROAM_DEBUG", 10) == 0) continue; /* ROAM_DEBUG, ROAM_DEBUG_ARGS */
    envp[k++] = environ[i];
  }
  for (size_t i = 0; i < extra; i++) envp[k++] = (char *)env_extra[i];
  envp[k] = NULL;
  char *argv[] = {(char *)DIAG_HELPER, (char *)arg, NULL};

  int out[2], err[2];
  assert_int_equal(pipe(out), 0);
  assert_int_equal(pipe(err), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(out[1]);
    close(err[0]);
    close(err[1]);
    execve(DIAG_HELPER, argv, envp);
    _exit(127);
  }
  free(envp);
  close(out[1]);
  close(err[1]);
  c->pid = pid;
  c->out_fd = out[0];
  c->err_fd = err[0];
}

static void finish(child *c) {
  kill(c->pid, SIGTERM);
  int status = 0;
  while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
  }
  /* Nothing more was printed: the library prints only when asked. */
  char *rest = read_some(c->err_fd, 1, 0, 200);
  assert_string_equal(rest, "");
  free(rest);
  close(c->out_fd);
  close(c->err_fd);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGTERM);
}

static void run_case(const char *const *env, const char *arg, const char *ready,
                     const char *want) {
  child c;
  spawn(&c, env, arg);
  char *line = read_some(c.out_fd, 256, '\n', 20000);
  assert_string_equal(line, ready);
  free(line);
  /* Before any signal, nothing on stderr. */
  char *quiet = read_some(c.err_fd, 1, 0, 100);
  assert_string_equal(quiet, "");
  free(quiet);
  for (int round = 0; round < 2; round++) {
    assert_int_equal(kill(c.pid, SIGUSR1), 0);
    char *got = read_some(c.err_fd, strlen(want), 0, 20000);
    if (strcmp(got, want) != 0) print_error("--- want ---\n%s--- got ---\n%s---\n", want, got);
    assert_string_equal(got, want);
    free(got);
  }
  finish(&c);
}

#define CLIENT_HEAD "[client-link] 2" UP " 1" DOWN " 1tx 1rx\n"
#define STUCK_LINE \
  "[stuck-link] ERROR: Could not acquire diagnostic state lock (held by another thread)\n"
#define VCONN "[link-1] 1" DOWN "\n  " DOWN "#1 Testbed.sum 4.3s\n"

static void test_hung_child_with_args_and_stuck_lock(void **ctx) {
  (void)ctx;
  const char *env[] = {"ROAM_DEBUG=1", NULL};
  run_case(env, "stuck", "ready debug=1 args=1\n",
           CLIENT_HEAD "  " UP "#3 Testbed.sum 3.3s\n"
                       "  " UP "#1 Testbed.echo 4.3s (args=hello)\n"
                       "  " DOWN "#2 ? 2.3s\n"
                       "  queue depth: 7\n" STUCK_LINE VCONN);
}

static void test_hung_child_without_args(void **ctx) {
  (void)ctx;
  run_case(NULL, "plain", "ready debug=0 args=0\n",
           CLIENT_HEAD "  " UP "#3 Testbed.sum 3.3s\n"
                       "  " UP "#1 Testbed.echo 4.3s\n"
                       "  " DOWN "#2 ? 2.3s\n"
                       "  queue depth: 7\n" VCONN);
}

static void test_debug_args_variable(void **ctx) {
  (void)ctx;
  const char *env[] = {"ROAM_DEBUG_ARGS=1", NULL};
  run_case(env, "plain", "ready debug=0 args=1\n",
           CLIENT_HEAD "  " UP "#3 Testbed.sum 3.3s\n"
                       "  " UP "#1 Testbed.echo 4.3s (args=hello)\n"
                       "  " DOWN "#2 ? 2.3s\n"
                       "  queue depth: 7\n" VCONN);
}

static void test_debug_set_to_empty(void **ctx) {
  (void)ctx;
  const char *env[] = {"ROAM_DEBUG=", NULL}; /* set to anything, even "" */
  run_case(env, "plain", "ready debug=1 args=1\n",
           CLIENT_HEAD "  " UP "#3 Testbed.sum 3.3s\n"
                       "  " UP "#1 Testbed.echo 4.3s (args=hello)\n"
                       "  " DOWN "#2 ? 2.3s\n"
                       "  queue depth: 7\n" VCONN);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hung_child_with_args_and_stuck_lock),
      cmocka_unit_test(test_hung_child_without_args),
      cmocka_unit_test(test_debug_args_variable),
      cmocka_unit_test(test_debug_set_to_empty),
  };
  return cmocka_run_group_tests_name("diag_sigusr1", tests, NULL, NULL);
}
