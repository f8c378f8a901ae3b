/*
 * COBS framing for byte streams (PROTOCOL.md §4).
 *
 * Encoding follows the reference `cobs` crate exactly: a block closes at a
 * zero byte or after 254 non-zero bytes (code 0xFF, no implied zero); after
 * a 0xFF block a new block always starts, so 254 non-zero bytes at the end
 * of the input are followed by a final code byte 0x01.
 *
 * Zero bytes are found with memchr and long runs are copied with memcpy
 * (vectorised in the C library), or, when encoding on a CPU with AVX2,
 * searched and copied in one pass (memchr then memcpy is two calls and two
 * passes per block: encoding 64 KiB took 20-40% longer). When decoding,
 * full 254-byte blocks are copied with a constant size, which the compiler
 * inlines: there the call cost more than the copy (decoding 64 KiB took
 * 18% longer).
 */
#include <roam/cobs.h>

#include <stdbool.h>
#include <string.h>

#include "common/mem.h"
#include "wire/wire_internal.h"

/* ------------------------------------------------------------------ */
/* Encoding                                                            */
/* ------------------------------------------------------------------ */

void roam_cobs_stream_begin(roam_cobs_stream *s, uint8_t *out) {
  s->out = out;
  s->code_pos = 0;
  s->pos = 1;
}

/* Word-at-a-time zero search needs little-endian byte order (the lowest set
 * bit of the mask marks the first zero byte) and a count-trailing-zeros. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    (defined(__GNUC__) || defined(__clang__))
#define RW_WORDS 1
#else
#define RW_WORDS 0
#endif

/* On x86-64, long runs are copied and searched 32 bytes a step with AVX2
 * when the CPU has it (chosen at run time; the build stays generic). */
#if RW_WORDS && defined(__x86_64__)
#include <immintrin.h>
#define RW_AVX2 1
#else
#define RW_AVX2 0
#endif

int roam__cobs_simd = 1;

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* Nonzero iff a byte of v is zero; its lowest set bit is in the first zero
 * byte (bits above it may be false positives, never bits below). */
static inline uint64_t zero_bytes(uint64_t v) { return (v - ONES) & ~v & HIGHS; }

/* The high bit of every zero byte of v, and nothing else. */
static inline uint64_t exact_zero_bytes(uint64_t v) {
  const uint64_t lows = ~HIGHS; /* 0x7f7f... */
  return ~(((v & lows) + lows) | v) & HIGHS;
}

/* Position of the first zero in p[0..n), or n. */
static RW_INLINE size_t find_zero(const uint8_t *p, size_t n) {
  const uint8_t *z = (const uint8_t *)memchr(p, 0, n);
  return z ? (size_t)(z - p) : n;
}

#if RW_AVX2
/* The rest of a long run, from k (bytes before k hold no zero; take - k >
 * 64): copy until the first zero or take, one pass instead of memchr then
 * memcpy. Returns the position of the zero, or take. */
__attribute__((target("avx2"))) static size_t long_run_avx2(uint8_t *o, const uint8_t *p,
                                                            size_t k, size_t take) {
  const __m256i zero = _mm256_setzero_si256();
  while (take - k >= 32) {
    __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + k));
    _mm256_storeu_si256((__m256i *)(void *)(o + k), v);
    unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero));
    if (m) return k + (size_t)__builtin_ctz(m);
    k += 32;
  }
  if (k == take) return take;
  /* the last step overlaps the previous one, whose bytes hold no zero */
  size_t at = take - 32;
  __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(p + at));
  _mm256_storeu_si256((__m256i *)(void *)(o + at), v);
  unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero));
  return m ? at + (size_t)__builtin_ctz(m) : take;
}
#endif

/*
 * Copy up to `take` bytes from p to o, stopping at the first zero; returns
 * how many non-zero bytes were copied (== take when there is no zero).
 * The caller guarantees that o[0..take) may be written. Short runs are found
 * eight bytes at a time (copying ahead is harmless: those output bytes are
 * rewritten later); long ones are handed to memchr and memcpy.
 */
