/*
 * The postcard value codec (PROTOCOL.md §2): encoder with sticky errors into
 * a fixed or growable buffer, and a bounds-checked zero-copy decoder.
 */
#include <roam/postcard.h>

#include <stdint.h>
#include <string.h>

#include "common/mem.h"
#include "wire/wire_internal.h"

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

static inline int is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

bool roam__utf8_valid(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = p[i];
    if (c < 0x80) {
      /* ASCII run: eight bytes at a time while the high bits stay clear. */
      i++;
      while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080)) break;
        i += 8;
      }
      while (i < len && p[i] < 0x80) i++;
      continue;
    }
    if (c < 0xC2) return false; /* stray continuation or overlong 2-byte lead */
    if (c < 0xE0) {
      if (len - i < 2 || !is_cont(p[i + 1])) return false;
      i += 2;
    } else if (c < 0xF0) {
      if (len - i < 3) return false;
      uint8_t b1 = p[i + 1];
      /* E0: A0..BF (no overlongs); ED: 80..9F (no surrogates). */
      uint8_t lo = c == 0xE0 ? 0xA0 : 0x80;
      uint8_t hi = c == 0xED ? 0x9F : 0xBF;
      if (b1 < lo || b1 > hi || !is_cont(p[i + 2])) return false;
      i += 3;
    } else if (c < 0xF5) {
      if (len - i < 4) return false;
      uint8_t b1 = p[i + 1];
      /* F0: 90..BF (no overlongs); F4: 80..8F (<= U+10FFFF). */
      uint8_t lo = c == 0xF0 ? 0x90 : 0x80;
      uint8_t hi = c == 0xF4 ? 0x8F : 0xBF;
      if (b1 < lo || b1 > hi || !is_cont(p[i + 2]) || !is_cont(p[i + 3])) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

bool roam_utf8_valid(const uint8_t *p, size_t len) {
  if (len == 0) return true;
  if (p == NULL) return false;
  return roam__utf8_valid(p, len);
}

/* ------------------------------------------------------------------ */
/* Varints                                                             */
/* ------------------------------------------------------------------ */

#if RW_LE_WORDS
/* With eight readable bytes: find the last byte of the varint with one
 * load, and assemble the value without a loop. */
static inline rw_vres varint_words(const uint8_t *p, const uint8_t *end, unsigned max_bytes,
                                   unsigned last_max) {
  rw_vres r = {0, RW_VBAD};
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t stop = ~w & UINT64_C(0x8080808080808080);
  if (stop) {
    unsigned len = ((unsigned)__builtin_ctzll(stop) >> 3) + 1; /* 1..8 */
    if (len > max_bytes || (len == max_bytes && p[len - 1] > last_max)) return r;
    if (len < 8) w &= (UINT64_C(1) << (8 * len)) - 1;
    r.v = rw_compact7(w);
    r.n = len;
    return r;
  }
  if (max_bytes < 10) return r; /* eight continuation bytes: too long */
  uint64_t v = rw_compact7(w);
  if (end - p < 9) {
    r.n = 0;
    return r;
  }
  uint8_t b8 = p[8];
  v |= (uint64_t)(b8 & 0x7f) << 56;
  if (!(b8 & 0x80)) {
    r.v = v;
    r.n = 9;
    return r;
  }
  if (end - p < 10) {
    r.n = 0;
    return r;
  }
  uint8_t b9 = p[9];
  if (b9 > last_max) return r;
  r.v = v | ((uint64_t)b9 << 63);
  r.n = 10;
  return r;
}
#define RW_VARINT_WORDS 1
#endif

rw_vres roam__varint_slow(const uint8_t *p, const uint8_t *end, unsigned max_bytes,
                          unsigned last_max) {
  rw_vres r = {0, 0};
  uint64_t v = 0;
#ifdef RW_VARINT_WORDS
  if (end - p >= 8 && max_bytes <= ROAM_VARINT_MAX_U64) return varint_words(p, end, max_bytes, last_max);
#endif
  if ((size_t)(end - p) >= max_bytes) {
    /* Room for the longest encoding: no bounds checks in the loop. */
    unsigned i = 0;
    for (; i + 1 < max_bytes; i++) {
      uint8_t b = p[i];
      v |= (uint64_t)(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) {
        r.v = v;
        r.n = (size_t)i + 1;
        return r;
      }
    }
    uint8_t b = p[i];
    if (b > last_max) {
      r.n = RW_VBAD;
      return r;
    }
    r.v = v | ((uint64_t)b << (7 * i));
    r.n = (size_t)i + 1;
    return r;
  }
  for (unsigned i = 0; i < max_bytes; i++) {
    if (p + i >= end) return r; /* n == 0: truncated */
    uint8_t b = p[i];
    if (i == max_bytes - 1 && b > last_max) {
      r.n = RW_VBAD;
      return r;
    }
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      r.v = v;
      r.n = (size_t)i + 1;
      return r;
    }
  }
  r.n = RW_VBAD; /* unreachable: the last byte's check stops the loop */
  return r;
}

