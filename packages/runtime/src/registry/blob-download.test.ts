import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadBlob } from './blob-download.js';
import type { RegistryClient } from './registry-client.js';

const MiB = 1024 * 1024;

/** A client whose blob answers come from `respond`, called once per request with its range header. */
function fakeClient(respond: (range: string | undefined) => Response) {
  const ranges: (string | undefined)[] = [];
  const client = {
    endpoint: { domain: 'registry.test' },
    repository: 'test/blob',
    async request(_method: string, _path: string | URL, options: { headers?: Record<string, string> } = {}) {
      ranges.push(options.headers?.range);
      return respond(options.headers?.range);
    },
  } as unknown as RegistryClient;
  return { client, ranges };
}

/** A body of `bytes` in 16 KiB chunks that breaks off after `breakAfter` bytes, if given. */
function body(bytes: Buffer, breakAfter = bytes.length): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= breakAfter) {
        if (breakAfter < bytes.length)
          controller.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
        else controller.close();
        return;
      }
      const end = Math.min(at + 16 * 1024, breakAfter);
      controller.enqueue(new Uint8Array(bytes.subarray(at, end)));
      at = end;
    },
  });
}

describe('downloadBlob', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-download-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const blobOf = (bytes: Buffer) => ({
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
  });

  it('resumes after a break with every byte written once, across its write batches', async () => {
    const bytes = Buffer.from(Array.from({ length: 3 * MiB + 123 }, (_, i) => (i * 7) % 251));
    const { client, ranges } = fakeClient((range) => {
      if (!range) return new Response(body(bytes, 2 * MiB + 5000), { status: 200 });
      const from = Number(/bytes=(\d+)-/.exec(range)![1]);
      return new Response(body(bytes.subarray(from)), { status: 206 });
    });
    const file = join(dir, 'blob');
    await downloadBlob(client, blobOf(bytes), file, { backoffMs: 1 });
    expect(ranges).toEqual([undefined, `bytes=${2 * MiB + 5000}-`]);
    expect((await readFile(file)).equals(bytes)).toBe(true);
  });

  it('does not resume after the local file refused a write (the bytes are hashed already)', async () => {
    const bytes = Buffer.alloc(2 * MiB, 1);
    const { client, ranges } = fakeClient(() => new Response(body(bytes), { status: 200 }));
    const error = await downloadBlob(client, blobOf(bytes), '/dev/full', { backoffMs: 1 }).catch(
      (e: unknown) => e,
    );
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(ranges).toEqual([undefined]);
  });
});
