/* The schema-driven JSON <-> postcard codec (json_codec.h). */
#include "json_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

/* ======================================================================== */
/* Text buffer                                                               */

static bool buf_room(jc_buf *b, size_t n) {
  if (b->oom) return false;
  if (b->len + n + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1) {
    if (cap > SIZE_MAX / 2) {
      b->oom = true;
      return false;
    }
    cap *= 2;
  }
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

void jc_buf_put(jc_buf *b, const char *s, size_t n) {
  if (!buf_room(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

void jc_buf_puts(jc_buf *b, const char *s) { jc_buf_put(b, s, strlen(s)); }

static void buf_putc(jc_buf *b, char c) { jc_buf_put(b, &c, 1); }

void jc_buf_printf(jc_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    jc_buf_put(b, tmp, (size_t)n);
    return;
  }
  if (!buf_room(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

const char *jc_buf_str(jc_buf *b) { return b->p && !b->oom ? b->p : ""; }

void jc_buf_reset(jc_buf *b) {
  b->len = 0;
  b->oom = false;
  if (b->p) b->p[0] = 0;
}

void jc_buf_free(jc_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

/* ======================================================================== */
/* Error context                                                             */

void jc_ctx_init(jc_ctx *cx, const char *root) {
  memset(cx, 0, sizeof *cx);
  snprintf(cx->path, sizeof cx->path, "%s", root);
  cx->plen = strlen(cx->path);
}

static void path_append(jc_ctx *cx, const char *s) {
  size_t n = strlen(s);
  if (cx->plen + n >= sizeof cx->path) n = sizeof cx->path - 1 - cx->plen;
  memcpy(cx->path + cx->plen, s, n);
  cx->plen += n;
  cx->path[cx->plen] = 0;
}

void jc_ctx_push_index(jc_ctx *cx, size_t i, size_t *saved) {
  *saved = cx->plen;
  char tmp[32];
  snprintf(tmp, sizeof tmp, "[%zu]", i);
  path_append(cx, tmp);
}

void jc_ctx_push_key(jc_ctx *cx, const char *key, size_t *saved) {
  *saved = cx->plen;
  path_append(cx, ".");
  path_append(cx, key);
}

void jc_ctx_pop(jc_ctx *cx, size_t saved) {
  cx->plen = saved;
  cx->path[saved] = 0;
}

int jc_fail(jc_ctx *cx, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(cx->err, sizeof cx->err, "at %s: ", cx->path);
  if (n < 0 || (size_t)n >= sizeof cx->err) return -1;
  va_start(ap, fmt);
  vsnprintf(cx->err + n, sizeof cx->err - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* ======================================================================== */
/* Parsing with exact large integers                                         */

#define BIG_MARK "\\u0000int:"
#define BIG_MARK_RAW "\0int:"
#define BIG_MARK_LEN 5

/* Whether the integer literal s[0..n) ([-]digits) fits in an i64. */
static bool fits_i64(const char *s, size_t n) {
  bool neg = s[0] == '-';
  const char *d = s + neg;
  size_t nd = n - neg;
  while (nd > 1 && *d == '0') d++, nd--;
  const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
  if (nd != 19) return nd < 19;
  return memcmp(d, lim, 19) <= 0;
}

json_t *jc_parse(const char *text, size_t len, char *err, size_t errcap) {
  /* Rewrite out-of-range integer literals outside strings into marker
   * strings; everything else is copied as is (jansson validates it). */
  jc_buf b = {0};
  bool in_str = false;
  size_t i = 0;
  while (i < len) {
    char c = text[i];
    if (in_str) {
      if (c == '\\' && i + 1 < len) {
        jc_buf_put(&b, text + i, 2);
        i += 2;
        continue;
      }
      if (c == '"') in_str = false;
      buf_putc(&b, c);
      i++;
      continue;
    }
    if (c == '"') {
      in_str = true;
      buf_putc(&b, c);
      i++;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i + (c == '-');
      while (j < len && text[j] >= '0' && text[j] <= '9') j++;
      bool integer = j > i + (c == '-') &&
                     !(j < len && (text[j] == '.' || text[j] == 'e' || text[j] == 'E'));
      if (integer && !fits_i64(text + i, j - i)) {
        jc_buf_puts(&b, "\"" BIG_MARK);
        jc_buf_put(&b, text + i, j - i);
        buf_putc(&b, '"');
      } else {
        jc_buf_put(&b, text + i, j - i);
      }
      if (j == i) j++; /* a lone '-': let jansson complain */
      i = j;
      continue;
    }
    buf_putc(&b, c);
    i++;
  }
  if (b.oom) {
    snprintf(err, errcap, "out of memory");
    jc_buf_free(&b);
    return NULL;
  }
  json_error_t je;
  json_t *v = json_loadb(b.p ? b.p : "", b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
  jc_buf_free(&b);
  if (!v) snprintf(err, errcap, "line %d column %d: %s", je.line, je.column, je.text);
  return v;
}

/* The digits of a marker string, or NULL. */
static const char *big_digits(json_t *v) {
  if (!json_is_string(v)) return NULL;
  size_t n = json_string_length(v);
  const char *s = json_string_value(v);
  if (n > BIG_MARK_LEN && memcmp(s, BIG_MARK_RAW, BIG_MARK_LEN) == 0) return s + BIG_MARK_LEN;
  return NULL;
}

/* ======================================================================== */
/* Encoding                                                                  */

static const char *json_kind(json_t *v) {
  if (big_digits(v)) return "a number";
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

static int expected(jc_ctx *cx, const roam_schema_type *t, const char *what, json_t *v) {
  char ts[128];
  roam_schema_type_str(t, ts, sizeof ts);
  return jc_fail(cx, "expected %s for %s, got %s", what, ts, json_kind(v));
}

/* Parse a decimal integer literal ([-]digits) exactly; false on overflow of
 * 128 bits or bad syntax. */
static bool parse_i128_text(const char *s, bool *neg, u128 *mag) {
  *neg = *s == '-';
  if (*neg) s++;
  if (!*s) return false;
  u128 m = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    u128 d = (u128)(*s - '0');
    if (m > (~(u128)0 - d) / 10) return false;
    m = m * 10 + d;
  }
  *mag = m;
  return true;
}

/* The exact integer in v (JSON integer, marker, or a string in map keys
 * when allow_string). */
static int get_integer(jc_ctx *cx, const roam_schema_type *t, json_t *v, bool allow_string,
                       bool *neg, u128 *mag) {
  const char *digits = big_digits(v);
  if (!digits && allow_string && json_is_string(v)) digits = json_string_value(v);
  if (digits) {
    if (!parse_i128_text(digits, neg, mag)) return jc_fail(cx, "not an integer: %s", digits);
    return 0;
  }
  if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    *neg = x < 0;
    *mag = x < 0 ? (u128)(-(x + 1)) + 1 : (u128)x;
    return 0;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 9007199254740992.0) { /* 2^53: exact */
      *neg = d < 0;
      *mag = (u128)(uint64_t)fabs(d);
      return 0;
    }
    return jc_fail(cx, "expected an integer, got %.17g", d);
  }
  return expected(cx, t, "an integer", v);
}

static int enc_int(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx,
                   bool allow_string) {
  bool neg = false;
  u128 mag = 0;
  if (get_integer(cx, t, v, allow_string, &neg, &mag)) return -1;
  static const struct {
    roam_schema_kind k;
    bool sign;
    int bits;
  } R[] = {{ROAM_SCHEMA_U8, 0, 8},     {ROAM_SCHEMA_U16, 0, 16},  {ROAM_SCHEMA_U32, 0, 32},
           {ROAM_SCHEMA_U64, 0, 64},   {ROAM_SCHEMA_U128, 0, 128}, {ROAM_SCHEMA_I8, 1, 8},
           {ROAM_SCHEMA_I16, 1, 16},   {ROAM_SCHEMA_I32, 1, 32},  {ROAM_SCHEMA_I64, 1, 64},
           {ROAM_SCHEMA_I128, 1, 128}};
  bool sign = false;
  int bits = 0;
  for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
    if (R[i].k == t->kind) sign = R[i].sign, bits = R[i].bits;
  /* range: unsigned [0, 2^bits-1]; signed [-2^(bits-1), 2^(bits-1)-1] */
  u128 max_pos = sign ? (((u128)1 << (bits - 1)) - 1)
                      : (bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1));
  u128 max_neg = sign ? ((u128)1 << (bits - 1)) : 0;
  if ((neg && mag > max_neg) || (!neg && mag > max_pos) || (neg && mag != 0 && !sign)) {
    char ts[32];
    roam_schema_type_str(t, ts, sizeof ts);
    return jc_fail(cx, "integer out of range for %s", ts);
  }
  i128 sv = neg ? -(i128)(mag - 1) - 1 : (i128)mag;
  switch (t->kind) {
  case ROAM_SCHEMA_U8: roam_enc_u8(e, (uint8_t)mag); break;
  case ROAM_SCHEMA_U16: roam_enc_u16(e, (uint16_t)mag); break;
  case ROAM_SCHEMA_U32: roam_enc_u32(e, (uint32_t)mag); break;
  case ROAM_SCHEMA_U64: roam_enc_u64(e, (uint64_t)mag); break;
  case ROAM_SCHEMA_U128: roam_enc_u128(e, (roam_u128){(uint64_t)mag, (uint64_t)(mag >> 64)}); break;
  case ROAM_SCHEMA_I8: roam_enc_i8(e, (int8_t)sv); break;
  case ROAM_SCHEMA_I16: roam_enc_i16(e, (int16_t)sv); break;
  case ROAM_SCHEMA_I32: roam_enc_i32(e, (int32_t)sv); break;
  case ROAM_SCHEMA_I64: roam_enc_i64(e, (int64_t)sv); break;
  case ROAM_SCHEMA_I128: {
    u128 u = (u128)sv;
    roam_enc_i128(e, (roam_u128){(uint64_t)u, (uint64_t)(u >> 64)});
    break;
  }
  default: return jc_fail(cx, "internal: not an integer type");
  }
  return 0;
}

static int enc_float(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx) {
  double d;
  const char *digits = big_digits(v);
  if (digits)
    d = strtod(digits, NULL);
  else if (json_is_number(v))
    d = json_number_value(v);
  else
    return expected(cx, t, "a number", v);
  if (t->kind == ROAM_SCHEMA_F32) {
    if (isfinite(d) && fabs(d) > 3.4028234663852886e38)
      return jc_fail(cx, "number out of range for f32");
    roam_enc_f32(e, (float)d);
  } else {
    roam_enc_f64(e, d);
  }
  return 0;
}

/* Decode one UTF-8 character; returns its length or 0. */
static size_t utf8_one(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  size_t len = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 : (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 0;
  if (!len || len > n || !roam_utf8_valid(s, len)) return 0;
  uint32_t c = len == 1 ? s[0] : len == 2 ? s[0] & 0x1f : len == 3 ? s[0] & 0x0f : s[0] & 0x07;
  for (size_t i = 1; i < len; i++) c = (c << 6) | (s[i] & 0x3f);
  *cp = c;
  return len;
}

static int enc_string_like(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx) {
  if (!json_is_string(v) || big_digits(v)) return expected(cx, t, "a string", v);
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (t->kind == ROAM_SCHEMA_CHAR) {
    uint32_t cp;
    size_t l = utf8_one((const unsigned char *)s, n, &cp);
    if (!l || l != n) return jc_fail(cx, "expected exactly one character for char");
    roam_enc_char(e, cp);
    return 0;
  }
  roam_enc_str(e, s, n);
  return 0;
}

static int enc_seq(const roam_schema_type *elem, json_t *v, roam_enc *e, jc_ctx *cx) {
  size_t n = json_array_size(v);
  for (size_t i = 0; i < n; i++) {
    size_t sv;
    jc_ctx_push_index(cx, i, &sv);
    if (jc_encode(elem, json_array_get(v, i), e, cx)) return -1;
    jc_ctx_pop(cx, sv);
  }
  return 0;
}

static bool key_is_textual(const roam_schema_type *k) {
  while (k->kind == ROAM_SCHEMA_BOX) k = k->elem;
  switch (k->kind) {
  case ROAM_SCHEMA_STRING:
  case ROAM_SCHEMA_CHAR:
  case ROAM_SCHEMA_BOOL:
  case ROAM_SCHEMA_U8: case ROAM_SCHEMA_U16: case ROAM_SCHEMA_U32: case ROAM_SCHEMA_U64:
  case ROAM_SCHEMA_U128: case ROAM_SCHEMA_I8: case ROAM_SCHEMA_I16: case ROAM_SCHEMA_I32:
  case ROAM_SCHEMA_I64: case ROAM_SCHEMA_I128:
    return true;
  default:
    return false;
  }
}

/* A map key given as an object key string. */
static int enc_key(const roam_schema_type *k, const char *key, roam_enc *e, jc_ctx *cx) {
  while (k->kind == ROAM_SCHEMA_BOX) k = k->elem;
  if (k->kind == ROAM_SCHEMA_STRING || k->kind == ROAM_SCHEMA_CHAR) {
    json_t *s = json_string(key);
    if (!s) return jc_fail(cx, "out of memory");
    int rc = enc_string_like(k, s, e, cx);
    json_decref(s);
    return rc;
  }
  if (k->kind == ROAM_SCHEMA_BOOL) {
    if (strcmp(key, "true") && strcmp(key, "false"))
      return jc_fail(cx, "map key \"%s\" is not true or false", key);
    roam_enc_bool(e, key[0] == 't');
    return 0;
  }
  json_t *s = json_string(key);
  if (!s) return jc_fail(cx, "out of memory");
  int rc = enc_int(k, s, e, cx, true);
  json_decref(s);
  return rc;
}

static int enc_map(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx) {
  if (json_is_object(v) && key_is_textual(t->elem)) {
    roam_enc_len(e, json_object_size(v));
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
      size_t sv;
      jc_ctx_push_key(cx, key, &sv);
      if (enc_key(t->elem, key, e, cx) || jc_encode(t->elem2, val, e, cx)) return -1;
      jc_ctx_pop(cx, sv);
    }
    return 0;
  }
  if (!json_is_array(v))
    return expected(cx, t, key_is_textual(t->elem) ? "an object" : "an array of [key, value] pairs",
                    v);
  size_t n = json_array_size(v);
  roam_enc_len(e, n);
  for (size_t i = 0; i < n; i++) {
    json_t *pair = json_array_get(v, i);
    size_t sv;
    jc_ctx_push_index(cx, i, &sv);
    if (!json_is_array(pair) || json_array_size(pair) != 2)
      return jc_fail(cx, "expected a [key, value] pair");
    if (jc_encode(t->elem, json_array_get(pair, 0), e, cx) ||
        jc_encode(t->elem2, json_array_get(pair, 1), e, cx))
      return -1;
    jc_ctx_pop(cx, sv);
  }
  return 0;
}

static int enc_body(const char *what, const roam_schema_body *b, json_t *v, roam_enc *e,
                    jc_ctx *cx) {
  switch (b->shape) {
  case ROAM_SCHEMA_SHAPE_UNIT:
    if (!json_is_null(v)) return jc_fail(cx, "expected null for %s, got %s", what, json_kind(v));
    return 0;
  case ROAM_SCHEMA_SHAPE_TUPLE:
    if (b->count == 1) return jc_encode(b->fields[0].type, v, e, cx);
    if (!json_is_array(v) || json_array_size(v) != b->count)
      return jc_fail(cx, "expected an array of %zu values for %s, got %s", b->count, what,
                     json_kind(v));
    for (size_t i = 0; i < b->count; i++) {
      size_t sv;
      jc_ctx_push_index(cx, i, &sv);
      if (jc_encode(b->fields[i].type, json_array_get(v, i), e, cx)) return -1;
      jc_ctx_pop(cx, sv);
    }
    return 0;
  case ROAM_SCHEMA_SHAPE_NAMED: {
    if (!json_is_object(v))
      return jc_fail(cx, "expected an object for %s, got %s", what, json_kind(v));
    size_t found = 0;
    for (size_t i = 0; i < b->count; i++) {
      const roam_schema_field *f = &b->fields[i];
      json_t *fv = json_object_get(v, f->name);
      size_t sv;
      jc_ctx_push_key(cx, f->name, &sv);
      if (!fv) {
        if (f->type->kind != ROAM_SCHEMA_OPTION)
          return jc_fail(cx, "missing field '%s' of %s", f->name, what);
        roam_enc_none(e);
      } else {
        found++;
        if (jc_encode(f->type, fv, e, cx)) return -1;
      }
      jc_ctx_pop(cx, sv);
    }
    if (found != json_object_size(v)) {
      const char *key;
      json_t *val;
      json_object_foreach(v, key, val) {
        bool known = false;
        for (size_t i = 0; i < b->count && !known; i++) known = strcmp(b->fields[i].name, key) == 0;
        if (!known) {
          jc_buf names = {0};
          for (size_t i = 0; i < b->count; i++) {
            if (i) jc_buf_puts(&names, ", ");
            jc_buf_puts(&names, b->fields[i].name);
          }
          jc_fail(cx, "unknown field '%s' of %s (fields: %s)", key, what, jc_buf_str(&names));
          jc_buf_free(&names);
          return -1;
        }
      }
    }
    return 0;
  }
  }
  return jc_fail(cx, "internal: bad shape");
}

static int enc_enum(const roam_schema_decl *d, json_t *v, roam_enc *e, jc_ctx *cx) {
  const char *name = NULL;
  json_t *payload = NULL;
  if (json_is_string(v) && !big_digits(v)) {
    name = json_string_value(v);
  } else if (json_is_object(v) && json_object_size(v) == 1) {
    void *it = json_object_iter(v);
    name = json_object_iter_key(it);
    payload = json_object_iter_value(it);
  } else {
    return jc_fail(cx, "expected \"Variant\" or {\"Variant\": value} for enum %s, got %s", d->name,
                   json_kind(v));
  }
  for (size_t i = 0; i < d->nvariants; i++) {
    const roam_schema_variant *var = &d->variants[i];
    if (strcmp(var->name, name) != 0) continue;
    roam_enc_variant(e, (uint32_t)i);
    if (!payload) {
      if (var->body.shape != ROAM_SCHEMA_SHAPE_UNIT)
        return jc_fail(cx, "variant %s::%s carries a value: write {\"%s\": ...}", d->name,
                       var->name, var->name);
      return 0;
    }
    size_t sv;
    jc_ctx_push_key(cx, var->name, &sv);
    char what[256];
    snprintf(what, sizeof what, "%s::%s", d->name, var->name);
    if (enc_body(what, &var->body, payload, e, cx)) return -1;
    jc_ctx_pop(cx, sv);
    return 0;
  }
  jc_buf names = {0};
  for (size_t i = 0; i < d->nvariants; i++) {
    if (i) jc_buf_puts(&names, ", ");
    jc_buf_puts(&names, d->variants[i].name);
  }
  jc_fail(cx, "unknown variant '%s' of enum %s (variants: %s)", name, d->name, jc_buf_str(&names));
  jc_buf_free(&names);
  return -1;
}

int jc_encode(const roam_schema_type *t, json_t *v, roam_enc *e, jc_ctx *cx) {
  if (!v) return jc_fail(cx, "missing value");
  if (++cx->depth > JC_MAX_DEPTH) return jc_fail(cx, "value nested too deeply");
  int rc = 0;
  switch (t->kind) {
  case ROAM_SCHEMA_BOOL:
    if (!json_is_boolean(v)) rc = expected(cx, t, "true or false", v);
    else roam_enc_bool(e, json_is_true(v));
    break;
  case ROAM_SCHEMA_U8: case ROAM_SCHEMA_U16: case ROAM_SCHEMA_U32: case ROAM_SCHEMA_U64:
  case ROAM_SCHEMA_U128: case ROAM_SCHEMA_I8: case ROAM_SCHEMA_I16: case ROAM_SCHEMA_I32:
  case ROAM_SCHEMA_I64: case ROAM_SCHEMA_I128:
    rc = enc_int(t, v, e, cx, false);
    break;
  case ROAM_SCHEMA_F32:
  case ROAM_SCHEMA_F64:
    rc = enc_float(t, v, e, cx);
    break;
  case ROAM_SCHEMA_CHAR:
  case ROAM_SCHEMA_STRING:
    rc = enc_string_like(t, v, e, cx);
    break;
  case ROAM_SCHEMA_UNIT:
    if (!json_is_null(v)) rc = expected(cx, t, "null", v);
    break;
  case ROAM_SCHEMA_VEC:
  case ROAM_SCHEMA_SET:
    if (!json_is_array(v)) {
      rc = expected(cx, t, "an array", v);
      break;
    }
    roam_enc_len(e, json_array_size(v));
    rc = enc_seq(t->elem, v, e, cx);
    break;
  case ROAM_SCHEMA_ARRAY:
    if (!json_is_array(v) || json_array_size(v) != t->len) {
      char what[64];
      snprintf(what, sizeof what, "an array of %" PRIu64 " values", t->len);
      rc = expected(cx, t, what, v);
      break;
    }
    rc = enc_seq(t->elem, v, e, cx);
    break;
  case ROAM_SCHEMA_OPTION:
    if (json_is_null(v)) {
      roam_enc_none(e);
    } else {
      roam_enc_some(e);
      rc = jc_encode(t->elem, v, e, cx);
    }
    break;
  case ROAM_SCHEMA_BOX:
    rc = jc_encode(t->elem, v, e, cx);
    break;
  case ROAM_SCHEMA_MAP:
    rc = enc_map(t, v, e, cx);
    break;
  case ROAM_SCHEMA_TUPLE:
    if (!json_is_array(v) || json_array_size(v) != t->count) {
      char what[64];
      snprintf(what, sizeof what, "an array of %zu values", t->count);
      rc = expected(cx, t, what, v);
      break;
    }
    for (size_t i = 0; i < t->count && rc == 0; i++) {
      size_t sv;
      jc_ctx_push_index(cx, i, &sv);
      rc = jc_encode(t->elems[i], json_array_get(v, i), e, cx);
      if (rc == 0) jc_ctx_pop(cx, sv);
    }
    break;
  case ROAM_SCHEMA_RESULT: {
    json_t *ok = json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, "Ok") : NULL;
    json_t *er = json_is_object(v) && json_object_size(v) == 1 ? json_object_get(v, "Err") : NULL;
    if (ok) {
      roam_enc_variant(e, 0);
      rc = jc_encode(t->elem, ok, e, cx);
    } else if (er) {
      roam_enc_variant(e, 1);
      rc = jc_encode(t->elem2, er, e, cx);
    } else {
      rc = expected(cx, t, "{\"Ok\": value} or {\"Err\": value}", v);
    }
    break;
  }
  case ROAM_SCHEMA_TX:
  case ROAM_SCHEMA_RX:
    rc = jc_fail(cx, "a channel cannot be sent as a value");
    break;
  case ROAM_SCHEMA_NAMED:
    if (t->decl->kind == ROAM_SCHEMA_STRUCT)
      rc = enc_body(t->decl->name, &t->decl->body, v, e, cx);
    else
      rc = enc_enum(t->decl, v, e, cx);
    break;
  }
  cx->depth--;
  if (rc == 0 && roam_enc_error(e)) {
    int err = roam_enc_error(e);
    return jc_fail(cx, "cannot encode: %s", roam_strerror(err));
  }
  return rc;
}

/* ======================================================================== */
/* Decoding                                                                  */

void jc_write_string(jc_buf *out, const char *s, size_t len) {
  buf_putc(out, '"');
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char tmp[8];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        snprintf(tmp, sizeof tmp, "\\u%04x", c);
        esc = tmp;
      }
    }
    if (esc) {
      jc_buf_put(out, s + i - run, run);
      run = 0;
      jc_buf_puts(out, esc);
    } else {
      run++;
    }
  }
  jc_buf_put(out, s + len - run, run);
  buf_putc(out, '"');
}

void jc_write_float(jc_buf *out, double v, bool is_f32) {
  if (!isfinite(v)) { /* serde_json writes null for NaN and infinities */
    jc_buf_puts(out, "null");
    return;
  }
  if (v == 0) {
    jc_buf_puts(out, signbit(v) ? "-0.0" : "0.0");
    return;
  }
  /* Shortest digits that read back to the same value. */
  char e[40];
  int maxp = is_f32 ? 9 : 17;
  for (int p = 1; p <= maxp; p++) {
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    double back = strtod(e, NULL);
    if (is_f32 ? (float)back == (float)v : back == v) break;
  }
  /* e = [-]d[.ddd]e[+-]XX */
  const char *s = e;
  bool neg = *s == '-';
  if (neg) s++;
  char digits[24];
  size_t nd = 0;
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9' && nd < sizeof digits - 1) digits[nd++] = *s;
  int x = *s == 'e' ? atoi(s + 1) : 0;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  /* As ryu's pretty printer: value = digits * 10^k, kk = nd + k. */
  int k = x - (int)(nd - 1);
  int kk = (int)nd + k;
  int lim = is_f32 ? 13 : 16;
  int lo = is_f32 ? -6 : -5;
  if (neg) buf_putc(out, '-');
  if (k >= 0 && kk <= lim) {
    jc_buf_put(out, digits, nd);
    for (int i = 0; i < k; i++) buf_putc(out, '0');
    jc_buf_puts(out, ".0");
  } else if (kk > 0 && kk <= lim) {
    jc_buf_put(out, digits, (size_t)kk);
    buf_putc(out, '.');
    jc_buf_put(out, digits + kk, nd - (size_t)kk);
  } else if (kk > lo && kk <= 0) {
    jc_buf_puts(out, "0.");
    for (int i = 0; i < -kk; i++) buf_putc(out, '0');
    jc_buf_put(out, digits, nd);
  } else {
    buf_putc(out, digits[0]);
    if (nd > 1) {
      buf_putc(out, '.');
      jc_buf_put(out, digits + 1, nd - 1);
    }
    jc_buf_printf(out, "e%d", kk - 1);
  }
}

static void write_u128(jc_buf *out, u128 v, bool neg) {
  char tmp[48];
  size_t i = sizeof tmp;
  tmp[--i] = 0;
  do {
    tmp[--i] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v);
  if (neg) tmp[--i] = '-';
  jc_buf_puts(out, tmp + i);
}

static int dec_fail(jc_ctx *cx, const roam_schema_type *t, int err) {
  char ts[128];
  roam_schema_type_str(t, ts, sizeof ts);
  return jc_fail(cx, "cannot decode %s: %s", ts, roam_strerror(err));
}

/* Decode an integer and write it (quoted when as_key). */
static int dec_int(const roam_schema_type *t, roam_dec *d, jc_buf *out, jc_ctx *cx, bool as_key) {
  u128 mag = 0;
  bool neg = false;
  int rc = 0;
  switch (t->kind) {
  case ROAM_SCHEMA_U8: { uint8_t v; rc = roam_dec_u8(d, &v); mag = v; break; }
  case ROAM_SCHEMA_U16: { uint16_t v; rc = roam_dec_u16(d, &v); mag = v; break; }
  case ROAM_SCHEMA_U32: { uint32_t v; rc = roam_dec_u32(d, &v); mag = v; break; }
  case ROAM_SCHEMA_U64: { uint64_t v; rc = roam_dec_u64(d, &v); mag = v; break; }
  case ROAM_SCHEMA_U128: {
    roam_u128 v;
    rc = roam_dec_u128(d, &v);
    mag = ((u128)v.hi << 64) | v.lo;
    break;
  }
  case ROAM_SCHEMA_I8: case ROAM_SCHEMA_I16: case ROAM_SCHEMA_I32: case ROAM_SCHEMA_I64: {
    int64_t v = 0;
    if (t->kind == ROAM_SCHEMA_I8) { int8_t x; rc = roam_dec_i8(d, &x); v = x; }
    else if (t->kind == ROAM_SCHEMA_I16) { int16_t x; rc = roam_dec_i16(d, &x); v = x; }
    else if (t->kind == ROAM_SCHEMA_I32) { int32_t x; rc = roam_dec_i32(d, &x); v = x; }
    else rc = roam_dec_i64(d, &v);
    neg = v < 0;
    mag = neg ? (u128)(-(v + 1)) + 1 : (u128)v;
    break;
  }
  case ROAM_SCHEMA_I128: {
    roam_u128 v;
    rc = roam_dec_i128(d, &v);
    i128 s = (i128)(((u128)v.hi << 64) | v.lo);
    neg = s < 0;
    mag = neg ? (u128)(-(s + 1)) + 1 : (u128)s;
    break;
  }
  default: return jc_fail(cx, "internal: not an integer type");
  }
  if (rc) return dec_fail(cx, t, rc);
  if (as_key) buf_putc(out, '"');
  write_u128(out, mag, neg);
  if (as_key) buf_putc(out, '"');
  return 0;
}

static int dec_body(const roam_schema_body *b, roam_dec *d, jc_buf *out, jc_ctx *cx) {
  switch (b->shape) {
  case ROAM_SCHEMA_SHAPE_UNIT:
    jc_buf_puts(out, "null");
    return 0;
  case ROAM_SCHEMA_SHAPE_TUPLE:
    if (b->count == 1) return jc_decode(b->fields[0].type, d, out, cx);
    buf_putc(out, '[');
    for (size_t i = 0; i < b->count; i++) {
      if (i) buf_putc(out, ',');
      if (jc_decode(b->fields[i].type, d, out, cx)) return -1;
    }
    buf_putc(out, ']');
    return 0;
  case ROAM_SCHEMA_SHAPE_NAMED:
    buf_putc(out, '{');
    for (size_t i = 0; i < b->count; i++) {
      if (i) buf_putc(out, ',');
      jc_write_string(out, b->fields[i].name, strlen(b->fields[i].name));
      buf_putc(out, ':');
      if (jc_decode(b->fields[i].type, d, out, cx)) return -1;
    }
    buf_putc(out, '}');
    return 0;
  }
  return jc_fail(cx, "internal: bad shape");
}

static int dec_key(const roam_schema_type *k, roam_dec *d, jc_buf *out, jc_ctx *cx) {
  while (k->kind == ROAM_SCHEMA_BOX) k = k->elem;
  if (k->kind == ROAM_SCHEMA_BOOL) {
    bool b;
    int rc = roam_dec_bool(d, &b);
    if (rc) return dec_fail(cx, k, rc);
    jc_buf_puts(out, b ? "\"true\"" : "\"false\"");
    return 0;
  }
  if (k->kind == ROAM_SCHEMA_STRING || k->kind == ROAM_SCHEMA_CHAR) return jc_decode(k, d, out, cx);
  return dec_int(k, d, out, cx, true);
}

int jc_decode(const roam_schema_type *t, roam_dec *d, jc_buf *out, jc_ctx *cx) {
  if (++cx->depth > JC_MAX_DEPTH) return jc_fail(cx, "value nested too deeply");
  if (out->oom) return jc_fail(cx, "out of memory");
  int rc = 0;
  switch (t->kind) {
  case ROAM_SCHEMA_BOOL: {
    bool b;
    rc = roam_dec_bool(d, &b);
    if (rc) return dec_fail(cx, t, rc);
    jc_buf_puts(out, b ? "true" : "false");
    break;
  }
  case ROAM_SCHEMA_U8: case ROAM_SCHEMA_U16: case ROAM_SCHEMA_U32: case ROAM_SCHEMA_U64:
  case ROAM_SCHEMA_U128: case ROAM_SCHEMA_I8: case ROAM_SCHEMA_I16: case ROAM_SCHEMA_I32:
  case ROAM_SCHEMA_I64: case ROAM_SCHEMA_I128:
    if (dec_int(t, d, out, cx, false)) return -1;
    break;
  case ROAM_SCHEMA_F32: {
    float f;
    rc = roam_dec_f32(d, &f);
    if (rc) return dec_fail(cx, t, rc);
    jc_write_float(out, f, true);
    break;
  }
  case ROAM_SCHEMA_F64: {
    double f;
    rc = roam_dec_f64(d, &f);
    if (rc) return dec_fail(cx, t, rc);
    jc_write_float(out, f, false);
    break;
  }
  case ROAM_SCHEMA_CHAR: {
    uint32_t cp;
    rc = roam_dec_char(d, &cp);
    if (rc) return dec_fail(cx, t, rc);
    char u[4];
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (n == 1) u[0] = (char)cp;
    else if (n == 2) u[0] = (char)(0xc0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3f));
    else if (n == 3)
      u[0] = (char)(0xe0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
      u[2] = (char)(0x80 | (cp & 0x3f));
    else
      u[0] = (char)(0xf0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
      u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f));
    jc_write_string(out, u, n);
    break;
  }
  case ROAM_SCHEMA_STRING: {
    roam_bytes s;
    rc = roam_dec_str(d, &s);
    if (rc) return dec_fail(cx, t, rc);
    jc_write_string(out, (const char *)s.ptr, s.len);
    break;
  }
  case ROAM_SCHEMA_UNIT:
    jc_buf_puts(out, "null");
    break;
  case ROAM_SCHEMA_VEC:
  case ROAM_SCHEMA_SET:
  case ROAM_SCHEMA_ARRAY: {
    size_t n;
    if (t->kind == ROAM_SCHEMA_ARRAY) {
      n = (size_t)t->len;
    } else {
      /* a count above the bytes left is malformed even for zero-sized
       * elements: it bounds the output by the input */
      rc = roam_dec_len(d, &n);
      if (rc) return dec_fail(cx, t, rc);
    }
    buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
      if (i) buf_putc(out, ',');
      if (jc_decode(t->elem, d, out, cx)) return -1;
      if (out->oom) return jc_fail(cx, "out of memory");
    }
    buf_putc(out, ']');
    break;
  }
  case ROAM_SCHEMA_OPTION: {
    bool some;
    rc = roam_dec_option(d, &some);
    if (rc) return dec_fail(cx, t, rc);
    if (!some) jc_buf_puts(out, "null");
    else if (jc_decode(t->elem, d, out, cx)) return -1;
    break;
  }
  case ROAM_SCHEMA_BOX:
    if (jc_decode(t->elem, d, out, cx)) return -1;
    break;
  case ROAM_SCHEMA_MAP: {
    size_t n;
    rc = roam_dec_len(d, &n);
    if (rc) return dec_fail(cx, t, rc);
    bool obj = key_is_textual(t->elem);
    buf_putc(out, obj ? '{' : '[');
    for (size_t i = 0; i < n; i++) {
      if (i) buf_putc(out, ',');
      if (obj) {
        if (dec_key(t->elem, d, out, cx)) return -1;
        buf_putc(out, ':');
        if (jc_decode(t->elem2, d, out, cx)) return -1;
      } else {
        buf_putc(out, '[');
        if (jc_decode(t->elem, d, out, cx)) return -1;
        buf_putc(out, ',');
        if (jc_decode(t->elem2, d, out, cx)) return -1;
        buf_putc(out, ']');
      }
      if (out->oom) return jc_fail(cx, "out of memory");
    }
    buf_putc(out, obj ? '}' : ']');
    break;
  }
  case ROAM_SCHEMA_TUPLE:
    buf_putc(out, '[');
    for (size_t i = 0; i < t->count; i++) {
      if (i) buf_putc(out, ',');
      if (jc_decode(t->elems[i], d, out, cx)) return -1;
    }
    buf_putc(out, ']');
    break;
  case ROAM_SCHEMA_RESULT: {
    uint32_t v;
    rc = roam_dec_variant(d, &v);
    if (rc) return dec_fail(cx, t, rc);
    if (v > 1) return jc_fail(cx, "Result variant %u is neither Ok nor Err", v);
    jc_buf_puts(out, v == 0 ? "{\"Ok\":" : "{\"Err\":");
    if (jc_decode(v == 0 ? t->elem : t->elem2, d, out, cx)) return -1;
    buf_putc(out, '}');
    break;
  }
  case ROAM_SCHEMA_TX:
  case ROAM_SCHEMA_RX: { /* a channel id inside a payload */
    uint64_t id;
    rc = roam_dec_u64(d, &id);
    if (rc) return dec_fail(cx, t, rc);
    jc_buf_printf(out, "{\"channel\":%" PRIu64 "}", id);
    break;
  }
  case ROAM_SCHEMA_NAMED: {
    const roam_schema_decl *decl = t->decl;
    if (decl->kind == ROAM_SCHEMA_STRUCT) {
      if (dec_body(&decl->body, d, out, cx)) return -1;
      break;
    }
    uint32_t v;
    rc = roam_dec_variant(d, &v);
    if (rc) return dec_fail(cx, t, rc);
    if (v >= decl->nvariants)
      return jc_fail(cx, "variant index %u out of range for enum %s (%zu variants)", v,
                     decl->name, decl->nvariants);
    const roam_schema_variant *var = &decl->variants[v];
    if (var->body.shape == ROAM_SCHEMA_SHAPE_UNIT) {
      jc_write_string(out, var->name, strlen(var->name));
    } else {
      buf_putc(out, '{');
      jc_write_string(out, var->name, strlen(var->name));
      buf_putc(out, ':');
      if (dec_body(&var->body, d, out, cx)) return -1;
      buf_putc(out, '}');
    }
    break;
  }
  }
  cx->depth--;
  if (out->oom) return jc_fail(cx, "out of memory");
  return 0;
}
