/*
 * roam-gen: C types and their postcard codecs.
 *
 * Every Rust type gets internal codec functions
 *   static inline void P__e_<fn>(roam_enc *e, const T *v);
 *   static inline int  P__d_<fn>(roam_dec *d, T *out, roam_arena *a, unsigned depth);
 * that call each other; declared types also get public wrappers
 * (P_x_encode / P_x_decode). Everything is static inline so that the
 * compiler flattens small types and no unused function is left behind.
 */
#include <stdio.h>
#include <string.h>

#include "gen.h"

/* `const T *` for the encoder's argument (a Box is `T *const *`). */
static const char *const_ptr(gen *g, const ctype *ct) {
  if (ct->kind == CT_BOX)
    return gen_fmt(g, "%s *const *", ct->elem->cname);
  return gen_fmt(g, "const %s *", ct->cname);
}

/* ---- definitions (header) ---- */

static void emit_cenum(gen *g, sb *h, const ctype *ct) {
  const roam_schema_decl *d = ct->decl;
  sb_doc(h, d->doc, 0);
  sb_printf(h, "typedef enum %s {\n", ct->cname);
  for (size_t v = 0; v < d->nvariants; v++) {
    sb_doc(h, d->variants[v].doc, 2);
    sb_printf(h, "  %s = %zu,\n", ct->vconst[v], v);
  }
  sb_printf(h, "} %s;\n\n", ct->cname);
  (void)g;
}

static void emit_members(sb *h, const roam_schema_body *b, char **names, ctype **types,
                         int indent) {
  for (size_t i = 0; i < b->count; i++) {
    sb_doc(h, b->fields[i].doc, indent);
    sb_printf(h, "%*s%s %s;\n", indent, "", types[i]->cname, names[i]);
  }
}

static void emit_definition(gen *g, sb *h, ctype *ct);

static void emit_deps(gen *g, sb *h, ctype *ct) {
  switch (ct->kind) {
  case CT_STRUCT:
    for (size_t i = 0; i < ct->count; i++)
      emit_definition(g, h, ct->ftypes[i]);
    break;
  case CT_ENUM:
    for (size_t v = 0; v < ct->decl->nvariants; v++)
      for (size_t i = 0; i < ct->decl->variants[v].body.count; i++)
        emit_definition(g, h, ct->vtypes[v][i]);
    break;
  case CT_OPT:
  case CT_ARR: emit_definition(g, h, ct->elem); break;
  case CT_TUP:
    for (size_t i = 0; i < ct->count; i++)
      emit_definition(g, h, ct->elems[i]);
    break;
  default: break; /* behind a pointer: the forward typedef is enough */
  }
}

static void emit_definition(gen *g, sb *h, ctype *ct) {
  if (ct->state != 0)
    return; /* done, or in progress (a pointer cycle) */
  ct->state = 1;
  emit_deps(g, h, ct);
  ct->state = 2;
  const roam_schema_decl *d = ct->decl;
  switch (ct->kind) {
  case CT_STRUCT:
    sb_doc(h, d->doc, 0);
    sb_printf(h, "struct %s {\n", ct->cname);
    if (ct->count == 0)
      sb_puts(h, "  uint8_t unused_; /* carries nothing: encodes to no bytes */\n");
    emit_members(h, &d->body, ct->fields, ct->ftypes, 2);
    sb_puts(h, "};\n\n");
    break;
  case CT_ENUM: {
    sb_printf(h, "/* Variants of %s. */\ntypedef enum %s {\n", d->name, ct->tag_type);
    for (size_t v = 0; v < d->nvariants; v++)
      sb_printf(h, "  %s = %zu,\n", ct->vconst[v], v);
    sb_printf(h, "} %s;\n\n", ct->tag_type);
    sb_doc(h, d->doc, 0);
    sb_printf(h, "struct %s {\n  %s tag;\n", ct->cname, ct->tag_type);
    bool any = false;
    for (size_t v = 0; v < d->nvariants; v++)
      any = any || (ct->vmember[v] && d->variants[v].body.count > 0);
    if (any) {
      sb_puts(h, "  union {\n");
      for (size_t v = 0; v < d->nvariants; v++) {
        const roam_schema_variant *var = &d->variants[v];
        if (ct->vmember[v] == NULL || var->body.count == 0)
          continue;
        sb_doc(h, var->doc, 4);
        if (var->body.shape == ROAM_SCHEMA_SHAPE_TUPLE && var->body.count == 1) {
          sb_printf(h, "    %s %s;\n", ct->vtypes[v][0]->cname, ct->vmember[v]);
        } else {
          sb_puts(h, "    struct {\n");
          emit_members(h, &var->body, ct->vfields[v], ct->vtypes[v], 6);
          sb_printf(h, "    } %s;\n", ct->vmember[v]);
        }
      }
      sb_puts(h, "  };\n");
    }
    sb_puts(h, "};\n\n");
    break;
  }
  case CT_VEC:
  case CT_SET:
    sb_printf(h, "/* %s */\nstruct %s {\n  %s *items;\n  size_t len;\n};\n\n", ct->key, ct->cname,
              ct->elem->cname);
    break;
  case CT_MAP:
    sb_printf(h, "/* %s: entries in wire order */\nstruct %s {\n  %s *items;\n  size_t len;\n};\n\n",
              ct->key, ct->cname, ct->entry);
    break;
  case CT_OPT:
    sb_printf(h, "/* %s */\nstruct %s {\n  bool is_some;\n  %s value;\n};\n\n", ct->key, ct->cname,
              ct->elem->cname);
    break;
  case CT_ARR:
    if (ct->len == 0)
      sb_printf(h, "/* %s */\nstruct %s {\n  uint8_t unused_;\n};\n\n", ct->key, ct->cname);
    else
      sb_printf(h, "/* %s */\nstruct %s {\n  %s items[%llu];\n};\n\n", ct->key, ct->cname,
                ct->elem->cname, (unsigned long long)ct->len);
    break;
  case CT_TUP:
    sb_printf(h, "/* %s */\nstruct %s {\n", ct->key, ct->cname);
    for (size_t i = 0; i < ct->count; i++)
      sb_printf(h, "  %s _%zu;\n", ct->elems[i]->cname, i);
    sb_puts(h, "};\n\n");
    break;
  default: break;
  }
}

