/**
 * A rootless container's changes, read as root of the engine's user
 * namespace by a helper process (upper-main.ts): its upper directory holds
 * files of the user's subordinate ids (a Postgres data directory: 0700,
 * 0600), which the user itself cannot read, and marks opaque directories
 * with `user.overlay.opaque`.
 */
import { PassThrough, type Readable } from 'node:stream';
import { CspecError } from '../errors.js';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { spawnInNamespace } from './namespace-helper.js';
import type { Change } from './upper-changes.js';

function failed(what: string, code: number | null, stderr: string): CspecError {
  return new CspecError(
    'CSPEC_INTERNAL',
    `${what} as root of the user namespace failed (exit ${code}): ${stderr.trim() || 'no output'}`,
    { hint: 'run with DEBUG=cspec:* and report it' },
  );
}

/** The upper directory as an image layer tar (upper-tar.ts); the stream fails unless the whole tar was written. */
export function upperTarInNamespace(ns: UserNamespace, nodePath: string, upper: string): Readable {
  const child = spawnInNamespace(ns, nodePath, 'upper-main', { op: 'tar', upper });
  child.stdin.end();
  const out = new PassThrough();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout.pipe(out, { end: false });
  // A reader that stops early ends the helper too.
  out.once('close', () => child.kill('SIGKILL'));
  child.once('error', (error) => out.destroy(failed(`reading ${upper}`, -1, error.message)));
  child.once('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(failed(`reading the changes in ${upper}`, code, stderr));
  });
  return out;
}

/** `docker diff` of the upper directory over `lowerDirs` (lowest first), as changesOf. */
export async function changesInNamespace(
  ns: UserNamespace,
  nodePath: string,
  upper: string,
  lowerDirs: readonly string[],
): Promise<Change[]> {
  const child = spawnInNamespace(ns, nodePath, 'upper-main', { op: 'changes', upper, lowerDirs });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      stderr += error.message;
      resolve(-1);
    });
    child.once('close', resolve);
  });
  if (code !== 0) throw failed(`reading the changes in ${upper}`, code, stderr);
  return JSON.parse(stdout) as Change[];
}
