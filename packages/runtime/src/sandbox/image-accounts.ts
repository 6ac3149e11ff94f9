/**
 * An image's /etc/passwd and /etc/group, read once per process. Unpacked
 * layers never change (a layer directory is named by its content), so every
 * container of an image resolves its user from the same two files; reading
 * them through the layers is a dozen file system round trips (lstat of each
 * path component and its whiteouts in every layer), a few milliseconds of
 * every start. A container that gets files copied in reads them itself: those
 * may replace either file.
 */
import type { LayeredRoot } from '../snapshot/layered-root.js';

export interface AccountFiles {
  readonly passwd: string;
  readonly group: string;
}

/** Enough for the images of a test run; the oldest entry goes first. */
const MAX_IMAGES = 64;

/** Both files as `root` shows them; a missing file reads as empty. */
export async function readAccountFiles(root: Pick<LayeredRoot, 'readText'>): Promise<AccountFiles> {
  const [passwd, group] = await Promise.all([root.readText('/etc/passwd'), root.readText('/etc/group')]);
  return { passwd: passwd ?? '', group: group ?? '' };
}

export interface AccountFilesCache {
  /** The files of the image made of `layerDirs`, read with `read` the first time only. */
  get(layerDirs: readonly string[], read: () => Promise<AccountFiles>): Promise<AccountFiles>;
}

export function createAccountFilesCache(maxImages = MAX_IMAGES): AccountFilesCache {
  const entries = new Map<string, Promise<AccountFiles>>();
  return {
    get(layerDirs, read) {
      const key = layerDirs.join('\0');
      const found = entries.get(key);
      if (found) return found;
      const reading = read();
      entries.set(key, reading);
      // A failed read is not kept: the next start tries again.
      reading.catch(() => entries.get(key) === reading && entries.delete(key));
      if (entries.size > maxImages) entries.delete(entries.keys().next().value!);
      return reading;
    },
  };
}