static bool is_struct_type(const ctype *ct) {
  return ct->kind == CT_STRUCT || ct->kind == CT_ENUM || ct->kind == CT_VEC ||
         ct->kind == CT_SET || ct->kind == CT_MAP || ct->kind == CT_OPT || ct->kind == CT_ARR ||
         ct->kind == CT_TUP;
}

void emit_header(gen *g, sb *h) {
  sb_puts(h, "/* ---- types ---- */\n\n");
  for (ctype *ct = g->first; ct; ct = ct->next)
    if (ct->kind == CT_CENUM)
      emit_cenum(g, h, ct);
  for (ctype *ct = g->first; ct; ct = ct->next) {
    if (is_struct_type(ct))
      sb_printf(h, "typedef struct %s %s;\n", ct->cname, ct->cname);
    if (ct->kind == CT_MAP)
      sb_printf(h, "typedef struct %s %s;\n", ct->entry, ct->entry);
  }
  sb_puts(h, "\n");
  for (ctype *ct = g->first; ct; ct = ct->next)
    emit_definition(g, h, ct);
  for (ctype *ct = g->first; ct; ct = ct->next)
    if (ct->kind == CT_MAP)
      sb_printf(h, "struct %s {\n  %s key;\n  %s value;\n};\n\n", ct->entry, ct->elem->cname,
                ct->elem2->cname);
  /* channel handles of the client side (runtime) */
  sb_puts(h, "#ifndef ROAM_GEN_SESSION_ONLY\n");
  for (ctype *ct = g->first; ct; ct = ct->next) {
    if (ct->sender)
      sb_printf(h,
                "/* Sends %s values on a call's channel (blocking; see %s). */\n"
                "typedef struct %s {\n  roam_chan *chan;\n} %s;\n"
                "/* 0, ROAM_ERR_TIMEOUT, ROAM_ERR_CLOSED (the channel ended). */\n"
                "int %s(%s *s, %s value, uint64_t timeout_ms);\n"
                "/* No more values (Close). */\nint %s(%s *s);\n\n",
                ct->key, "docs/roam-gen.md", ct->sender, ct->sender, ct->sender_send, ct->sender,
                arg_type(g, ct), ct->sender_close, ct->sender);
    if (ct->receiver)
      sb_printf(h,
                "/* Receives %s values from a call's channel (blocking). */\n"
                "typedef struct %s {\n  roam_chan *chan;\n} %s;\n"
                "/* 1 with *out decoded into a, 0 at the end of the stream, or an error\n"
                " * (ROAM_ERR_TIMEOUT, ROAM_ERR_CANCELLED: reset, ROAM_ERR_CLOSED,\n"
                " * ROAM_ERR_DECODE: a value that is not a %s). */\n"
                "int %s(%s *r, %s *out, roam_arena *a, uint64_t timeout_ms);\n\n",
                ct->key, ct->receiver, ct->receiver, ct->key, ct->receiver_recv, ct->receiver,
                ct->cname);
  }
  sb_puts(h, "#endif /* ROAM_GEN_SESSION_ONLY */\n\n");
  for (ctype *ct = g->first; ct; ct = ct->next) {
    if (ct->value_fn)
      sb_printf(h,
                "/* A server-side receiver's callback: one %s value (valid during the\n"
                " * call). Return 0, or non-zero to end the link (Goodbye). */\n"
                "typedef int (*%s)(%s value, void *ud);\n\n",
                ct->key, ct->value_fn, arg_type(g, ct));
  }
  sb_puts(h, "/* ---- codecs ---- */\n\n");
  for (size_t i = 0; i < g->f->ndecls; i++) {
    ctype *ct = g->decl_types[i];
    sb_printf(h,
              "/* %s: append one value (returns roam_enc_error(e)); read one value, with\n"
              " * every allocation from a (0 or a negative roam_error). */\n"
              "int %s(roam_enc *e, const %s *v);\n"
              "int %s(roam_dec *d, %s *out, roam_arena *a);\n",
              ct->decl->name, ct->n_encode, ct->cname, ct->n_decode, ct->cname);
    if (ct->kind == CT_CENUM)
      sb_printf(h, "/* The Rust name of a variant (\"?\" if out of range). */\n"
                   "const char *%s(%s v);\n", ct->n_name, ct->cname);
    else if (ct->kind == CT_ENUM)
      sb_printf(h, "/* The Rust name of a variant (\"?\" if out of range). */\n"
                   "const char *%s(%s tag);\n", ct->n_name, ct->tag_type);
    sb_puts(h, "\n");
  }
}

