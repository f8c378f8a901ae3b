/*
 * The schema-driven JSON <-> postcard codec (tools/roam/json_codec.c):
 * exact 64- and 128-bit integers, serde_json's float text, every shape of
 * the schema, encoding errors with their paths, and decoding of hostile
 * bytes (bounded counts, bounded depth, never a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_codec.h"
#include "schema.h"

static const char DEFS[] =
    "#[service]\n"
    "trait T {\n"
    "  async fn f(&self, a: u64, b: i64, c: u128, d: i128, e: f64, g: f32, h: char) -> u8;\n"
    "  async fn g(&self, m: HashMap<String, u32>, k: HashMap<u64, bool>, p: HashMap<Point, u8>,\n"
    "             o: Option<Option<u8>>, s: HashSet<i8>, arr: [u8; 3], bytes: Vec<u8>,\n"
    "             t: (u8, String));\n"
    "  async fn h(&self, m: Meters, pr: Pair, u: Unit, e: E, tree: Tree, opt: WithOpt);\n"
    "}\n"
    "struct Point { x: i32, y: i32 }\n"
    "struct Meters(f64);\n"
    "struct Pair(u8, u8);\n"
    "struct Unit;\n"
    "enum E { A, B(u8), C(u8, u8), D { x: bool } }\n"
    "struct Tree { v: u8, children: Vec<Tree> }\n"
    "struct WithOpt { a: u8, b: Option<String> }\n";

static roam_schema *S;

static const roam_schema_type *param(const char *method, const char *name) {
  const roam_schema_file *f = roam_schema_file_at(S, 0);
  const roam_schema_service *svc = &f->services[0];
  for (size_t i = 0; i < svc->nmethods; i++) {
    if (strcmp(svc->methods[i].name, method)) continue;
    for (size_t j = 0; j < svc->methods[i].nparams; j++)
      if (!strcmp(svc->methods[i].params[j].name, name)) return svc->methods[i].params[j].type;
  }
  fail_msg("no parameter %s.%s", method, name);
  return NULL;
}

/* Encode json as type, check the bytes (hex, NULL = skip), decode back and
 * check the JSON text. */
static void roundtrip(const char *method, const char *p, const char *json, const char *hex,
                      const char *back) {
  const roam_schema_type *t = param(method, p);
  char err[256];
  json_t *v = jc_parse(json, strlen(json), err, sizeof err);
  assert_non_null(v);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  jc_ctx cx;
  jc_ctx_init(&cx, p);
  if (jc_encode(t, v, &e, &cx) != 0) fail_msg("encode %s: %s", json, cx.err);
  if (hex) {
    char got[1024] = "";
    for (size_t i = 0; i < roam_enc_size(&e) && i < 500; i++)
      sprintf(got + 2 * i, "%02x", roam_enc_data(&e)[i]);
    assert_string_equal(got, hex);
  }
  roam_dec d;
  roam_dec_init(&d, roam_enc_data(&e), roam_enc_size(&e));
  jc_buf out = {0};
  jc_ctx_init(&cx, p);
  if (jc_decode(t, &d, &out, &cx) != 0) fail_msg("decode %s: %s", json, cx.err);
  assert_int_equal(roam_dec_finish(&d), 0);
  assert_string_equal(jc_buf_str(&out), back ? back : json);
  jc_buf_free(&out);
  roam_enc_free(&e);
  json_decref(v);
}

static void encode_fails(const char *method, const char *p, const char *json, const char *msg) {
  const roam_schema_type *t = param(method, p);
  char err[256];
  json_t *v = jc_parse(json, strlen(json), err, sizeof err);
  assert_non_null(v);
  roam_enc e;
  roam_enc_init_growable(&e, NULL);
  jc_ctx cx;
  jc_ctx_init(&cx, p);
  assert_int_equal(jc_encode(t, v, &e, &cx), -1);
  if (!strstr(cx.err, msg)) fail_msg("error '%s' lacks '%s'", cx.err, msg);
  roam_enc_free(&e);
  json_decref(v);
}

