/* Unit tests of the postcard codec (src/wire/postcard.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>

#include <roam/postcard.h>

#include "unit/wire_test_util.h"

/* ------------------------------------------------------------------ */
/* Golden vectors                                                      */
/* ------------------------------------------------------------------ */

static const uint64_t varint_golden[] = {0,     1,     127,   128,   255,  256,
                                         16383, 16384, 65535, 65536, 1048576};

static void test_varint_golden(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof varint_golden / sizeof varint_golden[0]; i++) {
    char name[64];
    uint64_t v = varint_golden[i];
    snprintf(name, sizeof name, "u64_%llu.bin", (unsigned long long)v);
    size_t n;
    uint8_t *want = wt_golden("varint", name, &n);
    uint8_t buf[16];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    assert_int_equal(roam_enc_u64(&e, v), 0);
    assert_int_equal(roam_enc_size(&e), n);
    assert_memory_equal(buf, want, n);
    assert_int_equal(roam_varint_size(v), n);
    assert_int_equal(roam_varint_put(buf, v), n);
    assert_memory_equal(buf, want, n);
    roam_dec d;
    roam_dec_init(&d, want, n);
    uint64_t got;
    assert_int_equal(roam_dec_u64(&d, &got), 0);
    assert_int_equal(got, v);
    assert_int_equal(roam_dec_finish(&d), 0);
    free(want);
  }
  /* and there are no other files in varint/ */
  DIR *dir = opendir(ROAM_GOLDEN_DIR "/varint");
  assert_non_null(dir);
  struct dirent *de;
  size_t files = 0;
  while ((de = readdir(dir)) != NULL) files += strstr(de->d_name, ".bin") != NULL;
  closedir(dir);
  assert_int_equal(files, sizeof varint_golden / sizeof varint_golden[0]);
}

typedef enum {
  T_U8, T_U16, T_U32, T_U64, T_I8, T_I16, T_I32, T_I64, T_F32, T_F64, T_BOOL,
  T_BYTES,       /* s = hex of the bytes */
  T_STRING,      /* s */
  T_OPT_U32,     /* u = 1 for Some, value in i */
  T_OPT_STRING,  /* s = NULL for None */
  T_RESULT_OK_I64,
  T_RESULT_OK_STRING,
  T_RESULT_ERR_STRING,
  T_TUPLE_I32_STRING,
  T_TUPLE_STRING_I32,
  T_VEC_U32,     /* s = comma separated numbers */
  T_VEC_I32,
  T_VEC_STRING,  /* s = comma separated strings */
} ptype;

typedef struct prim_case {
  const char *file;
  ptype type;
  uint64_t u;
  int64_t i;
  double f;
  const char *s;
} prim_case;

static const prim_case prim_cases[] = {
    {"u8_0.bin", T_U8, 0, 0, 0, NULL},
    {"u8_127.bin", T_U8, 127, 0, 0, NULL},
    {"u8_255.bin", T_U8, 255, 0, 0, NULL},
    {"u16_0.bin", T_U16, 0, 0, 0, NULL},
    {"u16_127.bin", T_U16, 127, 0, 0, NULL},
    {"u16_128.bin", T_U16, 128, 0, 0, NULL},
    {"u16_255.bin", T_U16, 255, 0, 0, NULL},
    {"u16_256.bin", T_U16, 256, 0, 0, NULL},
    {"u16_max.bin", T_U16, 65535, 0, 0, NULL},
    {"u32_0.bin", T_U32, 0, 0, 0, NULL},
    {"u32_1.bin", T_U32, 1, 0, 0, NULL},
    {"u32_127.bin", T_U32, 127, 0, 0, NULL},
    {"u32_128.bin", T_U32, 128, 0, 0, NULL},
    {"u32_255.bin", T_U32, 255, 0, 0, NULL},
    {"u32_256.bin", T_U32, 256, 0, 0, NULL},
    {"u32_max.bin", T_U32, UINT32_MAX, 0, 0, NULL},
    {"u64_0.bin", T_U64, 0, 0, 0, NULL},
    {"u64_1.bin", T_U64, 1, 0, 0, NULL},
    {"u64_127.bin", T_U64, 127, 0, 0, NULL},
    {"u64_128.bin", T_U64, 128, 0, 0, NULL},
    {"u64_max.bin", T_U64, UINT64_MAX, 0, 0, NULL},
    {"i8_0.bin", T_I8, 0, 0, 0, NULL},
    {"i8_127.bin", T_I8, 0, 127, 0, NULL},
    {"i8_neg1.bin", T_I8, 0, -1, 0, NULL},
    {"i8_neg128.bin", T_I8, 0, -128, 0, NULL},
    {"i16_0.bin", T_I16, 0, 0, 0, NULL},
    {"i16_1.bin", T_I16, 0, 1, 0, NULL},
    {"i16_127.bin", T_I16, 0, 127, 0, NULL},
    {"i16_128.bin", T_I16, 0, 128, 0, NULL},
    {"i16_max.bin", T_I16, 0, INT16_MAX, 0, NULL},
    {"i16_min.bin", T_I16, 0, INT16_MIN, 0, NULL},
    {"i16_neg1.bin", T_I16, 0, -1, 0, NULL},
    {"i32_0.bin", T_I32, 0, 0, 0, NULL},
    {"i32_1.bin", T_I32, 0, 1, 0, NULL},
    {"i32_127.bin", T_I32, 0, 127, 0, NULL},
    {"i32_128.bin", T_I32, 0, 128, 0, NULL},
    {"i32_max.bin", T_I32, 0, INT32_MAX, 0, NULL},
    {"i32_min.bin", T_I32, 0, INT32_MIN, 0, NULL},
    {"i32_neg1.bin", T_I32, 0, -1, 0, NULL},
    {"i32_neg128.bin", T_I32, 0, -128, 0, NULL},
    {"i64_0.bin", T_I64, 0, 0, 0, NULL},
    {"i64_1.bin", T_I64, 0, 1, 0, NULL},
    {"i64_15.bin", T_I64, 0, 15, 0, NULL},
    {"i64_42.bin", T_I64, 0, 42, 0, NULL},
    {"i64_max.bin", T_I64, 0, INT64_MAX, 0, NULL},
    {"i64_min.bin", T_I64, 0, INT64_MIN, 0, NULL},
    {"i64_neg1.bin", T_I64, 0, -1, 0, NULL},
    {"f32_0.bin", T_F32, 0, 0, 0.0, NULL},
    {"f32_0_25.bin", T_F32, 0, 0, 0.25, NULL},
    {"f32_1.bin", T_F32, 0, 0, 1.0, NULL},
    {"f32_1_5.bin", T_F32, 0, 0, 1.5, NULL},
    {"f32_neg1.bin", T_F32, 0, 0, -1.0, NULL},
    {"f64_0.bin", T_F64, 0, 0, 0.0, NULL},
    {"f64_0_25.bin", T_F64, 0, 0, 0.25, NULL},
    {"f64_1.bin", T_F64, 0, 0, 1.0, NULL},
    {"f64_1_5.bin", T_F64, 0, 0, 1.5, NULL},
    {"f64_neg1.bin", T_F64, 0, 0, -1.0, NULL},
    {"bool_false.bin", T_BOOL, 0, 0, 0, NULL},
    {"bool_true.bin", T_BOOL, 1, 0, 0, NULL},
    {"bytes_empty.bin", T_BYTES, 0, 0, 0, ""},
    {"bytes_deadbeef.bin", T_BYTES, 0, 0, 0, "deadbeef"},
    {"string_empty.bin", T_STRING, 0, 0, 0, ""},
    {"string_hello.bin", T_STRING, 0, 0, 0, "hello world"},
    {"string_unicode.bin", T_STRING, 0, 0, 0, "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x80"},
    {"option_none_u32.bin", T_OPT_U32, 0, 0, 0, NULL},
    {"option_some_u32_42.bin", T_OPT_U32, 1, 42, 0, NULL},
    {"option_none_string.bin", T_OPT_STRING, 0, 0, 0, NULL},
    {"option_some_string.bin", T_OPT_STRING, 0, 0, 0, "hello"},
    {"result_ok_i64_42.bin", T_RESULT_OK_I64, 0, 42, 0, NULL},
    {"result_ok_string.bin", T_RESULT_OK_STRING, 0, 0, 0, "hello"},
    {"result_err_string.bin", T_RESULT_ERR_STRING, 0, 0, 0, "error message"},
    {"tuple_i32_string.bin", T_TUPLE_I32_STRING, 0, 42, 0, "hello"},
    {"tuple_string_i32.bin", T_TUPLE_STRING_I32, 0, 42, 0, "hello"},
    {"vec_empty_u32.bin", T_VEC_U32, 0, 0, 0, ""},
    {"vec_u32_1_2_3.bin", T_VEC_U32, 0, 0, 0, "1,2,3"},
    {"vec_i32_neg1_0_1.bin", T_VEC_I32, 0, 0, 0, "-1,0,1"},
    {"vec_string.bin", T_VEC_STRING, 0, 0, 0, "a,b"},
};
#define N_PRIM (sizeof prim_cases / sizeof prim_cases[0])

