import type { Redis } from 'ioredis';

/** Read-through cache: computes a value once, serves it from Redis until it expires. */
export class ReadThroughCache {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  async get<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const cached = await this.redis.get(key);
    if (cached !== null) return JSON.parse(cached) as T;
    const value = await compute();
    await this.redis.set(key, JSON.stringify(value), 'EX', this.ttlSeconds);
    return value;
  }

  async invalidate(prefix: string): Promise<number> {
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 100);
      if (keys.length) removed += await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return removed;
  }
}
