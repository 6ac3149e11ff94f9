/**
 * Blob uploads: `HEAD` tells whether the repository has a blob; an upload
 * `POST`s an upload session and `PUT`s the whole blob to its Location with
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
  /** Called as the blob is sent, with the count so far. */
  readonly onBytes?: (sent: number) => void;
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

/** The file as a request body, counting what is read. */
function countedBody(file: string, onBytes: ((sent: number) => void) | undefined) {
  let sent = 0;
  const stream = createReadStream(file);
  if (onBytes) {
    stream.on('data', (chunk) => {
      sent += chunk.length;
      onBytes(sent);
    });
  }
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

async function uploadOnce(
  client: RegistryClient,
  blob: BlobDescriptor,
  file: string,
  onBytes: ((sent: number) => void) | undefined,
): Promise<void> {
  const started = await client.request('POST', 'blobs/uploads/', {
    headers: { 'content-length': '0' },
    retry: true,
  });
  if (started.status !== 202) {
    throw Object.assign(
      new CspecError(
        'CSPEC_REGISTRY_FAILED',
        `${client.endpoint.domain} refused to start an upload to ${client.repository}: ${started.status} ${await errorDetail(started)}`,
      ),
      { transient: started.status >= 500 },
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
    body: () => countedBody(file, onBytes),
    retry: false,
  });
  if (done.status !== 201) {
    throw Object.assign(
      new CspecError(
        'CSPEC_REGISTRY_FAILED',
        `${client.endpoint.domain} did not accept blob ${blob.digest} for ${client.repository}: ${done.status} ${await errorDetail(done)}`,
      ),
      { transient: done.status >= 500 },
    );
  }
  await done.body?.cancel();
}

export async function uploadBlob(
  client: RegistryClient,
  blob: BlobDescriptor,
  file: string,
  options: UploadOptions = {},
): Promise<void> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      await uploadOnce(client, blob, file, options.onBytes);
      return;
    } catch (error) {
      // Network failures and 5xx: the upload starts over; a refusal (4xx) is final.
      const transient = (error as { transient?: boolean }).transient === true;
      if (!transient || attempt >= attempts || options.signal?.aborted) throw error;
      await sleep(250 * 2 ** (attempt - 1), undefined, options.signal ? { signal: options.signal } : {});
    }
  }
}
