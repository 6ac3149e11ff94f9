/** Summary statistics of a sample of durations in milliseconds. */
export interface Summary {
  readonly n: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    n: sorted.length,
    medianMs: round(quantile(sorted, 0.5)),
    p90Ms: round(quantile(sorted, 0.9)),
    minMs: round(sorted[0] ?? Number.NaN),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
  };
}

/**
 * Runs each contender once per round, in a rotating order, so slow phases of
 * a noisy machine hit every contender alike. Warm-up rounds are discarded.
 * A contender that measures itself (e.g. in another process) returns its
 * duration in ms; otherwise the whole call is timed.
 */
export async function interleave(
  contenders: Record<string, () => Promise<unknown>>,
  options: { rounds: number; warmup: number },
): Promise<Record<string, number[]>> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < options.warmup + options.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    for (const name of order) {
      const start = performance.now();
      const own = await contenders[name]!();
      const elapsed = typeof own === 'number' ? own : performance.now() - start;
      if (round >= options.warmup) samples[name]!.push(elapsed);
    }
  }
  return samples;
}
