/**
 * A user namespace for a rootless engine: a holder process (`unshare --user
 * sh -c 'read x'`, ~1 MB) whose uid/gid maps give it the user as root and
 * the user's subordinate ids as everyone else (newuidmap/newgidmap write
 * them; id-ranges.ts). Whatever must act as root over container files — the
 * OCI runtime, unpacking layers with their owners, removing what a container
 * wrote — runs as `nsenter --user --target <holder>`: root inside, the user
 * outside, with no privilege on the host.
 *
 * The holder reads a pipe from the process that made it and ends when that
 * process does (also when it is killed). Containers started inside keep the
 * namespace alive on their own; a later process reaches them through their
 * own pid (`enterArgs(pid)`), as the owner of the namespace may.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import { type IdMapping, idMappings, type UserIds } from './id-ranges.js';

const run = promisify(execFile);
const debug = createDebug('cspec:rootless');

export interface UserNamespace {
  /** The holder's pid: `nsenter --user --target <pid>` enters the namespace. */
  readonly pid: number;
  readonly uidMap: readonly IdMapping[];
  readonly gidMap: readonly IdMapping[];
  /** Whether ids other than root exist inside (the user has a subordinate range). */
  readonly fullRange: boolean;
  /**
   * The command line that runs `argv` as root in this namespace and its mount
   * namespace (where the engine's network namespaces are mounted), or only in
   * the user namespace of process `pid` when it lives (a container that
   * another process started: signals and `exec` reach it from there).
   */
  enterArgs(argv: readonly string[], pid?: number): [string, ...string[]];
  /** Runs `argv` inside and waits; fails with its stderr. */
  run(argv: readonly string[], options?: { signal?: AbortSignal; stdin?: string }): Promise<string>;
  /** Ends the holder. Processes started inside keep running. */
  close(): void;
}

const HOLD = 'read x';

function nsOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/user`);
  } catch {
    return undefined;
  }
}

function mapArgs(maps: readonly IdMapping[]): string[] {
  return maps.flatMap((m) => [String(m.inside), String(m.outside), String(m.count)]);
}

function unsupported(what: string, cause: unknown, hint: string): CspecError {
  const detail = ((cause as { stderr?: string }).stderr || (cause as Error).message || String(cause)).trim();
  return new CspecError('CSPEC_HOST_UNSUPPORTED', `${what}: ${detail}`, { cause, hint });
}

/** Starts the holder and writes its maps; returns once `nsenter` can enter it. */
export async function openUserNamespace(ids: UserIds): Promise<UserNamespace> {
  const fullRange = ids.subuid !== undefined && ids.subgid !== undefined;
  const uidMap = idMappings(ids.uid, fullRange ? ids.subuid : undefined);
  const gidMap = idMappings(ids.gid, fullRange ? ids.subgid : undefined);
  // Without a range, unshare maps the user alone itself (and denies setgroups, as the kernel requires).
  const holder: ChildProcess = spawn(
    'unshare',
    [
      '--user',
      ...(fullRange ? [] : ['--map-root-user']),
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      HOLD,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  holder.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    holder.once('exit', (code) => resolve(code));
    holder.once('error', () => resolve(-1));
  });
  const fail = (error: CspecError) => {
    holder.kill('SIGKILL');
    throw error;
  };
  const pid = holder.pid;
  if (pid === undefined) {
    return fail(
      new CspecError('CSPEC_HOST_UNSUPPORTED', 'cannot start `unshare` to make a user namespace', {
        hint: 'install util-linux (it provides unshare and nsenter)',
      }),
    );
  }
  // The maps can be written once the holder is in its new namespace, not before.
  const own = nsOf('self');
  for (let waited = 0; ; waited++) {
    const ns = nsOf(pid);
    if (ns !== undefined && ns !== own && (fullRange || readMap(pid) !== '')) break;
    const code = await Promise.race([exited, sleep(waited < 50 ? 1 : 10).then(() => undefined)]);
    if (code !== undefined || waited > 1000) {
      return fail(
        new CspecError(
          'CSPEC_HOST_UNSUPPORTED',
          `cannot create a user namespace as ${ids.name}: ${stderr.trim() || `unshare exited with ${code}`}`,
          {
            hint: /No space left|max_user_namespaces/i.test(stderr)
              ? 'user namespaces are turned off (user.max_user_namespaces is 0): sudo sysctl -w user.max_user_namespaces=15000'
              : 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile); `cspec doctor` checks this',
          },
        ),
      );
    }
  }
  if (fullRange) {
    try {
      if (process.getuid?.() === 0) {
        // Root (CSPEC_ROOTLESS=1 in tests) writes the maps itself.
        writeFileSync(
          `/proc/${pid}/uid_map`,
          uidMap.map((m) => `${m.inside} ${m.outside} ${m.count}`).join('\n'),
        );
        writeFileSync(
          `/proc/${pid}/gid_map`,
          gidMap.map((m) => `${m.inside} ${m.outside} ${m.count}`).join('\n'),
        );
      } else {
        await Promise.all([
          run('newuidmap', [String(pid), ...mapArgs(uidMap)]),
          run('newgidmap', [String(pid), ...mapArgs(gidMap)]),
        ]);
      }
    } catch (error) {
      return fail(
        unsupported(
          `cannot map ${ids.name}'s subordinate ids (/etc/subuid, /etc/subgid) into a user namespace`,
          error,
          (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? 'install newuidmap and newgidmap: sudo apt-get install uidmap'
            : 'check that newuidmap/newgidmap are setuid root and that /etc/subuid and /etc/subgid give the user its range; `cspec doctor` checks both',
        ),
      );
    }
  }
  // Ends with this process: the pipe closes, `read` returns.
  holder.unref();
  const stdin = holder.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
  stdin?.on('error', () => {});
  stdin?.unref?.();
  (holder.stderr as { unref?: () => void } | null)?.unref?.();
  debug('user namespace: holder %d, %s', pid, fullRange ? 'subordinate range' : 'the user alone');
  const enterArgs = (argv: readonly string[], target?: number): [string, ...string[]] => {
    if (target !== undefined && target !== pid && nsOf(target) !== undefined)
      return ['nsenter', '--user', `--target=${target}`, '--', ...argv];
    return ['nsenter', '--user', '--mount', `--target=${pid}`, '--', ...argv];
  };
  return {
    pid,
    uidMap,
    gidMap,
    fullRange,
    enterArgs,
    async run(argv, options = {}) {
      const [file, ...args] = enterArgs(argv);
      try {
        const child = run(file, args, { signal: options.signal, maxBuffer: 64 << 20 });
        if (options.stdin !== undefined) child.child.stdin?.end(options.stdin);
        const { stdout } = await child;
        return stdout;
      } catch (error) {
        const detail = ((error as { stderr?: string }).stderr ?? '').trim() || (error as Error).message;
        throw new CspecError('CSPEC_INTERNAL', `${argv[0]} in the user namespace failed: ${detail}`, {
          cause: error,
        });
      }
    },
    close() {
      holder.stdin?.end();
    },
  };
}

function readMap(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim();
  } catch {
    return '';
  }
}
