/* Internals of the method-id layer (signature encoder, kebab-case). */
#ifndef ROAM_METHOD_INTERNAL_H
#define ROAM_METHOD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <roam/blake3.h>
#include <roam/method_id.h>

/* Byte sink used by the kebab-case converter. */
typedef void (*roam__emit_fn)(void *ctx, const uint8_t *p, size_t n);

/* kebab-case of in[0, len) streamed to `emit`. Validates UTF-8 before
 * emitting anything. Returns ROAM_OK, ROAM_ERR_BAD_UTF8 or INVALID_ARG. */
int roam__kebab(const char *in, size_t len, roam__emit_fn emit, void *ctx);

/* Streams the signature bytes into a BLAKE3 hasher (already initialised). */
int roam__signature_to_hasher(const roam_type *const *args, size_t argc, const roam_type *ret,
                              unsigned flags, roam_blake3_hasher *h);

#endif
