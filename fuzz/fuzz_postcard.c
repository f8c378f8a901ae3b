/*
 * Fuzz the postcard decoder with a little type-driven interpreter. The first
 * byte gives the length of a "program" (the next bytes), each byte of which
 * names a type; the program is run over the remaining input, cycling, until
 * the input ends or a decode fails. Then:
 *   - a failure is sticky and leaves its output zeroed;
 *   - views point inside the input and strings are valid UTF-8;
 *   - the decoded values re-encode (canonically, never longer than what was
 *     consumed) and decode back to the same values, and that encoding is
 *     stable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <roam/postcard.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

enum {
  T_U8, T_U16, T_U32, T_U64, T_I8, T_I16, T_I32, T_I64, T_U128, T_I128, T_F32, T_F64, T_BOOL,
  T_CHAR, T_STR, T_BYTES, T_OPTION, T_VARIANT, T_LEN, T_LEN_ANY, T_USIZE, T_RAW, T_COUNT
};

typedef struct val {
  uint8_t type;
  uint8_t arg; /* T_RAW: byte count */
  uint64_t a, b;
  roam_bytes s;
} val;

/* Decode one value of type t; returns the error code. */
static int dec_one(roam_dec *d, uint8_t t, uint8_t arg, val *v) {
  int rc = 0;
  memset(v, 0, sizeof *v);
  v->type = t;
  v->arg = arg;
  /* outputs start as garbage so that "zeroed on error" is tested */
  union {
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int8_t i8; int16_t i16; int32_t i32;
    int64_t i64; roam_u128 u128; float f32; double f64; bool b; size_t sz; roam_bytes s;
  } o;
  memset(&o, 0xA5, sizeof o);
  switch (t) {
  case T_U8: rc = roam_dec_u8(d, &o.u8); v->a = o.u8; if (rc) CHECK(o.u8 == 0); break;
  case T_U16: rc = roam_dec_u16(d, &o.u16); v->a = o.u16; if (rc) CHECK(o.u16 == 0); break;
  case T_U32: rc = roam_dec_u32(d, &o.u32); v->a = o.u32; if (rc) CHECK(o.u32 == 0); break;
  case T_U64: rc = roam_dec_u64(d, &o.u64); v->a = o.u64; if (rc) CHECK(o.u64 == 0); break;
  case T_I8: rc = roam_dec_i8(d, &o.i8); v->a = (uint64_t)(int64_t)o.i8; if (rc) CHECK(o.i8 == 0); break;
  case T_I16: rc = roam_dec_i16(d, &o.i16); v->a = (uint64_t)(int64_t)o.i16; if (rc) CHECK(o.i16 == 0); break;
  case T_I32: rc = roam_dec_i32(d, &o.i32); v->a = (uint64_t)(int64_t)o.i32; if (rc) CHECK(o.i32 == 0); break;
  case T_I64: rc = roam_dec_i64(d, &o.i64); v->a = (uint64_t)o.i64; if (rc) CHECK(o.i64 == 0); break;
  case T_U128:
  case T_I128:
    rc = t == T_U128 ? roam_dec_u128(d, &o.u128) : roam_dec_i128(d, &o.u128);
    v->a = o.u128.lo;
    v->b = o.u128.hi;
    if (rc) CHECK(o.u128.lo == 0 && o.u128.hi == 0);
    break;
  case T_F32: {
    uint32_t bits;
    rc = roam_dec_f32(d, &o.f32);
    memcpy(&bits, &o.f32, 4);
    v->a = bits;
    if (rc) CHECK(bits == 0);
    break;
  }
  case T_F64:
    rc = roam_dec_f64(d, &o.f64);
    memcpy(&v->a, &o.f64, 8);
    if (rc) CHECK(v->a == 0);
    break;
  case T_BOOL: rc = roam_dec_bool(d, &o.b); v->a = o.b; if (rc) CHECK(!o.b); break;
  case T_CHAR:
    rc = roam_dec_char(d, &o.u32);
    v->a = o.u32;
    if (rc) CHECK(o.u32 == 0);
    else CHECK(o.u32 <= 0x10FFFF && (o.u32 < 0xD800 || o.u32 > 0xDFFF));
    break;
  case T_STR:
  case T_BYTES:
    rc = t == T_STR ? roam_dec_str(d, &o.s) : roam_dec_bytes(d, &o.s);
    v->s = o.s;
    if (rc) CHECK(o.s.ptr == NULL && o.s.len == 0);
    else if (t == T_STR) CHECK(roam_utf8_valid(o.s.ptr, o.s.len));
    break;
  case T_OPTION: rc = roam_dec_option(d, &o.b); v->a = o.b; if (rc) CHECK(!o.b); break;
  case T_VARIANT: rc = roam_dec_variant(d, &o.u32); v->a = o.u32; if (rc) CHECK(o.u32 == 0); break;
  case T_LEN:
  case T_LEN_ANY: {
    size_t before = roam_dec_remaining(d);
    rc = t == T_LEN ? roam_dec_len(d, &o.sz) : roam_dec_len_any(d, &o.sz);
    v->a = o.sz;
    if (rc) CHECK(o.sz == 0);
    else if (t == T_LEN) CHECK(o.sz <= before);
    break;
  }
  case T_USIZE: rc = roam_dec_usize(d, &o.sz); v->a = o.sz; if (rc) CHECK(o.sz == 0); break;
  case T_RAW:
    rc = roam_dec_raw(d, arg, &o.s);
    v->s = o.s;
    if (rc) CHECK(o.s.ptr == NULL);
    else CHECK(o.s.len == arg);
    break;
  }
  return rc;
}

