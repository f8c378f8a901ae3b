/*
 * A latency histogram with bounded relative error (HDR-style log-linear
 * buckets): values below 64 are exact; above, each power of two is split
 * into 64 buckets, so a bucket's width is at most 1/64 of its values and
 * a percentile reported as the bucket's midpoint is within 0.8%. Fixed
 * size (HIST_BUCKETS counters), no allocation; min, max and sum are exact.
 */
#ifndef ROAM_CLI_HISTOGRAM_H
#define ROAM_CLI_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

typedef struct histogram {
  uint64_t counts[HIST_BUCKETS];
  uint64_t total, min, max;
  double sum;
} histogram;

void hist_init(histogram *h);
void hist_record(histogram *h, uint64_t v);
/* The value at quantile q in [0, 1] (0 when empty); q = 1 is the max. */
uint64_t hist_quantile(const histogram *h, double q);
double hist_mean(const histogram *h);

#endif
