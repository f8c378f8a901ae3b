/*
 * Open-addressing hash map from u64 keys to pointers (linear probing,
 * backward-shift deletion: no tombstones, so lookups stay O(1) under churn).
 * Storage is allocated on first insert, so empty maps cost nothing.
 */
#ifndef ROAM_U64MAP_H
#define ROAM_U64MAP_H

#include <string.h>

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

/*
 * Intrusive variant for objects whose first field is their uint64_t id
 * (connections, calls, requests, channels, Connects): a slot is just the
 * pointer, so each entry costs 8 bytes over its object instead of 16. The
 * key is read from the object when needed.
 *
 * Ids here are mostly allocated in sequence and live in a sliding window, so
 * the slot is the id's low bits (a window smaller than the table never
 * collides) and an entry that had to be placed past its home slot is marked
 * (pointer bit 0). While no entry is displaced, a lookup is one probe and a
 * deletion just clears the slot; otherwise deletions leave tombstones, which
 * go at the next resize.
 */
typedef struct roam_idmap {
  void **slots;
  uint32_t cap;       /* power of two, or 0 */
  uint32_t count;     /* live entries */
  uint32_t used;      /* live entries and tombstones */
  uint32_t displaced; /* live entries away from their home slot */
} roam_idmap;
extern const uint64_t roam__idmap_tomb;
#define ROAM_IDMAP_TOMB ((void *)&roam__idmap_tomb)

static inline uint64_t roam_idmap_key(const void *v) {
  uint64_t k;
  memcpy(&k, v, sizeof k);
  return k;
}
static inline void *roam__idmap_obj(void *v) { return (void *)((uintptr_t)v & ~(uintptr_t)1); }
static inline void roam_idmap_init(roam_idmap *m) {
  m->slots = NULL;
  m->cap = m->count = m->used = m->displaced = 0;
}
void roam_idmap_free(roam_idmap *m, const roam_mem *mem);
void *roam_idmap_get(const roam_idmap *m, uint64_t key);
/* Insert val, whose id (first field) is key and not present. 0 or NOMEM. */
int roam_idmap_put(roam_idmap *m, const roam_mem *mem, uint64_t key, void *val);
void *roam_idmap_del(roam_idmap *m, uint64_t key);
static inline size_t roam_idmap_bytes(const roam_idmap *m) { return (size_t)m->cap * sizeof(void *); }
/* Iterate: for (i = 0; (v = roam_idmap_next(m, &i)) != NULL;). Deleting
 * the entry just returned is fine (nothing moves). */
static inline void *roam_idmap_next(const roam_idmap *m, uint32_t *i) {
  while (*i < m->cap) {
    void *v = m->slots[(*i)++];
    if (v && v != ROAM_IDMAP_TOMB) return roam__idmap_obj(v);
  }
  return NULL;
}

#endif
