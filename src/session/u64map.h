/*
 * Open-addressing hash map from u64 keys to pointers (linear probing,
 * backward-shift deletion: no tombstones, so lookups stay O(1) under churn).
 * Storage is allocated on first insert, so empty maps cost nothing.
 */
#ifndef ROAM_U64MAP_H
#define ROAM_U64MAP_H

#include <roam/common.h>

typedef struct roam_u64map_slot {
  uint64_t key;
  void *val; /* NULL = empty slot */
} roam_u64map_slot;

typedef struct roam_u64map {
  roam_u64map_slot *slots;
  uint32_t cap; /* power of two, or 0 */
  uint32_t count;
} roam_u64map;

static inline void roam_u64map_init(roam_u64map *m) {
  m->slots = NULL;
  m->cap = 0;
  m->count = 0;
}
void roam_u64map_free(roam_u64map *m, const roam_mem *mem);
void *roam_u64map_get(const roam_u64map *m, uint64_t key);
/* Insert a new key (must not be present; val non-NULL). 0 or ROAM_ERR_NOMEM. */
int roam_u64map_put(roam_u64map *m, const roam_mem *mem, uint64_t key, void *val);
/* Remove and return the value (NULL if absent). */
void *roam_u64map_del(roam_u64map *m, uint64_t key);
/* Bytes of storage held. */
static inline size_t roam_u64map_bytes(const roam_u64map *m) {
  return (size_t)m->cap * sizeof(roam_u64map_slot);
}
/* Iterate: for (i = 0; (v = roam_u64map_next(m, &i)) != NULL;) */
static inline void *roam_u64map_next(const roam_u64map *m, uint32_t *i) {
  while (*i < m->cap) {
    roam_u64map_slot *s = &m->slots[(*i)++];
    if (s->val) return s->val;
  }
  return NULL;
}

#endif
