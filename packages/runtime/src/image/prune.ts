/**
 * Garbage collection of the image store (`cspec image prune`): blobs and
 * unpacked layers that no tag and no container needs any more.
 *
 * Kept: everything a tag reaches (manifest, config, layer blobs, the layer
 * directories of its chain ids), every layer directory a container lists in
 * its state, and anything written in the last `graceMs` — a load, build or
 * commit in another process writes its blobs and layers before it tags them.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../content/blob-store.js';
import { chainIds } from '../snapshot/chain-id.js';
import { removeLayerLink } from '../snapshot/layer-links.js';
import { removeTree } from '../util/remove-tree.js';
import type { OciImageConfig, OciManifest } from './oci.js';
import type { TagRecord } from './tag-store.js';

export interface PruneReport {
  readonly blobsRemoved: number;
  readonly layersRemoved: number;
  readonly bytesFreed: number;
}

export interface PruneInput {
  readonly blobs: BlobStore;
  readonly blobsDir: string;
  readonly layersDir: string;
  readonly tags: readonly TagRecord[];
  /** Layer directories (`.../<short>/fs`) of existing containers. */
  readonly layerDirsInUse: ReadonlySet<string>;
  readonly graceMs: number;
}

/** Bytes a tree takes (apparent sizes; hard links counted once). */
export async function treeSize(path: string, seen = new Set<string>()): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  const key = `${info.dev}:${info.ino}`;
  if (seen.has(key)) return 0;
  seen.add(key);
  if (!info.isDirectory()) return info.size;
  let total = info.size;
  for (const name of await readdir(path).catch(() => [] as string[]))
    total += await treeSize(join(path, name), seen);
  return total;
}

export async function pruneStore(input: PruneInput): Promise<PruneReport> {
  const keepBlobs = new Set<string>();
  const keepChains = new Set<string>();
  for (const tag of input.tags) {
    try {
      keepBlobs.add(tag.manifestDigest);
      const manifest = await input.blobs.readJson<OciManifest>(tag.manifestDigest);
      keepBlobs.add(manifest.config.digest);
      for (const layer of manifest.layers) keepBlobs.add(layer.digest);
      const config = await input.blobs.readJson<OciImageConfig>(manifest.config.digest);
      for (const chain of chainIds(config.rootfs.diff_ids)) keepChains.add(chain);
    } catch {
      // A tag whose content is gone keeps nothing.
    }
  }
  const old = async (path: string) => Date.now() - (await stat(path)).mtimeMs > input.graceMs;

  let blobsRemoved = 0;
  let layersRemoved = 0;
  let bytesFreed = 0;
  const blobDir = join(input.blobsDir, 'sha256');
  for (const hex of await readdir(blobDir).catch(() => [] as string[])) {
    const digest = `sha256:${hex}`;
    const path = join(blobDir, hex);
    if (keepBlobs.has(digest) || !/^[a-f0-9]{64}$/.test(hex) || !(await old(path))) continue;
    bytesFreed += (await stat(path)).size;
    await input.blobs.delete(digest);
    blobsRemoved++;
  }
  for (const short of await readdir(input.layersDir).catch(() => [] as string[])) {
    const dir = join(input.layersDir, short);
    const chain = (await readFile(join(dir, 'chain-id'), 'utf8').catch(() => '')).trim();
    if (keepChains.has(chain) || input.layerDirsInUse.has(join(dir, 'fs')) || !(await old(dir))) continue;
    bytesFreed += await treeSize(dir);
    await removeLayerLink(join(dir, 'fs'));
    await removeTree(dir);
    layersRemoved++;
  }
  return { blobsRemoved, layersRemoved, bytesFreed };
}