/* Split "a,b,c" into up to 8 parts (pointers into a copy). */
static size_t split_csv(const char *s, char *copy, size_t cap, const char **parts) {
  size_t n = 0;
  if (!*s) return 0;
  snprintf(copy, cap, "%s", s);
  char *p = copy;
  parts[n++] = p;
  for (; *p; p++) {
    if (*p == ',') {
      *p = 0;
      parts[n++] = p + 1;
    }
  }
  return n;
}

static void encode_case(roam_enc *e, const prim_case *c) {
  uint8_t tmp[64];
  char copy[128];
  const char *parts[8];
  size_t n;
  switch (c->type) {
  case T_U8: roam_enc_u8(e, (uint8_t)c->u); break;
  case T_U16: roam_enc_u16(e, (uint16_t)c->u); break;
  case T_U32: roam_enc_u32(e, (uint32_t)c->u); break;
  case T_U64: roam_enc_u64(e, c->u); break;
  case T_I8: roam_enc_i8(e, (int8_t)c->i); break;
  case T_I16: roam_enc_i16(e, (int16_t)c->i); break;
  case T_I32: roam_enc_i32(e, (int32_t)c->i); break;
  case T_I64: roam_enc_i64(e, c->i); break;
  case T_F32: roam_enc_f32(e, (float)c->f); break;
  case T_F64: roam_enc_f64(e, c->f); break;
  case T_BOOL: roam_enc_bool(e, c->u != 0); break;
  case T_BYTES:
    n = wt_unhex(c->s, tmp);
    roam_enc_bytes(e, tmp, n);
    break;
  case T_STRING: roam_enc_cstr(e, c->s); break;
  case T_OPT_U32:
    if (c->u) {
      roam_enc_some(e);
      roam_enc_u32(e, (uint32_t)c->i);
    } else {
      roam_enc_none(e);
    }
    break;
  case T_OPT_STRING:
    if (c->s) {
      roam_enc_some(e);
      roam_enc_cstr(e, c->s);
    } else {
      roam_enc_none(e);
    }
    break;
  case T_RESULT_OK_I64:
    roam_enc_variant(e, 0);
    roam_enc_i64(e, c->i);
    break;
  case T_RESULT_OK_STRING:
    roam_enc_variant(e, 0);
    roam_enc_cstr(e, c->s);
    break;
  case T_RESULT_ERR_STRING:
    roam_enc_variant(e, 1);
    roam_enc_cstr(e, c->s);
    break;
  case T_TUPLE_I32_STRING:
    roam_enc_i32(e, (int32_t)c->i);
    roam_enc_cstr(e, c->s);
    break;
  case T_TUPLE_STRING_I32:
    roam_enc_cstr(e, c->s);
    roam_enc_i32(e, (int32_t)c->i);
    break;
  case T_VEC_U32:
  case T_VEC_I32:
  case T_VEC_STRING:
    n = split_csv(c->s, copy, sizeof copy, parts);
    roam_enc_len(e, n);
    for (size_t i = 0; i < n; i++) {
      if (c->type == T_VEC_U32) roam_enc_u32(e, (uint32_t)strtoul(parts[i], NULL, 10));
      else if (c->type == T_VEC_I32) roam_enc_i32(e, (int32_t)strtol(parts[i], NULL, 10));
      else roam_enc_cstr(e, parts[i]);
    }
    break;
  }
}

