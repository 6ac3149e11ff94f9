import type { Writable } from 'node:stream';
/**
 * The engine boundary. `native` implements it on Linux with an OCI runtime;
 * a Docker Engine backend can implement it later without touching callers.
 */
import type { ContainerSpec } from '../container/spec.js';
import type { BuildOptions, BuildResult } from '../image/build/builder.js';
import type { CommitChanges } from '../image/commit-image.js';
import type { ImageProgress, ImagePruneReport, ImageService, LoadedImage } from '../image/types.js';
import type { Change } from '../snapshot/upper-changes.js';
import type { PreparedImage, PrepareImageRequest } from './prepare-image.js';

export interface ExitStatus {
  /** Exit code; 128 + n when killed by signal n. */
  readonly exitCode: number;
  /**
   * Set when the kernel's OOM killer killed a process of the container's
   * cgroup: its init if `exitCode` is 137, otherwise one of its children.
   */
  readonly oomKilled: boolean;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly status: ContainerStatus;
  readonly createdAt: string;
  /** When it exited (ISO 8601), if it has. */
  readonly finishedAt: string | undefined;
  readonly command: readonly string[];
  /** container port -> host port on 127.0.0.1 */
  readonly ports: Readonly<Record<number, number>>;
  readonly exit: ExitStatus | undefined;
  readonly pid: number | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** IP address inside its networks (if any). */
  readonly ipAddress: string | undefined;
  /** True when the container outlives the process that started it (`cspec run -d`). */
  readonly detached: boolean;
}

export interface ExecOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly workingDir?: string;
  readonly signal?: AbortSignal;
  /** Text written to the command's stdin. */
  readonly stdin?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr interleaved as produced. */
  readonly output: string;
}

export interface LogOptions {
  /** Keep streaming until the container exits or the signal aborts. @default false */
  readonly follow?: boolean;
  /** Only the last N lines of what is already there. */
  readonly tail?: number;
  readonly signal?: AbortSignal;
}

export interface StopOptions {
  /** Time between the stop signal and SIGKILL. @default 10_000 */
  readonly timeoutMs?: number;
}

/** A container handle. Disposing it removes the container. */
export interface Container extends AsyncDisposable {
  readonly id: string;
  readonly name: string;
  /** Always `127.0.0.1`: ports are published on IPv4 loopback only. */
  readonly host: string;
  info(): Promise<ContainerInfo>;
  /** Host port for a published container port; throws if it is not published. */
  mappedPort(containerPort: number): number;
  readonly ports: Readonly<Record<number, number>>;
  readonly ipAddress: string | undefined;
  exec(command: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Combined stdout/stderr as chunks of text. */
  logs(options?: LogOptions): AsyncIterable<string>;
  /** Combined stdout/stderr so far. */
  logText(options?: { readonly tail?: number }): Promise<string>;
  /** Resolves when the container exits. */
  wait(): Promise<ExitStatus>;
  kill(signal?: string): Promise<void>;
  stop(options?: StopOptions): Promise<ExitStatus>;
  /** Stops and starts again with the same filesystem, ports and networks. */
  restart(options?: StopOptions): Promise<void>;
  /** What the container changed in its filesystem, like `docker diff`. */
  diff(): Promise<Change[]>;
  /**
   * Its image plus its changes as a new image tagged `reference` (like
   * `docker commit`). Stop the container first for a consistent snapshot.
   */
  commit(reference: string, changes?: CommitChanges): Promise<LoadedImage>;
  /**
   * Its filesystem as it sees it, as one tar (like `docker export`): to a
   * file (written whole, then renamed into place) or a stream.
   */
  export(output: string | Writable, options?: { readonly signal?: AbortSignal }): Promise<void>;
  /** Kills if running and removes every resource. Idempotent. */
  remove(): Promise<void>;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ImageProgress) => void;
  /**
   * The container outlives this process (like `docker run -d`): it is not
   * removed when the session ends; `cspec rm` / `prune` remove it.
   * @default false
   */
  readonly detached?: boolean;
  /**
   * Give the container this process's stdin/stdout/stderr instead of a log
   * file (`cspec run` attached). Its stderr comes through a pipe that drops
   * the OCI runtime's own failure line (reported as a CspecError instead).
   * @default false
   */
  readonly inheritStdio?: boolean;
}

export interface NetworkOptions {
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The network outlives this process (like `docker network create`; the
   * CLI's `cspec network create` sets it): it stays until `removeNetwork`,
   * `cspec network rm` or `cspec prune --all`. Otherwise it belongs to this
   * engine's session like its containers: `close()` removes it after them,
   * and so do the session watcher and `cspec prune` once the process is gone.
   * @default false
   */
  readonly detached?: boolean;
  /**
   * @deprecated networks are session-owned by default; `ephemeral: false`
   * means `detached: true`.
   */
  readonly ephemeral?: boolean;
}

export interface NetworkInfo {
  readonly name: string;
  readonly subnet: string;
  readonly gateway: string;
}

export interface PruneReport {
  readonly containersRemoved: number;
  readonly networksRemoved: number;
  readonly sessionsRemoved: number;
}

export interface Engine extends AsyncDisposable {
  readonly kind: 'native' | 'docker';
  readonly images: ImageService;
  /** Creates, starts and waits for readiness; on failure removes everything and throws. */
  run(spec: ContainerSpec, options?: RunOptions): Promise<Container>;
  /**
   * An image after some first-start work, made once and reused: runs `spec`,
   * does `prepare`, stops it cleanly and commits it as `reference` — unless
   * that tag exists already. Safe when several processes ask at once.
   */
  prepareImage(request: PrepareImageRequest): Promise<PreparedImage>;
  /** Builds an image from a Dockerfile (`cspec image build`). */
  build(options: BuildOptions): Promise<BuildResult>;
  /** A handle to an existing container (also one started by another process). */
  container(idOrName: string): Promise<Container>;
  list(options?: { readonly all?: boolean }): Promise<ContainerInfo[]>;
  createNetwork(name?: string, options?: NetworkOptions): Promise<NetworkInfo>;
  removeNetwork(name: string): Promise<void>;
  listNetworks(): Promise<NetworkInfo[]>;
  /** Removes leftovers of dead sessions, and with `all` every container and network. */
  prune(options?: { readonly all?: boolean }): Promise<PruneReport>;
  /** Removes image content no tag and no container needs (see ImageService.prune). */
  pruneImages(options?: { readonly graceMs?: number }): Promise<ImagePruneReport>;
  /** Removes every container this engine started (not detached ones) and ends the session. */
  close(): Promise<void>;
}
