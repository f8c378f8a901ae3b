/*
 * The Testbed handlers, on the handler table roam-gen generates from
 * testbed.rs. Unary methods get typed arguments and answer at once with the
 * typed reply functions.
 *
 * The three streaming methods keep a small state per call (tb_call) that
 * lives until the request is answered AND every channel the handler opened
 * has ended: the session reports ends it sees (peer Close/Reset, connection
 * closed) through on_end and never the ones we cause ourselves, so each
 * flag below is cleared exactly once, by whichever happens. `pin` keeps the
 * state alive while one of our functions is on the stack (a channel can end
 * from inside the call that opens it). sum and generate use the generated
 * typed channels; transform binds its channels on the raw request, because
 * it returns input credit only once a value went out again
 * (ROAM_CHAN_MANUAL_CREDIT), which bounds what it queues.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/diag.h>

#include "testbed_service.h"

#define TB_PI 3.14159265358979323846

static atomic_size_t live_calls;

size_t roam_testbed_live_calls(void) { return atomic_load(&live_calls); }

/* ---- display ---------------------------------------------------------------- */

int roam_testbed_fmt_person(char *buf, size_t cap, const testbed_person *p) {
  if (p->email.is_some)
    return snprintf(buf, cap, "Person { name: \"%.*s\", age: %u, email: Some(\"%.*s\") }",
                    (int)p->name.len, p->name.ptr, (unsigned)p->age, (int)p->email.value.len,
                    p->email.value.ptr);
  return snprintf(buf, cap, "Person { name: \"%.*s\", age: %u, email: None }", (int)p->name.len,
                  p->name.ptr, (unsigned)p->age);
}

int roam_testbed_fmt_shape(char *buf, size_t cap, const testbed_shape *s) {
  switch (s->tag) {
  case TESTBED_SHAPE_CIRCLE: return snprintf(buf, cap, "Circle { radius: %g }", s->circle.radius);
  case TESTBED_SHAPE_RECTANGLE:
    return snprintf(buf, cap, "Rectangle { width: %g, height: %g }", s->rectangle.width,
                    s->rectangle.height);
  case TESTBED_SHAPE_POINT: return snprintf(buf, cap, "Point");
  }
  return snprintf(buf, cap, "?");
}

/* A diagnostic argument beyond the ones the generated code records
 * (strings and numbers); only formatted when recording is on. */
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

/* ---- unary methods ------------------------------------------------------ */

static void h_echo(testbed_echo_request *req, roam_str message, void *ud) {
  (void)ud;
  testbed_echo_reply(req, message);
}

/* Reverse by Unicode scalar value: copy each UTF-8 sequence, last first. */
static void h_reverse(testbed_reverse_request *req, roam_str message, void *ud) {
  (void)ud;
  char *out = roam_arena_alloc(testbed_reverse_arena(req), message.len);
  if (!out) {
    testbed_reverse_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  size_t w = 0, end = message.len;
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && ((unsigned char)message.ptr[start] & 0xC0) == 0x80) start--;
    memcpy(out + w, message.ptr + start, end - start);
    w += end - start;
    end = start;
  }
  roam_str r = {out, w};
  testbed_reverse_reply(req, r);
}

static void h_divide(testbed_divide_request *req, int64_t dividend, int64_t divisor, void *ud) {
  (void)ud;
  if (divisor == 0)
    testbed_divide_reply_err(req, TESTBED_MATH_ERROR_DIVISION_BY_ZERO);
  else if (dividend == INT64_MIN && divisor == -1) /* the reference panics here */
    testbed_divide_reply_err(req, TESTBED_MATH_ERROR_OVERFLOW);
  else
    testbed_divide_reply(req, dividend / divisor); /* C and Rust both truncate toward zero */
}

static void h_lookup(testbed_lookup_request *req, uint32_t id, void *ud) {
  (void)ud;
  testbed_person p;
  memset(&p, 0, sizeof p);
  switch (id) {
  case 1:
    p.name = roam_str_c("Alice");
    p.age = 30;
    p.email.is_some = true;
    p.email.value = roam_str_c("alice@example.com");
    break;
  case 2:
    p.name = roam_str_c("Bob");
    p.age = 25;
    break;
  case 3:
    p.name = roam_str_c("Charlie");
    p.age = 35;
    p.email.is_some = true;
    p.email.value = roam_str_c("charlie@example.com");
    break;
  default: testbed_lookup_reply_err(req, TESTBED_LOOKUP_ERROR_NOT_FOUND); return;
  }
  testbed_lookup_reply(req, &p);
}

