/**
 * `cspec image check [--repair]` (like `podman system check`): every blob is
 * hashed again and compared with its name; every tag must lead to a readable
 * manifest and config whose blobs are intact; every layer of a sound image
 * must be unpacked. With `repair`, damaged blobs are removed, tags whose
 * image cannot be read or rebuilt from its blobs are removed, and missing
 * layers are unpacked again from their blobs.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../content/blob-store.js';
import { chainIds } from '../snapshot/chain-id.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import type { OciImageConfig, OciManifest } from './oci.js';
import type { TagStore } from './tag-store.js';
import type { ImageCheckProblem, ImageCheckReport } from './types.js';

export interface CheckInput {
  readonly blobs: BlobStore;
  readonly blobsDir: string;
  readonly layers: LayerStore;
  readonly layersDir: string;
  readonly tags: TagStore;
  readonly repair: boolean;
  /** Unpacks an image's missing layers again from its blobs (the store's own path for this). */
  readonly restoreLayers: (
    manifest: OciManifest,
    config: OciImageConfig,
    reference: string,
  ) => Promise<unknown>;
}

type Found = Omit<ImageCheckProblem, 'repaired'> & { readonly fix: () => Promise<unknown> };

export async function checkStore(input: CheckInput): Promise<ImageCheckReport> {
  const { blobs, layers, tags } = input;
  const found: Found[] = [];
  const bad = new Set<string>();

  // 1. Every blob, hashed again.
  const hexes = (await readdir(join(input.blobsDir, 'sha256')).catch(() => [] as string[])).filter((h) =>
    /^[a-f0-9]{64}$/.test(h),
  );
  for (const hex of hexes.sort()) {
    const digest = `sha256:${hex}`;
    const actual = await blobs.digestOf(digest);
    if (actual === undefined || actual === digest) continue;
    bad.add(digest);
    found.push({
      kind: 'corrupt-blob',
      path: blobs.path(digest),
      detail: `its content is ${actual}, not ${digest}`,
      fix: () => blobs.delete(digest),
    });
  }

  // 2. Every tag, down to its layers.
  const { records, broken } = await tags.scan();
  for (const tag of broken) {
    found.push({
      kind: 'broken-tag',
      path: tag.file,
      ...(tag.reference ? { reference: tag.reference } : {}),
      detail: tag.error.message,
      fix: () => tags.removeFile(tag.file),
    });
  }
  const missingChains = new Set<string>();
  const restores: (() => Promise<unknown>)[] = [];
  let layersChecked = 0;
  for (const tag of records) {
    const dropTag = (path: string, detail: string) =>
      found.push({
        kind: 'broken-tag',
        path,
        reference: tag.reference,
        detail,
        fix: () => tags.remove(tag.reference),
      });
    const readBlob = async <T>(digest: string, what: string): Promise<T | undefined> => {
      if (bad.has(digest)) {
        dropTag(blobs.path(digest), `its ${what} blob ${blobs.path(digest)} is damaged`);
        return undefined;
      }
      try {
        return await blobs.readJson<T>(digest);
      } catch (error) {
        dropTag(blobs.path(digest), `its ${what}: ${(error as Error).message}`);
        return undefined;
      }
    };
    const manifest = await readBlob<OciManifest>(tag.manifestDigest, 'manifest');
    if (!manifest) continue;
    if (typeof manifest.config?.digest !== 'string' || !Array.isArray(manifest.layers)) {
      dropTag(blobs.path(tag.manifestDigest), 'its manifest has no config or layers');
      continue;
    }
    const config = await readBlob<OciImageConfig>(manifest.config.digest, 'config');
    if (!config) continue;
    const diffIds = config.rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
      dropTag(blobs.path(manifest.config.digest), 'its config does not list one diff id per layer');
      continue;
    }
    const lost = [];
    for (const layer of manifest.layers) {
      if (bad.has(layer.digest) || !(await blobs.has(layer.digest))) lost.push(blobs.path(layer.digest));
    }
    if (lost.length > 0) {
      dropTag(lost[0]!, `its layer blob ${lost.join(', ')} is damaged or missing`);
      continue;
    }
    let missing = false;
    for (const chain of chainIds(diffIds)) {
      layersChecked++;
      if (missingChains.has(chain)) {
        missing = true;
        continue;
      }
      if ((await layers.get(chain)) !== undefined) continue;
      missing = true;
      missingChains.add(chain);
      found.push({
        kind: 'missing-layer',
        path: join(input.layersDir, chain.slice(7, 23)),
        reference: tag.reference,
        detail: `layer ${chain} is not unpacked (its blob is intact)`,
        // Unpacked again below, image by image, once damaged blobs and tags are gone.
        fix: async () => {
          await layers.remove(chain);
        },
      });
    }
    if (missing) restores.push(() => input.restoreLayers(manifest, config, tag.reference));
  }

  if (!input.repair) {
    return {
      blobsChecked: hexes.length,
      layersChecked,
      tagsChecked: records.length + broken.length,
      problems: found.map(({ fix: _, ...p }) => ({ ...p, repaired: false })),
    };
  }
  const problems: ImageCheckProblem[] = [];
  for (const { fix, ...problem } of found) {
    try {
      await fix();
      problems.push({ ...problem, repaired: problem.kind !== 'missing-layer' });
    } catch (error) {
      problems.push({
        ...problem,
        detail: `${problem.detail}; repair failed: ${(error as Error).message}`,
        repaired: false,
      });
    }
  }
  const failed: string[] = [];
  for (const restore of restores) {
    try {
      await restore();
    } catch (error) {
      failed.push((error as Error).message);
    }
  }
  return {
    blobsChecked: hexes.length,
    layersChecked,
    tagsChecked: records.length + broken.length,
    problems: problems.map((p) =>
      p.kind === 'missing-layer'
        ? failed.length === 0
          ? { ...p, repaired: true }
          : { ...p, detail: `${p.detail}; unpacking it again failed: ${failed.join('; ')}` }
        : p,
    ),
  };
}
