/**
 * Every distribution's suite talks to the same Postgres service, started
 * once by cspec on the host; each test still gets a database of its own.
 */
import { test } from 'cspec/vitest';
import { expect } from 'vitest';

const distro = process.env.CSPEC_DISTRO ?? 'host';

test('reaches the Postgres service from inside the distribution', async ({ db }) => {
  if (process.env.CSPEC_DISTRO) expect(db.host).toBe('db');
  await db.query('INSERT INTO runs (distro, node) VALUES ($1, $2)', [distro, process.version]);
  const { rows } = await db.query<{ distro: string; node: string }>('SELECT distro, node FROM runs');
  expect(rows).toEqual([{ distro, node: process.version }]);
});
