/*
 * roam-c wire layer: the postcard value codec (PROTOCOL.md §2).
 *
 * Encoder: write values one after another into a caller buffer (fixed) or a
 * buffer that grows through the roam_mem hooks. Errors are sticky: after the
 * first failure every further write is a no-op and roam_enc_error() (and
 * every write's return value) reports it, so a long sequence of writes can be
 * checked once at the end.
 *
 *     uint8_t buf[64];
 *     roam_enc e;
 *     roam_enc_init(&e, buf, sizeof buf);
 *     roam_enc_i64(&e, 42);
 *     roam_enc_cstr(&e, "hello");
 *     if (roam_enc_error(&e)) ...;      // roam_enc_size(&e) bytes are in buf
 *
 * Decoder: a bounds-checked cursor over a byte range. Reads never go past the
 * end; errors are sticky as above; strings and byte strings are returned as
 * views into the input (zero copy). roam_dec_finish() also rejects trailing
 * bytes.
 *
 *     roam_dec d;
 *     roam_dec_init(&d, payload, len);
 *     int64_t a, b;
 *     roam_dec_i64(&d, &a);
 *     roam_dec_i64(&d, &b);
 *     if (roam_dec_finish(&d) != 0) ...;  // malformed
 *
 * Thread-safety: encoder and decoder objects are plain values; use each from
 * one thread at a time. The structures are public only so that they can live
 * on the stack: treat their fields as read-only.
 */
#ifndef ROAM_POSTCARD_H
#define ROAM_POSTCARD_H

#include <stdbool.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 128-bit integers as two 64-bit halves (two's complement for i128). */
typedef struct roam_u128 {
  uint64_t lo;
  uint64_t hi;
} roam_u128;

/* Largest encoded size of a varint of each width. */
#define ROAM_VARINT_MAX_U16 3
#define ROAM_VARINT_MAX_U32 5
#define ROAM_VARINT_MAX_U64 10
#define ROAM_VARINT_MAX_U128 19

/* ------------------------------------------------------------------ */
/* Encoder                                                             */
/* ------------------------------------------------------------------ */

typedef struct roam_enc {
  uint8_t *buf;  /* the bytes written so far start here */
  size_t len;    /* number of bytes written */
  size_t cap;    /* capacity of buf */
  int err;       /* sticky error, 0 while all is well */
  int growable;  /* nonzero when buf is owned and grown through mem */
  roam_mem mem;
} roam_enc;

/* Write into a fixed caller buffer; overflow gives ROAM_ERR_BUFFER_FULL. */
ROAM_EXTERN void roam_enc_init(roam_enc *e, void *buf, size_t cap);
/* Write into an owned buffer that grows as needed (mem NULL = libc). */
ROAM_EXTERN void roam_enc_init_growable(roam_enc *e, const roam_mem *mem);
/* Forget the contents and the error; keeps the buffer. */
ROAM_EXTERN void roam_enc_reset(roam_enc *e);
/* Release a growable encoder's buffer (no-op for a fixed one). */
ROAM_EXTERN void roam_enc_free(roam_enc *e);
/* Take ownership of a growable encoder's buffer (free it with the same
 * roam_mem). Returns NULL if nothing was written or on error. */
ROAM_EXTERN uint8_t *roam_enc_detach(roam_enc *e, size_t *len);
static inline int roam_enc_error(const roam_enc *e) { return e->err; }
static inline const uint8_t *roam_enc_data(const roam_enc *e) { return e->buf; }
/* Number of bytes written so far. (Named _size because roam_enc_len below
 * writes a sequence length, mirroring roam_dec_len.) */
static inline size_t roam_enc_size(const roam_enc *e) { return e->len; }

/* Ensure room for n more bytes and return where they go (NULL on error).
 * Advance with roam_enc_commit(). Used to write a value in place. */
ROAM_EXTERN uint8_t *roam_enc_reserve(roam_enc *e, size_t n);
ROAM_EXTERN void roam_enc_commit(roam_enc *e, size_t n);

