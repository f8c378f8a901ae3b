/*
 * roam spy LISTEN TARGET [--schema FILE...] [--json] [--count N]
 *
 * A forwarding proxy for byte-stream links. Every byte read from one side
 * is written to the other at once, unchanged (what the other side cannot
 * take yet waits in a buffer, and reading from the sender pauses while more
 * than PAUSE_BYTES wait, so memory stays bounded). A copy of the bytes goes
 * through a COBS deframer and the message decoder for printing only; a
 * frame that does not decode is printed as undecodable and the deframer
 * resumes at the next delimiter: garbage never stops the forwarding.
 *
 * With a schema, requests are remembered (conn, request id -> method) until
 * their response, and channels (conn, channel id -> element type) until
 * Close or Reset, to decode payloads; both tables are bounded (TRACK_MAX,
 * oldest forgotten first) so a peer cannot grow them without limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <roam/cobs.h>
#include <roam/runtime.h>

#include "cli.h"
#include "json_codec.h"
#include "net.h"

#define CMD "spy"
#define READ_CHUNK 65536
#define PAUSE_BYTES (1u << 20)
#define MAX_FRAME ((size_t)64 << 20) /* only for printing: larger frames are skipped */
#define TRACK_MAX 4096

typedef struct spy spy;
typedef struct link link_t;

typedef struct req_rec {
  uint64_t conn, req;
  int dir; /* direction the Request went */
  const roam_schema_method *m;
} req_rec;

typedef struct chan_rec {
  uint64_t conn, ch;
  const roam_schema_type *elem;
  const char *name;
} chan_rec;

typedef struct dir {
  link_t *l;
  int idx;            /* 0: c>s (client to target), 1: s>c */
  uint8_t *buf;       /* bytes read, not yet written to the other side */
  size_t off, len, cap;
  bool eof;           /* the sender closed its end */
  bool shut;          /* we shut down writing to the receiver */
  roam_deframer df;
  uint64_t bytes;
} dir;

struct link {
  spy *sp;
  unsigned id;
  int fd[2];          /* 0: the side that connected to us; 1: the target */
  roam_io *io[2];
  dir d[2];
  req_rec *reqs;
  size_t nreqs;
  chan_rec *chans;
  size_t nchans;
  link_t *next;
};

struct spy {
  roam_loop *loop;
  const char *target;
  cli_schemas schemas;
  bool json;
  uint64_t count; /* exit after this many links closed (0 = never) */
  uint64_t closed;
  unsigned next_id;
  int lfd;
  roam_io *lio;
  link_t *links;
  jc_buf line;
};

static const char *const DIR_NAME[2] = {"c>s", "s>c"};

/* ---- output --------------------------------------------------------------- */

static void stamp(spy *sp, link_t *l, int d, const char *kind) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  jc_buf *b = &sp->line;
  jc_buf_reset(b);
  if (sp->json) {
    jc_buf_printf(b, "{\"ts\":%lld.%06ld,\"link\":%u", (long long)ts.tv_sec, ts.tv_nsec / 1000,
                  l->id);
    if (d >= 0) jc_buf_printf(b, ",\"dir\":\"%s\"", DIR_NAME[d]);
    jc_buf_printf(b, ",\"kind\":\"%s\"", kind);
  } else {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    jc_buf_printf(b, "%02d:%02d:%02d.%06ld #%u %s ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  ts.tv_nsec / 1000, l->id, d >= 0 ? DIR_NAME[d] : "---");
  }
}

