/* Internal allocation helpers: every allocation goes through a roam_mem. */
#ifndef ROAM_INTERNAL_MEM_H
#define ROAM_INTERNAL_MEM_H

#include <roam/common.h>

/* Copy src (NULL = libc) into dst. */
void roam__mem_set(roam_mem *dst, const roam_mem *src);

static inline void *roam__malloc(const roam_mem *m, size_t n) {
  return m->malloc(n ? n : 1, m->user_data);
}
static inline void *roam__realloc(const roam_mem *m, void *p, size_t n) {
  return m->realloc(p, n ? n : 1, m->user_data);
}
static inline void roam__free(const roam_mem *m, void *p) {
  if (p) m->free(p, m->user_data);
}
void *roam__calloc(const roam_mem *m, size_t n);

#endif
