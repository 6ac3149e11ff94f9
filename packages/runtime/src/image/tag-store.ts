/** Tags: normalized reference -> manifest digest, one small file each, written atomically. */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';

export interface TagRecord {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly taggedAt: string;
}

export interface TagStore {
  get(reference: string): Promise<TagRecord | undefined>;
  set(reference: string, manifestDigest: string): Promise<void>;
  remove(reference: string): Promise<boolean>;
  list(): Promise<TagRecord[]>;
}

export function createTagStore(root: string): TagStore {
  const file = (reference: string) =>
    join(root, `${createHash('sha256').update(reference).digest('hex').slice(0, 32)}.json`);
  return {
    get: (reference) => readJsonIfExists<TagRecord>(file(reference)),
    async set(reference, manifestDigest) {
      await mkdir(root, { recursive: true });
      await writeJsonAtomic(file(reference), {
        reference,
        manifestDigest,
        taggedAt: new Date().toISOString(),
      });
    },
    async remove(reference) {
      const existed = (await readJsonIfExists(file(reference))) !== undefined;
      await rm(file(reference), { force: true });
      return existed;
    },
    async list() {
      let names: string[];
      try {
        names = (await readdir(root)).filter((n) => n.endsWith('.json'));
      } catch {
        return [];
      }
      const records = await Promise.all(
        names.map((n) => readJsonIfExists<TagRecord>(join(root, n)).catch(() => undefined)),
      );
      return records.filter((r): r is TagRecord => r !== undefined);
    },
  };
}
