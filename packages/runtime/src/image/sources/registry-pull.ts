/**
 * The source of last resort: any reference with a registry domain that no
 * built-in source provides (`postgres`, `ghcr.io/x/y:1`, `127.0.0.1:5000/a@sha256:...`)
 * is pulled from its registry on first use. The local `cspec/` namespace
 * never reaches a registry.
 */
import type { RegistryConfig } from '../../config.js';
import type { ImageSource } from '../source.js';

export function createRegistrySource(registry: RegistryConfig): ImageSource {
  return {
    name: 'registry',
    pinned: true,
    provides: (ref) => ref.domain !== undefined,
    check: () => {},
    async build(ref, ctx) {
      // Loaded on first use, like the store's own pull (image-store.ts).
      const { pullImage } = await import('../../registry/pull.js');
      const { manifestDigest } = await pullImage(ref, ctx, { registry });
      return { manifestDigest };
    },
  };
}
