/* roam_schema parser: tokens to declarations and services (names are
 * resolved afterwards, in resolve.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"

typedef struct parser {
  roam_schema *s;
  roam_schema_file *f;
  rs_tok *toks;
  size_t n, i;
  rs_vec decls, services;
} parser;

/* ---- token helpers ---- */

static const rs_tok *cur(const parser *p) { return &p->toks[p->i]; }
static const rs_tok *ahead(const parser *p, size_t k) {
  return p->i + k < p->n ? &p->toks[p->i + k] : &p->toks[p->n - 1];
}
static void next(parser *p) {
  if (p->i + 1 < p->n)
    p->i++;
}

static bool is_punct(const rs_tok *t, int ch) { return t->kind == RS_PUNCT && t->ch == ch; }
static bool is_ident(const rs_tok *t, const char *word) {
  return t->kind == RS_IDENT && !t->raw && strlen(word) == t->len &&
         memcmp(t->text, word, t->len) == 0;
}

/* A short description of a token for messages. */
static const char *describe(const rs_tok *t, char *buf, size_t cap) {
  switch (t->kind) {
  case RS_EOF: return "end of file";
  case RS_IDENT:
    snprintf(buf, cap, "`%.*s`", (int)(t->len > 40 ? 40 : t->len), t->text);
    return buf;
  case RS_INT: return "an integer literal";
  case RS_STRING: return "a literal";
  case RS_LIFETIME: return "a lifetime";
  case RS_DOC: return "a doc comment";
  case RS_PUNCT:
    if (t->ch == RS_PATHSEP)
      return "`::`";
    if (t->ch == RS_ARROW)
      return "`->`";
    if (t->ch == RS_FATARROW)
      return "`=>`";
    snprintf(buf, cap, "`%c`", t->ch);
    return buf;
  }
  return "?";
}

static int fail_expected(parser *p, const char *what) {
  char buf[64];
  rs_set_error(p->s, cur(p)->pos, "expected %s, found %s", what, describe(cur(p), buf, sizeof buf));
  return -1;
}

static int nomem(parser *p) {
  rs_set_error(p->s, cur(p)->pos, "out of memory");
  return -1;
}

static int expect_punct(parser *p, int ch, const char *what) {
  if (!is_punct(cur(p), ch))
    return fail_expected(p, what);
  next(p);
  return 0;
}

static int expect_name(parser *p, const char **out, roam_schema_pos *pos) {
  if (cur(p)->kind != RS_IDENT)
    return fail_expected(p, "a name");
  *out = rs_strndup(p->s, cur(p)->text, cur(p)->len);
  if (*out == NULL)
    return nomem(p);
  if (pos)
    *pos = cur(p)->pos;
  next(p);
  return 0;
}

/* Skip a balanced group starting at an opening bracket. */
static int skip_group(parser *p) {
  roam_schema_pos start = cur(p)->pos;
  int depth = 0;
  do {
    const rs_tok *t = cur(p);
    if (t->kind == RS_EOF) {
      rs_set_error(p->s, start, "unclosed delimiter");
      return -1;
    }
    if (t->kind == RS_PUNCT && (t->ch == '(' || t->ch == '[' || t->ch == '{'))
      depth++;
    else if (t->kind == RS_PUNCT && (t->ch == ')' || t->ch == ']' || t->ch == '}'))
      depth--;
    next(p);
  } while (depth > 0);
  return 0;
}

/* ---- doc comments and attributes ---- */

typedef struct prefix {
  const char *doc;
  bool service;
  roam_schema_pos service_pos;
} prefix;

/* Doc text: lines joined with '\n', one leading space and trailing
 * whitespace of each line removed. */
static int append_doc(parser *p, rs_vec *lines, const rs_tok *t) {
  const char *s = t->text;
  size_t n = t->len;
  /* a block doc comment may span lines: keep them as they are */
  if (n && s[0] == ' ')
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
    n--;
  char *line = rs_strndup(p->s, s, n);
  if (line == NULL || rs_vec_push(lines, line) != 0)
    return nomem(p);
  return 0;
}

