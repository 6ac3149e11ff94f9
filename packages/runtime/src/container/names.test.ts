import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RuntimeConfig, resolveConfig } from '../config.js';
import { isCspecError } from '../errors.js';
import { containerIdByName, releaseName, reserveName } from './names.js';
import { containerPaths } from './paths.js';

describe('container names', () => {
  let root: string;
  let config: RuntimeConfig;
  const container = async (id: string) => {
    await mkdir(containerPaths(config, id, '').dir, { recursive: true });
    return id;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cspec-names-'));
    config = resolveConfig({ runDir: root, dataDir: join(root, 'data'), tmpfsDir: join(root, 'shm') });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('gives a name to one container; a second one gets CSPEC_NAME_IN_USE', async () => {
    const a = await container('a'.repeat(64));
    const b = await container('b'.repeat(64));
    await reserveName(config, 'db', a);
    const error = await reserveName(config, 'db', b).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_NAME_IN_USE')).toBe(true);
    expect(await containerIdByName(config, 'db')).toBe(a);
  });

  it('takes over a name whose container directory is gone (its owner crashed)', async () => {
    await reserveName(config, 'db', 'c'.repeat(64)); // no directory: a crash before the state was written
    const b = await container('b'.repeat(64));
    expect(await containerIdByName(config, 'db')).toBeUndefined();
    await reserveName(config, 'db', b);
    expect(await readFile(join(root, 'names', 'db'), 'utf8')).toBe(b);
  });

  it('releases only for the holder, so a late release cannot free a reused name', async () => {
    const a = await container('a'.repeat(64));
    const b = await container('b'.repeat(64));
    await reserveName(config, 'db', a);
    await releaseName(config, 'db', a);
    await reserveName(config, 'db', b);
    await releaseName(config, 'db', a);
    expect(await containerIdByName(config, 'db')).toBe(b);
    await releaseName(config, 'missing', a);
  });

  it('hands a contested name to exactly one of many concurrent reservations', async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => container(String(i).repeat(64))));
    const results = await Promise.allSettled(ids.map((id) => reserveName(config, 'db', id)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });
});
