/**
 * Short names for unpacked layers, so that the overlay mount options of an
 * image with many layers fit in the one page the kernel copies from
 * mount(2) (see overlay-limits.ts). A layer `<data>/layers/<16 hex>/fs` (the
 * 16 hex digits begin its chain id, see layer-store.ts) is also reachable as
 * `<data>/l/<the same 64 bits in base64url: 11 characters>`, a symbolic link
 * to `../layers/<16 hex>/fs`; overlayfs follows it when it looks the lower
 * directory up. The name is a one-to-one encoding of the layer directory's
 * name, so two layers never share a link, and its path is known without
 * touching the disk: a mount's options can be checked before anything
 * exists. Links are made when a mount needs them (idempotently: every
 * process that needs one makes the same one) and removed with their layer.
 */
import { mkdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { tempPath } from '../util/temp-path.js';

/** The directory of the links, beside `layers/` in the data directory. */
export const LINKS_DIR = 'l';

/** Characters in a link's name. */
export const LINK_NAME_LENGTH = 11;

const LAYER_NAME = /^[0-9a-f]{16}$/;

interface StoreLayer {
  /** The data directory. */
  readonly root: string;
  /** The layer directory's name (16 hex digits). */
  readonly name: string;
}

/** The data directory and layer name of `<data>/layers/<16 hex>/fs`, or undefined for any other path. */
function storeLayer(layerDir: string): StoreLayer | undefined {
  const fs = resolve(layerDir);
  const layer = dirname(fs);
  const layers = dirname(layer);
  if (basename(fs) !== 'fs' || !LAYER_NAME.test(basename(layer)) || basename(layers) !== 'layers') {
    return undefined;
  }
  return { root: dirname(layers), name: basename(layer) };
}

/** The link's name for a layer directory named `name` (16 hex digits). */
export function linkName(name: string): string {
  return Buffer.from(name, 'hex').toString('base64url');
}

/** The short path of a layer directory of the store; any other directory is returned as it is. */
export function layerLinkPath(layerDir: string): string {
  const layer = storeLayer(layerDir);
  return layer ? join(layer.root, LINKS_DIR, linkName(layer.name)) : layerDir;
}

/** What the link of a store layer points at (relative, so a moved data directory keeps working). */
function linkTarget(layer: StoreLayer): string {
  return `../layers/${layer.name}/fs`;
}

async function currentTarget(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw error;
  }
}

async function ensureLink(layerDir: string): Promise<string> {
  const layer = storeLayer(layerDir);
  if (!layer) return layerDir;
  const path = join(layer.root, LINKS_DIR, linkName(layer.name));
  const target = linkTarget(layer);
  const found = await currentTarget(path);
  if (found === target) return path;
  if (found === undefined) {
    await mkdir(dirname(path), { recursive: true });
    try {
      await symlink(target, path);
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another process made it first; it is the same link unless something else sits there.
      if ((await currentTarget(path)) === target) return path;
    }
  }
  // Something else has the name (not a link, or a link elsewhere): replace it in one step.
  const temp = tempPath(join(layer.root, 'tmp'), 'link');
  await mkdir(dirname(temp), { recursive: true });
  await symlink(target, temp);
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return path;
}

/**
 * The paths to put in `lowerdir=` for `layerDirs` (same order): the short
 * link of each layer of the store, made if missing; other directories as
 * they are.
 */
export function ensureLayerLinks(layerDirs: readonly string[]): Promise<string[]> {
  return Promise.all(layerDirs.map(ensureLink));
}

/** Removes the link of a store layer, if it points at that layer. */
export async function removeLayerLink(layerDir: string): Promise<void> {
  const layer = storeLayer(layerDir);
  if (!layer) return;
  const path = join(layer.root, LINKS_DIR, linkName(layer.name));
  if ((await currentTarget(path)) !== linkTarget(layer)) return;
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
