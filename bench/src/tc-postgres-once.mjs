// One testcontainers-node Postgres start, on Docker, measured from inside this
// process (Node 24: testcontainers 12 needs Node >= 22.22). Prints
// {"readyMs": ..., "stopMs": ...}: start to first query answered (and the SQL
// files given after the image run, e.g. a schema's migrations), then stop().

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { GenericContainer, Wait } from 'testcontainers';

const image = process.argv[2];
const t0 = performance.now();
const container = await new GenericContainer(image)
  .withEnvironment({ POSTGRES_PASSWORD: 'bench' })
  .withExposedPorts(5432)
  .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
  .start();
const client = new pg.Client({
  host: container.getHost(),
  port: container.getMappedPort(5432),
  user: 'postgres',
  password: 'bench',
});
await client.connect();
await client.query('SELECT 1');
for (const file of process.argv.slice(3)) await client.query(readFileSync(file, 'utf8'));
await client.end();
const readyMs = performance.now() - t0;
const t1 = performance.now();
await container.stop();
process.stdout.write(`${JSON.stringify({ readyMs, stopMs: performance.now() - t1 })}\n`);
