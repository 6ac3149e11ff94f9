/**
 * Scenario: eight Postgres servers started at once, each ready for a query:
 * the cspec library against testcontainers-node on Docker (Node 24), the same
 * image on both sides. Reports the wall time until all eight answered and
 * each container's own start-to-first-answer (p90 over all containers).
 *
 * The cspec side is what a library user gets: `engine.run` with the image's
 * init cache (docs/init-cache.md), warm after the warm-up round, so each
 * server starts from an initialised data directory. "cspec, all 8, cold init
 * cache" starts eight with inputs never seen before (a new value of an unused
 * variable each round): one of them does the first-start work and commits
 * it, the other seven wait for that state, then all eight start from it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import { ensureDocker, saveIntoDocker } from './docker.js';
import { postgresSpec, queryPostgres } from './postgres-side.js';
import { interleave, type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const IMAGE = 'cspec/postgres:15';
const COUNT = 8;
const withNode24 = fileURLToPath(new URL('../../scripts/with-node24.mjs', import.meta.url));
const tcScript = fileURLToPath(new URL('./tc-postgres-many.mjs', import.meta.url));

export interface ParallelPostgresResult {
  readonly scenario: 'parallel-postgres';
  readonly image: string;
  readonly count: number;
  readonly docker: string;
  readonly results: Record<string, Summary>;
  /** cspec / testcontainers, medians of the wall time and p90 of per-container times. */
  readonly ratios: {
    readonly wall: number;
    readonly perContainerP90: number;
    /** All 8 with a new init-cache key / testcontainers. */
    readonly coldWall: number;
  };
}

export async function parallelPostgres(options: {
  rounds: number;
  warmup: number;
  log: (line: string) => void;
}): Promise<ParallelPostgresResult> {
  const engine = await createEngine();
  await engine.images.resolve(IMAGE, { onProgress: (e) => options.log(`${e.phase}: ${e.message}`) });
  const docker = await ensureDocker(options.log);
  const work = await mkdtemp(join(tmpdir(), 'cspec-bench-pg8-'));
  const each: Record<string, number[]> = { cspec: [], testcontainers: [] };
  let round = 0;
  let cold = 0;
  try {
    await saveIntoDocker(engine, IMAGE, work);
    /** Starts COUNT servers at once, each until it answered a query; `onReady` gets each one's time. */
    const startAll = async (env: Record<string, string>, onReady: (ms: number) => void) => {
      const t0 = performance.now();
      const containers = await Promise.all(
        Array.from({ length: COUNT }, async () => {
          const c = await engine.run({ ...postgresSpec(IMAGE, env), startupTimeoutMs: 240_000 });
          await queryPostgres(c.mappedPort(5432));
          onReady(performance.now() - t0);
          return c;
        }),
      );
      return { containers, wallMs: performance.now() - t0 };
    };
    const samples = await interleave(
      {
        cspec: async () => {
          const measured = round++ >= options.warmup * 3;
          const { containers, wallMs } = await startAll({}, (ms) => {
            if (measured) each.cspec!.push(ms);
          });
          await Promise.all(containers.map((c) => c.remove()));
          return wallMs;
        },
        'cspec, cold init cache': async () => {
          round++;
          const key = `${process.pid}-${cold++}-${Date.now()}`;
          const { containers, wallMs } = await startAll({ CSPEC_BENCH_COLD: key }, () => {});
          const cached = (await containers[0]!.info()).image;
          await Promise.all(containers.map((c) => c.remove()));
          if (cached.includes('cspec-init/')) await engine.images.remove(cached);
          return wallMs;
        },
        testcontainers: async () => {
          const measured = round++ >= options.warmup * 3;
          const { stdout } = await run(process.execPath, [withNode24, tcScript, IMAGE, String(COUNT)], {
            env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true' },
          });
          const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
            wallMs: number;
            readyMs: number[];
          };
          if (measured) each.testcontainers!.push(...result.readyMs);
          return result.wallMs;
        },
      },
      options,
    );
    const results: Record<string, Summary> = {
      'cspec, all 8': summarize(samples.cspec!),
      'testcontainers, all 8': summarize(samples.testcontainers!),
      'cspec, all 8, cold init cache': summarize(samples['cspec, cold init cache']!),
      'cspec, each': summarize(each.cspec!),
      'testcontainers, each': summarize(each.testcontainers!),
    };
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    return {
      scenario: 'parallel-postgres',
      image: IMAGE,
      count: COUNT,
      docker: docker.serverVersion,
      results,
      ratios: {
        wall: ratio(results['cspec, all 8']!.medianMs, results['testcontainers, all 8']!.medianMs),
        perContainerP90: ratio(results['cspec, each']!.p90Ms, results['testcontainers, each']!.p90Ms),
        coldWall: ratio(
          results['cspec, all 8, cold init cache']!.medianMs,
          results['testcontainers, all 8']!.medianMs,
        ),
      },
    };
  } finally {
    await run('docker', ['rmi', '-f', IMAGE]).catch(() => {});
    await docker.stop();
    await engine.close();
    await rm(work, { recursive: true, force: true });
  }
}
