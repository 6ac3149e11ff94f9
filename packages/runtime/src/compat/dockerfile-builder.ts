/**
 * testcontainers' `GenericContainer.fromDockerfile(context, dockerfile?)`:
 * configure a build, then `build()` it with the native engine into a
 * `GenericContainer` for the new image.
 */
import { randomBytes } from 'node:crypto';
import { resolveEngine } from '../api/resolve-engine.js';
import type { Engine } from '../engine/engine.js';

export interface DockerfileBuildOptions {
  /** @default the per-process engine from `getDefaultEngine()` */
  readonly engine?: Engine;
}

export class GenericContainerBuilder<Container> {
  readonly #context: string;
  readonly #dockerfile: string | undefined;
  readonly #engine: Engine | undefined;
  readonly #make: (image: string) => Container;
  readonly #buildArgs: Record<string, string> = {};
  #target: string | undefined;

  constructor(
    context: string,
    dockerfile: string | undefined,
    options: DockerfileBuildOptions,
    make: (image: string) => Container,
  ) {
    this.#context = context;
    this.#dockerfile = dockerfile;
    this.#engine = options.engine;
    this.#make = make;
  }

  withBuildArgs(args: Readonly<Record<string, string>>): this {
    Object.assign(this.#buildArgs, args);
    return this;
  }

  withTarget(target: string): this {
    this.#target = target;
    return this;
  }

  /** Accepted for compatibility: cspec never pulls during a build (base images come from its cache). */
  withPullPolicy(_policy: unknown): this {
    return this;
  }

  /** Accepted for compatibility: every step is cached by content; there is nothing to turn off. */
  withCache(_useCache: boolean): this {
    return this;
  }

  /**
   * Builds the image (tagged `image`, or a generated `localhost/cspec-build-…:latest`)
   * and returns a container to configure and start from it.
   */
  async build(image?: string): Promise<Container> {
    const engine = await resolveEngine(this.#engine);
    const tag = image ?? `localhost/cspec-build-${randomBytes(6).toString('hex')}:latest`;
    await engine.build({
      context: this.#context,
      ...(this.#dockerfile ? { dockerfile: this.#dockerfile } : {}),
      ...(this.#target ? { target: this.#target } : {}),
      buildArgs: this.#buildArgs,
      tag,
    });
    return this.#make(tag);
  }
}