size_t roam_varint_size(uint64_t v) { return rw_varint_size(v); }

size_t roam_varint_put(uint8_t *p, uint64_t v) { return rw_varint_put(p, v); }

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */

void roam_enc_init(roam_enc *e, void *buf, size_t cap) {
  memset(e, 0, sizeof *e);
  e->buf = (uint8_t *)buf;
  e->cap = buf ? cap : 0;
  roam__mem_set(&e->mem, NULL);
}

void roam_enc_init_growable(roam_enc *e, const roam_mem *mem) {
  memset(e, 0, sizeof *e);
  e->growable = 1;
  roam__mem_set(&e->mem, mem);
}

void roam_enc_reset(roam_enc *e) {
  e->len = 0;
  e->err = 0;
}

void roam_enc_free(roam_enc *e) {
  if (e->growable) {
    roam__free(&e->mem, e->buf);
    e->buf = NULL;
    e->cap = 0;
  }
  e->len = 0;
}

uint8_t *roam_enc_detach(roam_enc *e, size_t *len) {
  if (len) *len = 0;
  if (!e->growable || e->err || e->len == 0) return NULL;
  uint8_t *p = e->buf;
  if (len) *len = e->len;
  e->buf = NULL;
  e->cap = 0;
  e->len = 0;
  return p;
}

/* Make room for n more bytes; 0 or the (now sticky) error. */
static RW_NOINLINE int enc_grow(roam_enc *e, size_t n) {
  if (e->err) return e->err;
  if (!e->growable) {
    e->err = ROAM_ERR_BUFFER_FULL;
    return e->err;
  }
  if (n > SIZE_MAX - e->len) {
    e->err = ROAM_ERR_NOMEM;
    return e->err;
  }
  size_t need = e->len + n;
  size_t cap = e->cap ? e->cap : 64;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  uint8_t *nb = (uint8_t *)roam__realloc(&e->mem, e->buf, cap);
  if (!nb) {
    e->err = ROAM_ERR_NOMEM;
    return e->err;
  }
  e->buf = nb;
  e->cap = cap;
  return 0;
}

static RW_INLINE int enc_room(roam_enc *e, size_t n) {
  if (RW_LIKELY(!e->err) && RW_LIKELY(e->cap - e->len >= n)) return 0;
  return enc_grow(e, n);
}

uint8_t *roam_enc_reserve(roam_enc *e, size_t n) {
  if (enc_room(e, n)) return NULL;
  if (e->buf == NULL && enc_grow(e, n ? n : 1)) return NULL; /* reserve(0) before any write */
  return e->buf + e->len;
}

void roam_enc_commit(roam_enc *e, size_t n) {
  if (e->err) return;
  if (n > e->cap - e->len) {
    e->err = ROAM_ERR_INVALID_ARG;
    return;
  }
  e->len += n;
}

int roam_enc_raw(roam_enc *e, const void *p, size_t n) {
  if (enc_room(e, n)) return e->err;
  if (n) memcpy(e->buf + e->len, p, n);
  e->len += n;
  return 0;
}

int roam_enc_varint(roam_enc *e, uint64_t v) {
  if (RW_LIKELY(!e->err) && RW_LIKELY(e->cap - e->len >= ROAM_VARINT_MAX_U64)) {
    e->len += rw_varint_put(e->buf + e->len, v);
    return 0;
  }
  /* Near the end of the buffer: the exact size may still fit. */
  uint8_t tmp[ROAM_VARINT_MAX_U64];
  return roam_enc_raw(e, tmp, rw_varint_put(tmp, v));
}

