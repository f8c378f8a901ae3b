/*
 * roam-c: method identity (compatible with the Rust crate roam-hash 0.6.0).
 *
 *   method_id = first 8 bytes, little-endian, of
 *               BLAKE3(kebab(service) "." kebab(method) BLAKE3(signature))
 *
 * Types are described with `roam_type` descriptors: plain structures, usually
 * `static const`, that point at each other. The macros below build them:
 *
 *   static const roam_type point = ROAM_STRUCT("Point",
 *       ROAM_FIELD("x", &roam_type_i32),
 *       ROAM_FIELD("y", &roam_type_i32));
 *   static const roam_type points = ROAM_LIST(&point);          // Vec<Point>
 *   static const roam_type *const args[] = {&roam_type_u32};
 *   uint64_t id = roam_method_id("Testbed", "get_points", args, 1, &points);
 *
 * Type classes (tags from the signature format):
 *   primitives   roam_type_bool, _u8.._u128, _i8.._i128, _f32, _f64, _char,
 *                _string, _unit (also unit structs), _bytes (= Vec<u8>)
 *   ROAM_LIST(T) Vec<T> / [T]; a list of u8 encodes as bytes
 *   ROAM_OPTION(T), ROAM_ARRAY(T, N), ROAM_MAP(K, V), ROAM_SET(T)
 *   ROAM_TUPLE(&A, &B, ...)    tuples and tuple structs
 *   ROAM_TX(T), ROAM_RX(T)     roam channels
 *   ROAM_STRUCT(name, ROAM_FIELD(...), ...)        (empty: ROAM_STRUCT0(name))
 *   ROAM_ENUM(name, ROAM_VARIANT_UNIT(n), ROAM_VARIANT_NEWTYPE(n, &T),
 *             ROAM_VARIANT_STRUCT(n, ROAM_FIELD(...), ...),
 *             ROAM_VARIANT_TUPLE(n, &A, &B, ...))
 *   ROAM_RESULT(&T, &E)        Result<T, E>; encodes as unit (tag 0x10), as
 *                              roam-hash 0.6.0 does; T and E do not matter
 *   ROAM_OPAQUE(name)          any type roam-hash treats as opaque (0x10)
 * Box<T>, Arc<T>, &T and transparent wrappers: describe T itself.
 * usize / isize: use u64 / i64.
 *
 * Recursion: a descriptor may (directly or through others) point back to
 * itself, e.g. `struct Node { children: Vec<Node> }`:
 *
 *   static const roam_type node;                     // tentative definition
 *   static const roam_type node_list = ROAM_LIST(&node);
 *   static const roam_type node = ROAM_STRUCT("Node",
 *       ROAM_FIELD("value", &roam_type_i32), ROAM_FIELD("children", &node_list));
 *
 * Identity is the descriptor's address (the Rust code compares shape
 * pointers), so describe each Rust type once and point to that descriptor.
 * A struct, enum or tuple met again while it is still being encoded further
 * up the tree is written as a back-reference (0x32); a type used twice side
 * by side is spelled out in full both times (ROAM_SIG_PUBLISHED, the
 * default). ROAM_SIG_VISITED_SET instead reproduces the literal roam-hash
 * 0.6.0 code, which back-references every struct/enum/tuple already seen
 * anywhere earlier in the same argument (see METHOD-ID.md: the two differ
 * only for types used twice, e.g. Testbed rectangle_area).
 *
 * All functions are pure, allocation-free and thread-safe (descriptors are
 * only read). They never print.
 */
#ifndef ROAM_METHOD_ID_H
#define ROAM_METHOD_ID_H

#include <stddef.h>
#include <stdint.h>

