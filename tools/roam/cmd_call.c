/*
 * roam call ADDR Service.method [ARGS] --schema FILE...
 * roam call --raw ADDR METHOD|ID [HEX]
 *
 * One call, its channels driven from the event loop: values for Rx<T>
 * parameters (the callee reads them) come from the JSON arguments or from
 * standard input, one JSON value per line, and are sent as credit allows;
 * values arriving on Tx<T> parameters are printed one JSON line each as
 * they arrive; then the result. Standard input is read only as fast as the
 * channel drains (at most QUEUE_MAX values wait), so a long stream stays in
 * bounded memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <roam/runtime.h>

#include "cli.h"
#include "json_codec.h"

#define CMD "call"
#define QUEUE_MAX 64
#define LINE_MAX_BYTES (16u << 20)

/* A FIFO of encoded values waiting for credit. */
typedef struct vqueue {
  uint8_t **val;
  size_t *len;
  size_t head, n, cap;
} vqueue;

static bool vq_push(vqueue *q, const uint8_t *p, size_t len) {
  if (q->head + q->n == q->cap) {
    if (q->head) { /* compact */
      memmove(q->val, q->val + q->head, q->n * sizeof *q->val);
      memmove(q->len, q->len + q->head, q->n * sizeof *q->len);
      q->head = 0;
    }
    if (q->n == q->cap) {
      size_t cap = q->cap ? q->cap * 2 : 16;
      uint8_t **v = realloc(q->val, cap * sizeof *v);
      if (!v) return false;
      q->val = v;
      size_t *l = realloc(q->len, cap * sizeof *l);
      if (!l) return false;
      q->len = l;
      q->cap = cap;
    }
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) return false;
  memcpy(copy, p, len);
  q->val[q->head + q->n] = copy;
  q->len[q->head + q->n] = len;
  q->n++;
  return true;
}

static void vq_pop(vqueue *q) {
  free(q->val[q->head]);
  q->head++;
  q->n--;
  if (!q->n) q->head = 0;
}

static void vq_free(vqueue *q) {
  while (q->n) vq_pop(q);
  free(q->val);
  free(q->len);
}

struct call;

typedef struct chan {
  struct call *call;
  const roam_schema_param *param;
  const roam_schema_type *elem;
  uint64_t id;
  bool sending;      /* Rx<T> parameter: we send */
  vqueue q;          /* sending: values waiting */
  bool from_stdin;   /* sending: values come from standard input */
  bool source_done;  /* sending: no more values will be queued */
  bool closed;       /* sending: Close sent (or the channel ended) */
} chan;

typedef struct call {
  roam_client *client;
  roam_session *s;
  uint64_t conn;
  const roam_schema_method *m;
  chan *chans; /* one per parameter (unused for plain ones) */
  bool done;   /* the reply arrived */
  int fatal;   /* nonzero: stop with this exit status */
  int status;
  uint8_t *value;
  size_t value_len;
  /* standard input feeding one channel */
  chan *in;
  roam_io *io;
  bool file_mode; /* stdin cannot be polled (a regular file): read it directly */
  bool eof;
  jc_buf line;
  size_t lineno;
} call;

static void set_fatal(call *c, int status) {
  if (!c->fatal) c->fatal = status;
}

/* ---- values arriving (Tx parameters) ------------------------------------ */

static int on_data(roam_session *s, uint64_t conn, uint64_t id, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)id;
  chan *ch = ud;
  jc_buf out = {0};
  jc_ctx cx;
  jc_ctx_init(&cx, ch->param->name);
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  int rc = jc_decode(ch->elem, &d, &out, &cx);
  if (rc == 0 && roam_dec_finish(&d) != 0) rc = jc_fail(&cx, "trailing bytes after the value");
  if (rc == 0) {
    fputs(jc_buf_str(&out), stdout);
    fputc('\n', stdout);
    fflush(stdout);
  } else {
    cli_error(CMD, "a value on channel '%s' does not decode: %s", ch->param->name, cx.err);
    set_fatal(ch->call, EXIT_ROAM);
  }
  jc_buf_free(&out);
  return rc == 0 ? 0 : ROAM_ERR_DECODE;
}