ROAM_EXTERN int roam_enc_raw(roam_enc *e, const void *p, size_t n);
ROAM_EXTERN int roam_enc_varint(roam_enc *e, uint64_t v);
ROAM_EXTERN int roam_enc_u8(roam_enc *e, uint8_t v);
ROAM_EXTERN int roam_enc_u16(roam_enc *e, uint16_t v);
ROAM_EXTERN int roam_enc_u32(roam_enc *e, uint32_t v);
ROAM_EXTERN int roam_enc_u64(roam_enc *e, uint64_t v);
ROAM_EXTERN int roam_enc_u128(roam_enc *e, roam_u128 v);
ROAM_EXTERN int roam_enc_usize(roam_enc *e, size_t v);
ROAM_EXTERN int roam_enc_i8(roam_enc *e, int8_t v);
ROAM_EXTERN int roam_enc_i16(roam_enc *e, int16_t v);
ROAM_EXTERN int roam_enc_i32(roam_enc *e, int32_t v);
ROAM_EXTERN int roam_enc_i64(roam_enc *e, int64_t v);
ROAM_EXTERN int roam_enc_i128(roam_enc *e, roam_u128 v);
ROAM_EXTERN int roam_enc_bool(roam_enc *e, bool v);
ROAM_EXTERN int roam_enc_f32(roam_enc *e, float v);
ROAM_EXTERN int roam_enc_f64(roam_enc *e, double v);
/* A Unicode scalar value (not a surrogate, <= 0x10FFFF), as a 1-char string. */
ROAM_EXTERN int roam_enc_char(roam_enc *e, uint32_t codepoint);
/* A String: the bytes must be valid UTF-8 (checked: ROAM_ERR_BAD_UTF8). */
ROAM_EXTERN int roam_enc_str(roam_enc *e, const char *s, size_t len);
ROAM_EXTERN int roam_enc_cstr(roam_enc *e, const char *s);
/* Bytes (Vec<u8>): length then the bytes. */
ROAM_EXTERN int roam_enc_bytes(roam_enc *e, const void *p, size_t len);
/* Element count of a sequence, set or map (number of pairs). */
ROAM_EXTERN int roam_enc_len(roam_enc *e, size_t n);
/* Enum variant index (also Result: Ok = 0, Err = 1). */
ROAM_EXTERN int roam_enc_variant(roam_enc *e, uint32_t index);
/* Option tags: write roam_enc_some() then the value, or roam_enc_none(). */
ROAM_EXTERN int roam_enc_none(roam_enc *e);
ROAM_EXTERN int roam_enc_some(roam_enc *e);

/* Size of the varint encoding of v (1..10). */
ROAM_EXTERN size_t roam_varint_size(uint64_t v);
/* Write the varint of v at p (room for ROAM_VARINT_MAX_U64), return length. */
ROAM_EXTERN size_t roam_varint_put(uint8_t *p, uint64_t v);

/* ------------------------------------------------------------------ */
/* Decoder                                                             */
/* ------------------------------------------------------------------ */

typedef struct roam_dec {
  const uint8_t *p;   /* next byte to read */
  const uint8_t *end; /* one past the last byte */
  int err;            /* sticky error */
} roam_dec;

ROAM_EXTERN void roam_dec_init(roam_dec *d, const void *buf, size_t len);
static inline int roam_dec_error(const roam_dec *d) { return d->err; }
static inline size_t roam_dec_remaining(const roam_dec *d) {
  return (size_t)(d->end - d->p);
}
/* 0 if no error and every byte was consumed, ROAM_ERR_TRAILING if bytes
 * remain, or the sticky error. */
ROAM_EXTERN int roam_dec_finish(roam_dec *d);

/* Each returns 0 or a negative error; on error the output is zeroed. */
ROAM_EXTERN int roam_dec_varint(roam_dec *d, uint64_t *out);
ROAM_EXTERN int roam_dec_u8(roam_dec *d, uint8_t *out);
ROAM_EXTERN int roam_dec_u16(roam_dec *d, uint16_t *out);
ROAM_EXTERN int roam_dec_u32(roam_dec *d, uint32_t *out);
ROAM_EXTERN int roam_dec_u64(roam_dec *d, uint64_t *out);
ROAM_EXTERN int roam_dec_u128(roam_dec *d, roam_u128 *out);
ROAM_EXTERN int roam_dec_usize(roam_dec *d, size_t *out);
ROAM_EXTERN int roam_dec_i8(roam_dec *d, int8_t *out);
ROAM_EXTERN int roam_dec_i16(roam_dec *d, int16_t *out);
ROAM_EXTERN int roam_dec_i32(roam_dec *d, int32_t *out);
ROAM_EXTERN int roam_dec_i64(roam_dec *d, int64_t *out);
ROAM_EXTERN int roam_dec_i128(roam_dec *d, roam_u128 *out);
ROAM_EXTERN int roam_dec_bool(roam_dec *d, bool *out);
ROAM_EXTERN int roam_dec_f32(roam_dec *d, float *out);
ROAM_EXTERN int roam_dec_f64(roam_dec *d, double *out);
ROAM_EXTERN int roam_dec_char(roam_dec *d, uint32_t *codepoint);
/* A String as a view into the input, validated as UTF-8. */
ROAM_EXTERN int roam_dec_str(roam_dec *d, roam_bytes *out);
/* Bytes as a view into the input. */
ROAM_EXTERN int roam_dec_bytes(roam_dec *d, roam_bytes *out);
/* Element count of a sequence/set/map. Rejects (ROAM_ERR_TRUNCATED) a count
 * larger than the remaining input, since every element of a non-empty type
 * takes at least one byte; use roam_dec_len_any() for zero-sized elements. */
ROAM_EXTERN int roam_dec_len(roam_dec *d, size_t *out);
ROAM_EXTERN int roam_dec_len_any(roam_dec *d, size_t *out);
ROAM_EXTERN int roam_dec_variant(roam_dec *d, uint32_t *index);
/* Option tag: *is_some = false for 0x00, true for 0x01, else ROAM_ERR_DECODE. */
ROAM_EXTERN int roam_dec_option(roam_dec *d, bool *is_some);
/* Take n raw bytes as a view. */
ROAM_EXTERN int roam_dec_raw(roam_dec *d, size_t n, roam_bytes *out);

/* Validate UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
ROAM_EXTERN bool roam_utf8_valid(const uint8_t *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_POSTCARD_H */
