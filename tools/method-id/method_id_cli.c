/*
 * The method-id command line, shared by roam-method-id and `roam method-id`:
 * print the roam method id of a method described in a small Rust-like text
 * form. See usage() below and docs/method-id.md.
 *
 *   roam-method-id Testbed echo 'String -> String'
 *   roam-method-id Testbed divide 'i64, i64 -> Result<i64, MathError>'
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/blake3.h>
#include <roam/method_id.h>
#include <roam/testbed_ids.h>

#include "method_id_cli.h"

/* The program name in messages ("roam-method-id" or "roam method-id"). */
static const char *prog = "roam-method-id";

static void usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] SERVICE METHOD SIGNATURE\n"
          "       %s --testbed [--literal]\n"
          "\n"
          "Prints the roam method id (roam-hash 0.6.0 compatible) as 0x%%016x.\n"
          "SERVICE is the Rust trait name, METHOD the Rust fn name; both are\n"
          "kebab-cased before hashing (TemplateHost -> template-host).\n"
          "\n"
          "options:\n"
          "  -v, --verbose  also print kebab names, signature bytes and hashes\n"
          "  --literal      reproduce the literal roam-hash 0.6.0 visited set (a\n"
          "                 struct/enum/tuple seen earlier in the same argument is\n"
          "                 a back-reference even when not recursive)\n"
          "  --testbed      print the 16 Testbed ids computed by the library\n"
          "  -h, --help     this text\n"
          "\n"
          "SIGNATURE grammar:\n"
          "  signature := [definition ';']... [param (',' param)*] ['->' type]\n"
          "               (no '->': the method returns ())\n"
          "  param     := [name ':'] type          (argument names are ignored)\n"
          "  type      := bool u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize\n"
          "               f32 f64 char String str &str unit () bytes\n"
          "             | Vec<T> | [T] | Option<T> | [T; N] | Set<T> | Map<K, V>\n"
          "             | (A, B, ...) | (T,) | Tx<T> | Rx<T> | Result<T, E>\n"
          "             | Box<T> | Arc<T> | Rc<T> | &T    (same as T)\n"
          "             | opaque NAME          (a type roam-hash treats as opaque: 0x10)\n"
          "             | definition | NAME   (a struct/enum defined earlier or being\n"
          "                                   defined: recursion is allowed)\n"
          "  definition := struct NAME { field: T, ... }\n"
          "             | struct NAME(T, ...)  (tuple struct)  | struct NAME  (unit)\n"
          "             | enum NAME { A, B(T), C { x: T, ... }, D(T, U), ... }\n"
          "  HashMap/BTreeMap = Map, HashSet/BTreeSet = Set, Vec<u8> = bytes.\n"
          "  Result<T, E> hashes as () whatever T and E are (as in roam-hash\n"
          "  0.6.0), so names inside it need not be defined.\n"
          "\n"
          "examples:\n"
          "  %s Testbed echo 'String -> String'\n"
          "  %s Testbed divide 'i64, i64 -> Result<i64, MathError>'\n"
          "  %s Testbed generate 'count: u32, output: Tx<i32>'\n"
          "  %s Testbed get_points 'u32 -> Vec<struct Point { x: i32, y: i32 }>'\n"
          "  %s Testbed rectangle_area 'struct Point { x: i32, y: i32 };\n"
          "      rect: struct Rectangle { top_left: Point, bottom_right: Point,\n"
          "                               label: Option<String> } -> f64'\n"
          "\n"
          "exit status: 0 ok, 1 error computing the id, 2 usage or parse error\n",
          prog, prog, prog, prog, prog, prog, prog);
}

/* ------------------------------------------------------------------------ */
/* Arena: every descriptor of one run, freed together.                       */

typedef struct arena_block {
  struct arena_block *next;
  max_align_t align[];
} arena_block;

static arena_block *arena_head;

