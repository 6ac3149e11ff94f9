/**
 * Downloads one blob to a file, hashing it on the way. A connection that
 * breaks mid-blob is resumed where it stopped (`Range: bytes=N-`; a server
 * that ignores the range sends it whole again and the file starts over),
 * with the same back-off as other requests. The digest and size are checked
 * before the caller stores anything.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import { isTransient, unreachable } from './network-failure.js';
import { errorDetail, type RegistryClient } from './registry-client.js';

const debug = createDebug('cspec:registry');

export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
}

export interface DownloadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called as bytes arrive, with the count so far. */
  readonly onBytes?: (received: number) => void;
  /** Called when the file holds the first `bytes` bytes of the blob (they may still turn out wrong). */
  readonly onWritten?: (bytes: number) => void;
  /** Attempts (first try and resumes) before giving up. @default 5 */
  readonly attempts?: number;
  /** @default 250 */
  readonly backoffMs?: number;
  /** A connection that delivers nothing for this long is dropped and resumed. @default 60_000 */
  readonly idleTimeoutMs?: number;
}

/** Bytes gathered from the response before one write: a response arrives in chunks of a few KiB. */
const WRITE_BATCH = 1024 * 1024;

/** Aborts when `touch()` has not been called for `ms`. */
function idleWatch(ms: number) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${ms / 1000} s`)), ms);
  };
  touch();
  return { signal: controller.signal, touch, stop: () => clearTimeout(timer) };
}

export async function downloadBlob(
  client: RegistryClient,
  blob: BlobDescriptor,
  file: string,
  options: DownloadOptions = {},
): Promise<void> {
  const attempts = options.attempts ?? 5;
  const backoffMs = options.backoffMs ?? 250;
  const handle = await open(file, 'w');
  let hash: Hash = createHash('sha256');
  let received = 0;
  // Received (and hashed) but not yet written: they end at `received`.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunks = pending;
    const at = received - pendingBytes;
    pending = [];
    pendingBytes = 0;
    try {
      await handle.writev(chunks, at);
      options.onWritten?.(at + chunks.reduce((n, c) => n + c.length, 0));
    } catch (error) {
      // Those bytes are hashed already: a resume after them would leave a hole the digest cannot see.
      throw Object.assign(error as Error, { localWriteFailed: true });
    }
  };
  try {
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      const idle = idleWatch(options.idleTimeoutMs ?? 60_000);
      try {
        const headers: Record<string, string> = received > 0 ? { range: `bytes=${received}-` } : {};
        const res = await client.request('GET', `blobs/${blob.digest}`, { headers, signal: idle.signal });
        if (res.status === 200 && received > 0) {
          debug('%s: the server ignored the range, starting over', blob.digest);
          hash = createHash('sha256');
          received = 0;
          await handle.truncate(0);
        } else if (res.status !== 200 && !(res.status === 206 && received > 0)) {
          const detail = await errorDetail(res);
          throw new CspecError(
            res.status === 404 ? 'CSPEC_IMAGE_NOT_FOUND' : 'CSPEC_REGISTRY_FAILED',
            `${client.endpoint.domain} answered ${res.status} for blob ${blob.digest} of ${client.repository}: ${detail}`,
          );
        }
        if (!res.body)
          throw new CspecError('CSPEC_REGISTRY_FAILED', `blob ${blob.digest} came without a body`);
        try {
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            if (received + chunk.length > blob.size) {
              throw new CspecError(
                'CSPEC_REGISTRY_FAILED',
                `blob ${blob.digest} of ${client.repository} is larger than the ${blob.size} bytes its manifest says`,
              );
            }
            idle.touch();
            hash.update(chunk);
            pending.push(chunk);
            pendingBytes += chunk.length;
            received += chunk.length;
            if (pendingBytes >= WRITE_BATCH) await flush();
            options.onBytes?.(received);
          }
          await flush();
        } catch (error) {
          // What arrived before a break is kept: a resume starts after it.
          await flush();
          if (
            isCspecError(error) ||
            options.signal?.aborted ||
            (error as { localWriteFailed?: boolean }).localWriteFailed
          )
            throw error;
          // The body broke off (or stalled): a network failure, resumable.
          const cause = idle.signal.aborted ? idle.signal.reason : error;
          throw Object.assign(unreachable(client.endpoint.domain, client.endpoint.domain, cause), {
            transient: isTransient(error),
          });
        }
        idle.stop();
        if (received < blob.size) {
          throw Object.assign(
            new CspecError(
              'CSPEC_REGISTRY_UNREACHABLE',
              `blob ${blob.digest} ended after ${received} of ${blob.size} bytes`,
            ),
            { transient: true },
          );
        }
        break;
      } catch (error) {
        idle.stop();
        const transient = (error as { transient?: boolean }).transient === true;
        if (!transient || attempt >= attempts || options.signal?.aborted) throw error;
        debug(
          '%s: %s; resuming at byte %d (attempt %d of %d)',
          blob.digest,
          (error as Error).message,
          received,
          attempt,
          attempts,
        );
        await sleep(
          backoffMs * 2 ** (attempt - 1),
          undefined,
          options.signal ? { signal: options.signal } : {},
        );
      }
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== blob.digest) {
      throw new CspecError(
        'CSPEC_REGISTRY_FAILED',
        `blob ${blob.digest} of ${client.endpoint.domain}/${client.repository} does not match its digest (the content hashes to ${digest}); nothing was stored`,
        {
          hint: 'the registry, a proxy or the network corrupted it; try again, and report it to the registry owner if it persists',
        },
      );
    }
  } finally {
    await handle.close();
  }
}
