/**
 * A full disk (a 20 MB tmpfs holding the data directory): import and load
 * fail with one clear CSPEC_NO_SPACE naming the directory and the space
 * needed, keep nothing partial, and the CLI reports it as an engine error
 * (exit 125), not as a bug in cspec (exit 70).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { createEngine } from '../../packages/runtime/src/engine/native-engine.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createImageStore } from '../../packages/runtime/src/image/image-store.js';
import { type RegistryServer, startRegistry } from '../registry/registry-server.js';
import { dockerArchive, tarOf } from '../support/archives.js';
import { caught } from '../support/caught.js';
import { expectNoLeaks } from '../support/leaks.js';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

/** Every file under `dir` (relative), so a failure shows what was left. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!entry.isDirectory()) out.push(join(entry.parentPath, entry.name).slice(dir.length + 1));
  }
  return out.sort();
}

/** This process's open files under `dir`, deleted ones too. */
async function openFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(`${dir}/`)) out.push(target);
  }
  return out;
}

describe('a full disk', () => {
  let dir: string;
  let disk: string;
  let big: Buffer;
  beforeAll(async () => {
    // 12 MB of random data twice: the tar does not fit beside its blob in 20 MB.
    big = await tarOf([
      { name: 'data/', type: 'directory' },
      { name: 'data/a', content: randomBytes(12 << 20) },
      { name: 'data/b', content: randomBytes(12 << 20) },
    ]);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-faults-disk-'));
    disk = join(dir, 'disk');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', disk]);
  });
  afterEach(async () => {
    // A file the failed step left open (a download's reader) would keep the disk busy.
    expect(await openFilesUnder(disk)).toEqual([]);
    execFileSync('umount', [disk]);
    await rm(dir, { recursive: true, force: true });
  });
  afterAll(() => expectNoLeaks());

  it('import fails with CSPEC_NO_SPACE naming the directory and leaves nothing', async () => {
    const data = join(disk, 'data');
    const store = createImageStore(resolveConfig({ dataDir: data }));
    const file = join(dir, 'rootfs.tar');
    await writeFile(file, big);
    const error = await caught(store.importRootfs(file, 'example.test/big:1'));
    expect(isCspecError(error, 'CSPEC_NO_SPACE')).toBe(true);
    expect(error.message).toContain(data);
    expect(error.message).toMatch(/needs about \d+(\.\d+)? MB/);
    expect(await filesUnder(data)).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('load fails with CSPEC_NO_SPACE and leaves nothing', async () => {
    const data = join(disk, 'data');
    const store = createImageStore(resolveConfig({ dataDir: data }));
    const small = await tarOf([{ name: 'etc/hostname', content: 'x\n' }]);
    const file = join(dir, 'image.tar');
    await writeFile(file, await dockerArchive([small, big], { repoTag: 'example.test/big:2' }));
    const error = await caught(store.load(file));
    expect(isCspecError(error, 'CSPEC_NO_SPACE')).toBe(true);
    expect(error.message).toContain(data);
    expect(await filesUnder(data)).toEqual([]);
  });

  it("a build's COPY fails with CSPEC_NO_SPACE and leaves nothing beside what was there", async () => {
    const data = join(disk, 'data');
    const engine = await createEngine({ dataDir: data });
    try {
      const base = join(dir, 'base.tar');
      await writeFile(base, await tarOf([{ name: 'etc/hostname', content: 'base\n' }]));
      await engine.images.importRootfs(base, 'example.test/base:1');
      const context = join(dir, 'context');
      await mkdir(context);
      await writeFile(join(context, 'Dockerfile'), 'FROM example.test/base:1\nCOPY big /big\n');
      await writeFile(join(context, 'big'), big);
      const before = await filesUnder(data);
      const error = await caught(engine.build({ context, tag: 'example.test/big:4' }));
      expect(isCspecError(error, 'CSPEC_NO_SPACE')).toBe(true);
      expect(error.message).toContain(data);
      expect(await filesUnder(data)).toEqual(before);
    } finally {
      await engine.close();
    }
  });

  it('pull fails with CSPEC_NO_SPACE and leaves nothing', async () => {
    const registry: RegistryServer = await startRegistry();
    try {
      const remote = `${registry.host}/faults/big:5`;
      const src = createImageStore(resolveConfig({ dataDir: join(dir, 'source-store') }));
      const file = join(dir, 'rootfs.tar');
      await writeFile(file, big);
      await src.importRootfs(file, remote);
      await src.push(remote);
      const data = join(disk, 'data');
      const store = createImageStore(resolveConfig({ dataDir: data }));
      const error = await caught(store.pull(remote));
      expect(isCspecError(error, 'CSPEC_NO_SPACE')).toBe(true);
      expect(error.message).toContain(data);
      expect(await filesUnder(data)).toEqual([]);
    } finally {
      await registry.stop();
    }
  });

  it('the CLI says so and exits 125, not "a bug in cspec" (70)', async () => {
    const file = join(dir, 'rootfs.tar');
    await writeFile(file, big);
    const data = join(disk, 'data');
    const result = spawnSync(process.execPath, [BIN, 'image', 'import', file, 'example.test/big:3'], {
      encoding: 'utf8',
      env: { ...process.env, CSPEC_DATA_DIR: data },
    });
    expect(result.stderr).not.toMatch(/bug in cspec/);
    expect(result.stderr).toMatch(/no space left/i);
    expect(result.stderr).toContain(data);
    expect(result.status).toBe(125);
    expect(await filesUnder(data)).toEqual([]);
  });
});