static const char *join_docs(parser *p, rs_vec *lines) {
  if (lines->len == 0) {
    rs_vec_free(lines);
    return NULL;
  }
  size_t total = 0;
  for (size_t i = 0; i < lines->len; i++)
    total += strlen(lines->items[i]) + 1;
  char *out = rs_alloc(p->s, total);
  if (out != NULL) {
    char *w = out;
    for (size_t i = 0; i < lines->len; i++) {
      size_t l = strlen(lines->items[i]);
      memcpy(w, lines->items[i], l);
      w += l;
      *w++ = i + 1 < lines->len ? '\n' : 0;
    }
  }
  rs_vec_free(lines);
  return out;
}

/* Doc comments and outer attributes before an item, field, variant or
 * method. Inner attributes (#![...]) are skipped too. */
static int parse_prefix(parser *p, prefix *pre) {
  rs_vec lines = {0};
  memset(pre, 0, sizeof *pre);
  for (;;) {
    const rs_tok *t = cur(p);
    if (t->kind == RS_DOC) {
      if (append_doc(p, &lines, t) != 0)
        goto fail;
      next(p);
      continue;
    }
    if (!is_punct(t, '#'))
      break;
    roam_schema_pos at = t->pos;
    next(p);
    if (is_punct(cur(p), '!'))
      next(p);
    if (!is_punct(cur(p), '[')) {
      fail_expected(p, "`[` after `#`");
      goto fail;
    }
    /* the attribute's path: its last segment names it */
    const rs_tok *last = NULL;
    size_t k = 1;
    while (ahead(p, k)->kind == RS_IDENT) {
      last = ahead(p, k);
      if (!is_punct(ahead(p, k + 1), RS_PATHSEP))
        break;
      k += 2;
    }
    if (last && is_ident(last, "service") && is_punct(ahead(p, k + 1), ']')) {
      pre->service = true;
      pre->service_pos = at;
    }
    if (skip_group(p) != 0)
      goto fail;
  }
  pre->doc = join_docs(p, &lines);
  return 0;
fail:
  rs_vec_free(&lines);
  return -1;
}

/* `pub`, `pub(crate)`, `pub(in path)`... */
static int skip_vis(parser *p) {
  if (!is_ident(cur(p), "pub"))
    return 0;
  next(p);
  if (is_punct(cur(p), '('))
    return skip_group(p);
  return 0;
}

static int reject_generics(parser *p, const char *what) {
  if (is_punct(cur(p), '<')) {
    rs_set_error(p->s, cur(p)->pos, "generic %s are not supported", what);
    return -1;
  }
  if (is_ident(cur(p), "where")) {
    rs_set_error(p->s, cur(p)->pos, "`where` clauses are not supported");
    return -1;
  }
  return 0;
}

/* ---- types ---- */

static roam_schema_type *new_type(parser *p, roam_schema_kind kind, roam_schema_pos pos) {
  roam_schema_type *t = rs_alloc(p->s, sizeof *t);
  if (t == NULL) {
    nomem(p);
    return NULL;
  }
  t->kind = kind;
  t->pos = pos;
  return t;
}

static const roam_schema_type *parse_type(parser *p, int depth);

typedef struct builtin {
  const char *name;
  roam_schema_kind kind;
  int nargs;
} builtin;

static const builtin builtins[] = {
    {"bool", ROAM_SCHEMA_BOOL, 0},     {"u8", ROAM_SCHEMA_U8, 0},
    {"u16", ROAM_SCHEMA_U16, 0},       {"u32", ROAM_SCHEMA_U32, 0},
    {"u64", ROAM_SCHEMA_U64, 0},       {"usize", ROAM_SCHEMA_U64, 0},
    {"u128", ROAM_SCHEMA_U128, 0},     {"i8", ROAM_SCHEMA_I8, 0},
    {"i16", ROAM_SCHEMA_I16, 0},       {"i32", ROAM_SCHEMA_I32, 0},
    {"i64", ROAM_SCHEMA_I64, 0},       {"isize", ROAM_SCHEMA_I64, 0},
    {"i128", ROAM_SCHEMA_I128, 0},     {"f32", ROAM_SCHEMA_F32, 0},
    {"f64", ROAM_SCHEMA_F64, 0},       {"char", ROAM_SCHEMA_CHAR, 0},
    {"String", ROAM_SCHEMA_STRING, 0}, {"Vec", ROAM_SCHEMA_VEC, 1},
    {"Option", ROAM_SCHEMA_OPTION, 1}, {"Box", ROAM_SCHEMA_BOX, 1},
    {"HashMap", ROAM_SCHEMA_MAP, 2},   {"BTreeMap", ROAM_SCHEMA_MAP, 2},
    {"HashSet", ROAM_SCHEMA_SET, 1},   {"BTreeSet", ROAM_SCHEMA_SET, 1},
    {"Result", ROAM_SCHEMA_RESULT, 2}, {"Tx", ROAM_SCHEMA_TX, 1},
    {"Rx", ROAM_SCHEMA_RX, 1},
};

