/**
 * Pulls an image into the store: manifest (an index resolves to the image
 * for the platform), config, then layers — downloaded in parallel, each
 * verified against its digest, stored as a blob and unpacked once by chain id
 * in order (reading the download as it arrives), its uncompressed content
 * checked against the config's diff id; a layer is published only when both
 * checks passed.
 * Blobs and layers the store already has are not fetched again. Everything in
 * progress lives in the store's tmp/ under `tempPath` names, so a killed pull
 * leaves nothing a later run trusts, and an aborted or failed one removes it.
 * The caller (the store, under its per-reference lock) writes the tag.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { RegistryConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import type { OciDescriptor, OciImageConfig, OciManifest } from '../image/oci.js';
import type { ImageReference } from '../image/reference.js';
import type { SourceContext } from '../image/source.js';
import { chainIds } from '../snapshot/chain-id.js';
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';
import { downloadBlob } from './blob-download.js';
import { findCredentials } from './credentials.js';
import { resolveEndpoint } from './endpoint.js';
import { createGrowingFile, type GrowingFile } from './growing-file.js';
import { fetchManifest } from './manifest-fetch.js';
import { formatPlatform, hostPlatform, type IndexEntry, type Platform, selectManifest } from './platform.js';
import { createRegistryClient, type RegistryClient } from './registry-client.js';

const debug = createDebug('cspec:registry');

/** Layers downloaded at once (Docker's default is 3). */
const PARALLEL_DOWNLOADS = 3;
const PROGRESS_INTERVAL_MS = 500;
/** Layer blobs are read in large chunks: fewer, larger writes of file contents while unpacking. */
const READ_CHUNK = 1024 * 1024;
/** Configs are small JSON documents; a huge one is an error, not something to download. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export type PullContext = Pick<SourceContext, 'blobs' | 'layers' | 'tmpDir' | 'signal' | 'onProgress'>;

export interface PullOptions {
  readonly registry: RegistryConfig;
  /** @default linux and the host's architecture */
  readonly platform?: Platform | undefined;
}

export interface PullResult {
  readonly manifestDigest: string;
  /** The config's digest: the image id. */
  readonly id: string;
  readonly layers: number;
  readonly layersDownloaded: number;
  readonly bytesDownloaded: number;
}

const short = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);

export function registryClientFor(
  ref: ImageReference,
  registry: RegistryConfig,
  actions: readonly ('pull' | 'push')[],
  signal: AbortSignal | undefined,
): RegistryClient {
  if (ref.domain === undefined) {
    throw new CspecError('CSPEC_INVALID_REFERENCE', `${ref.normalized} is a local name; it has no registry`, {
      hint: 'name a registry, e.g. 127.0.0.1:5000/debian:bookworm',
    });
  }
  const endpoint = resolveEndpoint(ref.domain, registry);
  return createRegistryClient({
    endpoint,
    repository: ref.repository,
    actions,
    credentials: () => findCredentials(endpoint.credentialHost, registry),
    signal,
  });
}

function checkDescriptor(value: unknown, what: string, name: string): OciDescriptor {
  const d = value as Partial<OciDescriptor> | undefined;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.digest !== 'string' ||
    !/^sha256:[a-f0-9]{64}$/.test(d.digest) ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `the manifest of ${name} has an invalid ${what} descriptor (cspec supports sha256 digests only)`,
    );
  }
  return d as OciDescriptor;
}

async function readConfig(
  client: RegistryClient,
  ctx: PullContext,
  signal: AbortSignal,
  descriptor: OciDescriptor,
  name: string,
): Promise<OciImageConfig> {
  if (descriptor.size > MAX_CONFIG_BYTES) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `the image config of ${name} is ${descriptor.size} bytes; cspec reads configs up to 8 MiB`,
    );
  }
  if (!(await ctx.blobs.has(descriptor.digest))) {
    const file = tempPath(ctx.tmpDir, 'pull-config');
    try {
      await downloadBlob(client, descriptor, file, { signal });
      await ctx.blobs.ingest(file, { expectedDigest: descriptor.digest });
    } finally {
      await rm(file, { force: true });
    }
  }
  const config = await ctx.blobs.readJson<OciImageConfig>(descriptor.digest).catch((error: unknown) => {
    throw new CspecError('CSPEC_REGISTRY_FAILED', `the image config of ${name} is not valid JSON`, {
      cause: error,
    });
  });
  if (!Array.isArray(config.rootfs?.diff_ids)) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `the image config of ${name} lists no layers (rootfs.diff_ids)`,
    );
  }
  return config;
}

