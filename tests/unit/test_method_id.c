/*
 * Method ids: the 16 published Testbed ids, the worked examples of
 * METHOD-ID.md (signature bytes, signature hash, hashed message, digest),
 * every type class of the signature format, recursion, limits and errors,
 * and heck-compatible kebab-case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <roam/blake3.h>
#include <roam/method_id.h>
#include <roam/testbed_ids.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (const char *p = hex; *p;) {
    if (*p == ' ') {
      p++;
      continue;
    }
    unsigned v = 0;
    for (int k = 0; k < 2; k++, p++) {
      char c = *p;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
      else fail_msg("bad hex in test data: %s", hex);
    }
    assert_true(n < cap);
    out[n++] = (uint8_t)v;
  }
  return n;
}

static void to_hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
  out[2 * n] = 0;
}

/* Encodes a signature into a fresh buffer and compares with `want`. */
static void check_sig(const roam_type *const *args, size_t argc, const roam_type *ret,
                      unsigned flags, const uint8_t *want, size_t want_len) {
  uint8_t buf[1024];
  size_t len = 0;
  assert_int_equal(roam_signature_encode(args, argc, ret, flags, buf, sizeof buf, &len), ROAM_OK);
  if (len != want_len || memcmp(buf, want, len) != 0) {
    char a[2049], b[2049];
    to_hex(buf, len, a);
    to_hex(want, want_len, b);
    fail_msg("signature mismatch\n  got  %s\n  want %s", a, b);
  }
}

static void check_type(const roam_type *t, unsigned flags, const char *want_hex) {
  uint8_t want[512], buf[512];
  size_t want_len = unhex(want_hex, want, sizeof want), len = 0;
  assert_int_equal(roam_type_encode(t, flags, buf, sizeof buf, &len), ROAM_OK);
  if (len != want_len || memcmp(buf, want, len) != 0) {
    char a[1025];
    to_hex(buf, len, a);
    fail_msg("type encoding mismatch\n  got  %s\n  want %s", a, want_hex);
  }
}

/* Appends str(x) = varint(len) bytes. */
static size_t put_str(uint8_t *p, const char *s) {
  size_t n = strlen(s);
  p[0] = (uint8_t)n;
  memcpy(p + 1, s, n);
  return n + 1;
}

/* ------------------------------------------------------------------------ */
/* Testbed                                                                   */

static void test_testbed_ids_match_published(void **state) {
  (void)state;
  uint64_t ids[ROAM_TESTBED_METHOD_COUNT];
  assert_int_equal(roam_testbed_compute_ids(ids, ROAM_SIG_PUBLISHED), ROAM_OK);
  for (size_t i = 0; i < ROAM_TESTBED_METHOD_COUNT; i++) {
    if (ids[i] != roam_testbed_published_ids[i])
      fail_msg("%s: computed 0x%016llx, published 0x%016llx", roam_testbed_methods[i].method,
               (unsigned long long)ids[i], (unsigned long long)roam_testbed_published_ids[i]);
  }
  /* The constants themselves, by name. */
  assert_true(ids[ROAM_TB_ECHO] == ROAM_TESTBED_ECHO);
  assert_true(ids[ROAM_TB_REVERSE] == ROAM_TESTBED_REVERSE);
  assert_true(ids[ROAM_TB_DIVIDE] == ROAM_TESTBED_DIVIDE);
  assert_true(ids[ROAM_TB_LOOKUP] == ROAM_TESTBED_LOOKUP);
  assert_true(ids[ROAM_TB_SUM] == ROAM_TESTBED_SUM);
  assert_true(ids[ROAM_TB_GENERATE] == ROAM_TESTBED_GENERATE);
  assert_true(ids[ROAM_TB_TRANSFORM] == ROAM_TESTBED_TRANSFORM);
  assert_true(ids[ROAM_TB_ECHO_POINT] == ROAM_TESTBED_ECHO_POINT);
  assert_true(ids[ROAM_TB_CREATE_PERSON] == ROAM_TESTBED_CREATE_PERSON);
  assert_true(ids[ROAM_TB_RECTANGLE_AREA] == ROAM_TESTBED_RECTANGLE_AREA);
  assert_true(ids[ROAM_TB_PARSE_COLOR] == ROAM_TESTBED_PARSE_COLOR);
  assert_true(ids[ROAM_TB_SHAPE_AREA] == ROAM_TESTBED_SHAPE_AREA);
  assert_true(ids[ROAM_TB_CREATE_CANVAS] == ROAM_TESTBED_CREATE_CANVAS);
  assert_true(ids[ROAM_TB_PROCESS_MESSAGE] == ROAM_TESTBED_PROCESS_MESSAGE);
  assert_true(ids[ROAM_TB_GET_POINTS] == ROAM_TESTBED_GET_POINTS);
  assert_true(ids[ROAM_TB_SWAP_PAIR] == ROAM_TESTBED_SWAP_PAIR);
  assert_true(ROAM_TESTBED_ECHO == UINT64_C(0x9aabc4ba61fd5df3));
  assert_true(ROAM_TESTBED_RECTANGLE_AREA_ALT == UINT64_C(0x04ef653fdf0653c4));
}