#define RS_MAX_TYPE_DEPTH 64

static const roam_schema_type *parse_path_type(parser *p, int depth) {
  roam_schema_pos pos = cur(p)->pos;
  if (is_punct(cur(p), RS_PATHSEP))
    next(p);
  const rs_tok *last = NULL;
  for (;;) {
    if (cur(p)->kind != RS_IDENT) {
      fail_expected(p, "a type");
      return NULL;
    }
    last = cur(p);
    next(p);
    if (!is_punct(cur(p), RS_PATHSEP))
      break;
    next(p);
  }
  const builtin *b = NULL;
  if (!last->raw)
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
      if (is_ident(last, builtins[i].name)) {
        b = &builtins[i];
        break;
      }
  /* generic arguments */
  const roam_schema_type *args[2] = {NULL, NULL};
  int nargs = 0;
  roam_schema_pos args_pos = cur(p)->pos;
  if (is_punct(cur(p), '<')) {
    next(p);
    while (!is_punct(cur(p), '>')) {
      if (cur(p)->kind == RS_LIFETIME) {
        rs_set_error(p->s, cur(p)->pos, "lifetimes are not supported");
        return NULL;
      }
      if (nargs == 2) {
        rs_set_error(p->s, cur(p)->pos, "too many type arguments");
        return NULL;
      }
      if ((args[nargs++] = parse_type(p, depth + 1)) == NULL)
        return NULL;
      if (is_punct(cur(p), ','))
        next(p);
      else if (!is_punct(cur(p), '>')) {
        fail_expected(p, "`,` or `>`");
        return NULL;
      }
    }
    next(p);
  }
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(last->len > 60 ? 60 : last->len), last->text);
  if (b == NULL) {
    if (nargs) {
      rs_set_error(p->s, args_pos, "type arguments on `%s` are not supported", name);
      return NULL;
    }
    roam_schema_type *t = new_type(p, ROAM_SCHEMA_NAMED, last->pos);
    if (t && (t->name = rs_strndup(p->s, last->text, last->len)) == NULL) {
      nomem(p);
      return NULL;
    }
    return t;
  }
  if (nargs != b->nargs) {
    rs_set_error(p->s, nargs ? args_pos : last->pos, "`%s` takes %d type argument%s, found %d",
                 name, b->nargs, b->nargs == 1 ? "" : "s", nargs);
    return NULL;
  }
  roam_schema_type *t = new_type(p, b->kind, pos);
  if (t) {
    t->elem = args[0];
    t->elem2 = args[1];
  }
  return t;
}