static void test_integers_exact(void **st) {
  (void)st;
  roundtrip("f", "a", "18446744073709551615", "ffffffffffffffffff01", NULL);
  roundtrip("f", "a", "9223372036854775808", "80808080808080808001", NULL);
  roundtrip("f", "a", "0", "00", NULL);
  roundtrip("f", "b", "-9223372036854775808", "ffffffffffffffffff01", NULL);
  roundtrip("f", "b", "9223372036854775807", "feffffffffffffffff01", NULL);
  roundtrip("f", "c", "340282366920938463463374607431768211455", NULL, NULL);
  roundtrip("f", "d", "-170141183460469231731687303715884105728", NULL, NULL);
  roundtrip("f", "d", "170141183460469231731687303715884105727", NULL, NULL);
  roundtrip("f", "a", "1e3", "e807", "1000"); /* an integral real is accepted */
  encode_fails("f", "a", "18446744073709551616", "out of range for u64");
  encode_fails("f", "a", "-1", "out of range for u64");
  encode_fails("f", "b", "9223372036854775808", "out of range for i64");
  encode_fails("f", "a", "1.5", "expected an integer");
  encode_fails("f", "c", "340282366920938463463374607431768211456", "not an integer");
  /* a large literal is a number, not a string */
  encode_fails("f", "h", "18446744073709551616", "expected a string");
}

static void test_floats_like_serde(void **st) {
  (void)st;
  roundtrip("f", "e", "0.1", NULL, NULL);
  roundtrip("f", "e", "100", NULL, "100.0");
  roundtrip("f", "e", "1e21", NULL, "1e21");
  roundtrip("f", "e", "1e16", NULL, "1e16");
  roundtrip("f", "e", "1e15", NULL, "1000000000000000.0");
  roundtrip("f", "e", "1.5e-7", NULL, "1.5e-7");
  roundtrip("f", "e", "0.0001", NULL, "0.0001");
  roundtrip("f", "e", "123456789012345680", NULL, "1.2345678901234568e17");
  roundtrip("f", "e", "-0.0", NULL, "-0.0");
  roundtrip("f", "e", "3.141592653589793", NULL, NULL);
  roundtrip("f", "e", "100000000000000000000000", NULL, "1e23"); /* past i64: exact path */
  roundtrip("f", "g", "0.1", "cdcccc3d", "0.1");
  roundtrip("f", "g", "16777216", NULL, "16777216.0");
  encode_fails("f", "g", "1e39", "out of range for f32");
}

static void test_shapes(void **st) {
  (void)st;
  roundtrip("f", "h", "\"é\"", "02c3a9", NULL);
  encode_fails("f", "h", "\"ab\"", "exactly one character");
  roundtrip("g", "m", "{\"a\":1,\"b\":2}", "02016101016202", NULL);
  roundtrip("g", "k", "{\"18446744073709551615\":true}", NULL, NULL);
  roundtrip("g", "p", "[[{\"x\":1,\"y\":-1},3]]", "01020103", NULL);
  roundtrip("g", "o", "null", "00", NULL);
  roundtrip("g", "o", "5", "010105", NULL);
  roundtrip("g", "s", "[-1,2]", "02ff02", NULL);
  roundtrip("g", "arr", "[1,2,3]", "010203", NULL);
  encode_fails("g", "arr", "[1,2]", "an array of 3 values");
  roundtrip("g", "bytes", "[0,255]", "0200ff", NULL);
  roundtrip("g", "t", "[7,\"x\"]", "070178", NULL);
  roundtrip("h", "m", "1.5", NULL, NULL);
  roundtrip("h", "pr", "[1,2]", "0102", NULL);
  roundtrip("h", "u", "null", "", NULL);
  roundtrip("h", "e", "\"A\"", "00", NULL);
  roundtrip("h", "e", "{\"A\":null}", "00", "\"A\"");
  roundtrip("h", "e", "{\"B\":9}", "0109", NULL);
  roundtrip("h", "e", "{\"C\":[1,2]}", "020102", NULL);
  roundtrip("h", "e", "{\"D\":{\"x\":true}}", "0301", NULL);
  roundtrip("h", "tree", "{\"v\":1,\"children\":[{\"v\":2,\"children\":[]}]}", "01010200", NULL);
  roundtrip("h", "opt", "{\"a\":1}", "0100", "{\"a\":1,\"b\":null}");
  encode_fails("h", "e", "\"Z\"", "unknown variant 'Z' of enum E (variants: A, B, C, D)");
  encode_fails("h", "e", "\"B\"", "carries a value");
  encode_fails("h", "opt", "{\"a\":1,\"zz\":2}", "unknown field 'zz'");
  encode_fails("h", "tree", "{\"v\":1,\"children\":[{\"v\":300,\"children\":[]}]}",
               "at tree.children[0].v: integer out of range for u8");
  encode_fails("h", "tree", "{\"children\":[]}", "missing field 'v'");
}

