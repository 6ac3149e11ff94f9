/**
 * The init cache whatever the caller waits for, and ready means ready
 * (issue #19, goal 0). Testcontainers-style code written the commonest way —
 * `Wait.forLogMessage(/…ready to accept connections/)`, one match — must make
 * the cached state on its first start and start from it afterwards, and
 * `start()` must return only when the server answers: on a start from the
 * cache the "ready" line of the skipped init phase does not count alone.
 * Each start is followed at once by a query, with no retry.
 */
import { randomBytes } from 'node:crypto';
import { GenericContainer, type StartedGenericContainer, Wait } from '@cspec/runtime';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { caught } from '../support/caught.js';
import { useEngine } from '../support/engine.js';

const engine = useEngine();
const PG = 'cspec/postgres:15';
const READY = /database system is ready to accept connections/;
const WARM_STARTS = 10;
const made = new Set<string>();

afterAll(async () => {
  // The cached states this file made (their content goes with the next image prune).
  for (const reference of made)
    await engine()
      .images.remove(reference)
      .catch(() => {});
});

/** The code: one match (`times` undefined) or two. */
function start(env: Record<string, string>, times?: number): Promise<StartedGenericContainer> {
  return new GenericContainer(PG)
    .withEnvironment(env)
    .withExposedPorts(5432)
    .withWaitStrategy(times === undefined ? Wait.forLogMessage(READY) : Wait.forLogMessage(READY, times))
    .withStartupTimeout(300_000)
    .start();
}

/** A query at once after `start()`: one connection, no retry. */
async function queryNow(started: StartedGenericContainer, password: string): Promise<unknown> {
  const client = new pg.Client({
    host: started.getHost(),
    port: started.getMappedPort(5432),
    user: 'postgres',
    password,
    database: 'postgres',
  });
  await client.connect();
  try {
    return (await client.query('SELECT 1 AS one')).rows;
  } finally {
    await client.end();
  }
}

/** Starts, queries at once, and returns the image it started from and its log. */
async function startAndQuery(
  env: Record<string, string>,
  times?: number,
): Promise<{ image: string; log: string }> {
  const started = await start(env, times);
  try {
    expect(await queryNow(started, env.POSTGRES_PASSWORD!)).toEqual([{ one: 1 }]);
    const image = (await started.container.info()).image;
    if (image.includes('cspec-init/')) made.add(image);
    return { image, log: await started.container.logText() };
  } finally {
    await started.stop();
  }
}

const CACHED = /^(docker\.io\/)?cspec-init\/postgres:[0-9a-f]{32}$/;

describe('init cache with a log wait of one match or two', () => {
  it('one match: the first start makes the cached state, later starts use it and answer at once', async () => {
    // A key no earlier run used: the first start must do the work.
    const env = { POSTGRES_PASSWORD: 'secret', TAG: randomBytes(4).toString('hex') };
    const cold = await startAndQuery(env);
    expect(cold.image).toMatch(CACHED);
    for (let i = 0; i < WARM_STARTS; i++) {
      const warm = await startAndQuery(env);
      expect(warm.image).toBe(cold.image);
      expect(warm.log).not.toContain('PostgreSQL init process complete');
    }
    // The two-match form finds the same state.
    expect((await startAndQuery(env, 2)).image).toBe(cold.image);
  });

  it('two matches first, then one: the one-match start is not fooled by the skipped init phase', async () => {
    const env = { POSTGRES_PASSWORD: 'secret', TAG: randomBytes(4).toString('hex') };
    const cold = await startAndQuery(env, 2);
    expect(cold.image).toMatch(CACHED);
    for (let i = 0; i < WARM_STARTS; i++) {
      const warm = await startAndQuery(env);
      expect(warm.image).toBe(cold.image);
      // This start's own "ready" line: the server it waited for.
      expect(warm.log).toMatch(READY);
    }
    expect((await startAndQuery(env, 2)).image).toBe(cold.image);
  });

  it('engine.run with a spec-level one-match log wait: cached, and ready when it returns', async () => {
    const password = 'secret';
    const env = { POSTGRES_PASSWORD: password, TAG: randomBytes(4).toString('hex') };
    let image: string | undefined;
    for (let i = 0; i < 3; i++) {
      const container = await engine().run({
        image: PG,
        env,
        ports: [5432],
        wait: { type: 'log', pattern: READY.source },
        startupTimeoutMs: 300_000,
      });
      try {
        const client = new pg.Client({
          host: '127.0.0.1',
          port: container.mappedPort(5432),
          user: 'postgres',
          password,
          database: 'postgres',
        });
        await client.connect();
        await client.end();
        const now = (await container.info()).image;
        made.add(now);
        expect(now).toMatch(CACHED);
        if (image) expect(now).toBe(image);
        image = now;
      } finally {
        await container.remove();
      }
    }
  });

  it('a long-running command that bypasses the work: a clear error at the deadline, nothing left', async () => {
    const before = (await engine().images.list()).map((i) => i.reference);
    const error = await caught(
      engine().run({
        image: PG,
        // Not `postgres`: the entrypoint runs it as is and never prints the done line.
        command: ['sleep', 'infinity'],
        env: { POSTGRES_PASSWORD: 'secret', TAG: randomBytes(4).toString('hex') },
        ports: [5432],
        wait: { type: 'ports' },
        startupTimeoutMs: 3_000,
      }),
    );
    expect(error).toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY' });
    expect(error.message).toContain('PostgreSQL init process complete');
    expect(error.hint).toContain('initCache: false');
    expect((await engine().images.list()).map((i) => i.reference)).toEqual(before);
    expect(await engine().list({ all: true })).toEqual([]);
  });
});