int roam_enc_u8(roam_enc *e, uint8_t v) {
  if (enc_room(e, 1)) return e->err;
  e->buf[e->len++] = v;
  return 0;
}

int roam_enc_u16(roam_enc *e, uint16_t v) { return roam_enc_varint(e, v); }
int roam_enc_u32(roam_enc *e, uint32_t v) { return roam_enc_varint(e, v); }
int roam_enc_u64(roam_enc *e, uint64_t v) { return roam_enc_varint(e, v); }
int roam_enc_usize(roam_enc *e, size_t v) { return roam_enc_varint(e, (uint64_t)v); }

int roam_enc_u128(roam_enc *e, roam_u128 v) {
  uint8_t tmp[ROAM_VARINT_MAX_U128];
  size_t k = 0;
  uint64_t lo = v.lo, hi = v.hi;
  for (;;) {
    uint8_t b = (uint8_t)(lo & 0x7f);
    lo = (lo >> 7) | (hi << 57);
    hi >>= 7;
    if (lo == 0 && hi == 0) {
      tmp[k++] = b;
      break;
    }
    tmp[k++] = (uint8_t)(b | 0x80);
  }
  return roam_enc_raw(e, tmp, k);
}

/* Zigzag: (n << 1) ^ (n >> (bits-1)), computed on unsigned values. */
static inline uint64_t zigzag64(int64_t v) {
  uint64_t u = (uint64_t)v;
  return (u << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

int roam_enc_i8(roam_enc *e, int8_t v) { return roam_enc_u8(e, (uint8_t)v); }
int roam_enc_i16(roam_enc *e, int16_t v) { return roam_enc_varint(e, zigzag64(v)); }
int roam_enc_i32(roam_enc *e, int32_t v) { return roam_enc_varint(e, zigzag64(v)); }
int roam_enc_i64(roam_enc *e, int64_t v) { return roam_enc_varint(e, zigzag64(v)); }

int roam_enc_i128(roam_enc *e, roam_u128 v) {
  /* sign = all ones when the top bit is set */
  uint64_t sign = (v.hi >> 63) ? UINT64_MAX : 0;
  roam_u128 z;
  z.hi = ((v.hi << 1) | (v.lo >> 63)) ^ sign;
  z.lo = (v.lo << 1) ^ sign;
  return roam_enc_u128(e, z);
}

int roam_enc_bool(roam_enc *e, bool v) { return roam_enc_u8(e, v ? 1 : 0); }

int roam_enc_f32(roam_enc *e, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
  return roam_enc_raw(e, b, 4);
}

int roam_enc_f64(roam_enc *e, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(u >> (8 * i));
  return roam_enc_raw(e, b, 8);
}

/* UTF-8 encoding of a scalar value; 0 if it is not one. */
static size_t utf8_put(uint8_t *o, uint32_t c) {
  if (c < 0x80) {
    o[0] = (uint8_t)c;
    return 1;
  }
  if (c < 0x800) {
    o[0] = (uint8_t)(0xC0 | (c >> 6));
    o[1] = (uint8_t)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c >= 0xD800 && c <= 0xDFFF) return 0;
  if (c < 0x10000) {
    o[0] = (uint8_t)(0xE0 | (c >> 12));
    o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
    o[2] = (uint8_t)(0x80 | (c & 0x3f));
    return 3;
  }
  if (c > 0x10FFFF) return 0;
  o[0] = (uint8_t)(0xF0 | (c >> 18));
  o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
  o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
  o[3] = (uint8_t)(0x80 | (c & 0x3f));
  return 4;
}

int roam_enc_char(roam_enc *e, uint32_t codepoint) {
  if (e->err) return e->err;
  uint8_t tmp[5];
  size_t k = utf8_put(tmp + 1, codepoint);
  if (k == 0) {
    e->err = ROAM_ERR_BAD_CHAR;
    return e->err;
  }
  tmp[0] = (uint8_t)k;
  return roam_enc_raw(e, tmp, k + 1);
}

static int enc_lenbytes(roam_enc *e, const void *p, size_t len) {
  size_t need = rw_varint_size(len) + len;
  if (need < len) { /* overflow */
    if (!e->err) e->err = ROAM_ERR_INVALID_ARG;
    return e->err;
  }
  if (enc_room(e, need)) return e->err;
  uint8_t *o = e->buf + e->len;
  size_t k = rw_varint_put(o, len);
  if (len) memcpy(o + k, p, len);
  e->len += k + len;
  return 0;
}

int roam_enc_str(roam_enc *e, const char *s, size_t len) {
  if (e->err) return e->err;
  if (len && (s == NULL || !roam__utf8_valid((const uint8_t *)s, len))) {
    e->err = s == NULL ? ROAM_ERR_INVALID_ARG : ROAM_ERR_BAD_UTF8;
    return e->err;
  }
  return enc_lenbytes(e, s, len);
}

int roam_enc_cstr(roam_enc *e, const char *s) {
  if (s == NULL) {
    if (!e->err) e->err = ROAM_ERR_INVALID_ARG;
    return e->err;
  }
  return roam_enc_str(e, s, strlen(s));
}

int roam_enc_bytes(roam_enc *e, const void *p, size_t len) {
  if (e->err) return e->err;
  if (len && p == NULL) {
    e->err = ROAM_ERR_INVALID_ARG;
    return e->err;
  }
  return enc_lenbytes(e, p, len);
}

int roam_enc_len(roam_enc *e, size_t n) { return roam_enc_varint(e, (uint64_t)n); }
int roam_enc_variant(roam_enc *e, uint32_t index) { return roam_enc_varint(e, index); }
int roam_enc_none(roam_enc *e) { return roam_enc_u8(e, 0); }
int roam_enc_some(roam_enc *e) { return roam_enc_u8(e, 1); }

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

static const uint8_t dec_empty[1] = {0};

void roam_dec_init(roam_dec *d, const void *buf, size_t len) {
  /* Never a NULL cursor: even pointer arithmetic by 0 on NULL is UB. */
  if (buf == NULL) {
    buf = dec_empty;
    len = 0;
  }
  d->p = (const uint8_t *)buf;
  d->end = d->p + len;
  d->err = 0;
}

int roam_dec_finish(roam_dec *d) {
  if (d->err) return d->err;
  if (d->p != d->end) return ROAM_ERR_TRAILING;
  return 0;
}

static RW_NOINLINE int dec_fail(roam_dec *d, int err) {
  if (!d->err) d->err = err;
  return d->err;
}

/* Read a varint with the given limits into *out (0 on failure). */
static RW_INLINE int dec_var(roam_dec *d, uint64_t *out, unsigned max_bytes, unsigned last_max) {
  *out = 0;
  if (RW_UNLIKELY(d->err)) return d->err;
  const uint8_t *p = d->p;
  if (RW_LIKELY(p < d->end) && RW_LIKELY(p[0] < 0x80)) {
    *out = p[0];
    d->p = p + 1;
    return 0;
  }
  rw_vres r = roam__varint_slow(p, d->end, max_bytes, last_max);
  if (r.n == 0 || r.n == RW_VBAD) return dec_fail(d, rw_verr(r.n));
  *out = r.v;
  d->p = p + r.n;
  return 0;
}

int roam_dec_varint(roam_dec *d, uint64_t *out) {
  return dec_var(d, out, ROAM_VARINT_MAX_U64, 0x01);
}

int roam_dec_u64(roam_dec *d, uint64_t *out) {
  return dec_var(d, out, ROAM_VARINT_MAX_U64, 0x01);
}

int roam_dec_u32(roam_dec *d, uint32_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U32, 0x0f);
  *out = (uint32_t)v;
  return rc;
}

int roam_dec_u16(roam_dec *d, uint16_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U16, 0x03);
  *out = (uint16_t)v;
  return rc;
}