static void expect_str(roam_dec *d, const char *want) {
  roam_bytes s;
  assert_int_equal(roam_dec_str(d, &s), 0);
  assert_int_equal(s.len, strlen(want));
  if (s.len) assert_memory_equal(s.ptr, want, s.len);
}

static void decode_case(roam_dec *d, const prim_case *c) {
  uint8_t tmp[64];
  char copy[128];
  const char *parts[8];
  size_t n;
  switch (c->type) {
  case T_U8: { uint8_t v; assert_int_equal(roam_dec_u8(d, &v), 0); assert_int_equal(v, c->u); break; }
  case T_U16: { uint16_t v; assert_int_equal(roam_dec_u16(d, &v), 0); assert_int_equal(v, c->u); break; }
  case T_U32: { uint32_t v; assert_int_equal(roam_dec_u32(d, &v), 0); assert_int_equal(v, c->u); break; }
  case T_U64: { uint64_t v; assert_int_equal(roam_dec_u64(d, &v), 0); assert_true(v == c->u); break; }
  case T_I8: { int8_t v; assert_int_equal(roam_dec_i8(d, &v), 0); assert_true(v == c->i); break; }
  case T_I16: { int16_t v; assert_int_equal(roam_dec_i16(d, &v), 0); assert_true(v == c->i); break; }
  case T_I32: { int32_t v; assert_int_equal(roam_dec_i32(d, &v), 0); assert_true(v == c->i); break; }
  case T_I64: { int64_t v; assert_int_equal(roam_dec_i64(d, &v), 0); assert_true(v == c->i); break; }
  case T_F32: { float v; assert_int_equal(roam_dec_f32(d, &v), 0); assert_true(v == (float)c->f); break; }
  case T_F64: { double v; assert_int_equal(roam_dec_f64(d, &v), 0); assert_true(v == c->f); break; }
  case T_BOOL: { bool v; assert_int_equal(roam_dec_bool(d, &v), 0); assert_true(v == (c->u != 0)); break; }
  case T_BYTES: {
    roam_bytes b;
    n = wt_unhex(c->s, tmp);
    assert_int_equal(roam_dec_bytes(d, &b), 0);
    assert_int_equal(b.len, n);
    if (n) assert_memory_equal(b.ptr, tmp, n);
    break;
  }
  case T_STRING: expect_str(d, c->s); break;
  case T_OPT_U32: {
    bool some;
    assert_int_equal(roam_dec_option(d, &some), 0);
    assert_true(some == (c->u != 0));
    if (some) {
      uint32_t v;
      assert_int_equal(roam_dec_u32(d, &v), 0);
      assert_int_equal(v, c->i);
    }
    break;
  }
  case T_OPT_STRING: {
    bool some;
    assert_int_equal(roam_dec_option(d, &some), 0);
    assert_true(some == (c->s != NULL));
    if (some) expect_str(d, c->s);
    break;
  }
  case T_RESULT_OK_I64: {
    uint32_t v;
    int64_t x;
    assert_int_equal(roam_dec_variant(d, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(roam_dec_i64(d, &x), 0);
    assert_true(x == c->i);
    break;
  }
  case T_RESULT_OK_STRING:
  case T_RESULT_ERR_STRING: {
    uint32_t v;
    assert_int_equal(roam_dec_variant(d, &v), 0);
    assert_int_equal(v, c->type == T_RESULT_ERR_STRING ? 1 : 0);
    expect_str(d, c->s);
    break;
  }
  case T_TUPLE_I32_STRING: {
    int32_t x;
    assert_int_equal(roam_dec_i32(d, &x), 0);
    assert_int_equal(x, c->i);
    expect_str(d, c->s);
    break;
  }
  case T_TUPLE_STRING_I32: {
    int32_t x;
    expect_str(d, c->s);
    assert_int_equal(roam_dec_i32(d, &x), 0);
    assert_int_equal(x, c->i);
    break;
  }
  case T_VEC_U32:
  case T_VEC_I32:
  case T_VEC_STRING: {
    size_t count;
    n = split_csv(c->s, copy, sizeof copy, parts);
    assert_int_equal(roam_dec_len(d, &count), 0);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++) {
      if (c->type == T_VEC_U32) {
        uint32_t v;
        assert_int_equal(roam_dec_u32(d, &v), 0);
        assert_int_equal(v, strtoul(parts[i], NULL, 10));
      } else if (c->type == T_VEC_I32) {
        int32_t v;
        assert_int_equal(roam_dec_i32(d, &v), 0);
        assert_int_equal(v, strtol(parts[i], NULL, 10));
      } else {
        expect_str(d, parts[i]);
      }
    }
    break;
  }
  }
}

static void test_primitives_golden(void **state) {
  (void)state;
  for (size_t i = 0; i < N_PRIM; i++) {
    const prim_case *c = &prim_cases[i];
    size_t n;
    uint8_t *want = wt_golden("primitives", c->file, &n);
    /* encode into a fixed buffer and into a growable one */
    uint8_t buf[128];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    encode_case(&e, c);
    if (roam_enc_error(&e) || roam_enc_size(&e) != n || memcmp(buf, want, n) != 0)
      fail_msg("%s: encoded %s", c->file, wt_hex(buf, roam_enc_size(&e)));
    roam_enc g;
    roam_enc_init_growable(&g, NULL);
    encode_case(&g, c);
    assert_int_equal(roam_enc_error(&g), 0);
    assert_int_equal(roam_enc_size(&g), n);
    assert_memory_equal(roam_enc_data(&g), want, n);
    roam_enc_free(&g);
    /* decode */
    roam_dec d;
    roam_dec_init(&d, want, n);
    decode_case(&d, c);
    if (roam_dec_finish(&d) != 0) fail_msg("%s: decode left %d", c->file, roam_dec_finish(&d));
    free(want);
  }
}

/* Every file of primitives/ is covered by the table above. */
static void test_primitives_all_files_covered(void **state) {
  (void)state;
  DIR *dir = opendir(ROAM_GOLDEN_DIR "/primitives");
  assert_non_null(dir);
  struct dirent *de;
  size_t files = 0;
  while ((de = readdir(dir)) != NULL) {
    const char *nm = de->d_name;
    size_t l = strlen(nm);
    if (l < 4 || strcmp(nm + l - 4, ".bin") != 0) continue;
    files++;
    int found = 0;
    for (size_t i = 0; i < N_PRIM; i++)
      if (strcmp(prim_cases[i].file, nm) == 0) found = 1;
    if (!found) fail_msg("primitives/%s has no test case", nm);
  }
  closedir(dir);
  assert_int_equal(files, N_PRIM);
}

/* ------------------------------------------------------------------ */
/* Malformed input                                                     */
/* ------------------------------------------------------------------ */

typedef enum {
  D_U16, D_U32, D_U64, D_USIZE, D_I16, D_I32, D_I64, D_U128, D_BOOL, D_STR, D_BYTES, D_CHAR,
  D_OPTION, D_LEN, D_LEN_ANY, D_VARIANT, D_F32, D_F64, D_U8
} dtype;

typedef struct bad_case {
  const char *name;
  dtype type;
  const char *hex;
  int want;
} bad_case;

static const bad_case bad_cases[] = {
    /* truncation */
    {"empty u32", D_U32, "", ROAM_ERR_TRUNCATED},
    {"empty u8", D_U8, "", ROAM_ERR_TRUNCATED},
    {"cut varint", D_U64, "80", ROAM_ERR_TRUNCATED},
    {"cut varint 9", D_U64, "ffffffffffffffffff", ROAM_ERR_TRUNCATED},
    {"cut u32", D_U32, "ffffffff", ROAM_ERR_TRUNCATED},
    {"cut u16", D_U16, "ff80", ROAM_ERR_TRUNCATED},
    {"cut f32", D_F32, "000080", ROAM_ERR_TRUNCATED},
    {"cut f64", D_F64, "00000000000000", ROAM_ERR_TRUNCATED},
    {"cut str", D_STR, "05616263", ROAM_ERR_TRUNCATED},
    {"cut bytes", D_BYTES, "0201", ROAM_ERR_TRUNCATED},
    {"huge bytes len", D_BYTES, "ffffffffffffffffff01", ROAM_ERR_TRUNCATED},
    {"cut bool", D_BOOL, "", ROAM_ERR_TRUNCATED},
    {"cut option", D_OPTION, "", ROAM_ERR_TRUNCATED},
    {"len > remaining", D_LEN, "0301", ROAM_ERR_TRUNCATED},
    {"cut u128", D_U128, "8080", ROAM_ERR_TRUNCATED},
    /* overlong / overflowing varints */
    {"u16 4 bytes", D_U16, "80808000", ROAM_ERR_VARINT},
    {"u16 overflow", D_U16, "ffff04", ROAM_ERR_VARINT},
    {"u16 last byte cont", D_U16, "808080", ROAM_ERR_VARINT},
    {"i16 overflow", D_I16, "ffff07", ROAM_ERR_VARINT},
    {"u32 6 bytes", D_U32, "808080808000", ROAM_ERR_VARINT},
    {"u32 overflow 0x10", D_U32, "ffffffff10", ROAM_ERR_VARINT},
    {"u32 overflow 0x1f", D_U32, "808080801f", ROAM_ERR_VARINT},
    {"u32 = 2^32", D_U32, "8080808010", ROAM_ERR_VARINT},
    {"i32 overflow", D_I32, "ffffffff1f", ROAM_ERR_VARINT},
    {"variant overflow", D_VARIANT, "ffffffff7f", ROAM_ERR_VARINT},
    {"u64 11 bytes", D_U64, "8080808080808080808000", ROAM_ERR_VARINT},
    {"u64 overflow", D_U64, "ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"u64 overflow 0x7f", D_U64, "ffffffffffffffffff7f", ROAM_ERR_VARINT},
    {"i64 overflow", D_I64, "ffffffffffffffffff03", ROAM_ERR_VARINT},
    {"usize overflow", D_USIZE, "ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"len overlong", D_LEN, "8080808080808080808000", ROAM_ERR_VARINT},
    {"len_any overflow", D_LEN_ANY, "ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"str len overflow", D_STR, "ffffffffffffffffff02", ROAM_ERR_VARINT},
    {"u128 20 bytes", D_U128, "80808080808080808080808080808080808080" "00", ROAM_ERR_VARINT},
    {"u128 overflow", D_U128, "ffffffffffffffffffffffffffffffffffff04", ROAM_ERR_VARINT},
    /* bool and option tags */
    {"bool 2", D_BOOL, "02", ROAM_ERR_BAD_BOOL},
    {"bool ff", D_BOOL, "ff", ROAM_ERR_BAD_BOOL},
    {"option 2", D_OPTION, "02", ROAM_ERR_DECODE},
    {"option 80", D_OPTION, "80", ROAM_ERR_DECODE},
    /* UTF-8 */
    {"lone continuation", D_STR, "0180", ROAM_ERR_BAD_UTF8},
    {"overlong slash C0", D_STR, "02c0af", ROAM_ERR_BAD_UTF8},
    {"overlong C1", D_STR, "02c1bf", ROAM_ERR_BAD_UTF8},
    {"overlong 3-byte", D_STR, "03e08080", ROAM_ERR_BAD_UTF8},
    {"overlong 3-byte 7ff", D_STR, "03e09fbf", ROAM_ERR_BAD_UTF8},
    {"overlong 4-byte", D_STR, "04f08fbfbf", ROAM_ERR_BAD_UTF8},
    {"surrogate D800", D_STR, "03eda080", ROAM_ERR_BAD_UTF8},
    {"surrogate DFFF", D_STR, "03edbfbf", ROAM_ERR_BAD_UTF8},
    {"above 10FFFF", D_STR, "04f4908080", ROAM_ERR_BAD_UTF8},
    {"F5 lead", D_STR, "04f5808080", ROAM_ERR_BAD_UTF8},
    {"FF byte", D_STR, "01ff", ROAM_ERR_BAD_UTF8},
    {"cut 2-byte", D_STR, "01c3", ROAM_ERR_BAD_UTF8},
    {"cut 3-byte", D_STR, "02e4b8", ROAM_ERR_BAD_UTF8},
    {"cut 4-byte", D_STR, "03f09fa6", ROAM_ERR_BAD_UTF8},
    {"bad continuation", D_STR, "02c341", ROAM_ERR_BAD_UTF8},
    {"bad after ascii run", D_STR, "0b61616161616161616161ff", ROAM_ERR_BAD_UTF8},
    /* char */
    {"char empty", D_CHAR, "00", ROAM_ERR_BAD_CHAR},
    {"char two", D_CHAR, "026162", ROAM_ERR_BAD_CHAR},
    {"char two multibyte", D_CHAR, "04c3a9c3a9", ROAM_ERR_BAD_CHAR},
    {"char five bytes", D_CHAR, "056161616161", ROAM_ERR_BAD_CHAR},
    {"char surrogate", D_CHAR, "03eda080", ROAM_ERR_BAD_CHAR},
    {"char > 10FFFF", D_CHAR, "04f4908080", ROAM_ERR_BAD_CHAR},
    {"char overlong", D_CHAR, "02c180", ROAM_ERR_BAD_CHAR},
    {"char bad cont", D_CHAR, "02c341", ROAM_ERR_BAD_CHAR},
    {"char continuation", D_CHAR, "0180", ROAM_ERR_BAD_CHAR},
    {"char cut", D_CHAR, "0261", ROAM_ERR_TRUNCATED},
};

static int decode_one(roam_dec *d, dtype t) {
  union {
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; size_t sz; int16_t i16; int32_t i32;
    int64_t i64; roam_u128 u128; bool b; roam_bytes bytes; float f32; double f64;
  } v;
  switch (t) {
  case D_U8: return roam_dec_u8(d, &v.u8);
  case D_U16: return roam_dec_u16(d, &v.u16);
  case D_U32: return roam_dec_u32(d, &v.u32);
  case D_U64: return roam_dec_u64(d, &v.u64);
  case D_USIZE: return roam_dec_usize(d, &v.sz);
  case D_I16: return roam_dec_i16(d, &v.i16);
  case D_I32: return roam_dec_i32(d, &v.i32);
  case D_I64: return roam_dec_i64(d, &v.i64);
  case D_U128: return roam_dec_u128(d, &v.u128);
  case D_BOOL: return roam_dec_bool(d, &v.b);
  case D_STR: return roam_dec_str(d, &v.bytes);
  case D_BYTES: return roam_dec_bytes(d, &v.bytes);
  case D_CHAR: return roam_dec_char(d, &v.u32);
  case D_OPTION: return roam_dec_option(d, &v.b);
  case D_LEN: return roam_dec_len(d, &v.sz);
  case D_LEN_ANY: return roam_dec_len_any(d, &v.sz);
  case D_VARIANT: return roam_dec_variant(d, &v.u32);
  case D_F32: return roam_dec_f32(d, &v.f32);
  case D_F64: return roam_dec_f64(d, &v.f64);
  }
  return 0;
}

static void test_malformed_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case *c = &bad_cases[i];
    uint8_t buf[64];
    size_t n = wt_unhex(c->hex, buf);
    roam_dec d;
    roam_dec_init(&d, buf, n);
    int rc = decode_one(&d, c->type);
    if (rc != c->want)
      fail_msg("%s: got %s, want %s", c->name, roam_err_name(rc), roam_err_name(c->want));
    /* sticky: the error stays, further reads report it */
    assert_int_equal(roam_dec_error(&d), c->want);
    uint64_t x = 123;
    assert_int_equal(roam_dec_u64(&d, &x), c->want);
    assert_true(x == 0);
    assert_int_equal(roam_dec_finish(&d), c->want);
    /* The same with plenty of input after the value (the decoder takes
     * wider paths then): same verdict, unless it was only a truncation. */
    if (c->want != ROAM_ERR_TRUNCATED) {
      for (int fill = 0; fill < 256; fill += 255) {
        memset(buf + n, fill, 24);
        roam_dec_init(&d, buf, n + 24);
        rc = decode_one(&d, c->type);
        if (rc != c->want)
          fail_msg("%s (+24 bytes of %02x): got %s, want %s", c->name, fill, roam_err_name(rc),
                   roam_err_name(c->want));
      }
    }
  }
}

/* Every varint length of every width, at the end of the input and with
 * room after it, against a simple reference. */
static void test_varint_all_lengths(void **state) {
  (void)state;
  static const struct {
    unsigned max_bytes, bits;
  } w[] = {{3, 16}, {5, 32}, {10, 64}};
  for (size_t t = 0; t < 3; t++) {
    for (unsigned len = 1; len <= w[t].max_bytes + 2; len++) {
      for (int last = 0; last < 256; last++) {
        for (int room = 0; room <= 16; room += 16) {
          uint8_t buf[40];
          memset(buf, 0x80, sizeof buf);
          for (unsigned i = 0; i + 1 < len; i++) buf[i] = (uint8_t)(0x80 | ((i * 37 + (unsigned)last) & 0x7f));
          buf[len - 1] = (uint8_t)last;
          /* reference */
          int want_rc = 0;
          uint64_t want = 0;
          size_t want_n = 0;
          for (unsigned i = 0;; i++) {
            if (i >= len + (unsigned)room) { want_rc = ROAM_ERR_TRUNCATED; break; }
            uint8_t b = buf[i];
            if (i == w[t].max_bytes - 1) {
              unsigned spare = w[t].bits - 7 * i; /* bits left for this byte */
              if (b >> spare) { want_rc = ROAM_ERR_VARINT; break; }
            }
            want |= (uint64_t)(b & 0x7f) << (7 * i);
            if (!(b & 0x80)) { want_n = i + 1; break; }
          }
          roam_dec d;
          roam_dec_init(&d, buf, len + (size_t)room);
          uint64_t got = 0;
          int rc;
          if (w[t].bits == 16) { uint16_t v; rc = roam_dec_u16(&d, &v); got = v; }
          else if (w[t].bits == 32) { uint32_t v; rc = roam_dec_u32(&d, &v); got = v; }
          else rc = roam_dec_u64(&d, &got);
          if (rc != want_rc || (rc == 0 && (got != want || roam_dec_remaining(&d) != len + room - want_n)))
            fail_msg("u%u len %u last %02x room %d: rc %s value %llx, want %s %llx", w[t].bits, len,
                     last, room, roam_err_name(rc), (unsigned long long)got, roam_err_name(want_rc),
                     (unsigned long long)want);
        }
      }
    }
  }
}

/* Limits that are exactly at the edge still decode. */
static void test_varint_edges_ok(void **state) {
  (void)state;
  uint8_t buf[32];
  roam_dec d;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  size_t n = wt_unhex("ffff03", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u16(&d, &u16), 0);
  assert_int_equal(u16, 0xffff);
  n = wt_unhex("ffffffff0f", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u32(&d, &u32), 0);
  assert_int_equal(u32, 0xffffffffu);
  n = wt_unhex("ffffffffffffffffff01", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u64(&d, &u64), 0);
  assert_true(u64 == UINT64_MAX);
  /* Non-canonical (padded) encodings within the length limit are
   * accepted, as postcard does. */
  n = wt_unhex("8000", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u16(&d, &u16), 0);
  assert_int_equal(u16, 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  n = wt_unhex("8180808000", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u32(&d, &u32), 0);
  assert_int_equal(u32, 1);
  /* len_any accepts a count larger than the input (zero-sized elements) */
  n = wt_unhex("ff01", buf);
  roam_dec_init(&d, buf, n);
  size_t cnt;
  assert_int_equal(roam_dec_len_any(&d, &cnt), 0);
  assert_int_equal(cnt, 255);
  /* trailing bytes */
  n = wt_unhex("0102", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_u8(&d, buf + 20), 0);
  assert_int_equal(roam_dec_remaining(&d), 1);
  assert_int_equal(roam_dec_finish(&d), ROAM_ERR_TRAILING);
  /* raw */
  roam_bytes raw;
  n = wt_unhex("010203", buf);
  roam_dec_init(&d, buf, n);
  assert_int_equal(roam_dec_raw(&d, 2, &raw), 0);
  assert_ptr_equal(raw.ptr, buf);
  assert_int_equal(raw.len, 2);
  assert_int_equal(roam_dec_raw(&d, 2, &raw), ROAM_ERR_TRUNCATED);
  assert_null(raw.ptr);
}

/* Zero-copy: strings and bytes point into the input. */
static void test_zero_copy(void **state) {
  (void)state;
  uint8_t buf[] = {3, 'a', 'b', 'c', 2, 0xde, 0xad};
  roam_dec d;
  roam_bytes s, b;
  roam_dec_init(&d, buf, sizeof buf);
  assert_int_equal(roam_dec_str(&d, &s), 0);
  assert_int_equal(roam_dec_bytes(&d, &b), 0);
  assert_ptr_equal(s.ptr, buf + 1);
  assert_ptr_equal(b.ptr, buf + 5);
  assert_int_equal(roam_dec_finish(&d), 0);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

static void test_random_round_trips(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 42);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  enum { N = 20000 };
  static uint64_t vals[N];
  for (int i = 0; i < N; i++) vals[i] = wt_rand_varied(&r);
  vals[0] = 0;
  vals[1] = UINT64_MAX;
  vals[2] = (uint64_t)INT64_MIN;
  vals[3] = (uint64_t)INT64_MAX;
  for (int i = 0; i < N; i++) {
    uint64_t v = vals[i];
    roam_enc_u64(&e, v);
    roam_enc_i64(&e, (int64_t)v);
    roam_enc_u32(&e, (uint32_t)v);
    roam_enc_i32(&e, (int32_t)(uint32_t)v);
    roam_enc_u16(&e, (uint16_t)v);
    roam_enc_i16(&e, (int16_t)(uint16_t)v);
    roam_enc_i8(&e, (int8_t)(uint8_t)v);
    roam_u128 w = {v, vals[(i + 1) % N]};
    roam_enc_u128(&e, w);
    roam_enc_i128(&e, w);
    float f;
    double g;
    uint32_t fb = (uint32_t)v;
    memcpy(&f, &fb, 4);
    memcpy(&g, &v, 8);
    roam_enc_f32(&e, f);
    roam_enc_f64(&e, g);
    roam_enc_bool(&e, v & 1);
    roam_enc_usize(&e, (size_t)v);
  }
  assert_int_equal(roam_enc_error(&e), 0);
  roam_dec d;
  roam_dec_init(&d, roam_enc_data(&e), roam_enc_size(&e));
  for (int i = 0; i < N; i++) {
    uint64_t v = vals[i], u64;
    int64_t i64;
    uint32_t u32;
    int32_t i32;
    uint16_t u16;
    int16_t i16;
    int8_t i8;
    roam_u128 a, b;
    float f;
    double g;
    bool bo;
    size_t sz;
    roam_dec_u64(&d, &u64);
    roam_dec_i64(&d, &i64);
    roam_dec_u32(&d, &u32);
    roam_dec_i32(&d, &i32);
    roam_dec_u16(&d, &u16);
    roam_dec_i16(&d, &i16);
    roam_dec_i8(&d, &i8);
    roam_dec_u128(&d, &a);
    roam_dec_i128(&d, &b);
    roam_dec_f32(&d, &f);
    roam_dec_f64(&d, &g);
    roam_dec_bool(&d, &bo);
    roam_dec_usize(&d, &sz);
    assert_int_equal(roam_dec_error(&d), 0);
    assert_true(u64 == v);
    assert_true((uint64_t)i64 == v);
    assert_true(u32 == (uint32_t)v);
    assert_true((uint32_t)i32 == (uint32_t)v);
    assert_true(u16 == (uint16_t)v);
    assert_true((uint16_t)i16 == (uint16_t)v);
    assert_true((uint8_t)i8 == (uint8_t)v);
    assert_true(a.lo == v && a.hi == vals[(i + 1) % N]);
    assert_true(b.lo == v && b.hi == vals[(i + 1) % N]);
    uint32_t fb;
    uint64_t gb;
    memcpy(&fb, &f, 4);
    memcpy(&gb, &g, 8);
    assert_true(fb == (uint32_t)v);
    assert_true(gb == v);
    assert_true(bo == (v & 1));
    assert_true(sz == (size_t)v);
  }
  assert_int_equal(roam_dec_finish(&d), 0);
  roam_enc_free(&e);
}

static void test_zigzag_and_128(void **state) {
  (void)state;
  struct {
    int64_t v;
    const char *hex;
  } z[] = {{0, "00"}, {-1, "01"}, {1, "02"}, {-2, "03"}, {2, "04"}, {-64, "7f"}, {64, "8001"}};
  for (size_t i = 0; i < sizeof z / sizeof z[0]; i++) {
    uint8_t want[16], buf[16];
    size_t n = wt_unhex(z[i].hex, want);
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    roam_enc_i64(&e, z[i].v);
    assert_int_equal(roam_enc_size(&e), n);
    assert_memory_equal(buf, want, n);
  }
  /* u128 max: 19 bytes, last 0x03 */
  uint8_t buf[32];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  roam_u128 max = {UINT64_MAX, UINT64_MAX};
  roam_enc_u128(&e, max);
  assert_int_equal(roam_enc_size(&e), 19);
  assert_int_equal(buf[18], 0x03);
  roam_dec d;
  roam_dec_init(&d, buf, 19);
  roam_u128 got;
  assert_int_equal(roam_dec_u128(&d, &got), 0);
  assert_true(got.lo == UINT64_MAX && got.hi == UINT64_MAX);
  /* i128: -1 -> 01, i128 min -> 19 bytes */
  roam_enc_init(&e, buf, sizeof buf);
  roam_u128 m1 = {UINT64_MAX, UINT64_MAX};
  roam_enc_i128(&e, m1);
  assert_int_equal(roam_enc_size(&e), 1);
  assert_int_equal(buf[0], 1);
  roam_enc_init(&e, buf, sizeof buf);
  roam_u128 mn = {0, UINT64_C(1) << 63};
  roam_enc_i128(&e, mn);
  assert_int_equal(roam_enc_size(&e), 19);
  roam_dec_init(&d, buf, 19);
  assert_int_equal(roam_dec_i128(&d, &got), 0);
  assert_true(got.lo == 0 && got.hi == UINT64_C(1) << 63);
  /* u128 value 2^64 */
  roam_enc_init(&e, buf, sizeof buf);
  roam_u128 p64 = {0, 1};
  roam_enc_u128(&e, p64);
  roam_dec_init(&d, buf, roam_enc_size(&e));
  assert_int_equal(roam_dec_u128(&d, &got), 0);
  assert_true(got.lo == 0 && got.hi == 1);
}

static void test_chars(void **state) {
  (void)state;
  uint32_t cps[] = {0, 'A', 0x7f, 0x80, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff,
                    0x10000, 0x1f980, 0x10ffff};
  for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
    uint8_t buf[8];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    assert_int_equal(roam_enc_char(&e, cps[i]), 0);
    assert_int_equal(buf[0], roam_enc_size(&e) - 1);
    assert_true(roam_utf8_valid(buf + 1, buf[0]));
    roam_dec d;
    roam_dec_init(&d, buf, roam_enc_size(&e));
    uint32_t got;
    assert_int_equal(roam_dec_char(&d, &got), 0);
    assert_int_equal(got, cps[i]);
    assert_int_equal(roam_dec_finish(&d), 0);
  }
  uint32_t bad[] = {0xd800, 0xdbff, 0xdc00, 0xdfff, 0x110000, 0xffffffff};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t buf[8];
    roam_enc e;
    roam_enc_init(&e, buf, sizeof buf);
    assert_int_equal(roam_enc_char(&e, bad[i]), ROAM_ERR_BAD_CHAR);
    assert_int_equal(roam_enc_error(&e), ROAM_ERR_BAD_CHAR);
    assert_int_equal(roam_enc_u8(&e, 1), ROAM_ERR_BAD_CHAR); /* sticky */
  }
}

/* Reference UTF-8 check: decode scalar by scalar, the slow way. */
static int ref_utf8(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    size_t len;
    uint32_t c, min;
    if (b < 0x80) { i++; continue; }
    else if ((b & 0xE0) == 0xC0) { len = 2; c = b & 0x1f; min = 0x80; }
    else if ((b & 0xF0) == 0xE0) { len = 3; c = b & 0x0f; min = 0x800; }
    else if ((b & 0xF8) == 0xF0) { len = 4; c = b & 0x07; min = 0x10000; }
    else return 0;
    if (n - i < len) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return 0;
      c = (c << 6) | (p[i + k] & 0x3f);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    i += len;
  }
  return 1;
}

