/**
 * testcontainers-style view of a running container. Wraps an engine
 * `Container`; `container` gives the native handle for anything beyond this API.
 */
import { Readable } from 'node:stream';
import type { ContainerSpec } from '../container/spec.js';
import type { Container, ExecResult, ExitStatus } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import { type PortNumberOrTcp, parsePort } from './port.js';

export interface CompatExecOptions {
  readonly workingDir?: string;
  readonly user?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface CompatStopOptions {
  /** Milliseconds between the stop signal and SIGKILL. @default 10_000 */
  readonly timeout?: number;
  /** Remove the container after it stopped, as testcontainers does. @default true */
  readonly remove?: boolean;
}

export interface CompatRestartOptions {
  /** Milliseconds between the stop signal and SIGKILL. @default 10_000 */
  readonly timeout?: number;
}

export interface CompatLogOptions {
  /** Start with only the last N lines already written. */
  readonly tail?: number;
}

/** What `stop()` returns. */
export class StoppedGenericContainer {
  readonly #id: string;
  /** How the container's process ended. */
  readonly exitStatus: ExitStatus;

  constructor(id: string, exitStatus: ExitStatus) {
    this.#id = id;
    this.exitStatus = exitStatus;
  }

  getId(): string {
    return this.#id;
  }
}

export class StartedGenericContainer implements AsyncDisposable {
  /** The engine's handle: logs, kill, wait, info and everything else. */
  readonly container: Container;
  readonly #spec: ContainerSpec;

  constructor(container: Container, spec: ContainerSpec) {
    this.container = container;
    this.#spec = spec;
  }

  /** Always `127.0.0.1`: ports are published on IPv4 loopback only. */
  getHost(): string {
    return this.container.host;
  }

  getHostname(): string {
    return this.#spec.hostname ?? this.container.id.slice(0, 12);
  }

  /** Host port on 127.0.0.1 for a published container port (`8080` or `"8080/tcp"`). */
  getMappedPort(port: PortNumberOrTcp): number {
    return this.container.mappedPort(parsePort(port));
  }

  /** Host port of the first port given to `withExposedPorts`. */
  getFirstMappedPort(): number {
    const first = this.#spec.ports?.[0];
    if (first === undefined) {
      throw new CspecError('CSPEC_INVALID_SPEC', `container ${this.container.name} publishes no ports`, {
        hint: 'add withExposedPorts(...) before start()',
      });
    }
    return this.container.mappedPort(typeof first === 'number' ? first : first.container);
  }

  getId(): string {
    return this.container.id;
  }

  /** The container's name, without Docker's leading `/`. */
  getName(): string {
    return this.container.name;
  }

  getNetworkNames(): string[] {
    return (this.#spec.networks ?? []).map((n) => n.network);
  }

  /** The container's address in `networkName`. */
  getIpAddress(networkName: string): string {
    const ip = this.container.ipAddress;
    if (!this.getNetworkNames().includes(networkName) || ip === undefined) {
      throw new CspecError(
        'CSPEC_NETWORK_NOT_FOUND',
        `container ${this.container.name} is not attached to network "${networkName}"`,
        { hint: 'attach it with withNetwork(network) before start()' },
      );
    }
    return ip;
  }

  /** Runs a command; a string is run by `/bin/sh -c` (testcontainers splits on spaces). */
  exec(command: string | readonly string[], options: CompatExecOptions = {}): Promise<ExecResult> {
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    return this.container.exec(argv, {
      ...(options.workingDir !== undefined ? { workingDir: options.workingDir } : {}),
      ...(options.user !== undefined ? { user: options.user } : {}),
      ...(options.env !== undefined ? { env: options.env } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
  }

  /**
   * Combined stdout/stderr as a text stream that follows the container until
   * it exits; destroy the stream to stop following.
   */
  async logs(options: CompatLogOptions = {}): Promise<Readable> {
    const controller = new AbortController();
    const chunks = this.container.logs({
      follow: true,
      signal: controller.signal,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
    });
    const iterator = chunks[Symbol.asyncIterator]();
    // Node calls read() again only after a push, so pulls never overlap.
    const stream = new Readable({
      encoding: 'utf8',
      read() {
        iterator.next().then(
          (next) => this.push(next.done ? null : next.value),
          (error: unknown) => {
            if (!controller.signal.aborted) this.destroy(error as Error);
          },
        );
      },
      // Stop following at once, even while waiting for the next chunk.
      destroy(error, callback) {
        controller.abort();
        iterator.return?.().catch(() => {});
        callback(error);
      },
    });
    return stream;
  }

  async restart(options: CompatRestartOptions = {}): Promise<void> {
    await this.container.restart(options.timeout !== undefined ? { timeoutMs: options.timeout } : {});
  }

  /** Stops the container and, unless `remove: false`, removes it. */
  async stop(options: CompatStopOptions = {}): Promise<StoppedGenericContainer> {
    const exit = await this.container.stop(
      options.timeout !== undefined ? { timeoutMs: options.timeout } : {},
    );
    if (options.remove !== false) await this.container.remove();
    return new StoppedGenericContainer(this.container.id, exit);
  }

  /** Removes the container (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.container.remove();
  }
}
