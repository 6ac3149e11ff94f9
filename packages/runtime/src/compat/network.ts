/**
 * testcontainers-style networks: containers joined to the same network reach
 * each other by name and alias.
 */
import { resolveEngine } from '../api/resolve-engine.js';
import type { Engine, NetworkInfo } from '../engine/engine.js';

export interface NetworkOptions {
  /** @default the per-process engine from `getDefaultEngine()` */
  readonly engine?: Engine;
  /** @default a generated name */
  readonly name?: string;
}

export class StartedNetwork implements AsyncDisposable {
  readonly #engine: Engine;
  readonly #info: NetworkInfo;
  #stopped: Promise<void> | undefined;

  constructor(engine: Engine, info: NetworkInfo) {
    this.#engine = engine;
    this.#info = info;
  }

  getName(): string {
    return this.#info.name;
  }

  /** cspec networks have no separate id: this is the name. */
  getId(): string {
    return this.#info.name;
  }

  /** Subnet and gateway of the network. */
  get info(): NetworkInfo {
    return this.#info;
  }

  /** Removes the network. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= this.#engine.removeNetwork(this.#info.name);
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export class Network {
  readonly #options: NetworkOptions;

  constructor(options: NetworkOptions = {}) {
    this.#options = options;
  }

  async start(): Promise<StartedNetwork> {
    const engine = await resolveEngine(this.#options.engine);
    return new StartedNetwork(engine, await engine.createNetwork(this.#options.name));
  }
}
