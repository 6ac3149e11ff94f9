import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isCspecError } from '../errors.js';
import { type AddressPool, createAddressPool } from './address-pool.js';
import { parseSubnet, type Subnet } from './ipv4.js';

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

  describe('host scope (unique whatever the run directory)', () => {
    const blocks = ['10.0.0.0', '10.0.0.4', '10.0.0.8', '10.0.0.12'];
    const hostPool = (leaseDir: string, inUse: Subnet[] = []) =>
      createAddressPool({
        dir: join(dir, leaseDir),
        label: 'test',
        candidates: () => blocks,
        host: {
          claimsDir: join(dir, 'claims'),
          block: (a) => parseSubnet(`${a}/30`),
          inUse: async () => inUse,
        },
      });

    test('two lease directories never hand out the same block, also at the same time', async () => {
      const a = hostPool('run-a');
      const b = hostPool('run-b');
      const got = await Promise.all([a.allocate('1'), b.allocate('2'), a.allocate('3'), b.allocate('4')]);
      expect([...got].sort()).toEqual([...blocks].sort());
      expect(await readFile(join(dir, 'claims', got[1]!), 'utf8')).toBe(`${join(dir, 'run-b', got[1]!)}\n`);
      const error = await b.allocate('5').catch((e: unknown) => e);
      expect(isCspecError(error, 'CSPEC_NETWORK_FAILED')).toBe(true);
    });

    test('blocks overlapping a subnet the host routes are skipped', async () => {
      const p = hostPool('run-a', [parseSubnet('10.0.0.0/29'), parseSubnet('192.168.0.0/16')]);
      expect(await p.allocate('1')).toBe('10.0.0.8');
    });

    test('a release frees the claim; a claim whose lease is gone (run directory removed) is taken over', async () => {
      const a = hostPool('run-a');
      const b = hostPool('run-b');
      expect(await a.allocate('x')).toBe('10.0.0.0');
      await a.release('10.0.0.0', 'x');
      expect((await readdir(join(dir, 'claims'))).filter((f) => !f.startsWith('.'))).toEqual([]);
      expect(await a.allocate('y')).toBe('10.0.0.4');
      await rm(join(dir, 'run-a'), { recursive: true });
      expect(await b.allocate('z')).toBe('10.0.0.0');
      expect(await b.allocate('w')).toBe('10.0.0.4');
    });

    test('a torn claim (a crash while writing it) counts as free', async () => {
      const a = hostPool('run-a');
      await mkdir(join(dir, 'claims'), { recursive: true });
      // Cut short, the path names an existing directory, not the lease.
      await writeFile(join(dir, 'claims', '10.0.0.0'), dir);
      expect(await a.allocate('x')).toBe('10.0.0.0');
    });

    test('releaseOwner frees the claims too, and leaves those of other owners', async () => {
      const a = hostPool('run-a');
      await a.allocate('x');
      await a.allocate('y');
      expect(await a.releaseOwner('x')).toBe(1);
      expect((await readdir(join(dir, 'claims'))).filter((f) => !f.startsWith('.'))).toEqual(['10.0.0.4']);
    });
  });
});
