/*
 * roam bench ADDR Service.method [ARGS] --schema FILE... [-c links]
 *            [-p in-flight per link] [-d seconds | -n calls] [--json FILE]
 *
 * One event loop drives every link: each link keeps `inflight` calls going
 * (roam_client_call_async; a completion starts the next call), the payload
 * is encoded once, and each call's latency (monotonic clock, call start to
 * completion) goes into a log-linear histogram (histogram.h). The loop
 * checks the clock between iterations for the end of the run and, when
 * stderr is a terminal, the once-a-second progress line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <roam/runtime.h>

#include "cli.h"
#include "histogram.h"
#include "json_codec.h"

#define CMD "bench"
#define MAX_LINKS 4096
#define MAX_INFLIGHT 4096

typedef struct bench bench;

typedef struct slot {
  struct blink *bl;
  uint64_t t0;
} slot;

typedef struct blink {
  bench *b;
  roam_client *c;
  slot *slots;
  unsigned inflight;
  bool dead;
} blink;

struct bench {
  roam_loop *loop;
  blink *links;
  unsigned nlinks, per_link;
  uint64_t method_id;
  const uint8_t *payload;
  size_t len;
  roam_call_opts copts;
  /* limits */
  uint64_t calls_max;   /* -n (0 = by time) */
  uint64_t issued;
  uint64_t t_start, t_warm, t_stop; /* ns */
  bool stopping;
  /* results (measured calls only) */
  histogram h;
  uint64_t ok, errors;
  uint64_t err_kinds[8];
  int err_codes[8];
  unsigned nkinds;
  uint64_t done_total, inflight_total;
  uint64_t t_last; /* last completion */
  /* progress */
  bool tty;
  uint64_t next_progress, prog_calls;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_error(bench *b, int status) {
  b->errors++;
  for (unsigned i = 0; i < b->nkinds; i++)
    if (b->err_codes[i] == status) {
      b->err_kinds[i]++;
      return;
    }
  if (b->nkinds < 8) {
    b->err_codes[b->nkinds] = status;
    b->err_kinds[b->nkinds++] = 1;
  }
}

static void on_done(roam_client *c, const roam_call_result *res, void *ud);

/* Start a call in slot s at time t0 if the run allows it; false if none
 * was started. */
static bool issue(bench *b, slot *s, uint64_t t0) {
  blink *bl = s->bl;
  if (b->stopping || bl->dead) return false;
  if (b->calls_max && b->issued >= b->calls_max) {
    b->stopping = true;
    return false;
  }
  s->t0 = t0;
  int rc = roam_client_call_async(bl->c, b->method_id, b->payload, b->len, &b->copts, on_done, s);
  if (rc) {
    count_error(b, rc);
    bl->dead = true; /* the link cannot take calls: do not spin on it */
    return false;
  }
  b->issued++;
  bl->inflight++;
  b->inflight_total++;
  return true;
}

static void on_done(roam_client *c, const roam_call_result *res, void *ud) {
  (void)c;
  slot *s = ud;
  blink *bl = s->bl;
  bench *b = bl->b;
  uint64_t t = now_ns();
  bl->inflight--;
  b->inflight_total--;
  b->done_total++;
  if (s->t0 >= b->t_warm) { /* started after the warm-up: measured */
    /* every answer from the peer is a round trip: its latency counts, even
     * when it is an error */
    if (res->status == 0 || (res->status <= ROAM_ERR_REMOTE_USER && res->status >= ROAM_ERR_REMOTE_CANCELLED))
      hist_record(&b->h, t - s->t0);
    if (res->status == 0) b->ok++;
    else count_error(b, res->status);
    b->t_last = t;
  }
  if (res->status == ROAM_ERR_CLOSED) bl->dead = true;
  /* the next call starts now: one clock reading serves as this call's end
   * and the next one's start */
  issue(b, s, t);
}

static void progress(bench *b, uint64_t t, bool final) {
  uint64_t measured = b->ok + b->errors;
  double secs = (double)(t - b->t_start) / 1e9;
  double rate = (double)(measured - b->prog_calls); /* over the last second */
  b->prog_calls = measured;
  fprintf(stderr, "\r%6.1f s  %10.0f calls/s  %" PRIu64 " errors  p99 %.1f us   %s", secs,
          final ? 0 : rate, b->errors, (double)hist_quantile(&b->h, 0.99) / 1e3,
          final ? "\n" : "");
  fflush(stderr);
}