int roam_dec_usize(roam_dec *d, size_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U64, 0x01);
#if SIZE_MAX < UINT64_MAX
  if (rc == 0 && v > SIZE_MAX) {
    v = 0;
    rc = dec_fail(d, ROAM_ERR_VARINT);
  }
#endif
  *out = (size_t)v;
  return rc;
}

int roam_dec_u128(roam_dec *d, roam_u128 *out) {
  out->lo = out->hi = 0;
  if (d->err) return d->err;
  uint64_t lo = 0, hi = 0;
  const uint8_t *p = d->p;
  for (unsigned i = 0; i < ROAM_VARINT_MAX_U128; i++) {
    if (p + i >= d->end) return dec_fail(d, ROAM_ERR_TRUNCATED);
    uint8_t b = p[i];
    /* 18 * 7 = 126 bits before the last byte: two bits remain. */
    if (i == ROAM_VARINT_MAX_U128 - 1 && b > 0x03) return dec_fail(d, ROAM_ERR_VARINT);
    uint64_t g = (uint64_t)(b & 0x7f);
    unsigned shift = 7 * i;
    if (shift < 64) {
      lo |= g << shift;
      if (shift > 57) hi |= g >> (64 - shift);
    } else {
      hi |= g << (shift - 64);
    }
    if (!(b & 0x80)) {
      d->p = p + i + 1;
      out->lo = lo;
      out->hi = hi;
      return 0;
    }
  }
  return dec_fail(d, ROAM_ERR_VARINT);
}

