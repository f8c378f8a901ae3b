/* Unit tests of COBS framing (src/wire/cobs.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>

#include <roam/cobs.h>
#include <roam/message.h>

#include "unit/wire_test_util.h"
#include "wire/wire_internal.h"

/* ------------------------------------------------------------------ */
/* Reference coder: byte at a time, straight from the definition       */
/* ------------------------------------------------------------------ */

static size_t ref_encode(const uint8_t *in, size_t n, uint8_t *out) {
  size_t code_pos = 0, o = 1;
  unsigned code = 1;
  for (size_t i = 0; i < n; i++) {
    if (in[i] == 0) {
      out[code_pos] = (uint8_t)code;
      code_pos = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {
        out[code_pos] = (uint8_t)code;
        code_pos = o++;
        code = 1;
      }
    }
  }
  out[code_pos] = (uint8_t)code;
  return o;
}

/* Decoding straight from the definition: a code byte, code-1 data bytes,
 * then a zero unless the code was 0xFF or the frame ends. */
static int ref_decode(const uint8_t *in, size_t n, uint8_t *out, size_t *olen) {
  size_t i = 0, o = 0;
  while (i < n) {
    unsigned code = in[i++];
    if (code == 0) return ROAM_ERR_COBS;
    for (unsigned k = 1; k < code; k++) {
      if (i >= n) return ROAM_ERR_COBS;
      out[o++] = in[i++];
    }
    if (code != 0xFF && i < n) out[o++] = 0;
  }
  *olen = o;
  return 0;
}

/* ------------------------------------------------------------------ */
/* One-shot and streaming encoding                                     */
/* ------------------------------------------------------------------ */

static const char *cobs_names[] = {"empty", "single_zero", "two_zeros", "no_zeros",
                                   "one_zero_middle", "multiple_zeros", "message_hello_typical"};

static void test_golden(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cobs_names / sizeof cobs_names[0]; i++) {
    char f[128];
    size_t rn, en;
    snprintf(f, sizeof f, "%s_raw.bin", cobs_names[i]);
    uint8_t *raw = wt_golden("cobs", f, &rn);
    snprintf(f, sizeof f, "%s_encoded.bin", cobs_names[i]);
    uint8_t *enc = wt_golden("cobs", f, &en);
    uint8_t out[64], dec[64];
    size_t n = roam_cobs_encode(raw, rn, out);
    if (n != en || memcmp(out, enc, en) != 0) fail_msg("%s: encoded %s", cobs_names[i], wt_hex(out, n));
    assert_true(n <= roam_cobs_max_encoded(rn));
    size_t dn = 99;
    assert_int_equal(roam_cobs_decode(enc, en, dec, sizeof dec, &dn), 0);
    assert_int_equal(dn, rn);
    if (rn) assert_memory_equal(dec, raw, rn);
    /* through the deframer, with the delimiter */
    roam_deframer d;
    assert_int_equal(roam_deframer_init(&d, 1024, NULL), 0);
    enc[en] = 0; /* room: wt_read_file over-allocates */
    size_t used;
    roam_bytes fr;
    assert_int_equal(roam_deframer_feed(&d, enc, en + 1, &used, &fr), 1);
    assert_int_equal(used, en + 1);
    assert_int_equal(fr.len, rn);
    if (rn) assert_memory_equal(fr.ptr, raw, rn);
    roam_deframer_free(&d);
    free(raw);
    free(enc);
  }
  /* the framed file is the encoding plus the delimiter */
  size_t fn, mn;
  uint8_t *framed = wt_golden("cobs", "message_hello_typical_framed.bin", &fn);
  uint8_t *msg = wt_golden("wire", "message_hello_typical.bin", &mn);
  uint8_t out[64];
  size_t n = roam_cobs_encode(msg, mn, out);
  out[n++] = 0;
  assert_int_equal(n, fn);
  assert_memory_equal(out, framed, fn);
  free(framed);
  free(msg);
}

