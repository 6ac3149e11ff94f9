/**
 * One of the processes of service-image-race.test.ts: creates an engine on
 * CSPEC_DATA_DIR, prints `ready`, waits for a line on stdin, then asks for
 * cspec/postgres:15, starts a container of it and queries it with pg. Prints
 * one JSON line: whether this process built the image (build progress), the
 * image id and the query's answer.
 * Usage: CSPEC_DATA_DIR=DIR node --import tsx --conditions cspec-source postgres-in-child.ts
 */
import { once } from 'node:events';
import { createEngine } from '@cspec/runtime';
import pg from 'pg';

const IMAGE = 'cspec/postgres:15';
const engine = await createEngine();
try {
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
  const buildEvents: string[] = [];
  const image = await engine.images.resolve(IMAGE, {
    onProgress: (e) => {
      if (e.phase === 'build') buildEvents.push(e.message);
    },
  });
  const container = await engine.run({
    image: IMAGE,
    env: { POSTGRES_PASSWORD: 'pw' },
    ports: [5432],
    wait: { type: 'healthcheck' },
    startupTimeoutMs: 120_000,
  });
  const client = new pg.Client({
    host: '127.0.0.1',
    port: container.ports[5432],
    user: 'postgres',
    password: 'pw',
  });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT $1::int * 2 AS answer, version()', [process.pid]);
    process.stdout.write(
      `${JSON.stringify({ pid: process.pid, buildEvents, imageId: image.id, answer: rows[0].answer, version: rows[0].version })}\n`,
    );
  } finally {
    await client.end();
  }
} finally {
  await engine.close();
  process.stdin.destroy();
}
