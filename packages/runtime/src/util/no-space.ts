/**
 * A full disk (ENOSPC, or EDQUOT for a quota) reported as what it is: one
 * CSPEC_NO_SPACE naming the directory, the space the operation needed where
 * it is known, and what is free there — not a crash, not "a damaged archive".
 */
import { statfs } from 'node:fs/promises';
import { CspecError } from '../errors.js';

const NO_SPACE = /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i;

/** Whether `error` (or anything in its `cause` chain) is a full disk or an exhausted quota. */
export function isNoSpace(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (typeof e !== 'object') return false;
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (code === 'CSPEC_NO_SPACE' || code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (typeof message === 'string' && NO_SPACE.test(message)) return true;
    e = cause;
  }
  return false;
}

/** The file a failed system call named, if any error in the chain says. */
function writtenPath(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    const { path, cause } = e as { path?: unknown; cause?: unknown };
    if (typeof path === 'string') return path;
    e = cause;
  }
  return undefined;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * The CSPEC_NO_SPACE error for `what` failing in `dir`. `neededBytes` is what
 * the operation writes there (e.g. an archive's size; unpacking takes about as much again).
 */
export async function noSpaceError(
  what: string,
  dir: string,
  cause: unknown,
  neededBytes?: number,
): Promise<CspecError> {
  if (cause instanceof CspecError && cause.code === 'CSPEC_NO_SPACE') return cause;
  const free = await statfs(dir).then(
    (s) => s.bavail * s.bsize,
    () => undefined,
  );
  const needs = neededBytes === undefined ? '' : `; it needs about ${mb(neededBytes)}`;
  const path = writtenPath(cause);
  const has = free === undefined ? '' : `, ${mb(free)} is free there`;
  const at = path === undefined || path.startsWith(`${dir}/`) || path === dir ? '' : ` (writing ${path})`;
  return new CspecError('CSPEC_NO_SPACE', `${what} failed: no space left in ${dir}${at}${needs}${has}`, {
    hint: `free space on the file system of ${dir} (cspec image prune removes unused image content; cspec system df shows what images use), or point CSPEC_DATA_DIR at a larger disk, then try again`,
    cause,
  });
}
