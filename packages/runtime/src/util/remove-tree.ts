import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { createDebug } from '../debug.js';
import { unescapeMountPath } from './mountinfo.js';

const run = promisify(execFile);
const debug = createDebug('cspec:fs');

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const point = unescapeMountPath(field);
    if (point === root || point.startsWith(`${root}/`)) found.push(point);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * Removes a directory tree that a killed tool may have left with file systems
 * mounted inside (debootstrap mounts proc and sysfs in its target): those are
 * detached first, so the removal never descends into a mounted file system.
 * For a user (rootless), what the user may not remove — files of its
 * subordinate ids, unwritable directories — is removed inside its user
 * namespace (rootless/process-namespace.ts).
 */
export async function removeTree(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    debug('unmounting %s left under %s', point, dir);
    await run('umount', ['--lazy', point]);
  }
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    if (!deniedToUser(error)) throw error;
    // A rootless engine's layers and containers hold files of the user's subordinate ids (and
    // directories without write permission): the user's namespace root may remove them.
    debug('removing %s as root of the user namespace: %s', dir, (error as Error).message);
    const { processUserNamespace } = await import('../rootless/process-namespace.js');
    const ns = await processUserNamespace();
    await ns.run(['rm', '-rf', '--one-file-system', '--', resolve(dir)]);
  }
}

/** A removal the kernel refused to a user (not root): what its user namespace's root may do. */
function deniedToUser(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (code === 'EACCES' || code === 'EPERM') && process.getuid?.() !== 0;
}
