/* BLAKE3 hash_many, 8 inputs at a time, AVX2 (one input per 32-bit lane). */
#include "method/blake3_impl.h"

#if ROAM_B3_X86
#include <immintrin.h>

#define TGT __attribute__((target("avx2")))

TGT static inline __m256i rot16(__m256i x) {
  return _mm256_shuffle_epi8(
      x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7,
                          4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
}
TGT static inline __m256i rot8(__m256i x) {
  return _mm256_shuffle_epi8(
      x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6,
                          7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
}
TGT static inline __m256i rot12(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20));
}
TGT static inline __m256i rot7(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25));
}

#define G8(a, b, c, d, x, y)                                        \
  do {                                                              \
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), (x));     \
    v[d] = rot16(_mm256_xor_si256(v[d], v[a]));                     \
    v[c] = _mm256_add_epi32(v[c], v[d]);                            \
    v[b] = rot12(_mm256_xor_si256(v[b], v[c]));                     \
    v[a] = _mm256_add_epi32(_mm256_add_epi32(v[a], v[b]), (y));     \
    v[d] = rot8(_mm256_xor_si256(v[d], v[a]));                      \
    v[c] = _mm256_add_epi32(v[c], v[d]);                            \
    v[b] = rot7(_mm256_xor_si256(v[b], v[c]));                      \
  } while (0)

#define ROUND8(...) B3_ROUND_WITH(G8, m, __VA_ARGS__)

/* In-place 8x8 transpose of 32-bit elements (x[i] holds row i). */
TGT static inline void transpose8(__m256i x[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(x[0], x[1]); /* r0.0 r1.0 r0.1 r1.1 | .4 .5 */
  __m256i t1 = _mm256_unpackhi_epi32(x[0], x[1]); /* r0.2 r1.2 r0.3 r1.3 | .6 .7 */
  __m256i t2 = _mm256_unpacklo_epi32(x[2], x[3]);
  __m256i t3 = _mm256_unpackhi_epi32(x[2], x[3]);
  __m256i t4 = _mm256_unpacklo_epi32(x[4], x[5]);
  __m256i t5 = _mm256_unpackhi_epi32(x[4], x[5]);
  __m256i t6 = _mm256_unpacklo_epi32(x[6], x[7]);
  __m256i t7 = _mm256_unpackhi_epi32(x[6], x[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2); /* column 0 rows 0-3 | column 4 */
  __m256i u1 = _mm256_unpackhi_epi64(t0, t2); /* column 1 | column 5 */
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3); /* column 2 | column 6 */
  __m256i u3 = _mm256_unpackhi_epi64(t1, t3); /* column 3 | column 7 */
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6); /* same for rows 4-7 */
  __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  x[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  x[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  x[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  x[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  x[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  x[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  x[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  x[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

TGT void roam__b3_hash8_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                             uint64_t counter, bool inc, uint8_t flags, uint8_t flags_start,
                             uint8_t flags_end, uint8_t *out) {
  __m256i h[8], v[16], m[16];
  for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)key[i]);
  uint32_t lo[8], hi[8];
  for (int i = 0; i < 8; i++) {
    uint64_t c = counter + (inc ? (uint64_t)i : 0);
    lo[i] = (uint32_t)c;
    hi[i] = (uint32_t)(c >> 32);
  }
  const __m256i ctr_lo = _mm256_loadu_si256((const __m256i *)(const void *)lo);
  const __m256i ctr_hi = _mm256_loadu_si256((const __m256i *)(const void *)hi);

  for (size_t b = 0; b < blocks; b++) {
    uint32_t f = flags;
    if (b == 0) f |= flags_start;
    if (b + 1 == blocks) f |= flags_end;
    const size_t off = b * 64;
    for (int i = 0; i < 8; i++) {
      m[i] = _mm256_loadu_si256((const __m256i *)(const void *)(inputs[i] + off));
      m[8 + i] = _mm256_loadu_si256((const __m256i *)(const void *)(inputs[i] + off + 32));
    }
    transpose8(m);
    transpose8(m + 8);
    for (int i = 0; i < 8; i++) v[i] = h[i];
    v[8] = _mm256_set1_epi32((int)roam__b3_iv[0]);
    v[9] = _mm256_set1_epi32((int)roam__b3_iv[1]);
    v[10] = _mm256_set1_epi32((int)roam__b3_iv[2]);
    v[11] = _mm256_set1_epi32((int)roam__b3_iv[3]);
    v[12] = ctr_lo;
    v[13] = ctr_hi;
    v[14] = _mm256_set1_epi32(64);
    v[15] = _mm256_set1_epi32((int)f);
    B3_ROUNDS(ROUND8)
    for (int i = 0; i < 8; i++) h[i] = _mm256_xor_si256(v[i], v[i + 8]);
  }
  transpose8(h);
  for (int i = 0; i < 8; i++) _mm256_storeu_si256((__m256i *)(void *)(out + 32 * i), h[i]);
}

#else
typedef int roam__b3_avx2_unused;
#endif