/* Every file of cobs/ is covered by test_golden. */
static void test_golden_all_files_covered(void **state) {
  (void)state;
  DIR *dir = opendir(ROAM_GOLDEN_DIR "/cobs");
  assert_non_null(dir);
  struct dirent *de;
  size_t files = 0;
  while ((de = readdir(dir)) != NULL) {
    const char *nm = de->d_name;
    size_t l = strlen(nm);
    if (l < 4 || strcmp(nm + l - 4, ".bin") != 0) continue;
    files++;
    int found = strcmp(nm, "message_hello_typical_framed.bin") == 0;
    for (size_t i = 0; i < sizeof cobs_names / sizeof cobs_names[0]; i++) {
      char f[128];
      snprintf(f, sizeof f, "%s_raw.bin", cobs_names[i]);
      found |= strcmp(f, nm) == 0;
      snprintf(f, sizeof f, "%s_encoded.bin", cobs_names[i]);
      found |= strcmp(f, nm) == 0;
    }
    if (!found) fail_msg("cobs/%s has no test", nm);
  }
  closedir(dir);
  assert_int_equal(files, 2 * (sizeof cobs_names / sizeof cobs_names[0]) + 1);
}

/* Every golden message survives COBS and the deframer. */
static void test_golden_messages_framed(void **state) {
  (void)state;
  static const char *files[] = {"message_hello_small.bin", "message_connect_with_metadata.bin",
                                "message_request_with_channels.bin", "message_data.bin",
                                "message_credit.bin", "message_goodbye_conn0.bin"};
  uint8_t stream[512];
  size_t sn = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    size_t n;
    uint8_t *m = wt_golden("wire", files[i], &n);
    sn += roam_cobs_encode(m, n, stream + sn);
    stream[sn++] = 0;
    free(m);
  }
  roam_deframer d;
  roam_deframer_init(&d, 256, NULL);
  const uint8_t *p = stream;
  size_t left = sn, k = 0;
  while (left) {
    size_t used;
    roam_bytes fr;
    int rc = roam_deframer_feed(&d, p, left, &used, &fr);
    p += used;
    left -= used;
    if (rc == 1) {
      size_t n;
      uint8_t *m = wt_golden("wire", files[k], &n);
      assert_int_equal(fr.len, n);
      assert_memory_equal(fr.ptr, m, n);
      roam_msg msg;
      assert_int_equal(roam_msg_decode(&msg, fr.ptr, fr.len), 0);
      free(m);
      k++;
    } else {
      assert_int_equal(rc, 0);
    }
  }
  assert_int_equal(k, sizeof files / sizeof files[0]);
  roam_deframer_free(&d);
}

static void check_encode(wt_rng *r, const uint8_t *in, size_t n) {
  size_t cap = roam_cobs_max_encoded(n);
  uint8_t *a = malloc(cap), *b = malloc(cap), *c = malloc(cap), *dec = malloc(n ? n : 1);
  size_t an = roam_cobs_encode(in, n, a);
  size_t bn = ref_encode(in, n, b);
  if (an != bn || memcmp(a, b, an) != 0) fail_msg("one-shot differs from reference at length %zu", n);
  assert_true(an <= cap);
  assert_null(memchr(a, 0, an));
  /* streaming in random pieces gives the same bytes */
  for (int rep = 0; rep < 3; rep++) {
    roam_cobs_stream s;
    roam_cobs_stream_begin(&s, c);
    size_t off = 0;
    while (off < n) {
      size_t piece;
      switch (wt_below(r, 4)) {
      case 0: piece = 1; break;
      case 1: piece = wt_below(r, 8); break;
      case 2: piece = wt_below(r, 300); break;
      default: piece = n - off; break;
      }
      if (piece > n - off) piece = n - off;
      roam_cobs_stream_write(&s, in + off, piece);
      off += piece;
    }
    if (wt_below(r, 2)) roam_cobs_stream_write(&s, in, 0); /* empty pieces are harmless */
    size_t cn = roam_cobs_stream_end(&s);
    if (cn != an || memcmp(a, c, an) != 0) fail_msg("stream differs from one-shot at length %zu", n);
  }
  /* decoding gives the input back, into a separate buffer and in place */
  size_t dn = 0;
  assert_int_equal(roam_cobs_decode(a, an, dec, n, &dn), 0);
  assert_int_equal(dn, n);
  if (n) assert_memory_equal(dec, in, n);
  if (n) assert_int_equal(roam_cobs_decode(a, an, dec, n - 1, &dn), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(roam_cobs_decode(a, an, a, an, &dn), 0);
  assert_int_equal(dn, n);
  if (n) assert_memory_equal(a, in, n);
  free(a);
  free(b);
  free(c);
  free(dec);
}

static void test_stream_equals_oneshot(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 254);
  static const int densities[] = {-1, 0, 1, 16, 128, 255, 256};
  static uint8_t buf[254 * 24 + 8];
  for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++) {
    for (size_t n = 0; n <= 1000; n++) {
      wt_fill(&r, buf, n, densities[di]);
      check_encode(&r, buf, n);
    }
    for (size_t k = 1; k <= 24; k++) {
      for (int delta = -3; delta <= 3; delta++) {
        size_t n = 254 * k + (size_t)(long)delta;
        wt_fill(&r, buf, n, densities[di]);
        check_encode(&r, buf, n);
        /* a zero exactly at, before and after the block boundary */
        if (n > 254) {
          wt_fill(&r, buf, n, 0);
          buf[253] = 0;
          check_encode(&r, buf, n);
          buf[253] = 7;
          buf[254] = 0;
          check_encode(&r, buf, n);
          buf[252] = 0;
          check_encode(&r, buf, n);
        }
      }
    }
  }
}

