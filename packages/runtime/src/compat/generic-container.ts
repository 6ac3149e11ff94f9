/**
 * testcontainers-style builder. A thin layer: it accumulates a `ContainerSpec`
 * and hands it to `engine.run`. Migrating code changes only its import.
 */
import { resolve } from 'node:path';
import { resolveEngine } from '../api/resolve-engine.js';
import type {
  BindMountSpec,
  ContainerSpec,
  FileSpec,
  PortSpec,
  ResourceSpec,
  TmpfsMountSpec,
} from '../container/spec.js';
import { createDebug } from '../debug.js';
import type { Engine } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import type { WaitSpec } from '../wait/spec.js';
import { GenericContainerBuilder } from './dockerfile-builder.js';
import type { StartedNetwork } from './network.js';
import { type PortNumberOrTcp, parsePort } from './port.js';
import { StartedGenericContainer } from './started-container.js';
import type { WaitStrategy } from './wait.js';

/** A container port, `"8080/tcp"`, or a fixed binding to a host port on 127.0.0.1. */
export type PortWithOptionalBinding = PortNumberOrTcp | { container: number; host: number };

export interface BindMount {
  readonly source: string;
  readonly target: string;
  /** @default 'rw' */
  readonly mode?: 'ro' | 'rw';
}

export interface ContentToCopy {
  readonly content: string | Buffer;
  readonly target: string;
  readonly mode?: number;
}

export interface FileToCopy {
  /** Host path; relative paths are resolved against the working directory. */
  readonly source: string;
  readonly target: string;
  readonly mode?: number;
}

/** The source directory's contents become `target`. */
export type DirectoryToCopy = FileToCopy;

export interface ResourcesQuota {
  /** Memory limit in GB (GiB, as testcontainers), e.g. 0.5. */
  readonly memory?: number;
  /** CPU quota in cores, e.g. 0.5. */
  readonly cpu?: number;
}

export interface GenericContainerOptions {
  /** @default the per-process engine from `getDefaultEngine()` */
  readonly engine?: Engine;
}

export interface StartOptions {
  readonly signal?: AbortSignal;
}

function invalid(message: string, hint?: string): CspecError {
  return new CspecError('CSPEC_INVALID_SPEC', message, hint === undefined ? {} : { hint });
}

const debug = createDebug('cspec:compat');
const GIB = 1024 ** 3;

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: GIB };
/** Flags cspec's tmpfs mounts always have (rw, nosuid, nodev). */
const TMPFS_DEFAULT_FLAGS = new Set(['rw', 'nosuid', 'nodev']);

/**
 * Parses Docker-style tmpfs options (`size=64m,mode=1777,rw,nosuid,nodev`).
 * `noexec` is accepted but not applied (cspec's tmpfs mounts allow exec);
 * any other option is rejected rather than silently dropped.
 */
export function parseTmpfs(target: string, options: string): TmpfsMountSpec {
  let sizeBytes: number | undefined;
  let mode: number | undefined;
  for (const raw of options.split(',')) {
    const option = raw.trim();
    if (option === '' || TMPFS_DEFAULT_FLAGS.has(option)) continue;
    if (option === 'noexec') {
      debug('tmpfs %s: "noexec" is not applied, cspec tmpfs mounts allow exec', target);
      continue;
    }
    const [key, value = ''] = option.split('=', 2);
    if (key === 'size') {
      const size = /^(\d+)([kmg]?)$/i.exec(value);
      const unit = SIZE_UNITS[size?.[2]?.toLowerCase() ?? ''];
      if (!size || unit === undefined) {
        throw invalid(`tmpfs ${target}: size "${value}" is not understood — use bytes or k, m, g (e.g. 64m)`);
      }
      sizeBytes = Number(size[1]) * unit;
    } else if (key === 'mode') {
      if (!/^[0-7]{3,4}$/.test(value))
        throw invalid(`tmpfs ${target}: mode "${value}" must be octal, e.g. 1777`);
      mode = Number.parseInt(value, 8);
    } else {
      throw invalid(
        `tmpfs ${target}: option "${option}" is not supported`,
        'cspec tmpfs mounts take size=, mode= and the flags rw, nosuid, nodev, noexec',
      );
    }
  }
  return {
    type: 'tmpfs',
    target,
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    ...(mode !== undefined ? { mode } : {}),
  };
}

function toPortSpec(port: PortWithOptionalBinding): number | PortSpec {
  return typeof port === 'object' ? { container: port.container, host: port.host } : parsePort(port);
}

