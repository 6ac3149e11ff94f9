/**
 * examples/postgres-per-test/test/bank.test.ts written for testcontainers-node:
 * one Postgres container for the file, migrated and seeded once, snapshotted,
 * and restored after every test. Tests that share one database cannot run
 * concurrently, so the four `test.concurrent` ones run one after another.
 * (bench/src/whole-suite.ts runs this against the cspec original.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PostgreSqlContainer, type StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { Bank } from '../../../../examples/postgres-per-test/src/bank.js';

const EXAMPLE = fileURLToPath(new URL('../../../../examples/postgres-per-test/', import.meta.url));
const IMAGE = process.env.BENCH_POSTGRES_IMAGE ?? 'cspec/postgres:17';

let container: StartedPostgreSqlContainer;
let pool: pg.Pool;

beforeAll(async () => {
  container = await new PostgreSqlContainer(IMAGE).start();
  const client = new pg.Client({ connectionString: container.getConnectionUri() });
  await client.connect();
  const migrations = readdirSync(join(EXAMPLE, 'migrations')).sort();
  for (const file of migrations) await client.query(readFileSync(join(EXAMPLE, 'migrations', file), 'utf8'));
  await client.query(readFileSync(join(EXAMPLE, 'seed.sql'), 'utf8'));
  await client.end();
  await container.snapshot();
});

beforeEach(() => {
  pool = new pg.Pool({ connectionString: container.getConnectionUri() });
});

afterEach(async () => {
  await pool.end();
  await container.restoreSnapshot();
});

afterAll(async () => {
  await container.stop();
});

describe('bank', () => {
  test('opens an account', async () => {
    const bank = new Bank(pool);
    await bank.open(42, 'ada');
    expect(await bank.balance(42)).toBe(0);
  });

  test('the seed is there, and nothing from other tests', async () => {
    const { rows } = await pool.query('SELECT id, owner FROM accounts ORDER BY id');
    expect(rows).toEqual([{ id: 1, owner: 'bank' }]);
  });

  test('moves money in one transaction', async () => {
    const bank = new Bank(pool);
    await bank.open(42, 'ada');
    await bank.transfer(1, 42, 2500);
    expect(await bank.balance(42)).toBe(2500);
    expect(await bank.balance(1)).toBe(1_000_000 - 2500);
  });

  test('an overdraft rolls back the whole transfer', async () => {
    const bank = new Bank(pool);
    await bank.open(42, 'ada');
    await expect(bank.transfer(42, 1, 1)).rejects.toThrow(/balance_cents_check/);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM transfers');
    expect(rows[0]?.n).toBe(0);
  });

  test.for([101, 102, 103, 104])('account %i in a database of its own', async (id) => {
    const bank = new Bank(pool);
    await bank.open(id, `owner-${id}`);
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM accounts');
    expect(rows[0]?.n).toBe(2);
  });
});
