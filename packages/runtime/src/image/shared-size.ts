/**
 * Shared size, as `docker system df -v` reports it: the bytes of an image's
 * layers that at least one other image (another image id, not another tag of
 * the same one) also uses. Removing the image frees at most its size minus
 * its shared size.
 */
export interface LayeredImage {
  readonly id: string;
  readonly layers: readonly { readonly digest: string; readonly size: number }[];
}

/** Shared bytes by image id. */
export function sharedSizes(images: readonly LayeredImage[]): Map<string, number> {
  const users = new Map<string, Set<string>>();
  for (const image of images) {
    for (const layer of image.layers) {
      const ids = users.get(layer.digest) ?? new Set<string>();
      ids.add(image.id);
      users.set(layer.digest, ids);
    }
  }
  const shared = new Map<string, number>();
  for (const image of images) {
    if (shared.has(image.id)) continue;
    const seen = new Set<string>();
    let bytes = 0;
    for (const layer of image.layers) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      if ((users.get(layer.digest)?.size ?? 0) > 1) bytes += layer.size;
    }
    shared.set(image.id, bytes);
  }
  return shared;
}