#include <roam/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds; the values of the primitive and container kinds are their tags. */
typedef enum roam_type_kind {
  ROAM_TYPE_BOOL = 0x01,
  ROAM_TYPE_U8 = 0x02,
  ROAM_TYPE_U16 = 0x03,
  ROAM_TYPE_U32 = 0x04,
  ROAM_TYPE_U64 = 0x05,
  ROAM_TYPE_U128 = 0x06,
  ROAM_TYPE_I8 = 0x07,
  ROAM_TYPE_I16 = 0x08,
  ROAM_TYPE_I32 = 0x09,
  ROAM_TYPE_I64 = 0x0A,
  ROAM_TYPE_I128 = 0x0B,
  ROAM_TYPE_F32 = 0x0C,
  ROAM_TYPE_F64 = 0x0D,
  ROAM_TYPE_CHAR = 0x0E,
  ROAM_TYPE_STRING = 0x0F,
  ROAM_TYPE_UNIT = 0x10,
  ROAM_TYPE_BYTES = 0x11,
  ROAM_TYPE_LIST = 0x20,   /* elem */
  ROAM_TYPE_OPTION = 0x21, /* elem */
  ROAM_TYPE_ARRAY = 0x22,  /* elem, len */
  ROAM_TYPE_MAP = 0x23,    /* elem = key, elem2 = value */
  ROAM_TYPE_SET = 0x24,    /* elem */
  ROAM_TYPE_TUPLE = 0x25,  /* elems[count] */
  ROAM_TYPE_TX = 0x26,     /* elem */
  ROAM_TYPE_RX = 0x27,     /* elem */
  ROAM_TYPE_STRUCT = 0x30, /* name, fields[count] */
  ROAM_TYPE_ENUM = 0x31,   /* name, variants[count] */
  ROAM_TYPE_RESULT = 0x40, /* elem = ok, elem2 = err (informational); encodes as 0x10 */
  ROAM_TYPE_OPAQUE = 0x41  /* name (informational); encodes as 0x10 */
} roam_type_kind;

struct roam_type;

/* A named field of a struct or struct variant. */
typedef struct roam_field {
  const char *name; /* the Rust identifier as written (UTF-8) */
  const struct roam_type *type;
} roam_field;

typedef enum roam_variant_kind {
  ROAM_VARIANT_UNIT = 0,    /* A                 -> name 00 */
  ROAM_VARIANT_NEWTYPE = 1, /* A(T)              -> name 01 T */
  ROAM_VARIANT_STRUCT = 2,  /* A { x: T, .. }    -> name 02 n (name T)* */
  ROAM_VARIANT_TUPLE = 3    /* A(T, U, ..)       -> name 02 n ("0" T)("1" U)...;
                               a single element encodes as NEWTYPE */
} roam_variant_kind;

typedef struct roam_variant {
  const char *name;
  roam_variant_kind kind;
  const struct roam_type *type;         /* NEWTYPE payload */
  const roam_field *fields;             /* STRUCT fields */
  const struct roam_type *const *elems; /* TUPLE elements */
  size_t count;                         /* number of fields or elements */
} roam_variant;

typedef struct roam_type {
  roam_type_kind kind;
  const char *name;                     /* STRUCT / ENUM / OPAQUE name; not hashed */
  const struct roam_type *elem;         /* element, map key, or Result ok type */
  const struct roam_type *elem2;        /* map value, or Result error type */
  uint64_t len;                         /* ARRAY length */
  const struct roam_type *const *elems; /* TUPLE elements */
  const roam_field *fields;             /* STRUCT fields */
  const roam_variant *variants;         /* ENUM variants */
  size_t count;                         /* number of elems / fields / variants */
} roam_type;

/* Primitive descriptors. */
ROAM_EXTERN extern const roam_type roam_type_bool, roam_type_u8, roam_type_u16, roam_type_u32,
    roam_type_u64, roam_type_u128, roam_type_i8, roam_type_i16, roam_type_i32, roam_type_i64,
    roam_type_i128, roam_type_f32, roam_type_f64, roam_type_char, roam_type_string,
    roam_type_unit, roam_type_bytes;

/*
 * ---- Descriptor builders ----
 * Initialisers for file-scope (static storage) objects, or for automatic
 * objects inside a function. Not for `static` objects at block scope: the
 * compound literals some of them use have automatic storage there.
 */
