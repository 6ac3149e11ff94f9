/**
 * User-defined networks: a Linux bridge `csbr<8 hex>` with a /24 from
 * 10.89.0.0/16 and the gateway (.1) on the bridge. Containers on the same
 * network reach each other through it; the host reaches them through the gateway.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import type { NetworkInfo, NetworkOptions } from '../engine/engine.js';
import { CspecError } from '../errors.js';
import { allowBridgeForwarding, removeBridgeForwarding } from './forward-rules.js';
import { runIpBatch } from './ip-command.js';
import { addressAt, formatIpv4, formatSubnet, parseSubnet } from './ipv4.js';
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

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function networkInfo(record: NetworkRecord): NetworkInfo {
  return { name: record.name, subnet: record.subnet, gateway: record.gateway };
}

function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export async function createBridgeNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
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
  const pool = subnetPool(config);
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
    // An explicit MAC keeps the bridge's address stable when ports join (the kernel would otherwise adopt theirs).
    await runIpBatch(
      [
        `link add ${bridge} address ${randomMac()} type bridge`,
        `addr add ${gateway}/24 dev ${bridge}`,
        `link set ${bridge} up`,
      ],
      options.signal ? { signal: options.signal } : {},
    );
    await allowBridgeForwarding(bridge);
    debug('network %s: bridge %s, %s', name, bridge, record.subnet);
    return networkInfo(record);
  } catch (error) {
    if (linkExists(bridge)) await runIpBatch([`link del ${bridge}`]).catch(() => {});
    await removeBridgeForwarding(bridge);
    if (created) await store.delete(name);
    await pool.release(subnetAddress, bridge);
    throw error;
  }
}

/** Deletes the bridge, the record and the leases of a network that has no members. */
export async function removeBridgeNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
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
  await destroyBridge(config, record.bridge, record.subnet);
}

/** Removes a bridge and its subnet's leases. Idempotent. */
export async function destroyBridge(
  config: RuntimeConfig,
  bridge: string,
  subnetCidr: string,
): Promise<void> {
  if (linkExists(bridge)) {
    await runIpBatch([`link del ${bridge}`]).catch((error: unknown) => {
      if (linkExists(bridge)) throw error;
    });
  }
  await removeBridgeForwarding(bridge);
  const subnet = parseSubnet(subnetCidr);
  await rm(memberPool(config, subnet).dir, { recursive: true, force: true });
  await subnetPool(config).release(formatIpv4(subnet.network), bridge);
  debug('bridge %s (%s) removed', bridge, subnetCidr);
}
