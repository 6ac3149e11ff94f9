/**
 * Lock-free address management with lease files: a lease is a file named
 * after the address, created with O_EXCL and holding its owner's id. Any
 * number of processes allocate at once without a shared lock; the one whose
 * exclusive create succeeds owns the address.
 *
 * Addresses are handed out round robin (after the last one handed out, as
 * Docker's IPAM does): right after a container is removed, the host's ARP
 * cache and other containers may still map its address to the old, deleted
 * interface, and a new container given that address would be unreachable
 * from them until the entry expires (tens of seconds).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CspecError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';

export interface Lease {
  readonly address: string;
  readonly owner: string;
  /** When the lease was taken, in ms since the epoch. */
  readonly createdMs: number;
}

export interface AddressPool {
  readonly dir: string;
  /**
   * Takes the next free address after the last one handed out (wrapping
   * around) for `owner`; throws `CSPEC_NETWORK_FAILED` when the pool is exhausted.
   */
  allocate(owner: string): Promise<string>;
  /**
   * Frees one address if `owner` still holds it. Idempotent; a retried or
   * late release never frees an address someone else has taken since.
   */
  release(address: string, owner: string): Promise<void>;
  /**
   * Hands the address from `from` to `to` (one atomic rewrite of the lease).
   * Resolves false, changing nothing, when `from` no longer holds it.
   */
  transfer(address: string, from: string, to: string): Promise<boolean>;
  /** Frees every address of `owner`; returns how many. */
  releaseOwner(owner: string): Promise<number>;
  leases(): Promise<Lease[]>;
}

export interface AddressPoolOptions {
  /** Directory holding the lease files, e.g. `<runDir>/ipam/<pool>`. */
  readonly dir: string;
  /** A readable name for error messages, e.g. `10.88.0.0/16`. */
  readonly label: string;
  /** Addresses the pool hands out, in order of preference. */
  readonly candidates: () => Iterable<string>;
}

/** Where the pool remembers the address it handed out last (not a lease: it starts with a dot). */
const LAST = '.last';

/** The candidates after `last`, then those up to and including it. */
function* rotated(candidates: () => Iterable<string>, last: string): Generator<string> {
  let seen = false;
  for (const address of candidates()) {
    if (seen) yield address;
    else if (address === last) seen = true;
  }
  for (const address of candidates()) {
    yield address;
    if (address === last) return;
  }
}

export function createAddressPool(options: AddressPoolOptions): AddressPool {
  const { dir } = options;
  const existing = async (): Promise<string[]> => {
    try {
      return await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  };

  const leases = async (): Promise<Lease[]> => {
    const result: Lease[] = [];
    for (const address of await existing()) {
      if (address.startsWith('.') || address.includes('.tmp')) continue;
      const path = join(dir, address);
      try {
        const [owner, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
        result.push({ address, owner: owner.trim(), createdMs: info.mtimeMs });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return result;
  };

  return {
    dir,
    async allocate(owner) {
      await mkdir(dir, { recursive: true });
      const taken = new Set(await existing());
      const last = await readFile(join(dir, LAST), 'utf8').catch(() => '');
      for (const address of rotated(options.candidates, last.trim())) {
        if (taken.has(address)) continue;
        try {
          await writeFile(join(dir, address), `${owner}\n`, { flag: 'wx' });
          // A hint only: a lost race or a torn read just starts the next search elsewhere.
          await writeFile(join(dir, LAST), address).catch(() => {});
          return address;
        } catch (error) {
          // Another process took it between our listing and our create: try the next one.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      throw new CspecError('CSPEC_NETWORK_FAILED', `no free address left in ${options.label}`, {
        hint: 'remove unused containers and networks: npx cspec prune',
      });
    },
    async release(address, owner) {
      const path = join(dir, address);
      const holder = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (holder?.trim() === owner) await rm(path, { force: true });
    },
    async transfer(address, from, to) {
      const path = join(dir, address);
      const holder = await readFile(path, 'utf8').catch(() => undefined);
      if (holder?.trim() !== from) return false;
      await writeFileAtomic(path, `${to}\n`);
      return true;
    },
    async releaseOwner(owner) {
      const mine = (await leases()).filter((l) => l.owner === owner);
      await Promise.all(mine.map((l) => rm(join(dir, l.address), { force: true })));
      return mine.length;
    },
    leases,
  };
}
