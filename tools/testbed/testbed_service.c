/*
 * The Testbed handlers. Unary methods decode their arguments, compute and
 * answer at once. The three streaming methods keep a small state per call
 * (tb_stream) that lives until the request is answered AND every channel
 * the handler bound has ended: the session calls on_end for channels that
 * end on their own (peer Close/Reset, connection closed) and never for the
 * ones we close or reset ourselves, so each flag below is cleared exactly
 * once, by whichever happens.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/diag.h>

#include "testbed.h"

#define TB_PI 3.14159265358979323846

static atomic_size_t live_calls;

size_t roam_testbed_live_calls(void) { return atomic_load(&live_calls); }

/* ---- small helpers ------------------------------------------------------ */

/* Decode the whole argument tuple: rc is the result of the last tb_dec_*
 * (or 0); anything left over or malformed gets Err(InvalidPayload).
 * Returns 0 when the handler may go on. */
static int args_done(roam_request *r, roam_dec *d, int rc) {
  if (rc == 0) rc = roam_dec_finish(d);
  if (rc == 0) return 0;
  roam_request_respond_error(r, ROAM_ERR_REMOTE_INVALID_PAYLOAD);
  return -1;
}

/* Answer Ok(value) with the encoder's bytes. An answer that cannot be sent
 * (larger than the negotiated maximum, out of memory) becomes
 * Err(Cancelled): the callee gives the call up. */
static void respond_enc(roam_request *r, roam_enc *e) {
  int rc = roam_enc_error(e);
  if (rc == 0) {
    rc = roam_request_respond_ok(r, roam_enc_data(e), roam_enc_size(e));
    /* Any other code means the handle was released (answered, or nothing
     * was due any more): it must not be touched again. */
    if (rc != ROAM_ERR_PAYLOAD_TOO_LARGE && rc != ROAM_ERR_NOMEM &&
        rc != ROAM_ERR_METADATA_LIMIT)
      rc = 0;
  }
  if (rc) roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
  roam_enc_free(e);
}

static void respond_user(roam_request *r, uint32_t variant) {
  uint8_t buf[8];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_variant(&e, variant);
  roam_request_respond_user_error(r, buf, roam_enc_size(&e));
}

/* Diagnostic arguments: only formatted when recording is on. */
static void diag_arg(roam_request *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diag_arg(roam_request *r, const char *key, const char *fmt, ...) {
  if (!roam_diag_record_args_enabled()) return;
  char buf[96];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  roam_request_diag_arg(r, key, buf);
}

/* A string argument, quoted and cut to at most 48 bytes at a character
 * boundary. */
static void diag_str(roam_request *r, const char *key, tb_str s) {
  if (!roam_diag_record_args_enabled()) return;
  size_t n = s.len;
  if (n > 48) {
    n = 48;
    while (n > 0 && ((unsigned char)s.ptr[n] & 0xC0) == 0x80) n--;
  }
  diag_arg(r, key, "\"%.*s\"%s", (int)n, s.ptr, n < s.len ? "…" : "");
}

/* ---- unary methods ------------------------------------------------------ */

static void h_echo(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_str msg;
  if (args_done(r, &d, tb_dec_str(&d, &msg))) return;
  diag_str(r, "message", msg);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  tb_enc_str(&e, msg);
  respond_enc(r, &e);
}

/* Reverse by Unicode scalar value: copy each UTF-8 sequence, last first. */
static void h_reverse(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_str msg;
  if (args_done(r, &d, tb_dec_str(&d, &msg))) return;
  diag_str(r, "message", msg);
  char *out = malloc(msg.len ? msg.len : 1);
  if (!out) {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  size_t w = 0, end = msg.len;
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && ((unsigned char)msg.ptr[start] & 0xC0) == 0x80) start--;
    memcpy(out + w, msg.ptr + start, end - start);
    w += end - start;
    end = start;
  }
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  roam_enc_str(&e, out, w);
  free(out);
  respond_enc(r, &e);
}

static void h_divide(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  int64_t a = 0, b = 0;
  roam_dec_i64(&d, &a);
  if (args_done(r, &d, roam_dec_i64(&d, &b))) return;
  diag_arg(r, "dividend", "%lld", (long long)a);
  diag_arg(r, "divisor", "%lld", (long long)b);
  if (b == 0) {
    respond_user(r, TB_DIVISION_BY_ZERO);
    return;
  }
  if (a == INT64_MIN && b == -1) { /* the reference panics here */
    respond_user(r, TB_OVERFLOW);
    return;
  }
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_i64(&e, a / b); /* C and Rust both truncate toward zero */
  roam_request_respond_ok(r, buf, roam_enc_size(&e));
}