static const roam_schema_type *parse_type(parser *p, int depth) {
  roam_schema_pos pos = cur(p)->pos;
  if (depth > RS_MAX_TYPE_DEPTH) {
    rs_set_error(p->s, pos, "type nested too deeply");
    return NULL;
  }
  if (is_punct(cur(p), '(')) {
    next(p);
    rs_vec elems = {0};
    bool trailing = false;
    while (!is_punct(cur(p), ')')) {
      const roam_schema_type *e = parse_type(p, depth + 1);
      if (e == NULL)
        goto tuple_fail;
      if (rs_vec_push(&elems, (void *)e) != 0) {
        nomem(p);
        goto tuple_fail;
      }
      trailing = false;
      if (is_punct(cur(p), ',')) {
        next(p);
        trailing = true;
      } else if (!is_punct(cur(p), ')')) {
        fail_expected(p, "`,` or `)`");
        goto tuple_fail;
      }
    }
    next(p);
    if (elems.len == 0) {
      rs_vec_free(&elems);
      return new_type(p, ROAM_SCHEMA_UNIT, pos);
    }
    if (elems.len == 1 && !trailing) { /* (T) is T */
      const roam_schema_type *inner = elems.items[0];
      rs_vec_free(&elems);
      return inner;
    }
    roam_schema_type *t = new_type(p, ROAM_SCHEMA_TUPLE, pos);
    if (t == NULL)
      goto tuple_fail;
    t->count = elems.len;
    if ((t->elems = (const roam_schema_type *const *)rs_vec_finish_ptrs(p->s, &elems)) == NULL) {
      nomem(p);
      return NULL;
    }
    return t;
  tuple_fail:
    rs_vec_free(&elems);
    return NULL;
  }
  if (is_punct(cur(p), '[')) {
    next(p);
    const roam_schema_type *e = parse_type(p, depth + 1);
    if (e == NULL)
      return NULL;
    if (is_punct(cur(p), ']')) {
      rs_set_error(p->s, pos, "slices are not supported; use Vec<T>");
      return NULL;
    }
    if (expect_punct(p, ';', "`;` in an array type") != 0)
      return NULL;
    if (cur(p)->kind != RS_INT) {
      fail_expected(p, "an array length (an integer literal)");
      return NULL;
    }
    uint64_t len = cur(p)->num;
    next(p);
    if (expect_punct(p, ']', "`]`") != 0)
      return NULL;
    roam_schema_type *t = new_type(p, ROAM_SCHEMA_ARRAY, pos);
    if (t) {
      t->elem = e;
      t->len = len;
    }
    return t;
  }
  if (is_punct(cur(p), '&') || is_punct(cur(p), '*')) {
    rs_set_error(p->s, pos, "references and pointers are not supported; use an owned type");
    return NULL;
  }
  if (cur(p)->kind == RS_IDENT && (is_ident(cur(p), "impl") || is_ident(cur(p), "dyn") ||
                                   is_ident(cur(p), "fn"))) {
    rs_set_error(p->s, pos, "`%.*s` types are not supported", (int)cur(p)->len, cur(p)->text);
    return NULL;
  }
  return parse_path_type(p, depth);
}

/* ---- structs and enums ---- */

static int parse_body(parser *p, roam_schema_body *body, bool allow_vis) {
  rs_vec fields = {0};
  bool named = is_punct(cur(p), '{');
  int close = named ? '}' : ')';
  body->shape = named ? ROAM_SCHEMA_SHAPE_NAMED : ROAM_SCHEMA_SHAPE_TUPLE;
  next(p);
  while (!is_punct(cur(p), close)) {
    prefix pre;
    roam_schema_field *fd = rs_alloc(p->s, sizeof *fd);
    if (fd == NULL) {
      nomem(p);
      goto fail;
    }
    if (parse_prefix(p, &pre) != 0)
      goto fail;
    if (pre.service) {
      rs_set_error(p->s, pre.service_pos, "#[service] applies to traits only");
      goto fail;
    }
    if (allow_vis && skip_vis(p) != 0)
      goto fail;
    fd->doc = pre.doc;
    fd->pos = cur(p)->pos;
    if (named) {
      if (expect_name(p, &fd->name, &fd->pos) != 0 || expect_punct(p, ':', "`:`") != 0)
        goto fail;
    }
    if ((fd->type = parse_type(p, 0)) == NULL)
      goto fail;
    if (rs_vec_push(&fields, fd) != 0) {
      nomem(p);
      goto fail;
    }
    if (is_punct(cur(p), ','))
      next(p);
    else if (!is_punct(cur(p), close)) {
      fail_expected(p, named ? "`,` or `}`" : "`,` or `)`");
      goto fail;
    }
  }
  next(p);
  body->count = fields.len;
  body->fields = rs_vec_finish_values(p->s, &fields, sizeof(roam_schema_field));
  if (body->fields == NULL && body->count)
    return nomem(p);
  return 0;
fail:
  rs_vec_free(&fields);
  return -1;
}

