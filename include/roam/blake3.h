/*
 * roam-c: BLAKE3 (portable C11, with optional x86 SIMD back ends chosen at
 * run time).
 *
 * Implements the three BLAKE3 modes (hash, keyed_hash, derive_key) and the
 * extendable output (XOF). Output is bit-identical to the reference
 * implementation (and to the `b3sum` tool) for every input length and every
 * way of splitting the input across update calls.
 *
 *   uint8_t digest[ROAM_BLAKE3_OUT_LEN];
 *   roam_blake3(digest, data, len);                  // one shot
 *
 *   roam_blake3_hasher h;
 *   roam_blake3_hasher_init(&h);
 *   roam_blake3_hasher_update(&h, part1, n1);        // any split
 *   roam_blake3_hasher_update(&h, part2, n2);
 *   roam_blake3_hasher_finalize(&h, out, out_len);   // any length (XOF)
 *
 * The hasher is a plain caller-owned structure (about 1.9 KiB) that needs no
 * clean-up; its fields are private. Finalizing does not modify it, so more
 * input may be added afterwards.
 *
 * Thread-safety: a hasher may only be used by one thread at a time. The free
 * functions are thread-safe (the CPU feature probe is done once, atomically).
 */
#ifndef ROAM_BLAKE3_H
#define ROAM_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#include <roam/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROAM_BLAKE3_OUT_LEN 32   /* default digest length */
#define ROAM_BLAKE3_KEY_LEN 32   /* keyed_hash key length */
#define ROAM_BLAKE3_BLOCK_LEN 64
#define ROAM_BLAKE3_CHUNK_LEN 1024
#define ROAM_BLAKE3_MAX_DEPTH 54 /* 2^54 chunks = 2^64 bytes */

/* SIMD back ends, from slowest to fastest. */
typedef enum roam_blake3_backend {
  ROAM_BLAKE3_PORTABLE = 0, /* plain C, any CPU */
  ROAM_BLAKE3_SSE41 = 1,    /* 4 chunks at a time (x86 SSE4.1) */
  ROAM_BLAKE3_AVX2 = 2,     /* 8 chunks at a time (x86 AVX2) */
  ROAM_BLAKE3_AVX512 = 3    /* 16 chunks at a time (x86 AVX-512F+VL) */
} roam_blake3_backend;

/* Private state; the layout may change between versions. */
typedef struct roam_blake3_hasher {
  uint32_t key[8];         /* key words (IV for plain hashing) */
  uint32_t cv[8];          /* chaining value of the current chunk */
  uint64_t chunk_counter;  /* index of the current chunk */
  uint8_t buf[ROAM_BLAKE3_BLOCK_LEN]; /* pending bytes of the current chunk */
  uint8_t buf_len;         /* bytes in buf */
  uint8_t blocks_done;     /* blocks of the current chunk already compressed */
  uint8_t flags;           /* mode flags (keyed / derive) */
  uint8_t stack_len;       /* entries in cv_stack */
  uint8_t backend;         /* highest back end this hasher may use */
  uint8_t cv_stack[(ROAM_BLAKE3_MAX_DEPTH + 1) * ROAM_BLAKE3_OUT_LEN];
} roam_blake3_hasher;

/* Plain hash mode. */
ROAM_EXTERN void roam_blake3_hasher_init(roam_blake3_hasher *h);
/* keyed_hash mode with a 32-byte key. */
ROAM_EXTERN void roam_blake3_hasher_init_keyed(roam_blake3_hasher *h,
                                               const uint8_t key[ROAM_BLAKE3_KEY_LEN]);
/* derive_key mode; `context` is a NUL-terminated, hard-coded, globally unique
 * string. The _raw form takes a context of explicit length. */
ROAM_EXTERN void roam_blake3_hasher_init_derive_key(roam_blake3_hasher *h, const char *context);
ROAM_EXTERN void roam_blake3_hasher_init_derive_key_raw(roam_blake3_hasher *h,
                                                        const void *context, size_t len);
/* Absorb `len` bytes (`data` may be NULL when len is 0). */
ROAM_EXTERN void roam_blake3_hasher_update(roam_blake3_hasher *h, const void *data, size_t len);
/* Write `out_len` bytes of output (any length; the first 32 are the digest). */
ROAM_EXTERN void roam_blake3_hasher_finalize(const roam_blake3_hasher *h, uint8_t *out,
                                             size_t out_len);
/* As finalize, starting at byte `seek` of the output stream. */
ROAM_EXTERN void roam_blake3_hasher_finalize_seek(const roam_blake3_hasher *h, uint64_t seek,
                                                  uint8_t *out, size_t out_len);
/* Forget all input, keeping the mode and key. */
ROAM_EXTERN void roam_blake3_hasher_reset(roam_blake3_hasher *h);

/*
 * Limit the back end this hasher uses (default: the best the CPU supports).
 * A request above what the CPU supports is lowered to what it supports.
 * Meant for tests and benchmarks: every back end gives the same output.
 */
ROAM_EXTERN void roam_blake3_hasher_set_backend(roam_blake3_hasher *h, roam_blake3_backend max);

/* One-shot 32-byte hash of `data`. */
ROAM_EXTERN void roam_blake3(uint8_t out[ROAM_BLAKE3_OUT_LEN], const void *data, size_t len);

/* The best back end this CPU (and this build) supports. */
ROAM_EXTERN roam_blake3_backend roam_blake3_backend_detected(void);
/* "portable", "sse4.1", "avx2", "avx512" ("?" otherwise). */
ROAM_EXTERN const char *roam_blake3_backend_name(roam_blake3_backend b);

#ifdef __cplusplus
}
#endif
#endif /* ROAM_BLAKE3_H */