static void h_echo_point(testbed_echo_point_request *req, const testbed_point *point, void *ud) {
  (void)ud;
  diag_arg(testbed_echo_point_raw(req), "point", "(%d, %d)", (int)point->x, (int)point->y);
  testbed_echo_point_reply(req, point);
}

/* create_person(name, age, email): the result has the arguments' layout. */
static void h_create_person(testbed_create_person_request *req, roam_str name, uint8_t age,
                            const testbed_opt_string *email, void *ud) {
  (void)ud;
  testbed_person p = {name, age, *email};
  testbed_create_person_reply(req, &p);
}

static void h_rectangle_area(testbed_rectangle_area_request *req, const testbed_rectangle *rect,
                             void *ud) {
  (void)ud;
  diag_arg(testbed_rectangle_area_raw(req), "rect", "(%d, %d)-(%d, %d)", (int)rect->top_left.x,
           (int)rect->top_left.y, (int)rect->bottom_right.x, (int)rect->bottom_right.y);
  /* In 64 bits: the difference of two i32 does not overflow here. */
  int64_t w = (int64_t)rect->bottom_right.x - rect->top_left.x;
  int64_t h = (int64_t)rect->bottom_right.y - rect->top_left.y;
  testbed_rectangle_area_reply(req, (double)(w < 0 ? -w : w) * (double)(h < 0 ? -h : h));
}

/* ASCII case-insensitive equality (the only characters whose lowercase
 * could spell red/green/blue are ASCII letters). */
