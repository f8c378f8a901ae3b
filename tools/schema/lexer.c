/* roam_schema lexer: Rust tokens, as much of them as definition files use.
 * Comments are skipped except outer doc comments, which become tokens so
 * the parser can attach them to the next item. */
#include <string.h>

#include "schema_internal.h"

void rs_lex_init(rs_lexer *lx, roam_schema *s, const char *path, const char *text, size_t len) {
  lx->s = s;
  lx->path = path;
  lx->p = text;
  lx->end = text + len;
  lx->line = 1;
  lx->col = 1;
}

static roam_schema_pos here(const rs_lexer *lx) {
  roam_schema_pos pos = {lx->path, lx->line, lx->col};
  return pos;
}

/* Advance one byte, keeping line and column (columns count characters:
 * UTF-8 continuation bytes do not move the column). */
static void adv(rs_lexer *lx) {
  unsigned char c = (unsigned char)*lx->p++;
  if (c == '\n') {
    lx->line++;
    lx->col = 1;
  } else if ((c & 0xC0) != 0x80) {
    lx->col++;
  }
}

static int peek(const rs_lexer *lx, size_t ahead) {
  return lx->p + ahead < lx->end ? (unsigned char)lx->p[ahead] : -1;
}

static bool is_ident_start(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident_char(int c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

/* Skip a block comment that starts at p (block comments nest in Rust). */
static int skip_block_comment(rs_lexer *lx) {
  roam_schema_pos start = here(lx);
  int depth = 0;
  while (lx->p < lx->end) {
    if (peek(lx, 0) == '/' && peek(lx, 1) == '*') {
      adv(lx);
      adv(lx);
      depth++;
    } else if (peek(lx, 0) == '*' && peek(lx, 1) == '/') {
      adv(lx);
      adv(lx);
      if (--depth == 0)
        return 0;
    } else {
      adv(lx);
    }
  }
  rs_set_error(lx->s, start, "unterminated block comment");
  return -1;
}

static int lex_string(rs_lexer *lx, rs_tok *t) {
  roam_schema_pos start = here(lx);
  size_t hashes = 0;
  bool raw = false;
  if (peek(lx, 0) == 'b')
    adv(lx);
  if (peek(lx, 0) == 'r') {
    raw = true;
    adv(lx);
    while (peek(lx, 0) == '#') {
      hashes++;
      adv(lx);
    }
  }
  adv(lx); /* the opening quote */
  for (;;) {
    int c = peek(lx, 0);
    if (c < 0) {
      rs_set_error(lx->s, start, "unterminated string literal");
      return -1;
    }
    if (!raw && c == '\\') {
      adv(lx);
      if (lx->p < lx->end)
        adv(lx);
      continue;
    }
    adv(lx);
    if (c == '"') {
      size_t n = 0;
      while (n < hashes && peek(lx, 0) == '#') {
        n++;
        adv(lx);
      }
      if (n == hashes)
        break;
    }
  }
  t->kind = RS_STRING;
  return 0;
}

/* After a quote: a char literal ('x', '\n', '\u{..}') or a lifetime ('a). */
static int lex_quote(rs_lexer *lx, rs_tok *t) {
  roam_schema_pos start = here(lx);
  adv(lx);
  if (peek(lx, 0) == '\\') {
    adv(lx); /* the backslash */
    if (lx->p < lx->end)
      adv(lx); /* the escaped character, which may be a quote */
    while (lx->p < lx->end && peek(lx, 0) != '\'' && peek(lx, 0) != '\n')
      adv(lx);
  } else if (lx->p < lx->end) {
    adv(lx);
    while (lx->p < lx->end && ((unsigned char)*lx->p & 0xC0) == 0x80)
      adv(lx);
    if (peek(lx, 0) != '\'') {
      /* a lifetime: 'ident */
      while (is_ident_char(peek(lx, 0)))
        adv(lx);
      t->kind = RS_LIFETIME;
      return 0;
    }
  }
  if (peek(lx, 0) != '\'') {
    rs_set_error(lx->s, start, "unterminated character literal");
    return -1;
  }
  adv(lx);
  t->kind = RS_STRING;
  return 0;
}

static int lex_number(rs_lexer *lx, rs_tok *t) {
  roam_schema_pos start = here(lx);
  unsigned base = 10;
  if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'o' || peek(lx, 1) == 'b')) {
    base = peek(lx, 1) == 'x' ? 16 : peek(lx, 1) == 'o' ? 8 : 2;
    adv(lx);
    adv(lx);
  }
  uint64_t v = 0;
  bool any = false, overflow = false;
  for (;;) {
    int c = peek(lx, 0);
    unsigned d;
    if (c == '_') {
      adv(lx);
      continue;
    }
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      break;
    if (d >= base)
      break;
    if (v > (UINT64_MAX - d) / base)
      overflow = true;
    v = v * base + d;
    any = true;
    adv(lx);
  }
  if (!any) {
    rs_set_error(lx->s, start, "malformed integer literal");
    return -1;
  }
  if (peek(lx, 0) == '.' && peek(lx, 1) != '.') {
    rs_set_error(lx->s, start, "floating-point literals are not supported here");
    return -1;
  }
  /* type suffix (u8, i64, usize...) */
  while (is_ident_char(peek(lx, 0)))
    adv(lx);
  if (overflow) {
    rs_set_error(lx->s, start, "integer literal too large");
    return -1;
  }
  t->kind = RS_INT;
  t->num = v;
  return 0;
}