static roam_schema_decl *new_decl(parser *p, roam_schema_decl_kind kind, const prefix *pre) {
  roam_schema_decl *d = rs_alloc(p->s, sizeof *d);
  if (d == NULL) {
    nomem(p);
    return NULL;
  }
  d->kind = kind;
  d->doc = pre->doc;
  d->file = p->f;
  if (expect_name(p, &d->name, &d->pos) != 0 || reject_generics(p, "types") != 0)
    return NULL;
  return d;
}

static int parse_struct(parser *p, const prefix *pre) {
  next(p); /* struct */
  roam_schema_decl *d = new_decl(p, ROAM_SCHEMA_STRUCT, pre);
  if (d == NULL)
    return -1;
  if (is_punct(cur(p), ';')) {
    d->body.shape = ROAM_SCHEMA_SHAPE_UNIT;
    next(p);
  } else if (is_punct(cur(p), '{')) {
    if (parse_body(p, &d->body, true) != 0)
      return -1;
  } else if (is_punct(cur(p), '(')) {
    if (parse_body(p, &d->body, true) != 0 || reject_generics(p, "types") != 0 ||
        expect_punct(p, ';', "`;` after a tuple struct") != 0)
      return -1;
  } else {
    return fail_expected(p, "`{`, `(` or `;`");
  }
  if (rs_vec_push(&p->decls, d) != 0)
    return nomem(p);
  return 0;
}

static int parse_enum(parser *p, const prefix *pre) {
  next(p); /* enum */
  roam_schema_decl *d = new_decl(p, ROAM_SCHEMA_ENUM, pre);
  if (d == NULL)
    return -1;
  if (expect_punct(p, '{', "`{`") != 0)
    return -1;
  rs_vec vars = {0};
  while (!is_punct(cur(p), '}')) {
    prefix vp;
    roam_schema_variant *v = rs_alloc(p->s, sizeof *v);
    if (v == NULL) {
      nomem(p);
      goto fail;
    }
    if (parse_prefix(p, &vp) != 0)
      goto fail;
    if (vp.service) {
      rs_set_error(p->s, vp.service_pos, "#[service] applies to traits only");
      goto fail;
    }
    v->doc = vp.doc;
    if (expect_name(p, &v->name, &v->pos) != 0)
      goto fail;
    if (is_punct(cur(p), '{') || is_punct(cur(p), '(')) {
      if (parse_body(p, &v->body, false) != 0)
        goto fail;
    } else {
      v->body.shape = ROAM_SCHEMA_SHAPE_UNIT;
    }
    if (is_punct(cur(p), '=')) {
      next(p);
      bool neg = false;
      if (is_punct(cur(p), '-')) {
        neg = true;
        next(p);
      }
      if (cur(p)->kind != RS_INT) {
        fail_expected(p, "an integer discriminant");
        goto fail;
      }
      if (cur(p)->num > (uint64_t)INT64_MAX + (neg ? 1u : 0u)) {
        rs_set_error(p->s, cur(p)->pos, "discriminant out of range");
        goto fail;
      }
      v->has_discriminant = true;
      v->discriminant = neg ? (int64_t)(0 - cur(p)->num) : (int64_t)cur(p)->num;
      next(p);
    }
    if (rs_vec_push(&vars, v) != 0) {
      nomem(p);
      goto fail;
    }
    if (is_punct(cur(p), ','))
      next(p);
    else if (!is_punct(cur(p), '}')) {
      fail_expected(p, "`,` or `}`");
      goto fail;
    }
  }
  next(p);
  d->nvariants = vars.len;
  d->variants = rs_vec_finish_values(p->s, &vars, sizeof(roam_schema_variant));
  if (d->variants == NULL && d->nvariants)
    return nomem(p);
  if (rs_vec_push(&p->decls, d) != 0)
    return nomem(p);
  return 0;
fail:
  rs_vec_free(&vars);
  return -1;
}

/* ---- services ---- */

