import { test } from 'cspec/vitest';
import { describe, expect } from 'vitest';
import { Bank } from '../src/bank.js';

// Every test gets a database of its own, cloned from a template that already
// holds the migrations and the seed: the same ids in every test, no cleanup.
describe('bank', () => {
  test('opens an account', async ({ db }) => {
    const bank = new Bank(db.pool);
    await bank.open(42, 'ada');
    expect(await bank.balance(42)).toBe(0);
  });

  test('the seed is there, and nothing from other tests', async ({ db }) => {
    const { rows } = await db.query('SELECT id, owner FROM accounts ORDER BY id');
    expect(rows).toEqual([{ id: 1, owner: 'bank' }]);
  });

  test('moves money in one transaction', async ({ db }) => {
    const bank = new Bank(db.pool);
    await bank.open(42, 'ada');
    await bank.transfer(1, 42, 2500);
    expect(await bank.balance(42)).toBe(2500);
    expect(await bank.balance(1)).toBe(1_000_000 - 2500);
  });

  test('an overdraft rolls back the whole transfer', async ({ db }) => {
    const bank = new Bank(db.pool);
    await bank.open(42, 'ada');
    await expect(bank.transfer(42, 1, 1)).rejects.toThrow(/balance_cents_check/);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM transfers');
    expect(rows[0]?.n).toBe(0);
  });

  // Concurrent tests still get separate databases.
  test.concurrent.for([101, 102, 103, 104])('account %i in a database of its own', async (id, {
    db,
    expect,
  }) => {
    const bank = new Bank(db.pool);
    await bank.open(id, `owner-${id}`);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM accounts');
    expect(rows[0]?.n).toBe(2);
  });
});