static void test_testbed_ids_literal_visited_set(void **state) {
  (void)state;
  uint64_t ids[ROAM_TESTBED_METHOD_COUNT];
  assert_int_equal(roam_testbed_compute_ids(ids, ROAM_SIG_VISITED_SET), ROAM_OK);
  for (size_t i = 0; i < ROAM_TESTBED_METHOD_COUNT; i++) {
    uint64_t want = i == ROAM_TB_RECTANGLE_AREA ? ROAM_TESTBED_RECTANGLE_AREA_ALT
                                                : roam_testbed_published_ids[i];
    if (ids[i] != want)
      fail_msg("%s (visited set): computed 0x%016llx, expected 0x%016llx",
               roam_testbed_methods[i].method, (unsigned long long)ids[i],
               (unsigned long long)want);
  }
}

static void test_testbed_find_and_convenience(void **state) {
  (void)state;
  assert_int_equal(roam_testbed_find("echo_point"), ROAM_TB_ECHO_POINT);
  assert_int_equal(roam_testbed_find("swap_pair"), ROAM_TB_SWAP_PAIR);
  assert_int_equal(roam_testbed_find("nope"), -1);
  assert_int_equal(roam_testbed_find(NULL), -1);
  const roam_method_desc *m = &roam_testbed_methods[ROAM_TB_GET_POINTS];
  assert_true(roam_method_id(m->service, m->method, m->args, m->argc, m->ret) ==
              ROAM_TESTBED_GET_POINTS);
  assert_string_equal(roam_testbed_methods[ROAM_TB_CREATE_PERSON].arg_names[2], "email");
}

/* ------------------------------------------------------------------------ */
/* Worked examples of METHOD-ID.md                                           */

static void check_worked_example(size_t index, const char *sig_hex, const char *m_prefix_hex,
                                 const char *h_hex, const char *digest_prefix_hex, uint64_t id) {
  const roam_method_desc *m = &roam_testbed_methods[index];
  uint8_t want_sig[256], sig[256];
  size_t want_len = unhex(sig_hex, want_sig, sizeof want_sig);
  check_sig(m->args, m->argc, m->ret, ROAM_SIG_PUBLISHED, want_sig, want_len);

  /* H = BLAKE3(S), and the streamed roam_signature_hash agrees. */
  size_t len = 0;
  assert_int_equal(roam_signature_encode(m->args, m->argc, m->ret, 0, sig, sizeof sig, &len), 0);
  uint8_t h1[32], h2[32];
  roam_blake3(h1, sig, len);
  assert_int_equal(roam_signature_hash(m->args, m->argc, m->ret, 0, h2), ROAM_OK);
  assert_memory_equal(h1, h2, 32);
  char hex[65];
  to_hex(h1, 32, hex);
  assert_memory_equal(hex, h_hex, strlen(h_hex)); /* full or prefix, as documented */

  /* M = kebab(service) "." kebab(method) H; digest = BLAKE3(M). */
  uint8_t msg[256];
  size_t mlen = unhex(m_prefix_hex, msg, sizeof msg);
  memcpy(msg + mlen, h1, 32);
  uint8_t digest[32];
  roam_blake3(digest, msg, mlen + 32);
  to_hex(digest, 8, hex);
  assert_string_equal(hex, digest_prefix_hex);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | digest[i];
  assert_true(v == id);

  uint64_t got = 0;
  assert_int_equal(roam_method_id_from_hash(m->service, m->method, h1, &got), ROAM_OK);
  assert_true(got == id);
  assert_int_equal(roam_method_id_ex(m->service, m->method, m->args, m->argc, m->ret, 0, &got),
                   ROAM_OK);
  assert_true(got == id);
}

