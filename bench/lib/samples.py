"""Latency distributions of the round-trip workloads (bench/run).

The bench programs append each run's round-trip samples to the file given
with --samples (bu_samples_save in bench_util.h): blocks of

    # <workload> <impl> n=<samples> unit=ns
    <value>            (ascending; each line stands for n / lines samples)

This module reads such files and pools every round of an implementation
into one distribution (a mixture weighted by each run's sample count),
summarised as the quantiles of CDF_GRID: what the CDF charts draw and what
the JSON report keeps. Python 3 standard library only.
"""

# Probabilities of the pooled quantiles: every 1 % in the body, finer in
# the tails, from 0.1 % to 99.9 % (the files hold 2 000 quantiles per run,
# so nothing beyond that is known).
CDF_GRID = ([0.001, 0.002, 0.005] + [i / 100 for i in range(1, 100)] +
            [0.995, 0.998, 0.999])


def read_blocks(path):
    """Blocks of one --samples file: a list of (workload, impl, n, values),
    values in ns. Raises ValueError on a malformed file."""
    blocks = []
    cur = None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line[1:].split()
                if len(parts) < 3 or not parts[2].startswith("n="):
                    raise ValueError("%s:%d: bad block header" % (path, lineno))
                cur = (parts[0], parts[1], int(parts[2][2:]), [])
                blocks.append(cur)
                continue
            if cur is None:
                raise ValueError("%s:%d: value before a block header" % (path, lineno))
            cur[3].append(int(line))
    for wl, impl, n, vals in blocks:
        if n < len(vals) or (n > 0 and not vals):
            raise ValueError("%s: block %s %s has %d values for n=%d"
                             % (path, wl, impl, len(vals), n))
    return blocks


def pool(blocks):
    """Pool blocks [(n, values_ns)] of one implementation. Returns
    {"n": total samples, "runs": blocks, "points": [[p, us], ...]} with the
    quantile (in µs) at each probability of CDF_GRID, or None when there
    are no samples."""
    weighted = []
    for n, vals in blocks:
        if vals:
            w = n / len(vals)
            weighted.extend((v, w) for v in vals)
    if not weighted:
        return None
    weighted.sort()
    total = sum(w for _, w in weighted)
    points, cum, j = [], 0.0, 0
    for v, w in weighted:
        cum += w
        # the quantile at p is the first value whose cumulative weight
        # reaches p of the total
        while j < len(CDF_GRID) and cum >= CDF_GRID[j] * total * (1 - 1e-12):
            points.append([CDF_GRID[j], round(v / 1000.0, 3)])
            j += 1
    while j < len(CDF_GRID):  # rounding at the very end
        points.append([CDF_GRID[j], round(weighted[-1][0] / 1000.0, 3)])
        j += 1
    return {"n": int(round(total)), "runs": len(blocks), "points": points}


def pool_files(paths, workload):
    """Pool the blocks of workload found in paths, per implementation.
    Returns ({impl: pooled}, [errors])."""
    per_impl, errors = {}, []
    for path in paths:
        try:
            blocks = read_blocks(path)
        except (OSError, ValueError) as e:
            errors.append(str(e))
            continue
        for wl, impl, n, vals in blocks:
            if wl == workload:
                per_impl.setdefault(impl, []).append((n, vals))
    out = {}
    for impl, blocks in per_impl.items():
        p = pool(blocks)
        if p:
            out[impl] = p
    return out, errors
