/*
 * roam-testbed-client ADDR
 *
 * Calls every Testbed method once on the server at ADDR ("host:port",
 * "tcp://host:port", "unix:/path"), the streaming ones included, then echo
 * on a virtual connection, and prints what came back, one line per call:
 *
 *   ok    divide(7, 2) = Ok(3)
 *   FAIL  lookup(1) = ... (expected ...)
 *
 * Exit status 0 only if every result is the expected one.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/runtime.h>

#include "testbed.h"

#define TIMEOUT_MS 30000

static roam_client *client;
static int calls, failures;

/* Print one result line. */
static void report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(bool ok, const char *fmt, ...) {
  calls++;
  if (!ok) failures++;
  printf("%-5s ", ok ? "ok" : "FAIL");
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

/* What a failed call returned, for the report. */
static const char *status_text(int status) {
  switch (status) {
  case ROAM_ERR_REMOTE_UNKNOWN_METHOD: return "Err(UnknownMethod)";
  case ROAM_ERR_REMOTE_INVALID_PAYLOAD: return "Err(InvalidPayload)";
  case ROAM_ERR_REMOTE_CANCELLED: return "Err(Cancelled)";
  case ROAM_ERR_REMOTE_USER: return "Err(User(?))";
  default: return roam_strerror(status);
  }
}

/* A unary call on connection conn with the encoded arguments. The reply's
 * value is the Ok value (status 0) or the method's error (REMOTE_USER). */
static int call(uint64_t conn, uint64_t method, const roam_enc *args, roam_reply *reply) {
  roam_call_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.conn_id = conn;
  opts.timeout_ms = TIMEOUT_MS;
  return roam_client_call(client, method, roam_enc_data(args), roam_enc_size(args), &opts, reply);
}

/* A decoder over a reply's value. */
static roam_dec reply_dec(const roam_reply *r) {
  roam_dec d;
  roam_dec_init(&d, r->value, r->value_len);
  return d;
}

/* ---- unary methods ----------------------------------------------------------- */

static void echo(uint64_t conn, const char *text) {
  uint8_t buf[128];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_str(&e, tb_cstr(text));
  roam_reply r;
  int st = call(conn, ROAM_TESTBED_ECHO, &e, &r);
  roam_dec d = reply_dec(&r);
  tb_str got = {"", 0};
  bool ok = st == 0 && tb_dec_str(&d, &got) == 0 && roam_dec_finish(&d) == 0 &&
            tb_str_eq(got, tb_cstr(text));
  if (st == 0)
    report(ok, "echo(\"%s\")%s = \"%.*s\"", text, conn ? " on the virtual connection" : "",
           (int)got.len, got.ptr);
  else
    report(false, "echo(\"%s\") = %s", text, status_text(st));
  roam_reply_free(&r);
}

static void reverse(void) {
  const char *text = "héllo 🦀", *want = "🦀 olléh";
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_str(&e, tb_cstr(text));
  roam_reply r;
  int st = call(0, ROAM_TESTBED_REVERSE, &e, &r);
  roam_dec d = reply_dec(&r);
  tb_str got = {"", 0};
  bool ok = st == 0 && tb_dec_str(&d, &got) == 0 && tb_str_eq(got, tb_cstr(want));
  report(ok, "reverse(\"%s\") = \"%.*s\"", text, (int)got.len, got.ptr);
  roam_reply_free(&r);
}

/* divide returns Result<i64, MathError>: Ok(quotient) or User(error). */
static void divide(int64_t a, int64_t b, bool want_ok, int64_t want) {
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_i64(&e, a);
  roam_enc_i64(&e, b);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_DIVIDE, &e, &r);
  roam_dec d = reply_dec(&r);
  if (st == 0) {
    int64_t q = 0;
    roam_dec_i64(&d, &q);
    report(want_ok && roam_dec_finish(&d) == 0 && q == want, "divide(%lld, %lld) = Ok(%lld)",
           (long long)a, (long long)b, (long long)q);
  } else if (st == ROAM_ERR_REMOTE_USER) {
    tb_math_error err = TB_DIVISION_BY_ZERO;
    bool ok = tb_dec_math_error(&d, &err) == 0 && !want_ok && (int64_t)err == want;
    report(ok, "divide(%lld, %lld) = Err(%s)", (long long)a, (long long)b, tb_math_error_name(err));
  } else {
    report(false, "divide(%lld, %lld) = %s", (long long)a, (long long)b, status_text(st));
  }
  roam_reply_free(&r);
}