/* The same with the encoder's generic path, which a CPU with AVX2 would
 * otherwise never run. */
static void test_stream_equals_oneshot_generic(void **state) {
  roam__cobs_simd = 0;
  test_stream_equals_oneshot(state);
  roam__cobs_simd = 1;
}

/* Decoding (both the fast path for small frames and the general loop,
 * apart and in place) agrees with the definition on valid frames, on valid
 * frames with one byte changed, and on random non-zero bytes. */
static void test_decode_matches_definition(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 1234);
  static uint8_t data[3000], enc[3100], a[3100], b[3100], c[3100];
  static const int densities[] = {0, 1, 8, 32, 128};
  for (int it = 0; it < 20000; it++) {
    size_t n;
    if (it % 3 == 2) { /* random non-zero bytes */
      n = 1 + (size_t)wt_below(&r, it % 10 == 2 ? 3000 : 600);
      for (size_t i = 0; i < n; i++) enc[i] = (uint8_t)(1 + wt_below(&r, 255));
    } else {
      size_t dn = (size_t)wt_below(&r, it % 10 == 0 ? 2900 : 500);
      wt_fill(&r, data, dn, densities[it % 5]);
      n = roam_cobs_encode(data, dn, enc);
      if (it % 3 == 1) enc[wt_below(&r, n)] = (uint8_t)(1 + wt_below(&r, 255));
    }
    size_t rl = 0, al = 0, cl = 0;
    int rrc = ref_decode(enc, n, a, &rl);
    int arc = roam_cobs_decode(enc, n, b, sizeof b, &al);
    assert_int_equal(arc, rrc);
    memcpy(c, enc, n);
    int crc = roam_cobs_decode(c, n, c, n, &cl);
    assert_int_equal(crc, rrc);
    if (rrc == 0) {
      assert_int_equal(al, rl);
      assert_int_equal(cl, rl);
      assert_memory_equal(b, a, rl);
      assert_memory_equal(c, a, rl);
      if (rl) assert_int_equal(roam_cobs_decode(enc, n, b, rl - 1, &al), ROAM_ERR_BUFFER_FULL);
    }
  }
}

/* The boundary rule of the reference: 254 non-zero bytes make a full
 * block (0xFF) and a final 0x01 code follows. */
static void test_block_boundary(void **state) {
  (void)state;
  uint8_t in[600], out[700], dec[600];
  memset(in, 0x11, sizeof in);
  size_t n = roam_cobs_encode(in, 254, out);
  assert_int_equal(n, 256);
  assert_int_equal(out[0], 0xFF);
  assert_int_equal(out[255], 0x01);
  n = roam_cobs_encode(in, 253, out);
  assert_int_equal(n, 254);
  assert_int_equal(out[0], 0xFE);
  n = roam_cobs_encode(in, 255, out);
  assert_int_equal(n, 257);
  assert_int_equal(out[0], 0xFF);
  assert_int_equal(out[255], 0x02);
  in[254] = 0; /* 254 non-zero then a zero */
  n = roam_cobs_encode(in, 255, out);
  assert_int_equal(n, 257);
  assert_int_equal(out[0], 0xFF);
  assert_int_equal(out[255], 0x01);
  assert_int_equal(out[256], 0x01);
  size_t dn;
  assert_int_equal(roam_cobs_decode(out, n, dec, sizeof dec, &dn), 0);
  assert_int_equal(dn, 255);
  assert_int_equal(dec[254], 0);
  /* a decoder also accepts a frame ending right after a full block (as
   * the reference decoder does) */
  memset(in, 0x22, sizeof in);
  roam_cobs_encode(in, 254, out);
  assert_int_equal(roam_cobs_decode(out, 255, dec, sizeof dec, &dn), 0);
  assert_int_equal(dn, 254);
}

