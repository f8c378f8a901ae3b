/*
 * Frozen copy of tools/testbed/testbed_types.c at commit 8315e7c (the
 * hand-written Testbed codec replaced by roam-gen), kept only as the
 * baseline of bench/bench_gen.c.
 */
/*
 * Testbed value codecs, written with the public postcard API only. Each
 * function mirrors the field order of the Rust type (postcard writes fields
 * one after another, enums as a varint variant index then the fields).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_baseline.h"

tb_str tb_cstr(const char *s) {
  tb_str v = {s, s ? strlen(s) : 0};
  return v;
}

bool tb_str_eq(tb_str a, tb_str b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* ---- strings ---------------------------------------------------------- */

int tb_enc_str(roam_enc *e, tb_str s) { return roam_enc_str(e, s.ptr, s.len); }

int tb_dec_str(roam_dec *d, tb_str *out) {
  roam_bytes b;
  int rc = roam_dec_str(d, &b);
  out->ptr = (const char *)b.ptr;
  out->len = b.len;
  return rc;
}

int tb_enc_opt_str(roam_enc *e, bool has, tb_str s) {
  if (!has) return roam_enc_none(e);
  roam_enc_some(e);
  return tb_enc_str(e, s);
}

int tb_dec_opt_str(roam_dec *d, bool *has, tb_str *out) {
  out->ptr = NULL;
  out->len = 0;
  if (roam_dec_option(d, has) == 0 && *has) tb_dec_str(d, out);
  return roam_dec_error(d);
}

/* ---- structs ----------------------------------------------------------- */

int tb_enc_point(roam_enc *e, const tb_point *p) {
  roam_enc_i32(e, p->x);
  return roam_enc_i32(e, p->y);
}

int tb_dec_point(roam_dec *d, tb_point *out) {
  roam_dec_i32(d, &out->x);
  return roam_dec_i32(d, &out->y);
}

int tb_enc_person(roam_enc *e, const tb_person *p) {
  tb_enc_str(e, p->name);
  roam_enc_u8(e, p->age);
  return tb_enc_opt_str(e, p->has_email, p->email);
}

int tb_dec_person(roam_dec *d, tb_person *out) {
  tb_dec_str(d, &out->name);
  roam_dec_u8(d, &out->age);
  return tb_dec_opt_str(d, &out->has_email, &out->email);
}

int tb_enc_rectangle(roam_enc *e, const tb_rectangle *r) {
  tb_enc_point(e, &r->top_left);
  tb_enc_point(e, &r->bottom_right);
  return tb_enc_opt_str(e, r->has_label, r->label);
}

int tb_dec_rectangle(roam_dec *d, tb_rectangle *out) {
  tb_dec_point(d, &out->top_left);
  tb_dec_point(d, &out->bottom_right);
  return tb_dec_opt_str(d, &out->has_label, &out->label);
}

/* ---- enums ------------------------------------------------------------- */

/* An enum's variant index, which must be below count. The decoder's
 * sticky error cannot be set from outside the library, so an unknown
 * variant is reported through the return value only: every caller of the
 * enum decoders checks it. */
static int dec_variant(roam_dec *d, uint32_t count, uint32_t *out) {
  int rc = roam_dec_variant(d, out);
  if (rc) return rc;
  return *out < count ? 0 : ROAM_ERR_DECODE;
}

int tb_enc_color(roam_enc *e, tb_color c) { return roam_enc_variant(e, (uint32_t)c); }

int tb_dec_color(roam_dec *d, tb_color *out) {
  uint32_t v = 0;
  int rc = dec_variant(d, TB_COLOR_COUNT, &v);
  *out = (tb_color)v;
  return rc;
}

int tb_enc_math_error(roam_enc *e, tb_math_error err) {
  return roam_enc_variant(e, (uint32_t)err);
}

int tb_dec_math_error(roam_dec *d, tb_math_error *out) {
  uint32_t v = 0;
  int rc = dec_variant(d, 2, &v);
  *out = (tb_math_error)v;
  return rc;
}

int tb_enc_lookup_error(roam_enc *e, tb_lookup_error err) {
  return roam_enc_variant(e, (uint32_t)err);
}

int tb_dec_lookup_error(roam_dec *d, tb_lookup_error *out) {
  uint32_t v = 0;
  int rc = dec_variant(d, 2, &v);
  *out = (tb_lookup_error)v;
  return rc;
}

int tb_enc_shape(roam_enc *e, const tb_shape *s) {
  roam_enc_variant(e, (uint32_t)s->kind);
  switch (s->kind) {
  case TB_SHAPE_CIRCLE: roam_enc_f64(e, s->radius); break;
  case TB_SHAPE_RECTANGLE:
    roam_enc_f64(e, s->width);
    roam_enc_f64(e, s->height);
    break;
  case TB_SHAPE_POINT: break;
  }
  return roam_enc_error(e);
}

int tb_dec_shape(roam_dec *d, tb_shape *out) {
  memset(out, 0, sizeof *out);
  uint32_t v = 0;
  int rc = dec_variant(d, TB_SHAPE_KIND_COUNT, &v);
  if (rc) return rc;
  out->kind = (tb_shape_kind)v;
  switch (out->kind) {
  case TB_SHAPE_CIRCLE: roam_dec_f64(d, &out->radius); break;
  case TB_SHAPE_RECTANGLE:
    roam_dec_f64(d, &out->width);
    roam_dec_f64(d, &out->height);
    break;
  case TB_SHAPE_POINT: break;
  }
  return roam_dec_error(d);
}

