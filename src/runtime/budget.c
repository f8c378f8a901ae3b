/*
 * The server-wide memory budget (docs/runtime.md "Memory"): the bytes of
 * partially received frames and of queued output that the links of one
 * server (all its loops) hold beyond a free allowance each.
 *
 * A link holding no more than its allowance reads freely and touches no
 * shared state (small frames of good clients never wait). Above it, the
 * link's excess is charged to the budget (one atomic add when it changes)
 * and a read may bring at most what the budget still has room for; when
 * there is none, the link stops reading (its bytes stay in the kernel: TCP
 * throttles the sender) and the loop retries every RT_BUDGET_RETRY_MS. A
 * link that stays stalled without sending anything for stall_ms is closed
 * with a Goodbye. Loops check and charge independently, so the budget may
 * be passed by at most one read per loop at a time.
 */
#include <string.h>

#include "rt_internal.h"

int rt_budget_new(const roam_mem *mem, size_t limit, size_t allowance, uint64_t stall_ms,
                  rt_budget **out) {
  rt_budget *b = roam__calloc(mem, sizeof *b);
  if (!b) return ROAM_ERR_NOMEM;
  b->mem = mem;
  b->limit = limit;
  b->allowance = allowance;
  b->stall_ms = stall_ms;
  atomic_init(&b->refs, 1);
  atomic_init(&b->used, 0);
  atomic_init(&b->peak, 0);
  atomic_init(&b->stalls, 0);
  atomic_init(&b->closed, 0);
  *out = b;
  return 0;
}

rt_budget *rt_budget_ref(rt_budget *b) {
  if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

void rt_budget_unref(rt_budget *b) {
  if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
    roam__free(b->mem, b);
}

/* What the link holds for its transport: a partial frame (or WebSocket
 * message), output not yet written, input held back. */
static size_t link_held(const roam_link *l) {
  if (!l->s) return 0;
  if (l->ws) return rt_ws_held(l) + roam_session_output_queued(l->s);
  return roam_session_input_buffered(l->s) + roam_session_output_queued(l->s) +
         (l->pend ? l->pend_len : 0);
}

void rt_budget_settle(roam_link *l) {
  rt_budget *b = l->conf->budget;
  if (!b) return;
  size_t held = l->state == RT_LINK_DEAD ? 0 : link_held(l);
  size_t want = held > b->allowance ? held - b->allowance : 0;
  if (want == l->charged) return;
  if (want > l->charged) {
    size_t now = atomic_fetch_add_explicit(&b->used, want - l->charged, memory_order_relaxed) +
                 (want - l->charged);
    size_t pk = atomic_load_explicit(&b->peak, memory_order_relaxed);
    while (now > pk &&
           !atomic_compare_exchange_weak_explicit(&b->peak, &pk, now, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
  } else {
    atomic_fetch_sub_explicit(&b->used, l->charged - want, memory_order_relaxed);
  }
  l->charged = want;
}

size_t rt_budget_read_limit(roam_link *l, size_t cap) {
  rt_budget *b = l->conf->budget;
  if (!b) return cap;
  size_t held = link_held(l);
  size_t room = held < b->allowance ? b->allowance - held : 0;
  if (room >= cap) return cap; /* the fast path: no shared state */
  size_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
  size_t avail = used < b->limit ? b->limit - used : 0;
  size_t n = room + avail;
  if (n > cap) n = cap;
  if (n == 0 && !l->pause_budget) {
    l->pause_budget = true;
    l->stall_since = l->loop->now;
    l->loop->budget_stalled++;
    atomic_fetch_add_explicit(&b->stalls, 1, memory_order_relaxed);
    rt_link_update_events(l);
  }
  return n;
}

void rt_budget_unstall(roam_link *l) {
  if (!l->pause_budget) return;
  l->pause_budget = false;
  l->loop->budget_stalled--;
  rt_link_update_events(l);
}

uint64_t rt_budget_check(roam_link *l, uint64_t now) {
  rt_budget *b = l->conf->budget;
  if (l->state != RT_LINK_OPEN) {
    rt_budget_unstall(l);
    return UINT64_MAX;
  }
  rt_budget_settle(l);
  size_t held = link_held(l);
  size_t used = atomic_load_explicit(&b->used, memory_order_relaxed);
  if (held < b->allowance || used < b->limit) {
    rt_budget_unstall(l);
    l->loop->activity++; /* read it in this iteration */
    return now;
  }
  if (now - l->stall_since >= b->stall_ms) {
    atomic_fetch_add_explicit(&b->closed, 1, memory_order_relaxed);
    rt_log(l->loop, ROAM_LOG_WARN,
           "link %s: waited %llu ms for the server's memory budget (%zu bytes held); closing",
           l->peer ? l->peer : "?", (unsigned long long)(now - l->stall_since), held);
    rt_budget_unstall(l);
    roam_session_close_reason(l->s, "server memory budget exhausted");
    rt_link_kick(l);
    return UINT64_MAX;
  }
  return now + RT_BUDGET_RETRY_MS;
}
