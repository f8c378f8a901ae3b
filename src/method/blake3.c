/*
 * BLAKE3: portable compression function, run-time back-end dispatch and the
 * incremental hasher (chunk state + lazily merged chaining-value stack).
 *
 * Tree handling. Input is split into 1 KiB chunks; each chunk's chaining
 * value (CV) becomes a leaf of a binary tree whose left subtrees are always
 * complete powers of two. The hasher keeps a stack of CVs of complete
 * subtrees. A CV is merged into its parent only once the hasher knows more
 * input follows (so the root is never compressed as a non-root node): before
 * pushing the CV of a subtree that starts at chunk index c, the stack is
 * merged down to popcount(c) entries. Large updates hash aligned subtrees of
 * up to B3_MAX_SUBTREE chunks at once with the widest SIMD back end, reduce
 * them to their two child CVs and push those.
 */
#include <stdatomic.h>
#include <string.h>

#include "method/blake3_impl.h"

#if ROAM_B3_X86
#include <cpuid.h>
#endif

const uint32_t roam__b3_iv[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                                 0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* Largest subtree (in chunks) hashed in one go by update(); a power of two. */
#define B3_MAX_SUBTREE 64

/* ------------------------------------------------------------------------ */
/* Portable compression                                                      */

static inline uint32_t rotr32(uint32_t w, unsigned c) { return (w >> c) | (w << (32 - c)); }

#define B3_G(a, b, c, d, x, y)        \
  do {                                \
    v[a] = v[a] + v[b] + (x);         \
    v[d] = rotr32(v[d] ^ v[a], 16);   \
    v[c] = v[c] + v[d];               \
    v[b] = rotr32(v[b] ^ v[c], 12);   \
    v[a] = v[a] + v[b] + (y);         \
    v[d] = rotr32(v[d] ^ v[a], 8);    \
    v[c] = v[c] + v[d];               \
    v[b] = rotr32(v[b] ^ v[c], 7);    \
  } while (0)

#define B3_PROUND(...) B3_ROUND_WITH(B3_G, m, __VA_ARGS__)

/* Runs the 7 rounds; v[0..15] is the final state. */
static inline void compress_core(uint32_t v[16], const uint32_t cv[8], const uint8_t block[64],
                                 uint8_t block_len, uint64_t counter, uint8_t flags) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++) m[i] = roam__b3_load32(block + 4 * i);
  for (int i = 0; i < 8; i++) v[i] = cv[i];
  v[8] = roam__b3_iv[0];
  v[9] = roam__b3_iv[1];
  v[10] = roam__b3_iv[2];
  v[11] = roam__b3_iv[3];
  v[12] = (uint32_t)counter;
  v[13] = (uint32_t)(counter >> 32);
  v[14] = block_len;
  v[15] = flags;
  B3_ROUNDS(B3_PROUND)
}