static void test_json_text_escapes(void **st) {
  (void)st;
  jc_buf b = {0};
  jc_write_string(&b, "a\"b\\c\n\x01\xc3\xa9", 9);
  assert_string_equal(jc_buf_str(&b), "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  jc_buf_free(&b);
  char err[128];
  assert_null(jc_parse("[1,", 3, err, sizeof err));
  assert_non_null(strstr(err, "line 1"));
  /* strings that merely look like numbers stay strings */
  const char *text = "[\"-12\", \"99999999999999999999\"]";
  json_t *v = jc_parse(text, strlen(text), err, sizeof err);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_array_get(v, 1)), "99999999999999999999");
  json_decref(v);
}

static void test_hostile_bytes(void **st) {
  (void)st;
  const roam_schema_type *tree = param("h", "tree");
  /* a count far beyond the bytes left */
  static const uint8_t big_count[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
  roam_dec d;
  jc_buf out = {0};
  jc_ctx cx;
  roam_dec_init(&d, big_count, sizeof big_count);
  jc_ctx_init(&cx, "tree");
  assert_int_equal(jc_decode(tree, &d, &out, &cx), -1);
  /* nesting deeper than JC_MAX_DEPTH: v=0, one child, again and again */
  size_t n = 2 * 100000;
  uint8_t *deep = malloc(n);
  for (size_t i = 0; i < n; i += 2) deep[i] = 0, deep[i + 1] = 1;
  roam_dec_init(&d, deep, n);
  jc_buf_reset(&out);
  jc_ctx_init(&cx, "tree");
  assert_int_equal(jc_decode(tree, &d, &out, &cx), -1);
  assert_non_null(strstr(cx.err, "nested too deeply"));
  free(deep);
  /* random bytes against every parameter type: never a crash */
  srand(1);
  const roam_schema_file *f = roam_schema_file_at(S, 0);
  uint8_t buf[64];
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = (size_t)(rand() % (int)sizeof buf);
    for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)(rand() % 4 == 0 ? 0xff : rand());
    const roam_schema_method *m = &f->services[0].methods[iter % f->services[0].nmethods];
    for (size_t j = 0; j < m->nparams; j++) {
      roam_dec_init(&d, buf, len);
      jc_buf_reset(&out);
      jc_ctx_init(&cx, "x");
      (void)jc_decode(m->params[j].type, &d, &out, &cx);
      assert_true(out.len <= 64 * (len + 8));
    }
  }
  jc_buf_free(&out);
}

int main(void) {
  if (roam_schema_new(&S) || roam_schema_parse_text(S, "t.rs", DEFS, sizeof DEFS - 1)) {
    fprintf(stderr, "schema: %s\n", S ? roam_schema_error(S) : "oom");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers_exact), cmocka_unit_test(test_floats_like_serde),
      cmocka_unit_test(test_shapes), cmocka_unit_test(test_json_text_escapes),
      cmocka_unit_test(test_hostile_bytes)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  roam_schema_free(S);
  return rc;
}
