/*
 * tools/schema: the Rust-syntax definition parser. The Testbed definition
 * gives the sixteen published ids; a definition using every accepted form
 * parses into the expected tree; each rejected form gives its
 * file:line:column error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <roam/testbed_ids.h>

#include "schema.h"

static roam_schema *parse_ok(const char *text) {
  roam_schema *s;
  assert_int_equal(roam_schema_new(&s), 0);
  if (roam_schema_parse_text(s, "t.rs", text, strlen(text)) != 0)
    fail_msg("unexpected error: %s", roam_schema_error(s));
  return s;
}

static const roam_schema_method *method(const roam_schema_file *f, const char *svc,
                                        const char *name) {
  for (size_t i = 0; i < f->nservices; i++)
    if (strcmp(f->services[i].name, svc) == 0)
      for (size_t j = 0; j < f->services[i].nmethods; j++)
        if (strcmp(f->services[i].methods[j].name, name) == 0)
          return &f->services[i].methods[j];
  fail_msg("no method %s.%s", svc, name);
  return NULL;
}

/* ---- the Testbed definition --------------------------------------------- */

static void test_testbed_ids(void **st) {
  (void)st;
  roam_schema *s;
  assert_int_equal(roam_schema_new(&s), 0);
  if (roam_schema_parse_file(s, ROAM_SOURCE_DIR "/tools/testbed/testbed.rs") != 0)
    fail_msg("%s", roam_schema_error(s));
  const roam_schema_file *f = roam_schema_file_at(s, 0);
  assert_string_equal(f->stem, "testbed");
  assert_int_equal(f->nservices, 1);
  const roam_schema_service *svc = &f->services[0];
  assert_string_equal(svc->name, "Testbed");
  assert_int_equal(svc->nmethods, ROAM_TESTBED_METHOD_COUNT);
  for (size_t i = 0; i < svc->nmethods; i++) {
    assert_string_equal(svc->methods[i].name, roam_testbed_methods[i].method);
    assert_int_equal(svc->methods[i].id, roam_testbed_published_ids[i]);
    assert_ptr_equal(svc->methods[i].service, svc);
    uint64_t alt = i == ROAM_TB_RECTANGLE_AREA ? ROAM_TESTBED_RECTANGLE_AREA_ALT
                                               : roam_testbed_published_ids[i];
    assert_int_equal(svc->methods[i].id_visited_set, alt);
  }
  /* doc comments are kept */
  assert_string_equal(svc->methods[0].doc, "Echoes the message back.");
  assert_string_equal(svc->doc, "Testbed service for conformance testing.\n\nCombines unary, "
                                "streaming, and complex type methods for comprehensive testing.");
  /* divide: Result<i64, MathError> splits into ok and user error */
  const roam_schema_method *divide = method(f, "Testbed", "divide");
  assert_int_equal(divide->ok->kind, ROAM_SCHEMA_I64);
  assert_string_equal(divide->err->decl->name, "MathError");
  const roam_schema_method *generate = method(f, "Testbed", "generate");
  assert_null(generate->ret);
  assert_null(generate->ok);
  assert_int_equal(generate->params[1].type->kind, ROAM_SCHEMA_TX);
  /* Shape: struct, struct and unit variants with discriminants */
  const roam_schema_decl *shape = roam_schema_find_decl(f, "Shape");
  assert_non_null(shape);
  assert_int_equal(shape->kind, ROAM_SCHEMA_ENUM);
  assert_int_equal(shape->nvariants, 3);
  assert_int_equal(shape->variants[1].body.shape, ROAM_SCHEMA_SHAPE_NAMED);
  assert_string_equal(shape->variants[1].body.fields[1].name, "height");
  assert_true(shape->variants[2].has_discriminant);
  assert_int_equal(shape->variants[2].discriminant, 2);
  assert_int_equal(shape->variants[2].body.shape, ROAM_SCHEMA_SHAPE_UNIT);
  /* the by-value order puts Point before Rectangle, Shape/Color before Canvas */
  size_t pos_point = 99, pos_rect = 99, pos_shape = 99, pos_canvas = 99;
  for (size_t i = 0; i < f->ndecls; i++) {
    const char *n = f->sorted[i]->name;
    if (!strcmp(n, "Point")) pos_point = i;
    if (!strcmp(n, "Rectangle")) pos_rect = i;
    if (!strcmp(n, "Shape")) pos_shape = i;
    if (!strcmp(n, "Canvas")) pos_canvas = i;
  }
  assert_true(pos_point < pos_rect);
  assert_true(pos_shape < 99 && pos_canvas < 99);
  roam_schema_free(s);
}