int tb_enc_message(roam_enc *e, const tb_message *m) {
  roam_enc_variant(e, (uint32_t)m->kind);
  switch (m->kind) {
  case TB_MESSAGE_TEXT: tb_enc_str(e, m->text); break;
  case TB_MESSAGE_NUMBER: roam_enc_i64(e, m->number); break;
  case TB_MESSAGE_DATA: roam_enc_bytes(e, m->data.ptr, m->data.len); break;
  }
  return roam_enc_error(e);
}

int tb_dec_message(roam_dec *d, tb_message *out) {
  memset(out, 0, sizeof *out);
  uint32_t v = 0;
  int rc = dec_variant(d, TB_MESSAGE_KIND_COUNT, &v);
  if (rc) return rc;
  out->kind = (tb_message_kind)v;
  switch (out->kind) {
  case TB_MESSAGE_TEXT: tb_dec_str(d, &out->text); break;
  case TB_MESSAGE_NUMBER: roam_dec_i64(d, &out->number); break;
  case TB_MESSAGE_DATA: roam_dec_bytes(d, &out->data); break;
  }
  return roam_dec_error(d);
}

/* ---- collections and tuples ------------------------------------------- */

int tb_enc_canvas(roam_enc *e, const tb_canvas *c) {
  tb_enc_str(e, c->name);
  roam_enc_len(e, c->shape_count);
  for (size_t i = 0; i < c->shape_count; i++) tb_enc_shape(e, &c->shapes[i]);
  return tb_enc_color(e, c->background);
}

int tb_dec_canvas(roam_dec *d, tb_canvas *out) {
  memset(out, 0, sizeof *out);
  size_t n = 0;
  tb_dec_str(d, &out->name);
  /* roam_dec_len refuses counts above the bytes left (a Shape takes at
   * least one), so a hostile count cannot make us allocate much. Grow as
   * shapes actually decode all the same. */
  int rc = roam_dec_len(d, &n);
  if (rc) return rc;
  size_t cap = 0;
  for (size_t i = 0; i < n; i++) {
    if (out->shape_count == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      if (ncap > n) ncap = n;
      tb_shape *p = realloc(out->shapes, ncap * sizeof *p);
      if (!p) return ROAM_ERR_NOMEM;
      out->shapes = p;
      cap = ncap;
    }
    rc = tb_dec_shape(d, &out->shapes[out->shape_count]);
    if (rc) return rc;
    out->shape_count++;
  }
  return tb_dec_color(d, &out->background);
}

void tb_canvas_free(tb_canvas *c) {
  if (!c) return;
  free(c->shapes);
  c->shapes = NULL;
  c->shape_count = 0;
}

int tb_enc_pair_is(roam_enc *e, const tb_pair_is *p) {
  roam_enc_i32(e, p->num);
  return tb_enc_str(e, p->text);
}

int tb_dec_pair_is(roam_dec *d, tb_pair_is *out) {
  roam_dec_i32(d, &out->num);
  return tb_dec_str(d, &out->text);
}

int tb_enc_pair_si(roam_enc *e, const tb_pair_si *p) {
  tb_enc_str(e, p->text);
  return roam_enc_i32(e, p->num);
}

int tb_dec_pair_si(roam_dec *d, tb_pair_si *out) {
  tb_dec_str(d, &out->text);
  return roam_dec_i32(d, &out->num);
}

int tb_enc_points(roam_enc *e, const tb_point *pts, size_t n) {
  roam_enc_len(e, n);
  for (size_t i = 0; i < n; i++) tb_enc_point(e, &pts[i]);
  return roam_enc_error(e);
}

int tb_dec_points(roam_dec *d, tb_point **out, size_t *n) {
  *out = NULL;
  *n = 0;
  size_t count = 0;
  int rc = roam_dec_len(d, &count);
  if (rc) return rc;
  if (count == 0) return 0;
  /* Every Point takes at least two bytes: the count is bounded by the
   * input, so this allocation is too. */
  tb_point *p = malloc(count * sizeof *p);
  if (!p) return ROAM_ERR_NOMEM;
  for (size_t i = 0; i < count; i++) {
    rc = tb_dec_point(d, &p[i]);
    if (rc) {
      free(p);
      return rc;
    }
  }
  *out = p;
  *n = count;
  return 0;
}

/* ---- display ------------------------------------------------------------- */

const char *tb_color_name(tb_color c) {
  switch (c) {
  case TB_RED: return "Red";
  case TB_GREEN: return "Green";
  case TB_BLUE: return "Blue";
  }
  return "?";
}

const char *tb_math_error_name(tb_math_error e) {
  return e == TB_DIVISION_BY_ZERO ? "DivisionByZero" : e == TB_OVERFLOW ? "Overflow" : "?";
}

const char *tb_lookup_error_name(tb_lookup_error e) {
  return e == TB_NOT_FOUND ? "NotFound" : e == TB_ACCESS_DENIED ? "AccessDenied" : "?";
}

int tb_fmt_person(char *buf, size_t cap, const tb_person *p) {
  if (p->has_email)
    return snprintf(buf, cap, "Person { name: \"%.*s\", age: %u, email: Some(\"%.*s\") }",
                    (int)p->name.len, p->name.ptr, (unsigned)p->age, (int)p->email.len,
                    p->email.ptr);
  return snprintf(buf, cap, "Person { name: \"%.*s\", age: %u, email: None }", (int)p->name.len,
                  p->name.ptr, (unsigned)p->age);
}

int tb_fmt_shape(char *buf, size_t cap, const tb_shape *s) {
  switch (s->kind) {
  case TB_SHAPE_CIRCLE: return snprintf(buf, cap, "Circle { radius: %g }", s->radius);
  case TB_SHAPE_RECTANGLE:
    return snprintf(buf, cap, "Rectangle { width: %g, height: %g }", s->width, s->height);
  case TB_SHAPE_POINT: return snprintf(buf, cap, "Point");
  }
  return snprintf(buf, cap, "?");
}