/* lookup returns Result<Person, LookupError>. */
static void lookup(uint32_t id, const char *want_name) {
  uint8_t buf[8];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u32(&e, id);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_LOOKUP, &e, &r);
  roam_dec d = reply_dec(&r);
  if (st == 0) {
    tb_person p;
    char text[160] = "?";
    bool ok = tb_dec_person(&d, &p) == 0 && roam_dec_finish(&d) == 0;
    if (ok) tb_fmt_person(text, sizeof text, &p);
    ok = ok && want_name && tb_str_eq(p.name, tb_cstr(want_name));
    report(ok, "lookup(%u) = Ok(%s)", (unsigned)id, text);
  } else if (st == ROAM_ERR_REMOTE_USER) {
    tb_lookup_error err = TB_ACCESS_DENIED;
    bool ok = tb_dec_lookup_error(&d, &err) == 0 && !want_name && err == TB_NOT_FOUND;
    report(ok, "lookup(%u) = Err(%s)", (unsigned)id, tb_lookup_error_name(err));
  } else {
    report(false, "lookup(%u) = %s", (unsigned)id, status_text(st));
  }
  roam_reply_free(&r);
}

static void echo_point(void) {
  tb_point p = {3, -4}, got = {0, 0};
  uint8_t buf[16];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_point(&e, &p);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_ECHO_POINT, &e, &r);
  roam_dec d = reply_dec(&r);
  bool ok = st == 0 && tb_dec_point(&d, &got) == 0 && got.x == p.x && got.y == p.y;
  report(ok, "echo_point(Point { x: 3, y: -4 }) = Point { x: %d, y: %d }", (int)got.x,
         (int)got.y);
  roam_reply_free(&r);
}

static void create_person(void) {
  tb_person in = {tb_cstr("Dana"), 41, true, tb_cstr("dana@example.com")}, out;
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_person(&e, &in); /* the arguments (name, age, email) encode like a Person */
  roam_reply r;
  int st = call(0, ROAM_TESTBED_CREATE_PERSON, &e, &r);
  roam_dec d = reply_dec(&r);
  char text[160] = "?";
  bool ok = st == 0 && tb_dec_person(&d, &out) == 0;
  if (ok) tb_fmt_person(text, sizeof text, &out);
  ok = ok && tb_str_eq(out.name, in.name) && out.age == in.age && out.has_email &&
       tb_str_eq(out.email, in.email);
  report(ok, "create_person(\"Dana\", 41, Some(\"dana@example.com\")) = %s", text);
  roam_reply_free(&r);
}

/* A method returning f64. */
static void f64_call(uint64_t method, const roam_enc *args, double want, const char *what) {
  roam_reply r;
  int st = call(0, method, args, &r);
  roam_dec d = reply_dec(&r);
  double got = NAN;
  bool ok = st == 0 && roam_dec_f64(&d, &got) == 0 && fabs(got - want) < 1e-9;
  report(ok, "%s = %g", what, got);
  roam_reply_free(&r);
}

static void rectangle_area(void) {
  tb_rectangle rect = {{1, 2}, {4, 6}, true, tb_cstr("box")};
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_rectangle(&e, &rect);
  f64_call(ROAM_TESTBED_RECTANGLE_AREA, &e, 12.0, "rectangle_area((1, 2)-(4, 6))");
}

static void shape_area(const tb_shape *shape, double want) {
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_shape(&e, shape);
  char what[96], text[64];
  tb_fmt_shape(text, sizeof text, shape);
  snprintf(what, sizeof what, "shape_area(%s)", text);
  f64_call(ROAM_TESTBED_SHAPE_AREA, &e, want, what);
}

static void parse_color(const char *name, int want /* -1: None */) {
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_str(&e, tb_cstr(name));
  roam_reply r;
  int st = call(0, ROAM_TESTBED_PARSE_COLOR, &e, &r);
  roam_dec d = reply_dec(&r);
  bool some = false;
  tb_color c = TB_RED;
  bool ok = st == 0 && roam_dec_option(&d, &some) == 0 && (!some || tb_dec_color(&d, &c) == 0);
  ok = ok && (some ? (int)c == want : want < 0);
  report(ok, "parse_color(\"%s\") = %s%s%s", name, some ? "Some(" : "None",
         some ? tb_color_name(c) : "", some ? ")" : "");
  roam_reply_free(&r);
}

