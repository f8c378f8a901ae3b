/*
 * Fuzz the decoders roam-gen generates (tests/gen/every.rs: every type
 * kind, recursion, zero-sized elements; tools/testbed/testbed.rs). The
 * first byte picks a type, the rest is decoded into an arena with a cap.
 * A failed decode must simply fail (no crash, no leak: the arena frees
 * everything). A value that decodes re-encodes, and that encoding decodes
 * and re-encodes to the same bytes, whichever path the encoder takes
 * (direct writes into a roomy buffer, or the general path).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "every.h"
#include "testbed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

typedef int (*dec_fn)(roam_dec *, void *, roam_arena *);
typedef int (*enc_fn)(roam_enc *, const void *);

/* Typed functions behind one signature, without casting function pointers. */
#define KIND(T)                                                                  \
  static int dec_##T(roam_dec *d, void *out, roam_arena *a) { return T##_decode(d, out, a); } \
  static int enc_##T(roam_enc *e, const void *v) { return T##_encode(e, v); }
KIND(every_prims)
KIND(every_containers)
KIND(every_kinds)
KIND(every_tree)
KIND(every_expr)
KIND(every_keywords)
KIND(every_tagged)
KIND(every_zero_sized)
KIND(every_wrapper)
KIND(testbed_canvas)
KIND(testbed_message)
KIND(testbed_rectangle)
KIND(testbed_person)

static const struct {
  dec_fn dec;
  enc_fn enc;
} kinds[] = {
#define K(T) {dec_##T, enc_##T}
    K(every_prims),   K(every_containers), K(every_kinds),  K(every_tree),
    K(every_expr),    K(every_keywords),   K(every_tagged), K(every_zero_sized),
    K(every_wrapper), K(testbed_canvas),   K(testbed_message), K(testbed_rectangle),
    K(testbed_person),
#undef K
};

/* Large enough for any value of the types above. */
typedef union any_value {
  every_prims a;
  every_containers b;
  every_kinds c;
  every_tree d;
  every_expr e;
  every_keywords f;
  every_tagged g;
  every_zero_sized h;
  every_wrapper i;
  testbed_canvas j;
  testbed_message k;
  testbed_rectangle l;
  testbed_person m;
} any_value;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  size_t which = data[0] % (sizeof kinds / sizeof kinds[0]);
  roam_arena a;
  roam_arena_init(&a, NULL);
  roam_arena_set_limit(&a, 1u << 20);
  any_value v, w;
  roam_dec d;
  roam_dec_init(&d, data + 1, size - 1);
  if (kinds[which].dec(&d, &v, &a) == 0) {
    roam_enc e1, e2;
    roam_enc_init_growable(&e1, NULL);
    roam_enc_init_growable(&e2, NULL);
    int rc = kinds[which].enc(&e1, &v);
    /* the decoded value is valid, so it encodes (never longer than the
     * input it came from: varints come out canonical) */
    CHECK(rc == 0);
    CHECK(roam_enc_size(&e1) <= size - 1 - roam_dec_remaining(&d));
    roam_dec d2;
    roam_dec_init(&d2, roam_enc_data(&e1), roam_enc_size(&e1));
    CHECK(kinds[which].dec(&d2, &w, &a) == 0);
    CHECK(roam_dec_finish(&d2) == 0);
    CHECK(kinds[which].enc(&e2, &w) == 0);
    CHECK(roam_enc_size(&e1) == roam_enc_size(&e2));
    CHECK(memcmp(roam_enc_data(&e1), roam_enc_data(&e2), roam_enc_size(&e1)) == 0);
    /* the direct writers (a roomy buffer) and the general path (an exact
     * buffer, no room to spare) agree with the growing encoder */
    static uint8_t big[1 << 16];
    uint8_t *exact = malloc(roam_enc_size(&e1) + 1);
    CHECK(exact != NULL);
    roam_enc e3, e4;
    roam_enc_init(&e3, big, sizeof big);
    roam_enc_init(&e4, exact, roam_enc_size(&e1));
    if (kinds[which].enc(&e3, &v) == 0) { /* may not fit in 64 KiB */
      CHECK(roam_enc_size(&e3) == roam_enc_size(&e1));
      CHECK(memcmp(big, roam_enc_data(&e1), roam_enc_size(&e1)) == 0);
    }
    CHECK(kinds[which].enc(&e4, &v) == 0);
    CHECK(memcmp(exact, roam_enc_data(&e1), roam_enc_size(&e1)) == 0);
    free(exact);
    roam_enc_free(&e1);
    roam_enc_free(&e2);
  }
  roam_arena_free(&a);
  return 0;
}