static void *arena_alloc(size_t n) {
  arena_block *b = calloc(1, sizeof *b + (n ? n : 1));
  if (!b) {
    fprintf(stderr, "%s: out of memory\n", prog);
    exit(1);
  }
  b->next = arena_head;
  arena_head = b;
  return b->align;
}

static void arena_free(void) {
  while (arena_head) {
    arena_block *n = arena_head->next;
    free(arena_head);
    arena_head = n;
  }
}

/* Growable array of fixed-size items, copied into the arena when done. */
typedef struct vec {
  void *items;
  size_t len, cap, size;
} vec;

static void *vec_push(vec *v) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? 2 * v->cap : 4;
    void *p = realloc(v->items, cap * v->size);
    if (!p) {
      fprintf(stderr, "%s: out of memory\n", prog);
      exit(1);
    }
    v->items = p;
    v->cap = cap;
  }
  void *slot = (char *)v->items + v->len * v->size;
  memset(slot, 0, v->size);
  v->len++;
  return slot;
}

static void *vec_finish(vec *v) {
  void *out = arena_alloc(v->len * v->size);
  if (v->len) memcpy(out, v->items, v->len * v->size);
  free(v->items);
  v->items = NULL;
  return out;
}

/* ------------------------------------------------------------------------ */
/* Lexer                                                                     */

typedef enum tok_kind { T_EOF, T_IDENT, T_NUM, T_ARROW, T_PUNCT, T_BAD } tok_kind;

typedef struct token {
  tok_kind kind;
  const char *s; /* start in the source */
  size_t len;
  size_t pos; /* byte offset */
  uint64_t num;
} token;

typedef struct named {
  char *name;
  roam_type *type;
} named;

typedef struct parser {
  const char *src;
  size_t pos;
  token tok;
  int err;
  char msg[256];
  size_t err_pos;
  vec names; /* named */
  unsigned depth;
  unsigned in_result; /* inside Result<...>: unknown names are allowed */
} parser;

#define MAX_DEPTH 100

static int is_ident_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static int is_ident_char(unsigned char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

static void perr(parser *p, size_t pos, const char *fmt, ...) {
  if (p->err) return;
  p->err = 1;
  p->err_pos = pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->msg, sizeof p->msg, fmt, ap);
  va_end(ap);
}

static void next(parser *p) {
  const char *s = p->src;
  while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' || s[p->pos] == '\r')
    p->pos++;
  token t = {T_EOF, s + p->pos, 0, p->pos, 0};
  unsigned char c = (unsigned char)s[p->pos];
  if (c == 0) {
    p->tok = t;
    return;
  }
  if (is_ident_start(c)) {
    size_t e = p->pos;
    while (is_ident_char((unsigned char)s[e])) e++;
    /* Allow paths such as std::string::String: keep the last segment. */
    while (s[e] == ':' && s[e + 1] == ':' && is_ident_start((unsigned char)s[e + 2])) {
      p->pos = e + 2;
      t.s = s + p->pos;
      e = p->pos;
      while (is_ident_char((unsigned char)s[e])) e++;
    }
    t.kind = T_IDENT;
    t.len = e - p->pos;
    p->pos = e;
  } else if (c >= '0' && c <= '9') {
    uint64_t v = 0;
    size_t e = p->pos;
    int overflow = 0;
    while (s[e] >= '0' && s[e] <= '9') {
      unsigned d = (unsigned)(s[e] - '0');
      if (v > (UINT64_MAX - d) / 10) overflow = 1;
      v = v * 10 + d;
      e++;
    }
    /* Rust integer suffixes such as 4usize. */
    if (s[e] == 'u' || s[e] == 'i')
      while (is_ident_char((unsigned char)s[e])) e++;
    t.kind = overflow ? T_BAD : T_NUM;
    t.num = v;
    t.len = e - p->pos;
    p->pos = e;
  } else if (c == '-' && s[p->pos + 1] == '>') {
    t.kind = T_ARROW;
    t.len = 2;
    p->pos += 2;
  } else if (strchr("<>()[]{},:;&=-", c)) {
    t.kind = T_PUNCT;
    t.len = 1;
    p->pos++;
  } else {
    t.kind = T_BAD;
    t.len = 1;
    p->pos++;
  }
  p->tok = t;
}