static void test_utf8_exhaustive(void **state) {
  (void)state;
  uint8_t b[4];
  /* every 1, 2 and 3 byte sequence */
  for (uint32_t x = 0; x < (1u << 24); x++) {
    b[0] = (uint8_t)(x >> 16);
    b[1] = (uint8_t)(x >> 8);
    b[2] = (uint8_t)x;
    if (x < 256) {
      assert_int_equal(roam_utf8_valid(b + 2, 1), ref_utf8(b + 2, 1));
    }
    if (x < 65536) {
      assert_int_equal(roam_utf8_valid(b + 1, 2), ref_utf8(b + 1, 2));
    }
    if (roam_utf8_valid(b, 3) != ref_utf8(b, 3)) fail_msg("3-byte %06x", (unsigned)x);
  }
  /* 4-byte sequences with every lead and second byte, sampled tails */
  for (uint32_t x = 0; x < 65536; x++) {
    for (uint32_t t = 0; t < 256; t += 17) {
      b[0] = (uint8_t)(x >> 8);
      b[1] = (uint8_t)x;
      b[2] = (uint8_t)t;
      b[3] = (uint8_t)(255 - t);
      if (roam_utf8_valid(b, 4) != ref_utf8(b, 4)) fail_msg("4-byte %02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
      b[2] = 0x80 | (uint8_t)(t & 0x3f);
      b[3] = 0xbf;
      if (roam_utf8_valid(b, 4) != ref_utf8(b, 4)) fail_msg("4-byte %02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    }
  }
  /* random strings: valid UTF-8 with one byte mutated */
  wt_rng r;
  wt_rng_seed(&r, 7);
  uint8_t s[300];
  for (int it = 0; it < 200000; it++) {
    size_t n = (size_t)wt_below(&r, sizeof s);
    wt_fill_utf8(&r, s, n);
    assert_true(roam_utf8_valid(s, n));
    if (n) s[wt_below(&r, n)] = (uint8_t)wt_rand(&r);
    assert_int_equal(roam_utf8_valid(s, n), ref_utf8(s, n));
  }
  assert_true(roam_utf8_valid(NULL, 0));
}

/* ------------------------------------------------------------------ */
/* Encoder behaviour                                                   */
/* ------------------------------------------------------------------ */

static void test_encoder_fixed_sticky(void **state) {
  (void)state;
  uint8_t buf[4];
  roam_enc e;
  roam_enc_init(&e, buf, sizeof buf);
  assert_int_equal(roam_enc_u32(&e, 300), 0); /* 2 bytes */
  assert_int_equal(roam_enc_u8(&e, 7), 0);
  assert_int_equal(roam_enc_u32(&e, 1u << 20), ROAM_ERR_BUFFER_FULL); /* 3 bytes, 1 left */
  assert_int_equal(roam_enc_error(&e), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(roam_enc_u8(&e, 1), ROAM_ERR_BUFFER_FULL); /* would fit, but sticky */
  assert_int_equal(roam_enc_size(&e), 3);
  assert_null(roam_enc_reserve(&e, 1));
  assert_null(roam_enc_detach(&e, NULL));
  roam_enc_reset(&e);
  assert_int_equal(roam_enc_error(&e), 0);
  /* exact fit of a varint at the end of the buffer */
  assert_int_equal(roam_enc_u32(&e, 1u << 21), 0); /* 4 bytes */
  assert_int_equal(roam_enc_size(&e), 4);
  assert_int_equal(roam_enc_u8(&e, 0), ROAM_ERR_BUFFER_FULL);
  /* reserve / commit */
  roam_enc_init(&e, buf, sizeof buf);
  uint8_t *p = roam_enc_reserve(&e, 3);
  assert_ptr_equal(p, buf);
  memcpy(p, "xyz", 3);
  roam_enc_commit(&e, 3);
  assert_int_equal(roam_enc_size(&e), 3);
  /* invalid strings */
  roam_enc_init(&e, buf, sizeof buf);
  assert_int_equal(roam_enc_str(&e, "\xc0\xaf", 2), ROAM_ERR_BAD_UTF8);
  assert_int_equal(roam_enc_size(&e), 0);
  roam_enc_init(&e, buf, sizeof buf);
  assert_int_equal(roam_enc_cstr(&e, NULL), ROAM_ERR_INVALID_ARG);
  roam_enc_init(&e, buf, sizeof buf);
  assert_int_equal(roam_enc_str(&e, NULL, 0), 0); /* empty string */
  assert_int_equal(roam_enc_bytes(&e, NULL, 0), 0);
  assert_int_equal(buf[0], 0);
  assert_int_equal(buf[1], 0);
  /* zero capacity */
  roam_enc_init(&e, NULL, 0);
  assert_int_equal(roam_enc_u8(&e, 1), ROAM_ERR_BUFFER_FULL);
}

static void test_encoder_growable(void **state) {
  (void)state;
  wt_alloc a;
  roam_mem mem = wt_mem(&a);
  roam_enc e;
  roam_enc_init_growable(&e, &mem);
  size_t n0;
  assert_null(roam_enc_detach(&e, &n0)); /* nothing written */
  assert_int_equal(n0, 0);
  static uint8_t big[100000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  for (int i = 0; i < 1000; i++) roam_enc_u64(&e, (uint64_t)i * 1000003u);
  roam_enc_bytes(&e, big, sizeof big);
  assert_int_equal(roam_enc_error(&e), 0);
  size_t len;
  uint8_t *p = roam_enc_detach(&e, &len);
  assert_non_null(p);
  assert_int_equal(roam_enc_size(&e), 0); /* encoder now empty */
  roam_dec d;
  roam_dec_init(&d, p, len);
  for (int i = 0; i < 1000; i++) {
    uint64_t v;
    roam_dec_u64(&d, &v);
    assert_true(v == (uint64_t)i * 1000003u);
  }
  roam_bytes b;
  roam_dec_bytes(&d, &b);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(b.len, sizeof big);
  assert_memory_equal(b.ptr, big, sizeof big);
  mem.free(p, mem.user_data);
  /* growth is geometric: few reallocations */
  assert_true(a.reallocs < 20);
  /* the encoder is reusable after detach */
  assert_int_equal(roam_enc_u8(&e, 5), 0);
  roam_enc_free(&e);
  assert_int_equal(a.live, 0);

  /* allocation failure is sticky NOMEM */
  mem = wt_mem(&a);
  a.fail_after = 1;
  roam_enc_init_growable(&e, &mem);
  assert_int_equal(roam_enc_u8(&e, 1), 0);
  assert_int_equal(roam_enc_bytes(&e, big, sizeof big), ROAM_ERR_NOMEM);
  assert_int_equal(roam_enc_u8(&e, 1), ROAM_ERR_NOMEM);
  assert_null(roam_enc_detach(&e, NULL));
  roam_enc_free(&e);
  assert_int_equal(a.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_varint_golden),
      cmocka_unit_test(test_primitives_golden),
      cmocka_unit_test(test_primitives_all_files_covered),
      cmocka_unit_test(test_malformed_table),
      cmocka_unit_test(test_varint_all_lengths),
      cmocka_unit_test(test_varint_edges_ok),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_random_round_trips),
      cmocka_unit_test(test_zigzag_and_128),
      cmocka_unit_test(test_chars),
      cmocka_unit_test(test_utf8_exhaustive),
      cmocka_unit_test(test_encoder_fixed_sticky),
      cmocka_unit_test(test_encoder_growable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
