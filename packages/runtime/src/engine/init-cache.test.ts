import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ContainerSpec } from '../container/spec.js';
import type { ResolvedImage } from '../image/types.js';
import {
  initCacheContract,
  initCacheKey,
  initCacheReference,
  logUntilDone,
  prepareWait,
} from './init-cache.js';

function image(reference: string, labels: Record<string, string> = {}, id = 'sha256:aaa'): ResolvedImage {
  return { reference, id, config: { env: [], labels }, layerDirs: [] };
}

const contract = { doneLog: 'PostgreSQL init process complete', dataDir: '/var/lib/postgresql/data' };
const PG = image('cspec/postgres:15', {
  'dev.cspec.init-cache.done-log': contract.doneLog,
  'dev.cspec.init-cache.data-dir': contract.dataDir,
});
const spec: ContainerSpec = { image: 'cspec/postgres:15', env: { POSTGRES_PASSWORD: 'a' } };

describe('init cache', () => {
  it('finds the contract in the spec or the image labels, and not on a cached image', () => {
    expect(initCacheContract(spec, PG)).toEqual(contract);
    expect(initCacheContract({ ...spec, initCache: false }, PG)).toBeUndefined();
    expect(initCacheContract(spec, image('cspec/debian:bookworm'))).toBeUndefined();
    expect(
      initCacheContract(spec, image('my/db:1', { 'dev.cspec.init-cache.done-log': 'done', other: 'x' })),
    ).toEqual({ doneLog: 'done' });
    expect(initCacheContract({ ...spec, initCache: { doneLog: 'x' } }, image('my/db:1'))).toEqual({
      doneLog: 'x',
    });
    expect(
      initCacheContract(spec, image('cspec-init/postgres:1', { 'dev.cspec.init-cache.base': 'sha256:aaa' })),
    ).toBeUndefined();
  });

  it('keys on the base image and every input of the work, not on ports, names, labels or waits', async () => {
    const key = (s: ContainerSpec, i = PG) => initCacheKey(s, i, contract);
    const base = await key(spec);
    expect(await key({ ...spec, ports: [5432], name: 'x', labels: { a: 'b' }, wait: { type: 'exit' } })).toBe(
      base,
    );
    expect(await key({ ...spec, env: { POSTGRES_PASSWORD: 'b' } })).not.toBe(base);
    expect(await key({ ...spec, env: { POSTGRES_PASSWORD: 'a', POSTGRES_USER: 'u' } })).not.toBe(base);
    expect(await key({ ...spec, env: { POSTGRES_PASSWORD: 'a', POSTGRES_DB: 'd' } })).not.toBe(base);
    expect(await key({ ...spec, env: { POSTGRES_PASSWORD: 'a', POSTGRES_INITDB_ARGS: '-k' } })).not.toBe(
      base,
    );
    expect(await key({ ...spec, command: ['postgres', '-c', 'fsync=off'] })).not.toBe(base);
    expect(await key(spec, image('cspec/postgres:15', {}, 'sha256:bbb'))).not.toBe(base);
    // Environment order does not matter.
    const two = { ...spec, env: { A: '1', B: '2' } };
    expect(await key(two)).toBe(await key({ ...spec, env: { B: '2', A: '1' } }));

    const file = (content: string) => ({
      ...spec,
      files: [{ target: '/docker-entrypoint-initdb.d/1.sql', content }],
    });
    expect(await key(file('CREATE TABLE a();'))).not.toBe(await key(file('CREATE TABLE b();')));
    const dir = await mkdtemp(join(tmpdir(), 'cspec-key-'));
    try {
      const fromDir = { ...spec, files: [{ target: '/docker-entrypoint-initdb.d', source: dir }] };
      await writeFile(join(dir, '1.sql'), 'CREATE TABLE a();');
      const before = await key(fromDir);
      await writeFile(join(dir, '1.sql'), 'CREATE TABLE b();');
      expect(await key(fromDir)).not.toBe(before);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the cached image after the base repository', () => {
    expect(initCacheReference(PG, 'k1')).toBe('cspec-init/postgres:k1');
    expect(initCacheReference(image('localhost:5000/team/My_DB@sha256:abc'), 'k')).toBe('cspec-init/my_db:k');
  });

  it('keeps the log up to the end of the done line', () => {
    const log = 'a\nready\nPostgreSQL init process complete; ready for start up.\n\nready\n';
    expect(logUntilDone(log, contract.doneLog)).toBe(
      'a\nready\nPostgreSQL init process complete; ready for start up.\n',
    );
    expect(logUntilDone('no line', 'x')).toBe('no line');
    // Anchors match at line boundaries.
    expect(logUntilDone('a\nwork done\nup\n', '^work done$')).toBe('a\nwork done\n');
  });

  it("the first start waits for the done line and then the server, never for the caller's wait alone", () => {
    const done = { type: 'log', pattern: contract.doneLog, flags: 'm' } as const;
    const ready = 'ready to accept connections';
    // A log wait (one match or two) counts only lines after the done line.
    expect(prepareWait(contract.doneLog, { type: 'log', pattern: ready }, true)).toEqual({
      type: 'all',
      of: [done, { type: 'log', pattern: ready, after: contract.doneLog }],
    });
    expect(prepareWait(contract.doneLog, { type: 'log', pattern: ready, times: 2 }, false)).toEqual({
      type: 'all',
      of: [done, { type: 'log', pattern: ready, times: 2, after: contract.doneLog }],
    });
    // Other waits may be met by the init phase: the image's health check instead, when it has one.
    expect(prepareWait(contract.doneLog, { type: 'ports' }, true)).toEqual({
      type: 'all',
      of: [done, { type: 'healthcheck' }],
    });
    expect(prepareWait(contract.doneLog, undefined, true)).toEqual({
      type: 'all',
      of: [done, { type: 'healthcheck' }],
    });
    expect(prepareWait(contract.doneLog, { type: 'ports' }, false)).toEqual({
      type: 'all',
      of: [done, { type: 'ports' }],
    });
    expect(prepareWait(contract.doneLog, undefined, false)).toEqual(done);
  });
});
