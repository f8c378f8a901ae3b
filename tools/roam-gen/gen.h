/*
 * roam-gen internals: the C model of a definition (names, C types in
 * definition order) and the emitters of NAME.h / NAME.c. docs/roam-gen.md
 * describes the output; the naming rules are in names.c.
 */
#ifndef ROAM_GEN_TOOL_H
#define ROAM_GEN_TOOL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "schema.h"

/* Write DIR/STEM.h and DIR/STEM.c for one parsed file. 0 or -1 (message on
 * stderr, as file:line:column: message where it concerns the input). */
int roam_gen_write(const roam_schema_file *f, const char *outdir);

/* ---- text output ---- */
typedef struct sb {
  char *p;
  size_t len, cap;
  bool oom;
} sb;
void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_puts(sb *b, const char *s);
/* A doc comment (or nothing) indented by `indent` spaces. */
void sb_doc(sb *b, const char *doc, int indent);
void sb_free(sb *b);

/* ---- names (names.c) ---- */

/* A set of taken identifiers; scope_take returns wanted, or wanted_2,
 * wanted_3... if taken, and takes it. Strings are owned by the scope's
 * generator pool. */
typedef struct scope {
  char **slots;
  size_t cap, count;
} scope;

typedef struct gen gen;

const char *scope_take(gen *g, scope *s, const char *wanted);
bool scope_has(const scope *s, const char *name);
void scope_free(scope *s);

/* Zeroed memory and strings that live as long as the generator. */
void *gen_zalloc(gen *g, size_t n);
char *gen_strdup(gen *g, const char *s);
char *gen_fmt(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rust name -> snake_case (heck rules, via roam_kebab_case). */
char *snake(gen *g, const char *name);
/* In-place ASCII uppercase of a copy. */
char *upper(gen *g, const char *s);
/* A member or parameter name that C accepts (keywords and names C
 * reserves get a trailing '_'; `roam_*` gets one too: generated locals and
 * parameters use that space). */
char *c_member(gen *g, const char *rust_name);

/* ---- the C model (model.c) ---- */

typedef enum ct_kind {
  CT_PRIM,  /* bool, integers, floats, char, String, (), Vec<u8> */
  CT_STRUCT,
  CT_CENUM, /* an enum of unit variants: a C enum */
  CT_ENUM,  /* tagged union */
  CT_VEC,
  CT_SET,
  CT_MAP,
  CT_OPT,
  CT_ARR,
  CT_TUP,
  CT_BOX
} ct_kind;

typedef struct ctype ctype;
struct ctype {
  ct_kind kind;
  roam_schema_kind prim; /* CT_PRIM (VEC = bytes) */
  const roam_schema_decl *decl;
  char *key;   /* canonical Rust spelling */
  char *cname; /* the C type ("testbed_point", "int32_t", "testbed_tree *") */
  char *fn;    /* internal function stem: <prefix>__e_<fn> / __d_<fn> */
  char *entry; /* CT_MAP: the entry struct */
  ctype *elem, *elem2;
  ctype **elems;
  size_t count;
  uint64_t len;
  /* struct / enum details */
  char **fields;   /* C member names of a struct's fields */
  char **vmember;  /* CT_ENUM: union member of each variant (NULL for unit) */
  char **vconst;   /* CT_ENUM / CT_CENUM: tag constant of each variant */
  char ***vfields; /* CT_ENUM: member names inside struct/tuple variants */
  char *tag_type;  /* CT_ENUM: the tag enum */
  ctype **ftypes;  /* CT_STRUCT: field types */
  ctype ***vtypes; /* CT_ENUM: payload field types per variant */
  bool scalar;     /* passed by value */
  bool views;      /* holds pointers into the decoded buffer */
  int minwire;     /* -1 unknown; else smallest encoding in bytes (0 or 1) */
  int maxw;        /* -2 unknown, -1 unbounded; else largest encoding in bytes */
  int state;       /* definition emission: 0 new, 1 in progress, 2 done */
  bool want_v;     /* void-pointer codec wrappers are needed */
  const char *sender, *receiver, *value_fn; /* channel helpers, when used */
  const char *sender_send, *sender_close, *receiver_recv, *receiver_close;
  const char *n_encode, *n_decode, *n_name; /* declared types' public functions */
  bool want_sender, want_receiver, want_value_fn;
  ctype *next;     /* registration order */
};

typedef struct gmethod {
  const roam_schema_method *m;
  char *fn;       /* <svc>_<method> */
  char *upper;    /* its macro stem */
  char **params;  /* C names of the parameters */
  ctype **ptypes; /* NULL for channel parameters */
  int *chan;      /* channel index of a parameter, or -1 */
  bool *chan_send; /* the handler's Tx<T> (the caller receives) */
  ctype **chan_elem;
  size_t nchan;
  ctype *ok, *err; /* NULL for () / no user error */
  /* derived identifiers (names.c order: every method's own name first) */
  const char *n_async, *n_cb, *n_req, *n_reply, *n_reply_err, *n_reply_error, *n_on_cancel,
      *n_raw, *n_arena, *n_call, *n_start, *n_finish, *n_abort, *m_id, *m_id_alt, *m_name,
      *h_member;
  const char **n_open, **n_send, **n_close;
  bool has_alt;
} gmethod;

typedef struct gservice {
  const roam_schema_service *s;
  char *prefix; /* <prefix>_<service> (or <prefix> when they are equal) */
  char *upper;
  gmethod *methods;
  const char *n_handlers, *n_register, *n_register_server, *n_register_with,
      *n_register_names, *n_ids, *n_names, *m_service, *m_count;
} gservice;

struct gen {
  const roam_schema_file *f;
  char *prefix, *upper_prefix;
  scope ids;    /* every file-scope identifier of the output */
  scope macros; /* every macro name */
  scope internal;
  ctype **table; /* by key */
  size_t tcap, tcount;
  ctype *first, *last;
  ctype **decl_types; /* by decl index */
  gservice *services;
  /* channel handle types needed (client side) by element */
  void **pool;
  size_t npool, cappool;
  char error[512];
};

int model_build(gen *g);
ctype *model_type(gen *g, const roam_schema_type *t);
/* The C parameter type of a value of ct passed to a function. */
const char *arg_type(gen *g, const ctype *ct);
/* Expression turning a parameter of arg_type into a pointer. */
const char *arg_ptr(gen *g, const ctype *ct, const char *param);

void emit_header(gen *g, sb *h);
void emit_source(gen *g, sb *c);
void emit_service_header(gen *g, sb *h);
void emit_service_source(gen *g, sb *c);

#endif
