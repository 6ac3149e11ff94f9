import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readStartTime } from './process-identity.js';

/** `<path>.<pid>.<8 hex>.tmp`: the writer's pid tells a write in progress from an abandoned one. */
const TEMP_SUFFIX = /\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function tempFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Removes the temp files of the writers below that a killed process left in
 * `dir` (it was killed between the write and the rename or link). A temp file
 * whose writer still runs is kept: its write may be in progress.
 */
export async function removeAbandonedWrites(dir: string): Promise<number> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const entry of entries) {
    const pid = TEMP_SUFFIX.exec(entry)?.[1];
    if (pid === undefined || readStartTime(Number(pid)) !== undefined) continue;
    await rm(join(dir, entry), { force: true });
    removed++;
  }
  return removed;
}

/**
 * Writes via a temp file and rename, so readers see the old or the new content, never a mix.
 * The file is the owner's only (0600): cspec's state is nobody else's business.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempFor(path);
  try {
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Creates `path` with `content` only if it does not exist yet. The content is
 * written to a temp file that is hard-linked into place: link(2) fails with
 * EEXIST exactly like O_EXCL, and no reader ever sees the file half-written.
 * Resolves false when the file already existed.
 */
export async function writeFileExclusive(path: string, content: string): Promise<boolean> {
  const tmp = tempFor(path);
  await writeFile(tmp, content, { flag: 'wx', mode: 0o600 });
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(tmp, { force: true });
  }
}
