import { chmod, chown, cp, lstat, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import type { FileSpec } from '../container/spec.js';
import { CspecError } from '../errors.js';
import type { LayeredRoot } from '../snapshot/layered-root.js';

/**
 * Places files into a container's writable layer before it starts. Missing
 * parent directories are created with the mode and owner they have in the
 * image, as overlay's copy-up would, so the merged view is unchanged.
 */
export async function copyFilesIntoUpper(
  upperDir: string,
  image: LayeredRoot,
  files: readonly FileSpec[],
): Promise<void> {
  for (const file of files) {
    const target = posix.normalize(file.target);
    await ensureParents(upperDir, image, dirname(target));
    const dest = join(upperDir, target);
    if (file.source !== undefined) {
      try {
        await cp(file.source, dest, { recursive: true, preserveTimestamps: true });
      } catch (error) {
        throw new CspecError(
          'CSPEC_INVALID_SPEC',
          `cannot copy "${file.source}" into the container at ${target}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    } else {
      const data =
        file.contentBase64 !== undefined ? Buffer.from(file.contentBase64, 'base64') : (file.content ?? '');
      await writeFile(dest, data, { mode: file.mode ?? 0o644 });
    }
    if (file.mode !== undefined) await chmod(dest, file.mode);
    if (file.uid !== undefined || file.gid !== undefined) await chown(dest, file.uid ?? 0, file.gid ?? 0);
  }
}

async function ensureParents(upperDir: string, image: LayeredRoot, dir: string): Promise<void> {
  if (dir === '/' || dir === '.') return;
  try {
    await lstat(join(upperDir, dir));
    return;
  } catch {
    // create it below
  }
  await ensureParents(upperDir, image, dirname(dir));
  const original = await image.locate(dir);
  const info = original ? await stat(original) : undefined;
  if (info && !info.isDirectory()) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `cannot copy a file below ${dir}: it is not a directory in the image`,
    );
  }
  await mkdir(join(upperDir, dir), { mode: info ? info.mode & 0o7777 : 0o755 });
  if (info) {
    await chmod(join(upperDir, dir), info.mode & 0o7777);
    await chown(join(upperDir, dir), info.uid, info.gid);
  }
}
