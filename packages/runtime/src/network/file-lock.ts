/**
 * A short exclusive lock: a file created with O_EXCL that holds the owner's
 * pid. Meant for critical sections of a few file operations, never for slow
 * work. A lock whose owner died, or that is older than `staleMs`, is broken.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CspecError } from '../errors.js';

export interface FileLockOptions {
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /** A lock held longer than this is considered abandoned. @default 30_000 */
  readonly staleMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(text, 10);
    if (Date.now() - info.mtimeMs > staleMs) return true;
    // An empty file is a lock being written right now.
    return Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let delayMs = 1;
  for (;;) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await isStale(path, options.staleMs ?? 30_000)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CspecError('CSPEC_NETWORK_FAILED', `timed out waiting for the lock ${path}`, {
        hint: `if no cspec process is running, remove ${path}`,
      });
    }
    await sleep(delayMs);
    delayMs = Math.min(delayMs * 2, 20);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
