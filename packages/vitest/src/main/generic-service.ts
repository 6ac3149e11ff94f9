/** Any image as a service: started once, its ports handed to tests. */
import { resolve } from 'node:path';
import type { WaitSpec } from '@cspec/runtime';
import type { ProvidedGeneric } from '../provided.js';
import type { GenericServiceOptions } from '../services/definitions.js';
import type { ServiceContext, StartedService } from './service-context.js';

export async function startGeneric(
  ctx: ServiceContext,
  name: string,
  options: GenericServiceOptions,
): Promise<StartedService> {
  const ports = options.ports ?? [];
  if (options.build) {
    const build = options.build;
    const started = performance.now();
    const result = await ctx.engine.build({
      context: resolve(ctx.root, build.context),
      ...(build.dockerfile ? { dockerfile: resolve(ctx.root, build.dockerfile) } : {}),
      ...(build.args ? { buildArgs: build.args } : {}),
      ...(build.target ? { target: build.target } : {}),
      tag: options.image,
      signal: ctx.signal,
    });
    const cached = result.steps.filter((s) => s.cached).length;
    ctx.log(
      `${name}: built ${options.image} from ${build.context} in ${Math.round(performance.now() - started)} ms (${cached} of ${result.steps.length} steps cached)`,
    );
  }
  const container = await ctx.engine.run(
    {
      ...(options.container ?? {}),
      image: options.image,
      ...(options.command ? { command: options.command } : {}),
      ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
      ...(options.env ? { env: options.env } : {}),
      ports,
      networks: [...(options.container?.networks ?? []), ...ctx.networks],
      labels: { ...(options.container?.labels ?? {}), ...ctx.labels },
      ...(options.wait ? { wait: toWaitSpec(name, options.wait, ports) } : {}),
    },
    { signal: ctx.signal },
  );
  const provided: ProvidedGeneric = {
    kind: 'service',
    name,
    containerId: container.id,
    image: options.image,
    host: container.host,
    ports: container.ports,
    scope: options.scope ?? 'test',
  };
  return { container, provided, detail: ports.map((p) => `${p}->${container.mappedPort(p)}`).join(' ') };
}

export function toWaitSpec(
  name: string,
  wait: NonNullable<GenericServiceOptions['wait']>,
  ports: readonly number[],
): WaitSpec {
  if (!('http' in wait)) return wait;
  const port = wait.port ?? ports[0];
  if (port === undefined) {
    throw new Error(`cspec: service "${name}": wait { http } needs a port — add ports: [8080] or wait.port`);
  }
  return { type: 'http', port, path: wait.http };
}
