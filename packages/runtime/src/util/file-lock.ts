/**
 * An exclusive lock between processes: a file holding `pid starttime token`
 * (starttime = field 22 of /proc/<pid>/stat, so a recycled pid is never taken
 * for the holder). The file is created complete and exclusively: its content
 * is written to a private temp file that is then hard-linked to the lock path
 * (link(2) fails with EEXIST exactly like O_CREAT|O_EXCL, and no reader ever
 * sees an empty lock). A lock whose holder died (or, optionally, that is older
 * than `staleMs`) is taken over, so a killed process never blocks the next
 * one. Waiters poll with a short back-off.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDebug } from '../debug.js';
import { abortError, CspecError } from '../errors.js';
import { writeFileExclusive } from './atomic-file.js';
import { currentProcessIdentity, isProcessAlive } from './process-identity.js';

const debug = createDebug('cspec:lock');

export interface FileLockOptions {
  /** Give up waiting after this long. @default no limit */
  readonly timeoutMs?: number;
  /** A lock held longer than this is considered abandoned, even if its holder lives. @default no limit */
  readonly staleMs?: number;
  /** Longest pause between attempts; the back-off starts at 1 ms. @default 20 */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** Releases the lock; does nothing if another process has taken it over meanwhile. */
export type ReleaseFileLock = () => Promise<void>;

function ownContent(): string {
  const me = currentProcessIdentity();
  return `${me.pid} ${me.startTime} ${randomBytes(6).toString('hex')}\n`;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function holderAlive(content: string): boolean {
  const [pid, startTime] = content.trim().split(' ');
  if (!pid || !startTime || !/^\d+$/.test(pid)) return false;
  return isProcessAlive({ pid: Number(pid), startTime });
}

async function isAbandoned(path: string, content: string, staleMs: number | undefined): Promise<boolean> {
  if (!holderAlive(content)) return true;
  if (staleMs === undefined) return false;
  try {
    return Date.now() - (await stat(path)).mtimeMs > staleMs;
  } catch {
    return false;
  }
}

/**
 * Removes the abandoned lock at `path` if it still holds `seen`. Two waiters
 * may find the same dead holder; a short guard lock makes sure only one of
 * them removes it, so the second cannot delete the lock the first has just
 * taken. A guard whose holder died is removed (that needs a second process to
 * die inside this few-microsecond section to go wrong).
 */
async function breakLock(path: string, seen: string): Promise<void> {
  const guard = `${path}.takeover`;
  const mine = ownContent();
  if (!(await writeFileExclusive(guard, mine))) {
    const holder = await readIfExists(guard);
    if (holder !== undefined && !holderAlive(holder)) await rm(guard, { force: true });
    return;
  }
  try {
    if ((await readIfExists(path)) === seen) {
      debug('taking over abandoned lock %s (held by %s)', path, seen.trim());
      await rm(path, { force: true });
    }
  } finally {
    if ((await readIfExists(guard)) === mine) await rm(guard, { force: true });
  }
}

/** Waits for the lock at `path`; resolves with a function that releases it. */
export async function acquireFileLock(path: string, options: FileLockOptions = {}): Promise<ReleaseFileLock> {
  const deadline =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  const mine = ownContent();
  let delayMs = 1;
  for (;;) {
    if (options.signal?.aborted) throw abortError(options.signal, `waiting for the lock ${path}`);
    if (await writeFileExclusive(path, mine)) {
      return async () => {
        if ((await readIfExists(path)) === mine) await rm(path, { force: true });
        else debug('lock %s was taken over before release', path);
      };
    }
    const seen = await readIfExists(path);
    if (seen === undefined) continue;
    if (await isAbandoned(path, seen, options.staleMs)) {
      await breakLock(path, seen);
      continue;
    }
    if (Date.now() > deadline) {
      throw new CspecError(
        'CSPEC_INTERNAL',
        `timed out waiting for the lock ${path} (held by ${seen.trim()})`,
        {
          hint: `if no cspec process is running, remove ${path}`,
        },
      );
    }
    try {
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined);
    } catch (error) {
      if (options.signal?.aborted) throw abortError(options.signal, `waiting for the lock ${path}`);
      throw error;
    }
    delayMs = Math.min(delayMs * 2, options.pollMs ?? 20);
  }
}

export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const release = await acquireFileLock(path, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}
