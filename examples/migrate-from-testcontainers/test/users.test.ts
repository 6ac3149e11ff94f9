// Written for testcontainers-node. The only change: the import below read
//   import { GenericContainer, type StartedTestContainer, Wait } from 'testcontainers';
// (and the image is cspec's Postgres, built locally, instead of Docker Hub's postgres:17).
import { GenericContainer, type StartedGenericContainer as StartedTestContainer, Wait } from 'cspec';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';

let container: StartedTestContainer;
let client: pg.Client;

beforeAll(async () => {
  container = await new GenericContainer('cspec/postgres:17')
    .withEnvironment({ POSTGRES_PASSWORD: 'secret', POSTGRES_DB: 'app' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forHealthCheck())
    .start();
  client = new pg.Client({
    host: container.getHost(),
    port: container.getMappedPort(5432),
    user: 'postgres',
    password: 'secret',
    database: 'app',
  });
  await client.connect();
  await client.query('CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL)');
});

afterAll(async () => {
  await client?.end();
  await container?.stop();
});

test('inserts and reads a user', async () => {
  await client.query("INSERT INTO users (email) VALUES ('ada@example.com')");
  const { rows } = await client.query('SELECT email FROM users');
  expect(rows).toEqual([{ email: 'ada@example.com' }]);
});

test('rejects a duplicate email', async () => {
  await expect(client.query("INSERT INTO users (email) VALUES ('ada@example.com')")).rejects.toThrow(
    /duplicate key value violates unique constraint/,
  );
});

test('the container logs stream like testcontainers logs', async () => {
  const logs = await container.logs();
  const ready = await new Promise<boolean>((resolve) => {
    let out = '';
    logs.on('data', (d: Buffer | string) => {
      out += d.toString();
      if (out.includes('database system is ready to accept connections')) resolve(true);
    });
    logs.on('end', () => resolve(false));
  });
  logs.destroy();
  expect(ready).toBe(true);
});