/* ---- codecs (source) ---- */

static const char *prim_enc(roam_schema_kind k) {
  switch (k) {
  case ROAM_SCHEMA_BOOL: return "roam_enc_bool(e, *v);";
  case ROAM_SCHEMA_U8: return "roam_enc_u8(e, *v);";
  case ROAM_SCHEMA_U16: return "roam_enc_u16(e, *v);";
  case ROAM_SCHEMA_U32: return "roam_enc_u32(e, *v);";
  case ROAM_SCHEMA_U64: return "roam_enc_u64(e, *v);";
  case ROAM_SCHEMA_U128: return "roam_enc_u128(e, *v);";
  case ROAM_SCHEMA_I8: return "roam_enc_i8(e, *v);";
  case ROAM_SCHEMA_I16: return "roam_enc_i16(e, *v);";
  case ROAM_SCHEMA_I32: return "roam_enc_i32(e, *v);";
  case ROAM_SCHEMA_I64: return "roam_enc_i64(e, *v);";
  case ROAM_SCHEMA_I128: return "roam_enc_i128(e, *v);";
  case ROAM_SCHEMA_F32: return "roam_enc_f32(e, *v);";
  case ROAM_SCHEMA_F64: return "roam_enc_f64(e, *v);";
  case ROAM_SCHEMA_CHAR: return "roam_enc_char(e, *v);";
  case ROAM_SCHEMA_STRING: return "roam_enc_str(e, v->ptr, v->len);";
  case ROAM_SCHEMA_UNIT: return "(void)e;\n  (void)v;";
  default: return "roam_enc_bytes(e, v->ptr, v->len);";
  }
}

static const char *prim_dec(roam_schema_kind k) {
  switch (k) {
  case ROAM_SCHEMA_BOOL: return "return roam_dec_bool(d, out);";
  case ROAM_SCHEMA_U8: return "return roam_dec_u8(d, out);";
  case ROAM_SCHEMA_U16: return "return roam_dec_u16(d, out);";
  case ROAM_SCHEMA_U32: return "return roam_dec_u32(d, out);";
  case ROAM_SCHEMA_U64: return "return roam_dec_u64(d, out);";
  case ROAM_SCHEMA_U128: return "return roam_dec_u128(d, out);";
  case ROAM_SCHEMA_I8: return "return roam_dec_i8(d, out);";
  case ROAM_SCHEMA_I16: return "return roam_dec_i16(d, out);";
  case ROAM_SCHEMA_I32: return "return roam_dec_i32(d, out);";
  case ROAM_SCHEMA_I64: return "return roam_dec_i64(d, out);";
  case ROAM_SCHEMA_I128: return "return roam_dec_i128(d, out);";
  case ROAM_SCHEMA_F32: return "return roam_dec_f32(d, out);";
  case ROAM_SCHEMA_F64: return "return roam_dec_f64(d, out);";
  case ROAM_SCHEMA_CHAR: return "return roam_dec_char(d, out);";
  case ROAM_SCHEMA_STRING:
    return "roam_bytes s;\n  int rc = roam_dec_str(d, &s);\n"
           "  out->ptr = (const char *)s.ptr;\n  out->len = s.len;\n  return rc;";
  case ROAM_SCHEMA_UNIT: return "(void)d;\n  out->unused = 0;\n  return 0;";
  default: return "return roam_dec_bytes(d, out);";
  }
}

static void proto(gen *g, sb *c, const ctype *ct, bool body) {
  sb_printf(c, "static inline ROAM_GEN_UNUSED void %s__e_%s(roam_enc *e, %sv)%s\n", g->prefix, ct->fn,
            const_ptr(g, ct), body ? " {" : ";");
}

static void dproto(gen *g, sb *c, const ctype *ct, bool body) {
  sb_printf(c, "static inline ROAM_GEN_UNUSED int %s__d_%s(roam_dec *d, %s *out, roam_arena *a, unsigned depth)%s\n",
            g->prefix, ct->fn, ct->cname, body ? " {" : ";");
}

/* "P__e_x(e, EXPR);" */
static void enc_call(gen *g, sb *c, const ctype *ct, const char *expr, int indent) {
  sb_printf(c, "%*s%s__e_%s(e, %s);\n", indent, "", g->prefix, ct->fn, expr);
}

