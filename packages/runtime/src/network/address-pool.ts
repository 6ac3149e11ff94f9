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
 *
 * Pools of host-wide blocks (point-to-point links, network subnets) are
 * unique on the host, not only in one run directory: their allocations run
 * under a host-wide lock, skip every block that overlaps a subnet the
 * kernel routes (any interface: another run directory's, docker0, a VPN)
 * and every block claimed in the host-wide claims directory. A claim is a
 * file named after the block that holds the path of the lease it stands
 * for; it counts while that lease file exists, so a run directory removed
 * wholesale frees its claims too.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CspecError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { withFileLock } from '../util/file-lock.js';
import { hostRoutedSubnets, subnetsOverlap } from './host-routes.js';
import type { Subnet } from './ipv4.js';

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
  /** Makes the pool's addresses unique on the host, whatever the run directory. */
  readonly host?: HostScope;
}

export interface HostScope {
  /** The host-wide claims directory (the same for every run directory: `RuntimeConfig.hostIpamDir`). */
  readonly claimsDir: string;
  /** The block of addresses a candidate stands for, compared with the host's routes. */
  readonly block: (address: string) => Subnet;
  /** Subnets in use on the host. @default the kernel's routes (/proc/net/route) */
  readonly inUse?: () => Promise<readonly Subnet[]>;
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

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The blocks other run directories hold: claims whose lease file exists.
 * Claims whose lease is gone are removed (the caller holds the host lock).
 */
async function liveClaims(claimsDir: string): Promise<Set<string>> {
  const live = new Set<string>();
  for (const name of await readdir(claimsDir)) {
    if (name.startsWith('.') || name.includes('.tmp')) continue;
    const leasePath = (await readIfExists(join(claimsDir, name)))?.trim();
    if (leasePath?.endsWith(`/${name}`) && existsSync(leasePath)) live.add(name);
    else await rm(join(claimsDir, name), { force: true });
  }
  return live;
}

export function createAddressPool(options: AddressPoolOptions): AddressPool {
  const dir = resolve(options.dir);
  const { host } = options;
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

  /** Creates the lease of the next free candidate that `inUse` does not exclude. */
  const take = async (owner: string, inUse: (address: string) => boolean): Promise<string> => {
    const taken = new Set(await existing());
    const last = await readFile(join(dir, LAST), 'utf8').catch(() => '');
    for (const address of rotated(options.candidates, last.trim())) {
      if (taken.has(address) || inUse(address)) continue;
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
    const why = host
      ? 'every block is leased by a cspec container or network, or overlaps a subnet the host routes (ip route)'
      : 'every address is leased';
    throw new CspecError('CSPEC_NETWORK_FAILED', `no free address left in ${options.label}: ${why}`, {
      hint: 'remove unused containers and networks: npx cspec prune',
    });
  };

  /** Removes the host-wide claim of `address` if it still stands for this pool's lease. */
  const dropClaim = async (address: string): Promise<void> => {
    if (!host) return;
    const claim = join(host.claimsDir, address);
    if ((await readIfExists(claim))?.trim() === join(dir, address)) await rm(claim, { force: true });
  };

  return {
    dir,
    async allocate(owner) {
      await mkdir(dir, { recursive: true });
      if (!host) return take(owner, () => false);
      await mkdir(host.claimsDir, { recursive: true, mode: 0o700 });
      return withFileLock(join(host.claimsDir, '.lock'), async () => {
        const [routed, claimed] = await Promise.all([
          (host.inUse ?? hostRoutedSubnets)(),
          liveClaims(host.claimsDir),
        ]);
        const address = await take(owner, (candidate) => {
          if (claimed.has(candidate)) return true;
          const block = host.block(candidate);
          return routed.some((r) => subnetsOverlap(r, block));
        });
        // Written under the host lock and read under it; a torn claim (a crash) does not end in its name: stale.
        await writeFile(join(host.claimsDir, address), `${join(dir, address)}\n`);
        return address;
      });
    },
    async release(address, owner) {
      const path = join(dir, address);
      const holder = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (holder?.trim() !== owner) return;
      // The claim first: while the lease exists no other run directory takes the block over.
      await dropClaim(address);
      await rm(path, { force: true });
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
      await Promise.all(
        mine.map(async (l) => {
          await dropClaim(l.address);
          await rm(join(dir, l.address), { force: true });
        }),
      );
      return mine.length;
    },
    leases,
  };
}
