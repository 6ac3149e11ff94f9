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
}

export interface ImageProgress {
  /** e.g. `bootstrap`, `commit`, `cached`. */
  readonly phase: string;
  readonly message: string;
}

export interface ResolveImageOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ImageProgress) => void;
}

/** The store as the engine sees it. */
export interface ImageService {
  /** Returns the cached image, or builds/pulls it from the source that knows the reference. */
  resolve(reference: string, options?: ResolveImageOptions): Promise<ResolvedImage>;
  list(): Promise<ImageSummary[]>;
  remove(reference: string): Promise<void>;
}
