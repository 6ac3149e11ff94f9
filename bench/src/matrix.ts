/**
 * Scenario: `cspec test` on examples/matrix-distros (three Debian releases,
 * one shared Postgres service), end to end through the CLI: the three
 * releases at once (--parallel 3, and the default of one per CPU), each
 * release alone, and the three one after another (--parallel 1). Images and
 * the service's template are cached by a warm-up round.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/matrix-distros/', import.meta.url));
const RELEASES = ['debian:bullseye', 'debian:bookworm', 'debian:trixie'] as const;

export interface MatrixResult {
  readonly scenario: 'matrix';
  readonly results: Record<string, Summary>;
  /** Medians: three at once / the slowest single release (goal ≤ 1.5), and / the three in sequence. */
  readonly ratios: {
    readonly parallel3ToSlowestSingle: number;
    readonly defaultToSlowestSingle: number;
    readonly parallel3ToSequence: number;
  };
}

async function cspecTest(distros: readonly string[], parallel?: number): Promise<void> {
  const args = [CLI, 'test', '--distro', distros.join(','), '--junit', '/tmp/cspec-bench-matrix/junit.xml'];
  if (parallel !== undefined) args.push('--parallel', String(parallel));
  await run(process.execPath, args, { cwd: EXAMPLE, env: { ...process.env, CI: 'true' } });
}

export async function matrix(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<MatrixResult> {
  const contenders: Record<string, () => Promise<unknown>> = {
    'three, --parallel 3': () => cspecTest(RELEASES, 3),
    'three, default (1/CPU)': () => cspecTest(RELEASES),
    'three, --parallel 1': () => cspecTest(RELEASES, 1),
  };
  for (const release of RELEASES) contenders[release] = () => cspecTest([release]);
  options.log(`matrix: ${options.warmup} warm-up + ${options.rounds} rounds of cspec test on ${EXAMPLE}`);
  const samples = await interleave(contenders, options);
  const results: Record<string, Summary> = Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [k, summarize(v)]),
  );
  // Per round, the slowest of the three single-release runs.
  const slowest = samples[RELEASES[0]]!.map((_, i) => Math.max(...RELEASES.map((r) => samples[r]![i]!)));
  results['slowest single release'] = summarize(slowest);
  const ratio = (a: string, b: string) =>
    Math.round((results[a]!.medianMs / results[b]!.medianMs) * 1000) / 1000;
  return {
    scenario: 'matrix',
    results,
    ratios: {
      parallel3ToSlowestSingle: ratio('three, --parallel 3', 'slowest single release'),
      defaultToSlowestSingle: ratio('three, default (1/CPU)', 'slowest single release'),
      parallel3ToSequence: ratio('three, --parallel 3', 'three, --parallel 1'),
    },
  };
}
