import type { BlobStore } from '../content/blob-store.js';
import type { LayerStore } from '../snapshot/layer-store.js';
import type { BuildOptions, BuildResult } from './build/builder.js';
import type { ParentImage } from './commit-image.js';
import type { ImageReference } from './reference.js';
import type { ImageProgress, ResolvedImage } from './types.js';

/** What a source may use to produce an image in the store. */
export interface SourceContext {
  readonly blobs: BlobStore;
  readonly layers: LayerStore;
  /**
   * The store's scratch directory, on the same file system as the layers (so
   * finished trees can be renamed in). Name entries with `tempPath()` so the
   * store removes them if this process dies.
   */
  readonly tmpDir: string;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: (event: ImageProgress) => void;
  /** Builds a Dockerfile into the store (the engine's builder); undefined in a store without an engine. */
  readonly buildDockerfile: ((options: BuildOptions) => Promise<BuildResult>) | undefined;
  /** Another image of the store (built first if needed), e.g. the base a service image starts from. */
  readonly resolve: (reference: string) => Promise<ResolvedImage>;
  /** The same, with its manifest and config: what `deriveImage` builds on. */
  readonly parentImage: (reference: string) => Promise<ParentImage>;
}

/**
 * Produces images the store does not have yet: Debian bootstrap now;
 * Dockerfile builds, archives and registry pulls implement the same interface.
 * The store calls `build` under a per-reference lock held across processes,
 * and writes the tag itself.
 */
/** The image label that records the recipe fingerprint an image was built from. */
export const RECIPE_LABEL = 'dev.cspec.recipe';

export interface ImageSource {
  readonly name: string;
  /** Also provides digest-pinned references (`NAME@sha256:...`). @default false */
  readonly pinned?: boolean;
  /** Whether this source is responsible for the reference. */
  provides(ref: ImageReference): boolean;
  /** Fails fast (before any lock or work) when the reference cannot be built, e.g. an unknown suite. */
  check(ref: ImageReference): void;
  /**
   * For an alias (`cspec/debian:12`), the normalized reference it stands for
   * (`cspec/debian:bookworm`): the store resolves that one and tags the alias
   * to the same image instead of building twice.
   */
  canonical?(ref: ImageReference): string | undefined;
  /**
   * A digest of how the source builds `ref` (its recipe). An image built by
   * an older recipe (its `dev.cspec.recipe` label differs) is rebuilt.
   */
  fingerprint?(ref: ImageReference): string | undefined;
  /**
   * Builds the image: blobs (layers, config, manifest) and layer directories.
   * Returns the manifest's digest. Leaves no layer directory and nothing in
   * `tmpDir` when it fails or is aborted.
   */
  build(ref: ImageReference, ctx: SourceContext): Promise<{ readonly manifestDigest: string }>;
}
