/* The default allocator: libc behind the roam_mem hooks. */
#include <stdlib.h>

#include "common/mem.h"

static void *libc_malloc(size_t size, void *ud) {
  (void)ud;
  return malloc(size);
}
static void *libc_realloc(void *p, size_t size, void *ud) {
  (void)ud;
  return realloc(p, size);
}
static void libc_free(void *p, void *ud) {
  (void)ud;
  free(p);
}

static const roam_mem roam_libc_mem = {NULL, libc_malloc, libc_realloc, libc_free};

const roam_mem *roam_mem_default(void) { return &roam_libc_mem; }

void roam__mem_set(roam_mem *dst, const roam_mem *src) {
  *dst = src ? *src : roam_libc_mem;
}

#include <string.h>
void *roam__calloc(const roam_mem *m, size_t n) {
  void *p = roam__malloc(m, n);
  if (p) memset(p, 0, n);
  return p;
}
