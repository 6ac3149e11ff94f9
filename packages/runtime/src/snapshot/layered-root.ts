import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Read-only view of an image's root filesystem from the host, without
 * mounting it: a path is looked up from the top layer down, honouring
 * whiteouts (`.wh.NAME`) and opaque directories (`.wh..wh..opq`).
 */
export interface LayeredRoot {
  /** Host path of the file that the container would see at `path`, or undefined. */
  locate(path: string): Promise<string | undefined>;
  readText(path: string): Promise<string | undefined>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `dirs` are listed TOP FIRST (e.g. the writable layer, then image layers from the top). */
export function createLayeredRoot(dirs: readonly string[]): LayeredRoot {
  const locate = async (path: string): Promise<string | undefined> => {
    const rel = path.replace(/^\/+/, '');
    for (const dir of dirs) {
      const candidate = join(dir, rel);
      if (await exists(candidate)) return candidate;
      // A whiteout of the entry or an opaque parent hides everything below this layer.
      if (await exists(join(dir, dirname(rel), `.wh.${basename(rel)}`))) return undefined;
      if (await exists(join(dir, dirname(rel), '.wh..wh..opq'))) return undefined;
    }
    return undefined;
  };
  return {
    locate,
    async readText(path) {
      const found = await locate(path);
      if (!found) return undefined;
      try {
        return await readFile(found, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
