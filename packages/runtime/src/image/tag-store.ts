/** Tags: normalized reference -> manifest digest, one small file each, written atomically. */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CspecError } from '../errors.js';
import { writeJsonAtomic } from '../util/atomic-file.js';

export interface TagRecord {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly taggedAt: string;
}

/** A tag file that cannot be read as a tag: `reference` when its text still shows one. */
export interface BrokenTag {
  readonly file: string;
  readonly reference?: string | undefined;
  readonly error: CspecError;
}

export interface TagStore {
  /** The tag, undefined if there is none; a damaged tag file is CSPEC_IMAGE_CORRUPT naming it. */
  get(reference: string): Promise<TagRecord | undefined>;
  set(reference: string, manifestDigest: string): Promise<void>;
  /** Removes the tag file (also a damaged one); false if there was none. */
  remove(reference: string): Promise<boolean>;
  /** The readable tags. */
  list(): Promise<TagRecord[]>;
  /** The readable tags and the damaged tag files. */
  scan(): Promise<{ records: TagRecord[]; broken: BrokenTag[] }>;
  /** Removes a tag file by its path (repair of a damaged one). */
  removeFile(file: string): Promise<void>;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function damaged(file: string, why: string, cause?: unknown): CspecError {
  return new CspecError('CSPEC_IMAGE_CORRUPT', `the tag file ${file} is damaged: ${why}`, {
    hint: 'remove the tag (cspec image rm REFERENCE, or cspec image check --repair), then pull, load or build the image again',
    cause,
  });
}

/** Parses one tag file; throws CSPEC_IMAGE_CORRUPT naming it, or undefined when it does not exist. */
async function readTag(file: string): Promise<TagRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: Partial<TagRecord>;
  try {
    value = JSON.parse(text) as Partial<TagRecord>;
  } catch (error) {
    throw damaged(file, `it is not JSON (${(error as Error).message})`, error);
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.reference !== 'string' ||
    typeof value.manifestDigest !== 'string' ||
    !DIGEST.test(value.manifestDigest)
  ) {
    throw damaged(file, 'it has no reference and sha256 manifest digest');
  }
  return { reference: value.reference, manifestDigest: value.manifestDigest, taggedAt: value.taggedAt ?? '' };
}

export function createTagStore(root: string): TagStore {
  const file = (reference: string) =>
    join(root, `${createHash('sha256').update(reference).digest('hex').slice(0, 32)}.json`);
  const store: TagStore = {
    get: (reference) => readTag(file(reference)),
    async set(reference, manifestDigest) {
      await mkdir(root, { recursive: true });
      await writeJsonAtomic(file(reference), {
        reference,
        manifestDigest,
        taggedAt: new Date().toISOString(),
      });
    },
    async remove(reference) {
      const existed = await stat(file(reference)).then(
        () => true,
        () => false,
      );
      await rm(file(reference), { force: true });
      return existed;
    },
    async list() {
      return (await store.scan()).records;
    },
    async scan() {
      let names: string[];
      try {
        names = (await readdir(root)).filter((n) => n.endsWith('.json'));
      } catch {
        return { records: [], broken: [] };
      }
      const records: TagRecord[] = [];
      const broken: BrokenTag[] = [];
      for (const name of names.sort()) {
        const path = join(root, name);
        try {
          const record = await readTag(path);
          if (record) records.push(record);
        } catch (error) {
          const text = await readFile(path, 'utf8').catch(() => '');
          const reference = /"reference"\s*:\s*"([^"]+)"/.exec(text)?.[1];
          const cause = error instanceof CspecError ? error : damaged(path, String(error), error);
          broken.push({ file: path, reference, error: cause });
        }
      }
      return { records, broken };
    },
    async removeFile(path) {
      await rm(path, { force: true });
    },
  };
  return store;
}
