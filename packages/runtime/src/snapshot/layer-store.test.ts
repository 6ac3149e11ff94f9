import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayerStore, type LayerStore } from './layer-store.js';

const id = (c: string) => `sha256:${c.repeat(64)}`;

let root: string;
let tmp: string;
let layers: LayerStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cspec-layers-'));
  tmp = join(root, 'tmp');
  layers = createLayerStore(join(root, 'layers'), tmp);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function tree(name: string, content: string): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc', 'marker'), content);
  return dir;
}

describe('layer store', () => {
  it('publishes a tree under a short name and finds it by chain id', async () => {
    expect(await layers.get(id('a'))).toBeUndefined();
    const fs = await layers.adoptDirectory(id('a'), await tree('t1', 'one'));
    expect(fs).toBe(join(root, 'layers', 'a'.repeat(16), 'fs'));
    expect(await layers.get(id('a'))).toBe(fs);
    expect(await readFile(join(fs, 'etc', 'marker'), 'utf8')).toBe('one');
    expect(await readFile(join(root, 'layers', 'a'.repeat(16), 'chain-id'), 'utf8')).toBe(`${id('a')}\n`);
    // The tree was moved, not copied; no staging is left behind.
    expect(await readdir(tmp)).toEqual([]);
  });

  it('keeps the first of two publications of the same layer', async () => {
    await layers.adoptDirectory(id('b'), await tree('t1', 'first'));
    const fs = await layers.adoptDirectory(id('b'), await tree('t2', 'second'));
    expect(await readFile(join(fs, 'etc', 'marker'), 'utf8')).toBe('first');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('does not take a layer whose short name matches but whose chain id differs', async () => {
    const other = `sha256:${'c'.repeat(16)}${'d'.repeat(48)}`;
    await layers.adoptDirectory(id('c'), await tree('t1', 'c'));
    expect(await layers.get(other)).toBeUndefined();
    await expect(layers.adoptDirectory(other, await tree('t2', 'd'))).rejects.toThrow(/holds sha256:c/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('never shows a half-published layer: a failed adoption leaves nothing', async () => {
    // The tree does not exist: the rename fails after staging was created.
    await expect(layers.adoptDirectory(id('e'), join(tmp, 'missing'))).rejects.toThrow(/ENOENT/);
    expect(await layers.get(id('e'))).toBeUndefined();
    expect(await readdir(join(root, 'layers'))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes a layer', async () => {
    await layers.adoptDirectory(id('f'), await tree('t1', 'f'));
    await layers.remove(id('f'));
    await layers.remove(id('f'));
    expect(await layers.get(id('f'))).toBeUndefined();
    expect(await readdir(join(root, 'layers'))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('rejects ids that are not sha256', async () => {
    await expect(layers.get('sha256:../../etc')).rejects.toThrow(/not a sha256 chain id/);
  });
});