int rs_lex_next(rs_lexer *lx, rs_tok *t) {
  memset(t, 0, sizeof *t);
  for (;;) {
    while (lx->p < lx->end &&
           (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
      adv(lx);
    if (peek(lx, 0) == '/' && peek(lx, 1) == '/') {
      t->pos = here(lx);
      /* "///" but not "////" is an outer doc comment; "//!" is inner */
      bool doc = peek(lx, 2) == '/' && peek(lx, 3) != '/';
      const char *start = lx->p + 3;
      while (lx->p < lx->end && *lx->p != '\n')
        adv(lx);
      if (doc) {
        t->kind = RS_DOC;
        t->text = start;
        t->len = (size_t)(lx->p - start);
        if (t->len && start[t->len - 1] == '\r')
          t->len--;
        return 0;
      }
      continue;
    }
    if (peek(lx, 0) == '/' && peek(lx, 1) == '*') {
      t->pos = here(lx);
      bool doc = peek(lx, 2) == '*' && peek(lx, 3) != '*' && peek(lx, 3) != '/';
      const char *start = lx->p + 3;
      if (skip_block_comment(lx) != 0)
        return -1;
      if (doc) {
        t->kind = RS_DOC;
        t->text = start;
        t->len = (size_t)(lx->p - 2 - start);
        return 0;
      }
      continue;
    }
    break;
  }
  t->pos = here(lx);
  if (lx->p >= lx->end) {
    t->kind = RS_EOF;
    return 0;
  }
  int c = peek(lx, 0);
  if (c == 'r' && peek(lx, 1) == '#' && is_ident_start(peek(lx, 2))) {
    adv(lx);
    adv(lx);
    t->raw = true;
    c = peek(lx, 0);
  } else if (c == '"' || (c == 'r' && (peek(lx, 1) == '"' || peek(lx, 1) == '#')) ||
             (c == 'b' && (peek(lx, 1) == '"' ||
                           (peek(lx, 1) == 'r' && (peek(lx, 2) == '"' || peek(lx, 2) == '#'))))) {
    return lex_string(lx, t);
  } else if (c == 'b' && peek(lx, 1) == '\'') {
    adv(lx);
    return lex_quote(lx, t);
  }
  if (is_ident_start(c)) {
    t->kind = RS_IDENT;
    t->text = lx->p;
    while (is_ident_char(peek(lx, 0)))
      adv(lx);
    t->len = (size_t)(lx->p - t->text);
    return 0;
  }
  if (c >= '0' && c <= '9')
    return lex_number(lx, t);
  if (c == '\'')
    return lex_quote(lx, t);
  if (c >= 0x80) {
    rs_set_error(lx->s, t->pos, "unexpected non-ASCII character");
    return -1;
  }
  t->kind = RS_PUNCT;
  if (c == ':' && peek(lx, 1) == ':') {
    t->ch = RS_PATHSEP;
    adv(lx);
  } else if (c == '-' && peek(lx, 1) == '>') {
    t->ch = RS_ARROW;
    adv(lx);
  } else if (c == '=' && peek(lx, 1) == '>') {
    t->ch = RS_FATARROW;
    adv(lx);
  } else if (strchr("{}()[]<>;:,.=#!&*+-/|^%?@$~", c) == NULL || c == 0) {
    rs_set_error(lx->s, t->pos, "unexpected character '%c'", c);
    return -1;
  } else {
    t->ch = c;
  }
  adv(lx);
  return 0;
}