static void test_decode_errors(void **state) {
  (void)state;
  static const struct {
    const char *hex;
    int want;
  } cases[] = {
      {"", ROAM_ERR_COBS},              /* empty */
      {"00", ROAM_ERR_COBS},            /* a zero byte */
      {"0201000101", ROAM_ERR_COBS},    /* a zero inside */
      {"02", ROAM_ERR_COBS},            /* code runs past the end */
      {"050102", ROAM_ERR_COBS},
      {"0101ff01", ROAM_ERR_COBS},
      {"01", 0},
      {"0101", 0},
      {"02010202", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint8_t in[16], out[16];
    size_t n = wt_unhex(cases[i].hex, in), dn = 77;
    int rc = roam_cobs_decode(n ? in : NULL, n, out, sizeof out, &dn);
    if (rc != cases[i].want) fail_msg("%s: %s", cases[i].hex, roam_err_name(rc));
    if (rc) assert_int_equal(dn, 0);
  }
  uint8_t in[8] = {3, 1, 1, 2, 1}, out[8];
  size_t dn;
  /* 01 01 00 01 needs 4 bytes */
  assert_int_equal(roam_cobs_decode(in, 5, out, 4, &dn), 0);
  assert_int_equal(roam_cobs_decode(in, 5, out, 3, &dn), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(roam_cobs_decode(in, 5, out, 2, &dn), ROAM_ERR_BUFFER_FULL);
  assert_int_equal(roam_cobs_decode(in, 5, NULL, 0, &dn), ROAM_ERR_BUFFER_FULL);
}

/* ------------------------------------------------------------------ */
/* Deframer                                                            */
/* ------------------------------------------------------------------ */

/* What the deframer reported: frames (copied) and errors, in order. */
typedef struct events {
  size_t n;
  int code[64];
  uint8_t *data[64];
  size_t len[64];
} events;

static void events_free(events *ev) {
  for (size_t i = 0; i < ev->n; i++) free(ev->data[i]);
  ev->n = 0;
}

/* Feed `len` bytes, collecting events; checks the documented contract. */
static void feed_piece(roam_deframer *d, const uint8_t *p, size_t len, events *ev) {
  while (len) {
    size_t used = 12345;
    roam_bytes fr;
    /* copy the piece so that ASan sees reads past its end */
    uint8_t *copy = malloc(len);
    memcpy(copy, p, len);
    int rc = roam_deframer_feed(d, copy, len, &used, &fr);
    free(copy);
    assert_true(used <= len);
    assert_true(roam_deframer_buffered(d) <= d->max_frame);
    if (rc == 0) {
      assert_int_equal(used, len);
    } else {
      assert_true(used > 0);
      assert_true(ev->n < 64);
      ev->code[ev->n] = rc;
      ev->data[ev->n] = NULL;
      ev->len[ev->n] = 0;
      if (rc == 1) {
        ev->data[ev->n] = malloc(fr.len ? fr.len : 1);
        if (fr.len) memcpy(ev->data[ev->n], fr.ptr, fr.len);
        ev->len[ev->n] = fr.len;
      } else {
        assert_null(fr.ptr);
      }
      ev->n++;
    }
    p += used;
    len -= used;
  }
}

static void assert_events_eq(const events *a, const events *b, const char *what) {
  if (a->n != b->n) fail_msg("%s: %zu events, want %zu", what, a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    if (a->code[i] != b->code[i])
      fail_msg("%s: event %zu is %s, want %s", what, i, roam_err_name(a->code[i]), roam_err_name(b->code[i]));
    assert_int_equal(a->len[i], b->len[i]);
    if (a->len[i]) assert_memory_equal(a->data[i], b->data[i], a->len[i]);
  }
}

/* Build a stream: frames of the given raw sizes (random content), with
 * COBS and delimiters. Returns the stream; expected events in *want. */
static uint8_t *build_stream(wt_rng *r, const size_t *sizes, size_t nframes, size_t *out_len,
                             events *want) {
  size_t cap = 0;
  for (size_t i = 0; i < nframes; i++) cap += roam_cobs_max_encoded(sizes[i]) + 1;
  uint8_t *s = malloc(cap ? cap : 1);
  size_t n = 0;
  want->n = 0;
  for (size_t i = 0; i < nframes; i++) {
    uint8_t *raw = malloc(sizes[i] ? sizes[i] : 1);
    wt_fill(r, raw, sizes[i], (int)wt_below(r, 40));
    n += roam_cobs_encode(raw, sizes[i], s + n);
    s[n++] = 0;
    want->code[want->n] = 1;
    want->data[want->n] = raw;
    want->len[want->n] = sizes[i];
    want->n++;
  }
  *out_len = n;
  return s;
}

static void test_deframer_every_split(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 99);
  static const size_t sizes[] = {0, 1, 5, 253, 254, 255, 3, 600, 508, 1, 42};
  size_t n;
  events want, got;
  uint8_t *s = build_stream(&r, sizes, sizeof sizes / sizeof sizes[0], &n, &want);
  roam_deframer d;
  /* whole stream at once */
  roam_deframer_init(&d, 4096, NULL);
  got.n = 0;
  feed_piece(&d, s, n, &got);
  assert_events_eq(&got, &want, "whole");
  events_free(&got);
  assert_int_equal(roam_deframer_buffered(&d), 0);
  /* split in two at every position, on one deframer */
  for (size_t cut = 0; cut <= n; cut++) {
    got.n = 0;
    feed_piece(&d, s, cut, &got);
    feed_piece(&d, s + cut, n - cut, &got);
    assert_events_eq(&got, &want, "split");
    events_free(&got);
  }
  roam_deframer_free(&d);
  /* one byte at a time */
  roam_deframer_init(&d, 4096, NULL);
  got.n = 0;
  for (size_t i = 0; i < n; i++) feed_piece(&d, s + i, 1, &got);
  assert_events_eq(&got, &want, "bytes");
  events_free(&got);
  roam_deframer_free(&d);
  events_free(&want);
  free(s);
}

static void test_deframer_random_pieces_large(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 1234);
  static const size_t sizes[] = {70000, 1, 200000, 0, 65536, 17, 131072};
  size_t n;
  events want, got;
  uint8_t *s = build_stream(&r, sizes, sizeof sizes / sizeof sizes[0], &n, &want);
  wt_alloc a;
  roam_mem mem = wt_mem(&a);
  size_t max_frame = roam_cobs_max_encoded(200000);
  for (int rep = 0; rep < 20; rep++) {
    roam_deframer d;
    roam_deframer_init(&d, max_frame, &mem);
    got.n = 0;
    size_t off = 0;
    while (off < n) {
      size_t piece = rep == 0 ? n : 1 + wt_below(&r, rep < 10 ? 100 : 70000);
      if (piece > n - off) piece = n - off;
      feed_piece(&d, s + off, piece, &got);
      off += piece;
    }
    assert_events_eq(&got, &want, "random pieces");
    events_free(&got);
    roam_deframer_free(&d);
    assert_int_equal(a.live, 0);
    assert_true(a.largest <= max_frame);
  }
  events_free(&want);
  free(s);
}

