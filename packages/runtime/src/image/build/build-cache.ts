/**
 * Which image a build step made before: cache key (a digest of the parent
 * image, the instruction and everything it reads) -> manifest digest. One
 * small file per key, written atomically; an entry whose image is gone
 * (pruned) is a miss, never an error.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../../util/atomic-file.js';

export function cacheKey(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.length}:${part}\n`);
  return hash.digest('hex');
}

export interface BuildCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, manifestDigest: string): Promise<void>;
}

export function createBuildCache(dir: string): BuildCache {
  return {
    async get(key) {
      return (await readJsonIfExists<{ manifestDigest: string }>(join(dir, `${key}.json`)))?.manifestDigest;
    },
    async set(key, manifestDigest) {
      await mkdir(dir, { recursive: true });
      await writeJsonAtomic(join(dir, `${key}.json`), { manifestDigest });
    },
  };
}
