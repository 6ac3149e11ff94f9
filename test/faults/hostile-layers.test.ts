/**
 * Hostile layer entries in an image archive never touch anything outside the
 * layer being unpacked (issue 14, item 9: a `.wh..` entry made cspec run
 * mknod in `<data>/tmp`). The store works in a data directory of its own, so
 * the machine's image cache is not touched.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createImageStore, type ImageStore } from '../../packages/runtime/src/image/image-store.js';
import { dockerArchive, type TarEntry, tarOf } from '../support/archives.js';
import { expectNoLeaks } from '../support/leaks.js';

const TAG = 'example.test/hostile/layers:1';
const SECRET = `host-secret-${randomBytes(8).toString('hex')}`;

describe('hostile layer entries', () => {
  let dir: string;
  let data: string;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-hostile-'));
    data = join(dir, 'data');
    store = createImageStore(resolveConfig({ dataDir: data }));
    await writeFile(join(dir, 'secret.txt'), `${SECRET}\n`);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  afterAll(() => expectNoLeaks());

  const load = async (layers: readonly (readonly TarEntry[])[]) => {
    const tars = await Promise.all(layers.map((entries) => tarOf(entries as TarEntry[])));
    const path = join(dir, 'image.tar');
    await writeFile(path, await dockerArchive(tars, { repoTag: TAG }));
    return store.load(path);
  };

  it.each([
    '.wh..',
    '.wh...',
    'etc/.wh...',
    '.wh.',
  ])('refuses the whiteout %s naming the layer and the entry; <data>/tmp is left as it was', async (name) => {
    const base = [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', content: 'ID=test\n' },
    ] as TarEntry[];
    const error = await load([base, [{ name, content: '' }]]).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_INVALID_ARCHIVE'), String(error)).toBe(true);
    expect((error as Error).message).toContain(`"${name}"`);
    expect((error as Error).message).toMatch(/layer/);
    const tmp = await lstat(join(data, 'tmp'));
    expect(tmp.isDirectory()).toBe(true);
    expect(await readdir(join(data, 'tmp'))).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it("copies a lower layer's link to a host file up as a link: the host file is in no layer", async () => {
    const loaded = await load([
      [{ name: 'etc/evil', type: 'symlink', linkname: join(dir, 'secret.txt') }],
      [{ name: 'etc/alias', type: 'link', linkname: 'etc/evil' } as unknown as TarEntry],
    ]);
    expect(loaded.flatMap((l) => l.references)).toContain(TAG);
    const { layerDirs } = await store.resolve(TAG, { pull: 'never' });
    const top = layerDirs.at(-1)!;
    expect((await lstat(join(top, 'etc/alias'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(top, 'etc/alias'))).toBe(join(dir, 'secret.txt'));
    let found = '';
    try {
      found = execFileSync('grep', ['-rlaF', SECRET, ...layerDirs], { encoding: 'utf8' });
    } catch (error) {
      expect((error as { status?: number }).status).toBe(1);
    }
    expect(found).toBe('');
  });
});
