/**
 * The address pools cspec uses, all lease-file based under `<runDir>/ipam/`:
 * - `p2p`: /30 blocks of 10.88.0.0/16 for point-to-point veths (host .1, container .2);
 * - `subnets`: /24 subnets of 10.89.0.0/16 for user-defined networks;
 * - `<subnet address>`: container addresses inside one network (.2-.254; .1 is the gateway).
 * `p2p` and `subnets` are unique on the host, whatever the run directory
 * (claims under `RuntimeConfig.hostIpamDir`, routes the kernel holds; see
 * address-pool.ts); a network's members are unique because its subnet is.
 */
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { type AddressPool, createAddressPool } from './address-pool.js';
import { childSubnets, formatIpv4, formatSubnet, hostAddresses, parseSubnet, type Subnet } from './ipv4.js';

/** Subnets already routed where the blocks would be used (NetHost.routedSubnets); the host's by default. */
export type RoutedSubnets = () => Promise<readonly Subnet[]>;

export const P2P_RANGE = '10.88.0.0/16';
export const NETWORK_RANGE = '10.89.0.0/16';

export function ipamDir(config: RuntimeConfig): string {
  return join(config.runDir, 'ipam');
}

function* subnetKeys(range: string, prefixLength: number): Generator<string> {
  for (const s of childSubnets(parseSubnet(range), prefixLength)) yield formatIpv4(s.network);
}

/** Leases are named after the block's network address, e.g. `10.88.0.4`. */
export function p2pPool(config: RuntimeConfig, routed?: RoutedSubnets): AddressPool {
  return createAddressPool({
    dir: join(ipamDir(config), 'p2p'),
    label: `${P2P_RANGE} (point-to-point links)`,
    candidates: () => subnetKeys(P2P_RANGE, 30),
    host: {
      claimsDir: join(config.hostIpamDir, 'p2p'),
      block: (a) => parseSubnet(`${a}/30`),
      ...(routed ? { inUse: routed } : {}),
    },
  });
}

/** Leases are named after the /24's network address, e.g. `10.89.3.0`; the owner is the bridge name. */
export function subnetPool(config: RuntimeConfig, routed?: RoutedSubnets): AddressPool {
  return createAddressPool({
    dir: join(ipamDir(config), 'subnets'),
    label: `${NETWORK_RANGE} (network subnets)`,
    candidates: () => subnetKeys(NETWORK_RANGE, 24),
    host: {
      claimsDir: join(config.hostIpamDir, 'subnets'),
      block: (a) => parseSubnet(`${a}/24`),
      ...(routed ? { inUse: routed } : {}),
    },
  });
}

export function memberPool(config: RuntimeConfig, subnet: Subnet): AddressPool {
  return createAddressPool({
    dir: join(ipamDir(config), formatIpv4(subnet.network)),
    label: `network ${formatSubnet(subnet)}`,
    candidates: function* () {
      for (const a of hostAddresses(subnet, 1)) yield formatIpv4(a);
    },
  });
}