static void h_lookup(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t id = 0;
  if (args_done(r, &d, roam_dec_u32(&d, &id))) return;
  diag_arg(r, "id", "%u", (unsigned)id);
  tb_person person;
  memset(&person, 0, sizeof person);
  switch (id) {
  case 1:
    person.name = tb_cstr("Alice");
    person.age = 30;
    person.has_email = true;
    person.email = tb_cstr("alice@example.com");
    break;
  case 2:
    person.name = tb_cstr("Bob");
    person.age = 25;
    break;
  case 3:
    person.name = tb_cstr("Charlie");
    person.age = 35;
    person.has_email = true;
    person.email = tb_cstr("charlie@example.com");
    break;
  default: respond_user(r, TB_NOT_FOUND); return;
  }
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  tb_enc_person(&e, &person);
  respond_enc(r, &e);
}

static void h_echo_point(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_point pt;
  if (args_done(r, &d, tb_dec_point(&d, &pt))) return;
  diag_arg(r, "point", "(%d, %d)", (int)pt.x, (int)pt.y);
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_point(&e, &pt);
  roam_request_respond_ok(r, buf, roam_enc_size(&e));
}

/* create_person(name, age, email): the argument tuple has the layout of a
 * Person, and so has the result. */
static void h_create_person(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_person person;
  tb_dec_str(&d, &person.name);
  roam_dec_u8(&d, &person.age);
  if (args_done(r, &d, tb_dec_opt_str(&d, &person.has_email, &person.email))) return;
  diag_str(r, "name", person.name);
  diag_arg(r, "age", "%u", (unsigned)person.age);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  tb_enc_person(&e, &person);
  respond_enc(r, &e);
}

static void respond_f64(roam_request *r, double v) {
  uint8_t buf[8];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_f64(&e, v);
  roam_request_respond_ok(r, buf, roam_enc_size(&e));
}

static void h_rectangle_area(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_rectangle rect;
  if (args_done(r, &d, tb_dec_rectangle(&d, &rect))) return;
  diag_arg(r, "rect", "(%d, %d)-(%d, %d)", (int)rect.top_left.x, (int)rect.top_left.y,
           (int)rect.bottom_right.x, (int)rect.bottom_right.y);
  /* In 64 bits: the difference of two i32 does not overflow here. */
  int64_t w = (int64_t)rect.bottom_right.x - rect.top_left.x;
  int64_t h = (int64_t)rect.bottom_right.y - rect.top_left.y;
  respond_f64(r, (double)(w < 0 ? -w : w) * (double)(h < 0 ? -h : h));
}

/* ASCII case-insensitive equality (the only characters whose lowercase
 * could spell red/green/blue are ASCII letters). */
