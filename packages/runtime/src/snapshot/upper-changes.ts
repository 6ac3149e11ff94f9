/**
 * What a container changed: the entries of its overlay upper directory,
 * read as overlayfs writes them (a character device 0/0 is a deletion, the
 * opaque xattr replaces a directory) and compared with the image's layers.
 * A rootless engine's overlay (`userxattr`) marks opaque directories with
 * `user.overlay.opaque`; its upper directory holds files of the user's
 * subordinate ids, so it is read as root of the user namespace
 * (upper-in-namespace.ts).
 */
import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { createLayeredRoot } from './layered-root.js';
import { opaqueXattr } from './overlay-xattrs.js';

const run = promisify(execFile);

export interface UpperEntry {
  /** Path inside the container, e.g. `/etc/hosts`. */
  readonly path: string;
  /** Host path in the upper directory. */
  readonly hostPath: string;
  readonly stats: Stats;
  /** A deletion (overlay whiteout). */
  readonly whiteout: boolean;
  /** A directory that replaces the image's one (overlay opaque xattr). */
  readonly opaque: boolean;
}

export interface Change {
  /** `A` added, `C` changed, `D` deleted (as `docker diff` prints them). */
  readonly kind: 'A' | 'C' | 'D';
  readonly path: string;
}

export interface UpperOptions {
  /** The overlay was mounted with `userxattr` (a rootless engine): opaque is `user.overlay.opaque`. @default false */
  readonly userxattr?: boolean;
}

/** Directories of `upper` marked opaque, relative to it (`trusted.overlay.opaque=y`, or `user.` with userxattr). */
async function opaqueDirs(upper: string, userxattr: boolean): Promise<Set<string>> {
  const name = opaqueXattr(userxattr);
  let stdout: string;
  try {
    ({ stdout } = await run('getfattr', ['-R', '-h', '--absolute-names', '-n', name, upper], {
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    // getfattr exits 1 when some files lack the attribute; what it printed is still right.
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  const found = new Set<string>();
  let current: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length);
    else if (current !== undefined && line === `${name}="y"`) found.add(posix.relative(upper, current));
  }
  return found;
}

/** Every entry of the upper directory, parents before children, sorted by name. */
export async function readUpper(upper: string, options: UpperOptions = {}): Promise<UpperEntry[]> {
  const opaque = await opaqueDirs(upper, options.userxattr ?? false);
  const out: UpperEntry[] = [];
  const visit = async (rel: string) => {
    const names = (await readdir(join(upper, rel)).catch(() => [] as string[])).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const hostPath = join(upper, childRel);
      const stats = await lstat(hostPath);
      const whiteout = stats.isCharacterDevice() && stats.rdev === 0;
      out.push({
        path: `/${childRel}`,
        hostPath,
        stats,
        whiteout,
        opaque: stats.isDirectory() && opaque.has(childRel),
      });
      if (stats.isDirectory()) await visit(childRel);
    }
  };
  await visit('');
  return out;
}

/** `docker diff` for an upper directory over the image's layers (`lowerDirs` lowest first). */
export async function changesOf(
  upper: string,
  lowerDirs: readonly string[],
  options: UpperOptions = {},
): Promise<Change[]> {
  const image = createLayeredRoot([...lowerDirs].reverse());
  const changes: Change[] = [];
  for (const entry of await readUpper(upper, options)) {
    if (entry.whiteout) {
      changes.push({ kind: 'D', path: entry.path });
      continue;
    }
    const before = await image.entry(entry.path);
    changes.push({ kind: before ? 'C' : 'A', path: entry.path });
  }
  return changes;
}
