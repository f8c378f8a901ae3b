/*
 * Binary min-heap of deadlines. Nodes are embedded in the objects that own
 * them and remember their index, so removal is O(log n) and a completed
 * call leaves nothing behind.
 */
#ifndef ROAM_TIMER_HEAP_H
#define ROAM_TIMER_HEAP_H

#include <roam/common.h>

#define ROAM_TIMER_IDLE UINT32_MAX

typedef struct roam_timer {
  uint64_t deadline;
  uint32_t index; /* position in the heap, ROAM_TIMER_IDLE when not armed */
  uint8_t kind;   /* what the owner is (see session_internal.h) */
} roam_timer;

typedef struct roam_timer_heap {
  roam_timer **items;
  uint32_t count;
  uint32_t cap;
} roam_timer_heap;

static inline void roam_timer_init(roam_timer *t, uint8_t kind) {
  t->deadline = 0;
  t->index = ROAM_TIMER_IDLE;
  t->kind = kind;
}
static inline int roam_timer_armed(const roam_timer *t) { return t->index != ROAM_TIMER_IDLE; }

void roam_timer_heap_free(roam_timer_heap *h, const roam_mem *mem);
int roam_timer_heap_add(roam_timer_heap *h, const roam_mem *mem, roam_timer *t, uint64_t deadline);
void roam_timer_heap_remove(roam_timer_heap *h, roam_timer *t);
static inline roam_timer *roam_timer_heap_top(const roam_timer_heap *h) {
  return h->count ? h->items[0] : NULL;
}

#endif