static bool name_is(roam_str s, const char *lower) {
  size_t n = strlen(lower);
  if (s.len != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s.ptr[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

static void h_parse_color(testbed_parse_color_request *req, roam_str name, void *ud) {
  (void)ud;
  testbed_opt_color c = {true, TESTBED_COLOR_RED};
  if (name_is(name, "green"))
    c.value = TESTBED_COLOR_GREEN;
  else if (name_is(name, "blue"))
    c.value = TESTBED_COLOR_BLUE;
  else if (!name_is(name, "red"))
    c.is_some = false;
  testbed_parse_color_reply(req, &c);
}

static void h_shape_area(testbed_shape_area_request *req, const testbed_shape *shape, void *ud) {
  (void)ud;
  if (roam_diag_record_args_enabled()) {
    char buf[96];
    roam_testbed_fmt_shape(buf, sizeof buf, shape);
    roam_request_diag_arg(testbed_shape_area_raw(req), "shape", buf);
  }
  double area = 0.0;
  switch (shape->tag) {
  case TESTBED_SHAPE_CIRCLE: area = TB_PI * shape->circle.radius * shape->circle.radius; break;
  case TESTBED_SHAPE_RECTANGLE: area = shape->rectangle.width * shape->rectangle.height; break;
  case TESTBED_SHAPE_POINT: area = 0.0; break;
  }
  testbed_shape_area_reply(req, area);
}

/* create_canvas(name, shapes, background): the result has the arguments'
 * layout. */
static void h_create_canvas(testbed_create_canvas_request *req, roam_str name,
                            const testbed_vec_shape *shapes, testbed_color background,
                            void *ud) {
  (void)ud;
  diag_arg(testbed_create_canvas_raw(req), "shapes", "%zu", shapes->len);
  testbed_canvas c = {name, *shapes, background};
  testbed_create_canvas_reply(req, &c);
}

static void h_process_message(testbed_process_message_request *req, const testbed_message *msg,
                              void *ud) {
  (void)ud;
  roam_arena *a = testbed_process_message_arena(req);
  testbed_message out = *msg;
  switch (msg->tag) {
  case TESTBED_MESSAGE_TEXT: {
    static const char prefix[] = "processed: ";
    char *t = roam_arena_alloc(a, sizeof prefix - 1 + msg->text.len);
    if (!t) break;
    memcpy(t, prefix, sizeof prefix - 1);
    memcpy(t + sizeof prefix - 1, msg->text.ptr, msg->text.len);
    out.text.ptr = t;
    out.text.len = sizeof prefix - 1 + msg->text.len;
    testbed_process_message_reply(req, &out);
    return;
  }
  case TESTBED_MESSAGE_NUMBER:
    out.number = (int64_t)((uint64_t)msg->number * 2u); /* wraps, as Rust release does */
    testbed_process_message_reply(req, &out);
    return;
  case TESTBED_MESSAGE_DATA: {
    uint8_t *d = roam_arena_alloc(a, msg->data.len);
    if (!d) break;
    for (size_t i = 0; i < msg->data.len; i++) d[i] = msg->data.ptr[msg->data.len - 1 - i];
    out.data.ptr = d;
    testbed_process_message_reply(req, &out);
    return;
  }
  }
  testbed_process_message_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
}

static void h_get_points(testbed_get_points_request *req, uint32_t count, void *ud) {
  (void)ud;
  /* The reference iterates over 0..count as i32: a count above i32::MAX
   * gives no points at all. */
  int32_t n = (int32_t)count;
  if (n < 0) n = 0;
  /* Every point takes at least two bytes: more than the negotiated payload
   * maximum allows cannot be sent, and the callee gives the call up. */
  roam_session *s = roam_request_session(testbed_get_points_raw(req));
  if ((uint64_t)n * 2 > (uint64_t)roam_session_max_payload(s) + 16) {
    testbed_get_points_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  int err = 0;
  testbed_vec_point pts = {
      roam_arena_alloc_array(testbed_get_points_arena(req), (size_t)n, sizeof(testbed_point), &err),
      (size_t)n};
  if (!pts.items) {
    testbed_get_points_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  for (int32_t i = 0; i < n; i++) {
    pts.items[i].x = i;
    pts.items[i].y = (int32_t)((uint32_t)i * 2u);
  }
  testbed_get_points_reply(req, &pts);
}

static void h_swap_pair(testbed_swap_pair_request *req, const testbed_tup_i32_string *pair,
                        void *ud) {
  (void)ud;
  testbed_tup_string_i32 out = {pair->_1, pair->_0};
  testbed_swap_pair_reply(req, &out);
}

/* ---- streaming calls ------------------------------------------------------ */

typedef struct tb_item {
  struct tb_item *next;
  size_t len;
  uint8_t bytes[];
} tb_item;

typedef struct tb_call {
  void *req;              /* the typed request; NULL once answered */
  bool in_open, out_open; /* opened and not ended yet */
  bool in_done;           /* transform: the input was closed or reset */
  int pin;                /* callbacks of ours on the stack */
  int64_t total;          /* sum */
  int32_t next, count;    /* generate */
  /* transform, on the raw request */
  roam_session *s;
  uint64_t conn, in_ch, out_ch;
  tb_item *head, *tail; /* values waiting for output credit */
} tb_call;

static tb_call *call_new(void *req) {
  tb_call *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->req = req;
  atomic_fetch_add(&live_calls, 1);
  return st;
}

static void drop_queue(tb_call *st, bool give_credit) {
  while (st->head) {
    tb_item *it = st->head;
    st->head = it->next;
    if (give_credit && st->in_open) roam_channel_consume(st->s, st->conn, st->in_ch, it->len);
    free(it);
  }
  st->tail = NULL;
}

/* Free once nothing refers to the state any more. */
static void call_release(tb_call *st) {
  if (st->pin || st->req || st->in_open || st->out_open) return;
  drop_queue(st, false);
  free(st);
  atomic_fetch_sub(&live_calls, 1);
}

/* sum(numbers: Rx<i32>) -> i64 */

static void sum_answer(tb_call *st) {
  if (!st->req) return;
  testbed_sum_request *r = st->req;
  st->req = NULL;
  testbed_sum_reply(r, st->total);
}

static int sum_value(int32_t v, void *ud) {
  tb_call *st = ud;
  st->total += v;
  return 0;
}

static void sum_end(int err, void *ud) {
  (void)err;
  tb_call *st = ud;
  st->pin++;
  st->in_open = false;
  /* Close or Reset: the total so far, as the reference (its recv loop ends
   * on either). */
  sum_answer(st);
  st->pin--;
  call_release(st);
}

/* The caller cancelled, or the connection closed: reset the input and
 * release the handle (the session answers Err(Cancelled) itself). */
static void sum_cancel(void *ud) {
  tb_call *st = ud;
  st->pin++;
  if (st->req) {
    testbed_sum_request *r = st->req;
    if (st->in_open && testbed_sum_close_numbers(r) == 0) st->in_open = false;
    st->req = NULL;
    testbed_sum_reply_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  st->pin--;
  call_release(st);
}

static void h_sum(testbed_sum_request *req, void *ud) {
  (void)ud;
  tb_call *st = call_new(req);
  if (!st) {
    testbed_sum_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  testbed_sum_on_cancel(req, sum_cancel, st);
  st->in_open = true;
  st->pin++;
  /* Values (and a Close) that arrived before opening are delivered now. */
  if (testbed_sum_open_numbers(req, sum_value, sum_end, st) != 0) st->in_open = false;
  st->pin--;
  if (!st->in_open && st->req) { /* could not open: the connection is going away */
    testbed_sum_request *r = st->req;
    st->req = NULL;
    testbed_sum_reply_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  call_release(st);
}

/* generate(count: u32, output: Tx<i32>) */

/* Answer Ok(()) with the output closed first (Close before the Response). */
static void gen_finish(tb_call *st) {
  if (!st->req) return;
  testbed_generate_request *r = st->req;
  if (st->out_open && testbed_generate_close_output(r) == 0) st->out_open = false;
  /* otherwise the connection is being torn down: on_end follows */
  st->req = NULL;
  testbed_generate_reply(r);
}

static void gen_pump(tb_call *st) {
  while (st->req && st->out_open && st->next < st->count) {
    int rc = testbed_generate_send_output(st->req, st->next);
    if (rc == ROAM_ERR_WOULD_BLOCK) return; /* on_writable resumes */
    if (rc != 0) break;                       /* the channel is gone */
    st->next++;
  }
  gen_finish(st);
}

static void gen_writable(void *ud) {
  tb_call *st = ud;
  st->pin++;
  gen_pump(st);
  st->pin--;
  call_release(st);
}

static void gen_end(int err, void *ud) {
  (void)err;
  tb_call *st = ud;
  st->pin++;
  st->out_open = false; /* Reset by the caller: stop, still answer Ok(()) */
  gen_finish(st);
  st->pin--;
  call_release(st);
}

static void gen_cancel(void *ud) {
  tb_call *st = ud;
  st->pin++;
  if (st->req) {
    testbed_generate_request *r = st->req;
    if (st->out_open && testbed_generate_close_output(r) == 0) st->out_open = false;
    st->req = NULL;
    testbed_generate_reply_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  st->pin--;
  call_release(st);
}

static void h_generate(testbed_generate_request *req, uint32_t count, void *ud) {
  (void)ud;
  tb_call *st = call_new(req);
  if (!st) {
    testbed_generate_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  /* for i in 0..count as i32: nothing when count is above i32::MAX */
  st->count = (int32_t)count < 0 ? 0 : (int32_t)count;
  testbed_generate_on_cancel(req, gen_cancel, st);
  if (testbed_generate_open_output(req, gen_writable, gen_end, st) != 0) {
    st->req = NULL;
    testbed_generate_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    call_release(st);
    return;
  }
  st->out_open = true;
  st->pin++;
  gen_pump(st);
  st->pin--;
  call_release(st);
}

/* transform(input: Rx<String>, output: Tx<String>), on the raw request:
 * input credit goes back only once a value went out on the output
 * (ROAM_CHAN_MANUAL_CREDIT), so the queue of values waiting for output
 * credit never holds more than the input window. */

static void transform_finish(tb_call *st) {
  if (!st->req) return;
  if (st->out_open && roam_channel_close(st->s, st->conn, st->out_ch) == 0) st->out_open = false;
  testbed_transform_request *r = st->req;
  st->req = NULL;
  testbed_transform_reply(r);
}

static void transform_flush(tb_call *st) {
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
  if (st->in_done) transform_finish(st);
}

static int transform_data(roam_session *s, uint64_t conn, uint64_t ch, roam_bytes v, void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_call *st = ud;
  roam_dec d;
  roam_dec_init(&d, v.ptr, v.len);
  roam_bytes str;
  roam_dec_str(&d, &str);
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
  tb_call *st = ud;
  st->pin++;
  st->in_open = false;
  st->in_done = true;
  transform_flush(st);
  st->pin--;
  call_release(st);
}

static void transform_writable(roam_session *s, uint64_t conn, uint64_t ch, void *ud) {
  (void)s, (void)conn, (void)ch;
  tb_call *st = ud;
  st->pin++;
  transform_flush(st);
  st->pin--;
  call_release(st);
}

static void transform_out_end(roam_session *s, uint64_t conn, uint64_t ch, int err, void *ud) {
  (void)s, (void)conn, (void)ch, (void)err;
  tb_call *st = ud;
  st->pin++;
  st->out_open = false; /* Reset by the caller: keep reading, answer at the end */
  transform_flush(st);
  st->pin--;
  call_release(st);
}

static const roam_channel_callbacks transform_in_cbs = {transform_data, transform_in_end, NULL};
static const roam_channel_callbacks transform_out_cbs = {NULL, transform_out_end,
                                                         transform_writable};

static void transform_cancel(void *ud) {
  tb_call *st = ud;
  st->pin++;
  if (st->in_open && roam_channel_reset(st->s, st->conn, st->in_ch) == 0) st->in_open = false;
  if (st->out_open && roam_channel_close(st->s, st->conn, st->out_ch) == 0) st->out_open = false;
  drop_queue(st, false);
  if (st->req) {
    testbed_transform_request *r = st->req;
    st->req = NULL;
    testbed_transform_reply_error(r, ROAM_ERR_REMOTE_CANCELLED);
  }
  st->pin--;
  call_release(st);
}

static void h_transform(testbed_transform_request *req, void *ud) {
  (void)ud;
  tb_call *st = call_new(req);
  if (!st) {
    testbed_transform_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    return;
  }
  roam_request *r = testbed_transform_raw(req);
  st->s = roam_request_session(r);
  st->conn = roam_request_conn_id(r);
  st->in_ch = roam_request_channel_id(r, 0);
  st->out_ch = roam_request_channel_id(r, 1);
  testbed_transform_on_cancel(req, transform_cancel, st);
  if (roam_request_bind_channel(r, 1, ROAM_CHAN_SEND, &transform_out_cbs, st) != 0) {
    st->req = NULL;
    testbed_transform_reply_error(req, ROAM_ERR_REMOTE_CANCELLED);
    call_release(st);
    return;
  }
  st->out_open = true;
  st->in_open = true;
  st->pin++;
  if (roam_request_bind_channel(r, 0, ROAM_CHAN_RECV | ROAM_CHAN_MANUAL_CREDIT, &transform_in_cbs,
                                st) != 0) {
    st->in_open = false;
    st->in_done = true;
    transform_flush(st); /* closes the output and answers */
  }
  st->pin--;
  call_release(st);
}

/* ---- registration ----------------------------------------------------------- */

static const testbed_handlers handlers = {
    .echo = h_echo,
    .reverse = h_reverse,
    .divide = h_divide,
    .lookup = h_lookup,
    .sum = h_sum,
    .generate = h_generate,
    .transform = h_transform,
    .echo_point = h_echo_point,
    .create_person = h_create_person,
    .rectangle_area = h_rectangle_area,
    .parse_color = h_parse_color,
    .shape_area = h_shape_area,
    .create_canvas = h_create_canvas,
    .process_message = h_process_message,
    .get_points = h_get_points,
    .swap_pair = h_swap_pair,
};

int roam_testbed_register_with(roam_gen_add_fn add, void *ctx) {
  return testbed_register_with(add, ctx, &handlers);
}

int roam_testbed_register(roam_dispatcher *d) {
  if (!d) return ROAM_ERR_INVALID_ARG;
  return testbed_register(d, &handlers);
}