/* Oversized, empty and invalid frames are reported once each, and the
 * frames after them still come through, whatever the split. */
static void test_deframer_errors_and_resync(void **state) {
  (void)state;
  wt_rng r;
  wt_rng_seed(&r, 5);
  const size_t max_frame = 300;
  uint8_t s[4096];
  size_t n = 0;
  events want;
  want.n = 0;
  uint8_t raw[1000];
  /* good frame */
  wt_fill(&r, raw, 100, 10);
  n += roam_cobs_encode(raw, 100, s + n);
  s[n++] = 0;
  want.code[want.n] = 1;
  want.data[want.n] = malloc(100);
  memcpy(want.data[want.n], raw, 100);
  want.len[want.n++] = 100;
  /* too large: 400 raw bytes */
  wt_fill(&r, raw, 400, 10);
  n += roam_cobs_encode(raw, 400, s + n);
  s[n++] = 0;
  want.code[want.n] = ROAM_ERR_FRAME_TOO_LARGE;
  want.data[want.n] = NULL;
  want.len[want.n++] = 0;
  /* good frame */
  wt_fill(&r, raw, 50, 10);
  n += roam_cobs_encode(raw, 50, s + n);
  s[n++] = 0;
  want.code[want.n] = 1;
  want.data[want.n] = malloc(50);
  memcpy(want.data[want.n], raw, 50);
  want.len[want.n++] = 50;
  /* an empty frame */
  s[n++] = 0;
  want.code[want.n] = ROAM_ERR_COBS;
  want.data[want.n] = NULL;
  want.len[want.n++] = 0;
  /* an invalid frame: code runs past the end */
  s[n++] = 5;
  s[n++] = 1;
  s[n++] = 2;
  s[n++] = 0;
  want.code[want.n] = ROAM_ERR_COBS;
  want.data[want.n] = NULL;
  want.len[want.n++] = 0;
  /* exactly max_frame encoded bytes: accepted */
  size_t raw_len = max_frame - 2; /* one code byte per 254 + 1 */
  wt_fill(&r, raw, raw_len, -1);
  for (size_t i = 0; i < raw_len; i++)
    if (!raw[i]) raw[i] = 1;
  size_t en = roam_cobs_encode(raw, raw_len, s + n);
  assert_int_equal(en, max_frame);
  n += en;
  s[n++] = 0;
  want.code[want.n] = 1;
  want.data[want.n] = malloc(raw_len);
  memcpy(want.data[want.n], raw, raw_len);
  want.len[want.n++] = raw_len;
  /* max_frame + 1: rejected */
  raw[0] = 0x33;
  raw[raw_len] = 0x44;
  en = roam_cobs_encode(raw, raw_len + 1, s + n);
  assert_int_equal(en, max_frame + 1);
  n += en;
  s[n++] = 0;
  want.code[want.n] = ROAM_ERR_FRAME_TOO_LARGE;
  want.data[want.n] = NULL;
  want.len[want.n++] = 0;
  /* final good frame */
  raw[0] = 9;
  n += roam_cobs_encode(raw, 1, s + n);
  s[n++] = 0;
  want.code[want.n] = 1;
  want.data[want.n] = malloc(1);
  want.data[want.n][0] = 9;
  want.len[want.n++] = 1;

  events got;
  roam_deframer d;
  wt_alloc a;
  roam_mem mem = wt_mem(&a);
  roam_deframer_init(&d, max_frame, &mem);
  got.n = 0;
  feed_piece(&d, s, n, &got);
  assert_events_eq(&got, &want, "whole");
  events_free(&got);
  for (size_t cut = 0; cut <= n; cut++) {
    got.n = 0;
    feed_piece(&d, s, cut, &got);
    feed_piece(&d, s + cut, n - cut, &got);
    assert_events_eq(&got, &want, "split");
    events_free(&got);
  }
  got.n = 0;
  for (size_t i = 0; i < n; i++) feed_piece(&d, s + i, 1, &got);
  assert_events_eq(&got, &want, "bytes");
  events_free(&got);
  roam_deframer_free(&d);
  assert_int_equal(a.live, 0);
  assert_true(a.largest <= max_frame);
  events_free(&want);
}