#define ROAM__COUNT(T, ...) (sizeof((T[]){__VA_ARGS__}) / sizeof(T))

#define ROAM_PRIMITIVE(K) {.kind = (K)}
#define ROAM_LIST(T) {.kind = ROAM_TYPE_LIST, .elem = (T)}
#define ROAM_OPTION(T) {.kind = ROAM_TYPE_OPTION, .elem = (T)}
#define ROAM_ARRAY(T, N) {.kind = ROAM_TYPE_ARRAY, .elem = (T), .len = (N)}
#define ROAM_MAP(K, V) {.kind = ROAM_TYPE_MAP, .elem = (K), .elem2 = (V)}
#define ROAM_SET(T) {.kind = ROAM_TYPE_SET, .elem = (T)}
#define ROAM_TX(T) {.kind = ROAM_TYPE_TX, .elem = (T)}
#define ROAM_RX(T) {.kind = ROAM_TYPE_RX, .elem = (T)}
#define ROAM_RESULT(T, E) {.kind = ROAM_TYPE_RESULT, .elem = (T), .elem2 = (E)}
#define ROAM_OPAQUE(NAME) {.kind = ROAM_TYPE_OPAQUE, .name = (NAME)}
#define ROAM_TUPLE(...)                                                      \
  {.kind = ROAM_TYPE_TUPLE, .elems = (const roam_type *const[]){__VA_ARGS__}, \
   .count = ROAM__COUNT(const roam_type *const, __VA_ARGS__)}
#define ROAM_FIELD(NAME, T) {(NAME), (T)}
#define ROAM_STRUCT(NAME, ...)                                                \
  {.kind = ROAM_TYPE_STRUCT, .name = (NAME),                                  \
   .fields = (const roam_field[]){__VA_ARGS__},                               \
   .count = ROAM__COUNT(const roam_field, __VA_ARGS__)}
#define ROAM_STRUCT0(NAME) {.kind = ROAM_TYPE_STRUCT, .name = (NAME)} /* struct S {} */
#define ROAM_ENUM(NAME, ...)                                                  \
  {.kind = ROAM_TYPE_ENUM, .name = (NAME),                                    \
   .variants = (const roam_variant[]){__VA_ARGS__},                           \
   .count = ROAM__COUNT(const roam_variant, __VA_ARGS__)}
#define ROAM_VARIANT_UNIT(NAME) {.name = (NAME), .kind = ROAM_VARIANT_UNIT}
#define ROAM_VARIANT_NEWTYPE(NAME, T) {.name = (NAME), .kind = ROAM_VARIANT_NEWTYPE, .type = (T)}
#define ROAM_VARIANT_STRUCT(NAME, ...)                                        \
  {.name = (NAME), .kind = ROAM_VARIANT_STRUCT,                               \
   .fields = (const roam_field[]){__VA_ARGS__},                               \
   .count = ROAM__COUNT(const roam_field, __VA_ARGS__)}
#define ROAM_VARIANT_TUPLE(NAME, ...)                                         \
  {.name = (NAME), .kind = ROAM_VARIANT_TUPLE,                                \
   .elems = (const roam_type *const[]){__VA_ARGS__},                          \
   .count = ROAM__COUNT(const roam_type *const, __VA_ARGS__)}

/* ---- Encoding ---- */

/* Flags for the functions below. */
#define ROAM_SIG_PUBLISHED 0u   /* back-reference only true recursion (default) */
#define ROAM_SIG_VISITED_SET 1u /* literal roam-hash 0.6.0 visited set */

/* Limits. Exceeding one gives ROAM_ERR_LIMIT. */
#define ROAM_SIG_MAX_NESTING 128           /* descriptor nesting depth */
#define ROAM_SIG_MAX_COMPOSITES 256        /* distinct struct/enum/tuple per argument */
#define ROAM_SIG_MAX_BYTES (16u << 20)     /* signature size */

