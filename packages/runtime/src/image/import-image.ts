/**
 * Bringing images in from files: `load` (docker-archive or OCI archive) and
 * `importRootfs` (a root filesystem tar, like `docker import`). Each layer is
 * stored as a blob (so it can be saved or pushed again) and unpacked once,
 * keyed by chain id; the image config is kept byte for byte, so the image id
 * is the one Docker reports. A failure leaves no layer, tag or temp entry.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import type { BlobStore, Descriptor } from '../content/blob-store.js';
import { CspecError } from '../errors.js';
import { chainIds } from '../snapshot/chain-id.js';
import { detectCompression } from '../snapshot/compression.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';
import { type ArchiveImage, extractArchive, planArchive } from './archive.js';
import {
  hostArchitecture,
  MEDIA_TYPES,
  type OciDescriptor,
  type OciImageConfig,
  type OciManifest,
} from './oci.js';
import type { ImageProgress } from './types.js';

export interface ImportContext {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  readonly tmpDir: string;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: ImageProgress) => void) | undefined;
}

export interface ImportedImage {
  /** `sha256:` of the config: the image id. */
  readonly id: string;
  readonly manifestDigest: string;
  readonly references: readonly string[];
}

/** The layer's media type by what it is (its magic bytes), whatever the archive called it. */
async function layerMediaType(path: string): Promise<string> {
  const handle = createReadStream(path, { start: 0, end: 3 });
  const chunks: Buffer[] = [];
  for await (const chunk of handle) chunks.push(chunk as Buffer);
  const compression = detectCompression(Buffer.concat(chunks));
  return compression === 'none' ? MEDIA_TYPES.layerTar : `${MEDIA_TYPES.layerTar}+${compression}`;
}

function notItsDiffId(label: string, actual: string, expected: string): CspecError {
  return new CspecError(
    'CSPEC_INVALID_ARCHIVE',
    `${label} does not match the image config: its content is ${actual}, the config says ${expected}`,
    { hint: 'the archive is corrupt; export it again' },
  );
}

/**
 * Stores one layer file: its blob, and (unless that chain is already here)
 * its unpacked tree. `below` are the unpacked layers under it, lowest first.
 */
async function storeLayer(
  ctx: ImportContext,
  path: string,
  expected: { readonly digest?: string | undefined; readonly diffId?: string | undefined },
  chainId: (diffId: string) => string,
  below: readonly string[],
  label: string,
): Promise<{ descriptor: OciDescriptor; diffId: string; dir: string }> {
  const blob = await ctx.blobs.ingest(path, expected.digest ? { expectedDigest: expected.digest } : {});
  const mediaType = await layerMediaType(path);
  const descriptor = { mediaType, digest: blob.digest, size: blob.size };
  // A plain tar's digest is its diff id: a layer that is already unpacked needs no second pass.
  if (mediaType === MEDIA_TYPES.layerTar) {
    // Also when the layer is unpacked already: an archive's damaged layer must not be tagged.
    if (expected.diffId !== undefined && blob.digest !== expected.diffId)
      throw notItsDiffId(label, blob.digest, expected.diffId);
    const existing = await ctx.layers.get(chainId(blob.digest));
    if (existing) return { descriptor, diffId: blob.digest, dir: existing };
  }
  const tree = tempPath(ctx.tmpDir, 'unpack');
  await mkdir(tree);
  try {
    const result = await ctx.layers.unpack(createReadStream(path), tree, {
      lowerDirs: [...below].reverse(),
      label,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (expected.diffId !== undefined && result.diffId !== expected.diffId) {
      throw notItsDiffId(label, result.diffId, expected.diffId);
    }
    const dir = await ctx.layers.adoptDirectory(chainId(result.diffId), tree, {
      opaqueDirs: result.opaqueDirs,
    });
    return { descriptor, diffId: result.diffId, dir };
  } catch (error) {
    await removeTree(tree);
    throw error;
  }
}

async function writeManifest(
  blobs: BlobStore,
  config: Descriptor,
  layers: readonly OciDescriptor[],
): Promise<Descriptor> {
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: config.digest, size: config.size },
    layers,
  };
  return blobs.putJson(manifest);
}