static bool name_is(tb_str s, const char *lower) {
  size_t n = strlen(lower);
  if (s.len != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s.ptr[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

static void h_parse_color(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_str name;
  if (args_done(r, &d, tb_dec_str(&d, &name))) return;
  diag_str(r, "name", name);
  uint8_t buf[8];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  if (name_is(name, "red") || name_is(name, "green") || name_is(name, "blue")) {
    roam_enc_some(&e);
    tb_enc_color(&e, name_is(name, "red") ? TB_RED : name_is(name, "green") ? TB_GREEN : TB_BLUE);
  } else {
    roam_enc_none(&e);
  }
  roam_request_respond_ok(r, buf, roam_enc_size(&e));
}

static void h_shape_area(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_shape shape;
  if (args_done(r, &d, tb_dec_shape(&d, &shape))) return;
  if (roam_diag_record_args_enabled()) {
    char buf[96];
    tb_fmt_shape(buf, sizeof buf, &shape);
    roam_request_diag_arg(r, "shape", buf);
  }
  double area = 0.0;
  switch (shape.kind) {
  case TB_SHAPE_CIRCLE: area = TB_PI * shape.radius * shape.radius; break;
  case TB_SHAPE_RECTANGLE: area = shape.width * shape.height; break;
  case TB_SHAPE_POINT: area = 0.0; break;
  }
  respond_f64(r, area);
}

/* create_canvas(name, shapes, background): the argument tuple has the
 * layout of a Canvas. */
static void h_create_canvas(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_canvas canvas;
  int rc = tb_dec_canvas(&d, &canvas);
  if (args_done(r, &d, rc)) {
    tb_canvas_free(&canvas);
    return;
  }
  diag_str(r, "name", canvas.name);
  diag_arg(r, "shapes", "%zu", canvas.shape_count);
  diag_arg(r, "background", "%s", tb_color_name(canvas.background));
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  tb_enc_canvas(&e, &canvas);
  tb_canvas_free(&canvas);
  respond_enc(r, &e);
}

static void h_process_message(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_message msg;
  if (args_done(r, &d, tb_dec_message(&d, &msg))) return;
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  switch (msg.kind) {
  case TB_MESSAGE_TEXT: {
    diag_str(r, "text", msg.text);
    static const char prefix[] = "processed: ";
    roam_enc_variant(&e, TB_MESSAGE_TEXT);
    roam_enc_len(&e, sizeof prefix - 1 + msg.text.len);
    roam_enc_raw(&e, prefix, sizeof prefix - 1);
    roam_enc_raw(&e, msg.text.ptr, msg.text.len); /* already valid UTF-8 */
    break;
  }
  case TB_MESSAGE_NUMBER: {
    diag_arg(r, "number", "%lld", (long long)msg.number);
    tb_message out = msg;
    out.number = (int64_t)((uint64_t)msg.number * 2u); /* wraps, as Rust release does */
    tb_enc_message(&e, &out);
    break;
  }
  case TB_MESSAGE_DATA: {
    diag_arg(r, "data", "%zu bytes", msg.data.len);
    roam_enc_variant(&e, TB_MESSAGE_DATA);
    roam_enc_len(&e, msg.data.len);
    uint8_t *dst = roam_enc_reserve(&e, msg.data.len);
    if (dst) {
      for (size_t i = 0; i < msg.data.len; i++) dst[i] = msg.data.ptr[msg.data.len - 1 - i];
      roam_enc_commit(&e, msg.data.len);
    }
    break;
  }
  }
  respond_enc(r, &e);
}

static void h_get_points(roam_session *s, roam_request *r, void *ud) {
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t count = 0;
  if (args_done(r, &d, roam_dec_u32(&d, &count))) return;
  (void)ud;
  diag_arg(r, "count", "%u", (unsigned)count);
  /* The reference iterates over 0..count as i32: a count above i32::MAX
   * gives no points at all. */
  int32_t n = (int32_t)count;
  if (n < 0) n = 0;
  size_t limit = roam_session_max_payload(s);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  roam_enc_len(&e, (size_t)n);
  for (int32_t i = 0; i < n; i++) {
    tb_point pt = {i, (int32_t)((uint32_t)i * 2u)};
    tb_enc_point(&e, &pt);
    if (roam_enc_size(&e) > limit) break; /* cannot be sent: respond_enc says so */
  }
  respond_enc(r, &e);
}

static void h_swap_pair(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  tb_pair_is in;
  if (args_done(r, &d, tb_dec_pair_is(&d, &in))) return;
  diag_arg(r, "num", "%d", (int)in.num);
  diag_str(r, "text", in.text);
  tb_pair_si out = {in.text, in.num};
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  tb_enc_pair_si(&e, &out);
  respond_enc(r, &e);
}

/* ---- streaming calls ------------------------------------------------------ */

typedef struct tb_item {
  struct tb_item *next;
  size_t len;
  uint8_t bytes[];
} tb_item;

typedef struct tb_stream {
  roam_request *req; /* NULL once answered (or released after a cancel) */
  roam_session *s;
  uint64_t conn;
  uint64_t in_ch, out_ch;
  bool in_open, out_open; /* bound and not ended yet */
  bool in_done;           /* the input was closed or reset */
  int pin;                /* callbacks of ours on the stack */
  int64_t total;          /* sum */
  int32_t next, count;    /* generate */
  tb_item *head, *tail;   /* transform: values waiting for credit */
} tb_stream;

static tb_stream *stream_new(roam_request *r) {
  tb_stream *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->req = r;
  st->s = roam_request_session(r);
  st->conn = roam_request_conn_id(r);
  atomic_fetch_add(&live_calls, 1);
  return st;
}

static void drop_queue(tb_stream *st, bool give_credit) {
  while (st->head) {
    tb_item *it = st->head;
    st->head = it->next;
    if (give_credit && st->in_open) roam_channel_consume(st->s, st->conn, st->in_ch, it->len);
    free(it);
  }
  st->tail = NULL;
}

/* Free once nothing refers to the state any more. */
static void stream_release(tb_stream *st) {
  if (st->pin || st->req || st->in_open || st->out_open) return;
  drop_queue(st, false);
  free(st);
  atomic_fetch_sub(&live_calls, 1);
}

/* Close our output channel (Close goes out before the Response). */
static void close_output(tb_stream *st) {
  if (st->out_open && roam_channel_close(st->s, st->conn, st->out_ch) == 0)
    st->out_open = false;
  /* otherwise the connection is being torn down: on_end follows */
}

static void reset_input(tb_stream *st) {
  if (st->in_open && roam_channel_reset(st->s, st->conn, st->in_ch) == 0) st->in_open = false;
}

/* Answer Ok with value (output channel closed first). */
static void stream_finish(tb_stream *st, const void *value, size_t len) {
  if (!st->req) return;
  close_output(st);
  roam_request *r = st->req;
  st->req = NULL;
  roam_request_respond_ok(r, value, len);
}

/* The caller cancelled, or the connection closed: abandon the channels
 * and release the handle (the session answers Err(Cancelled) itself). */
static void stream_cancel(roam_request *r, int why, void *ud) {
  (void)r, (void)why;
  tb_stream *st = ud;
  st->pin++;
  reset_input(st);
  close_output(st);
  drop_queue(st, false);
  if (st->req) {
    roam_request *req = st->req;
    st->req = NULL;
    roam_request_respond_error(req, ROAM_ERR_REMOTE_CANCELLED);
  }
  st->pin--;
  stream_release(st);
}

/* Bind failed (connection going away): answer and forget. */
static void stream_abort(tb_stream *st) {
  st->in_open = st->out_open = false;
  if (st->req) {
    roam_request *r = st->req;
    st->req = NULL;
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  stream_release(st);
}

/* sum(numbers: Rx<i32>) -> i64 */

static int sum_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_stream *st = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  int32_t x = 0;
  roam_dec_i32(&d, &x);
  int rc = roam_dec_finish(&d);
  if (rc) return rc; /* Goodbye channeling.data.invalid */
  st->total += x;
  return 0;
}

static void sum_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err;
  tb_stream *st = ud;
  st->pin++;
  st->in_open = false;
  /* Close or Reset: the total so far, as the reference (its recv loop
   * ends on either). */
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_i64(&e, st->total);
  stream_finish(st, buf, roam_enc_size(&e));
  st->pin--;
  stream_release(st);
}

static const roam_channel_callbacks sum_cbs = {sum_data, sum_end, NULL};

static void h_sum(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint64_t id_in_payload = 0;
  int rc = roam_dec_u64(&d, &id_in_payload);
  if (rc == 0 && roam_request_channel_count(r) < 1) rc = ROAM_ERR_DECODE;
  if (args_done(r, &d, rc)) return;
  tb_stream *st = stream_new(r);
  if (!st) {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  /* Request.channels is authoritative, not the id inside the payload. */
  st->in_ch = roam_request_channel_id(r, 0);
  diag_arg(r, "numbers", "ch#%llu", (unsigned long long)st->in_ch);
  roam_request_set_cancel_cb(r, stream_cancel, st);
  st->in_open = true;
  st->pin++;
  /* Values (and a Close) that arrived before binding are delivered now. */
  if (roam_request_bind_channel(r, 0, ROAM_CHAN_RECV, &sum_cbs, st) != 0) st->in_open = false;
  st->pin--;
  if (!st->in_open && st->req) stream_abort(st);
  else stream_release(st);
}

/* generate(count: u32, output: Tx<i32>) */

static void gen_pump(tb_stream *st) {
  while (st->req && st->out_open && st->next < st->count) {
    uint8_t buf[8];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_i32(&e, st->next);
    int rc = roam_channel_send(st->s, st->conn, st->out_ch, buf, roam_enc_size(&e));
    if (rc == ROAM_ERR_WOULD_BLOCK) return; /* on_writable resumes */
    if (rc != 0) break;                       /* the channel is gone */
    st->next++;
  }
  stream_finish(st, NULL, 0);
}

static void gen_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_stream *st = ud;
  st->pin++;
  gen_pump(st);
  st->pin--;
  stream_release(st);
}

static void gen_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err;
  tb_stream *st = ud;
  st->pin++;
  st->out_open = false; /* Reset by the caller: stop, still answer Ok(()) */
  stream_finish(st, NULL, 0);
  st->pin--;
  stream_release(st);
}

static const roam_channel_callbacks gen_cbs = {NULL, gen_end, gen_writable};

static void h_generate(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint32_t count = 0;
  uint64_t id_in_payload = 0;
  roam_dec_u32(&d, &count);
  int rc = roam_dec_u64(&d, &id_in_payload);
  if (rc == 0 && roam_request_channel_count(r) < 1) rc = ROAM_ERR_DECODE;
  if (args_done(r, &d, rc)) return;
  diag_arg(r, "count", "%u", (unsigned)count);
  tb_stream *st = stream_new(r);
  if (!st) {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  st->out_ch = roam_request_channel_id(r, 0);
  /* for i in 0..count as i32: nothing when count is above i32::MAX */
  st->count = (int32_t)count < 0 ? 0 : (int32_t)count;
  roam_request_set_cancel_cb(r, stream_cancel, st);
  if (roam_request_bind_channel(r, 0, ROAM_CHAN_SEND, &gen_cbs, st) != 0) {
    stream_abort(st);
    return;
  }
  st->out_open = true;
  st->pin++;
  gen_pump(st);
  st->pin--;
  stream_release(st);
}

/* transform(input: Rx<String>, output: Tx<String>)
 *
 * Input credit is returned only once a value went out on the output
 * (ROAM_CHAN_MANUAL_CREDIT), so the queue of values waiting for output
 * credit never holds more than the input window. */

static void transform_flush(tb_stream *st) {
  while (st->head && st->out_open) {
    tb_item *it = st->head;
    int rc = roam_channel_send(st->s, st->conn, st->out_ch, it->bytes, it->len);
    if (rc == ROAM_ERR_WOULD_BLOCK) return;
    if (rc != 0) break; /* output gone: drop the rest below */
    st->head = it->next;
    if (!st->head) st->tail = NULL;
    if (st->in_open) roam_channel_consume(st->s, st->conn, st->in_ch, it->len);
    free(it);
  }
  if (!st->out_open || st->head) drop_queue(st, true);
  if (st->in_done) stream_finish(st, NULL, 0);
}

static int transform_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v,
                          void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_stream *st = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  tb_str str;
  tb_dec_str(&d, &str);
  int rc = roam_dec_finish(&d);
  if (rc) return rc; /* Goodbye channeling.data.invalid */
  if (!st->out_open || !st->req) { /* nowhere to send it: just consume */
    roam_channel_consume(st->s, st->conn, st->in_ch, v.len);
    return 0;
  }
  if (!st->head) {
    /* The value is one String: resend its bytes as they are. */
    rc = roam_channel_send(st->s, st->conn, st->out_ch, v.ptr, v.len);
    if (rc != ROAM_ERR_WOULD_BLOCK) { /* sent, or the output is gone */
      roam_channel_consume(st->s, st->conn, st->in_ch, v.len);
      return 0;
    }
  }
  tb_item *it = malloc(sizeof *it + v.len);
  if (!it) return ROAM_ERR_NOMEM;
  it->next = NULL;
  it->len = v.len;
  memcpy(it->bytes, v.ptr, v.len);
  if (st->tail) st->tail->next = it;
  else st->head = it;
  st->tail = it;
  return 0;
}

static void transform_in_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err;
  tb_stream *st = ud;
  st->pin++;
  st->in_open = false;
  st->in_done = true;
  transform_flush(st);
  st->pin--;
  stream_release(st);
}

