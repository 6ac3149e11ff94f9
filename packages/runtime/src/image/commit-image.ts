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
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';
import { hostArchitecture, MEDIA_TYPES, type OciImageConfig, type OciManifest } from './oci.js';

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

export function mergeEnv(parent: readonly string[], extra: readonly string[]): string[] {
  const env = new Map(parent.map((e) => [e.split('=')[0]!, e]));
  for (const e of extra) env.set(e.split('=')[0]!, e);
  return [...env.values()];
}

type ConfigBody = NonNullable<OciImageConfig['config']>;

/** One step that makes an image from another: an optional layer (a directory shaped like an overlay upper dir) and a config change. */
export interface DeriveStep {
  /** Files of the new layer; none: a config-only step (`empty_layer` in the history). */
  readonly upper?: string;
  /** The new image's runtime config from its parent's. */
  readonly config?: (parent: ConfigBody) => ConfigBody;
  /** Recorded in the history (`created_by`). */
  readonly createdBy: string;
  readonly comment?: string;
}

export interface ParentImage {
  readonly manifest: OciManifest;
  readonly config: OciImageConfig;
  readonly layerDirs: readonly string[];
}

/**
 * The image `step` makes of `parent` (or of nothing: `FROM scratch`). The
 * layer is stored as an image-spec tar and unpacked from that tar, so what
 * containers see is exactly what the blob says.
 */
export async function deriveImage(
  ctx: CommitContext,
  parent: ParentImage | undefined,
  step: DeriveStep,
): Promise<{ readonly id: string; readonly manifest: Descriptor }> {
  await mkdir(ctx.tmpDir, { recursive: true });
  const parentDiffIds = parent?.config.rootfs.diff_ids ?? [];
  let diffIds = [...parentDiffIds];
  let layers = [...(parent?.manifest.layers ?? [])];
  if (step.upper !== undefined) {
    const blob = await ctx.blobs.ingest(await ctx.layers.upperTar(step.upper));
    diffIds = [...parentDiffIds, blob.digest];
    const chainId = chainIds(diffIds).at(-1)!;
    if (!(await ctx.layers.get(chainId))) {
      const tree = tempPath(ctx.tmpDir, 'commit');
      await mkdir(tree);
      try {
        const result = await ctx.layers.unpack(createReadStream(ctx.blobs.path(blob.digest)), tree, {
          lowerDirs: [...(parent?.layerDirs ?? [])].reverse(),
          label: 'the committed layer',
        });
        await ctx.layers.adoptDirectory(chainId, tree, { opaqueDirs: result.opaqueDirs });
      } catch (error) {
        await removeTree(tree);
        throw error;
      }
    }
    layers = [...layers, { mediaType: MEDIA_TYPES.layerTar, digest: blob.digest, size: blob.size }];
  }
  const created = new Date().toISOString();
  const body = parent?.config.config ?? {};
  const config: OciImageConfig = {
    ...(parent?.config ?? { architecture: hostArchitecture(), os: 'linux' }),
    created,
    config: step.config ? step.config(body) : body,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      ...(parent?.config.history ?? []),
      {
        created,
        created_by: step.createdBy,
        ...(step.comment ? { comment: step.comment } : {}),
        ...(step.upper === undefined ? { empty_layer: true } : {}),
      },
    ],
  };
  const configBlob = await ctx.blobs.putJson(config);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  return { id: configBlob.digest, manifest: await ctx.blobs.putJson(manifest) };
}

/** `cspec commit`: the container's changes as one more layer, and the config changes asked for. */
export function commitUpper(
  ctx: CommitContext,
  parent: ParentImage,
  upper: string,
  changes: CommitChanges = {},
): Promise<{ readonly id: string; readonly manifest: Descriptor }> {
  return deriveImage(ctx, parent, {
    upper,
    createdBy: 'cspec commit',
    ...(changes.comment ? { comment: changes.comment } : {}),
    config: (c) => ({
      ...c,
      ...(changes.cmd ? { Cmd: changes.cmd } : {}),
      ...(changes.entrypoint ? { Entrypoint: changes.entrypoint } : {}),
      ...(changes.env ? { Env: mergeEnv(c.Env ?? [], changes.env) } : {}),
      ...(changes.workingDir ? { WorkingDir: changes.workingDir } : {}),
      ...(changes.user ? { User: changes.user } : {}),
      ...(changes.labels ? { Labels: { ...(c.Labels ?? {}), ...changes.labels } } : {}),
    }),
  });
}
