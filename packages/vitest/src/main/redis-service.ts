/**
 * Redis in the main process: one server with many logical databases; their
 * free list lives in database 0 (a set), so workers hand them out to tests
 * with one atomic SPOP and no coordination of their own.
 */
import type { Redis } from 'ioredis';
import { type ProvidedRedis, REDIS_FREE_LIST } from '../provided.js';
import type { RedisOptions } from '../services/definitions.js';
import { peer } from '../shared/peer.js';
import type { ServiceContext, StartedService } from './service-context.js';

export async function startRedis(
  ctx: ServiceContext,
  name: string,
  options: RedisOptions,
): Promise<StartedService> {
  const RedisClient = await peer<typeof Redis>('ioredis', 'redis');
  const image = options.image ?? 'cspec/redis:7';
  const databases = options.databases ?? 256;
  const container = await ctx.engine.run(
    {
      image,
      command: ['redis-server', '--databases', String(databases), '--save', '', '--appendonly', 'no'],
      ports: [6379],
      networks: ctx.networks,
      labels: ctx.labels,
      wait: { type: 'healthcheck' },
    },
    { signal: ctx.signal },
  );
  try {
    const port = container.mappedPort(6379);
    const admin = new RedisClient({ host: container.host, port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      const indexes = Array.from({ length: databases - 1 }, (_, i) => i + 1);
      await admin.sadd(REDIS_FREE_LIST, ...indexes);
    } finally {
      admin.disconnect();
    }
    const provided: ProvidedRedis = {
      kind: 'redis',
      name,
      containerId: container.id,
      image,
      host: container.host,
      port,
      databases,
      scope: options.scope ?? 'test',
    };
    return { container, provided, detail: `${databases - 1} databases for tests` };
  } catch (error) {
    await container.remove();
    throw error;
  }
}