static void on_end(roam_session *s, uint64_t conn, uint64_t id, int err, void *ud) {
  (void)s, (void)conn, (void)id;
  chan *ch = ud;
  if (ch->sending) {
    ch->closed = true; /* the callee reset it: nothing more to send */
    if (err == ROAM_ERR_CANCELLED)
      cli_error(CMD, "the callee abandoned channel '%s' (Reset)", ch->param->name);
  }
}

/* ---- values to send (Rx parameters) ------------------------------------- */

static void pump(chan *ch);

/* Parse the complete lines in c->line, queue their values; keeps a partial
 * last line. */
static void take_lines(call *c, bool at_eof) {
  chan *ch = c->in;
  size_t start = 0;
  for (;;) {
    if (!c->line.p) break;
    char *base = c->line.p;
    char *nl = memchr(base + start, '\n', c->line.len - start);
    size_t end = nl ? (size_t)(nl - base) : c->line.len;
    if (!nl && !at_eof) break;
    if (!nl && start == end) break;
    c->lineno++;
    size_t len = end - start;
    const char *text = base + start;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++)
      blank = text[i] == ' ' || text[i] == '\t' || text[i] == '\r';
    if (!blank) {
      char err[256];
      json_t *v = jc_parse(text, len, err, sizeof err);
      if (!v) {
        cli_error(CMD, "standard input line %zu: invalid JSON: %s", c->lineno, err);
        set_fatal(c, EXIT_USAGE);
        return;
      }
      char root[64];
      snprintf(root, sizeof root, "stdin line %zu", c->lineno);
      jc_ctx cx;
      jc_ctx_init(&cx, root);
      roam_enc e;
      roam_enc_init_growable(&e, NULL);
      int rc = jc_encode(ch->elem, v, &e, &cx);
      json_decref(v);
      if (rc) {
        cli_error(CMD, "%s", cx.err);
        roam_enc_free(&e);
        set_fatal(c, EXIT_USAGE);
        return;
      }
      bool ok = vq_push(&ch->q, roam_enc_data(&e), roam_enc_size(&e));
      roam_enc_free(&e);
      if (!ok) {
        cli_error(CMD, "out of memory");
        set_fatal(c, EXIT_USAGE);
        return;
      }
    }
    start = nl ? end + 1 : end;
    if (!nl) break;
  }
  if (c->line.p) {
    memmove(c->line.p, c->line.p + start, c->line.len - start);
    c->line.len -= start;
    c->line.p[c->line.len] = 0;
  }
}