export async function pullImage(
  ref: ImageReference,
  ctx: PullContext,
  options: PullOptions,
): Promise<PullResult> {
  const name = ref.normalized;
  const platform = options.platform ?? hostPlatform();
  // Aborted by the caller, or by this pull when one layer fails (the other downloads stop too).
  const abort = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, abort.signal]) : abort.signal;
  const client = registryClientFor(ref, options.registry, ['pull'], signal);
  await mkdir(ctx.tmpDir, { recursive: true });
  ctx.onProgress({ phase: 'resolve', message: `${name}: asking ${client.endpoint.baseUrl}` });

  let manifest = await fetchManifest(client, ref.digest ?? ref.tag ?? 'latest', name);
  if (manifest.kind === 'index') {
    const entries = manifest.document.manifests as IndexEntry[];
    const chosen = selectManifest(Array.isArray(entries) ? entries : [], platform, name);
    checkDescriptor(chosen, `${formatPlatform(platform)} manifest`, name);
    debug('%s: %s is %s', name, formatPlatform(platform), chosen.digest);
    manifest = await fetchManifest(client, chosen.digest, name);
    if (manifest.digest !== chosen.digest) {
      throw new CspecError(
        'CSPEC_REGISTRY_FAILED',
        `the manifest of ${name} for ${formatPlatform(platform)} does not match its digest`,
      );
    }
  }
  if (manifest.kind === 'schema1') {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${name} is a Docker schema 1 image, which cspec does not support`,
      {
        hint: 'push it again with a current Docker (schema 2) or use an OCI image',
      },
    );
  }
  if (manifest.kind !== 'image') {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${name} is not an image (media type ${String(manifest.document.mediaType ?? manifest.mediaType)})`,
    );
  }
  const doc = manifest.document as unknown as OciManifest;
  const configDescriptor = checkDescriptor(doc.config, 'config', name);
  const layerDescriptors = (Array.isArray(doc.layers) ? doc.layers : []).map((l, i) =>
    checkDescriptor(l, `layer ${i + 1}`, name),
  );

  const config = await readConfig(client, ctx, signal, configDescriptor, name);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== layerDescriptors.length) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${name}: the config lists ${diffIds.length} layers but the manifest ${layerDescriptors.length}`,
    );
  }
  const chains = chainIds(diffIds);
  const count = layerDescriptors.length;

  // Downloads run ahead in parallel; unpacking follows in order (a layer's hard links may point below it),
  // each layer reading its download as it is written. A layer is published only once its download
  // is complete and verified and its content matches the config's diff id.
  const limit = pLimit(PARALLEL_DOWNLOADS);
  // Per layer, once its fetch has begun: the download being written, or undefined for a blob here already.
  const started = layerDescriptors.map(() => {
    let resolve!: (file: GrowingFile | undefined) => void;
    const promise = new Promise<GrowingFile | undefined>((r) => {
      resolve = r;
    });
    return { promise, resolve };
  });
  let layersDownloaded = 0;
  let bytesDownloaded = 0;
  const fetchLayer = async (i: number): Promise<void> => {
    const layer = layerDescriptors[i]!;
    const label = `layer ${i + 1}/${count} ${short(layer.digest)}`;
    if (await ctx.blobs.has(layer.digest)) {
      started[i]!.resolve(undefined);
      ctx.onProgress({ phase: 'exists', message: `${label}: already here`, item: short(layer.digest) });
      return;
    }
    const file = tempPath(ctx.tmpDir, 'pull-layer');
    const growing = createGrowingFile(file);
    started[i]!.resolve(growing);
    let last = 0;
    const report = (bytes: number) =>
      ctx.onProgress({
        phase: 'download',
        message: `${label}: ${bytes} of ${layer.size} bytes`,
        item: short(layer.digest),
        bytes,
        totalBytes: layer.size,
      });
    try {
      report(0);
      await downloadBlob(client, layer, file, {
        signal,
        onWritten: (bytes) => growing.written(bytes),
        onBytes: (bytes) => {
          const now = Date.now();
          if (now - last < PROGRESS_INTERVAL_MS) return;
          last = now;
          report(bytes);
        },
      });
      report(layer.size);
      // downloadBlob checked the digest and size as the bytes arrived: moved in, not copied again.
      await ctx.blobs.adoptVerified(file, layer);
      growing.finish(undefined, ctx.blobs.path(layer.digest));
      layersDownloaded++;
      bytesDownloaded += layer.size;
    } catch (error) {
      growing.finish(error);
      throw error;
    } finally {
      await rm(file, { force: true });
    }
  };
  // A layer that is unpacked already still needs its blob when that is missing (save and push use it).
  // An image may list the same blob twice (empty layers): it is fetched once.
  const byDigest = new Map<string, Promise<void>>();
  const readers: Promise<void>[] = [];
  const downloads = layerDescriptors.map((layer, i) => {
    let download = byDigest.get(layer.digest);
    if (!download) {
      download = limit(() => {
        signal.throwIfAborted();
        return fetchLayer(i);
      });
      byDigest.set(layer.digest, download);
    } else {
      // The same blob as an earlier layer: read from the store once that one is in.
      started[i]!.resolve(undefined);
    }
    return download;
  });
  // Failures are seen where each download is awaited, in order; none goes unhandled meanwhile.
  for (const download of downloads) download.catch(() => {});
  try {
    const dirs: string[] = [];
    for (const [i, layer] of layerDescriptors.entries()) {
      const existing = await ctx.layers.get(chains[i]!);
      if (existing) {
        await downloads[i];
        dirs.push(existing);
        continue;
      }
      // The download as it is written, or (a blob here already, or a fetch that failed before it began) the store's.
      const fetched = downloads[i]!.then(() => undefined);
      fetched.catch(() => {}); // seen below, where the download is awaited
      const growing = await Promise.race([started[i]!.promise, fetched]);
      if (!growing) await downloads[i];
      const label = `layer ${i + 1} of ${name}`;
      ctx.onProgress({
        phase: 'unpack',
        message: `layer ${i + 1}/${count} ${short(layer.digest)}: unpacking`,
        item: short(layer.digest),
      });
      const tree = tempPath(ctx.tmpDir, 'unpack');
      await mkdir(tree);
      try {
        const input = growing
          ? growing.read()
          : createReadStream(ctx.blobs.path(layer.digest), { highWaterMark: READ_CHUNK });
        // Its file is closed only after the reader ends: a failed pull waits for that, too.
        readers.push(new Promise((resolve) => (input.closed ? resolve() : input.once('close', resolve))));
        const result = await ctx.layers
          .unpack(input, tree, {
            lowerDirs: [...dirs].reverse(),
            label,
            signal,
          })
          .catch(async (error: unknown) => {
            // A download that fails (a broken connection, a wrong digest) says so, not the unpack reading it.
            if (growing) await downloads[i];
            throw error;
          });
        // Published only from a complete download whose digest matched.
        await downloads[i];
        if (result.diffId !== diffIds[i]) {
          throw new CspecError(
            'CSPEC_REGISTRY_FAILED',
            `${label} does not match the image config: its content is ${result.diffId}, the config says ${diffIds[i]}; nothing was stored`,
            { hint: 'the image in the registry is corrupt; push it again' },
          );
        }
        dirs.push(await ctx.layers.adoptDirectory(chains[i]!, tree, { opaqueDirs: result.opaqueDirs }));
      } catch (error) {
        await removeTree(tree);
        throw error;
      }
    }
  } catch (error) {
    // Stop the downloads still running and wait for them to remove their temp files.
    abort.abort(error);
    await Promise.allSettled(downloads);
    await Promise.all(readers);
    throw error;
  }
  await ctx.blobs.ingest(Readable.from([manifest.bytes]), { expectedDigest: manifest.digest });
  return {
    manifestDigest: manifest.digest,
    id: configDescriptor.digest,
    layers: count,
    layersDownloaded,
    bytesDownloaded,
  };
}