async function importArchiveImage(
  ctx: ImportContext,
  image: ArchiveImage,
  file: string,
): Promise<ImportedImage> {
  const configBytes = await readFile(image.configPath);
  let config: OciImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as OciImageConfig;
  } catch (error) {
    throw new CspecError(
      'CSPEC_INVALID_ARCHIVE',
      `${file}: the image config is not valid JSON: ${(error as Error).message}`,
    );
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== image.layers.length) {
    throw new CspecError(
      'CSPEC_INVALID_ARCHIVE',
      `${file}: the image config lists ${diffIds.length} layers but the archive has ${image.layers.length}`,
    );
  }
  const chains = chainIds(diffIds);
  const dirs: string[] = [];
  const descriptors: OciDescriptor[] = [];
  const name = image.references[0] ?? 'image';
  for (const [i, layer] of image.layers.entries()) {
    ctx.onProgress?.({ phase: 'layer', message: `${name}: layer ${i + 1} of ${image.layers.length}` });
    const stored = await storeLayer(
      ctx,
      layer.path,
      { digest: layer.digest, diffId: diffIds[i] },
      () => chains[i]!,
      dirs,
      `${file}: layer ${i + 1} of ${name}`,
    );
    dirs.push(stored.dir);
    descriptors.push(stored.descriptor);
  }
  const configBlob = await ctx.blobs.ingest(
    image.configPath,
    image.configDigest ? { expectedDigest: image.configDigest } : {},
  );
  const manifest = await writeManifest(ctx.blobs, configBlob, descriptors);
  return { id: configBlob.digest, manifestDigest: manifest.digest, references: image.references };
}

/** Loads every image of a docker-archive or OCI archive. The caller tags them. */
export async function loadArchive(ctx: ImportContext, file: string): Promise<ImportedImage[]> {
  await mkdir(ctx.tmpDir, { recursive: true });
  const staging = tempPath(ctx.tmpDir, 'archive');
  try {
    ctx.onProgress?.({ phase: 'read', message: `reading ${file}` });
    await extractArchive(file, staging, ctx.signal);
    const images = await planArchive(staging, file);
    const out: ImportedImage[] = [];
    for (const image of images) out.push(await importArchiveImage(ctx, image, file));
    return out;
  } finally {
    await removeTree(staging);
  }
}

/** One image from a root filesystem tar (`docker import`): a single layer and a minimal config. */
export async function importRootfs(
  ctx: ImportContext,
  file: string,
  options: {
    readonly cmd?: readonly string[];
    /** The history entry. @default `cspec image import FILE` */
    readonly createdBy?: string;
  } = {},
): Promise<Omit<ImportedImage, 'references'>> {
  await mkdir(ctx.tmpDir, { recursive: true });
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new CspecError('CSPEC_INVALID_SPEC', `cannot import ${file}: it is a directory, not a tar file`, {
      hint: `import a tar of it: tar -C ${file} -cf rootfs.tar . && cspec image import rootfs.tar NAME`,
    });
  }
  if (!info?.isFile()) {
    throw new CspecError('CSPEC_INVALID_SPEC', `cannot import ${file}: no such file`, {
      hint: 'give the path of a tar of a root filesystem (e.g. from `docker export`)',
    });
  }
  if (info.size === 0) {
    throw new CspecError(
      'CSPEC_INVALID_ARCHIVE',
      `cannot import ${file}: the file is empty, not a tar of a root filesystem`,
      {
        hint: 'give the path of a tar of a root filesystem (e.g. from `docker export`)',
      },
    );
  }
  const stored = await storeLayer(ctx, file, {}, (id) => chainIds([id])[0]!, [], file);
  const diffId = stored.diffId;
  const created = new Date().toISOString();
  const config: OciImageConfig = {
    created,
    architecture: hostArchitecture(),
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ...(options.cmd ? { Cmd: options.cmd } : {}),
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: options.createdBy ?? `cspec image import ${file}` }],
  };
  const configBlob = await ctx.blobs.putJson(config);
  const manifest = await writeManifest(ctx.blobs, configBlob, [stored.descriptor]);
  return { id: configBlob.digest, manifestDigest: manifest.digest };
}
