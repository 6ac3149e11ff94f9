import type { BlobStore } from '../content/blob-store.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import type { ImageReference } from './reference.js';
import type { ImageProgress } from './types.js';

/** What a source may use to produce an image in the store. */
export interface SourceContext {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  /** Scratch space on the same filesystem as the store (so trees can be renamed in). */
  readonly tmpDir: string;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: (event: ImageProgress) => void;
}

/**
 * Produces images the store does not have yet: Debian bootstrap now;
 * Dockerfile builds, archives and registry pulls implement the same interface.
 */
export interface ImageSource {
  readonly name: string;
  /** Whether this source is responsible for the reference. */
  provides(ref: ImageReference): boolean;
  /** Fails fast (before any lock or work) when the reference cannot be built, e.g. an unknown suite. */
  check(ref: ImageReference): void;
  /** Builds the image and returns its manifest's digest; leaves nothing behind on failure. */
  build(ref: ImageReference, ctx: SourceContext): Promise<{ readonly manifestDigest: string }>;
}
