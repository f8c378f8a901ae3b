/* BLAKE3 internals shared by the portable code and the SIMD back ends. */
#ifndef ROAM_METHOD_BLAKE3_IMPL_H
#define ROAM_METHOD_BLAKE3_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roam/blake3.h>

/* Domain flags (BLAKE3 specification, table 3). */
enum {
  B3_CHUNK_START = 1u << 0,
  B3_CHUNK_END = 1u << 1,
  B3_PARENT = 1u << 2,
  B3_ROOT = 1u << 3,
  B3_KEYED_HASH = 1u << 4,
  B3_DERIVE_KEY_CONTEXT = 1u << 5,
  B3_DERIVE_KEY_MATERIAL = 1u << 6
};

#define B3_BLOCKS_PER_CHUNK (ROAM_BLAKE3_CHUNK_LEN / ROAM_BLAKE3_BLOCK_LEN)

extern const uint32_t roam__b3_iv[8];

/*
 * Message word order of each of the 7 rounds (the BLAKE3 message permutation
 * applied r times). B3_ROUNDS(R) expands R(s0, ..., s15) once per round with
 * literal indices, so every back end's round code indexes its message words
 * with constants (keeping them in registers).
 */
#define B3_ROUNDS(R)                                   \
  R(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) \
  R(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8) \
  R(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1) \
  R(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6) \
  R(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4) \
  R(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7) \
  R(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)

/* One round: column step then diagonal step, G(a, b, c, d, x, y). */
#define B3_ROUND_WITH(G, m, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
  G(0, 4, 8, 12, m[s0], m[s1]);                                                              \
  G(1, 5, 9, 13, m[s2], m[s3]);                                                              \
  G(2, 6, 10, 14, m[s4], m[s5]);                                                             \
  G(3, 7, 11, 15, m[s6], m[s7]);                                                             \
  G(0, 5, 10, 15, m[s8], m[s9]);                                                             \
  G(1, 6, 11, 12, m[s10], m[s11]);                                                           \
  G(2, 7, 8, 13, m[s12], m[s13]);                                                            \
  G(3, 4, 9, 14, m[s14], m[s15]);

/* x86 SIMD back ends need GCC/Clang target attributes; define
 * ROAM_BLAKE3_NO_SIMD to build the portable code only. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(ROAM_BLAKE3_NO_SIMD)
#define ROAM_B3_X86 1
#else
#define ROAM_B3_X86 0
#endif

/*
 * hash_many: hash `n` independent inputs of `blocks` 64-byte blocks each,
 * writing each one's 32-byte chaining value to out + 32*i.
 *   - block b of input i is compressed with counter `counter + (inc ? i : 0)`,
 *     flags `flags | (b == 0 ? flags_start : 0) | (b == blocks-1 ? flags_end : 0)`
 *     and block length 64;
 *   - chunks: blocks = 16, inc = true, start/end = CHUNK_START/CHUNK_END;
 *   - parents: blocks = 1, inc = false, counter 0, flags include PARENT.
 * The back-end versions require n to be exactly their width (4, 8, 16).
 * Inputs may overlap `out` only if every input is read before `out` is written
 * (all back ends load a whole batch before storing it).
 */
void roam__b3_hash_many_portable(const uint8_t *const *inputs, size_t n, size_t blocks,
                                 const uint32_t key[8], uint64_t counter, bool inc,
                                 uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                                 uint8_t *out);
#if ROAM_B3_X86
void roam__b3_hash4_sse41(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                          uint64_t counter, bool inc, uint8_t flags, uint8_t flags_start,
                          uint8_t flags_end, uint8_t *out);
void roam__b3_hash8_avx2(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                         uint64_t counter, bool inc, uint8_t flags, uint8_t flags_start,
                         uint8_t flags_end, uint8_t *out);
void roam__b3_hash16_avx512(const uint8_t *const *inputs, size_t blocks, const uint32_t key[8],
                            uint64_t counter, bool inc, uint8_t flags, uint8_t flags_start,
                            uint8_t flags_end, uint8_t *out);
#endif

/* Single compression, portable. `cv` is updated in place (first 8 words). */
void roam__b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                uint64_t counter, uint8_t flags);
/* Full 64-byte extended output of one compression (for the root / XOF). */
void roam__b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                           uint64_t counter, uint8_t flags, uint8_t out[64]);

static inline uint32_t roam__b3_load32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
         ((uint32_t)p[3] << 24);
}
static inline void roam__b3_store32(uint8_t *p, uint32_t w) {
  p[0] = (uint8_t)w;
  p[1] = (uint8_t)(w >> 8);
  p[2] = (uint8_t)(w >> 16);
  p[3] = (uint8_t)(w >> 24);
}

#endif
