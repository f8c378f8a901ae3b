/* roam_schema resolution: names to declarations, the rules the grammar
 * cannot express (unique names, where Result and Tx/Rx may appear, types of
 * finite size), the by-value order of declarations, method-id descriptors
 * and the method ids themselves. */
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"

/* ---- duplicate names ---- */

static int check_unique(roam_schema *s, const char *what, const char *const *names,
                        const roam_schema_pos *pos, size_t n) {
  /* n is small (fields, variants, methods); declarations use the same
   * quadratic scan, fine for the thousands a generated file may hold */
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      if (names[i] && names[j] && strcmp(names[i], names[j]) == 0) {
        rs_set_error(s, pos[i], "duplicate %s `%s` (first at line %u)", what, names[i],
                     (unsigned)pos[j].line);
        return -1;
      }
  return 0;
}

static int check_body_names(roam_schema *s, const roam_schema_body *b) {
  if (b->shape != ROAM_SCHEMA_SHAPE_NAMED || b->count < 2)
    return 0;
  const char **names = malloc(b->count * sizeof *names);
  roam_schema_pos *pos = malloc(b->count * sizeof *pos);
  int rc = -1;
  if (names && pos) {
    for (size_t i = 0; i < b->count; i++) {
      names[i] = b->fields[i].name;
      pos[i] = b->fields[i].pos;
    }
    rc = check_unique(s, "field", names, pos, b->count);
  }
  free(names);
  free(pos);
  return rc;
}

static int check_names(roam_schema *s, roam_schema_file *f) {
  /* one scratch list long enough for every list checked below */
  size_t n = f->ndecls + f->nservices;
  for (size_t i = 0; i < f->nservices; i++)
    if (f->services[i].nmethods > n)
      n = f->services[i].nmethods;
  for (size_t i = 0; i < f->ndecls; i++)
    if (f->decls[i]->nvariants > n)
      n = f->decls[i]->nvariants;
  const char **names = malloc((n + 1) * sizeof *names);
  roam_schema_pos *pos = malloc((n + 1) * sizeof *pos);
  int rc = -1;
  if (!names || !pos)
    goto out;
  /* types and services share Rust's type namespace */
  size_t k = 0;
  for (size_t i = 0; i < f->ndecls; i++) {
    names[k] = f->decls[i]->name;
    pos[k++] = f->decls[i]->pos;
  }
  for (size_t i = 0; i < f->nservices; i++) {
    names[k] = f->services[i].name;
    pos[k++] = f->services[i].pos;
  }
  if (check_unique(s, "type or service name", names, pos, k) != 0)
    goto out;
  for (size_t i = 0; i < f->nservices; i++) {
    const roam_schema_service *svc = &f->services[i];
    for (size_t j = 0; j < svc->nmethods; j++) {
      names[j] = svc->methods[j].name;
      pos[j] = svc->methods[j].pos;
    }
    if (check_unique(s, "method", names, pos, svc->nmethods) != 0)
      goto out;
    for (size_t j = 0; j < svc->nmethods; j++) {
      const roam_schema_method *m = &svc->methods[j];
      const char **pn = malloc((m->nparams + 1) * sizeof *pn);
      roam_schema_pos *pp = malloc((m->nparams + 1) * sizeof *pp);
      int bad = pn == NULL || pp == NULL;
      if (!bad) {
        for (size_t a = 0; a < m->nparams; a++) {
          pn[a] = m->params[a].name;
          pp[a] = m->params[a].pos;
        }
        bad = check_unique(s, "parameter", pn, pp, m->nparams) != 0;
      }
      free(pn);
      free(pp);
      if (bad)
        goto out;
    }
  }
  for (size_t i = 0; i < f->ndecls; i++) {
    const roam_schema_decl *d = f->decls[i];
    if (check_body_names(s, &d->body) != 0)
      goto out;
    if (d->kind != ROAM_SCHEMA_ENUM)
      continue;
    for (size_t j = 0; j < d->nvariants; j++) {
      names[j] = d->variants[j].name;
      pos[j] = d->variants[j].pos;
      if (check_body_names(s, &d->variants[j].body) != 0)
        goto out;
    }
    if (check_unique(s, "variant", names, pos, d->nvariants) != 0)
      goto out;
  }
  rc = 0;
out:
  if (rc != 0 && s->error[0] == 0) {
    roam_schema_pos p0 = {f->path, 1, 1};
    rs_set_error(s, p0, "out of memory");
  }
  free(names);
  free(pos);
  return rc;
}

