/**
 * `cspec export`: a container's filesystem as the container sees it (its
 * image's layers with its own changes on top), as one tar — what `docker
 * export` writes. The layers are stacked by a read-only overlay mount made
 * in a private mount namespace of a short-lived `unshare` process, so the
 * mount exists only for that process: killing the export can leave no mount
 * behind on the host. The upper directory goes on top as one more lower
 * layer, so its whiteouts and opaque directories hide what they hide.
 */
import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { abortError, CspecError } from '../errors.js';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { ensureLayerLinks, layerLinkPath } from './layer-links.js';
import { assertOverlayFits, USER_XATTR } from './overlay-limits.js';

export interface ExportTreeInput {
  /** The container's writable layer (overlay upper directory). */
  readonly upper: string;
  /** The image's unpacked layers, lowest first. */
  readonly layerDirs: readonly string[];
  /** An empty directory to mount on (inside the private namespace only). */
  readonly mountPoint: string;
  /**
   * A rootless engine's container: the mount and the tar run as root of this
   * user namespace (its files belong to subordinate ids; overlay with `userxattr`).
   */
  readonly userNamespace?: UserNamespace;
}

const SCRIPT = [
  'set -e',
  'mount -t overlay overlay -o "ro,$3lowerdir=$2" "$1"',
  'exec tar --numeric-owner --xattrs --xattrs-include="*" --sort=name -C "$1" -cf - .',
].join('\n');

/** Writes the tar to `output`; resolves when it is complete. */
export async function exportTree(
  input: ExportTreeInput,
  output: Writable,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) throw abortError(signal, 'the export');
  const layers = [...input.layerDirs].reverse();
  assertOverlayFits(
    { lowerDirs: [input.upper, ...layers.map(layerLinkPath)], userxattr: input.userNamespace !== undefined },
    "the container's image",
    layers.length,
  );
  const lower = [input.upper, ...(await ensureLayerLinks(layers))].join(':');
  return new Promise((resolve, reject) => {
    const userxattr = input.userNamespace ? `${USER_XATTR},` : '';
    const argv = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', SCRIPT, 'sh'];
    const [file, ...args] = input.userNamespace?.enterArgs(argv) ?? argv;
    const child = spawn(file!, [...args, input.mountPoint, lower, userxattr], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.pipe(output, { end: false });
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        new CspecError('CSPEC_HOST_UNSUPPORTED', `cannot run unshare to export: ${error.message}`, {
          hint: 'install util-linux (it provides unshare and mount)',
        }),
      );
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(abortError(signal, 'the export'));
      if (code === 0) return resolve();
      reject(
        new CspecError('CSPEC_INTERNAL', `exporting the filesystem failed (exit ${code}): ${stderr.trim()}`, {
          hint: 'run with DEBUG=cspec:* and report it',
        }),
      );
    });
  });
}
