/*
 * roam-gen's C model: one ctype per distinct Rust type (keyed by its
 * canonical spelling), with its C name, the names of its members and
 * constants, and what the emitters need to know (passed by value, holds
 * views, may encode to zero bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static size_t hash_key(const char *s) {
  size_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static ctype *table_get(gen *g, const char *key) {
  if (g->tcap == 0)
    return NULL;
  for (size_t i = hash_key(key) & (g->tcap - 1);; i = (i + 1) & (g->tcap - 1)) {
    if (g->table[i] == NULL)
      return NULL;
    if (strcmp(g->table[i]->key, key) == 0)
      return g->table[i];
  }
}

static void table_put(gen *g, ctype *ct) {
  if ((g->tcount + 1) * 2 > g->tcap) {
    size_t cap = g->tcap ? g->tcap * 2 : 256;
    ctype **t = calloc(cap, sizeof *t);
    if (t == NULL) {
      fprintf(stderr, "roam-gen: out of memory\n");
      exit(1);
    }
    for (size_t i = 0; i < g->tcap; i++)
      if (g->table[i]) {
        size_t j = hash_key(g->table[i]->key) & (cap - 1);
        while (t[j])
          j = (j + 1) & (cap - 1);
        t[j] = g->table[i];
      }
    free(g->table);
    g->table = t;
    g->tcap = cap;
  }
  size_t j = hash_key(ct->key) & (g->tcap - 1);
  while (g->table[j])
    j = (j + 1) & (g->tcap - 1);
  g->table[j] = ct;
  g->tcount++;
  if (g->last)
    g->last->next = ct;
  else
    g->first = ct;
  g->last = ct;
}

static void *zalloc(gen *g, size_t n) { return gen_zalloc(g, n); }

static char *key_of(gen *g, const roam_schema_type *t) {
  size_t n = roam_schema_type_str(t, NULL, 0);
  char *k = zalloc(g, n + 1);
  roam_schema_type_str(t, k, n + 1);
  return k;
}

static ctype *new_ctype(gen *g, ct_kind kind, const char *key) {
  ctype *ct = zalloc(g, sizeof *ct);
  ct->kind = kind;
  ct->key = gen_strdup(g, key);
  ct->minwire = -1;
  ct->maxw = -2;
  table_put(g, ct);
  return ct;
}

typedef struct prim_info {
  const char *c, *fn;
  int minwire;
} prim_info;

static prim_info prim_of(roam_schema_kind k) {
  switch (k) {
  case ROAM_SCHEMA_BOOL: return (prim_info){"bool", "bool", 1};
  case ROAM_SCHEMA_U8: return (prim_info){"uint8_t", "u8", 1};
  case ROAM_SCHEMA_U16: return (prim_info){"uint16_t", "u16", 1};
  case ROAM_SCHEMA_U32: return (prim_info){"uint32_t", "u32", 1};
  case ROAM_SCHEMA_U64: return (prim_info){"uint64_t", "u64", 1};
  case ROAM_SCHEMA_U128: return (prim_info){"roam_u128", "u128", 1};
  case ROAM_SCHEMA_I8: return (prim_info){"int8_t", "i8", 1};
  case ROAM_SCHEMA_I16: return (prim_info){"int16_t", "i16", 1};
  case ROAM_SCHEMA_I32: return (prim_info){"int32_t", "i32", 1};
  case ROAM_SCHEMA_I64: return (prim_info){"int64_t", "i64", 1};
  case ROAM_SCHEMA_I128: return (prim_info){"roam_u128", "i128", 1};
  case ROAM_SCHEMA_F32: return (prim_info){"float", "f32", 4};
  case ROAM_SCHEMA_F64: return (prim_info){"double", "f64", 8};
  case ROAM_SCHEMA_CHAR: return (prim_info){"uint32_t", "char", 1};
  case ROAM_SCHEMA_STRING: return (prim_info){"roam_str", "string", 1};
  case ROAM_SCHEMA_UNIT: return (prim_info){"roam_unit", "unit", 0};
  default: return (prim_info){"roam_bytes", "bytes", 1}; /* Vec<u8> */
  }
}

/* Reserve <prefix>_<tname> among the file-scope names; fn is the part
 * after the prefix. */
