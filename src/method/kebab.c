/*
 * kebab-case conversion with the word-splitting rules of Rust heck 0.5.
 *
 * The input is cut into pieces at every character that is not alphanumeric.
 * Each piece is scanned with a one-character look-ahead and a "mode" holding
 * the case of the last cased character of the current word (none / lower /
 * upper):
 *   - current char would leave the mode lower and the next char is
 *     uppercase: the word ends after the current char;
 *   - mode is upper, the current char is uppercase and the next is
 *     lowercase: the word ends before the current char;
 *   - the rest of the piece is the last word.
 * Words are lowercased (a final capital sigma becomes 'ς') and joined by '-'.
 */
#include <string.h>

#include "method/method_internal.h"

enum { C_SEP = 0, C_ALNUM = 1, C_UPPER = 2, C_LOWER = 4 };

/* Classifies a code point (C_SEP, or C_ALNUM possibly with UPPER/LOWER) and
 * gives its lowercase form (itself when it has none or is not handled). */
static unsigned classify(uint32_t c, uint32_t *lower) {
  *lower = c;
  if (c < 0x80) {
    if (c >= 'A' && c <= 'Z') {
      *lower = c + 0x20;
      return C_ALNUM | C_UPPER;
    }
    if (c >= 'a' && c <= 'z') return C_ALNUM | C_LOWER;
    if (c >= '0' && c <= '9') return C_ALNUM;
    return C_SEP;
  }
  if (c < 0x100) { /* Latin-1 supplement */
    if ((c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xDE)) {
      *lower = c + 0x20;
      return C_ALNUM | C_UPPER;
    }
    if ((c >= 0xDF && c <= 0xF6) || c >= 0xF8 || c == 0xAA || c == 0xB5 || c == 0xBA)
      return C_ALNUM | C_LOWER;
    if (c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE)) return C_ALNUM;
    return C_SEP; /* controls, spaces, punctuation, symbols, x and / signs */
  }
  if (c >= 0x370 && c <= 0x3FF) { /* Greek (basic letters) */
    if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) {
      *lower = c + 0x20;
      return C_ALNUM | C_UPPER;
    }
    if (c == 0x386) {
      *lower = 0x3AC;
      return C_ALNUM | C_UPPER;
    }
    if (c >= 0x388 && c <= 0x38A) {
      *lower = c + 0x25;
      return C_ALNUM | C_UPPER;
    }
    if (c == 0x38C) {
      *lower = 0x3CC;
      return C_ALNUM | C_UPPER;
    }
    if (c == 0x38E || c == 0x38F) {
      *lower = c + 0x3F;
      return C_ALNUM | C_UPPER;
    }
    if (c == 0x390 || (c >= 0x3AC && c <= 0x3CE)) return C_ALNUM | C_LOWER;
    return C_ALNUM;
  }
  if (c >= 0x400 && c <= 0x45F) { /* Cyrillic (basic letters) */
    if (c <= 0x40F) {
      *lower = c + 0x50;
      return C_ALNUM | C_UPPER;
    }
    if (c <= 0x42F) {
      *lower = c + 0x20;
      return C_ALNUM | C_UPPER;
    }
    return C_ALNUM | C_LOWER;
  }
  if (c >= 0x2000 && c <= 0x206F) return C_SEP; /* general punctuation */
  if ((c >= 0x3000 && c <= 0x3004) || (c >= 0x3008 && c <= 0x3020)) return C_SEP;
  return C_ALNUM; /* anything else: a caseless letter */
}

