import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { RuntimeConfig } from '../config.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { currentProcessIdentity, type ProcessIdentity } from '../util/process-identity.js';
import { forkingParent, watchForkingParent } from './forking-parent.js';
import { helperCommand } from './helper-process.js';
import { type SessionOwner, sessionsDir } from './sweep.js';

/**
 * Everything one process creates belongs to its session. A watcher — a
 * `sh` blocked on a pipe from this process, costing ~1 MB and no polling —
 * notices when the pipe closes without a "done" line (the owner died, even
 * by SIGKILL) and only then starts Node to remove the session's resources.
 *
 * A forked process (an IPC channel to its parent: Vitest's `forks` pool)
 * also ends its session when that parent dies (forking-parent.ts): the
 * channel's 'disconnect' tells it at once, and its watcher, then `bash`,
 * also reads the parent's /proc/<pid>/stat once a second with shell
 * builtins only, for an owner stuck in synchronous code.
 */
export interface Session {
  readonly id: string;
  readonly dir: string;
  /** Tells the watcher the owner cleaned up, and removes the session directory. */
  close(): Promise<void>;
}

const WATCHER = 'read line; [ "$line" = done ] || exec "$0" "$@"';

/**
 * The watcher that also follows the forking parent ($1: pid, $2: start time):
 * "released" on the pipe stops following it; a parent that is gone or a
 * zombie (field 3 "Z", or another start time in field 22) ends the session.
 */
const FOLLOWING_WATCHER = [
  'p=$1 t=$2; shift 2',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions, not a template
  'gone() { [ -n "$p" ] || return 1; s=; read -r s 2>/dev/null </proc/$p/stat; s=${s##*) }; set -- $s; [ "$1" = Z ] || [ "${20}" != "$t" ]; }',
  'while :; do',
  '  if read -r -t 1 line; then case $line in done) exit 0 ;; released) p= ;; esac',
  '  elif [ $? -le 128 ] || gone; then exec "$0" "$@"',
  '  fi',
  'done',
].join('\n');

const BASH = '/bin/bash';

export interface SessionOptions {
  /**
   * This process was forked and its parent died (forking-parent.ts). Once
   * this resolves the session ends as if this process had died: its watcher
   * removes everything the session owns.
   */
  readonly onOrphaned?: (parent: ProcessIdentity) => Promise<void>;
}

export async function createSession(config: RuntimeConfig, options: SessionOptions = {}): Promise<Session> {
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
  const parent = forkingParent();
  const [shell, script, following] =
    parent && existsSync(BASH)
      ? [BASH, FOLLOWING_WATCHER, [String(parent.pid), parent.startTime]]
      : ['/bin/sh', WATCHER, []];
  const watcher: ChildProcess = spawn(
    shell,
    ['-c', script, helper.file, ...following, ...helper.args, watcherConfig, id],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    },
  );
  watcher.on('error', () => {});
  watcher.unref();
  const stdin = watcher.stdin as (Writable & { unref?: () => void }) | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
  let closed = false;
  const unwatch = parent
    ? watchForkingParent(parent, {
        gone() {
          if (closed) return;
          closed = true;
          // Without "done": the watcher sweeps the session.
          void Promise.resolve(options.onOrphaned?.(parent))
            .catch(() => {})
            .finally(() => stdin?.destroy());
        },
        released() {
          if (!closed) stdin?.write('released\n');
        },
      })
    : () => {};
  return {
    id,
    dir,
    async close() {
      if (closed) return;
      closed = true;
      unwatch();
      await rm(dir, { recursive: true, force: true });
      await new Promise<void>((resolve) => {
        if (!stdin) return resolve();
        stdin.end('done\n', () => resolve());
      });
    },
  };
}
