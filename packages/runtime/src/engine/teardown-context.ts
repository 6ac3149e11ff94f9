import { detectCgroupDriver } from '../cgroup/detect.js';
import type { RuntimeConfig } from '../config.js';
import { createNetworkManager } from '../network/network-manager.js';
import { chooseOciRuntime } from '../sandbox/detect-runtime.js';
import { createOciRuntime } from '../sandbox/oci-runtime.js';
import type { EngineContext } from './engine-context.js';

export type TeardownContext = Pick<EngineContext, 'config' | 'runtime' | 'cgroups' | 'network'>;

/** The part of the engine that removes resources; all the session watcher needs. */
export function createTeardownContext(config: RuntimeConfig): TeardownContext {
  const cgroups = detectCgroupDriver();
  const runtime = createOciRuntime(chooseOciRuntime(config.ociRuntime, cgroups.mode));
  return { config, runtime, cgroups, network: createNetworkManager(config) };
}
