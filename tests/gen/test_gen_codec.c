/*
 * roam-gen output, compiled with the test: every type kind encodes to bytes
 * written here by hand (and to the reference's golden vectors where one
 * exists), decodes back, and hostile bytes fail cleanly; the sixteen
 * Testbed ids come out of the generated constants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <roam/testbed_ids.h>

#include "every.h"
#include "golden.h"
#include "testbed.h"

typedef struct buf {
  uint8_t b[512];
  roam_enc e;
} buf;

static roam_enc *enc(buf *b) {
  roam_enc_init(&b->e, b->b, sizeof b->b);
  return &b->e;
}

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void expect_bytes(roam_enc *e, const uint8_t *want, size_t n) {
  assert_int_equal(roam_enc_error(e), 0);
  if (roam_enc_size(e) != n || memcmp(roam_enc_data(e), want, n) != 0) {
    print_error("got %zu bytes:", roam_enc_size(e));
    for (size_t i = 0; i < roam_enc_size(e); i++)
      print_error(" %02x", roam_enc_data(e)[i]);
    print_error("\n");
    fail();
  }
}

static roam_dec dec_of(const uint8_t *p, size_t n) {
  roam_dec d;
  roam_dec_init(&d, p, n);
  return d;
}

static bool str_is(roam_str s, const char *want) {
  return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* ---- hand-written bytes -------------------------------------------------- */

static const uint8_t prims_bytes[] = {0x01, 0xff, 0xac, 0x02, 0x01, 0x80, 0x01, 0x01, 0xff,
                                      0x01, 0x03, 0x80, 0x01, 0x01, 0x00, 0x00, 0xc0, 0x3f,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x3f, 0x02,
                                      0xc3, 0xa9, 0x02, 'h',  'i',  0x05, 0x01};

