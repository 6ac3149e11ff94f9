import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readStartTime } from './process-identity.js';
import { removeTree } from './remove-tree.js';

/**
 * Temporary entries carry their creator's pid and start time in their name,
 * so whatever a killed process left half-written is recognised and removed,
 * and never trusted.
 */
export function tempName(label: string): string {
  return `${process.pid}_${readStartTime(process.pid) ?? '0'}_${randomBytes(6).toString('hex')}_${label}`;
}

export function tempPath(dir: string, label: string): string {
  return join(dir, tempName(label));
}

/** Removes entries of `dir` whose creating process is gone (and anything not named by `tempName`). */
export async function removeAbandonedTemps(dir: string): Promise<number> {
  let removed = 0;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const [pid, start] = entry.split('_');
    if (pid && start && readStartTime(Number(pid)) === start) continue;
    await removeTree(join(dir, entry));
    removed++;
  }
  return removed;
}