static void transform_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_stream *st = ud;
  st->pin++;
  transform_flush(st);
  st->pin--;
  stream_release(st);
}

static void transform_out_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err;
  tb_stream *st = ud;
  st->pin++;
  st->out_open = false; /* Reset by the caller: keep reading, answer at the end */
  transform_flush(st);
  st->pin--;
  stream_release(st);
}

static const roam_channel_callbacks transform_in_cbs = {transform_data, transform_in_end, NULL};
static const roam_channel_callbacks transform_out_cbs = {NULL, transform_out_end,
                                                         transform_writable};

static void h_transform(roam_session *s, roam_request *r, void *ud) {
  (void)s, (void)ud;
  roam_bytes p = roam_request_payload(r);
  roam_dec d;
  roam_dec_init(&d, p.ptr, p.len);
  uint64_t in_id = 0, out_id = 0;
  roam_dec_u64(&d, &in_id);
  int rc = roam_dec_u64(&d, &out_id);
  if (rc == 0 && roam_request_channel_count(r) < 2) rc = ROAM_ERR_DECODE;
  if (args_done(r, &d, rc)) return;
  tb_stream *st = stream_new(r);
  if (!st) {
    roam_request_respond_error(r, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  st->in_ch = roam_request_channel_id(r, 0);
  st->out_ch = roam_request_channel_id(r, 1);
  roam_request_set_cancel_cb(r, stream_cancel, st);
  if (roam_request_bind_channel(r, 1, ROAM_CHAN_SEND, &transform_out_cbs, st) != 0) {
    stream_abort(st);
    return;
  }
  st->out_open = true;
  st->in_open = true;
  st->pin++;
  if (roam_request_bind_channel(r, 0, ROAM_CHAN_RECV | ROAM_CHAN_MANUAL_CREDIT,
                                &transform_in_cbs, st) != 0) {
    st->in_open = false;
    st->in_done = true;
    transform_flush(st); /* closes the output and answers */
  }
  st->pin--;
  stream_release(st);
}

/* ---- registration ----------------------------------------------------------- */

static const struct {
  uint64_t id;
  roam_handler_fn fn;
  const char *name;
} g_methods[] = {
    {ROAM_TESTBED_ECHO, h_echo, "Testbed.echo"},
    {ROAM_TESTBED_REVERSE, h_reverse, "Testbed.reverse"},
    {ROAM_TESTBED_DIVIDE, h_divide, "Testbed.divide"},
    {ROAM_TESTBED_LOOKUP, h_lookup, "Testbed.lookup"},
    {ROAM_TESTBED_SUM, h_sum, "Testbed.sum"},
    {ROAM_TESTBED_GENERATE, h_generate, "Testbed.generate"},
    {ROAM_TESTBED_TRANSFORM, h_transform, "Testbed.transform"},
    {ROAM_TESTBED_ECHO_POINT, h_echo_point, "Testbed.echo_point"},
    {ROAM_TESTBED_CREATE_PERSON, h_create_person, "Testbed.create_person"},
    {ROAM_TESTBED_RECTANGLE_AREA, h_rectangle_area, "Testbed.rectangle_area"},
    {ROAM_TESTBED_RECTANGLE_AREA_ALT, h_rectangle_area, "Testbed.rectangle_area"},
    {ROAM_TESTBED_PARSE_COLOR, h_parse_color, "Testbed.parse_color"},
    {ROAM_TESTBED_SHAPE_AREA, h_shape_area, "Testbed.shape_area"},
    {ROAM_TESTBED_CREATE_CANVAS, h_create_canvas, "Testbed.create_canvas"},
    {ROAM_TESTBED_PROCESS_MESSAGE, h_process_message, "Testbed.process_message"},
    {ROAM_TESTBED_GET_POINTS, h_get_points, "Testbed.get_points"},
    {ROAM_TESTBED_SWAP_PAIR, h_swap_pair, "Testbed.swap_pair"},
};

int roam_testbed_register_with(roam_testbed_add_fn add, void *ctx) {
  if (!add) return ROAM_ERR_INVALID_ARG;
  for (size_t i = 0; i < sizeof g_methods / sizeof g_methods[0]; i++) {
    int rc = add(ctx, g_methods[i].id, g_methods[i].fn, NULL);
    if (rc) return rc;
    roam_diag_set_method_name(g_methods[i].id, g_methods[i].name); /* display only */
  }
  return 0;
}

static int add_to_dispatcher(void *ctx, uint64_t method_id, roam_handler_fn fn, void *ud) {
  return roam_dispatcher_add(ctx, method_id, fn, ud);
}

int roam_testbed_register(roam_dispatcher *d) {
  if (!d) return ROAM_ERR_INVALID_ARG;
  return roam_testbed_register_with(add_to_dispatcher, d);
}