static int is_punct(const parser *p, char c) {
  return p->tok.kind == T_PUNCT && p->tok.s[0] == c;
}
static int is_word(const parser *p, const char *w) {
  return p->tok.kind == T_IDENT && p->tok.len == strlen(w) && memcmp(p->tok.s, w, p->tok.len) == 0;
}

static void describe_tok(const token *t, char *buf, size_t cap) {
  if (t->kind == T_EOF)
    snprintf(buf, cap, "end of input");
  else if (t->kind == T_BAD && t->len > 1)
    snprintf(buf, cap, "'%.*s' (number too large)", (int)t->len, t->s);
  else
    snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
}

static void expected(parser *p, const char *what) {
  char found[64];
  describe_tok(&p->tok, found, sizeof found);
  perr(p, p->tok.pos, "expected %s, found %s", what, found);
}

static int expect_punct(parser *p, char c) {
  if (p->err) return 0;
  if (!is_punct(p, c)) {
    char what[8] = {'\'', c, '\'', 0};
    expected(p, what);
    return 0;
  }
  next(p);
  return 1;
}

static char *take_ident(parser *p, const char *what) {
  if (p->err) return NULL;
  if (p->tok.kind != T_IDENT) {
    expected(p, what);
    return NULL;
  }
  char *s = arena_alloc(p->tok.len + 1);
  memcpy(s, p->tok.s, p->tok.len);
  next(p);
  return s;
}

/* ------------------------------------------------------------------------ */
/* Parser                                                                    */

static roam_type *new_type(roam_type_kind k) {
  roam_type *t = arena_alloc(sizeof *t);
  t->kind = k;
  return t;
}

static named *find_name(parser *p, const char *s, size_t len) {
  named *n = p->names.items;
  for (size_t i = 0; i < p->names.len; i++)
    if (strlen(n[i].name) == len && memcmp(n[i].name, s, len) == 0) return &n[i];
  return NULL;
}

static const roam_type *parse_type(parser *p);

/* Comma-separated types up to `close`; returns the count (elements in *out). */
static size_t parse_type_list(parser *p, char close, const roam_type *const **out,
                              int *trailing_comma) {
  vec v = {NULL, 0, 0, sizeof(const roam_type *)};
  *trailing_comma = 0;
  while (!p->err && !is_punct(p, close)) {
    const roam_type *t = parse_type(p);
    if (p->err) break;
    *(const roam_type **)vec_push(&v) = t;
    if (is_punct(p, ',')) {
      next(p);
      *trailing_comma = 1;
    } else {
      *trailing_comma = 0;
      break;
    }
  }
  expect_punct(p, close);
  size_t n = v.len;
  *out = vec_finish(&v);
  return n;
}

/* `{ name: T, ... }` */
static size_t parse_fields(parser *p, const roam_field **out) {
  vec v = {NULL, 0, 0, sizeof(roam_field)};
  expect_punct(p, '{');
  while (!p->err && !is_punct(p, '}')) {
    size_t at = p->tok.pos;
    char *name = take_ident(p, "a field name");
    expect_punct(p, ':');
    const roam_type *t = parse_type(p);
    if (p->err) break;
    roam_field *f = vec_push(&v);
    for (size_t i = 0; i + 1 < v.len; i++)
      if (strcmp(((roam_field *)v.items)[i].name, name) == 0) perr(p, at, "duplicate field '%s'", name);
    f->name = name;
    f->type = t;
    if (is_punct(p, ','))
      next(p);
    else
      break;
  }
  expect_punct(p, '}');
  size_t n = v.len;
  *out = vec_finish(&v);
  return n;
}

