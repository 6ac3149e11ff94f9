/**
 * The built-in service images with the real clients: cspec/postgres and
 * cspec/redis are built from Debian's packages on first use (cached after)
 * and honour the official images' conventions, so testcontainers-style code
 * written for `postgres:15` and `redis:7` works with them unchanged.
 */
import { GenericContainer, Wait } from '@cspec/runtime';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useEngine } from '../support/engine.js';

const engine = useEngine();

describe('built-in service images', () => {
  it.each([
    // The official image logs this twice: once for the init server, once for the real one.
    ['cspec/postgres:15', '15.', Wait.forLogMessage(/database system is ready to accept connections/, 2)],
    // The image's HEALTHCHECK (pg_isready over TCP), as with Docker.
    ['cspec/postgres:17', '17.', Wait.forHealthCheck()],
  ])('%s takes POSTGRES_USER/PASSWORD/DB and runs init scripts; pg connects', async (image, version, wait) => {
    const container = await new GenericContainer(image)
      .withEnvironment({ POSTGRES_USER: 'app', POSTGRES_PASSWORD: 's3cret', POSTGRES_DB: 'shop' })
      .withCopyContentToContainer([
        {
          content: 'CREATE TABLE items (id serial PRIMARY KEY, name text);',
          target: '/docker-entrypoint-initdb.d/1-schema.sql',
        },
      ])
      .withExposedPorts(5432)
      .withWaitStrategy(wait)
      .withStartupTimeout(300_000)
      .start();
    const client = new pg.Client({
      host: container.getHost(),
      port: container.getMappedPort(5432),
      user: 'app',
      password: 's3cret',
      database: 'shop',
    });
    try {
      await client.connect();
      await client.query("INSERT INTO items (name) VALUES ('apple'), ('pear')");
      const { rows } = await client.query(
        'SELECT current_user, current_database(), count(*)::int AS n FROM items',
      );
      expect(rows).toEqual([{ current_user: 'app', current_database: 'shop', n: 2 }]);
      expect((await client.query('SHOW server_version')).rows[0].server_version).toMatch(
        new RegExp(`^${version}`),
      );
      const wrong = new pg.Client({
        host: container.getHost(),
        port: container.getMappedPort(5432),
        user: 'app',
        password: 'nope',
        database: 'shop',
      });
      await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
      await wrong.end().catch(() => {});
    } finally {
      await client.end();
      await container.stop();
    }
  });

  it('cspec/postgres:15 refuses to start without a password, like the official image', async () => {
    const error = await engine()
      .run({ image: 'cspec/postgres:15', ports: [5432], wait: { type: 'ports' }, startupTimeoutMs: 60_000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CSPEC_CONTAINER_NOT_READY' });
    expect((error as Error).message).toContain('You must specify POSTGRES_PASSWORD');
  });

  it.each([
    ['cspec/mariadb:10.11', '10.11.', Wait.forLogMessage(/ready for connections/, 2)],
    ['cspec/mariadb:11', '11.', Wait.forHealthCheck()],
  ])('%s takes MARIADB_* settings and init scripts; mysql2 connects', async (image, version, wait) => {
    const container = await new GenericContainer(image)
      .withEnvironment({
        MARIADB_ROOT_PASSWORD: 'r00t',
        MARIADB_DATABASE: 'shop',
        MARIADB_USER: 'app',
        MARIADB_PASSWORD: "it's-secret",
      })
      .withCopyContentToContainer([
        {
          content: 'CREATE TABLE items (id INT PRIMARY KEY, name TEXT);',
          target: '/docker-entrypoint-initdb.d/1.sql',
        },
      ])
      .withExposedPorts(3306)
      .withWaitStrategy(wait)
      .withStartupTimeout(300_000)
      .start();
    const connect = (user: string, password: string) =>
      mysql.createConnection({
        host: container.getHost(),
        port: container.getMappedPort(3306),
        user,
        password,
        database: 'shop',
      });
    const app = await connect('app', "it's-secret");
    try {
      await app.query("INSERT INTO items VALUES (1, 'apple')");
      const [rows] = await app.query(
        'SELECT CURRENT_USER() AS who, DATABASE() AS db, COUNT(*) AS n, VERSION() AS v FROM items',
      );
      const [row] = rows as { who: string; db: string; n: number; v: string }[];
      expect([row?.who, row?.db, row?.n]).toEqual(['app@%', 'shop', 1]);
      expect(row?.v.startsWith(version)).toBe(true);
      const root = await connect('root', 'r00t');
      await root.end();
      await expect(connect('root', 'wrong')).rejects.toThrow(/Access denied/);
    } finally {
      await app.end();
      await container.stop();
    }
  });

  it('cspec/redis:7 serves ioredis, with arguments passed to redis-server', async () => {
    const container = await new GenericContainer('cspec/redis:7')
      .withCommand(['--requirepass', 'pw'])
      .withExposedPorts(6379)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(300_000)
      .start();
    const redis = new Redis({
      host: container.getHost(),
      port: container.getMappedPort(6379),
      password: 'pw',
      lazyConnect: true,
    });
    try {
      await redis.connect();
      await redis.set('greeting', 'hello');
      expect(await redis.get('greeting')).toBe('hello');
      expect(await redis.info('server')).toMatch(/redis_version:7\./);
    } finally {
      redis.disconnect();
      await container.stop();
    }
  });
});
