/*
 * Binary min-heap of deadlines. Nodes are embedded in the objects that own
 * them and remember their index, so removal is O(log n) and a completed
 * call leaves nothing behind.
 */
#ifndef ROAM_TIMER_HEAP_H
#define ROAM_TIMER_HEAP_H

#include <roam/common.h>

#define ROAM__TMR_IDLE UINT32_MAX

typedef struct roam__tmr {
  uint64_t deadline;
  uint32_t index; /* position in the heap, ROAM__TMR_IDLE when not armed */
  uint8_t kind;   /* what the owner is (see session_internal.h) */
} roam__tmr;

typedef struct roam__theap {
  roam__tmr **items;
  uint32_t count;
  uint32_t cap;
} roam__theap;

static inline void roam__tmr_init(roam__tmr *t, uint8_t kind) {
  t->deadline = 0;
  t->index = ROAM__TMR_IDLE;
  t->kind = kind;
}
static inline int roam__tmr_armed(const roam__tmr *t) { return t->index != ROAM__TMR_IDLE; }

void roam__theap_free(roam__theap *h, const roam_mem *mem);
/* Make room for one more armed timer, so that the next add cannot fail. */
int roam__theap_reserve(roam__theap *h, const roam_mem *mem);
int roam__theap_add(roam__theap *h, const roam_mem *mem, roam__tmr *t, uint64_t deadline);
void roam__theap_remove(roam__theap *h, roam__tmr *t);
static inline roam__tmr *roam__theap_top(const roam__theap *h) {
  return h->count ? h->items[0] : NULL;
}

#endif