/* A frame that never ends: memory stays bounded, one error, then resync. */
static void test_deframer_endless_frame(void **state) {
  (void)state;
  wt_alloc a;
  roam_mem mem = wt_mem(&a);
  roam_deframer d;
  roam_deframer_init(&d, 1000, &mem);
  uint8_t junk[777];
  memset(junk, 0x41, sizeof junk);
  int errors = 0;
  for (int i = 0; i < 1000; i++) {
    size_t used;
    roam_bytes fr;
    int rc = roam_deframer_feed(&d, junk, sizeof junk, &used, &fr);
    assert_int_equal(used, sizeof junk);
    if (rc == ROAM_ERR_FRAME_TOO_LARGE) errors++;
    else assert_int_equal(rc, 0);
    assert_true(roam_deframer_buffered(&d) <= 1000);
  }
  assert_int_equal(errors, 1);
  assert_true(a.largest <= 1000);
  uint8_t tail[] = {0, 2, 7, 0};
  size_t used;
  roam_bytes fr;
  assert_int_equal(roam_deframer_feed(&d, tail, sizeof tail, &used, &fr), 1);
  assert_int_equal(used, 4);
  assert_int_equal(fr.len, 1);
  assert_int_equal(fr.ptr[0], 7);
  roam_deframer_free(&d);
  assert_int_equal(a.live, 0);
}