/* ---- name resolution and placement rules ---- */

typedef enum place { PLACE_FIELD, PLACE_PARAM, PLACE_RET } place;

static int resolve_type(roam_schema *s, roam_schema_file *f, const roam_schema_type *ct,
                        place where, bool top) {
  roam_schema_type *t = (roam_schema_type *)ct;
  switch (t->kind) {
  case ROAM_SCHEMA_NAMED: {
    const roam_schema_decl *d = roam_schema_find_decl(f, t->name);
    if (d == NULL) {
      rs_set_error(s, t->pos, "unknown type `%s`", t->name);
      return -1;
    }
    t->decl = (roam_schema_decl *)d;
    return 0;
  }
  case ROAM_SCHEMA_RESULT:
    if (!(where == PLACE_RET && top)) {
      rs_set_error(s, t->pos, "Result is only supported as a method's return type");
      return -1;
    }
    return resolve_type(s, f, t->elem, where, false) ||
                   resolve_type(s, f, t->elem2, where, false)
               ? -1
               : 0;
  case ROAM_SCHEMA_TX:
  case ROAM_SCHEMA_RX:
    if (!(where == PLACE_PARAM && top)) {
      rs_set_error(s, t->pos, "%s is only supported as a method argument",
                   t->kind == ROAM_SCHEMA_TX ? "Tx" : "Rx");
      return -1;
    }
    return resolve_type(s, f, t->elem, where, false);
  case ROAM_SCHEMA_MAP:
    if (resolve_type(s, f, t->elem, where, false) != 0)
      return -1;
    return resolve_type(s, f, t->elem2, where, false);
  case ROAM_SCHEMA_VEC:
  case ROAM_SCHEMA_OPTION:
  case ROAM_SCHEMA_BOX:
  case ROAM_SCHEMA_ARRAY:
  case ROAM_SCHEMA_SET:
    return resolve_type(s, f, t->elem, where, false);
  case ROAM_SCHEMA_TUPLE:
    for (size_t i = 0; i < t->count; i++)
      if (resolve_type(s, f, t->elems[i], where, false) != 0)
        return -1;
    return 0;
  default:
    return 0;
  }
}

static int resolve_body(roam_schema *s, roam_schema_file *f, const roam_schema_body *b) {
  for (size_t i = 0; i < b->count; i++)
    if (resolve_type(s, f, b->fields[i].type, PLACE_FIELD, true) != 0)
      return -1;
  return 0;
}

/* ---- containment: by value (size) and through indirection (recursion) ---- */

typedef void (*edge_fn)(void *ud, roam_schema_decl *to, const roam_schema_type *at);

/* Visit the declarations a type refers to; by_value_only stops at Vec, Box,
 * maps and sets (heap indirection in Rust and in the generated C). */
static void type_edges(const roam_schema_type *t, bool by_value_only, edge_fn fn, void *ud) {
  switch (t->kind) {
  case ROAM_SCHEMA_NAMED: fn(ud, t->decl, t); return;
  case ROAM_SCHEMA_VEC:
  case ROAM_SCHEMA_BOX:
  case ROAM_SCHEMA_SET:
    if (!by_value_only)
      type_edges(t->elem, false, fn, ud);
    return;
  case ROAM_SCHEMA_MAP:
    if (!by_value_only) {
      type_edges(t->elem, false, fn, ud);
      type_edges(t->elem2, false, fn, ud);
    }
    return;
  case ROAM_SCHEMA_OPTION:
  case ROAM_SCHEMA_ARRAY: type_edges(t->elem, by_value_only, fn, ud); return;
  case ROAM_SCHEMA_TUPLE:
    for (size_t i = 0; i < t->count; i++)
      type_edges(t->elems[i], by_value_only, fn, ud);
    return;
  default: return;
  }
}

