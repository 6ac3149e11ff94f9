import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import type { ExitStatus } from '../engine/engine.js';
import type { ContainerNetworkState } from '../network/network-manager.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import type { ProcessIdentity } from '../util/process-identity.js';
import { containersDir } from './paths.js';

/**
 * Everything needed to find, describe and tear down a container, written
 * before any resource is created so a crash at any point can be undone.
 */
export interface ContainerState {
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly imageId: string;
  readonly createdAt: string;
  readonly command: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Owning session; null for detached containers, which outlive their creator. */
  readonly sessionId: string | null;
  readonly writable: string;
  readonly stopSignal: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly ipAddress?: string | undefined;
  readonly network?: ContainerNetworkState | undefined;
  /** A forwarder process of its own (detached containers of earlier versions); now: `portHub`. */
  readonly forwarder?: ProcessIdentity | undefined;
  /** The port hub forwards this detached container's published ports. */
  readonly portHub?: boolean | undefined;
  /** The image's unpacked layers, lowest first (the overlay's lower directories). */
  readonly layerDirs?: readonly string[] | undefined;
  /** The OCI runtime binary that runs the container (any process must delete it with the same one). */
  readonly ociRuntime?: string | undefined;
}

export async function readContainerState(path: string): Promise<ContainerState | undefined> {
  return readJsonIfExists<ContainerState>(path);
}

export async function writeContainerState(path: string, state: ContainerState): Promise<void> {
  await writeJsonAtomic(path, state);
}

export async function listContainerStates(config: RuntimeConfig): Promise<ContainerState[]> {
  let ids: string[];
  try {
    ids = await readdir(containersDir(config));
  } catch {
    return [];
  }
  const states = await Promise.all(
    ids.map((id) => readContainerState(join(containersDir(config), id, 'state.json')).catch(() => undefined)),
  );
  return states.filter((s): s is ContainerState => s !== undefined);
}

export type { ExitStatus };