static void create_canvas(void) {
  tb_shape shapes[] = {{TB_SHAPE_CIRCLE, 1.5, 0, 0}, {TB_SHAPE_POINT, 0, 0, 0}};
  tb_canvas in = {tb_cstr("sketch"), shapes, 2, TB_BLUE};
  tb_canvas out = {{"", 0}, NULL, 0, TB_RED};
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_canvas(&e, &in); /* (name, shapes, background) encodes like a Canvas */
  roam_reply r;
  int st = call(0, ROAM_TESTBED_CREATE_CANVAS, &e, &r);
  roam_dec d = reply_dec(&r);
  bool ok = st == 0 && tb_dec_canvas(&d, &out) == 0 && tb_str_eq(out.name, in.name) &&
            out.shape_count == 2 && out.shapes[0].kind == TB_SHAPE_CIRCLE &&
            out.shapes[0].radius == 1.5 && out.shapes[1].kind == TB_SHAPE_POINT &&
            out.background == TB_BLUE;
  report(ok, "create_canvas(\"sketch\", [Circle, Point], Blue) = Canvas { \"%.*s\", %zu shapes, %s }",
         (int)out.name.len, out.name.ptr ? out.name.ptr : "", out.shape_count,
         tb_color_name(out.background));
  tb_canvas_free(&out);
  roam_reply_free(&r);
}

static void process_message(const tb_message *in, const tb_message *want, const char *what) {
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_message(&e, in);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_PROCESS_MESSAGE, &e, &r);
  roam_dec d = reply_dec(&r);
  tb_message out;
  bool ok = st == 0 && tb_dec_message(&d, &out) == 0 && out.kind == want->kind;
  char text[96] = "?";
  if (ok && out.kind == TB_MESSAGE_TEXT) {
    ok = tb_str_eq(out.text, want->text);
    snprintf(text, sizeof text, "Text(\"%.*s\")", (int)out.text.len, out.text.ptr);
  } else if (ok && out.kind == TB_MESSAGE_NUMBER) {
    ok = out.number == want->number;
    snprintf(text, sizeof text, "Number(%lld)", (long long)out.number);
  } else if (ok) {
    ok = out.data.len == want->data.len && memcmp(out.data.ptr, want->data.ptr, out.data.len) == 0;
    snprintf(text, sizeof text, "Data(%zu bytes, first %u)", out.data.len,
             out.data.len ? out.data.ptr[0] : 0u);
  }
  report(ok, "process_message(%s) = %s", what, text);
  roam_reply_free(&r);
}

static void get_points(void) {
  uint8_t buf[8];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_u32(&e, 3);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_GET_POINTS, &e, &r);
  roam_dec d = reply_dec(&r);
  tb_point *pts = NULL;
  size_t n = 0;
  bool ok = st == 0 && tb_dec_points(&d, &pts, &n) == 0 && n == 3;
  for (size_t i = 0; ok && i < n; i++) ok = pts[i].x == (int)i && pts[i].y == 2 * (int)i;
  report(ok, "get_points(3) = %zu points, the last (%d, %d)", n, n ? (int)pts[n - 1].x : 0,
         n ? (int)pts[n - 1].y : 0);
  free(pts);
  roam_reply_free(&r);
}

static void swap_pair(void) {
  tb_pair_is in = {7, tb_cstr("seven")};
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  tb_enc_pair_is(&e, &in);
  roam_reply r;
  int st = call(0, ROAM_TESTBED_SWAP_PAIR, &e, &r);
  roam_dec d = reply_dec(&r);
  tb_pair_si out = {{"", 0}, 0};
  bool ok = st == 0 && tb_dec_pair_si(&d, &out) == 0 && out.num == 7 &&
            tb_str_eq(out.text, in.text);
  report(ok, "swap_pair((7, \"seven\")) = (\"%.*s\", %d)", (int)out.text.len, out.text.ptr,
         (int)out.num);
  roam_reply_free(&r);
}

