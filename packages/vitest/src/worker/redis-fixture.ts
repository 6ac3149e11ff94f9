/**
 * A Redis keyspace per test: a logical database taken from the server's free
 * list (one atomic SPOP, safe across workers), flushed and returned when the
 * test ends. When every database is taken, tests share database 0 under a key
 * prefix of their own instead.
 */
import type { Redis } from 'ioredis';
import { type ProvidedRedis, REDIS_FREE_LIST } from '../provided.js';
import { uniqueName } from './unique-name.js';

export interface RedisKeyspace {
  /** `redis://127.0.0.1:port/db` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The logical database this test owns (0 when it shares database 0 under `keyPrefix`). */
  readonly db: number;
  /** Empty when the test owns a database; otherwise the prefix its keys must carry. */
  readonly keyPrefix: string;
  /** An ioredis client on this keyspace (connects on first command, closed after the test). */
  readonly client: Redis;
}

export class RedisKeyspaces {
  readonly #provided: ProvidedRedis;
  readonly #Redis: typeof Redis;
  readonly #admin: Redis;

  constructor(provided: ProvidedRedis, RedisClient: typeof Redis) {
    this.#provided = provided;
    this.#Redis = RedisClient;
    this.#admin = new RedisClient({ host: provided.host, port: provided.port, lazyConnect: true });
    this.#admin.on('error', () => {});
  }

  async create(): Promise<RedisKeyspace> {
    const p = this.#provided;
    const taken = await this.#admin.spop(REDIS_FREE_LIST);
    const db = taken === null ? 0 : Number(taken);
    const keyPrefix = taken === null ? `${uniqueName('cspec')}:` : '';
    const client = new this.#Redis({ host: p.host, port: p.port, db, keyPrefix, lazyConnect: true });
    client.on('error', () => {});
    return { url: `redis://${p.host}:${p.port}/${db}`, host: p.host, port: p.port, db, keyPrefix, client };
  }

  async release(keyspace: RedisKeyspace): Promise<void> {
    keyspace.client.disconnect();
    if (keyspace.keyPrefix === '') {
      // One round trip; the connection ends back on database 0.
      await this.#admin
        .multi()
        .select(keyspace.db)
        .flushdb()
        .select(0)
        .sadd(REDIS_FREE_LIST, keyspace.db)
        .exec();
      return;
    }
    let cursor = '0';
    do {
      const [next, keys] = await this.#admin.scan(cursor, 'MATCH', `${keyspace.keyPrefix}*`, 'COUNT', 1000);
      if (keys.length) await this.#admin.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    this.#admin.disconnect();
  }
}