/* ---- accepted forms ------------------------------------------------------ */

static const char every_form[] =
    "#![deny(unsafe_code)]\n"
    "//! inner doc, ignored\n"
    "use std::collections::{HashMap, BTreeSet};\n"
    "use roam::{Tx, Rx};\n"
    "/* a /* nested */ block comment */\n"
    "/// A service whose types come later.\n"
    "#[roam::service]\n"
    "pub trait Everything {\n"
    "    /// First line.\n"
    "    ///   indented second line.\n"
    "    async fn all(&self, a: Tree, b: Wrapper, c: Unit, d: Kinds, e: (u8,)) -> Tree;\n"
    "    fn no_async(&self, x: std::collections::HashMap<String, Vec<u8>>);\n"
    "    async fn nothing(&self) -> ();\n"
    "    async fn chans(&self, up: Tx<Kinds>, down: Rx<(i32, String)>,) -> Result<(), Oops>;\n"
    "    #[vox(idem)]\n"
    "    async fn r#type(&self, r#struct: r#Keyword) -> [u16; 4];\n"
    "}\n"
    "#[derive(Debug, Clone, Facet)]\n"
    "pub struct Tree { pub(crate) value: i128, children: Vec<Tree>, parent: Option<Box<Tree>>,\n"
    "                  index: BTreeMap<u64, Tree>, tags: BTreeSet<char>, }\n"
    "pub struct Wrapper(pub u32, Option<String>);\n"
    "struct Unit;\n"
    "struct Empty {}\n"
    "#[repr(i16)]\n"
    "enum Kinds {\n"
    "    /// the unit one\n"
    "    Nothing = -3,\n"
    "    One(f32),\n"
    "    Two(i8, u16) = 0x10,\n"
    "    Named { x: isize, y: usize, z: HashSet<bool>, e: Empty },\n"
    "}\n"
    "enum Oops { Bad }\n"
    "struct Keyword { r#fn: u8 }\n"
    "pub fn helper() -> Vec<u8> { let v = vec![1u8, 2]; if v.len() > 1 { v } else { vec![] } }\n"
    "pub mod evolved;\n"
    "pub fn all_services() -> Vec<&'static vox::session::ServiceDescriptor> {\n"
    "    vec![testbed_service_descriptor()]\n}\n"
    "impl Tree { fn x(&self) -> u32 { 'a'; 0 } }\n";