static void test_prims(void **st) {
  (void)st;
  every_prims p = {.b = true, .a = 0xff, .c = 300, .d = 1, .e = 128, .f = {1, 0}, .g = -1,
                   .h = -1, .i = -2, .j = 64, .k = {UINT64_MAX, UINT64_MAX}, .l = 1.5f,
                   .m = 0.25, .n = 0xE9, .o = roam_str_c("hi"), .q = 5, .r = -1};
  buf b;
  assert_int_equal(every_prims_encode(enc(&b), &p), 0);
  expect_bytes(&b.e, prims_bytes, sizeof prims_bytes);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_dec d = dec_of(prims_bytes, sizeof prims_bytes);
  every_prims q;
  assert_int_equal(every_prims_decode(&d, &q, &a), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_true(q.b);
  assert_int_equal(q.a, 0xff);
  assert_int_equal(q.c, 300);
  assert_int_equal(q.e, 128);
  assert_int_equal(q.f.lo, 1);
  assert_int_equal(q.g, -1);
  assert_int_equal(q.h, -1);
  assert_int_equal(q.i, -2);
  assert_int_equal(q.j, 64);
  assert_true(q.k.lo == UINT64_MAX && q.k.hi == UINT64_MAX);
  assert_true(q.l == 1.5f && q.m == 0.25);
  assert_int_equal(q.n, 0xE9);
  assert_true(str_is(q.o, "hi"));
  assert_int_equal(q.q, 5);
  assert_int_equal(q.r, -1);
  /* a bad bool, a bad char, bad UTF-8 */
  uint8_t bad[sizeof prims_bytes];
  memcpy(bad, prims_bytes, sizeof bad);
  bad[0] = 2;
  d = dec_of(bad, sizeof bad);
  assert_int_equal(every_prims_decode(&d, &q, &a), ROAM_ERR_BAD_BOOL);
  memcpy(bad, prims_bytes, sizeof bad);
  bad[28] = 0x28; /* "é" becomes 0xc3 0x28 */
  d = dec_of(bad, sizeof bad);
  assert_int_not_equal(every_prims_decode(&d, &q, &a), 0);
  memcpy(bad, prims_bytes, sizeof bad);
  bad[31] = 0xff; /* "hi" becomes "h\xff" */
  d = dec_of(bad, sizeof bad);
  assert_int_equal(every_prims_decode(&d, &q, &a), ROAM_ERR_BAD_UTF8);
  roam_arena_free(&a);
}

static const uint8_t containers_bytes[] = {
    0x02, 0x02, 0x01,                         /* v [1, -1] */
    0x02, 0xde, 0xad,                         /* bytes */
    0x01, 0x01, 'x',                          /* Some("x") */
    0x00,                                     /* None */
    0x01, 0x02, 0xac, 0x02,                   /* [1, 2, 300] */
    0x01, 0x01, 'a', 0x01,                    /* {"a": 1} */
    0x01, 0x07, 0x02, 0x01, 'p', 0x01, 'q',   /* {7: ["p", "q"]} */
    0x02, 0x01, 0x04,                         /* {-1, 2} */
    0x01, 0x01, 'z',                          /* {"z"} */
    0x06, 0x01, 't',                          /* (3, "t") */
    0x02, 0x01, 0x09, 0x01, 0x00,             /* [Some((9, true)), None] */
    0x07, 0x02, 'a', 'b'                      /* Box(Wrapper(7, "ab")) */
};

static void test_containers(void **st) {
  (void)st;
  int32_t v[] = {1, -1};
  uint8_t bytes[] = {0xde, 0xad};
  every_map_string_u32_entry map[] = {{roam_str_c("a"), 1}};
  roam_str pq[] = {roam_str_c("p"), roam_str_c("q")};
  every_map_u8_vec_string_entry bmap[] = {{7, {pq, 2}}};
  int64_t set[] = {-1, 2};
  roam_str bset[] = {roam_str_c("z")};
  every_opt_tup_u8_bool nested[] = {{true, {9, true}}, {false, {0, false}}};
  every_wrapper w = {7, roam_str_c("ab")};
  every_containers c = {.v = {v, 2}, .bytes = {bytes, 2}, .opt = {true, roam_str_c("x")},
                        .arr = {{1, 2, 300}}, .map = {map, 1}, .bmap = {bmap, 1},
                        .set = {set, 2}, .bset = {bset, 1}, .tup = {3, roam_str_c("t")},
                        .nested = {nested, 2}, .boxed = &w};
  buf b;
  assert_int_equal(every_containers_encode(enc(&b), &c), 0);
  expect_bytes(&b.e, containers_bytes, sizeof containers_bytes);

  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_dec d = dec_of(containers_bytes, sizeof containers_bytes);
  every_containers o;
  assert_int_equal(every_containers_decode(&d, &o, &a), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(o.v.len, 2);
  assert_int_equal(o.v.items[1], -1);
  assert_int_equal(o.bytes.len, 2);
  assert_int_equal(o.bytes.ptr[1], 0xad);
  assert_true(o.opt.is_some && str_is(o.opt.value, "x"));
  assert_false(o.none.is_some);
  assert_int_equal(o.arr.items[2], 300);
  assert_true(str_is(o.map.items[0].key, "a") && o.map.items[0].value == 1);
  assert_int_equal(o.bmap.items[0].key, 7);
  assert_true(str_is(o.bmap.items[0].value.items[1], "q"));
  assert_int_equal(o.set.items[0], -1);
  assert_true(str_is(o.bset.items[0], "z"));
  assert_true(o.tup._0 == 3 && str_is(o.tup._1, "t"));
  assert_true(o.nested.items[0].is_some && o.nested.items[0].value._0 == 9);
  assert_false(o.nested.items[1].is_some);
  assert_int_equal(o.boxed->_0, 7);
  assert_true(str_is(o.boxed->_1, "ab"));
  /* every strict prefix is rejected */
  for (size_t n = 0; n < sizeof containers_bytes; n++) {
    d = dec_of(containers_bytes, n);
    roam_arena_reset(&a);
    assert_int_not_equal(every_containers_decode(&d, &o, &a), 0);
  }
  /* an arena limit is reported as such */
  roam_arena_reset(&a);
  roam_arena_set_limit(&a, 64);
  d = dec_of(containers_bytes, sizeof containers_bytes);
  assert_int_equal(every_containers_decode(&d, &o, &a), ROAM_ERR_LIMIT);
  roam_arena_free(&a);
  /* a NULL box cannot be encoded */
  c.boxed = NULL;
  assert_int_equal(every_containers_encode(enc(&b), &c), ROAM_ERR_INVALID_ARG);
}

static void check_kind(const every_kinds *k, const uint8_t *want, size_t n) {
  buf b;
  assert_int_equal(every_kinds_encode(enc(&b), k), 0);
  expect_bytes(&b.e, want, n);
  roam_dec d = dec_of(want, n);
  every_kinds o;
  roam_arena a;
  roam_arena_init(&a, NULL);
  assert_int_equal(every_kinds_decode(&d, &o, &a), 0);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_int_equal(o.tag, k->tag);
  roam_arena_free(&a);
}

/* Bounded types are written directly when the buffer has room for their
 * largest encoding, and through the general path otherwise: same bytes,
 * and a buffer too small is still reported. */
static void test_exact_buffers(void **st) {
  (void)st;
  every_kinds k = {.tag = EVERY_KINDS_TWO, .two = {-1, 300}};
  uint8_t exact[4], small[3];
  roam_enc e;
  roam_enc_init(&e, exact, sizeof exact);
  assert_int_equal(every_kinds_encode(&e, &k), 0);
  expect_bytes(&e, BYTES(0x02, 0xff, 0xac, 0x02));
  roam_enc_init(&e, small, sizeof small);
  assert_int_equal(every_kinds_encode(&e, &k), ROAM_ERR_BUFFER_FULL);
  every_tagged t = {.tag = EVERY_TAGGED_TAG, .tag_2 = 9};
  roam_enc_init(&e, exact, 2);
  assert_int_equal(every_tagged_encode(&e, &t), 0);
  expect_bytes(&e, BYTES(0x00, 0x09));
  /* a Vec of bounded elements: all at once with room, one by one without */
  int32_t v[] = {1, -1, 64, -65};
  golden_g_vec_i32 gv = {{v, 4}};
  static const uint8_t want[] = {0x04, 0x02, 0x01, 0x80, 0x01, 0x81, 0x01};
  buf b;
  assert_int_equal(golden_g_vec_i32_encode(enc(&b), &gv), 0);
  expect_bytes(&b.e, want, sizeof want);
  roam_enc_init(&e, small, 0);
  uint8_t seven[sizeof want];
  roam_enc_init(&e, seven, sizeof seven);
  assert_int_equal(golden_g_vec_i32_encode(&e, &gv), 0);
  expect_bytes(&e, want, sizeof want);
  roam_enc_init(&e, seven, sizeof seven - 1);
  assert_int_equal(golden_g_vec_i32_encode(&e, &gv), ROAM_ERR_BUFFER_FULL);
  /* an invalid tag fails on both paths */
  every_kinds bad = {.tag = (every_kinds_tag)42};
  assert_int_equal(every_kinds_encode(enc(&b), &bad), ROAM_ERR_INVALID_ARG);
  roam_enc_init(&e, exact, 1);
  assert_int_not_equal(every_kinds_encode(&e, &bad), 0);
}

static void test_enums_and_structs(void **st) {
  (void)st;
  every_kinds k = {.tag = EVERY_KINDS_NOTHING};
  check_kind(&k, BYTES(0x00)); /* the index, not the discriminant 5 */
  k.tag = EVERY_KINDS_ONE;
  k.one = 1.5f;
  check_kind(&k, BYTES(0x01, 0x00, 0x00, 0xc0, 0x3f));
  k.tag = EVERY_KINDS_TWO;
  k.two._0 = -1;
  k.two._1 = 300;
  check_kind(&k, BYTES(0x02, 0xff, 0xac, 0x02));
  k.tag = EVERY_KINDS_NAMED;
  k.named.x = -1;
  check_kind(&k, BYTES(0x03, 0x01));
  k.tag = EVERY_KINDS_HOLLOW;
  check_kind(&k, BYTES(0x04));
  assert_string_equal(every_kinds_name(EVERY_KINDS_NAMED), "Named");
  assert_string_equal(every_kinds_name((every_kinds_tag)99), "?");
  buf b;
  k.tag = (every_kinds_tag)99;
  assert_int_equal(every_kinds_encode(enc(&b), &k), ROAM_ERR_INVALID_ARG);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_dec d = dec_of(BYTES(0x05));
  assert_int_equal(every_kinds_decode(&d, &k, &a), ROAM_ERR_DECODE);

  /* tuple struct, unit and empty structs, keyword members, tag member */
  every_wrapper w = {1, roam_str_c("")};
  assert_int_equal(every_wrapper_encode(enc(&b), &w), 0);
  expect_bytes(&b.e, BYTES(0x01, 0x00));
  every_unit u = {0};
  assert_int_equal(every_unit_encode(enc(&b), &u), 0);
  assert_int_equal(roam_enc_size(&b.e), 0);
  every_empty em = {0};
  assert_int_equal(every_empty_encode(enc(&b), &em), 0);
  assert_int_equal(roam_enc_size(&b.e), 0);
  every_keywords kw = {.int_ = 1, .default_ = true, .struct_ = 2, .roam_x_ = 3, .x_Bad_ = 4};
  assert_int_equal(every_keywords_encode(enc(&b), &kw), 0);
  expect_bytes(&b.e, BYTES(0x01, 0x01, 0x02, 0x03, 0x04));
  every_tagged tg = {.tag = EVERY_TAGGED_TAG, .tag_2 = 5};
  assert_int_equal(every_tagged_encode(enc(&b), &tg), 0);
  expect_bytes(&b.e, BYTES(0x00, 0x05));
  /* VecPoint keeps its name; Vec<Point> gets the suffix */
  every_vec_point vp = {9};
  every_point pts[] = {{1, -1}};
  every_vec_point_2 vp2 = {pts, 1};
  (void)vp2;
  assert_int_equal(every_vec_point_encode(enc(&b), &vp), 0);
  expect_bytes(&b.e, BYTES(0x09));
  /* zero-sized elements */
  roam_unit units[2] = {{0}, {0}};
  every_unit empties[1] = {{0}};
  every_zero_sized z = {{units, 2}, {empties, 1}};
  assert_int_equal(every_zero_sized_encode(enc(&b), &z), 0);
  expect_bytes(&b.e, BYTES(0x02, 0x01));
  d = dec_of(BYTES(0x02, 0x01));
  assert_int_equal(every_zero_sized_decode(&d, &z, &a), 0);
  assert_int_equal(z.units.len, 2);
  assert_int_equal(z.empties.len, 1);
  d = dec_of(BYTES(0xa0, 0x8d, 0x06, 0x00)); /* 100000 units */
  assert_int_equal(every_zero_sized_decode(&d, &z, &a), ROAM_ERR_LIMIT);
  roam_arena_free(&a);
}

static void test_recursion(void **st) {
  (void)st;
  every_tree child = {2, {NULL, 0}, {false, NULL}};
  every_tree parent = {3, {NULL, 0}, {false, NULL}};
  every_tree t = {1, {&child, 1}, {true, &parent}};
  buf b;
  assert_int_equal(every_tree_encode(enc(&b), &t), 0);
  static const uint8_t tree_bytes[] = {0x02, 0x01, 0x04, 0x00, 0x00, 0x01, 0x06, 0x00, 0x00};
  expect_bytes(&b.e, tree_bytes, sizeof tree_bytes);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_dec d = dec_of(tree_bytes, sizeof tree_bytes);
  every_tree o;
  assert_int_equal(every_tree_decode(&d, &o, &a), 0);
  assert_int_equal(o.children.items[0].value, 2);
  assert_int_equal(o.parent.value->value, 3);

  /* Add(Num(1), Neg(Num(2))) */
  every_expr n1 = {.tag = EVERY_EXPR_NUM, .num = 1}, n2 = {.tag = EVERY_EXPR_NUM, .num = 2};
  every_expr neg = {.tag = EVERY_EXPR_NEG, .neg = &n2};
  every_expr add = {.tag = EVERY_EXPR_ADD, .add = {&n1, &neg}};
  assert_int_equal(every_expr_encode(enc(&b), &add), 0);
  expect_bytes(&b.e, BYTES(0x01, 0x00, 0x02, 0x02, 0x00, 0x04));
  every_expr e;
  d = dec_of(BYTES(0x01, 0x00, 0x02, 0x02, 0x00, 0x04));
  assert_int_equal(every_expr_decode(&d, &e, &a), 0);
  assert_int_equal(e.add._1->neg->num, 2);
  /* hostile nesting: the depth bound, not the stack */
  uint8_t deep[4000];
  memset(deep, 0x02, sizeof deep);
  d = dec_of(deep, sizeof deep);
  assert_int_equal(every_expr_decode(&d, &e, &a), ROAM_ERR_LIMIT);
  memset(deep, 0x03, sizeof deep); /* List([List([...])]) */
  for (size_t i = 1; i < sizeof deep; i += 2)
    deep[i] = 0x01;
  d = dec_of(deep, sizeof deep);
  assert_int_equal(every_expr_decode(&d, &e, &a), ROAM_ERR_LIMIT);
  roam_arena_free(&a);
}

/* ---- golden vectors ---------------------------------------------------- */

static size_t read_golden(const char *name, uint8_t *out, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/primitives/%s.bin", ROAM_GOLDEN_DIR, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fail_msg("cannot open %s", path);
  size_t n = fread(out, 1, cap, f);
  fclose(f);
  return n;
}

/* Decode the vector as T, re-encode it, compare, and return the value
 * (whose views point into `raw`, a buffer of the calling function). */
#define GOLDEN(T, name, out)                                                    \
  do {                                                                         \
    size_t n_ = read_golden(name, raw, sizeof raw);                           \
    roam_dec d_ = dec_of(raw, n_);                                            \
    assert_int_equal(T##_decode(&d_, (out), &a), 0);                          \
    assert_int_equal(roam_dec_finish(&d_), 0);                                \
    buf b_;                                                                    \
    assert_int_equal(T##_encode(enc(&b_), (out)), 0);                         \
    expect_bytes(&b_.e, raw, n_);                                             \
  } while (0)

static void test_golden(void **st) {
  (void)st;
  uint8_t raw[256];
  roam_arena a;
  roam_arena_init(&a, NULL);
  golden_g_bool gb;
  GOLDEN(golden_g_bool, "bool_true", &gb);
  assert_true(gb._0);
  golden_gu8 u8v;
  GOLDEN(golden_gu8, "u8_255", &u8v);
  assert_int_equal(u8v._0, 255);
  golden_gu16 u16v;
  GOLDEN(golden_gu16, "u16_max", &u16v);
  assert_int_equal(u16v._0, UINT16_MAX);
  golden_gu32 u32v;
  GOLDEN(golden_gu32, "u32_256", &u32v);
  assert_int_equal(u32v._0, 256);
  golden_gu64 u64v;
  GOLDEN(golden_gu64, "u64_max", &u64v);
  assert_true(u64v._0 == UINT64_MAX);
  golden_gi8 i8v;
  GOLDEN(golden_gi8, "i8_neg128", &i8v);
  assert_int_equal(i8v._0, -128);
  golden_gi16 i16v;
  GOLDEN(golden_gi16, "i16_min", &i16v);
  assert_int_equal(i16v._0, INT16_MIN);
  golden_gi32 i32v;
  GOLDEN(golden_gi32, "i32_neg128", &i32v);
  assert_int_equal(i32v._0, -128);
  golden_gi64 i64v;
  GOLDEN(golden_gi64, "i64_min", &i64v);
  assert_true(i64v._0 == INT64_MIN);
  golden_gf32 f32v;
  GOLDEN(golden_gf32, "f32_1_5", &f32v);
  assert_true(f32v._0 == 1.5f);
  golden_gf64 f64v;
  GOLDEN(golden_gf64, "f64_neg1", &f64v);
  assert_true(f64v._0 == -1.0);
  golden_g_string sv;
  GOLDEN(golden_g_string, "string_unicode", &sv);
  assert_true(str_is(sv._0, "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\xa6\x80"));
  golden_g_bytes bv;
  GOLDEN(golden_g_bytes, "bytes_deadbeef", &bv);
  assert_int_equal(bv._0.len, 4);
  assert_int_equal(bv._0.ptr[0], 0xde);
  golden_g_opt_u32 ou;
  GOLDEN(golden_g_opt_u32, "option_some_u32_42", &ou);
  assert_true(ou._0.is_some && ou._0.value == 42);
  GOLDEN(golden_g_opt_u32, "option_none_u32", &ou);
  assert_false(ou._0.is_some);
  golden_g_opt_string os;
  GOLDEN(golden_g_opt_string, "option_some_string", &os);
  assert_true(os._0.is_some);
  golden_g_tup_is tis;
  GOLDEN(golden_g_tup_is, "tuple_i32_string", &tis);
  assert_true(tis._0._0 == 42 && str_is(tis._0._1, "hello"));
  golden_g_tup_si tsi;
  GOLDEN(golden_g_tup_si, "tuple_string_i32", &tsi);
  golden_g_vec_i32 vi;
  GOLDEN(golden_g_vec_i32, "vec_i32_neg1_0_1", &vi);
  assert_true(vi._0.len == 3 && vi._0.items[0] == -1 && vi._0.items[2] == 1);
  golden_g_vec_u32 vu;
  GOLDEN(golden_g_vec_u32, "vec_u32_1_2_3", &vu);
  GOLDEN(golden_g_vec_u32, "vec_empty_u32", &vu);
  assert_int_equal(vu._0.len, 0);
  golden_g_vec_string vs;
  GOLDEN(golden_g_vec_string, "vec_string", &vs);
  assert_true(vs._0.len == 2 && str_is(vs._0.items[1], "b"));
  roam_arena_free(&a);
}

/* ---- constants ---------------------------------------------------------- */

static void test_testbed_constants(void **st) {
  (void)st;
  assert_int_equal(TESTBED_METHOD_COUNT, ROAM_TESTBED_METHOD_COUNT);
  for (size_t i = 0; i < TESTBED_METHOD_COUNT; i++) {
    assert_int_equal(testbed_method_ids[i], roam_testbed_published_ids[i]);
    char want[64];
    snprintf(want, sizeof want, "Testbed.%s", roam_testbed_methods[i].method);
    assert_string_equal(testbed_method_names[i], want);
  }
  assert_int_equal(TESTBED_ECHO_ID, ROAM_TESTBED_ECHO);
  assert_int_equal(TESTBED_RECTANGLE_AREA_ID, ROAM_TESTBED_RECTANGLE_AREA);
  assert_int_equal(TESTBED_RECTANGLE_AREA_ID_ALT, ROAM_TESTBED_RECTANGLE_AREA_ALT);
  assert_string_equal(TESTBED_SERVICE, "Testbed");
  /* two services in one file, with their own constants */
  assert_string_equal(EVERY_FIRST_SERVICE, "First");
  assert_string_equal(EVERY_SECOND_SERVICE, "Second");
  assert_int_equal(EVERY_SECOND_METHOD_COUNT, 4);
  assert_int_not_equal(EVERY_FIRST_PING_ID, EVERY_SECOND_PING_ID);
  assert_string_equal(EVERY_FIRST_PING_ASYNC_NAME, "First.ping_async");
  /* the blocking stub of ping_async kept its name; ping's async one moved */
  int (*blocking)(roam_client *, const roam_call_opts *) = every_first_ping_async;
  int (*async)(roam_client *, uint32_t, roam_str, const roam_call_opts *, every_first_ping_cb,
               void *) = every_first_ping_async_2;
  assert_non_null(blocking);
  assert_non_null(async);
  /* names for diagnostics */
  roam_diag_clear_method_names();
  testbed_register_names();
  char name[64];
  assert_true(roam_diag_get_method_name(ROAM_TESTBED_ECHO, name, sizeof name) > 0);
  assert_string_equal(name, "Testbed.echo");
  assert_true(roam_diag_get_method_name(ROAM_TESTBED_RECTANGLE_AREA_ALT, name, sizeof name) > 0);
  assert_string_equal(name, "Testbed.rectangle_area");
  roam_diag_clear_method_names();
}

/* ---- the arena ------------------------------------------------------------ */

static void test_arena(void **st) {
  (void)st;
  max_align_t small[4];
  roam_arena a;
  roam_arena_init_buffer(&a, small, sizeof small, NULL);
  void *p = roam_arena_alloc(&a, 8);
  assert_true((uint8_t *)p >= (uint8_t *)small && (uint8_t *)p < (uint8_t *)small + sizeof small);
  void *big = roam_arena_alloc(&a, 100000); /* from the heap */
  assert_non_null(big);
  memset(big, 1, 100000);
  int err = 0;
  assert_null(roam_arena_alloc_array(&a, SIZE_MAX / 2, 4, &err));
  assert_int_equal(err, ROAM_ERR_LIMIT);
  roam_arena_reset(&a);
  assert_ptr_equal(roam_arena_alloc(&a, 8), p);
  char *s = roam_arena_strdup(&a, roam_str_c("abc"));
  assert_string_equal(s, "abc");
  roam_arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prims),       cmocka_unit_test(test_containers),
      cmocka_unit_test(test_enums_and_structs), cmocka_unit_test(test_recursion),
      cmocka_unit_test(test_exact_buffers),
      cmocka_unit_test(test_golden),      cmocka_unit_test(test_testbed_constants),
      cmocka_unit_test(test_arena),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
