/*
 * libFuzzer target for the roam tool's JSON <-> postcard codec
 * (tools/roam/json_codec.c), the path hostile bytes from a server (roam
 * call, roam spy) and a user's JSON take: the input's first byte picks a
 * type of a definition with every shape (recursion included); the rest is
 * decoded as postcard of that type and, separately, parsed as JSON and
 * encoded as that type. Neither may crash, leak or read out of bounds, and
 * what the decoder writes must be valid JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_codec.h"
#include "schema.h"

static const char DEFS[] =
    "#[service]\n"
    "trait F {\n"
    "  async fn f(&self, a: u64, b: i64, c: u128, d: i128, e: f64, g: f32, h: char, s: String,\n"
    "             m: HashMap<String, u32>, k: HashMap<u64, bool>, p: HashMap<Point, u8>,\n"
    "             o: Option<Option<u8>>, st: HashSet<i8>, arr: [u8; 3], bytes: Vec<u8>,\n"
    "             t: (u8, String), x: Shape, tree: Tree, w: Wrap, u: Unit, pr: Pair, v: Vec<()>);\n"
    "}\n"
    "struct Point { x: i32, y: i32 }\n"
    "enum Shape { Circle { radius: f64 }, Rect(f64, f64), Text(String), Dot }\n"
    "struct Tree { v: u8, children: Vec<Tree>, next: Option<Box<Tree>> }\n"
    "struct Wrap(Vec<Shape>);\n"
    "struct Unit;\n"
    "struct Pair(u8, Option<String>);\n";

static roam_schema *S;
static const roam_schema_method *M;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!S) {
    if (roam_schema_new(&S) || roam_schema_parse_text(S, "f.rs", DEFS, sizeof DEFS - 1)) abort();
    M = &roam_schema_file_at(S, 0)->services[0].methods[0];
  }
  if (size < 1) return 0;
  const roam_schema_type *t = M->params[data[0] % M->nparams].type;
  data++, size--;

  /* postcard -> JSON, and back when it decoded */
  roam_dec d;
  roam_dec_init(&d, data, size);
  jc_buf out = {0};
  jc_ctx cx;
  jc_ctx_init(&cx, "x");
  if (jc_decode(t, &d, &out, &cx) == 0 && !out.oom) {
    char err[256];
    json_t *v = jc_parse(out.p, out.len, err, sizeof err);
    /* the decoder must write valid JSON (jansson refuses one valid thing:
     * a NUL character in an object key, which a map's String key may hold) */
    if (!v && !strstr(err, "NUL")) {
      fprintf(stderr, "invalid JSON from the decoder: %s\n%s\n", err, out.p);
      abort();
    }
    /* and what it wrote encodes again (NaN, written null, may not) */
    roam_enc e;
    roam_enc_init_growable(&e, NULL);
    jc_ctx_init(&cx, "x");
    (void)jc_encode(t, v, &e, &cx);
    roam_enc_free(&e);
    json_decref(v);
  }
  jc_buf_free(&out);

  /* the input as JSON text, encoded as the type */
  char err[256];
  json_t *v = jc_parse((const char *)data, size, err, sizeof err);
  if (v) {
    roam_enc e;
    roam_enc_init_growable(&e, NULL);
    jc_ctx_init(&cx, "x");
    (void)jc_encode(t, v, &e, &cx);
    roam_enc_free(&e);
    json_decref(v);
  }
  return 0;
}