static int parse_method(parser *p, roam_schema_method *m, const prefix *pre) {
  m->doc = pre->doc;
  if (is_ident(cur(p), "async"))
    next(p);
  if (!is_ident(cur(p), "fn"))
    return fail_expected(p, "`async fn` or `fn`");
  next(p);
  if (expect_name(p, &m->name, &m->pos) != 0 || reject_generics(p, "methods") != 0 ||
      expect_punct(p, '(', "`(`") != 0)
    return -1;
  if (!is_punct(cur(p), '&') || !is_ident(ahead(p, 1), "self")) {
    if (is_punct(cur(p), '&') && is_ident(ahead(p, 1), "mut"))
      rs_set_error(p->s, cur(p)->pos, "service methods take `&self`, not `&mut self`");
    else
      fail_expected(p, "`&self` as the first parameter");
    return -1;
  }
  next(p);
  next(p);
  rs_vec params = {0};
  while (!is_punct(cur(p), ')')) {
    if (expect_punct(p, ',', "`,` or `)`") != 0)
      goto fail;
    if (is_punct(cur(p), ')'))
      break;
    roam_schema_param *prm = rs_alloc(p->s, sizeof *prm);
    if (prm == NULL) {
      nomem(p);
      goto fail;
    }
    if (is_ident(cur(p), "mut") || is_ident(cur(p), "_") || is_punct(cur(p), '(')) {
      rs_set_error(p->s, cur(p)->pos, "parameters must be plain names");
      goto fail;
    }
    if (expect_name(p, &prm->name, &prm->pos) != 0 || expect_punct(p, ':', "`:`") != 0 ||
        (prm->type = parse_type(p, 0)) == NULL)
      goto fail;
    if (rs_vec_push(&params, prm) != 0) {
      nomem(p);
      goto fail;
    }
  }
  next(p);
  m->nparams = params.len;
  m->params = rs_vec_finish_values(p->s, &params, sizeof(roam_schema_param));
  if (m->params == NULL && m->nparams)
    return nomem(p);
  if (is_punct(cur(p), RS_ARROW)) {
    next(p);
    if ((m->ret = parse_type(p, 0)) == NULL)
      return -1;
  }
  if (reject_generics(p, "methods") != 0)
    return -1;
  if (is_punct(cur(p), '{')) {
    rs_set_error(p->s, cur(p)->pos, "service methods have no body");
    return -1;
  }
  return expect_punct(p, ';', "`;`");
fail:
  rs_vec_free(&params);
  return -1;
}

static int parse_trait(parser *p, const prefix *pre) {
  next(p); /* trait */
  roam_schema_service *svc = rs_alloc(p->s, sizeof *svc);
  if (svc == NULL)
    return nomem(p);
  svc->doc = pre->doc;
  svc->file = p->f;
  if (expect_name(p, &svc->name, &svc->pos) != 0 || reject_generics(p, "traits") != 0)
    return -1;
  if (is_punct(cur(p), ':')) {
    rs_set_error(p->s, cur(p)->pos, "supertraits are not supported");
    return -1;
  }
  if (expect_punct(p, '{', "`{`") != 0)
    return -1;
  rs_vec methods = {0};
  for (;;) {
    prefix mp;
    if (parse_prefix(p, &mp) != 0)
      goto fail;
    if (is_punct(cur(p), '}'))
      break;
    if (mp.service) {
      rs_set_error(p->s, mp.service_pos, "#[service] applies to traits only");
      goto fail;
    }
    roam_schema_method *m = rs_alloc(p->s, sizeof *m);
    if (m == NULL) {
      nomem(p);
      goto fail;
    }
    if (parse_method(p, m, &mp) != 0)
      goto fail;
    m->service = svc;
    if (rs_vec_push(&methods, m) != 0) {
      nomem(p);
      goto fail;
    }
  }
  next(p);
  svc->nmethods = methods.len;
  svc->methods = rs_vec_finish_values(p->s, &methods, sizeof(roam_schema_method));
  if (svc->methods == NULL && svc->nmethods)
    return nomem(p);
  /* the method copies point back at the service */
  if (rs_vec_push(&p->services, svc) != 0)
    return nomem(p);
  return 0;
fail:
  rs_vec_free(&methods);
  return -1;
}

/* ---- items ---- */

/* `fn name(...) ... { ... }` and `impl ... { ... }`: skipped whole. */
static int skip_item_with_body(parser *p) {
  while (!is_punct(cur(p), '{') && !is_punct(cur(p), ';')) {
    if (cur(p)->kind == RS_EOF)
      return fail_expected(p, "`{`");
    if (is_punct(cur(p), '(') || is_punct(cur(p), '[')) {
      if (skip_group(p) != 0)
        return -1;
    } else {
      next(p);
    }
  }
  if (is_punct(cur(p), ';')) {
    next(p);
    return 0;
  }
  return skip_group(p);
}

