import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { isCspecError } from '../errors.js';
import { openHostDirs } from './host-dirs.js';

const asRoot = process.geteuid?.() === 0;
let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'cspec-host-dirs-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const config = () =>
  resolveConfig(
    { dataDir: join(base, 'lib/data'), runDir: join(base, 'run'), tmpfsDir: join(base, 'shm') },
    {},
  );
const modeOf = async (path: string) => ((await stat(path)).mode & 0o7777).toString(8);

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('openHostDirs', () => {
  it('creates the three directories 0700, and missing parents 0700; existing parents keep their mode', async () => {
    await mkdir(join(base, 'lib'), { mode: 0o755 });
    await mkdir(join(base, 'new'));
    await chmod(join(base, 'new'), 0o755);
    await openHostDirs(
      resolveConfig(
        { dataDir: join(base, 'lib/data'), runDir: join(base, 'new/a/b/run'), tmpfsDir: join(base, 'shm') },
        {},
      ),
    );
    for (const dir of ['lib/data', 'new/a/b/run', 'shm']) expect(await modeOf(join(base, dir))).toBe('700');
    for (const dir of ['new/a', 'new/a/b']) expect(await modeOf(join(base, dir))).toBe('700');
    for (const dir of ['lib', 'new']) expect(await modeOf(join(base, dir))).toBe('755');
  });

  it('tightens existing directories, setgid and sticky bits included, and leaves their contents', async () => {
    for (const dir of ['lib/data', 'run', 'shm']) {
      await mkdir(join(base, dir), { recursive: true });
      await chmod(join(base, dir), dir === 'shm' ? 0o3777 : 0o755);
    }
    await writeFile(join(base, 'run/kept'), 'x');
    await openHostDirs(config());
    for (const dir of ['lib/data', 'run', 'shm']) expect(await modeOf(join(base, dir))).toBe('700');
    expect(await modeOf(join(base, 'run/kept'))).not.toBe('700');
  });

  it('is idempotent', async () => {
    await openHostDirs(config());
    await openHostDirs(config());
    expect(await modeOf(join(base, 'run'))).toBe('700');
  });

  it('follows a link its own user made (a data dir moved to a bigger disk)', async () => {
    await mkdir(join(base, 'big'), { mode: 0o755 });
    await mkdir(join(base, 'lib'));
    await symlink(join(base, 'big'), join(base, 'lib/data'));
    await openHostDirs(config());
    expect(await modeOf(join(base, 'big'))).toBe('700');
  });

  it('refuses a file where a directory should be', async () => {
    await writeFile(join(base, 'run'), '');
    const error = await failure(openHostDirs(config()));
    expect(isCspecError(error, 'CSPEC_UNSAFE_HOST_DIR')).toBe(true);
    expect((error as Error).message).toContain(`${join(base, 'run')}: it is not a directory`);
    expect((error as { hint?: string }).hint).toContain('CSPEC_RUN_DIR');
  });

  it('says which directory it cannot create, and why', async () => {
    await writeFile(join(base, 'lib'), '');
    const error = await failure(openHostDirs(config()));
    expect(isCspecError(error, 'CSPEC_HOST_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain(`cannot create the data directory ${join(base, 'lib/data')}`);
    expect((error as { hint?: string }).hint).toContain('CSPEC_DATA_DIR');
  });

  it.runIf(asRoot)(
    'refuses a directory whose parent another user owns (a /tmp/cspec-<uid> made first)',
    async () => {
      await mkdir(join(base, 'theirs'), { mode: 0o777 });
      await chown(join(base, 'theirs'), 65534, 65534);
      const error = await failure(
        openHostDirs(
          resolveConfig(
            { dataDir: join(base, 'd'), runDir: join(base, 'theirs/run'), tmpfsDir: join(base, 's') },
            {},
          ),
        ),
      );
      expect(isCspecError(error, 'CSPEC_UNSAFE_HOST_DIR')).toBe(true);
      expect((error as Error).message).toContain(`its parent ${join(base, 'theirs')} is owned by uid 65534`);
    },
  );

  it.runIf(asRoot)('refuses a directory another user owns, and leaves its mode alone', async () => {
    await mkdir(join(base, 'shm'), { mode: 0o777 });
    await chmod(join(base, 'shm'), 0o777);
    await chown(join(base, 'shm'), 65534, 65534);
    const error = await failure(openHostDirs(config()));
    expect(isCspecError(error, 'CSPEC_UNSAFE_HOST_DIR')).toBe(true);
    expect((error as Error).message).toContain('owned by uid 65534, not by uid 0');
    expect((error as { hint?: string }).hint).toContain(`rm -rf ${join(base, 'shm')}`);
    expect(await modeOf(join(base, 'shm'))).toBe('777');
  });
});
