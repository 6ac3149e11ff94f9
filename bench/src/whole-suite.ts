/**
 * Scenario: a whole suite, end to end — `vitest run` of
 * examples/postgres-per-test (8 tests, a database of its own for each, from
 * cspec's template and pool) against the same suite written for
 * testcontainers-node (bench/suites/postgres-per-test-testcontainers: one
 * container for the file, snapshot after the migrations, restore after
 * every test; its four concurrent tests run one after another, since they
 * share a database). Same image on both sides; testcontainers on Node 24.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { ensureDocker, saveIntoDocker } from './docker.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/postgres:17';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

export interface WholeSuiteResult {
  readonly scenario: 'whole-suite';
  readonly tests: number;
  readonly docker: string;
  readonly results: Record<string, Summary>;
  /** Medians: cspec / testcontainers. */
  readonly ratio: number;
}

async function vitest(cwd: string, node24: boolean): Promise<void> {
  const args = node24 ? [join(ROOT, 'scripts/with-node24.mjs'), VITEST, 'run'] : [VITEST, 'run'];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  const { stdout } = await run(process.execPath, args, {
    cwd,
    env: { ...env, CI: 'true', NO_COLOR: '1', TESTCONTAINERS_RYUK_DISABLED: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!/Tests\s+8 passed/.test(stdout))
    throw new Error(`the suite in ${cwd} did not pass 8 tests:\n${stdout}`);
}

export async function wholeSuite(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<WholeSuiteResult> {
  const engine = await createEngine();
  await engine.images.resolve(IMAGE);
  const docker = await ensureDocker(options.log);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-suite-'));
  try {
    await saveIntoDocker(engine, IMAGE, work);
    const samples = await interleave(
      {
        'cspec plugin, a database per test': () => vitest(join(ROOT, 'examples/postgres-per-test'), false),
        'testcontainers, container per file + snapshot/restore': () =>
          vitest(join(ROOT, 'bench/suites/postgres-per-test-testcontainers'), true),
      },
      options,
    );
    const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const [cspec, tc] = Object.values(results) as [Summary, Summary];
    return {
      scenario: 'whole-suite',
      tests: 8,
      docker: docker.serverVersion,
      results,
      ratio: Math.round((cspec.medianMs / tc.medianMs) * 1000) / 1000,
    };
  } finally {
    await run('docker', ['rmi', '-f', IMAGE]).catch(() => {});
    await docker.stop();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
