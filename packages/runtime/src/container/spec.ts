/**
 * The declarative core: a plain, serializable description of a container.
 * Everything else (the builder, the CLI, the Vitest plugin) produces one.
 */
import type { WaitSpec } from '../wait/spec.js';

export interface PortSpec {
  /** Port inside the container. */
  readonly container: number;
  /** Host port on 127.0.0.1; omitted or 0 lets the kernel choose (no races). */
  readonly host?: number;
}

export interface BindMountSpec {
  readonly type: 'bind';
  /** Absolute host path. */
  readonly source: string;
  /** Absolute path in the container. */
  readonly target: string;
  /** @default false */
  readonly readonly?: boolean;
}

export interface TmpfsMountSpec {
  readonly type: 'tmpfs';
  readonly target: string;
  /** Size limit in bytes. @default half of the host's memory (the kernel's default) */
  readonly sizeBytes?: number;
  /** @default 0o1777 */
  readonly mode?: number;
}

/**
 * A copy-on-write view of a host directory: the container may create, change
 * and delete anything under `target`, and the host directory is never
 * modified. The changes live in an overlay layer kept with the container's
 * writable layer (`writableLayer`) and are removed with the container.
 * Mounts under `source` on the host are not visible (overlayfs shows one
 * filesystem); the host directory must not change while the container runs.
 */
export interface OverlayMountSpec {
  readonly type: 'overlay';
  /** Absolute path of a host directory; it may not contain `:` or `,` (overlay options syntax). */
  readonly source: string;
  /** Absolute path in the container. */
  readonly target: string;
}

export type MountSpec = BindMountSpec | TmpfsMountSpec | OverlayMountSpec;

/** A file placed into the container's writable layer before it starts. */
export interface FileSpec {
  /** Absolute path in the container. */
  readonly target: string;
  /** Text content (UTF-8). Exactly one of `content`, `contentBase64`, `source`. */
  readonly content?: string;
  readonly contentBase64?: string;
  /** Host file or directory copied recursively. */
  readonly source?: string;
  /** @default 0o644 for files from content, the source's mode otherwise */
  readonly mode?: number;
  /** Owner uid/gid inside the container. @default 0 */
  readonly uid?: number;
  readonly gid?: number;
}

export interface ResourceSpec {
  /** Memory limit in bytes (swap disallowed). Minimum 6 MiB. */
  readonly memoryBytes?: number;
  /** CPU quota in cores, e.g. 0.5. */
  readonly cpus?: number;
  /** Maximum number of processes (pids cgroup). */
  readonly pids?: number;
}

export interface NetworkAttachment {
  /** Name of a network created with `createNetwork` / `new Network().start()`. */
  readonly network: string;
  /** Extra host names other members resolve to this container. */
  readonly aliases?: readonly string[];
}

/**
 * How an image's first-start work (e.g. Postgres initialising its data
 * directory) is made cacheable: the image prints `doneLog` once that work is
 * complete, and on a later start with the same directory in place it skips
 * the work. See docs/init-cache.md.
 */
export interface InitCacheSpec {
  /** Regular expression matching the log line printed when the first-start work is done. */
  readonly doneLog: string;
  /** The directory that work fills; a mount on, over or under it makes the start uncacheable. */
  readonly dataDir?: string;
}

export interface ContainerSpec {
  /** Image reference, e.g. `cspec/debian:bookworm`. */
  readonly image: string;
  /** Unique name; generated when omitted. */
  readonly name?: string;
  /** Replaces the image's CMD. */
  readonly command?: readonly string[];
  /** Replaces the image's ENTRYPOINT. */
  readonly entrypoint?: readonly string[];
  /** Added to (and overriding) the image's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** `name`, `uid`, `name:group` or `uid:gid`. @default the image's user, else root */
  readonly user?: string;
  /** @default the image's working dir, else `/` */
  readonly workingDir?: string;
  /** @default the first 12 characters of the container id */
  readonly hostname?: string;
  readonly ports?: readonly (number | PortSpec)[];
  readonly mounts?: readonly MountSpec[];
  readonly files?: readonly FileSpec[];
  readonly resources?: ResourceSpec;
  readonly networks?: readonly NetworkAttachment[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Readiness; @default none (started means running) */
  readonly wait?: WaitSpec;
  /** One deadline for the start and readiness, once the image is in the store (building or pulling it is not counted). @default 60_000 */
  readonly startupTimeoutMs?: number;
  /** Where the writable layer lives. @default 'tmpfs' */
  readonly writableLayer?: 'tmpfs' | 'disk';
  /** Signal sent by `stop()`. @default 'SIGTERM' */
  readonly stopSignal?: string;
  /**
   * Start from a cached copy of the image's first-start work (docs/init-cache.md):
   * `true` requires it, `false` turns it off, an object declares the contract
   * for an image that does not (labels `dev.cspec.init-cache.*`).
   * @default used when the image declares the contract
   */
  readonly initCache?: boolean | InitCacheSpec;
  /**
   * As Docker's `--security-opt`: `seccomp=unconfined` turns the seccomp
   * filter off, `seccomp=<file>` replaces Docker's default profile with a JSON
   * profile (Docker's or OCI's format), `no-new-privileges` sets
   * PR_SET_NO_NEW_PRIVS. See docs/runtime.md, "Security options".
   * @default [] (Docker's default seccomp profile, new privileges allowed)
   */
  readonly securityOpt?: readonly string[];
}
