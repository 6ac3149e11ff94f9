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
import { createNetworkStore } from './network-store.js';
import { sweepNetworks } from './network-sweep.js';

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
  sweep(isOwnerAlive: (containerId: string) => boolean): Promise<{ removed: number }>;
}

export function createNetworkManager(config: RuntimeConfig): NetworkManager {
  const store = createNetworkStore(config);
  return {
    setupContainer: (req, options = {}) => setupContainerNetwork(config, store, req, options.signal),
    teardownContainer: (state) => teardownContainerNetwork(config, store, state),
    createNetwork: (name, options = {}) => createBridgeNetwork(config, store, name, options),
    removeNetwork: (name) => removeBridgeNetwork(config, store, name),
    listNetworks: async () => (await store.list()).map(networkInfo),
    ephemeralNetworks: async () =>
      (await store.list()).flatMap((r) => (r.sessionId ? [{ name: r.name, sessionId: r.sessionId }] : [])),
    async sweep(isOwnerAlive) {
      const report = await sweepNetworks(config, store, isOwnerAlive);
      if (report.removed > 0) debug('sweep removed %d network resources', report.removed);
      return report;
    },
  };
}
