/*
 * Internal fast paths of the wire layer, shared by postcard.c, message.c and
 * cobs.c. Not installed; nothing outside src/wire should need it.
 *
 * Varint readers work on a bare cursor (`p`, `end`) and return a small
 * structure in registers, so that the callers' cursors never have their
 * address taken and stay in registers on the hot paths.
 */
#ifndef ROAM_WIRE_INTERNAL_H
#define ROAM_WIRE_INTERNAL_H

#include <string.h>

#include <roam/cobs.h>
#include <roam/message.h>
#include <roam/postcard.h>

#if defined(__GNUC__) || defined(__clang__)
#define RW_LIKELY(x) __builtin_expect(!!(x), 1)
#define RW_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RW_NOINLINE __attribute__((noinline))
#define RW_INLINE inline __attribute__((always_inline))
#else
#define RW_LIKELY(x) (x)
#define RW_UNLIKELY(x) (x)
#define RW_NOINLINE
#define RW_INLINE inline
#endif

/* Result of reading one varint: n bytes consumed (n > 0), or n == 0 for
 * "input ended" and n == RW_VBAD for "too long or overflows the type". */
typedef struct rw_vres {
  uint64_t v;
  size_t n;
} rw_vres;
#define RW_VBAD ((size_t)-1)

/* Tests only: 0 makes the COBS encoder use its generic path even where
 * the CPU has a SIMD one. */
extern int roam__cobs_simd;

/* Out-of-line general case. max_bytes is the longest encoding of the type,
 * last_max the largest byte allowed in that last position (which also
 * forbids its continuation bit). */
rw_vres roam__varint_slow(const uint8_t *p, const uint8_t *end, unsigned max_bytes,
                          unsigned last_max);

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    (defined(__GNUC__) || defined(__clang__))
#define RW_LE_WORDS 1
#else
#define RW_LE_WORDS 0
#endif

/* Gather the low seven bits of each of the eight bytes of x (little-endian)
 * into the low 56 bits. */
static inline uint64_t rw_compact7(uint64_t x) {
  x &= UINT64_C(0x7f7f7f7f7f7f7f7f);
  x = (x & UINT64_C(0x007f007f007f007f)) | ((x & UINT64_C(0x7f007f007f007f00)) >> 1);
  x = (x & UINT64_C(0x00003fff00003fff)) | ((x & UINT64_C(0x3fff00003fff0000)) >> 2);
  x = (x & UINT64_C(0x000000000fffffff)) | ((x & UINT64_C(0x0fffffff00000000)) >> 4);
  return x;
}

static RW_INLINE rw_vres rw_varint64(const uint8_t *p, const uint8_t *end) {
  if (RW_LIKELY(p < end) && RW_LIKELY(p[0] < 0x80)) {
    rw_vres r = {p[0], 1};
    return r;
  }
#if RW_LE_WORDS
  /* Room for the longest encoding (message headers nearly always have it):
   * ids of 3+ bytes (request ids past 16 383, 64-bit method ids) are read
   * with one load and a bit trick, inline, with no loop. */
  if (RW_LIKELY(end - p >= ROAM_VARINT_MAX_U64)) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t stop = ~w & UINT64_C(0x8080808080808080);
    rw_vres r;
    if (RW_LIKELY(stop)) {
      uint64_t low = stop & (~stop + 1); /* the last byte's high bit */
      r.v = rw_compact7(w & (low | (low - 1)));
      r.n = ((size_t)__builtin_ctzll(stop) >> 3) + 1;
      return r;
    }
    /* nine or ten bytes: the tenth may only be 0 or 1 */
    r.v = rw_compact7(w) | ((uint64_t)(p[8] & 0x7f) << 56);
    if (!(p[8] & 0x80)) {
      r.n = 9;
    } else if (p[9] <= 0x01) {
      r.v |= (uint64_t)p[9] << 63;
      r.n = 10;
    } else {
      r.v = 0;
      r.n = RW_VBAD;
    }
    return r;
  }
