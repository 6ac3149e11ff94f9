/**
 * Network namespaces made ahead of time for containers that publish ports
 * and join no network: namespace, veth pair, addresses and route ready, so
 * that such a start runs no `ip` process at all (two otherwise: ~30 ms
 * alone here, ~250 ms each when eight start at once).
 *
 * Entries are made fresh, never reused: a container never sees what an
 * earlier one left in its namespace (sockets in TIME_WAIT, say). A
 * container's removal starts making the replacement for its namespace, in
 * the background: the work lands between one container and the next
 * rather than in a start (or in the middle of a test, where forking this
 * process would stall its event loop for milliseconds). The pool holds
 * at most as many as this process had in use at once (and `maxSize`), and
 * only a process that has set up a second such network fills it: one that
 * starts a single container and exits never pays for it.
 *
 * Each entry is recorded like a container's network — an owner record
 * (`pooledBy`: the engine's session) and a lease — so the session watcher,
 * or any sweep, removes the entries of a process that died. `close()`
 * removes them all with one `ip` process.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import {
  type ContainerNetworkState,
  ipPlan,
  netnsName,
  ownerRecordPath,
  ownersDir,
  teardownContainerNetwork,
} from './container-network.js';
import type { NetHost } from './net-host.js';
import type { NetworkStore } from './network-store.js';
import { p2pPool } from './pools.js';

const debug = createDebug('cspec:network');

/** Networks set up before the pool starts filling (see above). */
const FILL_AFTER = 2;

export interface NetnsPool {
  /**
   * A ready namespace, now owned by `containerId` (its owner record and lease
   * moved over), or undefined when none is ready.
   */
  take(containerId: string, hostsFile: string): Promise<ContainerNetworkState | undefined>;
  /** A point-to-point network of this process is in use (counts toward the size to fill to). */
  inUse(containerId: string): void;
  /**
   * That network was torn down: makes its replacement in the background if
   * the pool is short of one (`take` waits for one on its way).
   */
  released(containerId: string): void;
  /** How many entries are ready (for tests and diagnostics). */
  readonly size: number;
  /** Stops refilling and removes every entry. */
  close(): Promise<void>;
}

export interface NetnsPoolOptions {
  /** At most this many entries; 0 turns the pool off. */
  readonly maxSize: number;
  /** The session entries belong to; no refill while there is none. */
  readonly sessionId: () => string | undefined;
}

export function createNetnsPool(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  options: NetnsPoolOptions,
): NetnsPool {
  const ready: ContainerNetworkState[] = [];
  const live = new Set<string>();
  let peak = 0;
  let setups = 0;
  let making = 0;
  let closed = false;
  const filling = new Set<Promise<void>>();

  /** Removes entries; resolves with the failures (a later sweep retries them from their records). */
  const discard = async (entries: readonly ContainerNetworkState[]): Promise<unknown[]> => {
    const results = await Promise.allSettled(
      entries.map((e) => teardownContainerNetwork(config, store, host, e)),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    for (const f of failures) debug('pool: removing an entry failed: %O', f);
    return failures;
  };

  /** Makes `count` entries: leases and records first, then one host-side batch, then each namespace. */
  const make = async (count: number, sessionId: string): Promise<void> => {
    const made: ContainerNetworkState[] = [];
    try {
      await mkdir(ownersDir(config), { recursive: true });
      for (let i = 0; i < count; i++) {
        const id = randomBytes(32).toString('hex');
        const entry: ContainerNetworkState = {
          version: 1,
          containerId: id,
          hostsFile: '',
          netns: netnsName(id),
          hostLinks: [`cs${id.slice(0, 10)}`],
          p2pBlock: await p2pPool(config, host.routedSubnets).allocate(id),
          networks: [],
          pooledBy: sessionId,
        };
        made.push(entry);
        await writeJsonAtomic(ownerRecordPath(config, id), entry);
      }
      const plans = made.map((e) => ({ netns: e.netns!, ...ipPlan(e, [], host.netnsRef) }));
      await host.makeNamespaces({
        host: plans.flatMap((p) => p.host),
        namespaces: plans.map((p) => ({ name: p.netns, inside: p.inside })),
      });
    } catch (error) {
      debug('pool: filling failed: %O', error);
      await discard(made);
      return;
    }
    if (closed) {
      await discard(made);
      return;
    }
    ready.push(...made);
    debug('pool: %d ready', ready.length);
  };

  return {
    async take(containerId, hostsFile) {
      // One on its way (a removal's replacement, a few ms from ready) beats making another.
      if (ready.length === 0 && filling.size > 0) await Promise.race(filling);
      for (let entry = ready.shift(); entry; entry = ready.shift()) {
        // Removed behind our back (`ip netns del`, a reboot of /run): make no use of it.
        if (!host.netnsExists(entry.netns!) || !entry.hostLinks.every(host.linkExists)) {
          await discard([entry]);
          continue;
        }
        const { pooledBy: _, ...rest } = entry;
        const state: ContainerNetworkState = { ...rest, containerId, hostsFile };
        await writeJsonAtomic(ownerRecordPath(config, containerId), state);
        if (!(await p2pPool(config).transfer(entry.p2pBlock!, entry.containerId, containerId))) {
          // Its lease was freed (a sweep that took the pool for dead): the address may be someone else's.
          await rm(ownerRecordPath(config, containerId), { force: true });
          await discard([entry]);
          continue;
        }
        await rm(ownerRecordPath(config, entry.containerId), { force: true });
        return state;
      }
      return undefined;
    },
    inUse(containerId) {
      live.add(containerId);
      setups++;
      peak = Math.max(peak, live.size);
    },
    released(containerId) {
      if (!live.delete(containerId)) return;
      const sessionId = options.sessionId();
      const short = Math.min(options.maxSize, peak) - ready.length - making;
      if (closed || setups < FILL_AFTER || short <= 0 || sessionId === undefined) return;
      making++;
      const made = make(1, sessionId).finally(() => {
        making--;
        filling.delete(made);
      });
      filling.add(made);
    },
    get size() {
      return ready.length;
    },
    async close() {
      closed = true;
      await Promise.all(filling);
      const entries = ready.splice(0);
      if (entries.length === 0) return;
      // All namespaces and links at once; the records and leases go after.
      await host
        .remove(
          entries.flatMap((e) => e.hostLinks),
          entries.flatMap((e) => (e.netns !== undefined ? [e.netns] : [])),
        )
        .catch((error) => debug('pool: batch removal failed, one by one: %O', error));
      const failures = await discard(entries);
      if (failures.length > 0) {
        throw new AggregateError(
          failures,
          `${failures.length} pooled network namespace(s) could not be removed`,
        );
      }
    },
  };
}
