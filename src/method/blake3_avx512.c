/* BLAKE3 hash_many, 16 inputs at a time, AVX-512F (one input per 32-bit lane). */
#include "method/blake3_impl.h"

#if ROAM_B3_X86
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512vl")))

#define G16(a, b, c, d, x, y)                                               \
  do {                                                                      \
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), (x));             \
    v[d] = _mm512_ror_epi32(_mm512_xor_si512(v[d], v[a]), 16);              \
    v[c] = _mm512_add_epi32(v[c], v[d]);                                    \
    v[b] = _mm512_ror_epi32(_mm512_xor_si512(v[b], v[c]), 12);              \
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), (y));             \
    v[d] = _mm512_ror_epi32(_mm512_xor_si512(v[d], v[a]), 8);               \
    v[c] = _mm512_add_epi32(v[c], v[d]);                                    \
    v[b] = _mm512_ror_epi32(_mm512_xor_si512(v[b], v[c]), 7);               \
  } while (0)

#define ROUND16(...) B3_ROUND_WITH(G16, m, __VA_ARGS__)

/*
 * In-place 16x16 transpose of 32-bit elements (x[i] holds row i).
 * Steps 1-2 transpose each 4x4 block inside every 128-bit lane, so u[4g+w]
 * holds, in 128-bit lane q, column 4q+w of rows 4g..4g+3. Step 3 is a 4x4
 * transpose of 128-bit blocks across u[w], u[4+w], u[8+w], u[12+w].
 */
TGT static inline void transpose16(__m512i x[16]) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; k++) {
    t[2 * k] = _mm512_unpacklo_epi32(x[2 * k], x[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(x[2 * k], x[2 * k + 1]);
  }
  for (int g = 0; g < 4; g++) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g + 0], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g + 0], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int w = 0; w < 4; w++) {
    __m512i a = u[w], b = u[4 + w], c = u[8 + w], d = u[12 + w];
    __m512i ab01 = _mm512_shuffle_i32x4(a, b, 0x44); /* a0 a1 b0 b1 */
    __m512i ab23 = _mm512_shuffle_i32x4(a, b, 0xEE); /* a2 a3 b2 b3 */
    __m512i cd01 = _mm512_shuffle_i32x4(c, d, 0x44);
    __m512i cd23 = _mm512_shuffle_i32x4(c, d, 0xEE);
    x[w] = _mm512_shuffle_i32x4(ab01, cd01, 0x88);      /* a0 b0 c0 d0 */
    x[4 + w] = _mm512_shuffle_i32x4(ab01, cd01, 0xDD);  /* a1 b1 c1 d1 */
    x[8 + w] = _mm512_shuffle_i32x4(ab23, cd23, 0x88);  /* a2 b2 c2 d2 */
    x[12 + w] = _mm512_shuffle_i32x4(ab23, cd23, 0xDD); /* a3 b3 c3 d3 */
  }
}

TGT void roam__b3_hash16_avx512(const uint8_t *const *inputs, size_t blocks,
                                const uint32_t key[8], uint64_t counter, bool inc, uint8_t flags,
                                uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
  __m512i h[16], v[16], m[16];
  for (int i = 0; i < 8; i++) h[i] = _mm512_set1_epi32((int)key[i]);
  uint32_t lo[16], hi[16];
  for (int i = 0; i < 16; i++) {
    uint64_t c = counter + (inc ? (uint64_t)i : 0);
    lo[i] = (uint32_t)c;
    hi[i] = (uint32_t)(c >> 32);
  }
  const __m512i ctr_lo = _mm512_loadu_si512((const void *)lo);
  const __m512i ctr_hi = _mm512_loadu_si512((const void *)hi);

  for (size_t b = 0; b < blocks; b++) {
    uint32_t f = flags;
    if (b == 0) f |= flags_start;
    if (b + 1 == blocks) f |= flags_end;
    const size_t off = b * 64;
    for (int i = 0; i < 16; i++) m[i] = _mm512_loadu_si512((const void *)(inputs[i] + off));
    transpose16(m);
    for (int i = 0; i < 8; i++) v[i] = h[i];
    v[8] = _mm512_set1_epi32((int)roam__b3_iv[0]);
    v[9] = _mm512_set1_epi32((int)roam__b3_iv[1]);
    v[10] = _mm512_set1_epi32((int)roam__b3_iv[2]);
    v[11] = _mm512_set1_epi32((int)roam__b3_iv[3]);
    v[12] = ctr_lo;
    v[13] = ctr_hi;
    v[14] = _mm512_set1_epi32(64);
    v[15] = _mm512_set1_epi32((int)f);
    B3_ROUNDS(ROUND16)
    for (int i = 0; i < 8; i++) h[i] = _mm512_xor_si512(v[i], v[i + 8]);
  }
  /* Rows 8-15 are padding so the square transpose can be reused. */
  for (int i = 8; i < 16; i++) h[i] = _mm512_setzero_si512();
  transpose16(h);
  for (int i = 0; i < 16; i++)
    _mm256_storeu_si256((__m256i *)(void *)(out + 32 * i), _mm512_castsi512_si256(h[i]));
}

#else
typedef int roam__b3_avx512_unused;
#endif