static void decl_edges(const roam_schema_decl *d, bool by_value_only, edge_fn fn, void *ud) {
  for (size_t i = 0; i < d->body.count; i++)
    type_edges(d->body.fields[i].type, by_value_only, fn, ud);
  for (size_t v = 0; v < d->nvariants; v++)
    for (size_t i = 0; i < d->variants[v].body.count; i++)
      type_edges(d->variants[v].body.fields[i].type, by_value_only, fn, ud);
}

/* Depth-first post-order over by-value edges: the C definition order, and
 * a by-value cycle means a type of infinite size. */
typedef struct order_ctx {
  roam_schema *s;
  uint8_t *state; /* 0 new, 1 on the stack, 2 done */
  roam_schema_decl **out;
  size_t nout;
  int err;
} order_ctx;

static void order_visit(order_ctx *c, roam_schema_decl *d);

static void order_edge(void *ud, roam_schema_decl *to, const roam_schema_type *at) {
  order_ctx *c = ud;
  if (c->err)
    return;
  if (c->state[to->index] == 1) {
    rs_set_error(c->s, at->pos,
                 "recursive type `%s` has infinite size (put the recursion behind Box, Vec "
                 "or a map)",
                 to->name);
    c->err = -1;
    return;
  }
  order_visit(c, to);
}

static void order_visit(order_ctx *c, roam_schema_decl *d) {
  if (c->state[d->index] != 0 || c->err)
    return;
  c->state[d->index] = 1;
  decl_edges(d, true, order_edge, c);
  c->state[d->index] = 2;
  c->out[c->nout++] = d;
}

/* Reachability through any edge, to mark recursive types. */
typedef struct reach_ctx {
  uint8_t *seen;
  const roam_schema_decl *target;
  bool found;
} reach_ctx;

static void reach_edge(void *ud, roam_schema_decl *to, const roam_schema_type *at) {
  (void)at;
  reach_ctx *c = ud;
  if (c->found)
    return;
  if (to == c->target) {
    c->found = true;
    return;
  }
  if (c->seen[to->index])
    return;
  c->seen[to->index] = 1;
  decl_edges(to, false, reach_edge, c);
}

/* ---- method-id descriptors ---- */

static const roam_type *desc_of(roam_schema *s, const roam_schema_type *t);

static roam_type *new_desc(roam_schema *s, roam_type_kind kind) {
  roam_type *d = rs_alloc(s, sizeof *d);
  if (d)
    d->kind = kind;
  return d;
}

static const roam_type *const *desc_list(roam_schema *s, const roam_schema_field *fields,
                                         size_t n) {
  const roam_type **out = rs_alloc(s, (n ? n : 1) * sizeof *out);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if ((out[i] = desc_of(s, fields[i].type)) == NULL)
      return NULL;
  return out;
}

static const roam_field *field_list(roam_schema *s, const roam_schema_field *fields, size_t n) {
  roam_field *out = rs_alloc(s, (n ? n : 1) * sizeof *out);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    out[i].name = fields[i].name;
    if ((out[i].type = desc_of(s, fields[i].type)) == NULL)
      return NULL;
  }
  return out;
}

