/* BLAKE3 hash_many, 4 inputs at a time, SSE4.1 (one input per 32-bit lane). */
#include "method/blake3_impl.h"

#if ROAM_B3_X86
#include <immintrin.h>

#define TGT __attribute__((target("sse4.1")))

TGT static inline __m128i rot16(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
TGT static inline __m128i rot8(__m128i x) {
  return _mm_shuffle_epi8(x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}
TGT static inline __m128i rot12(__m128i x) {
  return _mm_or_si128(_mm_srli_epi32(x, 12), _mm_slli_epi32(x, 20));
}
TGT static inline __m128i rot7(__m128i x) {
  return _mm_or_si128(_mm_srli_epi32(x, 7), _mm_slli_epi32(x, 25));
}

#define G4(a, b, c, d, x, y)                                        \
  do {                                                              \
    v[a] = _mm_add_epi32(_mm_add_epi32(v[a], v[b]), (x));           \
    v[d] = rot16(_mm_xor_si128(v[d], v[a]));                        \
    v[c] = _mm_add_epi32(v[c], v[d]);                               \
    v[b] = rot12(_mm_xor_si128(v[b], v[c]));                        \
    v[a] = _mm_add_epi32(_mm_add_epi32(v[a], v[b]), (y));           \
    v[d] = rot8(_mm_xor_si128(v[d], v[a]));                         \
    v[c] = _mm_add_epi32(v[c], v[d]);                               \
    v[b] = rot7(_mm_xor_si128(v[b], v[c]));                         \
  } while (0)

#define ROUND4(...) B3_ROUND_WITH(G4, m, __VA_ARGS__)

/* In-place 4x4 transpose of 32-bit elements. */
TGT static inline void transpose4(__m128i x[4]) {
  __m128i t0 = _mm_unpacklo_epi32(x[0], x[1]);
  __m128i t1 = _mm_unpackhi_epi32(x[0], x[1]);
  __m128i t2 = _mm_unpacklo_epi32(x[2], x[3]);
  __m128i t3 = _mm_unpackhi_epi32(x[2], x[3]);
  x[0] = _mm_unpacklo_epi64(t0, t2);
  x[1] = _mm_unpackhi_epi64(t0, t2);
  x[2] = _mm_unpacklo_epi64(t1, t3);
  x[3] = _mm_unpackhi_epi64(t1, t3);
}

TGT void roam__b3_hash4_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                              uint64_t counter, bool inc, uint8_t flags, uint8_t flags_start,
                              uint8_t flags_end, uint8_t *out) {
  __m128i h[8], v[16], m[16];
  for (int i = 0; i < 8; i++) h[i] = _mm_set1_epi32((int)key[i]);
  uint32_t lo[4], hi[4];
  for (int i = 0; i < 4; i++) {
    uint64_t c = counter + (inc ? (uint64_t)i : 0);
    lo[i] = (uint32_t)c;
    hi[i] = (uint32_t)(c >> 32);
  }
  const __m128i ctr_lo = _mm_loadu_si128((const __m128i *)(const void *)lo);
  const __m128i ctr_hi = _mm_loadu_si128((const __m128i *)(const void *)hi);

  for (size_t b = 0; b < blocks; b++) {
    uint32_t f = flags;
    if (b == 0) f |= flags_start;
    if (b + 1 == blocks) f |= flags_end;
    const size_t off = b * 64;
    for (int q = 0; q < 4; q++) {
      for (int i = 0; i < 4; i++)
        m[4 * q + i] = _mm_loadu_si128((const __m128i *)(const void *)(inputs[i] + off + 16 * q));
      transpose4(m + 4 * q);
    }
    for (int i = 0; i < 8; i++) v[i] = h[i];
    v[8] = _mm_set1_epi32((int)roam__b3_iv[0]);
    v[9] = _mm_set1_epi32((int)roam__b3_iv[1]);
    v[10] = _mm_set1_epi32((int)roam__b3_iv[2]);
    v[11] = _mm_set1_epi32((int)roam__b3_iv[3]);
    v[12] = ctr_lo;
    v[13] = ctr_hi;
    v[14] = _mm_set1_epi32(64);
    v[15] = _mm_set1_epi32((int)f);
    B3_ROUNDS(ROUND4)
    for (int i = 0; i < 8; i++) h[i] = _mm_xor_si128(v[i], v[i + 8]);
  }
  transpose4(h);
  transpose4(h + 4);
  for (int i = 0; i < 4; i++) {
    _mm_storeu_si128((__m128i *)(void *)(out + 32 * i), h[i]);
    _mm_storeu_si128((__m128i *)(void *)(out + 32 * i + 16), h[4 + i]);
  }
}

#else
typedef int roam__b3_sse41_unused;
#endif
