/* roam_schema internals: the arena, the lexer's tokens, the passes. */
#ifndef ROAM_SCHEMA_INTERNAL_H
#define ROAM_SCHEMA_INTERNAL_H

#include <stdarg.h>

#include "schema.h"

/* ---- arena: every AST node lives until roam_schema_free ---- */
typedef struct rs_chunk rs_chunk;

struct roam_schema {
  rs_chunk *chunks;
  roam_schema_file **files;
  size_t nfiles, capfiles;
  char error[512];
};

void *rs_alloc(roam_schema *s, size_t n); /* zeroed; NULL on out of memory */
char *rs_strndup(roam_schema *s, const char *p, size_t n);
void rs_set_error(roam_schema *s, roam_schema_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- growable pointer array (heap; handed to the arena when done) ---- */
typedef struct rs_vec {
  void **items;
  size_t len, cap;
} rs_vec;
int rs_vec_push(rs_vec *v, void *item);
/* Copy the items into the arena (element size `size`, from pointers to
 * values of that size) and free the vector. */
void *rs_vec_finish_values(roam_schema *s, rs_vec *v, size_t size);
void **rs_vec_finish_ptrs(roam_schema *s, rs_vec *v);
void rs_vec_free(rs_vec *v);

/* ---- lexer ---- */
typedef enum rs_tok_kind {
  RS_EOF,
  RS_IDENT,   /* also keywords; r#raw identifiers have the r# removed */
  RS_INT,     /* integer literal (value in .num, may carry a type suffix) */
  RS_STRING,  /* string / char / raw string literal (text not kept) */
  RS_LIFETIME,/* 'a */
  RS_PUNCT,   /* one character in .ch, or "::" / "->" / "=>" as '::' etc. */
  RS_DOC      /* an outer doc comment; text in .text/.len (line) */
} rs_tok_kind;

#define RS_PATHSEP 0x100 /* "::" */
#define RS_ARROW 0x101   /* "->" */
#define RS_FATARROW 0x102 /* "=>" */

typedef struct rs_tok {
  rs_tok_kind kind;
  int ch;             /* RS_PUNCT */
  const char *text;   /* RS_IDENT, RS_DOC: start in the source */
  size_t len;
  uint64_t num;       /* RS_INT */
  bool raw;           /* RS_IDENT written as r#name */
  roam_schema_pos pos;
} rs_tok;

typedef struct rs_lexer {
  roam_schema *s;
  const char *path;
  const char *p, *end;
  uint32_t line, col;
} rs_lexer;

void rs_lex_init(rs_lexer *lx, roam_schema *s, const char *path, const char *text, size_t len);
/* Next token; -1 with the schema error set on a lexical error. */
int rs_lex_next(rs_lexer *lx, rs_tok *t);

/* ---- passes ---- */
/* Parse the text into f (decls, services; types unresolved). */
int rs_parse(roam_schema *s, roam_schema_file *f, const char *text, size_t len);
/* Resolve names, check the rules the parser cannot, order the decls, build
 * method-id descriptors and compute the ids. */
int rs_resolve(roam_schema *s, roam_schema_file *f);

#endif
