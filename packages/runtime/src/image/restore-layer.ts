/**
 * Unpacks a layer again from its stored blob, when its unpacked directory is
 * gone (deleted by hand, or removed by `image check --repair` as damaged):
 * the blob is the source of truth, and its content must match the diff id
 * the image config records before the tree is published.
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { BlobStore } from '../content/blob-store.js';
import { CspecError } from '../errors.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';

export interface StoredLayer {
  readonly blobDigest: string;
  readonly diffId: string;
  readonly chainId: string;
}

/** Unpacks `layer` from its blob over `below` (its lower layers, lowest first); returns its `fs` directory. */
export async function restoreLayer(
  ctx: { readonly blobs: BlobStore; readonly layers: LayerStore; readonly tmpDir: string },
  layer: StoredLayer,
  below: readonly string[],
  label: string,
): Promise<string> {
  const file = ctx.blobs.path(layer.blobDigest);
  if (!(await ctx.blobs.has(layer.blobDigest))) {
    throw new CspecError(
      'CSPEC_IMAGE_CORRUPT',
      `${label}: its unpacked layer is gone and so is its stored blob ${file}, so it cannot be unpacked again`,
    );
  }
  await mkdir(ctx.tmpDir, { recursive: true });
  const tree = tempPath(ctx.tmpDir, 'unpack');
  await mkdir(tree);
  try {
    const result = await ctx.layers.unpack(createReadStream(file), tree, {
      lowerDirs: [...below].reverse(),
      label,
    });
    if (result.diffId !== layer.diffId) {
      throw new CspecError(
        'CSPEC_IMAGE_CORRUPT',
        `${label}: the stored blob ${file} is damaged: its content is ${result.diffId}, the image config says ${layer.diffId}`,
      );
    }
    return await ctx.layers.adoptDirectory(layer.chainId, tree, { opaqueDirs: result.opaqueDirs });
  } catch (error) {
    await removeTree(tree);
    if (error instanceof CspecError && error.code === 'CSPEC_INVALID_ARCHIVE') {
      throw new CspecError('CSPEC_IMAGE_CORRUPT', `the stored blob ${file} is damaged: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}