static int parse_item(parser *p) {
  prefix pre;
  if (parse_prefix(p, &pre) != 0)
    return -1;
  if (cur(p)->kind == RS_EOF) {
    if (pre.service) {
      rs_set_error(p->s, pre.service_pos, "#[service] must be followed by a trait");
      return -1;
    }
    return 0;
  }
  if (skip_vis(p) != 0)
    return -1;
  const rs_tok *t = cur(p);
  if (is_ident(t, "trait")) {
    if (!pre.service) {
      rs_set_error(p->s, t->pos, "trait without #[service] (only service traits are accepted)");
      return -1;
    }
    return parse_trait(p, &pre);
  }
  if (pre.service) {
    rs_set_error(p->s, pre.service_pos, "#[service] applies to traits only");
    return -1;
  }
  if (is_ident(t, "use")) {
    while (!is_punct(cur(p), ';')) {
      if (cur(p)->kind == RS_EOF)
        return fail_expected(p, "`;`");
      if (is_punct(cur(p), '{')) {
        if (skip_group(p) != 0)
          return -1;
      } else {
        next(p);
      }
    }
    next(p);
    return 0;
  }
  if (is_ident(t, "mod") && ahead(p, 1)->kind == RS_IDENT && is_punct(ahead(p, 2), ';')) {
    next(p); /* `mod other;`: a module in another file, not part of this one */
    next(p);
    next(p);
    return 0;
  }
  if (is_ident(t, "struct"))
    return parse_struct(p, &pre);
  if (is_ident(t, "enum"))
    return parse_enum(p, &pre);
  if (is_ident(t, "fn") || is_ident(t, "impl") ||
      ((is_ident(t, "async") || is_ident(t, "const")) && is_ident(ahead(p, 1), "fn")))
    return skip_item_with_body(p);
  char buf[64];
  rs_set_error(p->s, t->pos,
               "expected `struct`, `enum`, a #[service] trait or `use`, found %s (not "
               "supported in a service definition)",
               describe(t, buf, sizeof buf));
  return -1;
}

int rs_parse(roam_schema *s, roam_schema_file *f, const char *text, size_t len) {
  parser p = {.s = s, .f = f};
  rs_lexer lx;
  rs_lex_init(&lx, s, f->path, text, len);
  size_t cap = 0;
  int rc = -1;
  for (;;) {
    if (p.n == cap) {
      cap = cap ? cap * 2 : 1024;
      rs_tok *nt = realloc(p.toks, cap * sizeof *nt);
      if (nt == NULL) {
        roam_schema_pos pos = {f->path, lx.line, lx.col};
        rs_set_error(s, pos, "out of memory");
        goto out;
      }
      p.toks = nt;
    }
    if (rs_lex_next(&lx, &p.toks[p.n]) != 0)
      goto out;
    if (p.toks[p.n++].kind == RS_EOF)
      break;
  }
  while (cur(&p)->kind != RS_EOF)
    if (parse_item(&p) != 0)
      goto out;
  f->ndecls = p.decls.len;
  f->decls = (roam_schema_decl *const *)rs_vec_finish_ptrs(s, &p.decls);
  f->nservices = p.services.len;
  /* services are stored by value; their methods' back-pointers are fixed
   * up to the stored copies */
  roam_schema_service *svcs = rs_vec_finish_values(s, &p.services, sizeof(roam_schema_service));
  if ((f->decls == NULL && f->ndecls) || (svcs == NULL && f->nservices)) {
    roam_schema_pos pos = {f->path, 1, 1};
    rs_set_error(s, pos, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < f->nservices; i++)
    for (size_t j = 0; j < svcs[i].nmethods; j++)
      ((roam_schema_method *)&svcs[i].methods[j])->service = &svcs[i];
  f->services = svcs;
  rc = 0;
out:
  rs_vec_free(&p.decls);
  rs_vec_free(&p.services);
  free(p.toks);
  return rc;
}
