/**
 * Unpacked, read-only layers keyed by chain id (OCI image spec), used as
 * overlay lower directories. Directory names are short — 16 hex characters —
 * so the overlay mount options of a many-layer image stay within one page.
 * A layer is published by renaming a finished tree into place.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempPath } from '../util/temp-path.js';

export interface LayerStore {
  /** The unpacked tree of a layer, or undefined if it is not here. */
  get(chainId: string): Promise<string | undefined>;
  /** Publishes `tree` (a directory on the same filesystem, moved, not copied) as the layer `chainId`. */
  adoptDirectory(chainId: string, tree: string): Promise<string>;
  remove(chainId: string): Promise<void>;
}

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out.at(-1);
    out.push(
      previous === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}

export function createLayerStore(root: string, tmpDir: string): LayerStore {
  const dirOf = (chainId: string) => join(root, chainId.replace(/^sha256:/, '').slice(0, 16));
  return {
    async get(chainId) {
      const dir = dirOf(chainId);
      try {
        const recorded = (await readFile(join(dir, 'chain-id'), 'utf8')).trim();
        if (recorded !== chainId) return undefined;
        await stat(join(dir, 'fs'));
        return join(dir, 'fs');
      } catch {
        return undefined;
      }
    },
    async adoptDirectory(chainId, tree) {
      const staging = tempPath(tmpDir, 'layer');
      await mkdir(staging, { recursive: true });
      await mkdir(root, { recursive: true });
      try {
        await rename(tree, join(staging, 'fs'));
        await writeFile(join(staging, 'chain-id'), `${chainId}\n`);
        await rename(staging, dirOf(chainId));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        await rm(staging, { recursive: true, force: true });
        // Another process published the same layer first: theirs is identical.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
      return join(dirOf(chainId), 'fs');
    },
    async remove(chainId) {
      await rm(dirOf(chainId), { recursive: true, force: true });
    },
  };
}