static const roam_type *desc_of(roam_schema *s, const roam_schema_type *t) {
  static const roam_type *const prim[] = {
      &roam_type_bool, &roam_type_u8,  &roam_type_u16, &roam_type_u32,    &roam_type_u64,
      &roam_type_u128, &roam_type_i8,  &roam_type_i16, &roam_type_i32,    &roam_type_i64,
      &roam_type_i128, &roam_type_f32, &roam_type_f64, &roam_type_char,   &roam_type_string,
      &roam_type_unit};
  roam_type *d;
  switch (t->kind) {
  case ROAM_SCHEMA_NAMED: return t->decl->desc;
  case ROAM_SCHEMA_BOX: return desc_of(s, t->elem);
  case ROAM_SCHEMA_VEC:
    if (roam_schema_is_bytes(t))
      return &roam_type_bytes;
    d = new_desc(s, ROAM_TYPE_LIST);
    break;
  case ROAM_SCHEMA_OPTION: d = new_desc(s, ROAM_TYPE_OPTION); break;
  case ROAM_SCHEMA_ARRAY:
    if ((d = new_desc(s, ROAM_TYPE_ARRAY)) != NULL)
      d->len = t->len;
    break;
  case ROAM_SCHEMA_SET: d = new_desc(s, ROAM_TYPE_SET); break;
  case ROAM_SCHEMA_TX: d = new_desc(s, ROAM_TYPE_TX); break;
  case ROAM_SCHEMA_RX: d = new_desc(s, ROAM_TYPE_RX); break;
  case ROAM_SCHEMA_MAP: d = new_desc(s, ROAM_TYPE_MAP); break;
  case ROAM_SCHEMA_RESULT: d = new_desc(s, ROAM_TYPE_RESULT); break;
  case ROAM_SCHEMA_TUPLE: {
    d = new_desc(s, ROAM_TYPE_TUPLE);
    const roam_type **elems = rs_alloc(s, t->count * sizeof *elems);
    if (d == NULL || elems == NULL)
      return NULL;
    for (size_t i = 0; i < t->count; i++)
      if ((elems[i] = desc_of(s, t->elems[i])) == NULL)
        return NULL;
    d->elems = elems;
    d->count = t->count;
    return d;
  }
  default: return prim[t->kind];
  }
  if (d == NULL)
    return NULL;
  if (t->elem && (d->elem = desc_of(s, t->elem)) == NULL)
    return NULL;
  if (t->elem2 && (d->elem2 = desc_of(s, t->elem2)) == NULL)
    return NULL;
  return d;
}

static int fill_decl_desc(roam_schema *s, roam_schema_decl *d) {
  roam_type *desc = (roam_type *)d->desc;
  if (desc == &roam_type_unit || desc == NULL)
    return desc ? 0 : -1;
  desc->name = d->name;
  if (d->kind == ROAM_SCHEMA_STRUCT) {
    desc->count = d->body.count;
    if (d->body.shape == ROAM_SCHEMA_SHAPE_TUPLE)
      return (desc->elems = desc_list(s, d->body.fields, d->body.count)) ? 0 : -1;
    return (desc->fields = field_list(s, d->body.fields, d->body.count)) ? 0 : -1;
  }
  roam_variant *vs = rs_alloc(s, (d->nvariants ? d->nvariants : 1) * sizeof *vs);
  if (vs == NULL)
    return -1;
  for (size_t i = 0; i < d->nvariants; i++) {
    const roam_schema_variant *v = &d->variants[i];
    vs[i].name = v->name;
    vs[i].count = v->body.count;
    switch (v->body.shape) {
    case ROAM_SCHEMA_SHAPE_UNIT: vs[i].kind = ROAM_VARIANT_UNIT; break;
    case ROAM_SCHEMA_SHAPE_NAMED:
      vs[i].kind = ROAM_VARIANT_STRUCT;
      if ((vs[i].fields = field_list(s, v->body.fields, v->body.count)) == NULL)
        return -1;
      break;
    case ROAM_SCHEMA_SHAPE_TUPLE:
      if (v->body.count == 1) {
        vs[i].kind = ROAM_VARIANT_NEWTYPE;
        if ((vs[i].type = desc_of(s, v->body.fields[0].type)) == NULL)
          return -1;
      } else {
        vs[i].kind = ROAM_VARIANT_TUPLE;
        if ((vs[i].elems = desc_list(s, v->body.fields, v->body.count)) == NULL)
          return -1;
      }
      break;
    }
  }
  desc->variants = vs;
  desc->count = d->nvariants;
  return 0;
}

