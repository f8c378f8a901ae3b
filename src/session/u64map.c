/* Linear-probing u64 -> pointer map (see u64map.h). */
#include "session/u64map.h"

#include <string.h>

#include "common/mem.h"

static inline uint32_t slot_of(uint64_t key, uint32_t cap) {
  /* Fibonacci hashing spreads sequential ids (the common case) evenly. */
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void roam_u64map_free(roam_u64map *m, const roam_mem *mem) {
  roam__free(mem, m->slots);
  roam_u64map_init(m);
}

void *roam_u64map_get(const roam_u64map *m, uint64_t key) {
  if (m->count == 0) return NULL;
  uint32_t mask = m->cap - 1;
  for (uint32_t i = slot_of(key, m->cap);; i = (i + 1) & mask) {
    const roam_u64map_slot *s = &m->slots[i];
    if (!s->val) return NULL;
    if (s->key == key) return s->val;
  }
}

static void insert_slot(roam_u64map_slot *slots, uint32_t cap, uint64_t key, void *val) {
  uint32_t mask = cap - 1;
  uint32_t i = slot_of(key, cap);
  while (slots[i].val) i = (i + 1) & mask;
  slots[i].key = key;
  slots[i].val = val;
}

static int grow(roam_u64map *m, const roam_mem *mem) {
  uint32_t ncap = m->cap ? m->cap * 2 : 8;
  if (ncap < m->cap) return ROAM_ERR_NOMEM;
  roam_u64map_slot *ns = roam__calloc(mem, (size_t)ncap * sizeof *ns);
  if (!ns) return ROAM_ERR_NOMEM;
  for (uint32_t i = 0; i < m->cap; i++)
    if (m->slots[i].val) insert_slot(ns, ncap, m->slots[i].key, m->slots[i].val);
  roam__free(mem, m->slots);
  m->slots = ns;
  m->cap = ncap;
  return 0;
}

int roam_u64map_put(roam_u64map *m, const roam_mem *mem, uint64_t key, void *val) {
  /* Keep the load factor at or below 3/4. */
  if ((uint64_t)(m->count + 1) * 4 > (uint64_t)m->cap * 3) {
    int rc = grow(m, mem);
    if (rc) return rc;
  }
  insert_slot(m->slots, m->cap, key, val);
  m->count++;
  return 0;
}

void *roam_u64map_del(roam_u64map *m, uint64_t key) {
  if (m->count == 0) return NULL;
  uint32_t mask = m->cap - 1;
  uint32_t i = slot_of(key, m->cap);
  while (m->slots[i].val && m->slots[i].key != key) i = (i + 1) & mask;
  if (!m->slots[i].val) return NULL;
  void *val = m->slots[i].val;
  /* Backward-shift: pull later entries of the probe run into the hole. */
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
    uint32_t home = slot_of(m->slots[j].key, m->cap);
    /* Move j into the hole unless its home lies cyclically in (hole, j]. */
    int in_between = (hole <= j) ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!in_between) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole].val = NULL;
  m->slots[hole].key = 0;
  m->count--;
  return val;
}

/* ---- intrusive variant ------------------------------------------------------ */

const uint64_t roam__idmap_tomb = 0;

static inline uint32_t id_home(uint64_t key, uint32_t cap) {
  return (uint32_t)(key ^ (key >> 32)) & (cap - 1);
}

void roam_idmap_free(roam_idmap *m, const roam_mem *mem) {
  roam__free(mem, m->slots);
  roam_idmap_init(m);
}

/* Slot index of key, or UINT32_MAX. */
static uint32_t id_find(const roam_idmap *m, uint64_t key) {
  if (m->count == 0) return UINT32_MAX;
  uint32_t mask = m->cap - 1, i = id_home(key, m->cap);
  void *v = m->slots[i];
  if (v && v != ROAM_IDMAP_TOMB && !((uintptr_t)v & 1) && roam_idmap_key(v) == key) return i;
  if (m->displaced == 0) return UINT32_MAX; /* everything is at home */
  for (;; i = (i + 1) & mask) {
    v = m->slots[i];
    if (!v) return UINT32_MAX;
    if (v != ROAM_IDMAP_TOMB && roam_idmap_key(roam__idmap_obj(v)) == key) return i;
  }
}

void *roam_idmap_get(const roam_idmap *m, uint64_t key) {
  uint32_t i = id_find(m, key);
  return i == UINT32_MAX ? NULL : roam__idmap_obj(m->slots[i]);
}

static void id_place(roam_idmap *m, uint64_t key, void *val) {
  uint32_t mask = m->cap - 1, home = id_home(key, m->cap), i = home;
  while (m->slots[i] && m->slots[i] != ROAM_IDMAP_TOMB) i = (i + 1) & mask;
  if (!m->slots[i]) m->used++;
  if (i != home) {
    val = (void *)((uintptr_t)val | 1);
    m->displaced++;
  }
  m->slots[i] = val;
  m->count++;
}

int roam_idmap_put(roam_idmap *m, const roam_mem *mem, uint64_t key, void *val) {
  if (roam_idmap_key(val) != key || ((uintptr_t)val & 1)) return ROAM_ERR_INVALID_ARG; /* (ours) */
  /* Live entries and tombstones at or below 3/4. When full, double, unless
   * it is mostly tombstones: then just rebuild at the same size. */
  if ((uint64_t)(m->used + 1) * 4 > (uint64_t)m->cap * 3) {
    uint32_t ncap = m->cap ? m->cap : 4; /* (most maps hold one or two) */
    if ((uint64_t)(m->count + 1) * 2 > ncap) {
      if (ncap > UINT32_MAX / 2) return ROAM_ERR_NOMEM;
      ncap *= 2;
    }
    void **ns = roam__calloc(mem, (size_t)ncap * sizeof *ns);
    if (!ns) return ROAM_ERR_NOMEM;
    void **old = m->slots;
    uint32_t ocap = m->cap;
    m->slots = ns;
    m->cap = ncap;
    m->count = m->used = m->displaced = 0;
    for (uint32_t i = 0; i < ocap; i++)
      if (old[i] && old[i] != ROAM_IDMAP_TOMB) {
        void *o = roam__idmap_obj(old[i]);
        id_place(m, roam_idmap_key(o), o);
      }
    roam__free(mem, old);
  }
  id_place(m, key, val);
  return 0;
}

void *roam_idmap_del(roam_idmap *m, uint64_t key) {
  uint32_t i = id_find(m, key);
  if (i == UINT32_MAX) return NULL;
  uint32_t mask = m->cap - 1;
  void *v = m->slots[i];
  m->count--;
  if ((uintptr_t)v & 1) m->displaced--;
  if (m->displaced == 0 || !m->slots[(i + 1) & mask]) {
    /* nothing probes past this slot: empty it (and the tombstones just
     * before it, if the run ends here) */
    m->slots[i] = NULL;
    m->used--;
    if (!m->slots[(i + 1) & mask])
      for (i = (i - 1) & mask; m->slots[i] == ROAM_IDMAP_TOMB; i = (i - 1) & mask) {
        m->slots[i] = NULL;
        m->used--;
      }
  } else {
    m->slots[i] = ROAM_IDMAP_TOMB;
  }
  return roam__idmap_obj(v);
}
