import type { CommitChanges, DeriveStep } from './commit-image.js';
import type { OciImageConfig } from './oci.js';

/** What the engine needs from the image store, and what the store reports. */

/** The parts of an OCI image config the runtime uses (names as in the OCI image spec). */
export interface ImageConfig {
  readonly env: readonly string[];
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly exposedPorts?: readonly number[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
  /** The image's HEALTHCHECK command, as argv (`CMD-SHELL` runs through `/bin/sh -c`). */
  readonly healthcheck?: readonly string[];
}

/** An image ready to run: its config and its unpacked, read-only layers. */
export interface ResolvedImage {
  /** Normalized reference, e.g. `cspec/debian:bookworm`. */
  readonly reference: string;
  /** `sha256:<hex>` of the image config blob (the image id). */
  readonly id: string;
  readonly config: ImageConfig;
  /** Absolute paths of unpacked layer directories, lowest first. */
  readonly layerDirs: readonly string[];
}

export interface ImageSummary {
  readonly reference: string;
  readonly id: string;
  readonly created: string;
  readonly sizeBytes: number;
  /** Bytes of its layers that other images use too (`docker system df -v`'s SHARED SIZE). */
  readonly sharedSizeBytes: number;
  /**
   * Set when the image's tag, manifest or config cannot be read: what is
   * damaged (naming the file). The image is listed so it can be removed.
   */
  readonly problem?: string;
}

/** One thing `image check` found wrong. */
export interface ImageCheckProblem {
  /** A blob whose content does not match its digest; a tag whose image cannot be read; a layer not unpacked. */
  readonly kind: 'corrupt-blob' | 'broken-tag' | 'missing-layer';
  /** The file or directory concerned. */
  readonly path: string;
  readonly reference?: string;
  readonly detail: string;
  /** Whether `repair` fixed it: the blob or the tag removed, the layer unpacked again from its blob. */
  readonly repaired: boolean;
}

export interface ImageCheckReport {
  readonly blobsChecked: number;
  readonly layersChecked: number;
  readonly tagsChecked: number;
  readonly problems: readonly ImageCheckProblem[];
}

/** What `image history` and `image tree` show of one image. */
export interface ImageDetails {
  readonly reference: string;
  /** `sha256:` of its config (the image id). */
  readonly id: string;
  readonly manifestDigest: string;
  readonly created: string | undefined;
  /** The image's runtime config as the OCI image spec writes it (`Env`, `Cmd`, `WorkingDir`...). */
  readonly runtimeConfig: NonNullable<OciImageConfig['config']>;
  /** Lowest first: the stored (compressed or not) blob and the uncompressed content's digest. */
  readonly layers: readonly {
    readonly digest: string;
    readonly diffId: string;
    readonly size: number;
  }[];
  /** As recorded in the config, oldest first. */
  readonly history: readonly {
    readonly created?: string;
    readonly createdBy?: string;
    readonly comment?: string;
    readonly emptyLayer: boolean;
  }[];
}

export interface ImageProgress {
  /** e.g. `bootstrap`, `commit`, `cached`; pulls: `resolve`, `download`, `exists`, `unpack`, `upload`. */
  readonly phase: string;
  readonly message: string;
  /** What the bytes belong to, e.g. a layer's short digest. */
  readonly item?: string;
  readonly bytes?: number;
  readonly totalBytes?: number;
}

export interface ResolveImageOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ImageProgress) => void;
  /**
   * `missing`: pull an image that is not cached from its registry; `never`:
   * only the cache and the built-in sources (a registry reference that is not
   * cached is CSPEC_IMAGE_NOT_FOUND). @default 'missing'
   */
  readonly pull?: 'missing' | 'never';
}

export interface PullImageOptions {
  /** `OS/ARCH[/VARIANT]`, e.g. `linux/arm64`. @default linux and the host's architecture */
  readonly platform?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ImageProgress) => void;
}

export interface PullReport {
  /** Normalized reference, as tagged. */
  readonly reference: string;
  /** The image id (`sha256:` of its config). */
  readonly id: string;
  readonly manifestDigest: string;
  readonly layers: number;
  /** 0 when everything was here already. */
  readonly layersDownloaded: number;
  readonly bytesDownloaded: number;
}

