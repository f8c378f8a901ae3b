/*
 * roam_schema: the parser of roam service definitions written in Rust syntax
 * (the files the Rust reference puts its `#[service]` traits in), shared by
 * roam-gen (C code generation) and the roam command-line tool.
 *
 * Accepted subset (everything else is rejected with `file:line:col: msg`):
 *   - `use …;` lines, inner attributes `#![…]`, `pub` / `pub(…)`,
 *     `#[derive(…)]`, `#[repr(…)]` and any other outer attribute: ignored;
 *     free functions `fn name(…) … { … }` and `impl … { … }` blocks: skipped
 *     (a definition file may carry helpers such as `all_services()`), and
 *     so are `mod other;` declarations (their types are not in this file);
 *   - `#[service]` (or any attribute path ending in `service`, such as
 *     `#[roam::service]`) on `trait Name { … }` with methods
 *     `async fn name(&self, arg: Type, …) -> Ret;` (`async` and `-> Ret`
 *     optional);
 *   - `struct` with named fields, tuple structs, unit structs;
 *   - `enum` with unit, tuple and struct variants, optional `= N`
 *     discriminants (kept, but postcard encodes the variant's index);
 *   - doc comments (`///` lines and doc blocks) on services, methods, types, fields
 *     and variants are kept (lines joined with '\n', one leading space
 *     removed); plain comments are skipped.
 * Types:
 *   bool u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64 char
 *   String, (), Vec<T>, Option<T>, Box<T>, [T; N], (A, B, …),
 *   HashMap<K, V> / BTreeMap<K, V>, HashSet<T> / BTreeSet<T>,
 *   Result<T, E> (only as a method's return type: E is the user error),
 *   Tx<T> / Rx<T> (only as a method argument), and named types declared
 *   anywhere in the same file (before or after use). Paths are reduced to
 *   their last segment (`std::collections::HashMap` = `HashMap`).
 *   usize/isize are u64/i64 (postcard encodes them alike).
 *
 * Names resolve within one file: each file is a self-contained definition.
 * Recursion is allowed through Vec, Box, HashMap/BTreeMap and
 * HashSet/BTreeSet (types of unbounded size in Rust without them are
 * rejected: `struct A { a: A }` or `struct A { a: Option<A> }`).
 *
 * Memory: everything hangs off the roam_schema object and is freed with it.
 * Not thread-safe; one schema per thread.
 */
#ifndef ROAM_SCHEMA_H
#define ROAM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roam/method_id.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct roam_schema roam_schema;
typedef struct roam_schema_decl roam_schema_decl;
typedef struct roam_schema_file roam_schema_file;
typedef struct roam_schema_service roam_schema_service;

/* A source position (1-based line and column; column counts characters). */
typedef struct roam_schema_pos {
  const char *file;
  uint32_t line;
  uint32_t col;
} roam_schema_pos;

typedef enum roam_schema_kind {
  ROAM_SCHEMA_BOOL,
  ROAM_SCHEMA_U8,
  ROAM_SCHEMA_U16,
  ROAM_SCHEMA_U32,
  ROAM_SCHEMA_U64, /* also usize */
  ROAM_SCHEMA_U128,
  ROAM_SCHEMA_I8,
  ROAM_SCHEMA_I16,
  ROAM_SCHEMA_I32,
  ROAM_SCHEMA_I64, /* also isize */
  ROAM_SCHEMA_I128,
  ROAM_SCHEMA_F32,
  ROAM_SCHEMA_F64,
  ROAM_SCHEMA_CHAR,
  ROAM_SCHEMA_STRING,
  ROAM_SCHEMA_UNIT,   /* () */
  ROAM_SCHEMA_VEC,    /* elem (Vec<u8> is a VEC of U8: bytes on the wire) */
  ROAM_SCHEMA_OPTION, /* elem */
  ROAM_SCHEMA_BOX,    /* elem */
  ROAM_SCHEMA_ARRAY,  /* elem, len */
  ROAM_SCHEMA_MAP,    /* elem = key, elem2 = value */
  ROAM_SCHEMA_SET,    /* elem */
  ROAM_SCHEMA_TUPLE,  /* elems[count], count >= 1 (() is UNIT) */
  ROAM_SCHEMA_RESULT, /* elem = ok, elem2 = error; method return type only */
  ROAM_SCHEMA_TX,     /* elem; method argument only */
  ROAM_SCHEMA_RX,     /* elem; method argument only */
  ROAM_SCHEMA_NAMED   /* name, decl (resolved) */
} roam_schema_kind;