void roam__b3_compress_in_place(uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                uint64_t counter, uint8_t flags) {
  uint32_t v[16];
  compress_core(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

void roam__b3_compress_xof(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                           uint64_t counter, uint8_t flags, uint8_t out[64]) {
  uint32_t v[16];
  compress_core(v, cv, block, block_len, counter, flags);
  for (int i = 0; i < 8; i++) {
    roam__b3_store32(out + 4 * i, v[i] ^ v[i + 8]);
    roam__b3_store32(out + 32 + 4 * i, v[i + 8] ^ cv[i]);
  }
}

void roam__b3_hash_many_portable(const uint8_t *const *inputs, size_t n, size_t blocks,
                                 const uint32_t key[8], uint64_t counter, bool inc,
                                 uint8_t flags, uint8_t flags_start, uint8_t flags_end,
                                 uint8_t *out) {
  for (size_t i = 0; i < n; i++) {
    uint32_t cv[8];
    memcpy(cv, key, sizeof cv);
    uint64_t ctr = counter + (inc ? (uint64_t)i : 0);
    for (size_t b = 0; b < blocks; b++) {
      uint8_t f = flags;
      if (b == 0) f |= flags_start;
      if (b + 1 == blocks) f |= flags_end;
      roam__b3_compress_in_place(cv, inputs[i] + 64 * b, 64, ctr, f);
    }
    for (int w = 0; w < 8; w++) roam__b3_store32(out + 32 * i + 4 * w, cv[w]);
  }
}

/* ------------------------------------------------------------------------ */
/* Back-end detection and dispatch                                           */

#if ROAM_B3_X86
static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static roam_blake3_backend probe_cpu(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return ROAM_BLAKE3_PORTABLE;
  const bool sse41 = (c >> 19) & 1;
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  if (!sse41) return ROAM_BLAKE3_PORTABLE;
  if (!osxsave || !avx) return ROAM_BLAKE3_SSE41;
  const uint64_t xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return ROAM_BLAKE3_SSE41; /* XMM + YMM state */
  if (__get_cpuid_max(0, NULL) < 7) return ROAM_BLAKE3_SSE41;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1;
  const bool avx512f = (b >> 16) & 1;
  const bool avx512vl = (b >> 31) & 1;
  if (!avx2) return ROAM_BLAKE3_SSE41;
  if (avx512f && avx512vl && (xcr0 & 0xE6) == 0xE6) return ROAM_BLAKE3_AVX512;
  return ROAM_BLAKE3_AVX2;
}
#endif

roam_blake3_backend roam_blake3_backend_detected(void) {
#if ROAM_B3_X86
  static atomic_int cached = -1;
  int v = atomic_load_explicit(&cached, memory_order_relaxed);
  if (v < 0) {
    v = (int)probe_cpu();
    atomic_store_explicit(&cached, v, memory_order_relaxed);
  }
  return (roam_blake3_backend)v;
#else
  return ROAM_BLAKE3_PORTABLE;
#endif
}

const char *roam_blake3_backend_name(roam_blake3_backend b) {
  switch (b) {
  case ROAM_BLAKE3_PORTABLE: return "portable";
  case ROAM_BLAKE3_SSE41: return "sse4.1";
  case ROAM_BLAKE3_AVX2: return "avx2";
  case ROAM_BLAKE3_AVX512: return "avx512";
  }
  return "?";
}

static void hash_many(unsigned backend, const uint8_t *const *inputs, size_t n, size_t blocks,
                      const uint32_t key[8], uint64_t counter, bool inc, uint8_t flags,
                      uint8_t flags_start, uint8_t flags_end, uint8_t *out) {
#if ROAM_B3_X86
  const uint64_t step16 = inc ? 16 : 0, step8 = inc ? 8 : 0, step4 = inc ? 4 : 0;
  if (backend >= ROAM_BLAKE3_AVX512) {
    while (n >= 16) {
      roam__b3_hash16_avx512(inputs, blocks, key, counter, inc, flags, flags_start, flags_end,
                             out);
      inputs += 16, n -= 16, counter += step16, out += 16 * 32;
    }
  }
  if (backend >= ROAM_BLAKE3_AVX2) {
    while (n >= 8) {
      roam__b3_hash8_avx2(inputs, blocks, key, counter, inc, flags, flags_start, flags_end, out);
      inputs += 8, n -= 8, counter += step8, out += 8 * 32;
    }
  }
  if (backend >= ROAM_BLAKE3_SSE41) {
    while (n >= 4) {
      roam__b3_hash4_sse41(inputs, blocks, key, counter, inc, flags, flags_start, flags_end,
                           out);
      inputs += 4, n -= 4, counter += step4, out += 4 * 32;
    }
  }
#else
  (void)backend;
#endif
  roam__b3_hash_many_portable(inputs, n, blocks, key, counter, inc, flags, flags_start,
                              flags_end, out);
}

/* ------------------------------------------------------------------------ */
/* Output nodes                                                              */

/* Everything needed to compress a node either as a CV or as the root. */
typedef struct b3_output {
  uint32_t cv[8];
  uint8_t block[64];
  uint8_t block_len;
  uint8_t flags;
  uint64_t counter;
} b3_output;

static void output_cv_bytes(const b3_output *o, uint8_t out[32]) {
  uint32_t cv[8];
  memcpy(cv, o->cv, sizeof cv);
  roam__b3_compress_in_place(cv, o->block, o->block_len, o->counter, o->flags);
  for (int i = 0; i < 8; i++) roam__b3_store32(out + 4 * i, cv[i]);
}

static void parent_output(b3_output *o, const uint8_t left[32], const uint8_t right[32],
                          const uint32_t key[8], uint8_t mode_flags) {
  memcpy(o->cv, key, sizeof o->cv);
  memcpy(o->block, left, 32);
  memcpy(o->block + 32, right, 32);
  o->block_len = 64;
  o->flags = (uint8_t)(mode_flags | B3_PARENT);
  o->counter = 0;
}

static void parent_cv(uint8_t out[32], const uint8_t left[32], const uint8_t right[32],
                      const uint32_t key[8], uint8_t mode_flags) {
  b3_output o;
  parent_output(&o, left, right, key, mode_flags);
  output_cv_bytes(&o, out);
}

/* ------------------------------------------------------------------------ */
/* Chunk state (embedded in the hasher)                                      */

static size_t chunk_len(const roam_blake3_hasher *h) {
  return (size_t)h->blocks_done * ROAM_BLAKE3_BLOCK_LEN + h->buf_len;
}

static uint8_t chunk_start_flag(const roam_blake3_hasher *h) {
  return h->blocks_done == 0 ? (uint8_t)B3_CHUNK_START : 0;
}

static void chunk_reset(roam_blake3_hasher *h) {
  memcpy(h->cv, h->key, sizeof h->cv);
  h->buf_len = 0;
  h->blocks_done = 0;
}

/* Absorb input into the current chunk; the chunk must not exceed 1024 bytes.
 * A full block is compressed only once more input follows it. */
static void chunk_update(roam_blake3_hasher *h, const uint8_t *in, size_t len) {
  if (h->buf_len > 0) {
    size_t take = ROAM_BLAKE3_BLOCK_LEN - h->buf_len;
    if (take > len) take = len;
    memcpy(h->buf + h->buf_len, in, take);
    h->buf_len = (uint8_t)(h->buf_len + take);
    in += take;
    len -= take;
    if (len == 0) return;
    roam__b3_compress_in_place(h->cv, h->buf, ROAM_BLAKE3_BLOCK_LEN, h->chunk_counter,
                               (uint8_t)(h->flags | chunk_start_flag(h)));
    h->blocks_done++;
    h->buf_len = 0;
  }
  while (len > ROAM_BLAKE3_BLOCK_LEN) {
    roam__b3_compress_in_place(h->cv, in, ROAM_BLAKE3_BLOCK_LEN, h->chunk_counter,
                               (uint8_t)(h->flags | chunk_start_flag(h)));
    h->blocks_done++;
    in += ROAM_BLAKE3_BLOCK_LEN;
    len -= ROAM_BLAKE3_BLOCK_LEN;
  }
  memcpy(h->buf, in, len);
  h->buf_len = (uint8_t)len;
}

static void chunk_output(const roam_blake3_hasher *h, b3_output *o) {
  memcpy(o->cv, h->cv, sizeof o->cv);
  memset(o->block, 0, sizeof o->block);
  memcpy(o->block, h->buf, h->buf_len);
  o->block_len = h->buf_len;
  o->counter = h->chunk_counter;
  o->flags = (uint8_t)(h->flags | chunk_start_flag(h) | B3_CHUNK_END);
}

/* ------------------------------------------------------------------------ */
/* CV stack                                                                  */

static unsigned popcount64(uint64_t x) {
  unsigned n = 0;
  while (x) {
    x &= x - 1;
    n++;
  }
  return n;
}

/* Merge the top of the stack until it holds popcount(chunks) subtrees: the
 * canonical decomposition of the first `chunks` chunks. Only valid once it is
 * known that more input follows those chunks. */
static void merge_stack(roam_blake3_hasher *h, uint64_t chunks) {
  const unsigned keep = popcount64(chunks);
  while (h->stack_len > keep) {
    uint8_t *left = h->cv_stack + (size_t)(h->stack_len - 2) * 32;
    parent_cv(left, left, left + 32, h->key, h->flags);
    h->stack_len--;
  }
}

/* Push the CV of a complete subtree whose first chunk has index `first_chunk`. */
static void push_cv(roam_blake3_hasher *h, const uint8_t cv[32], uint64_t first_chunk) {
  merge_stack(h, first_chunk);
  memcpy(h->cv_stack + (size_t)h->stack_len * 32, cv, 32);
  h->stack_len++;
}

/* Hash `chunks` (a power of two >= 2) complete chunks starting at chunk index
 * `counter` and return the CVs of the subtree root's two children. */
static void hash_subtree(const roam_blake3_hasher *h, const uint8_t *in, size_t chunks,
                         uint64_t counter, uint8_t left_right[64]) {
  uint8_t a[B3_MAX_SUBTREE * 32], b[B3_MAX_SUBTREE / 2 * 32];
  const uint8_t *ptrs[B3_MAX_SUBTREE] = {NULL}; /* (silences -Wmaybe-uninitialized) */
  for (size_t i = 0; i < chunks; i++) ptrs[i] = in + i * ROAM_BLAKE3_CHUNK_LEN;
  hash_many(h->backend, ptrs, chunks, B3_BLOCKS_PER_CHUNK, h->key, counter, true, h->flags,
            B3_CHUNK_START, B3_CHUNK_END, a);
  uint8_t *cur = a, *next = b;
  size_t n = chunks;
  while (n > 2) {
    for (size_t i = 0; i < n / 2; i++) ptrs[i] = cur + i * 64;
    hash_many(h->backend, ptrs, n / 2, 1, h->key, 0, false, (uint8_t)(h->flags | B3_PARENT), 0,
              0, next);
    uint8_t *t = cur;
    cur = next;
    next = t;
    n /= 2;
  }
  memcpy(left_right, cur, 64);
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */

static void hasher_init_words(roam_blake3_hasher *h, const uint32_t key[8], uint8_t flags) {
  /* cv_stack is only read below stack_len, so it is left uninitialised. */
  memcpy(h->key, key, sizeof h->key);
  h->chunk_counter = 0;
  h->flags = flags;
  h->stack_len = 0;
  h->backend = (uint8_t)roam_blake3_backend_detected();
  chunk_reset(h);
}

void roam_blake3_hasher_init(roam_blake3_hasher *h) { hasher_init_words(h, roam__b3_iv, 0); }

void roam_blake3_hasher_init_keyed(roam_blake3_hasher *h, const uint8_t key[32]) {
  uint32_t k[8];
  for (int i = 0; i < 8; i++) k[i] = roam__b3_load32(key + 4 * i);
  hasher_init_words(h, k, B3_KEYED_HASH);
}

void roam_blake3_hasher_init_derive_key_raw(roam_blake3_hasher *h, const void *context,
                                            size_t len) {
  roam_blake3_hasher ctx;
  hasher_init_words(&ctx, roam__b3_iv, B3_DERIVE_KEY_CONTEXT);
  roam_blake3_hasher_update(&ctx, context, len);
  uint8_t key[32];
  roam_blake3_hasher_finalize(&ctx, key, sizeof key);
  uint32_t k[8];
  for (int i = 0; i < 8; i++) k[i] = roam__b3_load32(key + 4 * i);
  hasher_init_words(h, k, B3_DERIVE_KEY_MATERIAL);
}

void roam_blake3_hasher_init_derive_key(roam_blake3_hasher *h, const char *context) {
  roam_blake3_hasher_init_derive_key_raw(h, context, strlen(context));
}

void roam_blake3_hasher_reset(roam_blake3_hasher *h) {
  chunk_reset(h);
  h->chunk_counter = 0;
  h->stack_len = 0;
}

void roam_blake3_hasher_set_backend(roam_blake3_hasher *h, roam_blake3_backend max) {
  roam_blake3_backend best = roam_blake3_backend_detected();
  if ((int)max < 0) max = ROAM_BLAKE3_PORTABLE;
  h->backend = (uint8_t)(max < best ? max : best);
}

void roam_blake3_hasher_update(roam_blake3_hasher *h, const void *data, size_t len) {
  if (len == 0) return;
  const uint8_t *in = data;

  /* Complete a partially filled chunk first. */
  if (chunk_len(h) > 0) {
    size_t take = ROAM_BLAKE3_CHUNK_LEN - chunk_len(h);
    if (take > len) take = len;
    chunk_update(h, in, take);
    in += take;
    len -= take;
    if (len == 0) return;
    /* The chunk is full and more input follows: it is not the root. */
    b3_output o;
    uint8_t cv[32];
    chunk_output(h, &o);
    output_cv_bytes(&o, cv);
    push_cv(h, cv, h->chunk_counter);
    h->chunk_counter++;
    chunk_reset(h);
  }

  /* Whole subtrees while more than one chunk of input remains. The last
   * (possibly full) chunk always stays in the chunk state for finalize. */
  while (len > ROAM_BLAKE3_CHUNK_LEN) {
    size_t chunks = B3_MAX_SUBTREE;
    while (chunks * ROAM_BLAKE3_CHUNK_LEN > len) chunks /= 2;
    while ((h->chunk_counter & (uint64_t)(chunks - 1)) != 0) chunks /= 2;
    if (chunks == 1) {
      uint8_t cv[32];
      const uint8_t *p = in;
      hash_many(ROAM_BLAKE3_PORTABLE, &p, 1, B3_BLOCKS_PER_CHUNK, h->key, h->chunk_counter, true,
                h->flags, B3_CHUNK_START, B3_CHUNK_END, cv);
      push_cv(h, cv, h->chunk_counter);
    } else {
      uint8_t lr[64];
      hash_subtree(h, in, chunks, h->chunk_counter, lr);
      push_cv(h, lr, h->chunk_counter);
      push_cv(h, lr + 32, h->chunk_counter + chunks / 2);
    }
    h->chunk_counter += chunks;
    in += chunks * ROAM_BLAKE3_CHUNK_LEN;
    len -= chunks * ROAM_BLAKE3_CHUNK_LEN;
  }

  if (len > 0) {
    /* Input follows every pushed subtree, so the stack can be fully merged;
     * finalize relies on this when the chunk state is not empty. */
    merge_stack(h, h->chunk_counter);
    chunk_update(h, in, len);
  }
}

void roam_blake3_hasher_finalize_seek(const roam_blake3_hasher *h, uint64_t seek, uint8_t *out,
                                      size_t out_len) {
  if (out_len == 0) return;
  b3_output o;
  size_t remaining;
  if (h->stack_len == 0) {
    chunk_output(h, &o);
    remaining = 0;
  } else if (chunk_len(h) > 0) {
    chunk_output(h, &o);
    remaining = h->stack_len;
  } else {
    /* Input ended exactly at a subtree boundary: the top two CVs form the
     * lowest parent. (stack_len >= 2 here.) */
    parent_output(&o, h->cv_stack + (size_t)(h->stack_len - 2) * 32,
                  h->cv_stack + (size_t)(h->stack_len - 1) * 32, h->key, h->flags);
    remaining = (size_t)h->stack_len - 2;
  }
  while (remaining > 0) {
    uint8_t right[32];
    output_cv_bytes(&o, right);
    remaining--;
    parent_output(&o, h->cv_stack + remaining * 32, right, h->key, h->flags);
  }

  /* Root output: block counter = output block index. */
  uint64_t block_index = seek / 64;
  size_t skip = (size_t)(seek % 64);
  const uint8_t root_flags = (uint8_t)(o.flags | B3_ROOT);
  while (out_len > 0) {
    uint8_t buf[64];
    roam__b3_compress_xof(o.cv, o.block, o.block_len, block_index, root_flags, buf);
    size_t n = 64 - skip;
    if (n > out_len) n = out_len;
    memcpy(out, buf + skip, n);
    out += n;
    out_len -= n;
    skip = 0;
    block_index++;
  }
}

void roam_blake3_hasher_finalize(const roam_blake3_hasher *h, uint8_t *out, size_t out_len) {
  roam_blake3_hasher_finalize_seek(h, 0, out, out_len);
}

void roam_blake3(uint8_t out[32], const void *data, size_t len) {
  roam_blake3_hasher h;
  roam_blake3_hasher_init(&h);
  roam_blake3_hasher_update(&h, data, len);
  roam_blake3_hasher_finalize(&h, out, 32);
}
