/**
 * Uploads one blob unless the repository has it: `HEAD` the blob, else
 * `POST` an upload session and `PUT` the whole blob to its Location with
 * `?digest=` (the spec's monolithic upload). A failed upload is started over
 * from the POST, up to `attempts` times.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CspecError } from '../errors.js';
import type { BlobDescriptor } from './blob-download.js';
import { errorDetail, type RegistryClient } from './registry-client.js';

export interface UploadOptions {
  readonly signal?: AbortSignal | undefined;
  /** @default 3 */
  readonly attempts?: number;
}

/** Whether the repository holds the blob already. */
export async function hasBlob(client: RegistryClient, digest: string): Promise<boolean> {
  const res = await client.request('HEAD', `blobs/${digest}`);
  await res.body?.cancel();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new CspecError(
    'CSPEC_REGISTRY_FAILED',
    `${client.endpoint.domain} answered ${res.status} when asked whether ${client.repository} has blob ${digest}`,
  );
}

async function uploadOnce(client: RegistryClient, blob: BlobDescriptor, file: string): Promise<void> {
  const started = await client.request('POST', 'blobs/uploads/', {
    headers: { 'content-length': '0' },
    retry: true,
  });
  if (started.status !== 202) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} refused to start an upload to ${client.repository}: ${started.status} ${await errorDetail(started)}`,
    );
  }
  await started.body?.cancel();
  const location = started.headers.get('location');
  if (!location)
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} started an upload without a Location`,
    );
  const target = new URL(location, `${client.endpoint.baseUrl}/v2/${client.repository}/blobs/uploads/`);
  target.searchParams.set('digest', blob.digest);
  const done = await client.request('PUT', target, {
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
    body: () => Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>,
    retry: false,
  });
  if (done.status !== 201) {
    throw new CspecError(
      'CSPEC_REGISTRY_FAILED',
      `${client.endpoint.domain} did not accept blob ${blob.digest} for ${client.repository}: ${done.status} ${await errorDetail(done)}`,
    );
  }
  await done.body?.cancel();
}

export async function uploadBlob(
  client: RegistryClient,
  blob: BlobDescriptor,
  file: string,
  options: UploadOptions = {},
): Promise<'exists' | 'uploaded'> {
  if (await hasBlob(client, blob.digest)) return 'exists';
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      await uploadOnce(client, blob, file);
      return 'uploaded';
    } catch (error) {
      const transient =
        (error as { transient?: boolean }).transient === true ||
        (error as CspecError).code === 'CSPEC_REGISTRY_FAILED';
      if (!transient || attempt >= attempts || options.signal?.aborted) throw error;
      await sleep(250 * 2 ** (attempt - 1), undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}