/*
 * Canonical bytes of one type (back-reference tracking starts fresh).
 * Writes at most `cap` bytes to `out` (may be NULL when cap is 0) and always
 * stores the full length in *out_len (if not NULL). Returns ROAM_OK,
 * ROAM_ERR_BUFFER_FULL (cap too small; *out_len tells the size needed),
 * ROAM_ERR_INVALID_ARG (NULL or malformed descriptor, unknown flag) or
 * ROAM_ERR_LIMIT.
 */
ROAM_EXTERN int roam_type_encode(const roam_type *type, unsigned flags, uint8_t *out, size_t cap,
                                 size_t *out_len);

/*
 * Signature bytes: 0x25 varint(argc) enc(arg)... enc(ret). `ret` NULL means
 * `()`. `args` may be NULL when argc is 0. Same results as roam_type_encode.
 */
ROAM_EXTERN int roam_signature_encode(const roam_type *const *args, size_t argc,
                                      const roam_type *ret, unsigned flags, uint8_t *out,
                                      size_t cap, size_t *out_len);

/* BLAKE3 of the signature bytes (streamed; no size limit besides
 * ROAM_SIG_MAX_BYTES). */
ROAM_EXTERN int roam_signature_hash(const roam_type *const *args, size_t argc,
                                    const roam_type *ret, unsigned flags, uint8_t hash[32]);

/* The method id from the names and an already computed signature hash.
 * ROAM_ERR_INVALID_ARG for NULL arguments, ROAM_ERR_BAD_UTF8 for names that
 * are not UTF-8. */
ROAM_EXTERN int roam_method_id_from_hash(const char *service, const char *method,
                                         const uint8_t sig_hash[32], uint64_t *id);

/* The method id, with error reporting and flags. */
ROAM_EXTERN int roam_method_id_ex(const char *service, const char *method,
                                  const roam_type *const *args, size_t argc,
                                  const roam_type *ret, unsigned flags, uint64_t *id);

/* Convenience form: the method id, or 0 if the input is invalid. */
ROAM_EXTERN uint64_t roam_method_id(const char *service, const char *method,
                                    const roam_type *const *args, size_t argc,
                                    const roam_type *ret);

/* A method: the Rust trait (service) name, fn name, argument and return
 * types. Argument names are informational (they are not hashed). */
typedef struct roam_method_desc {
  const char *service;
  const char *method;
  const roam_type *const *args;
  const char *const *arg_names; /* may be NULL */
  size_t argc;
  const roam_type *ret; /* NULL = () */
} roam_method_desc;

ROAM_EXTERN int roam_method_desc_id(const roam_method_desc *m, unsigned flags, uint64_t *id);

/*
 * kebab-case like Rust heck 0.5 `to_kebab_case`: split on characters that
 * are not alphanumeric; inside a piece, a word ends after a lowercase letter
 * followed by an uppercase one and before the last uppercase letter of a run
 * that is followed by a lowercase one; digits and other caseless characters
 * take no part in those decisions; words are lowercased and joined with '-'.
 * Case rules are exact for ASCII, Latin-1, basic Greek (including final
 * sigma) and Cyrillic; other non-ASCII characters are treated as caseless
 * letters, except general punctuation U+2000-U+206F and CJK punctuation
 * U+3000-U+3004, U+3008-U+3020, which separate words.
 *
 * Writes the result and a terminating NUL if it fits in `cap` bytes; always
 * stores the result length (without NUL) in *out_len (if not NULL). Returns
 * ROAM_OK, ROAM_ERR_BUFFER_FULL (cap < length + 1), ROAM_ERR_BAD_UTF8 or
 * ROAM_ERR_INVALID_ARG (in NULL with len > 0). The output is never more than
 * 2 * in_len bytes long.
 */
ROAM_EXTERN int roam_kebab_case(const char *in, size_t in_len, char *out, size_t cap,
                                size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_METHOD_ID_H */