static roam_type *declare(parser *p, roam_type_kind k, const char *what) {
  size_t at = p->tok.pos;
  char *name = take_ident(p, what);
  if (p->err) return NULL;
  if (find_name(p, name, strlen(name))) {
    perr(p, at, "'%s' is already defined", name);
    return NULL;
  }
  roam_type *t = new_type(k);
  t->name = name;
  named *n = vec_push(&p->names);
  n->name = name;
  n->type = t;
  return t;
}

/* After `struct`. */
static const roam_type *parse_struct(parser *p) {
  roam_type *t = declare(p, ROAM_TYPE_STRUCT, "a struct name");
  if (!t) return NULL;
  if (is_punct(p, '{')) {
    t->count = parse_fields(p, &t->fields);
  } else if (is_punct(p, '(')) {
    next(p);
    int trailing;
    t->kind = ROAM_TYPE_TUPLE; /* tuple structs encode as tuples */
    t->count = parse_type_list(p, ')', &t->elems, &trailing);
  } else {
    t->kind = ROAM_TYPE_UNIT; /* unit struct */
  }
  return t;
}

/* After `enum`. */
static const roam_type *parse_enum(parser *p) {
  roam_type *t = declare(p, ROAM_TYPE_ENUM, "an enum name");
  if (!t) return NULL;
  vec v = {NULL, 0, 0, sizeof(roam_variant)};
  expect_punct(p, '{');
  while (!p->err && !is_punct(p, '}')) {
    size_t at = p->tok.pos;
    char *name = take_ident(p, "a variant name");
    if (p->err) break;
    roam_variant var = {.name = name, .kind = ROAM_VARIANT_UNIT};
    if (is_punct(p, '(')) {
      next(p);
      int trailing;
      var.kind = ROAM_VARIANT_TUPLE;
      var.count = parse_type_list(p, ')', &var.elems, &trailing);
      if (var.count == 1) {
        var.kind = ROAM_VARIANT_NEWTYPE;
        var.type = var.elems[0];
      }
    } else if (is_punct(p, '{')) {
      var.kind = ROAM_VARIANT_STRUCT;
      var.count = parse_fields(p, &var.fields);
    }
    /* Discriminants (`= 0`, `= -1`) are allowed and ignored. */
    if (!p->err && is_punct(p, '=')) {
      next(p);
      if (is_punct(p, '-')) next(p);
      if (p->tok.kind != T_NUM) expected(p, "a discriminant value");
      else next(p);
    }
    if (p->err) break;
    for (size_t i = 0; i < v.len; i++)
      if (strcmp(((roam_variant *)v.items)[i].name, name) == 0)
        perr(p, at, "duplicate variant '%s'", name);
    *(roam_variant *)vec_push(&v) = var;
    if (is_punct(p, ','))
      next(p);
    else
      break;
  }
  expect_punct(p, '}');
  t->count = v.len;
  t->variants = vec_finish(&v);
  return t;
}

static const struct {
  const char *name;
  const roam_type *type;
} PRIMS[] = {
    {"bool", &roam_type_bool}, {"u8", &roam_type_u8},     {"u16", &roam_type_u16},
    {"u32", &roam_type_u32},   {"u64", &roam_type_u64},   {"u128", &roam_type_u128},
    {"usize", &roam_type_u64}, {"i8", &roam_type_i8},     {"i16", &roam_type_i16},
    {"i32", &roam_type_i32},   {"i64", &roam_type_i64},   {"i128", &roam_type_i128},
    {"isize", &roam_type_i64}, {"f32", &roam_type_f32},   {"f64", &roam_type_f64},
    {"char", &roam_type_char}, {"String", &roam_type_string}, {"str", &roam_type_string},
    {"unit", &roam_type_unit}, {"bytes", &roam_type_bytes},
};

