/**
 * `commit`: a container's changes (its overlay upper directory) become one
 * more layer on top of the image it was made from. The layer is stored as an
 * image-spec tar (so it saves and loads like any other) and unpacked from
 * that tar, so what later containers see is exactly what the blob says.
 */

import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { BlobStore, Descriptor } from '../content/blob-store.js';
import { chainIds } from '../snapshot/chain-id.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import { unpackLayer } from '../snapshot/unpack-layer.js';
import { upperAsLayerTar } from '../snapshot/upper-tar.js';
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';
import { MEDIA_TYPES, type OciImageConfig, type OciManifest } from './oci.js';

export interface CommitChanges {
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  /** `NAME=value` entries added to (or replacing those of) the parent's environment. */
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Recorded in the image's history. */
  readonly comment?: string;
}

export interface CommitContext {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  readonly tmpDir: string;
}

function mergeEnv(parent: readonly string[], extra: readonly string[]): string[] {
  const env = new Map(parent.map((e) => [e.split('=')[0]!, e]));
  for (const e of extra) env.set(e.split('=')[0]!, e);
  return [...env.values()];
}

export async function commitUpper(
  ctx: CommitContext,
  parent: {
    readonly manifest: OciManifest;
    readonly config: OciImageConfig;
    readonly layerDirs: readonly string[];
  },
  upper: string,
  changes: CommitChanges = {},
): Promise<{ readonly id: string; readonly manifest: Descriptor }> {
  await mkdir(ctx.tmpDir, { recursive: true });
  const blob = await ctx.blobs.ingest(await upperAsLayerTar(upper));
  const diffIds = [...parent.config.rootfs.diff_ids, blob.digest];
  const chainId = chainIds(diffIds).at(-1)!;
  if (!(await ctx.layers.get(chainId))) {
    const tree = tempPath(ctx.tmpDir, 'commit');
    await mkdir(tree);
    try {
      const result = await unpackLayer(createReadStream(ctx.blobs.path(blob.digest)), tree, {
        lowerDirs: [...parent.layerDirs].reverse(),
        label: 'the committed layer',
      });
      await ctx.layers.adoptDirectory(chainId, tree, { opaqueDirs: result.opaqueDirs });
    } catch (error) {
      await removeTree(tree);
      throw error;
    }
  }
  const created = new Date().toISOString();
  const c = parent.config.config ?? {};
  const config: OciImageConfig = {
    ...parent.config,
    created,
    config: {
      ...c,
      ...(changes.cmd ? { Cmd: changes.cmd } : {}),
      ...(changes.entrypoint ? { Entrypoint: changes.entrypoint } : {}),
      ...(changes.env ? { Env: mergeEnv(c.Env ?? [], changes.env) } : {}),
      ...(changes.workingDir ? { WorkingDir: changes.workingDir } : {}),
      ...(changes.user ? { User: changes.user } : {}),
      ...(changes.labels ? { Labels: { ...(c.Labels ?? {}), ...changes.labels } } : {}),
    },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      ...(parent.config.history ?? []),
      { created, created_by: 'cspec commit', ...(changes.comment ? { comment: changes.comment } : {}) },
    ],
  };
  const configBlob = await ctx.blobs.putJson(config);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configBlob.digest, size: configBlob.size },
    layers: [
      ...parent.manifest.layers,
      { mediaType: MEDIA_TYPES.layerTar, digest: blob.digest, size: blob.size },
    ],
  };
  return { id: configBlob.digest, manifest: await ctx.blobs.putJson(manifest) };
}