static void enc_one(roam_enc *e, const val *v) {
  roam_u128 w = {v->a, v->b};
  float f;
  double g;
  uint32_t bits;
  switch (v->type) {
  case T_U8: roam_enc_u8(e, (uint8_t)v->a); break;
  case T_U16: roam_enc_u16(e, (uint16_t)v->a); break;
  case T_U32: roam_enc_u32(e, (uint32_t)v->a); break;
  case T_U64: roam_enc_u64(e, v->a); break;
  case T_I8: roam_enc_i8(e, (int8_t)(int64_t)v->a); break;
  case T_I16: roam_enc_i16(e, (int16_t)(int64_t)v->a); break;
  case T_I32: roam_enc_i32(e, (int32_t)(int64_t)v->a); break;
  case T_I64: roam_enc_i64(e, (int64_t)v->a); break;
  case T_U128: roam_enc_u128(e, w); break;
  case T_I128: roam_enc_i128(e, w); break;
  case T_F32:
    bits = (uint32_t)v->a;
    memcpy(&f, &bits, 4);
    roam_enc_f32(e, f);
    break;
  case T_F64:
    memcpy(&g, &v->a, 8);
    roam_enc_f64(e, g);
    break;
  case T_BOOL: roam_enc_bool(e, v->a != 0); break;
  case T_CHAR: roam_enc_char(e, (uint32_t)v->a); break;
  case T_STR: roam_enc_str(e, (const char *)v->s.ptr, v->s.len); break;
  case T_BYTES: roam_enc_bytes(e, v->s.ptr, v->s.len); break;
  case T_OPTION:
    if (v->a) roam_enc_some(e);
    else roam_enc_none(e);
    break;
  case T_VARIANT: roam_enc_variant(e, (uint32_t)v->a); break;
  case T_LEN:
  case T_LEN_ANY: roam_enc_len(e, (size_t)v->a); break;
  case T_USIZE: roam_enc_usize(e, (size_t)v->a); break;
  case T_RAW: roam_enc_raw(e, v->s.ptr, v->s.len); break;
  }
}

static int val_eq(const val *x, const val *y) {
  if (x->type != y->type || x->a != y->a || x->b != y->b) return 0;
  if (x->s.len != y->s.len) return 0;
  return x->s.len == 0 || memcmp(x->s.ptr, y->s.ptr, x->s.len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t plen = 1 + data[0] % 16;
  if (size < 1 + plen) return 0;
  const uint8_t *prog = data + 1;
  size_t n = size - 1 - plen;
  uint8_t *in = malloc(n ? n : 1); /* exact size: over-reads are caught */
  if (n) memcpy(in, data + 1 + plen, n);

  size_t max_vals = 4 * n + 4;
  val *vals = malloc(max_vals * sizeof *vals);
  roam_dec d;
  roam_dec_init(&d, in, n);
  size_t nv = 0, pc = 0;
  int err = 0;
  while (roam_dec_remaining(&d) > 0 && nv < max_vals) {
    uint8_t op = prog[pc % plen];
    pc++;
    uint8_t t = (uint8_t)(op % T_COUNT);
    uint8_t arg = (uint8_t)(op / T_COUNT); /* raw: 0..11 bytes */
    const uint8_t *before = d.p;
    err = dec_one(&d, t, arg, &vals[nv]);
    if (err) {
      CHECK(d.p == before); /* a failed read does not move the cursor */
      CHECK(roam_dec_error(&d) == err);
      /* sticky: every later read fails the same way */
      uint64_t x = 7;
      CHECK(roam_dec_u64(&d, &x) == err && x == 0);
      CHECK(roam_dec_finish(&d) == err);
      break;
    }
    CHECK(d.p >= before && d.p <= d.end);
    if (vals[nv].s.len) CHECK(vals[nv].s.ptr >= in && vals[nv].s.ptr + vals[nv].s.len <= in + n);
    nv++;
  }
  if (!err) CHECK(roam_dec_finish(&d) == (roam_dec_remaining(&d) ? ROAM_ERR_TRAILING : 0));
  size_t consumed = (size_t)(d.p - in);
  if (err) consumed = n; /* an upper bound is enough below */

  /* re-encode what decoded */
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  for (size_t i = 0; i < nv; i++) enc_one(&e, &vals[i]);
  CHECK(roam_enc_error(&e) == 0);
  size_t elen = roam_enc_size(&e);
  CHECK(elen <= consumed);

  /* decode it back: same values, no error, nothing left */
  roam_dec d2;
  roam_dec_init(&d2, roam_enc_data(&e), elen);
  roam_enc e2;
  roam_enc_init_growable(&e2, NULL);
  for (size_t i = 0; i < nv; i++) {
    val v;
    /* A count checked against the input that followed it may exceed what
     * is left once the failed tail is gone: read it back unchecked. */
    uint8_t t = vals[i].type == T_LEN ? T_LEN_ANY : vals[i].type;
    CHECK(dec_one(&d2, t, vals[i].arg, &v) == 0);
    v.type = vals[i].type;
    CHECK(val_eq(&v, &vals[i]));
    enc_one(&e2, &v);
  }
  CHECK(roam_dec_finish(&d2) == 0);
  CHECK(roam_enc_size(&e2) == elen);
  CHECK(elen == 0 || memcmp(roam_enc_data(&e2), roam_enc_data(&e), elen) == 0);

  roam_enc_free(&e);
  roam_enc_free(&e2);
  free(vals);
  free(in);
  return 0;
}
