/**
 * Whether an overlay mount of an image's layers can be made at all, decided
 * before anything is created. mount(2) copies at most one page of option
 * data from the caller and cuts the rest off, so `lowerdir=...,upperdir=...,
 * workdir=...` must fit in 4095 bytes and a NUL; and overlayfs stacks at
 * most 500 lower directories (OVL_MAX_STACK). Layers are mounted through
 * their short links (layer-links.ts), about 30 bytes each with the default
 * data directory, which makes room for the 128 layers Docker allows.
 */
import { CspecError } from '../errors.js';

/** Option data mount(2) takes: one page (4096 bytes on x86-64 and most arm64 kernels) less the NUL. */
export const MOUNT_DATA_MAX_BYTES = 4095;

/** The most lower directories overlayfs stacks in one mount. */
export const OVERLAY_MAX_LOWER_DIRS = 500;

export interface OverlayStack {
  /** The paths that go into `lowerdir=`, in any order. */
  readonly lowerDirs: readonly string[];
  /** The mount's other data options, e.g. `upperdir=...` and `workdir=...` (flags such as `ro` are not data). */
  readonly otherOptions?: readonly string[];
  /** Mounted with `userxattr` (a rootless engine's layers): 10 more bytes. @default false */
  readonly userxattr?: boolean;
}

const LOWERDIR = 'lowerdir=';

/** The overlay option that reads whiteouts, opaque markers and redirects from `user.overlay.*` (in a user namespace). */
export const USER_XATTR = 'userxattr';

/** Bytes of the mount data `lowerdir=A:B:...,OTHER,...`. */
export function overlayDataBytes(stack: OverlayStack): number {
  const lower = stack.lowerDirs.reduce((sum, dir) => sum + Buffer.byteLength(dir), 0);
  const colons = Math.max(stack.lowerDirs.length - 1, 0);
  const other = [...(stack.otherOptions ?? []), ...(stack.userxattr ? [USER_XATTR] : [])].reduce(
    (sum, o) => sum + 1 + Buffer.byteLength(o),
    0,
  );
  return LOWERDIR.length + lower + colons + other;
}

/**
 * How many lower directories as long as the longest of `stack.lowerDirs`
 * fit beside its other options.
 */
export function maxLowerDirs(stack: OverlayStack): number {
  const longest = Math.max(0, ...stack.lowerDirs.map((d) => Buffer.byteLength(d)));
  const fixed = overlayDataBytes({ ...stack, lowerDirs: [] });
  const fit = Math.floor((MOUNT_DATA_MAX_BYTES - fixed + 1) / (longest + 1));
  return Math.max(0, Math.min(fit, OVERLAY_MAX_LOWER_DIRS));
}

/**
 * Throws CSPEC_IMAGE_TOO_MANY_LAYERS when `stack` cannot be mounted.
 * `what` names the image (e.g. `image example.test/app:1`); `layers` is how
 * many of the lower directories are its layers (the rest are, e.g., a
 * container's changes stacked on top for an export).
 */
export function assertOverlayFits(stack: OverlayStack, what: string, layers = stack.lowerDirs.length): void {
  const count = stack.lowerDirs.length;
  const squash = 'squash the image into fewer layers (e.g. fewer RUN and COPY steps in its Dockerfile)';
  if (count > OVERLAY_MAX_LOWER_DIRS) {
    throw new CspecError(
      'CSPEC_IMAGE_TOO_MANY_LAYERS',
      `${what} has ${layers} layers, more than overlayfs can stack: one mount takes at most ${OVERLAY_MAX_LOWER_DIRS} lower directories and this one needs ${count}`,
      { hint: squash },
    );
  }
  const bytes = overlayDataBytes(stack);
  if (bytes <= MOUNT_DATA_MAX_BYTES) return;
  const longest = stack.lowerDirs.reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a), '');
  throw new CspecError(
    'CSPEC_IMAGE_TOO_MANY_LAYERS',
    `${what} has ${layers} layers, too many to mount with these paths: the overlay mount options take ${bytes} bytes and the kernel takes at most ${MOUNT_DATA_MAX_BYTES} (one page); at most ${maxLowerDirs(stack)} layers fit when each is mounted as a path like ${longest} (${Buffer.byteLength(longest)} bytes)`,
    {
      hint: `use a data directory with a shorter path (CSPEC_DATA_DIR; layers are mounted through links in its l/ directory), or ${squash}`,
    },
  );
}
