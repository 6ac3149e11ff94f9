/**
 * Content-addressed blobs (manifests, configs, layer archives) under
 * `blobs/sha256/<hex>`. A blob is hashed while it is written to a temporary
 * file, fsynced, verified, and only then renamed into place: readers never
 * see a partial blob, and a blob's name always matches its content.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CspecError } from '../errors.js';
import { tempPath } from '../util/temp-path.js';

export interface Descriptor {
  readonly digest: string;
  readonly size: number;
}

export interface BlobStore {
  /** Stores a stream (or a file) and returns its digest; with `expectedDigest`, a mismatch stores nothing. */
  ingest(source: Readable | string, options?: { readonly expectedDigest?: string }): Promise<Descriptor>;
  /**
   * Moves in a file whose digest the caller has checked already (a download hashed as it arrived):
   * fsynced, then renamed, with no second copy. A file on another file system is copied (and hashed
   * again). The file is consumed either way.
   */
  adoptVerified(file: string, blob: Descriptor): Promise<Descriptor>;
  putJson(value: unknown): Promise<Descriptor>;
  has(digest: string): Promise<boolean>;
  path(digest: string): string;
  readJson<T>(digest: string): Promise<T>;
  delete(digest: string): Promise<void>;
}

const DIGEST = /^sha256:([a-f0-9]{64})$/;

function hexOf(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new CspecError('CSPEC_INTERNAL', `not a sha256 digest: ${digest}`);
  return match[1]!;
}

export function createBlobStore(root: string, tmpDir: string): BlobStore {
  const dir = join(root, 'sha256');
  const path = (digest: string) => join(dir, hexOf(digest));

  const commit = async (tmp: string, hash: string, size: number, expected?: string): Promise<Descriptor> => {
    const digest = `sha256:${hash}`;
    if (expected !== undefined && expected !== digest) {
      await rm(tmp, { force: true });
      throw new CspecError(
        'CSPEC_IMAGE_BUILD_FAILED',
        `content does not match its digest: expected ${expected}, got ${digest} — the source is corrupt; nothing was stored`,
      );
    }
    await mkdir(dir, { recursive: true });
    await rename(tmp, path(digest));
    return { digest, size };
  };

  const store: BlobStore = {
    async ingest(source, options = {}) {
      await mkdir(tmpDir, { recursive: true });
      const tmp = tempPath(tmpDir, 'blob');
      const hash = createHash('sha256');
      let size = 0;
      try {
        const input = typeof source === 'string' ? createReadStream(source) : source;
        const out = createWriteStream(tmp, { flags: 'wx' });
        await pipeline(
          input,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk);
              size += chunk.length;
              yield chunk;
            }
          },
          out,
        );
        const handle = await open(tmp, 'r');
        await handle.sync();
        await handle.close();
        return await commit(tmp, hash.digest('hex'), size, options.expectedDigest);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async adoptVerified(file, blob) {
      hexOf(blob.digest);
      try {
        const handle = await open(file, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await mkdir(dir, { recursive: true });
        await rename(file, path(blob.digest));
        return { digest: blob.digest, size: blob.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') {
          await rm(file, { force: true });
          throw error;
        }
      }
      try {
        return await store.ingest(file, { expectedDigest: blob.digest });
      } finally {
        await rm(file, { force: true });
      }
    },
    async putJson(value) {
      const bytes = Buffer.from(JSON.stringify(value));
      const hex = createHash('sha256').update(bytes).digest('hex');
      const digest = `sha256:${hex}`;
      if (await store.has(digest)) return { digest, size: bytes.length };
      await mkdir(tmpDir, { recursive: true });
      const tmp = tempPath(tmpDir, 'json');
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return commit(tmp, hex, bytes.length);
    },
    async has(digest) {
      try {
        await stat(path(digest));
        return true;
      } catch {
        return false;
      }
    },
    path,
    async readJson<T>(digest: string) {
      return JSON.parse(await readFile(path(digest), 'utf8')) as T;
    },
    async delete(digest) {
      await rm(path(digest), { force: true });
    },
  };
  return store;
}