static void name_anon(gen *g, ctype *ct, const char *tname, bool typedef_name) {
  const char *c = scope_take(g, &g->ids, gen_fmt(g, "%s_%s", g->prefix, tname));
  ct->fn = gen_strdup(g, c + strlen(g->prefix) + 1);
  if (typedef_name)
    ct->cname = gen_strdup(g, c);
}

ctype *model_type(gen *g, const roam_schema_type *t) {
  if (t->kind == ROAM_SCHEMA_NAMED)
    return g->decl_types[t->decl->index];
  char *key = key_of(g, t);
  ctype *ct = table_get(g, key);
  if (ct)
    return ct;
  if (t->kind <= ROAM_SCHEMA_UNIT || roam_schema_is_bytes(t)) {
    prim_info pi = prim_of(roam_schema_is_bytes(t) ? ROAM_SCHEMA_VEC : t->kind);
    ct = new_ctype(g, CT_PRIM, key);
    ct->prim = roam_schema_is_bytes(t) ? ROAM_SCHEMA_VEC : t->kind;
    ct->cname = gen_strdup(g, pi.c);
    ct->fn = gen_fmt(g, "p_%s", pi.fn);
    ct->scalar = true;
    ct->views = t->kind == ROAM_SCHEMA_STRING || roam_schema_is_bytes(t);
    ct->minwire = pi.minwire;
    return ct;
  }
  /* children first: their names are part of ours */
  ctype *e1 = NULL, *e2 = NULL, **elems = NULL;
  if (t->kind == ROAM_SCHEMA_TUPLE) {
    elems = zalloc(g, t->count * sizeof *elems);
    for (size_t i = 0; i < t->count; i++)
      elems[i] = model_type(g, t->elems[i]);
  } else {
    e1 = model_type(g, t->elem);
    if (t->elem2)
      e2 = model_type(g, t->elem2);
  }
  /* the table may have gained the key while the children were built
   * (never in practice: a type cannot contain itself anonymously) */
  if ((ct = table_get(g, key)) != NULL)
    return ct;
  switch (t->kind) {
  case ROAM_SCHEMA_VEC:
  case ROAM_SCHEMA_SET:
    ct = new_ctype(g, t->kind == ROAM_SCHEMA_VEC ? CT_VEC : CT_SET, key);
    name_anon(g, ct, gen_fmt(g, "%s_%s", t->kind == ROAM_SCHEMA_VEC ? "vec" : "set", e1->fn + (e1->kind == CT_PRIM ? 2 : 0)), true);
    break;
  case ROAM_SCHEMA_MAP:
    ct = new_ctype(g, CT_MAP, key);
    name_anon(g, ct, gen_fmt(g, "map_%s_%s", e1->fn + (e1->kind == CT_PRIM ? 2 : 0), e2->fn + (e2->kind == CT_PRIM ? 2 : 0)), true);
    ct->entry = gen_strdup(g, scope_take(g, &g->ids, gen_fmt(g, "%s_entry", ct->cname)));
    break;
  case ROAM_SCHEMA_OPTION:
    ct = new_ctype(g, CT_OPT, key);
    name_anon(g, ct, gen_fmt(g, "opt_%s", e1->fn + (e1->kind == CT_PRIM ? 2 : 0)), true);
    break;
  case ROAM_SCHEMA_BOX:
    ct = new_ctype(g, CT_BOX, key);
    name_anon(g, ct, gen_fmt(g, "box_%s", e1->fn + (e1->kind == CT_PRIM ? 2 : 0)), false);
    ct->cname = gen_fmt(g, "%s *", e1->cname);
    break;
  case ROAM_SCHEMA_ARRAY:
    ct = new_ctype(g, CT_ARR, key);
    ct->len = t->len;
    name_anon(g, ct, gen_fmt(g, "arr%llu_%s", (unsigned long long)t->len, e1->fn + (e1->kind == CT_PRIM ? 2 : 0)), true);
    break;
  case ROAM_SCHEMA_TUPLE: {
    ct = new_ctype(g, CT_TUP, key);
    sb b = {0};
    sb_puts(&b, "tup");
    for (size_t i = 0; i < t->count; i++)
      sb_printf(&b, "_%s", elems[i]->fn + (elems[i]->kind == CT_PRIM ? 2 : 0));
    if (b.oom) {
      fprintf(stderr, "roam-gen: out of memory\n");
      exit(1);
    }
    name_anon(g, ct, b.p, true);
    sb_free(&b);
    ct->elems = elems;
    ct->count = t->count;
    break;
  }
  default:
    fprintf(stderr, "roam-gen: internal error: unexpected type %s\n", key);
    exit(1);
  }
  ct->elem = e1;
  ct->elem2 = e2;
  return ct;
}