/* ---- streaming methods ---------------------------------------------------- */

/* Start a call whose arguments are the channel ids (then extra bytes). */
static roam_pending *start_with_channels(uint64_t method, const uint8_t *prefix, size_t plen,
                                         const uint64_t *ids, size_t n) {
  uint8_t buf[64];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_enc_raw(&e, prefix, plen);
  for (size_t i = 0; i < n; i++) roam_enc_u64(&e, ids[i]); /* ids inside the payload too */
  roam_call_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.channels = ids;
  opts.channel_count = n;
  opts.timeout_ms = TIMEOUT_MS;
  roam_pending *p = NULL;
  if (roam_client_call_start(client, method, buf, roam_enc_size(&e), &opts, &p) != 0) return NULL;
  return p;
}

/* sum(numbers): we send 1..=100 on our Tx channel, then Close. */
static void sum(void) {
  roam_chan *tx;
  if (roam_chan_open(roam_client_link(client), 0, ROAM_CHAN_SEND, &tx) != 0) {
    report(false, "sum: cannot open a channel");
    return;
  }
  uint64_t id = roam_chan_id(tx);
  roam_pending *p = start_with_channels(ROAM_TESTBED_SUM, NULL, 0, &id, 1);
  for (int32_t i = 1; p && i <= 100; i++) {
    uint8_t v[8];
    roam_enc e;
    roam_enc_init(&e, v, sizeof v);
    roam_enc_i32(&e, i);
    if (roam_chan_send(tx, v, roam_enc_size(&e), TIMEOUT_MS) != 0) break; /* waits for credit */
  }
  roam_chan_close(tx);
  roam_reply r = {0};
  int st = p ? roam_pending_wait(p, TIMEOUT_MS, &r) : ROAM_ERR_STATE;
  roam_dec d = reply_dec(&r);
  int64_t total = 0;
  bool ok = st == 0 && roam_dec_i64(&d, &total) == 0 && total == 5050;
  report(ok, "sum(1..=100 over a channel) = %lld", (long long)total);
  roam_reply_free(&r);
  roam_pending_free(p);
  roam_chan_free(tx);
}

/* generate(count, output): the server sends 0..count-1 on our Rx channel. */
static void generate(void) {
  roam_chan *rx;
  if (roam_chan_open(roam_client_link(client), 0, ROAM_CHAN_RECV, &rx) != 0) {
    report(false, "generate: cannot open a channel");
    return;
  }
  uint64_t id = roam_chan_id(rx);
  uint8_t count[8];
  roam_enc e;
  roam_enc_init(&e, count, sizeof count);
  roam_enc_u32(&e, 10);
  roam_pending *p = start_with_channels(ROAM_TESTBED_GENERATE, count, roam_enc_size(&e), &id, 1);
  int32_t got[16];
  size_t n = 0;
  roam_bytes v;
  bool ok = p != NULL;
  int rc;
  while (ok && (rc = roam_chan_recv(rx, &v, TIMEOUT_MS)) == 1) { /* 0 at the end */
    roam_dec d;
    roam_dec_init(&d, v.ptr, v.len);
    int32_t x = 0;
    ok = roam_dec_i32(&d, &x) == 0 && n < 16;
    if (ok) got[n++] = x;
  }
  roam_reply r = {0};
  int st = p ? roam_pending_wait(p, TIMEOUT_MS, &r) : ROAM_ERR_STATE;
  ok = ok && st == 0 && n == 10;
  for (size_t i = 0; ok && i < n; i++) ok = got[i] == (int32_t)i;
  report(ok, "generate(10) = %zu values, %d..%d", n, n ? (int)got[0] : 0,
         n ? (int)got[n - 1] : 0);
  roam_reply_free(&r);
  roam_pending_free(p);
  roam_chan_free(rx);
}