static void test_deframer_nomem(void **state) {
  (void)state;
  wt_alloc a;
  roam_mem mem = wt_mem(&a);
  roam_deframer d;
  roam_deframer_init(&d, 1000, &mem);
  uint8_t frame[] = {3, 1, 2, 0};
  size_t used;
  roam_bytes fr;
  /* fast path allocation fails */
  a.fail_after = 0;
  assert_int_equal(roam_deframer_feed(&d, frame, 4, &used, &fr), ROAM_ERR_NOMEM);
  assert_int_equal(used, 4);
  a.fail_after = -1;
  assert_int_equal(roam_deframer_feed(&d, frame, 4, &used, &fr), 1);
  assert_int_equal(fr.len, 2);
  /* buffering allocation fails: the rest of that frame is dropped */
  a.fail_after = 0;
  assert_int_equal(roam_deframer_feed(&d, frame, 2, &used, &fr), ROAM_ERR_NOMEM);
  assert_int_equal(used, 2);
  a.fail_after = -1;
  assert_int_equal(roam_deframer_feed(&d, frame + 2, 2, &used, &fr), 0);
  assert_int_equal(used, 2);
  assert_int_equal(roam_deframer_feed(&d, frame, 2, &used, &fr), 0);
  assert_int_equal(roam_deframer_feed(&d, frame + 2, 2, &used, &fr), 1);
  assert_int_equal(fr.len, 2);
  assert_int_equal(fr.ptr[0], 1);
  assert_int_equal(fr.ptr[1], 2);
  roam_deframer_free(&d);
  assert_int_equal(a.live, 0);
  /* misuse */
  assert_int_equal(roam_deframer_init(&d, 0, NULL), ROAM_ERR_INVALID_ARG);
  roam_deframer_free(&d);
  roam_deframer_init(&d, 10, NULL);
  assert_int_equal(roam_deframer_feed(&d, NULL, 0, &used, &fr), 0);
  assert_int_equal(used, 0);
  assert_int_equal(roam_deframer_feed(&d, NULL, 3, &used, &fr), ROAM_ERR_INVALID_ARG);
  roam_deframer_free(&d);
}


/* The one-pass encoder of small frames agrees with the reference for every
 * length up to ROAM__COBS_SMALL_MAX and many zero patterns (none, all,
 * sparse, dense, at the ends), and writes nothing past n + 9 bytes. */
static void test_encode_small(void **ctx) {
  (void)ctx;
  uint8_t in[ROAM__COBS_SMALL_MAX + 8], want[ROAM__COBS_SMALL_MAX + 16];
  uint8_t got[ROAM__COBS_SMALL_MAX + 32];
  uint32_t seed = 12345;
  for (size_t n = 0; n <= ROAM__COBS_SMALL_MAX; n++) {
    for (int pat = 0; pat < 6; pat++) {
      for (size_t i = 0; i < sizeof in; i++) {
        seed = seed * 1103515245u + 12345u;
        uint8_t r = (uint8_t)(seed >> 16);
        switch (pat) {
        case 0: in[i] = (uint8_t)(r | 1); break;           /* no zero */
        case 1: in[i] = 0; break;                          /* all zero */
        case 2: in[i] = (r % 16) ? (uint8_t)(r | 1) : 0; break; /* sparse */
        case 3: in[i] = (r % 2) ? r : 0; break;            /* dense */
        case 4: in[i] = (i == 0 || i + 1 == n) ? 0 : 7; break;
        default: in[i] = r; break;                          /* random */
        }
      }
      size_t wn = ref_encode(in, n, want);
      memset(got, 0xAA, sizeof got);
      size_t gn = roam__cobs_encode_small(in, n, got);
      assert_int_equal(gn, wn);
      assert_memory_equal(got, want, wn);
      for (size_t i = n + 9; i < sizeof got; i++) assert_int_equal(got[i], 0xAA);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_encode_small),
      cmocka_unit_test(test_golden_all_files_covered),
      cmocka_unit_test(test_golden_messages_framed),
      cmocka_unit_test(test_stream_equals_oneshot),
      cmocka_unit_test(test_stream_equals_oneshot_generic),
      cmocka_unit_test(test_block_boundary),
      cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_decode_matches_definition),
      cmocka_unit_test(test_deframer_every_split),
      cmocka_unit_test(test_deframer_random_pieces_large),
      cmocka_unit_test(test_deframer_errors_and_resync),
      cmocka_unit_test(test_deframer_endless_frame),
      cmocka_unit_test(test_deframer_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