static bool run_done(void *ud) {
  bench *b = ud;
  uint64_t t = now_ns();
  if (!b->stopping && !b->calls_max && t >= b->t_stop) b->stopping = true;
  if (b->tty && t >= b->next_progress && !b->stopping) {
    progress(b, t, false);
    b->next_progress += 1000000000u;
  }
  return b->stopping && b->inflight_total == 0;
}

static void log_stderr(void *ud, roam_log_level level, const char *msg) {
  (void)ud;
  if (level <= ROAM_LOG_WARN) fprintf(stderr, "roam " CMD ": %s\n", msg);
}

/* Every link ready, or one failed (its client has no link any more). */
static bool links_ready(void *ud) {
  bench *b = ud;
  bool all = true;
  for (unsigned i = 0; i < b->nlinks; i++) {
    if (roam_client_is_ready(b->links[i].c)) continue;
    if (!roam_client_link(b->links[i].c)) return true;
    all = false;
  }
  return all;
}

static void print_report(bench *b, FILE *f, const char *method, const char *addr, bool json) {
  double secs = b->t_last > b->t_warm ? (double)(b->t_last - b->t_warm) / 1e9 : 0;
  uint64_t calls = b->ok + b->errors;
  double rate = secs > 0 ? (double)calls / secs : 0;
  static const struct {
    const char *name, *key;
    double q;
  } P[] = {{"p50", "p50", 0.5}, {"p90", "p90", 0.9}, {"p99", "p99", 0.99},
           {"p99.9", "p99_9", 0.999}, {"max", "max", 1.0}};
  if (json) {
    fprintf(f, "{\"method\":");
    jc_buf s = {0};
    jc_write_string(&s, method, strlen(method));
    fprintf(f, "%s,\"method_id\":\"0x%016" PRIx64 "\",\"address\":", jc_buf_str(&s), b->method_id);
    jc_buf_reset(&s);
    jc_write_string(&s, addr, strlen(addr));
    fprintf(f, "%s,\"links\":%u,\"inflight_per_link\":%u,\"payload_bytes\":%zu,", jc_buf_str(&s),
            b->nlinks, b->per_link, b->len);
    jc_buf_free(&s);
    fprintf(f, "\"seconds\":%.6f,\"calls\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"calls_per_s\":%.1f,\"errors_by_kind\":{",
            secs, calls, b->ok, b->errors, rate);
    for (unsigned i = 0; i < b->nkinds; i++)
      fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "", roam_err_name(b->err_codes[i]), b->err_kinds[i]);
    fprintf(f, "},\"latency_us\":{\"min\":%.3f,\"mean\":%.3f", b->h.total ? b->h.min / 1e3 : 0.0,
            hist_mean(&b->h) / 1e3);
    for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
      fprintf(f, ",\"%s\":%.3f", P[i].key, hist_quantile(&b->h, P[i].q) / 1e3);
    fprintf(f, "}}\n");
    return;
  }
  fprintf(f, "%s on %s: %u link%s x %u in flight, %zu-byte payload\n", method, addr, b->nlinks,
          b->nlinks == 1 ? "" : "s", b->per_link, b->len);
  fprintf(f, "  calls     %" PRIu64 " in %.3f s: %.0f calls/s\n", calls, secs, rate);
  fprintf(f, "  errors    %" PRIu64, b->errors);
  for (unsigned i = 0; i < b->nkinds; i++)
    fprintf(f, "%s%s %" PRIu64, i ? ", " : " (", roam_err_name(b->err_codes[i]), b->err_kinds[i]);
  fprintf(f, "%s\n", b->nkinds ? ")" : "");
  fprintf(f, "  latency  ");
  for (size_t i = 0; i < sizeof P / sizeof P[0]; i++)
    fprintf(f, " %s %.1f us%s", P[i].name, hist_quantile(&b->h, P[i].q) / 1e3,
            i + 1 < sizeof P / sizeof P[0] ? "," : "\n");
}