const char *arg_type(gen *g, const ctype *ct) {
  if (ct->scalar)
    return ct->cname;
  if (ct->kind == CT_BOX)
    return gen_fmt(g, "const %s *", ct->elem->cname);
  return gen_fmt(g, "const %s *", ct->cname);
}

const char *arg_ptr(gen *g, const ctype *ct, const char *param) {
  if (ct->scalar)
    return gen_fmt(g, "&%s", param);
  return gen_strdup(g, param);
}

/* ---- derived properties ---- */

/* Whether any direct part of ct holds views (one step of a fixpoint). */
static bool views_step(const ctype *ct) {
  switch (ct->kind) {
  case CT_PRIM: return ct->views;
  case CT_STRUCT:
    for (size_t i = 0; i < ct->count; i++)
      if (ct->ftypes[i]->views)
        return true;
    return false;
  case CT_CENUM: return false;
  case CT_ENUM:
    for (size_t v = 0; v < ct->decl->nvariants; v++)
      for (size_t i = 0; ct->vtypes[v] && i < ct->decl->variants[v].body.count; i++)
        if (ct->vtypes[v][i]->views)
          return true;
    return false;
  case CT_TUP:
    for (size_t i = 0; i < ct->count; i++)
      if (ct->elems[i]->views)
        return true;
    return false;
  case CT_MAP: return ct->elem->views || ct->elem2->views;
  default: return ct->elem->views;
  }
}

static int minwire_of(ctype *ct) {
  if (ct->minwire >= 0)
    return ct->minwire;
  if (ct->state == 3)
    return 1; /* recursion: Rust needs a finite value, so it has a byte */
  ct->state = 3;
  int m = 1;
  switch (ct->kind) {
  case CT_STRUCT:
    m = 0;
    for (size_t i = 0; i < ct->count; i++)
      if (minwire_of(ct->ftypes[i]) > 0)
        m = 1;
    break;
  case CT_TUP:
    m = 0;
    for (size_t i = 0; i < ct->count; i++)
      if (minwire_of(ct->elems[i]) > 0)
        m = 1;
    break;
  case CT_ARR: m = ct->len == 0 ? 0 : minwire_of(ct->elem); break;
  case CT_BOX: m = minwire_of(ct->elem); break;
  default: m = 1; break;
  }
  ct->state = 0;
  ct->minwire = m > 0 ? 1 : 0;
  return ct->minwire;
}

/* ---- building ---- */

static bool all_unit(const roam_schema_decl *d) {
  if (d->nvariants == 0)
    return false;
  for (size_t v = 0; v < d->nvariants; v++)
    if (d->variants[v].body.shape != ROAM_SCHEMA_SHAPE_UNIT)
      return false;
  return true;
}

/* Member names of a body: Rust names made C-safe, tuple fields _0, _1... */
static char **member_names(gen *g, const roam_schema_body *b, const char *avoid) {
  char **names = zalloc(g, (b->count ? b->count : 1) * sizeof *names);
  scope sc = {0};
  if (avoid)
    scope_take(g, &sc, avoid);
  for (size_t i = 0; i < b->count; i++) {
    const char *want = b->fields[i].name ? c_member(g, b->fields[i].name) : gen_fmt(g, "_%zu", i);
    names[i] = gen_strdup(g, scope_take(g, &sc, want));
  }
  scope_free(&sc);
  return names;
}

#define RS_MAX_C_ARRAY 65536u

