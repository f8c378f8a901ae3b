/*
 * COBS framing for byte streams (PROTOCOL.md §4).
 *
 * Encoding follows the reference `cobs` crate exactly: a block closes at a
 * zero byte or after 254 non-zero bytes (code 0xFF, no implied zero); after
 * a 0xFF block a new block always starts, so 254 non-zero bytes at the end
 * of the input are followed by a final code byte 0x01.
 *
 * Zero bytes are found with memchr and runs are moved with memcpy, so the
 * cost per byte is that of the C library's vectorised routines.
 */
#include <roam/cobs.h>

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

/* Position of the first zero in p[0..n), or n. Short ranges are scanned
 * inline (a call to memchr costs more than a few compares). */
static RW_INLINE size_t find_zero(const uint8_t *p, size_t n) {
  if (n <= 16) {
    for (size_t i = 0; i < n; i++)
      if (p[i] == 0) return i;
    return n;
  }
  const uint8_t *z = (const uint8_t *)memchr(p, 0, n);
  return z ? (size_t)(z - p) : n;
}

void roam_cobs_stream_write(roam_cobs_stream *s, const uint8_t *p, size_t n) {
  uint8_t *out = s->out;
  size_t pos = s->pos, code = s->code_pos;
  while (n) {
    size_t room = 254 - (pos - code - 1); /* the block holds 0..253 bytes */
    size_t take = n < room ? n : room;
    size_t k = find_zero(p, take);
    memcpy(out + pos, p, k);
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

int roam__cobs_decode_nz(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                         size_t *out_len) {
  if (n == 0) return ROAM_ERR_COBS;
  size_t i = 0, o = 0;
  while (i < n) {
    size_t code = in[i];
    size_t run = code - 1;
    if (RW_UNLIKELY(run > n - i - 1)) return ROAM_ERR_COBS;
    if (RW_UNLIKELY(run > cap - o)) return ROAM_ERR_BUFFER_FULL;
    move_run(out + o, in + i + 1, run);
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

int roam_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len) {
  if (out_len) *out_len = 0;
  if (n == 0 || in == NULL) return ROAM_ERR_COBS;
  if (memchr(in, 0, n)) return ROAM_ERR_COBS;
  size_t len = 0;
  int rc = roam__cobs_decode_nz(in, n, out, out ? cap : 0, &len);
  if (rc == 0 && out_len) *out_len = len;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Deframer                                                            */
/* ------------------------------------------------------------------ */

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

/* Grow *buf to hold at least need bytes (need <= max_frame), doubling but
 * never past max_frame. */
static int grow(roam_deframer *d, uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 256;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
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

  const uint8_t *z = (const uint8_t *)memchr(in, 0, len);
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
