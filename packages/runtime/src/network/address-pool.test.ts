import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isCspecError } from '../errors.js';
import { type AddressPool, createAddressPool } from './address-pool.js';

describe('address pool', () => {
  let dir: string;
  let pool: AddressPool;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cspec-pool-'));
    pool = createAddressPool({ dir: join(dir, 'p'), label: 'test', candidates: () => ['a', 'b', 'c', 'd'] });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  test('hands out free addresses in order and records the owner', async () => {
    expect(await pool.allocate('x')).toBe('a');
    expect(await pool.allocate('y')).toBe('b');
    expect(await readFile(join(dir, 'p', 'b'), 'utf8')).toBe('y\n');
  });

  // Peers (the host's ARP cache, other containers) may still map a released
  // address to the old container's interface for a while: reuse it last.
  test('a released address is handed out again only after the others (round robin)', async () => {
    expect(await pool.allocate('x')).toBe('a');
    await pool.release('a', 'x');
    expect(await pool.allocate('y')).toBe('b');
    expect(await pool.allocate('z')).toBe('c');
    await pool.release('b', 'y');
    expect(await pool.allocate('w')).toBe('d');
    // Wraps around to the first free one.
    expect(await pool.allocate('v')).toBe('a');
    expect(await pool.allocate('u')).toBe('b');
    expect((await pool.leases()).map((l) => l.address).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a transfer hands a lease to a new owner only if the old one still holds it', async () => {
    expect(await pool.allocate('x')).toBe('a');
    expect(await pool.transfer('a', 'x', 'y')).toBe(true);
    expect(await readFile(join(dir, 'p', 'a'), 'utf8')).toBe('y\n');
    // x holds it no longer: neither a second transfer nor x's release changes anything.
    expect(await pool.transfer('a', 'x', 'z')).toBe(false);
    await pool.release('a', 'x');
    expect((await pool.leases()).map((l) => [l.address, l.owner])).toEqual([['a', 'y']]);
    expect(await pool.transfer('b', 'x', 'y')).toBe(false);
    expect((await pool.leases()).map((l) => l.address)).toEqual(['a']);
  });

  test('a late or repeated release does not free an address someone else holds now', async () => {
    const small = createAddressPool({ dir: join(dir, 'q'), label: 'test', candidates: () => ['a'] });
    expect(await small.allocate('x')).toBe('a');
    await small.release('a', 'x');
    expect(await small.allocate('y')).toBe('a');
    await small.release('a', 'x');
    expect((await small.leases()).map((l) => [l.address, l.owner])).toEqual([['a', 'y']]);
  });

  test('concurrent allocations never share an address', async () => {
    const got = await Promise.all(['1', '2', '3', '4'].map((o) => pool.allocate(o)));
    expect(new Set(got).size).toBe(4);
    const error = await pool.allocate('5').catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_NETWORK_FAILED')).toBe(true);
  });

  test('two pool instances (as in two processes) do not hand out the same address', async () => {
    const other = createAddressPool({
      dir: join(dir, 'p'),
      label: 'test',
      candidates: () => ['a', 'b', 'c', 'd'],
    });
    const got = await Promise.all([
      pool.allocate('1'),
      other.allocate('2'),
      pool.allocate('3'),
      other.allocate('4'),
    ]);
    expect([...got].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  test('releaseOwner frees only that owner', async () => {
    await pool.allocate('x');
    await pool.allocate('y');
    await pool.allocate('x');
    expect(await pool.releaseOwner('x')).toBe(2);
    expect((await pool.leases()).map((l) => [l.address, l.owner])).toEqual([['b', 'y']]);
    await pool.release('missing', 'x');
  });
});
