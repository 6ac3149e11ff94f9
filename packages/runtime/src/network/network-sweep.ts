/**
 * Leak sweep: undoes the networking of containers whose owner is gone (from
 * their owner records), drops their memberships and leases, and removes
 * bridges whose network record is gone. Only what this run directory
 * recorded is touched: other cspec installations on the host are left alone.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { removeAbandonedWrites } from '../util/atomic-file.js';
import { destroyBridge } from './bridge-network.js';
import {
  listOwnerRecords,
  ownerRecordPath,
  ownersDir,
  readOwnerRecord,
  refreshNetworkMembers,
  teardownContainerNetwork,
} from './container-network.js';
import { removeBridgeForwarding } from './forward-rules.js';
import { parseSubnet } from './ipv4.js';
import type { NetHost } from './net-host.js';
import { type NetworkStore, networkMembersDir, networksDir } from './network-store.js';
import { ipamDir, memberPool, p2pPool, subnetPool } from './pools.js';

const debug = createDebug('cspec:network');

/** Leases younger than this may belong to a setup in progress. */
const MIN_ORPHAN_AGE_MS = 10_000;

/** Who is still there: containers (by id) and sessions (the owners of namespaces made ahead). */
export interface SweepLiveness {
  readonly container: (containerId: string) => boolean;
  readonly session: (sessionId: string) => Promise<boolean>;
}

export async function sweepNetworks(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  alive: SweepLiveness,
): Promise<{ removed: number }> {
  const isOwnerAlive = alive.container;
  let removed = 0;
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
      removed++;
    } catch (error) {
      debug('sweep: %s failed: %O', what, error);
    }
  };

  for (const id of await listOwnerRecords(config)) {
    const state = await readOwnerRecord(config, id).catch(() => undefined);
    if (state?.pooledBy !== undefined ? await alive.session(state.pooledBy) : isOwnerAlive(id)) continue;
    await attempt(`container ${id}`, async () => {
      if (state) await teardownContainerNetwork(config, store, host, state);
      else await rm(ownerRecordPath(config, id), { force: true });
    });
  }
  // What still has an owner record is alive (or could not be removed): its leases stay.
  const recorded = new Set(await listOwnerRecords(config));

  const networks = await store.list();
  for (const network of networks) {
    const dead = (await store.members(network.name)).filter((m) => !isOwnerAlive(m.containerId));
    if (dead.length === 0) continue;
    await attempt(`members of ${network.name}`, async () => {
      await store.locked(network.name, async () => {
        for (const m of dead) await store.removeMember(network.name, m.containerId);
      });
      await refreshNetworkMembers(store, network.name);
    });
  }

  const old = (createdMs: number) => Date.now() - createdMs > MIN_ORPHAN_AGE_MS;
  const containerPools = [p2pPool(config)];
  const dirs = await readdir(ipamDir(config)).catch(() => [] as string[]);
  for (const d of dirs) {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(d)) containerPools.push(memberPool(config, parseSubnet(`${d}/24`)));
  }
  for (const pool of containerPools) {
    for (const lease of await pool.leases()) {
      if (
        !/^[0-9a-f]{12,}$/.test(lease.owner) ||
        !old(lease.createdMs) ||
        isOwnerAlive(lease.owner) ||
        recorded.has(lease.owner)
      )
        continue;
      await attempt(`lease ${lease.address}`, () => pool.release(lease.address, lease.owner));
    }
  }

  const bridges = new Set(networks.map((n) => n.bridge));
  for (const lease of await subnetPool(config).leases()) {
    if (!lease.owner || bridges.has(lease.owner) || !old(lease.createdMs)) continue;
    // Re-read: a network created since the listing above is not an orphan.
    if ((await store.list()).some((n) => n.bridge === lease.owner)) continue;
    await attempt(`bridge ${lease.owner}`, () =>
      destroyBridge(config, host, lease.owner, `${lease.address}/24`),
    );
  }

  // Firewall rules outlive their bridge only if a process died between the two deletions.
  for (const bridge of await host.bridgesWithForwardRules()) {
    if (host.linkExists(bridge) || !bridge.startsWith('csbr')) continue;
    await attempt(`iptables rule of ${bridge}`, () => removeBridgeForwarding(bridge));
  }

  // Records and leases are written aside and renamed: a process killed in between leaves the temp file.
  const recordDirs = [
    ownersDir(config),
    networksDir(config),
    ...networks.map((n) => networkMembersDir(config, n.name)),
    ...dirs.map((d) => join(ipamDir(config), d)),
  ];
  let temps = 0;
  for (const dir of new Set(recordDirs)) temps += await removeAbandonedWrites(dir);
  if (temps > 0) debug('sweep: removed %d abandoned temp files', temps);
  removed += await host.sweep();
  return { removed };
}

/** Removes the namespaces made ahead (netns-pool.ts) whose session `isDoomed` names. */
export async function sweepPooledNamespaces(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  isDoomed: (sessionId: string) => Promise<boolean>,
): Promise<void> {
  for (const id of await listOwnerRecords(config)) {
    const state = await readOwnerRecord(config, id).catch(() => undefined);
    if (state?.pooledBy === undefined || !(await isDoomed(state.pooledBy))) continue;
    await teardownContainerNetwork(config, store, host, state).catch((error) =>
      debug('sweep: pooled namespace %s: %O', state.netns, error),
    );
  }
}
