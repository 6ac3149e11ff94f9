/**
 * How the cspec side of every Postgres scenario starts a server and reaches
 * it: the same spec (password, published port, the image's ready line twice)
 * and the same client, so that the scenarios measure the same thing.
 */
import type { ContainerSpec } from '@cspec/runtime';
import pg from 'pg';

export const READY_LOG = 'database system is ready to accept connections';

export function postgresSpec(image: string, env: Record<string, string> = {}): ContainerSpec {
  return {
    image,
    env: { POSTGRES_PASSWORD: 'bench', ...env },
    ports: [5432],
    wait: { type: 'log', pattern: READY_LOG, times: 2 },
  };
}

/** Connects to 127.0.0.1:`port` as the bench's superuser, runs `statements` in order, disconnects. */
export async function queryPostgres(
  port: number,
  statements: readonly string[] = ['SELECT 1'],
): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'bench' });
  await client.connect();
  try {
    for (const text of statements) await client.query(text);
  } finally {
    await client.end();
  }
}