static void test_every_form(void **st) {
  (void)st;
  roam_schema *s = parse_ok(every_form);
  const roam_schema_file *f = roam_schema_file_at(s, 0);
  assert_int_equal(f->nservices, 1);
  assert_int_equal(f->ndecls, 7);
  const roam_schema_service *svc = &f->services[0];
  assert_string_equal(svc->doc, "A service whose types come later.");
  assert_int_equal(svc->nmethods, 5);
  const roam_schema_method *all = &svc->methods[0];
  assert_string_equal(all->doc, "First line.\n  indented second line.");
  assert_int_equal(all->nparams, 5);
  assert_ptr_equal(all->params[0].type->decl, roam_schema_find_decl(f, "Tree"));
  assert_int_equal(all->params[4].type->kind, ROAM_SCHEMA_TUPLE);
  assert_int_equal(all->params[4].type->count, 1);
  /* a path reduces to its last segment; Vec<u8> is bytes */
  const roam_schema_type *map = svc->methods[1].params[0].type;
  assert_int_equal(map->kind, ROAM_SCHEMA_MAP);
  assert_int_equal(map->elem->kind, ROAM_SCHEMA_STRING);
  assert_true(roam_schema_is_bytes(map->elem2));
  assert_null(svc->methods[1].ret);
  assert_int_equal(svc->methods[2].ret->kind, ROAM_SCHEMA_UNIT);
  assert_null(svc->methods[2].ok);
  const roam_schema_method *chans = &svc->methods[3];
  assert_int_equal(chans->nparams, 2);
  assert_int_equal(chans->params[1].type->kind, ROAM_SCHEMA_RX);
  assert_null(chans->ok);
  assert_string_equal(chans->err->name, "Oops");
  /* raw identifiers lose their r# */
  assert_string_equal(svc->methods[4].name, "type");
  assert_string_equal(svc->methods[4].params[0].name, "struct");
  assert_int_equal(svc->methods[4].ret->kind, ROAM_SCHEMA_ARRAY);
  assert_int_equal(svc->methods[4].ret->len, 4);
  char buf[128];
  roam_schema_type_str(chans->params[1].type, buf, sizeof buf);
  assert_string_equal(buf, "Rx<(i32, String)>");

  const roam_schema_decl *tree = roam_schema_find_decl(f, "Tree");
  assert_true(tree->recursive);
  assert_int_equal(tree->body.count, 5);
  assert_int_equal(tree->body.fields[0].type->kind, ROAM_SCHEMA_I128);
  assert_int_equal(tree->body.fields[2].type->kind, ROAM_SCHEMA_OPTION);
  assert_int_equal(tree->body.fields[2].type->elem->kind, ROAM_SCHEMA_BOX);
  const roam_schema_decl *wrapper = roam_schema_find_decl(f, "Wrapper");
  assert_false(wrapper->recursive);
  assert_int_equal(wrapper->body.shape, ROAM_SCHEMA_SHAPE_TUPLE);
  assert_null(wrapper->body.fields[0].name);
  assert_int_equal(roam_schema_find_decl(f, "Unit")->body.shape, ROAM_SCHEMA_SHAPE_UNIT);
  const roam_schema_decl *empty = roam_schema_find_decl(f, "Empty");
  assert_int_equal(empty->body.shape, ROAM_SCHEMA_SHAPE_NAMED);
  assert_int_equal(empty->body.count, 0);
  const roam_schema_decl *kinds = roam_schema_find_decl(f, "Kinds");
  assert_int_equal(kinds->nvariants, 4);
  assert_string_equal(kinds->variants[0].doc, "the unit one");
  assert_int_equal(kinds->variants[0].discriminant, -3);
  assert_int_equal(kinds->variants[2].discriminant, 16);
  assert_false(kinds->variants[1].has_discriminant);
  assert_int_equal(kinds->variants[3].body.fields[0].type->kind, ROAM_SCHEMA_I64);
  assert_int_equal(kinds->variants[3].body.fields[1].type->kind, ROAM_SCHEMA_U64);
  assert_string_equal(roam_schema_find_decl(f, "Keyword")->body.fields[0].name, "fn");
  /* Empty comes before Kinds in the by-value order */
  size_t pe = 99, pk = 99;
  for (size_t i = 0; i < f->ndecls; i++) {
    if (f->sorted[i] == empty) pe = i;
    if (f->sorted[i] == kinds) pk = i;
  }
  assert_true(pe < pk);
  roam_schema_free(s);
}

/* Method-id descriptors from the tree equal hand-written ones. */
static const roam_type hnode;
static const roam_type hlist = ROAM_LIST(&hnode);
static const roam_type hnode = ROAM_STRUCT("Node", ROAM_FIELD("value", &roam_type_i32),
                                           ROAM_FIELD("children", &hlist));
static const roam_type hopt = ROAM_OPTION(&hnode);
static const roam_type hw = ROAM_TUPLE(&roam_type_u8, &roam_type_string);

static void test_descriptors(void **st) {
  (void)st;
  roam_schema *s = parse_ok("struct Node { value: i32, children: Vec<Node> }\n"
                            "#[service] trait Graph { async fn walk(&self, root: Node) -> "
                            "Option<Box<Node>>; async fn tuple(&self, w: W) -> Unit; }\n"
                            "struct W(u8, String);\nstruct Unit;\n");
  const roam_schema_file *f = roam_schema_file_at(s, 0);
  uint8_t got[128];
  size_t len;
  assert_int_equal(roam_type_encode(roam_schema_find_decl(f, "Node")->desc, 0, got, sizeof got,
                                    &len), 0);
  static const uint8_t node[] = {0x30, 0x02, 0x05, 'v', 'a', 'l', 'u', 'e', 0x09, 0x08, 'c',
                                 'h',  'i',  'l',  'd', 'r', 'e', 'n', 0x20, 0x32};
  assert_int_equal(len, sizeof node);
  assert_memory_equal(got, node, sizeof node);
  /* walk's id equals the one computed from hand-written descriptors */
  const roam_type *args[] = {&hnode};
  assert_int_equal(method(f, "Graph", "walk")->id,
                   roam_method_id("Graph", "walk", args, 1, &hopt));
  const roam_type *args2[] = {&hw};
  assert_int_equal(method(f, "Graph", "tuple")->id,
                   roam_method_id("Graph", "tuple", args2, 1, &roam_type_unit));
  assert_true(roam_schema_find_decl(f, "Node")->recursive);
  roam_schema_free(s);
}