export interface PushImageOptions {
  /** The cached image to push under `reference`. @default the image tagged `reference` */
  readonly source?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ImageProgress) => void;
}

export interface PushReport {
  readonly reference: string;
  readonly manifestDigest: string;
  readonly blobsUploaded: number;
  readonly blobsSkipped: number;
  readonly bytesUploaded: number;
}

export interface ImagePruneReport {
  readonly blobsRemoved: number;
  readonly layersRemoved: number;
  readonly bytesFreed: number;
  /** Init-cache images removed because the image they were made from is gone (engine.pruneImages). */
  readonly initCachesRemoved?: number;
}

/** An image brought in from a file. */
export interface LoadedImage {
  /** `sha256:` of its config (the image id, as Docker reports it). */
  readonly id: string;
  /** The names it was tagged with (none for an untagged image of an archive). */
  readonly references: readonly string[];
}

/** The store as the engine sees it. */
export interface ImageService {
  /** Returns the cached image, or builds/pulls it from the source that knows the reference. */
  resolve(reference: string, options?: ResolveImageOptions): Promise<ResolvedImage>;
  list(): Promise<ImageSummary[]>;
  /**
   * Verifies the whole store (`cspec image check`): every blob's digest,
   * every tag's manifest and config, every layer unpacked; with `repair`,
   * removes damaged blobs and broken tags and unpacks missing layers again.
   */
  check(options?: { readonly repair?: boolean }): Promise<ImageCheckReport>;
  /**
   * Fetches the image from its registry (also when cached: a tag may have
   * moved), downloading only the layers the store lacks, and tags it.
   */
  pull(reference: string, options?: PullImageOptions): Promise<PullReport>;
  /** Uploads a cached image to the registry its reference names (`cspec image push`). */
  push(reference: string, options?: PushImageOptions): Promise<PushReport>;
  /** Layers and history of a cached image (`image history`, `image tree`); never builds or pulls. */
  inspect(reference: string): Promise<ImageDetails>;
  /** Loads the images of a `docker save` archive or an OCI archive and tags them with their names. */
  load(file: string, options?: ResolveImageOptions): Promise<LoadedImage[]>;
  /**
   * Writes cached images to one tar that `docker load`, `cspec image load`
   * and OCI tools read (an OCI layout with Docker's manifest.json beside it).
   */
  save(
    references: readonly string[],
    file: string,
    options?: { readonly signal?: AbortSignal },
  ): Promise<void>;
  /**
   * Makes an image of `parent` plus the changes in a container's overlay
   * upper directory, and tags it `reference` (`cspec commit`).
   */
  commit(input: {
    readonly upper: string;
    readonly parent: { readonly reference: string; readonly id: string };
    readonly reference: string;
    readonly changes?: CommitChanges;
  }): Promise<LoadedImage>;
  /**
   * Removes blobs and unpacked layers that no tag reaches and no container
   * in `layerDirsInUse` needs (`cspec image prune`); keeps anything written
   * in the last `graceMs` (default 10 minutes) for loads and builds in flight.
   */
  prune(options: {
    readonly layerDirsInUse: ReadonlySet<string>;
    readonly graceMs?: number;
  }): Promise<ImagePruneReport>;
  /** Sizes on disk (`cspec system df`). */
  usage(): Promise<{
    readonly images: number;
    readonly blobsBytes: number;
    readonly layersBytes: number;
    readonly layers: number;
  }>;
  /** Makes a one-layer image from a root filesystem tar (like `docker import`) and tags it `reference`. */
  importRootfs(
    file: string,
    reference: string,
    options?: ResolveImageOptions & { readonly cmd?: readonly string[] },
  ): Promise<LoadedImage>;
  remove(reference: string): Promise<void>;
  /**
   * A new, untagged image made of `parent` (a reference, e.g. `name@sha256:<manifest>`;
   * undefined: nothing, as `FROM scratch`) by one step: a layer and/or a config change.
   * Dockerfile builds are made of these.
   */
  derive(input: {
    readonly parent: string | undefined;
    readonly step: DeriveStep;
  }): Promise<{ readonly id: string; readonly manifestDigest: string }>;
  /** Points `reference` at a manifest of the store; returns the normalized reference. */
  tag(reference: string, manifestDigest: string): Promise<string>;
}