static RW_INLINE size_t copy_run(uint8_t *o, const uint8_t *p, size_t take) {
  size_t k = 0;
#if RW_WORDS
  while (take - k >= 8) {
    uint64_t w = load64(p + k);
    uint64_t z = zero_bytes(w);
    memcpy(o + k, &w, 8);
    if (z) return k + ((size_t)__builtin_ctzll(z) >> 3);
    k += 8;
    if (k == 32 && take - k > 64) { /* a long run */
#if RW_AVX2
      if (roam__cobs_simd && __builtin_cpu_supports("avx2")) return long_run_avx2(o, p, k, take);
#endif
      size_t r = k + find_zero(p + k, take - k); /* vectorised C library */
      memcpy(o + k, p + k, r - k);
      return r;
    }
  }
  for (; k < take; k++) {
    if (p[k] == 0) return k;
    o[k] = p[k];
  }
  return take;
#else
  k = find_zero(p, take);
  memcpy(o, p, k);
  return k;
#endif
}

void roam_cobs_stream_write(roam_cobs_stream *s, const uint8_t *p, size_t n) {
  uint8_t *out = s->out;
  size_t pos = s->pos, code = s->code_pos;
#if RW_WORDS
  /* While no block can fill up within the next 8 bytes (headers, small
   * values, data with frequent zeros), every byte keeps its place (input i
   * goes to output pos + i) and each zero simply becomes the code byte of
   * the block it starts: 8 bytes are copied at once and only the zeros
   * among them are visited. Long zero-free runs leave this loop when their
   * block nears 254 bytes; the loop below does the rest. */
  while (n >= 8 && pos - code + 8 <= 254) {
    uint64_t w = load64(p);
    memcpy(out + pos, &w, 8);
    uint64_t z = exact_zero_bytes(w);
    while (z) {
      size_t zp = pos + ((size_t)__builtin_ctzll(z) >> 3);
      out[code] = (uint8_t)(zp - code);
      code = zp;
      z &= z - 1;
    }
    pos += 8;
    p += 8;
    n -= 8;
  }
#endif
  while (n) {
    size_t room = 254 - (pos - code - 1); /* the block holds 0..253 bytes */
    size_t take = n < room ? n : room;
    size_t k = copy_run(out + pos, p, take);
    pos += k;
    if (k < take) { /* a zero ends the block */
      out[code] = (uint8_t)(pos - code);
      code = pos++;
      p += k + 1;
      n -= k + 1;
    } else {
      p += k;
      n -= k;
      if (pos - code == 255) { /* 254 data bytes: a full block */
        out[code] = 0xFF;
        code = pos++;
      }
    }
  }
  s->pos = pos;
  s->code_pos = code;
}

#if RW_WORDS
/* Small frames (n <= ROAM__COBS_SMALL_MAX): no block can fill up, so every
 * input byte i keeps its place (output 1 + i) and each zero becomes the code
 * byte of the block it starts. Eight bytes are copied at once and only the
 * zeros are visited; the last word is masked to the n bytes. */
size_t roam__cobs_encode_small(const uint8_t *in, size_t n, uint8_t *out) {
  size_t code = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t w = load64(in + i);
    memcpy(out + 1 + i, &w, 8);
    uint64_t z = exact_zero_bytes(w);
    if (n - i < 8) z &= (UINT64_C(1) << (8 * (n - i))) - 1;
    while (z) {
      size_t zp = 1 + i + ((size_t)__builtin_ctzll(z) >> 3);
      out[code] = (uint8_t)(zp - code);
      code = zp;
      z &= z - 1;
    }
  }
  out[code] = (uint8_t)(n + 1 - code);
  return n + 1;
}
#else
size_t roam__cobs_encode_small(const uint8_t *in, size_t n, uint8_t *out) {
  return roam_cobs_encode(in, n, out);
}
#endif

size_t roam_cobs_stream_end(roam_cobs_stream *s) {
  s->out[s->code_pos] = (uint8_t)(s->pos - s->code_pos);
  return s->pos;
}

size_t roam_cobs_encode(const uint8_t *in, size_t n, uint8_t *out) {
  roam_cobs_stream s;
  roam_cobs_stream_begin(&s, out);
  if (n) roam_cobs_stream_write(&s, in, n);
  return roam_cobs_stream_end(&s);
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* Copy a run that may overlap (in-place decoding moves data left). */
static RW_INLINE void move_run(uint8_t *dst, const uint8_t *src, size_t n) {
  if (n <= 16) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
  } else {
    memmove(dst, src, n);
  }
}

