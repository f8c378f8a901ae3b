/* Log-linear latency histogram (histogram.h). */
#include "histogram.h"

#include <math.h>
#include <string.h>

#define SUB (1u << HIST_SUB_BITS)

void hist_init(histogram *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

static unsigned bucket_of(uint64_t v) {
  if (v < SUB) return (unsigned)v;
  unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
  unsigned shift = msb - HIST_SUB_BITS;
  unsigned top = (unsigned)(v >> shift); /* in [SUB, 2 SUB) */
  return (shift + 1) * SUB + (top - SUB);
}

/* The midpoint of a bucket's range. */
static uint64_t value_of(unsigned b) {
  if (b < SUB) return b;
  unsigned shift = b / SUB - 1;
  uint64_t lo = (uint64_t)(b % SUB + SUB) << shift;
  return lo + (((uint64_t)1 << shift) >> 1);
}

void hist_record(histogram *h, uint64_t v) {
  h->counts[bucket_of(v)]++;
  h->total++;
  h->sum += (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

uint64_t hist_quantile(const histogram *h, double q) {
  if (!h->total) return 0;
  if (q >= 1) return h->max;
  uint64_t rank = (uint64_t)ceil(q * (double)h->total);
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned b = 0; b < HIST_BUCKETS; b++) {
    seen += h->counts[b];
    if (seen >= rank) {
      uint64_t v = value_of(b);
      /* never report beyond what was seen */
      if (v > h->max) v = h->max;
      if (v < h->min) v = h->min;
      return v;
    }
  }
  return h->max;
}

double hist_mean(const histogram *h) { return h->total ? h->sum / (double)h->total : 0; }
