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
import { uploadBlob } from './blob-upload.js';
import { sha256Digest } from './manifest-fetch.js';
import { MANIFEST_TYPES } from './media-types.js';
import { registryClientFor } from './pull.js';
import { errorDetail } from './registry-client.js';

const PARALLEL_UPLOADS = 3;

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
  const blobs = [manifest.config, ...manifest.layers];
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
        ctx.onProgress({
          phase: 'upload',
          message: `${short(blob.digest)}: uploading ${size} bytes`,
          item: short(blob.digest),
          bytes: 0,
          totalBytes: size,
        });
        const outcome = await uploadBlob(client, { digest: blob.digest, size }, file, { signal: ctx.signal });
        if (outcome === 'exists') {
          blobsSkipped++;
          ctx.onProgress({
            phase: 'exists',
            message: `${short(blob.digest)}: already in the registry`,
            item: short(blob.digest),
          });
        } else {
          blobsUploaded++;
          bytesUploaded += size;
          ctx.onProgress({
            phase: 'upload',
            message: `${short(blob.digest)}: uploaded`,
            item: short(blob.digest),
            bytes: size,
            totalBytes: size,
          });
        }
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
