/**
 * The façade the engine calls: per-container setup and teardown, user-defined
 * networks, and the leak sweep.
 */
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import type { NetworkInfo, NetworkOptions } from '../engine/engine.js';
import { createBridgeNetwork, networkInfo, removeBridgeNetwork } from './bridge-network.js';
import {
  type ContainerNetworkRequest,
  type ContainerNetworkSetup,
  type ContainerNetworkState,
  setupContainerNetwork,
  teardownContainerNetwork,
} from './container-network.js';
import { createNetHost, type NetHost } from './net-host.js';
import { createNetnsPool, type NetnsPoolOptions } from './netns-pool.js';
import { createNetworkStore } from './network-store.js';
import { type SweepLiveness, sweepNetworks, sweepPooledNamespaces } from './network-sweep.js';
import type { PortForwarder, PortForwarderOptions } from './port-forwarder.js';

export type {
  ContainerNetworkRequest,
  ContainerNetworkSetup,
  ContainerNetworkState,
  JoinedNetworkState,
} from './container-network.js';

const debug = createDebug('cspec:network');

export interface NetworkManager {
  /**
   * Prepares the container's network namespace (or none, for a container that
   * publishes no ports and joins no network) and writes its hosts file. On any
   * failure undoes what it did, then throws.
   */
  setupContainer(
    req: ContainerNetworkRequest,
    options?: { readonly signal?: AbortSignal },
  ): Promise<ContainerNetworkSetup>;
  /** Idempotent; safe after a partial setup and from another process. */
  teardownContainer(state: ContainerNetworkState): Promise<void>;
  createNetwork(
    name: string,
    options?: NetworkOptions & { readonly signal?: AbortSignal; readonly sessionId?: string },
  ): Promise<NetworkInfo>;
  /** Names of the ephemeral networks and the sessions they belong to. */
  ephemeralNetworks(): Promise<{ readonly name: string; readonly sessionId: string }[]>;
  /** Fails while containers are attached; `CSPEC_NETWORK_NOT_FOUND` for an unknown name. */
  removeNetwork(name: string): Promise<void>;
  listNetworks(): Promise<NetworkInfo[]>;
  /** Removes every netns, veth, membership and lease whose owner is dead, and orphaned bridges. */
  sweep(alive: SweepLiveness): Promise<{ removed: number }>;
  /** Removes the namespaces made ahead for sessions that `isDoomed` names (netns-pool.ts). */
  sweepPooled(isDoomed: (sessionId: string) => Promise<boolean>): Promise<void>;
  /**
   * Publishes a container's port on 127.0.0.1 of the host (the caller keeps
   * the forwarder and closes it with the container): forwarded by this
   * process as root, by the rootless network namespace's forwarder otherwise.
   */
  publishPort(options: PortForwarderOptions): Promise<PortForwarder>;
  /** Removes the namespaces this manager made ahead; no more are made. */
  close(): Promise<void>;
}

export interface NetworkManagerOptions {
  /** Make network namespaces ahead for containers that publish ports (an engine's; off by default). */
  readonly pool?: NetnsPoolOptions;
  /** Where networking lives. @default root's host, or the rootless one when `config.rootless` (net-host.ts) */
  readonly host?: NetHost;
}

export function createNetworkManager(
  config: RuntimeConfig,
  options: NetworkManagerOptions = {},
): NetworkManager {
  const store = createNetworkStore(config);
  const host = options.host ?? createNetHost(config);
  const pool =
    options.pool && options.pool.maxSize > 0 ? createNetnsPool(config, store, host, options.pool) : undefined;
  return {
    async setupContainer(req, setupOptions = {}) {
      const setup = await setupContainerNetwork(config, store, host, req, setupOptions.signal, pool);
      if (setup.state.p2pBlock !== undefined) pool?.inUse(req.containerId);
      return setup;
    },
    async teardownContainer(state) {
      await teardownContainerNetwork(config, store, host, state);
      if (state.p2pBlock !== undefined) pool?.released(state.containerId);
    },
    createNetwork: (name, options = {}) => createBridgeNetwork(config, store, host, name, options),
    removeNetwork: (name) => removeBridgeNetwork(config, store, host, name),
    listNetworks: async () => (await store.list()).map(networkInfo),
    ephemeralNetworks: async () =>
      (await store.list()).flatMap((r) => (r.sessionId ? [{ name: r.name, sessionId: r.sessionId }] : [])),
    async sweep(alive) {
      const report = await sweepNetworks(config, store, host, alive);
      if (report.removed > 0) debug('sweep removed %d network resources', report.removed);
      return report;
    },
    sweepPooled: (isDoomed) => sweepPooledNamespaces(config, store, host, isDoomed),
    publishPort: (forward) => host.publishPort(forward),
    close: async () => pool?.close(),
  };
}