/* One read from standard input. */
static void read_stdin(call *c) {
  char buf[65536];
  ssize_t n;
  do {
    n = read(STDIN_FILENO, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    cli_error(CMD, "reading standard input: %s", strerror(errno));
    set_fatal(c, EXIT_USAGE);
    return;
  }
  if (n == 0) {
    c->eof = true;
    take_lines(c, true);
    c->in->source_done = true;
    return;
  }
  jc_buf_put(&c->line, buf, (size_t)n);
  if (c->line.oom || c->line.len > LINE_MAX_BYTES) {
    cli_error(CMD, "standard input line %zu is too long", c->lineno + 1);
    set_fatal(c, EXIT_USAGE);
    return;
  }
  take_lines(c, false);
}

static void on_stdin(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w, (void)fd, (void)events;
  call *c = ud;
  read_stdin(c);
  if (c->eof || c->fatal) {
    roam_io_free(c->io);
    c->io = NULL;
  } else if (c->in->q.n >= QUEUE_MAX) {
    roam_io_set(c->io, 0); /* resumed by pump() once the queue drains */
  }
  if (!c->fatal) pump(c->in);
}

static void pump(chan *ch) {
  call *c = ch->call;
  for (;;) {
    while (!ch->closed && ch->q.n) {
      int rc = roam_channel_send(c->s, c->conn, ch->id, ch->q.val[ch->q.head], ch->q.len[ch->q.head]);
      if (rc == ROAM_ERR_WOULD_BLOCK) return; /* on_writable resumes */
      if (rc) {
        if (!c->done)
          cli_error(CMD, "cannot send on channel '%s': %s", ch->param->name, roam_strerror(rc));
        ch->closed = true;
        break;
      }
      vq_pop(&ch->q);
    }
    if (ch->closed) return;
    if (ch->from_stdin && !ch->source_done && !c->fatal) {
      if (c->file_mode) {
        read_stdin(c);
        continue;
      }
      if (c->io && ch->q.n < QUEUE_MAX / 2) roam_io_set(c->io, ROAM_IO_READ);
      return;
    }
    if (ch->source_done && !ch->q.n) {
      ch->closed = true;
      roam_channel_close(c->s, c->conn, ch->id);
    }
    return;
  }
}

static void on_writable(roam_session *s, uint64_t conn, uint64_t id, void *ud) {
  (void)s, (void)conn, (void)id;
  pump(ud);
}

static const roam_channel_callbacks chan_cbs = {on_data, on_end, on_writable};

/* ---- the call ----------------------------------------------------------- */

static void on_reply(roam_client *cl, const roam_call_result *res, void *ud) {
  (void)cl;
  call *c = ud;
  c->status = res->status;
  if (res->value.len) {
    c->value = malloc(res->value.len);
    if (c->value) {
      memcpy(c->value, res->value.ptr, res->value.len);
      c->value_len = res->value.len;
    } else {
      set_fatal(c, EXIT_ROAM);
    }
  }
  c->done = true;
}

static bool finished(void *ud) {
  call *c = ud;
  return c->done || c->fatal;
}

static const char *remote_name(int status) {
  switch (status) {
  case ROAM_ERR_REMOTE_UNKNOWN_METHOD: return "UnknownMethod";
  case ROAM_ERR_REMOTE_INVALID_PAYLOAD: return "InvalidPayload";
  case ROAM_ERR_REMOTE_CANCELLED: return "Cancelled";
  default: return NULL;
  }
}

/* Report a failed call (not Ok, not the user error); returns the exit status. */
static int report_failure(const char *what, uint64_t id, int status, uint64_t timeout_ms) {
  const char *rn = remote_name(status);
  if (rn)
    cli_error(CMD, "%s: the peer answered %s (%s; method id 0x%016" PRIx64 ")", what, rn,
              roam_strerror(status), id);
  else if (status == ROAM_ERR_TIMEOUT)
    cli_error(CMD, "%s: no answer within %.3g s (--timeout)", what, (double)timeout_ms / 1000);
  else
    cli_error(CMD, "%s: %s (%s)", what, roam_strerror(status), roam_err_name(status));
  return EXIT_ROAM;
}

typedef struct call_opts {
  const char *addr, *method, *args;
  bool raw, connection;
  uint64_t timeout_ms; /* 0 = none */
  cli_meta md;
  cli_schemas schemas;
} call_opts;

static void log_stderr(void *ud, roam_log_level level, const char *msg) {
  (void)ud;
  if (level <= ROAM_LOG_WARN) fprintf(stderr, "roam " CMD ": %s\n", msg);
}

/* Connect (and open a virtual connection when asked). EXIT_OK or status. */
static int connect_client(const call_opts *o, roam_client **out, uint64_t *conn) {
  roam_client_options co;
  roam_client_options_init(&co);
  co.link.session.flags |= ROAM_SESSION_NO_DIAGNOSTICS;
  co.link.session.log = log_stderr;
  uint64_t ct = o->timeout_ms ? o->timeout_ms : 10000;
  co.connect_timeout_ms = ct;
  co.link.connect_timeout_ms = ct;
  int rc = roam_client_connect(out, o->addr, &co, ct);
  if (rc) {
    /* the runtime does not say why a socket failed to connect */
    cli_error(CMD, "cannot connect to %s: %s", o->addr,
              rc == ROAM_ERR_IO ? "the connection failed (refused or unreachable)"
                                : roam_strerror(rc));
    return EXIT_ROAM;
  }
  *conn = 0;
  if (o->connection) {
    rc = roam_client_open_connection(*out, NULL, 0, ct, conn);
    if (rc) {
      cli_error(CMD, "cannot open a virtual connection on %s: %s", o->addr, roam_strerror(rc));
      roam_client_free(*out);
      *out = NULL;
      return EXIT_ROAM;
    }
  }
  return EXIT_OK;
}

static int call_raw(call_opts *o) {
  uint64_t id;
  const roam_schema_method *m = NULL;
  if (!cli_parse_u64(o->method, &id)) {
    if (!o->schemas.count) {
      cli_error(CMD, "--raw needs a numeric method id, or --schema to resolve '%s'", o->method);
      return EXIT_USAGE;
    }
    m = cli_find_method(&o->schemas, o->method, CMD);
    if (!m) return EXIT_USAGE;
    id = m->id;
  }
  uint8_t *payload = NULL;
  size_t plen = 0;
  if (!cli_hex_decode(o->args ? o->args : "", &payload, &plen)) {
    cli_error(CMD, "the --raw payload is not hex: '%s'", o->args);
    return EXIT_USAGE;
  }
  roam_client *cl;
  uint64_t conn;
  int st = connect_client(o, &cl, &conn);
  if (st) {
    free(payload);
    return st;
  }
  roam_call_opts copts = {0};
  copts.conn_id = conn;
  copts.metadata = o->md.e;
  copts.metadata_count = o->md.n;
  copts.timeout_ms = o->timeout_ms;
  roam_reply r;
  int rc = roam_client_call(cl, id, payload, plen, &copts, &r);
  free(payload);
  char what[128];
  snprintf(what, sizeof what, "method 0x%016" PRIx64, id);
  if (rc == 0) {
    cli_hex_print(r.value, r.value_len);
    st = EXIT_OK;
  } else if (rc == ROAM_ERR_REMOTE_USER) {
    cli_hex_print(r.value, r.value_len);
    cli_error(CMD, "%s returned its own error (hex above)", what);
    st = EXIT_USER;
  } else {
    st = report_failure(what, id, rc, o->timeout_ms);
  }
  roam_reply_free(&r);
  roam_client_free(cl);
  return st;
}

/* Print a reply value of type t (NULL = ()) as one JSON line. */
static int print_value(const char *what, const roam_schema_type *t, const uint8_t *p, size_t n) {
  jc_buf out = {0};
  jc_ctx cx;
  jc_ctx_init(&cx, "reply");
  int rc = 0;
  if (!t) {
    if (n) rc = jc_fail(&cx, "%zu bytes where () was expected", n);
    else jc_buf_puts(&out, "null");
  } else {
    roam_dec d;
    roam_dec_init(&d, p, n);
    rc = jc_decode(t, &d, &out, &cx);
    if (rc == 0 && roam_dec_finish(&d) != 0) rc = jc_fail(&cx, "trailing bytes after the value");
  }
  if (rc == 0) {
    puts(jc_buf_str(&out));
    fflush(stdout);
  } else {
    cli_error(CMD, "%s: malformed reply: %s", what, cx.err);
    fprintf(stderr, "roam " CMD ": reply bytes: ");
    for (size_t i = 0; i < n && i < 256; i++) fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "%s\n", n > 256 ? "..." : "");
  }
  jc_buf_free(&out);
  return rc == 0 ? EXIT_OK : EXIT_ROAM;
}

