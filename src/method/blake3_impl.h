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
/* Message word order of each of the 7 rounds (the permutation applied r times). */
extern const uint8_t roam__b3_sched[7][16];

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
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