int model_build(gen *g) {
  const roam_schema_file *f = g->f;
  g->decl_types = zalloc(g, (f->ndecls ? f->ndecls : 1) * sizeof *g->decl_types);
  /* 1. the names of the declared types, in declaration order */
  for (size_t i = 0; i < f->ndecls; i++) {
    const roam_schema_decl *d = f->decls[i];
    ct_kind kind = d->kind == ROAM_SCHEMA_STRUCT ? CT_STRUCT : all_unit(d) ? CT_CENUM : CT_ENUM;
    ctype *ct = new_ctype(g, kind, d->name);
    ct->decl = d;
    ct->cname = gen_strdup(g, scope_take(g, &g->ids, gen_fmt(g, "%s_%s", g->prefix, snake(g, d->name))));
    ct->fn = gen_strdup(g, ct->cname + strlen(g->prefix) + 1);
    ct->scalar = kind == CT_CENUM;
    g->decl_types[i] = ct;
  }
  for (size_t i = 0; i < f->ndecls; i++) {
    ctype *ct = g->decl_types[i];
    ct->n_encode = scope_take(g, &g->ids, gen_fmt(g, "%s_encode", ct->cname));
    ct->n_decode = scope_take(g, &g->ids, gen_fmt(g, "%s_decode", ct->cname));
    if (ct->kind != CT_STRUCT)
      ct->n_name = scope_take(g, &g->ids, gen_fmt(g, "%s_name", ct->cname));
  }
  /* 2. their members and constants; anonymous types as they come */
  for (size_t i = 0; i < f->ndecls; i++) {
    const roam_schema_decl *d = f->decls[i];
    ctype *ct = g->decl_types[i];
    if (ct->kind == CT_STRUCT) {
      ct->count = d->body.count;
      ct->fields = member_names(g, &d->body, NULL);
      ct->ftypes = zalloc(g, (ct->count ? ct->count : 1) * sizeof *ct->ftypes);
      for (size_t k = 0; k < ct->count; k++)
        ct->ftypes[k] = model_type(g, d->body.fields[k].type);
      continue;
    }
    if (d->nvariants == 0) {
      roam_schema_pos p = d->pos;
      snprintf(g->error, sizeof g->error, "%s:%u:%u: enum `%s` has no variants (no value of it "
               "can exist)", p.file, (unsigned)p.line, (unsigned)p.col, d->name);
      return -1;
    }
    char *up = upper(g, ct->cname);
    ct->vconst = zalloc(g, d->nvariants * sizeof *ct->vconst);
    if (ct->kind == CT_ENUM) {
      ct->tag_type = gen_strdup(g, scope_take(g, &g->ids, gen_fmt(g, "%s_tag", ct->cname)));
      ct->vmember = zalloc(g, d->nvariants * sizeof *ct->vmember);
      ct->vfields = zalloc(g, d->nvariants * sizeof *ct->vfields);
      ct->vtypes = zalloc(g, d->nvariants * sizeof *ct->vtypes);
    }
    scope members = {0};
    scope_take(g, &members, "tag");
    for (size_t v = 0; v < d->nvariants; v++) {
      const roam_schema_variant *var = &d->variants[v];
      char *sn = snake(g, var->name);
      ct->vconst[v] = gen_strdup(g, scope_take(g, &g->macros, gen_fmt(g, "%s_%s", up, upper(g, sn))));
      scope_take(g, &g->ids, ct->vconst[v]); /* enum constants are identifiers too */
      if (ct->kind != CT_ENUM || var->body.shape == ROAM_SCHEMA_SHAPE_UNIT)
        continue;
      ct->vmember[v] = gen_strdup(g, scope_take(g, &members, c_member(g, sn)));
      ct->vfields[v] = member_names(g, &var->body, NULL);
      ct->vtypes[v] = zalloc(g, (var->body.count ? var->body.count : 1) * sizeof(ctype *));
      for (size_t k = 0; k < var->body.count; k++)
        ct->vtypes[v][k] = model_type(g, var->body.fields[k].type);
    }
    scope_free(&members);
  }
  /* 3. services */
  g->services = zalloc(g, (f->nservices ? f->nservices : 1) * sizeof *g->services);
  for (size_t i = 0; i < f->nservices; i++) {
    const roam_schema_service *svc = &f->services[i];
    gservice *gs = &g->services[i];
    gs->s = svc;
    char *sn = snake(g, svc->name);
    gs->prefix = gen_strdup(g, scope_take(g, &g->ids, strcmp(sn, g->prefix) == 0 ? g->prefix : gen_fmt(g, "%s_%s", g->prefix, sn)));
    gs->upper = upper(g, gs->prefix);
    gs->methods = zalloc(g, (svc->nmethods ? svc->nmethods : 1) * sizeof *gs->methods);
    for (size_t j = 0; j < svc->nmethods; j++) {
      const roam_schema_method *m = &svc->methods[j];
      gmethod *gm = &gs->methods[j];
      gm->m = m;
      gm->fn = gen_strdup(g, scope_take(g, &g->ids, gen_fmt(g, "%s_%s", gs->prefix, snake(g, m->name))));
      gm->upper = upper(g, gm->fn);
      size_t n = m->nparams ? m->nparams : 1;
      gm->params = zalloc(g, n * sizeof *gm->params);
      gm->ptypes = zalloc(g, n * sizeof *gm->ptypes);
      gm->chan = zalloc(g, n * sizeof *gm->chan);
      gm->chan_send = zalloc(g, n * sizeof *gm->chan_send);
      gm->chan_elem = zalloc(g, n * sizeof *gm->chan_elem);
      scope ps = {0};
      for (size_t a = 0; a < m->nparams; a++) {
        const roam_schema_type *pt = m->params[a].type;
        gm->params[a] = gen_strdup(g, scope_take(g, &ps, c_member(g, m->params[a].name)));
        gm->chan[a] = -1;
        if (pt->kind == ROAM_SCHEMA_TX || pt->kind == ROAM_SCHEMA_RX) {
          gm->chan[a] = (int)gm->nchan;
          gm->chan_send[gm->nchan] = pt->kind == ROAM_SCHEMA_TX;
          gm->chan_elem[gm->nchan] = model_type(g, pt->elem);
          gm->chan_elem[gm->nchan]->want_v = true;
          gm->nchan++;
        } else {
          gm->ptypes[a] = model_type(g, pt);
        }
      }
      scope_free(&ps);
      if (m->ok) {
        gm->ok = model_type(g, m->ok);
        gm->ok->want_v = true;
      }
      if (m->err) {
        gm->err = model_type(g, m->err);
        gm->err->want_v = true;
      }
    }
  }
  /* 3b. derived names, after every method's own name */
  for (size_t i = 0; i < f->nservices; i++) {
    gservice *gs = &g->services[i];
    const char *P = gs->prefix;
    gs->n_handlers = scope_take(g, &g->ids, gen_fmt(g, "%s_handlers", P));
    gs->n_register = scope_take(g, &g->ids, gen_fmt(g, "%s_register", P));
    gs->n_register_server = scope_take(g, &g->ids, gen_fmt(g, "%s_register_server", P));
    gs->n_register_with = scope_take(g, &g->ids, gen_fmt(g, "%s_register_with", P));
    gs->n_register_names = scope_take(g, &g->ids, gen_fmt(g, "%s_register_names", P));
    gs->n_ids = scope_take(g, &g->ids, gen_fmt(g, "%s_method_ids", P));
    gs->n_names = scope_take(g, &g->ids, gen_fmt(g, "%s_method_names", P));
    gs->m_service = scope_take(g, &g->macros, gen_fmt(g, "%s_SERVICE", gs->upper));
    gs->m_count = scope_take(g, &g->macros, gen_fmt(g, "%s_METHOD_COUNT", gs->upper));
    scope members = {0};
    scope_take(g, &members, "user_data");
    for (size_t j = 0; j < gs->s->nmethods; j++) {
      gmethod *gm = &gs->methods[j];
      const char *F = gm->fn;
      gm->h_member = scope_take(g, &members, c_member(g, gm->m->name));
      gm->m_id = scope_take(g, &g->macros, gen_fmt(g, "%s_ID", gm->upper));
      gm->has_alt = gm->m->id_visited_set != gm->m->id;
      if (gm->has_alt)
        gm->m_id_alt = scope_take(g, &g->macros, gen_fmt(g, "%s_ID_ALT", gm->upper));
      gm->m_name = scope_take(g, &g->macros, gen_fmt(g, "%s_NAME", gm->upper));
      gm->n_req = scope_take(g, &g->ids, gen_fmt(g, "%s_request", F));
      gm->n_reply = scope_take(g, &g->ids, gen_fmt(g, "%s_reply", F));
      if (gm->err)
        gm->n_reply_err = scope_take(g, &g->ids, gen_fmt(g, "%s_reply_err", F));
      gm->n_reply_error = scope_take(g, &g->ids, gen_fmt(g, "%s_reply_error", F));
      gm->n_on_cancel = scope_take(g, &g->ids, gen_fmt(g, "%s_on_cancel", F));
      gm->n_raw = scope_take(g, &g->ids, gen_fmt(g, "%s_raw", F));
      gm->n_arena = scope_take(g, &g->ids, gen_fmt(g, "%s_arena", F));
      if (gm->nchan == 0) {
        gm->n_async = scope_take(g, &g->ids, gen_fmt(g, "%s_async", F));
        gm->n_cb = scope_take(g, &g->ids, gen_fmt(g, "%s_cb", F));
      } else {
        gm->n_call = scope_take(g, &g->ids, gen_fmt(g, "%s_call", F));
        gm->n_start = scope_take(g, &g->ids, gen_fmt(g, "%s_start", F));
        gm->n_finish = scope_take(g, &g->ids, gen_fmt(g, "%s_finish", F));
        gm->n_abort = scope_take(g, &g->ids, gen_fmt(g, "%s_abort", F));
        gm->n_async = scope_take(g, &g->ids, gen_fmt(g, "%s_async", F));
        gm->n_cb = scope_take(g, &g->ids, gen_fmt(g, "%s_cb", F));
      }
      size_t n = gm->m->nparams ? gm->m->nparams : 1;
      gm->n_open = gen_zalloc(g, n * sizeof *gm->n_open);
      gm->n_send = gen_zalloc(g, n * sizeof *gm->n_send);
      gm->n_close = gen_zalloc(g, n * sizeof *gm->n_close);
      for (size_t a = 0; a < gm->m->nparams; a++) {
        int k = gm->chan[a];
        if (k < 0)
          continue;
        ctype *el = gm->chan_elem[k];
        gm->n_open[a] = scope_take(g, &g->ids, gen_fmt(g, "%s_open_%s", F, gm->params[a]));
        gm->n_close[a] = scope_take(g, &g->ids, gen_fmt(g, "%s_close_%s", F, gm->params[a]));
        if (gm->chan_send[k]) { /* handler's Tx: it sends, the caller receives */
          gm->n_send[a] = scope_take(g, &g->ids, gen_fmt(g, "%s_send_%s", F, gm->params[a]));
          el->want_receiver = true;
        } else {
          el->want_sender = true;
          el->want_value_fn = true;
        }
      }
    }
    scope_free(&members);
  }
  for (ctype *ct = g->first; ct; ct = ct->next) {
    const char *base = ct->kind == CT_PRIM ? ct->fn + 2 : ct->fn;
    if (ct->want_sender) {
      ct->sender = scope_take(g, &g->ids, gen_fmt(g, "%s_sender_%s", g->prefix, base));
      ct->sender_send = scope_take(g, &g->ids, gen_fmt(g, "%s_send", ct->sender));
      ct->sender_close = scope_take(g, &g->ids, gen_fmt(g, "%s_close", ct->sender));
    }
    if (ct->want_receiver) {
      ct->receiver = scope_take(g, &g->ids, gen_fmt(g, "%s_receiver_%s", g->prefix, base));
      ct->receiver_recv = scope_take(g, &g->ids, gen_fmt(g, "%s_recv", ct->receiver));
    }
    if (ct->want_value_fn)
      ct->value_fn = scope_take(g, &g->ids, gen_fmt(g, "%s_%s_value_fn", g->prefix, base));
  }
  /* 4. derived properties; arrays C can hold */
  for (bool changed = true; changed;) {
    changed = false;
    for (ctype *ct = g->first; ct; ct = ct->next)
      if (!ct->views && views_step(ct))
        ct->views = changed = true;
  }
  for (ctype *ct = g->first; ct; ct = ct->next) {
    minwire_of(ct);
    if (ct->kind == CT_ARR && ct->len > RS_MAX_C_ARRAY) {
      snprintf(g->error, sizeof g->error, "%s: array type %s is too large for C (at most %u "
               "elements)", g->f->path, ct->key, RS_MAX_C_ARRAY);
      return -1;
    }
  }
  return 0;
}