int roam_dec_u8(roam_dec *d, uint8_t *out) {
  *out = 0;
  if (d->err) return d->err;
  if (d->p >= d->end) return dec_fail(d, ROAM_ERR_TRUNCATED);
  *out = *d->p++;
  return 0;
}

int roam_dec_i8(roam_dec *d, int8_t *out) {
  uint8_t u;
  int rc = roam_dec_u8(d, &u);
  *out = u < 0x80 ? (int8_t)u : (int8_t)((int)u - 256);
  return rc;
}

/* Zigzag decoding, without signed overflow: (u >> 1) ^ -(u & 1). */
static inline int64_t unzigzag64(uint64_t u) {
  uint64_t x = (u >> 1) ^ (UINT64_C(0) - (u & 1));
  /* Convert the two's complement bit pattern without implementation-
   * defined behaviour. */
  if (x <= (uint64_t)INT64_MAX) return (int64_t)x;
  return -(int64_t)(UINT64_MAX - x) - 1;
}

int roam_dec_i16(roam_dec *d, int16_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U16, 0x03);
  *out = (int16_t)unzigzag64(v);
  return rc;
}

int roam_dec_i32(roam_dec *d, int32_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U32, 0x0f);
  *out = (int32_t)unzigzag64(v);
  return rc;
}

int roam_dec_i64(roam_dec *d, int64_t *out) {
  uint64_t v;
  int rc = dec_var(d, &v, ROAM_VARINT_MAX_U64, 0x01);
  *out = unzigzag64(v);
  return rc;
}

int roam_dec_i128(roam_dec *d, roam_u128 *out) {
  roam_u128 z;
  int rc = roam_dec_u128(d, &z);
  uint64_t neg = (z.lo & 1) ? UINT64_MAX : 0;
  out->lo = ((z.lo >> 1) | (z.hi << 63)) ^ neg;
  out->hi = (z.hi >> 1) ^ neg;
  return rc;
}

int roam_dec_bool(roam_dec *d, bool *out) {
  *out = false;
  if (d->err) return d->err;
  if (d->p >= d->end) return dec_fail(d, ROAM_ERR_TRUNCATED);
  uint8_t b = *d->p;
  if (b > 1) return dec_fail(d, ROAM_ERR_BAD_BOOL);
  d->p++;
  *out = b == 1;
  return 0;
}

int roam_dec_f32(roam_dec *d, float *out) {
  *out = 0;
  if (d->err) return d->err;
  if (d->end - d->p < 4) return dec_fail(d, ROAM_ERR_TRUNCATED);
  const uint8_t *p = d->p;
  uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
               ((uint32_t)p[3] << 24);
  memcpy(out, &u, 4);
  d->p += 4;
  return 0;
}