static int call_json(call_opts *o) {
  if (!o->schemas.count) {
    cli_error(CMD, "a schema is needed to encode JSON arguments: --schema FILE (or --raw)");
    return EXIT_USAGE;
  }
  const roam_schema_method *m = cli_find_method(&o->schemas, o->method, CMD);
  if (!m) return EXIT_USAGE;
  char what[256];
  snprintf(what, sizeof what, "%s.%s", m->service->name, m->name);

  char err[1024];
  json_t *args = jc_parse(o->args ? o->args : "[]", strlen(o->args ? o->args : "[]"), err,
                          sizeof err);
  if (!args) {
    cli_error(CMD, "the arguments are not valid JSON: %s", err);
    return EXIT_USAGE;
  }
  int st = EXIT_OK;
  json_t **per = calloc(m->nparams ? m->nparams : 1, sizeof *per);
  uint64_t *ids = calloc(m->nparams ? m->nparams : 1, sizeof *ids);
  call c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.chans = calloc(m->nparams ? m->nparams : 1, sizeof *c.chans);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  if (!per || !ids || !c.chans) {
    cli_error(CMD, "out of memory");
    st = EXIT_USAGE;
    goto out;
  }
  if (!cli_bind_args(m, args, per, err, sizeof err) ||
      cli_encode_args(m, per, NULL, &e, err, sizeof err) != 0) { /* dry run: checks the JSON */
    cli_error(CMD, "%s", err);
    st = EXIT_USAGE;
    goto out;
  }
  /* The channels' values given in the arguments, encoded now (so that a bad
   * one is reported before anything is sent). */
  for (size_t i = 0; i < m->nparams; i++) {
    const roam_schema_param *p = &m->params[i];
    chan *ch = &c.chans[i];
    ch->call = &c;
    ch->param = p;
    if (p->type->kind != ROAM_SCHEMA_RX) continue;
    ch->sending = true;
    ch->elem = p->type->elem;
    if (json_is_string(per[i])) { /* "-" */
      if (c.in) {
        cli_error(CMD, "only one channel can read standard input ('%s' and '%s')",
                  c.in->param->name, p->name);
        st = EXIT_USAGE;
        goto out;
      }
      c.in = ch;
      ch->from_stdin = true;
      continue;
    }
    for (size_t j = 0; j < json_array_size(per[i]); j++) {
      char root[300];
      snprintf(root, sizeof root, "%s[%zu]", p->name, j);
      jc_ctx cx;
      jc_ctx_init(&cx, root);
      roam_enc ve;
      roam_enc_init_growable(&ve, NULL);
      int rc = jc_encode(ch->elem, json_array_get(per[i], j), &ve, &cx);
      if (rc == 0 && !vq_push(&ch->q, roam_enc_data(&ve), roam_enc_size(&ve)))
        rc = jc_fail(&cx, "out of memory");
      roam_enc_free(&ve);
      if (rc) {
        cli_error(CMD, "%s", cx.err);
        st = EXIT_USAGE;
        goto out;
      }
    }
    ch->source_done = true;
  }
  for (size_t i = 0; i < m->nparams; i++)
    if (m->params[i].type->kind == ROAM_SCHEMA_TX) c.chans[i].elem = m->params[i].type->elem;

  st = connect_client(o, &c.client, &c.conn);
  if (st) goto out;
  c.s = roam_client_session(c.client);
  roam_loop *loop = roam_client_loop(c.client);

  /* Channel ids in argument order, then the real payload. */
  uint64_t list[64];
  size_t nlist = 0;
  for (size_t i = 0; i < m->nparams; i++) {
    roam_schema_kind k = m->params[i].type->kind;
    if (k != ROAM_SCHEMA_TX && k != ROAM_SCHEMA_RX) continue;
    if (nlist == sizeof list / sizeof list[0]) {
      cli_error(CMD, "too many channel arguments");
      st = EXIT_USAGE;
      goto out;
    }
    int dir = k == ROAM_SCHEMA_RX ? ROAM_CHAN_SEND : ROAM_CHAN_RECV;
    int rc = roam_channel_alloc(c.s, c.conn, dir, &chan_cbs, &c.chans[i], &ids[i]);
    if (rc) {
      cli_error(CMD, "cannot open a channel: %s", roam_strerror(rc));
      st = EXIT_ROAM;
      goto out;
    }
    c.chans[i].id = ids[i];
    list[nlist++] = ids[i];
  }
  roam_enc_reset(&e);
  if (cli_encode_args(m, per, ids, &e, err, sizeof err) != 0) {
    cli_error(CMD, "%s", err);
    st = EXIT_USAGE;
    goto out;
  }
  roam_call_opts copts = {0};
  copts.conn_id = c.conn;
  copts.metadata = o->md.e;
  copts.metadata_count = o->md.n;
  copts.channels = list;
  copts.channel_count = nlist;
  copts.timeout_ms = o->timeout_ms;
  int rc = roam_client_call_async(c.client, m->id, roam_enc_data(&e), roam_enc_size(&e), &copts,
                                  on_reply, &c);
  if (rc) {
    st = report_failure(what, m->id, rc, o->timeout_ms);
    goto out;
  }
  if (c.in) {
    rc = roam_io_new(loop, STDIN_FILENO, ROAM_IO_READ, on_stdin, &c, &c.io);
    if (rc) c.file_mode = true; /* a regular file or /dev/null: epoll refuses those */
  }
  for (size_t i = 0; i < m->nparams; i++)
    if (c.chans[i].sending) pump(&c.chans[i]);

  uint64_t wait = o->timeout_ms ? o->timeout_ms + 1000 : UINT64_MAX;
  rc = roam_loop_run_until(loop, finished, &c, wait);
  if (c.fatal) {
    st = c.fatal;
  } else if (rc) {
    st = report_failure(what, m->id, rc == ROAM_ERR_TIMEOUT ? ROAM_ERR_TIMEOUT : rc,
                        o->timeout_ms);
  } else if (c.status == 0) {
    st = print_value(what, m->ok, c.value, c.value_len);
  } else if (c.status == ROAM_ERR_REMOTE_USER) {
    if (m->err) {
      st = print_value(what, m->err, c.value, c.value_len);
      if (st == EXIT_OK) {
        cli_error(CMD, "%s returned its own error (printed above)", what);
        st = EXIT_USER;
      }
    } else {
      cli_error(CMD, "%s: the peer answered a user error, but the method has none", what);
      st = EXIT_ROAM;
    }
  } else {
    st = report_failure(what, m->id, c.status, o->timeout_ms);
  }

out:
  if (c.io) roam_io_free(c.io);
  if (c.client) roam_client_free(c.client);
  if (c.chans)
    for (size_t i = 0; i < m->nparams; i++) vq_free(&c.chans[i].q);
  free(c.chans);
  free(c.value);
  jc_buf_free(&c.line);
  roam_enc_free(&e);
  free(per);
  free(ids);
  json_decref(args);
  return st;
}

