/*
 * Fuzz the incremental deframer. The first two bytes choose the maximum
 * frame size and how the rest is split into pieces. The reported events
 * (frames and errors) must be exactly those of a simple model that looks at
 * the whole stream at once, whatever the split; memory stays bounded by the
 * maximum frame size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <roam/cobs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

/* Allocator that checks the size bound. */
typedef struct bound_alloc {
  size_t limit;
  long live;
} bound_alloc;

static void *ba_malloc(size_t n, void *ud) {
  bound_alloc *a = ud;
  CHECK(n <= a->limit);
  void *p = malloc(n);
  if (p) a->live++;
  return p;
}
static void *ba_realloc(void *p, size_t n, void *ud) {
  bound_alloc *a = ud;
  CHECK(n <= a->limit);
  void *q = realloc(p, n);
  if (q && !p) a->live++;
  return q;
}
static void ba_free(void *p, void *ud) {
  bound_alloc *a = ud;
  if (p) a->live--;
  free(p);
}

/* Events: code 1 with a hash of the frame, or an error code. */
typedef struct ev {
  int code;
  size_t len;
  uint64_t hash;
} ev;

static uint64_t fnv(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* Reference model: split on zeros. */
static size_t model(const uint8_t *s, size_t n, size_t max_frame, ev *out, size_t max_ev) {
  size_t k = 0, start = 0;
  uint8_t *tmp = malloc(n ? n : 1);
  for (size_t i = 0; i <= n && k < max_ev; i++) {
    if (i < n && s[i] != 0) continue;
    size_t len = i - start;
    if (i == n) { /* unterminated tail */
      if (len > max_frame) out[k++] = (ev){ROAM_ERR_FRAME_TOO_LARGE, 0, 0};
      break;
    }
    if (len > max_frame) {
      out[k++] = (ev){ROAM_ERR_FRAME_TOO_LARGE, 0, 0};
    } else {
      size_t dn = 0;
      int rc = roam_cobs_decode(s + start, len, tmp, n, &dn);
      if (rc) out[k++] = (ev){ROAM_ERR_COBS, 0, 0};
      else out[k++] = (ev){1, dn, fnv(tmp, dn)};
    }
    start = i + 1;
  }
  free(tmp);
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t max_frame = 1 + (size_t)data[0] * 3;
  uint64_t rng = 0x9E3779B97F4A7C15ull ^ data[1];
  const uint8_t *s = data + 2;
  size_t n = size - 2;

  /* at most one event per delimiter, plus one for the tail */
  size_t max_ev = n + 1;
  ev *want = malloc(max_ev * sizeof *want), *got = malloc(max_ev * sizeof *got);
  size_t nwant = model(s, n, max_frame, want, max_ev);

  bound_alloc ba = {max_frame, 0};
  roam_mem mem = {&ba, ba_malloc, ba_realloc, ba_free};
  roam_deframer d;
  CHECK(roam_deframer_init(&d, max_frame, &mem) == 0);
  size_t ngot = 0, off = 0;
  while (off < n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    size_t piece = (data[1] & 1) ? 1 + (size_t)(rng % 17) : 1 + (size_t)(rng % (n + 1));
    if (piece > n - off) piece = n - off;
    uint8_t *copy = malloc(piece); /* exact size: over-reads are caught */
    memcpy(copy, s + off, piece);
    const uint8_t *p = copy;
    size_t left = piece;
    while (left) {
      size_t used = 0;
      roam_bytes fr;
      int rc = roam_deframer_feed(&d, p, left, &used, &fr);
      CHECK(used <= left);
      CHECK(roam_deframer_buffered(&d) <= max_frame);
      if (rc == 0) {
        CHECK(used == left);
      } else {
        CHECK(used > 0);
        CHECK(ngot < max_ev);
        if (rc == 1) {
          CHECK(fr.ptr != NULL);
          CHECK(fr.len < max_frame);
          got[ngot++] = (ev){1, fr.len, fnv(fr.ptr, fr.len)};
        } else {
          CHECK(rc == ROAM_ERR_COBS || rc == ROAM_ERR_FRAME_TOO_LARGE);
          CHECK(fr.ptr == NULL && fr.len == 0);
          got[ngot++] = (ev){rc, 0, 0};
        }
      }
      p += used;
      left -= used;
    }
    free(copy);
    off += piece;
    /* an idle transport gives storage back between reads (a partial frame
     * must survive it) */
    if (rng & 8) roam_deframer_trim(&d, (rng & 16) ? 0 : 64);
  }
  CHECK(ngot == nwant);
  for (size_t i = 0; i < ngot; i++) {
    CHECK(got[i].code == want[i].code);
    CHECK(got[i].len == want[i].len);
    CHECK(got[i].hash == want[i].hash);
  }
  roam_deframer_free(&d);
  CHECK(ba.live == 0);
  free(want);
  free(got);
  return 0;
}
