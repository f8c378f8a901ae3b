/*
 * The reference's debugging switches, for every program built on the
 * runtime (docs/runtime.md, "Debugging switches"):
 *
 *   ROAM_WIRE_SPY  (any value but empty or "0")  every message sent and
 *                  received, at level INFO (ROAM_SESSION_WIRE_SPY)
 *   ROAM_DEBUG     (set, any value)              everything the library logs,
 *                  DEBUG included (and call arguments in diagnostic dumps,
 *                  as ROAM_DEBUG_ARGS: src/diag)
 *
 * Output goes through the application's log callback. When it installed
 * none, the runtime installs roam_log_stderr: the library prints only
 * because the user asked for it by setting a variable.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_internal.h"

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static unsigned env_switches;

static void read_env(void) {
  const char *spy = getenv("ROAM_WIRE_SPY");
  if (spy && *spy && strcmp(spy, "0") != 0) env_switches |= ROAM_ENV_WIRE_SPY;
  if (getenv("ROAM_DEBUG")) env_switches |= ROAM_ENV_DEBUG;
}

unsigned roam_env_switches(void) {
  pthread_once(&env_once, read_env);
  return env_switches;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void roam_log_stderr(void *user_data, roam_log_level level, const char *msg) {
  unsigned sw = roam_env_switches();
  if (level > ROAM_LOG_WARN && !(sw & ROAM_ENV_DEBUG) &&
      !(level == ROAM_LOG_INFO && (sw & ROAM_ENV_WIRE_SPY)))
    return;
  const char *name = user_data;
  const char *lvl = (unsigned)level < 4 ? level_names[level] : "?";
  /* One write per line: lines of different threads never interleave. */
  char line[1024];
  int n = name && *name ? snprintf(line, sizeof line, "roam [%s] %s: %s\n", name, lvl, msg)
                        : snprintf(line, sizeof line, "roam %s: %s\n", lvl, msg);
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  if ((size_t)n >= sizeof line) line[len - 1] = '\n';
  const char *p = line;
  while (len) {
    ssize_t w = write(STDERR_FILENO, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    len -= (size_t)w;
  }
}

void rt_env_loop_log(roam_log_fn *log, void **user_data) {
  if (*log || !roam_env_switches()) return;
  *log = roam_log_stderr;
  *user_data = NULL;
}

void rt_env_session(roam_session_config *cfg) {
  unsigned sw = roam_env_switches();
  if (!sw) return;
  if (sw & ROAM_ENV_WIRE_SPY) cfg->flags |= ROAM_SESSION_WIRE_SPY;
  /* The default sink (the loop's, or none at all): name the link. */
  if (!cfg->log || (cfg->log == roam_log_stderr && !cfg->log_user_data)) {
    cfg->log = roam_log_stderr;
    cfg->log_user_data = (void *)(uintptr_t)cfg->name;
  }
}