function sourceFile(file: FileToCopy): FileSpec {
  return {
    target: file.target,
    source: resolve(file.source),
    ...(file.mode !== undefined ? { mode: file.mode } : {}),
  };
}

/** Builds a `ContainerSpec` the way testcontainers' `GenericContainer` is configured. */
export class GenericContainer {
  readonly #image: string;
  readonly #engine: Engine | undefined;
  readonly #ports: (number | PortSpec)[] = [];
  readonly #env: Record<string, string> = {};
  readonly #labels: Record<string, string> = {};
  readonly #securityOpt: string[] = [];
  readonly #mounts: (BindMountSpec | TmpfsMountSpec)[] = [];
  readonly #files: FileSpec[] = [];
  readonly #aliases: string[] = [];
  #command: string[] | undefined;
  #entrypoint: string[] | undefined;
  #wait: WaitStrategy | undefined;
  #startupTimeoutMs: number | undefined;
  #resources: ResourceSpec | undefined;
  #user: string | undefined;
  #workingDir: string | undefined;
  #name: string | undefined;
  #hostname: string | undefined;
  #network: StartedNetwork | undefined;

  constructor(image: string, options: GenericContainerOptions = {}) {
    this.#image = image;
    this.#engine = options.engine;
  }

  /**
   * An image built from a Dockerfile (`<context>/Dockerfile` unless named):
   * `await GenericContainer.fromDockerfile('./api').withBuildArgs({ A: '1' }).build('my/api:dev')`.
   */
  static fromDockerfile(
    context: string,
    dockerfile?: string,
    options: GenericContainerOptions = {},
  ): GenericContainerBuilder<GenericContainer> {
    return new GenericContainerBuilder(
      context,
      dockerfile,
      options,
      (image) => new GenericContainer(image, options),
    );
  }

  /** Publishes container ports on 127.0.0.1 (a free host port unless bound explicitly). */
  withExposedPorts(...ports: PortWithOptionalBinding[]): this {
    this.#ports.push(...ports.map(toPortSpec));
    return this;
  }

