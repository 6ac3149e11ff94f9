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

async function liveSessions(config: RuntimeConfig): Promise<{ live: Set<string>; dead: string[] }> {
  const live = new Set<string>();
  const dead: string[] = [];
  let entries: string[] = [];
  try {
    entries = await readdir(sessionsDir(config));
  } catch {
    // no sessions yet
  }
  for (const sid of entries) {
    const owner = await readJsonIfExists<SessionOwner>(join(sessionsDir(config), sid, 'owner.json')).catch(
      () => undefined,
    );
    if (owner && isProcessAlive(owner)) live.add(sid);
    else dead.push(sid);
  }
  return { live, dead };
}

export interface SweepReport {
  readonly sessions: number;
  readonly containers: number;
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
  const { live, dead } = await liveSessions(ctx.config);
  const doomed = (sid: string | null) => {
    if (sid === null) return options.all === true;
    if (options.only !== undefined) return sid === options.only;
    return options.all === true || !live.has(sid);
  };
  let containers = 0;
  for (const state of await listContainerStates(ctx.config)) {
    if (!doomed(state.sessionId)) continue;
    try {
      await teardownContainer(ctx, state.id);
      containers++;
    } catch (error) {
      debug('sweep: %s: %O', state.id, error);
    }
  }
  const sessions = options.only !== undefined ? [options.only] : options.all ? [...live, ...dead] : dead;
  for (const sid of sessions) await rm(join(sessionsDir(ctx.config), sid), { recursive: true, force: true });
  return { sessions: sessions.length, containers };
}