/* In place (out == in): exact moves only, every byte written is final. */
static int decode_inplace(uint8_t *buf, size_t n, size_t cap, size_t *out_len) {
  size_t i = 0, o = 0;
  while (i < n) {
    size_t code = buf[i];
    size_t run = code - 1;
    if (RW_UNLIKELY(run > n - i - 1)) return ROAM_ERR_COBS;
    if (RW_UNLIKELY(run > cap - o)) return ROAM_ERR_BUFFER_FULL;
    move_run(buf + o, buf + i + 1, run);
    o += run;
    i += code;
    if (i < n && code != 0xFF) {
      if (RW_UNLIKELY(o >= cap)) return ROAM_ERR_BUFFER_FULL;
      buf[o++] = 0;
    }
  }
  *out_len = o;
  return 0;
}

/*
 * Small frames with no full block before the end (every block but the last
 * ends with a zero, the common case for messages of a few hundred bytes): the
 * decoded frame is the input moved left by one byte, with a zero in place
 * of every code byte after the first. One copy, then a walk over the codes.
 * The codes are walked first, so that a frame with a full block (large
 * values) or a malformed one goes straight to the general loop. Returns
 * whether it decoded.
 */
static RW_INLINE bool decode_shifted(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                                    size_t *out_len) {
  if (n > 1024 || n - 1 > cap) return false; /* large frames: the general loop */
  size_t pos = 0;
  for (;;) {
    size_t code = in[pos];
    size_t next = pos + code;
    if (next >= n) {
      if (next != n) return false; /* the last run passes the end */
      break;
    }
    if (code == 0xFF) return false;
    pos = next;
  }
  memcpy(out, in + 1, n - 1);
  for (pos = in[0]; pos < n; pos += in[pos]) out[pos - 1] = 0;
  *out_len = n - 1;
  return true;
}

/* Separate buffers: short runs are copied 16 bytes at a time when both
 * sides have the room, which spares a branch per byte; the bytes written
 * past a run are rewritten by what follows (or lie past the end). */
static int decode_apart(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len) {
  if (decode_shifted(in, n, out, cap, out_len)) return 0;
  size_t i = 0, o = 0;
  while (i < n) {
    size_t code = in[i];
    size_t run = code - 1;
    const uint8_t *src = in + i + 1;
    if (RW_UNLIKELY(run > n - i - 1)) return ROAM_ERR_COBS;
    if (RW_UNLIKELY(run > cap - o)) return ROAM_ERR_BUFFER_FULL;
    if (run <= 16 && n - i - 1 >= 16 && cap - o >= 16) {
      memcpy(out + o, src, 16);
    } else if (run == 254) { /* a full block: a constant size, inlined */
      memcpy(out + o, src, 254);
    } else {
      memcpy(out + o, src, run);
    }
    o += run;
    i += code;
    if (i < n && code != 0xFF) {
      if (RW_UNLIKELY(o >= cap)) return ROAM_ERR_BUFFER_FULL;
      out[o++] = 0;
    }
  }
  *out_len = o;
  return 0;
}

int roam__cobs_decode_nz(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len) {
  if (n == 0) return ROAM_ERR_COBS;
  if (out == in) return decode_inplace(out, n, cap, out_len);
  return decode_apart(in, n, out, cap, out_len);
}

