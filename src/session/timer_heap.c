/* Binary min-heap of embedded timer nodes (see timer_heap.h). */
#include "session/timer_heap.h"

#include "common/mem.h"

static void place(roam__theap *h, uint32_t i, roam__tmr *t) {
  h->items[i] = t;
  t->index = i;
}

static void sift_up(roam__theap *h, uint32_t i) {
  roam__tmr *t = h->items[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (h->items[parent]->deadline <= t->deadline) break;
    place(h, i, h->items[parent]);
    i = parent;
  }
  place(h, i, t);
}

static void sift_down(roam__theap *h, uint32_t i) {
  roam__tmr *t = h->items[i];
  for (;;) {
    uint32_t l = 2 * i + 1;
    if (l >= h->count) break;
    uint32_t c = l;
    if (l + 1 < h->count && h->items[l + 1]->deadline < h->items[l]->deadline) c = l + 1;
    if (h->items[c]->deadline >= t->deadline) break;
    place(h, i, h->items[c]);
    i = c;
  }
  place(h, i, t);
}

void roam__theap_free(roam__theap *h, const roam_mem *mem) {
  for (uint32_t i = 0; i < h->count; i++) h->items[i]->index = ROAM__TMR_IDLE;
  roam__free(mem, h->items);
  h->items = NULL;
  h->count = h->cap = 0;
}

int roam__theap_reserve(roam__theap *h, const roam_mem *mem) {
  if (h->count < h->cap) return 0;
  uint32_t ncap = h->cap ? h->cap * 2 : 16;
  if (ncap < h->cap) return ROAM_ERR_NOMEM;
  roam__tmr **n = roam__realloc(mem, h->items, (size_t)ncap * sizeof *n);
  if (!n) return ROAM_ERR_NOMEM;
  h->items = n;
  h->cap = ncap;
  return 0;
}

int roam__theap_add(roam__theap *h, const roam_mem *mem, roam__tmr *t,
                        uint64_t deadline) {
  if (roam__tmr_armed(t)) roam__theap_remove(h, t);
  int rc = roam__theap_reserve(h, mem);
  if (rc) return rc;
  t->deadline = deadline;
  place(h, h->count++, t);
  sift_up(h, t->index);
  return 0;
}

void roam__theap_remove(roam__theap *h, roam__tmr *t) {
  if (!roam__tmr_armed(t)) return;
  uint32_t i = t->index;
  t->index = ROAM__TMR_IDLE;
  h->count--;
  if (i == h->count) return;
  roam__tmr *last = h->items[h->count];
  place(h, i, last);
  if (i > 0 && h->items[(i - 1) / 2]->deadline > last->deadline)
    sift_up(h, i);
  else
    sift_down(h, i);
}
