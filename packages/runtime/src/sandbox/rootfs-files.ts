import { chmod, cp, lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { FileSpec } from '../container/spec.js';
import { CspecError } from '../errors.js';
import type { LayeredRoot } from '../snapshot/layered-root.js';
import { createTreeOwners, type TreeOwners } from '../snapshot/tree-owners.js';

/**
 * Places files into a container's writable layer before it starts. Links in
 * the target's parent directories are followed inside the image (so
 * `/var/run/x` lands in `/run/x` when `/var/run` links there), as `docker cp`
 * does. Missing parent directories are created with the mode and owner they
 * have in the image, as overlay's copy-up would, so the merged view is
 * unchanged. Nothing here follows a link onto the host: copied links are
 * kept verbatim and modes and owners apply to the link itself. Owners are
 * set as tree-owners.ts says (in the user namespace for a rootless engine).
 */
export async function copyFilesIntoUpper(
  upperDir: string,
  image: LayeredRoot,
  files: readonly FileSpec[],
  owners?: TreeOwners,
): Promise<void> {
  const treeOwners = owners ?? (await createTreeOwners());
  await copyFiles(upperDir, image, files, treeOwners);
  await treeOwners.flush();
}

async function copyFiles(
  upperDir: string,
  image: LayeredRoot,
  files: readonly FileSpec[],
  owners: TreeOwners,
): Promise<void> {
  for (const file of files) {
    const requested = posix.normalize(file.target);
    const parent = await image.realPath(posix.dirname(requested), { followLast: true });
    const target = posix.join(parent, posix.basename(requested));
    await ensureParents(upperDir, image, parent, owners);
    const dest = join(upperDir, target);
    // A link a previous file put there is replaced, never written through.
    if ((await lstat(dest).catch(() => undefined))?.isSymbolicLink()) await rm(dest);
    if (file.source !== undefined) {
      try {
        await cp(file.source, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      } catch (error) {
        throw new CspecError(
          'CSPEC_INVALID_SPEC',
          `cannot copy "${file.source}" into the container at ${requested}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    } else {
      const data =
        file.contentBase64 !== undefined ? Buffer.from(file.contentBase64, 'base64') : (file.content ?? '');
      await writeFile(dest, data, { mode: file.mode ?? 0o644 });
    }
    const isLink = (await lstat(dest)).isSymbolicLink();
    // Linux has no mode on links (lchmod does not exist); chmod would change the link's target.
    // Content files get their mode whatever the umask: users inside must be able to read them.
    const mode = file.mode ?? (file.source === undefined ? 0o644 : undefined);
    if (mode !== undefined && !isLink) await chmod(dest, mode);
    if (file.uid !== undefined || file.gid !== undefined)
      await owners.set(dest, { uid: file.uid ?? 0, gid: file.gid ?? 0 });
  }
}

/** `dir` is a path inside the image with no links left in it (see LayeredRoot.realPath). */
async function ensureParents(
  upperDir: string,
  image: LayeredRoot,
  dir: string,
  owners: TreeOwners,
): Promise<void> {
  if (dir === '/' || dir === '.') return;
  if (
    await lstat(join(upperDir, dir)).then(
      () => true,
      () => false,
    )
  )
    return;
  await ensureParents(upperDir, image, posix.dirname(dir), owners);
  const info = (await image.entry(dir))?.stats;
  if (info && !info.isDirectory()) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `cannot copy a file below ${dir}: it is not a directory in the image`,
    );
  }
  const mode = info ? info.mode & 0o7777 : 0o755;
  await mkdir(join(upperDir, dir), { mode });
  // mkdir's mode passes through the umask.
  await chmod(join(upperDir, dir), mode);
  if (info) await owners.set(join(upperDir, dir), owners.fromLayer(info));
}