int cmd_bench(int argc, char **argv) {
  cli_schemas cs = {0};
  cli_meta md;
  md.n = 0;
  const char *pos[3], *json_path = NULL;
  int npos = 0, st = EXIT_USAGE;
  bool bad = false, raw = false;
  uint64_t nlinks = 1, per = 1, dur_ms = 5000, calls = 0, timeout_ms = 0, warm_ms = 0;
  bench b;
  memset(&b, 0, sizeof b);
  uint8_t *payload = NULL;
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  json_t *args = NULL;
  json_t **perv = NULL;
  char mname[300];
  for (int i = 1; i < argc && !bad; i++) {
    const char *v = NULL;
    const char *a = argv[i];
    if (a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) {
      if (npos == 3) {
        cli_error(CMD, "unexpected argument '%s' (see roam help bench)", a);
        goto out;
      }
      pos[npos++] = a;
    } else if (cli_opt(argc, argv, &i, "schema", "-s", true, &v, &bad, CMD)) {
      if (v && !cli_schema_add(&cs, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "links", "-c", true, &v, &bad, CMD)) {
      if (v && (!cli_parse_u64(v, &nlinks) || !nlinks || nlinks > MAX_LINKS)) {
        cli_error(CMD, "-c wants 1..%d links, got '%s'", MAX_LINKS, v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "inflight", "-p", true, &v, &bad, CMD)) {
      if (v && (!cli_parse_u64(v, &per) || !per || per > MAX_INFLIGHT)) {
        cli_error(CMD, "-p wants 1..%d calls in flight, got '%s'", MAX_INFLIGHT, v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "duration", "-d", true, &v, &bad, CMD)) {
      if (v && (!cli_parse_seconds(v, &dur_ms) || !dur_ms)) {
        cli_error(CMD, "-d wants seconds, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "calls", "-n", true, &v, &bad, CMD)) {
      if (v && (!cli_parse_u64(v, &calls) || !calls)) {
        cli_error(CMD, "-n wants a positive number of calls, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "timeout", "-t", true, &v, &bad, CMD)) {
      if (v && !cli_parse_seconds(v, &timeout_ms)) {
        cli_error(CMD, "--timeout wants seconds, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "warmup", NULL, true, &v, &bad, CMD)) {
      if (v && !cli_parse_seconds(v, &warm_ms)) {
        cli_error(CMD, "--warmup wants seconds, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "metadata", "-m", true, &v, &bad, CMD)) {
      if (v && !cli_meta_add(&md, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "json", NULL, true, &v, &bad, CMD)) {
      json_path = v;
    } else if (cli_opt(argc, argv, &i, "raw", NULL, false, &v, &bad, CMD)) {
      raw = true;
    } else if (cli_opt(argc, argv, &i, "help", "-h", false, &v, &bad, CMD)) {
      fputs(cli_help(CMD), stdout);
      st = EXIT_OK;
      goto out;
    } else {
      cli_error(CMD, "unknown option '%s' (see roam help bench)", a);
      goto out;
    }
  }
  if (bad) goto out;
  if (npos < 2) {
    cli_error(CMD, "expected ADDR Service.method [ARGS] (see roam help bench)");
    goto out;
  }
  const char *addr = pos[0], *method = pos[1], *argtext = npos > 2 ? pos[2] : NULL;
  if (calls && warm_ms) {
    cli_error(CMD, "--warmup goes with -d, not with -n (every one of the -n calls is measured)");
    goto out;
  }

  /* The payload, encoded once. */
  if (raw) {
    const roam_schema_method *m = NULL;
    if (!cli_parse_u64(method, &b.method_id)) {
      if (!cs.count || !(m = cli_find_method(&cs, method, CMD))) {
        if (!cs.count) cli_error(CMD, "--raw needs a numeric method id, or --schema");
        goto out;
      }
      b.method_id = m->id;
    }
    if (!cli_hex_decode(argtext ? argtext : "", &payload, &b.len)) {
      cli_error(CMD, "the --raw payload is not hex: '%s'", argtext);
      goto out;
    }
    b.payload = payload;
    snprintf(mname, sizeof mname, "%s", method);
  } else {
    if (!cs.count) {
      cli_error(CMD, "a schema is needed to encode JSON arguments: --schema FILE (or --raw)");
      goto out;
    }
    const roam_schema_method *m = cli_find_method(&cs, method, CMD);
    if (!m) goto out;
    if (cli_method_has_channels(m)) {
      cli_error(CMD, "%s.%s has channel arguments: roam bench only calls methods without "
                "channels", m->service->name, m->name);
      goto out;
    }
    char err[1024];
    args = jc_parse(argtext ? argtext : "[]", strlen(argtext ? argtext : "[]"), err, sizeof err);
    if (!args) {
      cli_error(CMD, "the arguments are not valid JSON: %s", err);
      goto out;
    }
    perv = calloc(m->nparams + 1, sizeof *perv);
    if (!perv || !cli_bind_args(m, args, perv, err, sizeof err) ||
        cli_encode_args(m, perv, NULL, &e, err, sizeof err) != 0) {
      cli_error(CMD, "%s", perv ? err : "out of memory");
      goto out;
    }
    b.method_id = m->id;
    b.payload = roam_enc_data(&e);
    b.len = roam_enc_size(&e);
    snprintf(mname, sizeof mname, "%s.%s", m->service->name, m->name);
  }

  /* The links, on one loop. */
  st = EXIT_ROAM;
  if (roam_loop_new(&b.loop, NULL) != 0) {
    cli_error(CMD, "cannot create the event loop");
    goto out;
  }
  b.nlinks = (unsigned)nlinks;
  b.per_link = (unsigned)per;
  b.calls_max = calls;
  b.links = calloc(nlinks, sizeof *b.links);
  if (!b.links) goto out;
  roam_client_options co;
  roam_client_options_init(&co);
  co.loop = b.loop;
  co.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  co.link.session.log = log_stderr;
  co.connect_timeout_ms = 10000;
  for (unsigned i = 0; i < b.nlinks; i++) {
    blink *bl = &b.links[i];
    bl->b = &b;
    bl->slots = calloc(per, sizeof *bl->slots);
    if (!bl->slots || roam_client_new(&bl->c, addr, &co) != 0) {
      cli_error(CMD, "cannot open link %u to %s", i + 1, addr);
      goto out;
    }
    for (unsigned k = 0; k < per; k++) bl->slots[k].bl = bl;
  }
  int rc = roam_loop_run_until(b.loop, links_ready, &b, 10000);
  for (unsigned i = 0; i < b.nlinks && rc == 0; i++)
    if (!roam_client_is_ready(b.links[i].c)) rc = ROAM_ERR_CLOSED;
  if (rc) {
    cli_error(CMD, "cannot connect to %s: %s", addr,
              rc == ROAM_ERR_CLOSED ? "the connection failed (refused or unreachable)"
                                    : roam_strerror(rc));
    goto out;
  }

  b.copts.metadata = md.e;
  b.copts.metadata_count = md.n;
  b.copts.timeout_ms = timeout_ms;
  hist_init(&b.h);
  b.tty = isatty(STDERR_FILENO);
  b.t_start = now_ns();
  b.t_warm = b.t_start + warm_ms * 1000000u;
  b.t_stop = b.t_warm + dur_ms * 1000000u;
  b.next_progress = b.t_start + 1000000000u;
  for (unsigned k = 0; k < per; k++)
    for (unsigned i = 0; i < b.nlinks; i++) issue(&b, &b.links[i].slots[k], now_ns());
  if (b.inflight_total == 0) b.stopping = true;
  rc = roam_loop_run_until(b.loop, run_done, &b, UINT64_MAX);
  if (b.tty) progress(&b, now_ns(), true);
  if (rc) cli_error(CMD, "the event loop stopped: %s", roam_strerror(rc));

  print_report(&b, stdout, mname, addr, false);
  if (json_path) {
    FILE *f = strcmp(json_path, "-") == 0 ? stdout : fopen(json_path, "w");
    if (!f) {
      cli_error(CMD, "cannot write %s", json_path);
      st = EXIT_USAGE;
      goto out;
    }
    print_report(&b, f, mname, addr, true);
    if (f != stdout) fclose(f);
  }
  st = (b.errors || rc) ? EXIT_ROAM : EXIT_OK;
  if (b.errors) cli_error(CMD, "%" PRIu64 " call%s failed", b.errors, b.errors == 1 ? "" : "s");

out:
  if (b.links) {
    for (unsigned i = 0; i < b.nlinks; i++) {
      if (b.links[i].c) roam_client_free(b.links[i].c);
      free(b.links[i].slots);
    }
    free(b.links);
  }
  if (b.loop) roam_loop_free(b.loop);
  free(payload);
  free(perv);
  json_decref(args);
  roam_enc_free(&e);
  cli_schemas_free(&cs);
  return st;
}