/* A type expression as written at one place of the definition. */
typedef struct roam_schema_type {
  roam_schema_kind kind;
  roam_schema_pos pos;
  const struct roam_schema_type *elem;
  const struct roam_schema_type *elem2;
  uint64_t len;                               /* ARRAY */
  const struct roam_schema_type *const *elems; /* TUPLE */
  size_t count;
  const char *name;      /* NAMED: as written (last path segment) */
  roam_schema_decl *decl; /* NAMED: the declaration it refers to */
} roam_schema_type;

/* The body of a struct or of an enum variant. */
typedef enum roam_schema_shape {
  ROAM_SCHEMA_SHAPE_UNIT,  /* struct S;  V */
  ROAM_SCHEMA_SHAPE_TUPLE, /* struct S(A, B);  V(A, B) */
  ROAM_SCHEMA_SHAPE_NAMED  /* struct S { a: A };  V { a: A } */
} roam_schema_shape;

typedef struct roam_schema_field {
  const char *name; /* NULL in tuple bodies */
  const roam_schema_type *type;
  const char *doc; /* NULL when none */
  roam_schema_pos pos;
} roam_schema_field;

typedef struct roam_schema_body {
  roam_schema_shape shape;
  const roam_schema_field *fields;
  size_t count;
} roam_schema_body;

typedef struct roam_schema_variant {
  const char *name;
  const char *doc;
  roam_schema_pos pos;
  roam_schema_body body;
  bool has_discriminant; /* `= N` was written (informational) */
  int64_t discriminant;
} roam_schema_variant;

typedef enum roam_schema_decl_kind { ROAM_SCHEMA_STRUCT, ROAM_SCHEMA_ENUM } roam_schema_decl_kind;

struct roam_schema_decl {
  roam_schema_decl_kind kind;
  const char *name;
  const char *doc;
  roam_schema_pos pos;
  roam_schema_body body;                 /* STRUCT */
  const roam_schema_variant *variants;   /* ENUM */
  size_t nvariants;
  size_t index;     /* position among the file's decls (declaration order) */
  bool recursive;   /* reaches itself through Vec/Box/map/set */
  const roam_schema_file *file;
  const roam_type *desc; /* method-id descriptor (set by resolution) */
};

typedef struct roam_schema_param {
  const char *name;
  const roam_schema_type *type;
  roam_schema_pos pos;
} roam_schema_param;

typedef struct roam_schema_method {
  const char *name;
  const char *doc;
  roam_schema_pos pos;
  const roam_schema_param *params;
  size_t nparams;
  const roam_schema_type *ret; /* NULL when no `-> Ret` (the unit type) */
  /* Derived from ret: the success type (NULL = ()) and the user error type
   * (NULL unless ret is Result<T, E>). */
  const roam_schema_type *ok;
  const roam_schema_type *err;
  uint64_t id;  /* published method id (ROAM_SIG_PUBLISHED) */
  uint64_t id_visited_set; /* the literal roam-hash 0.6.0 id (ROAM_SIG_VISITED_SET) */
  const roam_schema_service *service;
} roam_schema_method;

struct roam_schema_service {
  const char *name;
  const char *doc;
  roam_schema_pos pos;
  const roam_schema_method *methods;
  size_t nmethods;
  const roam_schema_file *file;
};

struct roam_schema_file {
  const char *path; /* as given */
  const char *stem; /* file name without directory and extension */
  roam_schema_decl *const *decls; /* declaration order */
  size_t ndecls;
  /* The decls again, each after every decl it contains by value (the order
   * C type definitions need). */
  roam_schema_decl *const *sorted;
  const roam_schema_service *services; /* declaration order */
  size_t nservices;
};

/* Create an empty schema. Returns 0 or -1 (out of memory). */
int roam_schema_new(roam_schema **out);
void roam_schema_free(roam_schema *s);

/*
 * Parse one definition file (read from path) or text (path names it in
 * messages), resolve its names, check it and compute its method ids.
 * Returns 0, or -1 with roam_schema_error() describing the first problem as
 * "file:line:column: message" (I/O errors: "file: message"). After an error
 * the schema keeps the files parsed before.
 */
int roam_schema_parse_file(roam_schema *s, const char *path);
int roam_schema_parse_text(roam_schema *s, const char *path, const char *text, size_t len);
const char *roam_schema_error(const roam_schema *s);

size_t roam_schema_file_count(const roam_schema *s);
const roam_schema_file *roam_schema_file_at(const roam_schema *s, size_t i);

/* Look a declaration up by name in a file (NULL if absent). */
const roam_schema_decl *roam_schema_find_decl(const roam_schema_file *f, const char *name);

/* Whether a type is Vec<u8> (bytes on the wire). */
bool roam_schema_is_bytes(const roam_schema_type *t);

/* Rust spelling of a type expression ("Vec<Option<Point>>"), written like
 * snprintf (returns the full length). */
size_t roam_schema_type_str(const roam_schema_type *t, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_SCHEMA_H */