static int compute_ids(roam_schema *s, roam_schema_file *f) {
  for (size_t i = 0; i < f->nservices; i++) {
    const roam_schema_service *svc = &f->services[i];
    for (size_t j = 0; j < svc->nmethods; j++) {
      roam_schema_method *m = (roam_schema_method *)&svc->methods[j];
      const roam_type **args = rs_alloc(s, (m->nparams ? m->nparams : 1) * sizeof *args);
      const roam_type *ret = NULL;
      if (args == NULL)
        return -1;
      for (size_t a = 0; a < m->nparams; a++)
        if ((args[a] = desc_of(s, m->params[a].type)) == NULL)
          return -1;
      if (m->ret && (ret = desc_of(s, m->ret)) == NULL)
        return -1;
      if (m->ret && m->ret->kind == ROAM_SCHEMA_RESULT) {
        m->ok = m->ret->elem->kind == ROAM_SCHEMA_UNIT ? NULL : m->ret->elem;
        m->err = m->ret->elem2;
      } else {
        m->ok = m->ret && m->ret->kind != ROAM_SCHEMA_UNIT ? m->ret : NULL;
      }
      int rc = roam_method_id_ex(svc->name, m->name, args, m->nparams, ret, ROAM_SIG_PUBLISHED,
                                 &m->id);
      if (rc == 0)
        rc = roam_method_id_ex(svc->name, m->name, args, m->nparams, ret, ROAM_SIG_VISITED_SET,
                               &m->id_visited_set);
      if (rc != 0) {
        rs_set_error(s, m->pos, "cannot compute the method id (%s)", roam_strerror(rc));
        return -2;
      }
    }
  }
  return 0;
}

int rs_resolve(roam_schema *s, roam_schema_file *f) {
  roam_schema_pos p0 = {f->path, 1, 1};
  if (check_names(s, f) != 0)
    return -1;
  for (size_t i = 0; i < f->ndecls; i++) {
    roam_schema_decl *d = f->decls[i];
    d->index = i;
    if (resolve_body(s, f, &d->body) != 0)
      return -1;
    for (size_t v = 0; v < d->nvariants; v++)
      if (resolve_body(s, f, &d->variants[v].body) != 0)
        return -1;
  }
  for (size_t i = 0; i < f->nservices; i++) {
    const roam_schema_service *svc = &f->services[i];
    for (size_t j = 0; j < svc->nmethods; j++) {
      const roam_schema_method *m = &svc->methods[j];
      for (size_t a = 0; a < m->nparams; a++)
        if (resolve_type(s, f, m->params[a].type, PLACE_PARAM, true) != 0)
          return -1;
      if (m->ret && resolve_type(s, f, m->ret, PLACE_RET, true) != 0)
        return -1;
    }
  }

  size_t n = f->ndecls;
  order_ctx oc = {s, calloc(n + 1, 1), rs_alloc(s, (n + 1) * sizeof(roam_schema_decl *)), 0, 0};
  uint8_t *seen = calloc(n + 1, 1);
  int rc = -1;
  if (oc.state == NULL || oc.out == NULL || seen == NULL) {
    rs_set_error(s, p0, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n && !oc.err; i++)
    order_visit(&oc, f->decls[i]);
  if (oc.err)
    goto out;
  f->sorted = oc.out;
  for (size_t i = 0; i < n; i++) {
    reach_ctx rc2 = {seen, f->decls[i], false};
    memset(seen, 0, n);
    decl_edges(f->decls[i], false, reach_edge, &rc2);
    f->decls[i]->recursive = rc2.found;
  }
  /* descriptors: allocate every decl's first, so that recursive references
   * point at the right object, then fill them in */
  for (size_t i = 0; i < n; i++) {
    roam_schema_decl *d = f->decls[i];
    if (d->kind == ROAM_SCHEMA_STRUCT && d->body.shape == ROAM_SCHEMA_SHAPE_UNIT)
      d->desc = &roam_type_unit;
    else
      d->desc = new_desc(s, d->kind == ROAM_SCHEMA_ENUM ? ROAM_TYPE_ENUM
                            : d->body.shape == ROAM_SCHEMA_SHAPE_TUPLE ? ROAM_TYPE_TUPLE
                                                                         : ROAM_TYPE_STRUCT);
  }
  for (size_t i = 0; i < n; i++)
    if (fill_decl_desc(s, f->decls[i]) != 0) {
      rs_set_error(s, p0, "out of memory");
      goto out;
    }
  int idrc = compute_ids(s, f);
  if (idrc == -1)
    rs_set_error(s, p0, "out of memory");
  if (idrc != 0)
    goto out;
  rc = 0;
out:
  free(oc.state);
  free(seen);
  return rc;
}