#endif
  if (RW_LIKELY(end - p >= 2) && p[1] < 0x80) {
    rw_vres r = {(uint64_t)(p[0] & 0x7f) | ((uint64_t)p[1] << 7), 2};
    return r;
  }
  return roam__varint_slow(p, end, ROAM_VARINT_MAX_U64, 0x01);
}

static RW_INLINE rw_vres rw_varint32(const uint8_t *p, const uint8_t *end) {
  if (RW_LIKELY(p < end) && RW_LIKELY(p[0] < 0x80)) {
    rw_vres r = {p[0], 1};
    return r;
  }
  return roam__varint_slow(p, end, ROAM_VARINT_MAX_U32, 0x0f);
}

/* COBS-encode a small frame (n <= ROAM__COBS_SMALL_MAX) in one pass: in
 * must be readable up to n rounded up to 8 bytes, out writable for n + 9
 * bytes (bytes past the n + 1 returned are scratch). */
#define ROAM__COBS_SMALL_MAX 248
size_t roam__cobs_encode_small(const uint8_t *in, size_t n, uint8_t *out);

static inline int rw_verr(size_t n) {
  return n == 0 ? ROAM_ERR_TRUNCATED : ROAM_ERR_VARINT;
}

/* Varint writer: returns the number of bytes written (1..10). */
static RW_INLINE size_t rw_varint_put(uint8_t *p, uint64_t v) {
  if (RW_LIKELY(v < 0x80)) {
    p[0] = (uint8_t)v;
    return 1;
  }
  size_t i = 0;
  while (v >= 0x80) {
    p[i++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[i++] = (uint8_t)v;
  return i;
}

/* Spread the low 56 bits of v into the low seven bits of eight bytes. */
static inline uint64_t rw_spread7(uint64_t v) {
  uint64_t x = v & UINT64_C(0x00ffffffffffffff);
  x = (x & UINT64_C(0x000000000fffffff)) | ((x << 4) & UINT64_C(0x0fffffff00000000));
  x = (x & UINT64_C(0x00003fff00003fff)) | ((x << 2) & UINT64_C(0x3fff00003fff0000));
  x = (x & UINT64_C(0x007f007f007f007f)) | ((x << 1) & UINT64_C(0x7f007f007f007f00));
  return x;
}

static RW_INLINE size_t rw_varint_size(uint64_t v);

/* Varint writer for a destination with at least ROAM_VARINT_MAX_U64 bytes
 * of room: stores whole words (bytes past the varint are scratch). */
static RW_INLINE size_t rw_varint_put_wide(uint8_t *p, uint64_t v) {
  if (RW_LIKELY(v < 0x80)) {
    p[0] = (uint8_t)v;
    return 1;
  }
#if RW_LE_WORDS
  size_t n = rw_varint_size(v);
  uint64_t x = rw_spread7(v);
  if (n <= 8) {
    x |= UINT64_C(0x8080808080808080) & ((UINT64_C(1) << (8 * (n - 1))) - 1);
    memcpy(p, &x, 8);
    return n;
  }
  x |= UINT64_C(0x8080808080808080);
  memcpy(p, &x, 8);
  uint64_t hi = v >> 56;
  if (n == 9) {
    p[8] = (uint8_t)hi;
    return 9;
  }
  p[8] = (uint8_t)(hi | 0x80);
  p[9] = (uint8_t)(hi >> 7);
  return 10;
#else
  return rw_varint_put(p, v);
#endif
}

static RW_INLINE size_t rw_varint_size(uint64_t v) {
  /* 1 + floor(bit_length(v) - 1) / 7, with v == 0 taking one byte. */
#if defined(__GNUC__) || defined(__clang__)
  unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);
  return (bits + 6u) / 7u;
#else
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
#endif
}

/* UTF-8 check with an ASCII fast path (defined in postcard.c). */
bool roam__utf8_valid(const uint8_t *p, size_t len);

/* Decode a COBS frame known to contain no zero byte. */
int roam__cobs_decode_nz(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len);

#endif
