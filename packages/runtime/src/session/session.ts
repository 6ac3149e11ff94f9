import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { currentProcessIdentity } from '../util/process-identity.js';
import { helperCommand } from './helper-process.js';
import { type SessionOwner, sessionsDir } from './sweep.js';

/**
 * Everything one process creates belongs to its session. A watcher — a
 * `sh` blocked on a pipe from this process, costing ~1 MB and no polling —
 * notices when the pipe closes without a "done" line (the owner died, even
 * by SIGKILL) and only then starts Node to remove the session's resources.
 */
export interface Session {
  readonly id: string;
  readonly dir: string;
  /** Tells the watcher the owner cleaned up, and removes the session directory. */
  close(): Promise<void>;
}

const WATCHER = 'read line; [ "$line" = done ] || exec "$0" "$@"';

export async function createSession(config: RuntimeConfig): Promise<Session> {
  const id = randomBytes(8).toString('hex');
  const dir = join(sessionsDir(config), id);
  // The directory appears with its owner already inside, so a sweeper never sees an ownerless session.
  const staging = join(sessionsDir(config), `.${id}`);
  await mkdir(staging, { recursive: true });
  const owner: SessionOwner = { ...currentProcessIdentity(), createdAt: new Date().toISOString() };
  await writeJsonAtomic(join(staging, 'owner.json'), owner);
  await rename(staging, dir);
  const helper = helperCommand(config.nodePath, import.meta.url, 'watcher-main');
  // On its command line, which every user of the host can read: no credentials (it needs none).
  const watcherConfig = JSON.stringify({
    ...config,
    registry: { ...config.registry, dockerAuthConfig: undefined },
  } satisfies RuntimeConfig);
  const watcher: ChildProcess = spawn(
    '/bin/sh',
    ['-c', WATCHER, helper.file, ...helper.args, watcherConfig, id],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    },
  );
  watcher.on('error', () => {});
  watcher.unref();
  const stdin = watcher.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
  let closed = false;
  return {
    id,
    dir,
    async close() {
      if (closed) return;
      closed = true;
      await rm(dir, { recursive: true, force: true });
      await new Promise<void>((resolve) => {
        if (!stdin) return resolve();
        stdin.end('done\n', () => resolve());
      });
    },
  };
}