/* Generic wrappers: name, kind, number of type parameters. */
static const struct {
  const char *name;
  int kind; /* roam_type_kind, or 0 for transparent */
  int params;
} GENERICS[] = {
    {"Vec", ROAM_TYPE_LIST, 1},    {"VecDeque", ROAM_TYPE_LIST, 1}, {"Option", ROAM_TYPE_OPTION, 1},
    {"Set", ROAM_TYPE_SET, 1},     {"HashSet", ROAM_TYPE_SET, 1},   {"BTreeSet", ROAM_TYPE_SET, 1},
    {"Map", ROAM_TYPE_MAP, 2},     {"HashMap", ROAM_TYPE_MAP, 2},   {"BTreeMap", ROAM_TYPE_MAP, 2},
    {"Tx", ROAM_TYPE_TX, 1},       {"Rx", ROAM_TYPE_RX, 1},         {"Result", ROAM_TYPE_RESULT, 2},
    {"Box", 0, 1},                 {"Arc", 0, 1},                   {"Rc", 0, 1},
};

static const roam_type *parse_type_inner(parser *p) {
  if (p->err) return NULL;
  const size_t at = p->tok.pos;

  if (is_punct(p, '&')) { /* references are transparent */
    next(p);
    if (is_word(p, "mut")) next(p);
    return parse_type(p);
  }
  if (is_punct(p, '(')) { /* (), (T), (T,), (A, B, ...) */
    next(p);
    int trailing;
    const roam_type *const *elems;
    size_t n = parse_type_list(p, ')', &elems, &trailing);
    if (p->err) return NULL;
    if (n == 0) return &roam_type_unit;
    if (n == 1 && !trailing) return elems[0]; /* parenthesised type */
    roam_type *t = new_type(ROAM_TYPE_TUPLE);
    t->elems = elems;
    t->count = n;
    return t;
  }
  if (is_punct(p, '[')) { /* [T] or [T; N] */
    next(p);
    const roam_type *elem = parse_type(p);
    if (p->err) return NULL;
    if (is_punct(p, ';')) {
      next(p);
      if (p->tok.kind != T_NUM) {
        expected(p, "an array length");
        return NULL;
      }
      roam_type *t = new_type(ROAM_TYPE_ARRAY);
      t->elem = elem;
      t->len = p->tok.num;
      next(p);
      expect_punct(p, ']');
      return t;
    }
    expect_punct(p, ']');
    roam_type *t = new_type(ROAM_TYPE_LIST);
    t->elem = elem;
    return t;
  }
  if (p->tok.kind != T_IDENT) {
    expected(p, "a type");
    return NULL;
  }
  if (is_word(p, "struct")) {
    next(p);
    return parse_struct(p);
  }
  if (is_word(p, "enum")) {
    next(p);
    return parse_enum(p);
  }
  if (is_word(p, "opaque")) {
    next(p);
    roam_type *t = new_type(ROAM_TYPE_OPAQUE);
    t->name = take_ident(p, "the opaque type's name");
    return t;
  }
  for (size_t i = 0; i < sizeof GENERICS / sizeof GENERICS[0]; i++) {
    if (!is_word(p, GENERICS[i].name)) continue;
    next(p);
    if (!expect_punct(p, '<')) return NULL;
    const int is_result = GENERICS[i].kind == ROAM_TYPE_RESULT;
    p->in_result += (unsigned)is_result;
    const roam_type *a = parse_type(p), *b = NULL;
    if (GENERICS[i].params == 2) {
      expect_punct(p, ',');
      b = parse_type(p);
    }
    p->in_result -= (unsigned)is_result;
    if (is_punct(p, ',') && GENERICS[i].params == 1) {
      perr(p, p->tok.pos, "%s takes one type parameter", GENERICS[i].name);
      return NULL;
    }
    expect_punct(p, '>');
    if (p->err) return NULL;
    if (GENERICS[i].kind == 0) return a;
    roam_type *t = new_type((roam_type_kind)GENERICS[i].kind);
    t->elem = a;
    t->elem2 = b;
    return t;
  }
  for (size_t i = 0; i < sizeof PRIMS / sizeof PRIMS[0]; i++) {
    if (is_word(p, PRIMS[i].name)) {
      next(p);
      return PRIMS[i].type;
    }
  }
  named *n = find_name(p, p->tok.s, p->tok.len);
  if (n) {
    next(p);
    return n->type;
  }
  if (p->in_result) {
    /* Result<T, E> hashes as () whatever T and E are, so undefined names
     * (optionally generic: Name<...>) are accepted there as opaque types. */
    roam_type *t = new_type(ROAM_TYPE_OPAQUE);
    t->name = take_ident(p, "a type");
    if (is_punct(p, '<')) {
      next(p);
      int trailing;
      const roam_type *const *params;
      (void)parse_type_list(p, '>', &params, &trailing);
    }
    return t;
  }
  perr(p, at, "unknown type '%.*s' (define it with 'struct %.*s { ... }' or 'enum %.*s { ... }')",
       (int)p->tok.len, p->tok.s, (int)p->tok.len, p->tok.s, (int)p->tok.len, p->tok.s);
  return NULL;
}

