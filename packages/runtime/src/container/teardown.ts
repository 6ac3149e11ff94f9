import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createDebug } from '../debug.js';
import type { EngineContext } from '../engine/engine-context.js';
import { createOciRuntime } from '../sandbox/oci-runtime.js';
import { isProcessAlive } from '../util/process-identity.js';
import { removeTree } from '../util/remove-tree.js';
import { releaseName } from './names.js';
import { type ContainerPaths, containerPaths } from './paths.js';
import { releaseFromHub } from './port-hub.js';
import { readContainerState } from './state.js';

const debug = createDebug('cspec:teardown');

/**
 * A writable layer can hold a database; one the container wrote nothing to
 * holds only overlayfs' work directory, removed faster by synchronous calls.
 */
async function removeWritableLayer(paths: ContainerPaths): Promise<void> {
  if (isEmptyDirectory(paths.upper) && !existsSync(paths.mounts)) {
    try {
      rmSync(paths.writable, { recursive: true, force: true });
      return;
    } catch {
      // Rootless: overlayfs' work/work is mode 0 and not the user's to open; removeTree can.
    }
  }
  // Rootless: what the container wrote belongs to the user's subordinate ids; removeTree can remove it.
  await removeTree(paths.writable);
}

function isEmptyDirectory(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/**
 * Removes every resource of a container: processes, OCI runtime state,
 * cgroup, network, writable layer, files, name. Idempotent, and works from
 * any process (the owner, the session watcher, `cspec prune`).
 */
export async function teardownContainer(
  ctx: Pick<EngineContext, 'config' | 'runtime' | 'cgroups' | 'network'>,
  id: string,
  writableHint?: string,
): Promise<void> {
  const base = containerPaths(ctx.config, id, writableHint ?? '');
  const state = await readContainerState(base.state).catch(() => undefined);
  const paths = containerPaths(ctx.config, id, state?.writable ?? writableHint ?? '');
  debug('teardown %s', id);
  const errors: unknown[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      debug('teardown %s: %s failed: %O', id, what, error);
      errors.push(error);
    }
  };
  // The runtime that created the container deletes it, whatever this process would choose.
  const runtime =
    state?.ociRuntime && state.ociRuntime !== ctx.runtime.binary
      ? createOciRuntime(state.ociRuntime, undefined, ctx.runtime.host)
      : ctx.runtime;
  // Without runtime state the runtime already cleaned up after itself: no process to spawn.
  if (runtime.exists(id)) await attempt('runtime delete', () => runtime.delete(id, true));
  await attempt('cgroup', () => ctx.cgroups.remove(id));
  if (state?.forwarder && isProcessAlive(state.forwarder)) {
    await attempt('forwarder', async () => process.kill(state.forwarder!.pid, 'SIGKILL'));
  }
  if (state?.portHub) await attempt('published ports', () => releaseFromHub(ctx.config, id));
  await Promise.all([
    paths.writable && attempt('writable layer', () => removeWritableLayer(paths)),
    state && attempt('name', () => releaseName(ctx.config, state.name, id)),
  ]);
  // After the writable layer: a namespace made ahead to replace this one is not slowed by that removal.
  if (state?.network) await attempt('network', () => ctx.network.teardownContainer(state.network!));
  // The directory goes last: its state file is what makes a retry possible. It holds a dozen files
  // and an empty mount point: removed with synchronous calls, in half the time of awaited ones.
  if (errors.length === 0)
    await attempt('files', async () => rmSync(paths.dir, { recursive: true, force: true }));
  if (errors.length) {
    throw new AggregateError(errors, `could not remove every resource of container ${id.slice(0, 12)}`);
  }
}
