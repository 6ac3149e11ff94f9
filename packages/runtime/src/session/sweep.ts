import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { listContainerStates } from '../container/state.js';
import { teardownContainer } from '../container/teardown.js';
import { createDebug } from '../debug.js';
import type { EngineContext } from '../engine/engine-context.js';
import { readJsonIfExists } from '../util/atomic-file.js';
import { isProcessAlive, type ProcessIdentity } from '../util/process-identity.js';

const debug = createDebug('cspec:sweep');

export function sessionsDir(config: RuntimeConfig): string {
  return join(config.runDir, 'sessions');
}

export interface SessionOwner extends ProcessIdentity {
  readonly createdAt: string;
}

async function sessionIds(config: RuntimeConfig): Promise<string[]> {
  try {
    return (await readdir(sessionsDir(config))).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

/** Read fresh each time: a session created a moment ago must never look dead. */
export async function isSessionAlive(config: RuntimeConfig, sid: string): Promise<boolean> {
  const owner = await readJsonIfExists<SessionOwner>(join(sessionsDir(config), sid, 'owner.json')).catch(
    () => undefined,
  );
  return owner !== undefined && isProcessAlive(owner);
}

export interface SweepReport {
  readonly sessions: number;
  readonly containers: number;
  /** Networks of those sessions. */
  readonly networks: number;
}

/**
 * Removes what dead sessions left behind: their containers (including
 * containers whose session directory is already gone), then the session
 * directories. `only` limits the sweep to one session (the watcher's).
 */
export async function sweepSessions(
  ctx: Pick<EngineContext, 'config' | 'runtime' | 'cgroups' | 'network'>,
  options: { readonly only?: string; readonly all?: boolean } = {},
): Promise<SweepReport> {
  const doomed = async (sid: string | null) => {
    if (sid === null) return options.all === true;
    if (options.only !== undefined) return sid === options.only;
    return options.all === true || !(await isSessionAlive(ctx.config, sid));
  };
  let containers = 0;
  for (const state of await listContainerStates(ctx.config)) {
    if (!(await doomed(state.sessionId))) continue;
    try {
      await teardownContainer(ctx, state.id);
      containers++;
    } catch (error) {
      debug('sweep: %s: %O', state.id, error);
    }
  }
  // Ephemeral networks after their session's containers (a network with members cannot go).
  let networks = 0;
  for (const network of await ctx.network.ephemeralNetworks()) {
    if (!(await doomed(network.sessionId))) continue;
    try {
      await ctx.network.removeNetwork(network.name);
      networks++;
    } catch (error) {
      debug('sweep: network %s: %O', network.name, error);
    }
  }
  // Network namespaces a dead session made ahead (and never gave to a container).
  await ctx.network
    .sweepPooled((sid) => doomed(sid))
    .catch((error: unknown) => debug('sweep: pooled namespaces: %O', error));
  let sessions = 0;
  for (const sid of options.only !== undefined ? [options.only] : await sessionIds(ctx.config)) {
    if (options.only === undefined && !options.all && (await isSessionAlive(ctx.config, sid))) continue;
    await rm(join(sessionsDir(ctx.config), sid), { recursive: true, force: true });
    sessions++;
  }
  return { sessions, containers, networks };
}
