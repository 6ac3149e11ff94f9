/**
 * The port hub: one process per host (per cspec run directory) that forwards
 * the published ports of every detached container, instead of one process
 * per container. Requests are JSON lines on a unix socket.
 */
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';

export const PORT_HUB_PROTOCOL = 1;

export interface PortHubPaths {
  readonly dir: string;
  readonly socket: string;
  /** The hub's process identity, written once it listens. */
  readonly identity: string;
  readonly lock: string;
  /** Where containers live: a container whose directory is gone loses its forwards. */
  readonly containers: string;
}

export function portHubPaths(config: Pick<RuntimeConfig, 'runDir'>): PortHubPaths {
  const dir = join(config.runDir, 'port-hub');
  return {
    dir,
    socket: join(dir, 'hub.sock'),
    identity: join(dir, 'hub.json'),
    lock: join(dir, 'hub.lock'),
    containers: join(config.runDir, 'containers'),
  };
}

export type PortHubRequest =
  | {
      readonly op: 'add';
      readonly protocol: number;
      readonly id: string;
      readonly targetHost: string;
      readonly ports: readonly { readonly container: number; readonly host: number }[];
    }
  | { readonly op: 'remove'; readonly protocol: number; readonly id: string };

export type PortHubResponse =
  | { readonly ok: true; readonly ports?: Record<string, number> }
  | { readonly ok: false; readonly code: string; readonly message: string };
