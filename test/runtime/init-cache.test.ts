/**
 * The init cache on real containers: a first start does the image's
 * first-start work and commits it; later starts with the same inputs begin
 * from that state and skip the work; any changed input (password, user,
 * database, init script, initdb args) makes a new state instead of reusing a
 * stale one. Log waits mean the same with and without the cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Container, type ContainerSpec, GenericContainer, Wait } from '@cspec/runtime';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { caught } from '../support/caught.js';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();
const PG = 'cspec/postgres:15';
const READY = 'database system is ready to accept connections';
const made = new Set<string>();

afterAll(async () => {
  // The cached states this file made (their content goes with the next image prune).
  for (const reference of made)
    await engine()
      .images.remove(reference)
      .catch(() => {});
});

async function imageOf(container: Container): Promise<string> {
  const image = (await container.info()).image;
  if (image.includes('cspec-init/')) made.add(image);
  return image;
}

function postgres(env: Record<string, string>, extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image: PG,
    env,
    ports: [5432],
    wait: { type: 'log', pattern: READY, times: 2 },
    startupTimeoutMs: 300_000,
    ...extra,
  };
}

async function query(
  container: Container,
  login: { user: string; password: string; database: string },
  sql: string,
): Promise<unknown[]> {
  const client = new pg.Client({ host: '127.0.0.1', port: container.mappedPort(5432), ...login });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const count = (text: string, pattern: string) => text.split(pattern).length - 1;

describe('init cache (cspec/postgres)', () => {
  it('a second start with the same inputs skips initdb, logs "ready" once and is ready when it says so', async () => {
    // A value no earlier run used: the first start below must do the work.
    const password = `pw-${randomBytes(4).toString('hex')}`;
    const spec = postgres({ POSTGRES_PASSWORD: password });
    const login = { user: 'postgres', password, database: 'postgres' };

    const t0 = performance.now();
    const first = await engine().run(spec);
    const firstMs = performance.now() - t0;
    const cached = await imageOf(first);
    expect(cached).toMatch(/^(docker\.io\/)?cspec-init\/postgres:[0-9a-f]{32}$/);
    expect(await query(first, login, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    // The container the caller gets starts from the cached state too.
    expect(count(await first.logText(), READY)).toBe(1);
    await first.remove();

    const t1 = performance.now();
    const second = await engine().run(spec);
    const secondMs = performance.now() - t1;
    expect(await imageOf(second)).toBe(cached);
    const log = await second.logText();
    expect(count(log, READY)).toBe(1);
    expect(log).not.toContain('PostgreSQL init process complete');
    expect(log).not.toContain('The files belonging to this database system');
    expect(await query(second, login, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await second.remove();
    expect(secondMs).toBeLessThan(firstMs);

    // The same with a wait strategy that counts once, and through the compat builder.
    const compat = await new GenericContainer(PG)
      .withEnvironment({ POSTGRES_PASSWORD: password })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    try {
      const client = new pg.Client({ host: compat.getHost(), port: compat.getMappedPort(5432), ...login });
      await client.connect();
      await client.end();
    } finally {
      await compat.stop();
    }
  });

  it.each([
    [
      'POSTGRES_PASSWORD',
      { POSTGRES_PASSWORD: 'two' },
      { user: 'postgres', password: 'two', database: 'postgres' },
    ],
    [
      'POSTGRES_USER',
      { POSTGRES_PASSWORD: 'one', POSTGRES_USER: 'app' },
      { user: 'app', password: 'one', database: 'app' },
    ],
    [
      'POSTGRES_DB',
      { POSTGRES_PASSWORD: 'one', POSTGRES_DB: 'shop' },
      { user: 'postgres', password: 'one', database: 'shop' },
    ],
  ])('a changed %s makes a new state, not a stale one', async (_what, env, login) => {
    const tag = randomBytes(4).toString('hex');
    const base = await engine().run(postgres({ POSTGRES_PASSWORD: 'one', TAG: tag }));
    const baseImage = await imageOf(base);
    await base.remove();
    const changed = await engine().run(postgres({ ...env, TAG: tag }));
    try {
      expect(await imageOf(changed)).not.toBe(baseImage);
      expect(await query(changed, login, 'SELECT current_user, current_database()')).toEqual([
        { current_user: login.user, current_database: login.database },
      ]);
    } finally {
      await changed.remove();
    }
  });

  it('a changed init script or initdb argument makes a new state', async () => {
    const tag = randomBytes(4).toString('hex');
    const login = { user: 'postgres', password: 'one', database: 'postgres' };
    const withScript = (sql: string, env: Record<string, string> = {}) =>
      postgres(
        { POSTGRES_PASSWORD: 'one', TAG: tag, ...env },
        { files: [{ target: '/docker-entrypoint-initdb.d/1.sql', content: sql }] },
      );
    const a = await engine().run(withScript('CREATE TABLE a (id int);'));
    const aImage = await imageOf(a);
    await a.remove();
    const b = await engine().run(withScript('CREATE TABLE b (id int);'));
    try {
      expect(await imageOf(b)).not.toBe(aImage);
      expect(
        await query(b, login, "SELECT relname FROM pg_class WHERE relname IN ('a', 'b') ORDER BY relname"),
      ).toEqual([{ relname: 'b' }]);
    } finally {
      await b.remove();
    }
    const c = await engine().run(
      withScript('CREATE TABLE a (id int);', { POSTGRES_INITDB_ARGS: '--locale=C.UTF-8' }),
    );
    try {
      expect(await imageOf(c)).not.toBe(aImage);
      expect(await query(c, login, "SELECT datcollate FROM pg_database WHERE datname = 'postgres'")).toEqual([
        { datcollate: 'C.UTF-8' },
      ]);
    } finally {
      await c.remove();
    }
  });

  it('eight starts at once with a new key make one state and all become ready', async () => {
    const password = `pw-${randomBytes(4).toString('hex')}`;
    const containers = await Promise.all(
      Array.from({ length: 8 }, () => engine().run(postgres({ POSTGRES_PASSWORD: password }))),
    );
    try {
      const images = new Set(await Promise.all(containers.map(imageOf)));
      expect(images.size).toBe(1);
      for (const c of containers) expect(count(await c.logText(), READY)).toBe(1);
      const login = { user: 'postgres', password, database: 'postgres' };
      expect(await Promise.all(containers.map((c) => query(c, login, 'SELECT 1 AS one')))).toEqual(
        Array.from({ length: 8 }, () => [{ one: 1 }]),
      );
    } finally {
      await Promise.all(containers.map((c) => c.remove()));
    }
  });

  it('without a password the start fails as without the cache, and nothing is cached', async () => {
    const before = (await engine().images.list()).length;
    const error = await caught(
      engine().run({
        image: PG,
        env: { TAG: randomBytes(4).toString('hex') },
        ports: [5432],
        wait: { type: 'ports' },
      }),
    );
    expect(error).toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY' });
    expect(error.message).toContain('You must specify POSTGRES_PASSWORD');
    expect((await engine().images.list()).length).toBe(before);
  });

  it('initCache: false starts without the cache (initdb and two "ready" lines)', async () => {
    const c = await engine().run(postgres({ POSTGRES_PASSWORD: 'one' }, { initCache: false }));
    try {
      expect(await imageOf(c)).toMatch(/^(docker\.io\/)?cspec\/postgres:15$/);
      expect(count(await c.logText(), READY)).toBe(2);
    } finally {
      await c.remove();
    }
  });
});

/** A tiny image-agnostic contract: the first start writes /data/ok and says so. */
const FIRST_START = [
  'if [ ! -f /data/ok ]; then mkdir -p /data && echo "$VALUE" > /data/ok && echo work done; fi',
  'echo up',
  'trap "exit 0" TERM',
  'while :; do sleep 0.05; done',
].join('; ');