static void dec_call(gen *g, sb *c, const ctype *ct, const char *expr, int indent) {
  sb_printf(c, "%*sif ((rc = %s__d_%s(d, %s, a, depth + 1)) != 0)\n%*sreturn rc;\n", indent, "",
            g->prefix, ct->fn, expr, indent + 2, "");
}

/* ---- the fast path: types of bounded size are written straight into the
 * encoder's buffer when it has room for the largest encoding ---- */

#define MAX_DIRECT 256 /* larger bounded types take the general path */

static int varint_len(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static int add_max(int a, int b) { return a < 0 || b < 0 || a + b > MAX_DIRECT ? -1 : a + b; }

/* Largest encoding of ct in bytes, or -1 when unbounded (or too large). */
static int maxwire(ctype *ct) {
  if (ct->maxw != -2)
    return ct->maxw;
  ct->maxw = -1; /* recursion: unbounded */
  int m = -1;
  switch (ct->kind) {
  case CT_PRIM:
    switch (ct->prim) {
    case ROAM_SCHEMA_BOOL:
    case ROAM_SCHEMA_U8:
    case ROAM_SCHEMA_I8: m = 1; break;
    case ROAM_SCHEMA_U16:
    case ROAM_SCHEMA_I16: m = 3; break;
    case ROAM_SCHEMA_U32:
    case ROAM_SCHEMA_I32: m = 5; break;
    case ROAM_SCHEMA_U64:
    case ROAM_SCHEMA_I64: m = 10; break;
    case ROAM_SCHEMA_F32: m = 4; break;
    case ROAM_SCHEMA_F64: m = 8; break;
    case ROAM_SCHEMA_UNIT: m = 0; break;
    default: m = -1; /* strings, bytes, char and 128-bit integers: the library */
    }
    break;
  case CT_CENUM: m = varint_len(ct->decl->nvariants - 1); break;
  case CT_STRUCT:
    m = 0;
    for (size_t i = 0; i < ct->count; i++)
      m = add_max(m, maxwire(ct->ftypes[i]));
    break;
  case CT_ENUM: {
    int best = 0;
    for (size_t v = 0; v < ct->decl->nvariants && best >= 0; v++) {
      int pm = 0;
      for (size_t i = 0; ct->vmember[v] && i < ct->decl->variants[v].body.count; i++)
        pm = add_max(pm, maxwire(ct->vtypes[v][i]));
      best = pm < 0 ? -1 : pm > best ? pm : best;
    }
    m = add_max(varint_len(ct->decl->nvariants - 1), best);
    break;
  }
  case CT_OPT: m = add_max(1, maxwire(ct->elem)); break;
  case CT_TUP:
    m = 0;
    for (size_t i = 0; i < ct->count; i++)
      m = add_max(m, maxwire(ct->elems[i]));
    break;
  case CT_ARR: {
    int e = maxwire(ct->elem);
    m = e < 0 ? -1 : ct->len == 0 ? 0 : (uint64_t)e * ct->len > MAX_DIRECT ? -1 : (int)(e * ct->len);
    break;
  }
  default: m = -1; /* Vec, sets, maps, Box */
  }
  ct->maxw = m;
  return m;
}

/* One statement writing a bounded value at p: "p = ...;" (NULL: invalid). */
static void put_call(gen *g, sb *c, const ctype *ct, const char *expr, int indent) {
  if (ct->kind != CT_PRIM) {
    sb_printf(c, "%*sif ((p = %s__w_%s(p, %s)) == NULL)\n%*sreturn NULL;\n", indent, "", g->prefix,
              ct->fn, expr, indent + 2, "");
    return;
  }
  const char *P = g->prefix;
  switch (ct->prim) {
  case ROAM_SCHEMA_BOOL: sb_printf(c, "%*s*p++ = *(%s) ? 1 : 0;\n", indent, "", expr); break;
  case ROAM_SCHEMA_U8:
  case ROAM_SCHEMA_I8: sb_printf(c, "%*s*p++ = (uint8_t)*(%s);\n", indent, "", expr); break;
  case ROAM_SCHEMA_U16:
  case ROAM_SCHEMA_U32:
  case ROAM_SCHEMA_U64: sb_printf(c, "%*sp = %s__put_varint(p, *(%s));\n", indent, "", P, expr); break;
  case ROAM_SCHEMA_I16:
  case ROAM_SCHEMA_I32:
  case ROAM_SCHEMA_I64:
    sb_printf(c, "%*sp = %s__put_varint(p, %s__zigzag(*(%s)));\n", indent, "", P, P, expr);
    break;
  case ROAM_SCHEMA_F32:
    sb_printf(c, "%*sp = %s__put_f32(p, *(%s));\n", indent, "", P, expr);
    break;
  case ROAM_SCHEMA_F64:
    sb_printf(c, "%*sp = %s__put_f64(p, *(%s));\n", indent, "", P, expr);
    break;
  default: sb_printf(c, "%*s(void)(%s);\n", indent, "", expr); break; /* () */
  }
}

/* uint8_t *P__w_<fn>(uint8_t *p, const T *v): for bounded non-primitive types. */
static void emit_writer(gen *g, sb *c, ctype *ct) {
  const roam_schema_decl *d = ct->decl;
  sb_printf(c, "static inline ROAM_GEN_UNUSED uint8_t *%s__w_%s(uint8_t *p, %sv) {\n", g->prefix,
            ct->fn, const_ptr(g, ct));
  switch (ct->kind) {
  case CT_STRUCT:
    if (ct->count == 0)
      sb_puts(c, "  (void)v;\n");
    for (size_t i = 0; i < ct->count; i++)
      put_call(g, c, ct->ftypes[i], gen_fmt(g, "&v->%s", ct->fields[i]), 2);
    break;
  case CT_CENUM:
    sb_printf(c, "  if ((unsigned)*v >= %zuu)\n    return NULL;\n"
                 "  return %s__put_varint(p, (uint64_t)*v);\n}\n\n",
              d->nvariants, g->prefix);
    return;
  case CT_ENUM:
    sb_puts(c, "  switch (v->tag) {\n");
    for (size_t v = 0; v < d->nvariants; v++) {
      const roam_schema_body *b = &d->variants[v].body;
      sb_printf(c, "  case %s:\n    p = %s__put_varint(p, %zuu);\n", ct->vconst[v], g->prefix, v);
      for (size_t i = 0; ct->vmember[v] && i < b->count; i++) {
        const char *expr = b->shape == ROAM_SCHEMA_SHAPE_TUPLE && b->count == 1
                               ? gen_fmt(g, "&v->%s", ct->vmember[v])
                               : gen_fmt(g, "&v->%s.%s", ct->vmember[v], ct->vfields[v][i]);
        put_call(g, c, ct->vtypes[v][i], expr, 4);
      }
      sb_puts(c, "    return p;\n");
    }
    sb_puts(c, "  default:\n    return NULL;\n  }\n}\n\n");
    return;
  case CT_OPT:
    sb_puts(c, "  if (!v->is_some) {\n    *p++ = 0;\n    return p;\n  }\n  *p++ = 1;\n");
    put_call(g, c, ct->elem, "&v->value", 2);
    break;
  case CT_TUP:
    for (size_t i = 0; i < ct->count; i++)
      put_call(g, c, ct->elems[i], gen_fmt(g, "&v->_%zu", i), 2);
    break;
  case CT_ARR:
    if (ct->len == 0) {
      sb_puts(c, "  (void)v;\n");
    } else {
      sb_printf(c, "  for (size_t i = 0; i < %lluu; i++) {\n", (unsigned long long)ct->len);
      put_call(g, c, ct->elem, "&v->items[i]", 4);
      sb_puts(c, "  }\n");
    }
    break;
  default: break;
  }
  sb_puts(c, "  return p;\n}\n\n");
}

/* At the top of a bounded type's encoder: write directly when there is room. */
static void fast_path(gen *g, sb *c, ctype *ct) {
  int m = maxwire(ct);
  if (ct->kind == CT_PRIM || m <= 0) /* m 0: nothing to write anyway */
    return;
  sb_printf(c, "  if (!roam_enc_error(e) && e->cap - e->len >= %du) { /* room for the largest */\n"
               "    uint8_t *s = e->buf + e->len, *p = %s__w_%s(s, v);\n"
               "    if (p)\n      roam_enc_commit(e, (size_t)(p - s));\n"
               "    else\n      roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n    return;\n  }\n",
            m, g->prefix, ct->fn);
}

/* A sequence of bounded elements: every element written directly when the
 * buffer has room for all of them at their largest. */
static void fast_seq(gen *g, sb *c, ctype *ct) {
  int m = ct->kind == CT_MAP ? -1 : maxwire(ct->elem);
  if (m <= 0)
    return;
  sb_printf(c, "  if (!roam_enc_error(e) && v->len <= (SIZE_MAX - 10u) / %du &&\n"
               "      e->cap - e->len >= 10u + v->len * %du) {\n"
               "    uint8_t *s = e->buf + e->len, *p = %s__put_varint(s, v->len);\n"
               "    for (size_t i = 0; i < v->len && p; i++)\n",
            m, m, g->prefix);
  if (ct->elem->kind == CT_PRIM) {
    sb_puts(c, "    {\n");
    put_call(g, c, ct->elem, "&v->items[i]", 6);
    sb_puts(c, "    }\n");
  } else {
    sb_printf(c, "      p = %s__w_%s(p, &v->items[i]);\n", g->prefix, ct->elem->fn);
  }
  sb_puts(c, "    if (p)\n      roam_enc_commit(e, (size_t)(p - s));\n"
             "    else\n      roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n    return;\n  }\n");
}

static void emit_enc(gen *g, sb *c, ctype *ct) {
  const roam_schema_decl *d = ct->decl;
  proto(g, c, ct, true);
  fast_path(g, c, ct);
  switch (ct->kind) {
  case CT_PRIM: sb_printf(c, "  %s\n", prim_enc(ct->prim)); break;
  case CT_STRUCT:
    if (ct->count == 0)
      sb_puts(c, "  (void)e;\n  (void)v;\n");
    for (size_t i = 0; i < ct->count; i++)
      enc_call(g, c, ct->ftypes[i], gen_fmt(g, "&v->%s", ct->fields[i]), 2);
    break;
  case CT_CENUM:
    sb_printf(c, "  if ((unsigned)*v >= %zuu)\n    roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n"
                 "  else\n    roam_enc_variant(e, (uint32_t)*v);\n", d->nvariants);
    break;
  case CT_ENUM:
    sb_puts(c, "  switch (v->tag) {\n");
    for (size_t v = 0; v < d->nvariants; v++) {
      const roam_schema_body *b = &d->variants[v].body;
      sb_printf(c, "  case %s:\n    roam_enc_variant(e, %zuu);\n", ct->vconst[v], v);
      for (size_t i = 0; ct->vmember[v] && i < b->count; i++) {
        const char *expr = b->shape == ROAM_SCHEMA_SHAPE_TUPLE && b->count == 1
                               ? gen_fmt(g, "&v->%s", ct->vmember[v])
                               : gen_fmt(g, "&v->%s.%s", ct->vmember[v], ct->vfields[v][i]);
        enc_call(g, c, ct->vtypes[v][i], expr, 4);
      }
      sb_puts(c, "    break;\n");
    }
    sb_puts(c, "  default:\n    roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n  }\n");
    break;
  case CT_VEC:
  case CT_SET:
  case CT_MAP:
    sb_puts(c, "  if (v->len && v->items == NULL) {\n    roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n"
               "    return;\n  }\n");
    fast_seq(g, c, ct);
    sb_puts(c, "  roam_enc_len(e, v->len);\n  for (size_t i = 0; i < v->len; i++) {\n");
    if (ct->kind == CT_MAP) {
      enc_call(g, c, ct->elem, "&v->items[i].key", 4);
      enc_call(g, c, ct->elem2, "&v->items[i].value", 4);
    } else {
      enc_call(g, c, ct->elem, "&v->items[i]", 4);
    }
    sb_puts(c, "  }\n");
    break;
  case CT_OPT:
    sb_puts(c, "  if (!v->is_some) {\n    roam_enc_none(e);\n    return;\n  }\n  roam_enc_some(e);\n");
    enc_call(g, c, ct->elem, "&v->value", 2);
    break;
  case CT_ARR:
    if (ct->len == 0) {
      sb_puts(c, "  (void)e;\n  (void)v;\n");
    } else {
      sb_printf(c, "  for (size_t i = 0; i < %lluu; i++) {\n", (unsigned long long)ct->len);
      enc_call(g, c, ct->elem, "&v->items[i]", 4);
      sb_puts(c, "  }\n");
    }
    break;
  case CT_TUP:
    for (size_t i = 0; i < ct->count; i++)
      enc_call(g, c, ct->elems[i], gen_fmt(g, "&v->_%zu", i), 2);
    break;
  case CT_BOX:
    sb_puts(c, "  if (*v == NULL) {\n    roam_gen_enc_fail(e, ROAM_ERR_INVALID_ARG);\n    return;\n  }\n");
    enc_call(g, c, ct->elem, "*v", 2);
    break;
  }
  sb_puts(c, "}\n\n");
}

static void emit_dec(gen *g, sb *c, ctype *ct) {
  const roam_schema_decl *d = ct->decl;
  dproto(g, c, ct, true);
  switch (ct->kind) {
  case CT_PRIM:
    sb_printf(c, "  (void)a;\n  (void)depth;\n  %s\n", prim_dec(ct->prim));
    break;
  case CT_STRUCT:
    sb_puts(c, "  int rc = 0;\n  (void)a;\n  if (depth > ROAM_GEN_MAX_DEPTH)\n    return ROAM_ERR_LIMIT;\n");
    if (ct->count == 0)
      sb_puts(c, "  (void)d;\n  out->unused_ = 0;\n");
    for (size_t i = 0; i < ct->count; i++)
      dec_call(g, c, ct->ftypes[i], gen_fmt(g, "&out->%s", ct->fields[i]), 2);
    sb_puts(c, "  return rc;\n");
    break;
  case CT_CENUM:
    sb_printf(c, "  uint32_t i;\n  int rc = roam_dec_variant(d, &i);\n  (void)a;\n  (void)depth;\n"
                 "  if (rc == 0 && i >= %zuu)\n    rc = ROAM_ERR_DECODE;\n"
                 "  *out = rc == 0 ? (%s)i : (%s)0;\n  return rc;\n",
              d->nvariants, ct->cname, ct->cname);
    break;
  case CT_ENUM:
    sb_puts(c, "  uint32_t i;\n  int rc;\n  (void)a;\n  if (depth > ROAM_GEN_MAX_DEPTH)\n"
               "    return ROAM_ERR_LIMIT;\n  if ((rc = roam_dec_variant(d, &i)) != 0)\n"
               "    return rc;\n  switch (i) {\n");
    for (size_t v = 0; v < d->nvariants; v++) {
      const roam_schema_body *b = &d->variants[v].body;
      sb_printf(c, "  case %zuu:\n    out->tag = %s;\n", v, ct->vconst[v]);
      for (size_t i = 0; ct->vmember[v] && i < b->count; i++) {
        const char *expr = b->shape == ROAM_SCHEMA_SHAPE_TUPLE && b->count == 1
                               ? gen_fmt(g, "&out->%s", ct->vmember[v])
                               : gen_fmt(g, "&out->%s.%s", ct->vmember[v], ct->vfields[v][i]);
        dec_call(g, c, ct->vtypes[v][i], expr, 4);
      }
      sb_puts(c, "    return 0;\n");
    }
    sb_puts(c, "  default:\n    return ROAM_ERR_DECODE;\n  }\n");
    break;
  case CT_VEC:
  case CT_SET:
  case CT_MAP: {
    bool empty = ct->kind == CT_MAP ? ct->elem->minwire == 0 && ct->elem2->minwire == 0
                                    : ct->elem->minwire == 0;
    sb_printf(c, "  size_t n;\n  int rc = %s(d, &n);\n  out->items = NULL;\n  out->len = 0;\n"
                 "  if (rc != 0)\n    return rc;\n"
                 "  out->items = roam_arena_alloc_array(a, n, sizeof *out->items, &rc);\n"
                 "  if (out->items == NULL)\n    return rc;\n  out->len = n;\n"
                 "  for (size_t i = 0; i < n; i++) {\n",
              empty ? "roam_gen_dec_len_empty" : "roam_dec_len");
    if (ct->kind == CT_MAP) {
      dec_call(g, c, ct->elem, "&out->items[i].key", 4);
      dec_call(g, c, ct->elem2, "&out->items[i].value", 4);
    } else {
      dec_call(g, c, ct->elem, "&out->items[i]", 4);
    }
    sb_puts(c, "  }\n  return 0;\n");
    break;
  }
  case CT_OPT:
    sb_puts(c, "  bool some = false;\n  int rc = roam_dec_option(d, &some);\n"
               "  memset(out, 0, sizeof *out);\n  if (rc != 0 || !some)\n    return rc;\n"
               "  out->is_some = true;\n");
    dec_call(g, c, ct->elem, "&out->value", 2);
    sb_puts(c, "  return 0;\n");
    break;
  case CT_ARR:
    if (ct->len == 0) {
      sb_puts(c, "  (void)d;\n  (void)a;\n  (void)depth;\n  out->unused_ = 0;\n  return 0;\n");
    } else {
      sb_printf(c, "  int rc;\n  for (size_t i = 0; i < %lluu; i++) {\n", (unsigned long long)ct->len);
      dec_call(g, c, ct->elem, "&out->items[i]", 4);
      sb_puts(c, "  }\n  return 0;\n");
    }
    break;
  case CT_TUP:
    sb_puts(c, "  int rc;\n");
    for (size_t i = 0; i < ct->count; i++)
      dec_call(g, c, ct->elems[i], gen_fmt(g, "&out->_%zu", i), 2);
    sb_puts(c, "  return 0;\n");
    break;
  case CT_BOX:
    sb_printf(c, "  int rc = 0;\n  %s *p = roam_arena_alloc_array(a, 1, sizeof *p, &rc);\n"
                 "  *out = p;\n  if (p == NULL)\n    return rc;\n"
                 "  return %s__d_%s(d, p, a, depth + 1);\n",
              ct->elem->cname, g->prefix, ct->elem->fn);
    break;
  }
  sb_puts(c, "}\n\n");
}

void emit_source(gen *g, sb *c) {
  const char *P = g->prefix;
  sb_printf(c,
            "/* ---- direct writers (bounded types, when the buffer has room) ---- */\n\n"
            "static inline ROAM_GEN_UNUSED uint8_t *%s__put_varint(uint8_t *p, uint64_t v) {\n"
            "  while (v >= 0x80) {\n    *p++ = (uint8_t)(v | 0x80);\n    v >>= 7;\n  }\n"
            "  *p++ = (uint8_t)v;\n  return p;\n}\n\n"
            "static inline ROAM_GEN_UNUSED uint64_t %s__zigzag(int64_t v) {\n"
            "  return v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1;\n}\n\n"
            "static inline ROAM_GEN_UNUSED uint8_t *%s__put_f32(uint8_t *p, float f) {\n"
            "  uint32_t u;\n  memcpy(&u, &f, 4);\n"
            "  for (int i = 0; i < 4; i++)\n    p[i] = (uint8_t)(u >> (8 * i));\n  return p + 4;\n}\n\n"
            "static inline ROAM_GEN_UNUSED uint8_t *%s__put_f64(uint8_t *p, double f) {\n"
            "  uint64_t u;\n  memcpy(&u, &f, 8);\n"
            "  for (int i = 0; i < 8; i++)\n    p[i] = (uint8_t)(u >> (8 * i));\n  return p + 8;\n}\n\n",
            P, P, P, P);
  for (ctype *ct = g->first; ct; ct = ct->next)
    if (ct->kind != CT_PRIM && maxwire(ct) >= 0)
      sb_printf(c, "static inline ROAM_GEN_UNUSED uint8_t *%s__w_%s(uint8_t *p, %sv);\n", P, ct->fn,
                const_ptr(g, ct));
  for (ctype *ct = g->first; ct; ct = ct->next)
    if (ct->kind != CT_PRIM && maxwire(ct) >= 0)
      emit_writer(g, c, ct);
  sb_puts(c, "/* ---- codecs ---- */\n\n");
  for (ctype *ct = g->first; ct; ct = ct->next) {
    proto(g, c, ct, false);
    dproto(g, c, ct, false);
  }
  sb_puts(c, "\n");
  for (ctype *ct = g->first; ct; ct = ct->next) {
    emit_enc(g, c, ct);
    emit_dec(g, c, ct);
    if (ct->want_v)
      sb_printf(c,
                "static inline ROAM_GEN_UNUSED int %s__ve_%s(roam_enc *e, const void *v) {\n"
                "  %s__e_%s(e, (%s)v);\n  return roam_enc_error(e);\n}\n\n"
                "static inline ROAM_GEN_UNUSED int %s__vd_%s(roam_dec *d, void *out, roam_arena *a) {\n"
                "  return %s__d_%s(d, (%s *)out, a, 0);\n}\n\n",
                g->prefix, ct->fn, g->prefix, ct->fn, const_ptr(g, ct), g->prefix, ct->fn,
                g->prefix, ct->fn, ct->cname);
  }
  for (size_t i = 0; i < g->f->ndecls; i++) {
    ctype *ct = g->decl_types[i];
    const roam_schema_decl *d = ct->decl;
    sb_printf(c,
              "int %s(roam_enc *e, const %s *v) {\n  %s__e_%s(e, v);\n  return roam_enc_error(e);\n}\n\n"
              "int %s(roam_dec *d, %s *out, roam_arena *a) {\n  return %s__d_%s(d, out, a, 0);\n}\n\n",
              ct->n_encode, ct->cname, g->prefix, ct->fn, ct->n_decode, ct->cname, g->prefix,
              ct->fn);
    if (ct->kind == CT_STRUCT)
      continue;
    sb_printf(c, "const char *%s(%s v) {\n  switch (v) {\n", ct->n_name,
              ct->kind == CT_CENUM ? ct->cname : ct->tag_type);
    for (size_t v = 0; v < d->nvariants; v++)
      sb_printf(c, "  case %s:\n    return \"%s\";\n", ct->vconst[v], d->variants[v].name);
    sb_puts(c, "  }\n  return \"?\";\n}\n\n");
  }
  /* client-side channel handles */
  sb_puts(c, "#ifndef ROAM_GEN_SESSION_ONLY\n");
  for (ctype *ct = g->first; ct; ct = ct->next) {
    if (ct->sender)
      sb_printf(c,
                "int %s(%s *s, %s value, uint64_t timeout_ms) {\n"
                "  return roam_gen_chan_send(s->chan, %s__ve_%s, %s, timeout_ms);\n}\n\n"
                "int %s(%s *s) {\n  return roam_chan_close(s->chan);\n}\n\n",
                ct->sender_send, ct->sender, arg_type(g, ct), g->prefix, ct->fn,
                ct->scalar ? "&value" : ct->kind == CT_BOX ? "&value" : "value", ct->sender_close,
                ct->sender);
    if (ct->receiver) {
      sb_printf(c,
                "int %s(%s *r, %s *out, roam_arena *a, uint64_t timeout_ms) {\n"
                "  roam_bytes v;\n  int rc = roam_chan_recv(r->chan, &v, timeout_ms);\n"
                "  if (rc != 1)\n    return rc;\n",
                ct->receiver_recv, ct->receiver, ct->cname);
      if (ct->views) /* the view is only valid until the next recv */
        sb_puts(c, "  if (v.len) {\n    v.ptr = roam_arena_copy(a, v.ptr, v.len);\n"
                   "    if (v.ptr == NULL)\n      return ROAM_ERR_NOMEM;\n  }\n");
      sb_printf(c,
                "  roam_dec d;\n  roam_dec_init(&d, v.ptr, v.len);\n"
                "  rc = %s__vd_%s(&d, out, a);\n  if (rc == 0)\n    rc = roam_dec_finish(&d);\n"
                "  return rc == 0 ? 1 : ROAM_ERR_DECODE;\n}\n\n",
                g->prefix, ct->fn);
    }
  }
  sb_puts(c, "#endif /* ROAM_GEN_SESSION_ONLY */\n\n");
}
