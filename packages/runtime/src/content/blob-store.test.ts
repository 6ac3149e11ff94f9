import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { type BlobStore, createBlobStore } from './blob-store.js';

const digestOf = (data: string | Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let root: string;
let blobs: BlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cspec-blobs-'));
  blobs = createBlobStore(join(root, 'blobs'), join(root, 'tmp'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('blob store', () => {
  it('stores a stream under its sha256 and reads it back', async () => {
    const chunks = ['hello ', 'content-', 'addressed ', 'world'];
    const descriptor = await blobs.ingest(Readable.from(chunks.map((c) => Buffer.from(c))));
    const whole = chunks.join('');
    expect(descriptor).toEqual({ digest: digestOf(whole), size: whole.length });
    expect(await blobs.has(descriptor.digest)).toBe(true);
    expect(blobs.path(descriptor.digest)).toBe(join(root, 'blobs', 'sha256', descriptor.digest.slice(7)));
    expect(await readFile(blobs.path(descriptor.digest), 'utf8')).toBe(whole);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('moves in a file whose digest the caller checked, without a copy', async () => {
    const file = join(root, 'downloaded');
    await writeFile(file, 'downloaded content');
    const blob = { digest: digestOf('downloaded content'), size: 18 };
    expect(await blobs.adoptVerified(file, blob)).toEqual(blob);
    expect(await readFile(blobs.path(blob.digest), 'utf8')).toBe('downloaded content');
    expect(await readdir(root)).not.toContain('downloaded');
  });

  it('stores a file and accepts a matching expected digest', async () => {
    const file = join(root, 'input');
    await writeFile(file, 'file content');
    const descriptor = await blobs.ingest(file, { expectedDigest: digestOf('file content') });
    expect(descriptor.digest).toBe(digestOf('file content'));
    await blobs.delete(descriptor.digest);
    expect(await blobs.has(descriptor.digest)).toBe(false);
  });

  it('stores nothing when the content does not match the expected digest', async () => {
    const expected = digestOf('what the manifest promised');
    const error = await blobs
      .ingest(Readable.from([Buffer.from('what arrived')]), { expectedDigest: expected })
      .catch((e: unknown) => e);
    expect(isCspecError(error)).toBe(true);
    expect((error as Error).message).toContain(`expected ${expected}, got ${digestOf('what arrived')}`);
    expect(await blobs.has(expected)).toBe(false);
    expect(await blobs.has(digestOf('what arrived'))).toBe(false);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('leaves no temp file when the stream fails midway', async () => {
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    await expect(blobs.ingest(Readable.from(failing()))).rejects.toThrow('connection reset');
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'blobs', 'sha256')).catch(() => [])).toEqual([]);
  });

  it('stores JSON documents and reads them back', async () => {
    const value = { schemaVersion: 2, layers: [] };
    const descriptor = await blobs.putJson(value);
    expect(descriptor.digest).toBe(digestOf(JSON.stringify(value)));
    expect(await blobs.readJson(descriptor.digest)).toEqual(value);
    // Idempotent.
    expect(await blobs.putJson(value)).toEqual(descriptor);
  });

  it('rejects malformed digests', () => {
    expect(() => blobs.path('sha256:../../etc/passwd')).toThrow(/not a sha256 digest/);
  });
});
