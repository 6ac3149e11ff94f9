/**
 * Where containers' networking lives, for one engine mode. The network code
 * (container-network.ts, bridge-network.ts, netns-pool.ts, network-sweep.ts)
 * is one path; this adapter says where namespaces are kept and where `ip`
 * runs:
 * - root: namespaces under /run/netns (`ip netns add`), bridges and the host
 *   ends of veths on the host, published ports forwarded by this process;
 * - rootless (rootless-net-host.ts): everything inside a network namespace
 *   of the engine's user namespace, published ports handed to a forwarder
 *   running there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { allowBridgeForwarding, bridgesWithForwardRules, removeBridgeForwarding } from './forward-rules.js';
import { hostRoutedSubnets } from './host-routes.js';
import { runIpBatch } from './ip-command.js';
import type { Subnet } from './ipv4.js';
import type { NetworkRecord } from './network-store.js';
import { createPortForwarder, type PortForwarder, type PortForwarderOptions } from './port-forwarder.js';
import { createRootlessNetHost } from './rootless-net-host.js';

const debug = createDebug('cspec:network');

/** Namespaces to make, and the `ip` commands that equip them. */
export interface NamespacePlan {
  /** Run on the host side once the namespaces exist (veths into them: `netns ${netnsRef(name)}`). */
  readonly host: readonly string[];
  /** Each namespace, created empty, then these commands run inside it. */
  readonly namespaces: readonly { readonly name: string; readonly inside: readonly string[] }[];
}

export interface NetHost {
  readonly mode: 'root' | 'rootless';
  /** The file the OCI runtime joins for the container namespace `name`. */
  netnsPath(name: string): string;
  /** How an `ip` command of a host batch names that namespace (`... peer name eth0 netns REF`). */
  netnsRef(name: string): string;
  netnsExists(name: string): boolean;
  /** Whether a link exists on the host side (where bridges and the host ends of veths are). */
  linkExists(name: string): boolean;
  /** Creates the namespaces, runs the host-side commands, then each namespace's own. */
  makeNamespaces(plan: NamespacePlan, signal?: AbortSignal): Promise<void>;
  /**
   * Deletes host-side links and container namespaces, whichever still exist.
   * Throws only if some are left (another process may remove them meanwhile).
   */
  remove(links: readonly string[], namespaces: readonly string[]): Promise<void>;
  /** Subnets the host side already routes: no cspec block may overlap them. */
  routedSubnets(): Promise<Subnet[]>;
  /** A network's bridge, its gateway address on it, and whatever lets its members talk. */
  createBridge(record: NetworkRecord, signal?: AbortSignal): Promise<void>;
  /** Makes the bridge of an existing network where it is missing, before a container joins it. */
  ensureBridge(record: NetworkRecord, signal?: AbortSignal): Promise<void>;
  /** Removes a bridge (and its packet-filter exception). Idempotent. */
  destroyBridge(bridge: string): Promise<void>;
  /** Bridges with a cspec packet-filter exception (sweeps drop those whose bridge is gone). */
  bridgesWithForwardRules(): Promise<string[]>;
  /** Publishes `targetHost:targetPort` on 127.0.0.1 of the host. */
  publishPort(options: PortForwarderOptions): Promise<PortForwarder>;
  /** Removes what dead processes' engines left of this mode's own (rootless: their namespace files). */
  sweep(): Promise<number>;
}

/**
 * The network's bridge with its gateway address, up. An explicit MAC keeps the
 * bridge's address stable when ports join (the kernel would otherwise adopt theirs).
 */
export function bridgeCommands(record: NetworkRecord, mac: string): string[] {
  const prefix = record.subnet.split('/')[1];
  return [
    `link add ${record.bridge} address ${mac} type bridge`,
    `addr add ${record.gateway}/${prefix} dev ${record.bridge}`,
    `link set ${record.bridge} up`,
  ];
}

export function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02; // unicast, locally administered
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export const rootNetHost: NetHost = {
  mode: 'root',
  netnsPath: (name) => `/run/netns/${name}`,
  netnsRef: (name) => name,
  netnsExists: (name) => existsSync(`/run/netns/${name}`),
  linkExists: (name) => existsSync(`/sys/class/net/${name}`),
  async makeNamespaces(plan, signal) {
    const options = signal ? { signal } : {};
    await runIpBatch([...plan.namespaces.map((n) => `netns add ${n.name}`), ...plan.host], options);
    for (const n of plan.namespaces) await runIpBatch(n.inside, { netns: n.name, ...options });
  },
  async remove(links, namespaces) {
    const present = () => [
      ...links.filter(rootNetHost.linkExists).map((l) => `link del ${l}`),
      ...namespaces.filter(rootNetHost.netnsExists).map((n) => `netns del ${n}`),
    ];
    const commands = present();
    if (commands.length === 0) return;
    try {
      await runIpBatch(commands, { force: true });
    } catch (error) {
      // Another process may have removed some of them meanwhile; only what is still there is a failure.
      if (present().length > 0) throw error;
    }
  },
  routedSubnets: hostRoutedSubnets,
  async createBridge(record, signal) {
    await runIpBatch(bridgeCommands(record, randomMac()), signal ? { signal } : {});
    await allowBridgeForwarding(record.bridge);
  },
  // Made with the network: it is on the host for as long as the network exists.
  ensureBridge: async () => {},
  async destroyBridge(bridge) {
    if (rootNetHost.linkExists(bridge)) {
      await runIpBatch([`link del ${bridge}`]).catch((error: unknown) => {
        if (rootNetHost.linkExists(bridge)) throw error;
      });
    }
    await removeBridgeForwarding(bridge);
  },
  bridgesWithForwardRules,
  publishPort: createPortForwarder,
  sweep: async () => 0,
};

/** The adapter of the engine mode `config` asks for. */
export function createNetHost(config: RuntimeConfig): NetHost {
  if (!config.rootless) return rootNetHost;
  debug('network: rootless');
  return createRootlessNetHost(config);
}
