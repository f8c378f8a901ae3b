/*
 * Frozen copy of the hand-written Testbed codec that tools/testbed carried
 * before roam-gen (tools/testbed/testbed.h at commit 8315e7c), kept only as
 * the baseline of bench/bench_gen.c. Not used by any program.
 */
/*
 * roam_testbed: the Testbed conformance service (PROTOCOL.md §13) written
 * the way an application writes its own service on roam-c:
 *
 *   - typed values (tb_point, tb_person, tb_shape, ...) with encoders and
 *     decoders built only from the public postcard API (roam_enc_* /
 *     roam_dec_*), matching the Rust types of spec-proto field by field;
 *   - handlers for the sixteen methods, registered on a roam_dispatcher by
 *     roam_testbed_register(), behaving like the Rust reference subject.
 *
 * Conventions of the codec functions:
 *   - tb_enc_X(e, ...) appends one value; returns roam_enc_error(e) (errors
 *     are sticky, so a sequence of writes can be checked once at the end).
 *   - tb_dec_X(d, out) reads one value; returns 0 or an error. Check it:
 *     an enum variant out of range (ROAM_ERR_DECODE) is reported only
 *     through the return value (the decoder's sticky error belongs to the
 *     library). It does not check for trailing bytes: call
 *     roam_dec_finish() after the last value of a payload.
 *   - Strings (tb_str) and byte strings are views into the decoded buffer:
 *     they are valid as long as that buffer is. Only tb_dec_canvas and
 *     tb_dec_points allocate (free with tb_canvas_free / free()).
 *
 * Thread-safety: the codecs are pure. The handlers run on the thread that
 * drives the session they serve (like every roam handler).
 */
#ifndef ROAM_BENCH_TB_BASELINE_H
#define ROAM_BENCH_TB_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roam/postcard.h>
#include <roam/session.h>
#include <roam/testbed_ids.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- values ------------------------------------------------------------- */

/* A UTF-8 string view (not NUL-terminated). */
typedef struct tb_str {
  const char *ptr;
  size_t len;
} tb_str;

/* A view of a NUL-terminated string. */
tb_str tb_cstr(const char *s);
bool tb_str_eq(tb_str a, tb_str b);

/* struct Point { x: i32, y: i32 } */
typedef struct tb_point {
  int32_t x;
  int32_t y;
} tb_point;

/* struct Person { name: String, age: u8, email: Option<String> } */
typedef struct tb_person {
  tb_str name;
  uint8_t age;
  bool has_email;
  tb_str email;
} tb_person;

/* struct Rectangle { top_left: Point, bottom_right: Point, label: Option<String> } */
typedef struct tb_rectangle {
  tb_point top_left;
  tb_point bottom_right;
  bool has_label;
  tb_str label;
} tb_rectangle;

/* enum Color { Red, Green, Blue } */
typedef enum tb_color { TB_RED = 0, TB_GREEN = 1, TB_BLUE = 2 } tb_color;
#define TB_COLOR_COUNT 3

/* enum Shape { Circle { radius: f64 }, Rectangle { width: f64, height: f64 }, Point } */
typedef enum tb_shape_kind {
  TB_SHAPE_CIRCLE = 0,
  TB_SHAPE_RECTANGLE = 1,
  TB_SHAPE_POINT = 2
} tb_shape_kind;
#define TB_SHAPE_KIND_COUNT 3

typedef struct tb_shape {
  tb_shape_kind kind;
  double radius;        /* CIRCLE */
  double width, height; /* RECTANGLE */
} tb_shape;

/* struct Canvas { name: String, shapes: Vec<Shape>, background: Color } */
typedef struct tb_canvas {
  tb_str name;
  tb_shape *shapes; /* decoded: owned, see tb_canvas_free */
  size_t shape_count;
  tb_color background;
} tb_canvas;

/* enum Message { Text(String), Number(i64), Data(Vec<u8>) } */
typedef enum tb_message_kind {
  TB_MESSAGE_TEXT = 0,
  TB_MESSAGE_NUMBER = 1,
  TB_MESSAGE_DATA = 2
} tb_message_kind;
#define TB_MESSAGE_KIND_COUNT 3

typedef struct tb_message {
  tb_message_kind kind;
  tb_str text;     /* TEXT */
  int64_t number;  /* NUMBER */
  roam_bytes data; /* DATA */
} tb_message;

/* enum MathError { DivisionByZero, Overflow } */
typedef enum tb_math_error { TB_DIVISION_BY_ZERO = 0, TB_OVERFLOW = 1 } tb_math_error;
/* enum LookupError { NotFound, AccessDenied } */
typedef enum tb_lookup_error { TB_NOT_FOUND = 0, TB_ACCESS_DENIED = 1 } tb_lookup_error;