int roam_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len) {
  if (out_len) *out_len = 0;
  if (n == 0 || in == NULL) return ROAM_ERR_COBS;
  if (memchr(in, 0, n)) return ROAM_ERR_COBS;
  size_t len = 0;
  uint8_t dummy;
  if (out == NULL) { /* only an empty decoding fits */
    out = &dummy;
    cap = 0;
  }
  int rc = roam__cobs_decode_nz(in, n, out, cap, &len);
  if (rc == 0 && out_len) *out_len = len;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Deframer                                                            */
/* ------------------------------------------------------------------ */

/* The first zero of p[0..n), or NULL. Most frames are small and end within
 * a few words, where a memchr call costs more than the search itself. */
static RW_INLINE const uint8_t *find_delim(const uint8_t *p, size_t n) {
  size_t k = 0;
#if RW_WORDS
  for (; k < 64 && n - k >= 8; k += 8) {
    uint64_t z = zero_bytes(load64(p + k));
    if (z) return p + k + ((size_t)__builtin_ctzll(z) >> 3);
  }
#endif
  return (const uint8_t *)memchr(p + k, 0, n - k);
}

int roam_deframer_init(roam_deframer *d, size_t max_frame, const roam_mem *mem) {
  memset(d, 0, sizeof *d);
  roam__mem_set(&d->mem, mem);
  if (max_frame == 0) return ROAM_ERR_INVALID_ARG;
  d->max_frame = max_frame;
  return 0;
}

void roam_deframer_free(roam_deframer *d) {
  roam__free(&d->mem, d->buf);
  roam__free(&d->mem, d->out);
  d->buf = d->out = NULL;
  d->len = d->cap = d->out_cap = 0;
  d->skipping = 0;
}

void roam_deframer_trim(roam_deframer *d, size_t keep) {
  if (d->len == 0 && d->cap > keep) {
    roam__free(&d->mem, d->buf);
    d->buf = NULL;
    d->cap = 0;
  }
  if (d->out_cap > keep) {
    roam__free(&d->mem, d->out);
    d->out = NULL;
    d->out_cap = 0;
  }
}

#define GROW_STEP ((size_t)256 * 1024)

/* Grow *buf to hold at least need bytes (need <= max_frame), doubling but
 * never past max_frame. */
static int grow(roam_deframer *d, uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 256;
  /* doubling up to 256 KiB, then steps of 256 KiB: a frame held in part
   * reserves little more than it has (a runtime budgets this storage) */
  while (ncap < need) ncap = ncap >= GROW_STEP ? (ncap > SIZE_MAX - GROW_STEP ? need : ncap + GROW_STEP) : ncap * 2;
  if (ncap > d->max_frame) ncap = d->max_frame > need ? d->max_frame : need;
  /* The old contents of `out` never need keeping, those of `buf` do. */
  uint8_t *nb = (uint8_t *)roam__realloc(&d->mem, *buf, ncap);
  if (!nb) return ROAM_ERR_NOMEM;
  *buf = nb;
  *cap = ncap;
  return 0;
}

int roam_deframer_feed(roam_deframer *d, const uint8_t *in, size_t len, size_t *consumed,
                       roam_bytes *frame) {
  frame->ptr = NULL;
  frame->len = 0;
  *consumed = 0;
  if (len == 0) return 0;
  if (in == NULL) return ROAM_ERR_INVALID_ARG;

  size_t used = 0;
  if (d->skipping) { /* drop the rest of an oversized or failed frame */
    const uint8_t *z = (const uint8_t *)memchr(in, 0, len);
    if (!z) {
      *consumed = len;
      return 0;
    }
    used = (size_t)(z - in) + 1;
    d->skipping = 0;
    in += used;
    len -= used;
    if (len == 0) {
      *consumed = used;
      return 0;
    }
  }

  const uint8_t *z = find_delim(in, len);
  if (!z) { /* no delimiter yet: keep the bytes */
    *consumed = used + len;
    if (len > d->max_frame - d->len) {
      d->len = 0;
      d->skipping = 1;
      return ROAM_ERR_FRAME_TOO_LARGE;
    }
    if (grow(d, &d->buf, &d->cap, d->len + len)) {
      d->len = 0;
      d->skipping = 1;
      return ROAM_ERR_NOMEM;
    }
    memcpy(d->buf + d->len, in, len);
    d->len += len;
    return 0;
  }

  size_t k = (size_t)(z - in);
  *consumed = used + k + 1;
  size_t olen = 0;
  if (d->len == 0) {
    /* Fast path: the whole frame is in the input; decode from there. */
    if (k == 0) return ROAM_ERR_COBS;
    if (k > d->max_frame) return ROAM_ERR_FRAME_TOO_LARGE;
    if (grow(d, &d->out, &d->out_cap, k)) return ROAM_ERR_NOMEM;
    if (roam__cobs_decode_nz(in, k, d->out, d->out_cap, &olen)) return ROAM_ERR_COBS;
    frame->ptr = d->out;
    frame->len = olen;
    return 1;
  }

  /* The frame started in an earlier call: finish it in buf, decode in place. */
  size_t flen = d->len + k;
  d->len = 0;
  if (k > d->max_frame - (flen - k)) return ROAM_ERR_FRAME_TOO_LARGE;
  if (grow(d, &d->buf, &d->cap, flen)) return ROAM_ERR_NOMEM;
  memcpy(d->buf + (flen - k), in, k);
  if (roam__cobs_decode_nz(d->buf, flen, d->buf, flen, &olen)) return ROAM_ERR_COBS;
  frame->ptr = d->buf;
  frame->len = olen;
  return 1;
}
