import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findDelegatedCgroup } from '../cgroup/delegation.js';
import { detectCgroupDriver } from '../cgroup/detect.js';
import type { RuntimeConfig } from '../config.js';
import { createNetworkManager } from '../network/network-manager.js';
import { processUserNamespace } from '../rootless/process-namespace.js';
import { chooseOciRuntime } from '../sandbox/detect-runtime.js';
import { createOciRuntime } from '../sandbox/oci-runtime.js';
import type { EngineContext } from './engine-context.js';

export type TeardownContext = Pick<EngineContext, 'config' | 'runtime' | 'cgroups' | 'network'>;

/**
 * The part of the engine that removes resources; all the session watcher
 * needs. Its host adapters are root's, or a rootless user's: the OCI runtime
 * runs as root in the process's user namespace (rootless/) with its state
 * in the run directory, and containers get cgroups only where one is
 * delegated to the user.
 */
export async function createTeardownContext(config: RuntimeConfig): Promise<TeardownContext> {
  if (!config.rootless) {
    const cgroups = detectCgroupDriver();
    const runtime = createOciRuntime(chooseOciRuntime(config.ociRuntime, cgroups.mode));
    return { config, runtime, cgroups, network: createNetworkManager(config) };
  }
  const ns = await processUserNamespace();
  const cgroups = detectCgroupDriver({ base: await delegatedBase() });
  const runtime = createOciRuntime(chooseOciRuntime(config.ociRuntime, cgroups.mode), undefined, {
    stateRoot: join(config.runDir, 'runc'),
    enter: (argv, pid) => ns.enterArgs(argv, pid),
  });
  return { config, runtime, cgroups, network: createNetworkManager(config) };
}

/**
 * The cgroup subtree delegated to this user, as the drivers' base (`''` for
 * the whole tree), or null: none, containers run without limits. On v2 the
 * limit controllers the subtree offers are switched on for its children.
 */
async function delegatedBase(): Promise<string | null> {
  const { delegated } = findDelegatedCgroup();
  if (!delegated) return null;
  if (delegated.enable.length > 0) {
    await writeFile(
      join(delegated.dirs[0]!, 'cgroup.subtree_control'),
      delegated.enable.map((c) => `+${c}`).join(' '),
    ).catch(() => {});
  }
  return delegated.path === '/' ? '' : delegated.path;
}
