/**
 * Starts a run's services in Vitest's main process — all at once, except
 * where one depends on another — on a network of their own, and stops them
 * all when the run ends. A failed start stops everything already started and
 * fails with the service's name, image and log tail.
 */
import { type Container, createEngine, type Engine } from '@cspec/runtime';
import type { ProvidedService, ProvidedServices } from '../provided.js';
import type { ServiceDefinition } from '../services/definitions.js';
import { startGeneric } from './generic-service.js';
import { startMariadb } from './mariadb-service.js';
import { seenFromNetwork } from './network-view.js';
import { startPostgres } from './postgres-service.js';
import { startRedis } from './redis-service.js';
import type { ServiceContext, StartedService } from './service-context.js';

export interface RunningServices {
  /** Connection data as seen from the host (127.0.0.1 and published ports). */
  readonly provided: ProvidedServices;
  /** The services' network: a container that joins it reaches each service by its name. */
  readonly network: string;
  /** Connection data as seen from a container on `network` (service names, container ports). */
  readonly inNetwork: ProvidedServices;
  stop(): Promise<void>;
}

export interface StartServicesOptions {
  readonly root: string;
  readonly log?: (message: string) => void;
  /** For tests: an engine to use instead of a new one (it is not closed). */
  readonly engine?: Engine;
}

/** Names a test context already uses: a service cannot take them. */
const RESERVED = new Set(['task', 'expect', 'skip', 'signal', 'annotate', 'onTestFailed', 'onTestFinished']);

export function checkServiceNames(definitions: Readonly<Record<string, ServiceDefinition>>): void {
  for (const [name, definition] of Object.entries(definitions)) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name) || RESERVED.has(name)) {
      throw new Error(
        `cspec: service name "${name}" cannot be a fixture name — use an identifier that is not one of ${[...RESERVED].join(', ')}`,
      );
    }
    if (definition?.kind === undefined) {
      throw new Error(
        `cspec: service "${name}" is not a service — declare it with postgres(), redis(), mariadb() or service()`,
      );
    }
    if (definition.kind !== 'service') continue;
    for (const dependency of definition.options.dependsOn ?? []) {
      if (!(dependency in definitions)) {
        throw new Error(`cspec: service "${name}" depends on "${dependency}", which is not declared`);
      }
    }
  }
  // A cycle would wait forever.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    if (visiting.has(name))
      throw new Error(`cspec: services depend on each other in a cycle: ${[...path, name].join(' -> ')}`);
    visiting.add(name);
    const definition = definitions[name];
    if (definition?.kind === 'service') {
      for (const dependency of definition.options.dependsOn ?? []) visit(dependency, [...path, name]);
    }
    visiting.delete(name);
    done.add(name);
  };
  for (const name of Object.keys(definitions)) visit(name, []);
}

export async function startServices(
  definitions: Readonly<Record<string, ServiceDefinition>>,
  options: StartServicesOptions,
): Promise<RunningServices> {
  checkServiceNames(definitions);
  const log = options.log ?? (() => {});
  const engine = options.engine ?? (await createEngine());
  const abort = new AbortController();
  const containers: Container[] = [];
  let network: string | undefined;
  const stop = async (): Promise<void> => {
    abort.abort();
    await Promise.allSettled(containers.map((c) => c.remove()));
    if (network) await engine.removeNetwork(network).catch(() => {});
    if (!options.engine) await engine.close();
  };
  try {
    network = (
      await engine.createNetwork(undefined, { labels: { 'dev.cspec.vitest': 'services' }, ephemeral: true })
    ).name;
    const ctx: ServiceContext = {
      engine,
      root: options.root,
      networks: [],
      labels: { 'dev.cspec.vitest': 'service' },
      signal: abort.signal,
      log,
    };
    const started = new Map<string, Promise<StartedService>>();
    // The first failure is the cause; the services it aborted fail after it.
    let firstFailure: Error | undefined;
    const start = (name: string): Promise<StartedService> => {
      let promise = started.get(name);
      if (promise) return promise;
      const definition = definitions[name] as ServiceDefinition;
      promise = (async () => {
        if (definition.kind === 'service') await Promise.all((definition.options.dependsOn ?? []).map(start));
        const begun = performance.now();
        const service = await startOne(
          { ...ctx, networks: [{ network: network as string, aliases: [name] }] },
          name,
          definition,
        ).catch((error: unknown) => {
          const failure = describeFailure(name, definition, error);
          firstFailure ??= failure;
          abort.abort();
          throw failure;
        });
        containers.push(service.container);
        log(
          `${name} (${service.provided.image}) ready in ${Math.round(performance.now() - begun)} ms — ${service.detail}`,
        );
        return service;
      })();
      started.set(name, promise);
      return promise;
    };
    const results = await Promise.allSettled(Object.keys(definitions).map(start));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw firstFailure ?? failure.reason;
    const services: Record<string, ProvidedService> = {};
    const inNetwork: Record<string, ProvidedService> = {};
    for (const result of results) {
      if (result.status !== 'fulfilled') continue;
      const { provided, container } = result.value;
      services[provided.name] = provided;
      inNetwork[provided.name] = seenFromNetwork(provided, container.ports);
    }
    return { provided: { services }, network, inNetwork: { services: inNetwork }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function startOne(ctx: ServiceContext, name: string, definition: ServiceDefinition): Promise<StartedService> {
  switch (definition.kind) {
    case 'postgres':
      return startPostgres(ctx, name, definition.options);
    case 'redis':
      return startRedis(ctx, name, definition.options);
    case 'mariadb':
      return startMariadb(ctx, name, definition.options);
    case 'service':
      return startGeneric(ctx, name, definition.options);
  }
}

function describeFailure(name: string, definition: ServiceDefinition, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith(`cspec: service "${name}"`)) return error as Error;
  const image = definition.options.image ?? `the default ${definition.kind} image`;
  const hint = (error as { hint?: unknown })?.hint;
  // The message carries everything (the runtime's errors include the log tail); no `cause`:
  // Vitest rewrites the name of every cause it prints, which some error types do not allow.
  return new Error(
    `cspec: service "${name}" (${image}) failed to start: ${message}${typeof hint === 'string' ? `\n  hint: ${hint}` : ''}`,
  );
}