static const roam_type *parse_type(parser *p) {
  if (p->err) return NULL;
  if (++p->depth > MAX_DEPTH) {
    perr(p, p->tok.pos, "types nested too deeply (limit %d)", MAX_DEPTH);
    return NULL;
  }
  const roam_type *t = parse_type_inner(p);
  p->depth--;
  return t;
}

/* Whole signature. */
static int parse_signature(parser *p, const char *src, const roam_type *const **args,
                           size_t *argc, const roam_type **ret) {
  memset(p, 0, sizeof *p);
  p->src = src;
  p->names.size = sizeof(named);
  next(p);
  /* Leading definitions terminated by ';'. */
  while (!p->err && (is_word(p, "struct") || is_word(p, "enum"))) {
    size_t save_pos = p->pos;
    token save_tok = p->tok;
    size_t save_names = p->names.len;
    (void)parse_type(p);
    if (p->err) break;
    if (is_punct(p, ';')) {
      next(p);
      continue;
    }
    /* Not a definition list: the definition was the first argument. Undo
     * and parse it again as a parameter. */
    p->pos = save_pos;
    p->tok = save_tok;
    p->names.len = save_names;
    break;
  }
  vec v = {NULL, 0, 0, sizeof(const roam_type *)};
  while (!p->err && p->tok.kind != T_EOF && p->tok.kind != T_ARROW) {
    /* Optional `name:` (the lexer already joined `a::b` paths). */
    if (p->tok.kind == T_IDENT) {
      size_t q = p->pos;
      while (p->src[q] == ' ' || p->src[q] == '\t' || p->src[q] == '\n' || p->src[q] == '\r') q++;
      if (p->src[q] == ':' && p->src[q + 1] != ':') {
        next(p); /* the name */
        next(p); /* ':' */
      }
    }
    const roam_type *t = parse_type(p);
    if (p->err) break;
    *(const roam_type **)vec_push(&v) = t;
    if (is_punct(p, ','))
      next(p);
    else if (p->tok.kind != T_EOF && p->tok.kind != T_ARROW)
      expected(p, "',' or '->'");
  }
  *ret = &roam_type_unit;
  if (!p->err && p->tok.kind == T_ARROW) {
    next(p);
    *ret = parse_type(p);
    if (!p->err && p->tok.kind != T_EOF) expected(p, "end of input");
  }
  *argc = v.len;
  *args = vec_finish(&v);
  free(p->names.items);
  p->names.items = NULL;
  return p->err ? -1 : 0;
}

/* ------------------------------------------------------------------------ */

static void print_hex(const char *label, const uint8_t *b, size_t n) {
  printf("%s", label);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\n");
}

static int print_testbed(unsigned flags) {
  uint64_t ids[ROAM_TESTBED_METHOD_COUNT];
  int rc = roam_testbed_compute_ids(ids, flags);
  if (rc) {
    fprintf(stderr, "%s: %s\n", prog, roam_strerror(rc));
    return 1;
  }
  int bad = 0;
  for (size_t i = 0; i < ROAM_TESTBED_METHOD_COUNT; i++) {
    uint64_t pub = roam_testbed_published_ids[i];
    int match = ids[i] == pub;
    if (!match && !(flags & ROAM_SIG_VISITED_SET)) bad = 1;
    printf("%-16s 0x%016llx", roam_testbed_methods[i].method, (unsigned long long)ids[i]);
    if (!match) printf("  (published: 0x%016llx)", (unsigned long long)pub);
    printf("\n");
  }
  return bad;
}

