// N testcontainers-node Postgres containers started at once, on Docker (Node 24).
// Prints {"wallMs": ..., "readyMs": [...], "stopMs": ...}: all ready and queried, each one's
// start-to-first-answer, then stopping all of them.

import pg from 'pg';
import { GenericContainer, Wait } from 'testcontainers';

const [image, count] = [process.argv[2], Number(process.argv[3])];
const t0 = performance.now();
const readyMs = [];
const containers = await Promise.all(
  Array.from({ length: count }, async () => {
    const c = await new GenericContainer(image)
      .withEnvironment({ POSTGRES_PASSWORD: 'bench' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withStartupTimeout(240_000)
      .start();
    const client = new pg.Client({
      host: c.getHost(),
      port: c.getMappedPort(5432),
      user: 'postgres',
      password: 'bench',
    });
    await client.connect();
    await client.query('SELECT 1');
    await client.end();
    readyMs.push(performance.now() - t0);
    return c;
  }),
);
const wallMs = performance.now() - t0;
const t1 = performance.now();
await Promise.all(containers.map((c) => c.stop()));
process.stdout.write(`${JSON.stringify({ wallMs, readyMs, stopMs: performance.now() - t1 })}\n`);
