/**
 * User-defined networks: a Linux bridge `csbr<8 hex>` with a /24 from
 * 10.89.0.0/16 and the gateway (.1) on the bridge. Containers on the same
 * network reach each other through it; the host reaches them through the gateway.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import type { NetworkInfo, NetworkOptions } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import { addressAt, formatIpv4, formatSubnet, parseSubnet } from './ipv4.js';
import type { NetHost } from './net-host.js';
import type { NetworkRecord, NetworkStore } from './network-store.js';
import { memberPool, subnetPool } from './pools.js';

const debug = createDebug('cspec:network');

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME_LENGTH = 128;

export function validateNetworkName(name: string): void {
  if (!NETWORK_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `network name "${name}" is invalid — use letters, digits, "_", "." and "-", starting with a letter or digit (at most ${MAX_NAME_LENGTH} characters)`,
    );
  }
}

export function networkInfo(record: NetworkRecord): NetworkInfo {
  return { name: record.name, subnet: record.subnet, gateway: record.gateway };
}

export async function createBridgeNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  name: string,
  options: NetworkOptions & { readonly signal?: AbortSignal; readonly sessionId?: string } = {},
): Promise<NetworkInfo> {
  validateNetworkName(name);
  const inUse = () =>
    new CspecError('CSPEC_NAME_IN_USE', `a network named "${name}" already exists`, {
      hint: `choose another name, or remove it: npx cspec network rm ${name}`,
    });
  if (await store.read(name)) throw inUse();

  const bridge = `csbr${randomBytes(4).toString('hex')}`;
  const pool = subnetPool(config, host.routedSubnets);
  const subnetAddress = await pool.allocate(bridge);
  const subnet = parseSubnet(`${subnetAddress}/24`);
  const gateway = formatIpv4(addressAt(subnet, 1));
  const record: NetworkRecord = {
    name,
    bridge,
    subnet: formatSubnet(subnet),
    gateway,
    labels: { ...(options.labels ?? {}) },
    createdAt: new Date().toISOString(),
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  };
  let created = false;
  try {
    if (!(await store.createExclusive(record))) throw inUse();
    created = true;
    await host.createBridge(record, options.signal);
    debug('network %s: bridge %s, %s', name, bridge, record.subnet);
    return networkInfo(record);
  } catch (error) {
    await host.destroyBridge(bridge).catch(() => {});
    if (created) await store.delete(name);
    await pool.release(subnetAddress, bridge);
    throw error;
  }
}

/** Deletes the bridge, the record and the leases of a network that has no members. */
export async function removeBridgeNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  name: string,
): Promise<void> {
  const record = await store.read(name);
  if (!record) {
    throw new CspecError('CSPEC_NETWORK_NOT_FOUND', `network "${name}" does not exist`, {
      hint: 'list networks: npx cspec network ls',
    });
  }
  await store.locked(name, async () => {
    const members = await store.members(name);
    if (members.length > 0) {
      throw new CspecError(
        'CSPEC_NETWORK_FAILED',
        `network "${name}" still has ${members.length} container(s) attached: ${members.map((m) => m.name).join(', ')}`,
        { hint: 'remove those containers first (npx cspec rm NAME), then the network' },
      );
    }
    await store.delete(name);
  });
  await destroyBridge(config, host, record.bridge, record.subnet);
}

/** Removes a bridge and its subnet's leases. Idempotent. */
export async function destroyBridge(
  config: RuntimeConfig,
  host: NetHost,
  bridge: string,
  subnetCidr: string,
): Promise<void> {
  await host.destroyBridge(bridge);
  const subnet = parseSubnet(subnetCidr);
  await rm(memberPool(config, subnet).dir, { recursive: true, force: true });
  await subnetPool(config).release(formatIpv4(subnet.network), bridge);
  debug('bridge %s (%s) removed', bridge, subnetCidr);
}