static void emit(spy *sp) {
  if (sp->json) jc_buf_puts(&sp->line, "}");
  fputs(jc_buf_str(&sp->line), stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void event(spy *sp, link_t *l, const char *kind, const char *text) {
  stamp(sp, l, -1, kind);
  if (sp->json) {
    jc_buf_puts(&sp->line, ",\"text\":");
    jc_write_string(&sp->line, text, strlen(text));
  } else {
    jc_buf_puts(&sp->line, text);
  }
  emit(sp);
}

/* Decode a value of type t (NULL = ()) into the line; on failure, note it. */
static void put_value(spy *sp, const char *key, const roam_schema_type *t, roam_dec *d) {
  jc_buf *b = &sp->line;
  jc_buf v = {0};
  jc_ctx cx;
  jc_ctx_init(&cx, key);
  int rc = t ? jc_decode(t, d, &v, &cx) : 0;
  if (!t) jc_buf_puts(&v, "null");
  if (rc == 0 && roam_dec_finish(d) != 0) rc = jc_fail(&cx, "trailing bytes");
  if (sp->json) {
    if (rc == 0) {
      jc_buf_printf(b, ",\"%s\":%s", key, jc_buf_str(&v));
    } else {
      jc_buf_printf(b, ",\"%s_error\":", key);
      jc_write_string(b, cx.err, strlen(cx.err));
    }
  } else {
    if (rc == 0) jc_buf_printf(b, " %s=%s", key, jc_buf_str(&v));
    else jc_buf_printf(b, " %s=<undecodable: %s>", key, cx.err);
  }
  jc_buf_free(&v);
}

/* ---- tracking (schema decoding) ----------------------------------------- */

static void track_req(link_t *l, uint64_t conn, uint64_t req, int d, const roam_schema_method *m) {
  if (l->nreqs == TRACK_MAX) { /* forget the oldest */
    memmove(l->reqs, l->reqs + 1, (TRACK_MAX - 1) * sizeof *l->reqs);
    l->nreqs--;
  }
  if (!l->reqs && !(l->reqs = malloc(TRACK_MAX * sizeof *l->reqs))) return;
  l->reqs[l->nreqs++] = (req_rec){conn, req, d, m};
}

static const roam_schema_method *take_req(link_t *l, uint64_t conn, uint64_t req, int resp_dir) {
  for (size_t i = l->nreqs; i-- > 0;) {
    req_rec *r = &l->reqs[i];
    if (r->conn == conn && r->req == req && r->dir != resp_dir) {
      const roam_schema_method *m = r->m;
      memmove(r, r + 1, (l->nreqs - i - 1) * sizeof *r);
      l->nreqs--;
      return m;
    }
  }
  return NULL;
}

static void track_chan(link_t *l, uint64_t conn, uint64_t ch, const roam_schema_param *p) {
  if (l->nchans == TRACK_MAX) {
    memmove(l->chans, l->chans + 1, (TRACK_MAX - 1) * sizeof *l->chans);
    l->nchans--;
  }
  if (!l->chans && !(l->chans = malloc(TRACK_MAX * sizeof *l->chans))) return;
  l->chans[l->nchans++] = (chan_rec){conn, ch, p->type->elem, p->name};
}

static chan_rec *find_chan(link_t *l, uint64_t conn, uint64_t ch) {
  for (size_t i = l->nchans; i-- > 0;)
    if (l->chans[i].conn == conn && l->chans[i].ch == ch) return &l->chans[i];
  return NULL;
}

static void drop_chan(link_t *l, chan_rec *c) {
  size_t i = (size_t)(c - l->chans);
  memmove(c, c + 1, (l->nchans - i - 1) * sizeof *c);
  l->nchans--;
}

/* ---- one message ---------------------------------------------------------- */

static void put_method(spy *sp, const roam_schema_method *m) {
  if (!m) return;
  if (sp->json)
    jc_buf_printf(&sp->line, ",\"method\":\"%s.%s\"", m->service->name, m->name);
  else
    jc_buf_printf(&sp->line, " %s.%s", m->service->name, m->name);
}

static void on_request(spy *sp, link_t *l, int d, const roam_msg *m) {
  const roam_schema_method *meth = cli_method_by_id(&sp->schemas, m->method_id);
  put_method(sp, meth);
  track_req(l, m->conn_id, m->request_id, d, meth);
  if (!meth) return;
  /* channel ids in argument order */
  uint64_t ids[64];
  size_t n = roam_u64_list_get(&m->channels, ids, 64), k = 0;
  for (size_t i = 0; i < meth->nparams; i++) {
    const roam_schema_param *p = &meth->params[i];
    if (p->type->kind != ROAM_SCHEMA_TX && p->type->kind != ROAM_SCHEMA_RX) continue;
    if (k < n && k < 64) track_chan(l, m->conn_id, ids[k], p);
    k++;
  }
  /* the argument tuple as an array */
  roam_dec dec;
  roam_dec_init(&dec, m->payload.ptr, m->payload.len);
  jc_buf v = {0};
  jc_ctx cx;
  jc_ctx_init(&cx, "args");
  int rc = 0;
  jc_buf_puts(&v, "[");
  for (size_t i = 0; i < meth->nparams && rc == 0; i++) {
    if (i) jc_buf_puts(&v, ",");
    rc = jc_decode(meth->params[i].type, &dec, &v, &cx);
  }
  jc_buf_puts(&v, "]");
  if (rc == 0 && roam_dec_finish(&dec) != 0) rc = jc_fail(&cx, "trailing bytes");
  if (sp->json) {
    if (rc == 0) {
      jc_buf_printf(&sp->line, ",\"args\":%s", jc_buf_str(&v));
    } else {
      jc_buf_puts(&sp->line, ",\"args_error\":");
      jc_write_string(&sp->line, cx.err, strlen(cx.err));
    }
  } else {
    if (rc == 0) jc_buf_printf(&sp->line, " args=%s", jc_buf_str(&v));
    else jc_buf_printf(&sp->line, " args=<undecodable: %s>", cx.err);
  }
  jc_buf_free(&v);
}

static void on_response(spy *sp, link_t *l, int d, const roam_msg *m) {
  const roam_schema_method *meth = take_req(l, m->conn_id, m->request_id, d);
  put_method(sp, meth);
  roam_dec dec;
  roam_dec_init(&dec, m->payload.ptr, m->payload.len);
  uint32_t v, e;
  if (roam_dec_variant(&dec, &v) != 0 || v > 1) {
    if (sp->json) jc_buf_puts(&sp->line, ",\"result_error\":\"not a Result\"");
    else jc_buf_puts(&sp->line, " result=<undecodable>");
    return;
  }
  if (v == 0) {
    if (meth) put_value(sp, "result", meth->ok, &dec);
    return;
  }
  static const char *const ERRS[] = {"User", "UnknownMethod", "InvalidPayload", "Cancelled"};
  if (roam_dec_variant(&dec, &e) != 0 || e > 3) {
    if (sp->json) jc_buf_puts(&sp->line, ",\"error\":\"?\"");
    else jc_buf_puts(&sp->line, " error=<undecodable>");
    return;
  }
  if (sp->json) jc_buf_printf(&sp->line, ",\"error\":\"%s\"", ERRS[e]);
  else jc_buf_printf(&sp->line, " error=%s", ERRS[e]);
  if (e == 0 && meth && meth->err) put_value(sp, "user_error", meth->err, &dec);
}

static void on_message(spy *sp, link_t *l, int d, const uint8_t *p, size_t n) {
  roam_msg m;
  int rc = roam_msg_decode(&m, p, n);
  if (rc) {
    stamp(sp, l, d, "undecodable");
    char hex[2 * 32 + 4];
    size_t k = 0;
    for (size_t i = 0; i < n && i < 32; i++) k += (size_t)snprintf(hex + k, 3, "%02x", p[i]);
    if (n > 32) strcpy(hex + k, "...");
    if (sp->json)
      jc_buf_printf(&sp->line, ",\"error\":\"%s\",\"len\":%zu,\"hex\":\"%s\"", roam_strerror(rc), n,
                    hex);
    else
      jc_buf_printf(&sp->line, "undecodable message (%s, %zu bytes): %s", roam_strerror(rc), n, hex);
    emit(sp);
    return;
  }
  stamp(sp, l, d, roam_msg_kind_name((int)m.kind));
  if (sp->json) {
    jc_buf *b = &sp->line;
    switch (m.kind) {
    case ROAM_MSG_HELLO:
      jc_buf_printf(b, ",\"version\":%u,\"max_payload\":%u,\"initial_credit\":%u",
                    m.hello.version == ROAM_HELLO_V2 ? 2u : 1u, m.hello.max_payload_size,
                    m.hello.initial_channel_credit);
      break;
    case ROAM_MSG_CONNECT:
    case ROAM_MSG_ACCEPT:
    case ROAM_MSG_REJECT:
      jc_buf_printf(b, ",\"request_id\":%" PRIu64, m.request_id);
      if (m.kind == ROAM_MSG_ACCEPT) jc_buf_printf(b, ",\"conn\":%" PRIu64, m.conn_id);
      if (m.kind == ROAM_MSG_REJECT) {
        jc_buf_puts(b, ",\"reason\":");
        jc_write_string(b, (const char *)m.reason.ptr, m.reason.len);
      }
      break;
    case ROAM_MSG_GOODBYE:
      jc_buf_printf(b, ",\"conn\":%" PRIu64 ",\"reason\":", m.conn_id);
      jc_write_string(b, (const char *)m.reason.ptr, m.reason.len);
      break;
    case ROAM_MSG_REQUEST:
    case ROAM_MSG_RESPONSE: {
      jc_buf_printf(b, ",\"conn\":%" PRIu64 ",\"req\":%" PRIu64, m.conn_id, m.request_id);
      if (m.kind == ROAM_MSG_REQUEST) jc_buf_printf(b, ",\"method_id\":\"0x%016" PRIx64 "\"", m.method_id);
      jc_buf_printf(b, ",\"meta\":%zu,\"channels\":[", m.metadata.count);
      uint64_t ids[64];
      size_t n2 = roam_u64_list_get(&m.channels, ids, 64);
      for (size_t i = 0; i < n2 && i < 64; i++) jc_buf_printf(b, "%s%" PRIu64, i ? "," : "", ids[i]);
      jc_buf_printf(b, "],\"payload_len\":%zu", m.payload.len);
      break;
    }
    case ROAM_MSG_CANCEL:
      jc_buf_printf(b, ",\"conn\":%" PRIu64 ",\"req\":%" PRIu64, m.conn_id, m.request_id);
      break;
    case ROAM_MSG_DATA:
    case ROAM_MSG_CLOSE:
    case ROAM_MSG_RESET:
    case ROAM_MSG_CREDIT:
      jc_buf_printf(b, ",\"conn\":%" PRIu64 ",\"channel\":%" PRIu64, m.conn_id, m.channel_id);
      if (m.kind == ROAM_MSG_CREDIT) jc_buf_printf(b, ",\"bytes\":%u", m.credit);
      if (m.kind == ROAM_MSG_DATA) jc_buf_printf(b, ",\"payload_len\":%zu", m.payload.len);
      break;
    }
  } else {
    char text[512];
    roam_msg_format(&m, text, sizeof text); /* "Request conn=0 req=1 ..." */
    jc_buf_puts(&sp->line, text);
  }
  switch (m.kind) {
  case ROAM_MSG_REQUEST:
    if (sp->schemas.count) on_request(sp, l, d, &m);
    else track_req(l, m.conn_id, m.request_id, d, NULL);
    break;
  case ROAM_MSG_RESPONSE:
    on_response(sp, l, d, &m);
    break;
  case ROAM_MSG_DATA: {
    chan_rec *c = find_chan(l, m.conn_id, m.channel_id);
    if (c) {
      if (sp->json) jc_buf_printf(&sp->line, ",\"channel_name\":\"%s\"", c->name);
      else jc_buf_printf(&sp->line, " (%s)", c->name);
      roam_dec dec;
      roam_dec_init(&dec, m.payload.ptr, m.payload.len);
      put_value(sp, "value", c->elem, &dec);
    }
    break;
  }
  case ROAM_MSG_CLOSE:
  case ROAM_MSG_RESET: {
    chan_rec *c = find_chan(l, m.conn_id, m.channel_id);
    if (c) drop_chan(l, c);
    break;
  }
  default:
    break;
  }
  emit(sp);
}

/* Watch the bytes of one direction (a copy: the forwarding is done). */
static void observe(dir *d, const uint8_t *p, size_t n) {
  spy *sp = d->l->sp;
  while (n) {
    size_t used = 0;
    roam_bytes frame;
    int rc = roam_deframer_feed(&d->df, p, n, &used, &frame);
    p += used;
    n -= used;
    if (rc == 1) {
      on_message(sp, d->l, d->idx, frame.ptr, frame.len);
    } else if (rc < 0) {
      stamp(sp, d->l, d->idx, "undecodable");
      if (sp->json) jc_buf_printf(&sp->line, ",\"error\":\"%s\"", roam_strerror(rc));
      else jc_buf_printf(&sp->line, "undecodable frame (%s)", roam_strerror(rc));
      emit(sp);
    } else {
      break;
    }
    if (!used) break;
  }
}

/* ---- forwarding ----------------------------------------------------------- */

static void link_free(link_t *l, const char *why) {
  spy *sp = l->sp;
  char text[256];
  snprintf(text, sizeof text, "link closed (%s; %" PRIu64 " bytes c>s, %" PRIu64 " bytes s>c)", why,
           l->d[0].bytes, l->d[1].bytes);
  event(sp, l, "closed", text);
  for (int i = 0; i < 2; i++) {
    if (l->io[i]) roam_io_free(l->io[i]);
    if (l->fd[i] >= 0) close(l->fd[i]);
    free(l->d[i].buf);
    roam_deframer_free(&l->d[i].df);
  }
  free(l->reqs);
  free(l->chans);
  for (link_t **pp = &sp->links; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  free(l);
  sp->closed++;
  if (sp->count && sp->closed >= sp->count) roam_loop_stop(sp->loop);
}

static void update_interest(link_t *l) {
  for (int i = 0; i < 2; i++) {
    unsigned ev = 0;
    dir *in = &l->d[i], *out = &l->d[1 - i]; /* fd i: reads for d[i], writes for d[1-i] */
    if (!in->eof && in->len - in->off < PAUSE_BYTES) ev |= ROAM_IO_READ;
    if (out->len > out->off) ev |= ROAM_IO_WRITE;
    roam_io_set(l->io[i], ev);
  }
}

/* Write what d holds to its receiver; false if the link died. */
static bool flush_dir(dir *d) {
  link_t *l = d->l;
  int dst = l->fd[1 - d->idx];
  while (d->off < d->len) {
    ssize_t w = send(dst, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      char why[128];
      snprintf(why, sizeof why, "writing %s: %s", d->idx ? "to the client" : "to the target",
               strerror(errno));
      link_free(l, why);
      return false;
    }
    d->off += (size_t)w;
  }
  if (d->off == d->len) d->off = d->len = 0;
  if (d->eof && !d->len && !d->shut) {
    shutdown(dst, SHUT_WR);
    d->shut = true;
  }
  if (l->d[0].shut && l->d[1].shut) {
    link_free(l, "both sides closed");
    return false;
  }
  return true;
}

static bool buffer_append(dir *d, const uint8_t *p, size_t n) {
  if (d->len + n > d->cap) {
    if (d->off) {
      memmove(d->buf, d->buf + d->off, d->len - d->off);
      d->len -= d->off;
      d->off = 0;
    }
    if (d->len + n > d->cap) {
      size_t cap = d->cap ? d->cap : READ_CHUNK;
      while (cap < d->len + n) cap *= 2;
      uint8_t *b = realloc(d->buf, cap);
      if (!b) return false;
      d->buf = b;
      d->cap = cap;
    }
  }
  memcpy(d->buf + d->len, p, n);
  d->len += n;
  return true;
}

static void on_io(roam_io *w, int fd, unsigned events, void *ud) {
  (void)w;
  link_t *l = ud;
  int i = fd == l->fd[0] ? 0 : 1;
  dir *in = &l->d[i];
  if (events & ROAM_IO_WRITE) {
    if (!flush_dir(&l->d[1 - i])) return;
  }
  if ((events & (ROAM_IO_READ | ROAM_IO_ERROR)) && !in->eof) {
    static uint8_t tmp[READ_CHUNK];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      /* nothing now */
    } else if (n < 0) {
      char why[128];
      snprintf(why, sizeof why, "reading from %s: %s", i ? "the target" : "the client",
               strerror(errno));
      link_free(l, why);
      return;
    } else if (n == 0) {
      in->eof = true;
      if (!flush_dir(in)) return;
    } else {
      in->bytes += (uint64_t)n;
      /* forward first, then look at the bytes */
      size_t done = 0;
      if (in->off == in->len) {
        int dst = l->fd[1 - i];
        ssize_t wr;
        do {
          wr = send(dst, tmp, (size_t)n, MSG_NOSIGNAL);
        } while (wr < 0 && errno == EINTR);
        if (wr > 0) done = (size_t)wr;
        else if (wr < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          char why[128];
          snprintf(why, sizeof why, "writing %s: %s", i ? "to the client" : "to the target",
                   strerror(errno));
          link_free(l, why);
          return;
        }
      }
      if (done < (size_t)n && !buffer_append(in, tmp + done, (size_t)n - done)) {
        link_free(l, "out of memory");
        return;
      }
      observe(in, tmp, (size_t)n);
    }
  } else if ((events & ROAM_IO_ERROR) && in->eof && l->d[1 - i].len == 0) {
    /* hang-up after both ends are done */
  }
  update_interest(l);
}

static void on_accept(roam_io *w, int lfd, unsigned events, void *ud) {
  (void)w, (void)events;
  spy *sp = ud;
  for (;;) {
    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        cli_error(CMD, "accept: %s", strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    link_t *l = calloc(1, sizeof *l);
    if (!l) {
      close(cfd);
      continue;
    }
    l->sp = sp;
    l->id = ++sp->next_id;
    l->fd[0] = cfd;
    char err[256];
    l->fd[1] = net_connect(sp->target, 5000, err, sizeof err);
    if (l->fd[1] < 0) {
      event(sp, l, "error", err);
      close(cfd);
      free(l);
      sp->closed++;
      if (sp->count && sp->closed >= sp->count) roam_loop_stop(sp->loop);
      continue;
    }
    fcntl(l->fd[1], F_SETFL, fcntl(l->fd[1], F_GETFL) | O_NONBLOCK);
    bool ok = true;
    for (int i = 0; i < 2; i++) {
      l->d[i].l = l;
      l->d[i].idx = i;
      ok = ok && roam_deframer_init(&l->d[i].df, MAX_FRAME, NULL) == 0;
    }
    for (int i = 0; i < 2 && ok; i++)
      ok = roam_io_new(sp->loop, l->fd[i], ROAM_IO_READ, on_io, l, &l->io[i]) == 0;
    l->next = sp->links;
    sp->links = l;
    if (!ok) {
      link_free(l, "out of resources");
      continue;
    }
    char text[512];
    snprintf(text, sizeof text, "link opened, forwarding to %s", sp->target);
    event(sp, l, "opened", text);
  }
}

static void on_signal(roam_loop *loop, int signo, void *ud) {
  (void)signo, (void)ud;
  roam_loop_stop(loop);
}

int cmd_spy(int argc, char **argv) {
  spy sp;
  memset(&sp, 0, sizeof sp);
  sp.lfd = -1;
  const char *pos[2];
  int npos = 0, st = EXIT_USAGE;
  bool bad = false;
  for (int i = 1; i < argc && !bad; i++) {
    const char *v = NULL;
    if (cli_opt(argc, argv, &i, "schema", "-s", true, &v, &bad, CMD)) {
      if (v && !cli_schema_add(&sp.schemas, v, CMD)) goto out;
    } else if (cli_opt(argc, argv, &i, "json", NULL, false, &v, &bad, CMD)) {
      sp.json = true;
    } else if (cli_opt(argc, argv, &i, "count", NULL, true, &v, &bad, CMD)) {
      if (v && (!cli_parse_u64(v, &sp.count) || !sp.count)) {
        cli_error(CMD, "--count wants a positive number, got '%s'", v);
        goto out;
      }
    } else if (cli_opt(argc, argv, &i, "help", "-h", false, &v, &bad, CMD)) {
      fputs(cli_help(CMD), stdout);
      st = EXIT_OK;
      goto out;
    } else if (argv[i][0] == '-') {
      cli_error(CMD, "unknown option '%s' (see roam help spy)", argv[i]);
      goto out;
    } else if (npos < 2) {
      pos[npos++] = argv[i];
    } else {
      cli_error(CMD, "unexpected argument '%s' (see roam help spy)", argv[i]);
      goto out;
    }
  }
  if (bad) goto out;
  if (npos != 2) {
    cli_error(CMD, "expected LISTEN TARGET (see roam help spy)");
    goto out;
  }
  sp.target = pos[1];
  char bound[300], err[512];
  sp.lfd = net_listen(pos[0], bound, sizeof bound, err, sizeof err);
  if (sp.lfd < 0) {
    cli_error(CMD, "%s", err);
    st = EXIT_ROAM;
    goto out;
  }
  st = EXIT_ROAM;
  if (roam_loop_new(&sp.loop, NULL) != 0 ||
      roam_io_new(sp.loop, sp.lfd, ROAM_IO_READ, on_accept, &sp, &sp.lio) != 0) {
    cli_error(CMD, "cannot start the event loop");
    goto out;
  }
  roam_loop_signal(sp.loop, SIGINT, on_signal, &sp);
  roam_loop_signal(sp.loop, SIGTERM, on_signal, &sp);
  fprintf(stderr, "roam spy: listening on %s, forwarding to %s\n", bound, sp.target);
  fflush(stderr);
  int rc = roam_loop_run(sp.loop);
  if (rc) {
    cli_error(CMD, "event loop failed: %s", roam_strerror(rc));
    goto out;
  }
  st = EXIT_OK;
out:
  while (sp.links) link_free(sp.links, "spy stopped");
  if (sp.lio) roam_io_free(sp.lio);
  if (sp.lfd >= 0) close(sp.lfd);
  if (sp.loop) roam_loop_free(sp.loop);
  cli_schemas_free(&sp.schemas);
  jc_buf_free(&sp.line);
  return st;
}
