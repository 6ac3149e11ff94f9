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
  ingest(source: Readable | string, options?: IngestOptions): Promise<Descriptor>;
  /**
   * Moves in a file whose digest the caller has checked already (a download hashed as it arrived):
   * fsynced, then renamed, with no second copy. A file on another file system is copied (and hashed
   * again). The file is consumed either way.
   */
  adoptVerified(file: string, blob: Descriptor): Promise<Descriptor>;
  putJson(value: unknown, options?: Pick<IngestOptions, 'onCreated'>): Promise<Descriptor>;
  has(digest: string): Promise<boolean>;
  path(digest: string): string;
  /** Parses a JSON blob; a missing or unparsable one is CSPEC_IMAGE_CORRUPT naming its file. */
  readJson<T>(digest: string): Promise<T>;
  /** Hashes the stored blob again: its actual digest, or undefined if it is not here. */
  digestOf(digest: string): Promise<string | undefined>;
  delete(digest: string): Promise<void>;
}

export interface IngestOptions {
  /** A mismatch stores nothing. */
  readonly expectedDigest?: string;
  /** Called when this call put the blob in place (it was not stored before), so a failed operation can take it back. */
  readonly onCreated?: (digest: string) => void;
}

/** The repair for a damaged store, for error hints. */
export const STORE_REPAIR = 'cspec image check --repair';

const DIGEST = /^sha256:([a-f0-9]{64})$/;

function hexOf(digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match) throw new CspecError('CSPEC_INTERNAL', `not a sha256 digest: ${digest}`);
  return match[1]!;
}

export function createBlobStore(root: string, tmpDir: string): BlobStore {
  const dir = join(root, 'sha256');
  const path = (digest: string) => join(dir, hexOf(digest));

  const commit = async (
    tmp: string,
    hash: string,
    size: number,
    expected?: string,
    onCreated?: (digest: string) => void,
  ): Promise<Descriptor> => {
    const digest = `sha256:${hash}`;
    if (expected !== undefined && expected !== digest) {
      await rm(tmp, { force: true });
      throw new CspecError(
        'CSPEC_IMAGE_BUILD_FAILED',
        `content does not match its digest: expected ${expected}, got ${digest} — the source is corrupt; nothing was stored`,
      );
    }
    await mkdir(dir, { recursive: true });
    const existed = onCreated !== undefined && (await store.has(digest));
    await rename(tmp, path(digest));
    if (onCreated !== undefined && !existed) onCreated(digest);
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
        return await commit(tmp, hash.digest('hex'), size, options.expectedDigest, options.onCreated);
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
    async putJson(value, options = {}) {
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
      return commit(tmp, hex, bytes.length, undefined, options.onCreated);
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
      const file = path(digest);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw new CspecError('CSPEC_IMAGE_CORRUPT', `the stored blob ${file} (${digest}) is missing`, {
          hint: `run: ${STORE_REPAIR}`,
          cause: error,
        });
      }
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new CspecError(
          'CSPEC_IMAGE_CORRUPT',
          `the stored blob ${file} (${digest}) is damaged: it is not JSON (${(error as Error).message})`,
          { hint: `run: ${STORE_REPAIR}`, cause: error },
        );
      }
    },
    async digestOf(digest) {
      const hash = createHash('sha256');
      try {
        for await (const chunk of createReadStream(path(digest))) hash.update(chunk as Buffer);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      return `sha256:${hash.digest('hex')}`;
    },
    async delete(digest) {
      await rm(path(digest), { force: true });
    },
  };
  return store;
}