int roam_dec_f64(roam_dec *d, double *out) {
  *out = 0;
  if (d->err) return d->err;
  if (d->end - d->p < 8) return dec_fail(d, ROAM_ERR_TRUNCATED);
  uint64_t u = 0;
  for (int i = 7; i >= 0; i--) u = (u << 8) | d->p[i];
  memcpy(out, &u, 8);
  d->p += 8;
  return 0;
}

/* Length prefix then that many bytes, as a view. */
static RW_INLINE int dec_lenview(roam_dec *d, roam_bytes *out) {
  out->ptr = NULL;
  out->len = 0;
  const uint8_t *start = d->p;
  uint64_t n;
  if (dec_var(d, &n, ROAM_VARINT_MAX_U64, 0x01)) return d->err;
  if (n > (uint64_t)(d->end - d->p)) {
    d->p = start; /* a failed read leaves the cursor where it was */
    return dec_fail(d, ROAM_ERR_TRUNCATED);
  }
  out->ptr = d->p;
  out->len = (size_t)n;
  d->p += n;
  return 0;
}

int roam_dec_bytes(roam_dec *d, roam_bytes *out) { return dec_lenview(d, out); }

int roam_dec_str(roam_dec *d, roam_bytes *out) {
  const uint8_t *start = d->p;
  if (dec_lenview(d, out)) return d->err;
  if (!roam__utf8_valid(out->ptr, out->len)) {
    d->p = start;
    out->ptr = NULL;
    out->len = 0;
    return dec_fail(d, ROAM_ERR_BAD_UTF8);
  }
  return 0;
}

int roam_dec_char(roam_dec *d, uint32_t *codepoint) {
  *codepoint = 0;
  const uint8_t *start = d->p;
  roam_bytes s;
  if (dec_lenview(d, &s)) return d->err;
  /* Exactly one scalar value, well-formed, in 1..4 bytes. */
  const uint8_t *p = s.ptr;
  uint32_t c = 0;
  size_t need = 0;
  if (s.len >= 1 && s.len <= 4) {
    uint8_t b0 = p[0];
    if (b0 < 0x80) {
      c = b0;
      need = 1;
    } else if (b0 >= 0xC0 && b0 < 0xE0) {
      c = b0 & 0x1f;
      need = 2;
    } else if (b0 >= 0xE0 && b0 < 0xF0) {
      c = b0 & 0x0f;
      need = 3;
    } else if (b0 >= 0xF0 && b0 < 0xF8) {
      c = b0 & 0x07;
      need = 4;
    }
  }
  int ok = need != 0 && need == s.len;
  for (size_t i = 1; ok && i < need; i++) {
    if (!is_cont(p[i])) ok = 0;
    c = (c << 6) | (p[i] & 0x3f);
  }
  if (ok) {
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min_for_len[need] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) ok = 0;
  }
  if (!ok) {
    d->p = start;
    return dec_fail(d, ROAM_ERR_BAD_CHAR);
  }
  *codepoint = c;
  return 0;
}

int roam_dec_len_any(roam_dec *d, size_t *out) { return roam_dec_usize(d, out); }

int roam_dec_len(roam_dec *d, size_t *out) {
  const uint8_t *start = d->p;
  int rc = roam_dec_usize(d, out);
  if (rc) return rc;
  if (*out > (size_t)(d->end - d->p)) {
    *out = 0;
    d->p = start;
    return dec_fail(d, ROAM_ERR_TRUNCATED);
  }
  return 0;
}

int roam_dec_variant(roam_dec *d, uint32_t *index) { return roam_dec_u32(d, index); }

int roam_dec_option(roam_dec *d, bool *is_some) {
  *is_some = false;
  if (d->err) return d->err;
  if (d->p >= d->end) return dec_fail(d, ROAM_ERR_TRUNCATED);
  uint8_t b = *d->p;
  if (b > 1) return dec_fail(d, ROAM_ERR_DECODE);
  d->p++;
  *is_some = b == 1;
  return 0;
}

int roam_dec_raw(roam_dec *d, size_t n, roam_bytes *out) {
  out->ptr = NULL;
  out->len = 0;
  if (d->err) return d->err;
  if (n > (size_t)(d->end - d->p)) return dec_fail(d, ROAM_ERR_TRUNCATED);
  out->ptr = d->p;
  out->len = n;
  d->p += n;
  return 0;
}