int roam_method_id_cli(int argc, char **argv, const char *progname) {
  prog = progname;
  int verbose = 0, testbed = 0;
  unsigned flags = ROAM_SIG_PUBLISHED;
  const char *pos[3];
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      verbose = 1;
    } else if (strcmp(a, "--literal") == 0) {
      flags = ROAM_SIG_VISITED_SET;
    } else if (strcmp(a, "--testbed") == 0) {
      testbed = 1;
    } else if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++) {
        if (npos == 3) {
          npos = 4;
          break;
        }
        pos[npos++] = argv[i];
      }
    } else if (a[0] == '-' && a[1] != 0 && a[1] != '>') { /* '-> T' is a signature */
      fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, a);
      return 2;
    } else {
      if (npos == 3) {
        npos = 4;
        break;
      }
      pos[npos++] = a;
    }
  }
  if (testbed) {
    if (npos) {
      fprintf(stderr, "%s: --testbed takes no arguments\n", prog);
      return 2;
    }
    return print_testbed(flags);
  }
  if (npos != 3) {
    fprintf(stderr, "%s: expected SERVICE METHOD SIGNATURE (try --help)\n", prog);
    return 2;
  }

  static parser p;
  const roam_type *const *args = NULL;
  const roam_type *ret = NULL;
  size_t nargs = 0;
  if (parse_signature(&p, pos[2], &args, &nargs, &ret) != 0) {
    fprintf(stderr, "%s: parse error at column %zu: %s\n", prog, p.err_pos + 1, p.msg);
    fprintf(stderr, "  %s\n  %*s^\n", pos[2], (int)p.err_pos, "");
    arena_free();
    return 2;
  }

  int status = 0;
  uint64_t id = 0;
  int rc = roam_method_id_ex(pos[0], pos[1], args, nargs, ret, flags, &id);
  if (rc) {
    fprintf(stderr, "%s: cannot compute the id: %s\n", prog, roam_strerror(rc));
    status = 1;
  } else if (verbose) {
    char kebab[512];
    size_t klen;
    if (roam_kebab_case(pos[0], strlen(pos[0]), kebab, sizeof kebab, &klen) == ROAM_OK)
      printf("service:   %s -> %s\n", pos[0], kebab);
    if (roam_kebab_case(pos[1], strlen(pos[1]), kebab, sizeof kebab, &klen) == ROAM_OK)
      printf("method:    %s -> %s\n", pos[1], kebab);
    size_t need = 0;
    (void)roam_signature_encode(args, nargs, ret, flags, NULL, 0, &need);
    uint8_t *sig = malloc(need ? need : 1);
    if (sig && roam_signature_encode(args, nargs, ret, flags, sig, need, &need) == ROAM_OK) {
      printf("sig bytes: %zu\n", need);
      print_hex("signature: ", sig, need);
      uint8_t h[32];
      roam_blake3(h, sig, need);
      print_hex("sig hash:  ", h, 32);
    }
    free(sig);
    printf("id:        0x%016llx\n", (unsigned long long)id);
    if (flags == ROAM_SIG_PUBLISHED) {
      uint64_t lit = 0;
      if (roam_method_id_ex(pos[0], pos[1], args, nargs, ret, ROAM_SIG_VISITED_SET, &lit) ==
              ROAM_OK &&
          lit != id)
        printf("literal:   0x%016llx (roam-hash 0.6.0 visited set; serve both)\n",
               (unsigned long long)lit);
    }
  } else {
    printf("0x%016llx\n", (unsigned long long)id);
  }
  arena_free();
  return status;
}
