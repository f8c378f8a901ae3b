/*
 * roam-testbed-server [--ws-origins LIST] ADDR [ADDR...]
 *
 * Serves the Testbed service on every ADDR ("host:port", "tcp://host:port",
 * "unix:/path", "ws://host:port/path"; port 0 picks a free port; a ws://
 * listener accepts the Origins in LIST only, when given) to every link that connects, and
 * on the virtual connections those links open, until SIGINT or SIGTERM;
 * then it shuts down gracefully (calls in progress get up to 5 s to finish).
 *
 * Prints one line per address to stdout once it listens:  listening on <address>
 * Everything else goes to stderr. Exit status 0 after a clean shutdown.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <roam/diag.h>
#include <roam/runtime.h>

#include "testbed_service.h"

/* Hooks get the application context as user data. */
typedef struct app {
  roam_server *srv;
} app;

/* Warnings and errors; the message lines under ROAM_WIRE_SPY (level INFO);
 * everything under ROAM_DEBUG. */
static void log_stderr(void *ud, roam_log_level level, const char *msg) {
  (void)ud;
  unsigned sw = roam_env_switches();
  if (level <= ROAM_LOG_WARN || (sw & ROAM_ENV_DEBUG) ||
      (level == ROAM_LOG_INFO && (sw & ROAM_ENV_WIRE_SPY)))
    fprintf(stderr, "roam-testbed-server: %s\n", msg);
}

/* Every link may open virtual connections; they are served the same way. */
static void on_link_open(roam_server *srv, roam_link *link, void *ud) {
  (void)srv, (void)ud;
  roam_session_listen(roam_link_session(link), true);
}

static void on_connect(roam_link *link, uint64_t connect_id, const roam_metadata *md, void *ud) {
  (void)md;
  app *a = ud;
  roam_session *s = roam_link_session(link);
  if (roam_session_accept(s, connect_id, NULL, 0, roam_server_dispatcher(a->srv), NULL) != 0)
    roam_session_reject(s, connect_id, "cannot accept", NULL, 0);
}

static void shutdown_done(roam_server *srv, void *ud) {
  (void)ud;
  roam_loop_stop(roam_server_loop(srv));
}

static void on_signal(roam_loop *loop, int signo, void *ud) {
  roam_server *srv = ud;
  fprintf(stderr, "roam-testbed-server: %s, shutting down\n", strsignal(signo));
  if (roam_server_shutdown(srv, 5000, shutdown_done, NULL) != 0)
    roam_loop_stop(loop); /* second signal: stop now */
}

int main(int argc, char **argv) {
  const char *origins = NULL;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--ws-origins") == 0) {
    origins = argv[2];
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: roam-testbed-server [--ws-origins LIST] ADDR [ADDR...]   "
                    "(host:port, tcp://host:port, unix:/path, ws://host:port/path)\n");
    return 2;
  }
  roam_loop_options lo;
  roam_loop_options_init(&lo);
  lo.log = log_stderr;
  roam_loop *loop;
  int rc = roam_loop_new(&loop, &lo);
  if (rc) {
    fprintf(stderr, "roam-testbed-server: cannot create the loop: %s\n", roam_strerror(rc));
    return 1;
  }

  app a = {NULL};
  roam_server_options so;
  roam_server_options_init(&so);
  so.user_data = &a;
  so.link.session.name = "testbed-server";
  so.link.on_connect = on_connect;
  so.link.ws_origins = origins;
  so.on_link_open = on_link_open;
  roam_server *srv;
  rc = roam_server_new(loop, &so, &srv);
  a.srv = srv;
  if (rc == 0) rc = roam_testbed_register_with(roam_gen_add_server, srv);
  roam_listener *listeners[16];
  int nl = 0;
  for (int i = first; i < argc; i++) {
    if (rc == 0 && nl == 16) rc = ROAM_ERR_LIMIT;
    if (rc == 0) rc = roam_server_listen(srv, argv[i], &listeners[nl]);
    if (rc) {
      fprintf(stderr, "roam-testbed-server: cannot serve on %s: %s\n", argv[i], roam_strerror(rc));
      roam_loop_free(loop);
      return 1;
    }
    nl++;
  }
  roam_loop_signal(loop, SIGINT, on_signal, srv);
  roam_loop_signal(loop, SIGTERM, on_signal, srv);
  roam_diag_install_sigusr1(2);

  for (int i = 0; i < nl; i++) printf("listening on %s\n", roam_listener_address(listeners[i]));
  fflush(stdout);

  rc = roam_loop_run(loop);
  roam_server_free(srv);
  roam_loop_free(loop);
  roam_diag_uninstall_sigusr1();
  if (rc) {
    fprintf(stderr, "roam-testbed-server: event loop failed: %s\n", roam_strerror(rc));
    return 1;
  }
  return 0;
}