int cmd_call(int argc, char **argv) {
  call_opts o;
  memset(&o, 0, sizeof o);
  const char *pos[3];
  int npos = 0, st = EXIT_USAGE;
  bool bad = false, dashdash = false;
  for (int i = 1; i < argc && !bad; i++) {
    const char *v = NULL;
    const char *a = argv[i];
    if (dashdash || a[0] != '-' || strcmp(a, "-") == 0 ||
        (a[1] >= '0' && a[1] <= '9')) { /* "-" and negative numbers are arguments */
      if (npos == 3) {
        cli_error(CMD, "unexpected argument '%s' (see roam help call)", a);
        goto out;
      }
      pos[npos++] = a;
    } else if (strcmp(a, "--") == 0) {
      dashdash = true;
    } else if (cli_opt(argc, argv, &i, "schema", "-s", true, &v, &bad, CMD)) {
      if (v && !cli_schema_add(&o.schemas, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "timeout", "-t", true, &v, &bad, CMD)) {
      if (v && !cli_parse_seconds(v, &o.timeout_ms)) {
        cli_error(CMD, "--timeout wants seconds, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "metadata", "-m", true, &v, &bad, CMD)) {
      if (v && !cli_meta_add(&o.md, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "connection", NULL, false, &v, &bad, CMD)) {
      o.connection = true;
    } else if (cli_opt(argc, argv, &i, "raw", NULL, false, &v, &bad, CMD)) {
      o.raw = true;
    } else if (cli_opt(argc, argv, &i, "help", "-h", false, &v, &bad, CMD)) {
      fputs(cli_help(CMD), stdout);
      st = EXIT_OK;
      goto out;
    } else {
      cli_error(CMD, "unknown option '%s' (see roam help call)", a);
      goto out;
    }
  }
  if (bad) goto out;
  if (npos < 2) {
    cli_error(CMD, "expected ADDR Service.method [ARGS] (see roam help call)");
    goto out;
  }
  o.addr = pos[0];
  o.method = pos[1];
  o.args = npos > 2 ? pos[2] : NULL;
  st = o.raw ? call_raw(&o) : call_json(&o);
out:
  cli_schemas_free(&o.schemas);
  return st;
}