static void test_worked_examples(void **state) {
  (void)state;
  check_worked_example(ROAM_TB_ECHO, "25 01 0f 0f", "746573746265642e6563686f",
                       "7d7e2977f77f5bb9afd0c027880712a810f58260cb8d2fc09aec875f37adbf6b",
                       "f35dfd61bac4ab9a", UINT64_C(0x9aabc4ba61fd5df3));
  check_worked_example(ROAM_TB_DIVIDE, "25 02 0a 0a 10", "746573746265642e646976696465",
                       "bd1b91342f28925e99b7f5b1164a11cb2222813ee89e98d03b2e96e9c80034e7",
                       "90d5b1e4be4c96c3", UINT64_C(0xc3964cbee4b1d590));
  check_worked_example(ROAM_TB_GENERATE, "25 02 04 26 09 10", "746573746265642e67656e6572617465",
                       "71199d6ce8e3f25d93a8e4ab551947881fcae560b63646ec82c100229b201dfc",
                       "389cdb8c3d27d254", UINT64_C(0x54d2273d8cdb9c38));
}

static void test_worked_example_rectangle(void **state) {
  (void)state;
  /* 25 01 30 03 08"top_left" 30 02 01"x" 09 01"y" 09 0c"bottom_right"
   * 30 02 01"x" 09 01"y" 09 05"label" 21 0f 0d */
  uint8_t want[128];
  size_t n = 0;
  want[n++] = 0x25, want[n++] = 0x01, want[n++] = 0x30, want[n++] = 0x03;
  n += put_str(want + n, "top_left");
  want[n++] = 0x30, want[n++] = 0x02;
  n += put_str(want + n, "x");
  want[n++] = 0x09;
  n += put_str(want + n, "y");
  want[n++] = 0x09;
  n += put_str(want + n, "bottom_right");
  want[n++] = 0x30, want[n++] = 0x02;
  n += put_str(want + n, "x");
  want[n++] = 0x09;
  n += put_str(want + n, "y");
  want[n++] = 0x09;
  n += put_str(want + n, "label");
  want[n++] = 0x21, want[n++] = 0x0f, want[n++] = 0x0d;
  const roam_method_desc *m = &roam_testbed_methods[ROAM_TB_RECTANGLE_AREA];
  check_sig(m->args, m->argc, m->ret, ROAM_SIG_PUBLISHED, want, n);
  uint8_t h[32];
  char hex[65];
  assert_int_equal(roam_signature_hash(m->args, m->argc, m->ret, 0, h), ROAM_OK);
  to_hex(h, 32, hex);
  assert_memory_equal(hex, "884a308f", 8);
  assert_memory_equal(hex + 60, "6ac7", 4);

  /* Literal roam-hash 0.6.0: the second Point is a back-reference. */
  uint8_t alt[128];
  size_t an = 0;
  memcpy(alt, want, 2 + 2 + 9 + 2 + 2 + 1 + 2 + 1 + 13); /* up to "bottom_right" */
  an = 2 + 2 + 9 + 2 + 2 + 1 + 2 + 1 + 13;
  alt[an++] = 0x32;
  an += put_str(alt + an, "label");
  alt[an++] = 0x21, alt[an++] = 0x0f, alt[an++] = 0x0d;
  check_sig(m->args, m->argc, m->ret, ROAM_SIG_VISITED_SET, alt, an);
}

