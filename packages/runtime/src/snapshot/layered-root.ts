import type { Stats } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { CspecError } from '../errors.js';

/**
 * Read-only view of an image's root filesystem from the host, without
 * mounting it: a path is looked up from the top layer down, honouring
 * whiteouts and opaque directories in both forms: the image spec's
 * (`.wh.NAME`, `.wh..wh..opq`) and overlayfs' (a character device 0/0; the
 * opaque xattr, which Node cannot read, so unpacked layers list their opaque
 * directories in an `opaque` file beside their `fs/`). Symbolic
 * links are resolved inside the image — an absolute link points into the
 * image's root, never the host's.
 */
export interface LayeredRoot {
  /**
   * The path inside the image that `path` leads to, with every symbolic link
   * on the way resolved (the last component too, when `followLast`).
   */
  realPath(path: string, options?: { readonly followLast?: boolean }): Promise<string>;
  /** The host file the container would see at `path` (links followed), or undefined. */
  locate(path: string): Promise<string | undefined>;
  /** What the container would see at exactly `path` (no link followed): host path and lstat. */
  entry(path: string): Promise<LayerEntry | undefined>;
  readText(path: string): Promise<string | undefined>;
}

export interface LayerEntry {
  readonly hostPath: string;
  readonly stats: Stats;
}

/** Linux gives up after 40 links in one lookup (ELOOP); so does this. */
const MAX_LINKS = 40;

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

/** `dirs` are listed TOP FIRST (e.g. the writable layer, then image layers from the top). */
export function createLayeredRoot(dirs: readonly string[]): LayeredRoot {
  const opaqueLists = new Map<string, Promise<Set<string>>>();
  const opaqueIn = (dir: string) => {
    let list = opaqueLists.get(dir);
    if (!list) {
      list =
        basename(dir) === 'fs'
          ? readFile(join(dirname(dir), 'opaque'), 'utf8').then(
              (text) => new Set(text.split('\n').filter(Boolean)),
              () => new Set<string>(),
            )
          : Promise.resolve(new Set<string>());
      opaqueLists.set(dir, list);
    }
    return list;
  };
  // What a layer has at a directory path, each component looked at with lstat (never followed):
  // 'dir' when every component is a real directory there, 'absent' when the layer has nothing
  // there, 'other' when a component is something else (a link, a file, a whiteout). A layer's
  // non-directory hides the lower layers at that path, as in overlayfs.
  const dirStates = new Map<string, Promise<'dir' | 'absent' | 'other'>>();
  const dirState = (dir: string, rel: string): Promise<'dir' | 'absent' | 'other'> => {
    if (rel === '') return Promise.resolve('dir');
    const key = `${dir}\0${rel}`;
    let state = dirStates.get(key);
    if (!state) {
      const up = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
      state = dirState(dir, up).then(async (above) => {
        if (above !== 'dir') return above;
        const stats = await lstatOrUndefined(join(dir, rel));
        return !stats ? 'absent' : stats.isDirectory() ? 'dir' : 'other';
      });
      dirStates.set(key, state);
    }
    return state;
  };

  // `path` must be free of links in its parent components (see realPath).
  const entry = async (path: string): Promise<LayerEntry | undefined> => {
    const rel = posix.normalize(path).replace(/^\/+/, '');
    if (rel === '' || rel === '.') {
      const stats = await lstatOrUndefined(dirs.at(-1) ?? '/nonexistent');
      return stats ? { hostPath: dirs.at(-1)!, stats } : undefined;
    }
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    for (const dir of dirs) {
      // Never look through a layer's own link (it could name a host path): a non-directory on the
      // way hides this layer's and the lower layers' entries; a missing parent, only this layer's.
      const parentState = await dirState(dir, parent);
      if (parentState === 'other') return undefined;
      if (parentState === 'absent') continue;
      const hostPath = join(dir, rel);
      const stats = await lstatOrUndefined(hostPath);
      // overlayfs' whiteout: a character device 0/0 hides the name below this layer.
      if (stats?.isCharacterDevice() && stats.rdev === 0) return undefined;
      if (stats) return { hostPath, stats };
      // A whiteout of the entry or an opaque parent hides everything below this layer.
      if (await lstatOrUndefined(join(dir, parent, `.wh.${posix.basename(rel)}`))) return undefined;
      if (await lstatOrUndefined(join(dir, parent, '.wh..wh..opq'))) return undefined;
      if ((await opaqueIn(dir)).has(parent)) return undefined;
    }
    return undefined;
  };

  const realPath = async (path: string, options: { readonly followLast?: boolean } = {}) => {
    let pending = path.split('/').filter(Boolean);
    let resolved: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const [name, ...rest] = pending as [string, ...string[]];
      pending = rest;
      if (name === '.') continue;
      if (name === '..') {
        resolved.pop();
        continue;
      }
      const candidate = `/${[...resolved, name].join('/')}`;
      const found = await entry(candidate);
      if (found?.stats.isSymbolicLink() && (pending.length > 0 || options.followLast)) {
        if (++links > MAX_LINKS) {
          throw new CspecError(
            'CSPEC_INVALID_SPEC',
            `too many levels of symbolic links in the image at ${path}`,
          );
        }
        const target = await readlink(found.hostPath);
        if (target.startsWith('/')) resolved = [];
        pending = [...target.split('/').filter(Boolean), ...pending];
        continue;
      }
      resolved.push(name);
    }
    return `/${resolved.join('/')}`;
  };

  const locate = async (path: string) => (await entry(await realPath(path, { followLast: true })))?.hostPath;

  return {
    realPath,
    entry,
    locate,
    async readText(path) {
      // A regular file only: a fifo would block, a device node would read the host's device.
      const found = await entry(await realPath(path, { followLast: true }));
      if (!found?.stats.isFile()) return undefined;
      try {
        return await readFile(found.hostPath, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