/* Decodes one UTF-8 sequence at s[*i] (i < n). Returns 0 on invalid input. */
static int utf8_next(const uint8_t *s, size_t n, size_t *i, uint32_t *cp) {
  uint8_t b0 = s[*i];
  if (b0 < 0x80) {
    *cp = b0;
    *i += 1;
    return 1;
  }
  size_t len;
  uint32_t c, min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1Fu, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0Fu, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (n - *i < len) return 0;
  for (size_t k = 1; k < len; k++) {
    uint8_t b = s[*i + k];
    if ((b & 0xC0) != 0x80) return 0;
    c = (c << 6) | (b & 0x3Fu);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  *i += len;
  return 1;
}

static size_t utf8_put(uint8_t *buf, uint32_t c) {
  if (c < 0x80) {
    buf[0] = (uint8_t)c;
    return 1;
  }
  if (c < 0x800) {
    buf[0] = (uint8_t)(0xC0 | (c >> 6));
    buf[1] = (uint8_t)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    buf[0] = (uint8_t)(0xE0 | (c >> 12));
    buf[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    buf[2] = (uint8_t)(0x80 | (c & 0x3F));
    return 3;
  }
  buf[0] = (uint8_t)(0xF0 | (c >> 18));
  buf[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
  buf[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
  buf[3] = (uint8_t)(0x80 | (c & 0x3F));
  return 4;
}

/* Emits the lowercased word s[from, to) (valid UTF-8), preceded by '-'
 * unless it is the first word. */
static void emit_word(const uint8_t *s, size_t from, size_t to, int *first, roam__emit_fn emit,
                      void *ctx) {
  uint8_t buf[64]; /* batches output: one emit call per word (or 60 bytes) */
  size_t n = 0;
  if (!*first) buf[n++] = '-';
  *first = 0;
  size_t i = from;
  while (i < to) {
    if (n > sizeof buf - 4) {
      emit(ctx, buf, n);
      n = 0;
    }
    if (s[i] < 0x80) { /* ASCII fast path */
      uint8_t b = s[i++];
      buf[n++] = (b >= 'A' && b <= 'Z') ? (uint8_t)(b + 0x20) : b;
      continue;
    }
    uint32_t c = 0, lower;
    (void)utf8_next(s, to, &i, &c);
    classify(c, &lower);
    if (c == 0x3A3 && i == to) lower = 0x3C2; /* word-final capital sigma */
    n += utf8_put(buf + n, lower);
  }
  if (n) emit(ctx, buf, n);
}

enum { MODE_BOUNDARY, MODE_LOWER, MODE_UPPER };

int roam__kebab(const char *in, size_t len, roam__emit_fn emit, void *ctx) {
  if (!in && len) return ROAM_ERR_INVALID_ARG;
  const uint8_t *s = (const uint8_t *)in;
  /* Validate first so nothing is emitted for bad input. */
  for (size_t i = 0; i < len;) {
    uint32_t c;
    if (s[i] < 0x80)
      i++;
    else if (!utf8_next(s, len, &i, &c))
      return ROAM_ERR_BAD_UTF8;
  }
  int first = 1;
  size_t i = 0;
  while (i < len) {
    /* Skip separators. */
    size_t at = i;
    uint32_t c = 0, lower;
    (void)utf8_next(s, len, &i, &c);
    unsigned cls = classify(c, &lower);
    if (cls == C_SEP) continue;

    /* A piece of alphanumerics starts at `at`; c/cls is its first char. */
    size_t init = at;
    int mode = MODE_BOUNDARY;
    for (;;) {
      size_t cur = at; /* start of the current char */
      size_t next_at = i;
      uint32_t next = 0;
      unsigned ncls = C_SEP;
      if (i < len) {
        size_t j = i;
        (void)utf8_next(s, len, &j, &next);
        ncls = classify(next, &lower);
        if (ncls != C_SEP) i = j;
      }
      if (ncls == C_SEP) {
        /* Current char is the last of the piece. */
        emit_word(s, init, next_at, &first, emit, ctx);
        break;
      }
      int next_mode = (cls & C_LOWER) ? MODE_LOWER : (cls & C_UPPER) ? MODE_UPPER : mode;
      if (next_mode == MODE_LOWER && (ncls & C_UPPER)) {
        emit_word(s, init, next_at, &first, emit, ctx);
        init = next_at;
        mode = MODE_BOUNDARY;
      } else if (mode == MODE_UPPER && (cls & C_UPPER) && (ncls & C_LOWER)) {
        emit_word(s, init, cur, &first, emit, ctx);
        init = cur;
        mode = MODE_BOUNDARY;
      } else {
        mode = next_mode;
      }
      at = next_at;
      cls = ncls;
    }
  }
  return ROAM_OK;
}

typedef struct buf_writer {
  char *out;
  size_t cap;
  size_t len;
} buf_writer;

static void buf_emit(void *ctx, const uint8_t *p, size_t n) {
  buf_writer *w = ctx;
  if (w->len < w->cap) {
    size_t room = w->cap - w->len;
    memcpy(w->out + w->len, p, n < room ? n : room);
  }
  w->len += n;
}

int roam_kebab_case(const char *in, size_t in_len, char *out, size_t cap, size_t *out_len) {
  if (!out && cap) return ROAM_ERR_INVALID_ARG;
  buf_writer w = {out, cap, 0};
  int rc = roam__kebab(in, in_len, buf_emit, &w);
  if (rc != ROAM_OK) return rc;
  if (out_len) *out_len = w.len;
  if (w.len + 1 > cap) {
    if (cap) out[cap - 1] = 0;
    return ROAM_ERR_BUFFER_FULL;
  }
  out[w.len] = 0;
  return ROAM_OK;
}