/* Two services in one file, and several files in one schema. */
static void test_two_services_two_files(void **st) {
  (void)st;
  roam_schema *s = parse_ok("#[service] trait A { async fn ping(&self); }\n"
                            "#[service] trait B { async fn ping(&self); }\n");
  const roam_schema_file *f = roam_schema_file_at(s, 0);
  assert_int_equal(f->nservices, 2);
  assert_ptr_equal(f->services[1].methods[0].service, &f->services[1]);
  assert_int_not_equal(f->services[0].methods[0].id, f->services[1].methods[0].id);
  static const char second[] = "#[service] trait C { async fn x(&self, p: P); } struct P;";
  assert_int_equal(roam_schema_parse_text(s, "dir/other.def.rs", second, strlen(second)), 0);
  assert_int_equal(roam_schema_file_count(s), 2);
  assert_string_equal(roam_schema_file_at(s, 1)->stem, "other.def");
  /* a failing file leaves the others */
  assert_int_equal(roam_schema_parse_text(s, "bad.rs", "struct", 6), -1);
  assert_int_equal(roam_schema_file_count(s), 2);
  roam_schema_free(s);
}

/* ---- rejected forms --------------------------------------------------- */

typedef struct bad_case {
  const char *text;
  const char *error;
} bad_case;

