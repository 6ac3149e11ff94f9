/**
 * Scenario: one Postgres, from nothing to the first query answered, with the
 * same image on every side: `cspec/postgres:15` through the cspec library,
 * the same image saved by cspec and loaded into Docker, started by
 * testcontainers-node (on Node 24) and by `docker run` + polling. Each side
 * measures start-to-first-answer; teardown is measured for cspec and
 * testcontainers.
 *
 * The cspec side is what a library user gets: `engine.run` with the image's
 * init cache (docs/init-cache.md), warm after the first warm-up round, so
 * the figure is a start from an initialised data directory. "cspec, cold
 * init cache" is a first start with inputs never seen before (a new value of
 * an unused variable each round): initdb, init scripts, a clean stop and the
 * commit, then the start from the new state.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { ensureDocker, saveIntoDocker } from './docker.js';
import { postgresSpec, queryPostgres } from './postgres-side.js';
import { openRootlessSide } from './rootless-side.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/postgres:15';
const withNode24 = fileURLToPath(new URL('../../scripts/with-node24.mjs', import.meta.url));
const tcScript = fileURLToPath(new URL('./tc-postgres-once.mjs', import.meta.url));

export interface PostgresReadyResult {
  readonly scenario: 'postgres-ready';
  readonly image: string;
  readonly docker: string;
  readonly results: Record<string, Summary>;
  /** cspec / peer, medians. */
  readonly ratios: {
    readonly toTestcontainers: number;
    readonly toDockerRun: number;
    /** A first start with a new init-cache key / testcontainers. */
    readonly coldToTestcontainers: number;
    /** The same start by an ordinary user's engine / root's, and / testcontainers. */
    readonly rootlessToRoot: number;
    readonly rootlessToTestcontainers: number;
  };
}

export async function postgresReady(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<PostgresReadyResult> {
  const engine = await createEngine();
  await engine.images.resolve(IMAGE, { onProgress: (e) => options.log(`${e.phase}: ${e.message}`) });
  const docker = await ensureDocker(options.log);
  // The same start by an ordinary user's engine (issue #15), in a worker running as that user.
  const rootless = await openRootlessSide([IMAGE], options.log);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-pg-'));
  const teardown: Record<string, number[]> = { cspec: [], testcontainers: [] };
  let cold = 0;
  try {
    await saveIntoDocker(engine, IMAGE, work);
    const samples = await interleave(
      {
        cspec: async () => {
          const t0 = performance.now();
          const c = await engine.run(postgresSpec(IMAGE));
          await queryPostgres(c.mappedPort(5432));
          const ready = performance.now() - t0;
          const t1 = performance.now();
          await c.remove();
          teardown.cspec!.push(performance.now() - t1);
          return ready;
        },
        'cspec, cold init cache': async () => {
          const t0 = performance.now();
          const c = await engine.run(
            postgresSpec(IMAGE, { CSPEC_BENCH_COLD: `${process.pid}-${cold++}-${Date.now()}` }),
          );
          await queryPostgres(c.mappedPort(5432));
          const ready = performance.now() - t0;
          const cached = (await c.info()).image;
          await c.remove();
          if (cached.includes('cspec-init/')) await engine.images.remove(cached);
          return ready;
        },
        'cspec, rootless': () => rootless.measure({ op: 'postgres', image: IMAGE }),
        testcontainers: async () => {
          const { stdout } = await run(process.execPath, [withNode24, tcScript, IMAGE], {
            env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true' },
          });
          const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { readyMs: number; stopMs: number };
          teardown.testcontainers!.push(result.stopMs);
          return result.readyMs;
        },
        'docker run': async () => {
          const t0 = performance.now();
          const { stdout } = await run('docker', [
            'run',
            '-d',
            '-e',
            'POSTGRES_PASSWORD=bench',
            '-p',
            '127.0.0.1::5432',
            IMAGE,
          ]);
          const id = stdout.trim();
          try {
            const { stdout: portLine } = await run('docker', ['port', id, '5432/tcp']);
            const port = Number(portLine.trim().split('\n')[0]!.split(':').at(-1));
            for (;;) {
              try {
                await queryPostgres(port);
                break;
              } catch {
                await sleep(20);
              }
            }
            return performance.now() - t0;
          } finally {
            await run('docker', ['rm', '-f', id]);
          }
        },
      },
      options,
    );
    const results: Record<string, Summary> = Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [k, summarize(v)]),
    );
    // Warm-up rounds included here: teardown is not the headline figure.
    results['cspec teardown'] = summarize(teardown.cspec!);
    results['testcontainers stop'] = summarize(teardown.testcontainers!);
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    return {
      scenario: 'postgres-ready',
      image: IMAGE,
      docker: docker.serverVersion,
      results,
      ratios: {
        toTestcontainers: ratio(results.cspec!.medianMs, results.testcontainers!.medianMs),
        toDockerRun: ratio(results.cspec!.medianMs, results['docker run']!.medianMs),
        rootlessToRoot: ratio(results['cspec, rootless']!.medianMs, results.cspec!.medianMs),
        rootlessToTestcontainers: ratio(
          results['cspec, rootless']!.medianMs,
          results.testcontainers!.medianMs,
        ),
        coldToTestcontainers: ratio(
          results['cspec, cold init cache']!.medianMs,
          results.testcontainers!.medianMs,
        ),
      },
    };
  } finally {
    await run('docker', ['rmi', '-f', IMAGE]).catch(() => {});
    await docker.stop();
    await rootless.close();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