  withEnvironment(environment: Readonly<Record<string, string>>): this {
    Object.assign(this.#env, environment);
    return this;
  }

  withCommand(command: readonly string[]): this {
    this.#command = [...command];
    return this;
  }

  withEntrypoint(entrypoint: readonly string[]): this {
    this.#entrypoint = [...entrypoint];
    return this;
  }

  /** @default `Wait.forListeningPorts()` when ports are exposed, else none */
  withWaitStrategy(waitStrategy: WaitStrategy): this {
    this.#wait = waitStrategy;
    return this;
  }

  /** One deadline for image preparation, start and readiness. @default 60_000 */
  withStartupTimeout(startupTimeoutMs: number): this {
    this.#startupTimeoutMs = startupTimeoutMs;
    return this;
  }

  withBindMounts(bindMounts: readonly BindMount[]): this {
    for (const m of bindMounts) {
      const mode = m.mode ?? 'rw';
      if (mode !== 'ro' && mode !== 'rw') {
        throw invalid(`bind mount ${m.target}: mode "${String(mode)}" is not supported — use "ro" or "rw"`);
      }
      this.#mounts.push({
        type: 'bind',
        source: resolve(m.source),
        target: m.target,
        readonly: mode === 'ro',
      });
    }
    return this;
  }

  /** `{ '/path': 'size=64m,mode=1777' }` */
  withTmpFs(tmpFs: Readonly<Record<string, string>>): this {
    for (const [target, options] of Object.entries(tmpFs)) this.#mounts.push(parseTmpfs(target, options));
    return this;
  }

  withCopyContentToContainer(contentsToCopy: readonly ContentToCopy[]): this {
    for (const c of contentsToCopy) {
      const mode = c.mode !== undefined ? { mode: c.mode } : {};
      if (typeof c.content === 'string') this.#files.push({ target: c.target, content: c.content, ...mode });
      else if (Buffer.isBuffer(c.content)) {
        this.#files.push({ target: c.target, contentBase64: c.content.toString('base64'), ...mode });
      } else {
        throw invalid(`content for ${c.target} must be a string or a Buffer (streams are not supported)`);
      }
    }
    return this;
  }

  withCopyFilesToContainer(filesToCopy: readonly FileToCopy[]): this {
    this.#files.push(...filesToCopy.map(sourceFile));
    return this;
  }

  withCopyDirectoriesToContainer(directoriesToCopy: readonly DirectoryToCopy[]): this {
    this.#files.push(...directoriesToCopy.map(sourceFile));
    return this;
  }

  /** `memory` in GB (multiplied by 1024³), `cpu` in cores. */
  withResourcesQuota(quota: ResourcesQuota): this {
    this.#resources = {
      ...(quota.memory !== undefined ? { memoryBytes: Math.round(quota.memory * GIB) } : {}),
      ...(quota.cpu !== undefined ? { cpus: quota.cpu } : {}),
    };
    return this;
  }

  withUser(user: string): this {
    this.#user = user;
    return this;
  }

  withWorkingDir(workingDir: string): this {
    this.#workingDir = workingDir;
    return this;
  }

  withName(name: string): this {
    this.#name = name;
    return this;
  }

  withHostname(hostname: string): this {
    this.#hostname = hostname;
    return this;
  }

  withLabels(labels: Readonly<Record<string, string>>): this {
    Object.assign(this.#labels, labels);
    return this;
  }

  /**
   * Docker's `--security-opt` values: `seccomp=unconfined`, `seccomp=<profile.json>`,
   * `no-new-privileges`. Added to those given before.
   */
  withSecurityOpt(...securityOpt: string[]): this {
    this.#securityOpt.push(...securityOpt);
    return this;
  }

  /** Joins a network started with `new Network().start()` (one network per container). */
  withNetwork(network: StartedNetwork): this {
    this.#network = network;
    return this;
  }

  /** Names other members of the container's network resolve to it. */
  withNetworkAliases(...aliases: string[]): this {
    this.#aliases.push(...aliases);
    return this;
  }

  /** Not supported yet: throws rather than silently starting a fresh container. */
  withReuse(): this {
    throw invalid(
      'withReuse() is not supported by cspec yet',
      'remove withReuse(): cspec starts containers in tens of milliseconds, or share one container per suite via the Vitest plugin',
    );
  }

  /** The spec this builder describes (plain data; see `ContainerSpec`). */
  toSpec(): ContainerSpec {
    if (this.#aliases.length && !this.#network) {
      throw invalid(
        `network aliases ${this.#aliases.join(', ')} need a network`,
        'call withNetwork(await new Network().start()) as well',
      );
    }
    const chosen: WaitSpec | undefined =
      this.#wait?.toSpec() ?? (this.#ports.length ? { type: 'ports' } : undefined);
    // testcontainers treats "listening ports" without exposed ports as ready at once.
    const wait = chosen?.type === 'ports' && !chosen.ports && this.#ports.length === 0 ? undefined : chosen;
    const startupTimeoutMs = this.#startupTimeoutMs ?? this.#wait?.startupTimeoutMs;
    const spec: { -readonly [K in keyof ContainerSpec]: ContainerSpec[K] } = { image: this.#image };
    if (this.#name !== undefined) spec.name = this.#name;
    if (this.#command) spec.command = [...this.#command];
    if (this.#entrypoint) spec.entrypoint = [...this.#entrypoint];
    if (Object.keys(this.#env).length) spec.env = { ...this.#env };
    if (this.#user !== undefined) spec.user = this.#user;
    if (this.#workingDir !== undefined) spec.workingDir = this.#workingDir;
    if (this.#hostname !== undefined) spec.hostname = this.#hostname;
    if (this.#ports.length) spec.ports = [...this.#ports];
    if (this.#mounts.length) spec.mounts = [...this.#mounts];
    if (this.#files.length) spec.files = [...this.#files];
    if (this.#resources) spec.resources = this.#resources;
    if (this.#network) {
      spec.networks = [
        {
          network: this.#network.getName(),
          ...(this.#aliases.length ? { aliases: [...this.#aliases] } : {}),
        },
      ];
    }
    if (Object.keys(this.#labels).length) spec.labels = { ...this.#labels };
    if (this.#securityOpt.length) spec.securityOpt = [...this.#securityOpt];
    if (wait) spec.wait = wait;
    if (startupTimeoutMs !== undefined) spec.startupTimeoutMs = startupTimeoutMs;
    return spec;
  }

  /** Runs the container and waits until it is ready. */
  async start(options: StartOptions = {}): Promise<StartedGenericContainer> {
    const spec = this.toSpec();
    const engine = await resolveEngine(this.#engine);
    const container = await engine.run(spec, options.signal ? { signal: options.signal } : {});
    return new StartedGenericContainer(container, spec);
  }
}
