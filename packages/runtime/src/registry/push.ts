/**
 * Pushes a stored image to a registry: its layers and config (skipped where
 * the repository has them), in parallel, then the manifest — byte for byte
 * as stored, so its digest stays the same — under the reference's tag.
 */
import { readFile, stat } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { RegistryConfig } from '../config.js';
import type { BlobStore } from '../content/blob-store.js';
import { CspecError } from '../errors.js';
import type { OciManifest } from '../image/oci.js';
import type { ImageReference } from '../image/reference.js';
import type { ImageProgress } from '../image/types.js';
import { hasBlob, uploadBlob } from './blob-upload.js';
import { sha256Digest } from './manifest-fetch.js';
import { MANIFEST_TYPES } from './media-types.js';
import { registryClientFor } from './pull.js';
import { errorDetail } from './registry-client.js';

const PARALLEL_UPLOADS = 3;
const PROGRESS_INTERVAL_MS = 500;

export interface PushResult {
  readonly manifestDigest: string;
  readonly blobsUploaded: number;
  readonly blobsSkipped: number;
  readonly bytesUploaded: number;
}

export interface PushContext {
  readonly blobs: BlobStore;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress: (event: ImageProgress) => void;
  readonly registry: RegistryConfig;
}

const short = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);

export async function pushImage(
  target: ImageReference,
  manifestDigest: string,
  ctx: PushContext,
): Promise<PushResult> {
  const client = registryClientFor(target, ctx.registry, ['pull', 'push'], ctx.signal);
  const bytes = await readFile(ctx.blobs.path(manifestDigest));
  const manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
  // Each blob once, even if the manifest lists it twice.
  const blobs = [...new Map([manifest.config, ...manifest.layers].map((b) => [b.digest, b])).values()];
  const limit = pLimit(PARALLEL_UPLOADS);
  let blobsUploaded = 0;
  let blobsSkipped = 0;
  let bytesUploaded = 0;
  const results = await Promise.allSettled(
    blobs.map((blob) =>
      limit(async () => {
        ctx.signal?.throwIfAborted();
        const file = ctx.blobs.path(blob.digest);
        const size = (await stat(file)).size;
        if (await hasBlob(client, blob.digest)) {
          blobsSkipped++;
          ctx.onProgress({
            phase: 'exists',
            message: `${short(blob.digest)}: already in the registry`,
            item: short(blob.digest),
          });
          return;
        }
        const progress = (bytes: number) =>
          ctx.onProgress({
            phase: 'upload',
            message: `${short(blob.digest)}: ${bytes} of ${size} bytes`,
            item: short(blob.digest),
            bytes,
            totalBytes: size,
          });
        progress(0);
        let last = 0;
        await uploadBlob(client, { digest: blob.digest, size }, file, {
          signal: ctx.signal,
          onBytes: (sent) => {
            const now = Date.now();
            if (now - last < PROGRESS_INTERVAL_MS || sent === size) return;
            last = now;
            progress(sent);
          },
        });
        blobsUploaded++;
        bytesUploaded += size;
        progress(size);
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  const tag = target.tag ?? target.digest ?? 'latest';
  const res = await client.request('PUT', `manifests/${tag}`, {
    headers: { 'content-type': manifest.mediaType ?? MANIFEST_TYPES.ociManifest },
    body: () => bytes,
  });
  if (res.status !== 201) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} did not accept the manifest of ${target.normalized}: ${res.status} ${await errorDetail(res)}`,
    );
  }
  await res.body?.cancel();
  const stated = res.headers.get('docker-content-digest');
  const digest = sha256Digest(bytes);
  if (stated && stated !== digest) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} stored the manifest of ${target.normalized} as ${stated}, not ${digest}`,
    );
  }
  return { manifestDigest: digest, blobsUploaded, blobsSkipped, bytesUploaded };
}
