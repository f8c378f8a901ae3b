/*
 * roam-c framing layer: COBS for byte streams (PROTOCOL.md §4).
 *
 * Each message travels as COBS(message) followed by one 0x00 delimiter.
 *
 * - roam_cobs_encode / roam_cobs_decode: one-shot, caller buffers.
 * - roam_cobs_stream_*: encode several pieces (a header, then a payload) as
 *   one frame without first joining them, so large payloads are copied once.
 * - roam_deframer: incremental decoder for a byte stream split anywhere, with
 *   a maximum frame size so that memory stays bounded whatever a peer sends.
 *
 * Thread-safety: pure functions; a deframer is used by one thread at a time.
 */
#ifndef ROAM_COBS_H
#define ROAM_COBS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest COBS encoding of n bytes, without the delimiter. */
static inline size_t roam_cobs_max_encoded(size_t n) { return n + n / 254 + 1; }

/* Encode n bytes; out needs roam_cobs_max_encoded(n) bytes (no delimiter is
 * written). Returns the encoded length. in and out must not overlap. */
ROAM_EXTERN size_t roam_cobs_encode(const uint8_t *in, size_t n, uint8_t *out);

/* Decode one frame (without its delimiter). out may equal in (in place).
 * Returns 0 and *out_len, ROAM_ERR_COBS for an invalid encoding (a zero byte,
 * a code running past the end, or empty input) or ROAM_ERR_BUFFER_FULL. */
ROAM_EXTERN int roam_cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                                 size_t *out_len);

/* Streaming encoder of one frame from several pieces. */
typedef struct roam_cobs_stream {
  uint8_t *out;    /* start of the frame */
  size_t pos;      /* next write position */
  size_t code_pos; /* where the current block's code byte goes */
} roam_cobs_stream;

/* out must have room for roam_cobs_max_encoded(total bytes of all pieces). */
ROAM_EXTERN void roam_cobs_stream_begin(roam_cobs_stream *s, uint8_t *out);
ROAM_EXTERN void roam_cobs_stream_write(roam_cobs_stream *s, const uint8_t *p, size_t n);
/* Finish the frame; returns its length (no delimiter written). */
ROAM_EXTERN size_t roam_cobs_stream_end(roam_cobs_stream *s);

/* Incremental deframer. Fields are private. */
typedef struct roam_deframer {
  uint8_t *buf;     /* raw (still encoded) bytes of a partial frame */
  size_t len;
  size_t cap;
  size_t max_frame; /* maximum encoded frame size, delimiter excluded */
  int skipping;     /* dropping bytes until the next delimiter */
  roam_mem mem;
  uint8_t *out;     /* decoded frame storage */
  size_t out_cap;
} roam_deframer;

/* max_frame: the longest encoded frame accepted (delimiter excluded). */
ROAM_EXTERN int roam_deframer_init(roam_deframer *d, size_t max_frame, const roam_mem *mem);
ROAM_EXTERN void roam_deframer_free(roam_deframer *d);
/* Free the storage of buf (no partial frame held) and of out whose
 * capacity is above keep bytes (0: all of it). Frames returned earlier
 * become invalid. Allocated again as needed. */
ROAM_EXTERN void roam_deframer_trim(roam_deframer *d, size_t keep);
/* Bytes of an incomplete frame currently held. */
static inline size_t roam_deframer_buffered(const roam_deframer *d) { return d->len; }

/*
 * Feed bytes. Consumes input up to and including the delimiter that ends the
 * first complete frame, and sets *consumed to the number of bytes used.
 *   1  a frame is ready: *frame views the decoded bytes, valid until the next
 *      call on this deframer;
 *   0  all input consumed, no frame complete yet;
 *  <0  ROAM_ERR_FRAME_TOO_LARGE (the frame under way grew past max_frame;
 *      the rest of it is skipped up to its delimiter), ROAM_ERR_COBS (a frame
 *      failed to decode, or was empty) or ROAM_ERR_NOMEM. The deframer stays
 *      usable: the next call carries on after the bad frame.
 * Call repeatedly, advancing `in` by *consumed, until it returns 0.
 */
ROAM_EXTERN int roam_deframer_feed(roam_deframer *d, const uint8_t *in, size_t len,
                                   size_t *consumed, roam_bytes *frame);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_COBS_H */
