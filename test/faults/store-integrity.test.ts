/**
 * The image store never hands out what it has not verified: a damaged blob,
 * a deleted layer or garbage metadata is found, named and repaired — never
 * saved, loaded over, re-pulled from a registry or reported as a crash.
 * Each test has its own data directory (the shared cache is never touched).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createImageStore, type ImageStore } from '../../packages/runtime/src/image/image-store.js';
import { digest, dockerArchive, tarOf } from '../support/archives.js';
import { caught } from '../support/caught.js';
import { expectNoLeaks } from '../support/leaks.js';

const TAG = 'example.test/faults/app:1';
const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

describe('a cache that never lies', () => {
  let dir: string;
  let data: string;
  let store: ImageStore;
  const blobFile = (d: string) => join(data, 'blobs', 'sha256', d.slice(7));
  const layer = () =>
    tarOf([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=faults\n' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
    ]);
  const load = async (bytes: Buffer, name = 'image.tar') => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return store.load(path);
  };
  const manifestOf = async (reference: string) => {
    const details = await store.inspect(reference);
    return { ...details, layerBlob: blobFile(details.layers[0]!.digest), configBlob: blobFile(details.id) };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-faults-store-'));
    data = join(dir, 'data');
    store = createImageStore(resolveConfig({ dataDir: data }));
    await load(await dockerArchive([await layer()], { repoTag: TAG }));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  afterAll(() => expectNoLeaks());

  it('save refuses a stored layer whose bytes no longer match its digest, naming the blob and the repair', async () => {
    const { layerBlob } = await manifestOf(TAG);
    await truncate(layerBlob, 1024);
    const out = join(dir, 'saved.tar');
    const error = await caught(store.save([TAG], out));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(layerBlob);
    expect(`${(error as Error).message} ${(error as { hint?: string }).hint}`).toMatch(
      /cspec image check --repair/,
    );
    expect(await readdir(dir)).not.toContain('saved.tar');
    expect((await readdir(dir)).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('load verifies every layer even when it is unpacked already, and keeps the tag where it was', async () => {
    const before = (await store.inspect(TAG)).manifestDigest;
    const good = await layer();
    const bad = Buffer.from(good);
    bad[600] = bad[600]! ^ 0xff; // one flipped byte in the file's content
    const error = await caught(
      load(await dockerArchive([bad], { repoTag: TAG, diffIds: [digest(good)] }), 'bad.tar'),
    );
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
    expect((error as Error).message).toContain('bad.tar');
    expect((await store.inspect(TAG)).manifestDigest).toBe(before);
    expect(await readdir(join(data, 'blobs', 'sha256'))).not.toContain(digest(bad).slice(7));
  });

  it('a deleted unpacked layer is unpacked again from its stored blob, not fetched from a registry', async () => {
    const first = await store.resolve(TAG, { pull: 'never' });
    await rm(join(first.layerDirs[0]!, '..'), { recursive: true });
    const again = await store.resolve(TAG, { pull: 'never' });
    expect(await readFile(join(again.layerDirs[0]!, 'etc/os-release'), 'utf8')).toBe('ID=faults\n');
    expect((await stat(join(again.layerDirs[0]!, 'bin/hello'))).mode & 0o777).toBe(0o755);
  });

  it('a deleted layer whose blob is gone too is reported with the repair', async () => {
    const { layerBlob } = await manifestOf(TAG);
    const image = await store.resolve(TAG, { pull: 'never' });
    await rm(join(image.layerDirs[0]!, '..'), { recursive: true });
    await rm(layerBlob);
    const error = await caught(store.resolve(TAG));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(layerBlob);
    expect((error as { hint?: string }).hint).toMatch(/cspec image rm example\.test\/faults\/app:1/);
  });

  it('a garbage config names the file and the repair; image ls marks it instead of hiding it', async () => {
    await load(
      await dockerArchive([await layer()], { repoTag: 'example.test/faults/other:1', cmd: ['true'] }),
      'o.tar',
    );
    const { configBlob } = await manifestOf(TAG);
    await writeFile(configBlob, '{ not json');
    const fresh = createImageStore(resolveConfig({ dataDir: data }));
    const error = await caught(fresh.resolve(TAG));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(configBlob);
    expect((error as { hint?: string }).hint).toMatch(/cspec image rm|cspec image check --repair/);
    const listed = await fresh.list();
    expect(listed.map((i) => i.reference)).toEqual([
      'example.test/faults/app:1',
      'example.test/faults/other:1',
    ]);
    expect(listed[0]!.problem).toContain(configBlob);
    expect(listed[1]!.problem).toBeUndefined();
  });

  it('a garbage manifest or tag file gives a clear error naming it, not a crash', async () => {
    const { manifestDigest } = await store.inspect(TAG);
    await writeFile(blobFile(manifestDigest), 'garbage');
    let error = await caught(createImageStore(resolveConfig({ dataDir: data })).resolve(TAG));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(blobFile(manifestDigest));

    const tagFile = join(data, 'repositories', (await readdir(join(data, 'repositories')))[0]!);
    await writeFile(tagFile, 'Unexpected garbage');
    const fresh = createImageStore(resolveConfig({ dataDir: data }));
    error = await caught(fresh.resolve(TAG));
    expect(isCspecError(error, 'CSPEC_IMAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toContain(tagFile);
    const listed = await fresh.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]!.problem).toContain(tagFile);
    // image rm removes a damaged tag too.
    await fresh.remove(TAG);
    expect(await fresh.list()).toEqual([]);
  });

  it('the CLI lists a damaged image with a warning, and image check [--repair] reports and fixes it', async () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], {
        encoding: 'utf8',
        env: { ...process.env, CSPEC_DATA_DIR: data },
      });
    const { configBlob } = await manifestOf(TAG);
    await writeFile(configBlob, 'garbage');
    const ls = cli('image', 'ls');
    expect(ls.status).toBe(0);
    expect(ls.stdout).toMatch(/example\.test\/faults\/app:1\s+DAMAGED/);
    expect(ls.stderr).toContain(configBlob);
    expect(ls.stderr).toContain('cspec image check --repair');
    const run = cli('run', '--rm', TAG, 'true');
    expect(run.stderr).not.toMatch(/bug in cspec/);
    expect(run.stderr).toContain(configBlob);
    expect(run.status).toBe(125);
    const check = cli('image', 'check');
    expect(check.status).toBe(1);
    expect(check.stdout).toContain(`corrupt-blob  ${configBlob}`);
    const repair = cli('image', 'check', '--repair', '--json');
    expect(repair.status).toBe(0);
    const report = JSON.parse(repair.stdout) as { problems: { kind: string; repaired: boolean }[] };
    expect(report.problems.map((p) => `${p.kind} ${p.repaired}`).sort()).toEqual([
      'broken-tag true',
      'corrupt-blob true',
    ]);
    expect(cli('image', 'check').status).toBe(0);
    expect(cli('image', 'ls').stdout).not.toContain(TAG);
  });

  it('image check finds damaged blobs, missing layers and broken tags; --repair fixes them', async () => {
    await load(
      await dockerArchive([await layer()], { repoTag: 'example.test/faults/other:1', cmd: ['true'] }),
      'o.tar',
    );
    expect((await store.check()).problems).toEqual([]);
    const { layerBlob } = await manifestOf(TAG);
    const image = await store.resolve(TAG);
    const other = await manifestOf('example.test/faults/other:1');
    // A layer directory gone (its blob intact), and a config blob damaged.
    await rm(join(image.layerDirs[0]!, '..'), { recursive: true });
    await writeFile(other.configBlob, 'x');
    const report = await store.check();
    expect(report.blobsChecked).toBeGreaterThanOrEqual(5);
    const kinds = report.problems.map((p) => `${p.kind} ${p.path}`);
    expect(kinds).toContain(`corrupt-blob ${other.configBlob}`);
    expect(kinds.some((k) => k.startsWith('missing-layer '))).toBe(true);
    expect(
      report.problems.some((p) => p.kind === 'broken-tag' && p.reference === 'example.test/faults/other:1'),
    ).toBe(true);
    expect(report.problems.every((p) => p.repaired === false)).toBe(true);

    const repaired = await store.check({ repair: true });
    expect(repaired.problems.length).toBe(report.problems.length);
    expect(repaired.problems.every((p) => p.repaired)).toBe(true);
    expect((await store.check()).problems).toEqual([]);
    // The intact image runs again from its re-unpacked layer; the broken one is gone, not half there.
    const again = await createImageStore(resolveConfig({ dataDir: data })).resolve(TAG, { pull: 'never' });
    expect(await readFile(join(again.layerDirs[0]!, 'etc/os-release'), 'utf8')).toBe('ID=faults\n');
    expect((await store.list()).map((i) => i.reference)).toEqual([TAG]);
    expect(await readFile(layerBlob)).toBeDefined();
  });
});

describe('import of files that are not root filesystem tars', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-faults-import-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('an empty file is refused, not made into an empty image', async () => {
    const store = createImageStore(resolveConfig({ dataDir: join(dir, 'data') }));
    await writeFile(join(dir, 'empty.tar'), '');
    const error = await caught(store.importRootfs(join(dir, 'empty.tar'), 'example.test/empty:1'));
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE')).toBe(true);
    expect((error as Error).message).toMatch(/empty\.tar.*is empty/);
    expect(await store.list()).toEqual([]);
    expect(await readdir(join(dir, 'data', 'blobs', 'sha256')).catch(() => [])).toEqual([]);
  });

  it('a directory is named as one, with what to pass instead', async () => {
    const store = createImageStore(resolveConfig({ dataDir: join(dir, 'data') }));
    await mkdir(join(dir, 'rootfs'));
    const error = await caught(store.importRootfs(join(dir, 'rootfs'), 'example.test/dir:1'));
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toMatch(/rootfs: it is a directory/);
    expect((error as { hint?: string }).hint).toMatch(/tar -C .*rootfs -cf/);
  });
});
