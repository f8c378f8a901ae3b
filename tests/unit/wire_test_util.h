/*
 * Helpers shared by the wire-layer unit tests (test_postcard.c,
 * test_message.c, test_cobs.c): golden-vector files, a fixed-seed PRNG and
 * counting / failing allocators. Header-only: each test is one program.
 */
#ifndef ROAM_WIRE_TEST_UTIL_H
#define ROAM_WIRE_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roam/common.h>

#ifndef ROAM_GOLDEN_DIR
#define ROAM_GOLDEN_DIR "../shared/golden-vectors"
#endif

/* Read a whole file (malloc'd, caller frees); NULL if it cannot be read.
 * An empty file gives a non-NULL pointer and *len 0. */
static inline uint8_t *wt_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 256, n = 0;
  uint8_t *buf = (uint8_t *)malloc(cap);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = (uint8_t *)realloc(buf, cap);
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    if (k == 0) break;
    n += k;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* A golden vector: dir is "wire", "cobs", "varint" or "primitives". Aborts
 * the test program if the file is missing, since that is a setup error. */
static inline uint8_t *wt_golden(const char *dir, const char *name, size_t *len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", ROAM_GOLDEN_DIR, dir, name);
  uint8_t *p = wt_read_file(path, len);
  if (!p) {
    fprintf(stderr, "missing golden vector %s\n", path);
    abort();
  }
  return p;
}

/* Hex text of bytes, for failure messages (static buffer). */
static inline const char *wt_hex(const uint8_t *p, size_t n) {
  static char buf[2 * 256 + 8];
  size_t k = n > 256 ? 256 : n;
  for (size_t i = 0; i < k; i++) snprintf(buf + 2 * i, 3, "%02x", p[i]);
  buf[2 * k] = 0;
  if (k < n) strcat(buf, "...");
  return buf;
}

/* Parse hex text ("dead beef" spaces allowed) into out; returns the length. */
static inline size_t wt_unhex(const char *s, uint8_t *out) {
  size_t n = 0;
  int hi = -1;
  for (; *s; s++) {
    int v;
    if (*s >= '0' && *s <= '9') v = *s - '0';
    else if (*s >= 'a' && *s <= 'f') v = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') v = *s - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  return n;
}

/* xorshift64* with a fixed seed: reproducible "random" tests. */
typedef struct wt_rng {
  uint64_t s;
} wt_rng;

static inline void wt_rng_seed(wt_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9E3779B97F4A7C15ull; }

static inline uint64_t wt_rand(wt_rng *r) {
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform-ish in [0, n). */
static inline uint64_t wt_below(wt_rng *r, uint64_t n) { return n ? wt_rand(r) % n : 0; }

/* A u64 with a random bit length, so that every varint size shows up. */
static inline uint64_t wt_rand_varied(wt_rng *r) {
  unsigned bits = (unsigned)wt_below(r, 65);
  if (bits == 0) return 0;
  uint64_t v = wt_rand(r);
  return bits == 64 ? v : (v & ((UINT64_C(1) << bits) - 1)) | (UINT64_C(1) << (bits - 1));
}

/* Fill with random bytes; zero_per_256 of every 256 bytes are zero on
 * average (-1: no forced zeros, plain random bytes). */
static inline void wt_fill(wt_rng *r, uint8_t *p, size_t n, int zero_per_256) {
  for (size_t i = 0; i < n; i++) {
    uint8_t b = (uint8_t)wt_rand(r);
    if (zero_per_256 >= 0) {
      if ((int)wt_below(r, 256) < zero_per_256) b = 0;
      else if (b == 0) b = 1;
    }
    p[i] = b;
  }
}

/* Random valid UTF-8 of exactly n bytes (mix of 1-4 byte characters). */
static inline void wt_fill_utf8(wt_rng *r, uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t room = n - i;
    unsigned kind = (unsigned)wt_below(r, 4) + 1;
    if (kind > room) kind = 1;
    uint32_t c;
    switch (kind) {
    case 1:
      c = (uint32_t)wt_below(r, 0x80);
      p[i++] = (uint8_t)c;
      break;
    case 2:
      c = 0x80 + (uint32_t)wt_below(r, 0x800 - 0x80);
      p[i++] = (uint8_t)(0xC0 | (c >> 6));
      p[i++] = (uint8_t)(0x80 | (c & 0x3f));
      break;
    case 3:
      do c = 0x800 + (uint32_t)wt_below(r, 0x10000 - 0x800);
      while (c >= 0xD800 && c <= 0xDFFF);
      p[i++] = (uint8_t)(0xE0 | (c >> 12));
      p[i++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
      p[i++] = (uint8_t)(0x80 | (c & 0x3f));
      break;
    default:
      c = 0x10000 + (uint32_t)wt_below(r, 0x110000 - 0x10000);
      p[i++] = (uint8_t)(0xF0 | (c >> 18));
      p[i++] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
      p[i++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
      p[i++] = (uint8_t)(0x80 | (c & 0x3f));
      break;
    }
  }
}

/* Allocator that counts calls and can be told to fail. */
typedef struct wt_alloc {
  size_t mallocs, reallocs, frees;
  size_t live;         /* outstanding blocks */
  size_t largest;      /* largest single request */
  long fail_after;     /* fail once this many more allocations happened; <0 never */
} wt_alloc;

static inline int wt_alloc_should_fail(wt_alloc *a) {
  if (a->fail_after < 0) return 0;
  if (a->fail_after == 0) return 1;
  a->fail_after--;
  return 0;
}

static inline void *wt_malloc(size_t n, void *ud) {
  wt_alloc *a = (wt_alloc *)ud;
  if (wt_alloc_should_fail(a)) return NULL;
  a->mallocs++;
  if (n > a->largest) a->largest = n;
  void *p = malloc(n);
  if (p) a->live++;
  return p;
}

static inline void *wt_realloc(void *p, size_t n, void *ud) {
  wt_alloc *a = (wt_alloc *)ud;
  if (wt_alloc_should_fail(a)) return NULL;
  a->reallocs++;
  if (n > a->largest) a->largest = n;
  void *q = realloc(p, n);
  if (q && !p) a->live++;
  return q;
}

static inline void wt_free(void *p, void *ud) {
  wt_alloc *a = (wt_alloc *)ud;
  if (!p) return;
  a->frees++;
  a->live--;
  free(p);
}

static inline roam_mem wt_mem(wt_alloc *a) {
  memset(a, 0, sizeof *a);
  a->fail_after = -1;
  roam_mem m = {a, wt_malloc, wt_realloc, wt_free};
  return m;
}

#endif
