/*
 * A dynamic JSON <-> postcard codec driven by a roam_schema type (the
 * service definition is the schema), following what serde_json writes for
 * the same Rust value:
 *
 *   bool, integers, floats     JSON booleans and numbers; u64/i64/u128/i128
 *                              exact over their whole range (see below);
 *                              floats in the shortest form that reads back
 *                              to the same value, "1.0" for integral ones,
 *                              null for NaN and infinities (as serde_json)
 *   char, String               JSON strings (char: exactly one character)
 *   ()                         null
 *   Vec<T>, [T; N], sets       arrays (Vec<u8> too: an array of numbers)
 *   tuples                     arrays
 *   Option<T>                  null or the value
 *   Box<T>                     the value
 *   maps                       objects when the key is a string, char, bool
 *                              or integer (keys written as strings, as
 *                              serde_json does); otherwise an array of
 *                              [key, value] pairs (serde_json refuses those)
 *   structs                    objects by field name; tuple structs arrays;
 *                              a one-field tuple struct is its field (serde's
 *                              newtype); unit structs null
 *   enums                      externally tagged: "Red", {"Circle":{...}},
 *                              {"Text":"hi"}, {"Pair":[1,2]}
 *   Result<T, E>               {"Ok": T} / {"Err": E} where one is nested
 *                              (the method's own Result is handled by the
 *                              caller: T on success, E as a user error)
 *
 * Encoding also accepts: a missing Option field of a struct (None, as serde
 * does), {"Red": null} for a unit variant. It rejects unknown struct fields
 * and variants, out-of-range numbers, fractions where an integer is due.
 *
 * Large integers: jansson's integers are long long, so jc_parse() rewrites
 * integer literals outside the i64 range (before jansson sees them) into
 * marker strings ("\u0000int:<digits>") that the encoder reads back exactly
 * where an integer or a float is expected, and rejects anywhere else. The
 * decoder writes JSON text itself (no jansson), printing every integer from
 * its exact value.
 *
 * Decoding is bounded and safe on hostile bytes: every read is checked
 * (roam_dec), sequence counts cannot exceed the bytes left, nesting is
 * limited to JC_MAX_DEPTH, and output grows linearly with the input.
 *
 * Not thread-safe per context; contexts are independent.
 */
#ifndef ROAM_JSON_CODEC_H
#define ROAM_JSON_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <roam/postcard.h>

#include "schema.h"

#define JC_MAX_DEPTH 256

/* A growable text buffer; `oom` is sticky. */
typedef struct jc_buf {
  char *p;
  size_t len, cap;
  bool oom;
} jc_buf;

void jc_buf_put(jc_buf *b, const char *s, size_t n);
void jc_buf_puts(jc_buf *b, const char *s);
void jc_buf_printf(jc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents ("" when empty). */
const char *jc_buf_str(jc_buf *b);
void jc_buf_reset(jc_buf *b);
void jc_buf_free(jc_buf *b);

/* Error context: where in the value the problem is ("$[1].shape.Circle")
 * and what it is. */
typedef struct jc_ctx {
  char path[512];
  size_t plen;
  char err[768];
  int depth;
} jc_ctx;

/* Start a context whose paths begin with root (e.g. "args"). */
void jc_ctx_init(jc_ctx *cx, const char *root);
void jc_ctx_push_index(jc_ctx *cx, size_t i, size_t *saved);
void jc_ctx_push_key(jc_ctx *cx, const char *key, size_t *saved);
void jc_ctx_pop(jc_ctx *cx, size_t saved);
/* Set the error message ("at PATH: msg"); returns -1. */
int jc_fail(jc_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse one JSON document (any value, surrounding whitespace allowed), with
 * out-of-range integers kept exact (see above). NULL on error, with a
 * message in err ("line 1 column 5: ..."). */
json_t *jc_parse(const char *text, size_t len, char *err, size_t errcap);

/* Encode v as a value of type t. 0, or -1 with cx->err set. Tx/Rx types
 * are not values: the caller handles channels. */
int jc_encode(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx);

/* Decode one value of type t from d and append its JSON text to out.
 * 0, or -1 with cx->err set (the input does not match the type). Does not
 * check for trailing bytes. */
int jc_decode(const roam_schema_type *t, roam_dec *d, jc_buf *out, jc_ctx *cx);

/* Append s (len bytes, UTF-8) as a JSON string literal. */
void jc_write_string(jc_buf *out, const char *s, size_t len);
/* Append a float as serde_json (ryu) writes it; is_f32: the shortest form
 * for an f32. */
void jc_write_float(jc_buf *out, double v, bool is_f32);

#endif
