/**
 * The xattr overlayfs marks an opaque directory with: `trusted.overlay.opaque`
 * for the host's root, `user.overlay.opaque` for a mount with `userxattr` (a
 * rootless engine's, in its user namespace, where `trusted.*` cannot be set).
 */
export function opaqueXattr(userxattr: boolean): string {
  return userxattr ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
}