static void test_other_testbed_signatures(void **state) {
  (void)state;
  static const struct {
    size_t index;
    const char *hex;
  } cases[] = {
      {ROAM_TB_SUM, "25 01 27 09 0a"},
      {ROAM_TB_TRANSFORM, "25 02 27 0f 26 0f 10"},
      {ROAM_TB_LOOKUP, "25 01 04 10"},
      {ROAM_TB_SWAP_PAIR, "25 01 25 02 09 0f 25 02 0f 09"},
      /* parse_color: Option<Color> */
      {ROAM_TB_PARSE_COLOR, "25 01 0f 21 31 03 03526564 00 05477265656e 00 04426c7565 00"},
      /* process_message: Message twice (each argument/return starts fresh) */
      {ROAM_TB_PROCESS_MESSAGE, "25 01 31 03 0454657874 01 0f 064e756d626572 01 0a 0444617461 01 11"
                                " 31 03 0454657874 01 0f 064e756d626572 01 0a 0444617461 01 11"},
      /* shape_area */
      {ROAM_TB_SHAPE_AREA, "25 01 31 03 06436972636c65 02 01 06726164697573 0d"
                           " 0952656374616e676c65 02 02 057769647468 0d 06686569676874 0d"
                           " 05506f696e74 00 0d"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t want[256];
    size_t n = unhex(cases[i].hex, want, sizeof want);
    const roam_method_desc *m = &roam_testbed_methods[cases[i].index];
    check_sig(m->args, m->argc, m->ret, ROAM_SIG_PUBLISHED, want, n);
  }
}

/* ------------------------------------------------------------------------ */
/* Type classes                                                              */

static void test_primitive_tags(void **state) {
  (void)state;
  static const struct {
    const roam_type *t;
    const char *hex;
  } cases[] = {
      {&roam_type_bool, "01"},  {&roam_type_u8, "02"},     {&roam_type_u16, "03"},
      {&roam_type_u32, "04"},   {&roam_type_u64, "05"},    {&roam_type_u128, "06"},
      {&roam_type_i8, "07"},    {&roam_type_i16, "08"},    {&roam_type_i32, "09"},
      {&roam_type_i64, "0a"},   {&roam_type_i128, "0b"},   {&roam_type_f32, "0c"},
      {&roam_type_f64, "0d"},   {&roam_type_char, "0e"},   {&roam_type_string, "0f"},
      {&roam_type_unit, "10"},  {&roam_type_bytes, "11"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_type(cases[i].t, 0, cases[i].hex);
}

static const roam_type vec_u8 = ROAM_LIST(&roam_type_u8);
static const roam_type vec_i32 = ROAM_LIST(&roam_type_i32);
static const roam_type vec_vec_u8 = ROAM_LIST(&vec_u8);
static const roam_type opt_u16 = ROAM_OPTION(&roam_type_u16);
static const roam_type arr_u8_300 = ROAM_ARRAY(&roam_type_u8, 300);
static const roam_type arr_big = ROAM_ARRAY(&roam_type_bool, UINT64_MAX);
static const roam_type map_str_u64 = ROAM_MAP(&roam_type_string, &roam_type_u64);
static const roam_type set_char = ROAM_SET(&roam_type_char);
static const roam_type tx_bytes = ROAM_TX(&roam_type_bytes);
static const roam_type rx_opt = ROAM_RX(&opt_u16);
static const roam_type result_ok = ROAM_RESULT(&roam_type_i64, &roam_type_string);
static const roam_type opaque = ROAM_OPAQUE("std::time::Duration");
static const roam_type triple = ROAM_TUPLE(&roam_type_u8, &vec_i32, &roam_type_unit);
static const roam_type empty_struct = ROAM_STRUCT0("Empty");

static void test_container_tags(void **state) {
  (void)state;
  check_type(&vec_u8, 0, "11"); /* Vec<u8> is bytes */
  check_type(&vec_i32, 0, "20 09");
  check_type(&vec_vec_u8, 0, "20 11");
  check_type(&opt_u16, 0, "21 03");
  check_type(&arr_u8_300, 0, "22 ac02 02"); /* arrays keep u8 */
  check_type(&arr_big, 0, "22 ffffffffffffffffff01 01");
  check_type(&map_str_u64, 0, "23 0f 05");
  check_type(&set_char, 0, "24 0e");
  check_type(&tx_bytes, 0, "26 11");
  check_type(&rx_opt, 0, "27 21 03");
  check_type(&result_ok, 0, "10"); /* Result is opaque to roam-hash 0.6.0 */
  check_type(&opaque, 0, "10");
  check_type(&triple, 0, "25 03 02 20 09 10");
  check_type(&empty_struct, 0, "30 00");
}

static const roam_type tuple_one = ROAM_TUPLE(&roam_type_f32);
static const roam_type all_variants = ROAM_ENUM(
    "E", ROAM_VARIANT_UNIT("A"), ROAM_VARIANT_NEWTYPE("B", &roam_type_u8),
    ROAM_VARIANT_STRUCT("C", ROAM_FIELD("x", &roam_type_bool)),
    ROAM_VARIANT_TUPLE("D", &roam_type_u8, &roam_type_string),
    ROAM_VARIANT_TUPLE("F", &roam_type_i8) /* single element: newtype */);

static void test_struct_enum_tuple(void **state) {
  (void)state;
  check_type(&tuple_one, 0, "25 01 0c");
  check_type(&all_variants, 0,
             "31 05 0141 00 0142 01 02 0143 02 01 0178 01 0144 02 02 0130 02 0131 0f 0146 01 07");
}

static void test_tuple_variant_many_fields_and_long_names(void **state) {
  (void)state;
  /* 12 fields: names "0".."11"; a 200-byte name needs a two-byte varint. */
  const roam_type *const elems[12] = {
      &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8,
      &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8, &roam_type_u8};
  char longname[201];
  memset(longname, 'n', 200);
  longname[200] = 0;
  const roam_variant v[2] = {
      {.name = "T", .kind = ROAM_VARIANT_TUPLE, .elems = elems, .count = 12},
      {.name = longname, .kind = ROAM_VARIANT_UNIT},
  };
  const roam_type e = {.kind = ROAM_TYPE_ENUM, .name = "Big", .variants = v, .count = 2};
  uint8_t buf[512];
  size_t len = 0;
  assert_int_equal(roam_type_encode(&e, 0, buf, sizeof buf, &len), ROAM_OK);
  uint8_t want[512];
  size_t n = 0;
  want[n++] = 0x31, want[n++] = 0x02;
  n += put_str(want + n, "T");
  want[n++] = 0x02, want[n++] = 12;
  for (int i = 0; i < 12; i++) {
    char nm[4];
    snprintf(nm, sizeof nm, "%d", i);
    n += put_str(want + n, nm);
    want[n++] = 0x02;
  }
  want[n++] = 0xc8, want[n++] = 0x01; /* varint(200) */
  memcpy(want + n, longname, 200);
  n += 200;
  want[n++] = 0x00;
  assert_int_equal(len, n);
  assert_memory_equal(buf, want, n);
}

/* ------------------------------------------------------------------------ */
/* Recursion                                                                 */

/* struct Node { value: i32, children: Vec<Node> } */
static const roam_type node;
static const roam_type node_list = ROAM_LIST(&node);
static const roam_type node =
    ROAM_STRUCT("Node", ROAM_FIELD("value", &roam_type_i32), ROAM_FIELD("children", &node_list));

/* struct TreeNode { data: String, left: Option<Box<TreeNode>>, right: Option<Box<TreeNode>> } */
static const roam_type tree;
static const roam_type opt_tree = ROAM_OPTION(&tree);
static const roam_type tree =
    ROAM_STRUCT("TreeNode", ROAM_FIELD("data", &roam_type_string), ROAM_FIELD("left", &opt_tree),
                ROAM_FIELD("right", &opt_tree));

/* struct Parent { name: String, children: Vec<Child> }
 * struct Child { name: String, parent: Option<Box<Parent>> } */
static const roam_type parent, child;
static const roam_type child_list = ROAM_LIST(&child);
static const roam_type opt_parent = ROAM_OPTION(&parent);
static const roam_type parent = ROAM_STRUCT("Parent", ROAM_FIELD("name", &roam_type_string),
                                            ROAM_FIELD("children", &child_list));
static const roam_type child = ROAM_STRUCT("Child", ROAM_FIELD("name", &roam_type_string),
                                           ROAM_FIELD("parent", &opt_parent));

/* enum Expr { Lit(i64), Add(Box<Expr>, Box<Expr>), Neg(Box<Expr>) } */
static const roam_type expr;
static const roam_type expr =
    ROAM_ENUM("Expr", ROAM_VARIANT_NEWTYPE("Lit", &roam_type_i64),
              ROAM_VARIANT_TUPLE("Add", &expr, &expr), ROAM_VARIANT_NEWTYPE("Neg", &expr));

static void test_recursion(void **state) {
  (void)state;
  check_type(&node, 0, "30 02 0576616c7565 09 086368696c6472656e 20 32");
  check_type(&tree, 0, "30 03 0464617461 0f 046c656674 21 32 057269676874 21 32");
  check_type(&parent, 0,
             "30 02 046e616d65 0f 086368696c6472656e 20"
             " 30 02 046e616d65 0f 06706172656e74 21 32");
  check_type(&child, 0,
             "30 02 046e616d65 0f 06706172656e74 21"
             " 30 02 046e616d65 0f 086368696c6472656e 20 32");
  check_type(&expr, 0, "31 03 034c6974 01 0a 03416464 02 02 0130 32 0131 32 034e6567 01 32");
  /* Visited-set mode agrees where there is no side-by-side reuse. */
  check_type(&node, ROAM_SIG_VISITED_SET, "30 02 0576616c7565 09 086368696c6472656e 20 32");
  /* Each argument starts fresh: Node twice is spelled out twice. */
  const roam_type *const args[2] = {&node, &node};
  uint8_t a[128], b[128];
  size_t la = 0, lb = 0;
  assert_int_equal(roam_type_encode(&node, 0, a, sizeof a, &la), ROAM_OK);
  assert_int_equal(roam_signature_encode(args, 2, &node, ROAM_SIG_VISITED_SET, b, sizeof b, &lb),
                   ROAM_OK);
  assert_int_equal(lb, 2 + 3 * la);
  assert_memory_equal(b + 2, a, la);
  assert_memory_equal(b + 2 + la, a, la);
  assert_memory_equal(b + 2 + 2 * la, a, la);
}

static const roam_type pp = ROAM_TUPLE(&roam_testbed_point, &roam_testbed_point);

static void test_siblings_spelled_out(void **state) {
  (void)state;
  /* (Point, Point): published mode spells out both, visited set does not. */
  check_type(&pp, 0, "25 02 30 02 0178 09 0179 09 30 02 0178 09 0179 09");
  check_type(&pp, ROAM_SIG_VISITED_SET, "25 02 30 02 0178 09 0179 09 32");
}

/* ------------------------------------------------------------------------ */
/* Errors and limits                                                         */

static void test_buffer_sizing(void **state) {
  (void)state;
  const roam_method_desc *m = &roam_testbed_methods[ROAM_TB_CREATE_CANVAS];
  size_t need = 0;
  assert_int_equal(roam_signature_encode(m->args, m->argc, m->ret, 0, NULL, 0, &need),
                   ROAM_ERR_BUFFER_FULL);
  assert_true(need > 50);
  uint8_t full[512], part[512];
  size_t len = 0;
  assert_int_equal(roam_signature_encode(m->args, m->argc, m->ret, 0, full, need, &len), ROAM_OK);
  assert_int_equal(len, need);
  memset(part, 0xEE, sizeof part);
  assert_int_equal(roam_signature_encode(m->args, m->argc, m->ret, 0, part, need - 1, &len),
                   ROAM_ERR_BUFFER_FULL);
  assert_int_equal(len, need);
  assert_memory_equal(part, full, need - 1); /* the prefix that fits is written */
  assert_int_equal(part[need - 1], 0xEE);    /* and nothing beyond cap */
  /* Zero arguments, no return type: 25 00 10. */
  uint8_t z[3];
  assert_int_equal(roam_signature_encode(NULL, 0, NULL, 0, z, sizeof z, &len), ROAM_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(z, "\x25\x00\x10", 3);
}

static const roam_type self_list; /* a list whose element is itself */
static const roam_type self_list = ROAM_LIST(&self_list);

static void test_invalid_descriptors(void **state) {
  (void)state;
  uint8_t buf[64];
  size_t len;
  const roam_type bad_kind = {.kind = (roam_type_kind)0x7f};
  const roam_type null_elem = {.kind = ROAM_TYPE_OPTION};
  const roam_type null_fields = {.kind = ROAM_TYPE_STRUCT, .name = "S", .count = 2};
  const roam_field null_name_f[1] = {{NULL, &roam_type_u8}};
  const roam_type null_name = {.kind = ROAM_TYPE_STRUCT, .fields = null_name_f, .count = 1};
  const roam_variant bad_variant_v[1] = {{.name = "V", .kind = (roam_variant_kind)9}};
  const roam_type bad_variant = {.kind = ROAM_TYPE_ENUM, .variants = bad_variant_v, .count = 1};
  const roam_type *const null_arg[1] = {NULL};

  assert_int_equal(roam_type_encode(NULL, 0, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&bad_kind, 0, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&null_elem, 0, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&null_fields, 0, buf, sizeof buf, &len),
                   ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&null_name, 0, buf, sizeof buf, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&bad_variant, 0, buf, sizeof buf, &len),
                   ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_type_encode(&roam_type_u8, 0x80, buf, sizeof buf, &len),
                   ROAM_ERR_INVALID_ARG); /* unknown flag */
  assert_int_equal(roam_type_encode(&roam_type_u8, 0, NULL, 4, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_signature_encode(null_arg, 1, NULL, 0, buf, sizeof buf, &len),
                   ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_signature_encode(NULL, 2, NULL, 0, buf, sizeof buf, &len),
                   ROAM_ERR_INVALID_ARG);
  /* A cycle through containers only cannot terminate: nesting limit. */
  assert_int_equal(roam_type_encode(&self_list, 0, buf, sizeof buf, &len), ROAM_ERR_LIMIT);

  uint64_t id = 1;
  assert_int_equal(roam_method_id_ex("S", "m", null_arg, 1, NULL, 0, &id), ROAM_ERR_INVALID_ARG);
  assert_true(roam_method_id("S", "m", null_arg, 1, NULL) == 0);
  assert_int_equal(roam_method_id_ex(NULL, "m", NULL, 0, NULL, 0, &id), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_method_id_ex("S\xff", "m", NULL, 0, NULL, 0, &id), ROAM_ERR_BAD_UTF8);
  assert_int_equal(roam_method_id_ex("S", "m\xc3", NULL, 0, NULL, 0, &id), ROAM_ERR_BAD_UTF8);
}

static void test_size_limit(void **state) {
  (void)state;
  /* T0 = u8, Tk = (T(k-1), T(k-1)) as distinct descriptors: 2^26 leaves
   * spelled out in full exceeds ROAM_SIG_MAX_BYTES. */
  enum { LEVELS = 26 };
  static roam_type t[LEVELS + 1];
  static const roam_type *elems[LEVELS + 1][2];
  t[0] = roam_type_u8;
  for (int k = 1; k <= LEVELS; k++) {
    elems[k][0] = elems[k][1] = &t[k - 1];
    t[k] = (roam_type){.kind = ROAM_TYPE_TUPLE, .elems = elems[k], .count = 2};
  }
  size_t len = 0;
  assert_int_equal(roam_type_encode(&t[LEVELS], 0, NULL, 0, &len), ROAM_ERR_LIMIT);
  uint8_t h[32];
  const roam_type *const args[1] = {&t[LEVELS]};
  assert_int_equal(roam_signature_hash(args, 1, NULL, 0, h), ROAM_ERR_LIMIT);
  /* A smaller one fits and hashes the same streamed or buffered. */
  assert_int_equal(roam_type_encode(&t[12], 0, NULL, 0, &len), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(len, 2 * 4095 + 4096); /* 4095 tuple headers, 4096 leaves */
  static uint8_t big[16384];
  const roam_type *const args12[1] = {&t[12]};
  size_t slen = 0;
  assert_int_equal(roam_signature_encode(args12, 1, NULL, 0, big, sizeof big, &slen), ROAM_OK);
  uint8_t h1[32], h2[32];
  roam_blake3(h1, big, slen);
  assert_int_equal(roam_signature_hash(args12, 1, NULL, 0, h2), ROAM_OK);
  assert_memory_equal(h1, h2, 32);
}

/* ------------------------------------------------------------------------ */
/* kebab-case                                                                */

static void test_kebab_case(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"Testbed", "testbed"},
      {"TemplateHost", "template-host"},
      {"echo_point", "echo-point"},
      {"getPoints", "get-points"},
      {"HTTPServer", "http-server"},
      {"XMLHttpRequest", "xml-http-request"},
      {"kebab-case", "kebab-case"},
      {"already-kebab-case", "already-kebab-case"},
      {"CamelCase", "camel-case"},
      {"SHOUTY_SNAKE_CASE", "shouty-snake-case"},
      {"snake_case", "snake-case"},
      {"This is Human case.", "this-is-human-case"},
      {"MixedUP CamelCase, with some Spaces", "mixed-up-camel-case-with-some-spaces"},
      {"mixed_up_ snake_case with some _spaces", "mixed-up-snake-case-with-some-spaces"},
      {"this-contains_ ALLKinds OfWord_Boundaries", "this-contains-all-kinds-of-word-boundaries"},
      {"Vec3Point", "vec3-point"},
      {"v2_api", "v2-api"},
      {"ABC3Def", "abc3-def"},
      {"HTTP2Server", "http2-server"},
      {"Http404Error", "http404-error"},
      {"Http404error", "http404error"},
      {"utf8Decoder", "utf8-decoder"},
      {"3dModel", "3d-model"},
      {"A", "a"},
      {"aB", "a-b"},
      {"aBC", "a-bc"},
      {"ABc", "a-bc"},
      {"_leading", "leading"},
      {"trailing_", "trailing"},
      {"double__underscore", "double-underscore"},
      {"__all__the__way__", "all-the-way"},
      {"___", ""},
      {"", ""},
      {"get_points", "get-points"},
      {"ÉcoleNormale", "école-normale"},
      {"naïveÜber", "naïve-über"},
      {"XΣXΣ baﬄe", "xσxς-baﬄe"},
      {"ΣΑΣ", "σας"},
      {"ПриветМир", "привет-мир"},
      {"ファイルを読み込み", "ファイルを読み込み"},
      {"祝你一天过得愉快", "祝你一天过得愉快"},
      {"a\xe2\x80\x94" "b", "a-b"}, /* em dash separates */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[128];
    size_t len = 99;
    int rc = roam_kebab_case(cases[i].in, strlen(cases[i].in), out, sizeof out, &len);
    if (rc != ROAM_OK || strcmp(out, cases[i].out) != 0 || len != strlen(cases[i].out))
      fail_msg("kebab(\"%s\") = \"%s\" (rc %d), want \"%s\"", cases[i].in, out, rc,
               cases[i].out);
  }
}

static void test_kebab_errors_and_sizing(void **state) {
  (void)state;
  char out[8];
  size_t len = 0;
  assert_int_equal(roam_kebab_case("TemplateHost", 12, out, sizeof out, &len),
                   ROAM_ERR_BUFFER_FULL);
  assert_int_equal(len, 13);
  assert_int_equal(out[7], 0); /* truncated but terminated */
  assert_int_equal(roam_kebab_case("TemplateHost", 12, NULL, 0, &len), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(len, 13);
  char exact[14];
  assert_int_equal(roam_kebab_case("TemplateHost", 12, exact, 14, &len), ROAM_OK);
  assert_string_equal(exact, "template-host");
  assert_int_equal(roam_kebab_case("TemplateHost", 12, exact, 13, &len), ROAM_ERR_BUFFER_FULL);
  /* Length-delimited input: embedded bytes past in_len are ignored. */
  assert_int_equal(roam_kebab_case("getPointsXYZ", 9, exact, sizeof exact, &len), ROAM_OK);
  assert_string_equal(exact, "get-points");
  /* Invalid UTF-8: truncated, overlong, surrogate, out of range. */
  static const char *const bad[] = {"a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                    "\x80", "ab\xe2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(roam_kebab_case(bad[i], strlen(bad[i]), exact, sizeof exact, &len),
                     ROAM_ERR_BAD_UTF8);
  assert_int_equal(roam_kebab_case(NULL, 3, exact, sizeof exact, &len), ROAM_ERR_INVALID_ARG);
  assert_int_equal(roam_kebab_case(NULL, 0, exact, sizeof exact, &len), ROAM_OK);
  assert_string_equal(exact, "");
  /* Worst case growth: every character starts a word. */
  assert_int_equal(roam_kebab_case("aAaAaA", 6, exact, sizeof exact, &len), ROAM_OK);
  assert_string_equal(exact, "a-aa-aa-a");
}

static void test_kebab_in_method_id(void **state) {
  (void)state;
  /* The id only depends on the kebab forms of the names. */
  const roam_method_desc *m = &roam_testbed_methods[ROAM_TB_ECHO_POINT];
  uint64_t a = 0, b = 0;
  assert_int_equal(roam_method_id_ex("Testbed", "echoPoint", m->args, m->argc, m->ret, 0, &a), 0);
  assert_int_equal(roam_method_id_ex("testbed", "ECHO_POINT", m->args, m->argc, m->ret, 0, &b), 0);
  assert_true(a == ROAM_TESTBED_ECHO_POINT);
  /* "ECHO_POINT" -> "echo-point" as well */
  assert_true(b == ROAM_TESTBED_ECHO_POINT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_testbed_ids_match_published),
      cmocka_unit_test(test_testbed_ids_literal_visited_set),
      cmocka_unit_test(test_testbed_find_and_convenience),
      cmocka_unit_test(test_worked_examples),
      cmocka_unit_test(test_worked_example_rectangle),
      cmocka_unit_test(test_other_testbed_signatures),
      cmocka_unit_test(test_primitive_tags),
      cmocka_unit_test(test_container_tags),
      cmocka_unit_test(test_struct_enum_tuple),
      cmocka_unit_test(test_tuple_variant_many_fields_and_long_names),
      cmocka_unit_test(test_recursion),
      cmocka_unit_test(test_siblings_spelled_out),
      cmocka_unit_test(test_buffer_sizing),
      cmocka_unit_test(test_invalid_descriptors),
      cmocka_unit_test(test_size_limit),
      cmocka_unit_test(test_kebab_case),
      cmocka_unit_test(test_kebab_errors_and_sizing),
      cmocka_unit_test(test_kebab_in_method_id),
  };
  return cmocka_run_group_tests_name("method_id", tests, NULL, NULL);
}