/* transform(input, output): every string we send comes back. */
static void transform(void) {
  static const char *const words[] = {"one", "two", "three"};
  roam_chan *tx, *rx;
  roam_link *link = roam_client_link(client);
  if (roam_chan_open(link, 0, ROAM_CHAN_SEND, &tx) != 0) {
    report(false, "transform: cannot open a channel");
    return;
  }
  if (roam_chan_open(link, 0, ROAM_CHAN_RECV, &rx) != 0) {
    roam_chan_free(tx);
    report(false, "transform: cannot open a channel");
    return;
  }
  uint64_t ids[2] = {roam_chan_id(tx), roam_chan_id(rx)};
  roam_pending *p = start_with_channels(ROAM_TESTBED_TRANSFORM, NULL, 0, ids, 2);
  bool ok = p != NULL;
  for (size_t i = 0; ok && i < 3; i++) {
    uint8_t buf[16];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    tb_enc_str(&e, tb_cstr(words[i]));
    ok = roam_chan_send(tx, buf, roam_enc_size(&e), TIMEOUT_MS) == 0;
  }
  roam_chan_close(tx);
  size_t n = 0;
  roam_bytes v;
  while (ok && roam_chan_recv(rx, &v, TIMEOUT_MS) == 1) {
    roam_dec d;
    roam_dec_init(&d, v.ptr, v.len);
    tb_str s;
    ok = tb_dec_str(&d, &s) == 0 && n < 3 && tb_str_eq(s, tb_cstr(words[n]));
    n++;
  }
  roam_reply r = {0};
  int st = p ? roam_pending_wait(p, TIMEOUT_MS, &r) : ROAM_ERR_STATE;
  ok = ok && st == 0 && n == 3;
  report(ok, "transform([\"one\", \"two\", \"three\"]) = %zu strings back", n);
  roam_reply_free(&r);
  roam_pending_free(p);
  roam_chan_free(rx);
  roam_chan_free(tx);
}

/* ---- a virtual connection ----------------------------------------------------- */

static void virtual_connection(void) {
  uint64_t conn_id = 0;
  int rc = roam_client_open_connection(client, NULL, 0, TIMEOUT_MS, &conn_id);
  if (rc) {
    report(false, "opening a virtual connection: %s", roam_strerror(rc));
    return;
  }
  echo(conn_id, "hello over a virtual connection");
  roam_session_conn_close(roam_client_session(client), conn_id, "");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: roam-testbed-client ADDR   (host:port, tcp://host:port, unix:/path)\n");
    return 2;
  }
  int rc = roam_client_connect(&client, argv[1], NULL, TIMEOUT_MS);
  if (rc) {
    fprintf(stderr, "roam-testbed-client: cannot connect to %s: %s\n", argv[1], roam_strerror(rc));
    return 1;
  }

  echo(0, "hello, roam");
  reverse();
  divide(7, 2, true, 3);
  divide(1, 0, false, TB_DIVISION_BY_ZERO);
  lookup(1, "Alice");
  lookup(4, NULL);
  sum();
  generate();
  transform();
  echo_point();
  create_person();
  rectangle_area();
  parse_color("Green", TB_GREEN);
  parse_color("mauve", -1);
  tb_shape circle = {TB_SHAPE_CIRCLE, 1.0, 0, 0}, rect = {TB_SHAPE_RECTANGLE, 0, 3.0, 4.5};
  shape_area(&circle, 3.14159265358979323846);
  shape_area(&rect, 13.5);
  create_canvas();
  tb_message text = {TB_MESSAGE_TEXT, tb_cstr("hi"), 0, {NULL, 0}};
  tb_message text_back = {TB_MESSAGE_TEXT, tb_cstr("processed: hi"), 0, {NULL, 0}};
  process_message(&text, &text_back, "Text(\"hi\")");
  tb_message num = {TB_MESSAGE_NUMBER, {NULL, 0}, 21, {NULL, 0}};
  tb_message num_back = {TB_MESSAGE_NUMBER, {NULL, 0}, 42, {NULL, 0}};
  process_message(&num, &num_back, "Number(21)");
  static const uint8_t data[] = {1, 2, 3}, data_rev[] = {3, 2, 1};
  tb_message bytes = {TB_MESSAGE_DATA, {NULL, 0}, 0, {data, 3}};
  tb_message bytes_back = {TB_MESSAGE_DATA, {NULL, 0}, 0, {data_rev, 3}};
  process_message(&bytes, &bytes_back, "Data([1, 2, 3])");
  get_points();
  swap_pair();
  virtual_connection();

  roam_client_free(client);
  printf("%d/%d results as expected\n", calls - failures, calls);
  return failures == 0 && calls > 0 ? 0 : 1;
}
