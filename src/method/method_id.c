/*
 * Method ids: id = LE u64 of the first 8 bytes of
 * BLAKE3(kebab(service) || "." || kebab(method) || BLAKE3(signature)).
 */
#include <string.h>

#include "method/method_internal.h"

int roam_signature_hash(const roam_type *const *args, size_t argc, const roam_type *ret,
                        unsigned flags, uint8_t hash[32]) {
  if (!hash) return ROAM_ERR_INVALID_ARG;
  roam_blake3_hasher h;
  roam_blake3_hasher_init(&h);
  int rc = roam__signature_to_hasher(args, argc, ret, flags, &h);
  if (rc) return rc;
  roam_blake3_hasher_finalize(&h, hash, 32);
  return ROAM_OK;
}

/* Kebab output goes through a small staging buffer into the hasher. */
typedef struct hash_writer {
  roam_blake3_hasher *h;
  uint8_t buf[128];
  size_t len;
} hash_writer;

static void hw_flush(hash_writer *w) {
  roam_blake3_hasher_update(w->h, w->buf, w->len);
  w->len = 0;
}

static void hw_emit(void *ctx, const uint8_t *p, size_t n) {
  hash_writer *w = ctx;
  if (w->len + n > sizeof w->buf) {
    hw_flush(w);
    if (n > sizeof w->buf) {
      roam_blake3_hasher_update(w->h, p, n);
      return;
    }
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

int roam_method_id_from_hash(const char *service, const char *method, const uint8_t sig_hash[32],
                             uint64_t *id) {
  if (!service || !method || !sig_hash || !id) return ROAM_ERR_INVALID_ARG;
  roam_blake3_hasher h;
  roam_blake3_hasher_init(&h);
  hash_writer w = {&h, {0}, 0};
  int rc = roam__kebab(service, strlen(service), hw_emit, &w);
  if (rc) return rc;
  hw_emit(&w, (const uint8_t *)".", 1);
  rc = roam__kebab(method, strlen(method), hw_emit, &w);
  if (rc) return rc;
  hw_emit(&w, sig_hash, 32);
  hw_flush(&w);
  uint8_t d[8];
  roam_blake3_hasher_finalize(&h, d, sizeof d);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | d[i];
  *id = v;
  return ROAM_OK;
}

int roam_method_id_ex(const char *service, const char *method, const roam_type *const *args,
                      size_t argc, const roam_type *ret, unsigned flags, uint64_t *id) {
  if (!service || !method || !id) return ROAM_ERR_INVALID_ARG;
  uint8_t hash[32];
  int rc = roam_signature_hash(args, argc, ret, flags, hash);
  if (rc) return rc;
  return roam_method_id_from_hash(service, method, hash, id);
}

uint64_t roam_method_id(const char *service, const char *method, const roam_type *const *args,
                        size_t argc, const roam_type *ret) {
  uint64_t id = 0;
  if (roam_method_id_ex(service, method, args, argc, ret, ROAM_SIG_PUBLISHED, &id) != ROAM_OK)
    return 0;
  return id;
}

int roam_method_desc_id(const roam_method_desc *m, unsigned flags, uint64_t *id) {
  if (!m) return ROAM_ERR_INVALID_ARG;
  return roam_method_id_ex(m->service, m->method, m->args, m->argc, m->ret, flags, id);
}