function generic(image: string, value: string, extra: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    image,
    command: ['sh', '-c', FIRST_START],
    env: { VALUE: value },
    initCache: { doneLog: '^work done$', dataDir: '/data' },
    // Counts the skipped "work done" too: two matches with and without the cache.
    wait: { type: 'log', pattern: '^(work done|up)$', flags: 'm', times: 2 },
    ...extra,
  };
}

describe('init cache (a contract given in the spec)', () => {
  it('keeps what the first start wrote and counts the skipped log in log waits', async () => {
    const value = randomBytes(4).toString('hex');
    const first = await engine().run(generic(IMAGE, value));
    await first.remove();
    const second = await engine().run(generic(IMAGE, value));
    try {
      expect(await second.logText()).toBe('up\n');
      expect((await second.exec(['cat', '/data/ok'])).stdout).toBe(`${value}\n`);
    } finally {
      await second.remove();
    }
    await imageOf(second);
  });

  it('refuses what it cannot honour with a clear error and leaves nothing behind', async () => {
    const work = await mkdtemp(join(tmpdir(), 'cspec-init-cache-'));
    try {
      const bind = await caught(
        engine().run(generic(IMAGE, 'x', { mounts: [{ type: 'bind', source: work, target: '/seed' }] })),
      );
      expect(bind).toMatchObject({ code: 'CSPEC_INVALID_SPEC' });
      expect(bind.message).toContain('bind mount (/seed)');
      const over = await caught(
        engine().run(generic(IMAGE, 'x', { mounts: [{ type: 'tmpfs', target: '/data' }] })),
      );
      expect(over.message).toContain('covers the data directory /data');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const none = await caught(engine().run({ image: IMAGE, command: ['true'], initCache: true }));
    expect(none).toMatchObject({ code: 'CSPEC_INVALID_SPEC' });
    expect(none.message).toContain('declares no init cache contract');
    const regex = await caught(
      engine().run({ image: IMAGE, command: ['true'], initCache: { doneLog: '(' } }),
    );
    expect(regex.message).toContain('initCache.doneLog');
    expect(await engine().list({ all: true })).toEqual([]);
  });

  it('does not keep a state whose container did not shut down cleanly', async () => {
    const before = (await engine().images.list()).map((i) => i.reference);
    const error = await caught(
      engine().run(
        generic(IMAGE, randomBytes(4).toString('hex'), {
          // Exits 3 on its stop signal: its files may be half written.
          command: ['sh', '-c', FIRST_START.replace('exit 0', 'exit 3')],
        }),
      ),
    );
    expect(error).toMatchObject({ code: 'CSPEC_PREPARE_FAILED' });
    expect(error.message).toContain('exit code 3');
    expect((await engine().images.list()).map((i) => i.reference)).toEqual(before);
    expect(await engine().list({ all: true })).toEqual([]);
  });

  it('image prune removes cached states whose base image is gone', async () => {
    const maker = await engine().run({ image: IMAGE, command: ['sh', '-c', 'echo base > /base'] });
    await maker.wait();
    const base = `cspec-test/init-base:${randomBytes(4).toString('hex')}`;
    await maker.commit(base);
    await maker.remove();
    const c = await engine().run(generic(base, 'v'));
    const cached = await imageOf(c);
    await c.remove();
    expect((await engine().images.list()).map((i) => i.reference)).toContain(cached);

    await engine().pruneImages({ graceMs: 600_000 });
    expect((await engine().images.list()).map((i) => i.reference)).toContain(cached);
    await engine().images.remove(base);
    const report = await engine().pruneImages({ graceMs: 600_000 });
    expect(report.initCachesRemoved).toBeGreaterThanOrEqual(1);
    expect((await engine().images.list()).map((i) => i.reference)).not.toContain(cached);
  });
});

describe('engine.prepareImage', () => {
  it('runs the work once when asked twice at once, the second caller reusing the result', async () => {
    const reference = `cspec-test/prepared:${randomBytes(4).toString('hex')}`;
    let runs = 0;
    const request = {
      reference,
      spec: {
        image: IMAGE,
        command: ['sh', '-c', 'trap "exit 0" TERM; echo up; while :; do sleep 0.05; done'],
        wait: { type: 'log', pattern: 'up' } as const,
      },
      prepare: async (container: Container) => {
        runs++;
        await container.exec(['sh', '-c', 'echo prepared > /prepared']);
        return { 'dev.cspec.test': 'yes' };
      },
    };
    const [a, b] = await Promise.all([engine().prepareImage(request), engine().prepareImage(request)]);
    try {
      expect(runs).toBe(1);
      expect([a.reused, b.reused].sort()).toEqual([false, true]);
      expect(a.image.id).toBe(b.image.id);
      expect(a.image.config.labels?.['dev.cspec.test']).toBe('yes');
      const check = await engine().run({
        image: reference,
        command: ['cat', '/prepared'],
        wait: { type: 'exit' },
      });
      expect(await check.logText()).toBe('prepared\n');
      await check.remove();
    } finally {
      await engine().images.remove(reference);
    }
  });
});
