import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureLayerLinks,
  LINK_NAME_LENGTH,
  layerLinkPath,
  linkName,
  removeLayerLink,
} from './layer-links.js';
import { createLayerStore } from './layer-store.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cspec-links-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const chain = (hex16: string) => `sha256:${hex16}${'0'.repeat(48)}`;

async function layer(hex16: string, marker = hex16): Promise<string> {
  const fs = join(root, 'layers', hex16, 'fs');
  await mkdir(fs, { recursive: true });
  await writeFile(join(fs, 'marker'), marker);
  return fs;
}

describe('layer link names', () => {
  it('encode the 64 bits of the layer directory name in 11 characters, one to one', () => {
    expect(linkName('0000000000000000')).toBe('AAAAAAAAAAA');
    expect(linkName('ffffffffffffffff')).toBe('__________8');
    const names = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const hex = (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(16, '0').slice(-16);
      const name = linkName(hex);
      expect(name).toHaveLength(LINK_NAME_LENGTH);
      expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(name, 'base64url').toString('hex')).toBe(hex);
      names.add(name);
    }
    expect(names.size).toBe(2000);
  });

  it('are known from the path alone: <data>/l/<name> for a store layer, anything else as it is', () => {
    const fs = '/var/lib/cspec/layers/0123456789abcdef/fs';
    expect(layerLinkPath(fs)).toBe(`/var/lib/cspec/l/${linkName('0123456789abcdef')}`);
    expect(layerLinkPath(fs)).toHaveLength('/var/lib/cspec/l/'.length + LINK_NAME_LENGTH);
    for (const other of [
      '/home/me/project',
      '/var/lib/cspec/layers/0123/fs',
      '/x/0123456789abcdef/fs',
      '/a/layers/0123456789abcdef',
    ]) {
      expect(layerLinkPath(other)).toBe(other);
    }
  });
});

describe('ensureLayerLinks', () => {
  it('makes relative links that lead to each layer and leaves other directories alone', async () => {
    const a = await layer('aaaaaaaaaaaaaaaa');
    const b = await layer('bbbbbbbbbbbbbbbb');
    const other = join(root, 'elsewhere');
    const paths = await ensureLayerLinks([a, other, b]);
    expect(paths).toEqual([layerLinkPath(a), other, layerLinkPath(b)]);
    expect(await readlink(paths[0]!)).toBe('../layers/aaaaaaaaaaaaaaaa/fs');
    expect(await readFile(join(paths[2]!, 'marker'), 'utf8')).toBe('bbbbbbbbbbbbbbbb');
    expect(await readdir(join(root, 'l'))).toHaveLength(2);
  });

  it('is idempotent, also when many callers race for the same links', async () => {
    const dirs = await Promise.all(['1', '2', '3'].map((c) => layer(c.repeat(16))));
    const results = await Promise.all(Array.from({ length: 8 }, () => ensureLayerLinks(dirs)));
    for (const r of results) expect(r).toEqual(dirs.map(layerLinkPath));
    expect((await readdir(join(root, 'l'))).sort()).toEqual(
      dirs.map((d) => layerLinkPath(d).split('/').pop()).sort(),
    );
    expect(await readdir(join(root, 'tmp')).catch(() => [])).toEqual([]);
  });

  it('replaces whatever else holds the name (a link elsewhere, a file), without a moment with no link', async () => {
    const a = await layer('aaaaaaaaaaaaaaaa');
    const b = await layer('bbbbbbbbbbbbbbbb');
    await mkdir(join(root, 'l'));
    await symlink('../layers/cccccccccccccccc/fs', layerLinkPath(a));
    await writeFile(layerLinkPath(b), 'not a link');
    const [la, lb] = await ensureLayerLinks([a, b]);
    expect(await readFile(join(la!, 'marker'), 'utf8')).toBe('aaaaaaaaaaaaaaaa');
    expect(await readFile(join(lb!, 'marker'), 'utf8')).toBe('bbbbbbbbbbbbbbbb');
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });
});

describe('removeLayerLink', () => {
  it('removes the link of its layer only', async () => {
    const a = await layer('aaaaaaaaaaaaaaaa');
    const [link] = await ensureLayerLinks([a]);
    await removeLayerLink(a);
    await expect(lstat(link!)).rejects.toThrow(/ENOENT/);
    await removeLayerLink(a); // twice is fine
    // A name taken by something else is not this layer's to remove.
    await writeFile(link!, 'foreign');
    await removeLayerLink(a);
    expect(await readFile(link!, 'utf8')).toBe('foreign');
  });

  it('goes with its layer when the layer store removes the layer', async () => {
    const store = createLayerStore(join(root, 'layers'), join(root, 'tmp'));
    const tree = join(root, 'tmp', 'tree');
    await mkdir(tree, { recursive: true });
    const fs = await store.adoptDirectory(chain('dddddddddddddddd'), tree);
    const [link] = await ensureLayerLinks([fs]);
    await store.remove(chain('dddddddddddddddd'));
    await expect(lstat(link!)).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(root, 'l'))).toEqual([]);
  });
});
