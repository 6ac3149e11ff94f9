/** `cspec test` flags that need more than a lookup: `--parallel`, `-e`. */
import { availableParallelism } from 'node:os';
import { UsageError } from '../usage-error.js';

/** How many distributions run at once: `--parallel N`, else one per CPU (at least 1). */
export function resolveParallel(text: string | undefined, cpus = availableParallelism()): number {
  if (text === undefined) return Math.max(1, cpus);
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`invalid --parallel "${text}" — use a whole number >= 1`, 'test');
  }
  return n;
}

/**
 * `-e NAME=value` sets a variable for the tests; `-e NAME` copies it from
 * this environment (and is skipped when it is unset there, as with docker).
 */
export function resolveEnvFlags(
  values: readonly string[],
  hostEnv: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(
        `invalid --env "${item}" — use NAME=value, or NAME to copy it from this shell`,
        'test',
      );
    }
    if (eq !== -1) out[key] = item.slice(eq + 1);
    else if (hostEnv[key] !== undefined) out[key] = hostEnv[key] as string;
  }
  return out;
}
