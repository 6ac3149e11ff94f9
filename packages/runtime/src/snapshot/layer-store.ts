/**
 * Unpacked, read-only layers keyed by chain id (see chain-id.ts), used as
 * overlay lower directories: `<root>/<first 16 hex of the chain id>/fs`, with
 * the full id in `<root>/<short>/chain-id`. Overlay mounts name a layer by
 * its shorter link in `<root>/../l/` (see layer-links.ts), so the mount
 * options of a many-layer image stay within one page. A layer is
 * published by renaming a finished tree into place, so a layer directory is
 * either absent or complete.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CspecError } from '../errors.js';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { removeTree } from '../util/remove-tree.js';
import { tempPath } from '../util/temp-path.js';
import { removeLayerLink } from './layer-links.js';
import type { UnpackOptions, UnpackResult } from './unpack-layer.js';

export interface LayerStore {
  /** The unpacked tree (`.../fs`) of a layer, or undefined if it is not here. */
  get(chainId: string): Promise<string | undefined>;
  /**
   * Publishes the finished tree `tree` as the layer `chainId` by moving it (it
   * must be on the store's file system). If the layer exists already (another
   * process published it first), the existing one is kept. `tree` is consumed
   * either way (moved in or removed). Returns the layer's `fs` directory.
   */
  adoptDirectory(chainId: string, tree: string, extras?: LayerExtras): Promise<string>;
  remove(chainId: string): Promise<void>;
  /**
   * Unpacks a layer tar into `tree` (an empty directory on the store's file
   * system) the way this store's layers are kept: in this process as the
   * host's root, or as root of the user namespace of a rootless store
   * (unpack-in-namespace.ts). See unpack-layer.ts.
   */
  unpack(input: Readable, tree: string, options?: UnpackOptions): Promise<UnpackResult>;
  /**
   * A container's overlay upper directory as an image layer tar
   * (upper-tar.ts), read the way this store's containers write it: as the
   * host's root, or as root of a rootless store's user namespace
   * (`user.overlay.opaque`; files of subordinate ids).
   */
  upperTar(upper: string): Promise<Readable>;
}

export interface LayerStoreOptions {
  /**
   * A rootless store: layers are unpacked as root of this user namespace,
   * by a helper process that `nodePath` runs. @default unpacked in this process, as the host's root
   */
  readonly userNamespace?: { readonly open: () => Promise<UserNamespace>; readonly nodePath: string };
}

/** What a layer records beside its tree. */
export interface LayerExtras {
  /** Directories of the tree that are opaque (overlayfs xattr); listed in `opaque` for readers. */
  readonly opaqueDirs?: readonly string[];
}

const CHAIN_ID = /^sha256:[a-f0-9]{64}$/;

function checkChainId(chainId: string): void {
  if (!CHAIN_ID.test(chainId)) throw new CspecError('CSPEC_INTERNAL', `not a sha256 chain id: ${chainId}`);
}

/** `root` holds the layers; `tmpDir` (same file system) holds publications in progress. */
export function createLayerStore(root: string, tmpDir: string, options: LayerStoreOptions = {}): LayerStore {
  const dirOf = (chainId: string) => {
    checkChainId(chainId);
    return join(root, chainId.slice('sha256:'.length, 'sha256:'.length + 16));
  };
  const recordedId = async (dir: string) => {
    try {
      return (await readFile(join(dir, 'chain-id'), 'utf8')).trim();
    } catch {
      return undefined;
    }
  };
  return {
    async get(chainId) {
      const dir = dirOf(chainId);
      if ((await recordedId(dir)) !== chainId) return undefined;
      try {
        await stat(join(dir, 'fs'));
        return join(dir, 'fs');
      } catch {
        return undefined;
      }
    },
    async adoptDirectory(chainId, tree, extras = {}) {
      const target = dirOf(chainId);
      await mkdir(tmpDir, { recursive: true });
      // Behind the 0700 data directory already; its own mode says the same to anyone who looks.
      await mkdir(root, { recursive: true, mode: 0o700 });
      const staging = tempPath(tmpDir, 'layer');
      // The layer's own directory is the owner's only; `fs` inside keeps the image's mode for `/`.
      await mkdir(staging, { mode: 0o700 });
      try {
        if (extras.opaqueDirs?.length) {
          await writeFile(join(staging, 'opaque'), `${extras.opaqueDirs.join('\n')}\n`);
        }
        await writeFile(join(staging, 'chain-id'), `${chainId}\n`);
        await rename(tree, join(staging, 'fs'));
        await rename(staging, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        await removeTree(staging);
        await removeTree(tree);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
        const existing = await recordedId(target);
        if (existing !== chainId) {
          throw new CspecError(
            'CSPEC_INTERNAL',
            `layer directory ${target} holds ${existing ?? 'an unknown layer'}, not ${chainId}`,
            { hint: `remove ${target}; it is rebuilt on the next use`, cause: error },
          );
        }
      }
      return join(target, 'fs');
    },
    async remove(chainId) {
      const target = dirOf(chainId);
      // The short link goes first, so it never outlives its layer (if this process dies before the
      // layer goes, the next mount makes the link again).
      await removeLayerLink(join(target, 'fs'));
      // Move it out of sight first, so no reader ever sees a half-removed layer.
      await mkdir(tmpDir, { recursive: true });
      const doomed = tempPath(tmpDir, 'removed-layer');
      try {
        await rename(target, doomed);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      await removeTree(doomed);
    },
    async unpack(input, tree, unpackOptions) {
      // Loaded on first use: a start from cached layers never needs the tar code.
      const rootless = options.userNamespace;
      if (rootless) {
        const { unpackInNamespace } = await import('./unpack-in-namespace.js');
        return unpackInNamespace(await rootless.open(), rootless.nodePath, input, tree, unpackOptions);
      }
      const { unpackLayer } = await import('./unpack-layer.js');
      return unpackLayer(input, tree, unpackOptions);
    },
    async upperTar(upper) {
      const rootless = options.userNamespace;
      if (rootless) {
        const { upperTarInNamespace } = await import('./upper-in-namespace.js');
        return upperTarInNamespace(await rootless.open(), rootless.nodePath, upper);
      }
      const { upperAsLayerTar } = await import('./upper-tar.js');
      return upperAsLayerTar(upper);
    },
  };
}