static const bad_case bad_cases[] = {
    {"struct A { x: Strin }", "t.rs:1:15: unknown type `Strin`"},
    {"struct A<T> { x: T }", "t.rs:1:9: generic types are not supported"},
    {"struct A { a: A }",
     "t.rs:1:15: recursive type `A` has infinite size (put the recursion behind Box, Vec or a "
     "map)"},
    {"struct A { b: Option<B> }\nstruct B { a: (A, u8) }",
     "t.rs:2:16: recursive type `A` has infinite size (put the recursion behind Box, Vec or a "
     "map)"},
    {"trait T { fn f(&self); }",
     "t.rs:1:1: trait without #[service] (only service traits are accepted)"},
    {"#[service]\nstruct S;", "t.rs:1:1: #[service] applies to traits only"},
    {"#[service] trait T { fn f(&mut self); }",
     "t.rs:1:27: service methods take `&self`, not `&mut self`"},
    {"#[service] trait T { fn f(x: u8); }",
     "t.rs:1:27: expected `&self` as the first parameter, found `x`"},
    {"#[service] trait T { fn f(&self) {} }", "t.rs:1:34: service methods have no body"},
    {"#[service] trait T { fn f(&self, x: &str); }",
     "t.rs:1:37: references and pointers are not supported; use an owned type"},
    {"#[service] trait T { fn f(&self, x: Result<u8, u8>); }",
     "t.rs:1:37: Result is only supported as a method's return type"},
    {"#[service] trait T { fn f(&self) -> Vec<Result<u8, u8>>; }",
     "t.rs:1:41: Result is only supported as a method's return type"},
    {"#[service] trait T { fn f(&self) -> Tx<u8>; }",
     "t.rs:1:37: Tx is only supported as a method argument"},
    {"struct S { x: Rx<u8> }", "t.rs:1:15: Rx is only supported as a method argument"},
    {"#[service] trait T { fn f(&self, x: Vec<Tx<u8>>); }",
     "t.rs:1:41: Tx is only supported as a method argument"},
    {"#[service] trait T { fn f(&self); fn f(&self); }",
     "t.rs:1:38: duplicate method `f` (first at line 1)"},
    {"#[service] trait T { fn f(&self, a: u8, a: u8); }",
     "t.rs:1:41: duplicate parameter `a` (first at line 1)"},
    {"struct A;\nenum A { X }", "t.rs:2:6: duplicate type or service name `A` (first at line 1)"},
    {"struct A { x: u8,\n x: u16 }", "t.rs:2:2: duplicate field `x` (first at line 1)"},
    {"enum E { X, Y, X }", "t.rs:1:16: duplicate variant `X` (first at line 1)"},
    {"struct S { x: Vec<u8, u8> }", "t.rs:1:18: `Vec` takes 1 type argument, found 2"},
    {"struct S { x: HashMap<u8> }", "t.rs:1:22: `HashMap` takes 2 type arguments, found 1"},
    {"struct S { x: Option }", "t.rs:1:15: `Option` takes 1 type argument, found 0"},
    {"struct S { x: Foo<u8> }\nstruct Foo;",
     "t.rs:1:18: type arguments on `Foo` are not supported"},
    {"struct S { x: [u8] }", "t.rs:1:15: slices are not supported; use Vec<T>"},
    {"struct S { x: [u8; N] }",
     "t.rs:1:20: expected an array length (an integer literal), found `N`"},
    {"struct S<'a> { x: &'a str }", "t.rs:1:9: generic types are not supported"},
    {"struct S { x: Cow<'static, str> }", "t.rs:1:19: lifetimes are not supported"},
    {"const X: u8 = 1;",
     "t.rs:1:1: expected `struct`, `enum`, a #[service] trait or `use`, found `const` (not "
     "supported in a service definition)"},
    {"mod m { }",
     "t.rs:1:1: expected `struct`, `enum`, a #[service] trait or `use`, found `mod` (not "
     "supported in a service definition)"},
    {"type X = u8;",
     "t.rs:1:1: expected `struct`, `enum`, a #[service] trait or `use`, found `type` (not "
     "supported in a service definition)"},
    {"struct S { x: u8", "t.rs:1:17: expected `,` or `}`, found end of file"},
    {"struct S { x u8 }", "t.rs:1:14: expected `:`, found `u8`"},
    {"enum E { A = x }", "t.rs:1:14: expected an integer discriminant, found `x`"},
    {"struct S { x: u8 } /* open", "t.rs:1:20: unterminated block comment"},
    {"struct S { x: u8 } \"open", "t.rs:1:20: unterminated string literal"},
    {"struct S { x: u8 }\n  \xc3\xa9", "t.rs:2:3: unexpected non-ASCII character"},
    {"/// \xc3\xa9\xc3\xa9\nstruct S { x: u8 ` }", "t.rs:2:18: unexpected character '`'"},
    {"#[service]", "t.rs:1:1: #[service] must be followed by a trait"},
    {"#[service] trait T: Send { }", "t.rs:1:19: supertraits are not supported"},
    {"#[service] trait T { fn f<X>(&self); }", "t.rs:1:26: generic methods are not supported"},
    {"#[service] trait T { fn f(&self, mut x: u8); }",
     "t.rs:1:34: parameters must be plain names"},
    {"#[service] trait T { fn f(&self) -> impl Send; }",
     "t.rs:1:37: `impl` types are not supported"},
    {"#[service] trait T { const X: u8; }",
     "t.rs:1:22: expected `async fn` or `fn`, found `const`"},
    {"enum E { A = 99999999999999999999 }", "t.rs:1:14: integer literal too large"},
    {"struct S { x: [u8; 1.5] }",
     "t.rs:1:20: floating-point literals are not supported here"},
    {"struct S { x: ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((u8"
     "))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))) }",
     "t.rs:1:80: type nested too deeply"},
    {"use a::b", "t.rs:1:9: expected `;`, found end of file"},
    {"struct S(u8)", "t.rs:1:13: expected `;` after a tuple struct, found end of file"},
};

static void test_rejected(void **st) {
  (void)st;
  int failures = 0;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    roam_schema *s;
    assert_int_equal(roam_schema_new(&s), 0);
    const char *t = bad_cases[i].text;
    int rc = roam_schema_parse_text(s, "t.rs", t, strlen(t));
    if (rc == 0 || strcmp(roam_schema_error(s), bad_cases[i].error) != 0) {
      print_error("case %zu (%s):\n  got  %s\n  want %s\n", i, t,
                  rc == 0 ? "success" : roam_schema_error(s), bad_cases[i].error);
      failures++;
    }
    roam_schema_free(s);
  }
  assert_int_equal(failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_testbed_ids),
      cmocka_unit_test(test_every_form),
      cmocka_unit_test(test_descriptors),
      cmocka_unit_test(test_two_services_two_files),
      cmocka_unit_test(test_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