/* swap_pair's argument (i32, String) and result (String, i32). */
typedef struct tb_pair_is {
  int32_t num;
  tb_str text;
} tb_pair_is;
typedef struct tb_pair_si {
  tb_str text;
  int32_t num;
} tb_pair_si;

/* ---- codecs ------------------------------------------------------------- */

int tb_enc_str(roam_enc *e, tb_str s);
int tb_dec_str(roam_dec *d, tb_str *out);
/* Option<String>: has = false writes None. */
int tb_enc_opt_str(roam_enc *e, bool has, tb_str s);
int tb_dec_opt_str(roam_dec *d, bool *has, tb_str *out);

int tb_enc_point(roam_enc *e, const tb_point *p);
int tb_dec_point(roam_dec *d, tb_point *out);
int tb_enc_person(roam_enc *e, const tb_person *p);
int tb_dec_person(roam_dec *d, tb_person *out);
int tb_enc_rectangle(roam_enc *e, const tb_rectangle *r);
int tb_dec_rectangle(roam_dec *d, tb_rectangle *out);
int tb_enc_color(roam_enc *e, tb_color c);
int tb_dec_color(roam_dec *d, tb_color *out); /* unknown variant: ROAM_ERR_DECODE */
int tb_enc_shape(roam_enc *e, const tb_shape *s);
int tb_dec_shape(roam_dec *d, tb_shape *out);
int tb_enc_canvas(roam_enc *e, const tb_canvas *c);
/* Allocates out->shapes (malloc); release with tb_canvas_free, also after a
 * failed decode. */
int tb_dec_canvas(roam_dec *d, tb_canvas *out);
void tb_canvas_free(tb_canvas *c);
int tb_enc_message(roam_enc *e, const tb_message *m);
int tb_dec_message(roam_dec *d, tb_message *out);
int tb_enc_math_error(roam_enc *e, tb_math_error err);
int tb_dec_math_error(roam_dec *d, tb_math_error *out);
int tb_enc_lookup_error(roam_enc *e, tb_lookup_error err);
int tb_dec_lookup_error(roam_dec *d, tb_lookup_error *out);
int tb_enc_pair_is(roam_enc *e, const tb_pair_is *p);
int tb_dec_pair_is(roam_dec *d, tb_pair_is *out);
int tb_enc_pair_si(roam_enc *e, const tb_pair_si *p);
int tb_dec_pair_si(roam_dec *d, tb_pair_si *out);
/* Vec<Point>. tb_dec_points allocates *out (malloc; NULL when empty). */
int tb_enc_points(roam_enc *e, const tb_point *pts, size_t n);
int tb_dec_points(roam_dec *d, tb_point **out, size_t *n);

/* Display helpers ("Point { x: 1, y: 2 }", "Circle { radius: 2 }", ...),
 * snprintf semantics. */
const char *tb_color_name(tb_color c);
const char *tb_math_error_name(tb_math_error e);
const char *tb_lookup_error_name(tb_lookup_error e);
int tb_fmt_person(char *buf, size_t cap, const tb_person *p);
int tb_fmt_shape(char *buf, size_t cap, const tb_shape *s);

/* ---- the service ---------------------------------------------------------- */

/*
 * Register the sixteen Testbed handlers on d (rectangle_area under both of
 * its ids), and their display names "Testbed.<method>" for diagnostics.
 * Returns 0 or the first roam_dispatcher_add error.
 *
 * Behaviour (the Rust reference subject's): echo; reverse by Unicode scalar
 * value; divide (User(DivisionByZero), User(Overflow) for i64::MIN / -1);
 * lookup (1 Alice, 2 Bob, 3 Charlie, else User(NotFound)); sum of the
 * caller's i32 channel, answered after its Close; generate(count) sends
 * 0..count-1 on the output channel as credit allows; transform sends back
 * every string of its input channel; and the nine methods over richer
 * types. Arguments that do not decode: Err(InvalidPayload). A channel value
 * that does not decode: the session sends Goodbye channeling.data.invalid.
 * A cancelled call resets its input channel and stops its output.
 */
int roam_testbed_register(roam_dispatcher *d);

/* The same through any registration function, e.g. roam_server_handle
 * (whose wrappers refuse new calls during a graceful shutdown):
 *
 *   static int add(void *srv, uint64_t id, roam_handler_fn fn, void *ud) {
 *     return roam_server_handle(srv, id, fn, ud);
 *   }
 *   roam_testbed_register_with(add, srv);
 */
typedef int (*roam_testbed_add_fn)(void *ctx, uint64_t method_id, roam_handler_fn fn, void *ud);
int roam_testbed_register_with(roam_testbed_add_fn add, void *ctx);

/* Streaming calls of the Testbed handlers still holding state (all
 * sessions); 0 once every call has completed or been torn down. For
 * tests and leak checks. */
size_t roam_testbed_live_calls(void);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_BENCH_TB_BASELINE_H */
